// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * hugepage-hold N: map N anonymous 2 MiB hugepages, fault each in, print
 * "holding N" and wait for a signal (the pages stay in use until then).
 * The vni-hugepages VM test uses it to make a release be refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MAP_HUGE_SHIFT
#define MAP_HUGE_SHIFT 26
#endif
#define HUGE_2M (2UL << 20)

int main(int argc, char **argv)
{
	unsigned long n = argc == 2 ? strtoul(argv[1], NULL, 0) : 0;
	char *p;

	if (n == 0) {
		fprintf(stderr, "usage: hugepage-hold N\n");
		return 2;
	}
	p = mmap(NULL, n * HUGE_2M, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | (21 << MAP_HUGE_SHIFT), -1, 0);
	if (p == MAP_FAILED) {
		perror("hugepage-hold: mmap MAP_HUGETLB");
		return 1;
	}
	for (unsigned long i = 0; i < n; i++)
		memset(p + i * HUGE_2M, 0x5a, 64);
	printf("holding %lu\n", n);
	fflush(stdout);
	for (;;)
		pause();
}
