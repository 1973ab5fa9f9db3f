/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vni-bench-synth: the translation table's lookup cost on the host's own CPU,
 * where the kernel feature is absent, against two reference structures.
 *
 *   vni-bench-synth [--size MiB] [--lookups N] [--rounds R] [--slow-lookups N]
 *
 * The library cannot map memory without a no-IOMMU device, and the test VMs
 * run under TCG, which slows user space memory accesses far more than it
 * slows a system call. To see what a lookup costs natively, this program
 * links the library's internal static build and points its system call table
 * at the unit tests' simulated kernel (tests/unit/fake.c): the context,
 * device, IOAS map and GET_PA answers are simulated, the translation table
 * and the lookups are the library's real code.
 *
 * Layouts (--size MiB each, default 1024):
 *   4k  caller memory with a fragmented made-up physical layout (runs of
 *       1..8 pages, like a busy machine's anonymous memory)
 *   2m  a buffer of 2 MiB pages (vni_dma_alloc(VNI_DMA_ALLOC_HUGE))
 * Access patterns: random offsets over the whole buffer, and random offsets
 * within its first 8 MiB (a working set that stays in cache).
 *
 * Methods, each a called (not inlined) function, like the library's:
 *   lib      vni_dma_addr_fast()
 *   checked  vni_dma_addr() (argument checks, error code)
 *   2level   reference: the classic two-level map of user space drivers
 *            (VA bits 47..30 index a top table of per-GiB tables; a per-GiB
 *            table has one entry per 2 MiB for the 2m layout and, the same
 *            shape with 4 KiB slots, one entry per 4 KiB page for the 4k
 *            layout), written here from that description
 *   bsearch  reference: binary search in a sorted array of the runs
 * Reference structures are test code only, built from the simulated
 * kernel's answers; every method is checked against them on every lookup
 * of one pass.
 *
 * The methods are interleaved: R rounds (default 15), each timing every
 * method once in a rotating order, over the same offsets; the figures are
 * medians over the rounds of the thread's CPU time per lookup (the host is
 * shared and loaded: CPU time leaves out the time other processes ran,
 * medians resist the remaining noise, interleaving spreads drifts over all
 * methods alike). The last
 * line is machine-readable:
 *
 *   ratio-vs-2level 4k=R1 2m=R2
 *
 * with R = median lib ns / median 2level ns, the larger of the two access
 * patterns (the worse case for the library).
 *
 * For scale it also times, natively, what any per-lookup kernel query costs
 * at least: a null ioctl (-ENOTTY) and one pread of /proc/self/pagemap.
 * Then the cost of a DMA pool allocation and free (pool.h), which takes no
 * system call once the pool's chunk exists.
 * Not a VM test; registered as a Meson benchmark.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <vfionoiommu/vfionoiommu.h>

#include "fake.h"

#define MiB ((uint64_t)1024 * 1024)
#define NOINLINE __attribute__((noinline))

/* CPU time of this thread: time the scheduler gave to other processes of
 * the loaded machine is not counted. */
static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

static int failures;

/* ---- reference 1: two-level map ------------------------------------------ */
#define REF_TOP_ENTRIES ((size_t)1 << 18)   /* VA bits 47..30 */

struct ref2 {
	uint64_t **top;                     /* per-GiB tables, NULL if none */
	unsigned int shift;                 /* 21 (2 MiB slots) or 12 (4 KiB) */
	uint64_t slot_mask;                 /* entries per GiB - 1 */
	uint64_t off_mask;                  /* (1 << shift) - 1 */
};

static int ref2_init(struct ref2 *m, unsigned int shift)
{
	m->top = calloc(REF_TOP_ENTRIES, sizeof(*m->top));
	m->shift = shift;
	m->slot_mask = ((uint64_t)1 << (30 - shift)) - 1;
	m->off_mask = ((uint64_t)1 << shift) - 1;
	return m->top ? 0 : -ENOMEM;
}

static int ref2_set(struct ref2 *m, uint64_t va, uint64_t pa)
{
	uint64_t **t = &m->top[va >> 30];

	if (!*t) {
		*t = calloc(m->slot_mask + 1, sizeof(**t));
		if (!*t)
			return -ENOMEM;
	}
	(*t)[(va >> m->shift) & m->slot_mask] = pa;
	return 0;
}

