/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Runs a fuzz target over files (the seed corpus) without libFuzzer: the
 * quick regression of the unit suite. scripts/fuzz.sh builds the same
 * targets with clang -fsanitize=fuzzer for real fuzzing.
 */
#include <stdio.h>

#include "fuzz.h"

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		FILE *f = fopen(argv[i], "rb");
		uint8_t buf[65536];
		size_t n;

		if (!f) {
			perror(argv[i]);
			return 2;
		}
		n = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		LLVMFuzzerTestOneInput(buf, n);
	}
	printf("%d input(s) ran\n", argc - 1);
	return 0;
}
