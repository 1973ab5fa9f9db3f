/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Controller bring-up and teardown: open the device, reset and enable the
 * controller with its admin queue pair, identify controller and namespace,
 * create the I/O queue pairs; on close delete them, shut the controller
 * down and close (the library clears Bus Master before it unpins anything).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nvme.h"

uint64_t nvme_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Register accesses that guard no DMA memory: relaxed. */
static uint32_t rd32(struct nvme_ctrl *c, size_t off)
{
	return vni_mmio_read32_relaxed(c->bar + off);
}

static void wr32(struct nvme_ctrl *c, size_t off, uint32_t v)
{
	vni_mmio_write32_relaxed(c->bar + off, v);
}

static void wr64(struct nvme_ctrl *c, size_t off, uint64_t v)
{
	/* Two halves, low first: not every controller takes one 64-bit write. */
	vni_mmio_write32_relaxed(c->bar + off, (uint32_t)v);
	vni_mmio_write32_relaxed(c->bar + off + 4, (uint32_t)(v >> 32));
}

static int fail(const char *what, int err)
{
	fprintf(stderr, "%s: %s failed (%d): %s\n", nvme_prog, what, err, vni_strerror_last());
	return err;
}

/* Wait until CSTS & mask == want, within CAP.TO; a fatal status ends it. */
static int wait_csts(struct nvme_ctrl *c, uint32_t mask, uint32_t want, bool cfs_fatal,
		     const char *what)
{
	const struct timespec pause = { 0, 1000000 };
	uint64_t deadline = nvme_now_ns() + (uint64_t)c->timeout_ms * 1000000u;
	uint32_t csts;

	for (;;) {
		csts = rd32(c, NVME_REG_CSTS);
		if (csts == UINT32_MAX) {
			fprintf(stderr, "%s: %s: CSTS reads all ones: the controller is gone\n",
				nvme_prog, what);
			return -ENODEV;
		}
		if ((csts & mask) == want)
			return 0;
		if ((csts & NVME_CSTS_CFS) && cfs_fatal) {
			fprintf(stderr, "%s: %s: controller fatal status (CSTS %#x)\n", nvme_prog,
				what, csts);
			return -EIO;
		}
		if (nvme_now_ns() > deadline) {
			fprintf(stderr, "%s: %s: timed out after %u ms (CAP.TO), CSTS %#x%s\n",
				nvme_prog, what, c->timeout_ms, csts,
				(csts & NVME_CSTS_CFS) ? " (controller fatal status)" : "");
			return -ETIMEDOUT;
		}
		nanosleep(&pause, NULL);
	}
}

static int disable(struct nvme_ctrl *c)
{
	uint32_t cc = rd32(c, NVME_REG_CC);

	if (cc & NVME_CC_EN)
		wr32(c, NVME_REG_CC, cc & ~NVME_CC_EN);
	return wait_csts(c, NVME_CSTS_RDY, 0, false, "disabling the controller (CSTS.RDY=0)");
}

