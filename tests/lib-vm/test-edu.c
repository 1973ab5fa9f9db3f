/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vni-test-edu: the edu device driven through the library.
 *
 *   - BAR0 mapped; ID and liveness registers, through the mapping and
 *     through the accessors
 *   - DMA round trip RAM -> edu -> RAM with library buffers (4 KiB and a
 *     2 MiB hugepage buffer at an offset near its end), byte for byte
 *   - MSI: factorial completion and DMA completion arrive on the eventfd;
 *     IRQ status values 0x1 / 0x100; ack clears them
 *   - INTx: raise, eventfd, ack, unmask, a second interrupt
 *   - VFIO_DEVICE_RESET: on the edu (no reset method on the pc machine:
 *     clean error, device still works) and on the NVMe controller when
 *     present (FLR: succeeds, config space restored, device answers)
 *   - two edu devices in one context, one shared buffer set: each DMAs its
 *     own pattern and reads the other's
 *
 * Needs 0000:00:04.0 and 0000:00:05.0 bound (and 0000:00:06.0 for the NVMe
 * reset check, optional), and 1 free 2 MiB hugepage (legacy backend: 8, it
 * allocates every buffer from hugepages). Runs on whichever backend the
 * context chooses (VNI_BACKEND to force one).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmtest.h"

#define MiB (1024ul * 1024ul)

static uint64_t dma_of(struct vni_ctx *ctx, const void *p)
{
	uint64_t d;

	if (vni_dma_addr(ctx, p, &d) < 0)
		vt_bail("vni_dma_addr(%p)", p);
	return d;
}

/* src -> edu buffer -> dst, len bytes. */
static bool round_trip(const char *name, struct vni_ctx *ctx, struct vni_device *dev,
		       void *src, void *dst, uint32_t len, uint32_t seed)
{
	uint64_t s = dma_of(ctx, src), d = dma_of(ctx, dst);
	ptrdiff_t diff;
	int r1, r2;

	vt_fill_pattern(src, len, seed);
	memset(dst, 0xa5, len);
	r1 = vt_edu_dma(dev, s, EDU_BUF_ADDR, len, false, false);
	r2 = r1 ? r1 : vt_edu_dma(dev, EDU_BUF_ADDR, d, len, true, false);
	diff = vt_memdiff(src, dst, len);
	return vt_ok(r1 == 0 && r2 == 0 && diff < 0,
		     "%s: %s: %u bytes %#llx -> edu 0x40000 -> %#llx: %s (rc %d/%d)", name,
		     vni_device_bdf(dev), len, (unsigned long long)s, (unsigned long long)d,
		     diff < 0 ? "verified" : "MISMATCH", r1, r2);
}

static void test_bar(struct vni_device *dev)
{
	void *bar = NULL;
	size_t len = 0;
	struct vni_region_info ri = { .struct_size = sizeof(ri) };
	uint32_t id, live;
	volatile uint32_t *regs;
	int ret;

	ret = vni_device_region_info(dev, VNI_REGION_BAR0, &ri);
	vt_ok(ret == 0 && ri.size == MiB && (ri.flags & VNI_REGION_MMAP),
	      "BAR0 region: size %#llx flags %#x", (unsigned long long)ri.size, ri.flags);
	ret = vni_device_map_bar(dev, 0, &bar, &len);
	if (!vt_ok(ret == 0 && len == MiB, "vni_device_map_bar(0) = %d, %p, %#zx", ret, bar, len))
		vt_bail("cannot map BAR0: %s", vni_strerror_last());
	regs = bar;
	id = regs[EDU_REG_ID / 4];
	vt_ok((id & 0xffff) == 0x00ed, "ID register %#010x (0xRRrr00ed)", id);
	vt_ok(vt_edu_rd(dev, EDU_REG_ID) == id, "ID via vni_device_bar_read32 agrees");
	regs[EDU_REG_LIVE / 4] = 0x12345678;
	live = regs[EDU_REG_LIVE / 4];
	vt_ok(live == ~0x12345678u, "liveness via the mapping: ~0x12345678 = %#010x", live);
	vt_edu_wr(dev, EDU_REG_LIVE, 0xcafef00d);
	live = vt_edu_rd(dev, EDU_REG_LIVE);
	vt_ok(live == ~0xcafef00du, "liveness via accessors: ~0xcafef00d = %#010x", live);
	{
		void *again = NULL;

		ret = vni_device_map_bar(dev, 0, &again, NULL);
		vt_ok(ret == 0 && again == bar, "second vni_device_map_bar returns the same mapping");
	}
	vt_ok_err(vni_device_map_bar(dev, 1, &bar, NULL), -ENOENT,
		  "vni_device_map_bar(1) (edu has no BAR1)", (const char *)NULL);
	vt_ok_err(vni_device_bar_read32(dev, 0, MiB, &id), -ERANGE,
		  "vni_device_bar_read32 past the BAR", (const char *)NULL);
}

