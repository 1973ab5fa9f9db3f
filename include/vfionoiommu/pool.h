/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvfionoiommu - DMA pools: many small DMA objects of one size.
 *
 * What they are for
 * -----------------
 * Queue entries, NVMe PRP lists, SGL segments, small descriptors: objects of
 * 64 B to 4 KiB (or larger, up to 2 MiB) that a driver allocates and frees
 * often and whose DMA address it needs each time. vni_dma_alloc() gives
 * every buffer its own pages (a 4 KiB page at least, and for more than
 * 4 KiB a 2 MiB hugepage when any is free) and costs system calls; a pool
 * carves objects from a few large pinned chunks instead, with no system call
 * after the chunk exists. Use a pool for many objects of one small size and
 * vni_dma_alloc() for large buffers and for the chunk-sized ones.
 *
 * Memory layout
 * -------------
 * A pool owns whole chunks, each allocated like a vni_dma_alloc() buffer in
 * the pool's context: an ordinary DMA mapping that vni_dma_lookup() (with
 * VNI_DMA_MAPPING_POOL) and vni_ctx_stats() show, its IOVA placed like any
 * buffer's (see dma.h); vni_dma_free() refuses it (-EBUSY):
 *
 *   hugepage chunk  one 2 MiB hugepage (VNI_DMA_ALLOC_HUGE |
 *                   VNI_DMA_ALLOC_CONTIG): physically contiguous and 2 MiB
 *                   aligned, 2 MiB / obj_size objects
 *   small chunk     64 KiB of 4 KiB pages (VNI_DMA_ALLOC_SMALL): each page
 *                   physically contiguous and 4 KiB aligned, the pages
 *                   anywhere; 64 KiB / obj_size objects (obj_size <= 4 KiB)
 *
 * Object i of a chunk starts at chunk + i * obj_size. obj_size is a power of
 * two and every page size a multiple of it, so every object is aligned to
 * its size in virtual and in DMA address space and lies inside one page: it
 * never straddles a page boundary and is one DMA-contiguous piece.
 *
 * By default the pool takes hugepage chunks and falls back to small chunks
 * (logged at WARN) when no hugepage is free; VNI_DMA_POOL_HUGE and
 * VNI_DMA_POOL_SMALL choose one kind only. Objects larger than 4 KiB need
 * hugepage chunks (no 4 KiB page holds them contiguously). With the legacy
 * backend every chunk is a hugepage (vni_dma_alloc() allocates nothing
 * else there).
 *
 * The pool grows by one chunk when an allocation finds no free object, up to
 * max_objs objects in use if a maximum is given. Chunks are kept until the
 * pool is destroyed (a freed object goes back to the free list, never to
 * the kernel).
 *
 * Bookkeeping is outside the DMA memory: the free list (a stack of object
 * numbers), one "in use" bit per object and a hash of the chunks' pages live
 * on the heap, so a device that writes into a freed object cannot corrupt
 * the allocator. vni_dma_pool_alloc() and vni_dma_pool_free() are O(1): a
 * push or pop, a bit, and (free) one hash lookup.
 *
 * DMA addresses
 * -------------
 * vni_dma_pool_alloc() returns the object's DMA address, read from the
 * context's translation table (a few memory loads, as vni_dma_addr()). The
 * rules of dma.h and ctx.h hold: the address is valid while a device is
 * open in the context; after the last device closes and one opens again,
 * the chunks may have been pinned elsewhere: ask again with vni_dma_addr().
 *
 * Threading
 * ---------
 * A pool may be used from several threads: vni_dma_pool_alloc(),
 * vni_dma_pool_free() and vni_dma_pool_info() take the pool's own mutex.
 * Growing a pool also takes the context's mutex (inside vni_dma_alloc()),
 * always after the pool's, never the other way round. Pools of one context
 * do not share a lock. vni_dma_pool_destroy() must not race with any other
 * call on the same pool (as free()). None of these calls is
 * async-signal-safe.
 *
 * Lifetime
 * --------
 * Destroy every pool before its context: vni_ctx_destroy() refuses with
 * -EBUSY while a pool of the context exists, and changes nothing. Destroying
 * a pool frees its chunks, objects still allocated included: the devices
 * must no longer access any of them (stop or reset them first, as before
 * vni_dma_free()).
 */
#ifndef VFIONOIOMMU_POOL_H
#define VFIONOIOMMU_POOL_H

#include <stddef.h>
#include <stdint.h>

#include <vfionoiommu/common.h>
#include <vfionoiommu/ctx.h>

