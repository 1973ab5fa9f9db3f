/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvfionoiommu - why a call failed, as a code a program can act on.
 *
 * The errno a call returns says what kind of failure it was; for the
 * conditions a program may want to handle (tell the user to switch noiommu
 * mode on, rebind a device, pick another backend ...), the reason code says
 * exactly which one. docs/usage.md ("Errors a program can act on") has the
 * table of conditions, errno values and reasons.
 */
#ifndef VFIONOIOMMU_REASON_H
#define VFIONOIOMMU_REASON_H

#ifdef __cplusplus
extern "C" {
#endif

/**
 * enum vni_reason - the condition behind the calling thread's last failure
 * @VNI_REASON_NONE:            no specific reason recorded (see the errno)
 * @VNI_REASON_NOIOMMU_OFF:     noiommu mode is off
 *                              (enable_unsafe_noiommu_mode is N); -EOPNOTSUPP
 * @VNI_REASON_UNBOUND:         the device is bound to no driver; -ENXIO
 * @VNI_REASON_BOUND_ELSEWHERE: the device is bound to another driver than
 *                              vfio-pci; -ENXIO
 * @VNI_REASON_REAL_IOMMU:      the device is behind a real IOMMU and the
 *                              context's backend is a no-IOMMU one (or this
 *                              version has no backend for it); -EXDEV
 * @VNI_REASON_NO_IOMMU:        the device is not behind an IOMMU and the
 *                              context's backend needs one; -EXDEV
 * @VNI_REASON_BACKEND_MISMATCH: the device needs another backend than the
 *                              one the context's first device chose; -EXDEV
 * @VNI_REASON_KERNEL_LACKS:    the running kernel lacks the interface the
 *                              backend needs (config option, module, ioctl,
 *                              device node); -ENOSYS
 * @VNI_REASON_NO_DEVICE:       the call needs an open device in the context
 *                              (DMA mappings and addresses); -ENODEV
 * @VNI_REASON_NO_SUCH_DEVICE:  there is no PCI device at that address;
 *                              -ENODEV from vni_device_open()
 * @VNI_REASON_NO_PRIVILEGE:    a capability is missing (CAP_SYS_RAWIO to
 *                              open a no-IOMMU device); -EPERM
 * @VNI_REASON_PAGEMAP_HIDDEN:  /proc/self/pagemap shows no page frame
 *                              numbers: the legacy backend needs
 *                              CAP_SYS_ADMIN; -EPERM
 * @VNI_REASON_MAY_MOVE:        the legacy backend refuses memory that the
 *                              kernel may move (4 KiB pages) without
 *                              VNI_DMA_MAP_MAY_MOVE; -EINVAL
 * @VNI_REASON_IN_USE:          the device is open elsewhere (another process,
 *                              context or interface); -EBUSY
 */
enum vni_reason {
	VNI_REASON_NONE = 0,
	VNI_REASON_NOIOMMU_OFF = 1,
	VNI_REASON_UNBOUND = 2,
	VNI_REASON_BOUND_ELSEWHERE = 3,
	VNI_REASON_REAL_IOMMU = 4,
	VNI_REASON_NO_IOMMU = 5,
	VNI_REASON_BACKEND_MISMATCH = 6,
	VNI_REASON_KERNEL_LACKS = 7,
	VNI_REASON_NO_DEVICE = 8,
	VNI_REASON_NO_SUCH_DEVICE = 9,
	VNI_REASON_NO_PRIVILEGE = 10,
	VNI_REASON_PAGEMAP_HIDDEN = 11,
	VNI_REASON_MAY_MOVE = 12,
	VNI_REASON_IN_USE = 13,
};

/**
 * vni_reason_last() - reason code of the calling thread's last failure
 *
 * Set together with vni_errno_last() and vni_strerror_last() by every
 * failing call; VNI_REASON_NONE when the failure has no specific reason.
 *
 * Return: an enum vni_reason value (0 if no call of this thread failed).
 */
int vni_reason_last(void);

/**
 * vni_reason_name() - short stable name of a reason code
 * @reason: an enum vni_reason value
 *
 * Return: for example "noiommu-off" or "kernel-lacks"; "none" for
 * VNI_REASON_NONE, "?" for an unknown value. Never NULL.
 */
const char *vni_reason_name(int reason);

#ifdef __cplusplus
}
#endif

#endif /* VFIONOIOMMU_REASON_H */
