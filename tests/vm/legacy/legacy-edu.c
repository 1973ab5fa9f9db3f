// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * vni-legacy-edu: guest test of the legacy no-IOMMU group path, no library.
 *
 * Enables no-IOMMU mode, binds the first edu device (1234:11e8, expected at
 * 0000:00:04.0) to vfio-pci through driver_override, opens it through the
 * container + /dev/vfio/noiommu-N group, maps BAR0, checks the edu
 * identification and liveness registers, enables bus mastering and does a
 * DMA round trip RAM -> device buffer (0x40000) -> RAM at physical
 * addresses read from /proc/self/pagemap. Prints TAP.
 *
 * Built against the system's UAPI headers: the legacy group API is old.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/pci_regs.h>
#include <linux/vfio.h>

#define EDU_VENDOR 0x1234
#define EDU_DEVICE 0x11e8
#define EDU_REG_ID 0x00
#define EDU_REG_LIVENESS 0x04
#define EDU_REG_DMA_SRC 0x80
#define EDU_REG_DMA_DST 0x88
#define EDU_REG_DMA_COUNT 0x90
#define EDU_REG_DMA_CMD 0x98
#define EDU_DMA_START 0x1
#define EDU_DMA_FROM_DEV 0x2
#define EDU_DMA_BUF 0x40000
#define EDU_DMA_BUF_SIZE 4096
/*
 * QEMU 7.2's edu rejects a transfer that ends exactly at the end of its
 * buffer (off-by-one in edu_check_range: "hardware error: EDU: DMA range
 * ... out of bounds", which aborts QEMU), so stay one byte short.
 */
#define EDU_DMA_XFER (EDU_DMA_BUF_SIZE - 1)

#define NTESTS 9

static int test_no;
static int failures;

static void tap(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tap(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d - ", ok ? "" : "not ", ++test_no);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!ok)
		failures++;
}

static void diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static int bail(const char *what)
{
	printf("Bail out! %s\n", what);
	fflush(stdout);
	return 1;
}

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;
	int err;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	err = n < 0 ? -errno : 0;
	close(fd);
	return err;
}

static long read_hex_file(const char *path)
{
	char buf[32] = {0};
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	return strtol(buf, NULL, 16);
}

/* First edu device in BDF order. */
static bool find_edu(char *bdf, size_t len)
{
	struct dirent **list;
	bool found = false;
	int n = scandir("/sys/bus/pci/devices", &list, NULL, alphasort);

	if (n < 0)
		return false;
	for (int i = 0; i < n; i++) {
		char path[512];

		if (!found && list[i]->d_name[0] != '.') {
			snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vendor", list[i]->d_name);
			long v = read_hex_file(path);
			snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/device", list[i]->d_name);
			long d = read_hex_file(path);
			if (v == EDU_VENDOR && d == EDU_DEVICE) {
				snprintf(bdf, len, "%s", list[i]->d_name);
				found = true;
			}
		}
		free(list[i]);
	}
	free(list);
	return found;
}

static int bind_vfio(const char *bdf)
{
	char path[512], link[512];
	ssize_t n;
	int err;

	err = write_file("/sys/module/vfio/parameters/enable_unsafe_noiommu_mode", "1");
	if (err)
		return err;
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver", bdf);
	n = readlink(path, link, sizeof(link) - 1);
	if (n > 0) {
		link[n] = 0;
		if (strstr(link, "/vfio-pci"))
			return 0;
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver/unbind", bdf);
		err = write_file(path, bdf);
		if (err)
			return err;
	}
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver_override", bdf);
	err = write_file(path, "vfio-pci");
	if (err)
		return err;
	return write_file("/sys/bus/pci/drivers_probe", bdf);
}

static int group_number(const char *bdf)
{
	char path[512], link[512];
	ssize_t n;
	const char *base;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", bdf);
	n = readlink(path, link, sizeof(link) - 1);
	if (n <= 0)
		return -1;
	link[n] = 0;
	base = strrchr(link, '/');
	return base ? atoi(base + 1) : -1;
}

