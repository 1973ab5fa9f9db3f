/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvfionoiommu - DMA mappings, buffers and translation.
 */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "backend/backend.h"
#include "internal.h"

#ifndef MAP_HUGE_SHIFT
#define MAP_HUGE_SHIFT 26
#endif
#ifndef MAP_HUGE_2MB
#define MAP_HUGE_2MB (21 << MAP_HUGE_SHIFT)
#endif

/* Index of the last mapping with va <= addr, or -1. Caller holds lock. */
static ptrdiff_t find_le(const struct vni_ctx *ctx, uint64_t addr)
{
	ptrdiff_t lo = 0, hi = (ptrdiff_t)ctx->nmaps - 1, best = -1;

	while (lo <= hi) {
		ptrdiff_t mid = lo + (hi - lo) / 2;

		if (ctx->maps[mid].va <= addr) {
			best = mid;
			lo = mid + 1;
		} else {
			hi = mid - 1;
		}
	}
	return best;
}

static bool overlaps(const struct vni_ctx *ctx, uint64_t va, uint64_t len)
{
	ptrdiff_t i = find_le(ctx, va + len - 1);

	return i >= 0 && ctx->maps[i].va + ctx->maps[i].len > va;
}

static int reserve_slot(struct vni_ctx *ctx)
{
	struct vnip_mapping *n;
	size_t ncap;

	if (ctx->nmaps < ctx->cap_maps)
		return 0;
	ncap = ctx->cap_maps ? ctx->cap_maps * 2 : 16;
	n = vnip_malloc(ncap * sizeof(*n));
	if (!n)
		return vnip_err(-ENOMEM, "out of memory for the mapping list");
	if (ctx->nmaps)
		memcpy(n, ctx->maps, ctx->nmaps * sizeof(*n));
	vnip_free(ctx->maps);
	ctx->maps = n;
	ctx->cap_maps = ncap;
	return 0;
}

static void insert_mapping(struct vni_ctx *ctx, const struct vnip_mapping *m)
{
	size_t pos = (size_t)(find_le(ctx, m->va) + 1);

	memmove(&ctx->maps[pos + 1], &ctx->maps[pos],
		(ctx->nmaps - pos) * sizeof(*ctx->maps));
	ctx->maps[pos] = *m;
	ctx->nmaps++;
}

static void remove_mapping(struct vni_ctx *ctx, size_t pos)
{
	memmove(&ctx->maps[pos], &ctx->maps[pos + 1],
		(ctx->nmaps - pos - 1) * sizeof(*ctx->maps));
	ctx->nmaps--;
}

int vnip_dma_put_run(struct vni_ctx *ctx, uint64_t va, uint64_t want, uint64_t dma,
		     uint64_t rl)
{
	int ret;

	if (rl == 0 || rl > want || (rl & (VNIP_PAGE_SIZE - 1)) ||
	    (dma & (VNIP_PAGE_SIZE - 1)) || dma + rl < dma)
		return vnip_err(-EIO, "inconsistent translation from the kernel at %#"
				PRIx64 ": %#" PRIx64 "+%#" PRIx64 " (asked %#" PRIx64 ")",
				va, dma, rl, want);
	ret = vnip_xlate_set(&ctx->xlate, va, rl, dma);
	if (ret < 0)
		return vnip_err(ret, "out of memory for the translation table");
	return 0;
}

/* Fill the table for m with the backend: runs, or -errno (cleared). */
static int64_t walk(struct vni_ctx *ctx, const struct vnip_mapping *m)
{
	return ctx->backend->fill(ctx, m);
}

/* Mappings and buffers need the backend's kernel objects, which exist once
 * a device is open. */
static int can_map(struct vni_ctx *ctx)
{
	if (!vnip_ctx_has_devices(ctx))
		return vnip_err_r(VNI_REASON_NO_DEVICE, -ENODEV,
				  "no device is open in this context: the kernel sets up the "
				  "DMA translation when the first device is opened (and the "
				  "backend is chosen then), so open a device before mapping "
				  "memory");
	return 0;
}

