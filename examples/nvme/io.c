/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Reads and writes of the namespace: one command per PRP-describable piece
 * (at most max_xfer bytes), spread round-robin over the I/O queues, each
 * queue kept as full as it allows.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "nvme.h"

#define IO_TIMEOUT_MS 30000

int nvme_io_submit(struct nvme_queue *q, uint8_t opc, uint64_t lba, uint32_t nlb,
		   void *buf)
{
	struct nvme_ctrl *c = q->ctrl;
	struct nvme_sqe sqe;
	int cid, ret;

	if (nlb == 0 || nlb > 0x10000 || lba + nlb > c->nsze)
		return -EINVAL;
	cid = nvme_slot_peek(q);
	if (cid < 0)
		return cid;
	memset(&sqe, 0, sizeof(sqe));
	sqe.opc = opc;
	sqe.cid = (uint16_t)cid;
	sqe.nsid = c->nsid;
	sqe.cdw10 = (uint32_t)lba;
	sqe.cdw11 = (uint32_t)(lba >> 32);
	sqe.cdw12 = nlb - 1;
	ret = nvme_build_prps(c->ctx, buf, (size_t)nlb * c->lba_size, &q->slot[cid], &sqe);
	if (ret < 0) {
		fprintf(stderr, "%s: building PRPs for %" PRIu64 "+%u failed (%d): %s\n",
			nvme_prog, lba, nlb, ret, ret == -ENOENT || ret == -ENODEV ?
			vni_strerror_last() : "buffer not describable by PRPs");
		return ret;
	}
	return nvme_submit(q, &sqe);
}

/* Wait for at least one completion and retire every finished command. */
static int retire(struct nvme_queue *q, const char *what, int *err)
{
	bool any = false;
	int ret;

	for (;;) {
		for (int i = 0; i < q->depth; i++) {
			struct nvme_slot *s = &q->slot[i];

			if (!s->busy || !s->done)
				continue;
			if (NVME_STATUS_CODE(s->status)) {
				nvme_print_status(what, s->status);
				*err = -EIO;
			}
			nvme_release(q, i);
			any = true;
		}
		if (any || q->inflight == 0)
			return 0;
		ret = nvme_reap(q, 1, IO_TIMEOUT_MS);
		if (ret < 0) {
			fprintf(stderr, "%s: %s: queue %u: no completion within %d ms (%d)\n",
				nvme_prog, what, q->qid, IO_TIMEOUT_MS, ret);
			return ret;
		}
	}
}

int nvme_rw(struct nvme_ctrl *c, bool write, uint64_t lba, uint64_t nlb, void *buf)
{
	const char *what = write ? "write" : "read";
	uint32_t per = c->max_xfer / c->lba_size;
	uint64_t off = 0;
	unsigned int k = 0;
	int err = 0, ret;

	if (nlb == 0 || lba >= c->nsze || nlb > c->nsze - lba) {
		fprintf(stderr, "%s: %s of %" PRIu64 " blocks at LBA %" PRIu64 ": the namespace "
			"has %" PRIu64 " blocks\n", nvme_prog, what, nlb, lba, c->nsze);
		return -EINVAL;
	}
	while (off < nlb) {
		struct nvme_queue *q = &c->io[k++ % c->nioq];
		uint32_t n = nlb - off < per ? (uint32_t)(nlb - off) : per;

		while (nvme_slot_peek(q) < 0) {
			ret = retire(q, what, &err);
			if (ret < 0)
				return ret;
		}
		ret = nvme_io_submit(q, write ? NVME_CMD_WRITE : NVME_CMD_READ, lba + off, n,
				     (uint8_t *)buf + off * c->lba_size);
		if (ret < 0)
			err = ret;
		if (ret < 0)
			break;
		off += n;
	}
	for (unsigned int i = 0; i < c->nioq; i++) {
		while (c->io[i].inflight) {
			ret = retire(&c->io[i], what, &err);
			if (ret < 0)
				return ret;
		}
	}
	return err;
}