/* Physical address of the byte at va, from /proc/self/pagemap; 0 if none. */
static uint64_t virt_to_phys(const void *va)
{
	long psz = sysconf(_SC_PAGESIZE);
	uint64_t entry = 0;
	uintptr_t v = (uintptr_t)va;
	int fd = open("/proc/self/pagemap", O_RDONLY);

	if (fd < 0)
		return 0;
	if (pread(fd, &entry, sizeof(entry), (off_t)(v / (uintptr_t)psz * sizeof(entry))) !=
	    (ssize_t)sizeof(entry))
		entry = 0;
	close(fd);
	if (!(entry & (1ULL << 63)))
		return 0;
	entry &= (1ULL << 55) - 1;
	return entry * (uint64_t)psz + (v % (uintptr_t)psz);
}

static uint32_t rd32(volatile uint8_t *bar, unsigned int off)
{
	return *(volatile uint32_t *)(void *)(bar + off);
}

static void wr32(volatile uint8_t *bar, unsigned int off, uint32_t val)
{
	*(volatile uint32_t *)(void *)(bar + off) = val;
}

static void wr64(volatile uint8_t *bar, unsigned int off, uint64_t val)
{
	*(volatile uint64_t *)(void *)(bar + off) = val;
}

static bool dma(volatile uint8_t *bar, uint64_t src, uint64_t dst, uint32_t cmd)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = 1000000 };

	wr64(bar, EDU_REG_DMA_SRC, src);
	wr64(bar, EDU_REG_DMA_DST, dst);
	wr32(bar, EDU_REG_DMA_COUNT, EDU_DMA_XFER);
	wr32(bar, EDU_REG_DMA_CMD, cmd | EDU_DMA_START);
	for (int i = 0; i < 5000; i++) {
		if (!(rd32(bar, EDU_REG_DMA_CMD) & EDU_DMA_START))
			return true;
		nanosleep(&ts, NULL);
	}
	return false;
}

