/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvfionoiommu - the kernel UAPI the library uses.
 *
 * Includes the kernel's <linux/vfio.h> and <linux/iommufd.h> (the patched
 * tree's when the build passes -isystem <linux-headers>, else the system's)
 * and defines only what those lack, each piece guarded, with the exact ABI
 * values: struct layouts and ioctl numbers are those of mainline Linux.
 *
 *   - Linux < 6.2 (Debian 12 ships 6.1): no <linux/iommufd.h> at all.
 *   - Linux < 6.6: no VFIO_DEVICE_BIND_IOMMUFD / ATTACH / DETACH_IOMMUFD_PT.
 *   - every release before 7.3: no IOMMU_IOAS_NOIOMMU_GET_PA (0x95). Early
 *     drafts of the series spelled it IOMMU_IOAS_GET_PA (same number); either
 *     spelling is accepted.
 *
 * The library uses its own struct vni_uapi_get_pa for GET_PA (identical
 * layout, asserted below) so that it never collides with whichever struct
 * name the kernel headers use.
 *
 * GET_PA semantics the library relies on: only iova must be mapped; the
 * answer ends at the first physical discontinuity, the end of the IOAS area
 * or the caller's length, whichever comes first; length 0 means no limit.
 * The library passes the exact rest of the mapping it walks (never 0), which
 * old and new kernels answer alike. EOPNOTSUPP: the IOAS is not backed by the
 * no-IOMMU software page table (no no-IOMMU device attached, or a real IOMMU
 * domain); ENOTTY: a kernel without GET_PA.
 */
#ifndef VNI_COMPAT_UAPI_H
#define VNI_COMPAT_UAPI_H

#include <stddef.h>
#include <linux/ioctl.h>
#include <linux/types.h>
#include <linux/vfio.h>

#if defined(__has_include)
#if __has_include(<linux/iommufd.h>)
#include <linux/iommufd.h>
#define VNI_HAVE_LINUX_IOMMUFD_H 1
#endif
#endif

/* ---- iommufd basics (Linux 6.2+) ------------------------------------------ */
#ifndef VNI_HAVE_LINUX_IOMMUFD_H

#ifndef IOMMUFD_TYPE
#define IOMMUFD_TYPE (';')
#endif

/* Command numbers of <linux/iommufd.h> (an enum there; plain macros here). */
#define VNI_IOMMUFD_CMD_DESTROY    0x80
#define VNI_IOMMUFD_CMD_IOAS_ALLOC 0x81
#define VNI_IOMMUFD_CMD_IOAS_MAP   0x85
#define VNI_IOMMUFD_CMD_IOAS_UNMAP 0x86

struct iommu_destroy {
	__u32 size;
	__u32 id;
};
#define IOMMU_DESTROY _IO(IOMMUFD_TYPE, VNI_IOMMUFD_CMD_DESTROY)

struct iommu_ioas_alloc {
	__u32 size;
	__u32 flags;
	__u32 out_ioas_id;
};
#define IOMMU_IOAS_ALLOC _IO(IOMMUFD_TYPE, VNI_IOMMUFD_CMD_IOAS_ALLOC)

enum iommufd_ioas_map_flags {
	IOMMU_IOAS_MAP_FIXED_IOVA = 1 << 0,
	IOMMU_IOAS_MAP_WRITEABLE = 1 << 1,
	IOMMU_IOAS_MAP_READABLE = 1 << 2,
};

struct iommu_ioas_map {
	__u32 size;
	__u32 flags;
	__u32 ioas_id;
	__u32 __reserved;
	__aligned_u64 user_va;
	__aligned_u64 length;
	__aligned_u64 iova;
};
#define IOMMU_IOAS_MAP _IO(IOMMUFD_TYPE, VNI_IOMMUFD_CMD_IOAS_MAP)

struct iommu_ioas_unmap {
	__u32 size;
	__u32 ioas_id;
	__aligned_u64 iova;
	__aligned_u64 length;
};
#define IOMMU_IOAS_UNMAP _IO(IOMMUFD_TYPE, VNI_IOMMUFD_CMD_IOAS_UNMAP)

/* The iommufd backend asks for the usable IOVA ranges of an IOAS. */
#define VNI_IOMMUFD_CMD_IOAS_IOVA_RANGES 0x84

