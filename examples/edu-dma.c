/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * edu-dma: drive QEMU's "edu" device from user space with libvfionoiommu.
 *
 *   edu-dma [BDF]
 *
 * Finds the edu device (PCI 1234:11e8) by discovery (or takes BDF), opens it
 * through whichever backend the kernel offers (no-IOMMU cdev, legacy
 * no-IOMMU group, or, behind an IOMMU, iommufd or the type1 container;
 * VNI_BACKEND=name forces one), maps BAR0, checks the ID register, DMAs a
 * pattern from a library-allocated buffer into the device and back into a
 * second buffer, verifies it byte for byte, then has the device compute a
 * factorial and takes the completion as an MSI on an eventfd.
 *
 * The device must be bound to vfio-pci (without an IOMMU: with no-IOMMU mode
 * on), e.g.
 *
 *   echo 1 > /sys/module/vfio/parameters/enable_unsafe_noiommu_mode
 *   echo vfio-pci > /sys/bus/pci/devices/0000:00:04.0/driver_override
 *   echo 0000:00:04.0 > /sys/bus/pci/drivers_probe
 *
 * (in the test VM: `vni-vm-bind 0000:00:04.0`), and without an IOMMU it must
 * run with CAP_SYS_RAWIO (legacy backend: also CAP_SYS_ADMIN, and free 2 MiB
 * hugepages). Uses the public API only. The edu register map is in QEMU's
 * docs/specs/edu.txt.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <vfionoiommu/vfionoiommu.h>

#define EDU_VENDOR 0x1234
#define EDU_DEVICE 0x11e8

/* edu BAR0 registers */
#define EDU_ID 0x00          /* 0xRRrr00ed */
#define EDU_LIVENESS 0x04    /* reads back ~value */
#define EDU_FACTORIAL 0x08   /* write n, read n! */
#define EDU_STATUS 0x20      /* 0x01 computing, 0x80 raise irq when done */
#define EDU_IRQ_STATUS 0x24
#define EDU_IRQ_ACK 0x64
#define EDU_DMA_SRC 0x80
#define EDU_DMA_DST 0x88
#define EDU_DMA_COUNT 0x90
#define EDU_DMA_CMD 0x98     /* 0x01 start, 0x02 edu -> RAM, 0x04 irq */
#define EDU_DMA_BUF 0x40000  /* the device's 4 KiB buffer, device address */

#define STATUS_COMPUTING 0x01
#define STATUS_IRQ_FACT 0x80
#define DMA_START 0x01
#define DMA_TO_RAM 0x02

/* Bytes per transfer: the edu buffer is 4 KiB, but QEMU 7.2's edu rejects a
 * transfer that ends exactly at its end (an off-by-one, fixed in later QEMU),
 * so 4095 is the most that works everywhere. */
#define XFER 4095
#define FACT_N 10

static const char *prog = "edu-dma";

/* The library's message says what went wrong and, where it can, what to do. */
static int fail(const char *what, int err)
{
	fprintf(stderr, "%s: %s failed (%d): %s\n", prog, what, err, vni_strerror_last());
	return 1;
}

/* MMIO through the mapped BAR: 32-bit for registers below 0x80, 64-bit above. */
static inline uint32_t rd32(volatile uint8_t *bar, size_t off)
{
	return *(volatile uint32_t *)(volatile void *)(bar + off);
}

static inline void wr32(volatile uint8_t *bar, size_t off, uint32_t v)
{
	*(volatile uint32_t *)(volatile void *)(bar + off) = v;
}