/* Map [va, va+len) and record it. Caller holds the lock. */
static int map_locked(struct vni_ctx *ctx, uint64_t va, uint64_t len,
		      uint32_t flags, size_t page_size, size_t alloc_len,
		      unsigned int map_flags)
{
	struct vnip_mapping m;
	int64_t runs;
	int ret;

	if (overlaps(ctx, va, len))
		return vnip_err(-EEXIST, "%#" PRIx64 "+%#" PRIx64
				" overlaps an existing DMA mapping", va, len);
	ret = can_map(ctx);
	if (ret < 0)
		return ret;
	if ((map_flags & VNI_DMA_MAP_READONLY) && !ctx->backend->iommu)
		return vnip_err(-EOPNOTSUPP, "VNI_DMA_MAP_READONLY: the %s backend has no IOMMU "
				"to enforce it (a no-IOMMU device can write anywhere)",
				ctx->backend->name);
	ret = reserve_slot(ctx);
	if (ret < 0)
		return ret;
	memset(&m, 0, sizeof(m));
	m.va = va;
	m.len = len;
	m.iova = va;
	m.flags = flags;
	m.page_size = page_size;
	m.alloc_len = alloc_len;
	ret = ctx->backend->map(ctx, &m, map_flags);
	if (ret < 0)
		return ret;
	runs = walk(ctx, &m);
	if (runs < 0) {
		char msg[512];
		int reason = vni_reason_last();

		snprintf(msg, sizeof(msg), "%s", vni_strerror_last());
		ret = ctx->backend->unmap(ctx, &m);
		if (ret < 0) {
			/* Fail loudly: the kernel keeps the pin and the library
			 * has no record of it; only closing the iommufd (the
			 * context) drops it. */
			atomic_fetch_add(&ctx->st_leaked_pins, 1);
			return vnip_err((int)runs, "%s; undoing the IOAS mapping failed too (%s): "
					"%#" PRIx64 "+%#" PRIx64 " stays pinned until "
					"vni_ctx_destroy()", msg, strerrordesc_np(-ret) ?
					strerrordesc_np(-ret) : "?", va, len);
		}
		vnip_err_keep((int)runs, msg);
		vnip_reason_set((enum vni_reason)reason);
		return (int)runs;
	}
	m.runs = (uint64_t)runs;
	insert_mapping(ctx, &m);
	atomic_fetch_add(&ctx->st_map, 1);
	atomic_fetch_add(&ctx->st_mappings, 1);
	atomic_fetch_add(&ctx->st_bytes, len);
	atomic_fetch_add(&ctx->st_runs, (uint64_t)runs);
	vnip_debug("DMA map %#" PRIx64 "+%#" PRIx64 ": %" PRId64 " run(s)", va, len, runs);
	return 0;
}

/* Unmap mapping pos. On failure, the mapping stays, translated again. */
static int unmap_locked(struct vni_ctx *ctx, size_t pos)
{
	struct vnip_mapping m = ctx->maps[pos];
	int ret;

	vnip_xlate_clear(&ctx->xlate, m.va, m.len);
	ret = ctx->backend->unmap(ctx, &m);
	if (ret < 0) {
		char msg[512];

		snprintf(msg, sizeof(msg), "%s", vni_strerror_last());
		/* Without a device there is no translation to restore. */
		if ((atomic_load(&ctx->xlate_epoch) & 1) && walk(ctx, &m) < 0)
			vnip_log(VNI_LOG_ERROR, "could not restore the translation of %#"
				 PRIx64 "+%#" PRIx64, m.va, m.len);
		return vnip_err(ret, "%s", msg);
	}
	remove_mapping(ctx, pos);
	atomic_fetch_add(&ctx->st_unmap, 1);
	atomic_fetch_sub(&ctx->st_mappings, 1);
	atomic_fetch_sub(&ctx->st_bytes, m.len);
	atomic_fetch_sub(&ctx->st_runs, m.runs);
	if (m.flags & VNI_DMA_MAPPING_ALLOCATED)
		vnip_sys.munmap((void *)(uintptr_t)m.va, m.alloc_len);
	vnip_debug("DMA unmap %#" PRIx64 "+%#" PRIx64, m.va, m.len);
	return 0;
}

