/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvfionoiommu - VFIO no-IOMMU PCI devices over the vfio cdev.
 */
#include <endian.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <linux/capability.h>

#include "compat/vni-uapi.h"
#include "backend/backend.h"
#include "internal.h"

/* PCI configuration space (PCI Local Bus 3.0, PCIe Base 6.0 7.5.3). */
#define VNIP_PCI_COMMAND 0x04
#define VNIP_PCI_COMMAND_MEMORY 0x0002
#define VNIP_PCI_COMMAND_MASTER 0x0004
#define VNIP_PCI_STATUS 0x06
#define VNIP_PCI_STATUS_CAP_LIST 0x0010
#define VNIP_PCI_CAP_PTR 0x34
#define VNIP_PCI_CAP_ID_EXP 0x10
#define VNIP_PCI_EXP_DEVSTA 0x0a
#define VNIP_PCI_EXP_DEVSTA_TRPND 0x0020
/* How long close waits for Transactions Pending to clear: the PCIe default
 * completion timeout range ends at 50 ms; twice that, polled every 1 ms. */
#define VNIP_TRPND_WAIT_MS 100

bool vnip_ctx_has_devices(struct vni_ctx *ctx)
{
	return ctx->devices != NULL;
}

static bool is_vfio_cdev(const char *name)
{
	return strncmp(name, "noiommu-vfio", 12) == 0 ||
	       strncmp(name, "vfio", 4) == 0;
}

int vnip_has_cap(unsigned int cap)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
		.pid = 0,
	};
	struct __user_cap_data_struct data[2];

	memset(data, 0, sizeof(data));
	if (vnip_sys.capget(&hdr, data) < 0)
		return -errno;
	return !!(data[cap / 32].effective & (1u << (cap % 32)));
}

/* noiommu mode: the switch exists and is on. */
static int noiommu_switch_on(void)
{
	char buf[128];
	ssize_t n;

	n = vnip_read_file(VNIP_NOIOMMU_PARAM, buf, sizeof(buf));
	if (n == -ENOENT)
		return vnip_err_r(VNI_REASON_KERNEL_LACKS, -ENOSYS,
				  "%s does not exist: the kernel lacks no-IOMMU support "
				  "(CONFIG_VFIO_NOIOMMU) or vfio is not loaded (modprobe vfio); "
				  "or use " VNIP_NOIOMMU_FIX, VNIP_NOIOMMU_PARAM);
	if (n < 0)
		return vnip_err((int)n, "cannot read %s", VNIP_NOIOMMU_PARAM);
	if (!(buf[0] == 'Y' || buf[0] == 'y' || buf[0] == '1'))
		return vnip_err_r(VNI_REASON_NOIOMMU_OFF, -EOPNOTSUPP,
				  "noiommu mode is off: write 1 to %s (as root; this taints "
				  "the kernel)", VNIP_NOIOMMU_PARAM);
	return 0;
}

/* What sysfs says about device bdf (canonical): it exists, is bound to
 * vfio-pci, its vfio cdev and IOMMU group. Messages with advice. */
static int probe_device(const char *bdf, struct vnip_probe *p)
{
	char path[512], buf[128];
	int fd, ret;

	memset(p, 0, sizeof(*p));
	p->group = -1;
	snprintf(p->bdf, sizeof(p->bdf), "%s", bdf);

	snprintf(path, sizeof(path), "%s/%s", VNIP_SYSFS_PCI, bdf);
	fd = vnip_open(path, O_RDONLY | O_DIRECTORY);
	if (fd == -ENOENT || fd == -ENOTDIR)
		return vnip_err_r(VNI_REASON_NO_SUCH_DEVICE, -ENODEV,
				  "no PCI device %s (%s does not exist; see lspci -D)", bdf, path);
	if (fd < 0)
		return vnip_err(fd, "cannot open %s", path);
	vnip_close(fd);

	snprintf(path, sizeof(path), "%s/%s/driver", VNIP_SYSFS_PCI, bdf);
	ret = vnip_readlink_base(path, buf, sizeof(buf));
	if (ret == -ENOENT || (ret == 0 && strcmp(buf, "vfio-pci") != 0)) {
		/* Not bound to vfio-pci and in no IOMMU group: vfio-pci can
		 * take it only in noiommu mode, so say first if that is off. */
		char grp[64], gpath[512];
		int g, sw;

		snprintf(gpath, sizeof(gpath), "%s/%s/iommu_group", VNIP_SYSFS_PCI, bdf);
		g = vnip_readlink_base(gpath, grp, sizeof(grp));
		if (g == -ENOENT) {
			sw = noiommu_switch_on();
			if (sw < 0)
				return sw;
		}
	}
	if (ret == -ENOENT)
		return vnip_err_r(VNI_REASON_UNBOUND, -ENXIO,
				  "%s is not bound to any driver: bind it to vfio-pci: "
				  "echo vfio-pci > %s/%s/driver_override && "
				  "echo %s > /sys/bus/pci/drivers_probe",
				  bdf, VNIP_SYSFS_PCI, bdf, bdf);
	if (ret < 0)
		return vnip_err(ret, "cannot read %s", path);
	if (strcmp(buf, "vfio-pci") != 0)
		return vnip_err_r(VNI_REASON_BOUND_ELSEWHERE, -ENXIO,
				  "%s is bound to %s, not vfio-pci: rebind it: "
				  "echo vfio-pci > %s/%s/driver_override && "
				  "echo %s > %s/%s/driver/unbind && "
				  "echo %s > /sys/bus/pci/drivers_probe",
				  bdf, buf, VNIP_SYSFS_PCI, bdf, bdf, VNIP_SYSFS_PCI, bdf, bdf);

	snprintf(path, sizeof(path), "%s/%s/vfio-dev", VNIP_SYSFS_PCI, bdf);
	ret = vnip_dir_find(path, is_vfio_cdev, p->cdev, sizeof(p->cdev));
	if (ret < 0 && ret != -ENOENT)
		return vnip_err(ret, "cannot list %s", path);
	if (ret <= 0)
		p->cdev[0] = '\0';

	snprintf(path, sizeof(path), "%s/%s/iommu_group", VNIP_SYSFS_PCI, bdf);
	ret = vnip_readlink_base(path, buf, sizeof(buf));
	if (ret < 0 && ret != -ENOENT)
		return vnip_err(ret, "cannot read %s", path);
	if (ret == 0) {
		char name[64];
		int g = vnip_parse_group(buf);
		ssize_t n;

		if (g >= 0) {
			p->group = g;
			/* only vfio's fake groups for no-IOMMU devices have a name */
			snprintf(path, sizeof(path), "/sys/kernel/iommu_groups/%d/name", g);
			n = vnip_read_file(path, name, sizeof(name));
			if (n < 0 && n != -ENOENT)
				return vnip_err((int)n, "cannot read %s", path);
			if (n > 0 && strcmp(name, "vfio-noiommu") == 0)
				p->noiommu = true;
		}
	}
	if (strncmp(p->cdev, "noiommu-", 8) == 0)
		p->noiommu = true;
	return 0;
}

