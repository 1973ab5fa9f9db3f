/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A thread that issues IOMMU_IOAS_NOIOMMU_GET_PA in a loop on a region
 * that stays mapped, checks every answer against the region's PFNs (read
 * from pagemap while the region is pinned) and times every call. The main
 * thread marks a window (around an unmap, say); calls that overlap it are
 * counted and timed apart. Used by noiommu-lockhold (the answers) and the
 * kernel-memory benchmark (the latencies).
 */
#ifndef KT_READER_H
#define KT_READER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kt_reader {
	/* Set by the caller. */
	int iommufd;
	uint32_t ioas_id;
	uint64_t iova;
	size_t len;
	const uint64_t *pfns;	/* len / 4096 PFNs */
	uint64_t seed;
	/* Results, valid after kt_reader_stop(). */
	uint64_t calls, wrong, errors;
	int last_error;
	uint64_t window_calls;	/* calls that overlapped the window */
	uint64_t window_max_ns, max_ns;
	/* Internal. */
	pthread_t thread;
	int ready[2];
	atomic_bool stop;
	atomic_uint window;	/* incremented at open and at close: odd = open */
};

/* Starts the thread; returns once it has made one exact call (0), or -errno. */
int kt_reader_start(struct kt_reader *r);
void kt_reader_window(struct kt_reader *r, bool open);
void kt_reader_stop(struct kt_reader *r);
uint64_t kt_now_ns(void);

#endif
