/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvfionoiommu - internal declarations (not installed).
 *
 * Internal symbols use the prefix vnip_ ("vni private"): the version script
 * exports vni_* only, so none of them leaks from the shared library.
 */
#ifndef VNI_INTERNAL_H
#define VNI_INTERNAL_H

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include <vfionoiommu/vfionoiommu.h>
#include <vfionoiommu/util.h>

#include "iova.h"

#define VNIP_PAGE_SHIFT 12
#define VNIP_PAGE_SIZE ((uint64_t)1 << VNIP_PAGE_SHIFT)
#define VNIP_HUGE_SHIFT 21
#define VNIP_HUGE_SIZE ((uint64_t)1 << VNIP_HUGE_SHIFT)
#define VNIP_VA_BITS 48
#define VNIP_VA_LIMIT ((uint64_t)1 << VNIP_VA_BITS)

#define VNIP_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define VNIP_UNUSED __attribute__((unused))

/* ---- system call indirection ----------------------------------------------
 * Every system call and heap allocation of the library goes through this
 * table. The library never changes it; the unit tests (which link the
 * internal static library) point it at a simulated kernel to inject faults
 * and count resources.
 */
struct vnip_sys {
	int (*open)(const char *path, int flags, mode_t mode);
	int (*close)(int fd);
	ssize_t (*read)(int fd, void *buf, size_t len);
	ssize_t (*pread)(int fd, void *buf, size_t len, off_t off);
	ssize_t (*pwrite)(int fd, const void *buf, size_t len, off_t off);
	int (*ioctl)(int fd, unsigned long req, void *arg);
	void *(*mmap)(void *addr, size_t len, int prot, int flags, int fd,
		      off_t off);
	int (*munmap)(void *addr, size_t len);
	int (*madvise)(void *addr, size_t len, int advice);
	int (*mlock)(const void *addr, size_t len);
	int (*munlock)(const void *addr, size_t len);
	ssize_t (*readlink)(const char *path, char *buf, size_t len);
	ssize_t (*getdents64)(int fd, void *buf, size_t len);
	/* Not a system call: the names of the PCI devices in sysfs
	 * ("0000:00:04.0"), each passed to fn until it returns < 0. Returns 0,
	 * fn's negative value, or -errno (unlike the calls above). */
	int (*pci_enum)(int (*fn)(void *arg, const char *name), void *arg);
	int (*eventfd)(unsigned int initval, int flags);
	int (*capget)(void *hdr, void *data);
	int (*stat)(const char *path, struct stat *st);
	int (*nanosleep)(const struct timespec *req, struct timespec *rem);
	void *(*malloc)(size_t len);
	void *(*calloc)(size_t n, size_t len);
	void (*free)(void *p);
};

extern struct vnip_sys vnip_sys;
extern const struct vnip_sys vnip_sys_default;

/* The sysfs and /dev roots (tests may not rely on the host's). */
#define VNIP_SYSFS_PCI "/sys/bus/pci/devices"
#define VNIP_NOIOMMU_PARAM "/sys/module/vfio/parameters/enable_unsafe_noiommu_mode"
/* What to do when the kernel has no no-IOMMU support at all. */
#define VNIP_NOIOMMU_FIX \
	"Linux >= 7.3 with CONFIG_VFIO_NOIOMMU=y, or on Debian 12's 6.12 kernel " \
	"the vfionoiommu-dkms package"
#define VNIP_DEV_IOMMU "/dev/iommu"
#define VNIP_DEV_VFIO_DEVICES "/dev/vfio/devices"

/* The default pci_enum: libudev's "pci" subsystem (pci.c). */
int vnip_pci_enum_udev(int (*fn)(void *arg, const char *name), void *arg);

/* Wrappers returning -errno; they retry on EINTR. */
int vnip_open(const char *path, int flags);
void vnip_close(int fd);
int vnip_ioctl(int fd, unsigned long req, void *arg);
void *vnip_malloc(size_t len);
void *vnip_calloc(size_t n, size_t len);
void vnip_free(void *p);

/* Read a small sysfs attribute into buf (NUL-terminated, trailing newline
 * stripped). Returns length or -errno. */
ssize_t vnip_read_file(const char *path, char *buf, size_t len);
/* Basename of a symlink's target. Returns 0 or -errno. */
int vnip_readlink_base(const char *path, char *buf, size_t len);
/* An IOMMU group directory name as the kernel writes it, else -EINVAL. */
int vnip_parse_group(const char *s);
/* Check the /dev node of vfio cdev `name` of PCI device `bdf`: it exists, is
 * a character device and (when sysfs vfio-dev/<name>/dev can be read) has the
 * device numbers sysfs gives. Returns 0; -ENOENT (no node), -ENOTTY (not a
 * character device), -ESTALE (other device numbers) or another -errno from
 * stat(). No message. */
