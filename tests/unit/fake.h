/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A simulated kernel for the unit tests: sysfs, /dev/iommu (IOAS, map, unmap,
 * GET_PA with a made-up physical layout), vfio cdevs, eventfds, anonymous and
 * hugepage mmaps, heap accounting and fault injection. Installed by
 * pointing the library's system call table (vnip_sys) at it.
 */
#ifndef VNI_TEST_FAKE_H
#define VNI_TEST_FAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FAKE_MAX_DEVS 4

struct fake_dev_cfg {
	const char *bdf;        /* canonical */
	const char *driver;     /* NULL: unbound */
	const char *cdev;       /* NULL: no vfio-dev entry */
	uint16_t vendor, device;
	uint32_t class_code;
	/* The /dev/vfio/devices node of cdev: normally present (devtmpfs) and a
	 * character device whose numbers match sysfs vfio-dev/<cdev>/dev. */
	bool no_node;           /* sysfs lists the cdev, /dev has no node */
	bool stale_node;        /* the node exists with other device numbers */
	/* In IOMMU group N (N = index) named "vfio-noiommu", as vfio gives
	 * noiommu devices when VFIO_GROUP=y; false: no iommu_group link. */
	bool noiommu_group;
	/* In a real IOMMU group N (N = index): iommu_group link, /dev/vfio/N
	 * for the type1 container (the device is behind the IOMMU). */
	bool iommu_group;
};

struct fake_cfg {
	const char *noiommu_param;  /* "Y", "N", or NULL (file missing) */
	bool have_iommu;            /* /dev/iommu exists */
	bool cap_rawio;             /* capget reports CAP_SYS_RAWIO */
	bool hugepages;             /* MAP_HUGETLB succeeds */
	bool getpa_supported;       /* GET_PA exists (ENOTTY otherwise) */
	/* Legacy interface: /dev/vfio/vfio (a container offering
	 * VFIO_NOIOMMU_IOMMU when noiommu mode is on) and /dev/vfio/noiommu-N
	 * for every device with noiommu_group; /proc/self/pagemap shows page
	 * frame numbers only with cap_sys_admin, /proc/self/smaps the mmaps
	 * made through the library with their page sizes. */
	bool no_legacy;             /* neither container nor group nodes */
	bool cap_sys_admin;
	uint64_t seed;              /* physical layout randomness */
	/* Physical run lengths in pages for 4 KiB-page memory: uniform in
	 * [1, run_max]; with probability big_pct/100 a run of 512..1536 pages. */
	unsigned int run_max;
	unsigned int big_pct;
	/* 4 KiB-page memory: one run per mapping, physically right after the
	 * previous mapping's run (see fake_set_contiguous()) */
	bool contiguous;
	/* PCIe behaviour of every device (config space has a PCI Express
	 * capability at 0x40 unless no_pcie_cap): after Bus Master is cleared,
	 * Transactions Pending reads as set for tp_reads Device Status reads;
	 * tp_stuck: it never clears; bm_sticky: Bus Master cannot be cleared. */
	bool no_pcie_cap;
	unsigned int tp_reads;
	bool tp_stuck;
	bool bm_sticky;
	/* With a device behind the IOMMU attached, IOMMU_IOAS_IOVA_RANGES
	 * reports this many ranges (0: the default two around the reserved
	 * window): 1 GiB each, every 2 GiB from 4 GiB up, none below 4 GiB. */
	unsigned int iova_split;
	struct fake_dev_cfg devs[FAKE_MAX_DEVS];
	unsigned int ndevs;
	/* More names the PCI enumeration (vnip_sys.pci_enum) lists, with no
	 * device directory behind them ("zzzz:00:00.0", a device that just
	 * vanished); NULL-terminated. The enumeration lists these first, then
	 * the devices in reverse config order (the library must sort). */
	const char *extra_pci_names[FAKE_MAX_DEVS];
};

struct fake_counts {
	long fds;        /* fake descriptors open */
	long mmaps;      /* mmaps made through the library not yet unmapped */
	long ioas_maps;  /* IOAS mappings in the simulated kernel */
	long heap;       /* library heap blocks not yet freed */
	long pinned_pages; /* pages of IOAS mappings pinned (a noiommu device
			    * is attached to their IOAS) */
	long locked_pages; /* pages mlock()ed through the library */
};

