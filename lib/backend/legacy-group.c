/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvfionoiommu - the legacy no-IOMMU group backend: /dev/vfio/noiommu-N
 * in a VFIO container with the VFIO_NOIOMMU_IOMMU "IOMMU", on any kernel
 * with CONFIG_VFIO_NOIOMMU (Linux >= 4.5).
 *
 * The kernel neither translates nor pins: the DMA address is the physical
 * address, read from /proc/self/pagemap when memory is mapped (one read of
 * the whole range, into the same lock-free table the other backends fill;
 * lookups never read pagemap). Memory must therefore not move while mapped:
 * caller memory must be hugetlb (or the caller accepts the risk with
 * VNI_DMA_MAP_MAY_MOVE), vni_dma_alloc() uses hugetlb only, and every
 * mapping is mlock()ed (no swapping) until it is unmapped.
 * The container and group code is shared with type1.c.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "compat/vni-uapi.h"
#include "backend.h"

#define VFIO_CONTAINER "/dev/vfio/vfio"
#define PAGEMAP "/proc/self/pagemap"
#define SMAPS "/proc/self/smaps"
#define PM_PRESENT ((uint64_t)1 << 63)
#define PM_SWAPPED ((uint64_t)1 << 62)
#define PM_PFN_MASK (((uint64_t)1 << 55) - 1)
/* pagemap entries read per pread() (64 KiB) */
#define PM_CHUNK 8192

static void group_node(int group, char *buf, size_t len)
{
	snprintf(buf, len, "/dev/vfio/noiommu-%d", group);
}

static int legacy_usable(const struct vnip_probe *p)
{
	struct stat st;
	char node[64];

	if (p->group < 0)
		return vnip_err_r(VNI_REASON_KERNEL_LACKS, -ENOSYS,
				  "%s has no IOMMU group: the kernel lacks the legacy VFIO "
				  "group interface (CONFIG_VFIO_GROUP=y, CONFIG_VFIO_NOIOMMU=y)",
				  p->bdf);
	group_node(p->group, node, sizeof(node));
	if (vnip_sys.stat(node, &st) < 0) {
		int e = -errno;

		if (e == -ENOENT)
			return vnip_err_r(VNI_REASON_KERNEL_LACKS, -ENOSYS,
					  "%s is in IOMMU group %d but %s does not exist: the "
					  "kernel lacks the legacy no-IOMMU group interface "
					  "(CONFIG_VFIO_GROUP=y, CONFIG_VFIO_NOIOMMU=y), or /dev "
					  "is not devtmpfs", p->bdf, p->group, node);
		return vnip_err(e, "cannot stat %s", node);
	}
	if (!S_ISCHR(st.st_mode))
		return vnip_err(-ENODEV, "%s is not a character device", node);
	return 0;
}

int vnip_container_init(struct vni_ctx *ctx, unsigned long iommu_type, const char *what)
{
	int fd, ret;

	fd = vnip_open(VFIO_CONTAINER, O_RDWR);
	if (fd == -ENOENT)
		return vnip_err_r(VNI_REASON_KERNEL_LACKS, -ENOSYS,
				  "%s does not exist: the kernel lacks the VFIO container "
				  "(CONFIG_VFIO_CONTAINER=y)", VFIO_CONTAINER);
	if (fd < 0)
		return vnip_err(fd, "cannot open %s", VFIO_CONTAINER);
	ret = vnip_ioctl(fd, VFIO_GET_API_VERSION, NULL);
	if (ret != VFIO_API_VERSION) {
		vnip_close(fd);
		return vnip_err(ret < 0 ? ret : -EPROTO, "%s: VFIO_GET_API_VERSION gave %d, "
				"not %d", VFIO_CONTAINER, ret, VFIO_API_VERSION);
	}
	ret = vnip_ioctl(fd, VFIO_CHECK_EXTENSION, (void *)(uintptr_t)iommu_type);
	if (ret <= 0) {
		vnip_close(fd);
		if (ret < 0)
			return vnip_err(ret, "%s: VFIO_CHECK_EXTENSION failed", VFIO_CONTAINER);
		return vnip_err_r(VNI_REASON_KERNEL_LACKS, -ENOSYS,
				  "%s offers no %s", VFIO_CONTAINER, what);
	}
	ctx->container = fd;
	vnip_info("context: VFIO container %d (%s)", fd, iommu_type == VFIO_NOIOMMU_IOMMU ?
		  "no-IOMMU" : "type1v2");
	return 0;
}

static int legacy_ctx_init(struct vni_ctx *ctx)
{
	return vnip_container_init(ctx, VFIO_NOIOMMU_IOMMU, "VFIO_NOIOMMU_IOMMU: the kernel "
				   "lacks CONFIG_VFIO_NOIOMMU, or noiommu mode was off when "
				   "vfio loaded");
}

