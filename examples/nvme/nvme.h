/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vni-nvme: a small user space NVMe driver on libvfionoiommu's public API.
 *
 * Register and command layouts are those of the NVM Express Base
 * Specification (2.0); only what this driver uses is defined. One
 * controller, one namespace (1 unless told), one admin queue pair and 1..NVME_MAX_IOQ I/O
 * queue pairs, PRPs with one PRP list page per command (so the largest
 * transfer is min(MDTS, 2 MiB)), completions by polling the phase bit or by
 * MSI-X on an eventfd per queue.
 */
#ifndef VNI_NVME_H
#define VNI_NVME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vfionoiommu/vfionoiommu.h>

/* Controller registers (BAR0). */
#define NVME_REG_CAP 0x00
#define NVME_REG_VS 0x08
#define NVME_REG_INTMS 0x0c
#define NVME_REG_CC 0x14
#define NVME_REG_CSTS 0x1c
#define NVME_REG_AQA 0x24
#define NVME_REG_ASQ 0x28
#define NVME_REG_ACQ 0x30
#define NVME_REG_DBS 0x1000

#define NVME_CAP_MQES(c) ((uint32_t)((c) & 0xffff))
#define NVME_CAP_TO(c) ((uint32_t)(((c) >> 24) & 0xff))      /* 500 ms units */
#define NVME_CAP_DSTRD(c) ((uint32_t)(((c) >> 32) & 0xf))
#define NVME_CAP_CSS_NVM(c) ((((c) >> 37) & 0x1) != 0)
#define NVME_CAP_MPSMIN(c) ((uint32_t)(((c) >> 48) & 0xf))
#define NVME_CAP_MPSMAX(c) ((uint32_t)(((c) >> 52) & 0xf))

#define NVME_CC_EN (1u << 0)
#define NVME_CC_CSS_NVM (0u << 4)
#define NVME_CC_MPS(shift) ((uint32_t)((shift) - 12) << 7)
#define NVME_CC_SHN_NORMAL (1u << 14)
#define NVME_CC_IOSQES(n) ((uint32_t)(n) << 16)
#define NVME_CC_IOCQES(n) ((uint32_t)(n) << 20)

#define NVME_CSTS_RDY (1u << 0)
#define NVME_CSTS_CFS (1u << 1)
#define NVME_CSTS_SHST_MASK (3u << 2)
#define NVME_CSTS_SHST_DONE (2u << 2)

/* Opcodes. */
#define NVME_ADM_DELETE_SQ 0x00
#define NVME_ADM_CREATE_SQ 0x01
#define NVME_ADM_DELETE_CQ 0x04
#define NVME_ADM_CREATE_CQ 0x05
#define NVME_ADM_IDENTIFY 0x06
#define NVME_ADM_SET_FEATURES 0x09
#define NVME_CMD_WRITE 0x01
#define NVME_CMD_READ 0x02

#define NVME_FEAT_NUM_QUEUES 0x07
#define NVME_CNS_NS 0x00
#define NVME_CNS_CTRL 0x01

#define NVME_PAGE 4096u              /* memory page size we configure (CC.MPS = 0) */
#define NVME_MAX_IOQ 16              /* I/O queue pairs at most */
#define NVME_QDEPTH 64               /* entries per queue: 4 KiB SQ, 1 KiB CQ */
#define NVME_MAX_XFER (2u << 20)     /* one PRP list page: 512 entries */

/* Submission queue entry: 64 bytes. */
struct nvme_sqe {
	uint8_t opc;
	uint8_t flags;
	uint16_t cid;
	uint32_t nsid;
	uint64_t rsvd2;
	uint64_t mptr;
	uint64_t prp1;
	uint64_t prp2;
	uint32_t cdw10;
	uint32_t cdw11;
	uint32_t cdw12;
	uint32_t cdw13;
	uint32_t cdw14;
	uint32_t cdw15;
};

/* Completion queue entry: 16 bytes. status: bit 0 phase, 1-8 SC, 9-11 SCT,
 * 14 More, 15 DNR. */
struct nvme_cqe {
	uint32_t dw0;
	uint32_t dw1;
	uint16_t sqhd;
	uint16_t sqid;
	uint16_t cid;
	uint16_t status;
};

_Static_assert(sizeof(struct nvme_sqe) == 64, "SQ entry is 64 bytes");
_Static_assert(sizeof(struct nvme_cqe) == 16, "CQ entry is 16 bytes");

