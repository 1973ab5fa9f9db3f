/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Helpers shared by the library's in-guest tests (tests/lib-vm): TAP output,
 * an independent /proc/self/pagemap reader, sysfs binding helpers and the
 * edu register map. Nothing here uses library internals: the tests see the
 * library only through <vfionoiommu/vfionoiommu.h>.
 */
#ifndef VNI_VMTEST_H
#define VNI_VMTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vfionoiommu/vfionoiommu.h>

#define VT_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* ---- TAP ------------------------------------------------------------------ */
/* "ok N - msg" / "not ok N - msg"; returns cond. */
bool vt_ok(bool cond, const char *fmt, ...) VT_PRINTF(2, 3);
/* "ok N - msg # SKIP reason" */
void vt_skip(const char *reason, const char *fmt, ...) VT_PRINTF(2, 3);
/* "# msg" */
void vt_diag(const char *fmt, ...) VT_PRINTF(1, 2);
/* "Bail out! msg" plus the library's last error, then exit(2). */
void vt_bail(const char *fmt, ...) VT_PRINTF(1, 2) __attribute__((noreturn));
/* Check a library call's return value; on failure show the library message. */
bool vt_ok_call(int ret, const char *what);
/* Check ret == want (negative errno) and that the message contains every
 * NULL-terminated needle; prints the message. */
bool vt_ok_err(int ret, int want, const char *what, ...) __attribute__((sentinel));
/* Prints the plan "1..N" and returns the exit status (0 = all passed). */
int vt_done(void);
int vt_failures(void);

/* ---- pagemap --------------------------------------------------------------- */
/* Opens /proc/self/pagemap; bails out when it cannot. */
int vt_pagemap_open(void);
/* Physical address of the byte at va (page must be present); 0 or -errno:
 * -ENODATA if the page is not present or the PFN is hidden (no CAP_SYS_ADMIN). */
int vt_pagemap_pa(int fd, const void *va, uint64_t *pa);

struct vt_run {
	uint64_t va;
	uint64_t pa;
	uint64_t len;
};
/* Physically contiguous runs of [va, va+len) (page aligned), from pagemap.
 * *runs is malloc()ed. 0 or -errno. */
int vt_pagemap_runs(int fd, const void *va, size_t len, struct vt_run **runs,
		    size_t *nruns);

/* ---- sysfs ------------------------------------------------------------------ */
int vt_write_file(const char *path, const char *s);
/* Read a small file, trailing newline stripped; length or -errno. */
int vt_read_file(const char *path, char *buf, size_t len);
/* Driver bound to bdf ("" if none); 0 or -errno. */
int vt_driver_of(const char *bdf, char *buf, size_t len);
/* enable_unsafe_noiommu_mode := on */
int vt_set_noiommu(bool on);
/* Unbind from the current driver (if any), set driver_override to vfio-pci
 * and probe. 0 if the device ends up bound to vfio-pci, else -errno. */
int vt_bind_vfio(const char *bdf);
/* Unbind from the current driver (if any) and clear driver_override. */
int vt_unbind(const char *bdf);
/* Name of the entry in /sys/bus/pci/devices/<bdf>/vfio-dev/ ("" if none). */
int vt_vfio_dev_name(const char *bdf, char *buf, size_t len);

/* ---- edu --------------------------------------------------------------------- */
#define EDU_VENDOR 0x1234
#define EDU_DEVICE 0x11e8
#define EDU_CLASS 0x00ff00
#define EDU_BDF0 "0000:00:04.0"
#define EDU_BDF1 "0000:00:05.0"
#define NVME_BDF "0000:00:06.0"

#define EDU_REG_ID 0x00
#define EDU_REG_LIVE 0x04
#define EDU_REG_FACT 0x08
#define EDU_REG_STATUS 0x20
#define EDU_STATUS_COMPUTING 0x01
#define EDU_STATUS_IRQ_FACT 0x80
#define EDU_REG_IRQ_STATUS 0x24
#define EDU_REG_IRQ_RAISE 0x60
#define EDU_REG_IRQ_ACK 0x64
#define EDU_REG_DMA_SRC 0x80
#define EDU_REG_DMA_DST 0x88
#define EDU_REG_DMA_COUNT 0x90
#define EDU_REG_DMA_CMD 0x98
#define EDU_DMA_START 0x01
#define EDU_DMA_TO_RAM 0x02
#define EDU_DMA_IRQ 0x04
#define EDU_BUF_ADDR 0x40000
#define EDU_BUF_SIZE 4096
/* The largest transfer QEMU 7.2's edu accepts: its range check wants the end
 * of the transfer strictly inside the buffer, so a full 4096-byte DMA aborts
 * QEMU ("hw_error: EDU: DMA range ... out of bounds"). Fixed in later QEMU. */
#define EDU_XFER_MAX 4095
#define EDU_IRQ_FACT 0x00000001
#define EDU_IRQ_DMA 0x00000100

/* 32-bit register access through the library; bails out on error. */
uint32_t vt_edu_rd(struct vni_device *dev, uint64_t off);
void vt_edu_wr(struct vni_device *dev, uint64_t off, uint32_t val);
void vt_edu_wr64(struct vni_device *dev, uint64_t off, uint64_t val);
/* One DMA of len bytes; polls the command register (edu's DMA runs from a
 * 100 ms timer). irq: also ask for the completion interrupt. 0 or -ETIMEDOUT. */
int vt_edu_dma(struct vni_device *dev, uint64_t src, uint64_t dst, uint32_t len,
	       bool to_ram, bool irq);
/* Wait up to timeout_ms for an eventfd; returns the counter (> 0), 0 on timeout,
 * -errno on error. */
int64_t vt_wait_eventfd(int efd, int timeout_ms);

uint64_t vt_now_ns(void);
void vt_fill_pattern(void *buf, size_t len, uint32_t seed);
/* Index of the first differing byte, or -1. */
ptrdiff_t vt_memdiff(const void *a, const void *b, size_t len);

#endif /* VNI_VMTEST_H */