void vnip_dma_release_all(struct vni_ctx *ctx)
{
	while (ctx->nmaps) {
		size_t pos = ctx->nmaps - 1;
		struct vnip_mapping m = ctx->maps[pos];

		if (unmap_locked(ctx, pos) < 0) {
			/* Closing the iommufd drops the pin; free the rest. */
			vnip_xlate_clear(&ctx->xlate, m.va, m.len);
			if (m.flags & VNI_DMA_MAPPING_ALLOCATED)
				vnip_sys.munmap((void *)(uintptr_t)m.va, m.alloc_len);
			remove_mapping(ctx, pos);
		}
	}
}

void vnip_dma_invalidate(struct vni_ctx *ctx)
{
	/* Readers that fail from now on say -ENODEV; entries are cleared with
	 * atomic stores and no table is freed, so a racing reader sees either
	 * the old address (valid until the detach that follows) or nothing. */
	if (atomic_load(&ctx->xlate_epoch) & 1)
		atomic_fetch_add(&ctx->xlate_epoch, 1);
	for (size_t i = 0; i < ctx->nmaps; i++)
		vnip_xlate_clear(&ctx->xlate, ctx->maps[i].va, ctx->maps[i].len);
	if (ctx->nmaps)
		vnip_info("last device closed: the DMA addresses of %zu mapping(s) are "
			  "invalid until a device is opened again", ctx->nmaps);
}

int vnip_dma_revalidate(struct vni_ctx *ctx)
{
	size_t i;

	for (i = 0; i < ctx->nmaps; i++) {
		struct vnip_mapping *m = &ctx->maps[i];
		int64_t runs = walk(ctx, m);

		if (runs < 0) {
			char msg[512];

			snprintf(msg, sizeof(msg), "%s", vni_strerror_last());
			/* walk() cleared its own range; clear the ones before. */
			for (size_t k = 0; k < i; k++)
				vnip_xlate_clear(&ctx->xlate, ctx->maps[k].va, ctx->maps[k].len);
			return vnip_err((int)runs, "DMA mapping %#" PRIx64 "+%#" PRIx64 ": %s",
					m->va, m->len, msg);
		}
		/* The kernel may have pinned other pages: the runs change. */
		atomic_fetch_add(&ctx->st_runs, (uint64_t)runs - m->runs);
		m->runs = (uint64_t)runs;
	}
	if (!(atomic_load(&ctx->xlate_epoch) & 1))
		atomic_fetch_add(&ctx->xlate_epoch, 1);
	if (ctx->nmaps)
		vnip_info("device attached: %zu DMA mapping(s) translated again", ctx->nmaps);
	return 0;
}

/* Lock-free translations that fail read the epoch before and after: a
 * change means a device close/open raced with the lookup (retry); an even
 * epoch means no device is attached (-ENODEV). */
#define XLATE_RETRIES 8

static inline uint64_t xlate_epoch(const struct vni_ctx *ctx)
{
	return atomic_load_explicit(&ctx->xlate_epoch, memory_order_acquire);
}

/* Why a lookup that started at epoch e found no DMA address: 1 to retry,
 * else -errno with message. */
static int xlate_fail(const struct vni_ctx *ctx, uint64_t e, unsigned int tries,
		      const char *fn_msg_enoent, const char *fn_msg_enodev)
{
	uint64_t now = xlate_epoch(ctx);

	if (now != e && (now & 1) && tries < XLATE_RETRIES)
		return 1;
	if (!(now & 1) || now != e)
		return vnip_err_static_r(VNI_REASON_NO_DEVICE, -ENODEV, fn_msg_enodev);
	return vnip_err_static(-ENOENT, fn_msg_enoent);
}