void vnip_container_fini(struct vni_ctx *ctx)
{
	vnip_close(ctx->container);
	ctx->container = -1;
}

int vnip_group_dev_open(struct vni_ctx *ctx, struct vni_device *dev,
			const struct vnip_probe *p, const char *node,
			unsigned long iommu_type)
{
	struct vfio_group_status status;
	int ret, fd;

	snprintf(dev->cdev_path, sizeof(dev->cdev_path), "%s", node);
	fd = vnip_open(dev->cdev_path, O_RDWR);
	if (fd < 0) {
		if (fd == -EBUSY)
			return vnip_err_r(VNI_REASON_IN_USE, fd, "cannot open %s: the group is "
					  "in use (another process or context, or the vfio "
					  "cdev)", dev->cdev_path);
		if (fd == -EPERM || fd == -EACCES)
			return vnip_err_r(VNI_REASON_NO_PRIVILEGE, fd, "cannot open %s: needs "
					  "CAP_SYS_RAWIO and access to the node", dev->cdev_path);
		return vnip_err(fd, "cannot open %s", dev->cdev_path);
	}
	dev->group_fd = fd;
	memset(&status, 0, sizeof(status));
	status.argsz = sizeof(status);
	ret = vnip_ioctl(fd, VFIO_GROUP_GET_STATUS, &status);
	if (ret < 0)
		goto fail_msg;
	if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		ret = vnip_err(-EBUSY, "%s: group %d is not viable: another device of the "
			       "group is bound to a driver other than vfio-pci", dev->bdf,
			       p->group);
		goto fail;
	}
	ret = vnip_ioctl(fd, VFIO_GROUP_SET_CONTAINER, &ctx->container);
	if (ret < 0) {
		ret = vnip_err(ret, "%s: VFIO_GROUP_SET_CONTAINER failed", dev->bdf);
		goto fail;
	}
	dev->attached = true;
	/* The container gets its "IOMMU" with its first group. */
	if (!ctx->devices) {
		ret = vnip_ioctl(ctx->container, VFIO_SET_IOMMU, (void *)(uintptr_t)iommu_type);
		if (ret == -EPERM && iommu_type == VFIO_TYPE1v2_IOMMU) {
			ret = vnip_err_r(VNI_REASON_NO_PRIVILEGE, ret, "%s: VFIO_SET_IOMMU(type1v2) "
					 "failed: the IOMMU cannot isolate the device's MSIs (no "
					 "interrupt remapping); vfio refuses it unless /sys/module/"
					 "vfio_iommu_type1/parameters/allow_unsafe_interrupts is 1",
					 dev->bdf);
			goto fail;
		}
		if (ret < 0 && ret != -EBUSY) {
			ret = vnip_err(ret, "%s: VFIO_SET_IOMMU(%lu) failed", dev->bdf, iommu_type);
			goto fail;
		}
	}
	/* the kernel makes the device fd close-on-exec itself */
	ret = vnip_ioctl(fd, VFIO_GROUP_GET_DEVICE_FD, (void *)(uintptr_t)p->bdf);
	if (ret < 0) {
		if (ret == -EBUSY)
			ret = vnip_err_r(VNI_REASON_IN_USE, ret, "%s: the device is in use "
					 "(opened through its vfio cdev or elsewhere)", dev->bdf);
		else
			ret = vnip_err(ret, "%s: VFIO_GROUP_GET_DEVICE_FD failed", dev->bdf);
		goto fail;
	}
	dev->fd = ret;
	vnip_debug("%s: opened through %s", dev->bdf, dev->cdev_path);
	return 0;

fail_msg:
	ret = vnip_err(ret, "%s: VFIO_GROUP_GET_STATUS failed", dev->bdf);
fail:
	if (dev->attached)
		vnip_ioctl(fd, VFIO_GROUP_UNSET_CONTAINER, NULL);
	dev->attached = false;
	vnip_close(fd);
	dev->group_fd = -1;
	return ret;
}

static int legacy_dev_open(struct vni_ctx *ctx, struct vni_device *dev,
			   const struct vnip_probe *p)
{
	char node[64];

	group_node(p->group, node, sizeof(node));
	return vnip_group_dev_open(ctx, dev, p, node, VFIO_NOIOMMU_IOMMU);
}

/* Close the device fd, then take the group out of the container. quiet is
 * not needed: the device fd's release disables the device (vfio-pci) before
 * the group leaves the container and anything is unmapped. */
