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
	ssize_t (*readlink)(const char *path, char *buf, size_t len);
	ssize_t (*getdents64)(int fd, void *buf, size_t len);
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
#define VNIP_DEV_IOMMU "/dev/iommu"
#define VNIP_DEV_VFIO_DEVICES "/dev/vfio/devices"

/* Wrappers returning -errno; they retry on EINTR. */
int vnip_open(const char *path, int flags);
void vnip_close(int fd);
int vnip_ioctl(int fd, unsigned long req, void *arg);
void *vnip_malloc(size_t len);
void *vnip_calloc(size_t n, size_t len);
void vnip_free(void *p);
char *vnip_strdup(const char *s);

/* Read a small sysfs attribute into buf (NUL-terminated, trailing newline
 * stripped). Returns length or -errno. */
ssize_t vnip_read_file(const char *path, char *buf, size_t len);
/* Basename of a symlink's target. Returns 0 or -errno. */
int vnip_readlink_base(const char *path, char *buf, size_t len);
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

/* ---- errors and logging ---------------------------------------------------- */
/* Record a failure (message for vni_strerror_last, logged at ERROR);
 * returns err (negative errno) so callers can "return vnip_err(...)". */
int vnip_err(int err, const char *fmt, ...) VNI_PRINTF(2, 3);
/* Record an already formatted message again, verbatim and without logging
 * (to restore the error of a failed step after a cleanup that failed too). */
int vnip_err_keep(int err, const char *msg);
/* Record a fixed message without formatting or logging (hot paths). */
int vnip_err_static(int err, const char *msg);
void vnip_log(enum vni_log_level level, const char *fmt, ...) VNI_PRINTF(2, 3);
bool vnip_log_enabled(enum vni_log_level level);
/* For tests: forget the environment so VNI_LOG is read again. */
void vnip_log_reset(void);

#define vnip_debug(...) do { if (vnip_log_enabled(VNI_LOG_DEBUG)) vnip_log(VNI_LOG_DEBUG, __VA_ARGS__); } while (0)
#define vnip_info(...) do { if (vnip_log_enabled(VNI_LOG_INFO)) vnip_log(VNI_LOG_INFO, __VA_ARGS__); } while (0)
#define vnip_warn(...) do { if (vnip_log_enabled(VNI_LOG_WARN)) vnip_log(VNI_LOG_WARN, __VA_ARGS__); } while (0)

/* ---- translation table ------------------------------------------------------
 * A radix table keyed by virtual address (== IOVA):
 *
 *   level 0: VA bits 47..30, 2^18 slots (2 MiB of reserved, lazily
 *            committed address space), each -> a level-1 table or 0
 *   level 1: VA bits 29..21, 512 slots (4 KiB, covers 1 GiB); a slot is 0,
 *            a 2 MiB leaf (DMA address of the block | LEAF | VALID),
 *            or a pointer to a level-2 table
 *   level 2: VA bits 20..12, 512 slots (4 KiB, covers 2 MiB), each 0 or
 *            (DMA address of the page | VALID)
 *
 * Tables are published with release stores and read with acquire loads; they
 * are freed only when the context is destroyed (clearing entries, including
 * invalidating every translation when the last device closes, only stores 0
 * atomically into leaf slots). A level-1 slot that once
 * pointed to a level-2 table keeps pointing to it (no slot ever changes from
 * pointer to leaf), so a reader can never follow a stale pointer into a
 * reused table. Entries are written by one writer at a time (the context
 * mutex).
 */
#define VNIP_L0_SHIFT 30
#define VNIP_L0_ENTRIES ((size_t)1 << (VNIP_VA_BITS - VNIP_L0_SHIFT))
#define VNIP_L1_SHIFT VNIP_HUGE_SHIFT
#define VNIP_L1_ENTRIES 512
#define VNIP_L2_ENTRIES 512
#define VNIP_E_VALID ((uint64_t)1 << 0)
#define VNIP_E_LEAF ((uint64_t)1 << 1)
#define VNIP_E_ADDR_MASK (~(uint64_t)(VNIP_PAGE_SIZE - 1))

struct vnip_xlate {
	_Atomic(uint64_t) *l0;        /* VNIP_L0_ENTRIES slots (mmap) */
	void **tables;                /* every level-1/2 table, for freeing */
	size_t ntables, cap_tables;
	_Atomic uint64_t table_bytes;
	_Atomic uint64_t leaf_2m, leaf_4k;
};

int vnip_xlate_init(struct vnip_xlate *x);
void vnip_xlate_fini(struct vnip_xlate *x);
/* Record that [va, va+len) (page aligned, one physically contiguous run)
 * translates to dma... Allocates tables as needed: -ENOMEM (entries already
 * written stay; the caller clears the range). Caller holds the context mutex. */
int vnip_xlate_set(struct vnip_xlate *x, uint64_t va, uint64_t len,
		   uint64_t dma);
/* Forget [va, va+len). Caller holds the context mutex. */
void vnip_xlate_clear(struct vnip_xlate *x, uint64_t va, uint64_t len);
/* Lock-free lookup: DMA address of va and bytes to the end of its entry
 * (page or 2 MiB block); VNI_DMA_ADDR_INVALID if unmapped. */
uint64_t vnip_xlate_lookup(const struct vnip_xlate *x, uint64_t va,
			   uint64_t *entry_rest);

/* ---- backends ---------------------------------------------------------------
 * A backend maps pinned memory into the IOAS and produces DMA addresses. The
 * no-IOMMU backend answers "runs" (a DMA address per physically contiguous
 * run); an IOMMU backend would answer one run equal to the IOVA; a legacy
 * pagemap backend would read /proc/self/pagemap.
 */
struct vni_ctx;
struct vnip_backend {
	const char *name;
	enum vni_backend id;
	/* Can mappings be made now? 0 or -errno with message. */
	int (*can_map)(struct vni_ctx *ctx);
	/* Pin [va, va+len) at IOVA == va. */
	int (*map)(struct vni_ctx *ctx, uint64_t va, uint64_t len);
	/* Undo map. */
	int (*unmap)(struct vni_ctx *ctx, uint64_t va, uint64_t len);
	/* Translate va: DMA address and contiguous length (<= max). */
	int (*translate)(struct vni_ctx *ctx, uint64_t va, uint64_t max,
			 uint64_t *dma, uint64_t *len);
};

extern const struct vnip_backend vnip_backend_noiommu;

/* ---- context ----------------------------------------------------------------- */
struct vnip_mapping {
	uint64_t va;
	uint64_t len;
	uint64_t runs;
	size_t page_size;
	uint32_t flags;         /* VNI_DMA_MAPPING_* */
	size_t alloc_len;       /* mmap length for allocated buffers */
};

struct vni_device;

struct vni_ctx {
	int iommufd;
	uint32_t ioas_id;
	const struct vnip_backend *backend;
	pthread_mutex_t lock;
	/* sorted by va, under lock */
	struct vnip_mapping *maps;
	size_t nmaps, cap_maps;
	struct vni_device *devices; /* list, under lock */
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
};

/* Device list hooks (device.c) */
bool vnip_ctx_has_devices(struct vni_ctx *ctx);

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

#endif /* VNI_INTERNAL_H */
