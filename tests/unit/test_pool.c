/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * DMA pools on the simulated kernel: layout (alignment, one page per
 * object, DMA address == the simulated kernel's physical address), LIFO
 * reuse, the maximum, growth over several chunks, the hugepage fallback,
 * objects above 4 KiB, refused frees, fault injection while growing,
 * destroy (also with the context, and with a failing unmap), no device,
 * the legacy backend and several threads.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "util.h"
#include "internal.h"

#define MAX_N 2000

static struct vni_ctx *ctx;
static struct vni_device *dev;
/* legacy backend: the oracle is pagemap, not the IOAS */
static bool legacy_oracle;

static void open_ctx(void)
{
	assert_ok(vni_ctx_new(&ctx, 0));
	assert_ok(vni_device_open(ctx, EDU, &dev));
}

static void close_ctx(void)
{
	if (dev)
		assert_ok(vni_device_close(&dev));
	assert_ok(vni_ctx_destroy(&ctx));
}

static uint64_t oracle_pa(uint64_t va)
{
	uint64_t pa = 0;

	if (legacy_oracle)
		return fake_pagemap_pa(va);
	if (!fake_pa(va, &pa))
		fail_msg("%#llx is not pinned in the simulated kernel", (unsigned long long)va);
	return pa;
}

static struct vni_dma_pool_info info_of(struct vni_dma_pool *pool)
{
	struct vni_dma_pool_info info = { .struct_size = sizeof(info) };

	assert_ok(vni_dma_pool_info(pool, &info));
	return info;
}

/* The layout promises for one object of size sz at va with DMA address dma. */
static void check_obj(const void *obj, uint64_t dma, size_t sz)
{
	uint64_t va = (uint64_t)(uintptr_t)obj, d = 0;

	if (va & (sz - 1))
		fail_msg("object %p is not aligned to %zu", obj, sz);
	if (dma & (sz - 1))
		fail_msg("DMA address %#llx of %p is not aligned to %zu",
			 (unsigned long long)dma, obj, sz);
	if (sz <= 4096 && (va >> 12) != ((va + sz - 1) >> 12))
		fail_msg("object %p+%zu straddles a page boundary", obj, sz);
	assert_ok(vni_dma_addr(ctx, obj, &d));
	assert_int_equal(d, dma);
	/* every page of the object where the kernel put it, contiguously */
	for (uint64_t o = 0; o < sz; o += 4096)
		if (oracle_pa(va + o) != dma + o)
			fail_msg("object %p+%#llx: kernel PA %#llx, pool says %#llx", obj,
				 (unsigned long long)o, (unsigned long long)oracle_pa(va + o),
				 (unsigned long long)(dma + o));
	assert_int_equal(oracle_pa(va + sz - 1), dma + sz - 1);
}

static int cmp_ptr(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)*(void *const *)a, y = (uintptr_t)*(void *const *)b;

	return x < y ? -1 : x > y;
}

/* n objects, each checked; all distinct and not overlapping. */
static void **alloc_n(struct vni_dma_pool *pool, size_t n, size_t sz)
{
	void **objs = calloc(n ? n : 1, sizeof(*objs)), **sorted;

	assert_non_null(objs);
	for (size_t i = 0; i < n; i++) {
		uint64_t dma;

		assert_ok(vni_dma_pool_alloc(pool, &objs[i], &dma));
		check_obj(objs[i], dma, sz);
	}
	sorted = calloc(n ? n : 1, sizeof(*sorted));
	assert_non_null(sorted);
	memcpy(sorted, objs, n * sizeof(*objs));
	qsort(sorted, n, sizeof(*sorted), cmp_ptr);
	for (size_t i = 1; i < n; i++)
		if ((uintptr_t)sorted[i] - (uintptr_t)sorted[i - 1] < sz)
			fail_msg("objects %p and %p overlap (%zu bytes)", sorted[i - 1],
				 sorted[i], sz);
	free(sorted);
	return objs;
}

static void free_n(struct vni_dma_pool *pool, void **objs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		assert_ok(vni_dma_pool_free(pool, objs[i]));
	free(objs);
}

