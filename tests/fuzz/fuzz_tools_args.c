/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz the option value parsers and output helpers of the tools
 * (tools/common.c): vt_parse_u64 (numbers), vt_parse_size (vni-translate
 * --size/--offset/--length, vni-inspect -x), vt_parse_class (vni-list
 * --class), vt_parse_bdf (every tool's BDF argument), vt_format_size,
 * vt_format_flags and the JSON string escaper (vni-list/-inspect --json
 * print sysfs names).
 *
 * The first input byte picks the maximum for vt_parse_u64 and the buffer
 * length for the formatters; the rest is the string. Properties:
 *   - u64: accepted => value <= max and its decimal form parses back;
 *     -ERANGE only for values above max or 64 bits;
 *   - size: accepted without a suffix => same value as vt_parse_u64; with a
 *     suffix => a multiple of its unit, and the number parses as u64;
 *   - class: accepted => mask is ff0000/ffff00/ffffff and code has no bit
 *     outside it; 2, 4 or 6 hex digits (after an optional 0x);
 *   - bdf: accepted exactly when vni_pci_addr_parse() accepts, with its
 *     canonical form;
 *   - format_size/format_flags: NUL-terminated within any buffer length;
 *   - JSON: the escaped string is a valid JSON string literal that decodes
 *     to the input bytes.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <strings.h>

#include "common.h"

#include "fuzz.h"

static void fuzz_u64(const char *s, uint64_t max)
{
	uint64_t v = 12345, w;
	char dec[32];
	int ret = vt_parse_u64(s, max, &v);

	if (ret < 0) {
		FUZZ_CHECK(ret == -EINVAL || ret == -ERANGE, "u64 \"%s\": %d", s, ret);
		FUZZ_CHECK(v == 12345, "u64 \"%s\": rejected but wrote", s);
		if (ret == -ERANGE && max < UINT64_MAX)
			FUZZ_CHECK(vt_parse_u64(s, UINT64_MAX, &w) == 0 ? w > max :
				   vt_parse_u64(s, UINT64_MAX, &w) == -ERANGE,
				   "u64 \"%s\": -ERANGE below max %" PRIu64, s, max);
		return;
	}
	FUZZ_CHECK(v <= max, "u64 \"%s\" = %" PRIu64 " > max %" PRIu64, s, v, max);
	FUZZ_CHECK(isdigit((unsigned char)s[0]), "u64 \"%s\": accepted without a digit", s);
	snprintf(dec, sizeof(dec), "%" PRIu64, v);
	FUZZ_CHECK(vt_parse_u64(dec, max, &w) == 0 && w == v, "u64 %s does not parse back", dec);
}

static void fuzz_size(const char *s)
{
	static const struct { const char *suffix; unsigned int shift; } units[] = {
		{ "", 0 }, { "b", 0 }, { "k", 10 }, { "kb", 10 }, { "kib", 10 },
		{ "m", 20 }, { "mb", 20 }, { "mib", 20 }, { "g", 30 }, { "gb", 30 },
		{ "gib", 30 }, { "t", 40 }, { "tb", 40 }, { "tib", 40 },
	};
	unsigned long long w;
	uint64_t v, u;
	char *end;
	int ret = vt_parse_size(s, &v);

	if (ret < 0) {
		FUZZ_CHECK(ret == -EINVAL || ret == -ERANGE, "size \"%s\": %d", s, ret);
		return;
	}
	FUZZ_CHECK(isdigit((unsigned char)s[0]), "size \"%s\": accepted without a digit", s);
	/* The number is what strtoull(base 0) reads, the rest a documented suffix. */
	errno = 0;
	w = strtoull(s, &end, 0);
	FUZZ_CHECK(errno == 0, "size \"%s\": accepted an out of range number", s);
	for (size_t i = 0; i < VT_ARRAY_SIZE(units); i++) {
		if (strcasecmp(end, units[i].suffix) != 0)
			continue;
		FUZZ_CHECK(units[i].shift == 0 || w <= (UINT64_MAX >> units[i].shift),
			   "size \"%s\": overflow accepted", s);
		FUZZ_CHECK(v == (uint64_t)w << units[i].shift, "size \"%s\" = %" PRIu64, s, v);
		if (units[i].shift == 0)
			FUZZ_CHECK(vt_parse_u64(s, UINT64_MAX, &u) == (end[0] ? -EINVAL : 0),
				   "size \"%s\": differs from vt_parse_u64", s);
		return;
	}
	FUZZ_CHECK(0, "size \"%s\": accepted with suffix \"%s\"", s, end);
}

static void fuzz_class(const char *s)
{
	uint32_t code = 0xdead, mask = 0xbeef;
	const char *d = s;
	size_t n;
	int ret = vt_parse_class(s, &code, &mask);

	if (ret < 0) {
		FUZZ_CHECK(ret == -EINVAL, "class \"%s\": %d", s, ret);
		return;
	}
	if (d[0] == '0' && (d[1] == 'x' || d[1] == 'X'))
		d += 2;
	n = strlen(d);
	FUZZ_CHECK(n == 2 || n == 4 || n == 6, "class \"%s\": %zu digits", s, n);
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK(isxdigit((unsigned char)d[i]), "class \"%s\": not hex", s);
	FUZZ_CHECK(mask == (n == 2 ? 0xff0000u : n == 4 ? 0xffff00u : 0xffffffu),
		   "class \"%s\": mask %#x", s, mask);
	FUZZ_CHECK((code & ~mask) == 0, "class \"%s\": code %#x outside mask %#x", s, code, mask);
	FUZZ_CHECK(code == (uint32_t)strtoul(d, NULL, 16) << (n == 2 ? 16 : n == 4 ? 8 : 0),
		   "class \"%s\": code %#x", s, code);
}

static void fuzz_bdf(const char *s)
{
	char buf[VNI_PCI_ADDR_STRLEN], canon[VNI_PCI_ADDR_STRLEN];
	struct vni_pci_addr a;
	int ret = vt_parse_bdf(s, buf, sizeof(buf));
	bool lib_ok = vni_pci_addr_parse(s, &a) == 0;

	FUZZ_CHECK((ret == 0) == lib_ok, "bdf \"%s\": tools %d, library %d", s, ret, lib_ok);
	if (ret == 0) {
		FUZZ_CHECK(vni_pci_addr_format(&a, canon, sizeof(canon)) == 0 &&
			   strcmp(canon, buf) == 0, "bdf \"%s\": \"%s\", library \"%s\"", s, buf,
			   canon);
	}
	/* Short buffers are refused, never overrun (ASan). */
	for (size_t len = 0; len < sizeof(buf); len++) {
		char *small = malloc(len ? len : 1);

		FUZZ_CHECK(vt_parse_bdf(s, small, len) == -EINVAL, "bdf into %zu bytes", len);
		free(small);
	}
}

static void fuzz_format(const uint8_t *data, size_t size, size_t len)
{
	static const char *const names[] = { "mmap", NULL, "read", "write", "a-rather-long-name" };
	uint64_t v = 0;
	uint32_t flags = 0;
	char *buf = malloc(len ? len : 1);

	memcpy(&v, data, size < 8 ? size : 8);
	memcpy(&flags, data, size < 4 ? size : 4);
	vt_format_size(v, buf, len);
	if (len)
		FUZZ_CHECK(strnlen(buf, len) < len, "format_size not NUL-terminated");
	vt_format_flags(flags, names, VT_ARRAY_SIZE(names), buf, len);
	if (len)
		FUZZ_CHECK(strnlen(buf, len) < len, "format_flags not NUL-terminated");
	free(buf);
}

static int hexdig(int c)
{
	return isdigit(c) ? c - '0' : tolower(c) - 'a' + 10;
}

static void fuzz_json(const char *s)
{
	char *out = NULL, *dec;
	size_t outlen = 0, n = 0;
	FILE *f = open_memstream(&out, &outlen);
	const unsigned char *p;

	FUZZ_CHECK(f, "open_memstream failed");
	vt_json_write_escaped(f, s);
	fclose(f);
	FUZZ_CHECK(outlen >= 2 && out[0] == '"' && out[outlen - 1] == '"',
		   "JSON string not quoted: %s", out);
	dec = malloc(outlen);
	for (p = (const unsigned char *)out + 1; p < (const unsigned char *)out + outlen - 1; p++) {
		FUZZ_CHECK(*p >= 0x20 && *p != '"', "JSON: raw %#x in %s", *p, out);
		if (*p != '\\') {
			dec[n++] = (char)*p;
			continue;
		}
		p++;
		switch (*p) {
		case '"': dec[n++] = '"'; break;
		case '\\': dec[n++] = '\\'; break;
		case '/': dec[n++] = '/'; break;
		case 'b': dec[n++] = '\b'; break;
		case 'f': dec[n++] = '\f'; break;
		case 'n': dec[n++] = '\n'; break;
		case 'r': dec[n++] = '\r'; break;
		case 't': dec[n++] = '\t'; break;
		case 'u':
			for (int i = 1; i <= 4; i++)
				FUZZ_CHECK(isxdigit(p[i]), "JSON: bad \\u escape in %s", out);
			FUZZ_CHECK(p[1] == '0' && p[2] == '0', "JSON: \\u above 0xff in %s", out);
			dec[n++] = (char)(hexdig(p[3]) * 16 + hexdig(p[4]));
			p += 4;
			break;
		default:
			FUZZ_CHECK(0, "JSON: bad escape \\%c in %s", *p, out);
		}
	}
	FUZZ_CHECK(n == strlen(s) && memcmp(dec, s, n) == 0, "JSON: %s does not decode to the input",
		   out);
	free(dec);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t maxes[] = { UINT64_MAX, 0, 1, 255, 0xffff, 0xffffffff, 3600 };
	uint8_t sel;
	char *s;

	if (size < 1)
		return 0;
	sel = data[0];
	s = fuzz_strdup(data + 1, size - 1);
	vni_log_set_level(VNI_LOG_NONE);
	fuzz_u64(s, maxes[sel % VT_ARRAY_SIZE(maxes)]);
	fuzz_size(s);
	fuzz_class(s);
	fuzz_bdf(s);
	fuzz_format(data + 1, size - 1, sel % 48);
	fuzz_json(s);
	free(s);
	return 0;
}
