// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * noiommu-getpa [BDF]: IOMMU_IOAS_NOIOMMU_GET_PA is exact.
 *
 * The device (default 0000:00:04.0) must be bound to vfio-pci in noiommu
 * mode (vni-vm-bind). Buffers are mapped into an IOAS before the device is
 * attached, and one more after; every answer is checked against
 * /proc/self/pagemap, read once the memory is pinned:
 *  - every page of a 4 MiB buffer of 4 KiB pages: out_phys is the page's
 *    physical address and length is the physically contiguous run from
 *    there to the end of the mapping;
 *  - the same at a random byte offset in every page (out_phys includes it);
 *  - caller's caps (1, to the page end, run - 1, run, run + 1, random):
 *    length is min(cap, run);
 *  - length 0, which means no limit (mainline's uAPI), read like a mainline
 *    user reads it: the same out_phys and run as length ~0 at every page
 *    and at a sub-page offset in every page; from a sub-page offset the run
 *    ends on a page boundary ((out_phys + length) % 4096 == 0: runs end at
 *    a physical discontinuity or at the area end, both page aligned); a
 *    cap smaller than the rest of the page is honoured exactly;
 *  - a 4 MiB hugetlbfs buffer (two 2 MiB pages): one call covers a whole
 *    huge page, runs and offsets as above;
 *  - a mapping of the middle of a huge page: the run stops at the end of
 *    the mapping although the memory goes on;
 *  - the same memory mapped again at an IOVA the kernel picks;
 *  - whole tables: two huge pages that sit side by side in physical memory,
 *    mapped in order one page below a 2 MiB IOVA boundary, so that the
 *    kernel uses 4 KiB leaves and the 2 MiB table at the boundary is full
 *    and one physical run (which the walk takes in one step): with length
 *    0 the run is the whole 4 MiB area, and every page, offset and cap
 *    agrees with pagemap; then the same with two huge pages that are not
 *    side by side: the run ends where the second page starts.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "kt-iommufd.h"
#include "kt-mem.h"
#include "kt-tap.h"

#define IOVA_4K 0x40000000ULL
#define IOVA_HUGE 0x80000000ULL
#define IOVA_SUB 0xc0000000ULL
/* 2 MiB aligned; the whole-table areas start one page below it */
#define IOVA_TABLE 0x100000000ULL
/* Huge pages to choose a physically adjacent pair from */
#define TABLE_POOL 8
#define BUF_4K_LEN (4UL << 20)
#define BUF_HUGE_LEN (2 * KT_HUGE)
#define MAX_REPORTS 5

struct region {
	const char *name;
	int iommufd;
	uint32_t ioas;
	uint64_t iova;
	size_t len;
	uint64_t *pfns;
	size_t npages;
};

static void report(unsigned int *bad, const char *fmt, ...) KT_PRINTF(2, 3);

static void report(unsigned int *bad, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if ((*bad)++ >= MAX_REPORTS)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	kt_diag("%s", msg);
}

/* Translates iova + off and compares with pagemap; returns the run length. */
static uint64_t check_one(const struct region *r, size_t off, uint64_t cap, unsigned int *bad)
{
	uint64_t want_pa = r->pfns[off / KT_PAGE] * KT_PAGE + off % KT_PAGE;
	uint64_t run = kt_run_bytes(r->pfns, r->npages, off);
	/* cap 0: no limit. */
	uint64_t want_len = cap && cap < run ? cap : run;
	uint64_t pa = 0, len = 0;
	int ret;

	ret = kt_get_pa(r->iommufd, r->ioas, r->iova + off, cap, &pa, &len);
	if (ret)
		report(bad, "%s: iova %#" PRIx64 " cap %" PRIu64 ": %s", r->name,
		       r->iova + off, cap, kt_errname(ret));
	else if (pa != want_pa || len != want_len)
		report(bad, "%s: iova %#" PRIx64 " cap %" PRIu64 ": PA %#" PRIx64
		       " length %" PRIu64 ", pagemap says PA %#" PRIx64 " length %" PRIu64,
		       r->name, r->iova + off, cap, pa, len, want_pa, want_len);
	return run;
}

static int region_load(struct region *r, const uint8_t *va)
{
	int ret;

	r->npages = r->len / KT_PAGE;
	r->pfns = calloc(r->npages, sizeof(uint64_t));
	if (!r->pfns)
		return -ENOMEM;
	ret = kt_pfns(va, r->len, r->pfns);
	if (ret)
		kt_diag("%s: pagemap: %s", r->name, strerror(-ret));
	return ret;
}

static void check_every_page(const struct region *r)
{
	unsigned int bad = 0;
	size_t i, runs, longest;

	for (i = 0; i < r->npages; i++)
		check_one(r, i * KT_PAGE, UINT64_MAX, &bad);
	runs = kt_count_runs(r->pfns, r->npages, &longest);
	kt_check(!bad, "%s: %zu pages at iova %#" PRIx64 ": out_phys == pagemap and length == "
		 "contiguous run for every page (%zu runs, longest %zu KiB, page 0 at PA %#" PRIx64
		 ", %u wrong)", r->name, r->npages, r->iova, runs, longest * 4,
		 r->pfns[0] * KT_PAGE, bad);
}

static void check_offsets(const struct region *r, uint64_t *seed)
{
	unsigned int bad = 0;
	size_t i, off;

	for (i = 0; i < r->npages; i++) {
		off = i * KT_PAGE + 1 + kt_rand(seed) % (KT_PAGE - 1);
		check_one(r, off, UINT64_MAX, &bad);
	}
	kt_check(!bad, "%s: %zu random sub-page offsets: out_phys includes the offset, length "
		 "counts from it (%u wrong)", r->name, r->npages, bad);
}

static void check_caps(const struct region *r, uint64_t *seed)
{
	unsigned int bad = 0, calls = 0;
	uint64_t run, caps[6];
	size_t i, k, off;

	for (i = 0; i < r->npages; i += 3) {
		off = i * KT_PAGE + kt_rand(seed) % KT_PAGE;
		run = kt_run_bytes(r->pfns, r->npages, off);
		caps[0] = 1;
		caps[1] = KT_PAGE - off % KT_PAGE;
		caps[2] = run > 1 ? run - 1 : 1;
		caps[3] = run;
		caps[4] = run + 1;
		caps[5] = 1 + kt_rand(seed) % (2 * run);
		for (k = 0; k < 6; k++, calls++)
			check_one(r, off, caps[k], &bad);
	}
	kt_check(!bad, "%s: %u calls with a length cap (1, page end, run-1, run, run+1, random): "
		 "length == min(cap, run) (%u wrong)", r->name, calls, bad);
}

/* Length 0 against length ~0 and pagemap, as a mainline user would call it. */
static void check_length_zero(const struct region *r, uint64_t *seed)
{
	unsigned int bad = 0, unaligned = 0, capbad = 0;
	uint64_t pa0, len0, pa1, len1, pa, len, cap;
	size_t i, off, rest;
	int r0, r1, ret;

	for (i = 0; i < r->npages; i++) {
		check_one(r, i * KT_PAGE, 0, &bad);
		off = i * KT_PAGE + 1 + kt_rand(seed) % (KT_PAGE - 1);
		check_one(r, off, 0, &bad);
		r0 = kt_get_pa(r->iommufd, r->ioas, r->iova + off, 0, &pa0, &len0);
		r1 = kt_get_pa(r->iommufd, r->ioas, r->iova + off, UINT64_MAX, &pa1, &len1);
		if (r0 || r1 || pa0 != pa1 || len0 != len1)
			report(&bad, "%s: iova %#" PRIx64 ": length 0 gave %s PA %#" PRIx64
			       " length %" PRIu64 ", length ~0 gave %s PA %#" PRIx64 " length %"
			       PRIu64, r->name, r->iova + off, kt_errname(r0), pa0, len0,
			       kt_errname(r1), pa1, len1);
		else if ((pa0 + len0) % KT_PAGE)
			report(&unaligned, "%s: iova %#" PRIx64 ": length 0 gave a run that ends "
			       "inside a page: PA %#" PRIx64 " + %" PRIu64, r->name, r->iova + off,
			       pa0, len0);
		/* A cap below the rest of the page: exactly cap bytes. */
		rest = KT_PAGE - off % KT_PAGE;
		if (rest < 2)
			continue;
		cap = 1 + kt_rand(seed) % (rest - 1);
		ret = kt_get_pa(r->iommufd, r->ioas, r->iova + off, cap, &pa, &len);
		if (ret || len != cap || pa != pa1)
			report(&capbad, "%s: iova %#" PRIx64 " cap %" PRIu64 ": %s PA %#" PRIx64
			       " length %" PRIu64, r->name, r->iova + off, cap, kt_errname(ret), pa,
			       len);
	}
	kt_check(!bad, "%s: length 0 (no limit) at every page and at a sub-page offset in every "
		 "page: out_phys == pagemap, length == whole run to the area end, same as length "
		 "~0 (%u wrong)", r->name, bad);
	kt_check(!unaligned, "%s: length 0 from a sub-page offset: (out_phys + length) %% 4096 "
		 "== 0 in all %zu calls (%u not)", r->name, r->npages, unaligned);
	kt_check(!capbad, "%s: a cap smaller than the rest of the page is honoured: length == "
		 "cap (%zu calls, %u wrong)", r->name, r->npages, capbad);
}

static void check_mapping_end(const struct region *r)
{
	unsigned int bad = 0;
	uint64_t pa, len;
	int ret;

	ret = kt_get_pa(r->iommufd, r->ioas, r->iova + r->len - 1, UINT64_MAX, &pa, &len);
	kt_check(!ret && len == 1 &&
		 pa == r->pfns[r->npages - 1] * KT_PAGE + KT_PAGE - 1,
		 "%s: last byte of the mapping: length %" PRIu64 " (want 1), %s",
		 r->name, ret ? 0 : len, kt_errname(ret));
	check_one(r, r->len - KT_PAGE, UINT64_MAX, &bad);
	kt_check(!bad, "%s: last page of the mapping: length %" PRIu64,
		 r->name, kt_run_bytes(r->pfns, r->npages, r->len - KT_PAGE));
}

static void check_huge_pages(const struct region *r)
{
	uint64_t pa, len, want;
	size_t h;
	int ret;

	for (h = 0; h < r->len / KT_HUGE; h++) {
		want = r->pfns[h * (KT_HUGE / KT_PAGE)] * KT_PAGE;
		ret = kt_get_pa(r->iommufd, r->ioas, r->iova + h * KT_HUGE, KT_HUGE, &pa, &len);
		kt_check(!ret && pa == want && len == KT_HUGE && !(pa % KT_HUGE),
			 "%s: huge page %zu in one call: PA %#" PRIx64 " (pagemap %#" PRIx64
			 "), length %" PRIu64 " (want %lu), %s", r->name, h, ret ? 0 : pa, want,
			 ret ? 0 : len, KT_HUGE, kt_errname(ret));
	}
}

static void run_region(struct region *r, uint64_t *seed)
{
	check_every_page(r);
	check_offsets(r, seed);
	check_caps(r, seed);
	check_length_zero(r, seed);
	check_mapping_end(r);
}

/* Pages @first and @second of the huge page file @fd, in that order, at a 2 MiB aligned VA. */
static uint8_t *map_pair(int fd, size_t first, size_t second)
{
	uint8_t *win, *va;

	win = mmap(NULL, 3 * KT_HUGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (win == MAP_FAILED)
		return NULL;
	va = (uint8_t *)(((uintptr_t)win + KT_HUGE - 1) & ~(KT_HUGE - 1));
	if (mmap(va, KT_HUGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED | MAP_POPULATE, fd,
		 (off_t)(first * KT_HUGE)) == MAP_FAILED ||
	    mmap(va + KT_HUGE, KT_HUGE, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_FIXED | MAP_POPULATE, fd, (off_t)(second * KT_HUGE)) == MAP_FAILED)
		return NULL;
	return va;
}

/*
 * Map two huge pages of @fd at IOVA_TABLE - 4 KiB and check the area: with
 * @adjacent they are one 4 MiB physical run, otherwise two 2 MiB ones.
 */
static void check_table_pair(const struct kt_ctx *c, int fd, size_t first, size_t second,
			     bool adjacent, uint64_t *seed)
{
	struct region r = { .name = adjacent ? "whole-table" : "split-table" };
	uint64_t want = adjacent ? 2 * KT_HUGE : KT_HUGE, pa, len;
	uint8_t *va = map_pair(fd, first, second);
	int ret;

	if (!va)
		kt_bail("%s: cannot map huge pages %zu and %zu side by side: %s", r.name, first,
			second, strerror(errno));
	r.iommufd = c->iommufd;
	r.ioas = c->ioas_id;
	r.iova = IOVA_TABLE - KT_PAGE;
	r.len = 2 * KT_HUGE;
	ret = kt_map(c->iommufd, c->ioas_id, va, r.len, &r.iova,
		     KT_MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA);
	kt_check(!ret, "%s: map huge pages %zu, %zu at iova %#" PRIx64 " (4 KiB leaves): %s",
		 r.name, first, second, r.iova, kt_errname(ret));
	if (region_load(&r, va))
		kt_bail("cannot read pagemap");
	kt_check(kt_run_bytes(r.pfns, r.npages, 0) == want,
		 "%s: pagemap agrees that the pages are %s", r.name,
		 adjacent ? "one run" : "two runs");

	ret = kt_get_pa(c->iommufd, c->ioas_id, r.iova, 0, &pa, &len);
	kt_check(!ret && pa == r.pfns[0] * KT_PAGE && len == want,
		 "%s: length 0 from the area start: PA %#" PRIx64 " length %" PRIu64
		 " (want %#" PRIx64 " %" PRIu64 "), %s", r.name, ret ? 0 : pa, ret ? 0 : len,
		 r.pfns[0] * KT_PAGE, want, kt_errname(ret));
	/* From the table start: capped at exactly the table, and one byte short */
	ret = kt_get_pa(c->iommufd, c->ioas_id, IOVA_TABLE, KT_HUGE, &pa, &len);
	kt_check(!ret && pa == r.pfns[1] * KT_PAGE && len == (adjacent ? KT_HUGE : KT_HUGE - KT_PAGE),
		 "%s: cap of one table from the table start: length %" PRIu64 ", %s", r.name,
		 ret ? 0 : len, kt_errname(ret));
	ret = kt_get_pa(c->iommufd, c->ioas_id, IOVA_TABLE, KT_HUGE - 1, &pa, &len);
	kt_check(!ret && len == (adjacent ? KT_HUGE - 1 : KT_HUGE - KT_PAGE),
		 "%s: cap one byte short of the table: length %" PRIu64 ", %s", r.name,
		 ret ? 0 : len, kt_errname(ret));
	run_region(&r, seed);

	ret = kt_unmap(c->iommufd, c->ioas_id, r.iova, r.len);
	kt_check(!ret, "%s: unmap: %s", r.name, kt_errname(ret));
	munmap(va, r.len);
	free(r.pfns);
}

/* Find two pages of a huge page file that are physically adjacent, and one that is not. */
static void check_whole_tables(const struct kt_ctx *c, uint64_t *seed)
{
	uint64_t pfn[TABLE_POOL];
	size_t i, j, first = 0, second = 0, other = TABLE_POOL;
	bool found = false;
	uint8_t *va;
	int fd;

	fd = kt_huge_file(TABLE_POOL * KT_HUGE);
	if (fd < 0)
		kt_bail("whole-table: hugetlbfs file of %d pages (%lu free): %s", TABLE_POOL,
			kt_hugepages_free(), strerror(-fd));
	va = mmap(NULL, TABLE_POOL * KT_HUGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
		  fd, 0);
	if (va == MAP_FAILED)
		kt_bail("whole-table: map %d huge pages: %s", TABLE_POOL, strerror(errno));
	for (i = 0; i < TABLE_POOL; i++)
		if (kt_pfns(va + i * KT_HUGE, KT_PAGE, &pfn[i]))
			kt_bail("whole-table: pagemap");
	munmap(va, TABLE_POOL * KT_HUGE);

	for (i = 0; i < TABLE_POOL && !found; i++)
		for (j = 0; j < TABLE_POOL && !found; j++)
			if (pfn[j] == pfn[i] + KT_HUGE / KT_PAGE) {
				first = i;
				second = j;
				found = true;
			}
	/* Boot-time huge pages come from one block of memory: one pair is adjacent */
	if (!found)
		kt_bail("whole-table: none of %d huge pages is physically adjacent to another",
			TABLE_POOL);
	for (i = 0; i < TABLE_POOL; i++)
		if (i != first && i != second && pfn[i] != pfn[first] + KT_HUGE / KT_PAGE)
			other = i;
	if (other == TABLE_POOL)
		kt_bail("whole-table: no huge page apart from page %zu", first);
	kt_diag("whole-table: huge pages %zu, %zu adjacent (PFN %#" PRIx64 ", %#" PRIx64
		"), %zu apart", first, second, pfn[first], pfn[second], other);

	check_table_pair(c, fd, first, second, true, seed);
	check_table_pair(c, fd, first, other, false, seed);
	close(fd);
}

int main(int argc, char **argv)
{
	struct rlimit unlimited = { RLIM_INFINITY, RLIM_INFINITY };
	const char *bdf = argc > 1 ? argv[1] : "0000:00:04.0";
	struct region r4k = { .name = "4k" }, rhuge = { .name = "hugetlb" };
	struct region rsub = { .name = "huge-sub" }, rauto = { .name = "auto-iova" };
	uint64_t seed = 0x6e6f696f6d6d75ULL, iova, pa, len;
	struct kt_buf b4k, bhuge;
	struct kt_ctx c;
	int ret;

	kt_start("noiommu-getpa");
	kt_diag("device %s, GET_PA ABI from the %s", bdf, KT_GET_PA_SOURCE);
	setrlimit(RLIMIT_MEMLOCK, &unlimited);

	if (kt_ctx_open(&c, bdf, false))
		kt_bail("cannot open %s through its noiommu cdev", bdf);
	ret = kt_buf_alloc(&b4k, BUF_4K_LEN, false);
	if (ret)
		kt_bail("4 KiB buffer: %s", strerror(-ret));
	ret = kt_buf_alloc(&bhuge, BUF_HUGE_LEN, true);
	if (ret)
		kt_bail("hugetlbfs buffer of %lu MiB (%lu huge pages free): %s",
			BUF_HUGE_LEN >> 20, kt_hugepages_free(), strerror(-ret));

	/* Mapped before the attach: the pages are pinned when it happens. */
	iova = IOVA_4K;
	ret = kt_map(c.iommufd, c.ioas_id, b4k.va, b4k.len, &iova,
		     KT_MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA);
	kt_check(!ret, "map %zu KiB of 4 KiB pages at iova %#" PRIx64 " before the attach: %s",
		 b4k.len >> 10, iova, kt_errname(ret));
	iova = IOVA_HUGE;
	ret = kt_map(c.iommufd, c.ioas_id, bhuge.va, bhuge.len, &iova,
		     KT_MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA);
	kt_check(!ret, "map %zu KiB of 2 MiB pages at iova %#" PRIx64 " before the attach: %s",
		 bhuge.len >> 10, iova, kt_errname(ret));
	ret = kt_attach(c.devfd, c.ioas_id, &c.hwpt_id);
	if (!kt_check(!ret, "attach to IOAS %u: %s (pt_id %u)", c.ioas_id, kt_errname(ret),
		      c.hwpt_id))
		kt_bail("cannot attach");

	r4k.iommufd = rhuge.iommufd = rsub.iommufd = rauto.iommufd = c.iommufd;
	r4k.ioas = rhuge.ioas = rsub.ioas = rauto.ioas = c.ioas_id;
	r4k.iova = IOVA_4K;
	r4k.len = b4k.len;
	rhuge.iova = IOVA_HUGE;
	rhuge.len = bhuge.len;
	if (region_load(&r4k, b4k.va) || region_load(&rhuge, bhuge.va))
		kt_bail("cannot read pagemap");

	run_region(&r4k, &seed);
	check_huge_pages(&rhuge);
	run_region(&rhuge, &seed);

	/* The middle of a huge page, mapped after the attach. */
	rsub.iova = IOVA_SUB;
	rsub.len = KT_HUGE / 4;
	ret = kt_map(c.iommufd, c.ioas_id, bhuge.va + KT_HUGE / 4, rsub.len, &rsub.iova,
		     KT_MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA);
	kt_check(!ret, "map the middle %zu KiB of a huge page at iova %#" PRIx64
		 " after the attach: %s", rsub.len >> 10, rsub.iova, kt_errname(ret));
	if (region_load(&rsub, bhuge.va + KT_HUGE / 4))
		kt_bail("cannot read pagemap");
	ret = kt_get_pa(c.iommufd, c.ioas_id, rsub.iova, 0, &pa, &len);
	kt_check(!ret && len == rsub.len && pa == rsub.pfns[0] * KT_PAGE,
		 "huge-sub: with length 0 the run stops at the end of the mapping: length %" PRIu64
		 " (want %zu), PA %#" PRIx64 " (pagemap %#" PRIx64 "), %s", ret ? 0 : len,
		 rsub.len, ret ? 0 : pa, rsub.pfns[0] * KT_PAGE, kt_errname(ret));
	run_region(&rsub, &seed);

	/* The 4 KiB buffer once more, at an IOVA of the kernel's choice. */
	rauto.iova = 0;
	rauto.len = 64 * KT_PAGE;
	ret = kt_map(c.iommufd, c.ioas_id, b4k.va, rauto.len, &rauto.iova, KT_MAP_RW);
	kt_check(!ret, "map 256 KiB again at the kernel's iova %#" PRIx64 ": %s", rauto.iova,
		 kt_errname(ret));
	if (region_load(&rauto, b4k.va))
		kt_bail("cannot read pagemap");
	kt_check(!memcmp(rauto.pfns, r4k.pfns, rauto.npages * sizeof(uint64_t)),
		 "auto-iova: mapping the memory twice did not move it");
	check_every_page(&rauto);

	check_whole_tables(&c, &seed);

	ret = kt_unmap(c.iommufd, c.ioas_id, 0, UINT64_MAX);
	kt_check(!ret, "unmap everything: %s", kt_errname(ret));
	ret = kt_get_pa(c.iommufd, c.ioas_id, IOVA_4K, KT_PAGE, &pa, &len);
	kt_check(ret == -ENOENT, "GET_PA after the unmap: %s (want ENOENT)", kt_errname(ret));

	kt_ctx_close(&c);
	kt_buf_free(&b4k);
	kt_buf_free(&bhuge);
	return kt_finish();
}
