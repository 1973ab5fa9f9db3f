// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * vni-bench-backends: map and lookup figures per backend, host only.
 *
 * The library's real code per backend (table fill from GET_PA runs, from
 * one pagemap pass, or from one IOVA; IOVA allocation; hugetlb checks)
 * against the unit tests' simulated kernel on a native CPU. Lookups are the
 * library alone (no system call). Map and alloc times include the simulated
 * kernel's own work (making up a physical layout, generating pagemap
 * entries), not a real kernel's (pinning, page walks, IOMMU page tables):
 * they compare the backends' library paths, not real map costs. Per backend: vni_dma_map() of 256 MiB of
 * 4 KiB pages (legacy: VNI_DMA_MAP_MAY_MOVE), vni_dma_alloc() of 64 MiB of
 * 2 MiB pages, and the median ns per vni_dma_addr_fast() / vni_dma_addr_len()
 * at random offsets over each. Every lookup is checked against the
 * simulated kernel's own record once. Prints figures; asserts nothing about
 * time.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "fake.h"
#include "internal.h"

#define MiB (1024ull * 1024ull)
#define SMALL (256 * MiB)
#define HUGEB (64 * MiB)
#define LOOKUPS 200000
#define ROUNDS 9

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_d);
	return v[n / 2];
}

static uint64_t rng = 88172645463325252ull;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* The truth for va on backend b, from the simulated kernel. */
static uint64_t truth(int b, uint64_t va)
{
	uint64_t d = VNI_DMA_ADDR_INVALID;

	if (b == VNI_BACKEND_NOIOMMU)
		fake_pa(va, &d);
	else if (b == VNI_BACKEND_LEGACY)
		d = fake_pagemap_pa(va);
	else
		fake_iova_of(3, va, &d);
	return d;
}

/* Median ns per lookup at random offsets of [p, p+len); 0 if a check fails. */
static double lookups(struct vni_ctx *ctx, int b, const char *p, uint64_t len, bool with_len)
{
	static uint64_t off[LOOKUPS];
	double r[ROUNDS];
	volatile uint64_t sink = 0;

	for (int i = 0; i < LOOKUPS; i++)
		off[i] = rnd() % len;
	for (int i = 0; i < LOOKUPS; i += 97)
		if (vni_dma_addr_fast(ctx, p + off[i]) != truth(b, (uintptr_t)(p + off[i]))) {
			printf("  check FAIL at %p\n", (const void *)(p + off[i]));
			return 0;
		}
	for (int k = 0; k < ROUNDS; k++) {
		uint64_t t0 = now_ns();

		if (with_len) {
			for (int i = 0; i < LOOKUPS; i++) {
				size_t l = 4096;

				sink += vni_dma_addr_len(ctx, p + off[i], &l) + l;
			}
		} else {
			for (int i = 0; i < LOOKUPS; i++)
				sink += vni_dma_addr_fast(ctx, p + off[i]);
		}
		r[k] = (double)(now_ns() - t0) / LOOKUPS;
	}
	(void)sink;
	return median(r, ROUNDS);
}

static int run(int b, char *mem)
{
	struct fake_cfg cfg = fake_default_cfg();
	struct vni_ctx *ctx = NULL;
	struct vni_device *dev = NULL;
	struct vni_ctx_stats st = { .struct_size = sizeof(st) };
	double map_ms[ROUNDS], alloc_ms[ROUNDS];
	const char *bdf = b == VNI_BACKEND_NOIOMMU ? "0000:00:04.0" : "0000:00:07.0";
	unsigned int fl = b == VNI_BACKEND_LEGACY ? VNI_DMA_MAP_MAY_MOVE : 0;
	void *h = NULL;
	int ret;

	cfg.run_max = 8;
	cfg.big_pct = 0;
	if (b == VNI_BACKEND_LEGACY)
		cfg.devs[3].noiommu_group = true;
	if (b == VNI_BACKEND_TYPE1) {
		cfg.devs[3].cdev = NULL;
		cfg.devs[3].iommu_group = true;
	}
	fake_install(&cfg);
	if ((ret = vni_ctx_new(&ctx, 0)) < 0 || (ret = vni_ctx_set_backend(ctx, b)) < 0 ||
	    (ret = vni_device_open(ctx, bdf, &dev)) < 0) {
		printf("error: %s\n", vni_strerror_last());
		return ret;
	}
	for (int k = 0; k < ROUNDS; k++) {
		uint64_t t0 = now_ns();

		if (vni_dma_map(ctx, mem, SMALL, fl) < 0) {
			printf("error: vni_dma_map: %s\n", vni_strerror_last());
			return -1;
		}
		map_ms[k] = (double)(now_ns() - t0) / 1e6;
		if (k + 1 < ROUNDS)
			vni_dma_unmap(ctx, mem, SMALL);
	}
	for (int k = 0; k < ROUNDS; k++) {
		uint64_t t0 = now_ns();

		if (vni_dma_alloc(ctx, HUGEB, VNI_DMA_ALLOC_HUGE, &h) < 0) {
			printf("error: vni_dma_alloc: %s\n", vni_strerror_last());
			return -1;
		}
		alloc_ms[k] = (double)(now_ns() - t0) / 1e6;
		if (k + 1 < ROUNDS)
			vni_dma_free(ctx, h);
	}
	vni_ctx_stats(ctx, &st);
	printf("  %-8s %9.2f %9.2f %7" PRIu64 " %6.2f %6.2f %6.2f %6.2f\n", vni_backend_name(b),
	       median(map_ms, ROUNDS), median(alloc_ms, ROUNDS), st.runs,
	       lookups(ctx, b, mem, SMALL, false), lookups(ctx, b, mem, SMALL, true),
	       lookups(ctx, b, h, HUGEB, false), lookups(ctx, b, h, HUGEB, true));
	vni_device_close(&dev);
	vni_ctx_destroy(&ctx);
	return 0;
}

int main(void)
{
	static const int order[] = { VNI_BACKEND_NOIOMMU, VNI_BACKEND_LEGACY,
				     VNI_BACKEND_IOMMUFD, VNI_BACKEND_TYPE1 };
	char *mem = mmap(NULL, SMALL, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	int rc = 0;

	if (mem == MAP_FAILED)
		return 1;
	unsetenv("VNI_BACKEND");
	printf("vni-bench-backends: libvfionoiommu %s, simulated kernel (lookups: library only; "
	       "map/alloc: library + simulated kernel)\n", vni_version());
	printf("  map: vni_dma_map of %llu MiB of 4 KiB pages; alloc: vni_dma_alloc of %llu MiB "
	       "of 2 MiB pages (median of %d, ms)\n", SMALL / MiB, HUGEB / MiB, ROUNDS);
	printf("  lookups: median ns per call at %d random offsets (fast / addr_len), 4 KiB map "
	       "and 2 MiB alloc\n", LOOKUPS);
	printf("  %-8s %9s %9s %7s %6s %6s %6s %6s\n", "backend", "map ms", "alloc ms", "runs",
	       "4k", "4k-len", "2m", "2m-len");
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		rc |= run(order[i], mem) < 0;
	fake_uninstall();
	munmap(mem, SMALL);
	return rc;
}
