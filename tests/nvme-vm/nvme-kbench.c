/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * nvme-kbench: the kernel driver's side of the NVMe benchmark.
 *
 *   nvme-kbench DEVICE [SECONDS]
 *
 * 4 KiB random reads with O_DIRECT from a block device (/dev/nvme0n1),
 * queue depth 1 (one thread, pread) and 32 (32 threads, one pread each in
 * flight: the test kernels have neither io_uring nor AIO), SECONDS each
 * (default 3). Prints IOPS and median/99th percentile latency per depth and
 * a last line in the format of `vni-nvme bench`, driver=kernel.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <linux/fs.h>

#define BS 4096
#define MAX_LAT (1u << 20)

struct worker {
	pthread_t th;
	int fd;
	uint64_t nblocks;
	uint64_t t_end;
	uint64_t rng;
	uint64_t *lat;               /* this worker's share of the latency array */
	size_t cap, count;
	int err;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t rng(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

static void *work(void *arg)
{
	struct worker *w = arg;
	void *buf;

	if (posix_memalign(&buf, BS, BS)) {
		w->err = ENOMEM;
		return NULL;
	}
	while (now_ns() < w->t_end) {
		off_t off = (off_t)(rng(&w->rng) % w->nblocks) * BS;
		uint64_t t0 = now_ns();

		if (pread(w->fd, buf, BS, off) != BS) {
			w->err = errno ? errno : EIO;
			break;
		}
		if (w->count < w->cap)
			w->lat[w->count] = now_ns() - t0;
		w->count++;
	}
	free(buf);
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int run(int fd, uint64_t nblocks, unsigned int qd, double secs, double res[3])
{
	struct worker w[32];
	uint64_t *lat = malloc(MAX_LAT * sizeof(*lat)), t0, total = 0;
	size_t n = 0;
	int err = 0;

	if (!lat)
		return ENOMEM;
	t0 = now_ns();
	for (unsigned int i = 0; i < qd; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].fd = fd;
		w[i].nblocks = nblocks;
		w[i].t_end = t0 + (uint64_t)(secs * 1e9);
		w[i].rng = 0x9e3779b97f4a7c15ull * (i + 1);
		w[i].cap = MAX_LAT / qd;
		w[i].lat = lat + (size_t)i * w[i].cap;
		if (pthread_create(&w[i].th, NULL, work, &w[i]) != 0) {
			fprintf(stderr, "nvme-kbench: pthread_create failed\n");
			exit(1);
		}
	}
	for (unsigned int i = 0; i < qd; i++) {
		pthread_join(w[i].th, NULL);
		if (w[i].err)
			err = w[i].err;
		total += w[i].count;
		/* Compact the recorded latencies of all workers. */
		size_t k = w[i].count < w[i].cap ? w[i].count : w[i].cap;
		memmove(lat + n, w[i].lat, k * sizeof(*lat));
		n += k;
	}
	if (!err && n) {
		double el = (double)(now_ns() - t0) / 1e9;

		qsort(lat, n, sizeof(*lat), cmp_u64);
		res[0] = (double)total / el;
		res[1] = (double)lat[n / 2] / 1e3;
		res[2] = (double)lat[n * 99 / 100] / 1e3;
		printf("nvme-kbench: QD%u: %" PRIu64 " reads of 4 KiB in %.2f s: %.0f IOPS, "
		       "latency median %.1f us, p99 %.1f us\n", qd, total, el, res[0], res[1],
		       res[2]);
	}
	free(lat);
	return err;
}

int main(int argc, char **argv)
{
	double secs = argc > 2 ? atof(argv[2]) : 3.0, r1[3], r32[3];
	uint64_t bytes = 0;
	int fd, err;

	if (argc < 2 || argc > 3 || secs <= 0) {
		fprintf(stderr, "usage: nvme-kbench DEVICE [SECONDS]\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	fd = open(argv[1], O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (fd < 0 || ioctl(fd, BLKGETSIZE64, &bytes) < 0 || bytes < BS) {
		fprintf(stderr, "nvme-kbench: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	err = run(fd, bytes / BS, 1, secs, r1);
	if (!err)
		err = run(fd, bytes / BS, 32, secs, r32);
	close(fd);
	if (err) {
		fprintf(stderr, "nvme-kbench: reading %s: %s\n", argv[1], strerror(err));
		return 1;
	}
	printf("vni-nvme-bench driver=kernel completions=irq qd1_iops=%.0f qd1_p50_us=%.1f "
	       "qd1_p99_us=%.1f qd32_iops=%.0f qd32_p50_us=%.1f qd32_p99_us=%.1f\n", r1[0], r1[1],
	       r1[2], r32[0], r32[1], r32[2]);
	return 0;
}
