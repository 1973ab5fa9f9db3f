/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvfionoiommu tools - what hangs below a PCI device (sysfs), and is a
 * block device in use (mounted, swap, held by device-mapper/md).
 */
#ifndef VNI_TOOLS_DEVCHECK_H
#define VNI_TOOLS_DEVCHECK_H

#include <stdbool.h>
#include <stddef.h>

#define DEVCHECK_NAME_LEN 64
#define DEVCHECK_MAX_REASONS 16
#define DEVCHECK_TEXT_LEN 320

/*
 * devcheck_children() - class devices that belong to a PCI device
 * @bdf:   normalized PCI address ("0000:00:04.0")
 * @class: a /sys/class subdirectory: "net", "block"
 * @names: output array of names ("eth0", "nvme0n1", "nvme0n1p1")
 * @max:   capacity of @names
 * @count: output: number found (may exceed @max; only @max are stored)
 *
 * A class device belongs to the PCI device when its sysfs path lies below
 * the PCI device's (directly, as .../BDF/net/eth0, or deeper, as
 * .../BDF/nvme/nvme0/nvme0n1 or .../BDF/virtio0/net/eth0).
 * The sysfs root is vt_sysfs() (VNI_SYSFS_ROOT).
 *
 * Return: 0 (also when the class does not exist: nothing found); -ENODEV
 * if the PCI device does not exist; other negative errno values.
 */
int devcheck_children(const char *bdf, const char *class,
		      char (*names)[DEVCHECK_NAME_LEN], size_t max, size_t *count);

/*
 * struct devcheck_result - why a block device is busy
 * @name:     block device ("nvme0n1p1")
 * @devnum:   "major:minor"
 * @nreasons: entries used in @reasons
 * @dropped:  reasons that did not fit
 * @reasons:  one sentence each
 */
struct devcheck_result {
	char name[DEVCHECK_NAME_LEN];
	char devnum[24];
	size_t nreasons;
	size_t dropped;
	char reasons[DEVCHECK_MAX_REASONS][DEVCHECK_TEXT_LEN];
};

/*
 * devcheck_block() - is a block device in use?
 * @name:      block device name as in /sys/class/block
 * @devnum:    its "major:minor"; NULL: read <sysfs>/class/block/@name/dev
 * @mountinfo: path of a mountinfo file; NULL: /proc/self/mountinfo
 * @swaps:     path of a swaps file; NULL: /proc/swaps
 * @res:       output (zeroed first)
 *
 * Reasons: mounted (a mountinfo line with the same major:minor, or whose
 * source is /dev/@name), active swap (/proc/swaps names /dev/@name), held
 * by another block device (<sysfs>/class/block/@name/holders/ not empty:
 * device-mapper, md, LVM). File systems such as btrfs report an anonymous
 * major:minor in mountinfo; the source field still names the device.
 *
 * Return: 0; -EINVAL for NULL @name/@res; -ENOENT if @devnum is NULL and
 * the device has no dev attribute; other negative errno values when
 * mountinfo cannot be read.
 */
int devcheck_block(const char *name, const char *devnum, const char *mountinfo,
		   const char *swaps, struct devcheck_result *res);

/* devcheck_busy() - did devcheck_block() find any reason? */
bool devcheck_busy(const struct devcheck_result *res);

/* Undo the octal escapes (\040 for space, ...) of a mountinfo field in place. */
void devcheck_unescape(char *s);

#endif /* VNI_TOOLS_DEVCHECK_H */
