/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fault injection: fail the Nth system call (or heap allocation) of an
 * operation for N = 1, 2, ... until the operation succeeds, and check after
 * each failure that nothing is left behind: descriptors, mmaps, IOAS
 * mappings (pins) of the simulated kernel and heap blocks.
 */
#include <errno.h>
#include <stdio.h>
#include <sys/mman.h>

#include "util.h"
#include "internal.h"

#define MAX_N 5000

static void zero_counts(const char *what)
{
	struct fake_counts z, c;

	memset(&z, 0, sizeof(z));
	fake_counts(&c);
	assert_counts_equal(&z, &c, what);
}

/* Returns the number of injected failures handled. */
static void test_ctx_new(void **state)
{
	long n;

	(void)state;
	for (n = 1; n < MAX_N; n++) {
		struct vni_ctx *ctx = NULL;
		bool fired;
		int ret;

		fake_fail_at(n);
		ret = vni_ctx_new(&ctx, 0);
		fired = fake_fault_fired();
		fake_fail_at(0);
		if (ret == 0) {
			assert_non_null(ctx);
			assert_ok(vni_ctx_destroy(&ctx));
			zero_counts("ctx_new success");
			if (!fired)
				break;
			continue;
		}
		assert_true(fired);
		assert_true(ret < 0);
		assert_null(ctx);
		assert_true(vni_strerror_last()[0]);
		zero_counts("ctx_new failure");
	}
	print_message("vni_ctx_new: %ld injected failures unwound cleanly\n", n - 1);
	assert_true(n > 2); /* calloc, the table's mmap: no system call before a device */
}

static void test_device_open(void **state)
{
	long n;

	(void)state;
	for (n = 1; n < MAX_N; n++) {
		struct vni_ctx *ctx = NULL;
		struct vni_device *dev = NULL;
		struct fake_counts mid, now;
		bool fired;
		int ret;

		assert_ok(vni_ctx_new(&ctx, 0));
		fake_counts(&mid);
		fake_fail_at(n);
		ret = vni_device_open(ctx, EDU, &dev);
		fired = fake_fault_fired();
		fake_fail_at(0);
		if (ret < 0) {
			assert_true(fired);
			assert_null(dev);
			fake_counts(&now);
			assert_counts_equal(&mid, &now, "device_open failure");
			/* the device can still be opened: nothing is half-bound */
			assert_ok(vni_device_open(ctx, EDU, &dev));
		}
		assert_ok(vni_device_close(&dev));
		/* the context keeps its iommufd (and IOAS) until destroyed */
		fake_counts(&now);
		if (now.fds != mid.fds + 1)
			fail_msg("device_open + close: %ld fds, expected the context's "
				 "iommufd only (%ld)", now.fds, mid.fds + 1);
		assert_ok(vni_ctx_destroy(&ctx));
		zero_counts("device_open iteration");
		if (ret == 0 && !fired)
			break;
	}
	print_message("vni_device_open: %ld injected failures unwound cleanly\n", n - 1);
	assert_true(n > 10);
}

/* Reopening the first device of a context with mappings translates them
 * again (one GET_PA per run); a failure at any point leaves the device
 * closed, the context without translations and nothing leaked. */
