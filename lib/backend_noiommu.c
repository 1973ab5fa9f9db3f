/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvfionoiommu - the no-IOMMU backend: IOVA == VA, DMA address == physical
 * address from IOMMU_IOAS_NOIOMMU_GET_PA.
 */
#include <string.h>

#include "compat/vni-uapi.h"
#include "internal.h"

static int noiommu_can_map(struct vni_ctx *ctx)
{
	if (!vnip_ctx_has_devices(ctx))
		return vnip_err(-ENODEV,
				"no device is open in this context: the kernel sets up the "
				"no-IOMMU translation when the first no-IOMMU device is "
				"attached to the IOAS, so open a device before mapping memory");
	return 0;
}

static int noiommu_map(struct vni_ctx *ctx, uint64_t va, uint64_t len)
{
	struct iommu_ioas_map map;
	int ret;

	memset(&map, 0, sizeof(map));
	map.size = sizeof(map);
	map.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
		    IOMMU_IOAS_MAP_WRITEABLE;
	map.ioas_id = ctx->ioas_id;
	map.user_va = va;
	map.length = len;
	map.iova = va;
	ret = vnip_ioctl(ctx->iommufd, IOMMU_IOAS_MAP, &map);
	if (ret < 0) {
		if (ret == -ENOMEM)
			return vnip_err(ret, "IOMMU_IOAS_MAP of %#" PRIx64 "+%#" PRIx64
					" failed: cannot pin the memory (RLIMIT_MEMLOCK, or "
					"out of memory)", va, len);
		if (ret == -EFAULT)
			return vnip_err(ret, "IOMMU_IOAS_MAP of %#" PRIx64 "+%#" PRIx64
					" failed: the range is not mapped in the process",
					va, len);
		return vnip_err(ret, "IOMMU_IOAS_MAP of %#" PRIx64 "+%#" PRIx64 " failed",
				va, len);
	}
	vnip_debug("IOAS %u: mapped %#" PRIx64 "+%#" PRIx64, ctx->ioas_id, va, len);
	return 0;
}

static int noiommu_unmap(struct vni_ctx *ctx, uint64_t va, uint64_t len)
{
	struct iommu_ioas_unmap unmap;
	int ret;

	memset(&unmap, 0, sizeof(unmap));
	unmap.size = sizeof(unmap);
	unmap.ioas_id = ctx->ioas_id;
	unmap.iova = va;
	unmap.length = len;
	ret = vnip_ioctl(ctx->iommufd, IOMMU_IOAS_UNMAP, &unmap);
	if (ret < 0)
		return vnip_err(ret, "IOMMU_IOAS_UNMAP of %#" PRIx64 "+%#" PRIx64 " failed",
				va, len);
	vnip_debug("IOAS %u: unmapped %#" PRIx64 "+%#" PRIx64, ctx->ioas_id, va, len);
	return 0;
}

static int noiommu_translate(struct vni_ctx *ctx, uint64_t va, uint64_t max,
			     uint64_t *dma, uint64_t *len)
{
	struct vni_uapi_get_pa q;
	int ret;

	memset(&q, 0, sizeof(q));
	q.size = sizeof(q);
	q.ioas_id = ctx->ioas_id;
	q.iova = va;
	/* The exact rest of the mapping, never 0: mainline reads 0 as "no
	 * limit", early versions of the 6.12 series rejected it (EINVAL). */
	q.length = max;
	atomic_fetch_add_explicit(&ctx->st_get_pa, 1, memory_order_relaxed);
	ret = vnip_ioctl(ctx->iommufd, VNI_IOCTL_GET_PA, &q);
	if (ret < 0) {
		if (ret == -ENOTTY)
			return vnip_err(ret, "IOMMU_IOAS_NOIOMMU_GET_PA failed: the kernel "
					"lacks the ioctl (needs Linux 7.3 or the libvfionoiommu "
					"6.12 patches)");
		if (ret == -EOPNOTSUPP)
			return vnip_err(ret, "IOMMU_IOAS_NOIOMMU_GET_PA failed: IOAS %u is not "
					"backed by the no-IOMMU software page table (no no-IOMMU "
					"device is attached to it, or the device is behind a real "
					"IOMMU): open a no-IOMMU device in the context first",
					ctx->ioas_id);
		return vnip_err(ret, "IOMMU_IOAS_NOIOMMU_GET_PA at %#" PRIx64 " failed", va);
	}
	*dma = q.out_phys;
	*len = q.length;
	return 0;
}

const struct vnip_backend vnip_backend_noiommu = {
	.name = "noiommu",
	.id = VNI_BACKEND_NOIOMMU,
	.can_map = noiommu_can_map,
	.map = noiommu_map,
	.unmap = noiommu_unmap,
	.translate = noiommu_translate,
};
