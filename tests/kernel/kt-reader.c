// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kt-iommufd.h"
#include "kt-mem.h"
#include "kt-reader.h"

uint64_t kt_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void *reader_main(void *arg)
{
	struct kt_reader *r = arg;
	uint64_t seed = r->seed ? r->seed : 0x7265616465ULL;
	uint64_t off, pa, len, t0, t1, ns, want_pa, want_len;
	unsigned int w0, w1;
	bool signalled = false;
	char one = 1;
	int ret;

	while (!atomic_load(&r->stop)) {
		/* No exact answer in the first 1000 calls: report failure to start(). */
		if (!signalled && r->calls >= 1000)
			break;
		off = kt_rand(&seed) % r->len;
		w0 = atomic_load(&r->window);
		t0 = kt_now_ns();
		ret = kt_get_pa(r->iommufd, r->ioas_id, r->iova + off, UINT64_MAX, &pa, &len);
		t1 = kt_now_ns();
		w1 = atomic_load(&r->window);
		ns = t1 - t0;
		r->calls++;
		if (ns > r->max_ns)
			r->max_ns = ns;
		/* Open at the start, at the end, or opened and closed meanwhile. */
		if ((w0 & 1) || (w1 & 1) || w1 != w0) {
			r->window_calls++;
			if (ns > r->window_max_ns)
				r->window_max_ns = ns;
		}
		if (ret) {
			r->errors++;
			r->last_error = ret;
			continue;
		}
		want_pa = r->pfns[off / KT_PAGE] * KT_PAGE + off % KT_PAGE;
		want_len = kt_run_bytes(r->pfns, r->len / KT_PAGE, off);
		if (pa != want_pa || len != want_len) {
			r->wrong++;
			continue;
		}
		if (!signalled) {
			signalled = true;
			if (write(r->ready[1], &one, 1) != 1)
				break;
		}
	}
	if (!signalled) {
		one = 0;	/* start() sees a failure */
		if (write(r->ready[1], &one, 1) != 1)
			r->errors++;
	}
	return NULL;
}

int kt_reader_start(struct kt_reader *r)
{
	char c;
	int ret;

	r->calls = r->wrong = r->errors = r->window_calls = 0;
	r->window_max_ns = r->max_ns = 0;
	r->last_error = 0;
	atomic_store(&r->stop, false);
	atomic_store(&r->window, 0);
	if (pipe2(r->ready, O_CLOEXEC))
		return -errno;
	ret = pthread_create(&r->thread, NULL, reader_main, r);
	if (ret)
		return -ret;
	if (read(r->ready[0], &c, 1) != 1 || !c) {
		pthread_join(r->thread, NULL);
		close(r->ready[0]);
		close(r->ready[1]);
		return r->last_error ? r->last_error : -EIO;
	}
	return 0;
}

void kt_reader_window(struct kt_reader *r, bool open)
{
	unsigned int w = atomic_load(&r->window);

	if (((w & 1) != 0) != open)
		atomic_fetch_add(&r->window, 1);
}

void kt_reader_stop(struct kt_reader *r)
{
	atomic_store(&r->stop, true);
	pthread_join(r->thread, NULL);
	close(r->ready[0]);
	close(r->ready[1]);
}
