/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vni-test-discovery pre|post: device discovery (vni_pci_scan) against what
 * sysfs and /dev say, in a guest with two edu devices.
 *
 *   pre   before binding: both edu devices found by ID with the right class,
 *         no driver, no vfio cdev, no-IOMMU mode off
 *   post  after `vni-vm-bind` of both: driver vfio-pci, the cdev named in
 *         /sys/bus/pci/devices/<BDF>/vfio-dev/ and present in
 *         /dev/vfio/devices as that char device, no-IOMMU mode on, filters,
 *         vni_pci_get, discovery as an unprivileged user, and
 *         vni_device_open_info() reporting the same cdev
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vfionoiommu/util.h>

#include "vmtest.h"

static const char *const edu_bdfs[2] = { EDU_BDF0, EDU_BDF1 };

static int scan(const struct vni_pci_filter *f, struct vni_pci_dev_info **list,
		size_t *n, const char *what)
{
	int ret = vni_pci_scan(f, list, n);

	if (ret < 0)
		vt_ok(false, "vni_pci_scan(%s): %d %s", what, ret, vni_strerror_last());
	return ret;
}

static size_t count_matching(const struct vni_pci_filter *f, const char *what)
{
	struct vni_pci_dev_info *list = NULL;
	size_t n = 0;

	if (scan(f, &list, &n, what) < 0)
		return (size_t)-1;
	vni_pci_list_free(list);
	return n;
}

static int sysfs_iommu_group(const char *bdf)
{
	char path[256], target[256];
	ssize_t n;
	const char *b;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", bdf);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return -1;
	target[n] = '\0';
	b = strrchr(target, '/');
	return atoi(b ? b + 1 : target);
}

static void check_common(const struct vni_pci_dev_info *d, const char *want_bdf)
{
	vt_ok(strcmp(d->bdf, want_bdf) == 0, "%s: found at the expected slot", d->bdf);
	vt_ok(d->vendor == EDU_VENDOR && d->device == EDU_DEVICE,
	      "%s: ID %04x:%04x (want 1234:11e8)", d->bdf, d->vendor, d->device);
	vt_ok(d->class_code == EDU_CLASS, "%s: class %#08x (want 0x00ff00)", d->bdf,
	      d->class_code);
	vt_ok(d->addr.domain == 0 && d->addr.bus == 0 &&
	      d->addr.dev == (strcmp(want_bdf, EDU_BDF0) == 0 ? 4 : 5) && d->addr.fn == 0,
	      "%s: parsed address %04x:%02x:%02x.%x", d->bdf, d->addr.domain,
	      d->addr.bus, d->addr.dev, d->addr.fn);
	vt_ok(d->iommu_group == sysfs_iommu_group(want_bdf),
	      "%s: iommu_group %d matches sysfs (%d)", d->bdf, d->iommu_group,
	      sysfs_iommu_group(want_bdf));
}

static struct vni_pci_dev_info *scan_edu(size_t *n)
{
	struct vni_pci_filter f;
	struct vni_pci_dev_info *list = NULL;

	memset(&f, 0, sizeof(f));
	if (vni_pci_filter_parse_id("1234:11e8", &f) < 0)
		vt_bail("vni_pci_filter_parse_id");
	vt_ok(f.vendor == EDU_VENDOR && f.device == EDU_DEVICE &&
	      f.flags == (VNI_PCI_MATCH_VENDOR | VNI_PCI_MATCH_DEVICE),
	      "vni_pci_filter_parse_id(\"1234:11e8\") sets vendor+device");
	if (scan(&f, &list, n, "1234:11e8") < 0)
		vt_bail("scan failed");
	vt_ok(*n == 2, "scan by ID 1234:11e8 finds %zu devices (want 2)", *n);
	for (size_t i = 0; i < *n; i++)
		vt_diag("found %s %04x:%04x class %06x driver '%s' cdev '%s' noiommu %d group %d",
			list[i].bdf, list[i].vendor, list[i].device, list[i].class_code,
			list[i].driver, list[i].cdev_path, list[i].noiommu,
			list[i].iommu_group);
	if (*n != 2)
		vt_bail("need both edu devices");
	return list;
}

