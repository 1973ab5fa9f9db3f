// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "kt-mem.h"

#define KT_HUGETLBFS_MAGIC 0x958458f6
#define PM_PRESENT (1ULL << 63)
#define PM_PFN_MASK ((1ULL << 55) - 1)

static void touch(struct kt_buf *b)
{
	size_t i;

	for (i = 0; i < b->len; i += KT_PAGE)
		b->va[i] = (uint8_t)(i / KT_PAGE);
}

int kt_huge_file(size_t len)
{
	char path[] = "/dev/hugepages/kt-XXXXXX";
	struct statfs sfs;
	int fd, err;

	if (statfs("/dev/hugepages", &sfs) || sfs.f_type != KT_HUGETLBFS_MAGIC)
		return -ENOENT;
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	unlink(path);
	if (ftruncate(fd, (off_t)len)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

static int alloc_huge(struct kt_buf *b)
{
	void *va;
	int fd, err;

	fd = kt_huge_file(b->len);
	if (fd < 0)
		return fd;
	va = mmap(NULL, b->len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
	err = va == MAP_FAILED ? -errno : 0;
	close(fd);
	if (err)
		return err;
	b->va = va;
	return 0;
}

int kt_buf_alloc(struct kt_buf *b, size_t len, bool huge)
{
	void *va;
	int err;

	memset(b, 0, sizeof(*b));
	b->len = len;
	b->huge = huge;
	if (huge) {
		if (len % KT_HUGE)
			return -EINVAL;
		err = alloc_huge(b);
		if (err)
			return err;
	} else {
		va = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (va == MAP_FAILED)
			return -errno;
		/* Plain 4 KiB pages even on a kernel with THP. */
		madvise(va, len, MADV_NOHUGEPAGE);
		b->va = va;
	}
	touch(b);
	return 0;
}

int kt_buf_alloc_scattered(struct kt_buf *b, size_t len, uint64_t *seed)
{
	size_t n = len / KT_PAGE, i, j;
	uint32_t *order, t;
	void *va;

	memset(b, 0, sizeof(*b));
	if (!n || len % KT_PAGE || n > UINT32_MAX)
		return -EINVAL;
	order = malloc(n * sizeof(*order));
	if (!order)
		return -ENOMEM;
	va = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (va == MAP_FAILED) {
		free(order);
		return -errno;
	}
	madvise(va, len, MADV_NOHUGEPAGE);
	b->va = va;
	b->len = len;
	/* Fisher-Yates: a random permutation of the pages. */
	for (i = 0; i < n; i++)
		order[i] = (uint32_t)i;
	for (i = n - 1; i > 0; i--) {
		j = (size_t)(kt_rand(seed) % (i + 1));
		t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	for (i = 0; i < n; i++)
		b->va[(size_t)order[i] * KT_PAGE] = (uint8_t)order[i];
	free(order);
	return 0;
}

void kt_buf_free(struct kt_buf *b)
{
	if (b->va)
		munmap(b->va, b->len);
	b->va = NULL;
}

int kt_pfns(const void *va, size_t len, uint64_t *pfns)
{
	int fd, ret;

	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = kt_pfns_fd(fd, va, len, pfns);
	close(fd);
	return ret;
}

int kt_pfns_fd(int pagemap_fd, const void *va, size_t len, uint64_t *pfns)
{
	size_t n = len / KT_PAGE, i;
	off_t off = (off_t)((uintptr_t)va / KT_PAGE * sizeof(uint64_t));
	ssize_t got;

	got = pread(pagemap_fd, pfns, n * sizeof(uint64_t), off);
	if (got < 0)
		return -errno;
	if (got != (ssize_t)(n * sizeof(uint64_t)))
		return -EIO;
	for (i = 0; i < n; i++) {
		/* A zero PFN also means pagemap hides PFNs (no CAP_SYS_ADMIN). */
		if (!(pfns[i] & PM_PRESENT) || !(pfns[i] & PM_PFN_MASK))
			return -EFAULT;
		pfns[i] &= PM_PFN_MASK;
	}
	return 0;
}

uint64_t kt_run_bytes(const uint64_t *pfns, size_t npages, size_t off)
{
	size_t i = off / KT_PAGE;

	while (i + 1 < npages && pfns[i + 1] == pfns[i] + 1)
		i++;
	return (uint64_t)(i + 1) * KT_PAGE - off;
}

size_t kt_count_runs(const uint64_t *pfns, size_t npages, size_t *longest)
{
	size_t runs = 0, cur = 0, i;

	*longest = 0;
	for (i = 0; i < npages; i++) {
		if (i && pfns[i] == pfns[i - 1] + 1) {
			cur++;
		} else {
			runs++;
			cur = 1;
		}
		if (cur > *longest)
			*longest = cur;
	}
	return runs;
}

unsigned long kt_hugepages_free(void)
{
	unsigned long n = 0;
	char line[128];
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "HugePages_Free: %lu", &n) == 1)
			break;
	fclose(f);
	return n;
}

uint64_t kt_rand(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dULL;
}
