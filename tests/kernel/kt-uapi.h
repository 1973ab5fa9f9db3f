/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The kernel UAPI of the in-guest kernel tests: the headers of the patched
 * tree (meson passes -isystem <linux-headers>), plus a local definition of
 * IOMMU_IOAS_NOIOMMU_GET_PA when those headers lack it.
 *
 * The ABI is mainline's (Linux 7.3), bit for bit: command 0x95 on
 * IOMMUFD_TYPE, a 40-byte argument. Whatever the headers say is checked
 * against these numbers at build time.
 *
 * length, in: the most bytes to scan for physical contiguity, 0 meaning no
 * limit (mainline's header and selftest; an early version of our ABI note
 * made 0 EINVAL, which round 2 of the series corrects). Out: the bytes that
 * are physically contiguous from out_phys, up to the end of the mapped area
 * (IOMMU_IOAS_MAP) that holds iova, never more than a non-zero input.
 * Errors, in order: EPERM (no CAP_SYS_RAWIO), EOPNOTSUPP (flags or
 * __reserved), EOVERFLOW (iova beyond unsigned long), ENOENT (bad ioas_id,
 * nothing mapped at iova), EOPNOTSUPP (no noiommu device attached to a
 * noiommu domain of the IOAS); EINVAL/E2BIG for a bad size.
 */
#ifndef KT_UAPI_H
#define KT_UAPI_H

#include <stddef.h>
#include <linux/ioctl.h>
#include <linux/types.h>
#include <linux/iommufd.h>
#include <linux/vfio.h>

#define KT_GET_PA_NR 0x95

#if defined(IOMMU_IOAS_NOIOMMU_GET_PA)
#define kt_get_pa_arg iommu_ioas_noiommu_get_pa
#define KT_IOCTL_GET_PA IOMMU_IOAS_NOIOMMU_GET_PA
#define KT_GET_PA_SOURCE "uapi headers (IOMMU_IOAS_NOIOMMU_GET_PA)"
#else
/* Headers without the ioctl: the same ABI, defined here. */
struct kt_get_pa_arg {
	__u32 size;
	__u32 flags;
	__u32 ioas_id;
	__u32 __reserved;
	__aligned_u64 iova;
	__aligned_u64 length;
	__aligned_u64 out_phys;
};
#define KT_IOCTL_GET_PA _IO(IOMMUFD_TYPE, KT_GET_PA_NR)
#define KT_GET_PA_SOURCE "local fallback definition"
#endif

_Static_assert(KT_IOCTL_GET_PA == _IO(';', KT_GET_PA_NR), "GET_PA is _IO(';', 0x95)");
_Static_assert(sizeof(struct kt_get_pa_arg) == 40, "GET_PA argument is 40 bytes");
_Static_assert(offsetof(struct kt_get_pa_arg, flags) == 4, "flags at 4");
_Static_assert(offsetof(struct kt_get_pa_arg, ioas_id) == 8, "ioas_id at 8");
_Static_assert(offsetof(struct kt_get_pa_arg, __reserved) == 12, "__reserved at 12");
_Static_assert(offsetof(struct kt_get_pa_arg, iova) == 16, "iova at 16");
_Static_assert(offsetof(struct kt_get_pa_arg, length) == 24, "length at 24");
_Static_assert(offsetof(struct kt_get_pa_arg, out_phys) == 32, "out_phys at 32");

#endif