void vnip_group_dev_close(struct vni_ctx *ctx, struct vni_device *dev, int quiet)
{
	(void)ctx;
	(void)quiet;
	vnip_close(dev->fd);
	dev->fd = -1;
	if (dev->attached && vnip_ioctl(dev->group_fd, VFIO_GROUP_UNSET_CONTAINER, NULL) < 0)
		vnip_debug("%s: VFIO_GROUP_UNSET_CONTAINER failed (closing the group "
			   "does it)", dev->bdf);
	dev->attached = false;
	vnip_close(dev->group_fd);
	dev->group_fd = -1;
}

/*
 * Is all of [va, va+len) hugetlb memory? /proc/self/smaps: the header line of
 * each mapping is "start-end perms ...", its KernelPageSize line says the
 * page size. 1 yes, 0 no, -errno.
 */
static int is_hugetlb(uint64_t va, uint64_t len)
{
	char buf[4096], line[512];
	uint64_t start = 0, end = 0, covered = va;
	size_t ll = 0;
	ssize_t n;
	int fd, ret = 0;
	bool in = false;

	fd = vnip_open(SMAPS, O_RDONLY);
	if (fd < 0)
		return fd;
	while ((n = vnip_sys.read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			unsigned long long s, e, kb;

			if (buf[i] != '\n') {
				if (ll < sizeof(line) - 1)
					line[ll++] = buf[i];
				continue;
			}
			line[ll] = '\0';
			ll = 0;
			/* a mapping's header starts with its lower-case hex start
			 * address, its fields with a capitalized name */
			if (((line[0] >= '0' && line[0] <= '9') ||
			     (line[0] >= 'a' && line[0] <= 'f')) &&
			    sscanf(line, "%llx-%llx", &s, &e) == 2) {
				start = s;
				end = e;
				in = start < va + len && end > va;
			} else if (sscanf(line, "%*[^ \t:]:%*[ \t]%llu kB", &kb) == 1 && in &&
				   strncmp(line, "KernelPageSize:", 15) == 0) {
				in = false;
				if (kb < 2048) {
					ret = 0;
					goto out;
				}
				/* hugetlb mappings in address order */
				if (start <= covered && end > covered)
					covered = end;
			}
		}
	}
	ret = n < 0 ? -errno : covered >= va + len;
out:
	vnip_close(fd);
	return ret;
}

static int legacy_map(struct vni_ctx *ctx, struct vnip_mapping *m, unsigned int map_flags)
{
	void *p = (void *)(uintptr_t)m->va;
	int ret;

	(void)ctx;
	m->iova = m->va;
	if (!(m->flags & VNI_DMA_MAPPING_ALLOCATED) && !(map_flags & VNI_DMA_MAP_MAY_MOVE)) {
		ret = is_hugetlb(m->va, m->len);
		if (ret < 0)
			return vnip_err(ret, "cannot read %s to check the page size of "
					"%#" PRIx64 "+%#" PRIx64, SMAPS, m->va, m->len);
		if (!ret)
			return vnip_err_r(VNI_REASON_MAY_MOVE, -EINVAL,
					  "%#" PRIx64 "+%#" PRIx64 " is not all hugetlb memory: "
					  "with the legacy backend the kernel pins nothing and "
					  "may move 4 KiB pages while the device uses them; use "
					  "vni_dma_alloc() or hugetlb memory, or pass "
					  "VNI_DMA_MAP_MAY_MOVE to accept the risk", m->va, m->len);
	}
	if (vnip_sys.mlock(p, m->len) < 0) {
		ret = -errno;
		if (ret == -ENOMEM)
			return vnip_err(ret, "mlock of %#" PRIx64 "+%#" PRIx64 " failed: not "
					"mapped in the process, or over RLIMIT_MEMLOCK", m->va,
					m->len);
		return vnip_err(ret, "mlock of %#" PRIx64 "+%#" PRIx64 " failed", m->va, m->len);
	}
	/* Nothing pins the pages, so after a fork() the parent's next write
	 * to a private page would copy it (copy-on-write) away from the
	 * physical address the device uses: keep caller memory out of
	 * children (vni_dma_alloc() buffers are MADV_DONTFORK already). */
	if (!(m->flags & VNI_DMA_MAPPING_ALLOCATED) &&
	    vnip_sys.madvise(p, m->len, MADV_DONTFORK) < 0) {
		ret = vnip_err(-errno, "madvise(MADV_DONTFORK) of %#" PRIx64 "+%#" PRIx64
			       " failed", m->va, m->len);
		vnip_sys.munlock(p, m->len);
		return ret;
	}
	vnip_debug("legacy: locked %#" PRIx64 "+%#" PRIx64, m->va, m->len);
	return 0;
}