#define NVME_STATUS_CODE(st) (((st) >> 1) & 0x7ff)   /* SCT << 8 | SC */

/* One outstanding command (index = command identifier). */
struct nvme_slot {
	bool busy;
	bool done;
	uint16_t status;
	uint32_t dw0;
	uint64_t *prp_list;          /* this slot's PRP list page */
	uint64_t prp_list_dma;
	uint64_t t_submit_ns;        /* for the benchmark's latencies */
};

/* A submission/completion queue pair. */
struct nvme_queue {
	struct nvme_ctrl *ctrl;
	uint16_t qid;
	uint16_t depth;
	struct nvme_sqe *sq;
	volatile struct nvme_cqe *cq;
	uint64_t sq_dma, cq_dma;
	volatile uint32_t *sq_db, *cq_db;
	uint16_t sq_tail, sq_head, cq_head;
	uint8_t phase;
	bool have_cq, have_sq;       /* created in the controller */
	int efd;                     /* MSI-X vector's eventfd, -1 when polling */
	unsigned int inflight;
	uint64_t irqs;               /* eventfd wake-ups that carried a count */
	struct nvme_slot slot[NVME_QDEPTH];
};

struct nvme_ctrl {
	struct vni_ctx *ctx;
	struct vni_device *dev;
	volatile uint8_t *bar;
	size_t bar_len;
	uint64_t cap;
	uint32_t vs;
	uint32_t dstrd;              /* doorbell stride in bytes */
	unsigned int timeout_ms;     /* CAP.TO */
	bool use_irq;
	bool enabled;
	int *efds;                   /* MSI-X eventfds (library's) */
	unsigned int nvec;
	struct nvme_queue admin;
	struct nvme_queue io[NVME_MAX_IOQ];
	unsigned int nioq;
	struct vni_dma_pool *prp_pool;  /* PRP list pages, one per queue slot */
	void *idbuf;                 /* 4 KiB identify buffer */
	/* Identify results */
	char model[41], serial[21], firmware[9];
	uint16_t vid;
	uint8_t mdts;
	uint32_t nn;
	uint32_t nsid;               /* the namespace used */
	uint64_t nsze;               /* namespace size in logical blocks */
	uint32_t lba_size;
	uint32_t max_xfer;           /* bytes per command: min(MDTS, NVME_MAX_XFER) */
};

/* ctrl.c */
int nvme_open(struct nvme_ctrl *c, const char *bdf, bool use_irq);
int nvme_identify(struct nvme_ctrl *c, uint32_t nsid);
int nvme_create_io_queues(struct nvme_ctrl *c, unsigned int n);
void nvme_close(struct nvme_ctrl *c);
void nvme_destroy(struct nvme_ctrl *c);
uint64_t nvme_now_ns(void);

/* queue.c */
int nvme_queue_alloc(struct nvme_ctrl *c, struct nvme_queue *q, uint16_t qid,
		     uint16_t depth);
void nvme_queue_free(struct nvme_queue *q);
int nvme_slot_peek(struct nvme_queue *q);
int nvme_submit(struct nvme_queue *q, struct nvme_sqe *sqe);
int nvme_reap(struct nvme_queue *q, unsigned int min, int timeout_ms);
int nvme_wait(struct nvme_queue *q, int cid, int timeout_ms);
void nvme_release(struct nvme_queue *q, int cid);
int nvme_admin(struct nvme_ctrl *c, struct nvme_sqe *sqe, uint32_t *dw0);

/* prp.c */
int prp_pool_new(struct vni_ctx *ctx, size_t max_pages, struct vni_dma_pool **poolp);
void prp_pool_free(struct vni_dma_pool **poolp);
int prp_page_get(struct vni_dma_pool *pool, uint64_t **page, uint64_t *dma);
void prp_page_put(struct vni_dma_pool *pool, uint64_t *page);
int nvme_build_prps(struct vni_ctx *ctx, const void *buf, size_t len,
		    struct nvme_slot *slot, struct nvme_sqe *sqe);

/* io.c */
int nvme_io_submit(struct nvme_queue *q, uint8_t opc, uint64_t lba, uint32_t nlb,
		   void *buf);
int nvme_rw(struct nvme_ctrl *c, bool write, uint64_t lba, uint64_t nlb, void *buf);

/* status.c */
const char *nvme_status_name(uint16_t status);
void nvme_print_status(const char *what, uint16_t status);

extern const char *nvme_prog;

#endif /* VNI_NVME_H */
