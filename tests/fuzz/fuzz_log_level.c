/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz the two log level parsers of lib/log.c: vni_log_level_parse() and
 * the VNI_LOG environment variable (read by vni_log_get_level() when no
 * level was set explicitly).
 *
 * Properties:
 *   - an accepted name gives a level 0..4 whose vni_log_level_name()
 *     parses back to the same level; a rejected one gives -EINVAL, a
 *     message, and leaves the output untouched;
 *   - VNI_LOG=<input> gives the level vni_log_level_parse() gives, and
 *     VNI_LOG_WARN (the default) for anything it rejects.
 */
#include <errno.h>

#include "internal.h"

#include "fuzz.h"

static char envbuf[8192];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_strdup(data, size);
	enum vni_log_level level = (enum vni_log_level)77, back;
	enum vni_log_level from_env;
	int ret;

	ret = vni_log_level_parse(s, &level);
	if (ret == 0) {
		FUZZ_CHECK((int)level >= VNI_LOG_NONE && level <= VNI_LOG_DEBUG,
			   "\"%s\": level %d", s, (int)level);
		ret = vni_log_level_parse(vni_log_level_name(level), &back);
		FUZZ_CHECK(ret == 0 && back == level, "name of level %d does not parse back",
			   (int)level);
	} else {
		FUZZ_CHECK(ret == -EINVAL, "\"%s\": returned %d", s, ret);
		FUZZ_CHECK((int)level == 77, "\"%s\": rejected but wrote the level", s);
		FUZZ_CHECK(vni_strerror_last()[0] != '\0', "\"%s\": rejected without message", s);
	}

	/* The environment path. putenv() with one static buffer: setenv() would
	 * keep a copy of every value ever set (glibc never frees them). */
	snprintf(envbuf, sizeof(envbuf), "VNI_LOG=%s", s);
	if (strlen(s) < sizeof(envbuf) - 8 && putenv(envbuf) == 0) {
		vnip_log_reset();
		from_env = vni_log_get_level();
		FUZZ_CHECK(from_env == (ret == 0 ? level : VNI_LOG_WARN),
			   "VNI_LOG=\"%s\" gives level %d, vni_log_level_parse %d (ret %d)",
			   s, (int)from_env, (int)level, ret);
	}
	free(s);
	return 0;
}
