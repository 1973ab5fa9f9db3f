/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvfionoiommu - DMA pools: small objects carved from pinned chunks.
 *
 * Objects are named by a 32-bit number: chunk index << OBJ_BITS | object
 * index in the chunk. The free list is a stack of such numbers, big enough
 * for every object of the pool, so freeing never allocates. free() finds
 * the chunk of an address through a hash of the chunks' 4 KiB pages.
 */
#include <stdio.h>
#include <string.h>

#include "backend/backend.h"
#include "internal.h"

#define HUGE_CHUNK VNIP_HUGE_SIZE
#define SMALL_CHUNK ((uint64_t)64 << 10)
/* 2 MiB / 64 B objects per chunk at most */
#define OBJ_BITS 15
#define MAX_CHUNKS ((uint32_t)1 << (32 - OBJ_BITS))

struct pool_chunk {
	uint64_t va;
	uint64_t len;
	uint64_t *used;         /* one bit per object: allocated */
	uint32_t nobjs;
	bool huge;
};

struct vni_dma_pool {
	struct vni_ctx *ctx;
	pthread_mutex_t lock;
	size_t obj_size;
	unsigned int obj_shift;
	size_t max_objs;
	unsigned int flags;
	struct pool_chunk *chunks;
	uint32_t nchunks, cap_chunks;
	uint32_t *free_ids;     /* stack; capacity >= objs */
	uint64_t nfree, cap_free;
	uint64_t objs, in_use, huge_chunks, bytes;
	/* page number + 1 (0: empty slot) -> chunk index; linear probing,
	 * at most half full, never shrinks */
	uint64_t *hkeys;
	uint32_t *hvals;
	uint64_t hcap, hused;
};

static uint64_t hash_page(uint64_t page, uint64_t cap)
{
	/* Fibonacci hashing (the top bits): consecutive pages spread out */
	return (page * 0x9e3779b97f4a7c15ull) >> (64 - __builtin_ctzll(cap));
}

static void hash_put(struct vni_dma_pool *p, uint64_t page, uint32_t chunk)
{
	uint64_t i = hash_page(page, p->hcap);

	while (p->hkeys[i])
		i = (i + 1) & (p->hcap - 1);
	p->hkeys[i] = page + 1;
	p->hvals[i] = chunk;
	p->hused++;
}

/* Chunk holding va, or NULL. */
static struct pool_chunk *hash_get(const struct vni_dma_pool *p, uint64_t va)
{
	uint64_t page = va >> VNIP_PAGE_SHIFT, i = hash_page(page, p->hcap);

	for (; p->hkeys[i]; i = (i + 1) & (p->hcap - 1))
		if (p->hkeys[i] == page + 1)
			return &p->chunks[p->hvals[i]];
	return NULL;
}

/* Room in the hash for `more` further pages: 0 or -ENOMEM (unchanged). */
static int hash_reserve(struct vni_dma_pool *p, uint64_t more)
{
	uint64_t ncap = p->hcap ? p->hcap : 1024, *okeys = p->hkeys, ocap = p->hcap;
	uint32_t *ovals = p->hvals;

	while ((p->hused + more) * 2 > ncap)
		ncap *= 2;
	if (ncap == p->hcap)
		return 0;
	p->hkeys = vnip_calloc(ncap, sizeof(*p->hkeys));
	p->hvals = vnip_malloc(ncap * sizeof(*p->hvals));
	if (!p->hkeys || !p->hvals) {
		vnip_free(p->hkeys);
		vnip_free(p->hvals);
		p->hkeys = okeys;
		p->hvals = ovals;
		return vnip_err(-ENOMEM, "DMA pool: out of memory for the page hash");
	}
	p->hcap = ncap;
	p->hused = 0;
	for (uint64_t i = 0; i < ocap; i++)
		if (okeys[i])
			hash_put(p, okeys[i] - 1, ovals[i]);
	vnip_free(okeys);
	vnip_free(ovals);
	return 0;
}

/* Grow an array of n elements of size sz to hold at least want. */
static int grow_array(void **arr, uint64_t n, uint64_t *cap, uint64_t want, size_t sz)
{
	uint64_t ncap = *cap ? *cap : 16;
	void *a;

	if (want <= *cap)
		return 0;
	while (ncap < want)
		ncap *= 2;
	a = vnip_malloc(ncap * sz);
	if (!a)
		return vnip_err(-ENOMEM, "DMA pool: out of memory for its bookkeeping");
	if (n)
		memcpy(a, *arr, n * sz);
	vnip_free(*arr);
	*arr = a;
	*cap = ncap;
	return 0;
}

