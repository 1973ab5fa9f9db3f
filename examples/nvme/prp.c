/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * PRPs: the pages that hold PRP lists, and PRP1/PRP2/list building from the
 * library's DMA segments of a buffer.
 *
 * PRP list pages come from one vni_dma_alloc() buffer carved into 4 KiB
 * pages (each page of such a buffer is 4 KiB aligned in DMA address space,
 * and a PRP list page needs nothing more). This is the one place to switch
 * to a DMA pool.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nvme.h"

struct prp_pages {
	uint8_t *base;
	unsigned int npages;
	unsigned int nfree;
	uint64_t *dma;               /* per page */
	unsigned int *free;          /* stack of free page indexes */
};

int prp_pages_new(struct vni_ctx *ctx, unsigned int npages, struct prp_pages **pp)
{
	struct prp_pages *p;
	void *base = NULL;
	int ret;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->dma = calloc(npages, sizeof(*p->dma));
	p->free = calloc(npages, sizeof(*p->free));
	if (!p->dma || !p->free) {
		ret = -ENOMEM;
		goto fail;
	}
	ret = vni_dma_alloc(ctx, (size_t)npages * NVME_PAGE, 0, &base);
	if (ret < 0)
		goto fail;
	p->base = base;
	p->npages = npages;
	for (unsigned int i = 0; i < npages; i++) {
		ret = vni_dma_addr(ctx, p->base + (size_t)i * NVME_PAGE, &p->dma[i]);
		if (ret < 0)
			goto fail;
		p->free[p->nfree++] = npages - 1 - i;
	}
	*pp = p;
	return 0;
fail:
	prp_pages_free(ctx, &p);
	return ret;
}

void prp_pages_free(struct vni_ctx *ctx, struct prp_pages **pp)
{
	struct prp_pages *p = *pp;

	if (!p)
		return;
	if (p->base)
		vni_dma_free(ctx, p->base);
	free(p->dma);
	free(p->free);
	free(p);
	*pp = NULL;
}

int prp_page_get(struct prp_pages *p, uint64_t **page, uint64_t *dma)
{
	unsigned int i;

	if (p->nfree == 0)
		return -ENOMEM;
	i = p->free[--p->nfree];
	*page = (uint64_t *)(void *)(p->base + (size_t)i * NVME_PAGE);
	*dma = p->dma[i];
	return 0;
}

void prp_page_put(struct prp_pages *p, uint64_t *page)
{
	size_t i = (size_t)((uint8_t *)page - p->base) / NVME_PAGE;

	p->free[p->nfree++] = (unsigned int)i;
}

/*
 * PRP1 is the DMA address of the first byte (any dword-aligned offset);
 * every further page of the transfer is one page-aligned entry: in PRP2
 * if there is one, else in the slot's PRP list page, which PRP2 points to.
 * A discontinuity in DMA address space can only fall on a page boundary of
 * the buffer, so each segment after the first starts page-aligned.
 */
int nvme_build_prps(struct vni_ctx *ctx, const void *buf, size_t len,
		    struct nvme_slot *slot, struct nvme_sqe *sqe)
{
	struct vni_dma_seg segs[NVME_MAX_XFER / NVME_PAGE + 2];
	const size_t max_entries = NVME_PAGE / sizeof(uint64_t);
	uint64_t *list = slot->prp_list;
	size_t nsegs = 0, n = 0;
	int ret;

	if (len == 0 || len > NVME_MAX_XFER)
		return -EINVAL;
	ret = vni_dma_segments(ctx, buf, len, segs, sizeof(segs) / sizeof(segs[0]), &nsegs);
	if (ret < 0)
		return ret;
	if (segs[0].dma & 3)
		return -EINVAL;
	sqe->prp1 = segs[0].dma;
	for (size_t i = 0; i < nsegs; i++) {
		uint64_t a = segs[i].dma, end = segs[i].dma + segs[i].len;

		if (i == 0)
			a = (a & ~(uint64_t)(NVME_PAGE - 1)) + NVME_PAGE;
		else if (a & (NVME_PAGE - 1))
			return -EINVAL;
		for (; a < end; a += NVME_PAGE) {
			if (n == max_entries)
				return -E2BIG;
			list[n++] = a;
		}
	}
	if (n == 0)
		sqe->prp2 = 0;
	else if (n == 1)
		sqe->prp2 = list[0];
	else
		sqe->prp2 = slot->prp_list_dma;
	return 0;
}