static void test_invalid(void **state)
{
	static const size_t bad[] = { 0, 1, 32, 63, 65, 96, 3000, 4097, 6144,
				      (size_t)4 << 20, SIZE_MAX };
	struct vni_dma_pool *pool = (struct vni_dma_pool *)&pool;
	struct vni_dma_pool_info info = { .struct_size = sizeof(info) };
	struct fake_counts before, after;
	void *obj;

	(void)state;
	assert_ok(vni_ctx_new(&ctx, 0));
	/* no device: nothing to pin yet */
	assert_err(vni_dma_pool_create(ctx, 64, 0, 0, &pool), ENODEV);
	assert_int_equal(vni_reason_last(), VNI_REASON_NO_DEVICE);
	assert_ok(vni_device_open(ctx, EDU, &dev));
	fake_counts(&before);
	for (size_t i = 0; i < VNIP_ARRAY_SIZE(bad); i++)
		assert_err(vni_dma_pool_create(ctx, bad[i], 0, 0, &pool), EINVAL);
	assert_err(vni_dma_pool_create(NULL, 64, 0, 0, &pool), EINVAL);
	assert_err(vni_dma_pool_create(ctx, 64, 0, 0, NULL), EINVAL);
	assert_err(vni_dma_pool_create(ctx, 64, 0, 1u << 7, &pool), EINVAL);
	assert_err(vni_dma_pool_create(ctx, 64, 0, VNI_DMA_POOL_HUGE | VNI_DMA_POOL_SMALL,
				       &pool), EINVAL);
	assert_err(vni_dma_pool_create(ctx, 8192, 0, VNI_DMA_POOL_SMALL, &pool), EINVAL);
	assert_err(vni_dma_pool_alloc(NULL, &obj, NULL), EINVAL);
	assert_err(vni_dma_pool_free(NULL, &obj), EINVAL);
	assert_err(vni_dma_pool_info(NULL, &info), EINVAL);
	assert_err(vni_dma_pool_destroy(NULL), EINVAL);
	fake_counts(&after);
	assert_counts_equal(&before, &after, "refused pool calls");
	/* the handle was never written */
	assert_ptr_equal(pool, (struct vni_dma_pool *)&pool);
	pool = NULL;
	assert_err(vni_dma_pool_destroy(&pool), EBADF);
	close_ctx();
}

/* Every object of the first chunk, for every size and chunk kind. */
static void test_layout(void **state)
{
	(void)state;
	open_ctx();
	for (size_t sz = 64; sz <= 4096; sz *= 2) {
		for (int small = 0; small < 2; small++) {
			struct vni_dma_pool *pool = NULL;
			struct vni_dma_pool_info info = { .struct_size = sizeof(info) };
			struct vni_dma_mapping_info mi = { .struct_size = sizeof(mi) };
			size_t per = (small ? (64u << 10) : (2u << 20)) / sz;
			void **objs;

			assert_ok(vni_dma_pool_create(ctx, sz, 0,
						      small ? VNI_DMA_POOL_SMALL : 0, &pool));
			info = info_of(pool);
			assert_int_equal(info.obj_size, sz);
			assert_int_equal(info.objs, per);
			assert_int_equal(info.chunks, 1);
			assert_int_equal(info.huge_chunks, small ? 0 : 1);
			assert_int_equal(info.in_use, 0);
			objs = alloc_n(pool, per, sz);
			/* fresh objects are zeroes, and the first comes first */
			for (size_t i = 0; i < sz; i++)
				assert_int_equal(((unsigned char *)objs[0])[i], 0);
			assert_ok(vni_dma_lookup(ctx, objs[0], &mi));
			assert_ptr_equal(mi.vaddr, objs[0]);
			assert_int_equal(mi.len, small ? 64u << 10 : 2u << 20);
			assert_true(mi.flags & VNI_DMA_MAPPING_ALLOCATED);
			assert_int_equal(!!(mi.flags & VNI_DMA_MAPPING_HUGE), !small);
			for (size_t i = 1; i < per; i++)
				assert_ptr_equal(objs[i], (char *)objs[0] + i * sz);
			/* the whole chunk in use, still one chunk */
			info = info_of(pool);
			assert_int_equal(info.in_use, per);
			assert_int_equal(info.chunks, 1);
			free_n(pool, objs, per);
			assert_int_equal(info_of(pool).in_use, 0);
			assert_ok(vni_dma_pool_destroy(&pool));
			assert_null(pool);
		}
	}
	close_ctx();
}

