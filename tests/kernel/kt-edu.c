// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/pci_regs.h>
#include <linux/vfio.h>

#include "kt-edu.h"
#include "kt-tap.h"

#define EDU_ID 0x00
#define EDU_LIVENESS 0x04
#define EDU_DMA_SRC 0x80
#define EDU_DMA_DST 0x88
#define EDU_DMA_COUNT 0x90
#define EDU_DMA_CMD 0x98
#define EDU_DMA_START 0x1
#define EDU_DMA_TO_RAM 0x2

static uint32_t rd32(struct kt_edu *e, size_t off)
{
	return *(volatile uint32_t *)(e->bar + off);
}

static void wr32(struct kt_edu *e, size_t off, uint32_t v)
{
	*(volatile uint32_t *)(e->bar + off) = v;
}

static uint64_t rd64(struct kt_edu *e, size_t off)
{
	return *(volatile uint64_t *)(e->bar + off);
}

static void wr64(struct kt_edu *e, size_t off, uint64_t v)
{
	*(volatile uint64_t *)(e->bar + off) = v;
}

static int region_info(int devfd, uint32_t index, struct vfio_region_info *ri)
{
	memset(ri, 0, sizeof(*ri));
	ri->argsz = sizeof(*ri);
	ri->index = index;
	return ioctl(devfd, VFIO_DEVICE_GET_REGION_INFO, ri) ? -errno : 0;
}

static int enable_bus_master(int devfd)
{
	struct vfio_region_info cfg;
	uint16_t cmd;
	int ret;

	ret = region_info(devfd, VFIO_PCI_CONFIG_REGION_INDEX, &cfg);
	if (ret)
		return ret;
	if (pread(devfd, &cmd, sizeof(cmd), (off_t)(cfg.offset + PCI_COMMAND)) != sizeof(cmd))
		return -EIO;
	cmd |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	if (pwrite(devfd, &cmd, sizeof(cmd), (off_t)(cfg.offset + PCI_COMMAND)) != sizeof(cmd))
		return -EIO;
	if (pread(devfd, &cmd, sizeof(cmd), (off_t)(cfg.offset + PCI_COMMAND)) != sizeof(cmd))
		return -EIO;
	return cmd & PCI_COMMAND_MASTER ? 0 : -EIO;
}

int kt_edu_open(struct kt_edu *e, int devfd)
{
	struct vfio_region_info bar;
	void *va;
	int ret;

	memset(e, 0, sizeof(*e));
	e->devfd = devfd;
	ret = region_info(devfd, VFIO_PCI_BAR0_REGION_INDEX, &bar);
	if (ret) {
		kt_diag("edu: BAR0 region info: %s", strerror(-ret));
		return ret;
	}
	if (!(bar.flags & VFIO_REGION_INFO_FLAG_MMAP) || bar.size < 0x100) {
		kt_diag("edu: BAR0 not mappable (flags %#x size %llu)", bar.flags,
			(unsigned long long)bar.size);
		return -ENODEV;
	}
	va = mmap(NULL, bar.size, PROT_READ | PROT_WRITE, MAP_SHARED, devfd, (off_t)bar.offset);
	if (va == MAP_FAILED) {
		ret = -errno;
		kt_diag("edu: mmap BAR0: %s", strerror(-ret));
		return ret;
	}
	e->bar = va;
	e->bar_len = bar.size;
	ret = enable_bus_master(devfd);
	if (ret) {
		kt_diag("edu: enabling bus mastering: %s", strerror(-ret));
		kt_edu_close(e);
		return ret;
	}
	e->id = rd32(e, EDU_ID);
	if ((e->id & 0xff) != 0xed) {
		kt_diag("edu: identification register %#x is not 0xRRrr00ed", e->id);
		kt_edu_close(e);
		return -ENODEV;
	}
	wr32(e, EDU_LIVENESS, 0x5a5aa5a5);
	if (rd32(e, EDU_LIVENESS) != ~0x5a5aa5a5u) {
		kt_diag("edu: liveness check failed");
		kt_edu_close(e);
		return -EIO;
	}
	return 0;
}

void kt_edu_close(struct kt_edu *e)
{
	if (e->bar)
		munmap((void *)(uintptr_t)e->bar, e->bar_len);
	e->bar = NULL;
}

int kt_edu_dma(struct kt_edu *e, uint64_t src, uint64_t dst, uint64_t count, bool to_ram)
{
	struct timespec ts = { .tv_nsec = 1000 * 1000 };
	int ms;

	wr64(e, EDU_DMA_SRC, src);
	wr64(e, EDU_DMA_DST, dst);
	wr64(e, EDU_DMA_COUNT, count);
	wr64(e, EDU_DMA_CMD, EDU_DMA_START | (to_ram ? EDU_DMA_TO_RAM : 0));
	/* QEMU runs the transfer from a 100 ms timer. */
	for (ms = 0; ms < 10000; ms++) {
		if (!(rd64(e, EDU_DMA_CMD) & EDU_DMA_START))
			return 0;
		nanosleep(&ts, NULL);
	}
	return -ETIMEDOUT;
}
