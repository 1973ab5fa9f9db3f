/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvfionoiommu - last-error messages and logging.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

#define VNIP_MSG_LEN 512

/* Last failure of this thread: either a formatted message in buf or a
 * pointer to a static string (hot paths). */
static _Thread_local char tls_buf[VNIP_MSG_LEN];
static _Thread_local const char *tls_msg;
static _Thread_local int tls_errno;

/* Callbacks run with the read side held, vni_log_set_callback() takes the
 * write side: when it returns, no call of the old callback is running or
 * will start. */
static struct {
	pthread_rwlock_t lock;          /* protects fn + opaque together */
	vni_log_fn fn;
	void *opaque;
} log_cb = { PTHREAD_RWLOCK_INITIALIZER, NULL, NULL };

_Atomic long vnip_log_setters;

/* -1: not initialized from the environment yet */
static _Atomic int log_level = -1;

const char *vni_version(void)
{
	return VNI_VERSION_STRING;
}

const char *vni_strerror_last(void)
{
	return tls_msg ? tls_msg : "";
}

int vni_errno_last(void)
{
	return tls_errno;
}

int vni_log_level_parse(const char *s, enum vni_log_level *level)
{
	static const struct {
		const char *name;
		enum vni_log_level level;
	} names[] = {
		{ "none", VNI_LOG_NONE },   { "error", VNI_LOG_ERROR },
		{ "err", VNI_LOG_ERROR },   { "warn", VNI_LOG_WARN },
		{ "warning", VNI_LOG_WARN }, { "info", VNI_LOG_INFO },
		{ "debug", VNI_LOG_DEBUG },
	};

	if (!s || !level)
		return vnip_err(-EINVAL, "vni_log_level_parse: NULL argument");
	if (s[0] >= '0' && s[0] <= '4' && s[1] == '\0') {
		*level = (enum vni_log_level)(s[0] - '0');
		return 0;
	}
	for (size_t i = 0; i < VNIP_ARRAY_SIZE(names); i++) {
		if (strcasecmp(s, names[i].name) == 0) {
			*level = names[i].level;
			return 0;
		}
	}
	return vnip_err(-EINVAL,
			"unknown log level \"%s\" (use none, error, warn, info, debug or 0-4)",
			s);
}

const char *vni_log_level_name(enum vni_log_level level)
{
	switch (level) {
	case VNI_LOG_NONE: return "none";
	case VNI_LOG_ERROR: return "error";
	case VNI_LOG_WARN: return "warn";
	case VNI_LOG_INFO: return "info";
	case VNI_LOG_DEBUG: return "debug";
	}
	return "?";
}

static int level_from_env(void)
{
	const char *s = secure_getenv("VNI_LOG");
	enum vni_log_level level;

	if (!s || !*s)
		return VNI_LOG_WARN;
	/* Parse without touching the last-error state. */
	if (s[0] >= '0' && s[0] <= '4' && s[1] == '\0')
		return s[0] - '0';
	for (level = VNI_LOG_NONE; level <= VNI_LOG_DEBUG; level++)
		if (strcasecmp(s, vni_log_level_name(level)) == 0)
			return (int)level;
	if (strcasecmp(s, "warning") == 0)
		return VNI_LOG_WARN;
	if (strcasecmp(s, "err") == 0)
		return VNI_LOG_ERROR;
	return VNI_LOG_WARN;
}

static int current_level(void)
{
	int l = atomic_load_explicit(&log_level, memory_order_relaxed);

	if (l < 0) {
		int expected = -1;

		l = level_from_env();
		/* An explicit vni_log_set_level() that raced us wins. */
		if (!atomic_compare_exchange_strong(&log_level, &expected, l))
			l = expected;
	}
	return l;
}

void vnip_log_reset(void)
{
	atomic_store(&log_level, -1);
}

int vni_log_set_level(enum vni_log_level level)
{
	if ((int)level < VNI_LOG_NONE || level > VNI_LOG_DEBUG)
		return vnip_err(-EINVAL, "vni_log_set_level: level %d out of range 0-4",
				(int)level);
	atomic_store(&log_level, (int)level);
	return 0;
}

enum vni_log_level vni_log_get_level(void)
{
	return (enum vni_log_level)current_level();
}

void vni_log_set_callback(vni_log_fn fn, void *opaque)
{
	atomic_fetch_add(&vnip_log_setters, 1);
	pthread_rwlock_wrlock(&log_cb.lock);
	log_cb.fn = fn;
	log_cb.opaque = opaque;
	pthread_rwlock_unlock(&log_cb.lock);
	atomic_fetch_sub(&vnip_log_setters, 1);
}

void vni_log_stderr(void *opaque, enum vni_log_level level, const char *msg)
{
	(void)opaque;
	fprintf(stderr, "libvfionoiommu: %s: %s\n", vni_log_level_name(level),
		msg ? msg : "");
}

bool vnip_log_enabled(enum vni_log_level level)
{
	return level != VNI_LOG_NONE && (int)level <= current_level();
}

static void emit(enum vni_log_level level, const char *msg)
{
	vni_log_fn fn;
	void *opaque;

	if (!vnip_log_enabled(level))
		return;
	/* Held across the call (see log_cb). Several threads may log at once. */
	pthread_rwlock_rdlock(&log_cb.lock);
	fn = log_cb.fn;
	opaque = log_cb.opaque;
	if (fn)
		fn(opaque, level, msg);
	pthread_rwlock_unlock(&log_cb.lock);
}

void vnip_log(enum vni_log_level level, const char *fmt, ...)
{
	char buf[VNIP_MSG_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	emit(level, buf);
}

int vnip_err(int err, const char *fmt, ...)
{
	char buf[VNIP_MSG_LEN];
	size_t n;
	va_list ap;

	/* Format into a local first: arguments may point into tls_buf. */
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	n = strlen(buf);
	if (err < 0 && n + 16 < sizeof(buf))
		snprintf(buf + n, sizeof(buf) - n, " (%s)", strerrordesc_np(-err) ?
			 strerrordesc_np(-err) : "unknown error");
	memcpy(tls_buf, buf, sizeof(buf));
	tls_msg = tls_buf;
	tls_errno = err < 0 ? -err : err;
	vnip_reason_set(VNI_REASON_NONE);
	emit(VNI_LOG_ERROR, tls_buf);
	return err;
}

int vnip_err_keep(int err, const char *msg)
{
	char buf[VNIP_MSG_LEN];

	snprintf(buf, sizeof(buf), "%s", msg);
	memcpy(tls_buf, buf, sizeof(buf));
	tls_msg = tls_buf;
	tls_errno = err < 0 ? -err : err;
	return err;
}

int vnip_err_static(int err, const char *msg)
{
	tls_msg = msg;
	tls_errno = err < 0 ? -err : err;
	vnip_reason_set(VNI_REASON_NONE);
	return err;
}
