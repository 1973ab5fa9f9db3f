/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz the library's sysfs and /dev readers against a simulated file system
 * whose contents come from the input: the hexadecimal attribute reader
 * (vendor, device, subsystem IDs, class), the symlink basename reader
 * (driver, iommu_group), the IOMMU group name, the vfio-dev directory walk
 * (getdents64 records), the cdev node check (stat + "MAJ:MIN" dev file), the
 * noiommu module parameter and the capability check. Entry points:
 * vni_pci_get(), vni_noiommu_enabled() and the checks vni_device_open() runs
 * before it opens a device (the simulated cdev open always fails with
 * EACCES, so nothing beyond them runs).
 *
 * The library reaches the kernel only through the vnip_sys table
 * (lib/internal.h); this target points it at the simulation below and
 * links the real lib/ sources.
 *
 * Input: newline-separated slots, in this order (missing slots = "-"):
 *    0 BDF argument
 *    1 /sys/module/vfio/parameters/enable_unsafe_noiommu_mode
 *    2 <dev>/vendor ("-" also removes the device directory)
 *    3 <dev>/device          4 <dev>/subsystem_vendor
 *    5 <dev>/subsystem_device 6 <dev>/class
 *    7 <dev>/driver symlink target
 *    8 <dev>/iommu_group symlink target
 *    9 /sys/kernel/iommu_groups/<group>/name
 *   10 <dev>/vfio-dev entries, separated by spaces ("-": no directory)
 *   11 /dev/vfio/devices/<name>: "c MAJ:MIN", "b MAJ:MIN" (block device),
 *      "f" (regular file), "-" (missing)
 *   12 <dev>/vfio-dev/<name>/dev
 *   13 capabilities: "1" CAP_SYS_RAWIO, "!" capget fails, else none
 * A file slot "-" is a missing file, "!" a file whose read fails (EIO);
 * otherwise the file holds the slot and a newline, as sysfs does.
 *
 * Properties: no memory error or leak, every descriptor opened is closed,
 * only the canonical BDF's directory is accessed, results are consistent
 * with the simulated files (see check_info()).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "compat/vni-uapi.h"
#include "internal.h"

#include "fuzz.h"

enum {
	S_BDF, S_NOIOMMU, S_VENDOR, S_DEVICE, S_SUBVENDOR, S_SUBDEVICE, S_CLASS,
	S_DRIVER, S_GROUP, S_GROUPNAME, S_VFIODEV, S_NODE, S_DEVNUM, S_CAPS,
	NSLOTS,
};

static const char *const attr_names[] = {
	[S_VENDOR] = "vendor", [S_DEVICE] = "device",
	[S_SUBVENDOR] = "subsystem_vendor", [S_SUBDEVICE] = "subsystem_device",
	[S_CLASS] = "class",
};

#define PCI_PREFIX VNIP_SYSFS_PCI "/"
#define GROUPS_PREFIX "/sys/kernel/iommu_groups/"
#define FD_BASE 1000
#define NFDS 16
#define IOMMUFD (FD_BASE + NFDS)

static struct {
	const char *slot[NSLOTS];
	char canon[VNI_PCI_ADDR_STRLEN];   /* expected device directory, "" if none */
	bool active;
	int open_fds;
	struct simfd {
		bool used;
		int slot;          /* file slot, or S_VFIODEV for the directory */
		bool dir;
		size_t pos;        /* directory: entries returned so far */
	} fds[NFDS];
} sim;

static const char *slot(int i)
{
	return sim.slot[i];
}

/* Slot index of a sysfs/dev path, -1 if the simulation has no such file.
 * *is_dir: a directory (the device directory or vfio-dev). */
