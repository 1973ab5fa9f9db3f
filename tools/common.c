/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvfionoiommu command line tools - shared argument and output helpers.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common.h"

static const char *prog_name = "vni";

void vt_set_prog(const char *argv0, const char *fallback)
{
	const char *slash;

	if (!argv0 || !*argv0) {
		prog_name = fallback ? fallback : "vni";
		return;
	}
	slash = strrchr(argv0, '/');
	prog_name = slash ? slash + 1 : argv0;
	if (!*prog_name)
		prog_name = fallback ? fallback : "vni";
}

const char *vt_prog(void)
{
	return prog_name;
}

static void vmsg(const char *prefix, const char *fmt, va_list ap) VT_PRINTF(2, 0);
static void vmsg(const char *prefix, const char *fmt, va_list ap)
{
	fflush(stdout);
	fprintf(stderr, "%s: %s", prog_name, prefix);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void vt_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("", fmt, ap);
	va_end(ap);
}

void vt_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("warning: ", fmt, ap);
	va_end(ap);
}

int vt_try_help(void)
{
	fprintf(stderr, "Try '%s --help' for more information.\n", prog_name);
	return VT_EXIT_USAGE;
}

int vt_usage_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("", fmt, ap);
	va_end(ap);
	return vt_try_help();
}

int vt_version(void)
{
	printf("%s (libvfionoiommu) %s\n", prog_name, vni_version());
	return VT_EXIT_OK;
}

int vt_lib_err(int ret, const char *what, ...)
{
	const char *msg = vni_strerror_last();
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "%s: ", prog_name);
	va_start(ap, what);
	vfprintf(stderr, what, ap);
	va_end(ap);
	if (msg && *msg)
		fprintf(stderr, ": %s", msg);
	else if (ret < 0)
		fprintf(stderr, ": %s", strerror(-ret));
	fputc('\n', stderr);
	return VT_EXIT_FAIL;
}

void vt_setup_logging(int verbose)
{
	int level;

	/* Without -v the tools print the library's message themselves
	 * (vni_strerror_last()); with -v the library logs to stderr too. */
	if (verbose <= 0)
		return;
	vni_log_set_callback(vni_log_stderr, NULL);
	level = (int)vni_log_get_level() + verbose;
	if (level < VNI_LOG_INFO)
		level = VNI_LOG_INFO;
	if (level > VNI_LOG_DEBUG)
		level = VNI_LOG_DEBUG;
	vni_log_set_level((enum vni_log_level)level);
}

/* ---- argument parsing ------------------------------------------------------ */

/* Parse the leading number of @s; *endp is set past it. No sign allowed. */
static int parse_number(const char *s, uint64_t *out, const char **endp)
{
	unsigned long long v;
	char *end;

	if (!s || !isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno == ERANGE)
		return -ERANGE;
	if (errno || end == s)
		return -EINVAL;
	*out = v;
	*endp = end;
	return 0;
}

int vt_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	const char *end;
	uint64_t v;
	int ret;

	ret = parse_number(s, &v, &end);
	if (ret < 0)
		return ret;
	if (*end != '\0')
		return -EINVAL;
	if (v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int vt_parse_size(const char *s, uint64_t *out)
{
	static const struct {
		const char *suffix;
		unsigned int shift;
	} suffixes[] = {
		{ "", 0 }, { "b", 0 },
		{ "k", 10 }, { "kb", 10 }, { "kib", 10 },
		{ "m", 20 }, { "mb", 20 }, { "mib", 20 },
		{ "g", 30 }, { "gb", 30 }, { "gib", 30 },
		{ "t", 40 }, { "tb", 40 }, { "tib", 40 },
	};
	const char *end;
	uint64_t v;
	int ret;

	ret = parse_number(s, &v, &end);
	if (ret < 0)
		return ret;
	/* "0x10" consumed the hex digits; a suffix like "0x1b" is ambiguous
	 * and simply read as hex by strtoull, which is what C programmers expect. */
	for (size_t i = 0; i < VT_ARRAY_SIZE(suffixes); i++) {
		unsigned int shift = suffixes[i].shift;

		if (strcasecmp(end, suffixes[i].suffix) != 0)
			continue;
		if (shift && v > (UINT64_MAX >> shift))
			return -ERANGE;
		*out = v << shift;
		return 0;
	}
	return -EINVAL;
}

int vt_parse_class(const char *s, uint32_t *code, uint32_t *mask)
{
	size_t n;
	uint32_t v = 0;

	if (!s || !code || !mask)
		return -EINVAL;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	n = strlen(s);
	if (n != 2 && n != 4 && n != 6)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];

		if (!isxdigit(c))
			return -EINVAL;
		v = v * 16 + (uint32_t)(isdigit(c) ? c - '0' : tolower(c) - 'a' + 10);
	}
	switch (n) {
	case 2:
		*code = v << 16;
		*mask = 0xff0000;
		break;
	case 4:
		*code = v << 8;
		*mask = 0xffff00;
		break;
	default:
		*code = v;
		*mask = 0xffffff;
		break;
	}
	return 0;
}

