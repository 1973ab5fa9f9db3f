// SPDX-License-Identifier: LGPL-2.1-or-later
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kt-kstat.h"

/* Folds every CPU's vmstat deltas into the global counters. */
static void refresh_vmstat(void)
{
	int fd = open("/proc/sys/vm/stat_refresh", O_WRONLY | O_CLOEXEC);

	if (fd >= 0) {
		if (write(fd, "1", 1) < 0) {
			/* Older kernels: the periodic fold (1 s) does it. */
		}
		close(fd);
	} else {
		sleep(2);
	}
}

int kt_pins_read(struct kt_pins *p)
{
	char line[128];
	int found = 0;
	uint64_t v;
	FILE *f;

	refresh_vmstat();
	f = fopen("/proc/vmstat", "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "nr_foll_pin_acquired %" SCNu64, &v) == 1) {
			p->acquired = v;
			found |= 1;
		} else if (sscanf(line, "nr_foll_pin_released %" SCNu64, &v) == 1) {
			p->released = v;
			found |= 2;
		}
	}
	fclose(f);
	if (found != 3)
		return -ENOENT;
	p->outstanding = (int64_t)(p->acquired - p->released);
	return 0;
}

int kt_pins_wait(int64_t want, struct kt_pins *p, int timeout_ms)
{
	struct timespec ts = { .tv_nsec = 50 * 1000 * 1000 };
	int waited = 0, ret;

	for (;;) {
		ret = kt_pins_read(p);
		if (ret)
			return ret;
		if (p->outstanding == want)
			return 0;
		if (waited >= timeout_ms)
			return -ETIMEDOUT;
		nanosleep(&ts, NULL);
		waited += 50;
	}
}

/* The caches that hold vfio and iommufd objects (no memcg here: kmalloc-cg-* too). */
static bool relevant_cache(const char *name)
{
	if (!strcmp(name, "filp"))
		return true;
	return !strncmp(name, "kmalloc-", 8) && strncmp(name, "kmalloc-rcl-", 12);
}

int64_t kt_slab_bytes(bool all)
{
	unsigned long active, total, size;
	char line[512], name[64];
	int64_t sum = 0;
	FILE *f;

	f = fopen("/proc/slabinfo", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#' || !strncmp(line, "slabinfo", 8))
			continue;
		if (sscanf(line, "%63s %lu %lu %lu", name, &active, &total, &size) == 4 &&
		    (all || relevant_cache(name)))
			sum += (int64_t)active * (int64_t)size;
	}
	fclose(f);
	return sum;
}

static void write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	if (write(fd, s, strlen(s)) < 0) {
		/* Best effort: nothing to do about a cache that cannot shrink. */
	}
	close(fd);
}

void kt_slab_settle(void)
{
	struct timespec ts = { .tv_sec = 1 };
	char path[320];
	struct dirent *de;
	DIR *d;

	nanosleep(&ts, NULL);
	d = opendir("/sys/kernel/slab");
	if (!d)
		return;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || !relevant_cache(de->d_name))
			continue;
		snprintf(path, sizeof(path), "/sys/kernel/slab/%s/shrink", de->d_name);
		write_str(path, "1");
	}
	closedir(d);
}

long kt_meminfo_kb(const char *field)
{
	size_t n = strlen(field);
	char line[128];
	long v = -1;
	FILE *f;

	f = fopen("/proc/meminfo", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, field, n) && line[n] == ':') {
			sscanf(line + n + 1, "%ld", &v);
			break;
		}
	}
	fclose(f);
	return v;
}

bool kt_kernel_has_symbol(const char *name)
{
	char line[256], sym[128];
	bool found = false;
	FILE *f;

	f = fopen("/proc/kallsyms", "r");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		if (sscanf(line, "%*s %*s %127s", sym) == 1 && !strcmp(sym, name))
			found = true;
	fclose(f);
	return found;
}