static int lookup(const char *path, bool *is_dir)
{
	*is_dir = false;
	if (strcmp(path, VNIP_NOIOMMU_PARAM) == 0)
		return S_NOIOMMU;
	if (strncmp(path, GROUPS_PREFIX, strlen(GROUPS_PREFIX)) == 0) {
		const char *g = path + strlen(GROUPS_PREFIX);
		const char *grp = strrchr(slot(S_GROUP), '/');
		size_t glen;

		grp = grp ? grp + 1 : slot(S_GROUP);
		glen = strlen(grp);
		FUZZ_CHECK(strncmp(g, grp, glen) == 0 && strcmp(g + glen, "/name") == 0,
			   "accessed %s, the group link says %s", path, slot(S_GROUP));
		return S_GROUPNAME;
	}
	if (strncmp(path, PCI_PREFIX, strlen(PCI_PREFIX)) == 0) {
		const char *d = path + strlen(PCI_PREFIX);
		const char *tail = strchr(d, '/');
		size_t dlen = tail ? (size_t)(tail - d) : strlen(d);

		FUZZ_CHECK(dlen == strlen(sim.canon) && strncmp(d, sim.canon, dlen) == 0,
			   "accessed %s for BDF \"%s\"", path, slot(S_BDF));
		if (strcmp(slot(S_VENDOR), "-") == 0)
			return -1; /* no such device */
		if (!tail) {
			*is_dir = true;
			return S_VENDOR;
		}
		tail++;
		for (int i = S_VENDOR; i <= S_CLASS; i++)
			if (strcmp(tail, attr_names[i]) == 0)
				return i;
		if (strcmp(tail, "driver") == 0)
			return S_DRIVER;
		if (strcmp(tail, "iommu_group") == 0)
			return S_GROUP;
		if (strcmp(tail, "vfio-dev") == 0) {
			*is_dir = true;
			return S_VFIODEV;
		}
		if (strncmp(tail, "vfio-dev/", 9) == 0) {
			const char *e = strrchr(tail, '/');

			if (e && strcmp(e, "/dev") == 0)
				return S_DEVNUM;
		}
	}
	return -1;
}

static int sim_open(const char *path, int flags, mode_t mode)
{
	bool is_dir;
	int s;

	(void)mode;
	FUZZ_CHECK(sim.active, "open(%s) outside a run", path);
	if (strcmp(path, VNIP_DEV_IOMMU) == 0)
		return IOMMUFD;
	if (strncmp(path, VNIP_DEV_VFIO_DEVICES "/", strlen(VNIP_DEV_VFIO_DEVICES) + 1) == 0) {
		errno = EACCES; /* stop vni_device_open() after its checks */
		return -1;
	}
	s = lookup(path, &is_dir);
	if (s < 0 || strcmp(slot(s), "-") == 0) {
		errno = ENOENT;
		return -1;
	}
	if (!!(flags & O_DIRECTORY) != is_dir) {
		errno = is_dir ? EISDIR : ENOTDIR;
		return -1;
	}
	if (!is_dir && (flags & O_ACCMODE) != O_RDONLY) {
		errno = EACCES;
		return -1;
	}
	for (int i = 0; i < NFDS; i++) {
		if (!sim.fds[i].used) {
			sim.fds[i] = (struct simfd){ .used = true, .slot = s, .dir = is_dir };
			sim.open_fds++;
			return FD_BASE + i;
		}
	}
	errno = EMFILE;
	return -1;
}

static struct simfd *getfd(int fd)
{
	FUZZ_CHECK(fd >= FD_BASE && fd < FD_BASE + NFDS && sim.fds[fd - FD_BASE].used,
		   "bad descriptor %d", fd);
	return &sim.fds[fd - FD_BASE];
}

static int sim_close(int fd)
{
	if (fd == IOMMUFD)
		return 0;
	getfd(fd)->used = false;
	sim.open_fds--;
	return 0;
}

static ssize_t sim_read(int fd, void *buf, size_t len)
{
	struct simfd *f = getfd(fd);
	const char *s = slot(f->slot);
	size_t n = strlen(s);

	if (f->dir) {
		errno = EISDIR;
		return -1;
	}
	if (strcmp(s, "!") == 0) {
		errno = EIO;
		return -1;
	}
	/* contents: slot + "\n" */
	if (f->pos > n)
		return 0;
	n = n + 1 - f->pos;
	if (n > len)
		n = len;
	for (size_t i = 0; i < n; i++) {
		size_t p = f->pos + i;

		((char *)buf)[i] = p < strlen(s) ? s[p] : '\n';
	}
	f->pos += n;
	return (ssize_t)n;
}

static ssize_t sim_readlink(const char *path, char *buf, size_t len)
{
	bool is_dir;
	int s = lookup(path, &is_dir);
	size_t n;

	FUZZ_CHECK(sim.active, "readlink(%s) outside a run", path);
	if (s < 0 || (s != S_DRIVER && s != S_GROUP) || strcmp(slot(s), "-") == 0) {
		errno = ENOENT;
		return -1;
	}
	if (strcmp(slot(s), "!") == 0) {
		errno = EIO;
		return -1;
	}
	n = strlen(slot(s));
	if (n > len)
		n = len;
	memcpy(buf, slot(s), n); /* no NUL, as readlink(2) */
	return (ssize_t)n;
}