static void wait_irq(const char *name, struct vni_device *dev, int efd, uint32_t want_status)
{
	int64_t cnt = vt_wait_eventfd(efd, 10000);
	uint32_t st = vt_edu_rd(dev, EDU_REG_IRQ_STATUS);

	vt_ok(cnt > 0, "%s: eventfd fired (count %lld)", name, (long long)cnt);
	vt_ok(st == want_status, "%s: IRQ status %#x (want %#x)", name, st, want_status);
	vt_edu_wr(dev, EDU_REG_IRQ_ACK, st);
	st = vt_edu_rd(dev, EDU_REG_IRQ_STATUS);
	vt_ok(st == 0, "%s: IRQ status %#x after ack", name, st);
}

static uint32_t factorial(uint32_t n)
{
	uint32_t f = 1;

	while (n > 1)
		f *= n--;
	return f;
}

static void test_msi(struct vni_ctx *ctx, struct vni_device *dev)
{
	struct vni_irq_info ii = { .struct_size = sizeof(ii) };
	int efd = -1, ret;
	uint32_t f;
	void *src = NULL;

	ret = vni_device_irq_info(dev, VNI_IRQ_MSI, &ii);
	vt_ok(ret == 0 && ii.count == 1 && (ii.flags & VNI_IRQ_INFO_EVENTFD),
	      "MSI info: %u vector(s), flags %#x", ii.count, ii.flags);
	ret = vni_device_irq_enable(dev, VNI_IRQ_MSI, 1, &efd);
	if (!vt_ok_call(ret, "vni_device_irq_enable(MSI, 1)"))
		return;
	{
		int other = -1;

		vt_ok_err(vni_device_irq_enable(dev, VNI_IRQ_INTX, 1, &other), -EBUSY,
			  "enabling INTx while MSI is on", (const char *)NULL);
	}

	vt_edu_wr(dev, EDU_REG_STATUS, EDU_STATUS_IRQ_FACT);
	vt_edu_wr(dev, EDU_REG_FACT, 12);
	wait_irq("MSI factorial", dev, efd, EDU_IRQ_FACT);
	f = vt_edu_rd(dev, EDU_REG_FACT);
	vt_ok(f == factorial(12), "12! = %u (want %u)", f, factorial(12));
	vt_ok(!(vt_edu_rd(dev, EDU_REG_STATUS) & EDU_STATUS_COMPUTING), "not computing any more");
	vt_edu_wr(dev, EDU_REG_STATUS, 0);

	if (vni_dma_alloc(ctx, 4096, 0, &src) < 0)
		vt_bail("vni_dma_alloc");
	vt_fill_pattern(src, 4096, 7);
	ret = vt_edu_dma(dev, dma_of(ctx, src), EDU_BUF_ADDR, EDU_XFER_MAX, false, true);
	vt_ok(ret == 0, "DMA with completion IRQ finished");
	wait_irq("MSI DMA completion", dev, efd, EDU_IRQ_DMA);

	vt_edu_wr(dev, EDU_REG_IRQ_RAISE, 0x5a000);
	wait_irq("MSI raise register", dev, efd, 0x5a000);
	vni_dma_free(ctx, src);

	vt_ok_call(vni_device_irq_disable(dev), "vni_device_irq_disable(MSI)");
	vt_ok_err(vni_device_irq_disable(dev), -ENOENT, "second vni_device_irq_disable",
		  (const char *)NULL);
}

