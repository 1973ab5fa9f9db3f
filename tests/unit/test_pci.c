/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * PCI addresses with 32-bit domains (Intel VMD: 10000:00:00.0) and
 * discovery over the simulated sysfs: parse, format, scan (sorting,
 * filtering, entries that are no address), and the rule that a scan which
 * succeeds leaves the last-error state alone even when it skipped entries
 * whose names failed to parse.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>

#include "util.h"
#include "internal.h"

#define VMD "10000:00:00.0"

/* The default devices, one moved to domain a000, and an NVMe drive behind
 * a VMD domain (by name "10000:..." sorts before "a000:...", by address
 * after it); and sysfs names that are no device: not an address, a
 * function number out of range, an address whose directory is gone. */
static struct fake_cfg vmd_cfg(void)
{
	struct fake_cfg cfg = fake_default_cfg();

	cfg.devs[1].bdf = "a000:00:05.0";
	cfg.devs[3].bdf = "0000:02:00.0";
	cfg.devs[2] = (struct fake_dev_cfg){ VMD, "nvme", NULL, 0x8086, 0x0a54,
					     0x010802, false, false, false, false };
	cfg.extra_pci_names[0] = "zzzz:00:00.0";
	cfg.extra_pci_names[1] = "0000:00:1f.8";
	cfg.extra_pci_names[2] = "0000:00:1f.0";
	return cfg;
}

static void test_addr_wide(void **state)
{
	static const struct {
		const char *s;
		uint32_t domain;
		const char *canon;
	} good[] = {
		{ VMD, 0x10000, VMD },
		{ "0000:00:04.0", 0, "0000:00:04.0" },
		{ "0:00:04.0", 0, "0000:00:04.0" },
		{ "00000:00:04.0", 0, "0000:00:04.0" },
		{ "ffff:ff:1f.7", 0xffff, "ffff:ff:1f.7" },
		{ "1ABCD:01:02.3", 0x1abcd, "1abcd:01:02.3" },
		{ "12345678:00:00.0", 0x12345678, "12345678:00:00.0" },
		{ "FFFFFFFF:ff:1f.7", 0xffffffff, "ffffffff:ff:1f.7" },
		{ "00000001:00:00.0", 1, "0001:00:00.0" },
	};
	static const char *bad[] = {
		"100000000:00:00.0",  /* 9 digits: more than 32 bits */
		"000000000:00:04.0",  /* 9 digits, even if the value fits */
		":00:04.0", "1 0000:00:00.0", "1000g:00:00.0", "10000:00:00.8",
		"10000:00:20.0", "10000:000:00.0", "10000::00:00.0", "-10000:00:00.0",
		"0x10000:00:00.0",
	};
	struct vni_pci_addr a;
	char buf[VNI_PCI_ADDR_STRLEN];

	(void)state;
	assert_int_equal(sizeof(a.domain), 4);
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		memset(&a, 0x5a, sizeof(a));
		if (vni_pci_addr_parse(good[i].s, &a) != 0)
			fail_msg("\"%s\" rejected: %s", good[i].s, vni_strerror_last());
		assert_int_equal(a.domain, good[i].domain);
		assert_int_equal(a.reserved[0], 0);
		assert_ok(vni_pci_addr_format(&a, buf, sizeof(buf)));
		assert_string_equal(buf, good[i].canon);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&a, 0x5a, sizeof(a));
		if (vni_pci_addr_parse(bad[i], &a) != -EINVAL)
			fail_msg("\"%s\" accepted", bad[i]);
		assert_int_equal(vni_errno_last(), EINVAL);
		assert_int_equal(a.domain, 0x5a5a5a5a); /* untouched */
	}

	/* The buffer needs the address's own length + 1: 13 bytes for a 16-bit
	 * domain (callers with the old size keep working), 17 for the widest. */
	assert_ok(vni_pci_addr_parse("abcd:ef:1f.7", &a));
	assert_ok(vni_pci_addr_format(&a, buf, 13));
	assert_string_equal(buf, "abcd:ef:1f.7");
	assert_err(vni_pci_addr_format(&a, buf, 12), ENOSPC);
	assert_ok(vni_pci_addr_parse(VMD, &a));
	memset(buf, 'x', sizeof(buf));
	assert_err(vni_pci_addr_format(&a, buf, 13), ENOSPC);
	assert_int_equal(buf[0], 'x'); /* untouched */
	assert_ok(vni_pci_addr_format(&a, buf, 14));
	assert_string_equal(buf, VMD);
	a.domain = 0xffffffff;
	assert_err(vni_pci_addr_format(&a, buf, VNI_PCI_ADDR_STRLEN - 1), ENOSPC);
	assert_ok(vni_pci_addr_format(&a, buf, VNI_PCI_ADDR_STRLEN));
	assert_int_equal(strlen(buf), VNI_PCI_ADDR_STRLEN - 1);
}

