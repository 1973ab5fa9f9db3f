/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvfionoiommu - user space drivers for VFIO no-IOMMU PCI devices over the
 * vfio cdev and iommufd.
 *
 * Umbrella header: includes every public header.
 *
 *   common.h  errors (vni_strerror_last), logging, version
 *   reason.h  reason codes of failures a program can act on (vni_reason_last)
 *   pci.h     PCI addresses, discovery (vni_pci_scan), no-IOMMU mode check
 *   ctx.h     context = one DMA address space, its backend; threading rules; statistics
 *   device.h  open/close a device, regions, BARs, config space, IRQs, reset
 *   dma.h     DMA map/unmap/alloc/free and DMA address translation; IOVA layout
 *   pool.h    DMA pools: small objects (64 B..) carved from pinned chunks, O(1)
 *   mmio.h    ordered register access (writel/readl rules) and barriers
 *
 * Not included here: util.h, helpers for tools and command lines (log level
 * names, "VVVV:DDDD" ID filters), which drivers do not need.
 *
 * Typical use:
 *
 *   struct vni_ctx *ctx;  struct vni_device *dev;  void *buf;  uint64_t dma;
 *   if (vni_ctx_new(&ctx, 0) < 0 ||
 *       vni_device_open(ctx, "0000:00:04.0", &dev) < 0 ||
 *       vni_dma_alloc(ctx, 4096, 0, &buf) < 0 ||
 *       vni_dma_addr(ctx, buf, &dma) < 0)
 *           fprintf(stderr, "%s\n", vni_strerror_last());
 */
#ifndef VFIONOIOMMU_VFIONOIOMMU_H
#define VFIONOIOMMU_VFIONOIOMMU_H

#include <vfionoiommu/version.h>
#include <vfionoiommu/common.h>
#include <vfionoiommu/reason.h>
#include <vfionoiommu/pci.h>
#include <vfionoiommu/ctx.h>
#include <vfionoiommu/device.h>
#include <vfionoiommu/dma.h>
#include <vfionoiommu/pool.h>
#include <vfionoiommu/mmio.h>

#endif /* VFIONOIOMMU_VFIONOIOMMU_H */
