/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvfionoiommu - the backends' shared ops table (not installed).
 *
 * A backend is how a context reaches its devices and produces DMA
 * addresses. Everything else (discovery, BARs, config space, interrupts,
 * reset, quiescing, errors, the translation table and its lock-free
 * lookups) is common code. One file per backend in this folder:
 *
 *   noiommu-cdev.c  /dev/vfio/devices/noiommu-vfioN + iommufd; physical
 *                   addresses from IOMMU_IOAS_NOIOMMU_GET_PA
 *   legacy-group.c  /dev/vfio/noiommu-N + container (VFIO_NOIOMMU_IOMMU);
 *                   physical addresses from /proc/self/pagemap
 *   iommufd.c       /dev/vfio/devices/vfioN + iommufd with a real IOMMU
 *                   domain; IOVAs from the allocator (lib/iova.c)
 *   type1.c         /dev/vfio/N + container (VFIO_TYPE1v2_IOMMU); IOVAs
 *                   from the allocator
 *
 * The context calls ctx_init() once, when the first device opens, and
 * ctx_fini() when it is destroyed; dev_open()/dev_close() per device (after
 * the common checks, under the context mutex; dev_close() after the device
 * was quiesced); map()/unmap()/fill() per DMA mapping, under the context
 * mutex, only while the backend is ready.
 */
#ifndef VNI_BACKEND_H
#define VNI_BACKEND_H

#include "../internal.h"

struct vnip_backend {
	const char *name;        /* as VNI_BACKEND and vni_backend_name() spell it */
	enum vni_backend id;
	bool iommu;              /* for devices behind an IOMMU (else no-IOMMU) */
	/* The DMA address is physical and the kernel does not pin (legacy):
	 * vni_dma_alloc() must use hugepages. */
	bool unpinned;
	/* Can the kernel offer device p through this backend? 0, or -errno
	 * with message and reason. Reads sysfs and /dev only. */
	int (*usable)(const struct vnip_probe *p);
	int (*ctx_init)(struct vni_ctx *ctx);
	void (*ctx_fini)(struct vni_ctx *ctx);
	/* Set dev->fd (and dev->group_fd, dev->dev_id, dev->attached,
	 * dev->cdev_path); on failure leave nothing open. */
	int (*dev_open)(struct vni_ctx *ctx, struct vni_device *dev,
			const struct vnip_probe *p);
	/* Close what dev_open() opened. quiet < 0: the device could not be
	 * quiesced (do not detach it explicitly; closing its fd makes
	 * vfio-pci disable it before anything is unpinned). */
	void (*dev_close)(struct vni_ctx *ctx, struct vni_device *dev, int quiet);
	/* Make [m->va, m->va + m->len) reachable by the devices (m->flags
	 * says how); unmap() undoes it. Messages on failure. */
	int (*map)(struct vni_ctx *ctx, struct vnip_mapping *m, unsigned int map_flags);
	int (*unmap)(struct vni_ctx *ctx, const struct vnip_mapping *m);
	/* Fill the translation table for m with vnip_dma_put_run(): returns
	 * the number of DMA-contiguous runs, or -errno after clearing. */
	int64_t (*fill)(struct vni_ctx *ctx, const struct vnip_mapping *m);
};

extern const struct vnip_backend vnip_backend_noiommu_cdev;
extern const struct vnip_backend vnip_backend_legacy_group;
extern const struct vnip_backend vnip_backend_iommufd;
extern const struct vnip_backend vnip_backend_type1;

/* Shared by the two iommufd backends (noiommu-cdev.c): the context's
 * iommufd and IOAS; a vfio cdev bound and attached to it; IOAS_MAP of a
 * mapping at m->iova and its undo. */
int vnip_iommufd_ctx_init(struct vni_ctx *ctx);
void vnip_iommufd_ctx_fini(struct vni_ctx *ctx);
int vnip_cdev_node_ok(const struct vnip_probe *p);
int vnip_cdev_dev_open(struct vni_ctx *ctx, struct vni_device *dev,
		       const struct vnip_probe *p);
void vnip_cdev_dev_close(struct vni_ctx *ctx, struct vni_device *dev, int quiet);
int vnip_ioas_map(struct vni_ctx *ctx, struct vnip_mapping *m, unsigned int map_flags);
int vnip_ioas_unmap(struct vni_ctx *ctx, const struct vnip_mapping *m);
/* Shared by the two group backends (legacy-group.c): the container with
 * the given IOMMU type, and a group's device in it. */
int vnip_container_init(struct vni_ctx *ctx, unsigned long iommu_type, const char *what);
void vnip_container_fini(struct vni_ctx *ctx);
int vnip_group_dev_open(struct vni_ctx *ctx, struct vni_device *dev,
			const struct vnip_probe *p, const char *node,
			unsigned long iommu_type);
void vnip_group_dev_close(struct vni_ctx *ctx, struct vni_device *dev, int quiet);
/* An IOMMU backend's IOVA for m from ctx->iova; its release. */
int vnip_iova_get(struct vni_ctx *ctx, struct vnip_mapping *m);
void vnip_iova_put(struct vni_ctx *ctx, const struct vnip_mapping *m);
/* (Re)build ctx->iova from the kernel's ranges while no IOVA is in use. */
int vnip_iova_setup(struct vni_ctx *ctx, const struct vnip_iova_range *r, size_t n);
/* fill() of the IOMMU backends: one run, DMA address = IOVA. */
int64_t vnip_iova_fill(struct vni_ctx *ctx, const struct vnip_mapping *m);

/* Every backend, in the order automatic selection prefers them. */
extern const struct vnip_backend *const vnip_backends[];
const struct vnip_backend *vnip_backend_by_id(int id);
const struct vnip_backend *vnip_backend_by_name(const char *name);
/* The backend VNI_BACKEND forces (NULL: automatic). 0 or -EINVAL. */
int vnip_backend_from_env(const struct vnip_backend **b);
/* The backend a context (forced: ctx->backend, or NULL) uses for device p:
 * 0 and *out, or -errno with message and reason. */
int vnip_backend_select(const struct vni_ctx *ctx, const struct vnip_probe *p,
			const struct vnip_backend **out);

#endif