static int check_range(const char *fn, const void *vaddr, size_t len)
{
	uint64_t va = (uint64_t)(uintptr_t)vaddr;

	if (!vaddr)
		return vnip_err(-EINVAL, "%s: NULL address", fn);
	if (len == 0)
		return vnip_err(-EINVAL, "%s: zero length", fn);
	if ((va | (uint64_t)len) & (VNIP_PAGE_SIZE - 1))
		return vnip_err(-EINVAL, "%s: %p+%#zx is not aligned to 4 KiB", fn,
				vaddr, len);
	if (va + len < va)
		return vnip_err(-EOVERFLOW, "%s: %p+%#zx wraps around", fn, vaddr, len);
	if (va + len > VNIP_VA_LIMIT)
		return vnip_err(-ERANGE, "%s: %p+%#zx reaches beyond 2^48", fn, vaddr, len);
	return 0;
}

int vni_dma_map(struct vni_ctx *ctx, void *vaddr, size_t len, unsigned int flags)
{
	const unsigned int known = VNI_DMA_MAP_MAY_MOVE | VNI_DMA_MAP_READONLY;
	int ret;

	if (!ctx)
		return vnip_err(-EINVAL, "vni_dma_map: NULL ctx");

	if (flags & ~known)
		return vnip_err(-EINVAL, "vni_dma_map: unknown flags %#x", flags & ~known);
	ret = check_range("vni_dma_map", vaddr, len);
	if (ret < 0)
		return ret;
	pthread_mutex_lock(&ctx->lock);
	ret = map_locked(ctx, (uint64_t)(uintptr_t)vaddr, len,
			 flags & VNI_DMA_MAP_READONLY ? VNI_DMA_MAPPING_READONLY : 0,
			 VNIP_PAGE_SIZE, 0, flags);
	pthread_mutex_unlock(&ctx->lock);
	return ret;
}

int vni_dma_unmap(struct vni_ctx *ctx, void *vaddr, size_t len)
{
	uint64_t va = (uint64_t)(uintptr_t)vaddr;
	ptrdiff_t i;
	int ret;

	if (!ctx || !vaddr)
		return vnip_err(-EINVAL, "vni_dma_unmap: NULL argument");
	if (len == 0)
		return vnip_err(-EINVAL, "vni_dma_unmap: zero length");
	pthread_mutex_lock(&ctx->lock);
	i = find_le(ctx, va);
	if (i < 0 || ctx->maps[i].va != va) {
		ret = vnip_err(-ENOENT, "vni_dma_unmap: no DMA mapping starts at %p", vaddr);
	} else if (ctx->maps[i].len != len) {
		ret = vnip_err(-EINVAL, "vni_dma_unmap: the mapping at %p is %#" PRIx64
			       " bytes, not %#zx (unmap whole mappings)", vaddr,
			       ctx->maps[i].len, len);
	} else if (ctx->maps[i].flags & VNI_DMA_MAPPING_ALLOCATED) {
		ret = vnip_err(-EBUSY, "vni_dma_unmap: %p is a buffer from vni_dma_alloc(): "
			       "use vni_dma_free()", vaddr);
	} else {
		ret = unmap_locked(ctx, (size_t)i);
	}
	pthread_mutex_unlock(&ctx->lock);
	return ret;
}