static uint32_t objs_per(const struct vni_dma_pool *p, bool huge)
{
	return (uint32_t)((huge ? HUGE_CHUNK : SMALL_CHUNK) >> p->obj_shift);
}

static bool may_use_small(const struct vni_dma_pool *p)
{
	struct vni_ctx *ctx = p->ctx;
	bool unpinned;

	if (p->obj_size > VNIP_PAGE_SIZE || (p->flags & VNI_DMA_POOL_HUGE))
		return false;
	/* the legacy backend has hugepage buffers only */
	pthread_mutex_lock(&ctx->lock);
	unpinned = ctx->backend && ctx->backend->unpinned;
	pthread_mutex_unlock(&ctx->lock);
	return !unpinned;
}

/* Say that the failure of vni_dma_alloc() was the pool's growth, keeping
 * the reason code. log: the failure was not logged yet (no hugepage). */
static int chunk_err(const struct vni_dma_pool *p, int ret, bool huge, bool log)
{
	enum vni_reason reason = vni_reason_last();
	char msg[600];

	snprintf(msg, sizeof(msg), "DMA pool of %zu-byte objects: cannot add a %s chunk: %s",
		 p->obj_size, huge ? "2 MiB hugepage" : "64 KiB", vni_strerror_last());
	if (!log)
		return vnip_err_keep(ret, msg);
	ret = vnip_err(ret, "%s", msg);
	vnip_reason_set(reason);
	return ret;
}

/* Add one chunk. Caller holds p->lock. Everything that can fail except the
 * chunk itself is reserved first, so a failure leaves no chunk behind. */
static int grow(struct vni_dma_pool *p)
{
	uint64_t cap_chunks = p->cap_chunks, most = objs_per(p, true), nwords;
	struct pool_chunk *c;
	uint64_t *used;
	bool huge = true; /* the kind being allocated, then the kind obtained */
	void *mem = NULL;
	int ret;

	if (p->nchunks == MAX_CHUNKS)
		return vnip_err(-ENOMEM, "DMA pool: %u chunks, the most a pool has", MAX_CHUNKS);
	ret = grow_array((void **)&p->chunks, p->nchunks, &cap_chunks, p->nchunks + 1,
			 sizeof(*p->chunks));
	if (ret < 0)
		return ret;
	p->cap_chunks = (uint32_t)cap_chunks;
	ret = grow_array((void **)&p->free_ids, p->nfree, &p->cap_free, p->objs + most,
			 sizeof(*p->free_ids));
	if (ret < 0)
		return ret;
	ret = hash_reserve(p, HUGE_CHUNK >> VNIP_PAGE_SHIFT);
	if (ret < 0)
		return ret;
	nwords = (most + 63) / 64;
	used = vnip_calloc(nwords, sizeof(*used));
	if (!used)
		return vnip_err(-ENOMEM, "DMA pool: out of memory for a chunk's bitmap");

	if (!(p->flags & VNI_DMA_POOL_SMALL)) {
		ret = vnip_dma_alloc_pool(p->ctx, HUGE_CHUNK,
					  VNI_DMA_ALLOC_HUGE | VNI_DMA_ALLOC_CONTIG, &mem);
		if (ret == -ENOMEM && may_use_small(p))
			vnip_warn("DMA pool of %zu-byte objects: no 2 MiB hugepage free, "
				  "growing by 64 KiB of 4 KiB pages", p->obj_size);
		else if (ret < 0)
			goto fail;
	}
	if (!mem) {
		huge = false;
		ret = vnip_dma_alloc_pool(p->ctx, SMALL_CHUNK, VNI_DMA_ALLOC_SMALL, &mem);
		if (ret < 0)
			goto fail;
	}

	c = &p->chunks[p->nchunks];
	c->va = (uint64_t)(uintptr_t)mem;
	c->len = huge ? HUGE_CHUNK : SMALL_CHUNK;
	c->used = used;
	c->nobjs = objs_per(p, huge);
	c->huge = huge;
	for (uint64_t off = 0; off < c->len; off += VNIP_PAGE_SIZE)
		hash_put(p, (c->va + off) >> VNIP_PAGE_SHIFT, p->nchunks);
	/* pushed last to first: allocations walk the chunk upwards */
	for (uint32_t i = c->nobjs; i-- > 0;)
		p->free_ids[p->nfree++] = p->nchunks << OBJ_BITS | i;
	p->objs += c->nobjs;
	p->bytes += c->len;
	p->huge_chunks += huge;
	p->nchunks++;
	vnip_debug("DMA pool of %zu-byte objects: chunk %u at %p, %s, %u objects", p->obj_size,
		   p->nchunks - 1, mem, huge ? "2 MiB hugepage" : "64 KiB of 4 KiB pages",
		   c->nobjs);
	return 0;
fail:
	vnip_free(used);
	return chunk_err(p, ret, huge, huge && ret == -ENOMEM);
}

