/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvfionoiommu tools - class devices below a PCI device; block device use.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "devcheck.h"

static int cmp_name(const void *a, const void *b)
{
	return strcmp(a, b);
}

int devcheck_children(const char *bdf, const char *class,
		      char (*names)[DEVCHECK_NAME_LEN], size_t max, size_t *count)
{
	char path[PATH_MAX], pcireal[PATH_MAX], real[PATH_MAX];
	struct dirent *de;
	size_t plen, n = 0;
	DIR *d;

	if (!bdf || !class || !count || (max && !names))
		return -EINVAL;
	*count = 0;
	snprintf(path, sizeof(path), "%s/bus/pci/devices/%s", vt_sysfs(), bdf);
	if (!realpath(path, pcireal))
		return errno == ENOENT ? -ENODEV : -errno;
	plen = strlen(pcireal);

	snprintf(path, sizeof(path), "%s/class/%s", vt_sysfs(), class);
	d = opendir(path);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		char link[PATH_MAX];

		if (de->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(link, sizeof(link), "%s/%s", path, de->d_name) >= sizeof(link))
			continue;
		if (!realpath(link, real))
			continue;
		if (strncmp(real, pcireal, plen) != 0 || real[plen] != '/')
			continue;
		if (strlen(de->d_name) >= DEVCHECK_NAME_LEN)
			continue; /* no such names in sysfs classes */
		if (n < max)
			vt_strlcpy(names[n], de->d_name, DEVCHECK_NAME_LEN);
		n++;
	}
	closedir(d);
	/* readdir order is arbitrary: sort what we stored for stable output */
	if (names && n > 1)
		qsort(names, n < max ? n : max, DEVCHECK_NAME_LEN, cmp_name);
	*count = n;
	return 0;
}

static void add_reason(struct devcheck_result *res, const char *fmt, ...) VT_PRINTF(2, 3);
static void add_reason(struct devcheck_result *res, const char *fmt, ...)
{
	va_list ap;

	if (res->nreasons >= DEVCHECK_MAX_REASONS) {
		res->dropped++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(res->reasons[res->nreasons++], DEVCHECK_TEXT_LEN, fmt, ap);
	va_end(ap);
}

void devcheck_unescape(char *s)
{
	char *w = s;

	for (char *r = s; *r; ) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' &&
		    r[2] >= '0' && r[2] <= '7' && r[3] >= '0' && r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 4;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
}

/* Split a line at spaces into at most max fields (in place). */
static size_t split_fields(char *line, char **fields, size_t max)
{
	size_t n = 0;
	char *save = NULL;

	for (char *tok = strtok_r(line, " \n", &save); tok && n < max;
	     tok = strtok_r(NULL, " \n", &save))
		fields[n++] = tok;
	return n;
}

static int check_mounts(const char *name, const char *devnum, const char *mountinfo,
			struct devcheck_result *res)
{
	char devpath[DEVCHECK_NAME_LEN + 8];
	char *line = NULL;
	size_t cap = 0;
	FILE *f;

	snprintf(devpath, sizeof(devpath), "/dev/%s", name);
	f = fopen(mountinfo, "re");
	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		char *fields[32];
		size_t n = split_fields(line, fields, VT_ARRAY_SIZE(fields));
		size_t sep;
		const char *source = NULL, *fstype = "?";

		if (n < 7)
			continue;
		/* optional fields, then "-", fstype, source, options */
		for (sep = 6; sep < n && strcmp(fields[sep], "-") != 0; sep++)
			;
		if (sep + 2 < n) {
			fstype = fields[sep + 1];
			source = fields[sep + 2];
			devcheck_unescape(fields[sep + 2]);
		}
		devcheck_unescape(fields[4]);
		if ((devnum && strcmp(fields[2], devnum) == 0) ||
		    (source && strcmp(source, devpath) == 0))
			add_reason(res, "%s (%s) is mounted on %s (%s): unmount it first",
				   name, devnum ? devnum : "?", fields[4], fstype);
	}
	free(line);
	fclose(f);
	return 0;
}

static void check_swaps(const char *name, const char *swaps, struct devcheck_result *res)
{
	char devpath[DEVCHECK_NAME_LEN + 8];
	char *line = NULL;
	size_t cap = 0;
	FILE *f;

	snprintf(devpath, sizeof(devpath), "/dev/%s", name);
	f = fopen(swaps, "re");
	if (!f)
		return; /* no swap support: nothing to check */
	while (getline(&line, &cap, f) > 0) {
		char *fields[2];

		if (split_fields(line, fields, 2) < 1)
			continue;
		devcheck_unescape(fields[0]);
		if (strcmp(fields[0], devpath) == 0)
			add_reason(res, "%s is active swap: swapoff %s first", name, devpath);
	}
	free(line);
	fclose(f);
}

static void check_holders(const char *name, struct devcheck_result *res)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "%s/class/block/%s/holders", vt_sysfs(), name);
	d = opendir(path);
	if (!d)
		return;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		add_reason(res, "%s is held by %s (device-mapper, md or LVM): "
			   "stop that first", name, de->d_name);
	}
	closedir(d);
}

int devcheck_block(const char *name, const char *devnum, const char *mountinfo,
		   const char *swaps, struct devcheck_result *res)
{
	char path[PATH_MAX];
	int ret;

	if (!name || !*name || !res)
		return -EINVAL;
	memset(res, 0, sizeof(*res));
	snprintf(res->name, sizeof(res->name), "%s", name);
	if (devnum) {
		snprintf(res->devnum, sizeof(res->devnum), "%s", devnum);
	} else {
		ssize_t n;

		snprintf(path, sizeof(path), "%s/class/block/%s/dev", vt_sysfs(), name);
		n = vt_read_file(path, res->devnum, sizeof(res->devnum));
		if (n < 0)
			return (int)n;
	}
	ret = check_mounts(name, res->devnum, mountinfo ? mountinfo : "/proc/self/mountinfo",
			   res);
	if (ret < 0)
		return ret;
	check_swaps(name, swaps ? swaps : "/proc/swaps", res);
	check_holders(name, res);
	return 0;
}

bool devcheck_busy(const struct devcheck_result *res)
{
	return res && (res->nreasons > 0 || res->dropped > 0);
}
