/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Every public function with bad inputs returns the documented errno; the
 * BDF parser; log callback, level and environment; last-error messages;
 * device helpers against the simulated kernel.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "util.h"
#include "internal.h"

/* ---- PCI addresses ---------------------------------------------------------- */
static void test_bdf_parse(void **state)
{
	struct vni_pci_addr a;
	char buf[VNI_PCI_ADDR_STRLEN];
	static const char *bad[] = {
		"", "0", "00:04", "00:04.", "00:04.8", "00:20.0", "0000:00:04.0x",
		"0000:00:04.0 ", " 0000:00:04.0", "g000:00:04.0", "0000:0g:04.0",
		"0000-00:04.0", "000000000:00:04.0", "0000:000:04.0", "0000:00:004.0",
		"0000:00:04:0", "00:04.0.1", "-000:00:04.0", "0x00:04.0",
		"ffff:ff:1f.7x", "0000:00:04.10",
	};

	(void)state;
	assert_ok(vni_pci_addr_parse("0000:00:04.0", &a));
	assert_int_equal(a.domain, 0);
	assert_int_equal(a.bus, 0);
	assert_int_equal(a.dev, 4);
	assert_int_equal(a.fn, 0);
	assert_ok(vni_pci_addr_parse("ABcd:Ef:1F.7", &a));
	assert_int_equal(a.domain, 0xabcd);
	assert_int_equal(a.bus, 0xef);
	assert_int_equal(a.dev, 0x1f);
	assert_int_equal(a.fn, 7);
	assert_ok(vni_pci_addr_parse("3a:00.1", &a));
	assert_int_equal(a.domain, 0);
	assert_int_equal(a.bus, 0x3a);
	assert_int_equal(a.fn, 1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&a, 0x5a, sizeof(a));
		if (vni_pci_addr_parse(bad[i], &a) != -EINVAL)
			fail_msg("\"%s\" accepted", bad[i]);
		assert_non_null(strstr(vni_strerror_last(), "not a PCI address"));
		assert_int_equal(a.domain, 0x5a5a5a5a); /* untouched */
	}
	assert_err(vni_pci_addr_parse(NULL, &a), EINVAL);
	assert_err(vni_pci_addr_parse("00:04.0", NULL), EINVAL);

	assert_ok(vni_pci_addr_parse("ABcd:Ef:1F.7", &a));
	assert_ok(vni_pci_addr_format(&a, buf, sizeof(buf)));
	assert_string_equal(buf, "abcd:ef:1f.7");
	assert_err(vni_pci_addr_format(&a, buf, strlen("abcd:ef:1f.7")), ENOSPC);
	assert_err(vni_pci_addr_format(NULL, buf, sizeof(buf)), EINVAL);
	assert_err(vni_pci_addr_format(&a, NULL, sizeof(buf)), EINVAL);
	a.dev = 0x20;
	assert_err(vni_pci_addr_format(&a, buf, sizeof(buf)), EINVAL);
	a.dev = 0;
	a.fn = 8;
	assert_err(vni_pci_addr_format(&a, buf, sizeof(buf)), EINVAL);
}

static void test_filter_parse(void **state)
{
	struct vni_pci_filter f;

	(void)state;
	memset(&f, 0, sizeof(f));
	assert_ok(vni_pci_filter_parse_id("1234:11e8", &f));
	assert_int_equal(f.vendor, 0x1234);
	assert_int_equal(f.device, 0x11e8);
	assert_int_equal(f.flags, VNI_PCI_MATCH_VENDOR | VNI_PCI_MATCH_DEVICE);
	memset(&f, 0, sizeof(f));
	assert_ok(vni_pci_filter_parse_id("8086:", &f));
	assert_int_equal(f.flags, VNI_PCI_MATCH_VENDOR);
	memset(&f, 0, sizeof(f));
	assert_ok(vni_pci_filter_parse_id("8086", &f));
	assert_int_equal(f.flags, VNI_PCI_MATCH_VENDOR);
	assert_err(vni_pci_filter_parse_id("", &f), EINVAL);
	assert_err(vni_pci_filter_parse_id(":1234", &f), EINVAL);
	assert_err(vni_pci_filter_parse_id("12345:1", &f), EINVAL);
	assert_err(vni_pci_filter_parse_id("1234:x", &f), EINVAL);
	assert_err(vni_pci_filter_parse_id("1234:1234:", &f), EINVAL);
	assert_err(vni_pci_filter_parse_id(NULL, &f), EINVAL);
	assert_err(vni_pci_filter_parse_id("1234", NULL), EINVAL);
}

static void test_pci_get_and_noiommu(void **state)
{
	struct vni_pci_dev_info info;
	struct fake_cfg cfg;

	(void)state;
	assert_int_equal(vni_noiommu_enabled(), 1);
	assert_ok(vni_pci_get("00:04.0", &info));
	assert_string_equal(info.bdf, "0000:00:04.0");
	assert_int_equal(info.vendor, 0x1234);
	assert_int_equal(info.device, 0x11e8);
	assert_int_equal(info.class_code, 0x00ff00);
	assert_string_equal(info.driver, "vfio-pci");
	assert_true(info.has_cdev);
	assert_true(info.noiommu);
	assert_string_equal(info.cdev_name, "noiommu-vfio0");
	assert_string_equal(info.cdev_path, "/dev/vfio/devices/noiommu-vfio0");
	assert_int_equal(info.iommu_group, -1);
	assert_ok(vni_pci_get("0000:00:06.0", &info));
	assert_string_equal(info.driver, "nvme");
	assert_false(info.has_cdev);
	assert_false(info.noiommu);
	assert_ok(vni_pci_get("0000:00:07.0", &info));
	assert_true(info.has_cdev);
	assert_false(info.noiommu);
	assert_err(vni_pci_get("0000:00:09.0", &info), ENODEV);
	assert_non_null(strstr(vni_strerror_last(), "0000:00:09.0"));
	assert_err(vni_pci_get("zz", &info), EINVAL);
	assert_err(vni_pci_get(NULL, &info), EINVAL);
	assert_err(vni_pci_get(EDU, NULL), EINVAL);

	cfg = fake_default_cfg();
	cfg.noiommu_param = "N";
	fake_install(&cfg);
	assert_int_equal(vni_noiommu_enabled(), 0);
	cfg.noiommu_param = NULL;
	fake_install(&cfg);
	assert_err(vni_noiommu_enabled(), ENOENT);
	assert_non_null(strstr(vni_strerror_last(), "enable_unsafe_noiommu_mode"));
}

static void test_pci_scan_host(void **state)
{
	struct vni_pci_dev_info *list = NULL;
	struct vni_pci_filter f;
	size_t n = 99;

	(void)state;
	/* Discovery on the real host through libudev (whatever it has). */
	fake_uninstall();
	assert_err(vni_pci_scan(NULL, NULL, &n), EINVAL);
	assert_err(vni_pci_scan(NULL, &list, NULL), EINVAL);
	assert_ok(vni_pci_scan(NULL, &list, &n));
	for (size_t i = 0; i < n; i++) {
		struct vni_pci_addr a;

		assert_ok(vni_pci_addr_parse(list[i].bdf, &a));
		assert_int_equal(a.domain, list[i].addr.domain);
		if (i) {
			const struct vni_pci_addr *p = &list[i - 1].addr;

			assert_true(p->domain < a.domain || (p->domain == a.domain &&
				    (p->bus < a.bus || (p->bus == a.bus &&
				     (p->dev < a.dev || (p->dev == a.dev && p->fn < a.fn))))));
		}
	}
	if (n) {
		struct vni_pci_dev_info *one = NULL;
		size_t m = 0;

		memset(&f, 0, sizeof(f));
		f.flags = VNI_PCI_MATCH_ADDR | VNI_PCI_MATCH_VENDOR;
		f.addr = list[0].addr;
		f.vendor = list[0].vendor;
		assert_ok(vni_pci_scan(&f, &one, &m));
		assert_int_equal(m, 1);
		assert_string_equal(one[0].bdf, list[0].bdf);
		vni_pci_list_free(one);
		/* the same device through the real system calls, one by one */
		{
			struct vni_pci_dev_info info;
			int en = vni_noiommu_enabled();

			assert_ok(vni_pci_get(list[0].bdf, &info));
			assert_int_equal(info.vendor, list[0].vendor);
			assert_int_equal(info.device, list[0].device);
			assert_string_equal(info.driver, list[0].driver);
			assert_true(en == 0 || en == 1 || en == -ENOENT);
		}
	}
	vni_pci_list_free(list);
	memset(&f, 0, sizeof(f));
	f.flags = VNI_PCI_MATCH_VENDOR | VNI_PCI_MATCH_DEVICE;
	f.vendor = 0xffff;
	f.device = 0xfffe;
	assert_ok(vni_pci_scan(&f, &list, &n));
	assert_int_equal(n, 0);
	assert_null(list);
	vni_pci_list_free(NULL);
	fake_install(NULL);
}

