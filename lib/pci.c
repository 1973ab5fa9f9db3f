/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvfionoiommu - PCI addresses and discovery.
 */
#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libudev.h>

#include "internal.h"

/* Parse exactly n hex digits (n>0) from *sp; advances *sp. */
static bool parse_hex(const char **sp, unsigned int ndigits, unsigned int *out)
{
	const char *s = *sp;
	unsigned int v = 0;

	for (unsigned int i = 0; i < ndigits; i++) {
		int c = (unsigned char)s[i];
		unsigned int d;

		if (c >= '0' && c <= '9')
			d = (unsigned int)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned int)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			d = (unsigned int)(c - 'A' + 10);
		else
			return false;
		v = v * 16 + d;
	}
	*sp = s + ndigits;
	*out = v;
	return true;
}

#define VNIP_DOMAIN_DIGITS 8 /* the domain is 32 bits */

/* The parser behind vni_pci_addr_parse(), silent: a scan tries every sysfs
 * name and must not record an error for the ones it skips. */
static bool addr_parse(const char *s, struct vni_pci_addr *addr)
{
	unsigned int domain = 0, bus, dev, fn;
	size_t len = strlen(s), dlen;
	const char *p;

	/* "BB:DD.F" at the end; before it nothing, or 1-8 digits and ':'. */
	if (len < 7)
		return false;
	p = s + len - 7;
	if (!parse_hex(&p, 2, &bus) || *p++ != ':' ||
	    !parse_hex(&p, 2, &dev) || *p++ != '.' || !parse_hex(&p, 1, &fn))
		return false;
	if (len > 7) {
		dlen = len - 8;
		p = s;
		if (s[dlen] != ':' || dlen == 0 || dlen > VNIP_DOMAIN_DIGITS ||
		    !parse_hex(&p, (unsigned int)dlen, &domain))
			return false;
	}
	if (dev > 0x1f || fn > 7)
		return false;
	memset(addr, 0, sizeof(*addr));
	addr->domain = domain;
	addr->bus = (uint8_t)bus;
	addr->dev = (uint8_t)dev;
	addr->fn = (uint8_t)fn;
	return true;
}

int vni_pci_addr_parse(const char *s, struct vni_pci_addr *addr)
{
	if (!s || !addr)
		return vnip_err(-EINVAL, "vni_pci_addr_parse: NULL argument");
	if (!addr_parse(s, addr))
		return vnip_err(-EINVAL,
				"\"%.64s\" is not a PCI address: expected DDDD:BB:DD.F or BB:DD.F "
				"(hexadecimal, domain of at most 8 digits, device <= 1f, "
				"function <= 7)", s);
	return 0;
}

int vni_pci_addr_format(const struct vni_pci_addr *addr, char *buf, size_t len)
{
	char tmp[VNI_PCI_ADDR_STRLEN];
	int n;

	if (!addr || !buf)
		return vnip_err(-EINVAL, "vni_pci_addr_format: NULL argument");
	if (addr->dev > 0x1f || addr->fn > 7)
		return vnip_err(-EINVAL, "vni_pci_addr_format: device %#x or function %#x out of range",
				addr->dev, addr->fn);
	if (addr->reserved[0])
		return vnip_err(-EINVAL, "vni_pci_addr_format: reserved byte is %#x, not 0",
				addr->reserved[0]);
	/* "%04x" pads to 4 digits and widens by itself, as the kernel's name. */
	n = snprintf(tmp, sizeof(tmp), "%04x:%02x:%02x.%x", (unsigned int)addr->domain,
		     addr->bus, addr->dev, addr->fn);
	if ((size_t)n >= len)
		return vnip_err(-ENOSPC, "vni_pci_addr_format: buffer of %zu bytes, need %d",
				len, n + 1);
	memcpy(buf, tmp, (size_t)n + 1);
	return 0;
}

