/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Helpers of the library's in-guest tests; see vmtest.h.
 */
#include "vmtest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int vt_n;
static int vt_nfail;

static void vt_vline(bool cond, const char *directive, const char *fmt, va_list ap)
	VT_PRINTF(3, 0);
static void vt_vline(bool cond, const char *directive, const char *fmt, va_list ap)
{
	printf("%sok %d - ", cond ? "" : "not ", ++vt_n);
	vprintf(fmt, ap);
	if (directive)
		printf(" # %s", directive);
	putchar('\n');
	fflush(stdout);
}

bool vt_ok(bool cond, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vt_vline(cond, NULL, fmt, ap);
	va_end(ap);
	if (!cond)
		vt_nfail++;
	return cond;
}

void vt_skip(const char *reason, const char *fmt, ...)
{
	char dir[256];
	va_list ap;

	snprintf(dir, sizeof(dir), "SKIP %s", reason);
	va_start(ap, fmt);
	vt_vline(true, dir, fmt, ap);
	va_end(ap);
}

void vt_diag(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

void vt_bail(const char *fmt, ...)
{
	va_list ap;

	fputs("Bail out! ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (vni_errno_last())
		printf(" (last library error: %d %s)", -vni_errno_last(), vni_strerror_last());
	putchar('\n');
	fflush(stdout);
	exit(2);
}

bool vt_ok_call(int ret, const char *what)
{
	if (ret < 0)
		return vt_ok(false, "%s: %d (%s): %s", what, ret, strerror(-ret),
			     vni_strerror_last());
	return vt_ok(true, "%s = %d", what, ret);
}

bool vt_ok_err(int ret, int want, const char *what, ...)
{
	const char *msg = vni_strerror_last();
	const char *needle, *missing = NULL;
	va_list ap;
	bool good;

	va_start(ap, what);
	while ((needle = va_arg(ap, const char *)) != NULL) {
		if (!strstr(msg, needle) && !missing)
			missing = needle;
	}
	va_end(ap);
	good = ret == want && !missing && msg[0];
	vt_ok(good, "%s = %d (%s), want %d (%s)%s%s%s", what, ret,
	      ret < 0 ? strerror(-ret) : "success", want, strerror(-want),
	      missing ? "; message lacks \"" : "", missing ? missing : "",
	      missing ? "\"" : "");
	vt_diag("  message: \"%s\"", msg);
	return good;
}

int vt_done(void)
{
	printf("1..%d\n", vt_n);
	if (vt_nfail)
		printf("# FAILED %d of %d\n", vt_nfail, vt_n);
	else
		printf("# all %d passed\n", vt_n);
	fflush(stdout);
	return vt_nfail ? 1 : 0;
}

int vt_failures(void)
{
	return vt_nfail;
}

/* ---- pagemap ----------------------------------------------------------------- */
#define PM_PRESENT (1ull << 63)
#define PM_PFN_MASK ((1ull << 55) - 1)

int vt_pagemap_open(void)
{
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		vt_bail("cannot open /proc/self/pagemap: %s", strerror(errno));
	return fd;
}

int vt_pagemap_pa(int fd, const void *va, uint64_t *pa)
{
	uint64_t v = (uint64_t)(uintptr_t)va, e;
	ssize_t n = pread(fd, &e, sizeof(e), (off_t)((v >> 12) * 8));

	if (n < 0)
		return -errno;
	if (n != sizeof(e))
		return -EIO;
	if (!(e & PM_PRESENT) || !(e & PM_PFN_MASK))
		return -ENODATA;
	*pa = ((e & PM_PFN_MASK) << 12) | (v & 4095);
	return 0;
}

int vt_pagemap_runs(int fd, const void *va, size_t len, struct vt_run **runsp,
		    size_t *nrunsp)
{
	uint64_t start = (uint64_t)(uintptr_t)va;
	size_t npages = len / 4096, cap = 16, n = 0;
	struct vt_run *runs = malloc(cap * sizeof(*runs));
	uint64_t *ents = malloc(npages * sizeof(*ents));
	ssize_t got;

	if (!runs || !ents) {
		free(runs);
		free(ents);
		return -ENOMEM;
	}
	got = pread(fd, ents, npages * 8, (off_t)((start >> 12) * 8));
	if (got != (ssize_t)(npages * 8)) {
		int err = got < 0 ? -errno : -EIO;

		free(runs);
		free(ents);
		return err;
	}
	for (size_t i = 0; i < npages; i++) {
		uint64_t pa;

		if (!(ents[i] & PM_PRESENT) || !(ents[i] & PM_PFN_MASK)) {
			free(runs);
			free(ents);
			return -ENODATA;
		}
		pa = (ents[i] & PM_PFN_MASK) << 12;
		if (n && runs[n - 1].pa + runs[n - 1].len == pa) {
			runs[n - 1].len += 4096;
			continue;
		}
		if (n == cap) {
			struct vt_run *nr = realloc(runs, cap * 2 * sizeof(*runs));

			if (!nr) {
				free(runs);
				free(ents);
				return -ENOMEM;
			}
			runs = nr;
			cap *= 2;
		}
		runs[n].va = start + i * 4096;
		runs[n].pa = pa;
		runs[n].len = 4096;
		n++;
	}
	free(ents);
	*runsp = runs;
	*nrunsp = n;
	return 0;
}

/* ---- sysfs ------------------------------------------------------------------------ */
int vt_write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;
	int err;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	err = n < 0 ? -errno : 0;
	close(fd);
	return err;
}

int vt_read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		n--;
	buf[n] = '\0';
	return (int)n;
}

