// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * noiommu-repeat [BDF [ITERATIONS]]: open, bind, attach, map, GET_PA,
 * unmap, detach, close, 1000 times (default), with no growth in slab or in
 * outstanding pins.
 *
 * Iterations vary the teardown: every other one closes the iommufd before
 * the device, every fourth one closes with the mapping and the attachment
 * still in place. After a warm-up, outstanding pins and slab usage are
 * sampled every 100 iterations. Slab usage is active objects times object
 * size in /proc/slabinfo summed over the kmalloc caches and filp, where
 * vfio and iommufd allocate, read after letting RCU-deferred frees land and
 * flushing the per-CPU slabs of those caches (all caches and /proc/meminfo
 * Slab are printed too, but inode, dentry, process and ACPI caches move
 * with unrelated activity).
 *
 * The run fails if pins are not back at their starting value, or if the
 * slab floor rises: the lowest sample of the second half of the run may
 * not exceed the lowest of the first half by more than FLOOR_LIMIT bytes
 * (with 1000 iterations: about 16 bytes per iteration). Pending frees only
 * lift single samples; a leak lifts the floor. On a healthy kernel the
 * floor moved by under 1 KiB over 3000 iterations.
 *
 * On a KASAN kernel freed objects wait in the quarantine before they go
 * back to their cache, which blurs the figures: the limit there is
 * FLOOR_LIMIT_KASAN (about 128 bytes per iteration), and kmemleak, scanned
 * by the guest's /init, is the precise leak detector.
 */
#include <errno.h>
#include <inttypes.h>
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

#define IOVA 0x40000000ULL
#define MAP_LEN (16 * KT_PAGE)
#define WARMUP 50
#define SAMPLE_EVERY 100
#define MAX_SAMPLES 1000
#define FLOOR_LIMIT 8192
#define FLOOR_LIMIT_KASAN 65536

static const char *bdf;

/* One full cycle; returns 0 or -errno with *what set. */
static int cycle(struct kt_buf *b, unsigned int i, const char **what)
{
	uint64_t iova = IOVA, pa, len, pfn0;
	struct kt_ctx c;
	int ret;

	*what = "open/bind/attach";
	ret = kt_ctx_open(&c, bdf, true);
	if (ret)
		return ret;
	*what = "map";
	ret = kt_map(c.iommufd, c.ioas_id, b->va, MAP_LEN, &iova,
		     KT_MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA);
	if (!ret) {
		*what = "GET_PA";
		ret = kt_get_pa(c.iommufd, c.ioas_id, IOVA, MAP_LEN, &pa, &len);
		if (!ret)
			ret = kt_pfns(b->va, KT_PAGE, &pfn0);
		if (!ret && pa != pfn0 * KT_PAGE)
			ret = -EIO;
	}
	if (!ret && i % 4 != 3) {
		*what = "unmap";
		ret = kt_unmap(c.iommufd, c.ioas_id, IOVA, MAP_LEN);
		if (!ret) {
			*what = "detach";
			ret = kt_detach(c.devfd);
		}
	}
	if (i % 2) {
		close(c.iommufd);
		c.iommufd = -1;
	}
	kt_ctx_close(&c);
	return ret;
}

struct sample {
	unsigned int iter;
	int64_t slab;		/* kmalloc caches + filp: judged */
	int64_t slab_all;	/* every cache: reported */
	long slab_kb;		/* /proc/meminfo Slab: reported */
	int64_t pins;
};

/* Least-squares slope of slab bytes over iterations. */
static double slope(const struct sample *s, size_t n)
{
	double mx = 0, my = 0, sxx = 0, sxy = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		mx += s[i].iter;
		my += (double)s[i].slab;
	}
	mx /= (double)n;
	my /= (double)n;
	for (i = 0; i < n; i++) {
		sxx += (s[i].iter - mx) * (s[i].iter - mx);
		sxy += (s[i].iter - mx) * ((double)s[i].slab - my);
	}
	return sxx > 0 ? sxy / sxx : 0;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Lowest judged slab reading of samples [from, to). */
static int64_t floor_of(const struct sample *s, size_t from, size_t to)
{
	int64_t m = s[from].slab;
	size_t i;

	for (i = from + 1; i < to; i++)
		if (s[i].slab < m)
			m = s[i].slab;
	return m;
}

