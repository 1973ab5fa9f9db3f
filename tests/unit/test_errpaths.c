/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Error paths the other suites do not reach: every failing system call of
 * a device query, a reset, the no-IOMMU mode check and vni_pci_get() gives
 * a negative errno with a message that names the step, and leaves nothing
 * behind. Each call is repeated with its nth failable call failing, for
 * n = 1, 2, ... until it succeeds. Also: the default system call table
 * (the one a program gets) reaches the real kernel.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"
#include "internal.h"

static struct vni_ctx *g_ctx;
static struct vni_device *g_dev;

typedef int (*op_fn)(void);

/* Runs op under fault injection; returns how many runs failed, and how
 * many of the failures' messages contained want. */
static long fault_loop(op_fn op, const char *want, long *matched)
{
	long n, failed = 0;

	*matched = 0;
	for (n = 1; n < 1000; n++) {
		struct fake_counts before, after;
		bool fired;
		int ret;

		fake_counts(&before);
		fake_fail_at(n);
		ret = op();
		fired = fake_fault_fired();
		fake_fail_at(0);
		fake_counts(&after);
		assert_counts_equal(&before, &after, want);
		if (ret < 0) {
			assert_true(fired);
			assert_true(vni_strerror_last()[0] != '\0');
			/* (a failed teardown after a failed step reports last) */
			assert_true(vni_errno_last() != 0);
			failed++;
			if (strstr(vni_strerror_last(), want))
				(*matched)++;
		}
		if (!fired) {
			assert_true(ret >= 0);
			break;
		}
	}
	return failed;
}

static int op_irq_info(void)
{
	struct vni_irq_info ii = { .struct_size = sizeof(ii) };

	return vni_device_irq_info(g_dev, VNI_IRQ_MSIX, &ii);
}

static int op_reset(void)
{
	return vni_device_reset(g_dev);
}

static int op_noiommu(void)
{
	return vni_noiommu_enabled();
}

static int op_pci_get(void)
{
	struct vni_pci_dev_info info;

	return vni_pci_get(EDU, &info);
}

static void expect(op_fn op, const char *name, const char *want)
{
	long matched, failed = fault_loop(op, want, &matched);

	print_message("%s: %ld injected failures, %ld with \"%s\"\n", name, failed, matched,
		      want);
	assert_true(failed >= 1);
	assert_true(matched >= 1);
}

static void test_device_ioctls(void **state)
{
	(void)state;
	assert_ok(vni_ctx_new(&g_ctx, 0));
	assert_ok(vni_device_open(g_ctx, EDU, &g_dev));
	expect(op_irq_info, "vni_device_irq_info", "VFIO_DEVICE_GET_IRQ_INFO");
	expect(op_reset, "vni_device_reset", "VFIO_DEVICE_RESET failed");
	assert_ok(vni_device_close(&g_dev));
	assert_ok(vni_ctx_destroy(&g_ctx));
}

static void test_sysfs_reads(void **state)
{
	(void)state;
	expect(op_noiommu, "vni_noiommu_enabled", "cannot read " VNIP_NOIOMMU_PARAM);
	expect(op_pci_get, "vni_pci_get", "cannot read " VNIP_SYSFS_PCI "/" EDU);
}

/* A driver's whole life on one device: context, open, map own memory,
 * allocate, translate, free, unmap, close, destroy. Stops at the first
 * failure and tears down what exists; returns the first error. */
static unsigned char own_mem[65536] __attribute__((aligned(4096)));
static const char *life_bdf;

static int op_life(void)
{
	struct vni_ctx *ctx = NULL;
	struct vni_device *dev = NULL;
	void *buf = NULL;
	uint64_t dma;
	int ret, r;

	ret = vni_ctx_new(&ctx, 0);
	if (ret < 0)
		return ret;
	ret = vni_device_open(ctx, life_bdf, &dev);
	if (ret < 0)
		goto out;
	/* (legacy: 4 KiB pages it cannot pin, accepted explicitly) */
	ret = vni_dma_map(ctx, own_mem, sizeof(own_mem), VNI_DMA_MAP_MAY_MOVE);
	if (ret < 0)
		goto out;
	ret = vni_dma_alloc(ctx, 8192, 0, &buf);
	if (ret == 0) {
		ret = vni_dma_addr(ctx, buf, &dma);
		r = vni_dma_free(ctx, buf);
		ret = ret < 0 ? ret : r;
	}
	r = vni_dma_unmap(ctx, own_mem, sizeof(own_mem));
	ret = ret < 0 ? ret : r;
out:
	if (dev) {
		r = vni_device_close(&dev);
		ret = ret < 0 ? ret : r;
	}
	r = vni_ctx_destroy(&ctx);
	return ret < 0 ? ret : r;
}

static void life(const struct fake_cfg *cfg, const char *bdf, const char *name)
{
	long matched, failed;

	fake_install(cfg);
	life_bdf = bdf;
	failed = fault_loop(op_life, "", &matched);
	print_message("%s: a device's life with %ld injected failures, each reported, "
		      "nothing left behind\n", name, failed);
	assert_true(failed > 10);
}

static void test_life_backends(void **state)
{
	struct fake_cfg cfg = fake_default_cfg();

	(void)state;
	life(&cfg, EDU, "noiommu cdev");
	life(&cfg, "0000:00:07.0", "iommufd");
	cfg.devs[3].cdev = NULL;
	cfg.devs[3].iommu_group = true;
	life(&cfg, "0000:00:07.0", "type1");
	cfg = fake_default_cfg();
	cfg.devs[3].noiommu_group = true;
	life(&cfg, "0000:00:07.0", "legacy group");
}

/* The wrappers of the default table, against this machine's kernel. */
static void test_default_syscalls(void **state)
{
	const struct vnip_sys *d = &vnip_sys_default;
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct caps[2];
	uint64_t dbuf[512];
	struct stat st;
	int fd, n;

	(void)state;
	assert_int_equal(d->stat("/dev/null", &st), 0);
	assert_true(S_ISCHR(st.st_mode));
	fd = d->open("/dev/null", O_RDONLY | O_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(d->ioctl(fd, FIONREAD, &n), -1); /* not for a char device */
	assert_int_equal(errno, ENOTTY);
	assert_int_equal(d->getdents64(fd, dbuf, sizeof(dbuf)), -1);
	assert_int_equal(errno, ENOTDIR);
	close(fd);
	fd = d->open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_true(d->getdents64(fd, dbuf, sizeof(dbuf)) > 0);
	close(fd);
	assert_int_equal(d->capget(&hdr, caps), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_device_ioctls, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_sysfs_reads, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_life_backends, fake_setup, fake_teardown),
		cmocka_unit_test(test_default_syscalls),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
