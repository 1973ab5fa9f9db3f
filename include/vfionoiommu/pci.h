/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvfionoiommu - PCI addresses and device discovery.
 *
 * Discovery reads sysfs (through libudev) and never opens a device: it works
 * as any user and is safe to call while devices are in use.
 */
#ifndef VFIONOIOMMU_PCI_H
#define VFIONOIOMMU_PCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vfionoiommu/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * struct vni_pci_addr - a PCI address (domain:bus:device.function)
 * @domain:   PCI domain (segment), 32 bits: Intel VMD puts the devices behind
 *            it in domains from 0x10000 up
 * @bus:      bus number (0..0xff)
 * @dev:      device number (0..0x1f)
 * @fn:       function number (0..7)
 * @reserved: zero
 */
struct vni_pci_addr {
	uint32_t domain;
	uint8_t bus;
	uint8_t dev;
	uint8_t fn;
	uint8_t reserved[1];
};

/**
 * VNI_PCI_ADDR_STRLEN - buffer size for any formatted address + NUL
 *
 * The longest address is "ffffffff:ff:1f.7" (16 characters).
 */
#define VNI_PCI_ADDR_STRLEN 17

/**
 * vni_pci_addr_parse() - parse a PCI address
 * @s:    "DDDD:BB:DD.F" with a domain of 1 to 8 hexadecimal digits (sysfs
 *        writes at least 4: "0000:00:04.0", "10000:00:00.0"), or the short
 *        form "BB:DD.F" (domain 0); hexadecimal digits of either case;
 *        nothing may follow
 * @addr: output, written only on success
 *
 * Return: 0; -EINVAL if @s or @addr is NULL or @s is not a well-formed
 * address (bad syntax, trailing characters, a domain of more than 8 digits,
 * device > 0x1f, function > 7).
 */
int vni_pci_addr_parse(const char *s, struct vni_pci_addr *addr);

/**
 * vni_pci_addr_format() - format a PCI address as sysfs names it
 * @addr: address
 * @buf:  output buffer
 * @len:  size of @buf; VNI_PCI_ADDR_STRLEN always suffices
 *
 * The domain has 4 digits up to 0xffff ("0000:00:04.0") and as many as it
 * needs above ("10000:00:00.0"), like the kernel's "%04x:%02x:%02x.%x";
 * lower case.
 *
 * Return: 0; -EINVAL if @addr or @buf is NULL or @addr is out of range;
 * -ENOSPC if @len is shorter than the address and its NUL (@buf untouched).
 */
int vni_pci_addr_format(const struct vni_pci_addr *addr, char *buf, size_t len);

/**
 * vni_noiommu_enabled() - is VFIO's no-IOMMU mode enabled?
 *
 * Reads /sys/module/vfio/parameters/enable_unsafe_noiommu_mode.
 *
 * Return: 1 if enabled, 0 if disabled; -ENOENT if the parameter does not
 * exist (vfio not loaded, or built without CONFIG_VFIO_NOIOMMU); another
 * negative errno if it cannot be read.
 */
int vni_noiommu_enabled(void);

/** Capacity of the string members of struct vni_pci_dev_info (with NUL). */
#define VNI_PCI_DRIVER_LEN 64
#define VNI_PCI_CDEV_LEN 64

/**
 * struct vni_pci_dev_info - one PCI device as seen in sysfs
 * @addr:             PCI address
 * @bdf:              the address as vni_pci_addr_format() writes it
 *                    ("0000:00:04.0", "10000:00:00.0")
 * @vendor:           vendor ID
 * @device:           device ID
 * @subsystem_vendor: subsystem vendor ID (0 if unknown)
 * @subsystem_device: subsystem ID (0 if unknown)
 * @class_code:       24-bit class code (base class << 16 | subclass << 8 |
 *                    programming interface)
 * @iommu_group:      IOMMU group number, -1 if the device has none
 * @noiommu:          the device is a VFIO no-IOMMU device: its cdev is named
 *                    "noiommu-vfioN" or its group is a "vfio-noiommu" group
 * @has_cdev:         the device has a usable vfio cdev: sysfs lists one
 *                    (@cdev_name) and @cdev_path exists and is that character
 *                    device (device numbers as in sysfs vfio-dev/<name>/dev).
 *                    False when sysfs lists a cdev whose /dev node is missing
 *                    (devtmpfs not mounted, udev not done) or stale: then
 *                    @cdev_name and @cdev_path are still set
 * @driver:           name of the bound driver, "" if none
 * @cdev_name:        vfio cdev name from /sys/bus/pci/devices/<BDF>/vfio-dev/
 *                    ("noiommu-vfio0", "vfio3"), "" if sysfs lists none
 * @cdev_path:        "/dev/vfio/devices/<cdev_name>" (where the node should
 *                    be), "" if sysfs lists no cdev
 * @reserved:         zero; room for additions
 */
