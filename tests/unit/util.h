/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared helpers of the unit tests. */
#ifndef VNI_TEST_UTIL_H
#define VNI_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <vfionoiommu/vfionoiommu.h>
#include <vfionoiommu/util.h>

#include "fake.h"

/* cmocka fixtures: a fresh simulated kernel per test, and a check that
 * the test left no fd, mmap, IOAS mapping or heap block behind. */
static inline int fake_setup(void **state)
{
	(void)state;
	fake_install(NULL);
	return 0;
}

static inline int fake_teardown(void **state)
{
	struct fake_counts c;

	(void)state;
	fake_counts(&c);
	if (fake_unsafe_detaches())
		fail_msg("%ld device(s) detached from the IOAS with Bus Master or "
			 "interrupts on: %s", fake_unsafe_detaches(), fake_log());
	fake_uninstall();
	if (c.fds || c.mmaps || c.ioas_maps || c.heap || c.locked_pages)
		fail_msg("leak after test: fds %ld mmaps %ld ioas_maps %ld heap %ld "
			 "locked pages %ld", c.fds, c.mmaps, c.ioas_maps, c.heap,
			 c.locked_pages);
	return 0;
}

#define EDU "0000:00:04.0"
#define EDU2 "0000:00:05.0"

/* Expect a call to return -err and leave a non-empty message. */
#define assert_err(expr, err) do { \
	int r_ = (expr); \
	if (r_ != -(err)) \
		fail_msg("%s returned %d (%s), expected -%s", #expr, r_, \
			 vni_strerror_last(), #err); \
	assert_true(vni_strerror_last()[0] != '\0'); \
	assert_int_equal(vni_errno_last(), (err)); \
} while (0)

#define assert_ok(expr) do { \
	int r_ = (expr); \
	if (r_ != 0) \
		fail_msg("%s returned %d: %s", #expr, r_, vni_strerror_last()); \
} while (0)

static inline void assert_counts_equal(const struct fake_counts *a,
				       const struct fake_counts *b, const char *what)
{
	if (a->fds != b->fds || a->mmaps != b->mmaps || a->ioas_maps != b->ioas_maps ||
	    a->heap != b->heap || a->pinned_pages != b->pinned_pages ||
	    a->locked_pages != b->locked_pages)
		fail_msg("%s: leak: fds %ld->%ld mmaps %ld->%ld ioas_maps %ld->%ld "
			 "heap %ld->%ld pinned %ld->%ld locked %ld->%ld", what, a->fds,
			 b->fds, a->mmaps, b->mmaps, a->ioas_maps, b->ioas_maps, a->heap,
			 b->heap, a->pinned_pages, b->pinned_pages, a->locked_pages,
			 b->locked_pages);
}

#endif