int vt_driver_of(const char *bdf, char *buf, size_t len)
{
	char path[256], target[256];
	ssize_t n;
	const char *base;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver", bdf);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0) {
		if (errno != ENOENT)
			return -errno;
		buf[0] = '\0';
		return 0;
	}
	target[n] = '\0';
	base = strrchr(target, '/');
	snprintf(buf, len, "%s", base ? base + 1 : target);
	return 0;
}

int vt_set_noiommu(bool on)
{
	return vt_write_file("/sys/module/vfio/parameters/enable_unsafe_noiommu_mode",
			     on ? "1" : "0");
}

int vt_unbind(const char *bdf)
{
	char path[256], drv[64];
	int ret = vt_driver_of(bdf, drv, sizeof(drv));

	if (ret < 0)
		return ret;
	if (drv[0]) {
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver/unbind", bdf);
		ret = vt_write_file(path, bdf);
		if (ret < 0)
			return ret;
	}
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver_override", bdf);
	return vt_write_file(path, "\n");
}

int vt_bind_vfio(const char *bdf)
{
	char path[256], drv[64];
	int ret = vt_driver_of(bdf, drv, sizeof(drv));

	if (ret < 0)
		return ret;
	if (strcmp(drv, "vfio-pci") == 0)
		return 0;
	if (drv[0]) {
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver/unbind", bdf);
		ret = vt_write_file(path, bdf);
		if (ret < 0)
			return ret;
	}
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver_override", bdf);
	ret = vt_write_file(path, "vfio-pci");
	if (ret < 0)
		return ret;
	/* A failed probe makes this write fail (with the probe's error). */
	ret = vt_write_file("/sys/bus/pci/drivers_probe", bdf);
	if (vt_driver_of(bdf, drv, sizeof(drv)) == 0 && strcmp(drv, "vfio-pci") == 0)
		return 0;
	return ret < 0 ? ret : -ENODEV;
}

int vt_vfio_dev_name(const char *bdf, char *buf, size_t len)
{
	char path[256];
	struct dirent *de;
	DIR *d;

	buf[0] = '\0';
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vfio-dev", bdf);
	d = opendir(path);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(buf, len, "%s", de->d_name);
		break;
	}
	closedir(d);
	return 0;
}

/* ---- edu -------------------------------------------------------------------------- */
uint32_t vt_edu_rd(struct vni_device *dev, uint64_t off)
{
	uint32_t v;
	int ret = vni_device_bar_read32(dev, 0, off, &v);

	if (ret < 0)
		vt_bail("edu read at %#llx: %d", (unsigned long long)off, ret);
	return v;
}

void vt_edu_wr(struct vni_device *dev, uint64_t off, uint32_t val)
{
	int ret = vni_device_bar_write32(dev, 0, off, val);

	if (ret < 0)
		vt_bail("edu write at %#llx: %d", (unsigned long long)off, ret);
}

void vt_edu_wr64(struct vni_device *dev, uint64_t off, uint64_t val)
{
	int ret = vni_device_bar_write64(dev, 0, off, val);

	if (ret < 0)
		vt_bail("edu 64-bit write at %#llx: %d", (unsigned long long)off, ret);
}

int vt_edu_dma(struct vni_device *dev, uint64_t src, uint64_t dst, uint32_t len,
	       bool to_ram, bool irq)
{
	uint64_t deadline = vt_now_ns() + 10ull * 1000000000ull;
	struct timespec ts = { 0, 2 * 1000 * 1000 };

	if (len == 0 || len > EDU_XFER_MAX)
		return -EINVAL;
	vt_edu_wr64(dev, EDU_REG_DMA_SRC, src);
	vt_edu_wr64(dev, EDU_REG_DMA_DST, dst);
	vt_edu_wr64(dev, EDU_REG_DMA_COUNT, len);
	vt_edu_wr64(dev, EDU_REG_DMA_CMD, EDU_DMA_START | (to_ram ? EDU_DMA_TO_RAM : 0) |
		    (irq ? EDU_DMA_IRQ : 0));
	while (vt_edu_rd(dev, EDU_REG_DMA_CMD) & EDU_DMA_START) {
		if (vt_now_ns() > deadline)
			return -ETIMEDOUT;
		nanosleep(&ts, NULL);
	}
	return 0;
}

int64_t vt_wait_eventfd(int efd, int timeout_ms)
{
	struct pollfd p = { .fd = efd, .events = POLLIN };
	uint64_t cnt;
	int r;

	do
		r = poll(&p, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	if (r == 0)
		return 0;
	if (read(efd, &cnt, sizeof(cnt)) != sizeof(cnt))
		return -errno;
	return (int64_t)cnt;
}

uint64_t vt_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void vt_fill_pattern(void *buf, size_t len, uint32_t seed)
{
	uint8_t *p = buf;
	uint32_t x = seed * 2654435761u + 1;

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (uint8_t)x;
	}
}

ptrdiff_t vt_memdiff(const void *a, const void *b, size_t len)
{
	const uint8_t *x = a, *y = b;

	for (size_t i = 0; i < len; i++)
		if (x[i] != y[i])
			return (ptrdiff_t)i;
	return -1;
}
