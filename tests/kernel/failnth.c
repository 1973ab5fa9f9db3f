// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * noiommu-failnth [BDF]: an allocation failure at any point of the life of
 * a noiommu device is an error return, never a crash, leak or stuck pin.
 *
 * The kernel's per-task fault injection (/proc/self/task/<tid>/fail-nth,
 * with failslab and fail_page_alloc set in debugfs to cover sleeping and
 * highmem allocations too, quietly: verbose 0) makes the n-th fault
 * injection point this task passes fail. For n = 1, 2, ... the test arms
 * fail-nth = n and runs the whole sequence
 *
 *   bind, IOAS alloc, attach, map (64 KiB of 4 KiB pages), GET_PA,
 *   pagemap read (to check GET_PA against while the pages are pinned),
 *   unmap, detach, close device, close iommufd
 *
 * on a freshly opened cdev and iommufd; the first step that fails ends the
 * armed part. Then, disarmed:
 *  - a failure is only allowed when the fault was really injected
 *    (fail-nth reads back 0) and must be ENOMEM, or, on kernels with
 *    IOMMUFD_TEST, ENOENT or EFAULT: that option adds iommufd's own fault
 *    point (fail_iommufd in debugfs), which fails an object lookup with
 *    ENOENT and a user page pin with EFAULT; the errnos seen are printed;
 *  - the sequence is completed from the failed step without injection and
 *    must succeed, with GET_PA exact against /proc/self/pagemap: a failure
 *    leaves no half-done state behind;
 *  - outstanding pins (nr_foll_pin_acquired - released) are back at the
 *    start value after every iteration.
 * The loop ends with the first n whose sequence succeeds without reaching
 * the n-th injection point; the number of iterations is printed. kmemleak
 * (debug kernel; scanned by /init after the test) must then report
 * nothing, and the harness fails on any oops, WARNING, KASAN or lockdep
 * report.
 *
 * Only this single-threaded process is armed, and nothing in the armed
 * part faults memory in (buffers touched beforehand, the stack too) or
 * prints.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kt-iommufd.h"
#include "kt-kstat.h"
#include "kt-mem.h"
#include "kt-tap.h"

#define IOVA 0x40000000ULL
#define MAP_LEN (64UL << 10)
#define MAX_ITER 5000

enum step {
	BIND, IOAS, ATTACH, MAP, GETPA, PAGEMAP, UNMAP, DETACH, CLOSE_DEV, CLOSE_FD, NSTEPS
};

static const char *const step_name[NSTEPS] = {
	"bind", "ioas-alloc", "attach", "map", "get-pa", "pagemap", "unmap", "detach",
	"close-dev", "close-iommufd",
};

struct seq {
	int devfd, iommufd;
	uint32_t dev_id, ioas_id;
	struct kt_buf *b;
	uint64_t pa, len;
	uint64_t pfns[MAP_LEN / KT_PAGE];	/* read while pinned, after GET_PA */
};

static int nth_fd = -1;
static int pagemap_fd = -1;

static int write_debugfs(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) != (ssize_t)strlen(val))
		ret = -errno;
	close(fd);
	return ret;
}

static int setup_fault_injection(void)
{
	char path[300];
	struct dirent *de;
	DIR *d;
	int ret;

	ret = write_debugfs("/sys/kernel/debug/failslab/ignore-gfp-wait", "N");
	if (ret)
		return ret;
	ret = write_debugfs("/sys/kernel/debug/fail_page_alloc/ignore-gfp-wait", "N");
	if (!ret)
		ret = write_debugfs("/sys/kernel/debug/fail_page_alloc/ignore-gfp-highmem", "N");
	if (ret)
		return ret;
	d = opendir("/sys/kernel/debug");
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, "fail", 4))
			continue;
		snprintf(path, sizeof(path), "/sys/kernel/debug/%s/verbose", de->d_name);
		write_debugfs(path, "0");
	}
	closedir(d);
	snprintf(path, sizeof(path), "/proc/self/task/%ld/fail-nth", (long)syscall(SYS_gettid));
	nth_fd = open(path, O_RDWR | O_CLOEXEC);
	return nth_fd < 0 ? -errno : 0;
}

static void arm(unsigned int n)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%u", n);

	if (pwrite(nth_fd, buf, (size_t)len, 0) != len)
		kt_bail("arming fail-nth = %u: %s", n, strerror(errno));
}

