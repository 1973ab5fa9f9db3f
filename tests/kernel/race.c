// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * noiommu-race [BDF [SECONDS]]: GET_PA racing map/unmap and attach/detach.
 *
 * Threads share one iommufd, one bound device and one IOAS:
 *  - a mapper maps and unmaps region A over and over;
 *  - an attacher detaches the device and attaches it again, and now and
 *    then moves it to a second IOAS and back (replace);
 *  - two readers translate random bytes of region A and of region B (mapped
 *    for the whole run) with random caps.
 * Every answer must be a success whose PA and length agree with
 * /proc/self/pagemap, ENOENT (A unmapped at that moment) or EOPNOTSUPP (no
 * device attached at that moment), never anything else; the kernel must
 * not warn (the harness checks the console; lockdep runs on 'debug'); and
 * every pin must be gone at the end. The PFNs the answers are checked
 * against are read once, after A and B have been pinned for the whole run
 * by a user HWPT of a third IOAS (detaches and unmaps unpin them in the
 * IOAS under test, and unpinned pages may move).
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "kt-iommufd.h"
#include "kt-kstat.h"
#include "kt-mem.h"
#include "kt-tap.h"

#define IOVA_A 0x40000000ULL
#define IOVA_B 0x50000000ULL
#define LEN (256 * 1024UL)
#define NPAGES (LEN / KT_PAGE)

static struct kt_ctx c;
static uint32_t ioas2;
static struct kt_buf a, b;
static uint64_t pfn_a[NPAGES], pfn_b[NPAGES];
static atomic_bool stop;
static atomic_uint maps, attaches, replaces, ok_calls, enoent, eopnotsupp, wrong, other;
static atomic_int last_other;

static void *mapper(void *arg)
{
	uint64_t iova;

	(void)arg;
	while (!atomic_load(&stop)) {
		iova = IOVA_A;
		if (kt_map(c.iommufd, c.ioas_id, a.va, LEN, &iova,
			   KT_MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA))
			atomic_fetch_add(&other, 1);
		if (kt_unmap(c.iommufd, c.ioas_id, IOVA_A, LEN))
			atomic_fetch_add(&other, 1);
		atomic_fetch_add(&maps, 1);
	}
	return NULL;
}

static void *attacher(void *arg)
{
	unsigned int n = 0;

	(void)arg;
	while (!atomic_load(&stop)) {
		if (++n % 4 == 0) {
			/* Replace: the device leaves c.ioas_id for ioas2 and comes back. */
			if (kt_attach(c.devfd, ioas2, NULL) || kt_attach(c.devfd, c.ioas_id, NULL))
				atomic_fetch_add(&other, 1);
			atomic_fetch_add(&replaces, 1);
		} else {
			if (kt_detach(c.devfd) || kt_attach(c.devfd, c.ioas_id, NULL))
				atomic_fetch_add(&other, 1);
			atomic_fetch_add(&attaches, 1);
		}
	}
	return NULL;
}