static int pre(void)
{
	size_t n;
	struct vni_pci_dev_info *list = scan_edu(&n);
	int en = vni_noiommu_enabled();

	for (size_t i = 0; i < 2; i++) {
		check_common(&list[i], edu_bdfs[i]);
		vt_ok(list[i].driver[0] == '\0', "%s: no driver before binding ('%s')",
		      list[i].bdf, list[i].driver);
		vt_ok(!list[i].has_cdev && list[i].cdev_path[0] == '\0',
		      "%s: no vfio cdev before binding", list[i].bdf);
	}
	vni_pci_list_free(list);
	vt_ok(en == 0, "vni_noiommu_enabled() = %d before vni-vm-bind (want 0)", en);
	return vt_done();
}

static void check_unprivileged(void)
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		struct vni_pci_filter f = { .flags = VNI_PCI_MATCH_VENDOR | VNI_PCI_MATCH_DEVICE,
					    .vendor = EDU_VENDOR, .device = EDU_DEVICE };
		struct vni_pci_dev_info *list = NULL;
		size_t n = 0;
		int ok = 0;

		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(3);
		if (vni_pci_scan(&f, &list, &n) == 0 && n == 2 && list[0].has_cdev &&
		    list[1].has_cdev && strcmp(list[0].driver, "vfio-pci") == 0)
			ok = 1;
		vni_pci_list_free(list);
		_exit(ok ? 0 : 1);
	}
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		vt_bail("fork");
	vt_ok(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "discovery as uid 65534 sees both devices, driver and cdev (child status %#x)", st);
}

