/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vni_pci_filter_parse_id() (the tools' -d VVVV:DDDD option): any string.
 * It succeeds or says -EINVAL, sets only the vendor/device fields and
 * flags, and never touches the rest of the filter.
 */
#include <errno.h>
#include <vfionoiommu/vfionoiommu.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_str(data, size);
	struct vni_pci_filter f;
	int ret;

	memset(&f, 0, sizeof(f));
	f.class_code = 0x123456;
	ret = vni_pci_filter_parse_id(s, &f);
	FUZZ_CHECK(ret == 0 || ret == -EINVAL);
	FUZZ_CHECK(f.class_code == 0x123456 && f.class_mask == 0 && f.driver == NULL);
	FUZZ_CHECK(!(f.flags & ~(unsigned int)(VNI_PCI_MATCH_VENDOR | VNI_PCI_MATCH_DEVICE)));
	if (ret == 0)
		FUZZ_CHECK(f.flags & VNI_PCI_MATCH_VENDOR);
	free(s);
	return 0;
}