/* Reset the simulation with cfg (NULL: a default with one bound noiommu
 * device 0000:00:04.0 and everything available) and install it. */
void fake_install(const struct fake_cfg *cfg);
/* Restore the real system calls (after checking nothing is left open). */
void fake_uninstall(void);
struct fake_cfg fake_default_cfg(void);

void fake_counts(struct fake_counts *c);

/* Fault injection: fail the nth (1-based) failable call from now on;
 * 0 disables. Returns how many failable calls happened since the last arm. */
void fake_fail_at(long nth);
long fake_calls(void);
/* Fail two calls: the nth and the nth2 (a failure and its cleanup). */
void fake_fail_at2(long nth, long nth2);
bool fake_fault_fired(void);

/* The simulated kernel's answer for iova (for the model test); false if
 * unmapped or not pinned (no noiommu device attached to its IOAS). Like the
 * patched kernel, the last noiommu device detaching from an IOAS unpins its
 * mappings, and the next attach pins them again at new physical addresses. */
bool fake_pa(uint64_t iova, uint64_t *pa);
/* Number of physically contiguous runs of the IOAS mapping starting at iova. */
long fake_mapping_runs(uint64_t iova);
/* Switch cfg.contiguous; the next run starts 2 MiB aligned. */
void fake_set_contiguous(bool on);
/* Switch cfg.hugepages: whether MAP_HUGETLB mmaps succeed from now on. */
void fake_set_hugepages(bool on);
/* Number of GET_PA ioctls served. */
long fake_getpa_calls(void);
/* The physical address /proc/self/pagemap gives for va (legacy backend):
 * hugepages made through the library are 2 MiB pages, each physically
 * contiguous and 2 MiB aligned, never two adjacent; other memory comes in physically contiguous runs of up to
 * 8 pages (32 KiB, va-aligned chunks) at made-up, scattered addresses. */
uint64_t fake_pagemap_pa(uint64_t va);
/* pread() calls on /proc/self/pagemap served. */
long fake_pagemap_reads(void);
/* Is [va, va+len) mlock()ed through the library? */
bool fake_locked(uint64_t va, uint64_t len);
/* The library's last fork advice covering [va, va+len) was MADV_DONTFORK. */
bool fake_dontfork(uint64_t va, uint64_t len);
/* Device dev (config index) does DMA at bus address iova through its
 * IOMMU domain (iommufd IOAS or type1 container): reads (write false) or
 * writes len bytes of buf there. 0, or -EFAULT (an IOMMU fault: not mapped,
 * or a write to a read-only mapping; nothing is written) or -ENODEV (not
 * open behind an IOMMU). */
int fake_dev_dma(unsigned int dev, uint64_t iova, void *buf, size_t len, bool write);
/* The IOVA at which the IOMMU domain of device dev maps user address uva
 * (the simulated kernel's own record of IOAS_MAP / MAP_DMA); false if none. */
bool fake_iova_of(unsigned int dev, uint64_t uva, uint64_t *iova);
/* The reserved window the simulated IOMMU keeps out of every IOVA range
 * (like x86's MSI window). */
#define FAKE_IOVA_HOLE_START 0xfee00000ull
#define FAKE_IOVA_HOLE_LAST 0xfeefffffull

/* Operation log since install (or fake_log_clear()), events separated by
 * one space: "dN:bmon", "dN:bmoff" (Bus Master of device N switched),
 * "dN:tpclear" (Transactions Pending read clear again), "dN:irqoff"
 * (interrupts disabled with VFIO_DEVICE_SET_IRQS), "dN:detach"
 * (VFIO_DEVICE_DETACH_IOMMUFD_PT), "dN:close" / "dN:close-attached" (the
 * device fd closed; vfio-pci disables the device before it unbinds),
 * "unpin" (an IOAS mapping lost its pin: no noiommu device attached). */
const char *fake_log(void);
void fake_log_clear(void);
/* Explicit detaches of a device whose Bus Master or interrupts were on. */
long fake_unsafe_detaches(void);
/* nanosleep() calls (they return at once). */
long fake_sleeps(void);
/* Bus Master Enable of device index dev (config order). */
bool fake_bus_master(unsigned int dev);

#endif