/* ---- logging and errors ------------------------------------------------------- */
struct logrec {
	int calls;
	enum vni_log_level last_level;
	char last[512];
};

static void log_cb(void *opaque, enum vni_log_level level, const char *msg)
{
	struct logrec *r = opaque;

	r->calls++;
	r->last_level = level;
	snprintf(r->last, sizeof(r->last), "%s", msg);
}

static void test_log(void **state)
{
	struct logrec rec;
	enum vni_log_level l;
	struct vni_pci_addr a;

	(void)state;
	memset(&rec, 0, sizeof(rec));
	assert_ok(vni_log_level_parse("debug", &l));
	assert_int_equal(l, VNI_LOG_DEBUG);
	assert_ok(vni_log_level_parse("WARNING", &l));
	assert_int_equal(l, VNI_LOG_WARN);
	assert_ok(vni_log_level_parse("0", &l));
	assert_int_equal(l, VNI_LOG_NONE);
	assert_ok(vni_log_level_parse("4", &l));
	assert_int_equal(l, VNI_LOG_DEBUG);
	assert_err(vni_log_level_parse("5", &l), EINVAL);
	assert_err(vni_log_level_parse("loud", &l), EINVAL);
	assert_err(vni_log_level_parse("", &l), EINVAL);
	assert_err(vni_log_level_parse(NULL, &l), EINVAL);
	assert_err(vni_log_level_parse("info", NULL), EINVAL);
	assert_string_equal(vni_log_level_name(VNI_LOG_INFO), "info");
	assert_string_equal(vni_log_level_name((enum vni_log_level)9), "?");
	assert_err(vni_log_set_level((enum vni_log_level)5), EINVAL);
	assert_err(vni_log_set_level((enum vni_log_level)-1), EINVAL);

	/* Environment: read when no explicit level was set. */
	setenv("VNI_LOG", "debug", 1);
	vnip_log_reset();
	assert_int_equal(vni_log_get_level(), VNI_LOG_DEBUG);
	setenv("VNI_LOG", "2", 1);
	vnip_log_reset();
	assert_int_equal(vni_log_get_level(), VNI_LOG_WARN);
	setenv("VNI_LOG", "none", 1);
	vnip_log_reset();
	assert_int_equal(vni_log_get_level(), VNI_LOG_NONE);
	setenv("VNI_LOG", "bogus", 1);
	vnip_log_reset();
	assert_int_equal(vni_log_get_level(), VNI_LOG_WARN);
	unsetenv("VNI_LOG");
	vnip_log_reset();
	assert_int_equal(vni_log_get_level(), VNI_LOG_WARN);
	/* explicit level wins over the environment */
	setenv("VNI_LOG", "debug", 1);
	vnip_log_reset();
	assert_ok(vni_log_set_level(VNI_LOG_ERROR));
	assert_int_equal(vni_log_get_level(), VNI_LOG_ERROR);
	unsetenv("VNI_LOG");

	/* Errors reach the callback at ERROR with the same text. */
	vni_log_set_callback(log_cb, &rec);
	assert_err(vni_pci_addr_parse("nope", &a), EINVAL);
	assert_int_equal(rec.calls, 1);
	assert_int_equal(rec.last_level, VNI_LOG_ERROR);
	assert_string_equal(rec.last, vni_strerror_last());
	/* Below threshold: not delivered. */
	assert_ok(vni_log_set_level(VNI_LOG_NONE));
	assert_err(vni_pci_addr_parse("nope", &a), EINVAL);
	assert_int_equal(rec.calls, 1);
	/* Debug messages appear only at DEBUG. */
	assert_ok(vni_log_set_level(VNI_LOG_INFO));
	{
		struct vni_ctx *ctx = NULL;

		rec.calls = 0;
		assert_ok(vni_ctx_new(&ctx, 0));
		assert_int_equal(rec.calls, 1);
		assert_int_equal(rec.last_level, VNI_LOG_INFO);
		assert_non_null(strstr(rec.last, "context created"));
		assert_ok(vni_ctx_destroy(&ctx));
	}
	vni_log_set_callback(NULL, NULL);
	assert_ok(vni_log_set_level(VNI_LOG_WARN));
	assert_non_null(vni_version());
	assert_string_equal(vni_version(), VNI_VERSION_STRING);
	assert_true(VNI_VERSION_CHECK(0, 1, 0));
}

static void *thread_errmsg(void *arg)
{
	struct vni_pci_addr a;

	(void)arg;
	if (vni_strerror_last()[0] != '\0' || vni_errno_last() != 0)
		return (void *)1;
	if (vni_pci_addr_parse("thread", &a) != -EINVAL)
		return (void *)2;
	return strstr(vni_strerror_last(), "thread") ? NULL : (void *)3;
}