int vnip_cdev_node_check(const char *bdf, const char *name);
/* Find the first entry of a directory whose name passes match(); copy it
 * into buf. Returns 1 found, 0 none, -errno. */
int vnip_dir_find(const char *path, bool (*match)(const char *name),
		  char *buf, size_t len);

/* ---- extensible output structs (docs/usage.md, "Extensible structs") ------
 * The caller sets the first member, struct_size, to sizeof() of the struct
 * it was built with. vnip_out_check() refuses a size below v0, the size of
 * the struct's first version (today's sizeof: SONAME 0 is that version);
 * vnip_out() copies a filled local struct of len bytes into dst, at most
 * the caller's size, and sets dst's struct_size to the bytes copied. */
int vnip_out_check(const void *dst, size_t v0, const char *fn);
void vnip_out(void *dst, void *src, size_t len);

/* ---- errors and logging ---------------------------------------------------- */
/* Record a failure (message for vni_strerror_last, logged at ERROR);
 * returns err (negative errno) so callers can "return vnip_err(...)". */
int vnip_err(int err, const char *fmt, ...) VNI_PRINTF(2, 3);
/* Record an already formatted message again, verbatim and without logging
 * (to restore the error of a failed step after a cleanup that failed too). */
int vnip_err_keep(int err, const char *msg);
/* Record a fixed message without formatting or logging (hot paths). */
int vnip_err_static(int err, const char *msg);
/* The same, with a reason code for vni_reason_last() (reason.c). Every
 * other vnip_err*() resets the reason to VNI_REASON_NONE, except
 * vnip_err_keep(), which restores a message and keeps the reason. */
int vnip_err_r(enum vni_reason reason, int err, const char *fmt, ...) VNI_PRINTF(3, 4);
int vnip_err_static_r(enum vni_reason reason, int err, const char *msg);
void vnip_reason_set(enum vni_reason reason);
void vnip_log(enum vni_log_level level, const char *fmt, ...) VNI_PRINTF(2, 3);
bool vnip_log_enabled(enum vni_log_level level);
/* For tests: threads inside vni_log_set_callback() right now. */
extern _Atomic long vnip_log_setters;
/* For tests: forget the environment so VNI_LOG is read again. */
void vnip_log_reset(void);

#define vnip_debug(...) do { if (vnip_log_enabled(VNI_LOG_DEBUG)) vnip_log(VNI_LOG_DEBUG, __VA_ARGS__); } while (0)
#define vnip_info(...) do { if (vnip_log_enabled(VNI_LOG_INFO)) vnip_log(VNI_LOG_INFO, __VA_ARGS__); } while (0)
#define vnip_warn(...) do { if (vnip_log_enabled(VNI_LOG_WARN)) vnip_log(VNI_LOG_WARN, __VA_ARGS__); } while (0)

/* ---- translation table ------------------------------------------------------
 * Keyed by virtual address (== IOVA). Two dependent loads per lookup, for
 * 2 MiB blocks and for 4 KiB pages alike:
 *
 *   l0: VA bits 47..30, 2^18 slots (2 MiB of reserved, lazily committed
 *       address space), each 0 or a pointer to the region of that GiB
 *   region (one per GiB in use; an anonymous MAP_NORESERVE mapping whose
 *       pages the kernel commits when first written):
 *       [0, 4 KiB)           512 block slots (VA bits 29..21): 0, or a 2 MiB
 *                            leaf (entry with VNIP_E_LEAF)
 *       [4 KiB, 4 KiB+2 MiB) 2^18 page entries (VA bits 29..12): 0 or a
 *                            4 KiB entry; the 512 entries of one block fill
 *                            exactly one page, committed only when the block
 *                            holds 4 KiB entries
 *       [.. , +4 KiB)        writer-only metadata (struct vnip_region_meta)
 *
 * Bit 0 of an l0 slot (VNIP_L0_HAS_LEAVES) says that the region holds at
 * least one leaf. A lookup in a region without leaves reads the page entry
 * at once (two dependent loads, like a flat two-level table of 4 KiB
 * entries); in a region with leaves it reads the block slot first and, if it
 * is no leaf, the page entry (whose address depends only on the region
 * pointer, so the CPU fetches both in parallel). The bit is set (release)
 * before a region's first leaf is stored and cleared after its last leaf is
 * gone; a block promoted to a leaf keeps its 4 KiB entries, so a reader that
 * saw the bit clear still finds them.
 *
 * Entry format: bit 0 VALID, bit 1 LEAF, bits 2..11 a hint: how many
 * further pages (4 KiB entry) or blocks (leaf) after this one continue the
 * same physically contiguous run (saturated at 1023; an underestimate is
 * allowed, never an overestimate), bits 12..63 the difference DMA address
 * minus virtual address (mod 2^64; 4 KiB aligned since both are), the same
 * for every byte of the page or block: a lookup is va + (e & ~0xfff), and
 * the pages of a block are one contiguous run exactly when their entries
 * hold the same difference.
 *
 * A block is a leaf exactly when all its 512 pages are mapped and form one
 * physically contiguous run: set() makes it a leaf directly when one run
 * covers the block, and promotes it when the last page of a block of 4 KiB
 * entries arrives and the block is contiguous (self-healing: a block never
 * stays in 4 KiB entries for lack of a rebuild); clear() demotes a leaf
 * that loses part of its pages to 4 KiB entries. On promotion the block's
 * 4 KiB entries stay in place (they agree with the leaf), so a reader that
 * read the slot before the promotion still finds them; on demotion the 4 KiB
 * entries are written before the slot is cleared (release; readers acquire).
 * Regions are freed only when the context is destroyed; entries are written
 * by one writer at a time (the context mutex).
 */
