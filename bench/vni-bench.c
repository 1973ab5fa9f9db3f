/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vni-bench: what the translation table buys, in figures.
 *
 *   vni-bench [--bdf BDF] [--size MiB] [--lookups N] [--slow-lookups N]
 *             [--repeat N] [--no-small] [--no-scrambled] [--no-huge] [--host]
 *
 * For a mapping of --size MiB (default 1024) backed by 4 KiB pages (faulted
 * in address order, as MAP_POPULATE does), by 4 KiB pages faulted in a random
 * order (which scatters them physically: the worst case, about one
 * contiguous run per page), and by 2 MiB hugepages, each in a new context:
 *
 *   map     time to map (and unmap) the memory through the library, table
 *           included (vni_dma_map/vni_dma_unmap), against a bare
 *           IOMMU_IOAS_MAP/IOMMU_IOAS_UNMAP of the same memory on the same
 *           IOAS; GET_PA calls made per mapping against the number of
 *           physically contiguous runs according to /proc/self/pagemap
 *   lookup  random DMA-address lookups over the mapping, all in the same run:
 *           the library's table (vni_dma_addr_fast, vni_dma_addr), one
 *           IOMMU_IOAS_NOIOMMU_GET_PA ioctl per lookup (raw, on the context's
 *           iommufd and IOAS), one pread of /proc/self/pagemap per lookup
 *
 * Every lookup result is cross-checked against a bulk read of pagemap, and
 * the GET_PA call count against the pagemap run count; a mismatch makes the
 * exit status 1. Timing targets are printed as MET/MISSED, never asserted.
 *
 * Without a bound no-IOMMU device (or with --host) the library cannot map
 * anything: the kernel only sets up the translation once such a device is
 * attached, and the public API offers no synthetic table. Then only the
 * pagemap figures are measured, and the output says so (vni-bench-synth
 * times the table on the host's CPU against the unit tests' simulated kernel).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
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

#ifndef MAP_HUGE_SHIFT
#define MAP_HUGE_SHIFT 26
#endif
#ifndef MAP_HUGE_2MB
#define MAP_HUGE_2MB (21 << MAP_HUGE_SHIFT)
#endif

/* The iommufd UAPI used here, spelled out (mainline ABI, bit for bit) so that
 * the benchmark builds against any system headers. */
#define BENCH_IOMMUFD_TYPE ';'
struct bench_ioas_map {
	uint32_t size;
	uint32_t flags;
	uint32_t ioas_id;
	uint32_t reserved;
	uint64_t user_va;
	uint64_t length;
	uint64_t iova;
};
#define BENCH_IOAS_MAP _IO(BENCH_IOMMUFD_TYPE, 0x85)
#define BENCH_MAP_FIXED_IOVA (1u << 0)
#define BENCH_MAP_WRITEABLE (1u << 1)
#define BENCH_MAP_READABLE (1u << 2)
struct bench_ioas_unmap {
	uint32_t size;
	uint32_t ioas_id;
	uint64_t iova;
	uint64_t length;
};
#define BENCH_IOAS_UNMAP _IO(BENCH_IOMMUFD_TYPE, 0x86)
struct bench_get_pa {
	uint32_t size;
	uint32_t flags;
	uint32_t ioas_id;
	uint32_t reserved;
	uint64_t iova;
	uint64_t length;
	uint64_t out_phys;
};
#define BENCH_GET_PA _IO(BENCH_IOMMUFD_TYPE, 0x95)
_Static_assert(sizeof(struct bench_ioas_map) == 40, "iommu_ioas_map layout");
_Static_assert(sizeof(struct bench_ioas_unmap) == 24, "iommu_ioas_unmap layout");
_Static_assert(sizeof(struct bench_get_pa) == 40, "iommu_ioas_noiommu_get_pa layout");

#define MiB ((uint64_t)1024 * 1024)
#define PM_PRESENT (1ull << 63)
#define PM_PFN_MASK ((1ull << 55) - 1)

struct opts {
	const char *bdf;
	uint64_t size;
	size_t lookups;
	size_t slow_lookups;
	int repeat;
	bool small, scrambled, huge, host;
};

