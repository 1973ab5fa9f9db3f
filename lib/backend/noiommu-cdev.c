/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvfionoiommu - the no-IOMMU cdev backend: /dev/vfio/devices/noiommu-vfioN
 * bound to an iommufd and attached to its IOAS; IOVA == VA, the kernel pins
 * what is mapped, and the DMA address is the physical address from
 * IOMMU_IOAS_NOIOMMU_GET_PA, asked once per physically contiguous run.
 * The iommufd, cdev and IOAS_MAP code is shared with iommufd.c.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "compat/vni-uapi.h"
#include "backend.h"

int vnip_cdev_node_ok(const struct vnip_probe *p)
{
	char node[VNI_PCI_CDEV_LEN + 24];
	int ret;

	snprintf(node, sizeof(node), "%s/%s", VNIP_DEV_VFIO_DEVICES, p->cdev);
	ret = vnip_cdev_node_check(p->bdf, p->cdev);
	if (ret == -ENOENT)
		return vnip_err(-ENOENT,
				"%s has the vfio cdev %s in sysfs but the device node %s is "
				"missing: /dev is not devtmpfs (mount -t devtmpfs devtmpfs "
				"/dev) or udev/mdev has not created it yet; the node is a "
				"character device with the numbers in %s/%s/vfio-dev/%s/dev",
				p->bdf, p->cdev, node, VNIP_SYSFS_PCI, p->bdf, p->cdev);
	if (ret == -ENOTTY)
		return vnip_err(-ENODEV, "%s is not a character device: remove it and let "
				"devtmpfs or udev create the vfio cdev node of %s", node, p->bdf);
	if (ret == -ESTALE)
		return vnip_err(-ENODEV, "%s has other device numbers than %s/%s/vfio-dev/%s/dev "
				"(a stale node in a static /dev?): recreate it or mount "
				"devtmpfs on /dev", node, VNIP_SYSFS_PCI, p->bdf, p->cdev);
	if (ret < 0)
		return vnip_err(ret, "cannot stat the vfio cdev node %s of %s", node, p->bdf);
	return 0;
}

static int cdev_usable(const struct vnip_probe *p)
{
	if (!p->cdev[0])
		return vnip_err_r(VNI_REASON_KERNEL_LACKS, -ENOSYS,
				  "%s is bound to vfio-pci but has no vfio cdev (%s/%s/vfio-dev "
				  "is empty or missing): the kernel lacks no-IOMMU cdev support "
				  "(needs CONFIG_VFIO_DEVICE_CDEV=y and Linux 7.3 or the "
				  "libvfionoiommu 6.12 patches)", p->bdf, VNIP_SYSFS_PCI, p->bdf);
	if (strncmp(p->cdev, "noiommu-", 8) != 0)
		return vnip_err_r(VNI_REASON_KERNEL_LACKS, -ENOSYS,
				  "%s is a no-IOMMU device (IOMMU group \"vfio-noiommu\") but "
				  "its vfio cdev %s is not a no-IOMMU cdev: the kernel lacks "
				  "no-IOMMU cdev support (needs CONFIG_VFIO_DEVICE_CDEV=y and "
				  "Linux 7.3 or the libvfionoiommu 6.12 patches; only the "
				  "legacy group interface is available)", p->bdf, p->cdev);
	return vnip_cdev_node_ok(p);
}

int vnip_iommufd_ctx_init(struct vni_ctx *ctx)
{
	struct iommu_ioas_alloc alloc;
	int fd, ret;

	fd = vnip_open(VNIP_DEV_IOMMU, O_RDWR);
	if (fd == -ENOENT)
		return vnip_err_r(VNI_REASON_KERNEL_LACKS, -ENOSYS,
				  "%s does not exist: the kernel needs CONFIG_IOMMUFD "
				  "(modprobe iommufd): " VNIP_NOIOMMU_FIX, VNIP_DEV_IOMMU);
	if (fd < 0)
		return vnip_err(fd, "cannot open %s", VNIP_DEV_IOMMU);
	memset(&alloc, 0, sizeof(alloc));
	alloc.size = sizeof(alloc);
	ret = vnip_ioctl(fd, IOMMU_IOAS_ALLOC, &alloc);
	if (ret < 0) {
		vnip_close(fd);
		return vnip_err(ret, "IOMMU_IOAS_ALLOC failed");
	}
	ctx->iommufd = fd;
	ctx->ioas_id = alloc.out_ioas_id;
	vnip_info("context: iommufd %d, IOAS %u", fd, ctx->ioas_id);
	return 0;
}