int vni_noiommu_enabled(void)
{
	char buf[16];
	ssize_t n = vnip_read_file(VNIP_NOIOMMU_PARAM, buf, sizeof(buf));

	if (n == -ENOENT)
		return vnip_err(-ENOENT,
				"%s does not exist: load vfio (modprobe vfio), or use "
				VNIP_NOIOMMU_FIX, VNIP_NOIOMMU_PARAM);
	if (n < 0)
		return vnip_err((int)n, "cannot read %s", VNIP_NOIOMMU_PARAM);
	return buf[0] == 'Y' || buf[0] == 'y' || buf[0] == '1';
}

/* 1 to 4 hexadecimal digits, nothing else (no "0x", sign or space). */
static const char *parse_id16(const char *p, uint16_t *out)
{
	unsigned int v = 0;
	int n;

	for (n = 0; n < 4 && isxdigit((unsigned char)p[n]); n++)
		v = v * 16 + (unsigned int)(isdigit((unsigned char)p[n]) ?
			p[n] - '0' : (tolower((unsigned char)p[n]) - 'a' + 10));
	if (n == 0 || isxdigit((unsigned char)p[n]))
		return NULL;
	*out = (uint16_t)v;
	return p + n;
}

int vni_pci_filter_parse_id(const char *s, struct vni_pci_filter *filter)
{
	const char *p;
	uint16_t vendor, device;

	if (!s || !filter)
		return vnip_err(-EINVAL, "vni_pci_filter_parse_id: NULL argument");
	p = parse_id16(s, &vendor);
	if (!p || (*p != '\0' && *p != ':'))
		goto bad;
	if (*p == '\0' || p[1] == '\0') {
		filter->vendor = vendor;
		filter->flags |= VNI_PCI_MATCH_VENDOR;
		return 0;
	}
	p = parse_id16(p + 1, &device);
	if (!p || *p != '\0')
		goto bad;
	filter->vendor = vendor;
	filter->device = device;
	filter->flags |= VNI_PCI_MATCH_VENDOR | VNI_PCI_MATCH_DEVICE;
	return 0;
bad:
	return vnip_err(-EINVAL, "\"%.64s\" is not VVVV[:DDDD] (hexadecimal IDs)", s);
}

static int read_hex_attr(const char *dir, const char *attr, unsigned long *out)
{
	char path[512], buf[32];
	char *end;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, attr);
	n = vnip_read_file(path, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	errno = 0;
	*out = strtoul(buf, &end, 16);
	if (errno || end == buf)
		return -EIO;
	return 0;
}

static bool is_vfio_cdev(const char *name)
{
	return strncmp(name, "noiommu-vfio", 12) == 0 ||
	       strncmp(name, "vfio", 4) == 0;
}

/* Fill info from /sys/bus/pci/devices/<bdf>; returns 0 or -errno (no message). */
static int fill_info(const char *bdf, struct vni_pci_dev_info *info)
{
	char dir[256], path[512], buf[128];
	unsigned long v;
	int ret;

	memset(info, 0, sizeof(*info));
	info->iommu_group = -1;
	if (!addr_parse(bdf, &info->addr))
		return -EINVAL;
	/* cannot fail: a parsed address, a buffer of VNI_PCI_ADDR_STRLEN */
	vni_pci_addr_format(&info->addr, info->bdf, sizeof(info->bdf));
	snprintf(dir, sizeof(dir), "%s/%s", VNIP_SYSFS_PCI, info->bdf);

	ret = read_hex_attr(dir, "vendor", &v);
	if (ret < 0)
		return ret == -ENOENT ? -ENODEV : ret;
	info->vendor = (uint16_t)v;
	if (read_hex_attr(dir, "device", &v) == 0)
		info->device = (uint16_t)v;
	if (read_hex_attr(dir, "subsystem_vendor", &v) == 0)
		info->subsystem_vendor = (uint16_t)v;
	if (read_hex_attr(dir, "subsystem_device", &v) == 0)
		info->subsystem_device = (uint16_t)v;
	if (read_hex_attr(dir, "class", &v) == 0)
		info->class_code = (uint32_t)v & 0xffffff;

	snprintf(path, sizeof(path), "%s/driver", dir);
	if (vnip_readlink_base(path, info->driver, sizeof(info->driver)) < 0)
		info->driver[0] = '\0';

	snprintf(path, sizeof(path), "%s/iommu_group", dir);
	if (vnip_readlink_base(path, buf, sizeof(buf)) == 0 &&
	    vnip_parse_group(buf) >= 0) {
		char name[64];

		info->iommu_group = vnip_parse_group(buf);
		snprintf(path, sizeof(path), "/sys/kernel/iommu_groups/%d/name",
			 info->iommu_group);
		if (vnip_read_file(path, name, sizeof(name)) > 0 &&
		    strcmp(name, "vfio-noiommu") == 0)
			info->noiommu = true;
	}

	snprintf(path, sizeof(path), "%s/vfio-dev", dir);
	if (vnip_dir_find(path, is_vfio_cdev, buf, sizeof(buf)) == 1 &&
	    strlen(buf) < sizeof(info->cdev_name)) {
		memcpy(info->cdev_name, buf, strlen(buf) + 1); /* length checked above */
		snprintf(info->cdev_path, sizeof(info->cdev_path), "%s/%s",
			 VNIP_DEV_VFIO_DEVICES, info->cdev_name);
		if (strncmp(buf, "noiommu-", 8) == 0)
			info->noiommu = true;
		/* sysfs announces the cdev; usable only if /dev has the node. */
		info->has_cdev = vnip_cdev_node_check(info->bdf, info->cdev_name) == 0;
	}
	return 0;
}