int nvme_open(struct nvme_ctrl *c, const char *bdf, bool use_irq)
{
	struct vni_irq_info irq = { .struct_size = sizeof(irq) };
	void *bar = NULL;
	uint32_t cc;
	int ret;

	memset(c, 0, sizeof(*c));
	c->use_irq = use_irq;
	c->admin.efd = -1;
	ret = vni_ctx_new(&c->ctx, 0);
	if (ret < 0)
		return fail("creating the context", ret);
	ret = vni_device_open(c->ctx, bdf, &c->dev);
	if (ret < 0)
		return fail("opening the device", ret);
	ret = vni_device_map_bar(c->dev, 0, &bar, &c->bar_len);
	if (ret < 0)
		return fail("mapping BAR0", ret);
	c->bar = bar;
	if (c->bar_len < NVME_REG_DBS + 8) {
		fprintf(stderr, "%s: BAR0 is %zu bytes, too small for an NVMe controller\n",
			nvme_prog, c->bar_len);
		return -ENODEV;
	}
	c->cap = vni_mmio_read64_relaxed(c->bar + NVME_REG_CAP);
	c->vs = rd32(c, NVME_REG_VS);
	c->dstrd = 4u << NVME_CAP_DSTRD(c->cap);
	c->timeout_ms = NVME_CAP_TO(c->cap) * 500u;
	if (c->timeout_ms == 0)
		c->timeout_ms = 500;
	if (NVME_CAP_MPSMIN(c->cap) > 0 || !NVME_CAP_CSS_NVM(c->cap)) {
		fprintf(stderr, "%s: controller needs pages of %u bytes or more, or lacks the NVM "
			"command set (CAP %#" PRIx64 ")\n", nvme_prog,
			4096u << NVME_CAP_MPSMIN(c->cap), c->cap);
		return -EOPNOTSUPP;
	}
	printf("%s: %s: NVMe %u.%u.%u, CAP %#" PRIx64 " (MQES %u, TO %u ms, DSTRD %u)\n",
	       nvme_prog, vni_device_bdf(c->dev), c->vs >> 16, (c->vs >> 8) & 0xff, c->vs & 0xff,
	       c->cap, NVME_CAP_MQES(c->cap) + 1, c->timeout_ms, c->dstrd);

	ret = disable(c);
	if (ret < 0)
		return ret;
	ret = vni_device_set_bus_master(c->dev, true);
	if (ret < 0)
		return fail("enabling bus mastering", ret);

	if (use_irq) {
		ret = vni_device_irq_info(c->dev, VNI_IRQ_MSIX, &irq);
		if (ret < 0)
			return fail("vni_device_irq_info(MSI-X)", ret);
		if (irq.count == 0) {
			fprintf(stderr, "%s: the controller has no MSI-X vectors\n", nvme_prog);
			return -EOPNOTSUPP;
		}
		c->nvec = irq.count < NVME_MAX_IOQ + 1 ? irq.count : NVME_MAX_IOQ + 1;
		c->efds = calloc(c->nvec, sizeof(int));
		if (!c->efds)
			return -ENOMEM;
		ret = vni_device_irq_enable(c->dev, VNI_IRQ_MSIX, c->nvec, c->efds);
		if (ret < 0)
			return fail("enabling MSI-X", ret);
	}

	/* Enough PRP list pages for every slot of every queue. */
	ret = prp_pool_new(c->ctx, (size_t)(NVME_MAX_IOQ + 1) * NVME_QDEPTH, &c->prp_pool);
	if (ret < 0)
		return fail("creating the PRP list pool", ret);
	ret = nvme_queue_alloc(c, &c->admin, 0, NVME_QDEPTH);
	if (ret < 0)
		return ret;
	wr32(c, NVME_REG_AQA, (uint32_t)(NVME_QDEPTH - 1) << 16 | (NVME_QDEPTH - 1));
	wr64(c, NVME_REG_ASQ, c->admin.sq_dma);
	wr64(c, NVME_REG_ACQ, c->admin.cq_dma);
	cc = NVME_CC_CSS_NVM | NVME_CC_MPS(12) | NVME_CC_IOSQES(6) | NVME_CC_IOCQES(4);
	wr32(c, NVME_REG_CC, cc);
	/* The queue memory (zeroed) is visible before the controller starts. */
	vni_mmio_write32(c->bar + NVME_REG_CC, cc | NVME_CC_EN);
	c->enabled = true;
	ret = wait_csts(c, NVME_CSTS_RDY, NVME_CSTS_RDY, true,
			"enabling the controller (CSTS.RDY=1)");
	if (ret < 0)
		return ret;
	c->idbuf = NULL;
	ret = vni_dma_alloc(c->ctx, 4096, VNI_DMA_ALLOC_CONTIG, &c->idbuf);
	if (ret < 0)
		return fail("allocating the identify buffer", ret);
	printf("%s: controller enabled: admin queues of %u entries, %s completions\n",
	       nvme_prog, NVME_QDEPTH, use_irq ? "MSI-X" : "polled");
	return 0;
}

/* Copy a space-padded ASCII field and cut the padding. */
static void ascii(char *dst, const uint8_t *src, size_t n)
{
	memcpy(dst, src, n);
	dst[n] = '\0';
	while (n > 0 && (dst[n - 1] == ' ' || dst[n - 1] == '\0'))
		dst[--n] = '\0';
}