static void test_device_reopen(void **state)
{
	const size_t len = 1u << 20;
	struct vni_ctx *ctx = NULL;
	struct vni_device *dev = NULL;
	struct vni_ctx_stats st = { .struct_size = sizeof(st) };
	char *mem;
	void *buf;
	long n;

	(void)state;
	{
		struct fake_cfg cfg = fake_default_cfg();

		cfg.big_pct = 0; /* many runs: a failure at each GET_PA */
		fake_install(&cfg);
	}
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(mem != MAP_FAILED);
	assert_ok(vni_ctx_new(&ctx, 0));
	assert_ok(vni_device_open(ctx, EDU, &dev));
	assert_ok(vni_dma_map(ctx, mem, len, 0));
	assert_ok(vni_dma_alloc(ctx, 8192, VNI_DMA_ALLOC_SMALL, &buf));
	assert_ok(vni_device_close(&dev));
	for (n = 1; n < MAX_N; n++) {
		struct fake_counts mid, now;
		uint64_t d, pa;
		bool fired;
		int ret;

		fake_counts(&mid);
		fake_fail_at(n);
		ret = vni_device_open(ctx, EDU, &dev);
		fired = fake_fault_fired();
		fake_fail_at(0);
		if (ret < 0) {
			assert_true(fired);
			assert_null(dev);
			assert_true(vni_strerror_last()[0]);
			fake_counts(&now);
			assert_counts_equal(&mid, &now, "device reopen failure");
			assert_int_equal(vni_dma_addr(ctx, mem, &d), -ENODEV);
			assert_int_equal(vni_dma_addr(ctx, (char *)buf + 4096, &d), -ENODEV);
			assert_ok(vni_ctx_stats(ctx, &st));
			assert_int_equal(st.devices, 0);
			assert_int_equal(st.leaf_4k + st.leaf_2m, 0);
			continue;
		}
		for (size_t off = 0; off < len; off += 4096) {
			assert_true(fake_pa((uintptr_t)mem + off, &pa));
			assert_int_equal(vni_dma_addr_fast(ctx, mem + off), pa);
		}
		assert_true(fake_pa((uintptr_t)buf, &pa));
		assert_int_equal(vni_dma_addr_fast(ctx, buf), pa);
		assert_ok(vni_ctx_stats(ctx, &st));
		assert_int_equal(st.runs, (uint64_t)(fake_mapping_runs((uintptr_t)mem) +
						     fake_mapping_runs((uintptr_t)buf)));
		assert_ok(vni_device_close(&dev));
		if (!fired)
			break;
	}
	print_message("vni_device_open with mappings: %ld injected failures unwound cleanly\n",
		      n - 1);
	assert_true(n > 20);
	assert_ok(vni_dma_free(ctx, buf));
	assert_ok(vni_dma_unmap(ctx, mem, len));
	assert_ok(vni_ctx_destroy(&ctx));
	munmap(mem, len);
}

