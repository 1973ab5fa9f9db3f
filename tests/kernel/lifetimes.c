// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * noiommu-lifetimes [BDF]: every pin is released, whatever the order of
 * teardown, and none is released while the device can still use it.
 *
 * Pins are counted with /proc/vmstat (nr_foll_pin_acquired -
 * nr_foll_pin_released, per-CPU deltas folded through
 * /proc/sys/vm/stat_refresh), relative to the count at start:
 *  - the device fd, the iommufd and the IOAS (IOMMU_DESTROY) closed in all
 *    six orders: the pages stay pinned exactly as long as the device is
 *    attached, destroying an IOAS in use fails with EBUSY;
 *  - unmap while attached, detach while mapped (and attach again), destroy
 *    a detached IOAS that still has mappings;
 *  - a process killed with SIGKILL while it has 4 KiB and 2 MiB pages
 *    mapped, and killed at random points of a map/GET_PA/unmap loop.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kt-iommufd.h"
#include "kt-kstat.h"
#include "kt-mem.h"
#include "kt-tap.h"

#define IOVA 0x40000000ULL
#define IOVA_HUGE 0x80000000ULL
#define MAP_LEN (1UL << 20)
#define NPAGES ((int64_t)(MAP_LEN / KT_PAGE))
#define KILL_LEN (4UL << 20)

static const char *bdf;
static int64_t base;

/* Outstanding pins relative to the start. */
static int64_t pins(void)
{
	struct kt_pins p;

	if (kt_pins_read(&p))
		kt_bail("cannot read nr_foll_pin_* from /proc/vmstat");
	return p.outstanding - base;
}

/* Waits for the pins to drop back to the start value. */
static bool released(int64_t *left, int *ms)
{
	struct timespec t0, t1;
	struct kt_pins p;
	int ret;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	ret = kt_pins_wait(base, &p, 10000);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	*left = p.outstanding - base;
	*ms = (int)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
	return !ret;
}

/* A bound device attached to an IOAS with MAP_LEN of b mapped at IOVA. */
static int setup(struct kt_ctx *c, struct kt_buf *b)
{
	uint64_t iova = IOVA, pa, len, pfn;
	int ret;

	ret = kt_ctx_open(c, bdf, true);
	if (ret)
		return ret;
	ret = kt_map(c->iommufd, c->ioas_id, b->va, MAP_LEN, &iova,
		     KT_MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA);
	if (!ret)
		ret = kt_get_pa(c->iommufd, c->ioas_id, IOVA, KT_PAGE, &pa, &len);
	if (!ret)
		ret = kt_pfns(b->va, KT_PAGE, &pfn);
	if (!ret && pa != pfn * KT_PAGE)
		ret = -EIO;
	if (ret) {
		kt_diag("setup: %s", kt_errname(ret));
		kt_ctx_close(c);
	}
	return ret;
}

enum step { CLOSE_DEV, CLOSE_IOMMUFD, DESTROY_IOAS };

static const char *const step_name[] = { "device", "iommufd", "ioas" };

static void close_order(struct kt_buf *b, const enum step order[3])
{
	bool dev_open = true, fd_open = true, ok = true;
	char trace[160];
	int64_t p, want, left;
	size_t n = 0;
	struct kt_ctx c;
	int i, ret, ms;

	if (setup(&c, b)) {
		kt_check(false, "close order %s, %s, %s: setup failed", step_name[order[0]],
			 step_name[order[1]], step_name[order[2]]);
		return;
	}
	p = pins();
	ok &= p == NPAGES;
	n += (size_t)snprintf(trace + n, sizeof(trace) - n, "mapped %+" PRId64, p);
	for (i = 0; i < 3; i++) {
		ret = 0;
		switch (order[i]) {
		case CLOSE_DEV:
			close(c.devfd);
			c.devfd = -1;
			dev_open = false;
			break;
		case CLOSE_IOMMUFD:
			close(c.iommufd);
			c.iommufd = -1;
			fd_open = false;
			break;
		case DESTROY_IOAS:
			if (!fd_open)
				break; /* went with the iommufd */
			ret = kt_destroy(c.iommufd, c.ioas_id);
			/* An IOAS with a device attached is busy. */
			ok &= ret == (dev_open ? -EBUSY : 0);
			break;
		}
		p = pins();
		/* Pinned exactly while the device is attached. */
		want = dev_open ? NPAGES : 0;
		ok &= p == want;
		n += (size_t)snprintf(trace + n, sizeof(trace) - n, ", %s%s%s %+" PRId64,
				      step_name[order[i]], ret ? " " : "", ret ? kt_errname(ret) : "",
				      p);
	}
	ok &= released(&left, &ms);
	kt_check(ok, "close order %s, %s, %s: pins %s, outstanding at the end %+" PRId64,
		 step_name[order[0]], step_name[order[1]], step_name[order[2]], trace, left);
}