static int post(void)
{
	size_t n;
	struct vni_pci_dev_info *list = scan_edu(&n);
	struct vni_pci_dev_info one;
	struct vni_pci_filter f;
	struct vni_ctx *ctx = NULL;
	int en = vni_noiommu_enabled();
	int ret;

	vt_ok(en == 1, "vni_noiommu_enabled() = %d after vni-vm-bind (want 1)", en);
	for (size_t i = 0; i < 2; i++) {
		const struct vni_pci_dev_info *d = &list[i];
		char name[128], want_path[256], sdev[64], path[300];
		struct stat st;

		check_common(d, edu_bdfs[i]);
		vt_ok(strcmp(d->driver, "vfio-pci") == 0, "%s: driver '%s' (want vfio-pci)",
		      d->bdf, d->driver);
		ret = vt_vfio_dev_name(d->bdf, name, sizeof(name));
		if (ret < 0)
			vt_bail("reading vfio-dev of %s", d->bdf);
		vt_ok(strncmp(name, "noiommu-vfio", 12) == 0,
		      "%s: sysfs vfio-dev/ holds '%s' (noiommu-vfioN)", d->bdf, name);
		vt_ok(d->has_cdev && strcmp(d->cdev_name, name) == 0,
		      "%s: cdev_name '%s' matches sysfs", d->bdf, d->cdev_name);
		snprintf(want_path, sizeof(want_path), "/dev/vfio/devices/%s", name);
		vt_ok(strcmp(d->cdev_path, want_path) == 0, "%s: cdev_path '%s'", d->bdf,
		      d->cdev_path);
		vt_ok(d->noiommu, "%s: flagged as a no-IOMMU device", d->bdf);
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vfio-dev/%s/dev", d->bdf,
			 name);
		if (vt_read_file(path, sdev, sizeof(sdev)) < 0)
			sdev[0] = '\0';
		if (stat(d->cdev_path, &st) == 0) {
			char got[64];

			snprintf(got, sizeof(got), "%u:%u", major(st.st_rdev), minor(st.st_rdev));
			vt_ok(S_ISCHR(st.st_mode) && strcmp(got, sdev) == 0,
			      "%s: %s is char device %s (sysfs dev %s)", d->bdf, d->cdev_path,
			      got, sdev);
		} else {
			vt_ok(false, "%s: stat %s: %s", d->bdf, d->cdev_path, strerror(errno));
		}
	}

	/* Filters. */
	memset(&f, 0, sizeof(f));
	f.flags = VNI_PCI_MATCH_CLASS;
	f.class_code = EDU_CLASS;
	vt_ok(count_matching(&f, "class") == 2, "class filter 0x00ff00 matches both");
	memset(&f, 0, sizeof(f));
	f.flags = VNI_PCI_MATCH_DRIVER;
	f.driver = "vfio-pci";
	vt_ok(count_matching(&f, "driver") == 2, "driver filter vfio-pci matches both");
	memset(&f, 0, sizeof(f));
	f.flags = VNI_PCI_MATCH_NOIOMMU | VNI_PCI_MATCH_VFIO;
	vt_ok(count_matching(&f, "noiommu") == 2, "noiommu+vfio filter matches both");
	memset(&f, 0, sizeof(f));
	f.flags = VNI_PCI_MATCH_ADDR | VNI_PCI_MATCH_VENDOR;
	f.vendor = EDU_VENDOR;
	if (vni_pci_addr_parse("00:05.0", &f.addr) < 0)
		vt_bail("vni_pci_addr_parse");
	vt_ok(count_matching(&f, "addr") == 1, "address filter 00:05.0 matches one");
	memset(&f, 0, sizeof(f));
	f.flags = VNI_PCI_MATCH_VENDOR | VNI_PCI_MATCH_DEVICE;
	f.vendor = EDU_VENDOR;
	f.device = 0x11e9;
	vt_ok(count_matching(&f, "1234:11e9") == 0, "ID filter 1234:11e9 matches none");

	/* vni_pci_get agrees with the scan. */
	ret = vni_pci_get("00:05.0", &one);
	vt_ok(ret == 0 && strcmp(one.bdf, list[1].bdf) == 0 &&
	      strcmp(one.cdev_path, list[1].cdev_path) == 0 &&
	      strcmp(one.driver, list[1].driver) == 0 && one.class_code == list[1].class_code,
	      "vni_pci_get(\"00:05.0\") = %d agrees with the scan", ret);
	ret = vni_pci_get("0000:00:1f.7", &one);
	vt_ok_err(ret, -ENODEV, "vni_pci_get(0000:00:1f.7)", (const char *)NULL);

	check_unprivileged();

	/* Opening from the discovery entry reports the same cdev. */
	ret = vni_ctx_new(&ctx, 0);
	if (ret < 0)
		vt_bail("vni_ctx_new");
	for (size_t i = 0; i < 2; i++) {
		struct vni_device *dev = NULL;
		struct vni_device_info di = { .struct_size = sizeof(di) };

		ret = vni_device_open_info(ctx, &list[i], &dev);
		if (!vt_ok_call(ret, "vni_device_open_info"))
			continue;
		di = (struct vni_device_info){ .struct_size = sizeof(di) };
		ret = vni_device_get_info(dev, &di);
		vt_ok(ret == 0 && strcmp(di.cdev_path, list[i].cdev_path) == 0 &&
		      di.vendor == EDU_VENDOR && di.device == EDU_DEVICE &&
		      di.class_code == EDU_CLASS,
		      "%s: opened %s, config ID %04x:%04x class %06x", vni_device_bdf(dev),
		      di.cdev_path, di.vendor, di.device, di.class_code);
		vt_ok(strcmp(vni_device_bdf(dev), list[i].bdf) == 0, "vni_device_bdf = %s",
		      vni_device_bdf(dev));
		vni_device_close(&dev);
	}
	vni_ctx_destroy(&ctx);
	vni_pci_list_free(list);
	return vt_done();
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 2 && strcmp(argv[1], "pre") == 0)
		return pre();
	if (argc == 2 && strcmp(argv[1], "post") == 0)
		return post();
	fprintf(stderr, "usage: %s pre|post\n", argv[0]);
	return 2;
}