#define VNIP_L0_SHIFT 30
#define VNIP_L0_ENTRIES ((size_t)1 << (VNIP_VA_BITS - VNIP_L0_SHIFT))
#define VNIP_L1_SHIFT VNIP_HUGE_SHIFT
#define VNIP_BLOCKS 512                      /* 2 MiB blocks per region */
#define VNIP_PAGES_PER_BLOCK 512
#define VNIP_L0_HAS_LEAVES ((uintptr_t)1)
#define VNIP_E_VALID ((uint64_t)1 << 0)
#define VNIP_E_LEAF ((uint64_t)1 << 1)
#define VNIP_E_DELTA_MASK (~(uint64_t)(VNIP_PAGE_SIZE - 1))
#define VNIP_E_HINT_SHIFT 2
#define VNIP_E_HINT_MAX 1023u
#define VNIP_E_HINT(e) (((e) >> VNIP_E_HINT_SHIFT) & VNIP_E_HINT_MAX)
#define VNIP_LIKELY(x) __builtin_expect(!!(x), 1)
#define VNIP_UNLIKELY(x) __builtin_expect(!!(x), 0)

typedef _Atomic(uint64_t) vnip_slot;

struct vnip_xlate {
	_Atomic(uintptr_t) *l0;       /* VNIP_L0_ENTRIES slots (mmap) */
	void *regions;                /* list through the region metadata */
	size_t nregions;
	_Atomic uint64_t table_bytes; /* pages of regions written so far */
	_Atomic uint64_t leaf_2m, leaf_4k;
};

int vnip_xlate_init(struct vnip_xlate *x);
void vnip_xlate_fini(struct vnip_xlate *x);
/* Record that [va, va+len) (page aligned, one physically contiguous run)
 * translates to dma... Allocates regions as needed: -ENOMEM (entries already
 * written stay; the caller clears the range). Caller holds the context mutex. */
int vnip_xlate_set(struct vnip_xlate *x, uint64_t va, uint64_t len,
		   uint64_t dma);
/* Forget [va, va+len). Caller holds the context mutex. */
void vnip_xlate_clear(struct vnip_xlate *x, uint64_t va, uint64_t len);

/* Lock-free lookup of the entry covering va: the DMA address of va, or
 * VNI_DMA_ADDR_INVALID; *run (if the address is valid) = bytes from va known
 * to be DMA-contiguous: to the end of the entry plus its hint. */