static int identify(struct nvme_ctrl *c, uint32_t cns, uint32_t nsid)
{
	struct nvme_sqe sqe;
	uint64_t dma;
	int ret;

	ret = vni_dma_addr(c->ctx, c->idbuf, &dma);
	if (ret < 0)
		return fail("translating the identify buffer", ret);
	memset(c->idbuf, 0, 4096);
	memset(&sqe, 0, sizeof(sqe));
	sqe.opc = NVME_ADM_IDENTIFY;
	sqe.nsid = nsid;
	sqe.prp1 = dma;
	sqe.cdw10 = cns;
	return nvme_admin(c, &sqe, NULL);
}

int nvme_identify(struct nvme_ctrl *c, uint32_t nsid)
{
	const uint8_t *id = c->idbuf;
	uint64_t mdts_bytes;
	uint8_t flbas, lbads;
	int ret;

	ret = identify(c, NVME_CNS_CTRL, 0);
	if (ret < 0)
		return ret;
	c->vid = (uint16_t)(id[0] | id[1] << 8);
	ascii(c->serial, id + 4, 20);
	ascii(c->model, id + 24, 40);
	ascii(c->firmware, id + 64, 8);
	c->mdts = id[77];
	memcpy(&c->nn, id + 516, 4);

	c->nsid = nsid;
	ret = identify(c, NVME_CNS_NS, nsid);
	if (ret < 0)
		return ret;
	memcpy(&c->nsze, id + 0, 8);
	flbas = id[26] & 0xf;
	lbads = id[128 + 4 * flbas + 2];
	if (c->nsze == 0 || lbads < 9 || lbads > 12) {
		fprintf(stderr, "%s: namespace %u: size %" PRIu64 ", LBA data size 2^%u: not "
			"usable (inactive, or not 512 B to 4 KiB blocks)\n", nvme_prog, nsid,
			c->nsze, lbads);
		return -EOPNOTSUPP;
	}
	c->lba_size = 1u << lbads;
	/* MDTS is a power of two in units of CAP.MPSMIN pages; 0 = no limit. */
	mdts_bytes = c->mdts ? (uint64_t)4096 << NVME_CAP_MPSMIN(c->cap) << c->mdts : UINT64_MAX;
	c->max_xfer = mdts_bytes < NVME_MAX_XFER ? (uint32_t)mdts_bytes : NVME_MAX_XFER;
	return 0;
}

static int set_num_queues(struct nvme_ctrl *c, unsigned int n, unsigned int *got)
{
	struct nvme_sqe sqe;
	uint32_t dw0 = 0;
	int ret;

	memset(&sqe, 0, sizeof(sqe));
	sqe.opc = NVME_ADM_SET_FEATURES;
	sqe.cdw10 = NVME_FEAT_NUM_QUEUES;
	sqe.cdw11 = (n - 1) << 16 | (n - 1);
	ret = nvme_admin(c, &sqe, &dw0);
	if (ret < 0)
		return ret;
	/* Allocated counts, 0's based: the smaller of SQs and CQs. */
	*got = 1 + ((dw0 & 0xffff) < (dw0 >> 16) ? (dw0 & 0xffff) : (dw0 >> 16));
	return 0;
}

