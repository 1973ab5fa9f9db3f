// SPDX-License-Identifier: LGPL-2.1-or-later
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "kt-tap.h"

static int kt_tests;
static int kt_failed;
static const char *kt_name = "test";

void kt_start(const char *name)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	kt_name = name;
	printf("TAP version 13\n");
	printf("# %s\n", name);
}

bool kt_check(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d - ", ok ? "" : "not ", ++kt_tests);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	if (!ok)
		kt_failed++;
	return ok;
}

void kt_diag(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

void kt_bail(const char *fmt, ...)
{
	va_list ap;

	fputs("Bail out! ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	printf("# %s: FAIL after %d test(s), %d failed\n", kt_name, kt_tests, kt_failed);
	fflush(stdout);
	exit(1);
}

int kt_failures(void)
{
	return kt_failed;
}

int kt_finish(void)
{
	printf("1..%d\n", kt_tests);
	printf("# %s: %s: %d/%d passed\n", kt_name,
	       kt_failed || !kt_tests ? "FAIL" : "PASS", kt_tests - kt_failed, kt_tests);
	fflush(stdout);
	return kt_failed || !kt_tests ? 1 : 0;
}
