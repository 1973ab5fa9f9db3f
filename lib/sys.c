/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvfionoiommu - system call indirection and small file helpers.
 */
#include <dirent.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

static int sys_open(const char *path, int flags, mode_t mode)
{
	return open(path, flags, mode);
}

static int sys_ioctl(int fd, unsigned long req, void *arg)
{
	return ioctl(fd, req, arg);
}

static ssize_t sys_getdents64(int fd, void *buf, size_t len)
{
	return syscall(SYS_getdents64, fd, buf, len);
}

static int sys_capget(void *hdr, void *data)
{
	return (int)syscall(SYS_capget, hdr, data);
}

static int sys_stat(const char *path, struct stat *st)
{
	return stat(path, st);
}

#define VNIP_SYS_DEFAULT_INIT { \
	.open = sys_open, \
	.close = close, \
	.read = read, \
	.pread = pread, \
	.pwrite = pwrite, \
	.ioctl = sys_ioctl, \
	.mmap = mmap, \
	.munmap = munmap, \
	.madvise = madvise, \
	.mlock = mlock, \
	.munlock = munlock, \
	.readlink = readlink, \
	.getdents64 = sys_getdents64, \
	.pci_enum = vnip_pci_enum_udev, \
	.eventfd = eventfd, \
	.capget = sys_capget, \
	.stat = sys_stat, \
	.nanosleep = nanosleep, \
	.malloc = malloc, \
	.calloc = calloc, \
	.free = free, \
}

const struct vnip_sys vnip_sys_default = VNIP_SYS_DEFAULT_INIT;
struct vnip_sys vnip_sys = VNIP_SYS_DEFAULT_INIT;

int vnip_open(const char *path, int flags)
{
	int fd;

	do {
		fd = vnip_sys.open(path, flags | O_CLOEXEC, 0);
	} while (fd < 0 && errno == EINTR);
	return fd < 0 ? -errno : fd;
}

void vnip_close(int fd)
{
	int saved = errno;

	/* Linux releases the descriptor even when close() fails: never retry. */
	if (fd >= 0)
		vnip_sys.close(fd);
	errno = saved;
}

int vnip_ioctl(int fd, unsigned long req, void *arg)
{
	int ret;

	do {
		ret = vnip_sys.ioctl(fd, req, arg);
	} while (ret < 0 && errno == EINTR);
	return ret < 0 ? -errno : ret;
}

void *vnip_malloc(size_t len)
{
	return vnip_sys.malloc(len);
}

void *vnip_calloc(size_t n, size_t len)
{
	return vnip_sys.calloc(n, len);
}

void vnip_free(void *p)
{
	if (p)
		vnip_sys.free(p);
}

ssize_t vnip_read_file(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	if (len == 0)
		return -EINVAL;
	fd = vnip_open(path, O_RDONLY);
	if (fd < 0)
		return fd;
	do {
		n = vnip_sys.read(fd, buf, len - 1);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		n = -errno;
		vnip_close(fd);
		return n;
	}
	vnip_close(fd);
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return n;
}

int vnip_readlink_base(const char *path, char *buf, size_t len)
{
	char target[4096];
	const char *base;
	ssize_t n;

	n = vnip_sys.readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = '\0';
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	if (strlen(base) >= len)
		return -ENAMETOOLONG;
	strcpy(buf, base);
	return 0;
}

int vnip_parse_group(const char *s)
{
	long g = 0;

	/* The kernel names groups "%d": digits only, no sign, no leading 0. */
	if (!*s || (s[0] == '0' && s[1]))
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || g >= 100000000)
			return -EINVAL;
		g = g * 10 + (*s - '0');
	}
	return (int)g;
}

struct vnip_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

int vnip_dir_find(const char *path, bool (*match)(const char *name),
		  char *buf, size_t len)
{
	/* 8-byte aligned buffer for struct vnip_dirent64 records. */
	uint64_t dbuf[1024];
	int fd, ret = 0;

	fd = vnip_open(path, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return fd;
	for (;;) {
		ssize_t n = vnip_sys.getdents64(fd, dbuf, sizeof(dbuf));
		ssize_t pos = 0;

		if (n < 0) {
			ret = -errno;
			break;
		}
		if (n == 0)
			break;
		while (pos < n) {
			const struct vnip_dirent64 *d =
				(const void *)((const char *)dbuf + pos);

			if (d->d_reclen == 0) {
				ret = -EIO;
				goto out;
			}
			pos += d->d_reclen;
			if (match(d->d_name)) {
				if (strlen(d->d_name) >= len) {
					ret = -ENAMETOOLONG;
					goto out;
				}
				strcpy(buf, d->d_name);
				ret = 1;
				goto out;
			}
		}
	}
out:
	vnip_close(fd);
	return ret;
}

int vnip_cdev_node_check(const char *bdf, const char *name)
{
	char path[512], buf[64];
	struct stat st;
	unsigned int maj, min;
	char extra;
	int ret;

	snprintf(path, sizeof(path), "%s/%s", VNIP_DEV_VFIO_DEVICES, name);
	do {
		ret = vnip_sys.stat(path, &st);
	} while (ret < 0 && errno == EINTR);
	if (ret < 0)
		return -errno;
	if (!S_ISCHR(st.st_mode))
		return -ENOTTY;
	snprintf(path, sizeof(path), "%s/%s/vfio-dev/%s/dev", VNIP_SYSFS_PCI, bdf, name);
	if (vnip_read_file(path, buf, sizeof(buf)) > 0 &&
	    sscanf(buf, "%u:%u%c", &maj, &min, &extra) == 2 &&
	    (major(st.st_rdev) != maj || minor(st.st_rdev) != min))
		return -ESTALE;
	return 0;
}

int vnip_out_check(const void *dst, size_t v0, const char *fn)
{
	uint32_t size;

	memcpy(&size, dst, sizeof(size));
	if (size < v0)
		return vnip_err(-EINVAL, "%s: struct_size %u, at least %zu (set it to "
				"sizeof the struct)", fn, size, v0);
	return 0;
}

void vnip_out(void *dst, void *src, size_t len)
{
	uint32_t size, n;

	memcpy(&size, dst, sizeof(size));
	n = size < len ? size : (uint32_t)len;
	memcpy(src, &n, sizeof(n));
	memcpy(dst, src, n);
}
