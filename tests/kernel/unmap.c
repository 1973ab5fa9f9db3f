// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * noiommu-unmap [BDF [OPS [SEED]]]: unmapping parts of physically
 * contiguous memory leaves every other translation exact.
 *
 * A noiommu software page table may merge translations that continue each
 * other in IOVA and in physical address into one run; unmapping one of the
 * areas then cuts a run in two, and unmap may not fail (nor allocate in a
 * way that can fail). With the device (default 0000:00:04.0, bound with
 * vni-vm-bind) attached to the IOAS all along:
 *
 *  - three slices: three IOAS_MAPs of adjacent 512 KiB slices of one
 *    2 MiB hugetlb page at adjacent IOVAs (physically contiguous, so an
 *    implementation may merge them); every answer stops at the end of its
 *    own area although the next one goes on physically; unmapping the
 *    middle slice leaves the first and the third exact (every page against
 *    /proc/self/pagemap) and the middle one ENOENT (first, a middle and the
 *    last byte); mapping it again makes it exact again;
 *  - area boundaries: two maps of the two halves of one hugetlb page at
 *    adjacent IOVAs: GET_PA with no limit stops at the end of the first
 *    area, even though the next area is physically contiguous;
 *  - random sequences (OPS operations, default 300, seeded from the clock
 *    unless SEED is given; the seed is printed): maps of random pieces of
 *    a hugetlb buffer and of two 4 KiB-page buffers (one faulted in order,
 *    one in a random order), often right behind an existing area with the
 *    memory that follows it (so that runs can merge), overlapping maps that
 *    must fail with EEXIST, unmaps of one area or of several adjacent areas
 *    at once. After every operation every area is checked: out_phys and the
 *    run length from pagemap (pagemap read after that area's map, while its
 *    pages are pinned), capped at the area's end, at its start with no cap
 *    and at a random offset with a random cap (0 = no limit, ~0, under a
 *    page, up to twice the area); the IOVAs just unmapped give ENOENT.
 *  - at the end, everything unmapped: outstanding pins back to the start.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "kt-iommufd.h"
#include "kt-kstat.h"
#include "kt-mem.h"
#include "kt-tap.h"

#define IOVA_SLICES 0x40000000ULL
#define IOVA_HALVES 0x48000000ULL
#define IOVA_RANDOM 0x80000000ULL
#define RANDOM_SPAN (64UL << 20)
#define SLICE (512UL << 10)
#define MAX_AREAS 48
#define MAX_REPORTS 8

struct area {
	uint64_t iova;
	size_t len;
	unsigned int buf;	/* index into bufs[] */
	size_t off;		/* byte offset in that buffer */
	uint64_t *pfns;		/* pagemap after the map */
};

static struct kt_ctx c;
static unsigned int reports;

static void fail_report(const char *fmt, ...) KT_PRINTF(1, 2);

static void fail_report(const char *fmt, ...)
{
	char msg[320];
	va_list ap;

	if (reports++ >= MAX_REPORTS)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	kt_diag("%s", msg);
}

/*
 * GET_PA at a->iova + off with cap, against pagemap and the area end.
 * Returns true when exact.
 */
static bool check_at(const struct area *a, size_t off, uint64_t cap, const char *what)
{
	uint64_t run = kt_run_bytes(a->pfns, a->len / KT_PAGE, off);
	uint64_t want_len = cap && cap < run ? cap : run;
	uint64_t want_pa = a->pfns[off / KT_PAGE] * KT_PAGE + off % KT_PAGE;
	uint64_t pa = 0, len = 0;
	int ret;

	ret = kt_get_pa(c.iommufd, c.ioas_id, a->iova + off, cap, &pa, &len);
	if (!ret && pa == want_pa && len == want_len)
		return true;
	fail_report("%s: iova %#" PRIx64 " (area %#" PRIx64 "+%#zx) cap %" PRIu64 ": %s PA %#"
		    PRIx64 " length %" PRIu64 ", want PA %#" PRIx64 " length %" PRIu64, what,
		    a->iova + off, a->iova, a->len, cap, kt_errname(ret), pa, len, want_pa,
		    want_len);
	return false;
}

