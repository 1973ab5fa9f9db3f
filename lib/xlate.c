/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvfionoiommu - the lock-free translation table (see internal.h): the
 * writer side. Lookups are inline in internal.h.
 */
#include <string.h>
#include <sys/mman.h>

#include "internal.h"

#define L0_BYTES (VNIP_L0_ENTRIES * sizeof(uintptr_t))
#define SLOTS_BYTES (VNIP_BLOCKS * sizeof(vnip_slot))
#define PAGES_BYTES ((size_t)VNIP_BLOCKS * VNIP_PAGES_PER_BLOCK * sizeof(vnip_slot))
#define META_OFF (SLOTS_BYTES + PAGES_BYTES)
#define REGION_BYTES (META_OFF + VNIP_PAGE_SIZE)

/* Writer-only bookkeeping of a region, in its last page. */
struct vnip_region_meta {
	void *next;                          /* list of regions, for freeing */
	uint32_t nleaves;                    /* blocks that are leaves */
	uint16_t nvalid[VNIP_BLOCKS];        /* valid 4 KiB entries per block */
	uint64_t committed[VNIP_BLOCKS / 64]; /* block's entry page written */
};

_Static_assert(sizeof(struct vnip_region_meta) <= VNIP_PAGE_SIZE, "region metadata");

static inline struct vnip_region_meta *meta_of(vnip_slot *r)
{
	return (struct vnip_region_meta *)(void *)((char *)r + META_OFF);
}

static inline size_t blk(uint64_t va)
{
	return (size_t)((va >> VNIP_L1_SHIFT) & (VNIP_BLOCKS - 1));
}

static inline vnip_slot *pages_of(vnip_slot *r, size_t b)
{
	return r + VNIP_BLOCKS + b * VNIP_PAGES_PER_BLOCK;
}

static inline size_t pg(uint64_t va)
{
	return (size_t)((va >> VNIP_PAGE_SHIFT) & (VNIP_PAGES_PER_BLOCK - 1));
}

static inline uint64_t hint(uint64_t n)
{
	return (uint64_t)(n > VNIP_E_HINT_MAX ? VNIP_E_HINT_MAX : n) << VNIP_E_HINT_SHIFT;
}