#ifdef __cplusplus
extern "C" {
#endif

/** struct vni_dma_pool - a DMA pool (opaque). */
struct vni_dma_pool;

/** VNI_DMA_POOL_MIN_OBJ, VNI_DMA_POOL_MAX_OBJ - object sizes a pool serves. */
#define VNI_DMA_POOL_MIN_OBJ ((size_t)64)
#define VNI_DMA_POOL_MAX_OBJ ((size_t)2 * 1024 * 1024)

/* Flags of vni_dma_pool_create(). */
/** VNI_DMA_POOL_HUGE - hugepage chunks only: growing fails with -ENOMEM when no hugepage is free. */
#define VNI_DMA_POOL_HUGE (1u << 0)
/** VNI_DMA_POOL_SMALL - chunks of 4 KiB pages only (objects of at most 4 KiB). */
#define VNI_DMA_POOL_SMALL (1u << 1)
/** VNI_DMA_POOL_ZERO - vni_dma_pool_alloc() zero-fills every object it returns. */
#define VNI_DMA_POOL_ZERO (1u << 2)

/**
 * vni_dma_pool_create() - create a pool of DMA objects of one size
 * @ctx:      context; a device must be open in it (as for vni_dma_alloc())
 * @obj_size: object size in bytes, a power of two from 64
 *            (VNI_DMA_POOL_MIN_OBJ) to 2 MiB (VNI_DMA_POOL_MAX_OBJ); every
 *            object is aligned to it. Above 4 KiB only hugepage chunks hold
 *            objects
 * @max_objs: most objects in use at once (0: no limit); the pool grows
 *            only while it holds fewer objects than that
 * @flags:    0, or VNI_DMA_POOL_HUGE or VNI_DMA_POOL_SMALL, and/or
 *            VNI_DMA_POOL_ZERO
 * @poolp:    output; set only on success
 *
 * Allocates the first chunk at once, so that a missing device, hugepage
 * or memory shows here rather than at the first vni_dma_pool_alloc(). See
 * the top of this header for the layout.
 *
 * Return: 0; -EINVAL for a NULL @ctx/@poolp, an @obj_size that is no power
 * of two in range, unknown flags, both VNI_DMA_POOL_HUGE and
 * VNI_DMA_POOL_SMALL, VNI_DMA_POOL_SMALL with objects above 4 KiB, or
 * VNI_DMA_POOL_SMALL with the legacy backend (reason VNI_REASON_MAY_MOVE);
 * -ENOMEM (also: no hugepage free where one is needed); -ENODEV if no
 * device is open in @ctx; other errors of vni_dma_alloc(). On failure
 * nothing is left allocated, mapped or pinned.
 */
int vni_dma_pool_create(struct vni_ctx *ctx, size_t obj_size, size_t max_objs,
			unsigned int flags, struct vni_dma_pool **poolp);

/**
 * vni_dma_pool_alloc() - take an object from a pool
 * @pool:   pool
 * @vaddrp: output: the object, aligned to the pool's object size
 * @dmap:   output: the object's DMA address (aligned to the object size
 *          too); NULL if not wanted (the call then works also while no
 *          device is open)
 *
 * O(1): pops the free list (the object freed last comes back first).
 * When the list is empty the pool grows by one chunk (system calls, the
 * context's mutex) unless max_objs objects are in use. The object's
 * content is what it was (zeroes for a fresh one) unless the pool was
 * created with VNI_DMA_POOL_ZERO.
 *
 * Return: 0; -EINVAL for a NULL @pool/@vaddrp; -ENOMEM if max_objs objects
 * are in use, or growing failed for lack of memory or hugepages; -ENODEV if
 * @dmap is given and no device is open in the context (no DMA address is
 * valid); other errors of vni_dma_alloc() from growing. On failure no
 * object is taken and the pool is as before.
 */
int vni_dma_pool_alloc(struct vni_dma_pool *pool, void **vaddrp, uint64_t *dmap);

/**
 * vni_dma_pool_free() - give an object back to its pool
 * @pool:  pool
 * @vaddr: an object from vni_dma_pool_alloc() of this pool
 *
 * O(1): one hash lookup, one bit, one push. The device must no longer
 * access the object. The memory stays pinned in the pool's chunk.
 *
 * Return: 0; -EINVAL for a NULL @pool/@vaddr, an address that is not the
 * start of an object of this pool (another pool's, a buffer of
 * vni_dma_alloc(), a byte inside an object) or an object that is not
 * allocated (a second free); nothing is changed then.
 */
int vni_dma_pool_free(struct vni_dma_pool *pool, void *vaddr);

/**
 * vni_dma_pool_destroy() - free a pool and all its chunks
 * @poolp: pointer to the handle; cleared (also when an unmap failed)
 *
 * Frees every chunk with vni_dma_free(), objects still in use included (the
 * devices must no longer access them), and the pool's bookkeeping. Must
 * come before vni_ctx_destroy() of the pool's context.
 *
 * Return: 0; -EINVAL if @poolp is NULL; -EBADF if *@poolp is NULL (for
 * example a second destroy); the first error of vni_dma_free() if the
 * kernel refused to unmap a chunk: the pool is gone all the same, and that
 * chunk stays mapped as a buffer of the context until vni_ctx_destroy()
 * frees it.
 */
int vni_dma_pool_destroy(struct vni_dma_pool **poolp);

/**
 * struct vni_dma_pool_info - state of a pool, as vni_dma_pool_info() reports it
 * @struct_size: set by the caller to sizeof(struct vni_dma_pool_info) before
 *               the call; the library sets it to the bytes it wrote
 * @obj_size:    object size
 * @max_objs:    the limit given to vni_dma_pool_create() (0: none)
 * @objs:        objects in the pool's chunks, free or in use
 * @in_use:      objects allocated and not freed
 * @chunks:      chunks
 * @huge_chunks: of them, 2 MiB hugepage chunks (the rest are 64 KiB of
 *               4 KiB pages)
 * @bytes:       DMA memory of the chunks
 */
struct vni_dma_pool_info {
	uint32_t struct_size;
	size_t obj_size;
	size_t max_objs;
	uint64_t objs;
	uint64_t in_use;
	uint64_t chunks;
	uint64_t huge_chunks;
	uint64_t bytes;
};

/**
 * vni_dma_pool_info() - size and occupancy of a pool
 * @pool: pool
 * @info: output; set @info->struct_size first
 *
 * Takes the pool's mutex.
 *
 * Return: 0; -EINVAL for NULL arguments or a @info->struct_size below the
 * size of the struct's first version.
 */
int vni_dma_pool_info(struct vni_dma_pool *pool, struct vni_dma_pool_info *info);

#ifdef __cplusplus
}
#endif

#endif /* VFIONOIOMMU_POOL_H */