struct target {
	char what[160];
	bool met;
	char detail[160];
};
static struct target targets[16];
static size_t ntargets;
static int check_failures;

static void target(bool met, const char *what, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void target(bool met, const char *what, const char *fmt, ...)
{
	va_list ap;
	struct target *t;

	if (ntargets == sizeof(targets) / sizeof(targets[0]))
		return;
	t = &targets[ntargets++];
	snprintf(t->what, sizeof(t->what), "%s", what);
	t->met = met;
	va_start(ap, fmt);
	vsnprintf(t->detail, sizeof(t->detail), fmt, ap);
	va_end(ap);
}

static void check(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void check(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("  check %s: ", ok ? "ok  " : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (!ok)
		check_failures++;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t median(uint64_t *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_u64);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

/* ---- pagemap ---------------------------------------------------------------- */
static int pagemap_fd = -1;

/* PFN of every 4 KiB page of [va, va+len) into pfns; 0 or -errno. */
static int pagemap_bulk(const void *va, uint64_t len, uint64_t *pfns)
{
	uint64_t first = (uint64_t)(uintptr_t)va >> 12, n = len >> 12, done = 0;

	while (done < n) {
		size_t chunk = (size_t)((n - done) > 65536 ? 65536 : (n - done));
		ssize_t got = pread(pagemap_fd, pfns + done, chunk * 8,
				    (off_t)((first + done) * 8));

		if (got < 0)
			return -errno;
		if (got != (ssize_t)(chunk * 8))
			return -EIO;
		done += chunk;
	}
	for (uint64_t i = 0; i < n; i++) {
		if (!(pfns[i] & PM_PRESENT) || !(pfns[i] & PM_PFN_MASK))
			return -ENODATA;
		pfns[i] &= PM_PFN_MASK;
	}
	return 0;
}

static uint64_t count_runs(const uint64_t *pfns, uint64_t npages)
{
	uint64_t runs = npages ? 1 : 0;

	for (uint64_t i = 1; i < npages; i++)
		if (pfns[i] != pfns[i - 1] + 1)
			runs++;
	return runs;
}

/* ---- raw iommufd ---------------------------------------------------------------- */
static int bare_map(int fd, uint32_t ioas, void *va, uint64_t len)
{
	struct bench_ioas_map m = {
		.size = sizeof(m),
		.flags = BENCH_MAP_FIXED_IOVA | BENCH_MAP_READABLE | BENCH_MAP_WRITEABLE,
		.ioas_id = ioas,
		.user_va = (uint64_t)(uintptr_t)va,
		.length = len,
		.iova = (uint64_t)(uintptr_t)va,
	};

	return ioctl(fd, BENCH_IOAS_MAP, &m) < 0 ? -errno : 0;
}

static int bare_unmap(int fd, uint32_t ioas, void *va, uint64_t len)
{
	struct bench_ioas_unmap u = {
		.size = sizeof(u),
		.ioas_id = ioas,
		.iova = (uint64_t)(uintptr_t)va,
		.length = len,
	};

	return ioctl(fd, BENCH_IOAS_UNMAP, &u) < 0 ? -errno : 0;
}

/* ---- the run ---------------------------------------------------------------------- */
struct env {
	struct opts o;
	struct vni_ctx *ctx;       /* NULL in host mode */
	struct vni_device *dev;
	int iommufd;
	uint32_t ioas;
	uint32_t *offsets;         /* random byte offsets into the mapping */
	char bdf[VNI_PCI_ADDR_STRLEN];
};

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

static void make_offsets(struct env *e, uint64_t len, uint64_t seed)
{
	uint64_t s = seed | 1;

	for (size_t i = 0; i < e->o.lookups; i++)
		e->offsets[i] = (uint32_t)(xorshift(&s) % len);
}

enum kind { KIND_4K, KIND_SCRAMBLED, KIND_2M };

static const char *kind_name(enum kind k)
{
	return k == KIND_2M ? "2 MiB hugepages" :
	       k == KIND_SCRAMBLED ? "4 KiB pages, scrambled" : "4 KiB pages";
}

struct lookup_figs {
	double table_fast, table_checked, ioctl, pagemap, null_ioctl;
	bool have_table;
};

static void lookups(struct env *e, uint8_t *mem, const uint64_t *pfns,
		    struct lookup_figs *f)
{
	size_t n = e->o.lookups, ns = e->o.slow_lookups < n ? e->o.slow_lookups : n;
	uint64_t t0, t1, sink = 0, bad = 0;

	memset(f, 0, sizeof(*f));
	/* the floor of any per-lookup kernel query: a system call that does nothing */
	t0 = now_ns();
	for (size_t i = 0; i < ns; i++)
		(void)!ioctl(pagemap_fd, 0x4242, NULL);
	t1 = now_ns();
	f->null_ioctl = (double)(t1 - t0) / (double)ns;
	/* pagemap: one pread per lookup */
	t0 = now_ns();
	for (size_t i = 0; i < ns; i++) {
		uint64_t ent = 0, off = e->offsets[i];

		if (pread(pagemap_fd, &ent, 8, (off_t)((((uint64_t)(uintptr_t)mem + off) >> 12) * 8)) != 8)
			bad++;
		else if ((ent & PM_PFN_MASK) != pfns[off >> 12])
			bad++;
		sink ^= ent;
	}
	t1 = now_ns();
	f->pagemap = (double)(t1 - t0) / (double)ns;
	check(bad == 0, "%zu pagemap preads agree with the bulk pagemap read (%" PRIu64 " differ)",
	      ns, bad);

	if (!e->ctx)
		goto out;

	/* GET_PA: one ioctl per lookup */
	bad = 0;
	t0 = now_ns();
	for (size_t i = 0; i < ns; i++) {
		uint64_t off = e->offsets[i];
		struct bench_get_pa q = {
			.size = sizeof(q),
			.ioas_id = e->ioas,
			.iova = (uint64_t)(uintptr_t)mem + off,
			.length = 1,
		};

		if (ioctl(e->iommufd, BENCH_GET_PA, &q) < 0 ||
		    q.out_phys != ((pfns[off >> 12] << 12) | (off & 4095)))
			bad++;
		sink ^= q.out_phys;
	}
	t1 = now_ns();
	f->ioctl = (double)(t1 - t0) / (double)ns;
	check(bad == 0, "%zu GET_PA ioctls agree with pagemap (%" PRIu64 " differ)", ns, bad);

	/* the library's table, unchecked variant */
	t0 = now_ns();
	for (size_t i = 0; i < n; i++)
		sink ^= vni_dma_addr_fast(e->ctx, mem + e->offsets[i]);
	t1 = now_ns();
	f->table_fast = (double)(t1 - t0) / (double)n;
	/* checked variant */
	t0 = now_ns();
	for (size_t i = 0; i < n; i++) {
		uint64_t d = 0;

		vni_dma_addr(e->ctx, mem + e->offsets[i], &d);
		sink ^= d;
	}
	t1 = now_ns();
	f->table_checked = (double)(t1 - t0) / (double)n;
	f->have_table = true;
	/* every table lookup against pagemap (untimed) */
	bad = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t off = e->offsets[i];

		if (vni_dma_addr_fast(e->ctx, mem + off) != ((pfns[off >> 12] << 12) | (off & 4095)))
			bad++;
	}
	check(bad == 0, "%zu table lookups agree with pagemap (%" PRIu64 " differ)", n, bad);
out:
	if (sink == 0x5a5a5a5a5a5a5a5aull)
		printf("(sink %" PRIx64 ")\n", sink);
}

static int run_kind(struct env *e, enum kind kind)
{
	bool huge = kind == KIND_2M;
	uint64_t len = e->o.size, npages = len >> 12;
	int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE;
	uint64_t *pfns, runs, t0, t1, t2;
	struct lookup_figs f;
	uint8_t *mem;
	int ret;

	printf("\n== %" PRIu64 " MiB of %s ==\n", len / MiB, kind_name(kind));
	if (huge)
		flags |= MAP_HUGETLB | MAP_HUGE_2MB;
	if (kind == KIND_SCRAMBLED)
		flags &= ~MAP_POPULATE;
	t0 = now_ns();
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE, flags, -1, 0);
	if (mem == MAP_FAILED) {
		printf("  skipped: mmap of %" PRIu64 " MiB of %s failed: %s%s\n", len / MiB,
		       kind_name(kind), strerror(errno),
		       huge ? " (reserve hugepages: echo N > /proc/sys/vm/nr_hugepages, or "
			      "hugepages=N on the kernel command line)" : "");
		return 0;
	}
	if (kind == KIND_SCRAMBLED) {
		/* Touch the pages in a random order (Fisher-Yates over page
		 * indexes): the allocator hands out physical pages in fault
		 * order, so virtually adjacent pages end up apart. */
		uint64_t np = len >> 12, st = 0x9e3779b97f4a7c15ull;
		uint32_t *order = malloc(np * sizeof(*order));

		if (!order) {
			munmap(mem, len);
			return -ENOMEM;
		}
		for (uint64_t i = 0; i < np; i++)
			order[i] = (uint32_t)i;
		for (uint64_t i = np - 1; i > 0; i--) {
			uint64_t j = xorshift(&st) % (i + 1);
			uint32_t t = order[i];

			order[i] = order[j];
			order[j] = t;
		}
		for (uint64_t i = 0; i < np; i++)
			mem[(uint64_t)order[i] << 12] = 1;
		free(order);
	}
	t1 = now_ns();
	printf("  memory: %p, populated in %.1f ms\n", (void *)mem, ms(t1 - t0));
	pfns = malloc(npages * sizeof(*pfns));
	if (!pfns) {
		munmap(mem, len);
		return -ENOMEM;
	}
	make_offsets(e, len, 0x2545f4914f6cdd1dull + (uint64_t)kind);

	if (e->ctx) {
		uint64_t bm[32], bu[32], lm[32], lu[32];
		struct vni_ctx_stats s0 = { .struct_size = sizeof(s0) }, s1 = { .struct_size = sizeof(s1) };
		struct vni_dma_mapping_info mi = { .struct_size = sizeof(mi) };
		int r;

		for (r = 0; r < e->o.repeat; r++) {
			/* alternate which goes first */
			for (int pass = 0; pass < 2; pass++) {
				bool lib = (pass == 0) == (r % 2 == 1);

				t0 = now_ns();
				ret = lib ? vni_dma_map(e->ctx, mem, len, 0)
					  : bare_map(e->iommufd, e->ioas, mem, len);
				t1 = now_ns();
				if (ret < 0) {
					printf("  %s map failed: %s (%s)\n", lib ? "library" : "bare",
					       lib ? vni_strerror_last() : "IOMMU_IOAS_MAP",
					       strerror(-ret));
					goto fail;
				}
				ret = lib ? vni_dma_unmap(e->ctx, mem, len)
					  : bare_unmap(e->iommufd, e->ioas, mem, len);
				t2 = now_ns();
				if (ret < 0) {
					printf("  %s unmap failed: %s\n", lib ? "library" : "bare",
					       strerror(-ret));
					goto fail;
				}
				if (lib) {
					lm[r] = t1 - t0;
					lu[r] = t2 - t1;
				} else {
					bm[r] = t1 - t0;
					bu[r] = t2 - t1;
				}
			}
		}
		{
			uint64_t mbm = median(bm, r), mbu = median(bu, r);
			uint64_t mlm = median(lm, r), mlu = median(lu, r);
			double ov_map = 100.0 * ((double)mlm - (double)mbm) / (double)mbm;
			double ov_all = 100.0 * ((double)(mlm + mlu) - (double)(mbm + mbu)) /
					(double)(mbm + mbu);
			char what[160];

			printf("  map %" PRIu64 " MiB (median of %d):  bare IOMMU_IOAS_MAP %.1f ms"
			       "  + UNMAP %.1f ms  |  vni_dma_map %.1f ms  + vni_dma_unmap %.1f ms\n",
			       len / MiB, r, ms(mbm), ms(mbu), ms(mlm), ms(mlu));
			printf("  library overhead: map %+.1f %%, map+unmap %+.1f %%\n", ov_map, ov_all);
			/* The target is for hugepages; 4 KiB figures are shown for
			 * information (one GET_PA per run: scattered pages cost more). */
			snprintf(what, sizeof(what), "map overhead over bare IOMMU_IOAS_MAP < 10%% (%s)",
				 kind_name(kind));
			if (huge)
				target(ov_all < 10.0, what, "map %+.1f %%, map+unmap %+.1f %%", ov_map,
				       ov_all);
		}

		/* Keep one mapping for the lookups; count GET_PA calls. */
		vni_ctx_stats(e->ctx, &s0);
		ret = vni_dma_map(e->ctx, mem, len, 0);
		if (ret < 0) {
			printf("  vni_dma_map failed: %s\n", vni_strerror_last());
			goto fail;
		}
		vni_ctx_stats(e->ctx, &s1);
		ret = pagemap_bulk(mem, len, pfns);
		if (ret < 0) {
			printf("  pagemap read failed: %s\n", strerror(-ret));
			goto fail;
		}
		runs = count_runs(pfns, npages);
		mi = (struct vni_dma_mapping_info){ .struct_size = sizeof(mi) };
		vni_dma_lookup(e->ctx, mem, &mi);
		printf("  GET_PA calls for the mapping: %" PRIu64 "; physically contiguous runs "
		       "(pagemap): %" PRIu64 " (%.1f pages per run); table %" PRIu64 " KiB, "
		       "leaves 2M %" PRIu64 " 4K %" PRIu64 "\n",
		       s1.get_pa_calls - s0.get_pa_calls, runs, (double)npages / (double)runs,
		       s1.table_bytes / 1024, s1.leaf_2m, s1.leaf_4k);
		check(s1.get_pa_calls - s0.get_pa_calls == runs && mi.runs == runs,
		      "GET_PA calls %" PRIu64 " == contiguous runs %" PRIu64 " == runs per "
		      "vni_dma_lookup %" PRIu64, s1.get_pa_calls - s0.get_pa_calls, runs, mi.runs);
		{
			char what[160];

			snprintf(what, sizeof(what), "GET_PA calls == contiguous runs (%s)",
				 kind_name(kind));
			target(s1.get_pa_calls - s0.get_pa_calls == runs, what,
			       "%" PRIu64 " calls, %" PRIu64 " runs", s1.get_pa_calls - s0.get_pa_calls,
			       runs);
		}
	}

	/* pagemap bulk read: what a pagemap-based driver pays to translate it all */
	t0 = now_ns();
	ret = pagemap_bulk(mem, len, pfns);
	t1 = now_ns();
	if (ret < 0) {
		printf("  pagemap read failed: %s%s\n", strerror(-ret),
		       ret == -ENODATA ? " (PFNs hidden: needs CAP_SYS_ADMIN)" : "");
		goto fail;
	}
	runs = count_runs(pfns, npages);
	if (!e->ctx)
		printf("  physically contiguous runs (pagemap): %" PRIu64 " (%.1f pages per run)\n",
		       runs, (double)npages / (double)runs);
	printf("  pagemap bulk read of all %" PRIu64 " PTEs: %.1f ms (%.1f ns per page)\n",
	       npages, ms(t1 - t0), (double)(t1 - t0) / (double)npages);

	lookups(e, mem, pfns, &f);
	printf("  random lookups over %" PRIu64 " MiB (ns per lookup):\n", len / MiB);
	if (f.have_table) {
		printf("    table  vni_dma_addr_fast  %10.1f   (%zu lookups)\n", f.table_fast,
		       e->o.lookups);
		printf("    table  vni_dma_addr       %10.1f\n", f.table_checked);
		printf("    ioctl  GET_PA             %10.1f   (%zu lookups)  %8.0fx the table\n",
		       f.ioctl, e->o.slow_lookups, f.ioctl / f.table_fast);
	} else {
		printf("    table, GET_PA: not measured (no no-IOMMU device: the library cannot map "
		       "memory without one)\n");
	}
	printf("    pread  /proc/self/pagemap %10.1f   (%zu lookups)", f.pagemap,
	       e->o.slow_lookups);
	if (f.have_table)
		printf("  %8.0fx the table", f.pagemap / f.table_fast);
	putchar('\n');
	printf("    (floor: a null ioctl, -ENOTTY, %.1f ns)\n", f.null_ioctl);
	if (f.have_table) {
		char what[160];

		snprintf(what, sizeof(what), "table lookup >= 100x faster than GET_PA ioctl (%s)",
			 kind_name(kind));
		target(f.ioctl / f.table_fast >= 100.0, what, "%.0fx (%.1f ns vs %.1f ns)",
		       f.ioctl / f.table_fast, f.table_fast, f.ioctl);
		ret = vni_dma_unmap(e->ctx, mem, len);
		if (ret < 0)
			printf("  vni_dma_unmap failed: %s\n", vni_strerror_last());
	}
	free(pfns);
	munmap(mem, len);
	return 0;
fail:
	check_failures++;
	if (e->ctx)
		vni_dma_unmap(e->ctx, mem, len);
	free(pfns);
	munmap(mem, len);
	return -EIO;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: vni-bench [--bdf BDF] [--size MiB] [--lookups N] [--slow-lookups N]\n"
		   "                 [--repeat N] [--no-small] [--no-scrambled] [--no-huge] [--host]\n");
}

static int open_device(struct env *e)
{
	char bdf[VNI_PCI_ADDR_STRLEN] = "";
	int ret;

	if (!e->o.bdf) {
		struct vni_pci_filter flt = { .flags = VNI_PCI_MATCH_NOIOMMU | VNI_PCI_MATCH_VFIO };
		struct vni_pci_dev_info *list = NULL;
		size_t n = 0;

		ret = vni_pci_scan(&flt, &list, &n);
		if (ret < 0 || n == 0) {
			printf("host mode: no PCI device bound to vfio-pci in no-IOMMU mode%s%s\n",
			       ret < 0 ? ": " : "", ret < 0 ? vni_strerror_last() : "");
			vni_pci_list_free(list);
			return 1;
		}
		snprintf(bdf, sizeof(bdf), "%s", list[0].bdf);
		vni_pci_list_free(list);
	} else {
		snprintf(bdf, sizeof(bdf), "%s", e->o.bdf);
	}
	ret = vni_ctx_new(&e->ctx, 0);
	if (ret < 0) {
		printf("%s: vni_ctx_new: %s\n", e->o.bdf ? "error" : "host mode", vni_strerror_last());
		return e->o.bdf ? -1 : 1;
	}
	ret = vni_device_open(e->ctx, bdf, &e->dev);
	if (ret < 0) {
		printf("%s: vni_device_open(%s): %s\n", e->o.bdf ? "error" : "host mode", bdf,
		       vni_strerror_last());
		vni_ctx_destroy(&e->ctx);
		return e->o.bdf ? -1 : 1;
	}
	e->iommufd = vni_ctx_iommufd(e->ctx);
	vni_ctx_ioas_id(e->ctx, &e->ioas);
	snprintf(e->bdf, sizeof(e->bdf), "%s", bdf);
	printf("device: %s (new context: iommufd %d, IOAS %u)\n", bdf, e->iommufd, e->ioas);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "bdf", required_argument, NULL, 'b' },
		{ "size", required_argument, NULL, 's' },
		{ "lookups", required_argument, NULL, 'l' },
		{ "slow-lookups", required_argument, NULL, 'L' },
		{ "repeat", required_argument, NULL, 'r' },
		{ "no-small", no_argument, NULL, 'S' },
		{ "no-huge", no_argument, NULL, 'H' },
		{ "no-scrambled", no_argument, NULL, 'X' },
		{ "host", no_argument, NULL, 'h' },
		{ "help", no_argument, NULL, '?' },
		{ NULL, 0, NULL, 0 },
	};
	struct env e;
	int c, ret;

	memset(&e, 0, sizeof(e));
	e.o.size = 1024 * MiB;
	e.o.lookups = 2000000;
	e.o.slow_lookups = 20000;
	e.o.repeat = 7;
	e.o.small = e.o.scrambled = e.o.huge = true;
	e.iommufd = -1;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'b': e.o.bdf = optarg; break;
		case 's': e.o.size = strtoull(optarg, NULL, 0) * MiB; break;
		case 'l': e.o.lookups = strtoull(optarg, NULL, 0); break;
		case 'L': e.o.slow_lookups = strtoull(optarg, NULL, 0); break;
		case 'r': e.o.repeat = atoi(optarg); break;
		case 'S': e.o.small = false; break;
		case 'H': e.o.huge = false; break;
		case 'X': e.o.scrambled = false; break;
		case 'h': e.o.host = true; break;
		default: usage(c == '?' ? stdout : stderr); return c == '?' ? 0 : 2;
		}
	}
	if (optind != argc || e.o.size == 0 || e.o.size % (2 * MiB) || e.o.size > 4096 * MiB ||
	    e.o.lookups == 0 || e.o.slow_lookups == 0 || e.o.repeat < 1 || e.o.repeat > 32) {
		usage(stderr);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("vni-bench: libvfionoiommu %s, mapping %" PRIu64 " MiB, %zu table lookups, "
	       "%zu ioctl/pagemap lookups, %d map repeats\n", vni_version(), e.o.size / MiB,
	       e.o.lookups, e.o.slow_lookups, e.o.repeat);
	{
		char line[256];
		FILE *f = fopen("/proc/cpuinfo", "r");

		while (f && fgets(line, sizeof(line), f))
			if (strncmp(line, "model name", 10) == 0) {
				printf("cpu: %s", strchr(line, ':') ? strchr(line, ':') + 2 : line);
				break;
			}
		if (f)
			fclose(f);
	}
	pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (pagemap_fd < 0) {
		printf("error: /proc/self/pagemap: %s\n", strerror(errno));
		return 2;
	}
	e.offsets = malloc(e.o.lookups * sizeof(*e.offsets));
	if (!e.offsets)
		return 2;

	if (e.o.host) {
		printf("host mode (--host): pagemap part only\n");
	} else {
		ret = open_device(&e);
		if (ret < 0)
			return 2;
		if (ret > 0)
			printf("host mode: only the pagemap part runs; table lookups, GET_PA and map "
			       "timing need a no-IOMMU device (the public API offers no synthetic "
			       "table; vni-bench-synth times the table on this CPU against the "
			       "unit tests' simulated kernel)\n");
	}

	{
		static const enum kind kinds[] = { KIND_4K, KIND_SCRAMBLED, KIND_2M };
		bool want[] = { e.o.small, e.o.scrambled, e.o.huge };
		bool first = true;

		for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
			if (!want[k])
				continue;
			/* A new context per kind: the table starts empty (a table
			 * slot that once held 4 KiB entries keeps them). */
			if (e.ctx && !first) {
				vni_device_close(&e.dev);
				vni_ctx_destroy(&e.ctx);
				e.o.bdf = e.bdf;
				if (open_device(&e) != 0)
					return 2;
			}
			first = false;
			run_kind(&e, kinds[k]);
		}
	}

	printf("\n== targets ==\n");
	if (!ntargets)
		printf("  none measured (host mode)\n");
	for (size_t i = 0; i < ntargets; i++)
		printf("  %-7s %s: %s\n", targets[i].met ? "MET" : "MISSED", targets[i].what,
		       targets[i].detail);
	if (e.dev)
		vni_device_close(&e.dev);
	if (e.ctx)
		vni_ctx_destroy(&e.ctx);
	free(e.offsets);
	close(pagemap_fd);
	printf("\nvni-bench: %s (%d cross-check failure(s))\n",
	       check_failures ? "FAILED" : "done", check_failures);
	return check_failures ? 1 : 0;
}
