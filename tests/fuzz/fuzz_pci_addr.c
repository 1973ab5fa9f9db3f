/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vni_pci_addr_parse(): any string. A parsed address is in range, formats
 * without error, and the formatted text parses to the same address.
 */
#include <errno.h>
#include <vfionoiommu/vfionoiommu.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_str(data, size), buf[VNI_PCI_ADDR_STRLEN];
	struct vni_pci_addr a, b;
	int ret;

	memset(&a, 0x5a, sizeof(a));
	ret = vni_pci_addr_parse(s, &a);
	FUZZ_CHECK(ret == 0 || ret == -EINVAL);
	if (ret == 0) {
		FUZZ_CHECK(a.dev <= 0x1f && a.fn <= 7);
		FUZZ_CHECK(vni_pci_addr_format(&a, buf, sizeof(buf)) == 0);
		FUZZ_CHECK(vni_pci_addr_parse(buf, &b) == 0);
		FUZZ_CHECK(a.domain == b.domain && a.bus == b.bus && a.dev == b.dev &&
			   a.fn == b.fn);
		FUZZ_CHECK(vni_pci_addr_format(&a, buf, sizeof(buf) - 1) == -ENOSPC);
	}
	free(s);
	return 0;
}