int vnip_xlate_init(struct vnip_xlate *x)
{
	void *p;

	memset(x, 0, sizeof(*x));
	/* Reserved address space; the kernel commits zero pages lazily, one
	 * 4 KiB page of it per 512 GiB of virtual address space in use. */
	p = vnip_sys.mmap(NULL, L0_BYTES, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	x->l0 = p;
	return 0;
}

void vnip_xlate_fini(struct vnip_xlate *x)
{
	void *r = x->regions;

	while (r) {
		void *next = meta_of(r)->next;

		vnip_sys.munmap(r, REGION_BYTES);
		r = next;
	}
	if (x->l0)
		vnip_sys.munmap((void *)x->l0, L0_BYTES);
	memset(x, 0, sizeof(*x));
}

static vnip_slot *region_get(const struct vnip_xlate *x, uint64_t va)
{
	return (vnip_slot *)(atomic_load_explicit(&x->l0[va >> VNIP_L0_SHIFT],
						  memory_order_relaxed) & ~VNIP_L0_HAS_LEAVES);
}

/* Before a leaf is stored into region r (at va): readers must look at the
 * block slots from now on. */
static void leaf_add(struct vnip_xlate *x, vnip_slot *r, uint64_t va)
{
	if (meta_of(r)->nleaves++ == 0)
		atomic_store_explicit(&x->l0[va >> VNIP_L0_SHIFT],
				      (uintptr_t)r | VNIP_L0_HAS_LEAVES, memory_order_release);
	atomic_fetch_add_explicit(&x->leaf_2m, 1, memory_order_relaxed);
}

/* After a leaf of region r was cleared. */
static void leaf_del(struct vnip_xlate *x, vnip_slot *r, uint64_t va)
{
	if (--meta_of(r)->nleaves == 0)
		atomic_store_explicit(&x->l0[va >> VNIP_L0_SHIFT], (uintptr_t)r,
				      memory_order_release);
	atomic_fetch_sub_explicit(&x->leaf_2m, 1, memory_order_relaxed);
}

static vnip_slot *region_ensure(struct vnip_xlate *x, uint64_t va)
{
	vnip_slot *r = region_get(x, va);
	void *p;

	if (r)
		return r;
	p = vnip_sys.mmap(NULL, REGION_BYTES, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	r = p;
	meta_of(r)->next = x->regions;
	x->regions = r;
	x->nregions++;
	/* the slot page and the metadata page */
	atomic_fetch_add_explicit(&x->table_bytes, 2 * VNIP_PAGE_SIZE, memory_order_relaxed);
	atomic_store_explicit(&x->l0[va >> VNIP_L0_SHIFT], (uintptr_t)r, memory_order_release);
	return r;
}

static void commit_block(struct vnip_xlate *x, vnip_slot *r, size_t b)
{
	struct vnip_region_meta *m = meta_of(r);

	if (!(m->committed[b / 64] & ((uint64_t)1 << (b % 64)))) {
		m->committed[b / 64] |= (uint64_t)1 << (b % 64);
		atomic_fetch_add_explicit(&x->table_bytes, VNIP_PAGE_SIZE, memory_order_relaxed);
	}
}

/* All 512 pages of block b are mapped: make it a leaf if they are one
 * contiguous run. The 4 KiB entries stay (they agree with the leaf). */
static void try_promote(struct vnip_xlate *x, vnip_slot *r, size_t b, uint64_t va)
{
	vnip_slot *p = pages_of(r, b);
	uint64_t delta = atomic_load_explicit(&p[0], memory_order_relaxed) & VNIP_E_DELTA_MASK;
	uint64_t last;

	/* one run <=> every page has the same DMA - VA difference */
	for (size_t k = 1; k < VNIP_PAGES_PER_BLOCK; k++)
		if ((atomic_load_explicit(&p[k], memory_order_relaxed) & VNIP_E_DELTA_MASK) != delta)
			return;
	last = atomic_load_explicit(&p[VNIP_PAGES_PER_BLOCK - 1], memory_order_relaxed);
	leaf_add(x, r, va);
	/* pages after the block's last page -> whole blocks after the block */
	atomic_store_explicit(&r[b], delta | VNIP_E_VALID | VNIP_E_LEAF |
			      hint(VNIP_E_HINT(last) / VNIP_PAGES_PER_BLOCK),
			      memory_order_release);
	atomic_fetch_sub_explicit(&x->leaf_4k, VNIP_PAGES_PER_BLOCK, memory_order_relaxed);
}

int vnip_xlate_set(struct vnip_xlate *x, uint64_t va, uint64_t len,
		   uint64_t dma)
{
	uint64_t end = va + len, delta = (dma - va) & VNIP_E_DELTA_MASK;
	uint64_t block;

	for (block = va & ~(VNIP_HUGE_SIZE - 1); block < end; block += VNIP_HUGE_SIZE) {
		uint64_t s = block > va ? block : va;
		uint64_t e = block + VNIP_HUGE_SIZE < end ? block + VNIP_HUGE_SIZE : end;
		vnip_slot *r = region_ensure(x, block), *p;
		struct vnip_region_meta *m;
		size_t b = blk(block);
		uint64_t added = 0;

		if (!r)
			return -ENOMEM;
		m = meta_of(r);
		if (atomic_load_explicit(&r[b], memory_order_relaxed) & VNIP_E_LEAF)
			return -EEXIST; /* overlap: prevented by the caller */
		if (s == block && e == block + VNIP_HUGE_SIZE && m->nvalid[b] == 0) {
			leaf_add(x, r, block);
			atomic_store_explicit(&r[b], delta | VNIP_E_VALID | VNIP_E_LEAF |
					      hint((end - e) >> VNIP_HUGE_SHIFT),
					      memory_order_release);
			continue;
		}
		commit_block(x, r, b);
		p = pages_of(r, b);
		for (uint64_t a = s; a < e; a += VNIP_PAGE_SIZE) {
			vnip_slot *ent = &p[pg(a)];

			if (!atomic_load_explicit(ent, memory_order_relaxed))
				added++;
			atomic_store_explicit(ent, delta | VNIP_E_VALID |
					      hint(((end - a) >> VNIP_PAGE_SHIFT) - 1),
					      memory_order_relaxed);
		}
		m->nvalid[b] = (uint16_t)(m->nvalid[b] + added);
		atomic_fetch_add_explicit(&x->leaf_4k, added, memory_order_relaxed);
		if (m->nvalid[b] == VNIP_PAGES_PER_BLOCK)
			try_promote(x, r, b, block);
	}
	return 0;
}

/* Zero every 4 KiB entry of block b. */
static void zap_pages(vnip_slot *r, size_t b)
{
	vnip_slot *p = pages_of(r, b);

	for (size_t k = 0; k < VNIP_PAGES_PER_BLOCK; k++)
		atomic_store_explicit(&p[k], 0, memory_order_relaxed);
	meta_of(r)->nvalid[b] = 0;
}

void vnip_xlate_clear(struct vnip_xlate *x, uint64_t va, uint64_t len)
{
	uint64_t end = va + len;
	uint64_t block;

	for (block = va & ~(VNIP_HUGE_SIZE - 1); block < end; block += VNIP_HUGE_SIZE) {
		uint64_t s = block > va ? block : va;
		uint64_t e = block + VNIP_HUGE_SIZE < end ? block + VNIP_HUGE_SIZE : end;
		vnip_slot *r = region_get(x, block), *p;
		struct vnip_region_meta *m;
		size_t b = blk(block);
		uint64_t cur;

		if (!r)
			continue;
		m = meta_of(r);
		p = pages_of(r, b);
		cur = atomic_load_explicit(&r[b], memory_order_relaxed);
		if (cur & VNIP_E_LEAF) {
			uint64_t delta = cur & VNIP_E_DELTA_MASK;
			uint64_t after = VNIP_E_HINT(cur) * VNIP_PAGES_PER_BLOCK;
			uint16_t left = 0;

			if (s == block && e == block + VNIP_HUGE_SIZE) {
				atomic_store_explicit(&r[b], 0, memory_order_release);
				if (m->nvalid[b])
					zap_pages(r, b);
				leaf_del(x, r, block);
				continue;
			}
			/* Demote: 4 KiB entries for the pages that stay, written
			 * before the slot is cleared. The run of a page before
			 * the hole ends at the hole; after it, the leaf's run. */
			commit_block(x, r, b);
			for (size_t k = 0; k < VNIP_PAGES_PER_BLOCK; k++) {
				uint64_t a = block + k * VNIP_PAGE_SIZE, v = 0;

				if (a < s)
					v = delta | VNIP_E_VALID |
					    hint(((s - a) >> VNIP_PAGE_SHIFT) - 1);
				else if (a >= e)
					v = delta | VNIP_E_VALID |
					    hint(VNIP_PAGES_PER_BLOCK - 1 - k + after);
				if (v)
					left++;
				atomic_store_explicit(&p[k], v, memory_order_relaxed);
			}
			m->nvalid[b] = left;
			atomic_store_explicit(&r[b], 0, memory_order_release);
			leaf_del(x, r, block);
			atomic_fetch_add_explicit(&x->leaf_4k, left, memory_order_relaxed);
			continue;
		}
		if (!m->nvalid[b])
			continue;
		for (uint64_t a = s; a < e; a += VNIP_PAGE_SIZE) {
			vnip_slot *ent = &p[pg(a)];

			if (atomic_load_explicit(ent, memory_order_relaxed)) {
				atomic_store_explicit(ent, 0, memory_order_relaxed);
				m->nvalid[b]--;
				atomic_fetch_sub_explicit(&x->leaf_4k, 1, memory_order_relaxed);
			}
		}
	}
}