int vt_parse_bdf(const char *s, char *buf, size_t len)
{
	struct vni_pci_addr addr;

	if (!s || !buf || len < VNI_PCI_ADDR_STRLEN)
		return -EINVAL;
	if (vni_pci_addr_parse(s, &addr) < 0)
		return -EINVAL;
	return vni_pci_addr_format(&addr, buf, len) < 0 ? -EINVAL : 0;
}

size_t vt_strlcpy(char *dst, const char *src, size_t len)
{
	size_t n = strlen(src);

	if (len) {
		size_t c = n < len - 1 ? n : len - 1;

		memcpy(dst, src, c);
		dst[c] = '\0';
	}
	return n;
}

/* ---- output helpers ---------------------------------------------------------- */

char *vt_format_size(uint64_t bytes, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	unsigned int u = 0;

	if (!buf || !len)
		return buf;
	while (u + 1 < VT_ARRAY_SIZE(units) && (bytes >> (10 * (u + 1))) != 0)
		u++;
	if (u == 0) {
		snprintf(buf, len, "%" PRIu64 " B", bytes);
	} else {
		uint64_t unit = (uint64_t)1 << (10 * u);
		uint64_t whole = bytes / unit, rest = bytes % unit;

		if (rest == 0) {
			snprintf(buf, len, "%" PRIu64 " %s", whole, units[u]);
		} else {
			/* one decimal, rounded half up; carry into the whole part
			 * (unit <= 2^60, so rest * 10 + unit / 2 < 2^64) */
			uint64_t tenth = (rest * 10 + unit / 2) / unit;

			if (tenth >= 10) {
				whole++;
				tenth = 0;
			}
			snprintf(buf, len, "%" PRIu64 ".%" PRIu64 " %s", whole, tenth, units[u]);
		}
	}
	return buf;
}

char *vt_format_flags(uint32_t flags, const char *const *names, size_t nnames,
		      char *buf, size_t len)
{
	size_t used = 0;

	if (!buf || !len)
		return buf;
	buf[0] = '\0';
	for (unsigned int bit = 0; bit < 32; bit++) {
		char tmp[16];
		const char *name;
		int n;

		if (!(flags & (1u << bit)))
			continue;
		name = bit < nnames && names[bit] ? names[bit] : NULL;
		if (!name) {
			snprintf(tmp, sizeof(tmp), "bit%u", bit);
			name = tmp;
		}
		n = snprintf(buf + used, len - used, "%s%s", used ? "," : "", name);
		if (n < 0 || (size_t)n >= len - used) {
			buf[used] = '\0'; /* keep whole names only */
			break;
		}
		used += (size_t)n;
	}
	if (!used)
		snprintf(buf, len, "-");
	return buf;
}

const char *vt_pci_class_name(uint32_t class_code)
{
	static const char *const names[] = {
		[0x00] = "unclassified",
		[0x01] = "storage",
		[0x02] = "network",
		[0x03] = "display",
		[0x04] = "multimedia",
		[0x05] = "memory",
		[0x06] = "bridge",
		[0x07] = "communication",
		[0x08] = "system",
		[0x09] = "input",
		[0x0a] = "docking",
		[0x0b] = "processor",
		[0x0c] = "serial-bus",
		[0x0d] = "wireless",
		[0x0e] = "intelligent-io",
		[0x0f] = "satellite",
		[0x10] = "crypto",
		[0x11] = "signal-processing",
		[0x12] = "accelerator",
		[0x13] = "instrumentation",
	};
	uint32_t base = (class_code >> 16) & 0xff;

	if (base == 0xff)
		return "other";
	if (base < VT_ARRAY_SIZE(names) && names[base])
		return names[base];
	return "?";
}

