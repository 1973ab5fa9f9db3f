/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * TAP output for the in-guest kernel tests: numbered "ok N - ..." lines,
 * "# ..." diagnostics, the plan at the end, and the exit status.
 */
#ifndef KT_TAP_H
#define KT_TAP_H

#include <stdbool.h>

#define KT_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* Prints the TAP header and makes stdout line buffered. */
void kt_start(const char *name);
/* One test point; returns ok so callers can chain on it. */
bool kt_check(bool ok, const char *fmt, ...) KT_PRINTF(2, 3);
void kt_diag(const char *fmt, ...) KT_PRINTF(1, 2);
/* Stops the run: prints "Bail out!" and exits with status 1. */
__attribute__((noreturn)) void kt_bail(const char *fmt, ...) KT_PRINTF(1, 2);
/* Prints the plan and a summary; the exit status for main(). */
int kt_finish(void);
int kt_failures(void);

#endif
