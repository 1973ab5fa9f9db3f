/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Kernel counters for the lifetime tests: outstanding FOLL_PIN pins
 * (/proc/vmstat nr_foll_pin_acquired - nr_foll_pin_released, after folding
 * the per-CPU deltas) and slab usage (/proc/slabinfo, /proc/meminfo).
 */
#ifndef KT_KSTAT_H
#define KT_KSTAT_H

#include <stdbool.h>
#include <stdint.h>

struct kt_pins {
	uint64_t acquired;
	uint64_t released;
	int64_t outstanding;
};

int kt_pins_read(struct kt_pins *p);
/*
 * Polls until the outstanding count equals want (pins of an exiting process
 * are dropped by its last fput): 0 when reached, -ETIMEDOUT otherwise; *p
 * holds the last reading either way.
 */
int kt_pins_wait(int64_t want, struct kt_pins *p, int timeout_ms);
/*
 * Sum of active_objs * objsize over /proc/slabinfo, in bytes, over every
 * cache (all true) or over the generic kmalloc caches (but the reclaimable
 * ones) and filp, where the objects of vfio and iommufd live (all false);
 * -1 if unreadable.
 */
int64_t kt_slab_bytes(bool all);
/*
 * Lets deferred frees land before a slab reading: waits for RCU callbacks,
 * then has the kmalloc caches and filp flush their per-CPU slabs so that
 * free objects there stop counting as active.
 */
void kt_slab_settle(void);
/* A /proc/meminfo field in kB, -1 if missing. */
long kt_meminfo_kb(const char *field);
/* Whether /proc/kallsyms lists a symbol (text symbols are always listed). */
bool kt_kernel_has_symbol(const char *name);

#endif
