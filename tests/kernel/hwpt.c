// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * noiommu-hwpt [BDF]: GET_PA and pins with a user-allocated noiommu HWPT.
 *
 * IOMMU_HWPT_ALLOC on a bound noiommu device gives a noiommu domain of the
 * IOAS that lives as long as the HWPT object, whether a device is attached
 * to it or not; an attach to the IOAS itself gives a second, automatic
 * domain (the automatic one never reuses a user HWPT). The rules checked:
 *
 *  - GET_PA answers only while at least one noiommu device is attached to
 *    a noiommu domain of the IOAS, and EOPNOTSUPP otherwise, even while a
 *    HWPT of the IOAS still holds a domain with the memory mapped;
 *  - the pins (/proc/vmstat nr_foll_pin_acquired - released) belong to the
 *    domain: they stay after the device is detached, or unbound by closing
 *    its fd, until IOMMU_DESTROY of the HWPT, and are 0 right after it;
 *  - IOMMU_DESTROY of a HWPT a device is attached to is EBUSY, and of an
 *    IOAS a HWPT refers to is EBUSY;
 *  - with both a user HWPT and the automatic domain in one IOAS, answers
 *    are exact (against pagemap, read after the pin) through either
 *    attachment and through a replace between them.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "kt-iommufd.h"
#include "kt-kstat.h"
#include "kt-mem.h"
#include "kt-tap.h"

#define IOVA 0x40000000ULL
#define MAP_LEN (1UL << 20)
#define NPAGES ((int64_t)(MAP_LEN / KT_PAGE))

static const char *bdf;
static int64_t base;
static struct kt_buf buf;

static int64_t pins(void)
{
	struct kt_pins p;

	if (kt_pins_read(&p))
		kt_bail("cannot read nr_foll_pin_* from /proc/vmstat");
	return p.outstanding - base;
}

/* GET_PA at IOVA + 5 pages: 0 if exact against pagemap, else -errno or -EIO. */
static int getpa_exact(struct kt_ctx *c, uint64_t *pa_out)
{
	uint64_t pa = 0, len = 0, pfns[NPAGES];
	int ret;

	/* No cap as ~0: length 0 has its tests in noiommu-getpa(-errors). */
	ret = kt_get_pa(c->iommufd, c->ioas_id, IOVA + 5 * KT_PAGE + 9, UINT64_MAX, &pa, &len);
	*pa_out = pa;
	if (ret)
		return ret;
	ret = kt_pfns(buf.va, MAP_LEN, pfns);
	if (ret)
		return ret;
	if (pa != pfns[5] * KT_PAGE + 9 || len != kt_run_bytes(pfns, NPAGES, 5 * KT_PAGE + 9))
		return -EIO;
	return 0;
}

static void open_mapped(struct kt_ctx *c, uint32_t *hwpt)
{
	uint64_t iova = IOVA;
	int ret;

	if (kt_ctx_open(c, bdf, false))
		kt_bail("cannot open %s", bdf);
	ret = kt_map(c->iommufd, c->ioas_id, buf.va, MAP_LEN, &iova,
		     KT_MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA);
	if (ret)
		kt_bail("map: %s", kt_errname(ret));
	ret = kt_hwpt_alloc(c->iommufd, c->dev_id, c->ioas_id, hwpt);
	if (!kt_check(!ret, "IOMMU_HWPT_ALLOC for dev %u on IOAS %u: hwpt %u: %s", c->dev_id,
		      c->ioas_id, *hwpt, kt_errname(ret)))
		kt_bail("no user HWPT");
}

