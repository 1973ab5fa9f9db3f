/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The IOVA allocator (lib/iova.c): kernel ranges and the DMA mask respected,
 * alignment, reuse after free, coalescing, double frees refused, allocation
 * failures leave nothing behind, and a random model test against a page
 * bitmap.
 */
#include <errno.h>
#include <stdlib.h>

#include "util.h"
#include "internal.h"
#include "iova.h"

#define MiB (1ull << 20)

static void test_iova_ranges(void **state)
{
	/* Overlapping, unordered, unaligned ranges; one below 4 KiB and one
	 * above the 40-bit mask. */
	const struct vnip_iova_range in[] = {
		{ 0x100000000ull, 0x10000ffffffull }, /* clipped to 2^40 */
		{ 0, 0x1fffff },                       /* page 0 kept out */
		{ 0x180000, 0x3fffff },                /* overlaps the one before */
		{ 0x10000000123ull, 0x20000000000ull }, /* above the mask */
		{ 0x7000100, 0x7001fff },              /* whole pages: 0x7001000..0x7001fff */
	};
	struct vnip_iova a;
	uint64_t v;

	(void)state;
	assert_int_equal(vnip_iova_init(&a, in, 5, 11), -EINVAL);
	assert_int_equal(vnip_iova_init(&a, in, 5, 65), -EINVAL);
	assert_int_equal(vnip_iova_init(&a, in, 5, 40), 0);
	assert_int_equal(a.nfree, 3);
	assert_int_equal(a.free[0].start, 0x1000);
	assert_int_equal(a.free[0].last, 0x3fffff);
	assert_int_equal(a.free[1].start, 0x7001000);
	assert_int_equal(a.free[1].last, 0x7001fff);
	assert_int_equal(a.free[2].start, 0x100000000ull);
	assert_int_equal(a.free[2].last, (1ull << 40) - 1);
	assert_int_equal(a.total, 0x3ff000 + 0x1000 + ((1ull << 40) - 0x100000000ull));

	/* 4 KiB granules first fit from the bottom, never 0 */
	assert_int_equal(vnip_iova_alloc(&a, 4096, &v), 0);
	assert_int_equal(v, 0x1000);
	/* 2 MiB and more: 2 MiB aligned */
	assert_int_equal(vnip_iova_alloc(&a, 2 * MiB, &v), 0);
	assert_int_equal(v, 0x200000);
	assert_int_equal(vnip_iova_alloc(&a, 3 * MiB, &v), 0);
	assert_int_equal(v, 0x100000000ull);
	assert_int_equal(v & (2 * MiB - 1), 0);
	/* the hole left below 0x200000 by the alignment is still used */
	assert_int_equal(vnip_iova_alloc(&a, 8192, &v), 0);
	assert_int_equal(v, 0x2000);
	/* bad lengths */
	assert_int_equal(vnip_iova_alloc(&a, 0, &v), -EINVAL);
	assert_int_equal(vnip_iova_alloc(&a, 100, &v), -EINVAL);
	/* nothing fits above the mask */
	assert_int_equal(vnip_iova_alloc(&a, 1ull << 40, &v), -ENOSPC);
	vnip_iova_fini(&a);

	/* nothing usable */
	{
		const struct vnip_iova_range low[] = { { 0, 0xfff }, { 1ull << 33, ~0ull } };

		assert_int_equal(vnip_iova_init(&a, low, 2, 32), -ENOSPC);
	}
	/* a 64-bit mask reaches the top */
	{
		const struct vnip_iova_range all = { 0, ~0ull };

		assert_int_equal(vnip_iova_init(&a, &all, 1, 64), 0);
		assert_int_equal(a.free[0].last, ~0ull);
		vnip_iova_fini(&a);
	}
}

