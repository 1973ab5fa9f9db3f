/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Queue pairs: submission with the tail doorbell, completion by the phase
 * bit, either polled or after the queue's MSI-X vector fired on its eventfd.
 * The command identifier is the slot index; at most depth - 1 commands are
 * outstanding per queue, so the submission queue can never overflow.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "nvme.h"

int nvme_queue_alloc(struct nvme_ctrl *c, struct nvme_queue *q, uint16_t qid,
		     uint16_t depth)
{
	void *sq = NULL, *cq = NULL;
	int ret;

	memset(q, 0, sizeof(*q));
	q->ctrl = c;
	q->qid = qid;
	q->depth = depth;
	q->phase = 1;
	q->efd = c->use_irq ? c->efds[qid] : -1;
	q->sq_db = (volatile uint32_t *)(volatile void *)(c->bar + NVME_REG_DBS +
							   (2u * qid) * c->dstrd);
	q->cq_db = (volatile uint32_t *)(volatile void *)(c->bar + NVME_REG_DBS +
							   (2u * qid + 1) * c->dstrd);
	/* Queues must be physically contiguous: one 4 KiB page each. */
	ret = vni_dma_alloc(c->ctx, (size_t)depth * sizeof(struct nvme_sqe),
			    VNI_DMA_ALLOC_CONTIG, &sq);
	if (ret < 0)
		goto fail;
	q->sq = sq;
	ret = vni_dma_alloc(c->ctx, (size_t)depth * sizeof(struct nvme_cqe),
			    VNI_DMA_ALLOC_CONTIG, &cq);
	if (ret < 0)
		goto fail;
	q->cq = cq;
	ret = vni_dma_addr(c->ctx, sq, &q->sq_dma);
	if (ret == 0)
		ret = vni_dma_addr(c->ctx, cq, &q->cq_dma);
	if (ret < 0)
		goto fail;
	for (unsigned int i = 0; i < depth; i++) {
		ret = prp_page_get(c->prp_pool, &q->slot[i].prp_list, &q->slot[i].prp_list_dma);
		if (ret < 0)
			goto fail;
	}
	return 0;
fail:
	fprintf(stderr, "%s: queue %u: allocating DMA memory failed (%d): %s\n", nvme_prog, qid,
		ret, vni_strerror_last());
	nvme_queue_free(q);
	return ret;
}

void nvme_queue_free(struct nvme_queue *q)
{
	struct vni_ctx *ctx = q->ctrl ? q->ctrl->ctx : NULL;

	if (!ctx)
		return;
	for (unsigned int i = 0; i < q->depth; i++) {
		if (q->slot[i].prp_list)
			prp_page_put(q->ctrl->prp_pool, q->slot[i].prp_list);
		q->slot[i].prp_list = NULL;
	}
	if (q->sq)
		vni_dma_free(ctx, q->sq);
	if (q->cq)
		vni_dma_free(ctx, (void *)(uintptr_t)q->cq);
	q->sq = NULL;
	q->cq = NULL;
	q->ctrl = NULL;
}

/* Queue a command; returns its command identifier (slot), or -EBUSY when
 * all slots are in use. The caller filled the slot's PRP list if needed
 * (nvme_build_prps() with the slot from nvme_slot_peek()). */
int nvme_submit(struct nvme_queue *q, struct nvme_sqe *sqe)
{
	int cid = sqe->cid;

	if (cid < 0 || cid >= q->depth || q->slot[cid].busy)
		return -EINVAL;
	q->slot[cid].busy = true;
	q->slot[cid].done = false;
	q->slot[cid].t_submit_ns = nvme_now_ns();
	q->sq[q->sq_tail] = *sqe;
	q->sq_tail = (uint16_t)((q->sq_tail + 1) % q->depth);
	q->inflight++;
	/* Ordered: the entry (and its PRP list and data) before the doorbell. */
	vni_mmio_write32(q->sq_db, q->sq_tail);
	return cid;
}

/* A free slot for the next command, or -EBUSY. */
int nvme_slot_peek(struct nvme_queue *q)
{
	if (q->inflight >= (unsigned int)q->depth - 1)
		return -EBUSY;
	for (int i = 0; i < q->depth; i++)
		if (!q->slot[i].busy)
			return i;
	return -EBUSY;
}

