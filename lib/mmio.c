/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvfionoiommu - ordered register access and barriers (see mmio.h).
 */
#include "internal.h"

#define barrier() __asm__ __volatile__("" ::: "memory")

#if defined(__x86_64__)
/* TSO: stores are not reordered with stores, loads not with loads, and UC
 * register accesses are not reordered with anything. */
#define io_wmb_before_write() barrier()
#define io_rmb_after_read() barrier()
#define b_dma_wmb() barrier()
#define b_dma_rmb() barrier()
#define b_wmb() __asm__ __volatile__("sfence" ::: "memory")
#define b_rmb() __asm__ __volatile__("lfence" ::: "memory")
#define b_mb() __asm__ __volatile__("mfence" ::: "memory")
#elif defined(__aarch64__)
#define io_wmb_before_write() __asm__ __volatile__("dmb oshst" ::: "memory")
#define io_rmb_after_read() __asm__ __volatile__("dmb oshld" ::: "memory")
#define b_dma_wmb() __asm__ __volatile__("dmb oshst" ::: "memory")
#define b_dma_rmb() __asm__ __volatile__("dmb oshld" ::: "memory")
#define b_wmb() __asm__ __volatile__("dsb st" ::: "memory")
#define b_rmb() __asm__ __volatile__("dsb ld" ::: "memory")
#define b_mb() __asm__ __volatile__("dsb sy" ::: "memory")
#else
/* Other CPUs: the strongest portable fence everywhere (correct, slower). */
#define io_wmb_before_write() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define io_rmb_after_read() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define b_dma_wmb() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define b_dma_rmb() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define b_wmb() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define b_rmb() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define b_mb() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#endif

#define MMIO_ACCESSORS(bits)                                                  \
uint##bits##_t vni_mmio_read##bits(const volatile void *addr)                 \
{                                                                             \
	uint##bits##_t v = *(const volatile uint##bits##_t *)addr;            \
	io_rmb_after_read();                                                  \
	return v;                                                             \
}                                                                             \
void vni_mmio_write##bits(volatile void *addr, uint##bits##_t val)            \
{                                                                             \
	io_wmb_before_write();                                                \
	*(volatile uint##bits##_t *)addr = val;                               \
}

MMIO_ACCESSORS(8)
MMIO_ACCESSORS(16)
MMIO_ACCESSORS(32)
MMIO_ACCESSORS(64)

uint32_t vni_mmio_read32_relaxed(const volatile void *addr)
{
	return *(const volatile uint32_t *)addr;
}

uint64_t vni_mmio_read64_relaxed(const volatile void *addr)
{
	return *(const volatile uint64_t *)addr;
}

void vni_mmio_write32_relaxed(volatile void *addr, uint32_t val)
{
	*(volatile uint32_t *)addr = val;
}

void vni_mmio_write64_relaxed(volatile void *addr, uint64_t val)
{
	*(volatile uint64_t *)addr = val;
}

void vni_dma_wmb(void)
{
	b_dma_wmb();
}

void vni_dma_rmb(void)
{
	b_dma_rmb();
}

void vni_wmb(void)
{
	b_wmb();
}

void vni_rmb(void)
{
	b_rmb();
}

void vni_mb(void)
{
	b_mb();
}