/* The object freed last comes back first; nothing grows for it. */
static void test_reuse(void **state)
{
	struct vni_dma_pool *pool = NULL;
	struct vni_ctx_stats st0 = { .struct_size = sizeof(st0) }, st1 = { .struct_size = sizeof(st1) };
	void *a, *b, *c, *x;
	uint64_t da, dx;

	(void)state;
	open_ctx();
	assert_ok(vni_dma_pool_create(ctx, 256, 0, VNI_DMA_POOL_ZERO, &pool));
	assert_ok(vni_ctx_stats(ctx, &st0));
	assert_ok(vni_dma_pool_alloc(pool, &a, &da));
	memset(a, 0xa5, 256);
	assert_ok(vni_dma_pool_free(pool, a));
	assert_ok(vni_dma_pool_alloc(pool, &x, &dx));
	assert_ptr_equal(x, a);
	assert_int_equal(dx, da);
	/* VNI_DMA_POOL_ZERO: the reused object is zeroes again */
	for (size_t i = 0; i < 256; i++)
		assert_int_equal(((unsigned char *)x)[i], 0);
	assert_ok(vni_dma_pool_alloc(pool, &b, NULL));
	assert_ok(vni_dma_pool_alloc(pool, &c, NULL));
	assert_ok(vni_dma_pool_free(pool, b));
	assert_ok(vni_dma_pool_free(pool, x));
	assert_ok(vni_dma_pool_alloc(pool, &a, NULL));
	assert_ptr_equal(a, x);
	assert_ok(vni_dma_pool_alloc(pool, &a, NULL));
	assert_ptr_equal(a, b);
	assert_ok(vni_ctx_stats(ctx, &st1));
	assert_int_equal(st1.map_calls, st0.map_calls);
	assert_int_equal(st1.get_pa_calls, st0.get_pa_calls);
	assert_int_equal(info_of(pool).in_use, 3);
	assert_ok(vni_dma_pool_destroy(&pool));
	close_ctx();
}

/* With a maximum: -ENOMEM once it is reached, no chunk beyond it, every
 * object still allocated (each frees once) and usable again after a free. */
static void test_max(void **state)
{
	struct vni_dma_pool *pool = NULL;
	struct fake_counts before, after;
	void **objs, *x, *y;

	(void)state;
	open_ctx();
	/* inside one chunk */
	assert_ok(vni_dma_pool_create(ctx, 64, 100, 0, &pool));
	objs = alloc_n(pool, 100, 64);
	fake_counts(&before);
	x = NULL;
	assert_err(vni_dma_pool_alloc(pool, &x, NULL), ENOMEM);
	assert_null(x);
	fake_counts(&after);
	assert_counts_equal(&before, &after, "alloc beyond the maximum");
	assert_int_equal(info_of(pool).in_use, 100);
	assert_int_equal(info_of(pool).max_objs, 100);
	assert_ok(vni_dma_pool_free(pool, objs[42]));
	assert_ok(vni_dma_pool_alloc(pool, &x, NULL));
	assert_ptr_equal(x, objs[42]);
	assert_err(vni_dma_pool_alloc(pool, &y, NULL), ENOMEM);
	free_n(pool, objs, 100);
	assert_ok(vni_dma_pool_destroy(&pool));

	/* over chunks: 16 objects per 64 KiB chunk, 40 at most: 3 chunks */
	assert_ok(vni_dma_pool_create(ctx, 4096, 40, VNI_DMA_POOL_SMALL, &pool));
	objs = alloc_n(pool, 40, 4096);
	assert_int_equal(info_of(pool).chunks, 3);
	fake_counts(&before);
	assert_err(vni_dma_pool_alloc(pool, &x, NULL), ENOMEM);
	fake_counts(&after);
	assert_counts_equal(&before, &after, "alloc beyond the maximum (chunks)");
	assert_int_equal(info_of(pool).chunks, 3);
	assert_int_equal(info_of(pool).objs, 48);
	free_n(pool, objs, 40);
	assert_ok(vni_dma_pool_destroy(&pool));
	close_ctx();
}

static int log_errors, log_warns;

static void count_log(void *opaque, enum vni_log_level level, const char *msg)
{
	(void)opaque;
	(void)msg;
	log_errors += level == VNI_LOG_ERROR;
	log_warns += level == VNI_LOG_WARN;
}

