/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvfionoiommu - ordered register access and memory barriers.
 *
 * For drivers that access a BAR mapped with vni_device_map_bar() directly.
 * The ordering rules are those of the Linux kernel's readl()/writel()
 * family, on x86-64 and arm64 alike:
 *
 * - vni_mmio_writeN(): every write to normal memory (DMA buffers,
 *   descriptors) that the CPU made before it is visible to the device
 *   before the register write reaches the device. Use it for doorbells.
 * - vni_mmio_readN(): the register read completes before any later read
 *   of normal memory. Use it for a completion or status register that
 *   guards data the device wrote by DMA.
 * - vni_mmio_writeN_relaxed() / vni_mmio_readN_relaxed(): a single access
 *   of that width, ordered only with the other accesses to the same
 *   device's registers, not with normal memory. For register sequences
 *   that involve no DMA memory; combine with the barriers below.
 * - vni_dma_wmb(): writes to DMA memory before it are visible to devices
 *   before writes to DMA memory after it (fill a descriptor, then set its
 *   "owned by device" bit). vni_dma_rmb(): reads of DMA memory after it see
 *   data at least as new as reads before it (read a descriptor's "done" bit,
 *   then its contents). vni_wmb()/vni_rmb()/vni_mb(): the same between
 *   normal memory and registers (for the relaxed accessors), and a full
 *   barrier.
 *
 * The accesses are single loads and stores of the given width at the
 * given address, which must be naturally aligned. x86-64: the processor
 * orders ordinary stores, and uncached register accesses, as these rules
 * need, so the ordered accessors are a compiler barrier plus the access and
 * vni_dma_wmb()/vni_dma_rmb() compiler barriers; vni_wmb()/vni_rmb()/
 * vni_mb() are sfence/lfence/mfence (for write-combining mappings and
 * non-temporal stores). arm64: writes are preceded by "dmb oshst", reads
 * followed by "dmb oshld"; vni_dma_wmb()/vni_dma_rmb() are "dmb oshst"/
 * "dmb oshld", vni_wmb()/vni_rmb()/vni_mb() "dsb st"/"dsb ld"/"dsb sy".
 * They are library functions (the call costs nothing next to a register
 * access), so a program built once runs right on either.
 */
#ifndef VFIONOIOMMU_MMIO_H
#define VFIONOIOMMU_MMIO_H

#include <stdint.h>

#include <vfionoiommu/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * vni_mmio_read8() - read an 8-bit register, ordered before later memory reads
 * @addr: register address in a mapped BAR
 *
 * Return: the value read.
 */
uint8_t vni_mmio_read8(const volatile void *addr);

/**
 * vni_mmio_read16() - read a 16-bit register, ordered before later memory reads
 * @addr: register address in a mapped BAR (2-byte aligned)
 *
 * Return: the value read (CPU byte order: PCI registers are little-endian,
 * which both supported CPUs are).
 */
uint16_t vni_mmio_read16(const volatile void *addr);

/**
 * vni_mmio_read32() - read a 32-bit register, ordered before later memory reads
 * @addr: register address in a mapped BAR (4-byte aligned)
 *
 * Like the kernel's readl(): a read of a completion flag with this call is
 * ordered before the reads of the DMA data it guards.
 *
 * Return: the value read.
 */
uint32_t vni_mmio_read32(const volatile void *addr);

/**
 * vni_mmio_read64() - read a 64-bit register, ordered before later memory reads
 * @addr: register address in a mapped BAR (8-byte aligned)
 *
 * One 64-bit access (devices that need two 32-bit halves: use
 * vni_mmio_read32() twice in the order the device documents).
 *
 * Return: the value read.
 */
uint64_t vni_mmio_read64(const volatile void *addr);

/**
 * vni_mmio_write8() - write an 8-bit register after all prior memory writes
 * @addr: register address in a mapped BAR
 * @val:  value
 */
void vni_mmio_write8(volatile void *addr, uint8_t val);

/**
 * vni_mmio_write16() - write a 16-bit register after all prior memory writes
 * @addr: register address in a mapped BAR (2-byte aligned)
 * @val:  value
 */
void vni_mmio_write16(volatile void *addr, uint16_t val);

/**
 * vni_mmio_write32() - write a 32-bit register after all prior memory writes
 * @addr: register address in a mapped BAR (4-byte aligned)
 * @val:  value
 *
 * Like the kernel's writel(): a doorbell written with this call reaches the
 * device only after the descriptors and data the CPU wrote before it are
 * visible to the device's DMA.
 */
void vni_mmio_write32(volatile void *addr, uint32_t val);

/**
 * vni_mmio_write64() - write a 64-bit register after all prior memory writes
 * @addr: register address in a mapped BAR (8-byte aligned)
 * @val:  value
 */
void vni_mmio_write64(volatile void *addr, uint64_t val);

/**
 * vni_mmio_read32_relaxed() - read a 32-bit register, no ordering with memory
 * @addr: register address in a mapped BAR (4-byte aligned)
 *
 * Return: the value read.
 */
uint32_t vni_mmio_read32_relaxed(const volatile void *addr);

/**
 * vni_mmio_read64_relaxed() - read a 64-bit register, no ordering with memory
 * @addr: register address in a mapped BAR (8-byte aligned)
 *
 * Return: the value read.
 */
uint64_t vni_mmio_read64_relaxed(const volatile void *addr);

/**
 * vni_mmio_write32_relaxed() - write a 32-bit register, no ordering with memory
 * @addr: register address in a mapped BAR (4-byte aligned)
 * @val:  value
 */
void vni_mmio_write32_relaxed(volatile void *addr, uint32_t val);

/**
 * vni_mmio_write64_relaxed() - write a 64-bit register, no ordering with memory
 * @addr: register address in a mapped BAR (8-byte aligned)
 * @val:  value
 */
void vni_mmio_write64_relaxed(volatile void *addr, uint64_t val);

/**
 * vni_dma_wmb() - order writes to DMA memory for devices
 *
 * CPU writes to DMA memory before the call are visible to devices before
 * those after it.
 */
void vni_dma_wmb(void);

/**
 * vni_dma_rmb() - order reads of DMA memory
 *
 * CPU reads of DMA memory after the call return data at least as new as
 * the reads before it (read a "done" flag, vni_dma_rmb(), read the data).
 */
void vni_dma_rmb(void);

/**
 * vni_wmb() - order all prior memory writes before later register writes
 *
 * For the relaxed accessors, write-combining mappings and non-temporal
 * stores.
 */
void vni_wmb(void);

/**
 * vni_rmb() - order prior register and memory reads before later reads
 */
void vni_rmb(void);

/**
 * vni_mb() - full barrier between all memory and register accesses
 */
void vni_mb(void);

#ifdef __cplusplus
}
#endif

#endif /* VFIONOIOMMU_MMIO_H */
