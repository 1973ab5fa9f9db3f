// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * noiommu-lockhold [BDF [MIB]]: unmapping a large, fragmented mapping from
 * an IOAS with two noiommu domains, while another thread translates.
 *
 * The IOAS gets two noiommu domains: a user HWPT (IOMMU_HWPT_ALLOC for the
 * device on the IOAS) and the automatic one that attaching the device to
 * the IOAS creates (iommufd never reuses a user HWPT for an automatic
 * attach; the test checks that the two ids differ). MIB (default 1024) of
 * 4 KiB pages, faulted in a random order so that they are physically
 * discontiguous (checked: at least a quarter of the pages start a new
 * run), are mapped into it, together with a small region of 256 KiB.
 * A reader thread translates random bytes of the small region in a loop
 * and checks every answer against pagemap; once it has given one exact
 * answer, the main thread unmaps the large mapping.
 *
 * Passes when every answer of the reader, before, during and after the
 * unmap, was exact; the large range is ENOENT afterwards; no pin is left;
 * and the kernel reported nothing (the harness fails on any soft lockup,
 * RCU stall, hung task, lockdep, KASAN or might_sleep report; on the debug
 * kernel those detectors are on). The time the unmap took and the longest
 * GET_PA seen during it are printed, not judged: bench/kernel-memory.c
 * reports them as figures.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "kt-iommufd.h"
#include "kt-kstat.h"
#include "kt-mem.h"
#include "kt-reader.h"
#include "kt-tap.h"

#define IOVA_SMALL 0x10000000ULL
#define IOVA_BIG 0x100000000ULL
#define SMALL_LEN (256UL << 10)
#define SAMPLES 4096