/* Growth on demand over several chunks, of both kinds and mixed. */
static void test_growth(void **state)
{
	struct vni_dma_pool *pool = NULL;
	struct vni_dma_pool_info info = { .struct_size = sizeof(info) };
	struct vni_ctx_stats st = { .struct_size = sizeof(st) };
	void **objs;

	(void)state;
	open_ctx();
	/* 64 objects of 1 KiB per small chunk: 5 * 64 + 1 objects, 6 chunks */
	assert_ok(vni_dma_pool_create(ctx, 1024, 0, VNI_DMA_POOL_SMALL, &pool));
	objs = alloc_n(pool, 5 * 64 + 1, 1024);
	info = info_of(pool);
	assert_int_equal(info.chunks, 6);
	assert_int_equal(info.huge_chunks, 0);
	assert_int_equal(info.objs, 6 * 64);
	assert_int_equal(info.bytes, 6 * (64u << 10));
	assert_ok(vni_ctx_stats(ctx, &st));
	assert_int_equal(st.mappings, 6);
	free_n(pool, objs, 5 * 64 + 1);
	/* everything freed is reused before the pool grows again */
	objs = alloc_n(pool, 6 * 64, 1024);
	assert_int_equal(info_of(pool).chunks, 6);
	free_n(pool, objs, 6 * 64);
	assert_ok(vni_dma_pool_destroy(&pool));
	assert_ok(vni_ctx_stats(ctx, &st));
	assert_int_equal(st.mappings, 0);

	/* hugepage chunks: 512 objects of 4 KiB each, three chunks */
	assert_ok(vni_dma_pool_create(ctx, 4096, 0, 0, &pool));
	objs = alloc_n(pool, 3 * 512, 4096);
	info = info_of(pool);
	assert_int_equal(info.chunks, 3);
	assert_int_equal(info.huge_chunks, 3);
	assert_int_equal(info.bytes, 3 * (2u << 20));
	/* hugepages run out: the pool goes on with 64 KiB chunks, with a
	 * warning each time and no error (no call failed) */
	fake_set_hugepages(false);
	{
		enum vni_log_level lvl = vni_log_get_level();
		void **more;

		assert_ok(vni_log_set_level(VNI_LOG_WARN));
		vni_log_set_callback(count_log, NULL);
		log_errors = log_warns = 0;
		more = alloc_n(pool, 20, 4096);
		vni_log_set_callback(NULL, NULL);
		assert_ok(vni_log_set_level(lvl));
		assert_int_equal(log_errors, 0);
		assert_int_equal(log_warns, 2);

		info = info_of(pool);
		assert_int_equal(info.chunks, 5);
		assert_int_equal(info.huge_chunks, 3);
		assert_int_equal(info.objs, 3 * 512 + 2 * 16);
		free_n(pool, more, 20);
	}
	free_n(pool, objs, 3 * 512);
	assert_ok(vni_dma_pool_destroy(&pool));

	/* VNI_DMA_POOL_HUGE, objects above 4 KiB: no fallback; the failure
	 * is logged once and says what to do */
	vni_log_set_callback(count_log, NULL);
	log_errors = 0;
	assert_err(vni_dma_pool_create(ctx, 512, 0, VNI_DMA_POOL_HUGE, &pool), ENOMEM);
	vni_log_set_callback(NULL, NULL);
	assert_int_equal(log_errors, 1);
	assert_non_null(strstr(vni_strerror_last(), "2 MiB hugepage chunk"));
	assert_non_null(strstr(vni_strerror_last(), "nr_hugepages"));
	assert_err(vni_dma_pool_create(ctx, 8192, 0, 0, &pool), ENOMEM);
	assert_null(pool);
	assert_ok(vni_ctx_stats(ctx, &st));
	assert_int_equal(st.mappings, 0);
	fake_set_hugepages(true);
	close_ctx();
}