/* Consume the completions that are there; returns how many. */
static unsigned int drain(struct nvme_queue *q)
{
	unsigned int n = 0;

	for (;;) {
		volatile struct nvme_cqe *e = &q->cq[q->cq_head];
		uint16_t status = e->status;
		struct nvme_slot *s;

		if ((status & 1) != q->phase)
			break;
		/* The phase bit before the rest of the entry. */
		vni_dma_rmb();
		status = e->status;
		if (e->cid >= q->depth || !q->slot[e->cid].busy) {
			fprintf(stderr, "%s: queue %u: completion for unknown command %u\n",
				nvme_prog, q->qid, e->cid);
		} else {
			s = &q->slot[e->cid];
			s->status = status;
			s->dw0 = e->dw0;
			s->done = true;
		}
		q->sq_head = e->sqhd;
		if (++q->cq_head == q->depth) {
			q->cq_head = 0;
			q->phase ^= 1;
		}
		n++;
	}
	if (n)
		vni_mmio_write32(q->cq_db, q->cq_head);
	return n;
}

/* Wait for an interrupt on the queue's vector (irq mode) or spin briefly. */
static int wait_event(struct nvme_queue *q, uint64_t deadline)
{
	uint64_t now = nvme_now_ns(), count;
	struct pollfd pfd = { .fd = q->efd, .events = POLLIN };
	int ret;

	if (now >= deadline)
		return -ETIMEDOUT;
	if (q->efd < 0)
		return 0;
	ret = poll(&pfd, 1, (int)((deadline - now) / 1000000u) + 1);
	if (ret < 0)
		return errno == EINTR ? 0 : -errno;
	if (ret == 0)
		return -ETIMEDOUT;
	/* Non-blocking eventfd: resets the counter; a stale count only costs a
	 * look at an empty queue. */
	if (read(q->efd, &count, sizeof(count)) == (ssize_t)sizeof(count))
		q->irqs += count;
	else if (errno != EAGAIN)
		return -errno;
	return 0;
}

/* Reap until at least @min completions arrived (0: just what is there). */
int nvme_reap(struct nvme_queue *q, unsigned int min, int timeout_ms)
{
	uint64_t deadline = nvme_now_ns() + (uint64_t)timeout_ms * 1000000u;
	/* With MSI-X, wait for the interrupt first: every entry not drained
	 * yet has its interrupt still to come (the controller writes the entry
	 * before it signals), so completions are always taken by interrupt. */
	unsigned int got = q->efd < 0 ? drain(q) : 0;
	int ret;

	while (got < min) {
		ret = wait_event(q, deadline);
		if (ret < 0)
			return ret;
		got += drain(q);
	}
	return (int)got;
}

int nvme_wait(struct nvme_queue *q, int cid, int timeout_ms)
{
	uint64_t deadline = nvme_now_ns() + (uint64_t)timeout_ms * 1000000u;
	int ret;

	if (q->efd < 0)
		drain(q);
	while (!q->slot[cid].done) {
		ret = wait_event(q, deadline);
		if (ret == -ETIMEDOUT) {
			fprintf(stderr, "%s: queue %u: command %d: no completion within %d ms\n",
				nvme_prog, q->qid, cid, timeout_ms);
			return ret;
		}
		if (ret < 0)
			return ret;
		drain(q);
	}
	return 0;
}

void nvme_release(struct nvme_queue *q, int cid)
{
	q->slot[cid].busy = false;
	q->slot[cid].done = false;
	q->inflight--;
}

/* One admin command, synchronously; -EIO with the status printed on error. */
int nvme_admin(struct nvme_ctrl *c, struct nvme_sqe *sqe, uint32_t *dw0)
{
	struct nvme_queue *q = &c->admin;
	int cid, ret;
	uint16_t st;

	cid = nvme_slot_peek(q);
	if (cid < 0)
		return cid;
	sqe->cid = (uint16_t)cid;
	ret = nvme_submit(q, sqe);
	if (ret < 0)
		return ret;
	/* A command that never completes keeps its slot (the controller may
	 * still write): it is freed only with the queue. */
	ret = nvme_wait(q, cid, (int)c->timeout_ms + 5000);
	if (ret < 0)
		return ret;
	st = q->slot[cid].status;
	if (dw0)
		*dw0 = q->slot[cid].dw0;
	nvme_release(q, cid);
	if (NVME_STATUS_CODE(st)) {
		char what[48];

		snprintf(what, sizeof(what), "admin command %#04x", sqe->opc);
		nvme_print_status(what, st);
		return -EIO;
	}
	return 0;
}