static void *mmap_anon(size_t len, int extra)
{
	void *p = vnip_sys.mmap(NULL, len, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE | extra, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* vni_dma_alloc() with extra VNI_DMA_MAPPING_* bits for the mapping. */
static int dma_alloc(struct vni_ctx *ctx, size_t len, unsigned int flags, uint32_t extra,
		     void **vaddrp)
{
	const unsigned int known = VNI_DMA_ALLOC_HUGE | VNI_DMA_ALLOC_SMALL;
	const bool contig = flags & VNI_DMA_ALLOC_CONTIG;
	bool try_huge, huge = false;
	size_t alen = 0;
	void *p = NULL;
	int ret;

	if (!ctx || !vaddrp)
		return vnip_err(-EINVAL, "vni_dma_alloc: NULL argument");
	if (len == 0)
		return vnip_err(-EINVAL, "vni_dma_alloc: zero length");
	if (flags & ~(known | VNI_DMA_ALLOC_CONTIG))
		return vnip_err(-EINVAL, "vni_dma_alloc: unknown flags %#x",
				flags & ~(known | VNI_DMA_ALLOC_CONTIG));
	if (contig && len > VNIP_HUGE_SIZE)
		return vnip_err(-EINVAL, "vni_dma_alloc: VNI_DMA_ALLOC_CONTIG promises at most "
				"2 MiB (one hugepage), not %zu bytes: split the buffer or use "
				"vni_dma_segments()", len);
	if (contig && len > VNIP_PAGE_SIZE && (flags & VNI_DMA_ALLOC_SMALL))
		return vnip_err(-EINVAL, "vni_dma_alloc: VNI_DMA_ALLOC_CONTIG with "
				"VNI_DMA_ALLOC_SMALL holds at most 4096 bytes (one page), not %zu",
				len);
	if (contig && len > VNIP_PAGE_SIZE)
		flags |= VNI_DMA_ALLOC_HUGE; /* only a hugepage is contiguous */
	if ((flags & known) == known)
		return vnip_err(-EINVAL, "vni_dma_alloc: VNI_DMA_ALLOC_HUGE and "
				"VNI_DMA_ALLOC_SMALL are exclusive");
	if (len > SIZE_MAX - VNIP_HUGE_SIZE)
		return vnip_err(-EOVERFLOW, "vni_dma_alloc: length %#zx too large", len);
	try_huge = (flags & VNI_DMA_ALLOC_HUGE) ||
		   (!(flags & VNI_DMA_ALLOC_SMALL) && len > VNIP_PAGE_SIZE);

	pthread_mutex_lock(&ctx->lock);
	ret = can_map(ctx);
	if (ret < 0)
		goto out;
	if (ctx->backend->unpinned) {
		/* Nothing pins the memory: only hugetlb pages stay put. */
		if (flags & VNI_DMA_ALLOC_SMALL) {
			ret = vnip_err_r(VNI_REASON_MAY_MOVE, -EINVAL,
					 "vni_dma_alloc: the %s backend allocates from 2 MiB "
					 "hugepages only (the kernel pins nothing, and 4 KiB "
					 "pages may move): drop VNI_DMA_ALLOC_SMALL",
					 ctx->backend->name);
			goto out;
		}
		flags |= VNI_DMA_ALLOC_HUGE;
		try_huge = true;
	}
	if (try_huge) {
		alen = (len + VNIP_HUGE_SIZE - 1) & ~(size_t)(VNIP_HUGE_SIZE - 1);
		p = mmap_anon(alen, MAP_HUGETLB | MAP_HUGE_2MB);
		if (p) {
			huge = true;
		} else if (flags & VNI_DMA_ALLOC_HUGE) {
			if (extra & VNI_DMA_MAPPING_POOL) {
				/* not logged: the pool may fall back to 4 KiB pages */
				ret = vnip_err_static(-ENOMEM, "no 2 MiB hugepage free: reserve "
						      "some (echo N > /proc/sys/vm/nr_hugepages)");
				goto out;
			}
			ret = vnip_err(-ENOMEM, "vni_dma_alloc: no 2 MiB hugepages for %zu bytes%s: "
				       "reserve some (echo N > /proc/sys/vm/nr_hugepages)", alen,
				       ctx->backend->unpinned ? " (the legacy backend allocates "
				       "only from hugepages)" : contig ? " (a physically "
				       "contiguous buffer above 4 KiB needs one)" : "");
			goto out;
		} else {
			vnip_warn("no 2 MiB hugepages for %zu bytes, using 4 KiB pages", alen);
		}
	}
	if (!p) {
		alen = (len + VNIP_PAGE_SIZE - 1) & ~(size_t)(VNIP_PAGE_SIZE - 1);
		p = mmap_anon(alen, 0);
		if (!p) {
			ret = vnip_err(errno ? -errno : -ENOMEM, "vni_dma_alloc: mmap of %zu bytes failed", alen);
			goto out;
		}
	}
	if (vnip_sys.madvise(p, alen, MADV_DONTFORK) < 0) {
		ret = vnip_err(-errno, "vni_dma_alloc: madvise(MADV_DONTFORK) failed");
		vnip_sys.munmap(p, alen);
		goto out;
	}
	ret = map_locked(ctx, (uint64_t)(uintptr_t)p, alen,
			 VNI_DMA_MAPPING_ALLOCATED | (huge ? VNI_DMA_MAPPING_HUGE : 0) | extra,
			 huge ? VNIP_HUGE_SIZE : VNIP_PAGE_SIZE, alen, 0);
	if (ret < 0) {
		vnip_sys.munmap(p, alen);
		goto out;
	}
	if (contig) {
		/* the promise: one run, aligned to the page size */
		ptrdiff_t i = find_le(ctx, (uint64_t)(uintptr_t)p);
		uint64_t d = vnip_xlate_lookup(&ctx->xlate, (uint64_t)(uintptr_t)p);
		size_t align = huge ? VNIP_HUGE_SIZE : VNIP_PAGE_SIZE;

		if (i < 0 || ctx->maps[i].runs != 1 || d == VNI_DMA_ADDR_INVALID ||
		    (d & (align - 1))) {
			ret = vnip_err(-EIO, "vni_dma_alloc: the kernel reports %" PRIu64
				       " physical runs at %#" PRIx64 " for a %zu-byte %s page: not "
				       "one aligned contiguous piece", i < 0 ? 0 : ctx->maps[i].runs,
				       d, alen, huge ? "huge" : "small");
			if (i >= 0 && unmap_locked(ctx, (size_t)i) < 0)
				vnip_log(VNI_LOG_ERROR, "vni_dma_alloc: could not undo %p", p);
			goto out;
		}
	}
	*vaddrp = p;
out:
	pthread_mutex_unlock(&ctx->lock);
	return ret;
}

int vni_dma_alloc(struct vni_ctx *ctx, size_t len, unsigned int flags, void **vaddrp)
{
	return dma_alloc(ctx, len, flags, 0, vaddrp);
}

int vnip_dma_alloc_pool(struct vni_ctx *ctx, size_t len, unsigned int flags, void **vaddrp)
{
	return dma_alloc(ctx, len, flags, VNI_DMA_MAPPING_POOL, vaddrp);
}

/* vni_dma_free(); pool: the caller is the pool that owns the buffer. */
static int dma_free(struct vni_ctx *ctx, void *vaddr, bool pool)
{
	uint64_t va = (uint64_t)(uintptr_t)vaddr;
	ptrdiff_t i;
	int ret;

	if (!ctx || !vaddr)
		return vnip_err(-EINVAL, "vni_dma_free: NULL argument");
	pthread_mutex_lock(&ctx->lock);
	i = find_le(ctx, va);
	if (i < 0 || ctx->maps[i].va != va)
		ret = vnip_err(-ENOENT, "vni_dma_free: %p is not a DMA buffer of this "
			       "context (already freed?)", vaddr);
	else if (!(ctx->maps[i].flags & VNI_DMA_MAPPING_ALLOCATED))
		ret = vnip_err(-EBUSY, "vni_dma_free: %p is caller memory: use vni_dma_unmap()",
			       vaddr);
	else if (!pool && (ctx->maps[i].flags & VNI_DMA_MAPPING_POOL))
		ret = vnip_err(-EBUSY, "vni_dma_free: %p is a chunk of a DMA pool: give its "
			       "objects back with vni_dma_pool_free()", vaddr);
	else
		ret = unmap_locked(ctx, (size_t)i);
	pthread_mutex_unlock(&ctx->lock);
	return ret;
}

int vni_dma_free(struct vni_ctx *ctx, void *vaddr)
{
	return dma_free(ctx, vaddr, false);
}

int vnip_dma_free_pool(struct vni_ctx *ctx, void *vaddr)
{
	return dma_free(ctx, vaddr, true);
}

uint64_t vni_dma_addr_fast(const struct vni_ctx *ctx, const void *vaddr)
{
	return vnip_xlate_lookup(&ctx->xlate, (uint64_t)(uintptr_t)vaddr);
}

uint64_t vni_dma_addr_len(const struct vni_ctx *ctx, const void *vaddr, size_t *len)
{
	uint64_t got, a;

	if (!len)
		return vnip_xlate_lookup(&ctx->xlate, (uint64_t)(uintptr_t)vaddr);
	if (*len == 0)
		*len = SIZE_MAX;
	a = vnip_xlate_contig(&ctx->xlate, (uint64_t)(uintptr_t)vaddr, *len, &got);
	if (a != VNI_DMA_ADDR_INVALID)
		*len = (size_t)got;
	return a;
}

int vni_dma_addr(const struct vni_ctx *ctx, const void *vaddr, uint64_t *dma)
{
	unsigned int tries = 0;
	uint64_t a, e;
	int ret;

	if (!ctx || !dma)
		return vnip_err_static(-EINVAL, "vni_dma_addr: NULL argument");
	do {
		e = xlate_epoch(ctx);
		a = vnip_xlate_lookup(&ctx->xlate, (uint64_t)(uintptr_t)vaddr);
		if (a != VNI_DMA_ADDR_INVALID)
			break;
		ret = xlate_fail(ctx, e, tries++, "vni_dma_addr: address is not DMA-mapped",
				 "vni_dma_addr: no device attached: DMA addresses are not "
				 "valid until a device is open in the context");
		if (ret < 0)
			return ret;
	} while (ret > 0);
	*dma = a;
	return 0;
}

/* Common walker for contig/segments: every byte of [vaddr, vaddr+len) must be
 * translated. Fills up to max_segs segments, *nsegs = segments needed. With
 * contig, the first segment is what counts: no -ENOSPC. */
static int seg_walk(const struct vni_ctx *ctx, const void *vaddr, size_t len,
		    struct vni_dma_seg *segs, size_t max_segs, size_t *nsegs,
		    bool contig)
{
	uint64_t va, end = (uint64_t)(uintptr_t)vaddr + len;
	uint64_t cur_dma, cur_len, e;
	unsigned int tries = 0;
	size_t n;
	int ret;

again:
	va = (uint64_t)(uintptr_t)vaddr;
	cur_dma = 0;
	cur_len = 0;
	n = 0;
	e = xlate_epoch(ctx);
	while (va < end) {
		uint64_t rest, a = vnip_xlate_lookup_run(&ctx->xlate, va, &rest);

		if (a == VNI_DMA_ADDR_INVALID) {
			ret = xlate_fail(ctx, e, tries++, contig ?
					  "vni_dma_contig: range is not entirely DMA-mapped" :
					  "vni_dma_segments: range is not entirely DMA-mapped",
					  contig ?
					  "vni_dma_contig: no device attached: DMA addresses are "
					  "not valid until a device is open in the context" :
					  "vni_dma_segments: no device attached: DMA addresses "
					  "are not valid until a device is open in the context");
			if (ret > 0)
				goto again;
			return ret;
		}
		if (rest > end - va)
			rest = end - va;
		if (cur_len && cur_dma + cur_len == a) {
			cur_len += rest;
		} else {
			if (cur_len) {
				if (n < max_segs) {
					segs[n].dma = cur_dma;
					segs[n].len = cur_len;
				}
				n++;
			}
			cur_dma = a;
			cur_len = rest;
		}
		va += rest;
	}
	/* A close/open during the walk: start again for one consistent view. */
	if (xlate_epoch(ctx) != e && tries++ < XLATE_RETRIES)
		goto again;
	if (n < max_segs) {
		segs[n].dma = cur_dma;
		segs[n].len = cur_len;
	}
	n++;
	*nsegs = n;
	if (n > max_segs && !contig)
		return vnip_err_static(-ENOSPC, "vni_dma_segments: more segments than max_segs");
	return 0;
}

int vni_dma_contig(const struct vni_ctx *ctx, const void *vaddr, size_t len,
		   uint64_t *dma, size_t *contig)
{
	uint64_t va = (uint64_t)(uintptr_t)vaddr, a, got = 0, e;
	unsigned int tries = 0;
	int ret;

	if (!ctx || !vaddr || !dma || !contig)
		return vnip_err_static(-EINVAL, "vni_dma_contig: NULL argument");
	if (len == 0)
		return vnip_err_static(-EINVAL, "vni_dma_contig: zero length");
	if (va + len < va)
		return vnip_err_static(-EOVERFLOW, "vni_dma_contig: range wraps around");
	for (;;) {
		e = xlate_epoch(ctx);
		a = vnip_xlate_contig(&ctx->xlate, va, len, &got);
		/* The first piece ends early: at a discontinuity (fine) or at
		 * a byte that is not mapped (-ENOENT). */
		if (a != VNI_DMA_ADDR_INVALID &&
		    (got == len || vnip_xlate_lookup(&ctx->xlate, va + got) != VNI_DMA_ADDR_INVALID)) {
			if (xlate_epoch(ctx) == e || tries++ >= XLATE_RETRIES)
				break;
			continue; /* a close/open ran meanwhile: one consistent view */
		}
		ret = xlate_fail(ctx, e, tries++, "vni_dma_contig: range is not entirely DMA-mapped",
				 "vni_dma_contig: no device attached: DMA addresses are "
				 "not valid until a device is open in the context");
		if (ret < 0)
			return ret;
	}
	*dma = a;
	*contig = (size_t)got;
	return 0;
}

int vni_dma_segments(const struct vni_ctx *ctx, const void *vaddr, size_t len,
		     struct vni_dma_seg *segs, size_t max_segs, size_t *nsegs)
{
	if (!ctx || !vaddr || !nsegs)
		return vnip_err_static(-EINVAL, "vni_dma_segments: NULL argument");
	if (len == 0)
		return vnip_err_static(-EINVAL, "vni_dma_segments: zero length");
	if (!segs && max_segs)
		return vnip_err_static(-EINVAL, "vni_dma_segments: NULL segs with max_segs > 0");
	if ((uint64_t)(uintptr_t)vaddr + len < (uint64_t)(uintptr_t)vaddr)
		return vnip_err_static(-EOVERFLOW, "vni_dma_segments: range wraps around");
	return seg_walk(ctx, vaddr, len, segs, max_segs, nsegs, false);
}

int vni_dma_lookup(struct vni_ctx *ctx, const void *vaddr,
		   struct vni_dma_mapping_info *out)
{
	struct vni_dma_mapping_info mi = { 0 }, *info = &mi;
	uint64_t va = (uint64_t)(uintptr_t)vaddr;
	ptrdiff_t i;
	int ret;

	if (!ctx || !out)
		return vnip_err(-EINVAL, "vni_dma_lookup: NULL argument");
	ret = vnip_out_check(out, sizeof(*out), "vni_dma_lookup");
	if (ret < 0)
		return ret;
	pthread_mutex_lock(&ctx->lock);
	i = find_le(ctx, va);
	if (i < 0 || ctx->maps[i].va + ctx->maps[i].len <= va) {
		ret = vnip_err(-ENOENT, "vni_dma_lookup: %p is not DMA-mapped", vaddr);
	} else {
		const struct vnip_mapping *m = &ctx->maps[i];

		info->vaddr = (void *)(uintptr_t)m->va;
		info->len = (size_t)m->len;
		info->page_size = m->page_size;
		info->runs = m->runs;
		info->flags = m->flags;
		vnip_out(out, info, sizeof(*info));
	}
	pthread_mutex_unlock(&ctx->lock);
	return ret;
}