static void test_intx(struct vni_device *dev)
{
	struct vni_irq_info ii = { .struct_size = sizeof(ii) };
	int efd = -1, ret;

	ret = vni_device_irq_info(dev, VNI_IRQ_INTX, &ii);
	if (ret < 0 || ii.count == 0) {
		vt_skip("device or kernel offers no INTx", "INTx (ret %d count %u)", ret,
			ret == 0 ? ii.count : 0);
		return;
	}
	vt_diag("INTx info: count %u flags %#x", ii.count, ii.flags);
	ret = vni_device_irq_enable(dev, VNI_IRQ_INTX, 1, &efd);
	if (!vt_ok_call(ret, "vni_device_irq_enable(INTx)"))
		return;
	for (int round = 1; round <= 2; round++) {
		char name[32];

		snprintf(name, sizeof(name), "INTx #%d", round);
		vt_edu_wr(dev, EDU_REG_IRQ_RAISE, 0x10u << round);
		wait_irq(name, dev, efd, 0x10u << round);
		vt_ok_call(vni_device_irq_unmask(dev), "vni_device_irq_unmask");
	}
	/* Factorial completion over INTx as well. */
	vt_edu_wr(dev, EDU_REG_STATUS, EDU_STATUS_IRQ_FACT);
	vt_edu_wr(dev, EDU_REG_FACT, 5);
	wait_irq("INTx factorial", dev, efd, EDU_IRQ_FACT);
	vt_ok(vt_edu_rd(dev, EDU_REG_FACT) == 120, "5! = 120");
	vt_edu_wr(dev, EDU_REG_STATUS, 0);
	vt_ok_call(vni_device_irq_unmask(dev), "vni_device_irq_unmask");
	vt_ok_call(vni_device_irq_disable(dev), "vni_device_irq_disable(INTx)");
	vt_ok_err(vni_device_irq_unmask(dev), -ENOENT, "vni_device_irq_unmask with INTx off",
		  (const char *)NULL);
}

static void test_reset_edu(struct vni_ctx *ctx, struct vni_device *dev, void *a, void *b)
{
	struct vni_device_info di = { .struct_size = sizeof(di) };
	int ret;

	if (vni_device_get_info(dev, &di) < 0)
		vt_bail("vni_device_get_info");
	ret = vni_device_reset(dev);
	if (di.vfio_flags & 1u /* VFIO_DEVICE_FLAGS_RESET */) {
		vt_ok_call(ret, "edu: vni_device_reset (VFIO says it can reset)");
	} else {
		vt_ok(ret == -EINVAL || ret == -ENOTTY,
		      "edu: no reset method (VFIO flags %#x): vni_device_reset = %d (%s) \"%s\"",
		      di.vfio_flags, ret, strerror(-ret), vni_strerror_last());
	}
	vt_edu_wr(dev, EDU_REG_LIVE, 0x0f0f0f0f);
	vt_ok(vt_edu_rd(dev, EDU_REG_LIVE) == 0xf0f0f0f0, "edu: alive after the reset call");
	vt_ok_call(vni_device_set_bus_master(dev, true), "edu: bus master on again");
	round_trip("after reset", ctx, dev, a, b, EDU_XFER_MAX, 99);
}

/*
 * NVMe (QEMU's, PCIe with FLR): VFIO_DEVICE_RESET must succeed and leave a
 * working device. QEMU 7.2's NVMe model frees its queues on FLR but keeps
 * the controller registers (AQA, ASQ), so those are shown, not asserted.
 */