static void test_iova_reuse(void **state)
{
	const struct vnip_iova_range r = { 0, 64 * MiB - 1 };
	struct vnip_iova a;
	uint64_t v[32], w;

	(void)state;
	assert_int_equal(vnip_iova_init(&a, &r, 1, 64), 0);
	/* fill the space with 2 MiB pieces (the first one starts at 2 MiB: 0
	 * and the rest of the first 2 MiB cannot hold an aligned one) */
	for (int i = 0; i < 31; i++) {
		assert_int_equal(vnip_iova_alloc(&a, 2 * MiB, &v[i]), 0);
		assert_int_equal(v[i], (uint64_t)(i + 1) * 2 * MiB);
	}
	assert_int_equal(vnip_iova_alloc(&a, 2 * MiB, &w), -ENOSPC);
	/* a freed IOVA is given again */
	assert_int_equal(vnip_iova_free(&a, v[7], 2 * MiB), 0);
	assert_int_equal(vnip_iova_alloc(&a, 2 * MiB, &w), 0);
	assert_int_equal(w, v[7]);
	/* double free and frees of what was never handed out */
	assert_int_equal(vnip_iova_free(&a, v[7], 2 * MiB), 0);
	assert_int_equal(vnip_iova_free(&a, v[7], 2 * MiB), -EINVAL);
	assert_int_equal(vnip_iova_free(&a, v[7] + 4096, 4096), -EINVAL);
	assert_int_equal(vnip_iova_free(&a, 64 * MiB, 4096), -EINVAL);
	assert_int_equal(vnip_iova_free(&a, v[8] + 1, 4096), -EINVAL);
	/* free every other one, then the rest: everything coalesces back */
	for (int i = 0; i < 31; i += 2)
		if (i != 7)
			assert_int_equal(vnip_iova_free(&a, v[i], 2 * MiB), 0);
	for (int i = 1; i < 31; i += 2)
		if (i != 7)
			assert_int_equal(vnip_iova_free(&a, v[i], 2 * MiB), 0);
	assert_int_equal(a.nfree, 1);
	assert_int_equal(a.nalloc, 0);
	assert_int_equal(a.free[0].start, 4096);
	assert_int_equal(a.total, 64 * MiB - 4096);
	/* one allocation of all the aligned space succeeds again */
	assert_int_equal(vnip_iova_alloc(&a, 62 * MiB, &w), 0);
	assert_int_equal(w, 2 * MiB);
	assert_int_equal(vnip_iova_free(&a, w, 62 * MiB), 0);
	vnip_iova_fini(&a);
}

/* The phase: a 2 MiB-or-larger allocation keeps the given offset in its
 * 2 MiB block; smaller ones ignore it. */
static void test_iova_phase(void **state)
{
	const struct vnip_iova_range r = { 0, 64 * MiB - 1 };
	struct vnip_iova a;
	uint64_t v, w;

	(void)state;
	assert_int_equal(vnip_iova_init(&a, &r, 1, 64), 0);
	assert_int_equal(vnip_iova_alloc_phase(&a, 4 * MiB, 0x3000, &v), 0);
	assert_int_equal(v, 0x3000); /* the first 0x3000 mod 2 MiB at or after 4 KiB */
	assert_int_equal(vnip_iova_alloc_phase(&a, 2 * MiB, 0x1ff000, &w), 0);
	assert_int_equal(w & (2 * MiB - 1), 0x1ff000);
	assert_true(w >= v + 4 * MiB);
	assert_int_equal(vnip_iova_alloc_phase(&a, 4096, 0x5000, &v), 0);
	assert_int_equal(v, 4096); /* small: phase ignored, first fit */
	assert_int_equal(vnip_iova_alloc_phase(&a, 2 * MiB, 2 * MiB, &v), -EINVAL);
	assert_int_equal(vnip_iova_alloc_phase(&a, 2 * MiB, 100, &v), -EINVAL);
	vnip_iova_fini(&a);
}

/* Rebuilding around IOVAs in use: reserve takes exactly the given range,
 * refuses what is not free, and the rest allocates around it. */
static void test_iova_reserve(void **state)
{
	const struct vnip_iova_range r[] = { { 0, 16 * MiB - 1 }, { 32 * MiB, 48 * MiB - 1 } };
	struct vnip_iova a;
	uint64_t v;

	(void)state;
	assert_int_equal(vnip_iova_init(&a, r, 2, 64), 0);
	assert_int_equal(vnip_iova_reserve(&a, 2 * MiB, 2 * MiB), 0);
	assert_int_equal(vnip_iova_reserve(&a, 3 * MiB, 4096), -EINVAL);   /* taken */
	assert_int_equal(vnip_iova_reserve(&a, 20 * MiB, 4096), -EINVAL);  /* outside */
	assert_int_equal(vnip_iova_reserve(&a, 15 * MiB, 2 * MiB), -EINVAL); /* straddles */
	assert_int_equal(vnip_iova_reserve(&a, 4096 + 1, 4096), -EINVAL);  /* unaligned */
	assert_int_equal(vnip_iova_reserve(&a, 32 * MiB, 16 * MiB), 0);    /* a whole range */
	assert_int_equal(a.nfree, 2);
	/* a 2 MiB allocation goes around the reserved 2..4 MiB */
	assert_int_equal(vnip_iova_alloc(&a, 2 * MiB, &v), 0);
	assert_int_equal(v, 4 * MiB);
	assert_int_equal(vnip_iova_alloc(&a, 4096, &v), 0);
	assert_int_equal(v, 4096);
	/* reserved ranges are freed like allocations */
	assert_int_equal(vnip_iova_free(&a, 2 * MiB, 2 * MiB), 0);
	assert_int_equal(vnip_iova_alloc(&a, 2 * MiB, &v), 0);
	assert_int_equal(v, 2 * MiB);
	assert_int_equal(vnip_iova_free(&a, 32 * MiB, 16 * MiB), 0);
	vnip_iova_fini(&a);
}

/* An allocation whose reservation fails changes nothing; free never
 * allocates. */