void vnip_iommufd_ctx_fini(struct vni_ctx *ctx)
{
	struct iommu_destroy destroy;

	memset(&destroy, 0, sizeof(destroy));
	destroy.size = sizeof(destroy);
	destroy.id = ctx->ioas_id;
	if (vnip_ioctl(ctx->iommufd, IOMMU_DESTROY, &destroy) < 0)
		vnip_debug("IOMMU_DESTROY of IOAS %u failed (closing the iommufd frees it)",
			   ctx->ioas_id);
	vnip_close(ctx->iommufd);
	ctx->iommufd = -1;
	ctx->ioas_id = 0;
}

int vnip_cdev_dev_open(struct vni_ctx *ctx, struct vni_device *dev,
		       const struct vnip_probe *p)
{
	struct vfio_device_bind_iommufd bind;
	struct vfio_device_attach_iommufd_pt attach;
	int ret;

	snprintf(dev->cdev_path, sizeof(dev->cdev_path), "%s/%s", VNIP_DEV_VFIO_DEVICES,
		 p->cdev);
	dev->fd = vnip_open(dev->cdev_path, O_RDWR);
	if (dev->fd < 0) {
		ret = dev->fd;
		dev->fd = -1;
		if (ret == -EPERM || ret == -EACCES)
			return vnip_err_r(VNI_REASON_NO_PRIVILEGE, ret, "cannot open %s: needs "
					  "CAP_SYS_RAWIO and access to the node", dev->cdev_path);
		if (ret == -EBUSY)
			return vnip_err_r(VNI_REASON_IN_USE, ret, "cannot open %s: the device "
					  "is in use (another process, or the legacy group path)",
					  dev->cdev_path);
		return vnip_err(ret, "cannot open %s", dev->cdev_path);
	}

	memset(&bind, 0, sizeof(bind));
	bind.argsz = sizeof(bind);
	bind.iommufd = ctx->iommufd;
	ret = vnip_ioctl(dev->fd, VFIO_DEVICE_BIND_IOMMUFD, &bind);
	if (ret == -EPERM && !p->noiommu)
		return vnip_err_r(VNI_REASON_NO_PRIVILEGE, ret, "%s: VFIO_DEVICE_BIND_IOMMUFD "
				  "failed: the IOMMU cannot isolate this device's MSIs (no "
				  "interrupt remapping); iommufd refuses it unless "
				  "/sys/module/iommufd/parameters/allow_unsafe_interrupts is 1",
				  dev->bdf);
	if (ret < 0)
		return vnip_err(ret, "%s: VFIO_DEVICE_BIND_IOMMUFD failed", dev->bdf);
	dev->dev_id = bind.out_devid;

	memset(&attach, 0, sizeof(attach));
	attach.argsz = sizeof(attach);
	attach.pt_id = ctx->ioas_id;
	ret = vnip_ioctl(dev->fd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach);
	if (ret < 0)
		return vnip_err(ret, "%s: VFIO_DEVICE_ATTACH_IOMMUFD_PT to IOAS %u failed",
				dev->bdf, ctx->ioas_id);
	dev->attached = true;
	vnip_debug("%s: iommufd device %u attached to IOAS %u", dev->bdf, dev->dev_id,
		   ctx->ioas_id);
	return 0;
}

/* Detach from the IOAS only after quiesce() succeeded, then close. */
void vnip_cdev_dev_close(struct vni_ctx *ctx, struct vni_device *dev, int quiet)
{
	struct vfio_device_detach_iommufd_pt detach;
	int ret;

	(void)ctx;
	if (dev->attached && quiet < 0) {
		vnip_warn("%s: the device could not be quiesced (%s); not detaching it "
			  "explicitly: closing it makes vfio-pci disable it before the "
			  "kernel unpins", dev->bdf, vni_strerror_last());
	} else if (dev->attached) {
		memset(&detach, 0, sizeof(detach));
		detach.argsz = sizeof(detach);
		ret = vnip_ioctl(dev->fd, VFIO_DEVICE_DETACH_IOMMUFD_PT, &detach);
		if (ret < 0)
			vnip_warn("%s: VFIO_DEVICE_DETACH_IOMMUFD_PT failed (%d); closing "
				  "the device detaches it", dev->bdf, ret);
	}
	dev->attached = false;
	vnip_close(dev->fd);
	dev->fd = -1;
}

