// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * vni-bench-kernel-memory [BDF [MIB]]: what the noiommu software page
 * table costs the kernel (in-guest benchmark, raw ioctls, no library).
 * It prints figures and the targets next to them; nothing is asserted but
 * that the calls work. See docs/performance.md, "Kernel: cost of the
 * software page table".
 *
 * MIB (default 1024) of memory is mapped as
 *   huge       2 MiB hugetlbfs pages (MIB / 2 reserved at boot),
 *   fresh-4k   4 KiB pages faulted in address order,
 *   scattered  4 KiB pages faulted in a random order (physically
 *              discontiguous: the worst case, one run per page),
 * always already faulted in, into an IOAS
 *   noiommu    with the noiommu device attached (one software table),
 *   noiommu-x2 the same plus a user HWPT (two software tables; scattered
 *              only: the unmap latency case),
 *   no-domain  with no domain at all: nothing is pinned, this is iommufd's
 *              own bookkeeping (areas, pages), the floor of any table,
 *   mock       with only the IOMMUFD_TEST mock domain (group kernel): a
 *              long-term pin like the noiommu one, into the selftest's
 *              own table (an xarray entry per 2 KiB), for comparison.
 * For each: kernel memory used by the mapping (deltas of /proc/meminfo
 * MemFree, Slab and SecPageTables, where IOMMU page tables made of whole
 * pages are counted, and of the active bytes of /proc/slabinfo, read after
 * letting deferred frees land, before and after the IOAS_MAP), map time,
 * unmap time; with a noiommu table the median and max of 20000 GET_PA
 * calls (2000) at random offsets (no cap: length ~0, which every kernel version takes), and the longest GET_PA that a second
 * thread, translating a small region of the same IOAS in a loop, saw while
 * the unmap ran.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>

#include "kt-iommufd.h"
#include "kt-kstat.h"
#include "kt-mem.h"
#include "kt-reader.h"
#include "kt-tap.h"

#define IOVA_BIG 0x40000000ULL
#define IOVA_SMALL 0x20000000ULL
#define SMALL_LEN (256UL << 10)
#define LAT_CALLS 2000

/*
 * The IOMMUFD_TEST ioctl of Linux 6.12 (drivers/iommu/iommufd/iommufd_test.h,
 * not exported as UAPI): command IOMMUFD_CMD_BASE + 32, op MOCK_DOMAIN = 2
 * creates a mock device attached to a mock domain of the IOAS in id. Only
 * the fields used here; the union is 48 bytes, 'last' at 64.
 */
#define KT_TEST_CMD _IO(IOMMUFD_TYPE, 0x80 + 32)
#define KT_TEST_OP_MOCK_DOMAIN 2
struct kt_test_cmd {
	uint32_t size;
	uint32_t op;
	uint32_t id;
	uint32_t reserved;
	union {
		struct {
			uint32_t out_stdev_id;
			uint32_t out_hwpt_id;
			uint32_t out_idev_id;
		} mock_domain;
		uint64_t pad[6];
	};
	uint32_t last;
};
_Static_assert(sizeof(struct kt_test_cmd) == 72, "iommu_test_cmd layout");

enum config { NOIOMMU, NOIOMMU_X2, NO_DOMAIN, MOCK };
static const char *const config_name[] = { "noiommu", "noiommu-x2", "no-domain", "mock" };

struct figures {
	bool ok;
	double map_ms, unmap_ms;
	long memfree_kb, slab_kb, sec_kb;
	int64_t slabinfo;
	double lat_med_us, lat_max_us, unmap_getpa_max_ms;
	uint64_t unmap_getpa_calls;
	bool have_lat;
};

static const char *bdf;
static size_t mib;

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* SecPageTables: IOMMU page tables (a table built of whole pages counts there). */
static void snapshot(long *memfree, long *slab, long *sec, int64_t *slabinfo)
{
	kt_slab_settle();
	*memfree = kt_meminfo_kb("MemFree");
	*slab = kt_meminfo_kb("Slab");
	*sec = kt_meminfo_kb("SecPageTables");
	*slabinfo = kt_slab_bytes(true);
}

static int mock_domain(int iommufd, uint32_t ioas)
{
	struct kt_test_cmd cmd;

	memset(&cmd, 0, sizeof(cmd));
	cmd.size = sizeof(cmd);
	cmd.op = KT_TEST_OP_MOCK_DOMAIN;
	cmd.id = ioas;
	return ioctl(iommufd, KT_TEST_CMD, &cmd) ? -errno : 0;
}

