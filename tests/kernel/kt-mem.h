/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Test buffers (4 KiB pages or 2 MiB hugetlbfs pages) and what
 * /proc/self/pagemap says about them: PFNs and physically contiguous runs.
 */
#ifndef KT_MEM_H
#define KT_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KT_PAGE 4096UL
#define KT_HUGE (2UL << 20)

struct kt_buf {
	uint8_t *va;
	size_t len;
	bool huge;
};

/*
 * 4 KiB pages: anonymous, THP disabled for the range. huge: a file on the
 * hugetlbfs mounted at /dev/hugepages (len a multiple of 2 MiB). Every page
 * is touched. Returns 0 or -errno.
 */
int kt_buf_alloc(struct kt_buf *b, size_t len, bool huge);
/*
 * 4 KiB pages (anonymous, no THP) faulted in a random order drawn from
 * *seed, so that virtually adjacent pages are mostly physically apart.
 */
int kt_buf_alloc_scattered(struct kt_buf *b, size_t len, uint64_t *seed);
void kt_buf_free(struct kt_buf *b);
/*
 * An unlinked file of len bytes (a multiple of 2 MiB) on the hugetlbfs at
 * /dev/hugepages, opened O_CLOEXEC, for mapping its pages in any order.
 * Returns the fd or -errno.
 */
int kt_huge_file(size_t len);

/* PFN of every 4 KiB page of [va, va + len); -EFAULT if one is absent. */
int kt_pfns(const void *va, size_t len, uint64_t *pfns);
/* The same through an open /proc/self/pagemap fd (no open in the call). */
int kt_pfns_fd(int pagemap_fd, const void *va, size_t len, uint64_t *pfns);
/*
 * Bytes that are physically contiguous from byte off of a range whose
 * pages have PFNs pfns[0..npages), up to the end of the range.
 */
uint64_t kt_run_bytes(const uint64_t *pfns, size_t npages, size_t off);
/* Number of physically contiguous runs; *longest in pages. */
size_t kt_count_runs(const uint64_t *pfns, size_t npages, size_t *longest);
unsigned long kt_hugepages_free(void);
/* xorshift64* */
uint64_t kt_rand(uint64_t *state);

#endif