/* Objects of 8 KiB .. 2 MiB share hugepages, each DMA-contiguous. */
static void test_large_objects(void **state)
{
	(void)state;
	open_ctx();
	for (size_t sz = 8192; sz <= (2u << 20); sz *= 4) {
		struct vni_dma_pool *pool = NULL;
		size_t per = (2u << 20) / sz, n = per + 1;
		void **objs;

		assert_ok(vni_dma_pool_create(ctx, sz, 0, 0, &pool));
		objs = alloc_n(pool, n, sz);
		for (size_t i = 0; i < n; i++) {
			uint64_t d;
			size_t got;

			assert_ok(vni_dma_contig(ctx, objs[i], sz, &d, &got));
			assert_int_equal(got, sz);
		}
		assert_int_equal(info_of(pool).chunks, 2);
		assert_int_equal(info_of(pool).huge_chunks, 2);
		free_n(pool, objs, n);
		assert_ok(vni_dma_pool_destroy(&pool));
	}
	close_ctx();
}

static void test_bad_free(void **state)
{
	struct vni_dma_pool *pool = NULL, *other = NULL;
	struct fake_counts before, after;
	void *a, *b, *o, *buf;
	char local[128];

	(void)state;
	open_ctx();
	assert_ok(vni_dma_pool_create(ctx, 128, 0, 0, &pool));
	assert_ok(vni_dma_pool_create(ctx, 128, 0, VNI_DMA_POOL_SMALL, &other));
	assert_ok(vni_dma_alloc(ctx, 4096, 0, &buf));
	assert_ok(vni_dma_pool_alloc(pool, &a, NULL));
	assert_ok(vni_dma_pool_alloc(pool, &b, NULL));
	assert_ok(vni_dma_pool_alloc(other, &o, NULL));
	fake_counts(&before);
	assert_err(vni_dma_pool_free(pool, NULL), EINVAL);
	assert_err(vni_dma_pool_free(pool, (char *)a + 64), EINVAL);   /* inside */
	assert_err(vni_dma_pool_free(pool, (char *)a + 1), EINVAL);
	assert_err(vni_dma_pool_free(pool, o), EINVAL);                /* other pool's */
	assert_err(vni_dma_pool_free(pool, buf), EINVAL);              /* vni_dma_alloc */
	assert_err(vni_dma_pool_free(pool, local), EINVAL);            /* stack */
	assert_err(vni_dma_pool_free(pool, (char *)b + 128), EINVAL);  /* never allocated */
	assert_ok(vni_dma_pool_free(pool, a));
	assert_err(vni_dma_pool_free(pool, a), EINVAL);                /* twice */
	fake_counts(&after);
	assert_counts_equal(&before, &after, "refused frees");
	/* the refusals changed nothing: b and o are still allocated, and
	 * the free list holds a once */
	assert_int_equal(info_of(pool).in_use, 1);
	assert_int_equal(info_of(other).in_use, 1);
	{
		void *x, *y;

		assert_ok(vni_dma_pool_alloc(pool, &x, NULL));
		assert_ptr_equal(x, a);
		assert_ok(vni_dma_pool_alloc(pool, &y, NULL));
		assert_true(y != a && y != b);
	}
	assert_ok(vni_dma_pool_free(pool, b));
	assert_ok(vni_dma_pool_free(other, o));
	/* the first object of a chunk is where the chunk starts: the chunk
	 * belongs to the pool, vni_dma_free() must not take it away */
	assert_err(vni_dma_free(ctx, o), EBUSY);
	assert_err(vni_dma_free(ctx, a), EBUSY);
	assert_err(vni_dma_unmap(ctx, o, 64u << 10), EBUSY);
	{
		struct vni_dma_mapping_info mi = { .struct_size = sizeof(mi) };

		assert_ok(vni_dma_lookup(ctx, o, &mi));
		assert_true(mi.flags & VNI_DMA_MAPPING_POOL);
		assert_ok(vni_dma_lookup(ctx, buf, &mi));
		assert_false(mi.flags & VNI_DMA_MAPPING_POOL);
	}
	assert_ok(vni_dma_free(ctx, buf));
	assert_ok(vni_dma_pool_destroy(&other));
	assert_ok(vni_dma_pool_destroy(&pool));
	close_ctx();
}

/* Counts of the simulated kernel that a failed growth must not change:
 * fds, mmaps (less translation-table regions, which stay with the
 * context), IOAS mappings and pins. The pool's bookkeeping may keep the
 * room it reserved (heap); destroy frees it (the teardown checks). */