struct vni_pci_dev_info {
	struct vni_pci_addr addr;
	char bdf[VNI_PCI_ADDR_STRLEN];
	uint16_t vendor;
	uint16_t device;
	uint16_t subsystem_vendor;
	uint16_t subsystem_device;
	uint32_t class_code;
	int32_t iommu_group;
	bool noiommu;
	bool has_cdev;
	char driver[VNI_PCI_DRIVER_LEN];
	char cdev_name[VNI_PCI_CDEV_LEN];
	char cdev_path[VNI_PCI_CDEV_LEN + 24];
	uint64_t reserved[4];
};

/* Flags of struct vni_pci_filter, which fields are compared. */
#define VNI_PCI_MATCH_VENDOR (1u << 0) /* @vendor */
#define VNI_PCI_MATCH_DEVICE (1u << 1) /* @device */
#define VNI_PCI_MATCH_CLASS  (1u << 2) /* (class_code & @class_mask) == @class_code */
#define VNI_PCI_MATCH_ADDR   (1u << 3) /* @addr */
#define VNI_PCI_MATCH_DRIVER (1u << 4) /* @driver (exact name; "" = unbound) */
#define VNI_PCI_MATCH_VFIO   (1u << 5) /* has a usable vfio cdev (@has_cdev) */
#define VNI_PCI_MATCH_NOIOMMU (1u << 6) /* is a no-IOMMU device */

/**
 * struct vni_pci_filter - what vni_pci_scan() returns
 * @flags:      VNI_PCI_MATCH_* bits; 0 matches every device
 * @vendor:     vendor ID to match
 * @device:     device ID to match
 * @class_code: class code to match under @class_mask
 * @class_mask: which bits of the 24-bit class code to compare (0 = 0xffffff)
 * @addr:       address to match
 * @driver:     driver name to match (NULL or "" = no driver bound)
 * @reserved:   zero (initialize the filter with {0} or a designated
 *              initializer); room for later match fields
 */
struct vni_pci_filter {
	uint32_t flags;
	uint16_t vendor;
	uint16_t device;
	uint32_t class_code;
	uint32_t class_mask;
	struct vni_pci_addr addr;
	const char *driver;
	uint64_t reserved[4];
};

/**
 * vni_pci_scan() - list PCI devices
 * @filter: which devices to return, NULL for all
 * @list:   output: array allocated by the library (free with vni_pci_list_free()),
 *          sorted by address (domain, bus, device, function); NULL when
 *          @count is 0
 * @count:  output: number of entries
 *
 * Enumerates the "pci" subsystem with libudev and reads, per device, the IDs,
 * class, bound driver, IOMMU group and vfio cdev. Entries that are no PCI
 * function address or vanish while being read are skipped; they are not
 * failures and leave vni_strerror_last() and vni_errno_last() as they were.
 *
 * Return: 0 (also when nothing matches); -EINVAL on NULL @list/@count;
 * -ENOMEM; other negative errno values from libudev/sysfs.
 */
int vni_pci_scan(const struct vni_pci_filter *filter,
		 struct vni_pci_dev_info **list, size_t *count);

/**
 * vni_pci_list_free() - free a list returned by vni_pci_scan()
 * @list: the list, NULL is allowed (no-op)
 */
void vni_pci_list_free(struct vni_pci_dev_info *list);

/**
 * vni_pci_get() - describe one PCI device
 * @bdf:  address (see vni_pci_addr_parse())
 * @info: output
 *
 * Return: 0; -EINVAL for NULL arguments or a malformed @bdf; -ENODEV if
 * there is no such device.
 */
int vni_pci_get(const char *bdf, struct vni_pci_dev_info *info);

#ifdef __cplusplus
}
#endif

#endif /* VFIONOIOMMU_PCI_H */
