/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Translation table against a simple model: long random sequences of map,
 * unmap, alloc, free and lookups, with a simulated kernel whose GET_PA
 * returns a made-up physical layout (runs of random lengths, long runs that
 * cover whole 2 MiB blocks, 2 MiB hugepages). Checks every lookup, the
 * scatter-gather lists, and that GET_PA is called once per contiguous run.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "util.h"
#include "internal.h"

#define REGION (512ull << 20)
#define MAXM 256

struct mm {
	uint64_t va, len;
	bool alloc;
};

static struct mm model[MAXM];
static int nmodel;
static uint64_t rng = 0x1234567;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static int setup(void **state)
{
	struct fake_cfg cfg = fake_default_cfg();

	(void)state;
	cfg.run_max = 24;
	cfg.big_pct = 12;
	cfg.seed = 7;
	fake_install(&cfg);
	return 0;
}

static int teardown(void **state)
{
	struct fake_counts c;

	(void)state;
	fake_counts(&c);
	fake_uninstall();
	if (c.fds || c.mmaps || c.ioas_maps || c.heap)
		fail_msg("leak after test: fds %ld mmaps %ld ioas_maps %ld heap %ld",
			 c.fds, c.mmaps, c.ioas_maps, c.heap);
	return 0;
}

static int model_find(uint64_t a)
{
	for (int i = 0; i < nmodel; i++)
		if (a >= model[i].va && a < model[i].va + model[i].len)
			return i;
	return -1;
}

static bool model_overlaps(uint64_t va, uint64_t len)
{
	for (int i = 0; i < nmodel; i++)
		if (model[i].va < va + len && va < model[i].va + model[i].len)
			return true;
	return false;
}

/* The backend the model runs on, and its device. */
static int mb = VNI_BACKEND_NOIOMMU;
#define MODEL_DEV_OTHER "0000:00:07.0" /* devs[3], made legacy / IOMMU below */

/* The truth, from the simulated kernel: GET_PA's physical address
 * (noiommu), pagemap's (legacy) or the IOMMU's record of the IOVA. */
static uint64_t expected(uint64_t a)
{
	uint64_t pa;

	if (model_find(a) < 0)
		return VNI_DMA_ADDR_INVALID;
	if (mb == VNI_BACKEND_LEGACY)
		return fake_pagemap_pa(a);
	if (mb == VNI_BACKEND_IOMMUFD || mb == VNI_BACKEND_TYPE1) {
		if (!fake_iova_of(3, a, &pa))
			fail_msg("model and the IOMMU disagree at %#lx", (unsigned long)a);
		return pa;
	}
	if (!fake_pa(a, &pa))
		fail_msg("model and fake disagree at %#lx", (unsigned long)a);
	return pa;
}

static void check_segments(struct vni_ctx *ctx, uint64_t va, uint64_t len)
{
	struct vni_dma_seg segs[64];
	size_t n, k = 0;
	uint64_t a = va, end = va + len;
	uint64_t cur = 0, curlen = 0;
	int ret;

	ret = vni_dma_segments(ctx, (void *)(uintptr_t)va, len, segs, 64, &n);
	/* expected list from the page-by-page truth */
	while (a < end) {
		uint64_t step = 4096 - (a & 4095);
		uint64_t pa = expected(a);

		if (pa == VNI_DMA_ADDR_INVALID) {
			assert_int_equal(ret, -ENOENT);
			return;
		}
		if (step > end - a)
			step = end - a;
		if (curlen && cur + curlen == pa) {
			curlen += step;
		} else {
			if (curlen) {
				if (k < 64 && ret == 0) {
					assert_int_equal(segs[k].dma, cur);
					assert_int_equal(segs[k].len, curlen);
				}
				k++;
			}
			cur = pa;
			curlen = step;
		}
		a += step;
	}
	if (k < 64 && ret == 0) {
		assert_int_equal(segs[k].dma, cur);
		assert_int_equal(segs[k].len, curlen);
	}
	k++;
	assert_int_equal(n, k);
	assert_int_equal(ret, k > 64 ? -ENOSPC : 0);
	/* contig and vni_dma_addr_len agree with the first segment */
	{
		uint64_t dma;
		size_t c, l = (size_t)len;

		assert_ok(vni_dma_contig(ctx, (void *)(uintptr_t)va, len, &dma, &c));
		assert_int_equal(dma, expected(va));
		if (ret == 0)
			assert_int_equal(c, segs[0].len);
		assert_int_equal(vni_dma_addr_len(ctx, (void *)(uintptr_t)va, &l), dma);
		assert_int_equal(l, c);
	}
}