static void unmap_while_attached(struct kt_buf *b)
{
	uint64_t iova = IOVA, pa, len;
	int64_t p1, p2, p3, left;
	struct kt_ctx c;
	int r1, r2, r3, ms;
	bool rel;

	if (setup(&c, b))
		kt_bail("setup");
	p1 = pins();
	r1 = kt_unmap(c.iommufd, c.ioas_id, IOVA, MAP_LEN);
	p2 = pins();
	r2 = kt_get_pa(c.iommufd, c.ioas_id, IOVA, KT_PAGE, &pa, &len);
	r3 = kt_map(c.iommufd, c.ioas_id, b->va, MAP_LEN, &iova,
		    KT_MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA);
	p3 = pins();
	kt_ctx_close(&c);
	rel = released(&left, &ms);
	kt_check(p1 == NPAGES && !r1 && p2 == 0 && r2 == -ENOENT && !r3 && p3 == NPAGES && rel,
		 "unmap while attached: pins %+" PRId64 " -> unmap (%s) %+" PRId64
		 ", GET_PA %s, map again %+" PRId64 ", closed %+" PRId64,
		 p1, kt_errname(r1), p2, kt_errname(r2), p3, left);
}

static void detach_while_mapped(struct kt_buf *b)
{
	uint64_t pa = 0, len, pfn = 0;
	int64_t p1, p2, p3, left;
	struct kt_ctx c;
	int r1, r2, r3, r4, ms;
	bool rel;

	if (setup(&c, b))
		kt_bail("setup");
	p1 = pins();
	r1 = kt_detach(c.devfd);
	p2 = pins();
	r2 = kt_get_pa(c.iommufd, c.ioas_id, IOVA, KT_PAGE, &pa, &len);
	r3 = kt_attach(c.devfd, c.ioas_id, NULL);
	p3 = pins();
	r4 = kt_get_pa(c.iommufd, c.ioas_id, IOVA, KT_PAGE, &pa, &len);
	if (!r4)
		r4 = kt_pfns(b->va, KT_PAGE, &pfn);
	/* The iommufd goes first: the device keeps the context alive. */
	close(c.iommufd);
	c.iommufd = -1;
	kt_check(pins() == NPAGES, "detach test: closing the iommufd first keeps the pins");
	kt_ctx_close(&c);
	rel = released(&left, &ms);
	kt_check(p1 == NPAGES && !r1 && p2 == 0 && r2 == -EOPNOTSUPP && !r3 && p3 == NPAGES &&
		 !r4 && pa == pfn * KT_PAGE && rel,
		 "detach while mapped: pins %+" PRId64 " -> detach (%s) %+" PRId64
		 ", GET_PA %s, attach again (%s) %+" PRId64 ", GET_PA %#" PRIx64
		 " (pagemap %#" PRIx64 "), closed %+" PRId64,
		 p1, kt_errname(r1), p2, kt_errname(r2), kt_errname(r3), p3, pa,
		 pfn * KT_PAGE, left);
}

static void destroy_detached_ioas(struct kt_buf *b)
{
	int64_t p1, left;
	struct kt_ctx c;
	int r1, r2, ms;
	bool rel;

	if (setup(&c, b))
		kt_bail("setup");
	r1 = kt_detach(c.devfd);
	r2 = kt_destroy(c.iommufd, c.ioas_id);
	p1 = pins();
	kt_ctx_close(&c);
	rel = released(&left, &ms);
	kt_check(!r1 && !r2 && p1 == 0 && rel,
		 "destroy a detached IOAS with mappings: detach %s, destroy %s, pins %+" PRId64
		 ", closed %+" PRId64, kt_errname(r1), kt_errname(r2), p1, left);
}

/* Child: maps 4 MiB of 4 KiB pages and, if it can, a huge page; reports, waits. */
static void child_hold(int wfd, bool huge)
{
	struct kt_buf b, h;
	uint64_t iova = IOVA, pa, len;
	int64_t expect = (int64_t)(KILL_LEN / KT_PAGE);
	struct kt_ctx c;

	if (kt_buf_alloc(&b, KILL_LEN, false) || kt_ctx_open(&c, bdf, true) ||
	    kt_map(c.iommufd, c.ioas_id, b.va, b.len, &iova, KT_MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA))
		_exit(1);
	if (huge && !kt_buf_alloc(&h, KT_HUGE, true)) {
		iova = IOVA_HUGE;
		if (kt_map(c.iommufd, c.ioas_id, h.va, h.len, &iova,
			   KT_MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA))
			_exit(1);
		expect += (int64_t)(KT_HUGE / KT_PAGE);
	}
	if (kt_get_pa(c.iommufd, c.ioas_id, IOVA, KILL_LEN, &pa, &len))
		_exit(1);
	if (write(wfd, &expect, sizeof(expect)) != sizeof(expect))
		_exit(1);
	for (;;)
		pause();
}