static bool check_gone(uint64_t iova, const char *what)
{
	uint64_t pa = 0, len = 0;
	int ret = kt_get_pa(c.iommufd, c.ioas_id, iova, UINT64_MAX, &pa, &len);

	if (ret == -ENOENT)
		return true;
	fail_report("%s: iova %#" PRIx64 " after its unmap: %s PA %#" PRIx64 " length %" PRIu64
		    " (want ENOENT)", what, iova, kt_errname(ret), pa, len);
	return false;
}

static int area_map(struct area *a, const uint8_t *va)
{
	uint64_t iova = a->iova;
	int ret;

	ret = kt_map(c.iommufd, c.ioas_id, va, a->len, &iova,
		     KT_MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA);
	if (ret)
		return ret;
	a->pfns = calloc(a->len / KT_PAGE, sizeof(uint64_t));
	if (!a->pfns)
		kt_bail("out of memory");
	/* Read once pinned: the pages cannot move while the area exists. */
	ret = kt_pfns(va, a->len, a->pfns);
	if (ret)
		kt_bail("pagemap: %s", kt_errname(ret));
	return 0;
}

static bool check_every_page(const struct area *a, const char *what)
{
	bool ok = true;
	size_t off;

	/* Length ~0 here: length 0 has checks of its own. */
	for (off = 0; off < a->len; off += KT_PAGE)
		ok &= check_at(a, off, UINT64_MAX, what);
	ok &= check_at(a, a->len - 1, UINT64_MAX, what);
	return ok;
}

static void three_slices(const struct kt_buf *h)
{
	struct area s[3];
	uint64_t pa, len;
	bool ok = true;
	int i, ret;

	memset(s, 0, sizeof(s));
	for (i = 0; i < 3; i++) {
		s[i].iova = IOVA_SLICES + (uint64_t)i * SLICE;
		s[i].len = SLICE;
		ret = area_map(&s[i], h->va + (size_t)i * SLICE);
		if (ret)
			kt_bail("three slices: map slice %d: %s", i, kt_errname(ret));
	}
	kt_check(s[1].pfns[0] == s[0].pfns[0] + SLICE / KT_PAGE &&
		 s[2].pfns[0] == s[1].pfns[0] + SLICE / KT_PAGE,
		 "three slices of one 2 MiB page mapped at adjacent IOVAs %#llx..: physically "
		 "contiguous (PA %#" PRIx64 ", %#" PRIx64 ", %#" PRIx64 ")",
		 IOVA_SLICES, s[0].pfns[0] * KT_PAGE, s[1].pfns[0] * KT_PAGE,
		 s[2].pfns[0] * KT_PAGE);
	for (i = 0; i < 3; i++)
		ok &= check_every_page(&s[i], "three slices, all mapped");
	kt_check(ok, "three slices, all mapped: every page exact, every run stops at the end of "
		 "its own slice (length %lu from a slice start, although the next slice "
		 "continues physically)", SLICE);

	ret = kt_unmap(c.iommufd, c.ioas_id, s[1].iova, SLICE);
	kt_check(!ret, "unmap the middle slice: %s", kt_errname(ret));
	ok = check_every_page(&s[0], "first slice after the middle unmap");
	kt_check(ok, "first slice after the middle unmap: every page exact vs pagemap, runs end "
		 "at its end");
	ok = check_every_page(&s[2], "third slice after the middle unmap");
	kt_check(ok, "third slice after the middle unmap: every page exact vs pagemap");
	ok = check_gone(s[1].iova, "middle slice") &&
	     check_gone(s[1].iova + SLICE / 2 + 123, "middle slice") &&
	     check_gone(s[1].iova + SLICE - 1, "middle slice");
	kt_check(ok, "middle slice after its unmap: ENOENT at its first, a middle and its last "
		 "byte");
	ret = kt_get_pa(c.iommufd, c.ioas_id, s[0].iova + SLICE - KT_PAGE + 7, 0, &pa, &len);
	kt_check(!ret && len == KT_PAGE - 7 && (pa + len) % KT_PAGE == 0,
		 "first slice, length 0 from 7 bytes into its last page: length %" PRIu64
		 " (want %lu), ends on a page boundary: %s", ret ? 0 : len, KT_PAGE - 7,
		 kt_errname(ret));

	free(s[1].pfns);
	ret = area_map(&s[1], h->va + SLICE);
	kt_check(!ret, "map the middle slice again: %s", kt_errname(ret));
	ok = true;
	for (i = 0; i < 3 && !ret; i++)
		ok &= check_every_page(&s[i], "three slices, mapped again");
	kt_check(!ret && ok, "three slices, middle mapped again: all exact, runs still end at "
		 "the slice ends");
	ret = kt_unmap(c.iommufd, c.ioas_id, IOVA_SLICES, 3 * SLICE);
	ok = check_gone(IOVA_SLICES, "slices") && check_gone(IOVA_SLICES + 3 * SLICE - 1, "slices");
	kt_check(!ret && ok, "unmap the three slices in one call: %s, then ENOENT",
		 kt_errname(ret));
	for (i = 0; i < 3; i++)
		free(s[i].pfns);
}