struct iommu_iova_range {
	__aligned_u64 start;
	__aligned_u64 last;
};

struct iommu_ioas_iova_ranges {
	__u32 size;
	__u32 ioas_id;
	__u32 num_iovas;
	__u32 __reserved;
	__aligned_u64 allowed_iovas;
	__aligned_u64 out_iova_alignment;
};
#define IOMMU_IOAS_IOVA_RANGES _IO(IOMMUFD_TYPE, VNI_IOMMUFD_CMD_IOAS_IOVA_RANGES)

#endif /* !VNI_HAVE_LINUX_IOMMUFD_H */

/* ---- vfio cdev + iommufd (Linux 6.6+) ------------------------------------- */
#ifndef VFIO_DEVICE_BIND_IOMMUFD
struct vfio_device_bind_iommufd {
	__u32 argsz;
	__u32 flags;
	__s32 iommufd;
	__u32 out_devid;
};
#define VFIO_DEVICE_BIND_IOMMUFD _IO(VFIO_TYPE, VFIO_BASE + 18)
#endif

#ifndef VFIO_DEVICE_ATTACH_IOMMUFD_PT
struct vfio_device_attach_iommufd_pt {
	__u32 argsz;
	__u32 flags;
	__u32 pt_id;
};
#define VFIO_DEVICE_ATTACH_IOMMUFD_PT _IO(VFIO_TYPE, VFIO_BASE + 19)
#endif

#ifndef VFIO_DEVICE_DETACH_IOMMUFD_PT
struct vfio_device_detach_iommufd_pt {
	__u32 argsz;
	__u32 flags;
};
#define VFIO_DEVICE_DETACH_IOMMUFD_PT _IO(VFIO_TYPE, VFIO_BASE + 20)
#endif

#ifndef VFIO_DEVICE_FLAGS_CDEV
#define VFIO_DEVICE_FLAGS_CDEV (1 << 9)
#endif

/* ---- IOMMU_IOAS_NOIOMMU_GET_PA (Linux 7.3, 6.12 backport) ----------------- */
#define VNI_IOMMUFD_CMD_IOAS_NOIOMMU_GET_PA 0x95

/*
 * struct vni_uapi_get_pa - the argument of IOMMU_IOAS_NOIOMMU_GET_PA
 * (mainline: struct iommu_ioas_noiommu_get_pa), 40 bytes.
 */
struct vni_uapi_get_pa {
	__u32 size;          /* sizeof(struct vni_uapi_get_pa) */
	__u32 flags;         /* must be 0 */
	__u32 ioas_id;       /* IOAS to query */
	__u32 __reserved;    /* must be 0 */
	__aligned_u64 iova;  /* IOVA to translate, any byte offset */
	__aligned_u64 length;   /* in: max bytes to scan, 0 = no limit (mainline
				 * uAPI; early 6.12 series versions said EINVAL);
				 * out: contiguous bytes from out_phys, never more
				 * than a non-zero input */
	__aligned_u64 out_phys; /* physical address of iova */
};

#if defined(IOMMU_IOAS_NOIOMMU_GET_PA)
/* The kernel headers have the mainline spelling: check it is our ABI. */
#define VNI_UAPI_GET_PA_SOURCE "kernel headers (IOMMU_IOAS_NOIOMMU_GET_PA)"
_Static_assert(sizeof(struct iommu_ioas_noiommu_get_pa) == 40,
	       "struct iommu_ioas_noiommu_get_pa is not 40 bytes");
_Static_assert(offsetof(struct iommu_ioas_noiommu_get_pa, ioas_id) == 8,
	       "iommu_ioas_noiommu_get_pa.ioas_id");
_Static_assert(offsetof(struct iommu_ioas_noiommu_get_pa, iova) == 16,
	       "iommu_ioas_noiommu_get_pa.iova");
_Static_assert(offsetof(struct iommu_ioas_noiommu_get_pa, length) == 24,
	       "iommu_ioas_noiommu_get_pa.length");
_Static_assert(offsetof(struct iommu_ioas_noiommu_get_pa, out_phys) == 32,
	       "iommu_ioas_noiommu_get_pa.out_phys");