static void assert_kernel_equal(const struct fake_counts *a, long regions_a,
				const struct fake_counts *b, long regions_b, const char *what)
{
	if (a->fds != b->fds || a->mmaps - regions_a != b->mmaps - regions_b ||
	    a->ioas_maps != b->ioas_maps || a->pinned_pages != b->pinned_pages ||
	    a->locked_pages != b->locked_pages)
		fail_msg("%s: fds %ld->%ld mmaps %ld->%ld ioas_maps %ld->%ld pinned %ld->%ld",
			 what, a->fds, b->fds, a->mmaps, b->mmaps, a->ioas_maps, b->ioas_maps,
			 a->pinned_pages, b->pinned_pages);
}

static void fault_growth(unsigned int flags, bool hugepages, const char *what)
{
	long n;

	fake_set_hugepages(hugepages);
	for (n = 1; n < MAX_N; n++) {
		struct vni_dma_pool *pool = NULL;
		struct vni_dma_pool_info i0 = { .struct_size = sizeof(i0) }, i1 = { .struct_size = sizeof(i1) };
		struct fake_counts mid, now;
		struct vni_ctx_stats st = { .struct_size = sizeof(st) };
		long r0;
		void **objs, *x = NULL;
		uint64_t dma = 0;
		size_t per;
		bool fired;
		int ret;

		open_ctx();
		assert_ok(vni_dma_pool_create(ctx, 2048, 0, flags, &pool));
		i0 = info_of(pool);
		per = (size_t)i0.objs;
		objs = alloc_n(pool, per, 2048);
		r0 = (long)ctx->xlate.nregions;
		fake_counts(&mid);
		fake_fail_at(n);
		ret = vni_dma_pool_alloc(pool, &x, &dma); /* grows */
		fired = fake_fault_fired();
		fake_fail_at(0);
		i1 = info_of(pool);
		if (ret < 0) {
			assert_true(fired);
			assert_null(x);
			assert_true(vni_strerror_last()[0]);
			fake_counts(&now);
			assert_kernel_equal(&mid, r0, &now, (long)ctx->xlate.nregions, what);
			assert_int_equal(i1.chunks, 1);
			assert_int_equal(i1.objs, i0.objs);
			assert_int_equal(i1.in_use, per);
			assert_ok(vni_ctx_stats(ctx, &st));
			assert_int_equal(st.mappings, 1);
			/* and the next try grows */
			assert_ok(vni_dma_pool_alloc(pool, &x, &dma));
		}
		check_obj(x, dma, 2048);
		assert_int_equal(info_of(pool).chunks, 2);
		assert_ok(vni_dma_pool_free(pool, x));
		free_n(pool, objs, per);
		assert_ok(vni_dma_pool_destroy(&pool));
		close_ctx();
		if (ret == 0 && !fired)
			break;
	}
	fake_set_hugepages(true);
	print_message("%s: %ld injected failures while growing unwound cleanly\n", what, n - 1);
	assert_true(n > 4);
}

static void test_fault_growth(void **state)
{
	(void)state;
	fault_growth(0, true, "hugepage chunk");
	fault_growth(VNI_DMA_POOL_SMALL, true, "64 KiB chunk");
	fault_growth(0, false, "fallback chunk");
}

/* vni_dma_pool_create() under fault injection: nothing left at all. */
static void test_fault_create(void **state)
{
	long n;

	(void)state;
	for (n = 1; n < MAX_N; n++) {
		struct vni_dma_pool *pool = NULL;
		struct fake_counts mid, now;
		long r0;
		bool fired;
		int ret;

		void *warm;

		open_ctx();
		/* the context's mapping list, made by the first map, stays */
		assert_ok(vni_dma_alloc(ctx, 4096, 0, &warm));
		assert_ok(vni_dma_free(ctx, warm));
		r0 = (long)ctx->xlate.nregions;
		fake_counts(&mid);
		fake_fail_at(n);
		ret = vni_dma_pool_create(ctx, 64, 0, 0, &pool);
		fired = fake_fault_fired();
		fake_fail_at(0);
		if (ret < 0) {
			assert_true(fired);
			assert_null(pool);
			fake_counts(&now);
			now.mmaps -= (long)ctx->xlate.nregions - r0;
			assert_counts_equal(&mid, &now, "pool create failure");
		} else {
			assert_ok(vni_dma_pool_destroy(&pool));
		}
		close_ctx();
		if (ret == 0 && !fired)
			break;
	}
	print_message("vni_dma_pool_create: %ld injected failures unwound cleanly\n", n - 1);
	assert_true(n > 4);
}