static void take(struct sample *s, unsigned int iter)
{
	struct kt_pins p;

	s->iter = iter;
	kt_slab_settle();
	s->pins = kt_pins_read(&p) ? -1 : p.outstanding;
	s->slab = kt_slab_bytes(false);
	s->slab_all = kt_slab_bytes(true);
	s->slab_kb = kt_meminfo_kb("Slab");
}

int main(int argc, char **argv)
{
	struct rlimit unlimited = { RLIM_INFINITY, RLIM_INFINITY };
	static struct sample samples[MAX_SAMPLES];
	unsigned int iters, i, errors = 0;
	struct sample start;
	const char *what;
	size_t n = 0;
	struct kt_buf b;
	int64_t growth, floor1, floor2, pin_max = 0;
	int limit;
	bool kasan;
	double sl, t0, busy = 0;
	int ret;

	bdf = argc > 1 ? argv[1] : "0000:00:04.0";
	iters = argc > 2 ? (unsigned int)strtoul(argv[2], NULL, 0) : 1000;
	if (iters < 2 * SAMPLE_EVERY || iters / SAMPLE_EVERY > MAX_SAMPLES)
		iters = 1000;
	kt_start("noiommu-repeat");
	setrlimit(RLIMIT_MEMLOCK, &unlimited);
	kasan = kt_kernel_has_symbol("kasan_report");
	kt_diag("device %s, %u iterations after %d warm-up ones%s", bdf, iters, WARMUP,
		kasan ? "; KASAN kernel" : "");
	if (kt_buf_alloc(&b, MAP_LEN, false))
		kt_bail("buffer");

	for (i = 0; i < WARMUP; i++) {
		ret = cycle(&b, i, &what);
		if (ret)
			kt_bail("warm-up iteration %u: %s: %s", i, what, kt_errname(ret));
	}
	take(&start, 0);
	kt_diag("after warm-up: kmalloc+filp slab %" PRId64 " bytes, all caches %" PRId64
		" bytes, meminfo Slab %ld kB, outstanding pins %" PRId64, start.slab,
		start.slab_all, start.slab_kb, start.pins);

	for (i = 1; i <= iters; i++) {
		t0 = now_ms();
		ret = cycle(&b, i, &what);
		busy += now_ms() - t0;
		if (ret && errors++ < 5)
			kt_diag("iteration %u: %s: %s", i, what, kt_errname(ret));
		if (i % SAMPLE_EVERY == 0) {
			take(&samples[n], i);
			kt_diag("after %4u: kmalloc+filp %" PRId64 " (%+" PRId64 "), all caches %"
				PRId64 " (%+" PRId64 "), meminfo Slab %ld kB, pins %" PRId64, i,
				samples[n].slab, samples[n].slab - start.slab, samples[n].slab_all,
				samples[n].slab_all - start.slab_all, samples[n].slab_kb,
				samples[n].pins);
			if (samples[n].pins - start.pins > pin_max)
				pin_max = samples[n].pins - start.pins;
			n++;
		}
	}
	kt_check(!errors, "%u open/bind/attach/map/GET_PA/unmap/detach/close cycles: %u failed "
		 "(%.1f ms per cycle)", iters, errors, busy / iters);

	kt_check(samples[n - 1].pins == start.pins && pin_max == 0,
		 "outstanding pins: %" PRId64 " before, %" PRId64 " after, %+" PRId64
		 " at worst between", start.pins, samples[n - 1].pins, pin_max);

	sl = slope(samples, n);
	floor1 = floor_of(samples, 0, n / 2);
	floor2 = floor_of(samples, n / 2, n);
	growth = floor2 - floor1;
	limit = kasan ? FLOOR_LIMIT_KASAN : FLOOR_LIMIT;
	kt_check(growth <= limit,
		 "kmalloc+filp slab floor: %" PRId64 " bytes in iterations %u-%u, %" PRId64
		 " in %u-%u (%+" PRId64 ", limit %+d%s); slope %.1f bytes/iteration",
		 floor1, samples[0].iter, samples[n / 2 - 1].iter, floor2, samples[n / 2].iter,
		 samples[n - 1].iter, growth, limit, kasan ? " under KASAN" : "", sl);
	kt_diag("meminfo Slab: %ld kB after warm-up, %ld kB at the end", start.slab_kb,
		samples[n - 1].slab_kb);
	kt_buf_free(&b);
	return kt_finish();
}