/* Disarms; returns what was left of the count (0: the fault was injected). */
static unsigned int disarm(void)
{
	char buf[16] = "";
	unsigned int left;

	if (pread(nth_fd, buf, sizeof(buf) - 1, 0) < 0)
		kt_bail("reading fail-nth: %s", strerror(errno));
	left = (unsigned int)strtoul(buf, NULL, 10);
	if (pwrite(nth_fd, "0", 1, 0) != 1)
		kt_bail("disarming fail-nth: %s", strerror(errno));
	return left;
}

static int do_step(struct seq *s, enum step st)
{
	uint64_t iova = IOVA;
	int ret = 0;

	switch (st) {
	case BIND:
		return kt_bind(s->devfd, s->iommufd, &s->dev_id);
	case IOAS:
		return kt_ioas_alloc(s->iommufd, &s->ioas_id);
	case ATTACH:
		return kt_attach(s->devfd, s->ioas_id, NULL);
	case MAP:
		return kt_map(s->iommufd, s->ioas_id, s->b->va, MAP_LEN, &iova,
			      KT_MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA);
	case GETPA:
		return kt_get_pa(s->iommufd, s->ioas_id, IOVA + 3 * KT_PAGE + 5, UINT64_MAX, &s->pa,
				 &s->len);
	case PAGEMAP:
		/* Part of the armed sequence: pagemap_read() allocates too. */
		return kt_pfns_fd(pagemap_fd, s->b->va, MAP_LEN, s->pfns);
	case UNMAP:
		return kt_unmap(s->iommufd, s->ioas_id, IOVA, MAP_LEN);
	case DETACH:
		return kt_detach(s->devfd);
	case CLOSE_DEV:
		ret = close(s->devfd) ? -errno : 0;
		s->devfd = -1;
		return ret;
	case CLOSE_FD:
		ret = close(s->iommufd) ? -errno : 0;
		s->iommufd = -1;
		return ret;
	case NSTEPS:
		break;
	}
	return -EINVAL;
}

/* GET_PA's answer against pagemap, both read while the pages were pinned. */
static bool getpa_exact(const struct seq *s)
{
	return s->pa == s->pfns[3] * KT_PAGE + 5 &&
	       s->len == kt_run_bytes(s->pfns, MAP_LEN / KT_PAGE, 3 * KT_PAGE + 5);
}

/* Pre-faults a stack deep enough for the armed part. */
static __attribute__((noinline)) void touch_stack(void)
{
	volatile char pad[128 * 1024];
	size_t i;

	for (i = 0; i < sizeof(pad); i += 1024)
		pad[i] = 1;
}