/* The checks vni_device_open() makes before it opens anything; *p filled. */
static int preflight(const char *bdf, struct vnip_probe *p)
{
	int ret = probe_device(bdf, p);

	if (ret < 0)
		return ret;
	if (!p->noiommu && p->cdev[0] == '\0' && p->group < 0) {
		/* vfio-pci binds a device without an IOMMU only in noiommu
		 * mode: say first if that is off */
		ret = noiommu_switch_on();
		if (ret < 0)
			return ret;
		return vnip_err_r(VNI_REASON_KERNEL_LACKS, -ENOSYS,
				  "%s is bound to vfio-pci but has no vfio cdev (%s/%s/vfio-dev "
				  "is empty or missing) and no IOMMU group: the kernel lacks "
				  "no-IOMMU cdev support (needs CONFIG_VFIO_DEVICE_CDEV=y and "
				  "Linux 7.3 or the libvfionoiommu 6.12 patches) and the legacy "
				  "group interface (CONFIG_VFIO_GROUP)", bdf, VNIP_SYSFS_PCI, bdf);
	}
	if (p->noiommu) {
		ret = noiommu_switch_on();
		if (ret < 0)
			return ret;
	}
	return 0;
}

int vni_backend_probe(const char *bdf)
{
	const struct vnip_backend *forced, *b;
	struct vni_pci_addr addr;
	char canon[VNI_PCI_ADDR_STRLEN];
	struct vnip_probe p;
	struct vni_ctx tmp;
	int ret;

	if (!bdf)
		return vnip_err(-EINVAL, "vni_backend_probe: NULL bdf");
	ret = vni_pci_addr_parse(bdf, &addr);
	if (ret < 0)
		return ret;
	vni_pci_addr_format(&addr, canon, sizeof(canon));
	ret = vnip_backend_from_env(&forced);
	if (ret < 0)
		return ret;
	ret = preflight(canon, &p);
	if (ret < 0)
		return ret;
	memset(&tmp, 0, sizeof(tmp));
	tmp.backend = forced;
	tmp.forced = forced != NULL;
	ret = vnip_backend_select(&tmp, &p, &b);
	return ret < 0 ? ret : (int)b->id;
}

/* Keep the message and reason of a failure across cleanup steps. */
struct saved_err {
	char msg[512];
	int reason;
};

static void err_save(struct saved_err *e)
{
	snprintf(e->msg, sizeof(e->msg), "%s", vni_strerror_last());
	e->reason = vni_reason_last();
}

static int err_restore(const struct saved_err *e, int err)
{
	vnip_err_keep(err, e->msg);
	vnip_reason_set((enum vni_reason)e->reason);
	return err;
}

int vnip_backend_select(const struct vni_ctx *ctx, const struct vnip_probe *p,
			const struct vnip_backend **out)
{
	const struct vnip_backend *b = ctx->backend;
	struct saved_err first;
	int ret, first_ret = 0;

	if (b && ctx->ready) {
		/* The context's first device chose: the others must agree. */
		ret = b->iommu == p->noiommu ? -EXDEV : b->usable(p);
		if (ret == 0) {
			*out = b;
			return 0;
		}
		err_save(&first);
		for (size_t i = 0; vnip_backends[i]; i++) {
			const struct vnip_backend *o = vnip_backends[i];

			if (o != b && o->iommu != p->noiommu && o->usable(p) == 0)
				return vnip_err_r(VNI_REASON_BACKEND_MISMATCH, -EXDEV,
						  "%s needs the %s backend, but this context uses "
						  "%s (chosen when %s was opened; one backend per "
						  "context): open %s in a context of its own",
						  p->bdf, o->name, b->name, ctx->first_bdf, p->bdf);
		}
		if (ret != -EXDEV)
			return err_restore(&first, ret);
		return vnip_err_r(VNI_REASON_BACKEND_MISMATCH, -EXDEV,
				  "%s is %s, but this context uses the %s backend (chosen "
				  "when %s was opened)", p->bdf, p->noiommu ?
				  "not behind an IOMMU" : "behind a real IOMMU", b->name,
				  ctx->first_bdf);
	}
	if (b) {
		if (b->iommu && p->noiommu)
			return vnip_err_r(VNI_REASON_NO_IOMMU, -EXDEV,
					  "%s is not behind an IOMMU, but the context's backend "
					  "%s (forced by VNI_BACKEND or vni_ctx_set_backend()) "
					  "needs one", p->bdf, b->name);
		if (!b->iommu && !p->noiommu)
			return vnip_err_r(VNI_REASON_REAL_IOMMU, -EXDEV,
					  "%s is behind a real IOMMU (cdev '%s', IOMMU group %d), "
					  "but the context's backend %s (forced by VNI_BACKEND or "
					  "vni_ctx_set_backend()) is for devices without one",
					  p->bdf, p->cdev, p->group, b->name);
		ret = b->usable(p);
		if (ret < 0)
			return ret;
		*out = b;
		return 0;
	}
	/* Automatic: the first backend for this kind of device that the
	 * kernel offers; if none, the error of the preferred one. */
	for (size_t i = 0; vnip_backends[i]; i++) {
		b = vnip_backends[i];
		if (b->iommu == p->noiommu)
			continue;
		ret = b->usable(p);
		if (ret == 0) {
			*out = b;
			return 0;
		}
		if (!first_ret) {
			first_ret = ret;
			err_save(&first);
		}
	}
	if (!first_ret)
		return vnip_err_r(VNI_REASON_REAL_IOMMU, -EXDEV,
				  "%s is behind a real IOMMU (cdev '%s', IOMMU group %d): this "
				  "library version supports only devices without an IOMMU",
				  p->bdf, p->cdev, p->group);
	return err_restore(&first, first_ret);
}

