/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvfionoiommu - the type1 backend: a device behind a real IOMMU through
 * its VFIO group (/dev/vfio/N) in a container with VFIO_TYPE1v2_IOMMU, on
 * any kernel with an IOMMU and the VFIO container (no iommufd needed). IOVAs
 * come from the allocator, inside the ranges of the type1 IOVA-range
 * capability and below the DMA mask; the DMA address is the IOVA.
 *
 * The kernel drops every mapping of the container when its last group
 * leaves it (the last device closes); the library keeps them recorded and
 * maps them again, at the same IOVAs, when the first device opens again.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "compat/vni-uapi.h"
#include "backend.h"

static void node_of(int group, char *buf, size_t len)
{
	snprintf(buf, len, "/dev/vfio/%d", group);
}

static int type1_usable(const struct vnip_probe *p)
{
	struct stat st;
	char node[64];

	if (p->group < 0)
		return vnip_err_r(VNI_REASON_KERNEL_LACKS, -ENOSYS,
				  "%s has no IOMMU group: the kernel lacks the VFIO group "
				  "interface (CONFIG_VFIO_GROUP=y)", p->bdf);
	node_of(p->group, node, sizeof(node));
	if (vnip_sys.stat(node, &st) < 0) {
		int e = -errno;

		if (e == -ENOENT)
			return vnip_err_r(VNI_REASON_KERNEL_LACKS, -ENOSYS,
					  "%s is in IOMMU group %d but %s does not exist: the "
					  "kernel lacks the VFIO group interface (CONFIG_VFIO_GROUP=y, "
					  "CONFIG_VFIO_CONTAINER=y), or /dev is not devtmpfs",
					  p->bdf, p->group, node);
		return vnip_err(e, "cannot stat %s", node);
	}
	if (!S_ISCHR(st.st_mode))
		return vnip_err(-ENODEV, "%s is not a character device", node);
	return 0;
}

static int type1_ctx_init(struct vni_ctx *ctx)
{
	return vnip_container_init(ctx, VFIO_TYPE1v2_IOMMU, "VFIO_TYPE1v2_IOMMU: the kernel "
				   "lacks CONFIG_VFIO_IOMMU_TYPE1, or the device is not "
				   "behind an IOMMU");
}

static void type1_ctx_fini(struct vni_ctx *ctx)
{
	vnip_iova_fini(&ctx->iova);
	vnip_container_fini(ctx);
}

/* The IOVA ranges from the type1 info's capability chain. */
static int ranges_refresh(struct vni_ctx *ctx)
{
	struct vfio_iommu_type1_info *info;
	struct vnip_iova_range *v = NULL;
	uint32_t sz = sizeof(*info), off;
	size_t n = 0;
	int ret;

	for (int pass = 0; pass < 2; pass++) {
		info = vnip_calloc(1, sz);
		if (!info)
			return vnip_err(-ENOMEM, "out of memory for VFIO_IOMMU_GET_INFO");
		info->argsz = sz;
		ret = vnip_ioctl(ctx->container, VFIO_IOMMU_GET_INFO, info);
		if (ret < 0) {
			vnip_free(info);
			return vnip_err(ret, "VFIO_IOMMU_GET_INFO failed");
		}
		if (info->argsz <= sz || pass == 1)
			break;
		sz = info->argsz; /* room for the capabilities */
		vnip_free(info);
	}
	off = (info->flags & VFIO_IOMMU_INFO_CAPS) ? info->cap_offset : 0;
	while (off && off + sizeof(struct vfio_info_cap_header) <= sz) {
		struct vfio_info_cap_header *h = (void *)((char *)info + off);

		if (h->id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE &&
		    off + sizeof(struct vfio_iommu_type1_info_cap_iova_range) <= sz) {
			struct vfio_iommu_type1_info_cap_iova_range *c = (void *)h;

			n = c->nr_iovas;
			if (off + sizeof(*c) + n * sizeof(c->iova_ranges[0]) > sz)
				n = 0;
			v = n ? vnip_calloc(n, sizeof(*v)) : NULL;
			if (n && !v) {
				vnip_free(info);
				return vnip_err(-ENOMEM, "out of memory for the IOVA ranges");
			}
			for (size_t i = 0; i < n; i++) {
				v[i].start = c->iova_ranges[i].start;
				v[i].last = c->iova_ranges[i].end;
			}
			break;
		}
		if (h->next <= off)
			break;
		off = h->next;
	}
	vnip_free(info);
	if (!n) {
		/* kernels before 5.4 have no capability: the whole space */
		struct vnip_iova_range all = { 0, UINT64_MAX };

		vnip_debug("type1: no IOVA range capability; assuming the whole space");
		return vnip_iova_setup(ctx, &all, 1);
	}
	ret = vnip_iova_setup(ctx, v, n);
	vnip_free(v);
	return ret;
}