/* Destroy unmaps every chunk, objects in use or not; the context refuses
 * to go first; a failing unmap leaves the chunk to vni_ctx_destroy(). */
static void test_destroy(void **state)
{
	struct vni_dma_pool *pool = NULL, *p2 = NULL;
	struct fake_counts base, now;
	struct vni_ctx_stats st = { .struct_size = sizeof(st) };
	void **objs;
	void *x;
	long n;

	(void)state;
	open_ctx();
	fake_counts(&base);
	assert_ok(vni_dma_pool_create(ctx, 512, 0, VNI_DMA_POOL_SMALL, &pool));
	assert_ok(vni_dma_pool_create(ctx, 64, 0, 0, &p2));
	objs = alloc_n(pool, 300, 512); /* 128 per chunk: 3 chunks */
	assert_ok(vni_dma_pool_alloc(p2, &x, NULL));
	fake_counts(&now);
	assert_int_equal(now.ioas_maps, base.ioas_maps + 4);
	assert_int_equal(now.pinned_pages, base.pinned_pages + 3 * 16 + 512);

	/* pools alive: the context stays, and so does everything in it */
	assert_ok(vni_device_close(&dev));
	assert_err(vni_ctx_destroy(&ctx), EBUSY);
	assert_non_null(ctx);
	assert_ok(vni_device_open(ctx, EDU, &dev));
	assert_ok(vni_ctx_stats(ctx, &st));
	assert_int_equal(st.mappings, 4);
	check_obj(objs[299], vni_dma_addr_fast(ctx, objs[299]), 512);

	free(objs); /* still allocated: destroy frees them with their chunks */
	assert_ok(vni_dma_pool_destroy(&pool));
	assert_null(pool);
	assert_err(vni_dma_pool_destroy(&pool), EBADF);
	assert_err(vni_ctx_destroy(&ctx), EBUSY); /* p2 */
	assert_ok(vni_dma_pool_destroy(&p2));
	fake_counts(&now);
	now.mmaps = base.mmaps; /* translation-table regions stay with the context */
	now.heap = base.heap;   /* so does its mapping list */
	assert_counts_equal(&base, &now, "pool destroy");
	assert_ok(vni_ctx_stats(ctx, &st));
	assert_int_equal(st.mappings, 0);

	/* an unmap that fails inside destroy */
	for (n = 1; n < 50; n++) {
		int ret;

		assert_ok(vni_dma_pool_create(ctx, 4096, 0, VNI_DMA_POOL_SMALL, &pool));
		objs = alloc_n(pool, 40, 4096); /* 3 chunks */
		free_n(pool, objs, 40);
		fake_fail_at(n);
		ret = vni_dma_pool_destroy(&pool);
		fake_fail_at(0);
		assert_null(pool);
		assert_ok(vni_ctx_stats(ctx, &st));
		if (ret == 0) {
			assert_int_equal(st.mappings, 0);
			break;
		}
		/* the chunk that could not go is still a mapping of the
		 * context, and translates */
		assert_true(st.mappings >= 1 && st.mappings <= 3);
		assert_true(vni_strerror_last()[0]);
		assert_ok(vni_device_close(&dev));
		assert_ok(vni_ctx_destroy(&ctx)); /* frees it */
		fake_counts(&now);
		assert_int_equal(now.ioas_maps, 0);
		assert_int_equal(now.mmaps, 0);
		open_ctx();
	}
	assert_true(n > 1);
	close_ctx();
}

/* The last device closes: no DMA address is valid; objects without one
 * are still handed out; after a reopen the addresses are the new ones. */
static void test_no_device(void **state)
{
	struct vni_dma_pool *pool = NULL;
	void *a, *b, *c;
	uint64_t da, db;

	(void)state;
	open_ctx();
	assert_ok(vni_dma_pool_create(ctx, 64, 0, 0, &pool));
	assert_ok(vni_dma_pool_alloc(pool, &a, &da));
	assert_ok(vni_device_close(&dev));
	assert_err(vni_dma_pool_alloc(pool, &b, &db), ENODEV);
	assert_int_equal(info_of(pool).in_use, 1);
	assert_ok(vni_dma_pool_alloc(pool, &b, NULL));
	assert_ok(vni_dma_pool_free(pool, a));
	assert_ok(vni_device_open(ctx, EDU, &dev));
	assert_ok(vni_dma_pool_alloc(pool, &c, &da));
	assert_ptr_equal(c, a);
	check_obj(c, da, 64);
	check_obj(b, vni_dma_addr_fast(ctx, b), 64);
	assert_ok(vni_dma_pool_destroy(&pool));
	close_ctx();
}