static int read_region_infos(struct vni_device *dev)
{
	unsigned int n = dev->num_regions < VNIP_NUM_REGIONS ? dev->num_regions
							     : VNIP_NUM_REGIONS;

	for (unsigned int i = 0; i < n; i++) {
		struct vfio_region_info ri;
		int ret;

		memset(&ri, 0, sizeof(ri));
		ri.argsz = sizeof(ri);
		ri.index = i;
		ret = vnip_ioctl(dev->fd, VFIO_DEVICE_GET_REGION_INFO, &ri);
		if (ret == -EINVAL) {
			/* Absent region (e.g. VGA on most devices). */
			dev->regions[i].index = i;
			continue;
		}
		if (ret < 0)
			return vnip_err(ret, "%s: VFIO_DEVICE_GET_REGION_INFO %u failed",
					dev->bdf, i);
		dev->regions[i].index = i;
		dev->regions[i].flags = ri.flags;
		dev->regions[i].size = ri.size;
		dev->regions[i].offset = ri.offset;
	}
	return 0;
}

static int cfg_rw(struct vni_device *dev, bool write, uint64_t off, void *buf,
		  size_t len)
{
	const struct vni_region_info *r = &dev->regions[VNI_REGION_CONFIG];
	ssize_t n;

	if (r->size == 0)
		return vnip_err(-ENOENT, "%s: no config space region", dev->bdf);
	if (off > r->size || len > r->size - off)
		return vnip_err(-ERANGE, "%s: config access %#" PRIx64 "+%#zx is beyond "
				"config space (%#" PRIx64 " bytes)", dev->bdf, off, len,
				r->size);
	do {
		if (write)
			n = vnip_sys.pwrite(dev->fd, buf, len, (off_t)(r->offset + off));
		else
			n = vnip_sys.pread(dev->fd, buf, len, (off_t)(r->offset + off));
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return vnip_err(-errno, "%s: config space %s at %#" PRIx64 " failed",
				dev->bdf, write ? "write" : "read", off);
	if ((size_t)n != len)
		return vnip_err(-EIO, "%s: short config space %s at %#" PRIx64,
				dev->bdf, write ? "write" : "read", off);
	return 0;
}

static int irq_disable_locked(struct vni_device *dev);

/* Offset of the PCI Express capability, 0 if the device has none, or -errno. */
static int find_pcie_cap(struct vni_device *dev)
{
	uint16_t status;
	uint8_t ptr;
	int ret;

	ret = cfg_rw(dev, false, VNIP_PCI_STATUS, &status, sizeof(status));
	if (ret < 0)
		return ret;
	if (!(le16toh(status) & VNIP_PCI_STATUS_CAP_LIST))
		return 0;
	ret = cfg_rw(dev, false, VNIP_PCI_CAP_PTR, &ptr, sizeof(ptr));
	if (ret < 0)
		return ret;
	/* At most 48 capabilities fit in the 192 bytes after the header. */
	for (int n = 0; n < 48; n++) {
		uint8_t hdr[2];

		ptr &= 0xfc;
		if (ptr < 0x40)
			return 0;
		ret = cfg_rw(dev, false, ptr, hdr, sizeof(hdr));
		if (ret < 0)
			return ret;
		if (hdr[0] == VNIP_PCI_CAP_ID_EXP)
			return ptr;
		ptr = hdr[1];
	}
	return 0;
}

/*
 * Stop a device from doing DMA before the kernel may unpin its memory:
 * disable the interrupts the library enabled, clear Bus Master Enable in the
 * command register, read the register back (the read's completion cannot
 * pass the device's earlier posted writes, so the device's DMA writes issued
 * before the clear have reached memory), then wait, bounded, for the PCIe
 * Transactions Pending bit to clear. Caller holds dev->lock or owns dev
 * alone. Returns 0 when the device is known to be quiet, else -errno with a
 * message: the caller must then not detach the device explicitly but leave it
 * to the kernel (closing the device fd makes vfio-pci disable the device
 * before it unbinds it from iommufd and unpins).
 */
static int quiesce(struct vni_device *dev)
{
	uint16_t cmd, sta;
	int ret, cap, irq = 0;

	/* A failure here still stops DMA below, but the device is then not
	 * known to be quiet: the kernel's close path must finish the job. */
	if (dev->irq_type >= 0)
		irq = irq_disable_locked(dev);
	ret = cfg_rw(dev, false, VNIP_PCI_COMMAND, &cmd, sizeof(cmd));
	if (ret < 0)
		return vnip_err(ret, "%s: cannot read the PCI command register to stop "
				"DMA", dev->bdf);
	cmd = le16toh(cmd);
	if (cmd & VNIP_PCI_COMMAND_MASTER) {
		uint16_t w = htole16((uint16_t)(cmd & ~VNIP_PCI_COMMAND_MASTER));

		ret = cfg_rw(dev, true, VNIP_PCI_COMMAND, &w, sizeof(w));
		if (ret < 0)
			return vnip_err(ret, "%s: cannot clear Bus Master Enable", dev->bdf);
	}
	ret = cfg_rw(dev, false, VNIP_PCI_COMMAND, &cmd, sizeof(cmd));
	if (ret < 0)
		return vnip_err(ret, "%s: cannot read the PCI command register back",
				dev->bdf);
	if (le16toh(cmd) & VNIP_PCI_COMMAND_MASTER)
		return vnip_err(-EIO, "%s: Bus Master Enable is still set after clearing it",
				dev->bdf);
	cap = find_pcie_cap(dev);
	if (cap < 0)
		return vnip_err(cap, "%s: cannot read the capability list", dev->bdf);
	if (cap == 0)
		return irq; /* conventional PCI: nothing more to wait for */
	for (int ms = 0;; ms++) {
		const struct timespec one_ms = { 0, 1000000 };

		ret = cfg_rw(dev, false, (uint64_t)cap + VNIP_PCI_EXP_DEVSTA, &sta, sizeof(sta));
		if (ret < 0)
			return vnip_err(ret, "%s: cannot read the PCIe Device Status register",
					dev->bdf);
		if (!(le16toh(sta) & VNIP_PCI_EXP_DEVSTA_TRPND))
			return irq;
		if (ms >= VNIP_TRPND_WAIT_MS)
			break;
		vnip_sys.nanosleep(&one_ms, NULL);
	}
	return vnip_err(-ETIMEDOUT, "%s: Transactions Pending still set %d ms after "
			"clearing Bus Master Enable", dev->bdf, VNIP_TRPND_WAIT_MS);
}

int vni_device_open(struct vni_ctx *ctx, const char *bdf, struct vni_device **devp)
{
	const struct vnip_backend *be;
	struct vfio_device_info vinfo;
	struct vni_pci_addr addr;
	struct vni_device *dev, *d;
	char canon[VNI_PCI_ADDR_STRLEN];
	struct vnip_probe probe;
	bool inited = false;
	uint32_t id, cls;
	int ret;

	if (!ctx || !bdf || !devp)
		return vnip_err(-EINVAL, "vni_device_open: NULL argument");
	ret = vni_pci_addr_parse(bdf, &addr);
	if (ret < 0)
		return ret;
	vni_pci_addr_format(&addr, canon, sizeof(canon));

	ret = preflight(canon, &probe);
	if (ret < 0)
		return ret;

	pthread_mutex_lock(&ctx->lock);
	for (d = ctx->devices; d; d = d->next) {
		if (strcmp(d->bdf, canon) == 0) {
			ret = vnip_err_r(VNI_REASON_IN_USE, -EBUSY,
					 "%s is already open in this context", canon);
			goto out_unlock;
		}
	}
	ret = vnip_backend_select(ctx, &probe, &be);
	if (ret < 0)
		goto out_unlock;
	if (probe.noiommu) {
		/* every no-IOMMU interface wants it (vfio checks on open) */
		ret = vnip_has_cap(VNIP_CAP_SYS_RAWIO);
		if (ret == 0)
			ret = vnip_err_r(VNI_REASON_NO_PRIVILEGE, -EPERM,
					 "opening a no-IOMMU device needs CAP_SYS_RAWIO: run as "
					 "root or grant the capability (setcap cap_sys_rawio+ep)");
		else if (ret < 0)
			ret = vnip_err(ret, "capget failed");
		if (ret < 0)
			goto out_unlock;
	}
	if (!ctx->ready) {
		ctx->backend = be;
		ret = be->ctx_init(ctx);
		if (ret < 0) {
			if (!ctx->forced)
				ctx->backend = NULL;
			goto out_unlock;
		}
		ctx->ready = true;
		inited = true;
		snprintf(ctx->first_bdf, sizeof(ctx->first_bdf), "%s", canon);
		vnip_info("context: backend %s, chosen for %s%s", be->name, canon,
			  ctx->forced ? " (forced)" : "");
	}
	dev = vnip_calloc(1, sizeof(*dev));
	if (!dev) {
		ret = vnip_err(-ENOMEM, "vni_device_open: out of memory");
		goto err_ctx;
	}
	dev->ctx = ctx;
	dev->fd = -1;
	dev->group_fd = -1;
	dev->irq_type = -1;
	memcpy(dev->bdf, canon, sizeof(canon));
	ret = pthread_mutex_init(&dev->lock, NULL);
	if (ret) {
		vnip_free(dev);
		ret = vnip_err(-ret, "vni_device_open: pthread_mutex_init failed");
		goto err_ctx;
	}

	ret = be->dev_open(ctx, dev, &probe);
	if (ret < 0)
		goto err;

	memset(&vinfo, 0, sizeof(vinfo));
	vinfo.argsz = sizeof(vinfo);
	ret = vnip_ioctl(dev->fd, VFIO_DEVICE_GET_INFO, &vinfo);
	if (ret < 0) {
		ret = vnip_err(ret, "%s: VFIO_DEVICE_GET_INFO failed", canon);
		goto err;
	}
	if (!(vinfo.flags & VFIO_DEVICE_FLAGS_PCI)) {
		ret = vnip_err(-ENODEV, "%s: VFIO says this is not a PCI device", canon);
		goto err;
	}
	dev->vfio_flags = vinfo.flags;
	dev->num_regions = vinfo.num_regions;
	dev->num_irqs = vinfo.num_irqs;

	ret = read_region_infos(dev);
	if (ret < 0)
		goto err;
	ret = cfg_rw(dev, false, 0, &id, sizeof(id));
	if (ret < 0)
		goto err;
	ret = cfg_rw(dev, false, 8, &cls, sizeof(cls));
	if (ret < 0)
		goto err;
	id = le32toh(id);
	cls = le32toh(cls);
	dev->vendor = (uint16_t)(id & 0xffff);
	dev->device = (uint16_t)(id >> 16);
	dev->class_code = cls >> 8;

	if (!ctx->devices) {
		/* First device of the context: the kernel has just set up the
		 * DMA translation and (noiommu) pinned the existing mappings
		 * again, maybe at other physical addresses. */
		ret = vnip_dma_revalidate(ctx);
		if (ret < 0) {
			ret = vnip_err(ret, "%s: cannot translate the context's existing "
				       "DMA mappings again after attaching: %s", canon,
				       vni_strerror_last());
			goto err;
		}
	}

	dev->next = ctx->devices;
	ctx->devices = dev;
	atomic_fetch_add(&ctx->st_devices, 1);
	vnip_info("%s: opened %s (%04x:%04x), backend %s", canon, dev->cdev_path,
		  dev->vendor, dev->device, be->name);
	*devp = dev;
	ret = 0;
	goto out_unlock;

err:
	if (dev->fd >= 0) {
		/* Keep the error of the failed step, not the teardown's. */
		struct saved_err e;

		err_save(&e);
		be->dev_close(ctx, dev, quiesce(dev));
		err_restore(&e, ret);
	}
	pthread_mutex_destroy(&dev->lock);
	vnip_free(dev);
err_ctx:
	if (inited && !ctx->nmaps) {
		/* nothing uses the backend yet: choose again next time */
		ctx->backend->ctx_fini(ctx);
		ctx->ready = false;
		if (!ctx->forced)
			ctx->backend = NULL;
	}
out_unlock:
	pthread_mutex_unlock(&ctx->lock);
	return ret;
}

int vni_device_open_info(struct vni_ctx *ctx, const struct vni_pci_dev_info *info,
			 struct vni_device **devp)
{
	char bdf[VNI_PCI_ADDR_STRLEN];
	int ret;

	if (!ctx || !info || !devp)
		return vnip_err(-EINVAL, "vni_device_open_info: NULL argument");
	ret = vni_pci_addr_format(&info->addr, bdf, sizeof(bdf));
	if (ret < 0)
		return ret;
	return vni_device_open(ctx, bdf, devp);
}

static int irq_set(struct vni_device *dev, uint32_t flags, uint32_t index,
		   uint32_t start, uint32_t count, const int32_t *fds)
{
	size_t sz = sizeof(struct vfio_irq_set) + (fds ? count * sizeof(int32_t) : 0);
	struct vfio_irq_set *set = vnip_calloc(1, sz);
	int ret;

	if (!set)
		return -ENOMEM;
	set->argsz = (uint32_t)sz;
	set->flags = flags;
	set->index = index;
	set->start = start;
	set->count = count;
	if (fds)
		memcpy(set->data, fds, count * sizeof(int32_t));
	ret = vnip_ioctl(dev->fd, VFIO_DEVICE_SET_IRQS, set);
	vnip_free(set);
	return ret;
}

static void close_irq_fds(struct vni_device *dev)
{
	if (dev->irq_fds) {
		for (unsigned int i = 0; i < dev->irq_count; i++)
			vnip_close(dev->irq_fds[i]);
		vnip_free(dev->irq_fds);
		dev->irq_fds = NULL;
	}
}

static int irq_disable_locked(struct vni_device *dev)
{
	int ret;

	if (dev->irq_type < 0)
		return vnip_err(-ENOENT, "%s: no interrupts are enabled", dev->bdf);
	ret = irq_set(dev, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
		      (uint32_t)dev->irq_type, 0, 0, NULL);
	close_irq_fds(dev);
	dev->irq_type = -1;
	dev->irq_count = 0;
	if (ret < 0)
		return vnip_err(ret, "%s: disabling interrupts failed", dev->bdf);
	return 0;
}

int vni_device_close(struct vni_device **devp)
{
	struct vni_device *dev, **pp;
	struct vni_ctx *ctx;
	int quiet;

	if (!devp)
		return vnip_err(-EINVAL, "vni_device_close: NULL devp");
	dev = *devp;
	if (!dev)
		return vnip_err(-EBADF, "vni_device_close: the device was already closed (NULL)");
	ctx = dev->ctx;

	/* DMA safety: the device stops (interrupts off, Bus Master off, no
	 * transaction pending) before anything that may unpin its memory. */
	pthread_mutex_lock(&dev->lock);
	quiet = quiesce(dev);
	for (unsigned int i = 0; i < VNIP_NUM_BARS; i++) {
		void *map = __atomic_exchange_n(&dev->bar_map[i], NULL, __ATOMIC_ACQ_REL);

		if (map)
			vnip_sys.munmap(map, (size_t)dev->regions[i].size);
	}
	pthread_mutex_unlock(&dev->lock);

	/* Under the context lock so that the device list, the kernel's
	 * attachments and the translation table change together (a concurrent
	 * vni_device_open() must not see the list empty while this device is
	 * still attached, or the reverse). */
	pthread_mutex_lock(&ctx->lock);
	for (pp = &ctx->devices; *pp; pp = &(*pp)->next) {
		if (*pp == dev) {
			*pp = dev->next;
			break;
		}
	}
	if (!ctx->devices) {
		/* Last device: the kernel drops the no-IOMMU page table and unpins
		 * the pages when it detaches; forget the DMA addresses before. */
		vnip_dma_invalidate(ctx);
	}
	ctx->backend->dev_close(ctx, dev, quiet);
	atomic_fetch_sub(&ctx->st_devices, 1);
	pthread_mutex_unlock(&ctx->lock);

	vnip_info("%s: closed", dev->bdf);
	pthread_mutex_destroy(&dev->lock);
	vnip_free(dev);
	*devp = NULL;
	return 0;
}

const char *vni_device_bdf(const struct vni_device *dev)
{
	if (!dev) {
		vnip_err(-EINVAL, "vni_device_bdf: NULL device");
		return NULL;
	}
	return dev->bdf;
}

int vni_device_fd(const struct vni_device *dev)
{
	if (!dev)
		return vnip_err(-EINVAL, "vni_device_fd: NULL device");
	return dev->fd;
}

struct vni_ctx *vni_device_ctx(const struct vni_device *dev)
{
	if (!dev) {
		vnip_err(-EINVAL, "vni_device_ctx: NULL device");
		return NULL;
	}
	return dev->ctx;
}

int vni_device_get_info(const struct vni_device *dev, struct vni_device_info *out)
{
	struct vni_device_info i = { 0 }, *info = &i;
	int ret;

	if (!dev || !out)
		return vnip_err(-EINVAL, "vni_device_get_info: NULL argument");
	ret = vnip_out_check(out, sizeof(*out), "vni_device_get_info");
	if (ret < 0)
		return ret;
	info->vendor = dev->vendor;
	info->device = dev->device;
	info->class_code = dev->class_code;
	info->dev_id = dev->dev_id;
	info->num_regions = dev->num_regions;
	info->num_irqs = dev->num_irqs;
	info->vfio_flags = dev->vfio_flags;
	memcpy(info->cdev_path, dev->cdev_path, sizeof(info->cdev_path));
	vnip_out(out, info, sizeof(*info));
	return 0;
}

int vni_device_region_info(const struct vni_device *dev, unsigned int index,
			   struct vni_region_info *out)
{
	struct vni_region_info i = { 0 }, *info = &i;
	struct vfio_region_info ri;
	int ret;

	if (!dev || !out)
		return vnip_err(-EINVAL, "vni_device_region_info: NULL argument");
	ret = vnip_out_check(out, sizeof(*out), "vni_device_region_info");
	if (ret < 0)
		return ret;
	if (index >= dev->num_regions)
		return vnip_err(-EINVAL, "%s: region %u does not exist (device has %u)",
				dev->bdf, index, dev->num_regions);
	if (index < VNIP_NUM_REGIONS) {
		i = dev->regions[index];
		vnip_out(out, info, sizeof(*info));
		return 0;
	}
	memset(&ri, 0, sizeof(ri));
	ri.argsz = sizeof(ri);
	ri.index = index;
	ret = vnip_ioctl(dev->fd, VFIO_DEVICE_GET_REGION_INFO, &ri);
	if (ret < 0)
		return vnip_err(ret, "%s: VFIO_DEVICE_GET_REGION_INFO %u failed",
				dev->bdf, index);
	info->index = index;
	info->flags = ri.flags;
	info->size = ri.size;
	info->offset = ri.offset;
	vnip_out(out, info, sizeof(*info));
	return 0;
}

static int bar_check(const struct vni_device *dev, unsigned int bar, const char *fn)
{
	if (!dev)
		return vnip_err(-EINVAL, "%s: NULL device", fn);
	if (bar >= VNIP_NUM_BARS)
		return vnip_err(-EINVAL, "%s: BAR %u out of range 0-5", fn, bar);
	if (bar >= dev->num_regions || dev->regions[bar].size == 0)
		return vnip_err(-ENOENT, "%s: %s has no BAR %u", fn, dev->bdf, bar);
	return 0;
}

int vni_device_map_bar(struct vni_device *dev, unsigned int bar, void **addrp,
		       size_t *lenp)
{
	const struct vni_region_info *r;
	void *p;
	int ret;

	if (!addrp)
		return vnip_err(-EINVAL, "vni_device_map_bar: NULL addrp");
	ret = bar_check(dev, bar, "vni_device_map_bar");
	if (ret < 0)
		return ret;
	r = &dev->regions[bar];
	if (!(r->flags & VFIO_REGION_INFO_FLAG_MMAP))
		return vnip_err(-EOPNOTSUPP, "%s: BAR %u cannot be mmapped (I/O port BAR or "
				"not allowed by VFIO): use vni_device_bar_read()/write()",
				dev->bdf, bar);
	if (r->size > SIZE_MAX)
		return vnip_err(-EOVERFLOW, "%s: BAR %u too large", dev->bdf, bar);
	pthread_mutex_lock(&dev->lock);
	if (!dev->bar_map[bar]) {
		int prot = 0;

		if (r->flags & VFIO_REGION_INFO_FLAG_READ)
			prot |= PROT_READ;
		if (r->flags & VFIO_REGION_INFO_FLAG_WRITE)
			prot |= PROT_WRITE;
		p = vnip_sys.mmap(NULL, (size_t)r->size, prot, MAP_SHARED, dev->fd,
				  (off_t)r->offset);
		if (p == MAP_FAILED) {
			ret = vnip_err(-errno, "%s: mmap of BAR %u (%#" PRIx64 " bytes) failed",
				       dev->bdf, bar, r->size);
			pthread_mutex_unlock(&dev->lock);
			return ret;
		}
		dev->bar_map[bar] = p;
		vnip_debug("%s: BAR %u mapped at %p (%#" PRIx64 " bytes)", dev->bdf, bar,
			   p, r->size);
	}
	*addrp = dev->bar_map[bar];
	if (lenp)
		*lenp = (size_t)r->size;
	pthread_mutex_unlock(&dev->lock);
	return 0;
}

int vni_device_unmap_bar(struct vni_device *dev, unsigned int bar)
{
	int ret = 0;

	if (!dev)
		return vnip_err(-EINVAL, "vni_device_unmap_bar: NULL device");
	if (bar >= VNIP_NUM_BARS)
		return vnip_err(-EINVAL, "vni_device_unmap_bar: BAR %u out of range 0-5", bar);
	pthread_mutex_lock(&dev->lock);
	if (!dev->bar_map[bar]) {
		ret = vnip_err(-ENOENT, "%s: BAR %u is not mapped", dev->bdf, bar);
	} else {
		vnip_sys.munmap(dev->bar_map[bar], (size_t)dev->regions[bar].size);
		dev->bar_map[bar] = NULL;
	}
	pthread_mutex_unlock(&dev->lock);
	return ret;
}

static int bar_rw(struct vni_device *dev, unsigned int bar, uint64_t off, void *buf,
		  size_t len, bool write)
{
	const char *fn = write ? "vni_device_bar_write" : "vni_device_bar_read";
	const struct vni_region_info *r;
	volatile void *map;
	ssize_t n;
	int ret;

	if (!buf)
		return vnip_err(-EINVAL, "%s: NULL buffer", fn);
	ret = bar_check(dev, bar, fn);
	if (ret < 0)
		return ret;
	if (len != 1 && len != 2 && len != 4 && len != 8)
		return vnip_err(-EINVAL, "%s: width %zu is not 1, 2, 4 or 8", fn, len);
	if (off & (len - 1))
		return vnip_err(-EINVAL, "%s: offset %#" PRIx64 " not aligned to %zu", fn,
				off, len);
	r = &dev->regions[bar];
	if (off > r->size || len > r->size - off)
		return vnip_err(-ERANGE, "%s: %#" PRIx64 "+%zu is outside BAR %u (%#" PRIx64
				" bytes)", fn, off, len, bar, r->size);
	map = __atomic_load_n(&dev->bar_map[bar], __ATOMIC_ACQUIRE);
	if (map) {
		volatile char *p = (volatile char *)map + off;

		/* Ordered like writel()/readl() (see mmio.h). */
		switch (len) {
		case 1:
			if (write) vni_mmio_write8(p, *(const uint8_t *)buf);
			else *(uint8_t *)buf = vni_mmio_read8(p);
			break;
		case 2:
			if (write) vni_mmio_write16(p, *(const uint16_t *)buf);
			else *(uint16_t *)buf = vni_mmio_read16(p);
			break;
		case 4:
			if (write) vni_mmio_write32(p, *(const uint32_t *)buf);
			else *(uint32_t *)buf = vni_mmio_read32(p);
			break;
		default:
			if (write) vni_mmio_write64(p, *(const uint64_t *)buf);
			else *(uint64_t *)buf = vni_mmio_read64(p);
			break;
		}
		return 0;
	}
	do {
		if (write)
			n = vnip_sys.pwrite(dev->fd, buf, len, (off_t)(r->offset + off));
		else
			n = vnip_sys.pread(dev->fd, buf, len, (off_t)(r->offset + off));
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return vnip_err(-errno, "%s: %s BAR %u at %#" PRIx64 " failed", fn,
				dev->bdf, bar, off);
	if ((size_t)n != len)
		return vnip_err(-EIO, "%s: short access to BAR %u at %#" PRIx64, fn, bar, off);
	return 0;
}

int vni_device_bar_read(struct vni_device *dev, unsigned int bar, uint64_t offset,
			void *buf, size_t len)
{
	return bar_rw(dev, bar, offset, buf, len, false);
}

int vni_device_bar_write(struct vni_device *dev, unsigned int bar, uint64_t offset,
			 const void *buf, size_t len)
{
	return bar_rw(dev, bar, offset, (void *)(uintptr_t)buf, len, true);
}

int vni_device_bar_read32(struct vni_device *dev, unsigned int bar, uint64_t offset,
			  uint32_t *val)
{
	return bar_rw(dev, bar, offset, val, 4, false);
}

int vni_device_bar_write32(struct vni_device *dev, unsigned int bar, uint64_t offset,
			   uint32_t val)
{
	return bar_rw(dev, bar, offset, &val, 4, true);
}

int vni_device_bar_read64(struct vni_device *dev, unsigned int bar, uint64_t offset,
			  uint64_t *val)
{
	return bar_rw(dev, bar, offset, val, 8, false);
}

int vni_device_bar_write64(struct vni_device *dev, unsigned int bar, uint64_t offset,
			   uint64_t val)
{
	return bar_rw(dev, bar, offset, &val, 8, true);
}

int vni_device_config_read(struct vni_device *dev, uint64_t offset, void *buf,
			   size_t len)
{
	if (!dev || !buf)
		return vnip_err(-EINVAL, "vni_device_config_read: NULL argument");
	if (len == 0)
		return vnip_err(-EINVAL, "vni_device_config_read: zero length");
	return cfg_rw(dev, false, offset, buf, len);
}

int vni_device_config_write(struct vni_device *dev, uint64_t offset,
			    const void *buf, size_t len)
{
	if (!dev || !buf)
		return vnip_err(-EINVAL, "vni_device_config_write: NULL argument");
	if (len == 0)
		return vnip_err(-EINVAL, "vni_device_config_write: zero length");
	return cfg_rw(dev, true, offset, (void *)(uintptr_t)buf, len);
}

int vni_device_set_bus_master(struct vni_device *dev, bool enable)
{
	uint16_t cmd;
	int ret;

	if (!dev)
		return vnip_err(-EINVAL, "vni_device_set_bus_master: NULL device");
	ret = cfg_rw(dev, false, 4, &cmd, sizeof(cmd));
	if (ret < 0)
		return ret;
	cmd = le16toh(cmd);
	if (enable)
		cmd |= 0x0006; /* memory space + bus master */
	else
		cmd &= (uint16_t)~0x0004;
	cmd = htole16(cmd);
	return cfg_rw(dev, true, 4, &cmd, sizeof(cmd));
}

int vni_device_reset(struct vni_device *dev)
{
	int ret;

	if (!dev)
		return vnip_err(-EINVAL, "vni_device_reset: NULL device");
	ret = vnip_ioctl(dev->fd, VFIO_DEVICE_RESET, NULL);
	if (ret < 0)
		return vnip_err(ret, "%s: VFIO_DEVICE_RESET failed (the device may have "
				"no reset method)", dev->bdf);
	vnip_debug("%s: reset", dev->bdf);
	return 0;
}

int vni_device_irq_info(const struct vni_device *dev, enum vni_irq_type type,
			struct vni_irq_info *out)
{
	struct vni_irq_info i = { 0 }, *info = &i;
	struct vfio_irq_info ii;
	int ret;

	if (!dev || !out)
		return vnip_err(-EINVAL, "vni_device_irq_info: NULL argument");
	ret = vnip_out_check(out, sizeof(*out), "vni_device_irq_info");
	if (ret < 0)
		return ret;
	if ((unsigned int)type > VNI_IRQ_MSIX)
		return vnip_err(-EINVAL, "vni_device_irq_info: unknown IRQ type %d", (int)type);
	memset(&ii, 0, sizeof(ii));
	ii.argsz = sizeof(ii);
	ii.index = (uint32_t)type;
	ret = vnip_ioctl(dev->fd, VFIO_DEVICE_GET_IRQ_INFO, &ii);
	if (ret < 0)
		return vnip_err(ret, "%s: VFIO_DEVICE_GET_IRQ_INFO %d failed", dev->bdf,
				(int)type);
	info->type = (uint32_t)type;
	info->flags = ii.flags;
	info->count = ii.count;
	vnip_out(out, info, sizeof(*info));
	return 0;
}

static int irq_enable(struct vni_device *dev, enum vni_irq_type type,
		      unsigned int count, const int *in_fds, int *out_fds)
{
	const char *fn = out_fds ? "vni_device_irq_enable" : "vni_device_irq_enable_fds";
	int *owned = NULL;
	int32_t *fds = NULL;
	unsigned int made = 0;
	int ret;

	if (!dev || (!in_fds && !out_fds))
		return vnip_err(-EINVAL, "%s: NULL argument", fn);
	if ((unsigned int)type > VNI_IRQ_MSIX)
		return vnip_err(-EINVAL, "%s: unknown IRQ type %d", fn, (int)type);
	if (count == 0 || count > 2048 || (type == VNI_IRQ_INTX && count != 1))
		return vnip_err(-EINVAL, "%s: bad vector count %u", fn, count);

	pthread_mutex_lock(&dev->lock);
	if (dev->irq_type >= 0) {
		ret = vnip_err(-EBUSY, "%s: interrupts are already enabled: call "
			       "vni_device_irq_disable() first", dev->bdf);
		goto out;
	}
	fds = vnip_calloc(count, sizeof(*fds));
	if (!fds) {
		ret = vnip_err(-ENOMEM, "%s: out of memory", fn);
		goto out;
	}
	if (out_fds) {
		owned = vnip_calloc(count, sizeof(*owned));
		if (!owned) {
			ret = vnip_err(-ENOMEM, "%s: out of memory", fn);
			goto out;
		}
		for (made = 0; made < count; made++) {
			int fd = vnip_sys.eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

			if (fd < 0) {
				ret = vnip_err(-errno, "%s: eventfd failed", fn);
				goto out;
			}
			owned[made] = fd;
			fds[made] = fd;
		}
	} else {
		for (unsigned int i = 0; i < count; i++)
			fds[i] = in_fds[i] < 0 ? -1 : in_fds[i];
	}
	ret = irq_set(dev, VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
		      (uint32_t)type, 0, count, fds);
	if (ret < 0) {
		ret = vnip_err(ret, "%s: VFIO_DEVICE_SET_IRQS (%s, %u vectors) failed",
			       dev->bdf, type == VNI_IRQ_INTX ? "INTx" :
			       type == VNI_IRQ_MSI ? "MSI" : "MSI-X", count);
		goto out;
	}
	dev->irq_type = (int)type;
	dev->irq_count = count;
	if (owned) {
		memcpy(out_fds, owned, count * sizeof(*owned));
		dev->irq_fds = owned;
		owned = NULL;
		made = 0;
	}
	vnip_debug("%s: %u interrupt vector(s) of type %d enabled", dev->bdf, count,
		   (int)type);
	ret = 0;
out:
	for (unsigned int i = 0; i < made; i++)
		vnip_close(owned[i]);
	vnip_free(owned);
	vnip_free(fds);
	pthread_mutex_unlock(&dev->lock);
	return ret;
}

int vni_device_irq_enable(struct vni_device *dev, enum vni_irq_type type,
			  unsigned int count, int *efds)
{
	if (!efds)
		return vnip_err(-EINVAL, "vni_device_irq_enable: NULL efds");
	return irq_enable(dev, type, count, NULL, efds);
}

int vni_device_irq_enable_fds(struct vni_device *dev, enum vni_irq_type type,
			      unsigned int count, const int *efds)
{
	if (!efds)
		return vnip_err(-EINVAL, "vni_device_irq_enable_fds: NULL efds");
	return irq_enable(dev, type, count, efds, NULL);
}

int vni_device_irq_disable(struct vni_device *dev)
{
	int ret;

	if (!dev)
		return vnip_err(-EINVAL, "vni_device_irq_disable: NULL device");
	pthread_mutex_lock(&dev->lock);
	ret = irq_disable_locked(dev);
	pthread_mutex_unlock(&dev->lock);
	return ret;
}

int vni_device_irq_unmask(struct vni_device *dev)
{
	int ret = 0;

	if (!dev)
		return vnip_err(-EINVAL, "vni_device_irq_unmask: NULL device");
	pthread_mutex_lock(&dev->lock);
	if (dev->irq_type != VNI_IRQ_INTX)
		ret = vnip_err(-ENOENT, "%s: INTx is not enabled", dev->bdf);
	else
		ret = irq_set(dev, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK,
			      VFIO_PCI_INTX_IRQ_INDEX, 0, 1, NULL);
	if (ret < 0 && dev->irq_type == VNI_IRQ_INTX)
		ret = vnip_err(ret, "%s: INTx unmask failed", dev->bdf);
	pthread_mutex_unlock(&dev->lock);
	return ret;
}