static void test_dma_map(void **state)
{
	const size_t len = 4u << 20;
	struct vni_ctx *ctx = NULL;
	struct vni_device *dev = NULL;
	struct vni_ctx_stats st = { .struct_size = sizeof(st) };
	char *mem;
	long n;

	(void)state;
	{
		/* many short physical runs (about 230): a failure at each GET_PA */
		struct fake_cfg cfg = fake_default_cfg();

		cfg.big_pct = 0;
		fake_install(&cfg);
	}
	/* 4 MiB, 2 MiB aligned, so that big physical runs give 2 MiB leaves */
	mem = mmap(NULL, len + (2u << 20), PROT_NONE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	assert_true(mem != MAP_FAILED);
	{
		char *al = (char *)(((uintptr_t)mem + (2u << 20) - 1) & ~(uintptr_t)((2u << 20) - 1));

		assert_ok(vni_ctx_new(&ctx, 0));
		assert_ok(vni_device_open(ctx, EDU, &dev));
		/* warm up: the table levels and the mapping list persist */
		assert_ok(vni_dma_map(ctx, al, len, 0));
		assert_ok(vni_dma_unmap(ctx, al, len));
		for (n = 1; n < MAX_N; n++) {
			struct fake_counts mid, now;
			bool fired;
			int ret;

			struct vni_ctx_stats st0 = { .struct_size = sizeof(st0) };
			long r0 = (long)ctx->xlate.nregions;

			assert_ok(vni_ctx_stats(ctx, &st0));
		r0 = (long)ctx->xlate.nregions;
			fake_counts(&mid);
			fake_fail_at(n);
			ret = vni_dma_map(ctx, al, len, 0);
			fired = fake_fault_fired();
			fake_fail_at(0);
			if (ret < 0) {
				assert_true(fired);
				assert_ok(vni_ctx_stats(ctx, &st));
				fake_counts(&now);
				/* table regions (one mmap per GiB) made on the
				 * way stay with the context */
				now.mmaps -= (long)ctx->xlate.nregions - r0;
				assert_counts_equal(&mid, &now, "dma_map failure");
				assert_int_equal(st.mappings, 0);
				assert_int_equal(st.leaf_4k, 0);
				assert_int_equal(st.leaf_2m, 0);
				for (size_t off = 0; off < len; off += 4096)
					assert_int_equal(vni_dma_addr_fast(ctx, al + off),
							 VNI_DMA_ADDR_INVALID);
				continue;
			}
			assert_false(fired);
			assert_ok(vni_dma_unmap(ctx, al, len));
			assert_ok(vni_ctx_stats(ctx, &st));
			fake_counts(&now);
			now.mmaps -= (long)ctx->xlate.nregions - r0;
			assert_counts_equal(&mid, &now, "dma_map + unmap");
			break;
		}
		print_message("vni_dma_map: %ld injected failures unwound cleanly\n", n - 1);
		assert_true(n > 50);

		/* unmap failure: the mapping stays and still translates */
		assert_ok(vni_dma_map(ctx, al, len, 0));
		for (n = 1; n < MAX_N; n++) {
			struct fake_counts mid, now;
			bool fired;
			int ret;

			fake_counts(&mid);
			fake_fail_at(n);
			ret = vni_dma_unmap(ctx, al, len);
			fired = fake_fault_fired();
			fake_fail_at(0);
			if (ret == 0)
				break;
			assert_true(fired);
			fake_counts(&now);
			assert_counts_equal(&mid, &now, "dma_unmap failure");
			for (size_t off = 0; off < len; off += 4096) {
				uint64_t pa;

				assert_true(fake_pa((uintptr_t)al + off, &pa));
				assert_int_equal(vni_dma_addr_fast(ctx, al + off), pa);
			}
		}
		assert_ok(vni_device_close(&dev));
		assert_ok(vni_ctx_destroy(&ctx));
		zero_counts("dma_map test");
	}
	munmap(mem, len + (2u << 20));
}

static void alloc_loop(unsigned int flags, size_t len, bool hugepages, const char *what)
{
	struct fake_cfg cfg = fake_default_cfg();
	long n;

	cfg.hugepages = hugepages;
	fake_install(&cfg);
	for (n = 1; n < MAX_N; n++) {
		struct vni_ctx *ctx = NULL;
		struct vni_device *dev = NULL;
		struct vni_ctx_stats st0 = { .struct_size = sizeof(st0) }, st1 = { .struct_size = sizeof(st1) };
		long r0;
		struct fake_counts mid, now;
		void *buf = NULL, *warm;
		bool fired;
		int ret;

		assert_ok(vni_ctx_new(&ctx, 0));
		assert_ok(vni_device_open(ctx, EDU, &dev));
		assert_ok(vni_dma_alloc(ctx, 4096, 0, &warm));
		assert_ok(vni_dma_free(ctx, warm));
		assert_ok(vni_ctx_stats(ctx, &st0));
		r0 = (long)ctx->xlate.nregions;
		fake_counts(&mid);
		fake_fail_at(n);
		ret = vni_dma_alloc(ctx, len, flags, &buf);
		fired = fake_fault_fired();
		fake_fail_at(0);
		if (ret < 0) {
			assert_true(fired);
			assert_null(buf);
			assert_ok(vni_ctx_stats(ctx, &st1));
			assert_int_equal(st1.mappings, 0);
			fake_counts(&now);
			/* translation tables allocated on the way belong to the
			 * context until it is destroyed */
			now.mmaps -= (long)ctx->xlate.nregions - r0;
			assert_counts_equal(&mid, &now, what);
		} else {
			assert_ok(vni_dma_free(ctx, buf));
		}
		assert_ok(vni_device_close(&dev));
		assert_ok(vni_ctx_destroy(&ctx));
		zero_counts(what);
		if (ret == 0 && !fired)
			break;
	}
	print_message("%s: %ld injected failures handled cleanly\n", what, n - 1);
	assert_true(n > 3);
}

static void test_dma_alloc(void **state)
{
	(void)state;
	alloc_loop(0, 3u << 20, true, "vni_dma_alloc (hugepages)");
	alloc_loop(VNI_DMA_ALLOC_HUGE, 2u << 20, true, "vni_dma_alloc (HUGE)");
	alloc_loop(0, 64u << 10, false, "vni_dma_alloc (no hugepages)");
	alloc_loop(VNI_DMA_ALLOC_SMALL, 1u << 20, true, "vni_dma_alloc (SMALL)");
}

static void test_irq_and_bar(void **state)
{
	long n;

	(void)state;
	for (n = 1; n < MAX_N; n++) {
		struct vni_ctx *ctx = NULL;
		struct vni_device *dev = NULL;
		struct fake_counts mid, now;
		int efds[8];
		void *bar;
		bool fired;
		int ret;

		assert_ok(vni_ctx_new(&ctx, 0));
		assert_ok(vni_device_open(ctx, EDU, &dev));
		fake_counts(&mid);
		fake_fail_at(n);
		ret = vni_device_irq_enable(dev, VNI_IRQ_MSIX, 8, efds);
		if (ret == 0)
			ret = vni_device_map_bar(dev, 0, &bar, NULL);
		fired = fake_fault_fired();
		fake_fail_at(0);
		if (ret < 0) {
			assert_true(fired);
			vni_device_irq_disable(dev);
			fake_counts(&now);
			assert_counts_equal(&mid, &now, "irq_enable/map_bar failure");
		}
		assert_ok(vni_device_close(&dev));
		assert_ok(vni_ctx_destroy(&ctx));
		zero_counts("irq iteration");
		if (ret == 0 && !fired)
			break;
	}
	print_message("vni_device_irq_enable + map_bar: %ld injected failures unwound cleanly\n",
		      n - 1);
	assert_true(n > 8);
}

/* Closing a device / destroying a context with everything in use. */
/* A map that fails and whose cleanup unmap fails too: the error says that
 * the memory stays pinned, the ERROR log has it, vni_ctx_stats() counts it,
 * and destroying the context drops the pin. */
static int loud_errors;

static void count_errors(void *opaque, enum vni_log_level level, const char *msg)
{
	(void)opaque;
	if (level == VNI_LOG_ERROR && strstr(msg, "stays pinned"))
		loud_errors++;
}

static void test_map_cleanup_fails(void **state)
{
	const size_t len = 64 * 4096;
	bool found = false;
	char *mem;

	(void)state;
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(mem != MAP_FAILED);
	vni_log_set_callback(count_errors, NULL);
	for (long n = 1; n < 100 && !found; n++) {
		struct vni_ctx *ctx = NULL;
		struct vni_device *dev = NULL;
		struct vni_ctx_stats st = { .struct_size = sizeof(st) };
		struct fake_counts c;
		int ret;

		assert_ok(vni_ctx_new(&ctx, 0));
		assert_ok(vni_device_open(ctx, EDU, &dev));
		loud_errors = 0;
		fake_fail_at2(n, n + 1);
		ret = vni_dma_map(ctx, mem, len, 0);
		fake_fail_at(0);
		if (ret < 0 && strstr(vni_strerror_last(), "stays pinned")) {
			found = true;
			print_message("map failure at call %ld, cleanup failure at %ld: %s\n", n,
				      n + 1, vni_strerror_last());
			assert_int_equal(loud_errors, 1);
			assert_ok(vni_ctx_stats(ctx, &st));
			assert_int_equal(st.stuck_pins, 1);
			assert_int_equal(st.mappings, 0);
			fake_counts(&c);
			assert_int_equal(c.ioas_maps, 1); /* the kernel kept it */
		} else if (ret == 0) {
			assert_ok(vni_dma_unmap(ctx, mem, len));
		}
		assert_ok(vni_device_close(&dev));
		assert_ok(vni_ctx_destroy(&ctx));
		fake_counts(&c);
		assert_int_equal(c.ioas_maps, 0); /* closing the iommufd dropped it */
	}
	vni_log_set_callback(NULL, NULL);
	assert_true(found);
	munmap(mem, len);
}

static void test_teardown_everything(void **state)
{
	struct vni_ctx *ctx = NULL;
	struct vni_device *dev = NULL, *dev2 = NULL;
	int efds[4];
	void *bar, *b1, *b2;
	char *mem;

	(void)state;
	mem = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	assert_true(mem != MAP_FAILED);
	assert_ok(vni_ctx_new(&ctx, 0));
	assert_ok(vni_device_open(ctx, EDU, &dev));
	assert_ok(vni_device_open(ctx, EDU2, &dev2));
	assert_ok(vni_device_map_bar(dev, 0, &bar, NULL));
	assert_ok(vni_device_irq_enable(dev, VNI_IRQ_MSI, 4, efds));
	assert_ok(vni_dma_alloc(ctx, 5u << 20, 0, &b1));
	assert_ok(vni_dma_alloc(ctx, 12345, VNI_DMA_ALLOC_SMALL, &b2));
	assert_ok(vni_dma_map(ctx, mem, 1 << 20, 0));
	assert_ok(vni_device_close(&dev));
	assert_ok(vni_device_close(&dev2));
	assert_ok(vni_ctx_destroy(&ctx));
	zero_counts("teardown everything");
	munmap(mem, 1 << 20);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ctx_new, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_device_open, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_device_reopen, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_dma_map, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_dma_alloc, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_irq_and_bar, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_map_cleanup_fails, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_teardown_everything, fake_setup, fake_teardown),
	};

	return cmocka_run_group_tests_name("fault", tests, NULL, NULL);
}
