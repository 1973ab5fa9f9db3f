/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvfionoiommu - a VFIO no-IOMMU PCI device over the vfio cdev.
 */
#ifndef VFIONOIOMMU_DEVICE_H
#define VFIONOIOMMU_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vfionoiommu/common.h>
#include <vfionoiommu/ctx.h>
#include <vfionoiommu/pci.h>

#ifdef __cplusplus
extern "C" {
#endif

/** struct vni_device - an open device (opaque). */
struct vni_device;

/**
 * vni_device_open() - open a no-IOMMU PCI device by address
 * @ctx:  context whose iommufd and IOAS the device joins
 * @bdf:  PCI address ("0000:00:04.0" or "00:04.0")
 * @devp: output; set only on success
 *
 * Checks, in this order, each failure with a message saying what to do:
 * no-IOMMU mode is on (-EOPNOTSUPP: "write 1 to
 * /sys/module/vfio/parameters/enable_unsafe_noiommu_mode"; -ENOENT if vfio
 * has no such parameter), the device exists (-ENODEV), it is bound to vfio-pci
 * (-ENXIO, with the driver_override commands to bind it), it has a no-IOMMU
 * vfio cdev in /sys/bus/pci/devices/<BDF>/vfio-dev/ (-ENOENT: kernel without
 * no-IOMMU cdev support, also when an unpatched kernel lists a plain "vfioN"
 * for a device of a "vfio-noiommu" IOMMU group; -EOPNOTSUPP if the device
 * sits behind a real IOMMU, cdev "vfioN"), its node /dev/vfio/devices/noiommu-vfioN exists (-ENOENT
 * with a message naming the missing node: /dev is not devtmpfs, or udev/mdev
 * has not created it) and is the character device sysfs describes (-ENODEV
 * for a stale node), and the caller has CAP_SYS_RAWIO (-EPERM).
 * Then opens /dev/vfio/devices/noiommu-vfioN (O_RDWR | O_CLOEXEC), binds it to
 * the context's iommufd (VFIO_DEVICE_BIND_IOMMUFD), attaches it to the IOAS
 * (VFIO_DEVICE_ATTACH_IOMMUFD_PT) and reads device, region and IRQ info.
 * If it is the only device of the context, the kernel has just pinned the
 * context's DMA mappings again (see "Lifetime of DMA addresses" in ctx.h):
 * every mapping is translated again with IOMMU_IOAS_NOIOMMU_GET_PA, and if
 * that fails the open is undone and its error returned.
 *
 * Return: 0; -EINVAL for NULL arguments or a malformed @bdf; the errors above;
 * -EBUSY if the device is already open in this context (or the kernel says
 * it is in use); -ENOMEM; other negative errno values from the kernel. On
 * failure no descriptor, binding or memory is left behind.
 */
int vni_device_open(struct vni_ctx *ctx, const char *bdf,
		    struct vni_device **devp);

/**
 * vni_device_open_info() - open a device found by vni_pci_scan()
 * @ctx:  context
 * @info: discovery entry (its address is used; all checks run again)
 * @devp: output
 *
 * Return: as vni_device_open().
 */
int vni_device_open_info(struct vni_ctx *ctx,
			 const struct vni_pci_dev_info *info,
			 struct vni_device **devp);

/**
 * vni_device_close() - close a device
 * @devp: pointer to the handle; cleared
 *
 * Stops the device before anything can unpin its memory, in this order:
 * disables the interrupts enabled with vni_device_irq_enable() (and closes
 * the library's eventfds), clears Bus Master Enable in the PCI command
 * register and reads it back (which flushes the device's posted DMA
 * writes), and on a PCI Express device waits up to 100 ms for the
 * Transactions Pending bit of the Device Status register to clear. Then it
 * unmaps the BARs mapped with vni_device_map_bar(), detaches the device from
 * the IOAS and closes the cdev (which unbinds it from the iommufd). If the
 * device cannot be quiesced (config space access fails, Bus Master stays
 * set, transactions stay pending), the explicit detach is skipped and a
 * warning logged: closing the cdev makes vfio-pci disable the device before
 * the kernel unbinds it and unpins, so no device DMA reaches unpinned memory
 * on any path. DMA mappings belong to the context and stay. If it was the
 * last device of the context, the kernel unpins the mappings: their DMA
 * addresses become invalid (translations fail with -ENODEV) until a device
 * is opened in the context again, after which they may differ (see ctx.h).
 * Teardown errors from the kernel are logged and otherwise ignored: the
 * handle is always freed. The BAR mappings go away: no thread may still use
 * a pointer from vni_device_map_bar() or call an accessor on @devp.
 *
 * Return: 0; -EINVAL if @devp is NULL; -EBADF if *@devp is NULL (for
 * example a second close).
 */
int vni_device_close(struct vni_device **devp);

/**
 * vni_device_bdf() - PCI address of a device
 * @dev: device
 *
 * Return: the canonical address as vni_pci_addr_format() writes it (owned
 * by @dev), or NULL for a NULL @dev.
 */
const char *vni_device_bdf(const struct vni_device *dev);

/**
 * vni_device_fd() - the device's vfio cdev descriptor
 * @dev: device
 *
 * For callers that issue their own VFIO ioctls. Owned by @dev: do not close.
 *
 * Return: the descriptor, or -EINVAL for a NULL @dev.
 */
int vni_device_fd(const struct vni_device *dev);

/**
 * vni_device_ctx() - the context a device belongs to
 * @dev: device
 *
 * Return: the context, NULL for a NULL @dev.
 */
struct vni_ctx *vni_device_ctx(const struct vni_device *dev);

/**
 * struct vni_device_info - facts about an open device
 * @struct_size: set by the caller to sizeof(struct vni_device_info) before the call
 *     (see "Extensible structs" in docs/usage.md); the library fills at
 *     most that many bytes and sets it to the number it filled
 * @vendor:      vendor ID (config space)
 * @device:      device ID (config space)
 * @class_code:  24-bit class code (config space)
 * @dev_id:      iommufd device object ID from VFIO_DEVICE_BIND_IOMMUFD
 * @num_regions: VFIO regions (PCI: BARs 0-5, ROM 6, config 7, VGA 8, ...)
 * @num_irqs:    VFIO IRQ indexes
 * @vfio_flags:  VFIO_DEVICE_FLAGS_* from VFIO_DEVICE_GET_INFO
 * @cdev_path:   the cdev opened
 */
struct vni_device_info {
	uint32_t struct_size;
	uint16_t vendor;
	uint16_t device;
	uint32_t class_code;
	uint32_t dev_id;
	uint32_t num_regions;
	uint32_t num_irqs;
	uint32_t vfio_flags;
	char cdev_path[VNI_PCI_CDEV_LEN + 24];
};

/**
 * vni_device_get_info() - facts about a device
 * @dev:  device
 * @info: output; set @info->struct_size first
 *
 * Return: 0, or -EINVAL for NULL arguments or a @info->struct_size below
 * the size of version 0 of the struct.
 */
int vni_device_get_info(const struct vni_device *dev,
			struct vni_device_info *info);

/** Region indexes of PCI devices (same numbers as VFIO_PCI_*_REGION_INDEX). */
enum vni_region {
	VNI_REGION_BAR0 = 0,
	VNI_REGION_BAR1 = 1,
	VNI_REGION_BAR2 = 2,
	VNI_REGION_BAR3 = 3,
	VNI_REGION_BAR4 = 4,
	VNI_REGION_BAR5 = 5,
	VNI_REGION_ROM = 6,
	VNI_REGION_CONFIG = 7,
	VNI_REGION_VGA = 8,
};

/* Flags of struct vni_region_info (same bits as VFIO_REGION_INFO_FLAG_*). */
#define VNI_REGION_READ  (1u << 0)
#define VNI_REGION_WRITE (1u << 1)
#define VNI_REGION_MMAP  (1u << 2)

/**
 * struct vni_region_info - a VFIO region
 * @struct_size: set by the caller to sizeof(struct vni_region_info) before the call
 *     (see "Extensible structs" in docs/usage.md); the library fills at
 *     most that many bytes and sets it to the number it filled
 * @index:  region index
 * @flags:  VNI_REGION_* bits
 * @size:   bytes (0: the region does not exist, e.g. an unused BAR)
 * @offset: offset of the region in the device fd (for pread/pwrite/mmap)
 */
struct vni_region_info {
	uint32_t struct_size;
	uint32_t index;
	uint32_t flags;
	uint64_t size;
	uint64_t offset;
};

/**
 * vni_device_region_info() - describe a region
 * @dev:   device
 * @index: region index (enum vni_region or a device-specific index)
 * @info:  output; set @info->struct_size first
 *
 * Return: 0; -EINVAL for NULL arguments, a @info->struct_size below the
 * size of version 0 of the struct, or @index >= num_regions; other
 * negative errno values from VFIO_DEVICE_GET_REGION_INFO.
 */
int vni_device_region_info(const struct vni_device *dev, unsigned int index,
			   struct vni_region_info *info);

/**
 * vni_device_map_bar() - mmap a BAR
 * @dev:  device
 * @bar:  0..5
 * @addrp: output: the mapping (read/write, shared)
 * @lenp:  output (may be NULL): its length, the BAR size
 *
 * Maps the whole BAR once; later calls return the same mapping. The mapping
 * is released by vni_device_unmap_bar() or vni_device_close().
 *
 * Return: 0; -EINVAL for NULL @dev/@addrp or @bar > 5; -ENOENT if the BAR
 * does not exist (size 0); -EOPNOTSUPP if it cannot be mmapped (I/O port
 * BAR, or VFIO does not allow it: use vni_device_bar_read()/write());
 * other negative errno values from mmap.
 */
int vni_device_map_bar(struct vni_device *dev, unsigned int bar, void **addrp,
		       size_t *lenp);

/**
 * vni_device_unmap_bar() - undo vni_device_map_bar()
 * @dev: device
 * @bar: 0..5
 *
 * Return: 0; -EINVAL for NULL @dev or @bar > 5; -ENOENT if not mapped.
 */
int vni_device_unmap_bar(struct vni_device *dev, unsigned int bar);

/**
 * vni_device_bar_read() - read from a BAR
 * @dev:    device
 * @bar:    0..5
 * @offset: byte offset in the BAR
 * @buf:    output
 * @len:    1, 2, 4 or 8 bytes, @offset aligned to @len
 *
 * A single access of width @len: through the BAR mapping if
 * vni_device_map_bar() mapped it (vni_mmio_read8() .. vni_mmio_read64():
 * ordered before later reads of DMA memory, like readl()), else with
 * pread() on the device fd (which VFIO turns into one access of that width;
 * the system call orders it with everything). The same holds for
 * vni_device_bar_read32() and vni_device_bar_read64().
 *
 * Return: 0; -EINVAL for NULL arguments, @bar > 5, a bad width or an
 * unaligned offset; -ERANGE if [@offset, @offset + @len) is not inside the
 * BAR; -ENOENT if the BAR does not exist; -EIO for a short access.
 */
int vni_device_bar_read(struct vni_device *dev, unsigned int bar,
			uint64_t offset, void *buf, size_t len);

/**
 * vni_device_bar_write() - write to a BAR
 * @dev:    device
 * @bar:    0..5
 * @offset: byte offset in the BAR
 * @buf:    data
 * @len:    1, 2, 4 or 8 bytes, @offset aligned to @len
 *
 * Through the mapping with vni_mmio_write8() .. vni_mmio_write64(): the
 * write reaches the device after every earlier CPU write to DMA memory is
 * visible to it, like writel() (a doorbell). Else with pwrite(). The same
 * holds for vni_device_bar_write32() and vni_device_bar_write64().
 *
 * Return: as vni_device_bar_read().
 */
int vni_device_bar_write(struct vni_device *dev, unsigned int bar,
			 uint64_t offset, const void *buf, size_t len);

/**
 * vni_device_bar_read32() - read a 32-bit register
 * @dev:    device
 * @bar:    0..5
 * @offset: byte offset, 4-aligned
 * @val:    output
 *
 * Return: as vni_device_bar_read().
 */
int vni_device_bar_read32(struct vni_device *dev, unsigned int bar,
			  uint64_t offset, uint32_t *val);

/**
 * vni_device_bar_write32() - write a 32-bit register
 * @dev:    device
 * @bar:    0..5
 * @offset: byte offset, 4-aligned
 * @val:    value
 *
 * Return: as vni_device_bar_read().
 */
int vni_device_bar_write32(struct vni_device *dev, unsigned int bar,
			   uint64_t offset, uint32_t val);

/**
 * vni_device_bar_read64() - read a 64-bit register
 * @dev:    device
 * @bar:    0..5
 * @offset: byte offset, 8-aligned
 * @val:    output
 *
 * Return: as vni_device_bar_read().
 */
int vni_device_bar_read64(struct vni_device *dev, unsigned int bar,
			  uint64_t offset, uint64_t *val);

/**
 * vni_device_bar_write64() - write a 64-bit register
 * @dev:    device
 * @bar:    0..5
 * @offset: byte offset, 8-aligned
 * @val:    value
 *
 * Return: as vni_device_bar_read().
 */
int vni_device_bar_write64(struct vni_device *dev, unsigned int bar,
			   uint64_t offset, uint64_t val);

/**
 * vni_device_config_read() - read PCI configuration space
 * @dev:    device
 * @offset: byte offset
 * @buf:    output
 * @len:    bytes (non-zero)
 *
 * pread() on the VFIO config region (VFIO virtualizes some fields).
 *
 * Return: 0; -EINVAL for NULL arguments or zero @len; -ERANGE if the range
 * leaves config space; -EIO on a short read; other negative errno values.
 */
int vni_device_config_read(struct vni_device *dev, uint64_t offset, void *buf,
			   size_t len);

/**
 * vni_device_config_write() - write PCI configuration space
 * @dev:    device
 * @offset: byte offset
 * @buf:    data
 * @len:    bytes (non-zero)
 *
 * Return: as vni_device_config_read().
 */
int vni_device_config_write(struct vni_device *dev, uint64_t offset,
			    const void *buf, size_t len);

/**
 * vni_device_set_bus_master() - enable or disable bus mastering (DMA)
 * @dev:    device
 * @enable: set (true) or clear (false) the Bus Master bit of the command
 *          register; memory space decoding is enabled along with it
 *
 * Return: 0, or as vni_device_config_read().
 */
int vni_device_set_bus_master(struct vni_device *dev, bool enable);

/**
 * vni_device_reset() - reset the device (VFIO_DEVICE_RESET)
 * @dev: device
 *
 * Return: 0; -EINVAL for NULL @dev; -ENOTTY/-EINVAL (from the kernel) if the
 * device has no reset method; other negative errno values.
 */
int vni_device_reset(struct vni_device *dev);

/** Interrupt types (same numbers as VFIO_PCI_*_IRQ_INDEX). */
enum vni_irq_type {
	VNI_IRQ_INTX = 0,
	VNI_IRQ_MSI = 1,
	VNI_IRQ_MSIX = 2,
};

/* Flags of struct vni_irq_info (same bits as VFIO_IRQ_INFO_*). */
#define VNI_IRQ_INFO_EVENTFD    (1u << 0)
#define VNI_IRQ_INFO_MASKABLE   (1u << 1)
#define VNI_IRQ_INFO_AUTOMASKED (1u << 2)
#define VNI_IRQ_INFO_NORESIZE   (1u << 3)

/**
 * struct vni_irq_info - an interrupt type of a device
 * @struct_size: set by the caller to sizeof(struct vni_irq_info) before the call
 *     (see "Extensible structs" in docs/usage.md); the library fills at
 *     most that many bytes and sets it to the number it filled
 * @type:  the type
 * @flags: VNI_IRQ_INFO_* bits
 * @count: vectors available (0: not supported by the device)
 */
struct vni_irq_info {
	uint32_t struct_size;
	uint32_t type;
	uint32_t flags;
	uint32_t count;
};

/**
 * vni_device_irq_info() - describe an interrupt type
 * @dev:  device
 * @type: enum vni_irq_type
 * @info: output; set @info->struct_size first
 *
 * Return: 0; -EINVAL for NULL arguments, a @info->struct_size below the
 * size of version 0 of the struct, or an unknown @type; other
 * negative errno values from VFIO_DEVICE_GET_IRQ_INFO.
 */
int vni_device_irq_info(const struct vni_device *dev, enum vni_irq_type type,
			struct vni_irq_info *info);

/**
 * vni_device_irq_enable() - deliver interrupts to new eventfds
 * @dev:   device
 * @type:  enum vni_irq_type
 * @count: vectors, 1..info.count (INTx: 1)
 * @efds:  output array of @count eventfds (EFD_CLOEXEC | EFD_NONBLOCK), one
 *         per vector, owned by the library: read them, poll them, do not
 *         close them
 *
 * Only one interrupt type can be enabled at a time. INTx is masked by the
 * kernel after each interrupt: call vni_device_irq_unmask() when handled.
 *
 * Return: 0; -EINVAL for NULL arguments, an unknown type or a bad @count;
 * -EBUSY if interrupts are already enabled (disable first); -EMFILE/-ENFILE;
 * other negative errno values from VFIO_DEVICE_SET_IRQS. On failure no
 * eventfd is left.
 */
int vni_device_irq_enable(struct vni_device *dev, enum vni_irq_type type,
			  unsigned int count, int *efds);

/**
 * vni_device_irq_enable_fds() - deliver interrupts to caller eventfds
 * @dev:   device
 * @type:  enum vni_irq_type
 * @count: vectors, 1..info.count (INTx: 1)
 * @efds:  @count eventfds, owned by the caller (a negative entry leaves that
 *         vector unconnected)
 *
 * Return: as vni_device_irq_enable().
 */
int vni_device_irq_enable_fds(struct vni_device *dev, enum vni_irq_type type,
			      unsigned int count, const int *efds);

/**
 * vni_device_irq_disable() - stop interrupt delivery
 * @dev: device
 *
 * Disables whatever type is enabled and closes the library's eventfds.
 *
 * Return: 0; -EINVAL for NULL @dev; -ENOENT if none is enabled; other
 * negative errno values from VFIO_DEVICE_SET_IRQS (the eventfds are closed
 * anyway).
 */
int vni_device_irq_disable(struct vni_device *dev);

/**
 * vni_device_irq_unmask() - unmask INTx after handling an interrupt
 * @dev: device
 *
 * Return: 0; -EINVAL for NULL @dev; -ENOENT if INTx is not enabled; other
 * negative errno values from VFIO_DEVICE_SET_IRQS.
 */
int vni_device_irq_unmask(struct vni_device *dev);

#ifdef __cplusplus
}
#endif

#endif /* VFIONOIOMMU_DEVICE_H */