static void two_halves(const struct kt_buf *h)
{
	struct area a[2];
	uint64_t pa, len;
	int ret, i;

	memset(a, 0, sizeof(a));
	for (i = 0; i < 2; i++) {
		a[i].iova = IOVA_HALVES + (uint64_t)i * (KT_HUGE / 2);
		a[i].len = KT_HUGE / 2;
		ret = area_map(&a[i], h->va + KT_HUGE + (size_t)i * (KT_HUGE / 2));
		if (ret)
			kt_bail("halves: map %d: %s", i, kt_errname(ret));
	}
	ret = kt_get_pa(c.iommufd, c.ioas_id, IOVA_HALVES, 0, &pa, &len);
	kt_check(!ret && pa == a[0].pfns[0] * KT_PAGE && len == KT_HUGE / 2 &&
		 a[1].pfns[0] * KT_PAGE == pa + KT_HUGE / 2,
		 "two halves of one 2 MiB page at adjacent IOVAs, GET_PA with length 0 at the "
		 "first: PA %#" PRIx64 " length %" PRIu64 " (want %lu: the end of the area, though "
		 "the next area continues at PA %#" PRIx64 "): %s", ret ? 0 : pa, ret ? 0 : len,
		 KT_HUGE / 2, a[1].pfns[0] * KT_PAGE, kt_errname(ret));
	ret = kt_get_pa(c.iommufd, c.ioas_id, IOVA_HALVES + KT_HUGE / 2 - 100, UINT64_MAX, &pa,
			&len);
	kt_check(!ret && len == 100, "100 bytes before the end of the first half, length ~0: "
		 "length %" PRIu64 " (want 100): %s", ret ? 0 : len, kt_errname(ret));
	ret = kt_get_pa(c.iommufd, c.ioas_id, IOVA_HALVES + KT_HUGE / 2 - 100, 4096, &pa, &len);
	kt_check(!ret && len == 100, "the same with a cap of 4096: length %" PRIu64 ": %s",
		 ret ? 0 : len, kt_errname(ret));
	ret = kt_unmap(c.iommufd, c.ioas_id, IOVA_HALVES, KT_HUGE);
	kt_check(!ret, "unmap both halves: %s", kt_errname(ret));
	for (i = 0; i < 2; i++)
		free(a[i].pfns);
}

struct pool {
	struct kt_buf b[3];
	const char *name[3];
	size_t max_pages[3];
};

static struct area areas[MAX_AREAS];
static size_t nareas;

static bool overlaps(uint64_t iova, size_t len)
{
	size_t i;

	for (i = 0; i < nareas; i++)
		if (iova < areas[i].iova + areas[i].len && areas[i].iova < iova + len)
			return true;
	return false;
}

static struct area *find_area(uint64_t iova)
{
	size_t i;

	for (i = 0; i < nareas; i++)
		if (areas[i].iova == iova)
			return &areas[i];
	return NULL;
}

static void drop_area(size_t i)
{
	free(areas[i].pfns);
	areas[i] = areas[--nareas];
}

struct op_stats {
	unsigned int maps, behind, eexist, unmaps, multi, checks, wrong;
};