/* detach_by_close: unbind by closing the device fd instead of detaching. */
static void teardown(bool detach_by_close)
{
	const char *how = detach_by_close ? "close" : "detach";
	uint64_t pa;
	int64_t p0, p1, p2, p3;
	int r0, r1, r2, r3, r4, r5, r6;
	uint32_t hwpt = 0, pt = 0;
	struct kt_ctx c;

	open_mapped(&c, &hwpt);
	p0 = pins();
	r0 = getpa_exact(&c, &pa);
	kt_check(p0 == NPAGES && r0 == -EOPNOTSUPP,
		 "%s: HWPT allocated, no device attached: pins %+" PRId64 " (want %+" PRId64
		 "), GET_PA %s (want EOPNOTSUPP)", how, p0, NPAGES, kt_errname(r0));
	r1 = kt_attach(c.devfd, hwpt, &pt);
	r2 = getpa_exact(&c, &pa);
	kt_check(!r1 && pt == hwpt && !r2, "%s: attach to HWPT %u (pt_id %u): %s, GET_PA exact "
		 "(PA %#" PRIx64 "): %s", how, hwpt, pt, kt_errname(r1), pa, kt_errname(r2));
	r3 = kt_destroy(c.iommufd, hwpt);
	r4 = kt_destroy(c.iommufd, c.ioas_id);
	p1 = pins();
	kt_check(r3 == -EBUSY && r4 == -EBUSY && p1 == NPAGES,
		 "%s: IOMMU_DESTROY of the attached HWPT: %s, of its IOAS: %s (want EBUSY, "
		 "EBUSY), pins %+" PRId64, how, kt_errname(r3), kt_errname(r4), p1);
	if (detach_by_close) {
		r5 = close(c.devfd) ? -errno : 0;
		c.devfd = -1;
	} else {
		r5 = kt_detach(c.devfd);
	}
	r6 = getpa_exact(&c, &pa);
	p2 = pins();
	kt_check(!r5 && r6 == -EOPNOTSUPP && p2 == NPAGES,
		 "%s: device gone (%s): GET_PA %s (want EOPNOTSUPP), pins still %+" PRId64
		 " (want %+" PRId64 ": the HWPT holds them)", how, kt_errname(r5),
		 kt_errname(r6), p2, NPAGES);
	r1 = kt_destroy(c.iommufd, hwpt);
	p3 = pins();
	r2 = getpa_exact(&c, &pa);
	kt_check(!r1 && p3 == 0 && r2 == -EOPNOTSUPP,
		 "%s: IOMMU_DESTROY of the HWPT: %s, pins %+" PRId64 " (want 0), GET_PA %s "
		 "(want EOPNOTSUPP)", how, kt_errname(r1), p3, kt_errname(r2));
	r3 = kt_destroy(c.iommufd, c.ioas_id);
	kt_check(!r3, "%s: the IOAS can be destroyed now: %s", how, kt_errname(r3));
	kt_ctx_close(&c);
}

static void two_domains(void)
{
	uint32_t hwpt = 0, auto_pt = 0, pt = 0;
	int r0, r1, r2, r3, r4;
	int64_t p0, p1;
	uint64_t pa;
	struct kt_ctx c;

	open_mapped(&c, &hwpt);
	r0 = kt_attach(c.devfd, c.ioas_id, &auto_pt);
	r1 = getpa_exact(&c, &pa);
	p0 = pins();
	kt_check(!r0 && auto_pt != hwpt && auto_pt != c.ioas_id && !r1 && p0 == NPAGES,
		 "two domains: attach to the IOAS gives the automatic HWPT %u beside the user "
		 "HWPT %u: %s; GET_PA exact (PA %#" PRIx64 "): %s; pins %+" PRId64,
		 auto_pt, hwpt, kt_errname(r0), pa, kt_errname(r1), p0);
	r0 = kt_detach(c.devfd);
	r1 = getpa_exact(&c, &pa);
	p1 = pins();
	kt_check(!r0 && r1 == -EOPNOTSUPP && p1 == NPAGES,
		 "two domains: detached, the user HWPT unattached: GET_PA %s (want EOPNOTSUPP), "
		 "pins %+" PRId64 " (held by the user HWPT)", kt_errname(r1), p1);
	r0 = kt_attach(c.devfd, hwpt, &pt);
	r1 = getpa_exact(&c, &pa);
	r2 = kt_attach(c.devfd, c.ioas_id, &pt);
	r3 = getpa_exact(&c, &pa);
	r4 = kt_attach(c.devfd, hwpt, NULL);
	kt_check(!r0 && !r1 && !r2 && !r3 && !r4 && getpa_exact(&c, &pa) == 0,
		 "two domains: attach to the user HWPT (%s), GET_PA %s; replace to the IOAS "
		 "(%s), GET_PA %s; replace back (%s): all exact", kt_errname(r0), kt_errname(r1),
		 kt_errname(r2), kt_errname(r3), kt_errname(r4));
	close(c.devfd);
	c.devfd = -1;
	r0 = getpa_exact(&c, &pa);
	r1 = kt_destroy(c.iommufd, hwpt);
	p1 = pins();
	kt_check(r0 == -EOPNOTSUPP && !r1 && p1 == 0,
		 "two domains: device closed: GET_PA %s (want EOPNOTSUPP); HWPT destroyed (%s): "
		 "pins %+" PRId64, kt_errname(r0), kt_errname(r1), p1);
	kt_ctx_close(&c);
}

int main(int argc, char **argv)
{
	struct rlimit unlimited = { RLIM_INFINITY, RLIM_INFINITY };
	struct kt_pins start, end;
	int ret;

	bdf = argc > 1 ? argv[1] : "0000:00:04.0";
	kt_start("noiommu-hwpt");
	setrlimit(RLIMIT_MEMLOCK, &unlimited);
	if (kt_pins_read(&start))
		kt_bail("no pin counters");
	base = start.outstanding;
	if (kt_buf_alloc(&buf, MAP_LEN, false))
		kt_bail("buffer");
	teardown(false);
	teardown(true);
	two_domains();
	ret = kt_pins_wait(base, &end, 10000);
	kt_check(!ret, "at the end: outstanding pins %+" PRId64 " from the start",
		 end.outstanding - base);
	kt_buf_free(&buf);
	return kt_finish();
}
