/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvfionoiommu fuzz targets - shared helpers (libFuzzer).
 *
 * Every target calls the real library or tool code: tests/fuzz/meson.build
 * compiles lib/ (and tools/common.c, tools/devcheck.c) again with the
 * fuzzer's coverage instrumentation and links them in.
 */
#ifndef VNI_FUZZ_H
#define VNI_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A property of the code under test does not hold: report and crash, so
 * that libFuzzer saves the input. */
#define FUZZ_CHECK(cond, ...) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: property violated: %s: ", __FILE__, __LINE__, #cond); \
		fprintf(stderr, __VA_ARGS__); \
		fputc('\n', stderr); \
		abort(); \
	} \
} while (0)

/* The input as a NUL-terminated string (cut at the first NUL byte), on the
 * heap so that ASan sees reads past its end. Free with free(). */
static inline char *fuzz_strdup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

#endif /* VNI_FUZZ_H */
