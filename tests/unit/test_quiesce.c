/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * No DMA after unpin: every path that tears a device down stops it first.
 * The simulated kernel logs every operation in order (fake_log()); these
 * tests assert that interrupts go off and Bus Master goes off, and that
 * Transactions Pending reads clear, strictly before the device is detached
 * from the IOAS (after which the kernel unpins when it was the last device),
 * and that a device that cannot be quiesced is never detached explicitly
 * (the kernel's own close path disables it before unbinding).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "util.h"
#include "internal.h"

/* Position of event ev in the log, failing the test when it is absent. */
static ptrdiff_t at(const char *ev)
{
	const char *log = fake_log();
	size_t n = strlen(ev);

	for (const char *p = log; (p = strstr(p, ev)); p += n) {
		if ((p == log || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return p - log;
	}
	fail_msg("event \"%s\" missing from the log: %s", ev, log);
	return -1;
}

static bool has(const char *ev)
{
	const char *log = fake_log();
	size_t n = strlen(ev);

	for (const char *p = log; (p = strstr(p, ev)); p += n)
		if ((p == log || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return true;
	return false;
}

#define assert_before(a, b) do { \
	if (!(at(a) < at(b))) \
		fail_msg("\"%s\" not before \"%s\": %s", a, b, fake_log()); \
} while (0)

static void open_busy(struct vni_ctx **ctx, struct vni_device **dev, void **buf)
{
	int efds[2];

	assert_ok(vni_ctx_new(ctx, 0));
	assert_ok(vni_device_open(*ctx, EDU, dev));
	assert_ok(vni_device_set_bus_master(*dev, true));
	assert_true(fake_bus_master(0));
	assert_ok(vni_device_irq_enable(*dev, VNI_IRQ_MSI, 2, efds));
	assert_ok(vni_dma_alloc(*ctx, 64 << 10, 0, buf));
}

static void test_close_last_device(void **state)
{
	struct vni_ctx *ctx = NULL;
	struct vni_device *dev = NULL;
	struct fake_counts c;
	void *buf;
	long sleeps;

	(void)state;
	open_busy(&ctx, &dev, &buf);
	fake_counts(&c);
	assert_true(c.pinned_pages > 0);
	fake_log_clear();
	sleeps = fake_sleeps();
	assert_ok(vni_device_close(&dev));
	print_message("close: %s\n", fake_log());
	assert_before("d0:irqoff", "d0:bmoff");
	assert_before("d0:bmoff", "d0:tpclear");
	assert_before("d0:tpclear", "d0:detach");
	assert_before("d0:detach", "unpin");
	assert_before("unpin", "d0:close");
	assert_false(fake_bus_master(0));
	assert_int_equal(fake_unsafe_detaches(), 0);
	/* Transactions Pending read set 3 times: waited, bounded, in between */
	assert_int_equal(fake_sleeps() - sleeps, 3);
	fake_counts(&c);
	assert_int_equal(c.pinned_pages, 0);
	assert_ok(vni_dma_free(ctx, buf));
	assert_ok(vni_ctx_destroy(&ctx));
}

static void test_close_one_of_two(void **state)
{
	struct vni_ctx *ctx = NULL;
	struct vni_device *a = NULL, *b = NULL;
	void *buf;

	(void)state;
	open_busy(&ctx, &a, &buf);
	assert_ok(vni_device_open(ctx, EDU2, &b));
	assert_ok(vni_device_set_bus_master(b, true));
	fake_log_clear();
	assert_ok(vni_device_close(&a));
	assert_before("d0:irqoff", "d0:detach");
	assert_before("d0:bmoff", "d0:detach");
	assert_false(has("unpin"));   /* b keeps the pins */
	assert_true(fake_bus_master(1));
	fake_log_clear();
	assert_ok(vni_device_close(&b));
	assert_false(has("d1:irqoff")); /* the library never enabled b's */
	assert_before("d1:bmoff", "d1:detach");
	assert_before("d1:detach", "unpin");
	assert_int_equal(fake_unsafe_detaches(), 0);
	assert_ok(vni_dma_free(ctx, buf));
	assert_ok(vni_ctx_destroy(&ctx));
}

/* Bus Master already off and a conventional PCI device: nothing to wait for. */
static void test_close_idle_pci(void **state)
{
	struct fake_cfg cfg = fake_default_cfg();
	struct vni_ctx *ctx = NULL;
	struct vni_device *dev = NULL;
	long sleeps;

	(void)state;
	cfg.no_pcie_cap = true;
	fake_install(&cfg);
	assert_ok(vni_ctx_new(&ctx, 0));
	assert_ok(vni_device_open(ctx, EDU, &dev));
	fake_log_clear();
	sleeps = fake_sleeps();
	assert_ok(vni_device_close(&dev));
	assert_false(has("d0:bmoff"));
	assert_before("d0:detach", "d0:close");
	assert_int_equal(fake_sleeps(), sleeps);
	assert_ok(vni_ctx_destroy(&ctx));
}

/* A device that cannot be quiesced is not detached by the library: the fd
 * close lets vfio-pci disable it before iommufd unpins. */
static void check_not_detached(struct fake_cfg *cfg, long want_sleeps)
{
	struct vni_ctx *ctx = NULL;
	struct vni_device *dev = NULL;
	void *buf;
	long sleeps;

	fake_install(cfg);
	open_busy(&ctx, &dev, &buf);
	fake_log_clear();
	sleeps = fake_sleeps();
	assert_ok(vni_device_close(&dev));
	print_message("close: %s\n", fake_log());
	assert_null(dev);
	assert_false(has("d0:detach"));
	assert_before("d0:close-attached", "unpin");
	assert_int_equal(fake_sleeps() - sleeps, want_sleeps);
	assert_int_equal(fake_unsafe_detaches(), 0);
	assert_ok(vni_dma_free(ctx, buf));
	assert_ok(vni_ctx_destroy(&ctx));
}

static void test_close_tp_stuck(void **state)
{
	struct fake_cfg cfg = fake_default_cfg();

	(void)state;
	cfg.tp_stuck = true;
	check_not_detached(&cfg, 100); /* bounded: 100 polls of 1 ms */
}

static void test_close_bm_sticky(void **state)
{
	struct fake_cfg cfg = fake_default_cfg();

	(void)state;
	cfg.bm_sticky = true;
	check_not_detached(&cfg, 0);
}

/* Every single failing system call during close: the handle is gone, nothing
 * leaks, and the device was never detached while it could still DMA. */
static void test_close_faults(void **state)
{
	long n;

	(void)state;
	for (n = 1; n < 200; n++) {
		struct vni_ctx *ctx = NULL;
		struct vni_device *dev = NULL;
		struct fake_counts c;
		void *buf;
		bool fired;

		fake_install(NULL);
		open_busy(&ctx, &dev, &buf);
		fake_fail_at(n);
		assert_ok(vni_device_close(&dev));
		fired = fake_fault_fired();
		fake_fail_at(0);
		assert_null(dev);
		assert_int_equal(fake_unsafe_detaches(), 0);
		fake_counts(&c);
		assert_int_equal(c.pinned_pages, 0);
		assert_ok(vni_dma_free(ctx, buf));
		assert_ok(vni_ctx_destroy(&ctx));
		if (!fired)
			break;
	}
	print_message("vni_device_close: %ld injected failures, never detached a busy device\n",
		      n - 1);
	assert_true(n > 5);
}

/* vni_ctx_destroy() with a device still open refuses and touches nothing:
 * no detach, no unpin, Bus Master untouched. */
static void test_destroy_busy(void **state)
{
	struct vni_ctx *ctx = NULL;
	struct vni_device *dev = NULL;
	void *buf;

	(void)state;
	open_busy(&ctx, &dev, &buf);
	fake_log_clear();
	assert_err(vni_ctx_destroy(&ctx), EBUSY);
	assert_non_null(ctx);
	assert_string_equal(fake_log(), "");
	assert_true(fake_bus_master(0));
	assert_ok(vni_device_close(&dev));
	assert_ok(vni_ctx_destroy(&ctx));
}

/* The failure path of vni_device_open() after the attach (the first device
 * of a context whose mappings cannot be translated again) quiesces before it
 * detaches, and keeps the error of the step that failed. */
static void test_open_error_path(void **state)
{
	struct vni_ctx *ctx = NULL;
	struct vni_device *dev = NULL, *d2 = NULL;
	void *buf;
	long n;

	(void)state;
	for (n = 1; n < 400; n++) {
		bool fired;
		int ret;

		fake_install(NULL);
		assert_ok(vni_ctx_new(&ctx, 0));
		assert_ok(vni_device_open(ctx, EDU, &dev));
		assert_ok(vni_dma_alloc(ctx, 64 << 10, 0, &buf));
		assert_ok(vni_device_close(&dev));
		fake_log_clear();
		fake_fail_at(n);
		ret = vni_device_open(ctx, EDU2, &d2);
		fired = fake_fault_fired();
		fake_fail_at(0);
		assert_int_equal(fake_unsafe_detaches(), 0);
		if (ret == 0) {
			assert_ok(vni_device_close(&d2));
		} else {
			assert_null(d2);
			assert_int_equal(vni_errno_last(), -ret);
			if (has("d1:detach"))
				assert_before("d1:detach", "unpin");
		}
		assert_ok(vni_dma_free(ctx, buf));
		assert_ok(vni_ctx_destroy(&ctx));
		if (!fired)
			break;
	}
	print_message("vni_device_open: %ld injected failures\n", n - 1);
	assert_true(n > 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_close_last_device, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_close_one_of_two, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_close_idle_pci, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_close_tp_stuck, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_close_bm_sticky, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_close_faults, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_destroy_busy, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_open_error_path, fake_setup, fake_teardown),
	};

	return cmocka_run_group_tests_name("quiesce", tests, NULL, NULL);
}
