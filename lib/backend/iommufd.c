/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvfionoiommu - the iommufd backend: a device behind a real IOMMU through
 * its vfio cdev (/dev/vfio/devices/vfioN), bound to the context's iommufd
 * and attached to its IOAS, so that the kernel gives the IOAS a real IOMMU
 * domain. The library picks each mapping's IOVA with the allocator
 * (lib/iova.c) inside the ranges IOMMU_IOAS_IOVA_RANGES reports and below
 * the DMA mask; the DMA address is the IOVA. Also the IOVA glue shared with
 * type1.c.
 */
#include <string.h>

#include "compat/vni-uapi.h"
#include "backend.h"

int vnip_iova_setup(struct vni_ctx *ctx, const struct vnip_iova_range *r, size_t n)
{
	struct vnip_iova a;
	int ret;

	/* The ranges narrow as devices attach: rebuild from the new ones,
	 * around the IOVAs in use (the kernel refused the attach if one of
	 * them does not fit any more). */
	ret = vnip_iova_init(&a, r, n, ctx->dma_bits);
	if (ret == -ENOSPC)
		return vnip_err(ret, "the IOMMU offers no IOVA range below the %u-bit DMA mask "
				"(see vni_ctx_set_dma_mask())", ctx->dma_bits);
	if (ret < 0)
		return vnip_err(ret, "out of memory for the IOVA allocator");
	for (size_t i = 0; i < ctx->nmaps; i++) {
		const struct vnip_mapping *m = &ctx->maps[i];

		ret = vnip_iova_reserve(&a, m->iova, m->len);
		if (ret < 0) {
			vnip_iova_fini(&a);
			if (ret == -ENOMEM)
				return vnip_err(ret, "out of memory for the IOVA allocator");
			return vnip_err(-EADDRINUSE, "IOVA %#" PRIx64 "+%#" PRIx64 " in use is "
					"outside the IOVA ranges the IOMMU reports now",
					m->iova, m->len);
		}
	}
	vnip_iova_fini(&ctx->iova);
	ctx->iova = a;
	for (size_t i = 0; i < a.nfree; i++)
		vnip_debug("IOVA range %#" PRIx64 "-%#" PRIx64, a.free[i].start, a.free[i].last);
	return 0;
}

int vnip_iova_get(struct vni_ctx *ctx, struct vnip_mapping *m)
{
	/* same offset in its 2 MiB block as the memory: whole blocks stay whole */
	int ret = vnip_iova_alloc_phase(&ctx->iova, m->len, m->va & (VNIP_HUGE_SIZE - 1),
					&m->iova);

	if (ret == -ENOSPC)
		return vnip_err(ret, "no free IOVA range of %#" PRIx64 " bytes below the %u-bit "
				"DMA mask (%#" PRIx64 " bytes free in pieces)", m->len,
				ctx->dma_bits, ctx->iova.total);
	if (ret < 0)
		return vnip_err(ret, "out of memory for the IOVA allocator");
	return 0;
}

void vnip_iova_put(struct vni_ctx *ctx, const struct vnip_mapping *m)
{
	if (vnip_iova_free(&ctx->iova, m->iova, m->len) < 0)
		vnip_log(VNI_LOG_ERROR, "IOVA %#" PRIx64 "+%#" PRIx64 " was not allocated",
			 m->iova, m->len);
}

static int iommufd_usable(const struct vnip_probe *p)
{
	if (!p->cdev[0])
		return vnip_err_r(VNI_REASON_KERNEL_LACKS, -ENOSYS,
				  "%s is behind an IOMMU but has no vfio cdev (%s/%s/vfio-dev "
				  "is empty or missing): the kernel lacks CONFIG_VFIO_DEVICE_CDEV "
				  "(Linux >= 6.6)", p->bdf, VNIP_SYSFS_PCI, p->bdf);
	return vnip_cdev_node_ok(p);
}

/* The IOAS's IOVA ranges (they narrow as devices attach). */
static int ranges_refresh(struct vni_ctx *ctx)
{
	struct iommu_ioas_iova_ranges q;
	struct iommu_iova_range *r = NULL;
	struct vnip_iova_range *v;
	uint32_t n = 8;
	int ret;

	for (;;) {
		r = vnip_calloc(n, sizeof(*r));
		if (!r)
			return vnip_err(-ENOMEM, "out of memory for the IOVA ranges");
		memset(&q, 0, sizeof(q));
		q.size = sizeof(q);
		q.ioas_id = ctx->ioas_id;
		q.num_iovas = n;
		q.allowed_iovas = (uintptr_t)r;
		ret = vnip_ioctl(ctx->iommufd, IOMMU_IOAS_IOVA_RANGES, &q);
		if (ret == -EMSGSIZE && q.num_iovas > n && q.num_iovas < 65536) {
			n = q.num_iovas;
			vnip_free(r);
			continue;
		}
		break;
	}
	if (ret < 0) {
		vnip_free(r);
		return vnip_err(ret, "IOMMU_IOAS_IOVA_RANGES of IOAS %u failed", ctx->ioas_id);
	}
	/* the same two inclusive bounds */
	_Static_assert(sizeof(*r) == sizeof(*v), "iova range layout");
	v = (struct vnip_iova_range *)(void *)r;
	for (uint32_t i = 0; i < q.num_iovas && i < n; i++) {
		uint64_t s = r[i].start, l = r[i].last;

		v[i].start = s;
		v[i].last = l;
	}
	ret = vnip_iova_setup(ctx, v, q.num_iovas < n ? q.num_iovas : n);
	vnip_free(r);
	return ret;
}

static void iommufd_ctx_fini(struct vni_ctx *ctx)
{
	vnip_iova_fini(&ctx->iova);
	vnip_iommufd_ctx_fini(ctx);
}

static int iommufd_dev_open(struct vni_ctx *ctx, struct vni_device *dev,
			    const struct vnip_probe *p)
{
	int ret = vnip_cdev_dev_open(ctx, dev, p);

	if (ret < 0)
		return ret;
	return ranges_refresh(ctx);
}

static int iommufd_map(struct vni_ctx *ctx, struct vnip_mapping *m, unsigned int map_flags)
{
	int ret = vnip_iova_get(ctx, m);

	if (ret < 0)
		return ret;
	ret = vnip_ioas_map(ctx, m, map_flags);
	if (ret < 0)
		vnip_iova_put(ctx, m);
	return ret;
}

static int iommufd_unmap(struct vni_ctx *ctx, const struct vnip_mapping *m)
{
	int ret = vnip_ioas_unmap(ctx, m);

	if (ret == 0)
		vnip_iova_put(ctx, m);
	return ret;
}

/* The DMA address is the IOVA: one run for the whole mapping. */
int64_t vnip_iova_fill(struct vni_ctx *ctx, const struct vnip_mapping *m)
{
	int ret = vnip_dma_put_run(ctx, m->va, m->len, m->iova, m->len);

	if (ret < 0) {
		vnip_xlate_clear(&ctx->xlate, m->va, m->len);
		return ret;
	}
	return 1;
}

const struct vnip_backend vnip_backend_iommufd = {
	.name = "iommufd",
	.id = VNI_BACKEND_IOMMUFD,
	.iommu = true,
	.usable = iommufd_usable,
	.ctx_init = vnip_iommufd_ctx_init,
	.ctx_fini = iommufd_ctx_fini,
	.dev_open = iommufd_dev_open,
	.dev_close = vnip_cdev_dev_close,
	.map = iommufd_map,
	.unmap = iommufd_unmap,
	.fill = vnip_iova_fill,
};
