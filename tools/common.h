/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvfionoiommu command line tools - shared argument and output helpers.
 *
 * Everything here is prefixed vt_ ("vni tools"). Exit codes of every tool:
 *
 *   VT_EXIT_OK    (0)  success
 *   VT_EXIT_FAIL  (1)  the operation failed, or a safety check refused it
 *   VT_EXIT_USAGE (2)  bad command line
 */
#ifndef VNI_TOOLS_COMMON_H
#define VNI_TOOLS_COMMON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <vfionoiommu/vfionoiommu.h>
#include <vfionoiommu/util.h>

#define VT_EXIT_OK 0
#define VT_EXIT_FAIL 1
#define VT_EXIT_USAGE 2

#define VT_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#if defined(__GNUC__) || defined(__clang__)
#define VT_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define VT_PRINTF(fmt, args)
#endif

/* ---- program name and messages ------------------------------------------- */

/* Record the program name (basename of argv[0], or @fallback if NULL). */
void vt_set_prog(const char *argv0, const char *fallback);
const char *vt_prog(void);

/* "prog: message\n" on stderr. */
void vt_err(const char *fmt, ...) VT_PRINTF(1, 2);
/* "prog: warning: message\n" on stderr. */
void vt_warn(const char *fmt, ...) VT_PRINTF(1, 2);
/* "prog: message\nTry 'prog --help' for more information.\n"; returns VT_EXIT_USAGE. */
int vt_usage_err(const char *fmt, ...) VT_PRINTF(1, 2);
/* "Try 'prog --help' ..." after getopt's own message; returns VT_EXIT_USAGE. */
int vt_try_help(void);
/* --version: "prog (libvfionoiommu) VERSION" on stdout; returns VT_EXIT_OK. */
int vt_version(void);
/*
 * A failed library call: "prog: <what>: <vni_strerror_last()>" (or strerror
 * of -ret when the library recorded nothing). Returns VT_EXIT_FAIL.
 */
int vt_lib_err(int ret, const char *what, ...) VT_PRINTF(2, 3);

/* With @verbose > 0: install vni_log_stderr and raise the library's log
 * level to INFO (1) or DEBUG (2+). With 0: the library stays silent. */
void vt_setup_logging(int verbose);

/* ---- argument parsing (all return 0 or -EINVAL / -ERANGE) ---------------- */

/*
 * An unsigned number: decimal, 0x-hexadecimal or 0-octal; no sign, no
 * trailing characters; at most @max.
 */
int vt_parse_u64(const char *s, uint64_t max, uint64_t *out);

/*
 * A size in bytes: a number as vt_parse_u64() with an optional binary
 * suffix K, M, G, T (also KiB, MiB, GiB, TiB, k; case-insensitive) and an
 * optional final "B" alone ("512B"). "4K" = 4096, "2M" = 2097152. Rejects
 * values that overflow 64 bits (-ERANGE) and empty strings.
 */
int vt_parse_size(const char *s, uint64_t *out);

/*
 * A PCI class filter: 2, 4 or 6 hexadecimal digits (optional 0x prefix):
 * "02" base class, "0108" base class + subclass, "010802" full class code.
 * Sets *@code (24-bit, left-aligned: "02" -> 0x020000) and *@mask
 * (0xff0000, 0xffff00 or 0xffffff).
 */
int vt_parse_class(const char *s, uint32_t *code, uint32_t *mask);

/*
 * A PCI address in either form ("0000:00:04.0", "00:04.0", "10000:00:00.0"),
 * normalized as vni_pci_addr_format() writes it ("dddd:bb:dd.f", a wider
 * domain as wide as it needs) in @buf (at least VNI_PCI_ADDR_STRLEN bytes).
 */
int vt_parse_bdf(const char *s, char *buf, size_t len);

/* Copy @src into @dst (size @len, NUL-terminated, truncated if needed).
 * Returns strlen(@src): truncation happened when it is >= @len. */
size_t vt_strlcpy(char *dst, const char *src, size_t len);

/* ---- output helpers ------------------------------------------------------- */

/*
 * Human-readable size: "0 B", "512 B", "4 KiB", "1 MiB", "1.5 MiB",
 * "3 GiB"; exact units when the value is a multiple, else one decimal.
 * Returns @buf.
 */
char *vt_format_size(uint64_t bytes, char *buf, size_t len);

/* Comma-separated names of the set bits of @flags, from @names[bit] (NULL
 * entries are printed as "bitN"); "-" for no bit. Returns @buf. */
char *vt_format_flags(uint32_t flags, const char *const *names, size_t nnames,
		      char *buf, size_t len);

/* Name of a PCI base class (0x01 -> "storage"), "?" if unknown. */
const char *vt_pci_class_name(uint32_t class_code);

/*
 * A tiny streaming JSON writer: objects, arrays, strings, numbers, booleans,
 * null; commas and escaping are handled. Output is compact with one space
 * after ':' and ',' so it stays greppable; vt_json_end() adds a newline at
 * depth 0. Nesting deeper than VT_JSON_MAX_DEPTH is a programming error and
 * is ignored.
 */
#define VT_JSON_MAX_DEPTH 16
struct vt_json {
	FILE *f;
	int depth;
	bool need_comma[VT_JSON_MAX_DEPTH];
	uint32_t is_object; /* bit d: the container at depth d+1 is an object */
	bool after_key;
};

void vt_json_init(struct vt_json *j, FILE *f);
void vt_json_begin_object(struct vt_json *j);
void vt_json_begin_array(struct vt_json *j);
void vt_json_end(struct vt_json *j); /* closes the innermost object/array */
void vt_json_key(struct vt_json *j, const char *key);
void vt_json_string(struct vt_json *j, const char *s); /* NULL -> null */
void vt_json_u64(struct vt_json *j, uint64_t v);
void vt_json_i64(struct vt_json *j, int64_t v);
void vt_json_bool(struct vt_json *j, bool v);
void vt_json_null(struct vt_json *j);
/* key + value shorthands */
void vt_json_kv_string(struct vt_json *j, const char *key, const char *s);
void vt_json_kv_u64(struct vt_json *j, const char *key, uint64_t v);
void vt_json_kv_i64(struct vt_json *j, const char *key, int64_t v);
void vt_json_kv_bool(struct vt_json *j, const char *key, bool v);
/* "0x%0*x" formatted as a JSON string */
void vt_json_kv_hex(struct vt_json *j, const char *key, uint64_t v, int width);
/* Write @s as a JSON string literal (with quotes) to @f. */
void vt_json_write_escaped(FILE *f, const char *s);

/* ---- sysfs helpers -------------------------------------------------------- */

/*
 * Root of the sysfs tree the tools read and write ("/sys"); the environment
 * variable VNI_SYSFS_ROOT overrides it (for tests on a fake tree).
 */
const char *vt_sysfs(void);

/* Read a small text file into @buf without the trailing newline.
 * Returns the length or -errno. */
ssize_t vt_read_file(const char *path, char *buf, size_t len);
/* Write @s to an existing file (one write()). Returns 0 or -errno. */
int vt_write_file(const char *path, const char *s);
/* Basename of a symlink's target into @buf. Returns 0 or -errno. */
int vt_readlink_base(const char *path, char *buf, size_t len);

#endif /* VNI_TOOLS_COMMON_H */