/* Directory entries ".", ".." and the space-separated names of the slot. */
static ssize_t sim_getdents64(int fd, void *buf, size_t len)
{
	struct simfd *f = getfd(fd);
	const char *names = slot(f->slot);
	size_t used = 0, idx = 0;
	const char *p = names;

	if (!f->dir) {
		errno = ENOTDIR;
		return -1;
	}
	for (;;) {
		char name[4096];
		size_t nlen, reclen;

		if (idx == 0 || idx == 1) {
			snprintf(name, sizeof(name), "%s", idx ? ".." : ".");
		} else {
			const char *e;

			while (*p == ' ')
				p++;
			if (!*p)
				break;
			e = strchr(p, ' ');
			nlen = e ? (size_t)(e - p) : strlen(p);
			if (nlen >= sizeof(name))
				nlen = sizeof(name) - 1;
			memcpy(name, p, nlen);
			name[nlen] = '\0';
			p += e ? (size_t)(e - p) : strlen(p);
		}
		if (idx++ < f->pos)
			continue;
		nlen = strlen(name);
		reclen = (19 + nlen + 1 + 7) & ~(size_t)7;
		if (used + reclen > len) {
			if (used == 0) {
				errno = EINVAL;
				return -1;
			}
			break;
		}
		{
			char *r = (char *)buf + used;
			uint64_t ino = idx, off = idx;
			unsigned short rl = (unsigned short)reclen;
			unsigned char type = idx <= 2 ? DT_DIR : DT_LNK;

			memset(r, 0, reclen);
			memcpy(r, &ino, 8);
			memcpy(r + 8, &off, 8);
			memcpy(r + 16, &rl, 2);
			memcpy(r + 18, &type, 1);
			memcpy(r + 19, name, nlen + 1);
		}
		used += reclen;
		f->pos++;
	}
	return (ssize_t)used;
}

static int sim_stat(const char *path, struct stat *st)
{
	const char *node = slot(S_NODE);
	unsigned int maj = 0, min = 0;

	FUZZ_CHECK(sim.active, "stat(%s) outside a run", path);
	if (strncmp(path, VNIP_DEV_VFIO_DEVICES "/", strlen(VNIP_DEV_VFIO_DEVICES) + 1) != 0 ||
	    node[0] == '-' || node[0] == '\0') {
		errno = ENOENT;
		return -1;
	}
	memset(st, 0, sizeof(*st));
	if (node[0] == 'c' || node[0] == 'b') {
		if (sscanf(node + 1, "%u:%u", &maj, &min) != 2)
			maj = min = 0;
		st->st_mode = (node[0] == 'c' ? S_IFCHR : S_IFBLK) | 0600;
		st->st_rdev = makedev(maj, min);
	} else {
		st->st_mode = S_IFREG | 0600;
	}
	return 0;
}

static int sim_capget(void *hdr, void *data)
{
	struct __user_cap_data_struct *d = data;

	(void)hdr;
	if (slot(S_CAPS)[0] == '!') {
		errno = EPERM;
		return -1;
	}
	memset(d, 0, 2 * sizeof(*d));
	if (slot(S_CAPS)[0] == '1')
		d[CAP_SYS_RAWIO / 32].effective = 1u << (CAP_SYS_RAWIO % 32);
	return 0;
}

static int sim_ioctl(int fd, unsigned long req, void *arg)
{
	if (fd == IOMMUFD && req == IOMMU_IOAS_ALLOC) {
		((struct iommu_ioas_alloc *)arg)->out_ioas_id = 7;
		return 0;
	}
	if (fd == IOMMUFD && req == IOMMU_DESTROY)
		return 0;
	errno = ENOTTY;
	return -1;
}

static struct vni_ctx *ctx;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int ret;

	(void)argc;
	(void)argv;
	vni_log_set_level(VNI_LOG_NONE);
	vnip_sys.open = sim_open;
	vnip_sys.close = sim_close;
	vnip_sys.read = sim_read;
	vnip_sys.readlink = sim_readlink;
	vnip_sys.getdents64 = sim_getdents64;
	vnip_sys.stat = sim_stat;
	vnip_sys.capget = sim_capget;
	vnip_sys.ioctl = sim_ioctl;
	sim.active = true;
	ret = vni_ctx_new(&ctx, 0);
	FUZZ_CHECK(ret == 0, "vni_ctx_new on the simulation: %d (%s)", ret,
		   vni_strerror_last());
	sim.active = false;
	return 0;
}

