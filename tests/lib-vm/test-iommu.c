// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * vni-test-iommu BACKEND: the edu device behind the guest IOMMU through the
 * IOMMU backend BACKEND ("iommufd" or "type1", forced with
 * vni_ctx_set_backend(); the automatic choice is checked too).
 *
 *   - the context uses BACKEND; the DMA addresses are IOVAs inside the
 *     allocator's space (not the physical addresses pagemap shows), a
 *     hugepage buffer's is 2 MiB aligned
 *   - DMA round trip RAM -> edu -> RAM through the IOMMU, byte for byte,
 *     with library buffers and with caller memory of 4 KiB pages
 *   - read-only: caller memory mapped with VNI_DMA_MAP_READONLY is read by
 *     the device (its data arrives in the edu buffer), but a device write
 *     into it faults in the IOMMU: the memory is unchanged; the same write
 *     into a writable buffer lands (the control)
 *   - last close and reopen: the same IOVAs, DMA works again
 *
 * Needs 0000:00:04.0 bound to vfio-pci behind the IOMMU and 2 free 2 MiB
 * hugepages.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmtest.h"

#define MiB (1024ul * 1024ul)
#define XFER 4000u

static uint64_t dma_of(struct vni_ctx *ctx, const void *p)
{
	uint64_t d;

	if (vni_dma_addr(ctx, p, &d) < 0)
		vt_bail("vni_dma_addr(%p): %s", p, vni_strerror_last());
	return d;
}

static bool round_trip(const char *name, struct vni_ctx *ctx, struct vni_device *dev,
		       void *src, void *dst, uint32_t seed)
{
	uint64_t s = dma_of(ctx, src), d = dma_of(ctx, dst);
	ptrdiff_t diff;
	int r1, r2;

	vt_fill_pattern(src, XFER, seed);
	memset(dst, 0xa5, XFER);
	r1 = vt_edu_dma(dev, s, EDU_BUF_ADDR, XFER, false, false);
	r2 = r1 ? r1 : vt_edu_dma(dev, EDU_BUF_ADDR, d, XFER, true, false);
	diff = vt_memdiff(src, dst, XFER);
	return vt_ok(r1 == 0 && r2 == 0 && diff < 0,
		     "%s: %u bytes IOVA %#llx -> edu -> IOVA %#llx: %s (rc %d/%d)", name, XFER,
		     (unsigned long long)s, (unsigned long long)d,
		     diff < 0 ? "verified" : "MISMATCH", r1, r2);
}