int main(void)
{
	struct vfio_group_status gstatus = { .argsz = sizeof(gstatus) };
	struct vfio_device_info dinfo = { .argsz = sizeof(dinfo) };
	struct vfio_region_info bar0 = { .argsz = sizeof(bar0), .index = VFIO_PCI_BAR0_REGION_INDEX };
	struct vfio_region_info cfg = { .argsz = sizeof(cfg), .index = VFIO_PCI_CONFIG_REGION_INDEX };
	char bdf[256], gpath[64];
	int container, group, device, gnum, err;
	volatile uint8_t *bar;
	uint8_t *src, *dst;
	uint64_t src_pa, dst_pa;
	uint32_t id, x;
	uint16_t command;
	long psz = sysconf(_SC_PAGESIZE);

	printf("TAP version 13\n1..%d\n", NTESTS);
	fflush(stdout);

	if (!find_edu(bdf, sizeof(bdf)))
		return bail("no edu device (1234:11e8) in /sys/bus/pci/devices");
	tap(strcmp(bdf, "0000:00:04.0") == 0, "first edu device at %s (expected 0000:00:04.0)", bdf);

	err = bind_vfio(bdf);
	if (err) {
		diag("binding %s to vfio-pci: %s", bdf, strerror(-err));
		return bail("cannot bind the edu device to vfio-pci");
	}
	gnum = group_number(bdf);
	snprintf(gpath, sizeof(gpath), "/dev/vfio/noiommu-%d", gnum);
	tap(gnum >= 0 && access(gpath, F_OK) == 0, "bound to vfio-pci, group node %s", gpath);

	container = open("/dev/vfio/vfio", O_RDWR);
	if (container < 0)
		return bail("open /dev/vfio/vfio");
	tap(ioctl(container, VFIO_GET_API_VERSION) == VFIO_API_VERSION &&
	    ioctl(container, VFIO_CHECK_EXTENSION, VFIO_NOIOMMU_IOMMU) == 1,
	    "container API version %d, VFIO_NOIOMMU_IOMMU supported", VFIO_API_VERSION);

	group = open(gpath, O_RDWR);
	if (group < 0) {
		diag("open %s: %s", gpath, strerror(errno));
		return bail("cannot open the noiommu group");
	}
	if (ioctl(group, VFIO_GROUP_GET_STATUS, &gstatus) ||
	    !(gstatus.flags & VFIO_GROUP_FLAGS_VIABLE))
		return bail("group not viable");
	if (ioctl(group, VFIO_GROUP_SET_CONTAINER, &container))
		return bail("VFIO_GROUP_SET_CONTAINER");
	if (ioctl(container, VFIO_SET_IOMMU, VFIO_NOIOMMU_IOMMU))
		return bail("VFIO_SET_IOMMU(VFIO_NOIOMMU_IOMMU)");
	device = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, bdf);
	if (device < 0) {
		diag("VFIO_GROUP_GET_DEVICE_FD: %s", strerror(errno));
		return bail("cannot get the device fd");
	}
	err = ioctl(device, VFIO_DEVICE_GET_INFO, &dinfo);
	tap(err == 0 && (dinfo.flags & VFIO_DEVICE_FLAGS_PCI) &&
	    dinfo.num_regions > VFIO_PCI_CONFIG_REGION_INDEX,
	    "device fd through the group: PCI, %u regions, %u irqs", dinfo.num_regions,
	    dinfo.num_irqs);

	if (ioctl(device, VFIO_DEVICE_GET_REGION_INFO, &bar0) ||
	    ioctl(device, VFIO_DEVICE_GET_REGION_INFO, &cfg))
		return bail("VFIO_DEVICE_GET_REGION_INFO");
	if (!(bar0.flags & VFIO_REGION_INFO_FLAG_MMAP) || bar0.size < 0x100)
		return bail("BAR0 not mmap-able");
	bar = mmap(NULL, bar0.size, PROT_READ | PROT_WRITE, MAP_SHARED, device, (off_t)bar0.offset);
	if (bar == MAP_FAILED)
		return bail("mmap BAR0");

	id = rd32(bar, EDU_REG_ID);
	tap((id & 0xffff) == 0x00ed, "identification register 0x%08" PRIx32 " (major %" PRIu32
	    ", minor %" PRIu32 ")", id, id >> 24, (id >> 16) & 0xff);

	x = 0x5a5aa5a5u ^ (uint32_t)time(NULL);
	wr32(bar, EDU_REG_LIVENESS, x);
	uint32_t live = rd32(bar, EDU_REG_LIVENESS);
	tap(live == ~x, "liveness register: wrote 0x%08" PRIx32 ", read 0x%08" PRIx32, x, live);

	if (pread(device, &command, sizeof(command), (off_t)(cfg.offset + PCI_COMMAND)) !=
	    (ssize_t)sizeof(command))
		return bail("read PCI_COMMAND");
	command |= PCI_COMMAND_MASTER | PCI_COMMAND_MEMORY;
	if (pwrite(device, &command, sizeof(command), (off_t)(cfg.offset + PCI_COMMAND)) !=
	    (ssize_t)sizeof(command))
		return bail("write PCI_COMMAND");
	command = 0;
	ssize_t got = pread(device, &command, sizeof(command), (off_t)(cfg.offset + PCI_COMMAND));
	tap(got == (ssize_t)sizeof(command) && (command & PCI_COMMAND_MASTER),
	    "bus master enabled (PCI_COMMAND 0x%04x)", command);

	src = mmap(NULL, (size_t)psz * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (src == MAP_FAILED)
		return bail("mmap buffers");
	dst = src + psz;
	for (int i = 0; i < EDU_DMA_XFER; i++)
		src[i] = (uint8_t)(i * 7 + 13);
	memset(dst, 0, EDU_DMA_BUF_SIZE);
	if (mlock(src, (size_t)psz * 2))
		return bail("mlock");
	src_pa = virt_to_phys(src);
	dst_pa = virt_to_phys(dst);
	tap(src_pa != 0 && dst_pa != 0, "pagemap: src PA 0x%" PRIx64 ", dst PA 0x%" PRIx64,
	    src_pa, dst_pa);
	if (!src_pa || !dst_pa)
		return bail("no physical addresses (not root?)");

	bool ok1 = dma(bar, src_pa, EDU_DMA_BUF, 0);
	bool ok2 = ok1 && dma(bar, EDU_DMA_BUF, dst_pa, EDU_DMA_FROM_DEV);
	int first_bad = -1;

	for (int i = 0; i < EDU_DMA_XFER && first_bad < 0; i++)
		if (dst[i] != src[i])
			first_bad = i;
	if (first_bad >= 0)
		diag("first mismatch at byte %d: 0x%02x != 0x%02x", first_bad, dst[first_bad],
		     src[first_bad]);
	tap(ok1 && ok2 && first_bad < 0, "DMA RAM -> device 0x%x -> RAM, %d bytes intact",
	    EDU_DMA_BUF, EDU_DMA_XFER);

	munmap(src, (size_t)psz * 2);
	munmap((void *)(uintptr_t)bar, bar0.size);
	close(device);
	close(group);
	close(container);
	diag("%d of %d failed", failures, test_no);
	return failures || test_no != NTESTS ? 1 : 0;
}