/* What the library should make of an attribute: it reads at most 31 bytes
 * (a 32-byte buffer), hexadecimal as strtoul. */
static unsigned long hexattr(int s, bool *ok)
{
	char buf[32], *end;
	unsigned long v;

	snprintf(buf, sizeof(buf), "%s\n", slot(s));
	errno = 0;
	v = strtoul(buf, &end, 16);
	*ok = strcmp(slot(s), "-") != 0 && strcmp(slot(s), "!") != 0 && !errno &&
	      end != buf;
	return v;
}

static void check_info(const struct vni_pci_dev_info *info)
{
	unsigned long v;
	bool ok;

	FUZZ_CHECK(strcmp(info->bdf, sim.canon) == 0, "bdf \"%s\", expected \"%s\"",
		   info->bdf, sim.canon);
	v = hexattr(S_VENDOR, &ok);
	FUZZ_CHECK(ok && info->vendor == (uint16_t)v, "vendor %#x from \"%s\"",
		   info->vendor, slot(S_VENDOR));
	v = hexattr(S_DEVICE, &ok);
	FUZZ_CHECK(info->device == (ok ? (uint16_t)v : 0), "device %#x from \"%s\"",
		   info->device, slot(S_DEVICE));
	v = hexattr(S_CLASS, &ok);
	FUZZ_CHECK(info->class_code == (ok ? (uint32_t)v & 0xffffff : 0),
		   "class %#x from \"%s\"", info->class_code, slot(S_CLASS));
	FUZZ_CHECK(strnlen(info->driver, sizeof(info->driver)) < sizeof(info->driver),
		   "driver not NUL-terminated");
	FUZZ_CHECK(strnlen(info->cdev_name, sizeof(info->cdev_name)) < sizeof(info->cdev_name),
		   "cdev_name not NUL-terminated");
	FUZZ_CHECK(strnlen(info->cdev_path, sizeof(info->cdev_path)) < sizeof(info->cdev_path),
		   "cdev_path not NUL-terminated");
	FUZZ_CHECK(!info->has_cdev || info->cdev_name[0], "has_cdev without a cdev name");
	if (info->has_cdev)
		FUZZ_CHECK(slot(S_NODE)[0] == 'c', "has_cdev, but the node is \"%s\"",
			   slot(S_NODE));
	if (info->driver[0]) {
		const char *b = strrchr(slot(S_DRIVER), '/');

		b = b ? b + 1 : slot(S_DRIVER);
		FUZZ_CHECK(strcmp(info->driver, b) == 0, "driver \"%s\" from link \"%s\"",
			   info->driver, slot(S_DRIVER));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = fuzz_strdup(data, size);
	struct vni_pci_dev_info info;
	struct vni_pci_addr addr;
	struct vni_device *dev = NULL;
	char *p = buf;
	int ret;

	for (int i = 0; i < NSLOTS; i++) {
		char *nl = p ? strchr(p, '\n') : NULL;

		sim.slot[i] = p ? p : "-";
		if (nl)
			*nl = '\0';
		p = nl ? nl + 1 : NULL;
	}
	sim.canon[0] = '\0';
	if (vni_pci_addr_parse(slot(S_BDF), &addr) == 0)
		vni_pci_addr_format(&addr, sim.canon, sizeof(sim.canon));
	memset(sim.fds, 0, sizeof(sim.fds));
	sim.open_fds = 0;
	sim.active = true;

	ret = vni_noiommu_enabled();
	FUZZ_CHECK(ret == 0 || ret == 1 || ret < 0, "vni_noiommu_enabled: %d", ret);

	memset(&info, 0x5a, sizeof(info));
	ret = vni_pci_get(slot(S_BDF), &info);
	if (ret == 0)
		check_info(&info);
	else
		FUZZ_CHECK(ret < 0 && vni_strerror_last()[0], "vni_pci_get: %d without message",
			   ret);
	FUZZ_CHECK(sim.open_fds == 0, "vni_pci_get left %d descriptors open", sim.open_fds);

	ret = vni_device_open(ctx, slot(S_BDF), &dev);
	FUZZ_CHECK(ret < 0 && dev == NULL, "vni_device_open on the simulation: %d", ret);
	FUZZ_CHECK(vni_strerror_last()[0], "vni_device_open: %d without message", ret);
	FUZZ_CHECK(sim.open_fds == 0, "vni_device_open left %d descriptors open", sim.open_fds);

	sim.active = false;
	free(buf);
	return 0;
}