static void test_last_error(void **state)
{
	struct vni_ctx *ctx = NULL;
	struct vni_device *dev = NULL;
	struct fake_cfg cfg;
	pthread_t t;
	void *res;

	(void)state;
	/* Per thread: another thread's failure does not change ours. */
	assert_err(vni_pci_addr_parse("main", NULL), EINVAL);
	assert_int_equal(pthread_create(&t, NULL, thread_errmsg, NULL), 0);
	assert_int_equal(pthread_join(t, &res), 0);
	assert_null(res);
	assert_non_null(strstr(vni_strerror_last(), "vni_pci_addr_parse"));

	/* Messages name the fix; errno and reason say which condition (the
	 * table in docs/api.md, "Errors a program can act on"). */
	cfg = fake_default_cfg();
	cfg.noiommu_param = "N";
	fake_install(&cfg);
	assert_ok(vni_ctx_new(&ctx, 0));
	assert_err(vni_device_open(ctx, EDU, &dev), EOPNOTSUPP);
	assert_int_equal(vni_reason_last(), VNI_REASON_NOIOMMU_OFF);
	assert_string_equal(vni_reason_name(vni_reason_last()), "noiommu-off");
	assert_non_null(strstr(vni_strerror_last(), "noiommu mode is off: write 1 to "
			       "/sys/module/vfio/parameters/enable_unsafe_noiommu_mode"));
	/* a device vfio-pci could not take because the mode is off (no driver,
	 * no IOMMU group): the mode comes first, not "unbound" */
	assert_ok(vni_ctx_destroy(&ctx));
	cfg.devs[1].driver = NULL;
	fake_install(&cfg);
	assert_ok(vni_ctx_new(&ctx, 0));
	assert_err(vni_device_open(ctx, EDU2, &dev), EOPNOTSUPP);
	assert_int_equal(vni_reason_last(), VNI_REASON_NOIOMMU_OFF);
	/* ... but a device behind an IOMMU needs no noiommu mode */
	assert_ok(vni_device_open(ctx, "0000:00:07.0", &dev));
	assert_int_equal(vni_ctx_backend(ctx), VNI_BACKEND_IOMMUFD);
	assert_ok(vni_device_close(&dev));
	assert_ok(vni_ctx_destroy(&ctx));
	cfg.devs[1].driver = "vfio-pci";

	/* kernel lacks the feature: no noiommu switch at all */
	cfg.noiommu_param = NULL;
	fake_install(&cfg);
	assert_ok(vni_ctx_new(&ctx, 0));
	assert_err(vni_device_open(ctx, EDU, &dev), ENOSYS);
	assert_int_equal(vni_reason_last(), VNI_REASON_KERNEL_LACKS);
	assert_non_null(strstr(vni_strerror_last(), "CONFIG_VFIO_NOIOMMU"));
	assert_ok(vni_ctx_destroy(&ctx));

	/* kernel lacks the feature: no /dev/iommu for the noiommu cdev */
	cfg = fake_default_cfg();
	cfg.have_iommu = false;
	fake_install(&cfg);
	assert_ok(vni_ctx_new(&ctx, 0));
	assert_err(vni_device_open(ctx, EDU, &dev), ENOSYS);
	assert_int_equal(vni_reason_last(), VNI_REASON_KERNEL_LACKS);
	assert_non_null(strstr(vni_strerror_last(), "/dev/iommu"));
	assert_non_null(strstr(vni_strerror_last(), "CONFIG_IOMMUFD"));
	assert_null(dev);
	/* nothing was left set up: the next open chooses again */
	assert_int_equal(vni_ctx_backend(ctx), VNI_BACKEND_AUTO);
	assert_ok(vni_ctx_destroy(&ctx));

	fake_install(NULL);
	assert_ok(vni_ctx_new(&ctx, 0));
	assert_err(vni_device_open(ctx, "0000:00:09.0", &dev), ENODEV);
	assert_int_equal(vni_reason_last(), VNI_REASON_NO_SUCH_DEVICE);
	assert_non_null(strstr(vni_strerror_last(), "no PCI device 0000:00:09.0"));
	/* bound elsewhere */
	assert_err(vni_device_open(ctx, "0000:00:06.0", &dev), ENXIO);
	assert_int_equal(vni_reason_last(), VNI_REASON_BOUND_ELSEWHERE);
	assert_non_null(strstr(vni_strerror_last(), "bound to nvme"));
	assert_non_null(strstr(vni_strerror_last(), "driver_override"));
	/* behind a real IOMMU, the backend forced to a no-IOMMU one */
	assert_ok(vni_ctx_set_backend(ctx, VNI_BACKEND_NOIOMMU));
	assert_err(vni_device_open(ctx, "0000:00:07.0", &dev), EXDEV);
	assert_int_equal(vni_reason_last(), VNI_REASON_REAL_IOMMU);
	assert_non_null(strstr(vni_strerror_last(), "real IOMMU"));
	assert_null(dev);
	/* ... and the other way round */
	assert_ok(vni_ctx_set_backend(ctx, VNI_BACKEND_IOMMUFD));
	assert_err(vni_device_open(ctx, EDU, &dev), EXDEV);
	assert_int_equal(vni_reason_last(), VNI_REASON_NO_IOMMU);
	assert_ok(vni_ctx_set_backend(ctx, VNI_BACKEND_AUTO));
	/* no device open: mappings, buffers and the iommufd need one */
	{
		void *buf = NULL;
		char page[4096] __attribute__((aligned(4096)));

		assert_err(vni_dma_alloc(ctx, 4096, 0, &buf), ENODEV);
		assert_int_equal(vni_reason_last(), VNI_REASON_NO_DEVICE);
		assert_err(vni_dma_map(ctx, page, sizeof(page), 0), ENODEV);
		assert_int_equal(vni_reason_last(), VNI_REASON_NO_DEVICE);
		/* an unrelated failure resets the reason */
		assert_err(vni_dma_map(ctx, page + 1, 4096, 0), EINVAL);
		assert_int_equal(vni_reason_last(), VNI_REASON_NONE);
		assert_err(vni_ctx_iommufd(ctx), ENODEV);
		assert_int_equal(vni_reason_last(), VNI_REASON_NO_DEVICE);
	}
	assert_ok(vni_ctx_destroy(&ctx));

	cfg = fake_default_cfg();
	cfg.devs[0].driver = NULL;
	cfg.devs[1].cdev = NULL;
	cfg.cap_rawio = false;
	cfg.devs[2].driver = "vfio-pci";
	cfg.devs[2].cdev = "noiommu-vfio2";
	fake_install(&cfg);
	assert_ok(vni_ctx_new(&ctx, 0));
	assert_err(vni_device_open(ctx, EDU, &dev), ENXIO);
	assert_int_equal(vni_reason_last(), VNI_REASON_UNBOUND);
	assert_non_null(strstr(vni_strerror_last(), "not bound to any driver"));
	assert_non_null(strstr(vni_strerror_last(), "driver_override"));
	/* bound to vfio-pci, neither cdev nor group: the kernel lacks both */
	assert_err(vni_device_open(ctx, EDU2, &dev), ENOSYS);
	assert_int_equal(vni_reason_last(), VNI_REASON_KERNEL_LACKS);
	assert_non_null(strstr(vni_strerror_last(), "no vfio cdev"));
	assert_err(vni_device_open(ctx, "0000:00:06.0", &dev), EPERM);
	assert_int_equal(vni_reason_last(), VNI_REASON_NO_PRIVILEGE);
	assert_non_null(strstr(vni_strerror_last(), "CAP_SYS_RAWIO"));
	assert_ok(vni_ctx_destroy(&ctx));

	/* names of every reason, and of none */
	assert_string_equal(vni_reason_name(VNI_REASON_NONE), "none");
	for (int r = 1; r <= VNI_REASON_IN_USE; r++)
		assert_string_not_equal(vni_reason_name(r), "?");
	assert_string_equal(vni_reason_name(VNI_REASON_IN_USE + 1), "?");
	assert_string_equal(vni_reason_name(-1), "?");
	fake_install(NULL);
}

/* ---- context ---------------------------------------------------------------- */
static void test_ctx_bad(void **state)
{
	struct vni_ctx *ctx = NULL;
	struct vni_ctx_stats st = { .struct_size = sizeof(st) };
	uint32_t id;

	(void)state;
	assert_err(vni_ctx_new(NULL, 0), EINVAL);
	assert_err(vni_ctx_new(&ctx, 1), EINVAL);
	assert_null(ctx);
	assert_err(vni_ctx_destroy(NULL), EINVAL);
	assert_err(vni_ctx_destroy(&ctx), EBADF);
	assert_err(vni_ctx_backend(NULL), EINVAL);
	assert_err(vni_ctx_iommufd(NULL), EINVAL);
	assert_err(vni_ctx_ioas_id(NULL, &id), EINVAL);
	assert_err(vni_ctx_stats(NULL, &st), EINVAL);

	assert_ok(vni_ctx_new(&ctx, 0));
	/* the backend and its kernel objects come with the first device */
	assert_int_equal(vni_ctx_backend(ctx), VNI_BACKEND_AUTO);
	assert_err(vni_ctx_iommufd(ctx), ENODEV);
	assert_int_equal(vni_reason_last(), VNI_REASON_NO_DEVICE);
	assert_err(vni_ctx_ioas_id(ctx, &id), ENODEV);
	{
		struct vni_device *dev = NULL;

		assert_ok(vni_device_open(ctx, EDU, &dev));
		assert_int_equal(vni_ctx_backend(ctx), VNI_BACKEND_NOIOMMU);
		assert_true(vni_ctx_iommufd(ctx) >= 0);
		assert_ok(vni_ctx_ioas_id(ctx, &id));
		assert_true(id != 0);
		assert_ok(vni_device_close(&dev));
		/* the backend stays for the life of the context */
		assert_int_equal(vni_ctx_backend(ctx), VNI_BACKEND_NOIOMMU);
		assert_true(vni_ctx_iommufd(ctx) >= 0);
	}
	assert_err(vni_ctx_ioas_id(ctx, NULL), EINVAL);
	assert_err(vni_ctx_stats(ctx, NULL), EINVAL);
	assert_ok(vni_ctx_stats(ctx, &st));
	assert_int_equal(st.mappings, 0);
	assert_int_equal(st.devices, 0);
	assert_ok(vni_ctx_destroy(&ctx));
	assert_null(ctx);
	assert_err(vni_ctx_destroy(&ctx), EBADF); /* double destroy */
}

