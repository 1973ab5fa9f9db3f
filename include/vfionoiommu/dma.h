/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvfionoiommu - DMA memory: mapping, allocation and translation.
 *
 * DMA address
 * -----------
 * The "DMA address" of a byte is the number a device must be programmed with
 * to reach that byte. With the no-IOMMU backend it is the physical address;
 * a future IOMMU backend would return the IOVA. Callers only ever ask the
 * library for it and never compute it, so the backend can change without an
 * API change.
 *
 * IOVA layout
 * -----------
 * No-IOMMU backends: every mapping is placed in the context's IOAS at IOVA
 * == the process virtual address of the memory (IOMMU_IOAS_MAP with
 * IOMMU_IOAS_MAP_FIXED_IOVA, readable and writeable; the legacy backend has
 * no IOAS at all). IOMMU backends ("iommufd", "type1"): the library
 * allocates each mapping's IOVA inside the ranges the kernel reports and
 * below the DMA mask (vni_ctx_set_dma_mask()), 2 MiB aligned for mappings
 * of 2 MiB or more, and reuses IOVAs after unmap; the DMA address is that
 * IOVA. With no IOMMU the IOVA is only the kernel's key
 * for the pinned pages; making it the pointer lets every lookup key on the
 * pointer, lets several devices share one layout, and makes overlapping
 * mappings impossible (two mappings of one address would be the same IOVA:
 * -EEXIST). Addresses must lie below 2^48 (x86-64 and arm64 4-level user
 * space; pointers above that, from 5-level paging hints, give -ERANGE).
 *
 * Mappings
 * --------
 * A mapping is a page-aligned, page-multiple range of the process's memory
 * that is pinned (the kernel takes a long-term pin: the pages cannot move or
 * be swapped until unmapped) and translated. Mappings may not overlap; an
 * unmap must name exactly one whole mapping (start and length). The memory
 * must stay mapped in the process while it is DMA-mapped; unmapping it
 * from the process first (munmap) leaves the kernel's pin in place until
 * vni_dma_unmap().
 *
 * At least one device must be open in the context before memory can be
 * mapped: the backend is chosen, and the kernel sets up the translation,
 * when the first device opens (-ENODEV otherwise).
 *
 * A DMA address is valid only while at least one device is open in the
 * context. Closing the last device unpins the memory in the kernel; the
 * mappings stay recorded but every translation fails with -ENODEV ("no
 * device attached") until a device is opened again, which pins the memory
 * again, possibly at other physical addresses, and refreshes every DMA
 * address. Query DMA addresses again after such a reopen (see ctx.h).
 *
 * Translation cost
 * ----------------
 * Mapping issues one IOMMU_IOAS_NOIOMMU_GET_PA ioctl per physically
 * contiguous run and records the answer in a lock-free radix table keyed by
 * virtual address; vni_dma_addr() is then a few memory loads, no system call
 * and no lock. See ctx.h for the threading rules.
 */
#ifndef VFIONOIOMMU_DMA_H
#define VFIONOIOMMU_DMA_H

#include <stddef.h>
#include <stdint.h>

#include <vfionoiommu/common.h>
#include <vfionoiommu/ctx.h>

#ifdef __cplusplus
extern "C" {
#endif

/** VNI_DMA_ADDR_INVALID - returned by vni_dma_addr_fast() for unmapped addresses. */
#define VNI_DMA_ADDR_INVALID UINT64_MAX

/** VNI_PAGE_SIZE_4K, VNI_PAGE_SIZE_2M - the page sizes the library knows. */
#define VNI_PAGE_SIZE_4K ((size_t)4096)
#define VNI_PAGE_SIZE_2M ((size_t)2 * 1024 * 1024)

/**
 * VNI_DMA_MAP_MAY_MOVE - vni_dma_map(): accept memory the kernel may move
 *
 * Only the legacy backend (VNI_BACKEND_LEGACY) looks at it: there the kernel
 * pins nothing, so the library maps caller memory only if it is made of
 * hugetlb pages (which the kernel neither migrates nor swaps in normal
 * operation), unless this flag is given. With it, the library mlock()s the
 * range (no swapping) and reads its physical addresses once; but the kernel
 * may still migrate a 4 KiB page (compaction, NUMA balancing, memory
 * hot-unplug, KSM, transparent hugepage collapse) and give the old frame to
 * someone else, and the device then reads stale data from it and writes
 * into memory the process no longer owns: silent corruption of other
 * processes or the kernel. Use it for tests and short-lived tools, never for
 * a long-running driver; allocate with vni_dma_alloc() instead. The other
 * backends ignore it (the kernel pins or the IOMMU translates).
 */
#define VNI_DMA_MAP_MAY_MOVE (1u << 0)

/**
 * VNI_DMA_MAP_READONLY - vni_dma_map(): devices may only read the memory
 *
 * Enforced by the IOMMU (the IOMMU backends map it without write
 * permission: a device write to it faults and changes nothing). The
 * no-IOMMU backends cannot enforce it and refuse it (-EOPNOTSUPP).
 */
#define VNI_DMA_MAP_READONLY (1u << 1)

/**
 * vni_dma_map() - pin and translate caller memory
 * @ctx:   context
 * @vaddr: start, aligned to 4 KiB
 * @len:   length, a non-zero multiple of 4 KiB
 * @flags: 0, or VNI_DMA_MAP_MAY_MOVE and/or VNI_DMA_MAP_READONLY
 *
 * Makes [@vaddr, @vaddr + @len) reachable by the context's devices and
 * fills the translation table. "noiommu": maps it into the IOAS at IOVA ==
 * @vaddr (the kernel pins it), one GET_PA ioctl per physically contiguous
 * run. "legacy": checks that it is hugetlb memory (else -EINVAL, reason
 * VNI_REASON_MAY_MOVE, unless VNI_DMA_MAP_MAY_MOVE), mlock()s it and reads
 * its physical addresses from /proc/self/pagemap in one pass (needs
 * CAP_SYS_ADMIN: -EPERM, reason VNI_REASON_PAGEMAP_HIDDEN, without) and
 * marks it MADV_DONTFORK (nothing pins it: after a fork() copy-on-write
 * would move the parent's pages away from their DMA addresses); unmap
 * munlock()s it and marks it MADV_DOFORK again. "iommufd" and "type1": allocates an IOVA (see
 * vni_ctx_set_dma_mask()) and maps the range there in the IOMMU (the kernel
 * pins it); the DMA address is that IOVA, one run for the whole mapping.
 *
 * Return: 0; -EINVAL for a NULL @ctx/@vaddr, zero or unaligned @vaddr/@len,
 * unknown @flags; -EOVERFLOW if @vaddr + @len wraps; -ERANGE if the range
 * reaches 2^48; -EEXIST if it overlaps an existing mapping; -ENODEV if no
 * device is open in the context; -EFAULT if the memory is not mapped in the
 * process; -ENOMEM (includes the kernel refusing to pin more: RLIMIT_MEMLOCK);
 * -EIO if the kernel's answer is inconsistent; other negative errno values
 * from IOMMU_IOAS_MAP / GET_PA. On failure nothing stays pinned or locked.
 */
int vni_dma_map(struct vni_ctx *ctx, void *vaddr, size_t len,
		unsigned int flags);

/**
 * vni_dma_unmap() - undo vni_dma_map()
 * @ctx:   context
 * @vaddr: start of the mapping, as given to vni_dma_map()
 * @len:   length of the mapping, as given to vni_dma_map()
 *
 * Clears the translations first (concurrent lookups then return -ENOENT),
 * then unpins. The device must no longer access the memory. Works also
 * while no device is open (the memory is then already unpinned).
 *
 * Return: 0; -EINVAL for a NULL @ctx/@vaddr or zero @len; -ENOENT if no
 * mapping starts at @vaddr (also for a second unmap); -EINVAL if the mapping
 * there has another length; -EBUSY if it is a buffer from vni_dma_alloc()
 * (use vni_dma_free()).
 */
int vni_dma_unmap(struct vni_ctx *ctx, void *vaddr, size_t len);

/* Flags of vni_dma_alloc(). */
/** VNI_DMA_ALLOC_HUGE - 2 MiB pages only; fail with -ENOMEM if none are free. */
#define VNI_DMA_ALLOC_HUGE (1u << 0)
/** VNI_DMA_ALLOC_SMALL - 4 KiB pages only. */
#define VNI_DMA_ALLOC_SMALL (1u << 1)
/** VNI_DMA_ALLOC_CONTIG - one physically contiguous piece: a 4 KiB page for up to 4 KiB, one 2 MiB hugepage for up to 2 MiB. */
#define VNI_DMA_ALLOC_CONTIG (1u << 2)

/**
 * vni_dma_alloc() - allocate, pin and translate a DMA buffer
 * @ctx:   context
 * @len:   bytes wanted (non-zero); rounded up to the page size used
 * @flags: 0: one 4 KiB page when @len <= 4096, else 2 MiB hugepages when
 *         available and 4 KiB pages otherwise (logged at WARN);
 *         VNI_DMA_ALLOC_HUGE: 2 MiB pages or fail; VNI_DMA_ALLOC_SMALL: 4 KiB
 *         pages; VNI_DMA_ALLOC_CONTIG (with HUGE or SMALL or neither): the
 *         buffer is one DMA-contiguous piece, see below
 * @vaddrp: output: the buffer, zero-filled, aligned to its page size
 *
 * Memory comes from an anonymous private mmap (MAP_HUGETLB | MAP_HUGE_2MB for
 * hugepages; MAP_POPULATE), marked MADV_DONTFORK so that a fork()ed child
 * does not inherit it, then mapped like vni_dma_map(). A 2 MiB page is
 * physically contiguous, so a buffer of hugepages has one contiguous run per
 * page at least; vni_dma_segments() tells the truth either way.
 * The length actually allocated is reported by vni_dma_lookup().
 *
 * With the legacy backend (the kernel pins nothing) every buffer comes from
 * 2 MiB hugepages, whatever @len (VNI_DMA_ALLOC_SMALL is -EINVAL, reason
 * VNI_REASON_MAY_MOVE; no free hugepage is -ENOMEM), and is mlock()ed.
 *
 * Alignment: the buffer's virtual address is aligned to its page size (4 KiB,
 * or 2 MiB for hugepages), and so is the DMA address of each page (a 2 MiB
 * hugepage is 2 MiB aligned physically). For an object aligned to less,
 * carve it from such a buffer.
 *
 * VNI_DMA_ALLOC_CONTIG: @len up to 4096 gives one 4 KiB page; up to 2 MiB
 * one 2 MiB hugepage (-ENOMEM with advice if none is free; -EINVAL with
 * VNI_DMA_ALLOC_SMALL); more than 2 MiB is -EINVAL (no page larger than a
 * hugepage is guaranteed contiguous). The whole buffer then has one DMA
 * address range, aligned to 4 KiB or 2 MiB, checked before the call returns
 * (-EIO if the kernel reports otherwise).
 *
 * Return: 0; -EINVAL for NULL @ctx/@vaddrp, zero @len, unknown flags,
 * both HUGE and SMALL, or CONTIG with a length it cannot promise; -EOVERFLOW if rounding @len overflows; -ENOMEM; -ENODEV
 * if no device is open; other errors as vni_dma_map(). On failure nothing is
 * left allocated, mapped or pinned.
 */
int vni_dma_alloc(struct vni_ctx *ctx, size_t len, unsigned int flags,
		  void **vaddrp);

/**
 * vni_dma_free() - unmap and free a buffer from vni_dma_alloc()
 * @ctx:   context
 * @vaddr: the buffer, as returned by vni_dma_alloc()
 *
 * Return: 0; -EINVAL for a NULL @ctx/@vaddr; -ENOENT if @vaddr is not the
 * start of a buffer of this context (also for a second free); -EBUSY if it
 * is caller memory mapped with vni_dma_map() (use vni_dma_unmap()) or a
 * chunk of a DMA pool (use vni_dma_pool_free() on the object).
 */
int vni_dma_free(struct vni_ctx *ctx, void *vaddr);

/**
 * vni_dma_addr() - DMA address of a byte
 * @ctx:   context
 * @vaddr: any byte of a mapping
 * @dma:   output
 *
 * Lock-free, no system call (see ctx.h).
 *
 * Return: 0; -EINVAL for NULL arguments; -ENOENT if @vaddr is not mapped;
 * -ENODEV if no device is open in the context (no DMA address is valid).
 */
int vni_dma_addr(const struct vni_ctx *ctx, const void *vaddr, uint64_t *dma);

/**
 * vni_dma_addr_fast() - DMA address of a byte, for hot paths
 * @ctx:   context (must not be NULL)
 * @vaddr: any byte of a mapping
 *
 * As vni_dma_addr() without argument checks and without recording an error
 * message.
 *
 * Return: the DMA address, or VNI_DMA_ADDR_INVALID if @vaddr is not mapped
 * or no device is open in the context.
 */
uint64_t vni_dma_addr_fast(const struct vni_ctx *ctx, const void *vaddr);

/**
 * vni_dma_addr_len() - DMA address of a byte and how far it is contiguous
 * @ctx:   context (must not be NULL)
 * @vaddr: any byte of a mapping
 * @len:   in: the most bytes the caller wants (0: no limit); out: the number
 *         of bytes from @vaddr, at most the input, that are contiguous in DMA
 *         address space (at least 1); untouched when @vaddr is not mapped.
 *         NULL: as vni_dma_addr_fast()
 *
 * The hot-path call for building descriptors from a buffer, like
 * spdk_vtophys(buf, &size): lock-free, no system call, no argument checks
 * and no error message. Its cost does not grow with the length: the table
 * records with each entry how far its physically contiguous run goes, so
 * one lookup covers a whole run (up to 16 MiB of 4 KiB pages or 8 GiB of
 * 2 MiB blocks per lookup); it stops at the first discontinuity (one more
 * lookup there). Contiguity across the boundary of two adjacent mappings is
 * found too. Threading as vni_dma_addr() (see ctx.h), except that it does
 * not retry when a device close/open races with it.
 *
 * Return: the DMA address, or VNI_DMA_ADDR_INVALID if @vaddr is not mapped
 * or no device is open in the context.
 */
uint64_t vni_dma_addr_len(const struct vni_ctx *ctx, const void *vaddr, size_t *len);

/**
 * vni_dma_contig() - is a range one DMA-contiguous piece, and where it starts
 * @ctx:    context
 * @vaddr:  first byte of the range (any alignment)
 * @len:    length of the range (non-zero); the range may span several
 *          adjacent mappings
 * @dma:    output: DMA address of @vaddr
 * @contig: output: bytes from @vaddr that are contiguous in DMA address
 *          space, at most @len: the range is one piece iff *@contig == @len
 *          (else it is the length of the first piece, as segment 0 of
 *          vni_dma_segments())
 *
 * A range that is mapped but not contiguous is not an error: compare
 * *@contig with @len, and fall back to vni_dma_segments() if they differ.
 * It stops at the first discontinuity: the bytes after it are not looked at
 * (vni_dma_segments() checks them). Costs one table lookup per physically
 * contiguous run of the first piece (see vni_dma_addr_len()), no system
 * call, no lock.
 *
 * Return: 0; -EINVAL for NULL arguments or zero @len; -EOVERFLOW if
 * @vaddr + @len wraps; -ENOENT if @vaddr is not mapped, or the first piece
 * ends, inside the range, at a byte that is not mapped; -ENODEV if no device
 * is open in the context.
 */
int vni_dma_contig(const struct vni_ctx *ctx, const void *vaddr, size_t len,
		   uint64_t *dma, size_t *contig);

/**
 * struct vni_dma_seg - a DMA-contiguous piece of a range
 * @dma: DMA address of the first byte
 * @len: length in bytes
 */
struct vni_dma_seg {
	uint64_t dma;
	uint64_t len;
};

/**
 * vni_dma_segments() - scatter-gather list of a range
 * @ctx:      context
 * @vaddr:    first byte (any alignment)
 * @len:      length (non-zero); the whole range must be mapped, it may span
 *            several adjacent mappings
 * @segs:     output array (may be NULL when @max_segs is 0)
 * @max_segs: capacity of @segs
 * @nsegs:    output: number of segments the range has (also on -ENOSPC)
 *
 * Splits the range where the DMA address is not contiguous; adjacent pieces
 * that happen to be contiguous are merged. Drivers build NVMe PRPs or
 * descriptor chains from the result.
 *
 * Return: 0; -EINVAL for NULL @ctx/@vaddr/@nsegs, zero @len, or NULL @segs
 * with non-zero @max_segs; -EOVERFLOW if @vaddr + @len wraps; -ENOENT if any
 * byte is not mapped; -ENODEV if no device is open in the context; -ENOSPC
 * if more than @max_segs segments are needed
 * (the first @max_segs are filled, *@nsegs says how many are needed).
 */
int vni_dma_segments(const struct vni_ctx *ctx, const void *vaddr, size_t len,
		     struct vni_dma_seg *segs, size_t max_segs, size_t *nsegs);

/* Flags of struct vni_dma_mapping_info. */
#define VNI_DMA_MAPPING_ALLOCATED (1u << 0) /* from vni_dma_alloc() */
#define VNI_DMA_MAPPING_HUGE      (1u << 1) /* backed by 2 MiB pages (alloc only) */
#define VNI_DMA_MAPPING_READONLY  (1u << 2) /* VNI_DMA_MAP_READONLY */
#define VNI_DMA_MAPPING_POOL      (1u << 3) /* a chunk of a DMA pool (pool.h) */

/**
 * struct vni_dma_mapping_info - a mapping, as vni_dma_lookup() reports it
 * @struct_size: set by the caller to sizeof(struct vni_dma_mapping_info) before the call
 *     (see "Extensible structs" in docs/usage.md); the library fills at
 *     most that many bytes and sets it to the number it filled
 * @vaddr:     start
 * @len:       length
 * @page_size: page size of the memory if known (allocated buffers), else 4096
 * @runs:      number of physically contiguous runs
 * @flags:     VNI_DMA_MAPPING_* bits
 */
struct vni_dma_mapping_info {
	uint32_t struct_size;
	void *vaddr;
	size_t len;
	size_t page_size;
	uint64_t runs;
	uint32_t flags;
};

/**
 * vni_dma_lookup() - which mapping contains an address
 * @ctx:   context
 * @vaddr: any byte
 * @info:  output; set @info->struct_size first
 *
 * Takes the context's mutex (not for hot paths).
 *
 * Return: 0; -EINVAL for NULL arguments or a @info->struct_size below the
 * size of version 0 of the struct; -ENOENT if @vaddr is not mapped.
 */
int vni_dma_lookup(struct vni_ctx *ctx, const void *vaddr,
		   struct vni_dma_mapping_info *info);

#ifdef __cplusplus
}
#endif

#endif /* VFIONOIOMMU_DMA_H */
