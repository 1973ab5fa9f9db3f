/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The QEMU edu device through a bound vfio device fd: BAR0 mapped, memory
 * and bus mastering enabled in config space, and its DMA engine
 * (/usr/share/doc/qemu-system-data/specs/edu.txt). With no IOMMU the DMA
 * addresses it takes are physical addresses.
 */
#ifndef KT_EDU_H
#define KT_EDU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KT_EDU_BUF 0x40000
#define KT_EDU_BUF_LEN 4096
/*
 * Largest transfer: QEMU's edu range check (7.2) wants the end of a transfer
 * strictly inside the buffer, so the last byte of the buffer is never used;
 * anything touching it aborts QEMU with "DMA range ... out of bounds".
 */
#define KT_EDU_MAX_XFER (KT_EDU_BUF_LEN - 1)

struct kt_edu {
	int devfd;
	volatile uint8_t *bar;
	size_t bar_len;
	uint32_t id;
};

/* Maps BAR0, checks the identification and liveness registers, enables bus mastering. */
int kt_edu_open(struct kt_edu *e, int devfd);
void kt_edu_close(struct kt_edu *e);
/*
 * One DMA of count bytes: to_ram false copies RAM at src to the device
 * address dst (in its buffer), true copies the device address src to RAM
 * at dst. Waits for completion: 0, or -ETIMEDOUT.
 */
int kt_edu_dma(struct kt_edu *e, uint64_t src, uint64_t dst, uint64_t count, bool to_ram);

#endif