static void latency(struct kt_ctx *c, const struct kt_buf *b, struct figures *f)
{
	static uint64_t ns[LAT_CALLS];
	uint64_t seed = 0x6c6174ULL, pa, len, t0;
	size_t i;

	for (i = 0; i < LAT_CALLS; i++) {
		uint64_t off = kt_rand(&seed) % b->len;

		t0 = kt_now_ns();
		if (kt_get_pa(c->iommufd, c->ioas_id, IOVA_BIG + off, UINT64_MAX, &pa, &len))
			return;
		ns[i] = kt_now_ns() - t0;
	}
	qsort(ns, LAT_CALLS, sizeof(ns[0]), cmp_u64);
	f->lat_med_us = (double)ns[LAT_CALLS / 2] / 1e3;
	f->lat_max_us = (double)ns[LAT_CALLS - 1] / 1e3;
	f->have_lat = true;
}

static void measure(const struct kt_buf *b, enum config cfg, struct figures *f)
{
	long mf0, mf1, sl0, sl1, sp0, sp1;
	int64_t si0, si1;
	uint64_t iova, t0, pfns_small[SMALL_LEN / KT_PAGE];
	uint32_t hwpt;
	struct kt_buf small;
	struct kt_reader rd;
	struct kt_ctx c;
	bool reader = false;
	int ret;

	memset(f, 0, sizeof(*f));
	if (kt_ctx_open(&c, bdf, cfg == NOIOMMU || cfg == NOIOMMU_X2))
		return;
	ret = 0;
	if (cfg == NOIOMMU_X2)
		ret = kt_hwpt_alloc(c.iommufd, c.dev_id, c.ioas_id, &hwpt);
	if (cfg == MOCK)
		ret = mock_domain(c.iommufd, c.ioas_id);
	if (ret) {
		kt_diag("%s: set-up: %s", config_name[cfg], kt_errname(ret));
		kt_ctx_close(&c);
		return;
	}
	if (cfg == NOIOMMU || cfg == NOIOMMU_X2) {
		/* The reader's small region first, outside the measured map. */
		if (kt_buf_alloc(&small, SMALL_LEN, false))
			kt_bail("small buffer");
		iova = IOVA_SMALL;
		if (kt_map(c.iommufd, c.ioas_id, small.va, SMALL_LEN, &iova,
			   KT_MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA) ||
		    kt_pfns(small.va, SMALL_LEN, pfns_small))
			kt_bail("small region");
		reader = true;
	}

	snapshot(&mf0, &sl0, &sp0, &si0);
	iova = IOVA_BIG;
	t0 = kt_now_ns();
	ret = kt_map(c.iommufd, c.ioas_id, b->va, b->len, &iova,
		     KT_MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA);
	f->map_ms = (double)(kt_now_ns() - t0) / 1e6;
	if (ret) {
		kt_diag("%s: map: %s", config_name[cfg], kt_errname(ret));
		goto out;
	}
	snapshot(&mf1, &sl1, &sp1, &si1);
	f->memfree_kb = mf0 - mf1;
	f->slab_kb = sl1 - sl0;
	f->sec_kb = sp0 >= 0 && sp1 >= 0 ? sp1 - sp0 : 0;
	f->slabinfo = si1 - si0;
	if (reader)
		latency(&c, b, f);

	if (reader) {
		memset(&rd, 0, sizeof(rd));
		rd.iommufd = c.iommufd;
		rd.ioas_id = c.ioas_id;
		rd.iova = IOVA_SMALL;
		rd.len = SMALL_LEN;
		rd.pfns = pfns_small;
		if (kt_reader_start(&rd))
			kt_bail("reader");
		kt_reader_window(&rd, true);
	}
	t0 = kt_now_ns();
	ret = kt_unmap(c.iommufd, c.ioas_id, IOVA_BIG, b->len);
	f->unmap_ms = (double)(kt_now_ns() - t0) / 1e6;
	if (reader) {
		kt_reader_window(&rd, false);
		kt_reader_stop(&rd);
		f->unmap_getpa_max_ms = (double)rd.window_max_ns / 1e6;
		f->unmap_getpa_calls = rd.window_calls;
		if (rd.wrong || rd.errors)
			kt_diag("%s: reader: %" PRIu64 " wrong, %" PRIu64 " failed answers",
				config_name[cfg], rd.wrong, rd.errors);
	}
	f->ok = !ret;
out:
	if (reader)
		kt_buf_free(&small);
	kt_ctx_close(&c);
}