static void test_get_wide(void **state)
{
	struct fake_cfg cfg = vmd_cfg();
	struct vni_pci_dev_info info;

	(void)state;
	fake_install(&cfg);
	assert_ok(vni_pci_get(VMD, &info));
	assert_string_equal(info.bdf, VMD);
	assert_int_equal(info.addr.domain, 0x10000);
	assert_int_equal(info.vendor, 0x8086);
	assert_string_equal(info.driver, "nvme");
	assert_ok(vni_pci_get("00010000:00:00.0", &info));
	assert_string_equal(info.bdf, VMD);
	assert_err(vni_pci_get("10001:00:00.0", &info), ENODEV);
	assert_err(vni_pci_get("zzzz:00:00.0", &info), EINVAL);
}

struct scan_result {
	int ret;
	size_t n;
	char bdf[8][VNI_PCI_ADDR_STRLEN];
	uint32_t domain[8];
	int errno_last;
	int reason_last;
	char msg[256];
};

static _Atomic int error_logs;

static void count_errors(void *opaque, enum vni_log_level level, const char *msg)
{
	(void)opaque;
	(void)msg;
	if (level == VNI_LOG_ERROR)
		error_logs++;
}

static void scan_into(const struct vni_pci_filter *f, struct scan_result *r)
{
	struct vni_pci_dev_info *list = NULL;

	memset(r, 0, sizeof(*r));
	r->ret = vni_pci_scan(f, &list, &r->n);
	for (size_t i = 0; i < r->n && i < 8; i++) {
		snprintf(r->bdf[i], sizeof(r->bdf[i]), "%s", list[i].bdf);
		r->domain[i] = list[i].addr.domain;
	}
	vni_pci_list_free(list);
	r->errno_last = vni_errno_last();
	r->reason_last = vni_reason_last();
	snprintf(r->msg, sizeof(r->msg), "%s", vni_strerror_last());
}

static void *scan_thread(void *arg)
{
	scan_into(NULL, arg);
	return NULL;
}

static void test_scan_wide_and_bad_names(void **state)
{
	struct fake_cfg cfg = vmd_cfg();
	struct scan_result r;
	struct vni_pci_filter f;
	char before[512];
	pthread_t t;

	(void)state;
	fake_install(&cfg);
	vni_log_set_level(VNI_LOG_ERROR);
	vni_log_set_callback(count_errors, NULL);
	error_logs = 0;

	/* A thread that has made no call yet: its error state stays empty. */
	assert_int_equal(pthread_create(&t, NULL, scan_thread, &r), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(r.ret, 0);
	assert_int_equal(r.n, 4);
	/* sorted by address, not by name: the 5-digit domain last */
	assert_string_equal(r.bdf[0], "0000:00:04.0");
	assert_string_equal(r.bdf[1], "0000:02:00.0");
	assert_string_equal(r.bdf[2], "a000:00:05.0");
	assert_string_equal(r.bdf[3], VMD);
	assert_int_equal(r.domain[3], 0x10000);
	assert_int_equal(r.errno_last, 0);
	assert_int_equal(r.reason_last, VNI_REASON_NONE);
	assert_string_equal(r.msg, "");
	assert_int_equal(error_logs, 0);

	/* After a failure of its own, a successful scan keeps that error. */
	assert_err(vni_pci_addr_parse("earlier", &f.addr), EINVAL);
	snprintf(before, sizeof(before), "%s", vni_strerror_last());
	error_logs = 0;
	scan_into(NULL, &r);
	assert_int_equal(r.ret, 0);
	assert_int_equal(r.n, 4);
	assert_int_equal(r.errno_last, EINVAL);
	assert_string_equal(vni_strerror_last(), before);
	assert_non_null(strstr(before, "earlier"));
	assert_int_equal(error_logs, 0);

	/* Filter on the wide address. */
	memset(&f, 0, sizeof(f));
	f.flags = VNI_PCI_MATCH_ADDR;
	assert_ok(vni_pci_addr_parse(VMD, &f.addr));
	scan_into(&f, &r);
	assert_int_equal(r.ret, 0);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.bdf[0], VMD);
	f.addr.domain = 0;   /* 0000:00:00.0 is not there */
	scan_into(&f, &r);
	assert_int_equal(r.ret, 0);
	assert_int_equal(r.n, 0);

	vni_log_set_callback(NULL, NULL);
	vni_log_set_level(VNI_LOG_WARN);
}