static void *reader(void *arg)
{
	bool on_a = arg != NULL;
	const uint64_t *pfns = on_a ? pfn_a : pfn_b;
	uint64_t seed = on_a ? 0x72656164ULL : 0x62626262ULL;
	uint64_t base = on_a ? IOVA_A : IOVA_B, off, cap, pa, len, run, want;
	int ret;

	while (!atomic_load(&stop)) {
		off = kt_rand(&seed) % LEN;
		cap = 1 + kt_rand(&seed) % (2 * LEN);
		ret = kt_get_pa(c.iommufd, c.ioas_id, base + off, cap, &pa, &len);
		if (!ret) {
			run = kt_run_bytes(pfns, NPAGES, off);
			want = cap < run ? cap : run;
			if (pa != pfns[off / KT_PAGE] * KT_PAGE + off % KT_PAGE || len != want)
				atomic_fetch_add(&wrong, 1);
			else
				atomic_fetch_add(&ok_calls, 1);
		} else if (ret == -ENOENT && on_a) {
			atomic_fetch_add(&enoent, 1);
		} else if (ret == -EOPNOTSUPP) {
			atomic_fetch_add(&eopnotsupp, 1);
		} else {
			atomic_fetch_add(&other, 1);
			atomic_store(&last_other, ret);
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct rlimit unlimited = { RLIM_INFINITY, RLIM_INFINITY };
	const char *bdf = argc > 1 ? argv[1] : "0000:00:04.0";
	int seconds = argc > 2 ? atoi(argv[2]) : 20;
	pthread_t th[4];
	struct kt_pins start, end;
	uint32_t ioas_pin = 0, hwpt_pin = 0;
	uint64_t iova;
	int64_t left;
	int i, ret;

	kt_start("noiommu-race");
	setrlimit(RLIMIT_MEMLOCK, &unlimited);
	if (seconds <= 0)
		seconds = 20;
	if (kt_pins_read(&start))
		kt_bail("no pin counters");
	if (kt_ctx_open(&c, bdf, true) || kt_ioas_alloc(c.iommufd, &ioas2))
		kt_bail("cannot open %s", bdf);
	if (kt_buf_alloc(&a, LEN, false) || kt_buf_alloc(&b, LEN, false))
		kt_bail("buffers");
	/*
	 * The readers compare with PFNs read once, but A is unpinned by every
	 * unmap and both A and B by every detach: unpinned pages may move, and
	 * the next pin would then give other PFNs. So both are also mapped
	 * into a third IOAS whose user HWPT (a noiommu domain with no device)
	 * keeps them pinned, unmovable, for the whole run; pagemap is read
	 * after that pin.
	 */
	ret = kt_ioas_alloc(c.iommufd, &ioas_pin);
	if (!ret)
		ret = kt_hwpt_alloc(c.iommufd, c.dev_id, ioas_pin, &hwpt_pin);
	iova = IOVA_A;
	if (!ret)
		ret = kt_map(c.iommufd, ioas_pin, a.va, LEN, &iova,
			     KT_MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA);
	iova = IOVA_B;
	if (!ret)
		ret = kt_map(c.iommufd, ioas_pin, b.va, LEN, &iova,
			     KT_MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA);
	if (!ret)
		ret = kt_pfns(a.va, LEN, pfn_a);
	if (!ret)
		ret = kt_pfns(b.va, LEN, pfn_b);
	iova = IOVA_B;
	if (!ret)
		ret = kt_map(c.iommufd, c.ioas_id, b.va, LEN, &iova,
			     KT_MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA);
	if (ret)
		kt_bail("set-up: %s", kt_errname(ret));

	kt_diag("device %s: 4 threads for %d s", bdf, seconds);
	pthread_create(&th[0], NULL, mapper, NULL);
	pthread_create(&th[1], NULL, attacher, NULL);
	pthread_create(&th[2], NULL, reader, &a);
	pthread_create(&th[3], NULL, reader, NULL);
	sleep((unsigned int)seconds);
	atomic_store(&stop, true);
	for (i = 0; i < 4; i++)
		pthread_join(th[i], NULL);

	kt_check(atomic_load(&maps) > 0 && atomic_load(&attaches) > 0,
		 "%u map/unmap cycles, %u detach/attach cycles and %u replace round trips ran",
		 atomic_load(&maps), atomic_load(&attaches), atomic_load(&replaces));
	kt_check(atomic_load(&ok_calls) > 0 && !atomic_load(&wrong),
		 "GET_PA: %u answers agreeing with pagemap, %u wrong", atomic_load(&ok_calls),
		 atomic_load(&wrong));
	kt_check(!atomic_load(&other),
		 "GET_PA: %u ENOENT (A unmapped), %u EOPNOTSUPP (detached), %u other failures%s%s",
		 atomic_load(&enoent), atomic_load(&eopnotsupp), atomic_load(&other),
		 atomic_load(&other) ? ", last: " : "",
		 atomic_load(&other) ? kt_errname(atomic_load(&last_other)) : "");

	kt_ctx_close(&c);
	ret = kt_pins_wait(start.outstanding, &end, 10000);
	left = end.outstanding - start.outstanding;
	kt_check(!ret, "every pin released after the close: %+" PRId64 " outstanding", left);
	kt_buf_free(&a);
	kt_buf_free(&b);
	return kt_finish();
}