static void pool_free_meta(struct vni_dma_pool *p)
{
	for (uint32_t i = 0; i < p->nchunks; i++)
		vnip_free(p->chunks[i].used);
	vnip_free(p->chunks);
	vnip_free(p->free_ids);
	vnip_free(p->hkeys);
	vnip_free(p->hvals);
	pthread_mutex_destroy(&p->lock);
	vnip_free(p);
}

/* Free every chunk; the first error of vni_dma_free(), or 0. */
static int free_chunks(struct vni_dma_pool *p)
{
	int first = 0;

	for (uint32_t i = 0; i < p->nchunks; i++) {
		int ret = vnip_dma_free_pool(p->ctx, (void *)(uintptr_t)p->chunks[i].va);

		if (ret < 0 && !first)
			first = ret;
	}
	return first;
}

int vni_dma_pool_create(struct vni_ctx *ctx, size_t obj_size, size_t max_objs,
			unsigned int flags, struct vni_dma_pool **poolp)
{
	const unsigned int kinds = VNI_DMA_POOL_HUGE | VNI_DMA_POOL_SMALL;
	struct vni_dma_pool *p;
	int ret;

	if (!ctx || !poolp)
		return vnip_err(-EINVAL, "vni_dma_pool_create: NULL argument");
	if (obj_size < VNI_DMA_POOL_MIN_OBJ || obj_size > VNI_DMA_POOL_MAX_OBJ ||
	    (obj_size & (obj_size - 1)))
		return vnip_err(-EINVAL, "vni_dma_pool_create: object size %zu is not a power "
				"of two from 64 to 2 MiB", obj_size);
	if (flags & ~(kinds | VNI_DMA_POOL_ZERO))
		return vnip_err(-EINVAL, "vni_dma_pool_create: unknown flags %#x",
				flags & ~(kinds | VNI_DMA_POOL_ZERO));
	if ((flags & kinds) == kinds)
		return vnip_err(-EINVAL, "vni_dma_pool_create: VNI_DMA_POOL_HUGE and "
				"VNI_DMA_POOL_SMALL are exclusive");
	if ((flags & VNI_DMA_POOL_SMALL) && obj_size > VNIP_PAGE_SIZE)
		return vnip_err(-EINVAL, "vni_dma_pool_create: %zu-byte objects do not fit "
				"in a 4 KiB page (VNI_DMA_POOL_SMALL); only hugepage chunks "
				"hold them", obj_size);

	p = vnip_calloc(1, sizeof(*p));
	if (!p)
		return vnip_err(-ENOMEM, "vni_dma_pool_create: out of memory");
	ret = pthread_mutex_init(&p->lock, NULL);
	if (ret) {
		vnip_free(p);
		return vnip_err(-ret, "vni_dma_pool_create: pthread_mutex_init failed");
	}
	p->ctx = ctx;
	p->obj_size = obj_size;
	p->obj_shift = (unsigned int)__builtin_ctzl(obj_size);
	p->max_objs = max_objs;
	p->flags = flags;
	ret = grow(p);
	if (ret < 0) {
		/* grow() added no chunk */
		pool_free_meta(p);
		return ret;
	}
	pthread_mutex_lock(&ctx->lock);
	ctx->npools++;
	pthread_mutex_unlock(&ctx->lock);
	vnip_debug("DMA pool created: %zu-byte objects, max %zu", obj_size, max_objs);
	*poolp = p;
	return 0;
}