int nvme_create_io_queues(struct nvme_ctrl *c, unsigned int n)
{
	struct nvme_sqe sqe;
	unsigned int got = 0, depth;
	int ret;

	if (n < 1 || n > NVME_MAX_IOQ) {
		fprintf(stderr, "%s: 1 to %u I/O queue pairs\n", nvme_prog, NVME_MAX_IOQ);
		return -EINVAL;
	}
	if (c->use_irq && n + 1 > c->nvec) {
		fprintf(stderr, "%s: %u I/O queues need %u MSI-X vectors, the controller has %u\n",
			nvme_prog, n, n + 1, c->nvec);
		return -EINVAL;
	}
	ret = set_num_queues(c, n, &got);
	if (ret < 0)
		return ret;
	if (got < n) {
		fprintf(stderr, "%s: asked for %u I/O queue pairs, the controller grants %u\n",
			nvme_prog, n, got);
		return -EINVAL;
	}
	depth = NVME_CAP_MQES(c->cap) + 1 < NVME_QDEPTH ? NVME_CAP_MQES(c->cap) + 1 : NVME_QDEPTH;
	for (unsigned int i = 0; i < n; i++) {
		struct nvme_queue *q = &c->io[i];
		uint16_t qid = (uint16_t)(i + 1);

		ret = nvme_queue_alloc(c, q, qid, (uint16_t)depth);
		if (ret < 0)
			return ret;
		c->nioq = i + 1;  /* freed by nvme_close() from here on */
		memset(&sqe, 0, sizeof(sqe));
		sqe.opc = NVME_ADM_CREATE_CQ;
		sqe.prp1 = q->cq_dma;
		sqe.cdw10 = (uint32_t)(depth - 1) << 16 | qid;
		/* Physically contiguous; interrupts on vector qid when enabled. */
		sqe.cdw11 = 1u | (c->use_irq ? (uint32_t)qid << 16 | 2u : 0u);
		ret = nvme_admin(c, &sqe, NULL);
		if (ret < 0)
			return ret;
		q->have_cq = true;
		memset(&sqe, 0, sizeof(sqe));
		sqe.opc = NVME_ADM_CREATE_SQ;
		sqe.prp1 = q->sq_dma;
		sqe.cdw10 = (uint32_t)(depth - 1) << 16 | qid;
		sqe.cdw11 = (uint32_t)qid << 16 | 1u;
		ret = nvme_admin(c, &sqe, NULL);
		if (ret < 0)
			return ret;
		q->have_sq = true;
	}
	return 0;
}

/* Delete the I/O queues (SQ before its CQ), shut the controller down. */
static void ctrl_shutdown(struct nvme_ctrl *c)
{
	struct nvme_sqe sqe;
	uint32_t cc;

	for (unsigned int i = c->nioq; i-- > 0;) {
		struct nvme_queue *q = &c->io[i];

		memset(&sqe, 0, sizeof(sqe));
		sqe.cdw10 = q->qid;
		if (q->have_sq) {
			sqe.opc = NVME_ADM_DELETE_SQ;
			if (nvme_admin(c, &sqe, NULL) == 0)
				q->have_sq = false;
		}
		if (q->have_cq && !q->have_sq) {
			sqe.opc = NVME_ADM_DELETE_CQ;
			if (nvme_admin(c, &sqe, NULL) == 0)
				q->have_cq = false;
		}
	}
	/* Normal shutdown notification, then disable. */
	cc = rd32(c, NVME_REG_CC);
	wr32(c, NVME_REG_CC, (cc & ~(3u << 14)) | NVME_CC_SHN_NORMAL);
	if (wait_csts(c, NVME_CSTS_SHST_MASK, NVME_CSTS_SHST_DONE, true,
		      "shutdown (CSTS.SHST)") < 0)
		fprintf(stderr, "%s: disabling without a completed shutdown\n", nvme_prog);
	disable(c);
}

void nvme_close(struct nvme_ctrl *c)
{
	uint64_t irqs = 0;

	if (c->bar && c->enabled)
		ctrl_shutdown(c);
	if (c->use_irq && c->efds) {
		irqs = c->admin.irqs;
		for (unsigned int i = 0; i < c->nioq; i++)
			irqs += c->io[i].irqs;
		printf("%s: MSI-X interrupts: %" PRIu64 " (admin %" PRIu64 ", I/O %" PRIu64 ")\n",
		       nvme_prog, irqs, c->admin.irqs, irqs - c->admin.irqs);
	}
	c->enabled = false;
	/* Close first: it quiesces the device (Bus Master off) before the
	 * context unmaps and unpins the queues and buffers. */
	if (c->dev)
		vni_device_close(&c->dev);
	for (unsigned int i = 0; i < c->nioq; i++)
		nvme_queue_free(&c->io[i]);
	nvme_queue_free(&c->admin);
	prp_pool_free(&c->prp_pool);
	if (c->idbuf)
		vni_dma_free(c->ctx, c->idbuf);
	c->idbuf = NULL;
	free(c->efds);
	c->efds = NULL;
	c->bar = NULL;
}

/* After nvme_close() and after the caller freed its own DMA buffers. */
void nvme_destroy(struct nvme_ctrl *c)
{
	if (c->ctx)
		vni_ctx_destroy(&c->ctx);
}
