// SPDX-License-Identifier: LGPL-2.1-or-later
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/capability.h>

#include "kt-iommufd.h"
#include "kt-tap.h"

int kt_cdev_path(const char *bdf, char *path, size_t len)
{
	char dir[256];
	struct dirent *de;
	int ret = -ENODEV;
	DIR *d;

	snprintf(dir, sizeof(dir), "/sys/bus/pci/devices/%s/vfio-dev", bdf);
	d = opendir(dir);
	if (!d)
		return -ENODEV;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		/* A cdev without the prefix would be an IOMMU-backed device. */
		if (strncmp(de->d_name, "noiommu-vfio", 12)) {
			ret = -EXDEV;
			break;
		}
		snprintf(path, len, "/dev/vfio/devices/%s", de->d_name);
		ret = 0;
		break;
	}
	closedir(d);
	return ret;
}

int kt_open_cdev(const char *bdf)
{
	char path[128];
	int ret, fd;

	ret = kt_cdev_path(bdf, path, sizeof(path));
	if (ret)
		return ret;
	fd = open(path, O_RDWR | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int kt_open_iommufd(void)
{
	int fd = open("/dev/iommu", O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

int kt_bind(int devfd, int iommufd, uint32_t *dev_id)
{
	struct vfio_device_bind_iommufd bind = {
		.argsz = sizeof(bind),
		.iommufd = iommufd,
	};

	if (ioctl(devfd, VFIO_DEVICE_BIND_IOMMUFD, &bind))
		return -errno;
	if (dev_id)
		*dev_id = bind.out_devid;
	return 0;
}

int kt_ioas_alloc(int iommufd, uint32_t *ioas_id)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };

	if (ioctl(iommufd, IOMMU_IOAS_ALLOC, &alloc))
		return -errno;
	*ioas_id = alloc.out_ioas_id;
	return 0;
}

int kt_destroy(int iommufd, uint32_t id)
{
	struct iommu_destroy destroy = { .size = sizeof(destroy), .id = id };

	return ioctl(iommufd, IOMMU_DESTROY, &destroy) ? -errno : 0;
}

int kt_attach(int devfd, uint32_t pt_id, uint32_t *out_pt_id)
{
	struct vfio_device_attach_iommufd_pt attach = {
		.argsz = sizeof(attach),
		.pt_id = pt_id,
	};

	if (ioctl(devfd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach))
		return -errno;
	if (out_pt_id)
		*out_pt_id = attach.pt_id;
	return 0;
}

int kt_detach(int devfd)
{
	struct vfio_device_detach_iommufd_pt detach = { .argsz = sizeof(detach) };

	return ioctl(devfd, VFIO_DEVICE_DETACH_IOMMUFD_PT, &detach) ? -errno : 0;
}

int kt_hwpt_alloc(int iommufd, uint32_t dev_id, uint32_t pt_id, uint32_t *hwpt_id)
{
	struct iommu_hwpt_alloc alloc = {
		.size = sizeof(alloc),
		.dev_id = dev_id,
		.pt_id = pt_id,
	};

	if (ioctl(iommufd, IOMMU_HWPT_ALLOC, &alloc))
		return -errno;
	*hwpt_id = alloc.out_hwpt_id;
	return 0;
}

int kt_map(int iommufd, uint32_t ioas_id, const void *va, uint64_t len,
	   uint64_t *iova, uint32_t flags)
{
	struct iommu_ioas_map map = {
		.size = sizeof(map),
		.flags = flags,
		.ioas_id = ioas_id,
		.user_va = (uintptr_t)va,
		.length = len,
		.iova = *iova,
	};

	if (ioctl(iommufd, IOMMU_IOAS_MAP, &map))
		return -errno;
	*iova = map.iova;
	return 0;
}

int kt_unmap(int iommufd, uint32_t ioas_id, uint64_t iova, uint64_t len)
{
	struct iommu_ioas_unmap unmap = {
		.size = sizeof(unmap),
		.ioas_id = ioas_id,
		.iova = iova,
		.length = len,
	};

	return ioctl(iommufd, IOMMU_IOAS_UNMAP, &unmap) ? -errno : 0;
}

int kt_get_pa_raw(int iommufd, struct kt_get_pa_arg *arg)
{
	return ioctl(iommufd, KT_IOCTL_GET_PA, arg) ? -errno : 0;
}

int kt_get_pa(int iommufd, uint32_t ioas_id, uint64_t iova, uint64_t cap,
	      uint64_t *phys, uint64_t *len)
{
	struct kt_get_pa_arg arg = {
		.size = sizeof(arg),
		.ioas_id = ioas_id,
		.iova = iova,
		.length = cap,
	};
	int ret = kt_get_pa_raw(iommufd, &arg);

	if (ret)
		return ret;
	*phys = arg.out_phys;
	*len = arg.length;
	return 0;
}

int kt_drop_cap_sys_rawio(void)
{
	return kt_drop_cap(CAP_SYS_RAWIO);
}

int kt_drop_cap(unsigned int cap)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	unsigned int i = CAP_TO_INDEX(cap);
	uint32_t mask = CAP_TO_MASK(cap);

	if (syscall(SYS_capget, &hdr, data))
		return -errno;
	data[i].effective &= ~mask;
	data[i].permitted &= ~mask;
	data[i].inheritable &= ~mask;
	if (syscall(SYS_capset, &hdr, data))
		return -errno;
	/* Check that it is really gone from the effective set. */
	if (syscall(SYS_capget, &hdr, data))
		return -errno;
	return data[i].effective & mask ? -EPERM : 0;
}

const char *kt_errname(int err)
{
	static char other[32];

	switch (err < 0 ? -err : err) {
	case 0: return "success";
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case EINVAL: return "EINVAL";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case EOVERFLOW: return "EOVERFLOW";
	case E2BIG: return "E2BIG";
	case EBUSY: return "EBUSY";
	case EEXIST: return "EEXIST";
	case EFAULT: return "EFAULT";
	case ENODEV: return "ENODEV";
	case ENOTTY: return "ENOTTY";
	case ENOMEM: return "ENOMEM";
	case EXDEV: return "EXDEV";
	default:
		snprintf(other, sizeof(other), "errno %d", err < 0 ? -err : err);
		return other;
	}
}

void kt_ctx_close(struct kt_ctx *c)
{
	if (c->devfd >= 0)
		close(c->devfd);
	if (c->iommufd >= 0)
		close(c->iommufd);
	c->devfd = -1;
	c->iommufd = -1;
}

int kt_ctx_open(struct kt_ctx *c, const char *bdf, bool attach)
{
	const char *step;
	int ret;

	memset(c, 0, sizeof(*c));
	c->devfd = -1;
	step = "open /dev/iommu";
	c->iommufd = ret = kt_open_iommufd();
	if (ret < 0)
		goto fail;
	step = "open the noiommu cdev";
	c->devfd = ret = kt_open_cdev(bdf);
	if (ret < 0)
		goto fail;
	step = "VFIO_DEVICE_BIND_IOMMUFD";
	ret = kt_bind(c->devfd, c->iommufd, &c->dev_id);
	if (ret)
		goto fail;
	step = "IOMMU_IOAS_ALLOC";
	ret = kt_ioas_alloc(c->iommufd, &c->ioas_id);
	if (ret)
		goto fail;
	if (attach) {
		step = "VFIO_DEVICE_ATTACH_IOMMUFD_PT";
		ret = kt_attach(c->devfd, c->ioas_id, &c->hwpt_id);
		if (ret)
			goto fail;
	}
	return 0;
fail:
	kt_diag("%s: %s: %s", bdf, step, kt_errname(ret));
	kt_ctx_close(c);
	return ret;
}
