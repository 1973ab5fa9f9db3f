/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvfionoiommu - IOVA allocator (see iova.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "iova.h"

#define PAGE VNIP_PAGE_SIZE
#define HUGE VNIP_HUGE_SIZE

static int cmp_start(const void *x, const void *y)
{
	const struct vnip_iova_range *a = x, *b = y;

	return a->start < b->start ? -1 : a->start > b->start;
}

/* Room for n ranges. */
static int reserve(struct vnip_iova *a, size_t n)
{
	struct vnip_iova_range *p;
	size_t cap;

	if (n <= a->cap)
		return 0;
	cap = a->cap ? a->cap * 2 : 8;
	while (cap < n)
		cap *= 2;
	p = vnip_malloc(cap * sizeof(*p));
	if (!p)
		return -ENOMEM;
	if (a->nfree)
		memcpy(p, a->free, a->nfree * sizeof(*p));
	vnip_free(a->free);
	a->free = p;
	a->cap = cap;
	return 0;
}

int vnip_iova_init(struct vnip_iova *a, const struct vnip_iova_range *ranges,
		   size_t n, unsigned int dma_bits)
{
	uint64_t limit; /* last usable byte */
	size_t k = 0;
	int ret;

	memset(a, 0, sizeof(*a));
	if (dma_bits < 12 || dma_bits > 64)
		return -EINVAL;
	limit = dma_bits == 64 ? UINT64_MAX : ((uint64_t)1 << dma_bits) - 1;
	ret = reserve(a, n + 1);
	if (ret < 0)
		return ret;
	for (size_t i = 0; i < n; i++) {
		uint64_t s = ranges[i].start, l = ranges[i].last;

		if (s < PAGE)
			s = PAGE;
		if (l > limit)
			l = limit;
		/* whole pages only */
		if (s > UINT64_MAX - (PAGE - 1))
			continue;
		s = (s + PAGE - 1) & ~(PAGE - 1);
		if (l < s || l - s + 1 < PAGE)
			continue;
		l = ((l + 1) & ~(PAGE - 1)) - 1; /* UINT64_MAX stays */
		if (l < s)
			continue;
		a->free[k].start = s;
		a->free[k].last = l;
		k++;
	}
	qsort(a->free, k, sizeof(*a->free), cmp_start);
	/* merge overlapping or adjacent ranges */
	a->nfree = 0;
	for (size_t i = 0; i < k; i++) {
		struct vnip_iova_range *t = a->nfree ? &a->free[a->nfree - 1] : NULL;

		if (t && (a->free[i].start <= t->last || a->free[i].start - t->last == 1)) {
			if (a->free[i].last > t->last)
				t->last = a->free[i].last;
		} else {
			a->free[a->nfree++] = a->free[i];
		}
	}
	if (!a->nfree) {
		vnip_iova_fini(a);
		return -ENOSPC;
	}
	a->nranges = a->nfree;
	a->ranges = vnip_malloc(a->nranges * sizeof(*a->ranges));
	if (!a->ranges) {
		vnip_iova_fini(a);
		return -ENOMEM;
	}
	memcpy(a->ranges, a->free, a->nranges * sizeof(*a->ranges));
	for (size_t i = 0; i < a->nfree; i++)
		a->total += a->free[i].last - a->free[i].start + 1;
	return 0;
}

void vnip_iova_fini(struct vnip_iova *a)
{
	vnip_free(a->free);
	vnip_free(a->ranges);
	memset(a, 0, sizeof(*a));
}

int vnip_iova_alloc(struct vnip_iova *a, uint64_t len, uint64_t *iova)
{
	return vnip_iova_alloc_phase(a, len, 0, iova);
}

int vnip_iova_alloc_phase(struct vnip_iova *a, uint64_t len, uint64_t phase, uint64_t *iova)
{
	uint64_t align = len >= HUGE ? HUGE : PAGE;
	int ret;

	if (!len || (len & (PAGE - 1)) || (phase & (PAGE - 1)) || phase >= HUGE)
		return -EINVAL;
	if (align == PAGE)
		phase = 0;
	/* Every allocation may later split a free range once: keep the slot
	 * for it now, so that free never allocates. */
	ret = reserve(a, a->nranges + a->nalloc + 2);
	if (ret < 0)
		return ret;
	for (size_t i = 0; i < a->nfree; i++) {
		struct vnip_iova_range *r = &a->free[i];
		uint64_t s, e; /* e: last byte of the allocation */

		if (r->start > UINT64_MAX - (align - 1) - phase)
			break;
		/* the first s >= start with s % align == phase */
		s = ((r->start + align - 1) & ~(align - 1)) + phase;
		if (s >= r->start + align)
			s -= align;
		if (s < r->start)
			s += align;
		if (s > r->last || r->last - s < len - 1)
			continue;
		e = s + len - 1;
		if (s == r->start && e == r->last) {
			memmove(r, r + 1, (a->nfree - i - 1) * sizeof(*r));
			a->nfree--;
		} else if (s == r->start) {
			r->start = e + 1;
		} else if (e == r->last) {
			r->last = s - 1;
		} else {
			/* a hole in the middle: split (the slot is reserved) */
			memmove(r + 1, r, (a->nfree - i) * sizeof(*r));
			a->nfree++;
			r->last = s - 1;
			r[1].start = e + 1;
		}
		a->nalloc++;
		a->total -= len;
		*iova = s;
		return 0;
	}
	return -ENOSPC;
}

int vnip_iova_reserve(struct vnip_iova *a, uint64_t iova, uint64_t len)
{
	uint64_t last = iova + len - 1;
	int ret;

	if (!len || ((iova | len) & (PAGE - 1)) || last < iova)
		return -EINVAL;
	ret = reserve(a, a->nranges + a->nalloc + 2);
	if (ret < 0)
		return ret;
	for (size_t i = 0; i < a->nfree; i++) {
		struct vnip_iova_range *r = &a->free[i];

		if (iova < r->start || last > r->last)
			continue;
		if (iova == r->start && last == r->last) {
			memmove(r, r + 1, (a->nfree - i - 1) * sizeof(*r));
			a->nfree--;
		} else if (iova == r->start) {
			r->start = last + 1;
		} else if (last == r->last) {
			r->last = iova - 1;
		} else {
			memmove(r + 1, r, (a->nfree - i) * sizeof(*r));
			a->nfree++;
			r->last = iova - 1;
			r[1].start = last + 1;
		}
		a->nalloc++;
		a->total -= len;
		return 0;
	}
	return -EINVAL;
}

int vnip_iova_free(struct vnip_iova *a, uint64_t iova, uint64_t len)
{
	uint64_t last = iova + len - 1;
	size_t lo = 0, hi = a->nfree, pos;
	struct vnip_iova_range *prev, *next;
	bool inside = false;

	if (!len || ((iova | len) & (PAGE - 1)) || last < iova || !a->nalloc)
		return -EINVAL;
	for (size_t i = 0; i < a->nranges; i++)
		if (iova >= a->ranges[i].start && last <= a->ranges[i].last)
			inside = true;
	if (!inside)
		return -EINVAL; /* never handed out */
	/* pos: the first free range that starts after iova */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (a->free[mid].start <= iova)
			lo = mid + 1;
		else
			hi = mid;
	}
	pos = lo;
	prev = pos ? &a->free[pos - 1] : NULL;
	next = pos < a->nfree ? &a->free[pos] : NULL;
	if ((prev && prev->last >= iova) || (next && next->start <= last))
		return -EINVAL; /* part of it is free already */
	if (prev && prev->last + 1 == iova && next && last + 1 == next->start) {
		prev->last = next->last;
		memmove(next, next + 1, (a->nfree - pos - 1) * sizeof(*next));
		a->nfree--;
	} else if (prev && prev->last + 1 == iova) {
		prev->last = last;
	} else if (next && last + 1 == next->start) {
		next->start = iova;
	} else {
		/* cap >= nfree + 1 holds: see vnip_iova_alloc() */
		memmove(&a->free[pos + 1], &a->free[pos], (a->nfree - pos) * sizeof(*a->free));
		a->free[pos].start = iova;
		a->free[pos].last = last;
		a->nfree++;
	}
	a->nalloc--;
	a->total += len;
	return 0;
}