#define VNI_IOCTL_GET_PA IOMMU_IOAS_NOIOMMU_GET_PA
#elif defined(IOMMU_IOAS_GET_PA)
/* Early-draft spelling, same number. */
#define VNI_UAPI_GET_PA_SOURCE "kernel headers (IOMMU_IOAS_GET_PA, early draft)"
#define VNI_IOCTL_GET_PA IOMMU_IOAS_GET_PA
#define IOMMU_IOAS_NOIOMMU_GET_PA IOMMU_IOAS_GET_PA
#else
#define VNI_UAPI_GET_PA_SOURCE "lib/compat"
#define IOMMU_IOAS_NOIOMMU_GET_PA \
	_IO(IOMMUFD_TYPE, VNI_IOMMUFD_CMD_IOAS_NOIOMMU_GET_PA)
#define VNI_IOCTL_GET_PA IOMMU_IOAS_NOIOMMU_GET_PA
#endif

_Static_assert(VNI_IOCTL_GET_PA ==
		       _IO(IOMMUFD_TYPE, VNI_IOMMUFD_CMD_IOAS_NOIOMMU_GET_PA),
	       "GET_PA must be _IO(';', 0x95)");
_Static_assert(sizeof(struct vni_uapi_get_pa) == 40, "GET_PA struct size");
_Static_assert(offsetof(struct vni_uapi_get_pa, size) == 0, "size");
_Static_assert(offsetof(struct vni_uapi_get_pa, flags) == 4, "flags");
_Static_assert(offsetof(struct vni_uapi_get_pa, ioas_id) == 8, "ioas_id");
_Static_assert(offsetof(struct vni_uapi_get_pa, __reserved) == 12, "__reserved");
_Static_assert(offsetof(struct vni_uapi_get_pa, iova) == 16, "iova");
_Static_assert(offsetof(struct vni_uapi_get_pa, length) == 24, "length");
_Static_assert(offsetof(struct vni_uapi_get_pa, out_phys) == 32, "out_phys");

/* Layout checks of the other structures, whoever defined them. */
_Static_assert(sizeof(struct iommu_ioas_map) == 40, "iommu_ioas_map");
_Static_assert(offsetof(struct iommu_ioas_map, user_va) == 16, "user_va");
_Static_assert(offsetof(struct iommu_ioas_map, iova) == 32, "iova");
_Static_assert(sizeof(struct iommu_ioas_unmap) == 24, "iommu_ioas_unmap");
_Static_assert(sizeof(struct iommu_iova_range) == 16, "iommu_iova_range");
_Static_assert(sizeof(struct iommu_ioas_iova_ranges) == 32, "iommu_ioas_iova_ranges");
_Static_assert(offsetof(struct iommu_ioas_iova_ranges, allowed_iovas) == 16, "allowed_iovas");
_Static_assert(sizeof(struct iommu_ioas_alloc) == 12, "iommu_ioas_alloc");
_Static_assert(sizeof(struct iommu_destroy) == 8, "iommu_destroy");
_Static_assert(sizeof(struct vfio_device_bind_iommufd) == 16, "bind_iommufd");
_Static_assert(sizeof(struct vfio_device_attach_iommufd_pt) == 12, "attach_pt");
_Static_assert(sizeof(struct vfio_device_detach_iommufd_pt) == 8, "detach_pt");
_Static_assert(IOMMU_IOAS_MAP == _IO(';', 0x85), "IOMMU_IOAS_MAP number");
_Static_assert(IOMMU_IOAS_UNMAP == _IO(';', 0x86), "IOMMU_IOAS_UNMAP number");
_Static_assert(IOMMU_IOAS_ALLOC == _IO(';', 0x81), "IOMMU_IOAS_ALLOC number");
_Static_assert(IOMMU_DESTROY == _IO(';', 0x80), "IOMMU_DESTROY number");
_Static_assert(VFIO_DEVICE_BIND_IOMMUFD == _IO(';', 100 + 18), "BIND number");
_Static_assert(VFIO_DEVICE_ATTACH_IOMMUFD_PT == _IO(';', 100 + 19), "ATTACH number");
_Static_assert(VFIO_DEVICE_DETACH_IOMMUFD_PT == _IO(';', 100 + 20), "DETACH number");

#endif /* VNI_COMPAT_UAPI_H */
