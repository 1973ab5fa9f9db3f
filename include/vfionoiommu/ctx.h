/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvfionoiommu - context: one DMA address space and its backend.
 *
 * A context owns the kernel objects of one backend (see enum vni_backend):
 * an iommufd (/dev/iommu) with one IOAS, or a VFIO container. Every device
 * opened in the context joins that address space, and every DMA mapping
 * made in the context is visible to all of its devices: one address space,
 * one translation table. The backend is chosen, and its kernel objects set
 * up, when the first device is opened; all devices of a context use the
 * same backend.
 *
 * Lifetime of DMA addresses
 * -------------------------
 * DMA addresses are valid only while at least one device is open in the
 * context, on every backend. (noiommu: the kernel keeps the no-IOMMU page
 * table, and the pages pinned, only while a no-IOMMU device is attached;
 * type1: the container drops its mappings with its last group.) When the
 * last device of the context is closed, the library forgets every DMA
 * address (translations then fail with -ENODEV; the mappings themselves
 * stay recorded and can still be unmapped or freed). When a device is
 * opened again in the context, vni_device_open() translates every mapping
 * again before it returns: with noiommu the kernel pins the memory again,
 * possibly at other physical addresses; legacy reads pagemap again; the
 * IOMMU backends keep the IOVAs (type1 maps them again). A driver must
 * therefore never keep a DMA address across the close of the last device:
 * query it again (vni_dma_addr()) and reprogram the device after reopening.
 * Closing a device while others stay open in the context changes nothing.
 *
 * Lock-free readers stay safe across this: entries are cleared with atomic
 * stores and no part of the table is freed before the context is destroyed.
 *
 * Threading rules
 * ---------------
 * - A context may be used from any number of threads at once.
 * - Mapping changes (vni_dma_map(), vni_dma_unmap(), vni_dma_alloc(),
 *   vni_dma_free()) and device open/close are serialized by a mutex inside
 *   the context; they are safe to call concurrently but do not run in
 *   parallel.
 * - Translations (vni_dma_addr(), vni_dma_addr_fast(), vni_dma_addr_len(),
 *   vni_dma_contig(), vni_dma_segments()) take no lock and make no system
 *   call. (vni_dma_lookup() is no translation: it takes the mutex.) They are safe to
 *   run from any number of threads while another thread maps or unmaps. A
 *   translation of an address whose mapping is stable (mapped before the
 *   lookup started and not unmapped until after it returns) always returns the
 *   correct DMA address. A translation racing with the map or unmap of the
 *   very address it asks about returns either the correct DMA address or
 *   -ENOENT, never a wrong one. A translation racing with the close of the
 *   context's last device returns the address that was valid until that
 *   close or -ENODEV; one racing with the open of the first device returns
 *   -ENODEV or the new address. vni_dma_segments() and vni_dma_contig()
 *   describe the range as of one moment (they walk it again if a device
 *   close/open ran meanwhile).
 * - Destroying a context, or closing a device, while another thread still uses
 *   it is the caller's bug (as with free()). Device open and close take the
 *   context's mutex: the device list, the kernel's attachments and the
 *   translation table change together.
 * - A device handle may be used from several threads; its BAR and config
 *   space accessors do not lock (the hardware is the shared state), its IRQ
 *   and BAR-mapping calls are serialized per device.
 * - BAR mappings: vni_device_unmap_bar() (and vni_device_close()) must not
 *   run while another thread uses a pointer from vni_device_map_bar() or
 *   calls a BAR accessor on that BAR: the accessor may find the mapping
 *   gone under it and fault. Stop the threads that touch the BAR first; the
 *   library does not lock the accessors (they are the hot path).
 * - fork(): DMA buffers from vni_dma_alloc() are MADV_DONTFORK and absent in
 *   the child. Caller memory given to vni_dma_map() is left as it is: a
 *   private anonymous page that is pinned for DMA is copied for the child at
 *   fork() (the kernel never lets the parent lose a DMA-pinned page to
 *   copy-on-write), so the parent's DMA addresses stay right and the child
 *   sees a private snapshot that devices never write; shared memory
 *   (MAP_SHARED) stays shared, device writes included. madvise(MADV_DONTFORK)
 *   it yourself to keep it out of the child. Exception, the legacy backend
 *   (nothing is pinned): it marks mapped caller memory MADV_DONTFORK itself
 *   while mapped. The child must not use the parent's contexts or devices
 *   (they are the parent's descriptors).
 * - Signals: vni_dma_addr_fast() and vni_dma_addr_len() are
 *   async-signal-safe (no lock, no allocation, no system call, no
 *   thread-local state). No other call is: they record errors in
 *   thread-local storage, log, allocate or take mutexes.
 */
#ifndef VFIONOIOMMU_CTX_H
#define VFIONOIOMMU_CTX_H

#include <stdint.h>

#include <vfionoiommu/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/** struct vni_ctx - a context (opaque). */
struct vni_ctx;

/**
 * enum vni_backend - how a context reaches its devices and makes DMA addresses
 * @VNI_BACKEND_AUTO:    not chosen yet (vni_ctx_backend() before the first
 *                       device opens) or, for vni_ctx_set_backend(), "choose
 *                       from the first device"
 * @VNI_BACKEND_NOIOMMU: no-IOMMU vfio cdev (/dev/vfio/devices/noiommu-vfioN)
 *                       over iommufd. The DMA address is the physical
 *                       address, learnt once per physically contiguous run
 *                       with IOMMU_IOAS_NOIOMMU_GET_PA when memory is
 *                       mapped; the kernel pins the memory. Linux >= 7.3,
 *                       the libvfionoiommu 6.12 series or its DKMS modules.
 *                       Name "noiommu".
 * @VNI_BACKEND_LEGACY:  legacy no-IOMMU group (/dev/vfio/noiommu-N) in a
 *                       VFIO_NOIOMMU_IOMMU container, on any kernel with
 *                       CONFIG_VFIO_NOIOMMU (>= 4.5). The DMA address is the
 *                       physical address from /proc/self/pagemap (needs
 *                       CAP_SYS_ADMIN), read when memory is mapped. The
 *                       kernel pins nothing: see vni_dma_map() and
 *                       VNI_DMA_MAP_MAY_MOVE. Name "legacy".
 * @VNI_BACKEND_IOMMUFD: a device behind a real IOMMU through its vfio cdev
 *                       (/dev/vfio/devices/vfioN) and iommufd (Linux >= 6.6).
 *                       The DMA address is an IOVA the library allocates
 *                       (see vni_ctx_set_dma_mask()); the kernel pins.
 *                       Name "iommufd".
 * @VNI_BACKEND_TYPE1:   a device behind a real IOMMU through its VFIO group
 *                       (/dev/vfio/N) in a VFIO_TYPE1v2_IOMMU container, on
 *                       any kernel with an IOMMU. DMA address = IOVA as for
 *                       iommufd. Name "type1".
 *
 * Automatic selection (the default) takes the first that the first
 * device's kernel offers: for a device without an IOMMU "noiommu", then
 * "legacy"; for a device behind an IOMMU "iommufd", then "type1". The environment variable VNI_BACKEND (read by vni_ctx_new(),
 * ignored in set-user-ID programs) or vni_ctx_set_backend() forces one.
 */
enum vni_backend {
	VNI_BACKEND_AUTO = 0,
	VNI_BACKEND_NOIOMMU = 1,
	VNI_BACKEND_LEGACY = 2,
	VNI_BACKEND_IOMMUFD = 3,
	VNI_BACKEND_TYPE1 = 4,
};

/**
 * vni_ctx_new() - create a context
 * @ctxp:  output; set only on success
 * @flags: must be 0
 *
 * Makes no system call: the kernel objects of the backend (the iommufd and
 * its IOAS, or the VFIO container) are set up when the first device is
 * opened, once the backend is known. Reads VNI_BACKEND (see enum
 * vni_backend).
 *
 * Return: 0; -EINVAL for a NULL @ctxp, unknown @flags or a VNI_BACKEND that
 * names no backend; -ENOMEM.
 */
int vni_ctx_new(struct vni_ctx **ctxp, unsigned int flags);

/**
 * vni_ctx_destroy() - destroy a context
 * @ctxp: pointer to the handle; cleared on success
 *
 * Unmaps and frees every DMA mapping and buffer left in the context, destroys
 * the IOAS, closes the iommufd and frees the translation table. All devices
 * must have been closed, and all DMA pools (pool.h) destroyed, first.
 *
 * Return: 0; -EINVAL if @ctxp is NULL; -EBADF if *@ctxp is NULL (for example
 * a second destroy); -EBUSY if devices are still open or DMA pools of the
 * context still exist (nothing is changed).
 */
int vni_ctx_destroy(struct vni_ctx **ctxp);

/**
 * vni_ctx_backend() - backend of a context
 * @ctx: context
 *
 * Return: an enum vni_backend value: the backend in use once a device has
 * been opened, the forced one (VNI_BACKEND, vni_ctx_set_backend()) before,
 * else VNI_BACKEND_AUTO; -EINVAL for a NULL @ctx.
 */
int vni_ctx_backend(const struct vni_ctx *ctx);

/**
 * vni_ctx_set_backend() - force a backend instead of choosing automatically
 * @ctx:     context
 * @backend: an enum vni_backend value; VNI_BACKEND_AUTO restores automatic
 *           selection (also over VNI_BACKEND)
 *
 * Only before the first device is opened in @ctx: the backend is fixed for
 * the life of the context from then on. A device the forced backend cannot
 * drive is refused by vni_device_open() with the reason (see the errors
 * table in docs/usage.md).
 *
 * Return: 0; -EINVAL for a NULL @ctx or an unknown @backend; -EBUSY once a
 * device has been opened in @ctx.
 */
int vni_ctx_set_backend(struct vni_ctx *ctx, int backend);

/**
 * vni_ctx_set_dma_mask() - limit the IOVAs of the IOMMU backends
 * @ctx:  context
 * @bits: the devices' DMA address width, 32..64 (default 64)
 *
 * The IOMMU backends allocate every IOVA below 2^@bits (and inside the
 * ranges the kernel reports). The no-IOMMU backends cannot choose their DMA
 * addresses (they are physical) and ignore it. Only before the first device
 * is opened.
 *
 * Return: 0; -EINVAL for a NULL @ctx or @bits outside 32..64; -EBUSY once a
 * device has been opened in @ctx.
 */
int vni_ctx_set_dma_mask(struct vni_ctx *ctx, unsigned int bits);

/**
 * vni_backend_name() - name of a backend
 * @backend: an enum vni_backend value
 *
 * Return: "auto", "noiommu", "legacy", "iommufd" or "type1" (the names
 * VNI_BACKEND takes), or
 * "?" for an unknown value. Never NULL.
 */
const char *vni_backend_name(int backend);

/**
 * vni_backend_probe() - which backend a new context would use for a device
 * @bdf: PCI address ("dddd:bb:dd.f" or "bb:dd.f")
 *
 * Runs the checks vni_device_open() runs before it opens anything (sysfs,
 * /dev, the noiommu switch, VNI_BACKEND) and reports the backend it would
 * choose, without opening the device. For tools.
 *
 * Return: an enum vni_backend value (> 0), or the negative errno (with
 * message and reason) that vni_device_open() would fail with.
 */
int vni_backend_probe(const char *bdf);

/**
 * vni_ctx_iommufd() - the context's iommufd file descriptor
 * @ctx: context
 *
 * For callers that issue their own iommufd ioctls. The descriptor stays owned
 * by the context: do not close it. It exists once a device has been opened
 * with the "noiommu" or "iommufd" backend.
 *
 * Return: the descriptor; -EINVAL for a NULL @ctx; -ENODEV if no device
 * has been opened yet; -EOPNOTSUPP if the backend uses no iommufd.
 */
int vni_ctx_iommufd(const struct vni_ctx *ctx);

/**
 * vni_ctx_ioas_id() - the context's IOAS object ID
 * @ctx:     context
 * @ioas_id: output
 *
 * Return: 0; -EINVAL for NULL arguments; -ENODEV or -EOPNOTSUPP as
 * vni_ctx_iommufd().
 */
int vni_ctx_ioas_id(const struct vni_ctx *ctx, uint32_t *ioas_id);

/**
 * struct vni_ctx_stats - counters of a context
 * @struct_size: set by the caller to sizeof(struct vni_ctx_stats) before the call
 *     (see "Extensible structs" in docs/usage.md); the library fills at
 *     most that many bytes and sets it to the number it filled
 * @get_pa_calls:   IOMMU_IOAS_NOIOMMU_GET_PA ioctls issued (one per physically
 *                  contiguous run of each mapping, successful or not)
 * @map_calls:      successful vni_dma_map()/vni_dma_alloc() calls
 * @unmap_calls:    successful vni_dma_unmap()/vni_dma_free() calls
 * @mappings:       mappings currently present
 * @mapped_bytes:   bytes currently mapped
 * @runs:           physically contiguous runs of the current mappings (as
 *                  last translated: a reopen after the last device closed
 *                  translates again and updates it)
 * @table_bytes:    memory held by the translation table (never shrinks before
 *                  the context is destroyed)
 * @leaf_2m:        translation entries currently covering a whole 2 MiB block
 *                  (0 while no device is open: no translation is valid)
 * @leaf_4k:        translation entries currently covering a 4 KiB page
 * @devices:        devices currently open in the context
 * @stuck_pins:     failed vni_dma_map()/vni_dma_alloc() calls whose cleanup
 *                  failed too, so that the kernel kept the memory pinned
 *                  (in the IOAS, unknown to the library) until the context
 *                  is destroyed; each such failure was reported and logged
 *                  at ERROR. Normally 0
 */
struct vni_ctx_stats {
	uint32_t struct_size;
	uint64_t get_pa_calls;
	uint64_t map_calls;
	uint64_t unmap_calls;
	uint64_t mappings;
	uint64_t mapped_bytes;
	uint64_t runs;
	uint64_t table_bytes;
	uint64_t leaf_2m;
	uint64_t leaf_4k;
	uint64_t devices;
	uint64_t stuck_pins;
};

/**
 * vni_ctx_stats() - read a context's counters
 * @ctx:   context
 * @stats: output; set @stats->struct_size first
 *
 * Counters are read without stopping concurrent mapping changes; each is
 * individually consistent.
 *
 * Return: 0, or -EINVAL for NULL arguments or a @stats->struct_size below
 * the size of version 0 of the struct.
 */
int vni_ctx_stats(const struct vni_ctx *ctx, struct vni_ctx_stats *stats);

#ifdef __cplusplus
}
#endif

#endif /* VFIONOIOMMU_CTX_H */
