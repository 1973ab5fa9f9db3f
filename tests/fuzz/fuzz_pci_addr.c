/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz vni_pci_addr_parse() and vni_pci_addr_format().
 *
 * The input is used twice: as a string for the parser, and (when long
 * enough) as the bytes of a struct vni_pci_addr for the formatter.
 *
 * Properties checked, for any input the parser accepts (so they hold for
 * any address syntax the library supports, including 32-bit domains):
 *   - device <= 0x1f, function <= 7, reserved bytes zero;
 *   - the address formats into VNI_PCI_ADDR_STRLEN bytes, and the result
 *     parses back to the identical struct (round trip), and formats to the
 *     identical string again (canonical form is a fixed point);
 *   - the formatted string ends in the input's last 7 characters
 *     ("BB:DD.F") in lower case, and its domain is the input's domain
 *     part (0 in the short form) of 1 to 8 hexadecimal digits;
 *   - the formatted domain has exactly 4 digits up to 0xffff and no
 *     leading zero above (the kernel's "%04x");
 *   - a buffer shorter than the result gives -ENOSPC and stays untouched.
 * For a rejected input: -EINVAL and the output struct is untouched.
 * For the formatter: any struct with device <= 0x1f, function <= 7 and a
 * zero reserved byte formats (every 32-bit domain), and parses back to the
 * same domain, bus, device and function; any other gives -EINVAL and
 * writes nothing.
 */
#include <ctype.h>
#include <errno.h>

#include <vfionoiommu/vfionoiommu.h>

#include "fuzz.h"

#define CANARY 0xa5

static void check_format(const struct vni_pci_addr *a, char *out, size_t outlen)
{
	char small[VNI_PCI_ADDR_STRLEN + 8];
	size_t n;
	int ret;

	memset(out, CANARY, outlen);
	ret = vni_pci_addr_format(a, out, outlen);
	FUZZ_CHECK(ret == 0, "format failed with %d", ret);
	n = strnlen(out, outlen);
	FUZZ_CHECK(n < outlen, "formatted address not NUL-terminated");
	/* Every shorter buffer: -ENOSPC, nothing written. */
	for (size_t len = 0; len <= n && len < sizeof(small); len++) {
		memset(small, CANARY, sizeof(small));
		ret = vni_pci_addr_format(a, small, len);
		FUZZ_CHECK(ret == -ENOSPC, "format into %zu bytes for \"%s\" returned %d",
			   len, out, ret);
		for (size_t i = 0; i < sizeof(small); i++)
			FUZZ_CHECK((unsigned char)small[i] == CANARY,
				   "format into %zu bytes wrote byte %zu", len, i);
	}
}

static void fuzz_parse(const char *s)
{
	struct vni_pci_addr a, b, untouched;
	char buf[VNI_PCI_ADDR_STRLEN], buf2[VNI_PCI_ADDR_STRLEN];
	size_t slen = strlen(s), blen;
	int ret;

	memset(&a, CANARY, sizeof(a));
	memcpy(&untouched, &a, sizeof(a));
	ret = vni_pci_addr_parse(s, &a);
	if (ret != 0) {
		FUZZ_CHECK(ret == -EINVAL, "parse returned %d", ret);
		FUZZ_CHECK(memcmp(&a, &untouched, sizeof(a)) == 0,
			   "rejected input wrote the output");
		return;
	}
	FUZZ_CHECK(a.dev <= 0x1f && a.fn <= 7, "\"%s\": dev %#x fn %#x out of range",
		   s, a.dev, a.fn);
	for (size_t i = 0; i < sizeof(a.reserved); i++)
		FUZZ_CHECK(a.reserved[i] == 0, "reserved byte %zu is %#x", i, a.reserved[i]);

	check_format(&a, buf, sizeof(buf));
	blen = strlen(buf);
	FUZZ_CHECK(a.domain > 0xffff ? blen > 12 && buf[0] != '0' : blen == 12,
		   "domain %#x formats as \"%s\"", (unsigned int)a.domain, buf);

	memset(&b, 0x5a, sizeof(b));
	ret = vni_pci_addr_parse(buf, &b);
	FUZZ_CHECK(ret == 0, "formatted \"%s\" (from \"%s\") does not parse: %d", buf, s, ret);
	FUZZ_CHECK(memcmp(&a, &b, sizeof(a)) == 0, "\"%s\" -> \"%s\" -> another address",
		   s, buf);
	check_format(&b, buf2, sizeof(buf2));
	FUZZ_CHECK(strcmp(buf, buf2) == 0, "\"%s\" formats as \"%s\" then \"%s\"", s, buf, buf2);

	/* "BB:DD.F" at the end of both, the same up to case. */
	FUZZ_CHECK(slen >= 7 && blen >= 7, "\"%s\" accepted, shorter than BB:DD.F", s);
	for (size_t i = 0; i < 7; i++)
		FUZZ_CHECK(tolower((unsigned char)s[slen - 7 + i]) == buf[blen - 7 + i],
			   "\"%s\" formats as \"%s\": bus/device/function differ", s, buf);
	/* The domain: what precedes "BB:DD.F" in the input, in hexadecimal. */
	if (slen == 7) {
		FUZZ_CHECK(a.domain == 0, "short form \"%s\" has domain %#llx", s,
			   (unsigned long long)a.domain);
	} else {
		unsigned long long dom = 0;

		FUZZ_CHECK(s[slen - 8] == ':', "\"%s\" accepted without a ':' before the bus", s);
		FUZZ_CHECK(slen - 8 >= 1 && slen - 8 <= 8,
			   "\"%s\" accepted with a %zu-digit domain", s, slen - 8);
		for (size_t i = 0; i < slen - 8; i++) {
			FUZZ_CHECK(isxdigit((unsigned char)s[i]),
				   "\"%s\" accepted with a non-hex domain", s);
			dom = dom * 16 + (unsigned long long)(isdigit((unsigned char)s[i]) ?
				s[i] - '0' : tolower((unsigned char)s[i]) - 'a' + 10);
		}
		FUZZ_CHECK(dom == (unsigned long long)a.domain,
			   "\"%s\" parsed as domain %#llx", s, (unsigned long long)a.domain);
	}
}

static void fuzz_format(const uint8_t *data, size_t size)
{
	struct vni_pci_addr a, b;
	char buf[VNI_PCI_ADDR_STRLEN];
	int ret;

	if (size < sizeof(a))
		return;
	memcpy(&a, data, sizeof(a));
	memset(buf, CANARY, sizeof(buf));
	ret = vni_pci_addr_format(&a, buf, sizeof(buf));
	if (a.dev > 0x1f || a.fn > 7 || a.reserved[0]) {
		FUZZ_CHECK(ret == -EINVAL, "dev %#x fn %#x reserved %#x: format returned %d",
			   a.dev, a.fn, a.reserved[0], ret);
		for (size_t i = 0; i < sizeof(buf); i++)
			FUZZ_CHECK((unsigned char)buf[i] == CANARY, "refused format wrote byte %zu", i);
		return;
	}
	FUZZ_CHECK(ret == 0, "domain %#x bus %#x dev %#x fn %#x: format returned %d",
		   (unsigned int)a.domain, a.bus, a.dev, a.fn, ret);
	check_format(&a, buf, sizeof(buf));
	ret = vni_pci_addr_parse(buf, &b);
	FUZZ_CHECK(ret == 0, "formatted \"%s\" does not parse: %d", buf, ret);
	FUZZ_CHECK(a.domain == b.domain && a.bus == b.bus && a.dev == b.dev && a.fn == b.fn,
		   "\"%s\" parses to another address", buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_strdup(data, size);

	vni_log_set_level(VNI_LOG_NONE);
	fuzz_parse(s);
	fuzz_format(data, size);
	free(s);
	return 0;
}