static void ref2_free(struct ref2 *m)
{
	for (size_t i = 0; i < REF_TOP_ENTRIES; i++)
		free(m->top[i]);
	free(m->top);
}

/* Stores the physical address of the slot's start; 0 = unmapped (the
 * simulated physical addresses start at 4 GiB). */
static NOINLINE uint64_t ref2_lookup(const struct ref2 *m, uint64_t va)
{
	const uint64_t *t;
	uint64_t e;

	if (va >> 48)
		return VNI_DMA_ADDR_INVALID;
	t = m->top[va >> 30];
	if (!t)
		return VNI_DMA_ADDR_INVALID;
	e = t[(va >> m->shift) & m->slot_mask];
	if (!e)
		return VNI_DMA_ADDR_INVALID;
	return e + (va & m->off_mask);
}

/* ---- reference 2: sorted array of runs, binary search --------------------- */
struct run {
	uint64_t va, len, pa;
};

struct runs {
	struct run *r;
	size_t n, cap;
};

static int runs_add(struct runs *rs, uint64_t va, uint64_t pa, uint64_t len)
{
	if (rs->n && rs->r[rs->n - 1].va + rs->r[rs->n - 1].len == va &&
	    rs->r[rs->n - 1].pa + rs->r[rs->n - 1].len == pa) {
		rs->r[rs->n - 1].len += len;
		return 0;
	}
	if (rs->n == rs->cap) {
		size_t nc = rs->cap ? rs->cap * 2 : 1024;
		struct run *nr = realloc(rs->r, nc * sizeof(*nr));

		if (!nr)
			return -ENOMEM;
		rs->r = nr;
		rs->cap = nc;
	}
	rs->r[rs->n++] = (struct run){ va, len, pa };
	return 0;
}

static NOINLINE uint64_t runs_lookup(const struct runs *rs, uint64_t va)
{
	size_t lo = 0, hi = rs->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (rs->r[mid].va <= va)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || va - rs->r[lo - 1].va >= rs->r[lo - 1].len)
		return VNI_DMA_ADDR_INVALID;
	return rs->r[lo - 1].pa + (va - rs->r[lo - 1].va);
}

/* ---- methods ---------------------------------------------------------------- */
enum { M_LIB, M_CHECKED, M_REF2, M_BSEARCH, NMETHODS };
static const char *const mname[NMETHODS] = { "lib", "checked", "2level", "bsearch" };

struct layout {
	const char *name;
	struct vni_ctx *ctx;
	const uint8_t *mem;
	struct ref2 ref;
	struct runs runs;
};