static void row(const char *kind, enum config cfg, const struct figures *f)
{
	double per_gib = 1024.0 / (double)mib;

	if (!f->ok) {
		printf("| %-9s | %-10s | n/a (not available on this kernel) ||||||||\n", kind,
		       config_name[cfg]);
		return;
	}
	printf("| %-9s | %-10s | %9.0f | %9.0f | %8.0f | %8.0f | %8.0f | %8.0f | ", kind,
	       config_name[cfg], f->map_ms, f->unmap_ms, (double)f->memfree_kb * per_gib,
	       (double)f->slab_kb * per_gib, (double)f->slabinfo / 1024.0 * per_gib,
	       (double)f->sec_kb * per_gib);
	if (f->have_lat)
		printf("%6.1f / %7.1f | %8.2f (%" PRIu64 " calls) |\n", f->lat_med_us,
		       f->lat_max_us, f->unmap_getpa_max_ms, f->unmap_getpa_calls);
	else
		printf("- | - |\n");
}

int main(int argc, char **argv)
{
	struct rlimit unlimited = { RLIM_INFINITY, RLIM_INFINITY };
	static const char *const kinds[] = { "huge", "fresh-4k", "scattered" };
	static const enum config configs[] = { NOIOMMU, NOIOMMU_X2, NO_DOMAIN, MOCK };
	struct figures f[3][4];
	uint64_t seed = 0x62656e63ULL;
	size_t k, j, runs, longest;
	uint64_t *pfns;
	struct kt_buf b;
	int ret;

	bdf = argc > 1 ? argv[1] : "0000:00:04.0";
	mib = argc > 2 ? strtoul(argv[2], NULL, 0) : 1024;
	kt_start("vni-bench-kernel-memory");
	setrlimit(RLIMIT_MEMLOCK, &unlimited);
	if (!mib || mib % 2)
		kt_bail("MIB must be even");
	pfns = calloc((mib << 20) / KT_PAGE, sizeof(uint64_t));
	if (!pfns)
		kt_bail("out of memory");
	memset(f, 0, sizeof(f));

	for (k = 0; k < 3; k++) {
		if (k == 0)
			ret = kt_buf_alloc(&b, mib << 20, true);
		else if (k == 1)
			ret = kt_buf_alloc(&b, mib << 20, false);
		else
			ret = kt_buf_alloc_scattered(&b, mib << 20, &seed);
		if (!kt_check(!ret, "%s: %zu MiB faulted in: %s", kinds[k], mib, kt_errname(ret)))
			continue;
		if (!kt_pfns(b.va, b.len, pfns)) {
			runs = kt_count_runs(pfns, b.len / KT_PAGE, &longest);
			kt_diag("%s: %zu physically contiguous runs (before pinning), longest %zu "
				"KiB", kinds[k], runs, longest * 4);
		}
		for (j = 0; j < 4; j++) {
			if (configs[j] == NOIOMMU_X2 && k != 2)
				continue;
			measure(&b, configs[j], &f[k][j]);
			if (configs[j] == NOIOMMU)
				kt_check(f[k][j].ok && f[k][j].have_lat,
					 "%s, noiommu: map, GET_PA, unmap worked", kinds[k]);
		}
		kt_buf_free(&b);
	}

	printf("\n# Kernel memory of a %zu MiB mapping, figures per GiB mapped "
	       "(TCG guest, 2 vCPUs)\n\n", mib);
	printf("| memory | IOAS | map ms | unmap ms | MemFree KiB | Slab KiB | slabinfo KiB | "
	       "SecPageTables KiB | GET_PA median / max us | longest GET_PA during unmap ms |\n");
	printf("|---|---|---|---|---|---|---|---|---|---|\n");
	for (k = 0; k < 3; k++)
		for (j = 0; j < 4; j++)
			if (configs[j] != NOIOMMU_X2 || k == 2)
				row(kinds[k], configs[j], &f[k][j]);
	printf("\n# targets: software table at most 4096 KiB per GiB in the worst case "
	       "(scattered), at most 64 KiB per GiB with 2 MiB pages (huge); compare the noiommu "
	       "rows with no-domain (iommufd's own bookkeeping)\n");
	/* Accounted kernel memory: Slab (object tables) + SecPageTables (page tables). */
	for (k = 0; k < 3; k += 2) {
		double acc = (double)(f[k][0].slab_kb + f[k][0].sec_kb - f[k][2].slab_kb -
				      f[k][2].sec_kb) * 1024.0 / (double)mib;
		double mf = (double)(f[k][0].memfree_kb - f[k][2].memfree_kb) * 1024.0 /
			    (double)mib;
		int target = k ? 4096 : 64;

		if (f[k][0].ok && f[k][2].ok)
			printf("# %s: noiommu - no-domain = %.0f KiB per GiB in Slab + SecPageTables "
			       "(%.0f KiB of MemFree), target <= %d KiB: %s\n", kinds[k], acc, mf,
			       target, acc <= target ? "met" : "NOT met");
	}
	free(pfns);
	return kt_finish();
}
