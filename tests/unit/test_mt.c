/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Lookups from many threads while another thread maps and unmaps: a lookup
 * of a stable mapping must always return its correct DMA address; a lookup
 * in the region being changed returns either nothing or an address with the
 * right page offset that the simulated kernel gave for that byte at some
 * point (never garbage).
 *
 * Deterministic by construction: nothing is asserted that depends on how the
 * threads happen to be scheduled. Each reader runs at least one full round
 * (do/while), the writer starts only when every reader has started (barrier),
 * and the events the reattach test asserts (a reader saw -ENODEV, a reader saw
 * an address) are waited for by the writer while it holds the state that
 * produces them (device closed / device open), instead of hoping that the
 * readers ran at the right moment.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "util.h"
#include "internal.h"

#define READERS 4
#define STABLE_LEN (16ull << 20)
#define CHURN_LEN (64ull << 20)

static struct vni_ctx *ctx;
static char *stable, *churn, *huge;
static uint64_t *stable_pa, *huge_pa;
static _Atomic bool stop;
static _Atomic long bad, good_lookups, churn_hits;
static pthread_barrier_t start_barrier;

/* Wait until counter moves past seen (the readers loop until stop, so it
 * does; the Meson timeout catches a hang). */
static long wait_past(_Atomic long *counter, long seen)
{
	long now;

	while ((now = atomic_load(counter)) == seen)
		sched_yield();
	return now;
}