/* ---- JSON ----------------------------------------------------------------------- */

void vt_json_write_escaped(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		case '\b':
			fputs("\\b", f);
			break;
		case '\f':
			fputs("\\f", f);
			break;
		default:
			if (*p < 0x20)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

void vt_json_init(struct vt_json *j, FILE *f)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
}

/* Before any value: a comma if needed (not after a key). */
static void json_pre_value(struct vt_json *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	if (j->depth > 0 && j->depth <= VT_JSON_MAX_DEPTH) {
		if (j->need_comma[j->depth - 1])
			fputs(", ", j->f);
		j->need_comma[j->depth - 1] = true;
	}
}

static void json_begin(struct vt_json *j, char c)
{
	json_pre_value(j);
	fputc(c, j->f);
	if (j->depth < VT_JSON_MAX_DEPTH) {
		j->need_comma[j->depth] = false;
		if (c == '{')
			j->is_object |= 1u << j->depth;
		else
			j->is_object &= ~(1u << j->depth);
	}
	j->depth++;
}

void vt_json_begin_object(struct vt_json *j)
{
	json_begin(j, '{');
}

void vt_json_begin_array(struct vt_json *j)
{
	json_begin(j, '[');
}

void vt_json_end(struct vt_json *j)
{
	bool obj;

	if (j->depth <= 0)
		return;
	j->depth--;
	obj = j->depth < VT_JSON_MAX_DEPTH && (j->is_object & (1u << j->depth));
	fputc(obj ? '}' : ']', j->f);
	if (j->depth == 0)
		fputc('\n', j->f);
}

void vt_json_key(struct vt_json *j, const char *key)
{
	json_pre_value(j);
	vt_json_write_escaped(j->f, key);
	fputs(": ", j->f);
	j->after_key = true;
}

void vt_json_string(struct vt_json *j, const char *s)
{
	json_pre_value(j);
	if (s)
		vt_json_write_escaped(j->f, s);
	else
		fputs("null", j->f);
}

void vt_json_u64(struct vt_json *j, uint64_t v)
{
	json_pre_value(j);
	fprintf(j->f, "%" PRIu64, v);
}

void vt_json_i64(struct vt_json *j, int64_t v)
{
	json_pre_value(j);
	fprintf(j->f, "%" PRId64, v);
}

void vt_json_bool(struct vt_json *j, bool v)
{
	json_pre_value(j);
	fputs(v ? "true" : "false", j->f);
}

void vt_json_null(struct vt_json *j)
{
	json_pre_value(j);
	fputs("null", j->f);
}

void vt_json_kv_string(struct vt_json *j, const char *key, const char *s)
{
	vt_json_key(j, key);
	vt_json_string(j, s);
}

void vt_json_kv_u64(struct vt_json *j, const char *key, uint64_t v)
{
	vt_json_key(j, key);
	vt_json_u64(j, v);
}

void vt_json_kv_i64(struct vt_json *j, const char *key, int64_t v)
{
	vt_json_key(j, key);
	vt_json_i64(j, v);
}

void vt_json_kv_bool(struct vt_json *j, const char *key, bool v)
{
	vt_json_key(j, key);
	vt_json_bool(j, v);
}

void vt_json_kv_hex(struct vt_json *j, const char *key, uint64_t v, int width)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "0x%0*" PRIx64, width, v);
	vt_json_kv_string(j, key, buf);
}

/* ---- sysfs helpers ----------------------------------------------------------- */

const char *vt_sysfs(void)
{
	const char *root = getenv("VNI_SYSFS_ROOT");

	return root && *root ? root : "/sys";
}

ssize_t vt_read_file(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	if (!len)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	do {
		n = read(fd, buf, len - 1);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		n = -errno;
		close(fd);
		return n;
	}
	close(fd);
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return n;
}

int vt_write_file(const char *path, const char *s)
{
	size_t len = strlen(s);
	ssize_t n;
	int fd;

	/* sysfs ignores O_TRUNC; the tests' fake trees of plain files need it */
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	do {
		n = write(fd, s, len);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	if (close(fd) < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

int vt_readlink_base(const char *path, char *buf, size_t len)
{
	char target[4096];
	const char *base;
	ssize_t n;

	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = '\0';
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	if (strlen(base) >= len)
		return -ENAMETOOLONG;
	memcpy(buf, base, strlen(base) + 1);
	return 0;
}
