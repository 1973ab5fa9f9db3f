/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Raw ioctl wrappers for the noiommu vfio cdev and iommufd: find and open
 * the cdev of a PCI device, bind, IOAS, attach/detach, map/unmap, GET_PA,
 * and dropping CAP_SYS_RAWIO. All return 0 (or an fd) or -errno.
 */
#ifndef KT_IOMMUFD_H
#define KT_IOMMUFD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kt-uapi.h"

#define KT_MAP_RW (IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)

/* /dev/vfio/devices/noiommu-vfioN of bdf (bound to vfio-pci). */
int kt_cdev_path(const char *bdf, char *path, size_t len);
int kt_open_cdev(const char *bdf);
int kt_open_iommufd(void);
int kt_bind(int devfd, int iommufd, uint32_t *dev_id);
int kt_ioas_alloc(int iommufd, uint32_t *ioas_id);
int kt_destroy(int iommufd, uint32_t id);
int kt_attach(int devfd, uint32_t pt_id, uint32_t *out_pt_id);
int kt_detach(int devfd);
/*
 * IOMMU_HWPT_ALLOC of a paging HWPT for dev_id on pt_id (an IOAS), no flags:
 * a user-managed domain of that IOAS, independent of the automatic one an
 * attach to the IOAS creates.
 */
int kt_hwpt_alloc(int iommufd, uint32_t dev_id, uint32_t pt_id, uint32_t *hwpt_id);
/* flags: KT_MAP_RW and friends, | IOMMU_IOAS_MAP_FIXED_IOVA to use *iova. */
int kt_map(int iommufd, uint32_t ioas_id, const void *va, uint64_t len,
	   uint64_t *iova, uint32_t flags);
int kt_unmap(int iommufd, uint32_t ioas_id, uint64_t iova, uint64_t len);
int kt_get_pa_raw(int iommufd, struct kt_get_pa_arg *arg);
/* GET_PA with length = cap; fills the translation and the run length. */
int kt_get_pa(int iommufd, uint32_t ioas_id, uint64_t iova, uint64_t cap,
	      uint64_t *phys, uint64_t *len);
/*
 * Removes capability cap (CAP_*) from the calling thread's effective,
 * permitted and inheritable sets, and checks it is gone.
 */
int kt_drop_cap(unsigned int cap);
/* Removes CAP_SYS_RAWIO from the calling process (all sets). */
int kt_drop_cap_sys_rawio(void);
const char *kt_errname(int err);

/* A bound device attached to its own IOAS. */
struct kt_ctx {
	int iommufd;
	int devfd;
	uint32_t dev_id;
	uint32_t ioas_id;
	uint32_t hwpt_id;
};

/* Opens everything; on failure prints which step failed and cleans up. */
int kt_ctx_open(struct kt_ctx *c, const char *bdf, bool attach);
void kt_ctx_close(struct kt_ctx *c);

#endif