static inline uint64_t vnip_xlate_lookup_run(const struct vnip_xlate *x, uint64_t va,
					     uint64_t *run)
{
	const vnip_slot *r;
	uintptr_t p;
	uint64_t e;

	if (VNIP_UNLIKELY(va >> VNIP_VA_BITS))
		return VNI_DMA_ADDR_INVALID;
	p = atomic_load_explicit(&x->l0[va >> VNIP_L0_SHIFT], memory_order_acquire);
	r = (const vnip_slot *)(p & ~VNIP_L0_HAS_LEAVES);
	if (VNIP_UNLIKELY(!r))
		return VNI_DMA_ADDR_INVALID;
	if (p & VNIP_L0_HAS_LEAVES) {
		e = atomic_load_explicit(&r[(va >> VNIP_L1_SHIFT) & (VNIP_BLOCKS - 1)],
					 memory_order_acquire);
		if (e & VNIP_E_LEAF) {
			uint64_t off = va & (VNIP_HUGE_SIZE - 1);

			*run = VNIP_HUGE_SIZE - off + (VNIP_E_HINT(e) << VNIP_HUGE_SHIFT);
			return va + (e & VNIP_E_DELTA_MASK);
		}
	}
	r += VNIP_BLOCKS; /* the page entries (a constant displacement) */
	e = atomic_load_explicit(&r[(va >> VNIP_PAGE_SHIFT) &
				    (VNIP_BLOCKS * VNIP_PAGES_PER_BLOCK - 1)],
				 memory_order_relaxed);
	if (VNIP_UNLIKELY(!(e & VNIP_E_VALID)))
		return VNI_DMA_ADDR_INVALID;
	*run = VNIP_PAGE_SIZE - (va & (VNIP_PAGE_SIZE - 1)) +
	       (VNIP_E_HINT(e) << VNIP_PAGE_SHIFT);
	return va + (e & VNIP_E_DELTA_MASK);
}

/* The same without the run: the hot path of vni_dma_addr_fast(). */
static inline uint64_t vnip_xlate_lookup(const struct vnip_xlate *x, uint64_t va)
{
	const vnip_slot *r;
	uintptr_t p;
	uint64_t e;

	if (VNIP_UNLIKELY(va >> VNIP_VA_BITS))
		return VNI_DMA_ADDR_INVALID;
	p = atomic_load_explicit(&x->l0[va >> VNIP_L0_SHIFT], memory_order_acquire);
	/* 2 MiB leaves on the straight path, 4 KiB pages one jump away */
	if (VNIP_LIKELY(p & VNIP_L0_HAS_LEAVES)) {
		r = (const vnip_slot *)(p - VNIP_L0_HAS_LEAVES);
		e = atomic_load_explicit(&r[(va >> VNIP_L1_SHIFT) & (VNIP_BLOCKS - 1)],
					 memory_order_acquire);
		if (VNIP_LIKELY(e & VNIP_E_LEAF))
			return va + (e & VNIP_E_DELTA_MASK);
	} else {
		r = (const vnip_slot *)p;
		if (VNIP_UNLIKELY(!r))
			return VNI_DMA_ADDR_INVALID;
	}
	r += VNIP_BLOCKS; /* the page entries (a constant displacement) */
	e = atomic_load_explicit(&r[(va >> VNIP_PAGE_SHIFT) &
				    (VNIP_BLOCKS * VNIP_PAGES_PER_BLOCK - 1)],
				 memory_order_relaxed);
	if (VNIP_UNLIKELY(!(e & VNIP_E_VALID)))
		return VNI_DMA_ADDR_INVALID;
	return va + (e & VNIP_E_DELTA_MASK);
}

/* DMA address of va and the number of bytes from va, at most max (> 0),
 * that are DMA-contiguous (*len). Follows the run hints, one lookup per
 * hint, and stops at the first discontinuity or unmapped byte. */
static inline uint64_t vnip_xlate_contig(const struct vnip_xlate *x, uint64_t va,
					 uint64_t max, uint64_t *len)
{
	uint64_t got, run, a = vnip_xlate_lookup_run(x, va, &run);

	if (a == VNI_DMA_ADDR_INVALID)
		return a;
	got = run;
	while (got < max) {
		if (vnip_xlate_lookup_run(x, va + got, &run) != a + got)
			break;
		got += run;
	}
	*len = got < max ? got : max;
	return a;
}

/* ---- backends: see backend/backend.h ---- */
struct vnip_backend;

/* ---- context ----------------------------------------------------------------- */
struct vnip_mapping {
	uint64_t va;
	uint64_t len;
	uint64_t iova;          /* IOMMU backends: from ctx->iova; else == va */
	uint64_t runs;
	size_t page_size;
	uint32_t flags;         /* VNI_DMA_MAPPING_* */
	size_t alloc_len;       /* mmap length for allocated buffers */
};

struct vni_device;