int main(int argc, char **argv)
{
	struct rlimit unlimited = { RLIM_INFINITY, RLIM_INFINITY };
	const char *bdf = argc > 1 ? argv[1] : "0000:00:04.0";
	unsigned int n, left, injected = 0, absorbed = 0, by_step[NSTEPS] = { 0 };
	unsigned int not_enomem = 0, spurious = 0, unrecovered = 0, leaks = 0, inexact = 0;
	unsigned int iommufd_point = 0;
	bool iommufd_test;
	struct kt_pins start, now;
	bool done = false;
	struct kt_buf b;
	struct seq s;
	int ret, fail_ret = 0, i, failed_at;

	kt_start("noiommu-failnth");
	setrlimit(RLIMIT_MEMLOCK, &unlimited);
	ret = setup_fault_injection();
	if (!kt_check(!ret, "fault injection set up (failslab, fail_page_alloc in debugfs, "
		      "fail-nth of this task): %s", kt_errname(ret)))
		kt_bail("the kernel needs FAULT_INJECTION_DEBUG_FS, FAILSLAB, FAIL_PAGE_ALLOC");
	iommufd_test = access("/sys/kernel/debug/fail_iommufd", F_OK) == 0;
	kt_diag("iommufd's own fault point (IOMMUFD_TEST, fail_iommufd): %s",
		iommufd_test ? "present" : "absent");
	if (kt_buf_alloc(&b, MAP_LEN, false))
		kt_bail("buffer");
	if (kt_pins_read(&start))
		kt_bail("no pin counters");
	pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (pagemap_fd < 0)
		kt_bail("pagemap: %s", strerror(errno));
	touch_stack();

	for (n = 1; n <= MAX_ITER && !done; n++) {
		memset(&s, 0, sizeof(s));
		s.b = &b;
		s.devfd = kt_open_cdev(bdf);
		s.iommufd = kt_open_iommufd();
		if (s.devfd < 0 || s.iommufd < 0)
			kt_bail("iteration %u: open: %s", n,
				kt_errname(s.devfd < 0 ? s.devfd : s.iommufd));

		failed_at = -1;
		arm(n);
		for (i = 0; i < NSTEPS; i++) {
			ret = do_step(&s, (enum step)i);
			/* close() is not undone: a failing close still closed the fd. */
			if (ret && i != CLOSE_DEV && i != CLOSE_FD) {
				failed_at = i;
				fail_ret = ret;
				break;
			}
		}
		left = disarm();

		if (failed_at < 0) {
			if (left) {
				done = true;	/* the n-th point was never reached */
			} else {
				absorbed++;	/* injected, and the kernel coped */
			}
			if (!getpa_exact(&s))
				inexact++;
		} else {
			injected++;
			by_step[failed_at]++;
			if (left) {
				spurious++;
				kt_diag("iteration %u: %s failed with %s without an injected fault",
					n, step_name[failed_at], kt_errname(fail_ret));
			}
			if (fail_ret == -ENOENT || fail_ret == -EFAULT)
				iommufd_point++;
			if (fail_ret != -ENOMEM &&
			    !(iommufd_test && (fail_ret == -ENOENT || fail_ret == -EFAULT)) &&
			    not_enomem++ < 5)
				kt_diag("iteration %u: %s failed with %s (want ENOMEM%s)", n,
					step_name[failed_at], kt_errname(fail_ret),
					iommufd_test ? ", ENOENT or EFAULT" : "");
			if (fail_ret != -ENOMEM)
				kt_diag("iteration %u: %s failed with %s", n, step_name[failed_at],
					kt_errname(fail_ret));
			/* Finish the sequence with no injection: it must work now. */
			for (i = failed_at; i < NSTEPS; i++) {
				ret = do_step(&s, (enum step)i);
				if (ret) {
					if (unrecovered++ < 5)
						kt_diag("iteration %u: after the fault in %s, %s "
							"failed without injection: %s", n,
							step_name[failed_at], step_name[i],
							kt_errname(ret));
					break;
				}
				if (i == PAGEMAP && !getpa_exact(&s)) {
					inexact++;
					kt_diag("iteration %u: GET_PA after the fault in %s: PA %#"
						PRIx64 " length %" PRIu64 " disagrees with pagemap",
						n, step_name[failed_at], s.pa, s.len);
				}
			}
			if (s.devfd >= 0)
				close(s.devfd);
			if (s.iommufd >= 0)
				close(s.iommufd);
		}
		if (kt_pins_wait(start.outstanding, &now, 5000)) {
			if (leaks++ < 5)
				kt_diag("iteration %u (fault in %s): %+" PRId64 " pins outstanding", n,
					failed_at < 0 ? "nothing that failed" : step_name[failed_at],
					now.outstanding - start.outstanding);
		}
	}
	n--;
	kt_check(done, "the sequence ran to the end without reaching the injection point "
		 "after %u iterations (limit %d)", n, MAX_ITER);
	kt_diag("%u iterations: %u failed at an injected fault, %u injected faults absorbed "
		"by the kernel (the sequence still succeeded)", n, injected, absorbed);
	for (i = 0; i < NSTEPS; i++)
		if (by_step[i])
			kt_diag("  failures in %-13s %u", step_name[i], by_step[i]);
	kt_check(!spurious, "no step failed without an injected fault (%u did)", spurious);
	kt_check(!not_enomem, "every injected failure returned ENOMEM%s (%u of them iommufd's "
		 "test fault point; %u other errnos)", iommufd_test ? ", ENOENT or EFAULT" : "",
		 iommufd_point, not_enomem);
	kt_check(!unrecovered, "after every failure the rest of the sequence succeeded without "
		 "injection (%u did not)", unrecovered);
	kt_check(!inexact, "every GET_PA answer that succeeded was exact against pagemap (%u "
		 "were not)", inexact);
	kt_check(!leaks, "outstanding pins back at the start value after every iteration (%u "
		 "iterations left pins behind)", leaks);
	kt_pins_read(&now);
	kt_check(now.outstanding == start.outstanding,
		 "at the end: nr_foll_pin_acquired %" PRIu64 " == released %" PRIu64
		 " + the %" PRId64 " outstanding at the start", now.acquired, now.released,
		 start.outstanding);
	kt_buf_free(&b);
	return kt_finish();
}