static int map_dma(struct vni_ctx *ctx, const struct vnip_mapping *m)
{
	struct vfio_iommu_type1_dma_map map;
	int ret;

	memset(&map, 0, sizeof(map));
	map.argsz = sizeof(map);
	map.flags = VFIO_DMA_MAP_FLAG_READ |
		    (m->flags & VNI_DMA_MAPPING_READONLY ? 0 : VFIO_DMA_MAP_FLAG_WRITE);
	map.vaddr = m->va;
	map.iova = m->iova;
	map.size = m->len;
	ret = vnip_ioctl(ctx->container, VFIO_IOMMU_MAP_DMA, &map);
	if (ret < 0) {
		if (ret == -ENOMEM)
			return vnip_err(ret, "VFIO_IOMMU_MAP_DMA of %#" PRIx64 "+%#" PRIx64
					" failed: cannot pin the memory (RLIMIT_MEMLOCK, or "
					"out of memory)", m->va, m->len);
		if (ret == -EFAULT)
			return vnip_err(ret, "VFIO_IOMMU_MAP_DMA of %#" PRIx64 "+%#" PRIx64
					" failed: the range is not mapped in the process",
					m->va, m->len);
		return vnip_err(ret, "VFIO_IOMMU_MAP_DMA of %#" PRIx64 "+%#" PRIx64 " at IOVA %#"
				PRIx64 " failed", m->va, m->len, m->iova);
	}
	vnip_debug("type1: mapped %#" PRIx64 "+%#" PRIx64 " at IOVA %#" PRIx64, m->va, m->len,
		   m->iova);
	return 0;
}

static int unmap_dma(struct vni_ctx *ctx, const struct vnip_mapping *m)
{
	struct vfio_iommu_type1_dma_unmap unmap;
	int ret;

	memset(&unmap, 0, sizeof(unmap));
	unmap.argsz = sizeof(unmap);
	unmap.iova = m->iova;
	unmap.size = m->len;
	ret = vnip_ioctl(ctx->container, VFIO_IOMMU_UNMAP_DMA, &unmap);
	if (ret < 0)
		return vnip_err(ret, "VFIO_IOMMU_UNMAP_DMA of IOVA %#" PRIx64 "+%#" PRIx64
				" failed", m->iova, m->len);
	return 0;
}

static int type1_dev_open(struct vni_ctx *ctx, struct vni_device *dev,
			  const struct vnip_probe *p)
{
	bool first = !ctx->devices;
	char node[64];
	size_t i;
	int ret;

	node_of(p->group, node, sizeof(node));
	ret = vnip_group_dev_open(ctx, dev, p, node, VFIO_TYPE1v2_IOMMU);
	if (ret < 0 || !first)
		return ret;
	ret = ranges_refresh(ctx);
	if (ret < 0)
		return ret;
	/* The container lost its mappings with its last group: map the
	 * recorded ones again at their IOVAs. */
	for (i = 0; i < ctx->nmaps; i++) {
		ret = map_dma(ctx, &ctx->maps[i]);
		if (ret < 0)
			break;
	}
	if (ret < 0) {
		char msg[512];

		snprintf(msg, sizeof(msg), "%s", vni_strerror_last());
		while (i--)
			unmap_dma(ctx, &ctx->maps[i]);
		return vnip_err_keep(ret, msg);
	}
	return 0;
}

static int type1_map(struct vni_ctx *ctx, struct vnip_mapping *m, unsigned int map_flags)
{
	int ret;

	(void)map_flags; /* read-only is in m->flags */
	ret = vnip_iova_get(ctx, m);
	if (ret < 0)
		return ret;
	ret = map_dma(ctx, m);
	if (ret < 0)
		vnip_iova_put(ctx, m);
	return ret;
}

static int type1_unmap(struct vni_ctx *ctx, const struct vnip_mapping *m)
{
	/* without a group in the container the kernel has dropped it already */
	int ret = ctx->devices ? unmap_dma(ctx, m) : 0;

	if (ret == 0)
		vnip_iova_put(ctx, m);
	return ret;
}

const struct vnip_backend vnip_backend_type1 = {
	.name = "type1",
	.id = VNI_BACKEND_TYPE1,
	.iommu = true,
	.usable = type1_usable,
	.ctx_init = type1_ctx_init,
	.ctx_fini = type1_ctx_fini,
	.dev_open = type1_dev_open,
	.dev_close = vnip_group_dev_close,
	.map = type1_map,
	.unmap = type1_unmap,
	.fill = vnip_iova_fill,
};
