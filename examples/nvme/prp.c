/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * PRPs: the pages that hold PRP lists, and PRP1/PRP2/list building from the
 * library's DMA segments of a buffer.
 *
 * PRP list pages come from one DMA pool of 4 KiB objects per controller:
 * a pool object is aligned to its size in DMA address space and never
 * straddles a page, which is all a PRP list page needs. Each queue slot
 * takes its page when the queue is allocated and keeps it.
 */
#include <errno.h>
#include <stdio.h>

#include "nvme.h"

int prp_pool_new(struct vni_ctx *ctx, size_t max_pages, struct vni_dma_pool **poolp)
{
	return vni_dma_pool_create(ctx, NVME_PAGE, max_pages, 0, poolp);
}

void prp_pool_free(struct vni_dma_pool **poolp)
{
	if (*poolp)
		(void)vni_dma_pool_destroy(poolp);
}

int prp_page_get(struct vni_dma_pool *pool, uint64_t **page, uint64_t *dma)
{
	void *obj = NULL;
	int ret;

	ret = vni_dma_pool_alloc(pool, &obj, dma);
	if (ret < 0)
		return ret;
	*page = obj;
	return 0;
}

void prp_page_put(struct vni_dma_pool *pool, uint64_t *page)
{
	(void)vni_dma_pool_free(pool, page);
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