static void test_reset_nvme(struct vni_ctx *ctx)
{
	struct vni_device *nv = NULL;
	struct vni_device_info di = { .struct_size = sizeof(di) };
	char drv[64], method[64] = "";
	uint32_t aqa = 0, vs0 = 0, vs1 = 0;
	uint64_t asq = 0, cap0 = 0, cap1 = 0;
	uint16_t cmd_before = 0, cmd_after = 0;
	int ret;

	if (vt_driver_of(NVME_BDF, drv, sizeof(drv)) < 0 || strcmp(drv, "vfio-pci") != 0) {
		vt_skip("no NVMe controller bound at 0000:00:06.0", "VFIO_DEVICE_RESET on NVMe");
		return;
	}
	vt_read_file("/sys/bus/pci/devices/" NVME_BDF "/reset_method", method, sizeof(method));
	ret = vni_device_open(ctx, NVME_BDF, &nv);
	if (!vt_ok_call(ret, "vni_device_open(NVMe)"))
		return;
	if (vni_device_get_info(nv, &di) < 0)
		vt_bail("vni_device_get_info");
	vt_diag("NVMe %04x:%04x class %06x, VFIO flags %#x, kernel reset_method '%s'", di.vendor,
		di.device, di.class_code, di.vfio_flags, method);
	vni_device_set_bus_master(nv, true);
	vni_device_config_read(nv, 4, &cmd_before, 2);
	vni_device_bar_read64(nv, 0, 0x00, &cap0);
	vni_device_bar_read32(nv, 0, 0x08, &vs0);
	vni_device_bar_write32(nv, 0, 0x24, 0x001f001f);
	vni_device_bar_write64(nv, 0, 0x28, 0x12345000);
	ret = vni_device_reset(nv);
	if (!(di.vfio_flags & 1u)) {
		vt_ok(ret == -EINVAL || ret == -ENOTTY, "NVMe: no reset method: %d \"%s\"", ret,
		      vni_strerror_last());
	} else if (vt_ok_call(ret, "NVMe: vni_device_reset (VFIO_DEVICE_RESET)")) {
		vni_device_config_read(nv, 4, &cmd_after, 2);
		vt_ok(cmd_after == cmd_before,
		      "NVMe: PCI command register %#06x restored by VFIO after the reset (was %#06x)",
		      cmd_after, cmd_before);
		vni_device_bar_read64(nv, 0, 0x00, &cap1);
		vni_device_bar_read32(nv, 0, 0x08, &vs1);
		vt_ok(cap1 == cap0 && vs1 == vs0 && vs1 != 0 && vs1 != 0xffffffff,
		      "NVMe: BAR0 answers after the reset: CAP %#llx VS %#x",
		      (unsigned long long)cap1, vs1);
		vni_device_bar_read32(nv, 0, 0x24, &aqa);
		vni_device_bar_read64(nv, 0, 0x28, &asq);
		vt_diag("NVMe: AQA %#x ASQ %#llx after the reset (written 0x1f001f/0x12345000 "
			"before; QEMU 7.2 keeps them over FLR)", aqa, (unsigned long long)asq);
	}
	vt_ok_call(vni_device_close(&nv), "vni_device_close(NVMe)");
}

static void test_two_devices(struct vni_ctx *ctx, struct vni_device *d0, struct vni_device *d1)
{
	void *buf = NULL;
	uint8_t *a, *b, *c, *d;
	struct vni_ctx_stats st = { .struct_size = sizeof(st) };
	ptrdiff_t x, y;
	int ret;

	if (vni_ctx_stats(ctx, &st) == 0)
		vt_ok(st.devices == 2, "context has %llu devices (want 2)",
		      (unsigned long long)st.devices);
	if (vni_ctx_backend(ctx) == VNI_BACKEND_LEGACY) {
		/* nothing pins: 4 KiB pages are refused, hugepages it is */
		vt_ok_err(vni_dma_alloc(ctx, 4 * 4096, VNI_DMA_ALLOC_SMALL, &buf), -EINVAL,
			  "legacy backend: VNI_DMA_ALLOC_SMALL refused", "hugepages",
			  (const char *)NULL);
		vt_ok(vni_reason_last() == VNI_REASON_MAY_MOVE, "reason %s",
		      vni_reason_name(vni_reason_last()));
		ret = vni_dma_alloc(ctx, 4 * 4096, 0, &buf);
	} else {
		ret = vni_dma_alloc(ctx, 4 * 4096, VNI_DMA_ALLOC_SMALL, &buf);
	}
	if (ret < 0)
		vt_bail("vni_dma_alloc 16 KiB: %s", vni_strerror_last());
	a = buf;
	b = a + 4096;
	c = b + 4096;
	d = c + 4096;
	vt_fill_pattern(a, 4096, 1001);
	vt_fill_pattern(b, 4096, 2002);
	memset(c, 0, 4096);
	memset(d, 0, 4096);
	/* each device takes its own pattern ... */
	ret = vt_edu_dma(d0, dma_of(ctx, a), EDU_BUF_ADDR, EDU_XFER_MAX, false, false);
	ret |= vt_edu_dma(d1, dma_of(ctx, b), EDU_BUF_ADDR, EDU_XFER_MAX, false, false);
	/* ... and writes it back into the other half of the shared buffer */
	ret |= vt_edu_dma(d0, EDU_BUF_ADDR, dma_of(ctx, c), EDU_XFER_MAX, true, false);
	ret |= vt_edu_dma(d1, EDU_BUF_ADDR, dma_of(ctx, d), EDU_XFER_MAX, true, false);
	x = vt_memdiff(a, c, EDU_XFER_MAX);
	y = vt_memdiff(b, d, EDU_XFER_MAX);
	vt_ok(ret == 0 && x < 0 && y < 0,
	      "two devices, one context: %s a->c %s, %s b->d %s", vni_device_bdf(d0),
	      x < 0 ? "verified" : "MISMATCH", vni_device_bdf(d1), y < 0 ? "verified" : "MISMATCH");
	/* device 1 reads what device 0 wrote */
	memset(a, 0, 4096);
	ret = vt_edu_dma(d1, dma_of(ctx, c), EDU_BUF_ADDR, EDU_XFER_MAX, false, false);
	ret |= vt_edu_dma(d1, EDU_BUF_ADDR, dma_of(ctx, a), EDU_XFER_MAX, true, false);
	x = vt_memdiff(a, c, EDU_XFER_MAX);
	vt_ok(ret == 0 && x < 0, "%s reads back what %s wrote: %s", vni_device_bdf(d1),
	      vni_device_bdf(d0), x < 0 ? "verified" : "MISMATCH");
	vni_dma_free(ctx, buf);
}