static void test_iova_nomem(void **state)
{
	const struct vnip_iova_range r = { 0, 1ull << 30 };
	struct vnip_iova a;
	uint64_t v[40];
	struct fake_counts c;

	(void)state;
	fake_fail_at(1);
	assert_int_equal(vnip_iova_init(&a, &r, 1, 64), -ENOMEM);
	fake_fail_at(2); /* the copy of the ranges */
	assert_int_equal(vnip_iova_init(&a, &r, 1, 64), -ENOMEM);
	fake_fail_at(0);
	assert_int_equal(vnip_iova_init(&a, &r, 1, 64), 0);
	for (int i = 0; i < 40; i++) {
		size_t nfree = a.nfree;
		uint64_t total = a.total;
		int ret;

		fake_fail_at(1);
		ret = vnip_iova_alloc(&a, 4096, &v[i]);
		if (ret == -ENOMEM) {
			/* the slot array had to grow and could not */
			assert_int_equal(a.nfree, nfree);
			assert_int_equal(a.total, total);
			fake_fail_at(0);
			ret = vnip_iova_alloc(&a, 4096, &v[i]);
		}
		assert_int_equal(ret, 0);
		/* leave holes so that the frees below must insert ranges */
		if (i % 2 == 0) {
			uint64_t skip;

			fake_fail_at(0);
			assert_int_equal(vnip_iova_alloc(&a, 4096, &skip), 0);
			(void)skip;
		}
	}
	fake_fail_at(1); /* any allocation in free would fail now */
	for (int i = 0; i < 40; i += 2)
		assert_int_equal(vnip_iova_free(&a, v[i], 4096), 0);
	assert_false(fake_fault_fired());
	fake_fail_at(0);
	vnip_iova_fini(&a);
	fake_counts(&c);
	assert_int_equal(c.heap, 0);
}

/* Random allocations and frees against a page bitmap of a small space
 * with two ranges: no overlap, inside the ranges, aligned, and an
 * allocation fails only when no aligned hole exists. */
#define MODEL_PAGES 4096 /* 16 MiB */
static void test_iova_model(void **state)
{
	const struct vnip_iova_range r[] = {
		{ 0, 6 * MiB - 1 }, { 8 * MiB + 4096, 16 * MiB - 1 },
	};
	static unsigned char used[MODEL_PAGES];
	struct { uint64_t iova, len; } live[256];
	size_t nlive = 0;
	struct vnip_iova a;
	uint64_t rng = 12345;

	(void)state;
	memset(used, 0, sizeof(used));
	assert_int_equal(vnip_iova_init(&a, r, 2, 24), 0);
	for (int step = 0; step < 20000; step++) {
		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		if (nlive < 256 && (rng % 3 != 0 || nlive == 0)) {
			uint64_t pages = (rng >> 8) % 5 == 0 ? 512 * (1 + (rng >> 16) % 3)
							      : 1 + (rng >> 16) % 64;
			uint64_t len = pages * 4096, v, align = len >= 2 * MiB ? 2 * MiB : 4096;
			int ret = vnip_iova_alloc(&a, len, &v);

			if (ret == 0) {
				assert_int_equal(v % align, 0);
				assert_true(v >= 4096);
				assert_true((v + len <= 6 * MiB) ||
					    (v >= 8 * MiB + 4096 && v + len <= 16 * MiB));
				for (uint64_t p = v / 4096; p < (v + len) / 4096; p++) {
					assert_int_equal(used[p], 0);
					used[p] = 1;
				}
				live[nlive].iova = v;
				live[nlive].len = len;
				nlive++;
			} else {
				/* really no aligned hole of that size */
				assert_int_equal(ret, -ENOSPC);
				for (uint64_t s = align; s + len <= 16 * MiB; s += align) {
					bool ok = (s + len <= 6 * MiB) ||
						  (s >= 8 * MiB + 4096 && s + len <= 16 * MiB);

					for (uint64_t p = s / 4096; ok && p < (s + len) / 4096; p++)
						ok = !used[p];
					assert_false(ok);
				}
			}
		} else {
			size_t k = (size_t)((rng >> 20) % nlive);

			assert_int_equal(vnip_iova_free(&a, live[k].iova, live[k].len), 0);
			for (uint64_t p = live[k].iova / 4096;
			     p < (live[k].iova + live[k].len) / 4096; p++)
				used[p] = 0;
			live[k] = live[--nlive];
		}
		assert_true(a.nfree <= a.nranges + a.nalloc);
	}
	while (nlive) {
		nlive--;
		assert_int_equal(vnip_iova_free(&a, live[nlive].iova, live[nlive].len), 0);
	}
	assert_int_equal(a.nfree, 2);
	vnip_iova_fini(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_iova_ranges, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_iova_reuse, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_iova_reserve, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_iova_phase, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_iova_nomem, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_iova_model, fake_setup, fake_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