static inline void wr64(volatile uint8_t *bar, size_t off, uint64_t v)
{
	*(volatile uint64_t *)(volatile void *)(bar + off) = v;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Program one transfer and wait for the start bit to clear (edu runs its DMA
 * engine from a timer, ~100 ms after the command). */
static int edu_dma(volatile uint8_t *bar, uint64_t src, uint64_t dst, uint32_t len,
		   uint32_t cmd)
{
	const struct timespec pause = { 0, 1000000 };
	double deadline = now_s() + 10.0;

	wr64(bar, EDU_DMA_SRC, src);
	wr64(bar, EDU_DMA_DST, dst);
	wr64(bar, EDU_DMA_COUNT, len);
	wr64(bar, EDU_DMA_CMD, cmd | DMA_START);
	while (rd32(bar, EDU_DMA_CMD) & DMA_START) {
		if (now_s() > deadline)
			return -ETIMEDOUT;
		nanosleep(&pause, NULL);
	}
	return 0;
}

/* Pick the edu device: BDF from the command line, else the first edu that is
 * bound to vfio-pci, else the first edu at all (the open then says what to do). */
static int find_edu(const char *want, char *bdf, size_t len)
{
	struct vni_pci_filter filter;
	struct vni_pci_dev_info *list = NULL;
	size_t n = 0, pick = 0;
	int ret;

	memset(&filter, 0, sizeof(filter));
	filter.flags = VNI_PCI_MATCH_VENDOR | VNI_PCI_MATCH_DEVICE;
	filter.vendor = EDU_VENDOR;
	filter.device = EDU_DEVICE;
	if (want) {
		filter.flags |= VNI_PCI_MATCH_ADDR;
		ret = vni_pci_addr_parse(want, &filter.addr);
		if (ret < 0)
			return fail("parsing the PCI address", ret);
	}
	ret = vni_pci_scan(&filter, &list, &n);
	if (ret < 0)
		return fail("PCI discovery", ret);
	if (n == 0) {
		fprintf(stderr, "%s: no edu device (PCI %04x:%04x)%s%s found; start QEMU with "
			"-device edu,dma_mask=0xffffffffffffffff\n", prog, EDU_VENDOR, EDU_DEVICE,
			want ? " at " : "", want ? want : "");
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		printf("%s: found edu %04x:%04x class %06x at %s (driver %s, cdev %s)\n", prog,
		       list[i].vendor, list[i].device, list[i].class_code, list[i].bdf,
		       list[i].driver[0] ? list[i].driver : "none",
		       list[i].has_cdev ? list[i].cdev_path : "none");
	}
	for (size_t i = 0; i < n; i++) {
		if (strcmp(list[i].driver, "vfio-pci") == 0 && list[i].has_cdev) {
			pick = i;
			break;
		}
	}
	snprintf(bdf, len, "%s", list[pick].bdf);
	vni_pci_list_free(list);
	return 0;
}

int main(int argc, char **argv)
{
	struct vni_ctx *ctx = NULL;
	struct vni_device *dev = NULL;
	struct vni_device_info info = { .struct_size = sizeof(info) };
	struct vni_irq_info irq = { .struct_size = sizeof(irq) };
	char bdf[VNI_PCI_ADDR_STRLEN];
	volatile uint8_t *bar;
	void *barp = NULL, *src = NULL, *dst = NULL;
	size_t bar_len = 0;
	uint64_t src_dma, dst_dma, count;
	uint32_t id, v, fact, want_fact = 1, irq_status;
	struct pollfd pfd;
	int efd = -1, ret, rc = 1;

	if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
		fprintf(stderr, "usage: %s [BDF]\n", prog);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("%s: libvfionoiommu %s\n", prog, vni_version());

	if (find_edu(argc == 2 ? argv[1] : NULL, bdf, sizeof(bdf)))
		return 1;

	/* A context, and the device in it (the device chooses the backend). */
	ret = vni_ctx_new(&ctx, 0);
	if (ret < 0)
		return fail("creating the context", ret);
	ret = vni_device_open(ctx, bdf, &dev);
	if (ret < 0) {
		fail("opening the device", ret);
		goto out;
	}
	ret = vni_device_get_info(dev, &info);
	if (ret < 0) {
		fail("vni_device_get_info", ret);
		goto out;
	}
	printf("%s: opened %s through %s, backend %s\n", prog, vni_device_bdf(dev),
	       info.cdev_path, vni_backend_name(vni_ctx_backend(ctx)));

	/* BAR0: ID and liveness. */
	ret = vni_device_map_bar(dev, 0, &barp, &bar_len);
	if (ret < 0) {
		fail("mapping BAR0", ret);
		goto out;
	}
	bar = barp;
	id = rd32(bar, EDU_ID);
	if ((id & 0xffff) != 0x00ed) {
		fprintf(stderr, "%s: ID register reads %#010x, not an edu device (0xRRrr00ed)\n",
			prog, id);
		goto out;
	}
	wr32(bar, EDU_LIVENESS, 0x5a5aa5a5);
	v = rd32(bar, EDU_LIVENESS);
	if (v != ~0x5a5aa5a5u) {
		fprintf(stderr, "%s: liveness check failed: wrote 0x5a5aa5a5, read %#010x\n", prog, v);
		goto out;
	}
	printf("%s: BAR0 mapped (%zu KiB), ID %#010x (edu v%u.%u), liveness ok\n", prog,
	       bar_len / 1024, id, id >> 24, (id >> 16) & 0xff);

	/* The device may only master the bus once we allow it. */
	ret = vni_device_set_bus_master(dev, true);
	if (ret < 0) {
		fail("enabling bus mastering", ret);
		goto out;
	}

	/* Two DMA buffers: they stay put, their DMA addresses known. */
	ret = vni_dma_alloc(ctx, XFER, 0, &src);
	if (ret < 0) {
		fail("allocating the source buffer", ret);
		goto out;
	}
	ret = vni_dma_alloc(ctx, XFER, 0, &dst);
	if (ret < 0) {
		fail("allocating the destination buffer", ret);
		goto out;
	}
	ret = vni_dma_addr(ctx, src, &src_dma);
	if (ret == 0)
		ret = vni_dma_addr(ctx, dst, &dst_dma);
	if (ret < 0) {
		fail("translating the buffers", ret);
		goto out;
	}
	/* Without an IOMMU the DMA address is physical; behind one it is the
	 * IOVA the library chose. */
	printf("%s: src buffer: %p -> DMA address %#" PRIx64 ", %d bytes\n", prog, src,
	       src_dma, XFER);
	printf("%s: dst buffer: %p -> DMA address %#" PRIx64 ", %d bytes\n", prog, dst,
	       dst_dma, XFER);

	for (size_t i = 0; i < XFER; i++)
		((uint8_t *)src)[i] = (uint8_t)(i * 7 + (i >> 8) + 0x31);
	memset(dst, 0, XFER);

	ret = edu_dma(bar, src_dma, EDU_DMA_BUF, XFER, 0);
	if (ret < 0) {
		fprintf(stderr, "%s: DMA RAM -> device timed out\n", prog);
		goto out;
	}
	printf("%s: DMA RAM %#" PRIx64 " -> edu %#x: %d bytes done\n", prog, src_dma,
	       EDU_DMA_BUF, XFER);
	ret = edu_dma(bar, EDU_DMA_BUF, dst_dma, XFER, DMA_TO_RAM);
	if (ret < 0) {
		fprintf(stderr, "%s: DMA device -> RAM timed out\n", prog);
		goto out;
	}
	printf("%s: DMA edu %#x -> RAM %#" PRIx64 ": %d bytes done\n", prog, EDU_DMA_BUF,
	       dst_dma, XFER);
	for (size_t i = 0; i < XFER; i++) {
		if (((uint8_t *)src)[i] != ((uint8_t *)dst)[i]) {
			fprintf(stderr, "%s: data mismatch at byte %zu: wrote %#x, got %#x\n", prog,
				i, ((uint8_t *)src)[i], ((uint8_t *)dst)[i]);
			goto out;
		}
	}
	printf("%s: %d bytes verified byte for byte\n", prog, XFER);

	/* Factorial, completion signalled by MSI on an eventfd. */
	ret = vni_device_irq_info(dev, VNI_IRQ_MSI, &irq);
	if (ret < 0) {
		fail("vni_device_irq_info(MSI)", ret);
		goto out;
	}
	ret = vni_device_irq_enable(dev, VNI_IRQ_MSI, 1, &efd);
	if (ret < 0) {
		fail("enabling MSI", ret);
		goto out;
	}
	printf("%s: MSI enabled (%u vector(s) available), eventfd %d\n", prog, irq.count, efd);
	wr32(bar, EDU_STATUS, STATUS_IRQ_FACT);
	wr32(bar, EDU_FACTORIAL, FACT_N);
	pfd.fd = efd;
	pfd.events = POLLIN;
	do
		ret = poll(&pfd, 1, 10000);
	while (ret < 0 && errno == EINTR);
	if (ret <= 0) {
		fprintf(stderr, "%s: no MSI within 10 s after starting factorial(%d)%s%s\n", prog,
			FACT_N, ret < 0 ? ": " : "", ret < 0 ? strerror(errno) : "");
		goto out;
	}
	if (read(efd, &count, sizeof(count)) != sizeof(count)) {
		fprintf(stderr, "%s: reading the eventfd: %s\n", prog, strerror(errno));
		goto out;
	}
	irq_status = rd32(bar, EDU_IRQ_STATUS);
	wr32(bar, EDU_IRQ_ACK, irq_status);
	fact = rd32(bar, EDU_FACTORIAL);
	for (uint32_t k = 2; k <= FACT_N; k++)
		want_fact *= k;
	printf("%s: MSI arrived (eventfd count %" PRIu64 ", irq status %#x, acknowledged)\n",
	       prog, count, irq_status);
	if ((irq_status & 0x1) == 0 || fact != want_fact ||
	    (rd32(bar, EDU_STATUS) & STATUS_COMPUTING)) {
		fprintf(stderr, "%s: factorial(%d): device says %u with irq status %#x, "
			"expected %u and 0x1\n", prog, FACT_N, fact, irq_status, want_fact);
		goto out;
	}
	printf("%s: factorial(%d) = %u\n", prog, FACT_N, fact);
	wr32(bar, EDU_STATUS, 0);
	rc = 0;
	printf("%s: OK: %s, %d bytes RAM -> device -> RAM verified, factorial by MSI\n", prog,
	       bdf, XFER);

out:
	/* Closing the device disables the IRQ, unmaps BAR0; the context frees
	 * the buffers. Both also happen at exit; shown here for completeness. */
	if (dev) {
		vni_device_set_bus_master(dev, false);
		vni_device_close(&dev);
	}
	if (ctx) {
		ret = vni_ctx_destroy(&ctx);
		if (ret < 0 && rc == 0)
			rc = fail("destroying the context", ret);
	}
	return rc;
}