/* Every match field against the simulated devices. */
static void test_scan_filters(void **state)
{
	struct fake_cfg cfg = vmd_cfg();
	struct scan_result r;
	struct vni_pci_filter f;

	(void)state;
	fake_install(&cfg);
	memset(&f, 0, sizeof(f));
	f.flags = VNI_PCI_MATCH_CLASS;          /* mass storage, NVM (any prog-if) */
	f.class_code = 0x010800;
	f.class_mask = 0xffff00;
	scan_into(&f, &r);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.bdf[0], VMD);
	f.class_code = 0x010802;                /* mask 0: the whole class code */
	f.class_mask = 0;
	scan_into(&f, &r);
	assert_int_equal(r.n, 1);
	f.class_code = 0x010801;
	scan_into(&f, &r);
	assert_int_equal(r.n, 0);

	memset(&f, 0, sizeof(f));
	f.flags = VNI_PCI_MATCH_DRIVER;
	f.driver = "vfio-pci";
	scan_into(&f, &r);
	assert_int_equal(r.n, 3);
	f.driver = NULL;                        /* unbound: none here */
	scan_into(&f, &r);
	assert_int_equal(r.n, 0);

	memset(&f, 0, sizeof(f));
	f.flags = VNI_PCI_MATCH_VFIO;           /* a usable cdev */
	scan_into(&f, &r);
	assert_int_equal(r.n, 3);
	f.flags = VNI_PCI_MATCH_NOIOMMU;        /* noiommu-vfio0, noiommu-vfio1 */
	scan_into(&f, &r);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.bdf[0], "0000:00:04.0");
	assert_string_equal(r.bdf[1], "a000:00:05.0");
	f.flags = VNI_PCI_MATCH_VENDOR | VNI_PCI_MATCH_DEVICE;
	f.vendor = 0x1234;
	f.device = 0x11e8;
	scan_into(&f, &r);
	assert_int_equal(r.n, 2);
	f.device = 0x11e9;
	scan_into(&f, &r);
	assert_int_equal(r.n, 0);
}

/* An enumeration that lists the simulated devices 5 times over (20
 * entries): more than the list's first allocation of 16. */
static int (*sim_enum)(int (*fn)(void *arg, const char *name), void *arg);

static int enum_5x(int (*fn)(void *arg, const char *name), void *arg)
{
	for (int i = 0; i < 5; i++) {
		int ret = sim_enum(fn, arg);

		if (ret < 0)
			return ret;
	}
	return 0;
}

/* Fail the nth failable call of a scan for n = 1, 2, ...: a failure of the
 * enumeration or of the list's allocation fails the scan with a message
 * and leaks nothing; a failure reading one device's attributes skips that
 * device (or one field of it) and the scan succeeds. */
static void scan_faults(size_t max, const char *what)
{
	long n, failed = 0;

	for (n = 1; n < 5000; n++) {
		struct vni_pci_dev_info *list = (void *)1;
		struct fake_counts c;
		size_t count = 99;
		bool fired;
		int ret;

		fake_fail_at(n);
		ret = vni_pci_scan(NULL, &list, &count);
		fired = fake_fault_fired();
		fake_fail_at(0);
		if (ret < 0) {
			assert_true(fired);
			assert_true(ret == -EIO || ret == -ENOMEM);
			assert_null(list);
			assert_int_equal(count, 0);
			assert_true(vni_strerror_last()[0] != '\0');
			failed++;
		} else {
			assert_true(count <= max);
			assert_true(count == 0 || list != NULL);
			if (!fired)
				assert_int_equal(count, max);
			vni_pci_list_free(list);
		}
		fake_counts(&c);
		assert_int_equal(c.fds, 0);
		assert_int_equal(c.heap, 0);
		if (!fired)
			break;
	}
	assert_true(n > 10);
	assert_true(failed >= 2); /* the enumeration itself, the list */
	print_message("vni_pci_scan %s: %ld injected faults, %ld failed the scan\n", what,
		      n - 1, failed);
}

static void test_scan_faults(void **state)
{
	struct fake_cfg cfg = vmd_cfg();

	(void)state;
	fake_install(&cfg);
	scan_faults(4, "(VMD config)");
}

static void test_scan_grow(void **state)
{
	struct vni_pci_dev_info *list = NULL;
	size_t n = 0;

	(void)state;
	sim_enum = vnip_sys.pci_enum;
	vnip_sys.pci_enum = enum_5x;
	assert_ok(vni_pci_scan(NULL, &list, &n));
	assert_int_equal(n, 20);
	for (size_t i = 0; i < n; i++) {
		/* 4 addresses, each 5 times, in order */
		assert_string_equal(list[i].bdf, list[i - i % 5].bdf);
		if (i >= 5)
			assert_true(list[i - 5].addr.dev < list[i].addr.dev);
	}
	vni_pci_list_free(list);
	scan_faults(20, "(20 entries)");
	vnip_sys.pci_enum = sim_enum;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_addr_wide, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_get_wide, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_scan_wide_and_bad_names, fake_setup,
						fake_teardown),
		cmocka_unit_test_setup_teardown(test_scan_filters, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_scan_faults, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_scan_grow, fake_setup, fake_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