static NOINLINE uint64_t pass(int method, const struct layout *l, const uint32_t *offs,
			      size_t n)
{
	/* Everything in locals: the compiler may not reload them around the
	 * library's calls (it can see that the reference functions write no
	 * memory, not that the library's do not). */
	const struct vni_ctx *ctx = l->ctx;
	const uint8_t *mem = l->mem;
	const struct ref2 *ref = &l->ref;
	const struct runs *runs = &l->runs;
	uint64_t sink = 0;

	switch (method) {
	case M_LIB:
		for (size_t i = 0; i < n; i++)
			sink ^= vni_dma_addr_fast(ctx, mem + offs[i]);
		break;
	case M_CHECKED:
		for (size_t i = 0; i < n; i++) {
			uint64_t d = 0;

			vni_dma_addr(ctx, mem + offs[i], &d);
			sink ^= d;
		}
		break;
	case M_REF2:
		for (size_t i = 0; i < n; i++)
			sink ^= ref2_lookup(ref, (uint64_t)(uintptr_t)(mem + offs[i]));
		break;
	default:
		for (size_t i = 0; i < n; i++)
			sink ^= runs_lookup(runs, (uint64_t)(uintptr_t)(mem + offs[i]));
		break;
	}
	return sink;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Median ns per lookup of every method over rounds interleaved passes. */
static void measure(const struct layout *l, const uint32_t *offs, size_t n,
		    unsigned int rounds, double med[NMETHODS])
{
	double *t = calloc((size_t)rounds * NMETHODS, sizeof(*t));
	uint64_t sink = 0, bad = 0;

	if (!t)
		exit(2);
	/* check pass: every method agrees with the simulated kernel */
	for (size_t i = 0; i < n; i++) {
		const uint8_t *p = l->mem + offs[i];
		uint64_t want = 0, d = 0;

		if (!fake_pa((uint64_t)(uintptr_t)p, &want))
			want = VNI_DMA_ADDR_INVALID;
		vni_dma_addr(l->ctx, p, &d);
		if (vni_dma_addr_fast(l->ctx, p) != want || d != want ||
		    ref2_lookup(&l->ref, (uint64_t)(uintptr_t)p) != want ||
		    runs_lookup(&l->runs, (uint64_t)(uintptr_t)p) != want)
			bad++;
	}
	printf("  check %s: %zu lookups x %d methods agree with the simulated kernel "
	       "(%" PRIu64 " differ)\n", bad ? "FAIL" : "ok  ", n, NMETHODS, bad);
	if (bad)
		failures++;
	for (unsigned int r = 0; r < rounds; r++) {
		for (int k = 0; k < NMETHODS; k++) {
			int m = (int)((r + (unsigned int)k) % NMETHODS);
			uint64_t t0 = now_ns();

			sink ^= pass(m, l, offs, n);
			t[(size_t)m * rounds + r] = (double)(now_ns() - t0) / (double)n;
		}
	}
	for (int m = 0; m < NMETHODS; m++) {
		qsort(t + (size_t)m * rounds, rounds, sizeof(*t), cmp_double);
		med[m] = t[(size_t)m * rounds + rounds / 2];
	}
	if (sink == 1)
		printf("(sink)\n");
	free(t);
}

/* Build both references from the simulated kernel's layout. */
static int build_refs(struct layout *l, uint64_t size, unsigned int shift)
{
	uint64_t step = (uint64_t)1 << shift;

	memset(&l->runs, 0, sizeof(l->runs));
	if (ref2_init(&l->ref, shift) < 0)
		return -ENOMEM;
	for (uint64_t off = 0; off < size; off += step) {
		uint64_t va = (uint64_t)(uintptr_t)l->mem + off, pa;

		if (!fake_pa(va, &pa) || ref2_set(&l->ref, va, pa) < 0 ||
		    runs_add(&l->runs, va, pa, step) < 0)
			return -ENOMEM;
	}
	return 0;
}

static double ratio(const double *med)
{
	return med[M_LIB] / med[M_REF2];
}

static void print_row(const char *layout, const char *pattern, const double *med)
{
	printf("  %-4s %-13s", layout, pattern);
	for (int m = 0; m < NMETHODS; m++)
		printf(" %8.2f", med[m]);
	printf("   %5.2f\n", ratio(med));
}

static int open_ctx(struct vni_ctx **ctx, struct vni_device **dev)
{
	int ret = vni_ctx_new(ctx, 0);

	if (ret == 0)
		ret = vni_device_open(*ctx, "0000:00:04.0", dev);
	if (ret < 0)
		printf("error: %s\n", vni_strerror_last());
	return ret;
}

/* DMA pool alloc + free, ns per pair (median over rounds): one object at a
 * time (the free list's top, hot) and bursts of 1024 (alloc all, free all). */
static void bench_pool(struct vni_ctx *ctx, size_t obj_size, int rounds)
{
	enum { PAIRS = 100000, BURST = 1024 };
	struct vni_dma_pool *pool = NULL;
	double one[64], burst[64];
	static void *held[BURST];
	void *p;

	if (rounds > 64)
		rounds = 64;
	if (vni_dma_pool_create(ctx, obj_size, 0, 0, &pool) < 0) {
		printf("  pool %zu B: error: %s\n", obj_size, vni_strerror_last());
		failures++;
		return;
	}
	for (int r = 0; r < rounds; r++) {
		uint64_t t0 = now_ns(), t1;

		for (int i = 0; i < PAIRS; i++)
			if (vni_dma_pool_alloc(pool, &p, NULL) < 0 || vni_dma_pool_free(pool, p) < 0)
				failures++;
		t1 = now_ns();
		one[r] = (double)(t1 - t0) / PAIRS;
		t0 = now_ns();
		for (int k = 0; k < PAIRS / BURST; k++) {
			for (int i = 0; i < BURST; i++)
				if (vni_dma_pool_alloc(pool, &held[i], NULL) < 0)
					failures++;
			for (int i = 0; i < BURST; i++)
				if (vni_dma_pool_free(pool, held[i]) < 0)
					failures++;
		}
		t1 = now_ns();
		burst[r] = (double)(t1 - t0) / (PAIRS / BURST * BURST);
	}
	qsort(one, (size_t)rounds, sizeof(double), cmp_double);
	qsort(burst, (size_t)rounds, sizeof(double), cmp_double);
	printf("  pool %4zu B objects: alloc+free %.1f ns (one at a time), %.1f ns (bursts of %d)\n",
	       obj_size, one[rounds / 2], burst[rounds / 2], BURST);
	if (vni_dma_pool_destroy(&pool) < 0)
		failures++;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "size", required_argument, NULL, 's' },
		{ "lookups", required_argument, NULL, 'l' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "slow-lookups", required_argument, NULL, 'L' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t size = 1024 * MiB, seed = 0x2545f4914f6cdd1dull, t0, t1;
	size_t n = 2000000, ns = 100000;
	unsigned int rounds = 15;
	struct fake_cfg cfg;
	struct vni_device *dev = NULL;
	struct vni_ctx_stats st = { .struct_size = sizeof(st) };
	struct layout l4k, l2m;
	double m4k_all[NMETHODS], m4k_8m[NMETHODS], m2m_all[NMETHODS], m2m_8m[NMETHODS];
	double null_ioctl, pm, r4k, r2m;
	uint32_t *offs, *offs8;
	uint8_t *mem, *real;
	void *huge = NULL;
	int c, pmfd, ret;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 's': size = strtoull(optarg, NULL, 0) * MiB; break;
		case 'l': n = strtoull(optarg, NULL, 0); break;
		case 'r': rounds = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'L': ns = strtoull(optarg, NULL, 0); break;
		default:
			fprintf(stderr, "usage: vni-bench-synth [--size MiB] [--lookups N] "
				"[--rounds R] [--slow-lookups N]\n");
			return 2;
		}
	}
	if (size < 8 * MiB || size % (2 * MiB) || size > 4096 * MiB || n == 0 || ns == 0 ||
	    rounds == 0)
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("vni-bench-synth: libvfionoiommu %s, %" PRIu64 " MiB per layout, %zu lookups "
	       "per pass, %u interleaved rounds, medians; simulated kernel "
	       "(tests/unit/fake.c), the library's real translation table, native CPU\n",
	       vni_version(), size / MiB, n, rounds);

	/* offsets precomputed: no division in the timed loops */
	offs = malloc(n * sizeof(*offs));
	offs8 = malloc(n * sizeof(*offs8));
	if (!offs || !offs8)
		return 2;
	for (size_t i = 0; i < n; i++) {
		offs[i] = (uint32_t)(xorshift(&seed) % size);
		offs8[i] = (uint32_t)(xorshift(&seed) % (8 * MiB));
	}

	/* Native system call floors, against real memory. */
	pmfd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	real = mmap(NULL, 64 * MiB, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (pmfd < 0 || real == MAP_FAILED)
		return 2;
	null_ioctl = pm = 1e18;
	for (int p = 0; p < 3; p++) {
		double v;

		t0 = now_ns();
		for (size_t i = 0; i < ns; i++)
			(void)!ioctl(pmfd, 0x4242, NULL);
		t1 = now_ns();
		v = (double)(t1 - t0) / (double)ns;
		if (v < null_ioctl)
			null_ioctl = v;
		t0 = now_ns();
		for (size_t i = 0; i < ns; i++) {
			uint64_t e;
			uint64_t va = (uint64_t)(uintptr_t)real + offs[i] % (64 * MiB);

			(void)!pread(pmfd, &e, 8, (off_t)((va >> 12) * 8));
		}
		t1 = now_ns();
		v = (double)(t1 - t0) / (double)ns;
		if (v < pm)
			pm = v;
	}
	printf("  native floors per lookup: null ioctl (ENOTTY) %.1f ns, pagemap pread %.1f ns\n",
	       null_ioctl, pm);
	munmap(real, 64 * MiB);
	close(pmfd);

	cfg = fake_default_cfg();
	cfg.run_max = 8;
	cfg.big_pct = 0;
	fake_install(&cfg);

	/* 4 KiB pages: caller memory, fragmented layout, never touched. */
	memset(&l4k, 0, sizeof(l4k));
	l4k.name = "4k";
	if (open_ctx(&l4k.ctx, &dev) < 0)
		return 2;
	mem = mmap(NULL, size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED)
		return 2;
	l4k.mem = mem;
	t0 = now_ns();
	ret = vni_dma_map(l4k.ctx, mem, size, 0);
	t1 = now_ns();
	if (ret < 0 || build_refs(&l4k, size, 12) < 0) {
		printf("error: vni_dma_map: %s\n", vni_strerror_last());
		return 2;
	}
	vni_ctx_stats(l4k.ctx, &st);
	printf("\n== 4k: %" PRIu64 " MiB of 4 KiB pages in runs of 1..8 pages ==\n", size / MiB);
	printf("  vni_dma_map (simulated kernel, real table fill): %.1f ms; %" PRIu64 " runs, %"
	       PRIu64 " GET_PA calls, table %" PRIu64 " KiB, leaves 2M %" PRIu64 " 4K %" PRIu64
	       "\n", (double)(t1 - t0) / 1e6, st.runs, st.get_pa_calls, st.table_bytes / 1024,
	       st.leaf_2m, st.leaf_4k);
	if (st.get_pa_calls != (uint64_t)fake_mapping_runs((uint64_t)(uintptr_t)mem)) {
		printf("  check FAIL: GET_PA calls != runs\n");
		failures++;
	}
	measure(&l4k, offs, n, rounds, m4k_all);
	measure(&l4k, offs8, n, rounds, m4k_8m);

	/* 2 MiB pages. */
	memset(&l2m, 0, sizeof(l2m));
	l2m.name = "2m";
	l2m.ctx = l4k.ctx;
	ret = vni_dma_alloc(l2m.ctx, size, VNI_DMA_ALLOC_HUGE, &huge);
	if (ret < 0) {
		printf("error: vni_dma_alloc: %s\n", vni_strerror_last());
		return 2;
	}
	l2m.mem = huge;
	if (build_refs(&l2m, size, 21) < 0)
		return 2;
	vni_ctx_stats(l2m.ctx, &st);
	printf("\n== 2m: %" PRIu64 " MiB of 2 MiB pages (same context) ==\n", size / MiB);
	printf("  table %" PRIu64 " KiB, leaves 2M %" PRIu64 " 4K %" PRIu64 "\n",
	       st.table_bytes / 1024, st.leaf_2m, st.leaf_4k);
	measure(&l2m, offs, n, rounds, m2m_all);
	measure(&l2m, offs8, n, rounds, m2m_8m);

	printf("\n== median ns per lookup (lower is better) ==\n");
	printf("  %-4s %-13s", "page", "pattern");
	for (int m = 0; m < NMETHODS; m++)
		printf(" %8s", mname[m]);
	printf("   lib/2level\n");
	print_row("4k", "random 1 GiB", m4k_all);
	print_row("4k", "random 8 MiB", m4k_8m);
	print_row("2m", "random 1 GiB", m2m_all);
	print_row("2m", "random 8 MiB", m2m_8m);
	printf("  (pattern \"random 1 GiB\" covers the whole --size; null ioctl is %.0fx, "
	       "pagemap pread %.0fx the 4k lib lookup)\n", null_ioctl / m4k_all[M_LIB],
	       pm / m4k_all[M_LIB]);

	printf("\n== DMA pools: median ns per vni_dma_pool_alloc + vni_dma_pool_free ==\n");
	bench_pool(l4k.ctx, 64, rounds);
	bench_pool(l4k.ctx, 4096, rounds);

	vni_dma_free(l2m.ctx, huge);
	vni_dma_unmap(l4k.ctx, mem, size);
	munmap(mem, size);
	vni_device_close(&dev);
	vni_ctx_destroy(&l4k.ctx);
	fake_uninstall();
	ref2_free(&l4k.ref);
	ref2_free(&l2m.ref);
	free(l4k.runs.r);
	free(l2m.runs.r);
	free(offs);
	free(offs8);
	r4k = ratio(m4k_all) > ratio(m4k_8m) ? ratio(m4k_all) : ratio(m4k_8m);
	r2m = ratio(m2m_all) > ratio(m2m_8m) ? ratio(m2m_all) : ratio(m2m_8m);
	printf("\nvni-bench-synth: %s\n", failures ? "FAILED" : "done");
	printf("ratio-vs-2level 4k=%.2f 2m=%.2f\n", r4k, r2m);
	return failures ? 1 : 0;
}