int main(int argc, char **argv)
{
	struct vni_ctx *ctx = NULL;
	struct vni_device *dev = NULL;
	struct vni_dma_mapping_info mi = { .struct_size = sizeof(mi) };
	int want, ret, pm;
	void *a = NULL, *b = NULL, *h = NULL;
	uint8_t *mem, *ro;
	uint64_t ro_iova, mem_iova, pa = 0, ha;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc != 2 || (strcmp(argv[1], "iommufd") && strcmp(argv[1], "type1"))) {
		fprintf(stderr, "usage: %s iommufd|type1\n", argv[0]);
		return 2;
	}
	want = strcmp(argv[1], "iommufd") == 0 ? VNI_BACKEND_IOMMUFD : VNI_BACKEND_TYPE1;

	/* the automatic choice for a device behind an IOMMU with both paths */
	ret = vni_backend_probe(EDU_BDF0);
	vt_ok(ret == VNI_BACKEND_IOMMUFD, "vni_backend_probe(" EDU_BDF0 ") = %s (%d): iommufd "
	      "preferred", vni_backend_name(ret), ret);

	if (vni_ctx_new(&ctx, 0) < 0)
		vt_bail("vni_ctx_new: %s", vni_strerror_last());
	vt_ok_call(vni_ctx_set_backend(ctx, want), "vni_ctx_set_backend");
	if (vni_device_open(ctx, EDU_BDF0, &dev) < 0)
		vt_bail("vni_device_open(" EDU_BDF0 "): %s", vni_strerror_last());
	vt_ok(vni_ctx_backend(ctx) == want, "context backend is %s",
	      vni_backend_name(vni_ctx_backend(ctx)));
	vt_ok_call(vni_device_set_bus_master(dev, true), "bus master on");

	/* library buffers */
	if (vni_dma_alloc(ctx, 4096, 0, &a) < 0 || vni_dma_alloc(ctx, 4096, 0, &b) < 0)
		vt_bail("vni_dma_alloc: %s", vni_strerror_last());
	ret = vni_dma_alloc(ctx, 2 * MiB, VNI_DMA_ALLOC_HUGE, &h);
	if (ret < 0)
		vt_bail("vni_dma_alloc 2 MiB hugepage: %s", vni_strerror_last());
	ha = dma_of(ctx, h);
	vt_ok((ha & (2 * MiB - 1)) == 0, "hugepage buffer IOVA %#llx is 2 MiB aligned",
	      (unsigned long long)ha);
	pm = vt_pagemap_open();
	if (pm >= 0 && vt_pagemap_pa(pm, a, &pa) == 0 && pa)
		vt_ok(dma_of(ctx, a) != pa, "DMA address %#llx is an IOVA, not the physical "
		      "address %#llx", (unsigned long long)dma_of(ctx, a), (unsigned long long)pa);
	round_trip("library buffers", ctx, dev, a, b, 1);
	round_trip("hugepage buffer, its last 4000 bytes", ctx, dev,
		   (uint8_t *)h + 2 * MiB - 4096, a, 2);

	/* caller memory (4 KiB pages), writable and read-only */
	mem = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ro = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED || ro == MAP_FAILED)
		vt_bail("mmap");
	memset(mem, 0, 8192);
	memset(ro, 0x3c, 8192);
	vt_ok_call(vni_dma_map(ctx, mem, 8192, 0), "vni_dma_map of 8 KiB caller memory");
	vt_ok_call(vni_dma_map(ctx, ro, 8192, VNI_DMA_MAP_READONLY),
		   "vni_dma_map of 8 KiB caller memory, VNI_DMA_MAP_READONLY");
	vt_ok(vni_dma_lookup(ctx, ro, &mi) == 0 && (mi.flags & VNI_DMA_MAPPING_READONLY),
	      "vni_dma_lookup reports the read-only mapping");
	mem_iova = dma_of(ctx, mem);
	ro_iova = dma_of(ctx, ro);
	round_trip("caller memory", ctx, dev, mem, mem + 4096, 3);
	/* the device reads the read-only memory */
	ret = vt_edu_dma(dev, ro_iova, EDU_BUF_ADDR, XFER, false, false);
	ret = ret ? ret : vt_edu_dma(dev, EDU_BUF_ADDR, mem_iova, XFER, true, false);
	{
		size_t bad = 0;

		for (size_t i = 0; i < XFER; i++)
			bad += mem[i] != 0x3c;
		vt_ok(ret == 0 && bad == 0, "the device reads the read-only buffer (IOVA %#llx): "
		      "%zu of %u bytes differ", (unsigned long long)ro_iova, bad, XFER);
	}
	/* ... and cannot write it: the edu's write faults in the IOMMU */
	vt_fill_pattern(a, XFER, 9);
	ret = vt_edu_dma(dev, dma_of(ctx, a), EDU_BUF_ADDR, XFER, false, false);
	ret = ret ? ret : vt_edu_dma(dev, EDU_BUF_ADDR, ro_iova, XFER, true, false);
	{
		size_t changed = 0;

		for (size_t i = 0; i < 8192; i++)
			changed += ro[i] != 0x3c;
		vt_ok(changed == 0, "device write into the read-only buffer (rc %d): %zu bytes "
		      "changed (the IOMMU refused it)", ret, changed);
	}
	/* control: the same transfer into the writable buffer lands */
	memset(mem, 0, 8192);
	ret = vt_edu_dma(dev, EDU_BUF_ADDR, mem_iova, XFER, true, false);
	vt_ok(ret == 0 && vt_memdiff(a, mem, XFER) < 0,
	      "control: the same device write into a writable buffer lands (rc %d)", ret);

	/* last close, reopen: the same IOVAs, DMA again */
	{
		uint64_t a_iova = dma_of(ctx, a), d;

		vni_device_set_bus_master(dev, false);
		vt_ok_call(vni_device_close(&dev), "vni_device_close (last device)");
		vt_ok_err(vni_dma_addr(ctx, a, &d), -ENODEV, "vni_dma_addr without a device",
			  (const char *)NULL);
		if (vni_device_open(ctx, EDU_BDF0, &dev) < 0)
			vt_bail("reopen: %s", vni_strerror_last());
		vt_ok_call(vni_device_set_bus_master(dev, true), "bus master on again");
		vt_ok(dma_of(ctx, a) == a_iova, "after reopen the IOVA is the same (%#llx)",
		      (unsigned long long)a_iova);
		round_trip("after reopen", ctx, dev, a, b, 4);
		memset(ro, 0x3c, 8192);
		ret = vt_edu_dma(dev, EDU_BUF_ADDR, ro_iova, XFER, true, false);
		{
			size_t changed = 0;

			for (size_t i = 0; i < 8192; i++)
				changed += ro[i] != 0x3c;
			vt_ok(changed == 0, "after reopen the buffer is still read-only "
			      "(%zu bytes changed)", changed);
		}
	}
	vni_device_set_bus_master(dev, false);
	vt_ok_call(vni_device_close(&dev), "vni_device_close");
	vt_ok_call(vni_ctx_destroy(&ctx), "vni_ctx_destroy (frees and unmaps the rest)");
	return vt_done();
}
