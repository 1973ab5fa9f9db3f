/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared by the fuzz targets: the libFuzzer entry point and a helper. */
#ifndef VNI_FUZZ_H
#define VNI_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input as a NUL-terminated string (embedded NULs end it early, as
 * they would for any C string the library gets). */
static inline char *fuzz_str(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

#define FUZZ_CHECK(c) do { if (!(c)) abort(); } while (0)

#endif