/* A new area: random, or right behind an existing one with the memory that follows. */
static void op_map(struct pool *p, uint64_t *seed, struct op_stats *st)
{
	struct area a;
	struct area *prev = NULL;
	size_t pages;
	uint64_t iova;
	int ret, tries;

	memset(&a, 0, sizeof(a));
	if (nareas && kt_rand(seed) % 2) {
		prev = &areas[kt_rand(seed) % nareas];
		a.buf = prev->buf;
		a.off = prev->off + prev->len;
		a.iova = prev->iova + prev->len;
		pages = 1 + kt_rand(seed) % p->max_pages[a.buf];
		if (a.off + pages * KT_PAGE > p->b[a.buf].len ||
		    a.iova + pages * KT_PAGE > IOVA_RANDOM + RANDOM_SPAN ||
		    overlaps(a.iova, pages * KT_PAGE))
			prev = NULL;
	}
	if (!prev) {
		a.buf = (unsigned int)(kt_rand(seed) % 3);
		pages = 1 + kt_rand(seed) % p->max_pages[a.buf];
		a.off = kt_rand(seed) % (p->b[a.buf].len / KT_PAGE - pages + 1) * KT_PAGE;
		for (tries = 0; tries < 100; tries++) {
			a.iova = IOVA_RANDOM +
				 kt_rand(seed) % (RANDOM_SPAN / KT_PAGE - pages) * KT_PAGE;
			if (!overlaps(a.iova, pages * KT_PAGE))
				break;
		}
		if (tries == 100)
			return;
	}
	a.len = pages * KT_PAGE;

	/* Now and then, a map over an existing area first: EEXIST, no change. */
	if (nareas && kt_rand(seed) % 8 == 0) {
		struct area *victim = &areas[kt_rand(seed) % nareas];
		uint64_t over = victim->iova + (kt_rand(seed) % (victim->len / KT_PAGE)) * KT_PAGE;

		iova = over;
		ret = kt_map(c.iommufd, c.ioas_id, p->b[a.buf].va + a.off, a.len, &iova,
			     KT_MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA);
		st->eexist++;
		if (ret != -EEXIST) {
			st->wrong++;
			fail_report("map of %zu bytes at %#" PRIx64 " over the area at %#" PRIx64
				    ": %s (want EEXIST)", a.len, over, victim->iova,
				    kt_errname(ret));
			if (!ret)
				kt_bail("an overlapping map succeeded");
		}
	}
	if (nareas == MAX_AREAS)
		return;
	ret = area_map(&a, p->b[a.buf].va + a.off);
	if (ret) {
		st->wrong++;
		fail_report("map %zu bytes of %s+%#zx at %#" PRIx64 ": %s", a.len, p->name[a.buf],
			    a.off, a.iova, kt_errname(ret));
		return;
	}
	areas[nareas++] = a;
	st->maps++;
	if (prev)
		st->behind++;
}

/* Unmaps one area, or it and the areas that follow it without a hole. */
static void op_unmap(uint64_t *seed, struct op_stats *st)
{
	uint64_t start, end, gone[MAX_AREAS];
	size_t i = kt_rand(seed) % nareas, n = 0, k;
	struct area *next;
	int ret;

	start = areas[i].iova;
	end = start + areas[i].len;
	gone[n++] = start;
	while (kt_rand(seed) % 2 && (next = find_area(end))) {
		gone[n++] = next->iova;
		end += next->len;
	}
	ret = kt_unmap(c.iommufd, c.ioas_id, start, end - start);
	if (ret) {
		st->wrong++;
		fail_report("unmap %#" PRIx64 "..%#" PRIx64 " (%zu areas): %s", start, end - 1, n,
			    kt_errname(ret));
		return;
	}
	st->unmaps++;
	if (n > 1)
		st->multi++;
	for (k = 0; k < n; k++) {
		struct area *a = find_area(gone[k]);

		drop_area((size_t)(a - areas));
	}
	st->checks += 3;
	if (!check_gone(start, "random") || !check_gone(end - 1, "random") ||
	    !check_gone(start + kt_rand(seed) % (end - start), "random"))
		st->wrong++;
}

static void check_all(uint64_t *seed, struct op_stats *st)
{
	size_t i, off;
	uint64_t cap;

	for (i = 0; i < nareas; i++) {
		const struct area *a = &areas[i];

		off = kt_rand(seed) % a->len;
		switch (kt_rand(seed) % 4) {
		case 0:
			cap = 0;
			break;
		case 1:
			cap = UINT64_MAX;
			break;
		case 2:
			cap = 1 + kt_rand(seed) % KT_PAGE;
			break;
		default:
			cap = 1 + kt_rand(seed) % (2 * a->len);
			break;
		}
		st->checks += 2;
		if (!check_at(a, 0, UINT64_MAX, "random"))
			st->wrong++;
		if (!check_at(a, off, cap, "random"))
			st->wrong++;
	}
}