/* IOAS_MAP of m at m->iova (READONLY: the device may only read). */
int vnip_ioas_map(struct vni_ctx *ctx, struct vnip_mapping *m, unsigned int map_flags)
{
	struct iommu_ioas_map map;
	int ret;

	memset(&map, 0, sizeof(map));
	map.size = sizeof(map);
	map.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
		    (map_flags & VNI_DMA_MAP_READONLY ? 0 : IOMMU_IOAS_MAP_WRITEABLE);
	map.ioas_id = ctx->ioas_id;
	map.user_va = m->va;
	map.length = m->len;
	map.iova = m->iova;
	ret = vnip_ioctl(ctx->iommufd, IOMMU_IOAS_MAP, &map);
	if (ret < 0) {
		if (ret == -ENOMEM)
			return vnip_err(ret, "IOMMU_IOAS_MAP of %#" PRIx64 "+%#" PRIx64
					" failed: cannot pin the memory (RLIMIT_MEMLOCK, or "
					"out of memory)", m->va, m->len);
		if (ret == -EFAULT)
			return vnip_err(ret, "IOMMU_IOAS_MAP of %#" PRIx64 "+%#" PRIx64
					" failed: the range is not mapped in the process",
					m->va, m->len);
		return vnip_err(ret, "IOMMU_IOAS_MAP of %#" PRIx64 "+%#" PRIx64 " failed",
				m->va, m->len);
	}
	vnip_debug("IOAS %u: mapped %#" PRIx64 "+%#" PRIx64 " at IOVA %#" PRIx64, ctx->ioas_id,
		   m->va, m->len, m->iova);
	return 0;
}

static int cdev_map(struct vni_ctx *ctx, struct vnip_mapping *m, unsigned int map_flags)
{
	m->iova = m->va;
	return vnip_ioas_map(ctx, m, map_flags);
}

int vnip_ioas_unmap(struct vni_ctx *ctx, const struct vnip_mapping *m)
{
	struct iommu_ioas_unmap unmap;
	int ret;

	memset(&unmap, 0, sizeof(unmap));
	unmap.size = sizeof(unmap);
	unmap.ioas_id = ctx->ioas_id;
	unmap.iova = m->iova;
	unmap.length = m->len;
	ret = vnip_ioctl(ctx->iommufd, IOMMU_IOAS_UNMAP, &unmap);
	if (ret < 0)
		return vnip_err(ret, "IOMMU_IOAS_UNMAP of IOVA %#" PRIx64 "+%#" PRIx64 " failed",
				m->iova, m->len);
	vnip_debug("IOAS %u: unmapped IOVA %#" PRIx64 "+%#" PRIx64, ctx->ioas_id, m->iova,
		   m->len);
	return 0;
}

static int get_pa(struct vni_ctx *ctx, uint64_t va, uint64_t max, uint64_t *dma,
		  uint64_t *len)
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
			return vnip_err_r(VNI_REASON_KERNEL_LACKS, -ENOSYS,
					  "IOMMU_IOAS_NOIOMMU_GET_PA failed: the kernel lacks "
					  "the ioctl (needs Linux 7.3 or the libvfionoiommu 6.12 "
					  "patches)");
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

static int64_t cdev_fill(struct vni_ctx *ctx, const struct vnip_mapping *m)
{
	uint64_t off = 0;
	int64_t runs = 0;
	int ret;

	while (off < m->len) {
		uint64_t dma = 0, rl = 0, want = m->len - off;

		ret = get_pa(ctx, m->va + off, want, &dma, &rl);
		if (ret == 0)
			ret = vnip_dma_put_run(ctx, m->va + off, want, dma, rl);
		if (ret < 0) {
			vnip_xlate_clear(&ctx->xlate, m->va, m->len);
			return ret;
		}
		off += rl;
		runs++;
	}
	return runs;
}

const struct vnip_backend vnip_backend_noiommu_cdev = {
	.name = "noiommu",
	.id = VNI_BACKEND_NOIOMMU,
	.iommu = false,
	.usable = cdev_usable,
	.ctx_init = vnip_iommufd_ctx_init,
	.ctx_fini = vnip_iommufd_ctx_fini,
	.dev_open = vnip_cdev_dev_open,
	.dev_close = vnip_cdev_dev_close,
	.map = cdev_map,
	.unmap = vnip_ioas_unmap,
	.fill = cdev_fill,
};