int main(int argc, char **argv)
{
	struct vni_ctx *ctx = NULL;
	struct vni_device *d0 = NULL, *d1 = NULL;
	void *a = NULL, *b = NULL, *h = NULL;
	int ret;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 2) {
		fprintf(stderr, "usage: %s [expected backend]\n", argv[0]);
		return 2;
	}
	if (vni_ctx_new(&ctx, 0) < 0)
		vt_bail("vni_ctx_new");
	if (vni_device_open(ctx, EDU_BDF0, &d0) < 0)
		vt_bail("vni_device_open(%s)", EDU_BDF0);
	vt_diag("backend %s", vni_backend_name(vni_ctx_backend(ctx)));
	if (argc == 2)
		vt_ok(strcmp(vni_backend_name(vni_ctx_backend(ctx)), argv[1]) == 0,
		      "the context uses the %s backend (%s)", argv[1],
		      vni_backend_name(vni_ctx_backend(ctx)));
	vt_ok_err(vni_device_open(ctx, EDU_BDF0, &d1), -EBUSY,
		  "opening the same device twice in one context", (const char *)NULL);
	d1 = NULL;
	test_bar(d0);
	vt_ok_call(vni_device_set_bus_master(d0, true), "vni_device_set_bus_master(on)");
	{
		uint16_t cmd = 0;

		vni_device_config_read(d0, 4, &cmd, 2);
		vt_ok((cmd & 0x6) == 0x6, "PCI command register %#06x has memory+master", cmd);
	}

	if (vni_dma_alloc(ctx, 4096, 0, &a) < 0 || vni_dma_alloc(ctx, 4096, 0, &b) < 0)
		vt_bail("vni_dma_alloc");
	round_trip("4 KiB buffers", ctx, d0, a, b, EDU_XFER_MAX, 1);
	round_trip("100 bytes", ctx, d0, a, b, 100, 2);
	ret = vni_dma_alloc(ctx, 2 * MiB, VNI_DMA_ALLOC_HUGE, &h);
	if (ret == 0) {
		uint8_t *hp = h;

		round_trip("hugepage buffer start -> end", ctx, d0, hp, hp + 2 * MiB - 4096,
			   EDU_XFER_MAX, 3);
		round_trip("hugepage buffer, odd offsets", ctx, d0, hp + 12345, hp + MiB + 777, 3000, 4);
		vni_dma_free(ctx, h);
	} else {
		vt_skip("no hugepage", "DMA with a hugepage buffer: %s", vni_strerror_last());
	}

	test_msi(ctx, d0);
	test_intx(d0);
	test_reset_edu(ctx, d0, a, b);
	test_reset_nvme(ctx);

	ret = vni_device_open(ctx, EDU_BDF1, &d1);
	if (vt_ok_call(ret, "vni_device_open(second edu)")) {
		vni_device_set_bus_master(d1, true);
		test_two_devices(ctx, d0, d1);
		vt_ok_call(vni_device_close(&d1), "vni_device_close(second edu)");
	}
	vt_ok_call(vni_device_close(&d0), "vni_device_close");
	vt_ok_err(vni_device_close(&d0), -EBADF, "second vni_device_close", (const char *)NULL);
	vt_ok_call(vni_ctx_destroy(&ctx), "vni_ctx_destroy");
	return vt_done();
}
