// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * noiommu-hotreset [BDF]: VFIO_DEVICE_PCI_HOT_RESET in its iommufd form
 * (count 0: the devices to reset are named by the iommufd the calling
 * cdev is bound to) on a noiommu device, default the NVMe controller at
 * 0000:00:06.0.
 *
 * vfio-pci resets through the slot (a hotplug slot with a reset method)
 * or through the bus (a secondary bus reset of the bridge above the
 * device); with neither, both VFIO_DEVICE_GET_PCI_HOT_RESET_INFO and
 * VFIO_DEVICE_PCI_HOT_RESET fail with ENODEV. The expected outcome is
 * derived from the topology in sysfs, not from the result:
 *
 *  - device on a root bus (its sysfs parent is pci<domain>:<bus>, so no
 *    bridge to reset) and no reset-capable slot: ENODEV from both;
 *  - device behind a bridge: INFO succeeds with VFIO_PCI_HOT_RESET_FLAG_DEV_ID
 *    and lists this device by its iommufd dev_id, and the reset succeeds.
 *
 * Either way: argument checks that come first (flags, a group count on a
 * cdev) give EINVAL; an fd that is not bound yet gets EINVAL; and the
 * device still answers afterwards (NVMe version register through BAR0).
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kt-iommufd.h"
#include "kt-tap.h"

#define NVME_VS 0x08

static int hot_reset(int devfd, uint32_t flags, uint32_t count, uint32_t argsz)
{
	/* The header and one group fd (-1), for the count = 1 case. */
	_Alignas(8) uint8_t raw[sizeof(struct vfio_pci_hot_reset) + sizeof(int32_t)];
	struct vfio_pci_hot_reset *h = (struct vfio_pci_hot_reset *)raw;
	int32_t none = -1;

	memset(raw, 0, sizeof(raw));
	h->argsz = argsz ? argsz : (uint32_t)sizeof(*h);
	h->flags = flags;
	h->count = count;
	memcpy(raw + sizeof(*h), &none, sizeof(none));
	return ioctl(devfd, VFIO_DEVICE_PCI_HOT_RESET, raw) ? -errno : 0;
}

static int reset_info(int devfd, struct vfio_pci_hot_reset_info *info, size_t size)
{
	memset(info, 0, size);
	info->argsz = (uint32_t)size;
	return ioctl(devfd, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, info) ? -errno : 0;
}

/* NVMe VS register through the BAR0 region of the vfio fd: 0 or -errno. */
static int nvme_version(int devfd, uint32_t *vs)
{
	struct vfio_region_info ri = { .argsz = sizeof(ri), .index = VFIO_PCI_BAR0_REGION_INDEX };

	if (ioctl(devfd, VFIO_DEVICE_GET_REGION_INFO, &ri))
		return -errno;
	if (pread(devfd, vs, sizeof(*vs), (off_t)(ri.offset + NVME_VS)) != sizeof(*vs))
		return -EIO;
	return 0;
}

/* Root bus: the device's sysfs parent is the host bridge node "pciDDDD:BB". */
static bool on_root_bus(const char *bdf)
{
	char path[PATH_MAX], real[PATH_MAX];
	const char *base;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/..", bdf);
	if (!realpath(path, real))
		kt_bail("realpath %s: %s", path, strerror(errno));
	base = strrchr(real, '/');
	base = base ? base + 1 : real;
	kt_diag("%s: parent in sysfs: %s", bdf, real);
	return !strncmp(base, "pci", 3);
}

int main(int argc, char **argv)
{
	const char *bdf = argc > 1 ? argv[1] : "0000:00:06.0";
	_Alignas(8) uint8_t raw[sizeof(struct vfio_pci_hot_reset_info) +
				16 * sizeof(struct vfio_pci_dependent_device)];
	struct vfio_pci_hot_reset_info *info = (struct vfio_pci_hot_reset_info *)raw;
	int unbound, ret, want;
	bool root, listed = false;
	uint32_t vs = 0, dev_id = 0, i;
	struct kt_ctx c;

	kt_start("noiommu-hotreset");
	root = on_root_bus(bdf);
	want = root ? -ENODEV : 0;
	kt_diag("%s is %s: expecting %s from the hot reset", bdf,
		root ? "on a root bus (no bridge to reset, no reset-capable slot)"
		     : "behind a bridge", kt_errname(want));

	/* Not bound yet: vfio refuses device ioctls with EINVAL. */
	unbound = kt_open_cdev(bdf);
	if (unbound < 0)
		kt_bail("open the noiommu cdev of %s: %s", bdf, kt_errname(unbound));
	ret = hot_reset(unbound, 0, 0, 0);
	kt_check(ret == -EINVAL, "hot reset on an fd not bound to iommufd: %s (want EINVAL)",
		 kt_errname(ret));
	close(unbound);

	if (kt_ctx_open(&c, bdf, true))
		kt_bail("cannot open %s through its noiommu cdev", bdf);
	ret = nvme_version(c.devfd, &vs);
	kt_check(!ret && vs && vs != UINT32_MAX, "NVMe version register before: %#x: %s", vs,
		 kt_errname(ret));

	ret = hot_reset(c.devfd, 1, 0, 0);
	kt_check(ret == -EINVAL, "hot reset with flags 1: %s (want EINVAL)", kt_errname(ret));
	ret = hot_reset(c.devfd, 0, 1, 0);
	kt_check(ret == -EINVAL, "hot reset with a group count of 1 on a cdev: %s (want EINVAL)",
		 kt_errname(ret));
	ret = hot_reset(c.devfd, 0, 0, 8);
	kt_check(ret == -EINVAL, "hot reset with argsz 8: %s (want EINVAL)", kt_errname(ret));

	ret = reset_info(c.devfd, info, sizeof(raw));
	if (!ret) {
		for (i = 0; i < info->count && i < 16; i++) {
			kt_diag("reset info: device %u: devid %u", i, info->devices[i].devid);
			if (info->devices[i].devid == c.dev_id)
				listed = true;
		}
	}
	dev_id = c.dev_id;
	if (root)
		kt_check(ret == -ENODEV, "VFIO_DEVICE_GET_PCI_HOT_RESET_INFO: %s (want ENODEV)",
			 kt_errname(ret));
	else
		kt_check(!ret && (info->flags & VFIO_PCI_HOT_RESET_FLAG_DEV_ID) && listed,
			 "VFIO_DEVICE_GET_PCI_HOT_RESET_INFO: %s, flags %#x, %u devices, dev_id %u "
			 "listed: %s", kt_errname(ret), info->flags, info->count, dev_id,
			 listed ? "yes" : "no");

	ret = hot_reset(c.devfd, 0, 0, 0);
	kt_check(ret == want, "VFIO_DEVICE_PCI_HOT_RESET, count 0 (iommufd form): %s (want %s)",
		 kt_errname(ret), kt_errname(want));

	ret = nvme_version(c.devfd, &vs);
	kt_check(!ret && vs && vs != UINT32_MAX, "NVMe version register after: %#x: %s", vs,
		 kt_errname(ret));

	kt_ctx_close(&c);
	return kt_finish();
}