static void random_ops(unsigned int ops, uint64_t seed)
{
	struct op_stats st;
	struct pool p;
	unsigned int i;
	uint64_t s = seed;
	int ret;

	memset(&st, 0, sizeof(st));
	memset(&p, 0, sizeof(p));
	p.name[0] = "hugetlb";
	p.max_pages[0] = 256;
	p.name[1] = "4k-in-order";
	p.max_pages[1] = 64;
	p.name[2] = "4k-scattered";
	p.max_pages[2] = 64;
	ret = kt_buf_alloc(&p.b[0], 2 * KT_HUGE, true);
	if (!ret)
		ret = kt_buf_alloc(&p.b[1], 2UL << 20, false);
	if (!ret)
		ret = kt_buf_alloc_scattered(&p.b[2], 2UL << 20, &s);
	if (ret)
		kt_bail("random: buffers: %s (%lu huge pages free)", kt_errname(ret),
			kt_hugepages_free());

	for (i = 0; i < ops; i++) {
		if (!nareas || (nareas < MAX_AREAS && kt_rand(&s) % 100 < 60))
			op_map(&p, &s, &st);
		else
			op_unmap(&s, &st);
		check_all(&s, &st);
	}
	kt_check(!st.wrong, "random sequence, seed %#" PRIx64 ", %u operations: %u maps (%u right "
		 "behind an area, with the memory that follows it), %u overlapping maps refused, "
		 "%u unmaps (%u of several adjacent areas), %u GET_PA checks: %u wrong", seed, ops,
		 st.maps, st.behind, st.eexist, st.unmaps, st.multi, st.checks, st.wrong);

	ret = kt_unmap(c.iommufd, c.ioas_id, 0, UINT64_MAX);
	kt_check(!ret, "unmap everything left (%zu areas): %s", nareas, kt_errname(ret));
	st.wrong = 0;
	while (nareas) {
		if (!check_gone(areas[0].iova, "random, end"))
			st.wrong++;
		drop_area(0);
	}
	kt_check(!st.wrong, "every area ENOENT after the full unmap");
	for (i = 0; i < 3; i++)
		kt_buf_free(&p.b[i]);
}

int main(int argc, char **argv)
{
	struct rlimit unlimited = { RLIM_INFINITY, RLIM_INFINITY };
	const char *bdf = argc > 1 ? argv[1] : "0000:00:04.0";
	unsigned int ops = argc > 2 ? (unsigned int)strtoul(argv[2], NULL, 0) : 300;
	struct kt_pins start, end;
	struct timespec ts;
	struct kt_buf h;
	uint64_t seed;
	int ret;

	clock_gettime(CLOCK_REALTIME, &ts);
	seed = argc > 3 ? strtoull(argv[3], NULL, 0)
			: ((uint64_t)ts.tv_sec * 1000000007ULL) ^ (uint64_t)ts.tv_nsec;
	if (!seed)
		seed = 1;
	kt_start("noiommu-unmap");
	kt_diag("device %s, %u random operations, seed %#" PRIx64 " (rerun: noiommu-unmap %s %u "
		"%#" PRIx64 ")", bdf, ops, seed, bdf, ops, seed);
	setrlimit(RLIMIT_MEMLOCK, &unlimited);
	if (kt_pins_read(&start))
		kt_bail("no pin counters in /proc/vmstat");
	if (kt_ctx_open(&c, bdf, true))
		kt_bail("cannot open %s through its noiommu cdev", bdf);
	ret = kt_buf_alloc(&h, 2 * KT_HUGE, true);
	if (ret)
		kt_bail("hugetlbfs buffer: %s (%lu huge pages free)", kt_errname(ret),
			kt_hugepages_free());

	three_slices(&h);
	two_halves(&h);
	random_ops(ops, seed);

	kt_ctx_close(&c);
	kt_buf_free(&h);
	ret = kt_pins_wait(start.outstanding, &end, 10000);
	kt_check(!ret, "outstanding pins back to the start value after the close: %+" PRId64,
		 end.outstanding - start.outstanding);
	return kt_finish();
}
