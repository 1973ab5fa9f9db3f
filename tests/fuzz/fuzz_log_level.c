/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vni_log_level_parse() (the tools' --log option, the VNI_LOG variable):
 * any string. A parsed level is in range and its name parses back to it.
 */
#include <errno.h>
#include <vfionoiommu/vfionoiommu.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_str(data, size);
	enum vni_log_level l = VNI_LOG_NONE, l2;
	int ret = vni_log_level_parse(s, &l);

	FUZZ_CHECK(ret == 0 || ret == -EINVAL);
	if (ret == 0) {
		FUZZ_CHECK((int)l >= VNI_LOG_NONE && l <= VNI_LOG_DEBUG);
		FUZZ_CHECK(vni_log_level_parse(vni_log_level_name(l), &l2) == 0 && l2 == l);
	}
	free(s);
	return 0;
}