int vni_dma_pool_alloc(struct vni_dma_pool *p, void **vaddrp, uint64_t *dmap)
{
	struct pool_chunk *c;
	uint32_t id, i;
	uint64_t dma = 0;
	void *obj = NULL;
	int ret;

	if (!p || !vaddrp)
		return vnip_err_static(-EINVAL, "vni_dma_pool_alloc: NULL argument");
	pthread_mutex_lock(&p->lock);
	if (p->max_objs && p->in_use >= p->max_objs) {
		ret = vnip_err(-ENOMEM, "vni_dma_pool_alloc: all %zu objects of the pool "
			       "(its maximum) are in use", p->max_objs);
		goto out;
	}
	if (!p->nfree) {
		ret = grow(p);
		if (ret < 0)
			goto out;
	}
	id = p->free_ids[p->nfree - 1];
	c = &p->chunks[id >> OBJ_BITS];
	i = id & (((uint32_t)1 << OBJ_BITS) - 1);
	obj = (void *)(uintptr_t)(c->va + ((uint64_t)i << p->obj_shift));
	if (dmap) {
		ret = vni_dma_addr(p->ctx, obj, &dma);
		if (ret < 0)
			goto out;
	}
	p->nfree--;
	c->used[i / 64] |= (uint64_t)1 << (i % 64);
	p->in_use++;
	ret = 0;
out:
	pthread_mutex_unlock(&p->lock);
	if (ret < 0)
		return ret;
	if (p->flags & VNI_DMA_POOL_ZERO)
		memset(obj, 0, p->obj_size);
	*vaddrp = obj;
	if (dmap)
		*dmap = dma;
	return 0;
}

int vni_dma_pool_free(struct vni_dma_pool *p, void *vaddr)
{
	uint64_t va = (uint64_t)(uintptr_t)vaddr, bit;
	struct pool_chunk *c;
	uint32_t i;
	int ret = 0;

	if (!p || !vaddr)
		return vnip_err_static(-EINVAL, "vni_dma_pool_free: NULL argument");
	pthread_mutex_lock(&p->lock);
	c = hash_get(p, va);
	if (!c || (va & (p->obj_size - 1))) {
		ret = vnip_err(-EINVAL, "vni_dma_pool_free: %p is not an object of this pool "
			       "(%zu-byte objects)", vaddr, p->obj_size);
		goto out;
	}
	i = (uint32_t)((va - c->va) >> p->obj_shift);
	bit = (uint64_t)1 << (i % 64);
	if (!(c->used[i / 64] & bit)) {
		ret = vnip_err(-EINVAL, "vni_dma_pool_free: object %p is not allocated "
			       "(freed twice?)", vaddr);
		goto out;
	}
	c->used[i / 64] &= ~bit;
	p->free_ids[p->nfree++] = (uint32_t)(c - p->chunks) << OBJ_BITS | i;
	p->in_use--;
out:
	pthread_mutex_unlock(&p->lock);
	return ret;
}

int vni_dma_pool_destroy(struct vni_dma_pool **poolp)
{
	struct vni_dma_pool *p;
	struct vni_ctx *ctx;
	int ret;

	if (!poolp)
		return vnip_err(-EINVAL, "vni_dma_pool_destroy: NULL poolp");
	p = *poolp;
	if (!p)
		return vnip_err(-EBADF, "vni_dma_pool_destroy: the pool was already "
				"destroyed (NULL)");
	ctx = p->ctx;
	if (p->in_use)
		vnip_debug("DMA pool destroyed with %" PRIu64 " object(s) in use", p->in_use);
	ret = free_chunks(p);
	pool_free_meta(p);
	pthread_mutex_lock(&ctx->lock);
	ctx->npools--;
	pthread_mutex_unlock(&ctx->lock);
	*poolp = NULL;
	return ret;
}

int vni_dma_pool_info(struct vni_dma_pool *p, struct vni_dma_pool_info *out)
{
	struct vni_dma_pool_info s = { 0 }, *info = &s;
	int ret;

	if (!p || !out)
		return vnip_err(-EINVAL, "vni_dma_pool_info: NULL argument");
	ret = vnip_out_check(out, sizeof(*out), "vni_dma_pool_info");
	if (ret < 0)
		return ret;
	pthread_mutex_lock(&p->lock);
	info->obj_size = p->obj_size;
	info->max_objs = p->max_objs;
	info->objs = p->objs;
	info->in_use = p->in_use;
	info->chunks = p->nchunks;
	info->huge_chunks = p->huge_chunks;
	info->bytes = p->bytes;
	pthread_mutex_unlock(&p->lock);
	vnip_out(out, info, sizeof(*info));
	return 0;
}