static void killed_while_mapped(void)
{
	int64_t expect = -1, p, left;
	int fds[2], status, ms;
	bool rel;
	pid_t pid;

	if (pipe(fds))
		kt_bail("pipe");
	fflush(stdout);
	pid = fork();
	if (!pid) {
		close(fds[0]);
		child_hold(fds[1], true);
	}
	close(fds[1]);
	if (pid < 0 || read(fds[0], &expect, sizeof(expect)) != sizeof(expect))
		expect = -1;
	close(fds[0]);
	p = pins();
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	rel = released(&left, &ms);
	kt_check(expect > 0 && p == expect && WIFSIGNALED(status) &&
		 WTERMSIG(status) == SIGKILL && rel,
		 "SIGKILL with %" PRId64 " pages mapped (4 MiB of 4 KiB pages%s): "
		 "pins %+" PRId64 " before the kill, %+" PRId64 " %d ms after it",
		 expect, expect > (int64_t)(KILL_LEN / KT_PAGE) ? " + a 2 MiB page" : "",
		 p, left, ms);
}

/* Child: map, translate, unmap, forever. */
static void child_churn(struct kt_buf *b)
{
	uint64_t iova, pa, len;
	struct kt_ctx c;

	if (kt_ctx_open(&c, bdf, true))
		_exit(1);
	for (;;) {
		iova = IOVA;
		kt_map(c.iommufd, c.ioas_id, b->va, MAP_LEN, &iova,
		       KT_MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA);
		kt_get_pa(c.iommufd, c.ioas_id, IOVA + MAP_LEN / 2, MAP_LEN, &pa, &len);
		kt_unmap(c.iommufd, c.ioas_id, IOVA, MAP_LEN);
	}
}

static void killed_while_busy(struct kt_buf *b, uint64_t *seed)
{
	int64_t left, worst = 0;
	int round, ms, status;
	bool ok = true;
	struct timespec ts;
	pid_t pid;

	for (round = 0; round < 8; round++) {
		fflush(stdout);
		pid = fork();
		if (!pid)
			child_churn(b);
		ts.tv_sec = 0;
		ts.tv_nsec = (long)(20 + kt_rand(seed) % 300) * 1000000L;
		nanosleep(&ts, NULL);
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		ok &= released(&left, &ms);
		ok &= WIFSIGNALED(status);
		if (left > worst)
			worst = left;
	}
	kt_check(ok, "SIGKILL at random points of a map/GET_PA/unmap loop, 8 rounds: "
		 "outstanding pins after each %+" PRId64 " at worst", worst);
}

int main(int argc, char **argv)
{
	static const enum step orders[6][3] = {
		{ CLOSE_DEV, CLOSE_IOMMUFD, DESTROY_IOAS },
		{ CLOSE_DEV, DESTROY_IOAS, CLOSE_IOMMUFD },
		{ CLOSE_IOMMUFD, CLOSE_DEV, DESTROY_IOAS },
		{ CLOSE_IOMMUFD, DESTROY_IOAS, CLOSE_DEV },
		{ DESTROY_IOAS, CLOSE_DEV, CLOSE_IOMMUFD },
		{ DESTROY_IOAS, CLOSE_IOMMUFD, CLOSE_DEV },
	};
	struct rlimit unlimited = { RLIM_INFINITY, RLIM_INFINITY };
	uint64_t seed = 0x6c696665ULL;
	struct kt_pins start;
	struct kt_buf b;
	int i;

	bdf = argc > 1 ? argv[1] : "0000:00:04.0";
	kt_start("noiommu-lifetimes");
	setrlimit(RLIMIT_MEMLOCK, &unlimited);
	if (kt_pins_read(&start))
		kt_bail("no nr_foll_pin_acquired/released in /proc/vmstat");
	base = start.outstanding;
	kt_diag("device %s; at start: nr_foll_pin_acquired %" PRIu64 ", released %" PRIu64
		", outstanding %" PRId64, bdf, start.acquired, start.released, base);
	if (kt_buf_alloc(&b, MAP_LEN, false))
		kt_bail("buffer");

	for (i = 0; i < 6; i++)
		close_order(&b, orders[i]);
	unmap_while_attached(&b);
	detach_while_mapped(&b);
	destroy_detached_ioas(&b);
	killed_while_mapped();
	killed_while_busy(&b, &seed);

	kt_pins_read(&start);
	kt_check(start.outstanding == base,
		 "at the end: nr_foll_pin_acquired %" PRIu64 ", released %" PRIu64
		 ", outstanding %" PRId64 " (%+" PRId64 " from the start)",
		 start.acquired, start.released, start.outstanding, start.outstanding - base);
	kt_buf_free(&b);
	return kt_finish();
}