/* ---- device ---------------------------------------------------------------- */
static void test_device_bad(void **state)
{
	struct vni_ctx *ctx = NULL;
	struct vni_device *dev = NULL, *dev2 = NULL;
	struct vni_pci_dev_info pinfo;
	struct vni_device_info di = { .struct_size = sizeof(di) };
	struct vni_region_info ri = { .struct_size = sizeof(ri) };
	struct vni_irq_info ii = { .struct_size = sizeof(ii) };
	struct vni_ctx_stats st = { .struct_size = sizeof(st) };
	uint32_t v32;
	uint64_t v64;
	uint8_t b[8];
	void *bar;
	size_t barlen;
	int efds[8];

	(void)state;
	assert_ok(vni_ctx_new(&ctx, 0));
	assert_err(vni_device_open(NULL, EDU, &dev), EINVAL);
	assert_err(vni_device_open(ctx, NULL, &dev), EINVAL);
	assert_err(vni_device_open(ctx, EDU, NULL), EINVAL);
	assert_err(vni_device_open(ctx, "0000:00:04", &dev), EINVAL);
	assert_err(vni_device_open_info(ctx, NULL, &dev), EINVAL);
	assert_err(vni_device_open_info(NULL, &pinfo, &dev), EINVAL);
	assert_err(vni_device_close(NULL), EINVAL);
	assert_err(vni_device_close(&dev), EBADF);
	assert_null(vni_device_bdf(NULL));
	assert_err(vni_device_fd(NULL), EINVAL);
	assert_null(vni_device_ctx(NULL));
	assert_err(vni_device_get_info(NULL, &di), EINVAL);
	assert_err(vni_device_region_info(NULL, 0, &ri), EINVAL);
	assert_err(vni_device_map_bar(NULL, 0, &bar, NULL), EINVAL);
	assert_err(vni_device_unmap_bar(NULL, 0), EINVAL);
	assert_err(vni_device_bar_read(NULL, 0, 0, b, 4), EINVAL);
	assert_err(vni_device_bar_write(NULL, 0, 0, b, 4), EINVAL);
	assert_err(vni_device_bar_read32(NULL, 0, 0, &v32), EINVAL);
	assert_err(vni_device_bar_write32(NULL, 0, 0, 1), EINVAL);
	assert_err(vni_device_bar_read64(NULL, 0, 0, &v64), EINVAL);
	assert_err(vni_device_bar_write64(NULL, 0, 0, 1), EINVAL);
	assert_err(vni_device_config_read(NULL, 0, b, 4), EINVAL);
	assert_err(vni_device_config_write(NULL, 0, b, 4), EINVAL);
	assert_err(vni_device_set_bus_master(NULL, true), EINVAL);
	assert_err(vni_device_reset(NULL), EINVAL);
	assert_err(vni_device_irq_info(NULL, VNI_IRQ_MSI, &ii), EINVAL);
	assert_err(vni_device_irq_enable(NULL, VNI_IRQ_MSI, 1, efds), EINVAL);
	assert_err(vni_device_irq_enable_fds(NULL, VNI_IRQ_MSI, 1, efds), EINVAL);
	assert_err(vni_device_irq_disable(NULL), EINVAL);
	assert_err(vni_device_irq_unmask(NULL), EINVAL);

	/* open by discovery entry, then by address: already open */
	assert_ok(vni_pci_get(EDU, &pinfo));
	assert_ok(vni_device_open_info(ctx, &pinfo, &dev));
	assert_err(vni_device_open(ctx, "00:04.0", &dev2), EBUSY);
	assert_null(dev2);
	assert_string_equal(vni_device_bdf(dev), EDU);
	assert_true(vni_device_fd(dev) >= 0);
	assert_ptr_equal(vni_device_ctx(dev), ctx);
	assert_ok(vni_device_get_info(dev, &di));
	assert_int_equal(di.vendor, 0x1234);
	assert_int_equal(di.device, 0x11e8);
	assert_int_equal(di.class_code, 0x00ff00);
	assert_int_equal(di.num_regions, 9);
	assert_string_equal(di.cdev_path, "/dev/vfio/devices/noiommu-vfio0");
	assert_err(vni_device_get_info(dev, NULL), EINVAL);
	assert_err(vni_ctx_destroy(&ctx), EBUSY);
	assert_non_null(ctx);
	assert_ok(vni_ctx_stats(ctx, &st));
	assert_int_equal(st.devices, 1);

	/* regions */
	assert_ok(vni_device_region_info(dev, 0, &ri));
	assert_int_equal(ri.size, 1u << 20);
	assert_true(ri.flags & VNI_REGION_MMAP);
	assert_ok(vni_device_region_info(dev, VNI_REGION_VGA, &ri));
	assert_int_equal(ri.size, 0);
	assert_err(vni_device_region_info(dev, 9, &ri), EINVAL);
	assert_err(vni_device_region_info(dev, 0, NULL), EINVAL);

	/* BARs: mapping, bounds, widths */
	assert_err(vni_device_map_bar(dev, 6, &bar, NULL), EINVAL);
	assert_err(vni_device_map_bar(dev, 1, &bar, NULL), ENOENT);
	assert_err(vni_device_map_bar(dev, 2, &bar, NULL), EOPNOTSUPP);
	assert_err(vni_device_map_bar(dev, 0, NULL, NULL), EINVAL);
	assert_err(vni_device_unmap_bar(dev, 0), ENOENT);
	assert_err(vni_device_unmap_bar(dev, 6), EINVAL);
	/* not mapped: pread/pwrite path (BAR2) */
	assert_ok(vni_device_bar_write32(dev, 2, 8, 0xdeadbeef));
	assert_ok(vni_device_bar_read32(dev, 2, 8, &v32));
	assert_int_equal(v32, 0xdeadbeef);
	assert_ok(vni_device_bar_write64(dev, 2, 4088, 0x0123456789abcdefull));
	assert_ok(vni_device_bar_read64(dev, 2, 4088, &v64));
	assert_int_equal(v64, 0x0123456789abcdefull);
	assert_err(vni_device_bar_read32(dev, 2, 4096, &v32), ERANGE);
	assert_err(vni_device_bar_read64(dev, 2, 4092, &v64), EINVAL); /* unaligned */
	assert_err(vni_device_bar_read32(dev, 2, UINT64_MAX - 3, &v32), ERANGE);
	assert_err(vni_device_bar_read(dev, 2, 0, b, 3), EINVAL);
	assert_err(vni_device_bar_read(dev, 2, 0, b, 0), EINVAL);
	assert_err(vni_device_bar_read(dev, 2, 0, NULL, 4), EINVAL);
	assert_err(vni_device_bar_read32(dev, 2, 2, &v32), EINVAL);
	assert_err(vni_device_bar_read32(dev, 6, 0, &v32), EINVAL);
	assert_err(vni_device_bar_read32(dev, 3, 0, &v32), ENOENT);
	/* mapped: volatile access path (BAR0) */
	assert_ok(vni_device_map_bar(dev, 0, &bar, &barlen));
	assert_int_equal(barlen, 1u << 20);
	{
		void *again;

		assert_ok(vni_device_map_bar(dev, 0, &again, NULL));
		assert_ptr_equal(again, bar);
	}
	assert_ok(vni_device_bar_write32(dev, 0, 0x100, 0x11223344));
	assert_int_equal(((volatile uint32_t *)bar)[0x40], 0x11223344);
	assert_ok(vni_device_bar_read32(dev, 0, 0x100, &v32));
	assert_int_equal(v32, 0x11223344);
	b[0] = 0xaa;
	assert_ok(vni_device_bar_write(dev, 0, 3, b, 1));
	assert_ok(vni_device_bar_read(dev, 0, 2, b, 2));
	assert_int_equal(b[1], 0xaa);
	assert_err(vni_device_bar_write32(dev, 0, 1u << 20, 1), ERANGE);
	assert_ok(vni_device_unmap_bar(dev, 0));
	assert_err(vni_device_unmap_bar(dev, 0), ENOENT);
	assert_ok(vni_device_map_bar(dev, 0, &bar, NULL)); /* left for close */

	/* config space */
	assert_ok(vni_device_config_read(dev, 0, &v32, 4));
	assert_int_equal(v32, 0x11e81234);
	assert_err(vni_device_config_read(dev, 0, &v32, 0), EINVAL);
	assert_err(vni_device_config_read(dev, 0, NULL, 4), EINVAL);
	assert_err(vni_device_config_read(dev, 254, &v32, 4), ERANGE);
	assert_err(vni_device_config_read(dev, UINT64_MAX, &v32, 4), ERANGE);
	assert_err(vni_device_config_write(dev, 256, &v32, 1), ERANGE);
	assert_err(vni_device_config_write(dev, 0, NULL, 1), EINVAL);
	assert_err(vni_device_config_write(dev, 0, &v32, 0), EINVAL);
	assert_ok(vni_device_set_bus_master(dev, true));
	{
		uint16_t cmd;

		assert_ok(vni_device_config_read(dev, 4, &cmd, 2));
		assert_int_equal(cmd & 6, 6);
		assert_ok(vni_device_set_bus_master(dev, false));
		assert_ok(vni_device_config_read(dev, 4, &cmd, 2));
		assert_int_equal(cmd & 6, 2);
	}
	assert_ok(vni_device_reset(dev));

	/* interrupts */
	assert_err(vni_device_irq_info(dev, (enum vni_irq_type)3, &ii), EINVAL);
	assert_err(vni_device_irq_info(dev, VNI_IRQ_MSIX, NULL), EINVAL);
	assert_ok(vni_device_irq_info(dev, VNI_IRQ_MSIX, &ii));
	assert_int_equal(ii.count, 8);
	assert_err(vni_device_irq_enable(dev, VNI_IRQ_MSIX, 0, efds), EINVAL);
	assert_err(vni_device_irq_enable(dev, VNI_IRQ_INTX, 2, efds), EINVAL);
	assert_err(vni_device_irq_enable(dev, (enum vni_irq_type)7, 1, efds), EINVAL);
	assert_err(vni_device_irq_enable(dev, VNI_IRQ_MSIX, 1, NULL), EINVAL);
	assert_err(vni_device_irq_enable(dev, VNI_IRQ_MSIX, 9, efds), EINVAL); /* kernel */
	assert_err(vni_device_irq_disable(dev), ENOENT);
	assert_err(vni_device_irq_unmask(dev), ENOENT);
	assert_ok(vni_device_irq_enable(dev, VNI_IRQ_MSIX, 8, efds));
	for (int i = 0; i < 8; i++)
		assert_true(efds[i] >= 0);
	assert_err(vni_device_irq_enable(dev, VNI_IRQ_MSI, 1, efds), EBUSY);
	assert_err(vni_device_irq_unmask(dev), ENOENT);
	assert_ok(vni_device_irq_disable(dev));
	assert_ok(vni_device_irq_enable(dev, VNI_IRQ_INTX, 1, efds));
	assert_ok(vni_device_irq_unmask(dev));
	assert_ok(vni_device_irq_disable(dev));
	{
		int mine[2] = { efds[0], -1 };

		/* caller fds: the fake checks they are eventfds; -1 allowed */
		assert_err(vni_device_irq_enable_fds(dev, VNI_IRQ_MSI, 2, mine), EBADF);
	}
	assert_ok(vni_device_irq_enable(dev, VNI_IRQ_MSI, 2, efds)); /* left for close */

	assert_ok(vni_device_close(&dev));
	assert_null(dev);
	assert_err(vni_device_close(&dev), EBADF); /* double close */
	assert_ok(vni_ctx_destroy(&ctx));
}