static int legacy_unmap(struct vni_ctx *ctx, const struct vnip_mapping *m)
{
	void *p = (void *)(uintptr_t)m->va;

	(void)ctx;
	if (vnip_sys.munlock(p, m->len) < 0)
		return vnip_err(-errno, "munlock of %#" PRIx64 "+%#" PRIx64 " failed",
				m->va, m->len);
	if (!(m->flags & VNI_DMA_MAPPING_ALLOCATED) &&
	    vnip_sys.madvise(p, m->len, MADV_DOFORK) < 0)
		vnip_debug("madvise(MADV_DOFORK) of %#" PRIx64 "+%#" PRIx64 " failed", m->va,
			   m->len);
	return 0;
}

/* Physical addresses of every page of m from one pass over pagemap; each
 * physically contiguous run goes into the table. */
static int64_t legacy_fill(struct vni_ctx *ctx, const struct vnip_mapping *m)
{
	uint64_t pages = m->len >> VNIP_PAGE_SHIFT, done = 0, run_va = 0, run_pa = 0,
		 run_len = 0;
	uint64_t *pm;
	int64_t runs = 0;
	int fd, ret = 0;

	pm = vnip_malloc(PM_CHUNK * sizeof(*pm));
	if (!pm)
		return vnip_err(-ENOMEM, "out of memory for reading %s", PAGEMAP);
	fd = vnip_open(PAGEMAP, O_RDONLY);
	if (fd < 0) {
		ret = vnip_err(fd, "cannot open %s", PAGEMAP);
		goto out;
	}
	while (done < pages) {
		uint64_t want = pages - done < PM_CHUNK ? pages - done : PM_CHUNK;
		uint64_t va = m->va + (done << VNIP_PAGE_SHIFT);
		ssize_t n;

		do {
			n = vnip_sys.pread(fd, pm, want * sizeof(*pm),
					   (off_t)((va >> VNIP_PAGE_SHIFT) * sizeof(*pm)));
		} while (n < 0 && errno == EINTR);
		if (n < 0) {
			ret = vnip_err(-errno, "reading %s at %#" PRIx64 " failed", PAGEMAP, va);
			goto out;
		}
		if ((size_t)n != want * sizeof(*pm)) {
			ret = vnip_err(-EIO, "short read of %s at %#" PRIx64, PAGEMAP, va);
			goto out;
		}
		for (uint64_t i = 0; i < want; i++, va += VNIP_PAGE_SIZE) {
			uint64_t e = pm[i], pa;

			if (!(e & PM_PRESENT) || (e & PM_SWAPPED)) {
				ret = vnip_err(-EFAULT, "%s: page %#" PRIx64 " is not present "
					       "in memory although it is locked", PAGEMAP, va);
				goto out;
			}
			if (!(e & PM_PFN_MASK)) {
				ret = vnip_err_r(VNI_REASON_PAGEMAP_HIDDEN, -EPERM,
						 "%s shows page frame number 0 for %#" PRIx64
						 ": the kernel hides physical addresses from "
						 "processes without CAP_SYS_ADMIN, which the legacy "
						 "backend needs (run as root, or use the noiommu "
						 "backend)", PAGEMAP, va);
				goto out;
			}
			pa = (e & PM_PFN_MASK) << VNIP_PAGE_SHIFT;
			if (run_len && run_pa + run_len == pa) {
				run_len += VNIP_PAGE_SIZE;
				continue;
			}
			if (run_len) {
				ret = vnip_dma_put_run(ctx, run_va, m->va + m->len - run_va,
						       run_pa, run_len);
				if (ret < 0)
					goto out;
				runs++;
			}
			run_va = va;
			run_pa = pa;
			run_len = VNIP_PAGE_SIZE;
		}
		done += want;
	}
	ret = vnip_dma_put_run(ctx, run_va, m->va + m->len - run_va, run_pa, run_len);
	if (ret == 0)
		runs++;
out:
	if (fd >= 0)
		vnip_close(fd);
	vnip_free(pm);
	if (ret < 0) {
		vnip_xlate_clear(&ctx->xlate, m->va, m->len);
		return ret;
	}
	return runs;
}

const struct vnip_backend vnip_backend_legacy_group = {
	.name = "legacy",
	.id = VNI_BACKEND_LEGACY,
	.iommu = false,
	.unpinned = true,
	.usable = legacy_usable,
	.ctx_init = legacy_ctx_init,
	.ctx_fini = vnip_container_fini,
	.dev_open = legacy_dev_open,
	.dev_close = vnip_group_dev_close,
	.map = legacy_map,
	.unmap = legacy_unmap,
	.fill = legacy_fill,
};