int vni_pci_get(const char *bdf, struct vni_pci_dev_info *info)
{
	struct vni_pci_addr addr;
	int ret;

	if (!bdf || !info)
		return vnip_err(-EINVAL, "vni_pci_get: NULL argument");
	ret = vni_pci_addr_parse(bdf, &addr);
	if (ret < 0)
		return ret;
	ret = fill_info(bdf, info);
	if (ret == -ENODEV)
		return vnip_err(-ENODEV, "no PCI device %s (%s/%s does not exist)",
				bdf, VNIP_SYSFS_PCI, info->bdf);
	if (ret < 0)
		return vnip_err(ret, "cannot read %s/%s", VNIP_SYSFS_PCI, info->bdf);
	return 0;
}

static bool filter_match(const struct vni_pci_filter *f,
			 const struct vni_pci_dev_info *d)
{
	if (!f)
		return true;
	if ((f->flags & VNI_PCI_MATCH_VENDOR) && d->vendor != f->vendor)
		return false;
	if ((f->flags & VNI_PCI_MATCH_DEVICE) && d->device != f->device)
		return false;
	if (f->flags & VNI_PCI_MATCH_CLASS) {
		uint32_t mask = f->class_mask ? f->class_mask : 0xffffff;

		if ((d->class_code & mask) != (f->class_code & mask))
			return false;
	}
	if ((f->flags & VNI_PCI_MATCH_ADDR) &&
	    (d->addr.domain != f->addr.domain || d->addr.bus != f->addr.bus ||
	     d->addr.dev != f->addr.dev || d->addr.fn != f->addr.fn))
		return false;
	if ((f->flags & VNI_PCI_MATCH_DRIVER) &&
	    strcmp(d->driver, f->driver ? f->driver : "") != 0)
		return false;
	if ((f->flags & VNI_PCI_MATCH_VFIO) && !d->has_cdev)
		return false;
	if ((f->flags & VNI_PCI_MATCH_NOIOMMU) && !d->noiommu)
		return false;
	return true;
}

/* Room for later match fields: what this version does not know must be 0. */
static int filter_check(const struct vni_pci_filter *f)
{
	const uint32_t known = VNI_PCI_MATCH_VENDOR | VNI_PCI_MATCH_DEVICE |
		VNI_PCI_MATCH_CLASS | VNI_PCI_MATCH_ADDR | VNI_PCI_MATCH_DRIVER |
		VNI_PCI_MATCH_VFIO | VNI_PCI_MATCH_NOIOMMU;

	if (f->flags & ~known)
		return vnip_err(-EINVAL, "vni_pci_scan: unknown filter flags %#x",
				f->flags & ~known);
	for (size_t i = 0; i < VNIP_ARRAY_SIZE(f->reserved); i++)
		if (f->reserved[i])
			return vnip_err(-EINVAL, "vni_pci_scan: filter reserved[%zu] is not 0 "
					"(initialize the filter with {0})", i);
	if (f->addr.reserved[0])
		return vnip_err(-EINVAL, "vni_pci_scan: filter addr.reserved is not 0");
	return 0;
}

