/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvfionoiommu - the lock-free translation table (see internal.h).
 */
#include <string.h>
#include <sys/mman.h>

#include "internal.h"

typedef _Atomic(uint64_t) vnip_slot;

#define TABLE_BYTES (VNIP_L1_ENTRIES * sizeof(vnip_slot))
#define L0_BYTES (VNIP_L0_ENTRIES * sizeof(vnip_slot))

static inline size_t idx0(uint64_t va) { return (size_t)(va >> VNIP_L0_SHIFT); }
static inline size_t idx1(uint64_t va) { return (size_t)((va >> VNIP_L1_SHIFT) & (VNIP_L1_ENTRIES - 1)); }
static inline size_t idx2(uint64_t va) { return (size_t)((va >> VNIP_PAGE_SHIFT) & (VNIP_L2_ENTRIES - 1)); }

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
	atomic_store(&x->table_bytes, 0);
	return 0;
}

void vnip_xlate_fini(struct vnip_xlate *x)
{
	for (size_t i = 0; i < x->ntables; i++)
		vnip_free(x->tables[i]);
	vnip_free(x->tables);
	if (x->l0)
		vnip_sys.munmap((void *)x->l0, L0_BYTES);
	memset(x, 0, sizeof(*x));
}

static vnip_slot *table_new(struct vnip_xlate *x)
{
	vnip_slot *t;

	if (x->ntables == x->cap_tables) {
		size_t ncap = x->cap_tables ? x->cap_tables * 2 : 64;
		void **nt = vnip_malloc(ncap * sizeof(*nt));

		if (!nt)
			return NULL;
		if (x->ntables)
			memcpy(nt, x->tables, x->ntables * sizeof(*nt));
		vnip_free(x->tables);
		x->tables = nt;
		x->cap_tables = ncap;
	}
	t = vnip_calloc(VNIP_L1_ENTRIES, sizeof(*t));
	if (!t)
		return NULL;
	x->tables[x->ntables++] = (void *)t;
	atomic_fetch_add_explicit(&x->table_bytes, TABLE_BYTES, memory_order_relaxed);
	return t;
}

static vnip_slot *get_l1(const struct vnip_xlate *x, uint64_t va)
{
	return (vnip_slot *)(uintptr_t)atomic_load_explicit(&x->l0[idx0(va)],
							   memory_order_acquire);
}

static vnip_slot *ensure_l1(struct vnip_xlate *x, uint64_t va)
{
	vnip_slot *l1 = get_l1(x, va);

	if (!l1) {
		l1 = table_new(x);
		if (!l1)
			return NULL;
		atomic_store_explicit(&x->l0[idx0(va)], (uint64_t)(uintptr_t)l1,
				      memory_order_release);
	}
	return l1;
}

int vnip_xlate_set(struct vnip_xlate *x, uint64_t va, uint64_t len,
		   uint64_t dma)
{
	uint64_t end = va + len;
	uint64_t block;

	for (block = va & ~(VNIP_HUGE_SIZE - 1); block < end; block += VNIP_HUGE_SIZE) {
		uint64_t s = block > va ? block : va;
		uint64_t e = block + VNIP_HUGE_SIZE < end ? block + VNIP_HUGE_SIZE : end;
		vnip_slot *l1 = ensure_l1(x, block);
		vnip_slot *slot;
		uint64_t cur;

		if (!l1)
			return -ENOMEM;
		slot = &l1[idx1(block)];
		cur = atomic_load_explicit(slot, memory_order_relaxed);
		if (cur & VNIP_E_LEAF)
			return -EEXIST; /* overlap: prevented by the caller */
		if (s == block && e == block + VNIP_HUGE_SIZE && cur == 0) {
			atomic_store_explicit(slot, (dma + (s - va)) | VNIP_E_VALID | VNIP_E_LEAF,
					      memory_order_release);
			atomic_fetch_add_explicit(&x->leaf_2m, 1, memory_order_relaxed);
			continue;
		}
		if (cur == 0) {
			vnip_slot *l2 = table_new(x);

			if (!l2)
				return -ENOMEM;
			cur = (uint64_t)(uintptr_t)l2;
			atomic_store_explicit(slot, cur, memory_order_release);
		}
		{
			vnip_slot *l2 = (vnip_slot *)(uintptr_t)cur;

			for (uint64_t p = s; p < e; p += VNIP_PAGE_SIZE)
				atomic_store_explicit(&l2[idx2(p)],
						      (dma + (p - va)) | VNIP_E_VALID,
						      memory_order_release);
			atomic_fetch_add_explicit(&x->leaf_4k, (e - s) >> VNIP_PAGE_SHIFT,
						  memory_order_relaxed);
		}
	}
	return 0;
}

void vnip_xlate_clear(struct vnip_xlate *x, uint64_t va, uint64_t len)
{
	uint64_t end = va + len;
	uint64_t block;

	for (block = va & ~(VNIP_HUGE_SIZE - 1); block < end; block += VNIP_HUGE_SIZE) {
		uint64_t s = block > va ? block : va;
		uint64_t e = block + VNIP_HUGE_SIZE < end ? block + VNIP_HUGE_SIZE : end;
		vnip_slot *l1 = get_l1(x, block);
		vnip_slot *slot;
		uint64_t cur;

		if (!l1)
			continue;
		slot = &l1[idx1(block)];
		cur = atomic_load_explicit(slot, memory_order_relaxed);
		if (cur == 0)
			continue;
		if (cur & VNIP_E_LEAF) {
			atomic_store_explicit(slot, 0, memory_order_release);
			atomic_fetch_sub_explicit(&x->leaf_2m, 1, memory_order_relaxed);
			continue;
		}
		{
			vnip_slot *l2 = (vnip_slot *)(uintptr_t)cur;

			for (uint64_t p = s; p < e; p += VNIP_PAGE_SIZE) {
				if (atomic_load_explicit(&l2[idx2(p)], memory_order_relaxed)) {
					atomic_store_explicit(&l2[idx2(p)], 0,
							      memory_order_release);
					atomic_fetch_sub_explicit(&x->leaf_4k, 1,
								  memory_order_relaxed);
				}
			}
		}
	}
}

uint64_t vnip_xlate_lookup(const struct vnip_xlate *x, uint64_t va,
			   uint64_t *entry_rest)
{
	vnip_slot *l1, *l2;
	uint64_t e;

	if (va >= VNIP_VA_LIMIT)
		return VNI_DMA_ADDR_INVALID;
	l1 = get_l1(x, va);
	if (!l1)
		return VNI_DMA_ADDR_INVALID;
	e = atomic_load_explicit(&l1[idx1(va)], memory_order_acquire);
	if (e == 0)
		return VNI_DMA_ADDR_INVALID;
	if (e & VNIP_E_LEAF) {
		uint64_t off = va & (VNIP_HUGE_SIZE - 1);

		if (entry_rest)
			*entry_rest = VNIP_HUGE_SIZE - off;
		return (e & VNIP_E_ADDR_MASK) + off;
	}
	l2 = (vnip_slot *)(uintptr_t)e;
	e = atomic_load_explicit(&l2[idx2(va)], memory_order_acquire);
	if (!(e & VNIP_E_VALID))
		return VNI_DMA_ADDR_INVALID;
	if (entry_rest)
		*entry_rest = VNIP_PAGE_SIZE - (va & (VNIP_PAGE_SIZE - 1));
	return (e & VNIP_E_ADDR_MASK) + (va & (VNIP_PAGE_SIZE - 1));
}