static void check_stats(struct vni_ctx *ctx)
{
	struct vni_ctx_stats st = { .struct_size = sizeof(st) };
	uint64_t bytes = 0;

	assert_ok(vni_ctx_stats(ctx, &st));
	for (int i = 0; i < nmodel; i++)
		bytes += model[i].len;
	assert_int_equal(st.mappings, (uint64_t)nmodel);
	assert_int_equal(st.mapped_bytes, bytes);
	assert_int_equal(st.leaf_4k * 4096 + st.leaf_2m * (2u << 20), bytes);
}

static void run_model(long ops)
{
	const unsigned int map_flags = mb == VNI_BACKEND_LEGACY ? VNI_DMA_MAP_MAY_MOVE : 0;
	struct vni_ctx *ctx = NULL;
	struct vni_device *dev = NULL;
	char *raw, *base;
	long maps = 0, unmaps = 0, lookups = 0, leaves = 0, promoted = 0;
	bool contiguous = false;

	raw = mmap(NULL, REGION + (2u << 20), PROT_NONE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	assert_true(raw != MAP_FAILED);
	base = (char *)(((uintptr_t)raw + (2u << 20) - 1) & ~(uintptr_t)((2u << 20) - 1));
	nmodel = 0;

	assert_ok(vni_ctx_new(&ctx, 0));
	assert_ok(vni_device_open(ctx, mb == VNI_BACKEND_NOIOMMU ? EDU : MODEL_DEV_OTHER, &dev));
	assert_int_equal(vni_ctx_backend(ctx), mb);

	for (long op = 0; op < ops; op++) {
		unsigned int what = (unsigned int)(rnd() % 100);

		if (rnd() % 50 == 0) {
			/* phases where adjacent mappings are physically
			 * contiguous too: blocks become leaves by promotion and
			 * lose it again on unmap */
			contiguous = !contiguous;
			fake_set_contiguous(contiguous);
		}
		if (contiguous && what < 20 && nmodel > 0 && nmodel < MAXM) {
			/* map right after an existing mapping */
			const struct mm *m = &model[rnd() % (uint64_t)nmodel];
			uint64_t va = m->va + m->len, pages = 1 + rnd() % 768, l2m0;
			struct vni_ctx_stats st = { .struct_size = sizeof(st) };

			if (m->alloc || va + pages * 4096 > (uint64_t)(uintptr_t)base + REGION ||
			    model_overlaps(va, pages * 4096))
				continue;
			assert_ok(vni_ctx_stats(ctx, &st));
			l2m0 = st.leaf_2m;
			assert_ok(vni_dma_map(ctx, (void *)(uintptr_t)va, pages * 4096, map_flags));
			model[nmodel++] = (struct mm){ va, pages * 4096, false };
			maps++;
			assert_ok(vni_ctx_stats(ctx, &st));
			if (st.leaf_2m > l2m0 && pages < 512)
				promoted++;
			continue;
		}
		if (what < 30 && nmodel < MAXM) {
			/* map caller memory */
			uint64_t pages, va, getpa0;
			struct vni_ctx_stats st = { .struct_size = sizeof(st) };
			unsigned int kind = (unsigned int)(rnd() % 10);

			if (kind < 5)
				pages = 1 + rnd() % 16;
			else if (kind < 8)
				pages = 1 + rnd() % 2048;
			else
				pages = 512 * (1 + rnd() % 8); /* whole 2 MiB blocks */
			va = (uint64_t)(uintptr_t)base + (rnd() % (REGION / 4096)) * 4096;
			if (kind >= 8)
				va &= ~(uint64_t)((2u << 20) - 1);
			if (va + pages * 4096 > (uint64_t)(uintptr_t)base + REGION)
				continue;
			assert_ok(vni_ctx_stats(ctx, &st));
			getpa0 = st.get_pa_calls;
			if (model_overlaps(va, pages * 4096)) {
				assert_err(vni_dma_map(ctx, (void *)(uintptr_t)va, pages * 4096,
						       map_flags), EEXIST);
				continue;
			}
			assert_ok(vni_dma_map(ctx, (void *)(uintptr_t)va, pages * 4096, map_flags));
			model[nmodel++] = (struct mm){ va, pages * 4096, false };
			maps++;
			/* one GET_PA per physically contiguous run, no more (and
			 * none on the other backends) */
			assert_ok(vni_ctx_stats(ctx, &st));
			assert_int_equal(st.get_pa_calls - getpa0, mb == VNI_BACKEND_NOIOMMU ?
					 fake_mapping_runs(va) : 0);
			leaves = (long)st.leaf_2m > leaves ? (long)st.leaf_2m : leaves;
		} else if (what < 36 && nmodel < MAXM) {
			/* allocated buffer (hugepages or not) */
			void *p;
			size_t len = (size_t)(1 + rnd() % (6u << 20));
			unsigned int fl = rnd() % 3 == 0 && mb != VNI_BACKEND_LEGACY ?
					  VNI_DMA_ALLOC_SMALL : 0;
			struct vni_dma_mapping_info mi = { .struct_size = sizeof(mi) };

			assert_ok(vni_dma_alloc(ctx, len, fl, &p));
			assert_ok(vni_dma_lookup(ctx, p, &mi));
			assert_true(mi.len >= len);
			model[nmodel++] = (struct mm){ (uintptr_t)p, mi.len, true };
			maps++;
		} else if (what < 60 && nmodel > 0) {
			int i = (int)(rnd() % (uint64_t)nmodel);
			struct mm m = model[i];

			if (m.alloc)
				assert_ok(vni_dma_free(ctx, (void *)(uintptr_t)m.va));
			else
				assert_ok(vni_dma_unmap(ctx, (void *)(uintptr_t)m.va, m.len));
			model[i] = model[--nmodel];
			unmaps++;
			/* everything of it is gone */
			for (uint64_t a = m.va; a < m.va + m.len; a += 4096 + (rnd() % 8) * 4096)
				assert_int_equal(vni_dma_addr_fast(ctx, (void *)(uintptr_t)a),
						 VNI_DMA_ADDR_INVALID);
		} else {
			/* lookups: inside mappings, near their edges, anywhere */
			for (int k = 0; k < 64; k++) {
				uint64_t a;

				if (nmodel && k % 2 == 0) {
					const struct mm *m = &model[rnd() % (uint64_t)nmodel];
					int edge = (int)(rnd() % 3);

					a = edge == 0 ? m->va - 1 - rnd() % 64 :
					    edge == 1 ? m->va + m->len + rnd() % 64 :
							m->va + rnd() % m->len;
				} else {
					a = (uint64_t)(uintptr_t)base + rnd() % REGION;
				}
				assert_int_equal(vni_dma_addr_fast(ctx, (void *)(uintptr_t)a),
						 expected(a));
				lookups++;
			}
			if (nmodel) {
				const struct mm *m = &model[rnd() % (uint64_t)nmodel];
				uint64_t off = rnd() % m->len;
				uint64_t len = 1 + rnd() % (m->len - off + 8192);

				check_segments(ctx, m->va + off, len);
			}
		}
		if (op % 64 == 0)
			check_stats(ctx);
	}
	check_stats(ctx);
	print_message("model (%s): %ld maps, %ld unmaps, %ld lookups, up to %ld 2 MiB "
		      "leaves, %ld promotions\n", vni_backend_name(mb), maps, unmaps, lookups,
		      leaves, promoted);
	/* 2 MiB leaves for whole blocks of caller memory where the DMA
	 * address keeps the block aligned (not legacy's scattered 4 KiB pages);
	 * promotion needs physically adjacent mappings (noiommu only) */
	if (mb != VNI_BACKEND_LEGACY)
		assert_true(leaves > 0);
	if (mb == VNI_BACKEND_NOIOMMU)
		assert_true(promoted > 0);
	fake_set_contiguous(false);
	/* destroy with mappings left: everything released */
	assert_ok(vni_device_close(&dev));
	assert_ok(vni_ctx_destroy(&ctx));
	munmap(raw, REGION + (2u << 20));
}

static void test_model(void **state)
{
	(void)state;
	mb = VNI_BACKEND_NOIOMMU;
	run_model(20000);
}

/* The same model on the other backends: the same table, other truths. */
static void model_on(int backend)
{
	struct fake_cfg cfg = fake_default_cfg();

	cfg.big_pct = 10;
	cfg.run_max = 8;
	if (backend == VNI_BACKEND_LEGACY)
		cfg.devs[3].noiommu_group = true;
	if (backend == VNI_BACKEND_TYPE1) {
		cfg.devs[3].cdev = NULL;
		cfg.devs[3].iommu_group = true;
	}
	fake_install(&cfg);
	mb = backend;
	run_model(10000);
	mb = VNI_BACKEND_NOIOMMU;
}

static void test_model_legacy(void **state)
{
	(void)state;
	model_on(VNI_BACKEND_LEGACY);
}

static void test_model_iommufd(void **state)
{
	(void)state;
	model_on(VNI_BACKEND_IOMMUFD);
}

static void test_model_type1(void **state)
{
	(void)state;
	model_on(VNI_BACKEND_TYPE1);
}

/* Self-healing: a block that held 4 KiB entries becomes a 2 MiB leaf again
 * as soon as it is one physically contiguous run again, by a new mapping, by
 * the last page of a block arriving in another mapping, or by the kernel
 * pinning it contiguously when a device is opened again; and a leaf that
 * loses part of its block goes back to exact 4 KiB entries. */
static void test_self_heal(void **state)
{
	struct vni_ctx *ctx = NULL;
	struct vni_device *dev = NULL;
	struct vni_ctx_stats st = { .struct_size = sizeof(st) };
	const size_t blk = 2u << 20;
	char *raw, *b;
	uint64_t pa;
	size_t l;

	(void)state;
	{
		/* runs of at most 8 pages: never a whole block by chance */
		struct fake_cfg cfg = fake_default_cfg();

		cfg.big_pct = 0;
		cfg.run_max = 8;
		fake_install(&cfg);
	}
	raw = mmap(NULL, 4 * blk, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	assert_true(raw != MAP_FAILED);
	b = (char *)(((uintptr_t)raw + blk - 1) & ~(uintptr_t)(blk - 1));
	assert_ok(vni_ctx_new(&ctx, 0));
	assert_ok(vni_device_open(ctx, EDU, &dev));

	/* fragmented: 4 KiB entries */
	assert_ok(vni_dma_map(ctx, b, blk, 0));
	assert_ok(vni_ctx_stats(ctx, &st));
	assert_int_equal(st.leaf_2m, 0);
	assert_int_equal(st.leaf_4k, 512);
	assert_ok(vni_dma_unmap(ctx, b, blk));
	/* the same block, one run now: a leaf, in the slot that held 4 KiB entries */
	fake_set_contiguous(true);
	assert_ok(vni_dma_map(ctx, b, blk, 0));
	assert_ok(vni_ctx_stats(ctx, &st));
	assert_int_equal(st.leaf_2m, 1);
	assert_int_equal(st.leaf_4k, 0);
	assert_ok(vni_dma_unmap(ctx, b, blk));

	/* two halves, mapped apart, physically adjacent: promoted */
	assert_ok(vni_dma_map(ctx, b, blk / 2, 0));
	assert_ok(vni_ctx_stats(ctx, &st));
	assert_int_equal(st.leaf_2m, 0);
	assert_int_equal(st.leaf_4k, 256);
	assert_ok(vni_dma_map(ctx, b + blk / 2, blk / 2, 0));
	assert_ok(vni_ctx_stats(ctx, &st));
	assert_int_equal(st.leaf_2m, 1);
	assert_int_equal(st.leaf_4k, 0);
	for (size_t off = 0; off < blk; off += 4096 * 17) {
		assert_true(fake_pa((uintptr_t)b + off, &pa));
		assert_int_equal(vni_dma_addr_fast(ctx, b + off + 3), pa + 3);
	}
	/* one run across the two mappings */
	l = 0;
	assert_true(fake_pa((uintptr_t)b, &pa));
	assert_int_equal(vni_dma_addr_len(ctx, b, &l), pa);
	assert_int_equal(l, blk);
	/* unmap the first half: demoted to exact 4 KiB entries */
	assert_ok(vni_dma_unmap(ctx, b, blk / 2));
	assert_ok(vni_ctx_stats(ctx, &st));
	assert_int_equal(st.leaf_2m, 0);
	assert_int_equal(st.leaf_4k, 256);
	assert_int_equal(vni_dma_addr_fast(ctx, b + 4096), VNI_DMA_ADDR_INVALID);
	for (size_t off = blk / 2; off < blk; off += 4096 * 7) {
		assert_true(fake_pa((uintptr_t)b + off, &pa));
		assert_int_equal(vni_dma_addr_fast(ctx, b + off), pa);
	}
	l = 0;
	assert_true(fake_pa((uintptr_t)b + blk / 2, &pa));
	assert_int_equal(vni_dma_addr_len(ctx, b + blk / 2, &l), pa);
	assert_int_equal(l, blk / 2);
	assert_ok(vni_dma_unmap(ctx, b + blk / 2, blk / 2));

	/* fragmented while open; the last device closes; pinned contiguously
	 * on reopen: the block is a leaf again */
	fake_set_contiguous(false);
	assert_ok(vni_dma_map(ctx, b, blk, 0));
	assert_ok(vni_ctx_stats(ctx, &st));
	assert_int_equal(st.leaf_4k, 512);
	assert_ok(vni_device_close(&dev));
	fake_set_contiguous(true);
	assert_ok(vni_device_open(ctx, EDU, &dev));
	assert_ok(vni_ctx_stats(ctx, &st));
	assert_int_equal(st.leaf_2m, 1);
	assert_int_equal(st.leaf_4k, 0);
	assert_true(fake_pa((uintptr_t)b + 12345, &pa));
	assert_int_equal(vni_dma_addr_fast(ctx, b + 12345), pa);
	assert_ok(vni_dma_unmap(ctx, b, blk));
	fake_set_contiguous(false);

	assert_ok(vni_device_close(&dev));
	assert_ok(vni_ctx_destroy(&ctx));
	munmap(raw, 4 * blk);
}

/* Exact table shapes: leaves where a run covers a whole block, 4 KiB entries
 * elsewhere. */
static void test_shapes(void **state)
{
	struct vni_ctx *ctx = NULL;
	struct vni_device *dev = NULL;
	struct vni_ctx_stats st = { .struct_size = sizeof(st) }, st2 = { .struct_size = sizeof(st2) };
	void *h;

	(void)state;
	assert_ok(vni_ctx_new(&ctx, 0));
	assert_ok(vni_device_open(ctx, EDU, &dev));
	/* 8 MiB of hugepages: 4 runs, 4 leaves, no level-2 table */
	assert_ok(vni_ctx_stats(ctx, &st));
	assert_ok(vni_dma_alloc(ctx, 8u << 20, VNI_DMA_ALLOC_HUGE, &h));
	assert_ok(vni_ctx_stats(ctx, &st2));
	assert_int_equal(st2.get_pa_calls - st.get_pa_calls, 4);
	assert_int_equal(st2.runs, 4);
	assert_int_equal(st2.leaf_2m, 4);
	assert_int_equal(st2.leaf_4k, 0);
	/* at most one region's slot and metadata pages (two regions if it
	 * straddles a GiB boundary), no page of 4 KiB entries */
	assert_true(st2.table_bytes - st.table_bytes <= 16384);
	for (size_t off = 0; off < (8u << 20); off += 4096 * 37) {
		uint64_t pa;

		assert_true(fake_pa((uintptr_t)h + off, &pa));
		assert_int_equal(vni_dma_addr_fast(ctx, (char *)h + off), pa);
	}
	assert_ok(vni_dma_free(ctx, h));
	assert_ok(vni_ctx_stats(ctx, &st));
	assert_int_equal(st.leaf_2m, 0);
	assert_int_equal(st.runs, 0);
	assert_ok(vni_device_close(&dev));
	assert_ok(vni_ctx_destroy(&ctx));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_shapes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_self_heal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_model, setup, teardown),
		cmocka_unit_test_setup_teardown(test_model_legacy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_model_iommufd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_model_type1, setup, teardown),
	};

	return cmocka_run_group_tests_name("xlate", tests, NULL, NULL);
}
