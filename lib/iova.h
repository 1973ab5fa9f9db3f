/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvfionoiommu - IOVA allocator for the IOMMU backends (not installed).
 *
 * A sorted array of free ranges, coalesced: allocation is first fit (a
 * linear scan of the free ranges, which stay few: one per hole left by a
 * free that did not coalesce, plus one per usable kernel range), freeing
 * finds its place by binary search and merges with both neighbours. The
 * array never needs to grow on free: vnip_iova_alloc() reserves the slot
 * its later free may need, so vnip_iova_free() cannot fail for a range the
 * allocator handed out.
 *
 * Addresses are below 2^dma_bits (the device's DMA mask), inside the ranges
 * the kernel reports, never 0 (the first page is kept out so that a DMA
 * address of 0 is always a bug). Allocations of 2 MiB or more are 2 MiB
 * aligned (or, with vnip_iova_alloc_phase(), at the caller's offset in a
 * 2 MiB block), so that a 2 MiB page of memory can be mapped as one 2 MiB
 * IOMMU page; smaller ones are 4 KiB aligned. Not thread-safe: the caller holds
 * the context mutex.
 */
#ifndef VNI_IOVA_H
#define VNI_IOVA_H

#include <stddef.h>
#include <stdint.h>

/* An inclusive range, as IOMMU_IOAS_IOVA_RANGES and the type1 IOVA-range
 * capability report them. */
struct vnip_iova_range {
	uint64_t start, last;
};

struct vnip_iova {
	struct vnip_iova_range *free; /* sorted, disjoint, not adjacent */
	struct vnip_iova_range *ranges; /* the usable ranges at init, sorted */
	size_t nfree, cap;
	size_t nalloc;                /* outstanding allocations */
	size_t nranges;               /* usable kernel ranges at init */
	uint64_t total;               /* free bytes */
};

/* Start from the kernel's ranges (any order, may overlap), clipped to
 * [4 KiB, 2^dma_bits) and to whole 4 KiB pages. dma_bits in 12..64.
 * Returns 0, -EINVAL (bad dma_bits), -ENOSPC (nothing usable), -ENOMEM.
 * No message. */
int vnip_iova_init(struct vnip_iova *a, const struct vnip_iova_range *ranges,
		   size_t n, unsigned int dma_bits);
void vnip_iova_fini(struct vnip_iova *a);
/* Allocate len bytes (4 KiB multiple, > 0). Returns 0 and *iova, -EINVAL,
 * -ENOSPC (no hole large enough) or -ENOMEM. No message. */
int vnip_iova_alloc(struct vnip_iova *a, uint64_t len, uint64_t *iova);
/* The same with iova % 2 MiB == phase (a 4 KiB multiple below 2 MiB) for
 * 2 MiB or more: the IOVA keeps the virtual address's offset in its 2 MiB
 * block, so that whole blocks stay whole (2 MiB table leaves, 2 MiB IOMMU
 * pages for hugepages). */
int vnip_iova_alloc_phase(struct vnip_iova *a, uint64_t len, uint64_t phase, uint64_t *iova);
/* Take the given [iova, iova+len) (4 KiB aligned), as if allocated: for
 * rebuilding the allocator from new ranges around the IOVAs in use.
 * Returns 0, -EINVAL (not aligned, or not all free: outside the ranges or
 * taken) or -ENOMEM. No message. */
int vnip_iova_reserve(struct vnip_iova *a, uint64_t iova, uint64_t len);
/* Give [iova, iova+len) back. Returns 0, or -EINVAL if it is not page
 * aligned, not inside one usable range, or any part of it is free already
 * (a double free). No message. */
int vnip_iova_free(struct vnip_iova *a, uint64_t iova, uint64_t len);

#endif
