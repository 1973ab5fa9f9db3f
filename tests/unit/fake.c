/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Simulated kernel for the unit tests (see fake.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <linux/capability.h>

#include "compat/vni-uapi.h"
#include "internal.h"
#include "fake.h"

#define FD_BASE 5000
#define MAX_FDS 256
#define MAX_MMAPS 4096
#define MAX_IOAS 8
#define MAX_MAPS 4096
#define PG 4096ull
#define HPG (2ull << 20)
#define CFG_SIZE 256
#define BAR0_SIZE (1u << 20)
#define BAR2_SIZE 4096u
#define CDEV_MAJOR 511u

enum fd_type { FD_FREE = 0, FD_FILE, FD_DIR, FD_IOMMU, FD_VDEV, FD_EVENT,
	       FD_CONTAINER, FD_GROUP, FD_PAGEMAP, FD_SMAPS };

struct ffd {
	enum fd_type type;
	char data[256];      /* FD_FILE content / FD_DIR names separated by \n */
	size_t pos;
	int dev;             /* FD_VDEV, FD_GROUP: device index */
	char *big;           /* FD_SMAPS content (malloc) */
	int container;       /* FD_GROUP: the container fd set, -1; FD_CONTAINER: iommu set (1) */
};

struct fmap {          /* mmap made through vnip_sys */
	void *addr;
	size_t len;
	bool huge;
	uint64_t pa;       /* huge: physical address of the first page */
};

#define MAX_LOCKS 4096
struct flock_range {
	uint64_t va, len;
};

struct iomap {
	bool used;
	int iommufd;
	uint32_t ioas;
	uint64_t iova, len;
	uint64_t *pa;      /* per page */
	long runs;
	bool pinned;       /* a noiommu device is attached to the IOAS */
	uint64_t uva;      /* user address of iova */
	bool writeable;
};
#define TYPE1_IOAS 0xffffffffu /* iomap.ioas of a type1 container's mapping */

struct fdevst {
	bool open;
	int fd;
	int iommufd;         /* bound to, -1 */
	uint32_t devid;
	uint32_t ioas;       /* attached, 0 none */
	uint8_t cfg[CFG_SIZE];
	uint8_t bar2[BAR2_SIZE];
	int irq_index;       /* -1 */
	bool via_group;      /* opened with VFIO_GROUP_GET_DEVICE_FD */
	unsigned int irq_count;
	unsigned int tp_left; /* Device Status reads that still show TP */
};

static struct {
	pthread_mutex_t lock;
	struct fake_cfg cfg;
	struct ffd fds[MAX_FDS];
	struct fmap maps[MAX_MMAPS];
	struct iomap iomaps[MAX_MAPS];
	uint32_t ioas_of[MAX_FDS][MAX_IOAS]; /* per iommufd: allocated IOAS ids */
	uint32_t next_id;
	struct fdevst devs[FAKE_MAX_DEVS];
	uint64_t rng;
	uint64_t next_pa, next_hpa;
	long getpa_calls;
	long nmmaps;
	char log[8192];      /* operation log, see fake_log() */
	struct flock_range locks[MAX_LOCKS];
	long pagemap_reads;
	long unsafe_detaches;
	long sleeps;
} F = { .lock = PTHREAD_MUTEX_INITIALIZER };

static _Atomic long heap_blocks;
static _Atomic long fault_at, fault_at2;
static _Atomic long fault_calls;
static _Atomic bool fault_fired;

static uint64_t rnd(void)
{
	/* xorshift64* */
	F.rng ^= F.rng >> 12;
	F.rng ^= F.rng << 25;
	F.rng ^= F.rng >> 27;
	return F.rng * 2685821657736338717ull;
}

/* The layout of a mapping depends only on the seed, its address and length,
 * so that repeating an operation repeats its system calls (fault injection). */
static void layout_seed(uint64_t va, uint64_t len)
{
	F.rng = (F.cfg.seed ? F.cfg.seed : 1) ^ (va * 0x9e3779b97f4a7c15ull) ^
		(len * 0xc2b2ae3d27d4eb4full);
	if (!F.rng)
		F.rng = 1;
	rnd();
}

static bool fault(void)
{
	long n = atomic_fetch_add(&fault_calls, 1) + 1;
	long at = atomic_load(&fault_at), at2 = atomic_load(&fault_at2);

	if ((at > 0 && n == at) || (at2 > 0 && n == at2)) {
		atomic_store(&fault_fired, true);
		return true;
	}
	return false;
}

void fake_fail_at(long nth)
{
	atomic_store(&fault_calls, 0);
	atomic_store(&fault_fired, false);
	atomic_store(&fault_at2, 0);
	atomic_store(&fault_at, nth);
}

void fake_fail_at2(long nth, long nth2)
{
	fake_fail_at(nth);
	atomic_store(&fault_at2, nth2);
}

long fake_calls(void)
{
	return atomic_load(&fault_calls);
}

bool fake_fault_fired(void)
{
	return atomic_load(&fault_fired);
}

/* ---- heap ---------------------------------------------------------------- */
static void *f_malloc(size_t n)
{
	void *p;

	if (fault())
		return NULL;
	p = malloc(n);
	if (p)
		atomic_fetch_add(&heap_blocks, 1);
	return p;
}

static void *f_calloc(size_t n, size_t m)
{
	void *p;

	if (fault())
		return NULL;
	p = calloc(n, m);
	if (p)
		atomic_fetch_add(&heap_blocks, 1);
	return p;
}

static void f_free(void *p)
{
	if (p)
		atomic_fetch_sub(&heap_blocks, 1);
	free(p);
}

/* ---- descriptors ------------------------------------------------------- */
static int fd_new(enum fd_type t)
{
	for (int i = 0; i < MAX_FDS; i++) {
		if (F.fds[i].type == FD_FREE) {
			memset(&F.fds[i], 0, sizeof(F.fds[i]));
			F.fds[i].type = t;
			return FD_BASE + i;
		}
	}
	errno = EMFILE;
	return -1;
}

static struct ffd *fd_get(int fd)
{
	if (fd < FD_BASE || fd >= FD_BASE + MAX_FDS)
		return NULL;
	if (F.fds[fd - FD_BASE].type == FD_FREE)
		return NULL;
	return &F.fds[fd - FD_BASE];
}

static int dev_by_bdf(const char *bdf, size_t n)
{
	for (unsigned int i = 0; i < F.cfg.ndevs; i++)
		if (strlen(F.cfg.devs[i].bdf) == n && strncmp(F.cfg.devs[i].bdf, bdf, n) == 0)
			return (int)i;
	return -1;
}

static int dev_by_cdev(const char *name)
{
	for (unsigned int i = 0; i < F.cfg.ndevs; i++)
		if (F.cfg.devs[i].cdev && strcmp(F.cfg.devs[i].cdev, name) == 0)
			return (int)i;
	return -1;
}

static int ret_err(int e)
{
	errno = e;
	return -1;
}

/* Append an event to the operation log (F.lock held). */
static void flog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void flog(const char *fmt, ...)
{
	size_t n = strlen(F.log);
	va_list ap;

	if (n + 2 >= sizeof(F.log))
		return;
	if (n)
		F.log[n++] = ' ';
	va_start(ap, fmt);
	vsnprintf(F.log + n, sizeof(F.log) - n, fmt, ap);
	va_end(ap);
}

static bool bus_master(const struct fdevst *d)
{
	return d->cfg[4] & 0x04;
}

static bool ioas_has_noiommu_dev(int fd, uint32_t id);
static long make_layout(uint64_t va, uint64_t len, uint64_t *pa);
struct ffd;
static void group_leave(struct ffd *f);
static void type1_drop(int cfd);
static uint64_t pagemap_pa(uint64_t va);

/* The kernel: the software page table of an IOAS exists while at least one
 * noiommu device is attached; without it the pages are not pinned (GET_PA:
 * EOPNOTSUPP). Attaching the first device pins them again, at physical
 * addresses that need not be the old ones. Called after an attach/detach. */
static void ioas_update_pins(int iommufd, uint32_t ioas)
{
	bool attached = ioas_has_noiommu_dev(iommufd, ioas);

	for (int i = 0; i < MAX_MAPS; i++) {
		struct iomap *m = &F.iomaps[i];

		if (!m->used || m->iommufd != iommufd || m->ioas != ioas ||
		    m->pinned == attached)
			continue;
		if (attached)
			m->runs = make_layout(m->iova, m->len, m->pa); /* new PAs */
		else
			flog("unpin");
		m->pinned = attached;
	}
}

/* "MAJ:MIN" of the cdev of device d, as sysfs vfio-dev/<cdev>/dev says. */
static dev_t cdev_rdev(int d)
{
	return makedev(CDEV_MAJOR, (unsigned int)d);
}

static int open_locked(const char *path, int flags)
{
	const char *pci = VNIP_SYSFS_PCI "/";
	int fd;

	if (!(flags & O_CLOEXEC))
		return ret_err(EINVAL); /* the library must always use O_CLOEXEC */
	if (strcmp(path, VNIP_NOIOMMU_PARAM) == 0) {
		if (!F.cfg.noiommu_param)
			return ret_err(ENOENT);
		fd = fd_new(FD_FILE);
		if (fd >= 0)
			snprintf(F.fds[fd - FD_BASE].data, 256, "%s\n", F.cfg.noiommu_param);
		return fd;
	}
	if (strcmp(path, VNIP_DEV_IOMMU) == 0) {
		if (!F.cfg.have_iommu)
			return ret_err(ENOENT);
		return fd_new(FD_IOMMU);
	}
	if (strcmp(path, "/dev/vfio/vfio") == 0) {
		if (F.cfg.no_legacy)
			return ret_err(ENOENT);
		fd = fd_new(FD_CONTAINER);
		if (fd >= 0)
			F.fds[fd - FD_BASE].container = 0;
		return fd;
	}
	if (strncmp(path, "/dev/vfio/noiommu-", 18) == 0) {
		char *end;
		unsigned long g = strtoul(path + 18, &end, 10);

		if (end == path + 18 || *end || F.cfg.no_legacy || g >= F.cfg.ndevs ||
		    !F.cfg.devs[g].noiommu_group)
			return ret_err(ENOENT);
		for (int i = 0; i < MAX_FDS; i++)
			if (F.fds[i].type == FD_GROUP && F.fds[i].dev == (int)g)
				return ret_err(EBUSY);
		fd = fd_new(FD_GROUP);
		if (fd >= 0) {
			F.fds[fd - FD_BASE].dev = (int)g;
			F.fds[fd - FD_BASE].container = -1;
		}
		return fd;
	}
	if (strncmp(path, "/dev/vfio/", 10) == 0 && path[10] >= '0' && path[10] <= '9') {
		char *end;
		unsigned long g = strtoul(path + 10, &end, 10);

		if (*end || F.cfg.no_legacy || g >= F.cfg.ndevs || !F.cfg.devs[g].iommu_group)
			return ret_err(ENOENT);
		for (int i = 0; i < MAX_FDS; i++)
			if (F.fds[i].type == FD_GROUP && F.fds[i].dev == (int)g)
				return ret_err(EBUSY);
		fd = fd_new(FD_GROUP);
		if (fd >= 0) {
			F.fds[fd - FD_BASE].dev = (int)g;
			F.fds[fd - FD_BASE].container = -1;
		}
		return fd;
	}
	if (strcmp(path, "/proc/self/pagemap") == 0)
		return fd_new(FD_PAGEMAP);
	if (strcmp(path, "/proc/self/smaps") == 0) {
		size_t cap = 256 + (size_t)MAX_MMAPS * 128, n = 0;
		char *b = malloc(cap);
		uintptr_t last = 0;

		if (!b)
			return ret_err(ENOMEM);
		/* the mmaps made through the library, in address order */
		for (;;) {
			const struct fmap *best = NULL;

			for (int i = 0; i < MAX_MMAPS; i++)
				if (F.maps[i].addr && (uintptr_t)F.maps[i].addr >= last &&
				    (!best || F.maps[i].addr < best->addr))
					best = &F.maps[i];
			if (!best)
				break;
			n += (size_t)snprintf(b + n, cap - n,
					      "%lx-%lx rw-p 00000000 00:0f 4711 %s\n"
					      "Size: %zu kB\nKernelPageSize: %d kB\n"
					      "VmFlags: rd wr mr mw me\n",
					      (unsigned long)(uintptr_t)best->addr,
					      (unsigned long)((uintptr_t)best->addr + best->len),
					      best->huge ? "/anon_hugepage (deleted)" : "",
					      best->len >> 10, best->huge ? 2048 : 4);
			last = (uintptr_t)best->addr + 1;
		}
		fd = fd_new(FD_SMAPS);
		if (fd < 0) {
			free(b);
			return fd;
		}
		F.fds[fd - FD_BASE].big = b;
		return fd;
	}
	if (strncmp(path, VNIP_DEV_VFIO_DEVICES "/", strlen(VNIP_DEV_VFIO_DEVICES) + 1) == 0) {
		int d = dev_by_cdev(path + strlen(VNIP_DEV_VFIO_DEVICES) + 1);

		if (d < 0 || F.cfg.devs[d].no_node)
			return ret_err(ENOENT);
		if ((flags & O_ACCMODE) != O_RDWR)
			return ret_err(EINVAL);
		if (F.devs[d].open)
			return ret_err(EBUSY);
		fd = fd_new(FD_VDEV);
		if (fd < 0)
			return fd;
		F.fds[fd - FD_BASE].dev = d;
		F.devs[d].open = true;
		F.devs[d].fd = fd;
		F.devs[d].iommufd = -1;
		F.devs[d].ioas = 0;
		F.devs[d].irq_index = -1;
		return fd;
	}
	if (strncmp(path, "/sys/kernel/iommu_groups/", 25) == 0) {
		char *end;
		unsigned long g = strtoul(path + 25, &end, 10);

		if (end == path + 25 || strcmp(end, "/name") != 0 || g >= F.cfg.ndevs ||
		    !F.cfg.devs[g].noiommu_group)
			return ret_err(ENOENT);
		fd = fd_new(FD_FILE);
		if (fd >= 0)
			snprintf(F.fds[fd - FD_BASE].data, 256, "vfio-noiommu\n");
		return fd;
	}
	if (strncmp(path, pci, strlen(pci)) == 0) {
		const char *rest = path + strlen(pci);
		const char *slash = strchr(rest, '/');
		size_t n = slash ? (size_t)(slash - rest) : strlen(rest);
		int d = dev_by_bdf(rest, n);
		const struct fake_dev_cfg *dc;

		if (d < 0)
			return ret_err(ENOENT);
		dc = &F.cfg.devs[d];
		if (!slash) {
			if (!(flags & O_DIRECTORY))
				return ret_err(EISDIR);
			fd = fd_new(FD_DIR);
			if (fd >= 0)
				snprintf(F.fds[fd - FD_BASE].data, 256, "vendor\ndevice\nclass\n");
			return fd;
		}
		slash++;
		if (strcmp(slash, "vfio-dev") == 0) {
			if (!dc->cdev || !dc->driver || strcmp(dc->driver, "vfio-pci"))
				return ret_err(ENOENT);
			fd = fd_new(FD_DIR);
			if (fd >= 0)
				snprintf(F.fds[fd - FD_BASE].data, 256, "%s\n", dc->cdev);
			return fd;
		}
		if (strncmp(slash, "vfio-dev/", 9) == 0 && dc->cdev &&
		    dc->driver && strcmp(dc->driver, "vfio-pci") == 0 &&
		    strncmp(slash + 9, dc->cdev, strlen(dc->cdev)) == 0 &&
		    strcmp(slash + 9 + strlen(dc->cdev), "/dev") == 0) {
			if (flags & O_DIRECTORY)
				return ret_err(ENOTDIR);
			fd = fd_new(FD_FILE);
			if (fd >= 0)
				snprintf(F.fds[fd - FD_BASE].data, 256, "%u:%u\n",
					 major(cdev_rdev(d)), minor(cdev_rdev(d)));
			return fd;
		}
		if (flags & O_DIRECTORY)
			return ret_err(ENOTDIR);
		fd = -2;
		if (strcmp(slash, "vendor") == 0 || strcmp(slash, "device") == 0 ||
		    strcmp(slash, "class") == 0) {
			fd = fd_new(FD_FILE);
			if (fd < 0)
				return fd;
			if (slash[0] == 'v')
				snprintf(F.fds[fd - FD_BASE].data, 256, "0x%04x\n", dc->vendor);
			else if (slash[0] == 'd')
				snprintf(F.fds[fd - FD_BASE].data, 256, "0x%04x\n", dc->device);
			else
				snprintf(F.fds[fd - FD_BASE].data, 256, "0x%06x\n", dc->class_code);
			return fd;
		}
		return ret_err(ENOENT);
	}
	return ret_err(ENOENT);
}

static int f_open(const char *path, int flags, mode_t mode)
{
	int fd;

	(void)mode;
	if (fault())
		return ret_err(EIO);
	pthread_mutex_lock(&F.lock);
	fd = open_locked(path, flags);
	pthread_mutex_unlock(&F.lock);
	return fd;
}

static void iomap_drop(struct iomap *m)
{
	free(m->pa);
	memset(m, 0, sizeof(*m));
}

static int dev_detach(struct fdevst *d)
{
	uint32_t ioas = d->ioas;

	if (!ioas)
		return ret_err(EINVAL);
	flog("d%d:detach", (int)(d - F.devs));
	if (bus_master(d) || d->irq_index >= 0)
		F.unsafe_detaches++;
	d->ioas = 0;
	ioas_update_pins(d->iommufd, ioas);
	return 0;
}

static int f_close(int fd)
{
	struct ffd *f;

	pthread_mutex_lock(&F.lock);
	f = fd_get(fd);
	if (!f) {
		pthread_mutex_unlock(&F.lock);
		return ret_err(EBADF);
	}
	if (f->type == FD_IOMMU) {
		for (int i = 0; i < MAX_MAPS; i++)
			if (F.iomaps[i].used && F.iomaps[i].iommufd == fd)
				iomap_drop(&F.iomaps[i]);
		memset(F.ioas_of[fd - FD_BASE], 0, sizeof(F.ioas_of[0]));
	} else if (f->type == FD_SMAPS) {
		free(f->big);
	} else if (f->type == FD_GROUP || f->type == FD_CONTAINER) {
		flog("%s%d:close", f->type == FD_GROUP ? "g" : "c",
		     f->type == FD_GROUP ? f->dev : fd - FD_BASE);
		if (f->type == FD_GROUP && f->container >= 0)
			group_leave(f);
		if (f->type == FD_CONTAINER)
			type1_drop(fd);
	} else if (f->type == FD_VDEV) {
		struct fdevst *d = &F.devs[f->dev];
		int iommufd = d->iommufd;
		uint32_t ioas = d->ioas;

		/* vfio-pci's close_device disables the device (Bus Master
		 * off, interrupts off) before iommufd unbinds and unpins. */
		flog("d%d:close%s", f->dev, ioas ? "-attached" : "");
		d->cfg[4] &= (uint8_t)~0x04;
		d->ioas = 0;
		d->iommufd = -1;
		d->open = false;
		d->via_group = false;
		d->irq_index = -1;
		if (ioas)
			ioas_update_pins(iommufd, ioas);
	}
	f->type = FD_FREE;
	pthread_mutex_unlock(&F.lock);
	return 0;
}

static ssize_t f_read(int fd, void *buf, size_t len)
{
	struct ffd *f;
	size_t n;

	if (fault())
		return ret_err(EIO);
	pthread_mutex_lock(&F.lock);
	f = fd_get(fd);
	if (!f || (f->type != FD_FILE && f->type != FD_SMAPS)) {
		pthread_mutex_unlock(&F.lock);
		return ret_err(EBADF);
	}
	{
		const char *src = f->type == FD_SMAPS ? f->big : f->data;

		n = strlen(src) - f->pos;
		if (n > len)
			n = len;
		memcpy(buf, src + f->pos, n);
	}
	f->pos += n;
	pthread_mutex_unlock(&F.lock);
	return (ssize_t)n;
}

static ssize_t dev_rw(int fd, void *buf, size_t len, off_t off, bool write)
{
	struct ffd *f;
	uint64_t idx = (uint64_t)off >> 40, o = (uint64_t)off & ((1ull << 40) - 1);
	uint8_t *mem;
	uint64_t size;

	if (fault())
		return ret_err(EIO);
	pthread_mutex_lock(&F.lock);
	f = fd_get(fd);
	if (f && f->type == FD_PAGEMAP && !write) {
		uint64_t *e = buf;

		F.pagemap_reads++;
		if ((off & 7) || (len & 7)) {
			pthread_mutex_unlock(&F.lock);
			return ret_err(EINVAL);
		}
		for (size_t i = 0; i < len / 8; i++) {
			uint64_t va = ((uint64_t)off / 8 + i) * PG;

			/* present; the PFN only for CAP_SYS_ADMIN */
			e[i] = (1ull << 63) | (F.cfg.cap_sys_admin ? pagemap_pa(va) / PG : 0);
		}
		pthread_mutex_unlock(&F.lock);
		return (ssize_t)len;
	}
	if (!f || f->type != FD_VDEV || (!F.devs[f->dev].ioas && !F.devs[f->dev].via_group)) {
		pthread_mutex_unlock(&F.lock);
		return ret_err(f ? EINVAL : EBADF);
	}
	if (idx == VFIO_PCI_CONFIG_REGION_INDEX) {
		mem = F.devs[f->dev].cfg;
		size = CFG_SIZE;
	} else if (idx == 2) {
		mem = F.devs[f->dev].bar2;
		size = BAR2_SIZE;
	} else {
		pthread_mutex_unlock(&F.lock);
		return ret_err(EINVAL);
	}
	if (o >= size) {
		pthread_mutex_unlock(&F.lock);
		return 0;
	}
	if (len > size - o)
		len = size - o;
	if (idx == VFIO_PCI_CONFIG_REGION_INDEX) {
		struct fdevst *d = &F.devs[f->dev];
		bool was = bus_master(d);

		if (write) {
			uint8_t keep = d->cfg[4] & 0x04;

			memcpy(mem + o, buf, len);
			if (F.cfg.bm_sticky && keep)
				d->cfg[4] |= 0x04;
			if (was && !bus_master(d)) {
				flog("d%d:bmoff", f->dev);
				d->tp_left = F.cfg.tp_reads;
			} else if (!was && bus_master(d)) {
				flog("d%d:bmon", f->dev);
			}
		} else {
			/* Device Status (PCIe cap at 0x40): Transactions Pending */
			if (!F.cfg.no_pcie_cap && o <= 0x4a && o + len > 0x4a) {
				if (F.cfg.tp_stuck || d->tp_left || bus_master(d)) {
					d->cfg[0x4a] |= 0x20;
					if (d->tp_left)
						d->tp_left--;
				} else {
					if (d->cfg[0x4a] & 0x20)
						flog("d%d:tpclear", f->dev);
					d->cfg[0x4a] &= (uint8_t)~0x20;
				}
			}
			memcpy(buf, mem + o, len);
		}
	} else if (write) {
		memcpy(mem + o, buf, len);
	} else {
		memcpy(buf, mem + o, len);
	}
	pthread_mutex_unlock(&F.lock);
	return (ssize_t)len;
}

static ssize_t f_pread(int fd, void *buf, size_t len, off_t off)
{
	return dev_rw(fd, buf, len, off, false);
}

static ssize_t f_pwrite(int fd, const void *buf, size_t len, off_t off)
{
	return dev_rw(fd, (void *)(uintptr_t)buf, len, off, true);
}

static ssize_t f_readlink(const char *path, char *buf, size_t len)
{
	const char *pci = VNIP_SYSFS_PCI "/";
	const char *rest, *slash;
	char tmp[256];
	size_t n;
	int d;

	if (fault())
		return ret_err(EIO);
	if (strncmp(path, pci, strlen(pci)) != 0)
		return ret_err(ENOENT);
	rest = path + strlen(pci);
	slash = strchr(rest, '/');
	if (!slash)
		return ret_err(EINVAL);
	pthread_mutex_lock(&F.lock);
	d = dev_by_bdf(rest, (size_t)(slash - rest));
	if (d >= 0 && strcmp(slash + 1, "iommu_group") == 0 &&
	    (F.cfg.devs[d].noiommu_group || F.cfg.devs[d].iommu_group)) {
		snprintf(tmp, sizeof(tmp), "../../../kernel/iommu_groups/%d", d);
	} else if (d < 0 || strcmp(slash + 1, "driver") != 0 || !F.cfg.devs[d].driver) {
		pthread_mutex_unlock(&F.lock);
		return ret_err(ENOENT);
	} else {
		snprintf(tmp, sizeof(tmp), "../../../bus/pci/drivers/%s", F.cfg.devs[d].driver);
	}
	pthread_mutex_unlock(&F.lock);
	n = strlen(tmp);
	if (n > len)
		n = len;
	memcpy(buf, tmp, n);
	return (ssize_t)n;
}

static ssize_t f_getdents64(int fd, void *buf, size_t len)
{
	struct ffd *f;
	size_t out = 0;

	if (fault())
		return ret_err(EIO);
	pthread_mutex_lock(&F.lock);
	f = fd_get(fd);
	if (!f || f->type != FD_DIR) {
		pthread_mutex_unlock(&F.lock);
		return ret_err(ENOTDIR);
	}
	while (f->data[f->pos]) {
		char *nl = strchr(f->data + f->pos, '\n');
		size_t nlen = (size_t)(nl - (f->data + f->pos));
		size_t rec = (19 + nlen + 1 + 7) & ~(size_t)7;
		char *r = (char *)buf + out;
		uint64_t ino = 1;
		int64_t doff = 0;
		unsigned short reclen = (unsigned short)rec;

		if (out + rec > len)
			break;
		memset(r, 0, rec);
		memcpy(r, &ino, 8);
		memcpy(r + 8, &doff, 8);
		memcpy(r + 16, &reclen, 2);
		r[18] = 4; /* DT_DIR */
		memcpy(r + 19, f->data + f->pos, nlen);
		out += rec;
		f->pos += nlen + 1;
	}
	pthread_mutex_unlock(&F.lock);
	return (ssize_t)out;
}

static int f_pci_enum(int (*fn)(void *arg, const char *name), void *arg)
{
	const char *names[2 * FAKE_MAX_DEVS];
	unsigned int n = 0;
	int ret = 0;

	if (fault())
		return -EIO;
	/* fn reads sysfs (F.lock): call it with the list copied, unlocked. */
	pthread_mutex_lock(&F.lock);
	for (unsigned int i = 0; i < FAKE_MAX_DEVS && F.cfg.extra_pci_names[i]; i++)
		names[n++] = F.cfg.extra_pci_names[i];
	for (unsigned int i = F.cfg.ndevs; i-- > 0;)
		names[n++] = F.cfg.devs[i].bdf;
	pthread_mutex_unlock(&F.lock);
	for (unsigned int i = 0; i < n && ret >= 0; i++)
		ret = fn(arg, names[i]);
	return ret < 0 ? ret : 0;
}

static int f_stat(const char *path, struct stat *st)
{
	const char *devs = VNIP_DEV_VFIO_DEVICES "/";
	int d;

	if (fault())
		return ret_err(EIO);
	memset(st, 0, sizeof(*st));
	if (strncmp(path, "/dev/vfio/noiommu-", 18) == 0) {
		char *end;
		unsigned long g = strtoul(path + 18, &end, 10);

		if (end == path + 18 || *end || F.cfg.no_legacy || g >= F.cfg.ndevs ||
		    !F.cfg.devs[g].noiommu_group)
			return ret_err(ENOENT);
		st->st_mode = S_IFCHR | 0600;
		st->st_rdev = makedev(CDEV_MAJOR + 1, (unsigned int)g);
		return 0;
	}
	if (strncmp(path, "/dev/vfio/", 10) == 0 && path[10] >= '0' && path[10] <= '9') {
		char *end;
		unsigned long g = strtoul(path + 10, &end, 10);

		if (*end || F.cfg.no_legacy || g >= F.cfg.ndevs || !F.cfg.devs[g].iommu_group)
			return ret_err(ENOENT);
		st->st_mode = S_IFCHR | 0600;
		st->st_rdev = makedev(CDEV_MAJOR + 2, (unsigned int)g);
		return 0;
	}
	if (strncmp(path, devs, strlen(devs)) != 0)
		return ret_err(ENOENT);
	pthread_mutex_lock(&F.lock);
	d = dev_by_cdev(path + strlen(devs));
	if (d < 0 || F.cfg.devs[d].no_node) {
		pthread_mutex_unlock(&F.lock);
		return ret_err(ENOENT);
	}
	st->st_mode = S_IFCHR | 0600;
	st->st_rdev = F.cfg.devs[d].stale_node ? makedev(CDEV_MAJOR, (unsigned int)d + 100)
					       : cdev_rdev(d);
	pthread_mutex_unlock(&F.lock);
	return 0;
}

static int f_eventfd(unsigned int init, int flags)
{
	int fd;

	(void)init;
	if (fault())
		return ret_err(EMFILE);
	if (!(flags & EFD_CLOEXEC))
		return ret_err(EINVAL);
	pthread_mutex_lock(&F.lock);
	fd = fd_new(FD_EVENT);
	pthread_mutex_unlock(&F.lock);
	return fd;
}

static int f_capget(void *hdr, void *data)
{
	struct __user_cap_data_struct *d = data;

	(void)hdr;
	if (fault())
		return ret_err(EINVAL);
	memset(d, 0, 2 * sizeof(*d));
	if (F.cfg.cap_rawio)
		d[0].effective = 1u << 17;
	if (F.cfg.cap_sys_admin)
		d[0].effective |= 1u << 21;
	return 0;
}

static int f_nanosleep(const struct timespec *req, struct timespec *rem)
{
	(void)req;
	(void)rem;
	pthread_mutex_lock(&F.lock);
	F.sleeps++;
	pthread_mutex_unlock(&F.lock);
	return 0;
}

/* ---- memory ------------------------------------------------------------- */
static void *f_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	void *p;
	bool huge = false;

	if (fault()) {
		errno = ENOMEM;
		return MAP_FAILED;
	}
	pthread_mutex_lock(&F.lock);
	if (fd >= 0) {
		struct ffd *f = fd_get(fd);
		uint64_t idx = (uint64_t)off >> 40;

		if (!f || f->type != FD_VDEV || idx != 0 || (off & ((1ll << 40) - 1)) ||
		    len > BAR0_SIZE || !(flags & MAP_SHARED)) {
			pthread_mutex_unlock(&F.lock);
			errno = EINVAL;
			return MAP_FAILED;
		}
		p = mmap(addr, len, prot, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	} else if (flags & MAP_HUGETLB) {
		void *raw;
		uintptr_t a;

		if (!F.cfg.hugepages || (len & (HPG - 1))) {
			pthread_mutex_unlock(&F.lock);
			errno = ENOMEM;
			return MAP_FAILED;
		}
		raw = mmap(NULL, len + HPG, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
			   -1, 0);
		if (raw == MAP_FAILED) {
			pthread_mutex_unlock(&F.lock);
			return MAP_FAILED;
		}
		a = ((uintptr_t)raw + HPG - 1) & ~(uintptr_t)(HPG - 1);
		if (a > (uintptr_t)raw)
			munmap(raw, a - (uintptr_t)raw);
		munmap((void *)(a + len), (uintptr_t)raw + len + HPG - (a + len));
		p = (void *)a;
		huge = true;
	} else {
		p = mmap(addr, len, prot, (flags & ~MAP_POPULATE) | MAP_NORESERVE, -1, 0);
	}
	if (p != MAP_FAILED) {
		int i;

		for (i = 0; i < MAX_MMAPS; i++)
			if (!F.maps[i].addr)
				break;
		if (i == MAX_MMAPS)
			abort();
		F.maps[i].addr = p;
		F.maps[i].len = len;
		F.maps[i].huge = huge;
		F.maps[i].pa = 0;
		if (huge) {
			/* 2 MiB aligned pages, none adjacent to another */
			F.maps[i].pa = F.next_hpa;
			F.next_hpa += 2 * len + HPG;
		}
		F.nmmaps++;
	}
	pthread_mutex_unlock(&F.lock);
	return p;
}

/* F.lock held. */
static void locks_drop(uint64_t va, uint64_t len)
{
	for (int i = 0; i < MAX_LOCKS; i++)
		if (F.locks[i].len && F.locks[i].va >= va &&
		    F.locks[i].va + F.locks[i].len <= va + len)
			F.locks[i].len = 0;
}

static int f_mlock(const void *addr, size_t len)
{
	uint64_t va = (uintptr_t)addr;
	int i;

	if (fault())
		return ret_err(ENOMEM);
	pthread_mutex_lock(&F.lock);
	for (i = 0; i < MAX_LOCKS; i++)
		if (!F.locks[i].len)
			break;
	if (i == MAX_LOCKS)
		abort();
	F.locks[i].va = va;
	F.locks[i].len = len;
	pthread_mutex_unlock(&F.lock);
	return 0;
}

static int f_munlock(const void *addr, size_t len)
{
	uint64_t va = (uintptr_t)addr;
	bool found = false;

	if (fault())
		return ret_err(ENOMEM);
	pthread_mutex_lock(&F.lock);
	for (int i = 0; i < MAX_LOCKS; i++)
		if (F.locks[i].len && F.locks[i].va == va && F.locks[i].len == len) {
			F.locks[i].len = 0;
			found = true;
		}
	pthread_mutex_unlock(&F.lock);
	if (!found) {
		fprintf(stderr, "fake: munlock of a range never locked\n");
		abort();
	}
	return 0;
}

/* F.lock held. The pagemap answer for va (see fake.h). */
static uint64_t pagemap_pa(uint64_t va)
{
	uint64_t c, h;

	for (int i = 0; i < MAX_MMAPS; i++)
		if (F.maps[i].addr && F.maps[i].huge && va >= (uintptr_t)F.maps[i].addr &&
		    va < (uintptr_t)F.maps[i].addr + F.maps[i].len)
			return F.maps[i].pa + 2 * ((va - (uintptr_t)F.maps[i].addr) & ~(HPG - 1)) +
			       (va & (HPG - 1));
	/* 32 KiB chunks of va: a scattered base each, so runs end at chunk
	 * boundaries (and sometimes earlier: a chunk split in two halves) */
	c = va >> 15;
	h = (c * 0x9e3779b97f4a7c15ull) ^ (c >> 7);
	h = (h % (1ull << 20)) * 0x10000ull + 0x200000000ull; /* 64 KiB slots, > 8 GiB */
	if ((h >> 16) & 1 && (va & 0x4000))
		h += 0x8000; /* second half elsewhere: two runs in this chunk */
	return h + (va & 0x7fff);
}

uint64_t fake_pagemap_pa(uint64_t va)
{
	uint64_t pa;

	pthread_mutex_lock(&F.lock);
	pa = pagemap_pa(va & ~(PG - 1)) + (va & (PG - 1));
	pthread_mutex_unlock(&F.lock);
	return pa;
}

long fake_pagemap_reads(void)
{
	long n;

	pthread_mutex_lock(&F.lock);
	n = F.pagemap_reads;
	pthread_mutex_unlock(&F.lock);
	return n;
}

bool fake_locked(uint64_t va, uint64_t len)
{
	bool ok = false;

	pthread_mutex_lock(&F.lock);
	for (int i = 0; i < MAX_LOCKS; i++)
		if (F.locks[i].len && F.locks[i].va <= va &&
		    va + len <= F.locks[i].va + F.locks[i].len)
			ok = true;
	pthread_mutex_unlock(&F.lock);
	return ok;
}

static int f_munmap(void *addr, size_t len)
{
	pthread_mutex_lock(&F.lock);
	for (int i = 0; i < MAX_MMAPS; i++) {
		if (F.maps[i].addr == addr) {
			locks_drop((uintptr_t)addr, len); /* munmap unlocks */
			if (F.maps[i].len != len) {
				fprintf(stderr, "fake: munmap length mismatch\n");
				abort();
			}
			F.maps[i].addr = NULL;
			F.nmmaps--;
			break;
		}
	}
	pthread_mutex_unlock(&F.lock);
	return munmap(addr, len);
}

/* The last MADV_DONTFORK/MADV_DOFORK range: qemu-user ignores both. */
static struct {
	uintptr_t addr;
	size_t len;
	int advice;
} last_fork_advice;

static int f_madvise(void *addr, size_t len, int advice)
{
	if (fault())
		return ret_err(EINVAL);
	if (advice == MADV_DONTFORK || advice == MADV_DOFORK) {
		pthread_mutex_lock(&F.lock);
		last_fork_advice.addr = (uintptr_t)addr;
		last_fork_advice.len = len;
		last_fork_advice.advice = advice;
		pthread_mutex_unlock(&F.lock);
	}
	return madvise(addr, len, advice);
}

bool fake_dontfork(uint64_t va, uint64_t len)
{
	bool ret;

	pthread_mutex_lock(&F.lock);
	ret = last_fork_advice.advice == MADV_DONTFORK && va >= last_fork_advice.addr &&
	      va + len <= last_fork_advice.addr + last_fork_advice.len;
	pthread_mutex_unlock(&F.lock);
	return ret;
}

static bool is_huge_va(uint64_t va)
{
	for (int i = 0; i < MAX_MMAPS; i++)
		if (F.maps[i].addr && F.maps[i].huge &&
		    va >= (uintptr_t)F.maps[i].addr &&
		    va < (uintptr_t)F.maps[i].addr + F.maps[i].len)
			return true;
	return false;
}

/* Made-up physical layout for a new mapping. */
static long make_layout(uint64_t va, uint64_t len, uint64_t *pa)
{
	uint64_t pages = len / PG, i = 0;
	long runs = 0;

	layout_seed(va, len);

	while (i < pages) {
		uint64_t n, base;

		if (is_huge_va(va + i * PG)) {
			/* 2 MiB page: contiguous, 2 MiB aligned physically. Two
			 * neighbouring hugepages are never adjacent here. */
			F.next_pa = (F.next_pa + HPG - 1) & ~(HPG - 1);
			base = F.next_pa;
			n = HPG / PG;
			F.next_pa += HPG + HPG;
		} else if (F.cfg.contiguous) {
			/* one run, right after the previous mapping's */
			n = pages - i;
			base = F.next_pa;
			F.next_pa += n * PG;
		} else {
			if (F.cfg.big_pct && rnd() % 100 < F.cfg.big_pct)
				n = 512 + rnd() % 1025;
			else
				n = 1 + rnd() % (F.cfg.run_max ? F.cfg.run_max : 1);
			/* sometimes start a run 2 MiB aligned in PA too */
			if (rnd() % 4 == 0)
				F.next_pa = (F.next_pa + HPG - 1) & ~(HPG - 1);
			base = F.next_pa;
			F.next_pa += (n + 1 + rnd() % 3) * PG; /* gap: never adjacent */
		}
		if (n > pages - i)
			n = pages - i;
		for (uint64_t k = 0; k < n; k++)
			pa[i + k] = base + k * PG;
		i += n;
		runs++;
	}
	return runs;
}

static struct iomap *iomap_find(int iommufd, uint32_t ioas, uint64_t iova)
{
	for (int i = 0; i < MAX_MAPS; i++) {
		struct iomap *m = &F.iomaps[i];

		if (m->used && m->iommufd == iommufd && m->ioas == ioas &&
		    iova >= m->iova && iova < m->iova + m->len)
			return m;
	}
	return NULL;
}

static bool ioas_exists(int fd, uint32_t id)
{
	for (int i = 0; i < MAX_IOAS; i++)
		if (id && F.ioas_of[fd - FD_BASE][i] == id)
			return true;
	return false;
}

static bool ioas_has_noiommu_dev(int fd, uint32_t id)
{
	for (unsigned int i = 0; i < F.cfg.ndevs; i++)
		if (F.devs[i].open && F.devs[i].iommufd == fd && F.devs[i].ioas == id)
			return true;
	return false;
}

/* Is any device attached to IOAS id of iommufd fd behind an IOMMU (its
 * cdev is "vfioN"), or a no-IOMMU cdev? */
static bool ioas_has_iommu_dev(int fd, uint32_t id)
{
	for (unsigned int i = 0; i < F.cfg.ndevs; i++)
		if (F.devs[i].open && F.devs[i].iommufd == fd && F.devs[i].ioas == id &&
		    F.cfg.devs[i].cdev && strncmp(F.cfg.devs[i].cdev, "noiommu-", 8) != 0)
			return true;
	return false;
}

static bool ioas_has_noiommu_cdev(int fd, uint32_t id)
{
	for (unsigned int i = 0; i < F.cfg.ndevs; i++)
		if (F.devs[i].open && F.devs[i].iommufd == fd && F.devs[i].ioas == id &&
		    F.cfg.devs[i].cdev && strncmp(F.cfg.devs[i].cdev, "noiommu-", 8) == 0)
			return true;
	return false;
}

/* Inside the simulated IOMMU's 48-bit space, outside its reserved window. */
static bool iova_allowed(uint64_t iova, uint64_t len)
{
	uint64_t last = iova + len - 1;

	return last >= iova && last < (1ull << 48) &&
	       (last < FAKE_IOVA_HOLE_START || iova > FAKE_IOVA_HOLE_LAST);
}

/* Drop the type1 mappings of container cfd (its IOMMU went away). */
static void type1_drop(int cfd)
{
	for (int i = 0; i < MAX_MAPS; i++)
		if (F.iomaps[i].used && F.iomaps[i].iommufd == cfd &&
		    F.iomaps[i].ioas == TYPE1_IOAS)
			iomap_drop(&F.iomaps[i]);
}

/* Group f leaves its container; the last group takes the IOMMU (and
 * every type1 mapping) along. */
static void group_leave(struct ffd *f)
{
	struct ffd *c = fd_get(f->container);
	bool others = false;

	for (int i = 0; i < MAX_FDS; i++)
		if (&F.fds[i] != f && F.fds[i].type == FD_GROUP &&
		    F.fds[i].container == f->container)
			others = true;
	if (c && !others) {
		c->container = 0;
		type1_drop(f->container);
	}
	f->container = -1;
}

static int iommufd_ioctl(int fd, unsigned long req, void *arg)
{
	if (req == IOMMU_IOAS_ALLOC) {
		struct iommu_ioas_alloc *a = arg;

		if (a->size != sizeof(*a) || a->flags)
			return ret_err(EINVAL);
		for (int i = 0; i < MAX_IOAS; i++) {
			if (!F.ioas_of[fd - FD_BASE][i]) {
				F.ioas_of[fd - FD_BASE][i] = ++F.next_id;
				a->out_ioas_id = F.next_id;
				return 0;
			}
		}
		return ret_err(ENOSPC);
	}
	if (req == IOMMU_DESTROY) {
		struct iommu_destroy *d = arg;

		if (d->size != sizeof(*d))
			return ret_err(EINVAL);
		for (int i = 0; i < MAX_IOAS; i++) {
			if (d->id && F.ioas_of[fd - FD_BASE][i] == d->id) {
				if (ioas_has_noiommu_dev(fd, d->id))
					return ret_err(EBUSY);
				for (int k = 0; k < MAX_MAPS; k++)
					if (F.iomaps[k].used && F.iomaps[k].iommufd == fd &&
					    F.iomaps[k].ioas == d->id)
						iomap_drop(&F.iomaps[k]);
				F.ioas_of[fd - FD_BASE][i] = 0;
				return 0;
			}
		}
		return ret_err(ENOENT);
	}
	if (req == IOMMU_IOAS_MAP) {
		struct iommu_ioas_map *m = arg;
		struct iomap *slot = NULL;

		if (m->size != sizeof(*m) || m->__reserved)
			return ret_err(EINVAL);
		if (!ioas_exists(fd, m->ioas_id))
			return ret_err(ENOENT);
		if (!(m->flags & IOMMU_IOAS_MAP_FIXED_IOVA))
			return ret_err(EINVAL); /* the library chooses every IOVA */
		/* no-IOMMU: the library promises IOVA == VA */
		if (m->iova != m->user_va && ioas_has_noiommu_cdev(fd, m->ioas_id))
			return ret_err(EINVAL);
		if (!m->length || (m->length | m->iova) & (PG - 1))
			return ret_err(EINVAL);
		if (ioas_has_iommu_dev(fd, m->ioas_id) && !iova_allowed(m->iova, m->length))
			return ret_err(EINVAL);
		for (int i = 0; i < MAX_MAPS; i++) {
			struct iomap *x = &F.iomaps[i];

			if (x->used && x->iommufd == fd && x->ioas == m->ioas_id &&
			    x->iova < m->iova + m->length && m->iova < x->iova + x->len)
				return ret_err(EEXIST);
			if (!x->used && !slot)
				slot = x;
		}
		if (!slot)
			return ret_err(ENOMEM);
		slot->pa = malloc(m->length / PG * sizeof(uint64_t));
		if (!slot->pa)
			return ret_err(ENOMEM);
		slot->used = true;
		slot->iommufd = fd;
		slot->ioas = m->ioas_id;
		slot->iova = m->iova;
		slot->len = m->length;
		slot->runs = make_layout(m->iova, m->length, slot->pa);
		slot->pinned = ioas_has_noiommu_dev(fd, m->ioas_id);
		slot->uva = m->user_va;
		slot->writeable = m->flags & IOMMU_IOAS_MAP_WRITEABLE;
		return 0;
	}
	if (req == IOMMU_IOAS_UNMAP) {
		struct iommu_ioas_unmap *u = arg;
		uint64_t done = 0;

		if (u->size != sizeof(*u))
			return ret_err(EINVAL);
		if (!ioas_exists(fd, u->ioas_id))
			return ret_err(ENOENT);
		for (int i = 0; i < MAX_MAPS; i++) {
			struct iomap *x = &F.iomaps[i];

			if (!x->used || x->iommufd != fd || x->ioas != u->ioas_id)
				continue;
			if (x->iova < u->iova + u->length && u->iova < x->iova + x->len) {
				if (x->iova < u->iova || x->iova + x->len > u->iova + u->length)
					return ret_err(ENOENT); /* would split */
			}
		}
		for (int i = 0; i < MAX_MAPS; i++) {
			struct iomap *x = &F.iomaps[i];

			if (x->used && x->iommufd == fd && x->ioas == u->ioas_id &&
			    x->iova >= u->iova && x->iova + x->len <= u->iova + u->length) {
				done += x->len;
				iomap_drop(x);
			}
		}
		if (!done)
			return ret_err(ENOENT);
		u->length = done;
		return 0;
	}
	if (req == IOMMU_IOAS_IOVA_RANGES) {
		struct iommu_ioas_iova_ranges *q = arg;
		struct iommu_iova_range *r = (void *)(uintptr_t)q->allowed_iovas;
		unsigned int want;
		bool iommu;

		if (q->size != sizeof(*q) || q->__reserved)
			return ret_err(EINVAL);
		if (!ioas_exists(fd, q->ioas_id))
			return ret_err(ENOENT);
		iommu = ioas_has_iommu_dev(fd, q->ioas_id);
		want = !iommu ? 1 : F.cfg.iova_split ? F.cfg.iova_split : 2;
		if (q->num_iovas < want) {
			q->num_iovas = want;
			return ret_err(EMSGSIZE);
		}
		q->num_iovas = want;
		q->out_iova_alignment = PG;
		if (!iommu) {
			r[0].start = 0;
			r[0].last = UINT64_MAX;
			return 0;
		}
		if (F.cfg.iova_split) {
			for (unsigned int i = 0; i < want; i++) {
				r[i].start = (4ull << 30) + (uint64_t)i * (2ull << 30);
				r[i].last = r[i].start + (1ull << 30) - 1;
			}
			return 0;
		}
		r[0].start = 0;
		r[0].last = FAKE_IOVA_HOLE_START - 1;
		r[1].start = FAKE_IOVA_HOLE_LAST + 1;
		r[1].last = (1ull << 48) - 1; /* a 48-bit IOMMU */
		return 0;
	}
	if (req == VNI_IOCTL_GET_PA) {
		struct vni_uapi_get_pa *q = arg;
		struct iomap *m;
		uint64_t page, off, pa, n, lim;

		F.getpa_calls++;
		if (!F.cfg.getpa_supported)
			return ret_err(ENOTTY);
		if (!F.cfg.cap_rawio)
			return ret_err(EPERM);
		if (q->flags || q->__reserved)
			return ret_err(EOPNOTSUPP);
		if (q->size != sizeof(*q))
			return ret_err(EINVAL);
		/* mainline uAPI: length 0 means no limit */
		if (!ioas_exists(fd, q->ioas_id))
			return ret_err(ENOENT);
		m = iomap_find(fd, q->ioas_id, q->iova);
		if (!m)
			return ret_err(ENOENT);
		if (!ioas_has_noiommu_dev(fd, q->ioas_id) || !m->pinned)
			return ret_err(EOPNOTSUPP);
		page = (q->iova - m->iova) / PG;
		off = q->iova & (PG - 1);
		pa = m->pa[page] + off;
		n = PG - off;
		lim = q->length ? q->length : UINT64_MAX;
		while (n < lim && m->iova + (page + 1) * PG < m->iova + m->len &&
		       m->pa[page + 1] == m->pa[page] + PG) {
			page++;
			n += PG;
		}
		if (n > lim)
			n = lim;
		q->out_phys = pa;
		q->length = n;
		return 0;
	}
	return ret_err(ENOTTY);
}

static int vdev_ioctl(int fd, struct ffd *f, unsigned long req, void *arg)
{
	struct fdevst *d = &F.devs[f->dev];

	if (req == VFIO_DEVICE_BIND_IOMMUFD) {
		struct vfio_device_bind_iommufd *b = arg;

		if (d->via_group)
			return ret_err(EINVAL); /* a group device fd has no iommufd */
		struct ffd *i = fd_get(b->iommufd);

		if (b->argsz < sizeof(*b) || b->flags)
			return ret_err(EINVAL);
		if (!i || i->type != FD_IOMMU)
			return ret_err(EBADF);
		if (d->iommufd >= 0)
			return ret_err(EINVAL);
		if (!F.cfg.cap_rawio)
			return ret_err(EPERM);
		d->iommufd = b->iommufd;
		d->devid = ++F.next_id;
		b->out_devid = d->devid;
		return 0;
	}
	if (d->iommufd < 0 && !d->via_group)
		return ret_err(EINVAL); /* not bound: nothing else allowed */
	if (req == VFIO_DEVICE_ATTACH_IOMMUFD_PT) {
		struct vfio_device_attach_iommufd_pt *a = arg;

		if (a->argsz < sizeof(*a) || a->flags)
			return ret_err(EINVAL);
		if (!ioas_exists(d->iommufd, a->pt_id))
			return ret_err(ENOENT);
		if (d->ioas && d->ioas != a->pt_id) {
			uint32_t old = d->ioas;

			d->ioas = 0;
			ioas_update_pins(d->iommufd, old);
		}
		d->ioas = a->pt_id;
		ioas_update_pins(d->iommufd, a->pt_id);
		return 0;
	}
	if (req == VFIO_DEVICE_DETACH_IOMMUFD_PT)
		return d->via_group ? ret_err(EINVAL) : dev_detach(d);
	if (!d->ioas && !d->via_group)
		return ret_err(EINVAL);
	if (req == VFIO_DEVICE_GET_INFO) {
		struct vfio_device_info *vi = arg;

		vi->flags = VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET |
			    VFIO_DEVICE_FLAGS_CDEV;
		vi->num_regions = VFIO_PCI_NUM_REGIONS;
		vi->num_irqs = VFIO_PCI_NUM_IRQS;
		return 0;
	}
	if (req == VFIO_DEVICE_GET_REGION_INFO) {
		struct vfio_region_info *ri = arg;

		ri->offset = (uint64_t)ri->index << 40;
		ri->flags = 0;
		ri->size = 0;
		switch (ri->index) {
		case 0:
			ri->size = BAR0_SIZE;
			ri->flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE |
				    VFIO_REGION_INFO_FLAG_MMAP;
			break;
		case 2:
			ri->size = BAR2_SIZE;
			ri->flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
			break;
		case VFIO_PCI_CONFIG_REGION_INDEX:
			ri->size = CFG_SIZE;
			ri->flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
			break;
		case VFIO_PCI_VGA_REGION_INDEX:
			return ret_err(EINVAL);
		default:
			if (ri->index >= VFIO_PCI_NUM_REGIONS)
				return ret_err(EINVAL);
		}
		return 0;
	}
	if (req == VFIO_DEVICE_GET_IRQ_INFO) {
		struct vfio_irq_info *ii = arg;

		if (ii->index >= VFIO_PCI_NUM_IRQS)
			return ret_err(EINVAL);
		ii->flags = VFIO_IRQ_INFO_EVENTFD;
		ii->count = ii->index == VFIO_PCI_INTX_IRQ_INDEX ? 1 :
			    ii->index == VFIO_PCI_MSI_IRQ_INDEX ? 4 :
			    ii->index == VFIO_PCI_MSIX_IRQ_INDEX ? 8 : 0;
		if (ii->index == VFIO_PCI_INTX_IRQ_INDEX)
			ii->flags |= VFIO_IRQ_INFO_MASKABLE | VFIO_IRQ_INFO_AUTOMASKED;
		return 0;
	}
	if (req == VFIO_DEVICE_SET_IRQS) {
		struct vfio_irq_set *s = arg;
		unsigned int max = s->index == VFIO_PCI_INTX_IRQ_INDEX ? 1 :
				   s->index == VFIO_PCI_MSI_IRQ_INDEX ? 4 :
				   s->index == VFIO_PCI_MSIX_IRQ_INDEX ? 8 : 0;

		if (s->start + s->count > max)
			return ret_err(EINVAL);
		if ((s->flags & VFIO_IRQ_SET_DATA_TYPE_MASK) == VFIO_IRQ_SET_DATA_EVENTFD) {
			int32_t fds[8];

			if (s->argsz < sizeof(*s) + s->count * 4)
				return ret_err(EINVAL);
			memcpy(fds, s->data, s->count * 4);
			for (unsigned int i = 0; i < s->count; i++) {
				struct ffd *e = fd_get(fds[i]);

				if (fds[i] >= 0 && (!e || e->type != FD_EVENT))
					return ret_err(EBADF);
			}
			if (d->irq_index >= 0 && d->irq_index != (int)s->index)
				return ret_err(EINVAL);
			d->irq_index = (int)s->index;
			d->irq_count = s->count;
			return 0;
		}
		if ((s->flags & VFIO_IRQ_SET_ACTION_TYPE_MASK) == VFIO_IRQ_SET_ACTION_TRIGGER &&
		    s->count == 0) {
			flog("d%d:irqoff", f->dev);
			d->irq_index = -1;
			return 0;
		}
		if (s->flags & VFIO_IRQ_SET_ACTION_UNMASK)
			return d->irq_index == VFIO_PCI_INTX_IRQ_INDEX ? 0 : ret_err(EINVAL);
		return ret_err(EINVAL);
	}
	if (req == VFIO_DEVICE_RESET)
		return 0;
	(void)fd;
	return ret_err(ENOTTY);
}

/* The legacy container: VFIO_NOIOMMU_IOMMU when noiommu mode is on, set
 * once a group is in it. */
static int container_ioctl(int fd, struct ffd *f, unsigned long req, void *arg)
{
	bool on = F.cfg.noiommu_param && F.cfg.noiommu_param[0] == 'Y';

	if (req == VFIO_GET_API_VERSION)
		return VFIO_API_VERSION;
	if (req == VFIO_CHECK_EXTENSION)
		return ((uintptr_t)arg == VFIO_NOIOMMU_IOMMU && on) ||
		       (uintptr_t)arg == VFIO_TYPE1v2_IOMMU;
	if (req == VFIO_SET_IOMMU) {
		bool has_group = false, wrong = false;
		uintptr_t type = (uintptr_t)arg;

		if ((type != VFIO_NOIOMMU_IOMMU || !on) && type != VFIO_TYPE1v2_IOMMU)
			return ret_err(EINVAL);
		for (int i = 0; i < MAX_FDS; i++) {
			if (F.fds[i].type == FD_GROUP && F.fds[i].container == fd) {
				has_group = true;
				/* noiommu groups need the noiommu "IOMMU" and back */
				if (F.cfg.devs[F.fds[i].dev].noiommu_group !=
				    (type == VFIO_NOIOMMU_IOMMU))
					wrong = true;
			}
		}
		if (!has_group || wrong)
			return ret_err(EINVAL);
		if (f->container)
			return ret_err(EBUSY);
		f->container = (int)type;
		flog("c%d:iommu", fd - FD_BASE);
		return 0;
	}
	if (f->container != VFIO_TYPE1v2_IOMMU)
		return ret_err(EINVAL); /* no type1 IOMMU set */
	if (req == VFIO_IOMMU_GET_INFO) {
		struct vfio_iommu_type1_info *info = arg;
		struct vfio_iommu_type1_info_cap_iova_range *cap;
		uint32_t need = sizeof(*info) + sizeof(*cap) + 2 * sizeof(cap->iova_ranges[0]);

		if (info->argsz < sizeof(*info))
			return ret_err(EINVAL);
		info->flags = VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS;
		info->iova_pgsizes = PG | HPG | (1ull << 30);
		info->cap_offset = 0;
		if (info->argsz < need) {
			info->argsz = need;
			return 0;
		}
		cap = (void *)((char *)info + sizeof(*info));
		memset(cap, 0, sizeof(*cap));
		cap->header.id = VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE;
		cap->header.version = 1;
		cap->header.next = 0;
		cap->nr_iovas = 2;
		cap->iova_ranges[0].start = 0;
		cap->iova_ranges[0].end = FAKE_IOVA_HOLE_START - 1;
		cap->iova_ranges[1].start = FAKE_IOVA_HOLE_LAST + 1;
		cap->iova_ranges[1].end = (1ull << 48) - 1;
		info->cap_offset = sizeof(*info);
		return 0;
	}
	if (req == VFIO_IOMMU_MAP_DMA) {
		struct vfio_iommu_type1_dma_map *m = arg;
		struct iomap *slot = NULL;

		if (m->argsz < sizeof(*m) || !(m->flags & VFIO_DMA_MAP_FLAG_READ))
			return ret_err(EINVAL);
		if (!m->size || ((m->size | m->iova | m->vaddr) & (PG - 1)) ||
		    !iova_allowed(m->iova, m->size))
			return ret_err(EINVAL);
		for (int i = 0; i < MAX_MAPS; i++) {
			struct iomap *x = &F.iomaps[i];

			if (x->used && x->iommufd == fd && x->ioas == TYPE1_IOAS &&
			    x->iova < m->iova + m->size && m->iova < x->iova + x->len)
				return ret_err(EEXIST);
			if (!x->used && !slot)
				slot = x;
		}
		if (!slot)
			return ret_err(ENOMEM);
		slot->pa = malloc(m->size / PG * sizeof(uint64_t));
		if (!slot->pa)
			return ret_err(ENOMEM);
		slot->used = true;
		slot->iommufd = fd;
		slot->ioas = TYPE1_IOAS;
		slot->iova = m->iova;
		slot->len = m->size;
		slot->runs = make_layout(m->vaddr, m->size, slot->pa);
		slot->pinned = true;
		slot->uva = m->vaddr;
		slot->writeable = m->flags & VFIO_DMA_MAP_FLAG_WRITE;
		return 0;
	}
	if (req == VFIO_IOMMU_UNMAP_DMA) {
		struct vfio_iommu_type1_dma_unmap *u = arg;

		if (u->argsz < sizeof(*u))
			return ret_err(EINVAL);
		for (int i = 0; i < MAX_MAPS; i++) {
			struct iomap *x = &F.iomaps[i];

			if (x->used && x->iommufd == fd && x->ioas == TYPE1_IOAS &&
			    x->iova == u->iova && x->len == u->size) {
				iomap_drop(x);
				return 0;
			}
		}
		return ret_err(EINVAL);
	}
	return ret_err(ENOTTY);
}

/* F.lock held: the domain (fd, ioas) of device dev, false if none. */
static bool dev_domain(unsigned int dev, int *domfd, uint32_t *ioas)
{
	struct fdevst *d = dev < FAKE_MAX_DEVS ? &F.devs[dev] : NULL;

	*domfd = -1;
	if (d && d->open && d->via_group) {
		for (int i = 0; i < MAX_FDS; i++)
			if (F.fds[i].type == FD_GROUP && F.fds[i].dev == (int)dev)
				*domfd = F.fds[i].container;
		*ioas = TYPE1_IOAS;
	} else if (d && d->open && d->ioas) {
		*domfd = d->iommufd;
		*ioas = d->ioas;
	}
	return *domfd >= 0;
}

bool fake_iova_of(unsigned int dev, uint64_t uva, uint64_t *iova)
{
	bool ok = false;
	uint32_t ioas;
	int domfd;

	pthread_mutex_lock(&F.lock);
	if (dev_domain(dev, &domfd, &ioas)) {
		for (int i = 0; i < MAX_MAPS; i++) {
			struct iomap *m = &F.iomaps[i];

			if (m->used && m->iommufd == domfd && m->ioas == ioas &&
			    uva >= m->uva && uva < m->uva + m->len) {
				*iova = m->iova + (uva - m->uva);
				ok = true;
				break;
			}
		}
	}
	pthread_mutex_unlock(&F.lock);
	return ok;
}

int fake_dev_dma(unsigned int dev, uint64_t iova, void *buf, size_t len, bool write)
{
	struct fdevst *d;
	int domfd = -1, ret = -EFAULT;
	uint32_t ioas = 0;

	pthread_mutex_lock(&F.lock);
	d = dev < FAKE_MAX_DEVS ? &F.devs[dev] : NULL;
	if (d && d->open && d->via_group) {
		for (int i = 0; i < MAX_FDS; i++)
			if (F.fds[i].type == FD_GROUP && F.fds[i].dev == (int)dev)
				domfd = F.fds[i].container;
		ioas = TYPE1_IOAS;
	} else if (d && d->open && d->ioas) {
		domfd = d->iommufd;
		ioas = d->ioas;
	}
	if (domfd < 0 || !bus_master(d) ||
	    (ioas != TYPE1_IOAS && !ioas_has_iommu_dev(domfd, ioas))) {
		pthread_mutex_unlock(&F.lock);
		return -ENODEV;
	}
	for (int i = 0; i < MAX_MAPS; i++) {
		struct iomap *m = &F.iomaps[i];

		if (!m->used || m->iommufd != domfd || m->ioas != ioas ||
		    iova < m->iova || iova + len > m->iova + m->len)
			continue;
		if (write && !m->writeable)
			break; /* IOMMU write fault */
		if (write)
			memcpy((void *)(uintptr_t)(m->uva + (iova - m->iova)), buf, len);
		else
			memcpy(buf, (const void *)(uintptr_t)(m->uva + (iova - m->iova)), len);
		ret = 0;
		break;
	}
	if (ret < 0)
		flog("d%u:dmafault", dev);
	pthread_mutex_unlock(&F.lock);
	return ret;
}

static int group_ioctl(struct ffd *f, unsigned long req, void *arg)
{
	struct fdevst *d = &F.devs[f->dev];

	if (req == VFIO_GROUP_GET_STATUS) {
		struct vfio_group_status *st = arg;

		if (st->argsz < sizeof(*st))
			return ret_err(EINVAL);
		st->flags = VFIO_GROUP_FLAGS_VIABLE |
			    (f->container >= 0 ? VFIO_GROUP_FLAGS_CONTAINER_SET : 0);
		return 0;
	}
	if (req == VFIO_GROUP_SET_CONTAINER) {
		int cfd = *(const int *)arg;
		struct ffd *c = fd_get(cfd);

		if (!c || c->type != FD_CONTAINER)
			return ret_err(EBADF);
		if (f->container >= 0)
			return ret_err(EINVAL);
		f->container = cfd;
		return 0;
	}
	if (req == VFIO_GROUP_UNSET_CONTAINER) {
		if (f->container < 0)
			return ret_err(EINVAL);
		if (d->open && d->via_group)
			return ret_err(EBUSY); /* the device fd is still open */
		group_leave(f);
		return 0;
	}
	if (req == VFIO_GROUP_GET_DEVICE_FD) {
		const char *name = arg;
		struct ffd *c = f->container >= 0 ? fd_get(f->container) : NULL;
		int fd;

		if (!c || !c->container)
			return ret_err(EINVAL); /* no container, or no IOMMU set */
		if (strcmp(name, F.cfg.devs[f->dev].bdf) != 0)
			return ret_err(ENODEV);
		if (F.cfg.devs[f->dev].noiommu_group && !F.cfg.cap_rawio)
			return ret_err(EPERM);
		if (d->open)
			return ret_err(EBUSY);
		fd = fd_new(FD_VDEV);
		if (fd < 0)
			return fd;
		F.fds[fd - FD_BASE].dev = f->dev;
		d->open = true;
		d->via_group = true;
		d->fd = fd;
		d->iommufd = -1;
		d->ioas = 0;
		d->irq_index = -1;
		return fd;
	}
	return ret_err(ENOTTY);
}

static int f_ioctl(int fd, unsigned long req, void *arg)
{
	struct ffd *f;
	int ret;

	if (fault())
		return ret_err(EIO);
	pthread_mutex_lock(&F.lock);
	f = fd_get(fd);
	if (!f)
		ret = ret_err(EBADF);
	else if (f->type == FD_IOMMU)
		ret = iommufd_ioctl(fd, req, arg);
	else if (f->type == FD_VDEV)
		ret = vdev_ioctl(fd, f, req, arg);
	else if (f->type == FD_CONTAINER)
		ret = container_ioctl(fd, f, req, arg);
	else if (f->type == FD_GROUP)
		ret = group_ioctl(f, req, arg);
	else
		ret = ret_err(ENOTTY);
	pthread_mutex_unlock(&F.lock);
	return ret;
}

/* ---- control ------------------------------------------------------------- */
struct fake_cfg fake_default_cfg(void)
{
	struct fake_cfg c;

	memset(&c, 0, sizeof(c));
	c.noiommu_param = "Y";
	c.have_iommu = true;
	c.cap_rawio = true;
	c.hugepages = true;
	c.getpa_supported = true;
	c.cap_sys_admin = true;
	c.seed = 42;
	c.run_max = 8;
	c.big_pct = 10;
	c.tp_reads = 3;
	c.devs[0] = (struct fake_dev_cfg){ "0000:00:04.0", "vfio-pci", "noiommu-vfio0",
					   0x1234, 0x11e8, 0x00ff00, false, false, false, false };
	c.devs[1] = (struct fake_dev_cfg){ "0000:00:05.0", "vfio-pci", "noiommu-vfio1",
					   0x1234, 0x11e8, 0x00ff00, false, false, false, false };
	c.devs[2] = (struct fake_dev_cfg){ "0000:00:06.0", "nvme", NULL,
					   0x1b36, 0x0010, 0x010802, false, false, false, false };
	c.devs[3] = (struct fake_dev_cfg){ "0000:00:07.0", "vfio-pci", "vfio2",
					   0x8086, 0x10d3, 0x020000, false, false, false, false };
	c.ndevs = 4;
	return c;
}

void fake_install(const struct fake_cfg *cfg)
{
	pthread_mutex_lock(&F.lock);
	for (int i = 0; i < MAX_MAPS; i++)
		if (F.iomaps[i].used)
			iomap_drop(&F.iomaps[i]);
	for (int i = 0; i < MAX_FDS; i++)
		if (F.fds[i].type == FD_SMAPS)
			free(F.fds[i].big);
	memset(F.fds, 0, sizeof(F.fds));
	memset(F.maps, 0, sizeof(F.maps));
	memset(F.ioas_of, 0, sizeof(F.ioas_of));
	memset(F.devs, 0, sizeof(F.devs));
	F.cfg = cfg ? *cfg : fake_default_cfg();
	F.rng = F.cfg.seed ? F.cfg.seed : 1;
	F.next_pa = 0x100000000ull;
	F.next_hpa = 0x4000000000ull; /* 256 GiB: apart from the rest */
	memset(F.locks, 0, sizeof(F.locks));
	F.pagemap_reads = 0;
	F.next_id = 0;
	F.getpa_calls = 0;
	F.nmmaps = 0;
	F.log[0] = '\0';
	F.unsafe_detaches = 0;
	F.sleeps = 0;
	for (unsigned int i = 0; i < FAKE_MAX_DEVS; i++) {
		F.devs[i].iommufd = -1;
		F.devs[i].irq_index = -1;
		/* vendor/device/class in config space */
		if (i < F.cfg.ndevs) {
			uint32_t id = F.cfg.devs[i].vendor | (uint32_t)F.cfg.devs[i].device << 16;
			uint32_t cls = F.cfg.devs[i].class_code << 8;

			memcpy(F.devs[i].cfg, &id, 4);
			memcpy(F.devs[i].cfg + 8, &cls, 4);
			if (!F.cfg.no_pcie_cap) {
				F.devs[i].cfg[0x06] = 0x10;  /* capability list */
				F.devs[i].cfg[0x34] = 0x40;
				F.devs[i].cfg[0x40] = 0x10;  /* PCI Express */
				F.devs[i].cfg[0x41] = 0x00;
			}
		}
	}
	pthread_mutex_unlock(&F.lock);
	atomic_store(&heap_blocks, 0);
	fake_fail_at(0);

	vnip_sys.open = f_open;
	vnip_sys.close = f_close;
	vnip_sys.read = f_read;
	vnip_sys.pread = f_pread;
	vnip_sys.pwrite = f_pwrite;
	vnip_sys.ioctl = f_ioctl;
	vnip_sys.mmap = f_mmap;
	vnip_sys.munmap = f_munmap;
	vnip_sys.madvise = f_madvise;
	vnip_sys.mlock = f_mlock;
	vnip_sys.munlock = f_munlock;
	vnip_sys.readlink = f_readlink;
	vnip_sys.getdents64 = f_getdents64;
	vnip_sys.pci_enum = f_pci_enum;
	vnip_sys.eventfd = f_eventfd;
	vnip_sys.capget = f_capget;
	vnip_sys.stat = f_stat;
	vnip_sys.nanosleep = f_nanosleep;
	vnip_sys.malloc = f_malloc;
	vnip_sys.calloc = f_calloc;
	vnip_sys.free = f_free;
}

void fake_uninstall(void)
{
	vnip_sys = vnip_sys_default;
}

void fake_counts(struct fake_counts *c)
{
	memset(c, 0, sizeof(*c));
	pthread_mutex_lock(&F.lock);
	for (int i = 0; i < MAX_FDS; i++)
		if (F.fds[i].type != FD_FREE)
			c->fds++;
	c->mmaps = F.nmmaps;
	for (int i = 0; i < MAX_LOCKS; i++)
		c->locked_pages += (long)(F.locks[i].len / PG);
	for (int i = 0; i < MAX_MAPS; i++) {
		if (F.iomaps[i].used) {
			c->ioas_maps++;
			if (F.iomaps[i].pinned)
				c->pinned_pages += (long)(F.iomaps[i].len / PG);
		}
	}
	pthread_mutex_unlock(&F.lock);
	c->heap = atomic_load(&heap_blocks);
}

bool fake_pa(uint64_t iova, uint64_t *pa)
{
	bool ok = false;

	pthread_mutex_lock(&F.lock);
	for (int i = 0; i < MAX_MAPS; i++) {
		struct iomap *m = &F.iomaps[i];

		if (m->used && m->pinned && iova >= m->iova && iova < m->iova + m->len) {
			*pa = m->pa[(iova - m->iova) / PG] + (iova & (PG - 1));
			ok = true;
			break;
		}
	}
	pthread_mutex_unlock(&F.lock);
	return ok;
}

long fake_mapping_runs(uint64_t iova)
{
	long r = -1;

	pthread_mutex_lock(&F.lock);
	for (int i = 0; i < MAX_MAPS; i++)
		if (F.iomaps[i].used && F.iomaps[i].iova == iova)
			r = F.iomaps[i].runs;
	pthread_mutex_unlock(&F.lock);
	return r;
}

long fake_getpa_calls(void)
{
	long n;

	pthread_mutex_lock(&F.lock);
	n = F.getpa_calls;
	pthread_mutex_unlock(&F.lock);
	return n;
}

const char *fake_log(void)
{
	return F.log;
}

void fake_log_clear(void)
{
	pthread_mutex_lock(&F.lock);
	F.log[0] = '\0';
	pthread_mutex_unlock(&F.lock);
}

long fake_unsafe_detaches(void)
{
	long n;

	pthread_mutex_lock(&F.lock);
	n = F.unsafe_detaches;
	pthread_mutex_unlock(&F.lock);
	return n;
}

long fake_sleeps(void)
{
	long n;

	pthread_mutex_lock(&F.lock);
	n = F.sleeps;
	pthread_mutex_unlock(&F.lock);
	return n;
}

bool fake_bus_master(unsigned int dev)
{
	bool on;

	pthread_mutex_lock(&F.lock);
	on = dev < FAKE_MAX_DEVS && bus_master(&F.devs[dev]);
	pthread_mutex_unlock(&F.lock);
	return on;
}

void fake_set_hugepages(bool on)
{
	pthread_mutex_lock(&F.lock);
	F.cfg.hugepages = on;
	pthread_mutex_unlock(&F.lock);
}

void fake_set_contiguous(bool on)
{
	pthread_mutex_lock(&F.lock);
	F.cfg.contiguous = on;
	/* start 2 MiB aligned, so that whole blocks can become leaves */
	F.next_pa = (F.next_pa + HPG - 1) & ~(HPG - 1);
	pthread_mutex_unlock(&F.lock);
}