static int cmp_info(const void *a, const void *b)
{
	const struct vni_pci_addr *x = &((const struct vni_pci_dev_info *)a)->addr;
	const struct vni_pci_addr *y = &((const struct vni_pci_dev_info *)b)->addr;

	if (x->domain != y->domain)
		return x->domain < y->domain ? -1 : 1;
	if (x->bus != y->bus)
		return x->bus < y->bus ? -1 : 1;
	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	return (int)x->fn - (int)y->fn;
}

int vnip_pci_enum_udev(int (*fn)(void *arg, const char *name), void *arg)
{
	struct udev *udev;
	struct udev_enumerate *en;
	struct udev_list_entry *e;
	int ret = -ENOMEM;

	udev = udev_new();
	if (!udev)
		return -ENOMEM;
	en = udev_enumerate_new(udev);
	if (!en)
		goto out;
	ret = udev_enumerate_add_match_subsystem(en, "pci");
	if (ret >= 0)
		ret = udev_enumerate_scan_devices(en);
	if (ret < 0)
		goto unref;
	udev_list_entry_foreach(e, udev_enumerate_get_list_entry(en)) {
		const char *name = strrchr(udev_list_entry_get_name(e), '/');

		ret = name ? fn(arg, name + 1) : 0;
		if (ret < 0)
			break;
	}
unref:
	udev_enumerate_unref(en);
out:
	udev_unref(udev);
	return ret < 0 ? ret : 0;
}

struct scan {
	const struct vni_pci_filter *filter;
	struct vni_pci_dev_info *arr;
	size_t n, cap;
	bool failed;    /* scan_one() failed and recorded why */
};

static int scan_one(void *arg, const char *name)
{
	struct scan *sc = arg;
	struct vni_pci_dev_info info;

	/* Not a function address ("zzzz:00:00.0"?) or vanished: skip it,
	 * silently, since the scan as a whole succeeds. */
	if (fill_info(name, &info) < 0 || !filter_match(sc->filter, &info))
		return 0;
	if (sc->n == sc->cap) {
		size_t ncap = sc->cap ? sc->cap * 2 : 16;
		struct vni_pci_dev_info *na = vnip_calloc(ncap, sizeof(*na));

		if (!na) {
			sc->failed = true;
			return vnip_err(-ENOMEM, "out of memory listing PCI devices");
		}
		if (sc->n)
			memcpy(na, sc->arr, sc->n * sizeof(*na));
		vnip_free(sc->arr);
		sc->arr = na;
		sc->cap = ncap;
	}
	sc->arr[sc->n++] = info;
	return 0;
}

int vni_pci_scan(const struct vni_pci_filter *filter,
		 struct vni_pci_dev_info **list, size_t *count)
{
	struct scan sc = { .filter = filter };
	int ret;

	if (!list || !count)
		return vnip_err(-EINVAL, "vni_pci_scan: NULL argument");
	*list = NULL;
	*count = 0;
	ret = filter ? filter_check(filter) : 0;
	if (ret < 0)
		return ret;
	ret = vnip_sys.pci_enum(scan_one, &sc);
	if (ret < 0) {
		vnip_free(sc.arr);
		return sc.failed ? ret : vnip_err(ret, "cannot enumerate PCI devices with libudev");
	}
	if (sc.n)
		qsort(sc.arr, sc.n, sizeof(*sc.arr), cmp_info);
	*list = sc.arr;
	*count = sc.n;
	return 0;
}

void vni_pci_list_free(struct vni_pci_dev_info *list)
{
	vnip_free(list);
}
