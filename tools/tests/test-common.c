/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of tools/common.c (argument parsing, output formatting, JSON)
 * and tools/devcheck.c (class devices below a PCI device on a fake sysfs
 * tree; block device use from canned mountinfo/swaps files).
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../common.h"
#include "../devcheck.h"

static void test_parse_u64(void **state)
{
	uint64_t v = 0;

	(void)state;
	assert_int_equal(vt_parse_u64("0", 10, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(vt_parse_u64("4096", UINT64_MAX, &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(vt_parse_u64("0x1000", UINT64_MAX, &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(vt_parse_u64("18446744073709551615", UINT64_MAX, &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(vt_parse_u64("18446744073709551616", UINT64_MAX, &v), -ERANGE);
	assert_int_equal(vt_parse_u64("11", 10, &v), -ERANGE);
	assert_int_equal(vt_parse_u64("", 10, &v), -EINVAL);
	assert_int_equal(vt_parse_u64("-1", UINT64_MAX, &v), -EINVAL);
	assert_int_equal(vt_parse_u64("+1", UINT64_MAX, &v), -EINVAL);
	assert_int_equal(vt_parse_u64(" 1", UINT64_MAX, &v), -EINVAL);
	assert_int_equal(vt_parse_u64("1x", UINT64_MAX, &v), -EINVAL);
	assert_int_equal(vt_parse_u64(NULL, UINT64_MAX, &v), -EINVAL);
}

static void test_parse_size(void **state)
{
	static const struct {
		const char *s;
		uint64_t v;
	} ok[] = {
		{ "0", 0 }, { "1", 1 }, { "512B", 512 }, { "512b", 512 },
		{ "4K", 4096 }, { "4k", 4096 }, { "4KiB", 4096 }, { "4kb", 4096 },
		{ "2M", 2 << 20 }, { "2MiB", 2 << 20 }, { "1G", 1ull << 30 },
		{ "3g", 3ull << 30 }, { "1T", 1ull << 40 }, { "0x1000", 4096 },
		{ "0x2M", 2 << 20 }, { "16777215T", 16777215ull << 40 },
	};
	static const char *const bad[] = {
		"", "K", "4Q", "4 K", "4KK", "-4K", "4.5M", "M4", "4Kx", "0x", "4iB",
	};
	uint64_t v;

	(void)state;
	for (size_t i = 0; i < VT_ARRAY_SIZE(ok); i++) {
		v = 12345;
		assert_int_equal(vt_parse_size(ok[i].s, &v), 0);
		assert_true(v == ok[i].v);
	}
	for (size_t i = 0; i < VT_ARRAY_SIZE(bad); i++) {
		v = 12345;
		if (vt_parse_size(bad[i], &v) == 0)
			fail_msg("\"%s\" parsed as %llu", bad[i], (unsigned long long)v);
		assert_true(v == 12345); /* untouched on failure */
	}
	assert_int_equal(vt_parse_size("16777216T", &v), -ERANGE);
	assert_int_equal(vt_parse_size("99999999999999999999", &v), -ERANGE);
}

static void test_parse_class(void **state)
{
	uint32_t code = 0, mask = 0;

	(void)state;
	assert_int_equal(vt_parse_class("02", &code, &mask), 0);
	assert_int_equal(code, 0x020000);
	assert_int_equal(mask, 0xff0000);
	assert_int_equal(vt_parse_class("0108", &code, &mask), 0);
	assert_int_equal(code, 0x010800);
	assert_int_equal(mask, 0xffff00);
	assert_int_equal(vt_parse_class("010802", &code, &mask), 0);
	assert_int_equal(code, 0x010802);
	assert_int_equal(mask, 0xffffff);
	assert_int_equal(vt_parse_class("0x00FF00", &code, &mask), 0);
	assert_int_equal(code, 0x00ff00);
	assert_int_equal(vt_parse_class("1", &code, &mask), -EINVAL);
	assert_int_equal(vt_parse_class("010", &code, &mask), -EINVAL);
	assert_int_equal(vt_parse_class("01080200", &code, &mask), -EINVAL);
	assert_int_equal(vt_parse_class("0g", &code, &mask), -EINVAL);
	assert_int_equal(vt_parse_class("", &code, &mask), -EINVAL);
	assert_int_equal(vt_parse_class(NULL, &code, &mask), -EINVAL);
}

static void test_parse_bdf(void **state)
{
	char buf[VNI_PCI_ADDR_STRLEN];

	(void)state;
	assert_int_equal(vt_parse_bdf("0000:00:04.0", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "0000:00:04.0");
	assert_int_equal(vt_parse_bdf("00:05.0", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "0000:00:05.0");
	assert_int_equal(vt_parse_bdf("ABCD:EF:1F.7", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "abcd:ef:1f.7");
	assert_int_equal(vt_parse_bdf("10000:00:00.0", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "10000:00:00.0");
	assert_int_equal(vt_parse_bdf("FFFFFFFF:ff:1f.7", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "ffffffff:ff:1f.7");
	assert_int_equal(vt_parse_bdf("100000000:00:00.0", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(vt_parse_bdf("00:20.0", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(vt_parse_bdf("00:04.8", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(vt_parse_bdf("0000:00:04.0x", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(vt_parse_bdf("eth0", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(vt_parse_bdf("00:04.0", buf, 5), -EINVAL);
}

static void test_format_size(void **state)
{
	static const struct {
		uint64_t v;
		const char *s;
	} cases[] = {
		{ 0, "0 B" }, { 1, "1 B" }, { 1023, "1023 B" }, { 1024, "1 KiB" },
		{ 1536, "1.5 KiB" }, { 4096, "4 KiB" }, { 1048576, "1 MiB" },
		{ 2 << 20, "2 MiB" }, { (1 << 20) + 1, "1.0 MiB" },
		{ (2 << 20) - 1, "2.0 MiB" }, { 1ull << 30, "1 GiB" },
		{ 3ull << 40, "3 TiB" }, { 1ull << 60, "1 EiB" },
		{ UINT64_MAX, "16.0 EiB" },
	};
	char buf[32];

	(void)state;
	for (size_t i = 0; i < VT_ARRAY_SIZE(cases); i++)
		assert_string_equal(vt_format_size(cases[i].v, buf, sizeof(buf)), cases[i].s);
	/* truncation is safe */
	assert_string_equal(vt_format_size(4096, buf, 3), "4 ");
}

static void test_format_flags(void **state)
{
	static const char *const names[] = { "read", "write", NULL, "caps" };
	char buf[64];

	(void)state;
	assert_string_equal(vt_format_flags(0, names, 4, buf, sizeof(buf)), "-");
	assert_string_equal(vt_format_flags(3, names, 4, buf, sizeof(buf)), "read,write");
	assert_string_equal(vt_format_flags(0xc, names, 4, buf, sizeof(buf)), "bit2,caps");
	assert_string_equal(vt_format_flags(0x81, names, 4, buf, sizeof(buf)), "read,bit7");
	/* a too small buffer keeps whole names only */
	assert_string_equal(vt_format_flags(3, names, 4, buf, 8), "read");
}

static void test_class_name(void **state)
{
	(void)state;
	assert_string_equal(vt_pci_class_name(0x010802), "storage");
	assert_string_equal(vt_pci_class_name(0x020000), "network");
	assert_string_equal(vt_pci_class_name(0x00ff00), "unclassified");
	assert_string_equal(vt_pci_class_name(0xff0000), "other");
	assert_string_equal(vt_pci_class_name(0x400000), "?");
}

static char *json_of(void (*fn)(struct vt_json *))
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct vt_json j;

	assert_non_null(f);
	vt_json_init(&j, f);
	fn(&j);
	fclose(f);
	return buf;
}

static void json_doc(struct vt_json *j)
{
	vt_json_begin_object(j);
	vt_json_kv_string(j, "s", "a\"b\\c\n\t\x01");
	vt_json_kv_u64(j, "u", UINT64_MAX);
	vt_json_kv_i64(j, "i", -5);
	vt_json_kv_bool(j, "t", true);
	vt_json_kv_string(j, "n", NULL);
	vt_json_kv_hex(j, "h", 0x1234, 8);
	vt_json_key(j, "a");
	vt_json_begin_array(j);
	vt_json_u64(j, 1);
	vt_json_begin_object(j);
	vt_json_end(j);
	vt_json_begin_array(j);
	vt_json_end(j);
	vt_json_null(j);
	vt_json_end(j);
	vt_json_key(j, "o");
	vt_json_begin_object(j);
	vt_json_kv_bool(j, "f", false);
	vt_json_end(j);
	vt_json_end(j);
}

static void json_empty_array(struct vt_json *j)
{
	vt_json_begin_array(j);
	vt_json_end(j);
}

static void test_json(void **state)
{
	char *s;

	(void)state;
	s = json_of(json_doc);
	assert_string_equal(s,
		"{\"s\": \"a\\\"b\\\\c\\n\\t\\u0001\", \"u\": 18446744073709551615, "
		"\"i\": -5, \"t\": true, \"n\": null, \"h\": \"0x00001234\", "
		"\"a\": [1, {}, [], null], \"o\": {\"f\": false}}\n");
	free(s);
	s = json_of(json_empty_array);
	assert_string_equal(s, "[]\n");
	free(s);
}

/* ---- devcheck ---------------------------------------------------------------- */

static char tmpdir[256];

static void write_text(const char *rel, const char *text)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void mkdirs(const char *rel)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
	for (char *p = path + strlen(tmpdir) + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			mkdir(path, 0755);
			*p = '/';
		}
	}
	mkdir(path, 0755);
}

static void symlink_rel(const char *target, const char *rel)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
	assert_int_equal(symlink(target, path), 0);
}

static int setup_tree(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/vni-tools-test-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	/* Two PCI devices: 06.0 (NVMe with a disk and a partition), 03.0 (a NIC),
	 * and 06.1, whose path shares a prefix with 06.0's but is not below it. */
	mkdirs("devices/pci0000:00/0000:00:06.0/nvme/nvme0/nvme0n1/nvme0n1p1");
	mkdirs("devices/pci0000:00/0000:00:06.1/nvme/nvme1/nvme1n1");
	mkdirs("devices/pci0000:00/0000:00:03.0/net/eth0");
	mkdirs("devices/pci0000:00/0000:00:07.0/virtio1/net/eth1");
	mkdirs("devices/virtual/net/lo");
	mkdirs("bus/pci/devices");
	mkdirs("class/block");
	mkdirs("class/net");
	symlink_rel("../../../devices/pci0000:00/0000:00:06.0", "bus/pci/devices/0000:00:06.0");
	symlink_rel("../../../devices/pci0000:00/0000:00:06.1", "bus/pci/devices/0000:00:06.1");
	symlink_rel("../../../devices/pci0000:00/0000:00:03.0", "bus/pci/devices/0000:00:03.0");
	symlink_rel("../../../devices/pci0000:00/0000:00:07.0", "bus/pci/devices/0000:00:07.0");
	symlink_rel("../../devices/pci0000:00/0000:00:06.0/nvme/nvme0/nvme0n1",
		    "class/block/nvme0n1");
	symlink_rel("../../devices/pci0000:00/0000:00:06.0/nvme/nvme0/nvme0n1/nvme0n1p1",
		    "class/block/nvme0n1p1");
	symlink_rel("../../devices/pci0000:00/0000:00:06.1/nvme/nvme1/nvme1n1",
		    "class/block/nvme1n1");
	symlink_rel("../../devices/pci0000:00/0000:00:03.0/net/eth0", "class/net/eth0");
	symlink_rel("../../devices/pci0000:00/0000:00:07.0/virtio1/net/eth1", "class/net/eth1");
	symlink_rel("../../devices/virtual/net/lo", "class/net/lo");
	mkdirs("class/block/nvme0n1/holders");
	write_text("class/block/nvme0n1/dev", "259:0\n");
	mkdirs("class/block/nvme0n1p1/holders");
	write_text("class/block/nvme0n1p1/dev", "259:1\n");
	mkdirs("class/block/nvme1n1/holders/dm-0");
	write_text("class/block/nvme1n1/dev", "259:2\n");
	write_text("mountinfo",
		   "22 1 0:21 / / rw,relatime shared:1 - overlay overlay rw\n"
		   "30 22 259:1 / /mnt/data\\040dir rw,relatime shared:5 - ext4 /dev/nvme0n1p1 rw\n"
		   "31 22 0:44 / /srv rw - btrfs /dev/sdz1 rw\n"
		   "32 22 0:45 /sub /home rw master:3 propagation_from:2 - btrfs /dev/sdz2 rw\n");
	write_text("swaps",
		   "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
		   "/dev/sdz3                               partition\t1048572\t\t0\t\t-2\n");
	setenv("VNI_SYSFS_ROOT", tmpdir, 1);
	return 0;
}

static int teardown_tree(void **state)
{
	char cmd[PATH_MAX + 16];

	(void)state;
	unsetenv("VNI_SYSFS_ROOT");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_children(void **state)
{
	char names[4][DEVCHECK_NAME_LEN];
	size_t n = 99;

	(void)state;
	assert_int_equal(devcheck_children("0000:00:06.0", "block", names, 4, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(names[0], "nvme0n1");
	assert_string_equal(names[1], "nvme0n1p1");

	assert_int_equal(devcheck_children("0000:00:06.1", "block", names, 4, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(names[0], "nvme1n1");

	assert_int_equal(devcheck_children("0000:00:03.0", "net", names, 4, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(names[0], "eth0");

	/* deeper below the device (virtio) */
	assert_int_equal(devcheck_children("0000:00:07.0", "net", names, 4, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(names[0], "eth1");

	assert_int_equal(devcheck_children("0000:00:03.0", "block", names, 4, &n), 0);
	assert_int_equal(n, 0);
	/* a class that does not exist: nothing, not an error */
	assert_int_equal(devcheck_children("0000:00:03.0", "nosuchclass", names, 4, &n), 0);
	assert_int_equal(n, 0);
	/* more than fit: the count says so */
	assert_int_equal(devcheck_children("0000:00:06.0", "block", names, 1, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(devcheck_children("0000:00:1f.0", "net", names, 4, &n), -ENODEV);
	assert_int_equal(devcheck_children(NULL, "net", names, 4, &n), -EINVAL);
}

static void test_block(void **state)
{
	struct devcheck_result r;
	char mi[PATH_MAX], sw[PATH_MAX];

	(void)state;
	snprintf(mi, sizeof(mi), "%s/mountinfo", tmpdir);
	snprintf(sw, sizeof(sw), "%s/swaps", tmpdir);

	/* the whole disk: not mounted itself */
	assert_int_equal(devcheck_block("nvme0n1", NULL, mi, sw, &r), 0);
	assert_string_equal(r.devnum, "259:0");
	assert_false(devcheck_busy(&r));

	/* its partition is mounted (major:minor and source both match: one line) */
	assert_int_equal(devcheck_block("nvme0n1p1", NULL, mi, sw, &r), 0);
	assert_true(devcheck_busy(&r));
	assert_int_equal(r.nreasons, 1);
	assert_non_null(strstr(r.reasons[0], "mounted on /mnt/data dir (ext4)"));

	/* held by device-mapper */
	assert_int_equal(devcheck_block("nvme1n1", NULL, mi, sw, &r), 0);
	assert_int_equal(r.nreasons, 1);
	assert_non_null(strstr(r.reasons[0], "held by dm-0"));

	/* btrfs: anonymous major:minor, found by source; optional fields skipped */
	assert_int_equal(devcheck_block("sdz2", "8:2", mi, sw, &r), 0);
	assert_int_equal(r.nreasons, 1);
	assert_non_null(strstr(r.reasons[0], "mounted on /home (btrfs)"));

	/* swap */
	assert_int_equal(devcheck_block("sdz3", "8:3", mi, sw, &r), 0);
	assert_int_equal(r.nreasons, 1);
	assert_non_null(strstr(r.reasons[0], "active swap"));

	/* nothing */
	assert_int_equal(devcheck_block("sdz9", "8:9", mi, sw, &r), 0);
	assert_false(devcheck_busy(&r));

	/* unknown device without devnum; unreadable mountinfo */
	assert_int_equal(devcheck_block("nosuch", NULL, mi, sw, &r), -ENOENT);
	assert_int_equal(devcheck_block("sdz9", "8:9", "/nonexistent/mountinfo", sw, &r),
			 -ENOENT);
	assert_int_equal(devcheck_block(NULL, "8:9", mi, sw, &r), -EINVAL);
}

static void test_unescape(void **state)
{
	char s[] = "a\\040b\\011c\\134d\\9x\\04";

	(void)state;
	devcheck_unescape(s);
	assert_string_equal(s, "a b\tc\\d\\9x\\04");
}

static void test_real_mountinfo(void **state)
{
	struct devcheck_result r;

	(void)state;
	/* the real files parse; a made-up device is not in use */
	unsetenv("VNI_SYSFS_ROOT");
	assert_int_equal(devcheck_block("vni-no-such-disk", "4095:1048575", NULL, NULL, &r), 0);
	assert_false(devcheck_busy(&r));
	setenv("VNI_SYSFS_ROOT", tmpdir, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_u64),
		cmocka_unit_test(test_parse_size),
		cmocka_unit_test(test_parse_class),
		cmocka_unit_test(test_parse_bdf),
		cmocka_unit_test(test_format_size),
		cmocka_unit_test(test_format_flags),
		cmocka_unit_test(test_class_name),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_unescape),
		cmocka_unit_test_setup_teardown(test_children, setup_tree, teardown_tree),
		cmocka_unit_test_setup_teardown(test_block, setup_tree, teardown_tree),
		cmocka_unit_test(test_real_mountinfo),
	};

	return cmocka_run_group_tests_name("tools-common", tests, NULL, NULL);
}
