/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvfionoiommu - reason codes of failures (see reason.h).
 */
#include <stdarg.h>
#include <stdio.h>

#include "internal.h"

static _Thread_local int tls_reason;

void vnip_reason_set(enum vni_reason reason)
{
	tls_reason = (int)reason;
}

int vni_reason_last(void)
{
	return tls_reason;
}

const char *vni_reason_name(int reason)
{
	static const char *const names[] = {
		[VNI_REASON_NONE] = "none",
		[VNI_REASON_NOIOMMU_OFF] = "noiommu-off",
		[VNI_REASON_UNBOUND] = "unbound",
		[VNI_REASON_BOUND_ELSEWHERE] = "bound-elsewhere",
		[VNI_REASON_REAL_IOMMU] = "real-iommu",
		[VNI_REASON_NO_IOMMU] = "no-iommu",
		[VNI_REASON_BACKEND_MISMATCH] = "backend-mismatch",
		[VNI_REASON_KERNEL_LACKS] = "kernel-lacks",
		[VNI_REASON_NO_DEVICE] = "no-device",
		[VNI_REASON_NO_SUCH_DEVICE] = "no-such-device",
		[VNI_REASON_NO_PRIVILEGE] = "no-privilege",
		[VNI_REASON_PAGEMAP_HIDDEN] = "pagemap-hidden",
		[VNI_REASON_MAY_MOVE] = "may-move",
		[VNI_REASON_IN_USE] = "in-use",
	};

	if (reason < 0 || (size_t)reason >= VNIP_ARRAY_SIZE(names) || !names[reason])
		return "?";
	return names[reason];
}

int vnip_err_r(enum vni_reason reason, int err, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	vnip_err(err, "%s", buf);
	tls_reason = (int)reason;
	return err;
}

int vnip_err_static_r(enum vni_reason reason, int err, const char *msg)
{
	vnip_err_static(err, msg);
	tls_reason = (int)reason;
	return err;
}
