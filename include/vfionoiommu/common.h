/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvfionoiommu - errors, logging and version.
 *
 * Conventions shared by every libvfionoiommu call:
 *
 * - Functions that can fail return 0 (or a non-negative count where stated)
 *   on success and a negative errno value on failure. They never call exit(),
 *   abort() or print anything on their own.
 * - After a failure, vni_strerror_last() returns a human-readable message
 *   (per thread) that says what went wrong and, where it can, what to do.
 * - A failed call leaves nothing behind: no file descriptor, pinned page,
 *   mapping or allocation that it made.
 * - Every file descriptor the library creates has close-on-exec set.
 * - Handles are opaque. Functions that destroy a handle take a pointer to the
 *   caller's handle variable and clear it, so a second destroy through the
 *   same variable fails cleanly with -EBADF instead of touching freed memory.
 */
#ifndef VFIONOIOMMU_COMMON_H
#define VFIONOIOMMU_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include <vfionoiommu/version.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define VNI_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define VNI_PRINTF(fmt, args)
#endif

/**
 * vni_version() - version of the library that is running
 *
 * Return: the library's version as "MAJOR.MINOR.PATCH" (static string);
 * compare with VNI_VERSION_STRING from the headers the program was built
 * against.
 */
const char *vni_version(void);

/**
 * vni_strerror_last() - message describing the calling thread's last failure
 *
 * Every libvfionoiommu call that returns a negative errno records a message in
 * thread-local storage; this returns it. Successful calls do not clear it.
 * Hot-path lookups (vni_dma_addr() and friends) record short fixed messages.
 *
 * Return: a NUL-terminated string owned by the library, valid until the
 * calling thread's next libvfionoiommu call; "" if no call of this thread
 * has failed yet. Never NULL.
 */
const char *vni_strerror_last(void);

/**
 * vni_errno_last() - errno value of the calling thread's last failure
 *
 * Return: the positive errno value that the last failing libvfionoiommu
 * call of this thread returned (negated), or 0 if none has failed yet.
 */
int vni_errno_last(void);

/**
 * enum vni_log_level - log message severities, in increasing verbosity
 * @VNI_LOG_NONE:  nothing is logged (as a level threshold only)
 * @VNI_LOG_ERROR: a call failed; the same text as vni_strerror_last()
 * @VNI_LOG_WARN:  something unusual that the library worked around
 *                 (for example: no hugepages, falling back to 4 KiB pages)
 * @VNI_LOG_INFO:  life cycle events: context, device open/close
 * @VNI_LOG_DEBUG: every kernel interaction worth seeing when debugging
 */
enum vni_log_level {
	VNI_LOG_NONE = 0,
	VNI_LOG_ERROR = 1,
	VNI_LOG_WARN = 2,
	VNI_LOG_INFO = 3,
	VNI_LOG_DEBUG = 4,
};

/**
 * typedef vni_log_fn - log callback
 * @opaque: the pointer given to vni_log_set_callback()
 * @level:  severity of the message
 * @msg:    the message, NUL-terminated, without a trailing newline
 *
 * Called synchronously from whichever thread logs, possibly from several
 * threads at once; it must not call back into libvfionoiommu.
 */
typedef void (*vni_log_fn)(void *opaque, enum vni_log_level level,
			   const char *msg);

/**
 * vni_log_set_callback() - install the process-wide log callback
 * @fn:     callback, or NULL to drop all messages (the default)
 * @opaque: passed to @fn unchanged
 *
 * The library never prints by itself: without a callback, messages are
 * discarded. vni_log_stderr() is a ready-made callback that prints to stderr.
 *
 * When this returns, no call of the previous callback is running any more
 * and none will start: the caller may free the previous @opaque. It waits
 * for calls in progress in other threads to finish, so it must not be
 * called from inside a log callback (which must not call into the library
 * anyway).
 */
void vni_log_set_callback(vni_log_fn fn, void *opaque);

/**
 * vni_log_stderr() - ready-made log callback printing to stderr
 * @opaque: ignored
 * @level:  severity, printed as a prefix
 * @msg:    message
 *
 * Prints "libvfionoiommu: <level>: <msg>\n" to stderr. Install it with
 * vni_log_set_callback(vni_log_stderr, NULL).
 */
void vni_log_stderr(void *opaque, enum vni_log_level level, const char *msg);

/**
 * vni_log_set_level() - set the process-wide log threshold
 * @level: messages more verbose than @level are not produced
 *
 * The initial threshold comes from the environment variable VNI_LOG
 * ("none", "error", "warn", "info", "debug" or a digit 0-4), read once at the
 * first log-related call; VNI_LOG_WARN when VNI_LOG is unset or invalid.
 * An explicit call overrides the environment.
 *
 * Return: 0, or -EINVAL if @level is out of range (threshold unchanged).
 */
int vni_log_set_level(enum vni_log_level level);

/**
 * vni_log_get_level() - current process-wide log threshold
 *
 * Return: the threshold in force (see vni_log_set_level()).
 */
enum vni_log_level vni_log_get_level(void);

#ifdef __cplusplus
}
#endif

#endif /* VFIONOIOMMU_COMMON_H */