/* ---- DMA ----------------------------------------------------------------------- */
static void test_dma_bad(void **state)
{
	struct vni_ctx *ctx = NULL;
	struct vni_device *dev = NULL;
	struct vni_dma_mapping_info mi = { .struct_size = sizeof(mi) };
	struct vni_dma_seg segs[4];
	uint64_t dma;
	size_t n, contig;
	void *buf = NULL, *p;
	char *mem;

	(void)state;
	mem = mmap(NULL, 1 << 22, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	assert_true(mem != MAP_FAILED);
	assert_ok(vni_ctx_new(&ctx, 0));

	/* no device yet */
	assert_err(vni_dma_map(ctx, mem, 4096, 0), ENODEV);
	assert_non_null(strstr(vni_strerror_last(), "open a device"));
	assert_err(vni_dma_alloc(ctx, 4096, 0, &buf), ENODEV);
	assert_ok(vni_device_open(ctx, EDU, &dev));

	assert_err(vni_dma_map(NULL, mem, 4096, 0), EINVAL);
	assert_err(vni_dma_map(ctx, NULL, 4096, 0), EINVAL);
	assert_err(vni_dma_map(ctx, mem, 0, 0), EINVAL);
	assert_err(vni_dma_map(ctx, mem + 1, 4096, 0), EINVAL);
	assert_err(vni_dma_map(ctx, mem, 4095, 0), EINVAL);
	assert_err(vni_dma_map(ctx, mem, 4096, 4), EINVAL);
	/* no IOMMU to enforce read-only */
	assert_err(vni_dma_map(ctx, mem, 4096, VNI_DMA_MAP_READONLY), EOPNOTSUPP);
	assert_err(vni_dma_map(ctx, (void *)(uintptr_t)(UINT64_MAX - 4095), 8192, 0),
		   EOVERFLOW);
	assert_err(vni_dma_map(ctx, (void *)(uintptr_t)(1ull << 48), 4096, 0), ERANGE);
	assert_err(vni_dma_map(ctx, (void *)(uintptr_t)((1ull << 48) - 4096), 8192, 0),
		   ERANGE);

	assert_ok(vni_dma_map(ctx, mem, 1 << 20, 0));
	assert_err(vni_dma_map(ctx, mem, 1 << 20, 0), EEXIST);
	assert_err(vni_dma_map(ctx, mem + 4096, 4096, 0), EEXIST);
	assert_err(vni_dma_map(ctx, mem - 4096 + (1 << 20), 8192, 0), EEXIST);
	assert_ok(vni_dma_map(ctx, mem + (1 << 20), 4096, 0)); /* adjacent is fine */

	assert_err(vni_dma_unmap(NULL, mem, 4096), EINVAL);
	assert_err(vni_dma_unmap(ctx, NULL, 4096), EINVAL);
	assert_err(vni_dma_unmap(ctx, mem, 0), EINVAL);
	assert_err(vni_dma_unmap(ctx, mem + 4096, 4096), ENOENT);
	assert_err(vni_dma_unmap(ctx, mem, 4096), EINVAL); /* partial */
	assert_err(vni_dma_free(ctx, mem), EBUSY);

	/* translation */
	assert_err(vni_dma_addr(NULL, mem, &dma), EINVAL);
	assert_err(vni_dma_addr(ctx, mem, NULL), EINVAL);
	assert_err(vni_dma_addr(ctx, mem + (2 << 20), &dma), ENOENT);
	assert_err(vni_dma_addr(ctx, NULL, &dma), ENOENT);
	assert_err(vni_dma_addr(ctx, (void *)(uintptr_t)UINT64_MAX, &dma), ENOENT);
	assert_int_equal(vni_dma_addr_fast(ctx, mem + (2 << 20)), VNI_DMA_ADDR_INVALID);
	assert_ok(vni_dma_addr(ctx, mem + 123, &dma));
	assert_int_equal(vni_dma_addr_fast(ctx, mem + 123), dma);
	assert_int_equal(dma & 4095, 123);
	assert_err(vni_dma_contig(NULL, mem, 1, &dma, &contig), EINVAL);
	assert_err(vni_dma_contig(ctx, NULL, 1, &dma, &contig), EINVAL);
	assert_err(vni_dma_contig(ctx, mem, 1, NULL, &contig), EINVAL);
	assert_err(vni_dma_contig(ctx, mem, 1, &dma, NULL), EINVAL);
	assert_err(vni_dma_contig(ctx, mem, 0, &dma, &contig), EINVAL);
	assert_err(vni_dma_contig(ctx, (void *)(uintptr_t)(UINT64_MAX - 10), 20, &dma, &contig),
		   EOVERFLOW);
	assert_err(vni_dma_contig(ctx, mem + (2 << 20), 1, &dma, &contig), ENOENT);
	/* the last page is not mapped: -ENOENT if the first piece reaches it,
	 * else the first piece (bytes after a discontinuity are not looked at) */
	{
		size_t full;
		int r;

		assert_ok(vni_dma_contig(ctx, mem, (1 << 20) + 4096, &dma, &full));
		assert_true(full >= 4096 && full <= (1 << 20) + 4096);
		r = vni_dma_contig(ctx, mem, (1 << 20) + 8192, &dma, &contig);
		if (full == (1 << 20) + 4096)
			assert_err(r, ENOENT);
		else
			assert_true(r == 0 && contig == full);
	}
	/* vni_dma_addr_len: the same first piece, capped by the caller */
	{
		size_t l = (1 << 20) + 4096, l2 = 100, l0 = 0;
		uint64_t d2;

		assert_ok(vni_dma_contig(ctx, mem + 5, l - 5, &dma, &contig));
		l -= 5;
		assert_int_equal(vni_dma_addr_len(ctx, mem + 5, &l), dma);
		assert_int_equal(l, contig);
		assert_int_equal(vni_dma_addr_len(ctx, mem + 5, &l2), dma);
		assert_int_equal(l2, contig < 100 ? contig : 100);
		assert_int_equal(vni_dma_addr_len(ctx, mem + 5, &l0), dma);
		assert_true(l0 >= contig);
		assert_int_equal(vni_dma_addr_len(ctx, mem + 5, NULL), dma);
		l2 = 77;
		d2 = vni_dma_addr_len(ctx, mem + (2 << 20), &l2);
		assert_int_equal(d2, VNI_DMA_ADDR_INVALID);
		assert_int_equal(l2, 77);
	}
	assert_err(vni_dma_segments(NULL, mem, 1, segs, 4, &n), EINVAL);
	assert_err(vni_dma_segments(ctx, NULL, 1, segs, 4, &n), EINVAL);
	assert_err(vni_dma_segments(ctx, mem, 1, segs, 4, NULL), EINVAL);
	assert_err(vni_dma_segments(ctx, mem, 0, segs, 4, &n), EINVAL);
	assert_err(vni_dma_segments(ctx, mem, 1, NULL, 4, &n), EINVAL);
	assert_err(vni_dma_segments(ctx, (void *)(uintptr_t)(UINT64_MAX - 10), 20, segs, 4, &n),
		   EOVERFLOW);
	assert_err(vni_dma_segments(ctx, mem + (2 << 20), 1, segs, 4, &n), ENOENT);
	/* counting mode */
	assert_err(vni_dma_segments(ctx, mem, 1 << 20, NULL, 0, &n), ENOSPC);
	assert_true(n >= 1);
	assert_err(vni_dma_lookup(NULL, mem, &mi), EINVAL);
	assert_err(vni_dma_lookup(ctx, mem, NULL), EINVAL);
	assert_err(vni_dma_lookup(ctx, mem + (3 << 20), &mi), ENOENT);
	assert_ok(vni_dma_lookup(ctx, mem + 5000, &mi));
	assert_ptr_equal(mi.vaddr, mem);
	assert_int_equal(mi.len, 1 << 20);
	assert_int_equal(mi.flags, 0);

	/* allocation */
	assert_err(vni_dma_alloc(NULL, 4096, 0, &buf), EINVAL);
	assert_err(vni_dma_alloc(ctx, 4096, 0, NULL), EINVAL);
	assert_err(vni_dma_alloc(ctx, 0, 0, &buf), EINVAL);
	assert_err(vni_dma_alloc(ctx, 4096, 8, &buf), EINVAL);
	assert_err(vni_dma_alloc(ctx, 4096, VNI_DMA_ALLOC_HUGE | VNI_DMA_ALLOC_SMALL, &buf),
		   EINVAL);
	assert_err(vni_dma_alloc(ctx, SIZE_MAX, 0, &buf), EOVERFLOW);
	assert_null(buf);
	assert_ok(vni_dma_alloc(ctx, 100, 0, &buf));
	assert_ok(vni_dma_lookup(ctx, buf, &mi));
	assert_int_equal(mi.len, 4096);
	assert_int_equal(mi.flags, VNI_DMA_MAPPING_ALLOCATED);
	assert_err(vni_dma_unmap(ctx, buf, 4096), EBUSY);
	assert_err(vni_dma_free(NULL, buf), EINVAL);
	assert_err(vni_dma_free(ctx, NULL), EINVAL);
	assert_err(vni_dma_free(ctx, (char *)buf + 4096), ENOENT);
	assert_ok(vni_dma_free(ctx, buf));
	assert_err(vni_dma_free(ctx, buf), ENOENT); /* double free */
	assert_ok(vni_dma_alloc(ctx, 3 << 20, 0, &p));
	assert_ok(vni_dma_lookup(ctx, p, &mi));
	assert_int_equal(mi.len, 4 << 20);
	assert_int_equal(mi.page_size, 2 << 20);
	assert_int_equal(mi.flags, VNI_DMA_MAPPING_ALLOCATED | VNI_DMA_MAPPING_HUGE);
	assert_int_equal((uintptr_t)p & ((2 << 20) - 1), 0);
	assert_int_equal(mi.runs, 2);
	/* Two 2 MiB pages, never adjacent in the fake: two segments, each a leaf. */
	assert_ok(vni_dma_segments(ctx, p, 4 << 20, segs, 4, &n));
	assert_int_equal(n, 2);
	assert_int_equal(segs[0].len, 2 << 20);
	assert_int_equal(segs[0].dma & ((2 << 20) - 1), 0);
	((char *)p)[0] = 1; /* it is real memory */
	assert_ok(vni_dma_free(ctx, p));
	assert_ok(vni_dma_alloc(ctx, 3 << 20, VNI_DMA_ALLOC_SMALL, &p));
	assert_ok(vni_dma_lookup(ctx, p, &mi));
	assert_int_equal(mi.len, 3 << 20);
	assert_int_equal(mi.page_size, 4096);
	assert_ok(vni_dma_free(ctx, p));

	/* no hugepages: default falls back, HUGE fails */
	{
		struct fake_cfg cfg = fake_default_cfg();

		assert_ok(vni_dma_unmap(ctx, mem, 1 << 20));
		assert_ok(vni_dma_unmap(ctx, mem + (1 << 20), 4096));
		assert_ok(vni_device_close(&dev));
		assert_ok(vni_ctx_destroy(&ctx));
		cfg.hugepages = false;
		fake_install(&cfg);
		assert_ok(vni_ctx_new(&ctx, 0));
		assert_ok(vni_device_open(ctx, EDU, &dev));
		assert_err(vni_dma_alloc(ctx, 1 << 21, VNI_DMA_ALLOC_HUGE, &p), ENOMEM);
		assert_non_null(strstr(vni_strerror_last(), "nr_hugepages"));
		assert_ok(vni_dma_alloc(ctx, 1 << 21, 0, &p));
		assert_ok(vni_dma_lookup(ctx, p, &mi));
		assert_int_equal(mi.page_size, 4096);
		assert_int_equal(mi.flags, VNI_DMA_MAPPING_ALLOCATED);
		/* left allocated and mapped: destroy releases it */
	}
	/* GET_PA unsupported by the kernel */
	{
		struct fake_cfg cfg = fake_default_cfg();

		assert_ok(vni_device_close(&dev));
		assert_ok(vni_ctx_destroy(&ctx));
		cfg.getpa_supported = false;
		fake_install(&cfg);
		assert_ok(vni_ctx_new(&ctx, 0));
		assert_ok(vni_device_open(ctx, EDU, &dev));
		assert_err(vni_dma_map(ctx, mem, 4096, 0), ENOSYS);
		assert_non_null(strstr(vni_strerror_last(), "7.3"));
	}
	assert_ok(vni_device_close(&dev));
	assert_ok(vni_ctx_destroy(&ctx));
	munmap(mem, 1 << 22);
}

/* Several devices share one context: one IOAS, one table. */
static void test_two_devices(void **state)
{
	struct vni_ctx *ctx = NULL;
	struct vni_device *a = NULL, *b = NULL;
	struct vni_ctx_stats st = { .struct_size = sizeof(st) };
	void *buf;
	uint64_t d1, d2;

	(void)state;
	assert_ok(vni_ctx_new(&ctx, 0));
	assert_ok(vni_device_open(ctx, EDU, &a));
	assert_ok(vni_device_open(ctx, EDU2, &b));
	assert_ok(vni_dma_alloc(ctx, 8192, 0, &buf));
	assert_ok(vni_dma_addr(ctx, buf, &d1));
	assert_ok(vni_device_close(&a));
	/* mappings belong to the context */
	assert_ok(vni_dma_addr(ctx, buf, &d2));
	assert_int_equal(d1, d2);
	assert_ok(vni_ctx_stats(ctx, &st));
	assert_int_equal(st.devices, 1);
	assert_int_equal(st.mappings, 1);
	assert_ok(vni_device_close(&b));
	assert_ok(vni_ctx_destroy(&ctx));
}

/* ---- device lifetime vs. DMA addresses -------------------------------------- */

/* Every page of [p, p+len) translates to what the simulated kernel pinned. */
static void assert_matches_kernel(struct vni_ctx *ctx, const char *p, size_t len)
{
	for (size_t off = 0; off < len; off += 4096) {
		uint64_t want, got;

		assert_true(fake_pa((uintptr_t)p + off, &want));
		assert_ok(vni_dma_addr(ctx, p + off + 7, &got));
		assert_int_equal(got, want + 7);
	}
}

static void test_close_invalidates(void **state)
{
	const size_t len = 256u << 10;
	struct vni_ctx *ctx = NULL;
	struct vni_device *dev = NULL;
	struct vni_dma_mapping_info mi = { .struct_size = sizeof(mi) };
	struct vni_ctx_stats st = { .struct_size = sizeof(st) };
	struct vni_dma_seg seg;
	char *mem, *buf;
	uint64_t d_before, d_after, pa;
	size_t contig, n;

	(void)state;
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(mem != MAP_FAILED);
	assert_ok(vni_ctx_new(&ctx, 0));
	assert_ok(vni_device_open(ctx, EDU, &dev));
	assert_ok(vni_dma_map(ctx, mem, len, 0));
	assert_ok(vni_dma_alloc(ctx, 8192, VNI_DMA_ALLOC_SMALL, (void **)&buf));
	assert_matches_kernel(ctx, mem, len);
	assert_matches_kernel(ctx, buf, 8192);
	assert_ok(vni_dma_addr(ctx, buf, &d_before));

	/* Last device closes: the kernel unpins, so must the library forget. */
	assert_ok(vni_device_close(&dev));
	assert_false(fake_pa((uintptr_t)buf, &pa));
	assert_err(vni_dma_addr(ctx, buf, &d_after), ENODEV);
	assert_non_null(strstr(vni_strerror_last(), "no device attached"));
	assert_err(vni_dma_addr(ctx, mem + len - 1, &d_after), ENODEV);
	assert_int_equal(vni_dma_addr_fast(ctx, buf), VNI_DMA_ADDR_INVALID);
	assert_int_equal(vni_dma_addr_fast(ctx, mem), VNI_DMA_ADDR_INVALID);
	assert_err(vni_dma_contig(ctx, mem, 4096, &d_after, &contig), ENODEV);
	assert_err(vni_dma_segments(ctx, mem, len, &seg, 1, &n), ENODEV);
	/* no address at all is valid without a device, mapped or not */
	assert_err(vni_dma_addr(ctx, mem + len + (4u << 20), &d_after), ENODEV);
	/* the mappings stay recorded; the table holds no translation */
	assert_ok(vni_dma_lookup(ctx, buf, &mi));
	assert_int_equal(mi.flags, VNI_DMA_MAPPING_ALLOCATED);
	assert_ok(vni_ctx_stats(ctx, &st));
	assert_int_equal(st.devices, 0);
	assert_int_equal(st.mappings, 2);
	assert_int_equal(st.leaf_4k + st.leaf_2m, 0);
	assert_err(vni_dma_map(ctx, mem + len, 4096, 0), ENODEV);

	/* Next attach (another device): the kernel pins again, elsewhere. */
	assert_ok(vni_device_open(ctx, EDU2, &dev));
	assert_matches_kernel(ctx, mem, len);
	assert_matches_kernel(ctx, buf, 8192);
	assert_ok(vni_dma_addr(ctx, buf, &d_after));
	assert_true(d_after != d_before);
	assert_ok(vni_ctx_stats(ctx, &st));
	assert_int_equal(st.devices, 1);
	assert_int_equal(st.runs, (uint64_t)(fake_mapping_runs((uintptr_t)mem) +
					     fake_mapping_runs((uintptr_t)buf)));
	assert_int_equal(st.leaf_4k, (len + 8192) / 4096);
	assert_ok(vni_dma_contig(ctx, buf, 4096, &d_after, &contig));
	assert_int_equal(contig, 4096);

	/* Unmapping and freeing while no device is attached works too. */
	assert_ok(vni_device_close(&dev));
	assert_ok(vni_dma_unmap(ctx, mem, len));
	assert_ok(vni_dma_free(ctx, buf));
	assert_ok(vni_ctx_stats(ctx, &st));
	assert_int_equal(st.mappings + st.mapped_bytes + st.runs, 0);
	assert_ok(vni_device_open(ctx, EDU, &dev));
	assert_err(vni_dma_addr(ctx, buf, &d_after), ENOENT);
	assert_ok(vni_device_close(&dev));
	assert_ok(vni_ctx_destroy(&ctx));
	munmap(mem, len);
}

/* Closing one of two devices changes nothing; closing both does. */
static void test_close_one_of_two(void **state)
{
	struct vni_ctx *ctx = NULL;
	struct vni_device *a = NULL, *b = NULL;
	void *buf;
	uint64_t d1, d2, pa;

	(void)state;
	assert_ok(vni_ctx_new(&ctx, 0));
	assert_ok(vni_device_open(ctx, EDU, &a));
	assert_ok(vni_device_open(ctx, EDU2, &b));
	assert_ok(vni_dma_alloc(ctx, 4096, 0, &buf));
	assert_ok(vni_dma_addr(ctx, buf, &d1));
	assert_ok(vni_device_close(&b));
	assert_ok(vni_dma_addr(ctx, buf, &d2));
	assert_int_equal(d1, d2);
	assert_true(fake_pa((uintptr_t)buf, &pa));
	assert_int_equal(pa, d1);
	assert_ok(vni_device_open(ctx, EDU2, &b));     /* not a first attach */
	assert_ok(vni_dma_addr(ctx, buf, &d2));
	assert_int_equal(d1, d2);
	assert_ok(vni_device_close(&a));
	assert_ok(vni_device_close(&b));
	assert_err(vni_dma_addr(ctx, buf, &d2), ENODEV);
	assert_ok(vni_dma_free(ctx, buf));
	assert_ok(vni_ctx_destroy(&ctx));
}

/* vni_dma_contig(): [va, va+len) up to the first discontinuity must be mapped; *contig is the
 * physically contiguous length from va, == len iff the range is one piece. */
static void test_contig_semantics(void **state)
{
	struct vni_ctx *ctx = NULL;
	struct vni_device *dev = NULL;
	struct vni_dma_seg segs[64];
	struct fake_cfg cfg = fake_default_cfg();
	const size_t len = 64 * 4096;
	char *mem;
	uint64_t dma;
	size_t contig, n;

	(void)state;
	cfg.big_pct = 0;
	cfg.run_max = 4; /* several runs in 64 pages */
	fake_install(&cfg);
	mem = mmap(NULL, len + 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(mem != MAP_FAILED);
	assert_ok(vni_ctx_new(&ctx, 0));
	assert_ok(vni_device_open(ctx, EDU, &dev));
	assert_ok(vni_dma_map(ctx, mem, len, 0));
	assert_ok(vni_dma_segments(ctx, mem + 100, len - 200, segs, 64, &n));
	assert_true(n >= 2);
	/* a range within the first run: contiguous, contig == len */
	assert_ok(vni_dma_contig(ctx, mem + 100, (size_t)segs[0].len - 1, &dma, &contig));
	assert_int_equal(dma, segs[0].dma);
	assert_int_equal(contig, segs[0].len - 1);
	/* a range across runs: success, contig is the first run only */
	assert_ok(vni_dma_contig(ctx, mem + 100, len - 200, &dma, &contig));
	assert_int_equal(dma, segs[0].dma);
	assert_int_equal(contig, segs[0].len);
	assert_true(contig < len - 200);
	/* an unmapped byte after a discontinuity is not looked at: the first
	 * piece; an unmapped byte that ends the first piece: -ENOENT */
	assert_ok(vni_dma_contig(ctx, mem + 100, len, &dma, &contig));
	assert_int_equal(dma, segs[0].dma);
	assert_int_equal(contig, segs[0].len);
	assert_err(vni_dma_contig(ctx, mem + len - 1, 2, &dma, &contig), ENOENT);
	assert_err(vni_dma_contig(ctx, mem - 1, 2, &dma, &contig), ENOENT);
	assert_ok(vni_dma_contig(ctx, mem + len - 1, 1, &dma, &contig));
	assert_int_equal(contig, 1);
	assert_ok(vni_dma_unmap(ctx, mem, len));
	assert_ok(vni_device_close(&dev));
	assert_ok(vni_ctx_destroy(&ctx));
	munmap(mem, len + 4096);
}

/* sysfs lists the cdev but /dev has no node (no devtmpfs, udev slow) or a
 * stale one: discovery says has_cdev = false, open says why. */
static void test_cdev_node(void **state)
{
	struct fake_cfg cfg = fake_default_cfg();
	struct vni_pci_dev_info info;
	struct vni_ctx *ctx = NULL;
	struct vni_device *dev = NULL;

	(void)state;
	cfg.devs[0].no_node = true;
	cfg.devs[1].stale_node = true;
	fake_install(&cfg);
	assert_ok(vni_pci_get(EDU, &info));
	assert_false(info.has_cdev);
	assert_true(info.noiommu);
	assert_string_equal(info.cdev_name, "noiommu-vfio0"); /* what sysfs says */
	assert_string_equal(info.cdev_path, "/dev/vfio/devices/noiommu-vfio0");
	assert_ok(vni_pci_get(EDU2, &info));
	assert_false(info.has_cdev);
	assert_string_equal(info.cdev_name, "noiommu-vfio1");
	assert_ok(vni_pci_get("0000:00:07.0", &info));
	assert_true(info.has_cdev);

	assert_ok(vni_ctx_new(&ctx, 0));
	assert_err(vni_device_open(ctx, EDU, &dev), ENOENT);
	assert_null(dev);
	assert_non_null(strstr(vni_strerror_last(), "/dev/vfio/devices/noiommu-vfio0"));
	assert_non_null(strstr(vni_strerror_last(), "missing"));
	assert_non_null(strstr(vni_strerror_last(), "devtmpfs"));
	assert_err(vni_device_open(ctx, EDU2, &dev), ENODEV);
	assert_non_null(strstr(vni_strerror_last(), "device numbers"));
	assert_ok(vni_ctx_destroy(&ctx));

	/* Unpatched 6.12 with VFIO_GROUP=y: a noiommu device (group
	 * "vfio-noiommu") whose sysfs cdev is "vfioN" and has no node: the
	 * kernel lacks no-IOMMU cdev support, not "behind a real IOMMU"
	 * (here without the legacy group interface either; with it, the
	 * legacy backend takes the device: test_legacy.c). */
	cfg = fake_default_cfg();
	cfg.devs[3].noiommu_group = true;
	cfg.devs[3].no_node = true;
	cfg.no_legacy = true;
	fake_install(&cfg);
	assert_ok(vni_pci_get("0000:00:07.0", &info));
	assert_false(info.has_cdev);
	assert_true(info.noiommu);
	assert_int_equal(info.iommu_group, 3);
	assert_ok(vni_ctx_new(&ctx, 0));
	assert_err(vni_device_open(ctx, "0000:00:07.0", &dev), ENOSYS);
	assert_int_equal(vni_reason_last(), VNI_REASON_KERNEL_LACKS);
	assert_non_null(strstr(vni_strerror_last(), "lacks no-IOMMU cdev support"));
	assert_non_null(strstr(vni_strerror_last(), "7.3"));
	/* the same device outside a vfio-noiommu group: behind a real IOMMU,
	 * for the iommufd backend */
	cfg.devs[3].noiommu_group = false;
	cfg.devs[3].no_node = false;
	cfg.no_legacy = false;
	assert_ok(vni_ctx_destroy(&ctx));
	fake_install(&cfg);
	assert_ok(vni_ctx_new(&ctx, 0));
	assert_ok(vni_device_open(ctx, "0000:00:07.0", &dev));
	assert_int_equal(vni_ctx_backend(ctx), VNI_BACKEND_IOMMUFD);
	assert_ok(vni_device_close(&dev));
	assert_ok(vni_ctx_destroy(&ctx));
}

/* VNI_DMA_ALLOC_CONTIG: one aligned DMA-contiguous piece, or a clear error. */
static void test_alloc_contig(void **state)
{
	struct fake_cfg cfg = fake_default_cfg();
	struct vni_ctx *ctx = NULL;
	struct vni_device *dev = NULL;
	void *p;
	uint64_t dma;
	size_t contig;

	(void)state;
	assert_ok(vni_ctx_new(&ctx, 0));
	assert_ok(vni_device_open(ctx, EDU, &dev));
	assert_ok(vni_dma_alloc(ctx, 100, VNI_DMA_ALLOC_CONTIG, &p));
	assert_ok(vni_dma_contig(ctx, p, 4096, &dma, &contig));
	assert_int_equal(contig, 4096);
	assert_int_equal(dma & 4095, 0);
	assert_ok(vni_dma_free(ctx, p));
	assert_ok(vni_dma_alloc(ctx, 3u << 20 >> 1, VNI_DMA_ALLOC_CONTIG, &p));
	assert_ok(vni_dma_contig(ctx, p, 2u << 20, &dma, &contig));
	assert_int_equal(contig, 2u << 20);
	assert_int_equal(dma & ((2u << 20) - 1), 0);
	assert_ok(vni_dma_free(ctx, p));
	assert_err(vni_dma_alloc(ctx, (2u << 20) + 1, VNI_DMA_ALLOC_CONTIG, &p), EINVAL);
	assert_err(vni_dma_alloc(ctx, 8192, VNI_DMA_ALLOC_CONTIG | VNI_DMA_ALLOC_SMALL, &p),
		   EINVAL);
	assert_ok(vni_device_close(&dev));
	assert_ok(vni_ctx_destroy(&ctx));
	/* no hugepages: a clear error for more than a page */
	cfg.hugepages = false;
	fake_install(&cfg);
	assert_ok(vni_ctx_new(&ctx, 0));
	assert_ok(vni_device_open(ctx, EDU, &dev));
	assert_err(vni_dma_alloc(ctx, 8192, VNI_DMA_ALLOC_CONTIG, &p), ENOMEM);
	assert_non_null(strstr(vni_strerror_last(), "contiguous"));
	assert_ok(vni_dma_alloc(ctx, 4096, VNI_DMA_ALLOC_CONTIG, &p));
	assert_ok(vni_dma_free(ctx, p));
	assert_ok(vni_device_close(&dev));
	assert_ok(vni_ctx_destroy(&ctx));
}

/* The MMIO accessors are single accesses of their width at the address;
 * the barriers are callable (their ordering cannot be observed here). */
static void test_mmio(void **state)
{
	uint64_t word[2] = { 0, 0 };
	uint8_t *b = (uint8_t *)word;

	(void)state;
	vni_mmio_write32(b, 0x11223344);
	vni_mmio_write32_relaxed(b + 4, 0x55667788);
	assert_int_equal(vni_mmio_read32(b), 0x11223344);
	assert_int_equal(vni_mmio_read32_relaxed(b + 4), 0x55667788);
	assert_int_equal(vni_mmio_read64(b), 0x5566778811223344ull);
	vni_mmio_write64(b + 8, 0x0102030405060708ull);
	assert_int_equal(vni_mmio_read64_relaxed(b + 8), 0x0102030405060708ull);
	vni_mmio_write64_relaxed(b, 1);
	vni_mmio_write16(b + 2, 0xabcd);
	vni_mmio_write8(b + 1, 0xef);
	assert_int_equal(vni_mmio_read16(b + 2), 0xabcd);
	assert_int_equal(vni_mmio_read8(b + 1), 0xef);
	assert_int_equal(vni_mmio_read8(b), 1);
	vni_dma_wmb();
	vni_dma_rmb();
	vni_wmb();
	vni_rmb();
	vni_mb();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bdf_parse, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_filter_parse, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_pci_get_and_noiommu, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_pci_scan_host, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_log, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_last_error, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_ctx_bad, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_device_bad, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_dma_bad, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_two_devices, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_close_invalidates, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_close_one_of_two, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_contig_semantics, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_cdev_node, fake_setup, fake_teardown),
		cmocka_unit_test(test_mmio),
		cmocka_unit_test_setup_teardown(test_alloc_contig, fake_setup, fake_teardown),
	};

	return cmocka_run_group_tests_name("api", tests, NULL, NULL);
}