struct vni_ctx {
	int iommufd;                 /* -1 until an iommufd backend sets up */
	uint32_t ioas_id;
	int container;               /* /dev/vfio/vfio of the group backends, -1 */
	/* NULL until the first device opens (or forced, see forced); set up
	 * (ready) once, at the first device open, and kept until destroy. */
	const struct vnip_backend *backend;
	bool forced;                 /* by vni_ctx_set_backend() or VNI_BACKEND */
	bool ready;                  /* backend->ctx_init() succeeded */
	char first_bdf[VNI_PCI_ADDR_STRLEN]; /* the device that chose the backend */
	unsigned int dma_bits;       /* IOVA limit of the IOMMU backends */
	struct vnip_iova iova;       /* IOMMU backends, once ready */
	pthread_mutex_t lock;
	/* sorted by va, under lock */
	struct vnip_mapping *maps;
	size_t nmaps, cap_maps;
	struct vni_device *devices; /* list, under lock */
	size_t npools;              /* DMA pools alive (pool.c), under lock */
	struct vnip_xlate xlate;
	/* Odd: the translations in xlate are valid, a device is attached to the
	 * IOAS (the kernel's software page table exists and the pages are
	 * pinned); even: no device, no translation. Incremented under lock,
	 * before the entries are cleared (last device closes) and after they are
	 * filled again (first device opens). Lock-free translations read it
	 * around a lookup that fails, to tell -ENODEV from -ENOENT and to retry
	 * a lookup that raced with a close/open (a sequence count). */
	_Atomic uint64_t xlate_epoch;
	_Atomic uint64_t st_get_pa, st_map, st_unmap, st_mappings, st_bytes,
		st_runs, st_devices;
	/* Pins the kernel kept after a failed map whose cleanup failed too. */
	_Atomic uint64_t st_leaked_pins;
};

/* ---- devices ------------------------------------------------------------- */
#define VNIP_NUM_BARS 6
#define VNIP_NUM_REGIONS 9 /* VFIO_PCI_NUM_REGIONS */

/* What sysfs says about a device bound to vfio-pci (device.c). */
struct vnip_probe {
	char bdf[VNI_PCI_ADDR_STRLEN];
	char cdev[64];          /* its vfio-dev entry ("vfio0", "noiommu-vfio0"), "" */
	int group;              /* IOMMU group number, -1 if none */
	bool noiommu;           /* not behind an IOMMU: group "vfio-noiommu" or
				 * a "noiommu-" cdev */
};

struct vni_device {
	struct vni_ctx *ctx;
	struct vni_device *next;        /* ctx->devices, under ctx->lock */
	int fd;
	int group_fd;                   /* group backends, else -1 */
	uint32_t dev_id;
	bool attached;
	char bdf[VNI_PCI_ADDR_STRLEN];
	char cdev_path[VNI_PCI_CDEV_LEN + 24];
	uint32_t vfio_flags, num_regions, num_irqs;
	uint16_t vendor, device;
	uint32_t class_code;
	struct vni_region_info regions[VNIP_NUM_REGIONS];
	pthread_mutex_t lock;           /* BAR maps and IRQ state */
	void *bar_map[VNIP_NUM_BARS];
	int irq_type;                   /* -1: none enabled */
	unsigned int irq_count;
	int *irq_fds;                   /* library-owned eventfds, or NULL */
};

bool vnip_ctx_has_devices(struct vni_ctx *ctx);
/* Does the process have capability cap (effective)? 0 no, 1 yes, -errno. */
int vnip_has_cap(unsigned int cap);
#define VNIP_CAP_SYS_RAWIO 17
#define VNIP_CAP_SYS_ADMIN 21

/* dma.c. Caller holds ctx->lock for all three. */
void vnip_dma_release_all(struct vni_ctx *ctx);
/* The last device detaches: the kernel drops its software page table and
 * unpins; forget every translation (mappings stay recorded). */
void vnip_dma_invalidate(struct vni_ctx *ctx);
/* The first device is attached: translate every recorded mapping again with
 * the backend (the kernel pinned the pages again, maybe elsewhere) and mark
 * the table live. On failure nothing is translated, the table stays not live
 * and the error (with message) is returned. */
int vnip_dma_revalidate(struct vni_ctx *ctx);
/* vni_dma_alloc() / vni_dma_free() of a DMA pool's chunk (pool.c): the
 * mapping carries VNI_DMA_MAPPING_POOL, and vni_dma_free() refuses it. */
int vnip_dma_alloc_pool(struct vni_ctx *ctx, size_t len, unsigned int flags, void **vaddrp);
int vnip_dma_free_pool(struct vni_ctx *ctx, void *vaddr);
/* For a backend's fill(): record that [va, va+rl) (part of a mapping
 * asked as want bytes from va) has DMA address dma... after checking the
 * answer is sane. 0 or -errno with message (the caller clears). */
int vnip_dma_put_run(struct vni_ctx *ctx, uint64_t va, uint64_t want, uint64_t dma,
		     uint64_t rl);

#endif /* VNI_INTERNAL_H */