int main(int argc, char **argv)
{
	struct rlimit unlimited = { RLIM_INFINITY, RLIM_INFINITY };
	const char *bdf = argc > 1 ? argv[1] : "0000:00:04.0";
	size_t mib = argc > 2 ? strtoul(argv[2], NULL, 0) : 1024;
	uint64_t seed = 0x6c6f636bULL, iova, pa, len, t0, t_map, t_unmap, t_fault;
	uint64_t *pfns_big, pfns_small[SMALL_LEN / KT_PAGE];
	size_t big_len = mib << 20, npages = big_len / KT_PAGE, runs, longest, i, off;
	unsigned int bad = 0;
	uint32_t hwpt = 0, auto_pt = 0;
	struct kt_reader rd;
	struct kt_pins start, end;
	struct kt_buf big, small;
	struct kt_ctx c;
	int ret;

	kt_start("noiommu-lockhold");
	setrlimit(RLIMIT_MEMLOCK, &unlimited);
	if (!mib || mib > 4096)
		kt_bail("MIB must be 1..4096");
	if (kt_pins_read(&start))
		kt_bail("no pin counters");
	if (kt_ctx_open(&c, bdf, false))
		kt_bail("cannot open %s through its noiommu cdev", bdf);
	ret = kt_hwpt_alloc(c.iommufd, c.dev_id, c.ioas_id, &hwpt);
	if (!ret)
		ret = kt_attach(c.devfd, c.ioas_id, &auto_pt);
	if (!kt_check(!ret && hwpt != auto_pt,
		      "two noiommu domains in IOAS %u: user HWPT %u, automatic HWPT %u of the "
		      "attach: %s", c.ioas_id, hwpt, auto_pt, kt_errname(ret)))
		kt_bail("no two domains");

	t0 = kt_now_ns();
	ret = kt_buf_alloc_scattered(&big, big_len, &seed);
	t_fault = kt_now_ns() - t0;
	if (ret)
		kt_bail("%zu MiB buffer: %s", mib, kt_errname(ret));
	if (kt_buf_alloc(&small, SMALL_LEN, false))
		kt_bail("small buffer");
	pfns_big = calloc(npages, sizeof(uint64_t));
	if (!pfns_big)
		kt_bail("out of memory");

	iova = IOVA_SMALL;
	ret = kt_map(c.iommufd, c.ioas_id, small.va, SMALL_LEN, &iova,
		     KT_MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA);
	if (!ret)
		ret = kt_pfns(small.va, SMALL_LEN, pfns_small);
	if (ret)
		kt_bail("small region: %s", kt_errname(ret));
	iova = IOVA_BIG;
	t0 = kt_now_ns();
	ret = kt_map(c.iommufd, c.ioas_id, big.va, big_len, &iova,
		     KT_MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA);
	t_map = kt_now_ns() - t0;
	if (!kt_check(!ret, "map %zu MiB of 4 KiB pages (faulted in a random order in %.1f s) "
		      "into both domains: %s in %.2f s", mib, (double)t_fault / 1e9,
		      kt_errname(ret), (double)t_map / 1e9))
		kt_bail("map");
	ret = kt_pfns(big.va, big_len, pfns_big);
	if (ret)
		kt_bail("pagemap: %s", kt_errname(ret));
	runs = kt_count_runs(pfns_big, npages, &longest);
	kt_check(runs >= npages / 4, "the mapping is fragmented: %zu physically contiguous runs "
		 "for %zu pages (want >= %zu), longest %zu pages", runs, npages, npages / 4,
		 longest);
	for (i = 0; i < SAMPLES; i++) {
		off = kt_rand(&seed) % big_len;
		ret = kt_get_pa(c.iommufd, c.ioas_id, IOVA_BIG + off, UINT64_MAX, &pa, &len);
		if (ret || pa != pfns_big[off / KT_PAGE] * KT_PAGE + off % KT_PAGE ||
		    len != kt_run_bytes(pfns_big, npages, off))
			bad++;
	}
	kt_check(!bad, "%d random GET_PA on the large mapping exact against pagemap (%u wrong)",
		 SAMPLES, bad);

	memset(&rd, 0, sizeof(rd));
	rd.iommufd = c.iommufd;
	rd.ioas_id = c.ioas_id;
	rd.iova = IOVA_SMALL;
	rd.len = SMALL_LEN;
	rd.pfns = pfns_small;
	ret = kt_reader_start(&rd);
	if (!kt_check(!ret, "reader thread running, first answer exact: %s", kt_errname(ret)))
		kt_bail("reader");
	kt_reader_window(&rd, true);
	t0 = kt_now_ns();
	ret = kt_unmap(c.iommufd, c.ioas_id, IOVA_BIG, big_len);
	t_unmap = kt_now_ns() - t0;
	kt_reader_window(&rd, false);
	kt_check(!ret, "unmap %zu MiB (%zu runs) from two domains while the reader runs: %s in "
		 "%.2f s", mib, runs, kt_errname(ret), (double)t_unmap / 1e9);
	/* Some more answers after the unmap, then stop the reader. */
	for (i = 0; i < 64; i++)
		kt_get_pa(c.iommufd, c.ioas_id, IOVA_SMALL, UINT64_MAX, &pa, &len);
	kt_reader_stop(&rd);
	kt_check(rd.calls > 0 && !rd.wrong && !rd.errors,
		 "reader: %" PRIu64 " GET_PA calls, %" PRIu64 " overlapping the unmap, %" PRIu64
		 " wrong, %" PRIu64 " failed%s%s", rd.calls, rd.window_calls, rd.wrong, rd.errors,
		 rd.errors ? ", last: " : "", rd.errors ? kt_errname(rd.last_error) : "");
	kt_diag("longest GET_PA during the unmap: %.3f ms (over the whole run %.3f ms); the "
		"unmap took %.3f ms", (double)rd.window_max_ns / 1e6, (double)rd.max_ns / 1e6,
		(double)t_unmap / 1e6);
	ret = kt_get_pa(c.iommufd, c.ioas_id, IOVA_BIG + big_len / 2, UINT64_MAX, &pa, &len);
	kt_check(ret == -ENOENT, "the large range after the unmap: %s (want ENOENT)",
		 kt_errname(ret));

	kt_ctx_close(&c);
	ret = kt_pins_wait(start.outstanding, &end, 20000);
	kt_check(!ret, "every pin released after the close: %+" PRId64 " outstanding",
		 end.outstanding - start.outstanding);
	kt_buf_free(&big);
	kt_buf_free(&small);
	free(pfns_big);
	return kt_finish();
}