static uint64_t xs(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void *reader(void *arg)
{
	uint64_t s = 0x9e3779b97f4a7c15ull * (uint64_t)(uintptr_t)arg + 1;

	pthread_barrier_wait(&start_barrier);
	do {
		for (int k = 0; k < 256; k++) {
			uint64_t off = xs(&s) % STABLE_LEN;
			uint64_t want = stable_pa[off / 4096] + (off & 4095);
			uint64_t got = vni_dma_addr_fast(ctx, stable + off);
			uint64_t hoff = xs(&s) % (4u << 20);
			uint64_t c;

			if (got != want)
				atomic_fetch_add(&bad, 1);
			if (vni_dma_addr_fast(ctx, huge + hoff) !=
			    huge_pa[hoff >> 21] + (hoff & ((2u << 20) - 1)))
				atomic_fetch_add(&bad, 1);
			off = xs(&s) % CHURN_LEN;
			c = vni_dma_addr_fast(ctx, churn + off);
			if (c != VNI_DMA_ADDR_INVALID) {
				if ((c & 4095) != (off & 4095) || c < 0x100000000ull)
					atomic_fetch_add(&bad, 1);
				atomic_fetch_add(&churn_hits, 1);
			}
		}
		{
			/* segments of a stable range are stable too */
			struct vni_dma_seg seg[4];
			size_t n;
			uint64_t off = (xs(&s) % (STABLE_LEN / 4096 - 1)) * 4096;

			if (vni_dma_segments(ctx, stable + off, 4096, seg, 4, &n) != 0 ||
			    n != 1 || seg[0].dma != stable_pa[off / 4096] || seg[0].len != 4096)
				atomic_fetch_add(&bad, 1);
		}
		atomic_fetch_add(&good_lookups, 256);
	} while (!atomic_load_explicit(&stop, memory_order_relaxed));
	return NULL;
}

static void test_lookup_while_mapping(void **state)
{
	struct vni_device *dev = NULL;
	pthread_t th[READERS];
	char *raw;
	uint64_t s = 99;
	long changes = 0;

	(void)state;
	{
		struct fake_cfg cfg = fake_default_cfg();

		cfg.big_pct = 10;
		cfg.run_max = 16;
		fake_install(&cfg);
	}
	raw = mmap(NULL, STABLE_LEN + CHURN_LEN + (4u << 20), PROT_NONE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	assert_true(raw != MAP_FAILED);
	stable = (char *)(((uintptr_t)raw + (2u << 20) - 1) & ~(uintptr_t)((2u << 20) - 1));
	churn = stable + STABLE_LEN + (2u << 20);

	assert_ok(vni_ctx_new(&ctx, 0));
	assert_ok(vni_device_open(ctx, EDU, &dev));
	/* stable: 4 KiB-page memory (mixed runs) interleaved with the churn
	 * region's 1 GiB / 2 MiB table slots, plus a hugepage buffer */
	assert_ok(vni_dma_map(ctx, stable, STABLE_LEN, 0));
	assert_ok(vni_dma_alloc(ctx, 4u << 20, VNI_DMA_ALLOC_HUGE, (void **)&huge));
	stable_pa = calloc(STABLE_LEN / 4096, sizeof(*stable_pa));
	huge_pa = calloc(2, sizeof(*huge_pa));
	assert_non_null(stable_pa);
	assert_non_null(huge_pa);
	for (uint64_t i = 0; i < STABLE_LEN / 4096; i++)
		assert_true(fake_pa((uintptr_t)stable + i * 4096, &stable_pa[i]));
	for (int i = 0; i < 2; i++)
		assert_true(fake_pa((uintptr_t)huge + (uint64_t)i * (2u << 20), &huge_pa[i]));

	atomic_store(&stop, false);
	assert_int_equal(pthread_barrier_init(&start_barrier, NULL, READERS + 1), 0);
	for (long i = 0; i < READERS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, reader, (void *)(i + 1)), 0);
	pthread_barrier_wait(&start_barrier);

	/* writer: map/unmap in the churn region, including whole 2 MiB blocks */
	for (int round = 0; round < 400; round++) {
		struct { uint64_t off, len; } m[16];
		int nm = 0;

		for (int k = 0; k < 16; k++) {
			uint64_t len = (xs(&s) % 3 == 0) ? (2u << 20) * (1 + xs(&s) % 3)
							 : 4096 * (1 + xs(&s) % 300);
			uint64_t off = (xs(&s) % (CHURN_LEN / 4096)) * 4096;
			bool clash = false;

			if (len >= (2u << 20))
				off &= ~(uint64_t)((2u << 20) - 1);
			if (off + len > CHURN_LEN)
				continue;
			for (int j = 0; j < nm; j++)
				if (m[j].off < off + len && off < m[j].off + m[j].len)
					clash = true;
			if (clash)
				continue;
			assert_ok(vni_dma_map(ctx, churn + off, len, 0));
			m[nm].off = off;
			m[nm].len = len;
			nm++;
			changes++;
		}
		for (int j = 0; j < nm; j++) {
			assert_ok(vni_dma_unmap(ctx, churn + m[j].off, m[j].len));
			changes++;
		}
	}
	atomic_store(&stop, true);
	for (int i = 0; i < READERS; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&start_barrier);
	print_message("%ld map/unmap calls, %ld stable lookups, %ld churn hits, %ld wrong\n",
		      changes, (long)good_lookups, (long)churn_hits, (long)bad);
	assert_int_equal(bad, 0);
	assert_true(good_lookups > 0);

	assert_ok(vni_dma_unmap(ctx, stable, STABLE_LEN));
	assert_ok(vni_dma_free(ctx, huge));
	assert_ok(vni_device_close(&dev));
	assert_ok(vni_ctx_destroy(&ctx));
	free(stable_pa);
	free(huge_pa);
	munmap(raw, STABLE_LEN + CHURN_LEN + (4u << 20));
	{
		struct fake_counts c;

		fake_counts(&c);
		assert_int_equal(c.fds + c.mmaps + c.ioas_maps + c.heap, 0);
	}
	fake_uninstall();
}

/* Lookups while another thread closes and reopens the only device: the
 * kernel unpins on the last detach and pins elsewhere on the next attach. A
 * lookup returns -ENODEV or an address with the right page offset, never an
 * error of another kind; once reopened, the current addresses. */
#define REATTACH_LEN (1ull << 20)
static char *rmem;
static _Atomic long r_ok, r_nodev;

static void *reattach_reader(void *arg)
{
	uint64_t s = 0x2545f4914f6cdd1dull * (uint64_t)(uintptr_t)arg + 1;

	pthread_barrier_wait(&start_barrier);
	do {
		uint64_t off = xs(&s) % REATTACH_LEN, d;
		int ret = vni_dma_addr(ctx, rmem + off, &d);

		if (ret == 0 && (d & 4095) == (off & 4095) && d >= 0x100000000ull)
			atomic_fetch_add(&r_ok, 1);
		else if (ret == -ENODEV)
			atomic_fetch_add(&r_nodev, 1);
		else
			atomic_fetch_add(&bad, 1);
	} while (!atomic_load_explicit(&stop, memory_order_relaxed));
	return NULL;
}

static void test_lookup_while_reattaching(void **state)
{
	struct vni_device *dev = NULL;
	pthread_t th[READERS];

	(void)state;
	fake_install(NULL);
	atomic_store(&stop, false);
	atomic_store(&bad, 0);
	rmem = mmap(NULL, REATTACH_LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		    -1, 0);
	assert_true(rmem != MAP_FAILED);
	assert_ok(vni_ctx_new(&ctx, 0));
	assert_ok(vni_device_open(ctx, EDU, &dev));
	assert_ok(vni_dma_map(ctx, rmem, REATTACH_LEN, 0));
	assert_int_equal(pthread_barrier_init(&start_barrier, NULL, READERS + 1), 0);
	for (long i = 0; i < READERS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, reattach_reader, (void *)(i + 1)), 0);
	pthread_barrier_wait(&start_barrier);
	for (int round = 0; round < 300; round++) {
		long seen;

		assert_ok(vni_device_close(&dev));
		/* Force the interleaving: some reader looks up while no device
		 * is open (every lookup now is -ENODEV, or wrong). Every 16th
		 * round only, so that most rounds race freely. */
		if (round % 16 == 0)
			wait_past(&r_nodev, atomic_load(&r_nodev));
		assert_ok(vni_device_open(ctx, round & 1 ? EDU : EDU2, &dev));
		seen = atomic_load(&r_ok);
		for (uint64_t off = 0; off < REATTACH_LEN; off += 64 * 4096) {
			uint64_t pa;

			assert_true(fake_pa((uintptr_t)rmem + off, &pa));
			assert_int_equal(vni_dma_addr_fast(ctx, rmem + off), pa);
		}
		/* ... and some reader sees the reopened device's addresses. */
		if (round % 16 == 0)
			wait_past(&r_ok, seen);
	}
	atomic_store(&stop, true);
	for (int i = 0; i < READERS; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&start_barrier);
	print_message("%ld lookups ok, %ld -ENODEV, %ld wrong\n", (long)r_ok, (long)r_nodev,
		      (long)bad);
	assert_int_equal(bad, 0);
	assert_true(r_ok > 0);
	assert_true(r_nodev > 0);
	assert_ok(vni_dma_unmap(ctx, rmem, REATTACH_LEN));
	assert_ok(vni_device_close(&dev));
	assert_ok(vni_ctx_destroy(&ctx));
	munmap(rmem, REATTACH_LEN);
	{
		struct fake_counts c;

		fake_counts(&c);
		assert_int_equal(c.fds + c.mmaps + c.ioas_maps + c.heap, 0);
	}
	fake_uninstall();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookup_while_mapping),
		cmocka_unit_test(test_lookup_while_reattaching),
	};

	return cmocka_run_group_tests_name("mt", tests, NULL, NULL);
}
