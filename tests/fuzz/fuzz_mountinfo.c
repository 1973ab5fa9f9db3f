/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz the block device safety check of vni-bind (tools/devcheck.c):
 * devcheck_block() reading a mountinfo and a swaps file, and
 * devcheck_unescape() (mountinfo's octal escapes). Mount points and swap
 * file names are chosen by users, so these files are outside input.
 *
 * Input: the mountinfo text, then optionally a form feed (\f) and the
 * swaps text. The block device is "nvme0n1" with device number "259:0";
 * VNI_SYSFS_ROOT points nowhere, so there are no holders.
 *
 * Properties: no memory error or leak; devcheck_block() returns 0; the
 * reasons are NUL-terminated, at most DEVCHECK_MAX_REASONS, and busy
 * exactly when some reason was found; a mountinfo line that plainly
 * mounts the device by number makes it busy; unescaping never lengthens
 * a string and leaves strings without a backslash unchanged.
 */
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common.h"
#include "devcheck.h"

#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	setenv("VNI_SYSFS_ROOT", "/nonexistent/vni-fuzz-sysfs", 1);
	return 0;
}

static int memfile(const char *data, size_t len, char *path, size_t plen)
{
	int fd = memfd_create("vni-fuzz", MFD_CLOEXEC);

	FUZZ_CHECK(fd >= 0, "memfd_create: %s", strerror(errno));
	FUZZ_CHECK(len == 0 || write(fd, data, len) == (ssize_t)len, "write failed");
	snprintf(path, plen, "/proc/self/fd/%d", fd);
	return fd;
}

/* Does some line have "<id> <parent> 259:0 " as its first three fields? */
static bool plain_mount(const char *mi, size_t len)
{
	const char *p = mi, *end = mi + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		int f = 0;
		const char *q = p;

		/* two numeric fields, then "259:0 " */
		while (f < 2 && q < le) {
			const char *s = q;

			while (q < le && *q >= '0' && *q <= '9')
				q++;
			if (q == s || q >= le || *q != ' ')
				break;
			q++;
			f++;
		}
		if (f == 2 && (size_t)(le - q) > 6 && memcmp(q, "259:0 ", 6) == 0) {
			/* ... and at least 7 space-separated fields in all, none empty */
			int fields = 0;
			bool in = false, ok = true;

			for (const char *r = p; r < le; r++) {
				if (*r == '\0')
					ok = false;
				if (*r == ' ') {
					in = false;
				} else if (!in) {
					in = true;
					fields++;
				}
			}
			if (ok && fields >= 7)
				return true;
		}
		p = le + 1;
	}
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	const char *ff = memchr(text, '\f', size);
	size_t milen = ff ? (size_t)(ff - text) : size;
	char mipath[64], swpath[64];
	struct devcheck_result *res = malloc(sizeof(*res));
	int mifd, swfd, ret;
	char *s;

	mifd = memfile(text, milen, mipath, sizeof(mipath));
	swfd = memfile(ff ? ff + 1 : "", ff ? size - milen - 1 : 0, swpath, sizeof(swpath));
	ret = devcheck_block("nvme0n1", "259:0", mipath, swpath, res);
	FUZZ_CHECK(ret == 0, "devcheck_block: %d", ret);
	FUZZ_CHECK(res->nreasons <= DEVCHECK_MAX_REASONS, "%zu reasons", res->nreasons);
	for (size_t i = 0; i < res->nreasons; i++)
		FUZZ_CHECK(strnlen(res->reasons[i], DEVCHECK_TEXT_LEN) < DEVCHECK_TEXT_LEN,
			   "reason %zu not NUL-terminated", i);
	FUZZ_CHECK(devcheck_busy(res) == (res->nreasons + res->dropped > 0), "busy flag");
	if (plain_mount(text, milen))
		FUZZ_CHECK(devcheck_busy(res), "mounted by number, but not busy");
	close(mifd);
	close(swfd);
	free(res);

	/* devcheck_unescape on the whole input as a string */
	s = fuzz_strdup(data, size);
	{
		size_t before = strlen(s);
		bool has_bs = strchr(s, '\\') != NULL;
		char *copy = has_bs ? NULL : strdup(s);

		devcheck_unescape(s);
		FUZZ_CHECK(strlen(s) <= before, "unescape lengthened the string");
		if (copy) {
			FUZZ_CHECK(strcmp(copy, s) == 0, "unescape changed a plain string");
			free(copy);
		}
	}
	free(s);
	return 0;
}
