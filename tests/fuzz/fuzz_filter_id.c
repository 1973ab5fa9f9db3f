/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz vni_pci_filter_parse_id() (vni-list --device VVVV[:DDDD]).
 *
 * Properties, for an accepted input:
 *   - VNI_PCI_MATCH_VENDOR is added, VNI_PCI_MATCH_DEVICE exactly when a
 *     device ID follows the colon; flags already set stay set;
 *   - fields other than vendor, device and flags are untouched, and device
 *     is untouched when no device ID is given;
 *   - the IDs are the hexadecimal numbers before and after the colon;
 *   - the canonical form ("%04x" or "%04x:%04x") parses to the same filter.
 * For a rejected input: -EINVAL, and the message quotes the input (up to 64
 * bytes) as the caller passed it.
 */
#include <ctype.h>
#include <errno.h>

#include <vfionoiommu/vfionoiommu.h>
#include <vfionoiommu/util.h>

#include "fuzz.h"

/* Value of the hexadecimal digits at s (up to a ':' or the end), ignoring an
 * optional 0x prefix; -1 if there are none or they overflow 32 bits. */
static long long hexval(const char *s)
{
	unsigned long long v = 0;
	size_t n = 0;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && isxdigit((unsigned char)s[2]))
		s += 2;
	for (; isxdigit((unsigned char)*s); s++, n++) {
		v = v * 16 + (unsigned long long)(isdigit((unsigned char)*s) ? *s - '0' :
						  tolower((unsigned char)*s) - 'a' + 10);
		if (v > 0xffffffffull)
			return -1;
	}
	return n ? (long long)v : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vni_pci_filter f, orig, g;
	char *s = fuzz_strdup(data, size);
	const char *colon = strchr(s, ':');
	bool has_device = colon && colon[1] != '\0';
	char canon[16];
	long long v;
	int ret;

	vni_log_set_level(VNI_LOG_NONE);
	/* Arbitrary prior contents, from the input's first bytes. */
	memset(&f, 0, sizeof(f));
	memcpy(&f, data, size < offsetof(struct vni_pci_filter, driver) ?
	       size : offsetof(struct vni_pci_filter, driver));
	f.flags &= ~(VNI_PCI_MATCH_VENDOR | VNI_PCI_MATCH_DEVICE);
	f.driver = "unchanged";
	orig = f;

	ret = vni_pci_filter_parse_id(s, &f);
	if (ret != 0) {
		char quoted[80];

		FUZZ_CHECK(ret == -EINVAL, "\"%s\": returned %d", s, ret);
		/* The message quotes what the caller passed (its first 64 bytes). */
		snprintf(quoted, sizeof(quoted), "\"%.64s\"", s);
		FUZZ_CHECK(strstr(vni_strerror_last(), quoted) != NULL,
			   "\"%s\" rejected with the message: %s", s, vni_strerror_last());
		free(s);
		return 0;
	}
	FUZZ_CHECK(f.flags & VNI_PCI_MATCH_VENDOR, "\"%s\": no vendor flag", s);
	FUZZ_CHECK(!!(f.flags & VNI_PCI_MATCH_DEVICE) == has_device,
		   "\"%s\": device flag %d", s, !!(f.flags & VNI_PCI_MATCH_DEVICE));
	FUZZ_CHECK((f.flags & orig.flags) == orig.flags, "\"%s\": cleared flags", s);
	FUZZ_CHECK((f.flags & ~orig.flags & ~(VNI_PCI_MATCH_VENDOR | VNI_PCI_MATCH_DEVICE)) == 0,
		   "\"%s\": added other flags", s);
	FUZZ_CHECK(f.class_code == orig.class_code && f.class_mask == orig.class_mask &&
		   memcmp(&f.addr, &orig.addr, sizeof(f.addr)) == 0 && f.driver == orig.driver,
		   "\"%s\": touched other fields", s);
	if (!has_device)
		FUZZ_CHECK(f.device == orig.device, "\"%s\": set a device", s);

	v = hexval(s);
	FUZZ_CHECK(v == f.vendor, "\"%s\": vendor %#x, expected %#llx", s, f.vendor, v);
	if (has_device) {
		v = hexval(colon + 1);
		FUZZ_CHECK(v == f.device, "\"%s\": device %#x, expected %#llx", s, f.device, v);
		snprintf(canon, sizeof(canon), "%04x:%04x", f.vendor, f.device);
	} else {
		snprintf(canon, sizeof(canon), "%04x", f.vendor);
	}
	memset(&g, 0, sizeof(g));
	ret = vni_pci_filter_parse_id(canon, &g);
	FUZZ_CHECK(ret == 0, "canonical \"%s\" of \"%s\" rejected", canon, s);
	FUZZ_CHECK(g.vendor == f.vendor && g.flags == (f.flags & (VNI_PCI_MATCH_VENDOR |
								  VNI_PCI_MATCH_DEVICE)) &&
		   (!has_device || g.device == f.device),
		   "canonical \"%s\" of \"%s\" parses differently", canon, s);
	free(s);
	return 0;
}