/* Legacy backend: hugepage chunks only, addresses as pagemap says. */
static void test_legacy(void **state)
{
	struct fake_cfg cfg = fake_default_cfg();
	struct vni_dma_pool *pool = NULL;
	void **objs;

	(void)state;
	cfg.devs[3].noiommu_group = true;
	unsetenv("VNI_BACKEND");
	fake_install(&cfg);
	legacy_oracle = true;
	assert_ok(vni_ctx_new(&ctx, 0));
	assert_ok(vni_device_open(ctx, "0000:00:07.0", &dev));
	assert_int_equal(vni_ctx_backend(ctx), VNI_BACKEND_LEGACY);
	assert_err(vni_dma_pool_create(ctx, 64, 0, VNI_DMA_POOL_SMALL, &pool), EINVAL);
	assert_int_equal(vni_reason_last(), VNI_REASON_MAY_MOVE);
	assert_ok(vni_dma_pool_create(ctx, 1024, 0, 0, &pool));
	objs = alloc_n(pool, 2048 + 1, 1024);
	assert_int_equal(info_of(pool).huge_chunks, 2);
	/* no hugepage: no fallback to pages that may move */
	fake_set_hugepages(false);
	{
		void **more;

		more = calloc(2048, sizeof(*more));
		assert_non_null(more);
		for (size_t i = 0; i < 2047; i++)
			assert_ok(vni_dma_pool_alloc(pool, &more[i], NULL));
		assert_err(vni_dma_pool_alloc(pool, &more[2047], NULL), ENOMEM);
		free_n(pool, more, 2047);
	}
	assert_int_equal(info_of(pool).chunks, 2);
	free_n(pool, objs, 2048 + 1);
	assert_ok(vni_dma_pool_destroy(&pool));
	legacy_oracle = false;
	close_ctx();
}

/* Threads allocating and freeing at once: no object is handed out twice. */
#define MT_THREADS 4
#define MT_ROUNDS 2000
#define MT_HELD 64

static struct vni_dma_pool *mt_pool;

static void *mt_worker(void *arg)
{
	uintptr_t me = (uintptr_t)arg;
	void *held[MT_HELD];
	long bad = 0;

	for (int r = 0; r < MT_ROUNDS; r++) {
		for (int i = 0; i < MT_HELD; i++) {
			if (vni_dma_pool_alloc(mt_pool, &held[i], NULL) < 0)
				return (void *)-1l;
			*(volatile uintptr_t *)held[i] = me;
		}
		for (int i = 0; i < MT_HELD; i++) {
			if (*(volatile uintptr_t *)held[i] != me)
				bad++;
			if (vni_dma_pool_free(mt_pool, held[i]) < 0)
				return (void *)-1l;
		}
	}
	return (void *)bad;
}

static void test_threads(void **state)
{
	pthread_t t[MT_THREADS];

	(void)state;
	open_ctx();
	/* 16 per chunk: the threads make it grow concurrently too */
	assert_ok(vni_dma_pool_create(ctx, 4096, 0, VNI_DMA_POOL_SMALL, &mt_pool));
	for (uintptr_t i = 0; i < MT_THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, mt_worker, (void *)(i + 1)), 0);
	for (int i = 0; i < MT_THREADS; i++) {
		void *r;

		assert_int_equal(pthread_join(t[i], &r), 0);
		assert_int_equal((long)r, 0);
	}
	assert_int_equal(info_of(mt_pool).in_use, 0);
	/* never more chunks than all threads holding everything at once */
	assert_true(info_of(mt_pool).objs <= MT_THREADS * MT_HELD);
	assert_ok(vni_dma_pool_destroy(&mt_pool));
	close_ctx();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_invalid, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_layout, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_reuse, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_max, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_growth, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_large_objects, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_bad_free, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_fault_growth, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_fault_create, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_destroy, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_no_device, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_legacy, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_threads, fake_setup, fake_teardown),
	};

	return cmocka_run_group_tests_name("pool", tests, NULL, NULL);
}
