/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vni-bench-synth: the translation table's lookup cost on the host's own CPU,
 * where the kernel feature is absent.
 *
 *   vni-bench-synth [--size MiB] [--lookups N] [--slow-lookups N]
 *
 * The library cannot map memory without a no-IOMMU device, and the test VMs
 * run under TCG, which slows user space memory accesses far more than it
 * slows a system call. To see what a lookup costs natively, this program
 * links the library's internal static build and points its system call table
 * at the unit tests' simulated kernel (tests/unit/fake.c): the context,
 * device, IOAS map and GET_PA answers are simulated, the translation table
 * and the lookups are the library's real code. It maps --size MiB (default
 * 1024) twice: caller memory with a fragmented made-up physical layout
 * (runs of 1..8 pages, like a busy machine's anonymous memory) and a buffer
 * of 2 MiB pages (vni_dma_alloc(VNI_DMA_ALLOC_HUGE)). Every lookup is checked
 * against the simulated kernel's layout.
 *
 * For scale it times, in the same run and natively, what any per-lookup
 * kernel query costs at least: a null ioctl (-ENOTTY) and one pread of
 * /proc/self/pagemap. A GET_PA ioctl does a null ioctl's work plus the
 * iommufd lookup, so "table vs null ioctl" is a lower bound of the speedup
 * over GET_PA on this CPU. Not a VM test; registered as a Meson benchmark.
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

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
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

struct figs {
	double fast, checked;
};

/* Best of 3 passes (the host is shared: the minimum is the least disturbed). */
static void measure(struct vni_ctx *ctx, const uint8_t *mem, uint64_t len,
		    const uint32_t *offs, size_t n, struct figs *f)
{
	uint64_t t0, t1, sink = 0, bad = 0;

	f->fast = f->checked = 1e18;
	for (int pass = 0; pass < 3; pass++) {
		double v;

		t0 = now_ns();
		for (size_t i = 0; i < n; i++)
			sink ^= vni_dma_addr_fast(ctx, mem + offs[i]);
		t1 = now_ns();
		v = (double)(t1 - t0) / (double)n;
		if (v < f->fast)
			f->fast = v;
		t0 = now_ns();
		for (size_t i = 0; i < n; i++) {
			uint64_t d = 0;

			vni_dma_addr(ctx, mem + offs[i], &d);
			sink ^= d;
		}
		t1 = now_ns();
		v = (double)(t1 - t0) / (double)n;
		if (v < f->checked)
			f->checked = v;
	}
	for (size_t i = 0; i < n; i++) {
		uint64_t want = 0;

		if (!fake_pa((uint64_t)(uintptr_t)(mem + offs[i]), &want) ||
		    vni_dma_addr_fast(ctx, mem + offs[i]) != want)
			bad++;
	}
	printf("  check %s: %zu lookups agree with the simulated kernel (%" PRIu64 " differ)\n",
	       bad ? "FAIL" : "ok  ", n, bad);
	if (bad)
		failures++;
	if (sink == 1)
		printf("(sink)\n");
	(void)len;
}

static void report(const char *name, const struct vni_ctx_stats *s, uint64_t get_pa,
		   long runs, const struct figs *f, double null_ioctl, double pm)
{
	printf("  %s: %ld runs, %" PRIu64 " GET_PA calls, table %" PRIu64 " KiB, leaves 2M %"
	       PRIu64 " 4K %" PRIu64 "\n", name, runs, get_pa, s->table_bytes / 1024,
	       s->leaf_2m, s->leaf_4k);
	printf("    vni_dma_addr_fast %7.1f ns   vni_dma_addr %7.1f ns   "
	       "(null ioctl %.0fx, pagemap pread %.0fx slower than the fast lookup)\n",
	       f->fast, f->checked, null_ioctl / f->fast, pm / f->fast);
	if (get_pa != (uint64_t)runs) {
		printf("  check FAIL: GET_PA calls != runs\n");
		failures++;
	}
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "size", required_argument, NULL, 's' },
		{ "lookups", required_argument, NULL, 'l' },
		{ "slow-lookups", required_argument, NULL, 'L' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t size = 1024 * MiB, seed = 0x2545f4914f6cdd1dull, t0, t1;
	size_t n = 4000000, ns = 100000;
	struct fake_cfg cfg;
	struct vni_ctx *ctx = NULL;
	struct vni_device *dev = NULL;
	struct vni_ctx_stats s0, s1;
	struct figs f4k, f2m;
	double null_ioctl, pm;
	uint32_t *offs;
	uint8_t *mem, *real;
	void *huge = NULL;
	int c, pmfd, ret;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 's': size = strtoull(optarg, NULL, 0) * MiB; break;
		case 'l': n = strtoull(optarg, NULL, 0); break;
		case 'L': ns = strtoull(optarg, NULL, 0); break;
		default:
			fprintf(stderr, "usage: vni-bench-synth [--size MiB] [--lookups N] "
				"[--slow-lookups N]\n");
			return 2;
		}
	}
	if (size == 0 || size % (2 * MiB) || size > 4096 * MiB || n == 0 || ns == 0)
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("vni-bench-synth: libvfionoiommu %s, %" PRIu64 " MiB, %zu lookups; simulated "
	       "kernel (tests/unit/fake.c), the library's real translation table, native CPU\n",
	       vni_version(), size / MiB, n);

	offs = malloc(n * sizeof(*offs));
	if (!offs)
		return 2;
	for (size_t i = 0; i < n; i++)
		offs[i] = (uint32_t)(xorshift(&seed) % size);

	/* Native system call floors, against real memory. */
	pmfd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	real = mmap(NULL, 64 * MiB, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (pmfd < 0 || real == MAP_FAILED)
		return 2;
	null_ioctl = pm = 1e18;
	for (int pass = 0; pass < 3; pass++) {
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
	ret = vni_ctx_new(&ctx, 0);
	if (ret == 0)
		ret = vni_device_open(ctx, "0000:00:04.0", &dev);
	if (ret < 0) {
		printf("error: %s\n", vni_strerror_last());
		return 2;
	}

	/* Caller memory, fragmented layout. The memory is never touched. */
	mem = mmap(NULL, size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED)
		return 2;
	vni_ctx_stats(ctx, &s0);
	t0 = now_ns();
	ret = vni_dma_map(ctx, mem, size, 0);
	t1 = now_ns();
	if (ret < 0) {
		printf("error: vni_dma_map: %s\n", vni_strerror_last());
		return 2;
	}
	vni_ctx_stats(ctx, &s1);
	printf("\n== %" PRIu64 " MiB, 4 KiB pages in runs of 1..8 pages ==\n", size / MiB);
	printf("  vni_dma_map (simulated kernel, real table fill): %.1f ms\n",
	       (double)(t1 - t0) / 1e6);
	measure(ctx, mem, size, offs, n, &f4k);
	report("fragmented", &s1, s1.get_pa_calls - s0.get_pa_calls,
	       fake_mapping_runs((uint64_t)(uintptr_t)mem), &f4k, null_ioctl, pm);
	vni_dma_unmap(ctx, mem, size);
	munmap(mem, size);
	vni_device_close(&dev);
	vni_ctx_destroy(&ctx);

	/* 2 MiB pages, in a fresh context: a table slot that once held 4 KiB
	 * entries keeps them, so reusing the context (and the virtual addresses
	 * the kernel hands out again) would not show 2 MiB leaves. */
	ret = vni_ctx_new(&ctx, 0);
	if (ret == 0)
		ret = vni_device_open(ctx, "0000:00:04.0", &dev);
	if (ret < 0) {
		printf("error: %s\n", vni_strerror_last());
		return 2;
	}
	vni_ctx_stats(ctx, &s0);
	ret = vni_dma_alloc(ctx, size, VNI_DMA_ALLOC_HUGE, &huge);
	if (ret < 0) {
		printf("error: vni_dma_alloc: %s\n", vni_strerror_last());
		return 2;
	}
	vni_ctx_stats(ctx, &s1);
	printf("\n== %" PRIu64 " MiB of 2 MiB pages ==\n", size / MiB);
	measure(ctx, huge, size, offs, n, &f2m);
	report("hugepages", &s1, s1.get_pa_calls - s0.get_pa_calls,
	       fake_mapping_runs((uint64_t)(uintptr_t)huge), &f2m, null_ioctl, pm);
	vni_dma_free(ctx, huge);

	vni_device_close(&dev);
	vni_ctx_destroy(&ctx);
	fake_uninstall();
	free(offs);
	printf("\nvni-bench-synth: %s\n", failures ? "FAILED" : "done");
	return failures ? 1 : 0;
}
