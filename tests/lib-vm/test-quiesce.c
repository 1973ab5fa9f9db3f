/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vni-test-quiesce: no device DMA lands after vni_device_close().
 *
 *   - Bus Master is set while the device is open and clear after
 *     vni_device_close(), as a second process sees it in
 *     /sys/bus/pci/devices/<BDF>/config (the real register, not VFIO's view)
 *   - an edu DMA (edu buffer -> RAM) started just before the close does not
 *     land in the buffer: edu runs a DMA from a 100 ms timer after the
 *     command is written. A second thread polls the real command register
 *     in sysfs from before the start and notes when Bus Master goes off;
 *     when that is well within the 100 ms (a slower attempt, on a loaded
 *     host under TCG, is inconclusive and repeated), the transfer was
 *     certainly issued with Bus Master off, after which the close unpinned
 *     the buffer. The test waits past the timer, checks that the buffer
 *     still holds its old bytes, and, after opening the device again, that
 *     edu's DMA engine did run (START clear): issued and dropped.
 *
 * Needs 0000:00:04.0 bound to vfio-pci. Runs on whichever backend the
 * context chooses (VNI_BACKEND to force one).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vmtest.h"

#define CONFIG_PATH "/sys/bus/pci/devices/" EDU_BDF0 "/config"
#define WINDOW_NS (60ull * 1000 * 1000) /* well inside edu's 100 ms timer */
#define ATTEMPTS 6

/* Bus Master as a second process reads it from sysfs: 1 set, 0 clear, -1. */
static int sysfs_bus_master(void)
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		uint16_t cmd;
		int fd = open(CONFIG_PATH, O_RDONLY | O_CLOEXEC);

		if (fd < 0 || pread(fd, &cmd, 2, 4) != 2)
			_exit(2);
		_exit(cmd & 0x4 ? 1 : 0);
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) > 1)
		return -1;
	return WEXITSTATUS(st);
}

/* The poller: from start until stop, note the first time Bus Master reads 0. */
static _Atomic bool poll_stop, poll_ready;
static _Atomic uint64_t bm_off_ns;

static void *bm_poller(void *arg)
{
	int fd = open(CONFIG_PATH, O_RDONLY | O_CLOEXEC);

	(void)arg;
	atomic_store(&poll_ready, true);
	while (fd >= 0 && !atomic_load(&poll_stop)) {
		uint16_t cmd;

		if (pread(fd, &cmd, 2, 4) == 2 && !(cmd & 0x4) && !atomic_load(&bm_off_ns)) {
			atomic_store(&bm_off_ns, vt_now_ns());
			break;
		}
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

static uint64_t dma_of(struct vni_ctx *ctx, const void *p)
{
	uint64_t d;

	if (vni_dma_addr(ctx, p, &d) < 0)
		vt_bail("vni_dma_addr(%p)", p);
	return d;
}

int main(void)
{
	struct vni_ctx *ctx = NULL;
	struct vni_device *dev = NULL;
	const size_t len = 2 * 4096;
	uint8_t *mem, *src, *dst, *old;
	bool conclusive = false;
	int bm;

	setvbuf(stdout, NULL, _IOLBF, 0);
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
		   -1, 0);
	old = malloc(4096);
	if (mem == MAP_FAILED || !old)
		vt_bail("mmap");
	src = mem;
	dst = mem + 4096;
	if (vni_ctx_new(&ctx, 0) < 0)
		vt_bail("vni_ctx_new");

	for (int attempt = 1; attempt <= ATTEMPTS && !conclusive; attempt++) {
		uint64_t t0, t1, tb;
		pthread_t poller;
		uint32_t cmd;

		if (vni_device_open(ctx, EDU_BDF0, &dev) < 0)
			vt_bail("vni_device_open(%s)", EDU_BDF0);
		/* legacy backend: nothing pins, 4 KiB pages only with the flag */
		if (attempt == 1 &&
		    vni_dma_map(ctx, mem, len, vni_ctx_backend(ctx) == VNI_BACKEND_LEGACY ?
				VNI_DMA_MAP_MAY_MOVE : 0) < 0)
			vt_bail("vni_dma_map: %s", vni_strerror_last());
		if (attempt == 1)
			vt_diag("backend %s", vni_backend_name(vni_ctx_backend(ctx)));
		if (vni_device_set_bus_master(dev, true) < 0)
			vt_bail("vni_device_set_bus_master");
		if (attempt == 1) {
			bm = sysfs_bus_master();
			vt_ok(bm == 1, "open: Bus Master set in %s (second process reads %d)",
			      CONFIG_PATH, bm);
		}
		/* edu's buffer := pattern; the target buffer := old bytes */
		vt_fill_pattern(src, 4096, 4242u + (uint32_t)attempt);
		if (vt_edu_dma(dev, dma_of(ctx, src), EDU_BUF_ADDR, EDU_XFER_MAX, false, false) < 0)
			vt_bail("edu DMA RAM -> edu");
		memset(dst, 0x5a, 4096);
		memcpy(old, dst, 4096);

		/* start edu -> RAM, do not wait, close at once */
		atomic_store(&poll_stop, false);
		atomic_store(&poll_ready, false);
		atomic_store(&bm_off_ns, 0);
		if (pthread_create(&poller, NULL, bm_poller, NULL) != 0)
			vt_bail("pthread_create");
		while (!atomic_load(&poll_ready))
			sched_yield();
		t0 = vt_now_ns();
		vt_edu_wr64(dev, EDU_REG_DMA_SRC, EDU_BUF_ADDR);
		vt_edu_wr64(dev, EDU_REG_DMA_DST, dma_of(ctx, dst));
		vt_edu_wr64(dev, EDU_REG_DMA_COUNT, EDU_XFER_MAX);
		vt_edu_wr64(dev, EDU_REG_DMA_CMD, EDU_DMA_START | EDU_DMA_TO_RAM);
		cmd = vt_edu_rd(dev, EDU_REG_DMA_CMD);
		if (vni_device_close(&dev) < 0)
			vt_bail("vni_device_close");
		t1 = vt_now_ns();
		atomic_store(&poll_stop, true);
		pthread_join(poller, NULL);
		tb = atomic_load(&bm_off_ns);
		if (!(cmd & EDU_DMA_START) || !tb || tb - t0 > WINDOW_NS) {
			vt_diag("attempt %d inconclusive: DMA %s, Bus Master seen off %.1f ms "
				"after the start (edu fires after 100 ms), close returned after "
				"%.1f ms; again", attempt,
				cmd & EDU_DMA_START ? "pending" : "already done",
				tb ? (double)(tb - t0) / 1e6 : -1.0, (double)(t1 - t0) / 1e6);
			/* let the pending DMA (if any) run out before reopening */
			nanosleep(&(struct timespec){ 0, 300 * 1000 * 1000 }, NULL);
			continue;
		}
		conclusive = true;
		vt_diag("attempt %d: Bus Master off %.1f ms after the DMA start (edu fires "
			"after 100 ms), close returned after %.1f ms", attempt,
			(double)(tb - t0) / 1e6, (double)(t1 - t0) / 1e6);
		bm = sysfs_bus_master();
		vt_ok(bm == 0, "after vni_device_close: Bus Master clear in %s (second process "
		      "reads %d)", CONFIG_PATH, bm);
		/* edu's timer fires 100 ms after the start: wait well past it */
		nanosleep(&(struct timespec){ 0, 500 * 1000 * 1000 }, NULL);
		vt_ok(vt_memdiff(dst, old, 4096) < 0,
		      "the DMA started before the close did not land in the (now unpinned) "
		      "buffer: first difference at %td", vt_memdiff(dst, old, 4096));
		if (vni_device_open(ctx, EDU_BDF0, &dev) < 0)
			vt_bail("vni_device_open again");
		cmd = vt_edu_rd(dev, EDU_REG_DMA_CMD);
		vt_ok(!(cmd & EDU_DMA_START),
		      "edu's DMA engine ran meanwhile (command %#x): the transfer was issued "
		      "and dropped", cmd);
		/* and the device still works once Bus Master is on again */
		vni_device_set_bus_master(dev, true);
		vt_ok(vt_edu_dma(dev, EDU_BUF_ADDR, dma_of(ctx, dst), EDU_XFER_MAX, true, false) == 0 &&
		      vt_memdiff(dst, src, EDU_XFER_MAX) < 0,
		      "after reopening, the same DMA lands (pattern verified)");
		vt_ok_call(vni_device_close(&dev), "vni_device_close");
	}
	if (!conclusive)
		vt_ok(false, "no conclusive attempt in %d: Bus Master never went off within %llu "
		      "ms of the DMA start", ATTEMPTS, (unsigned long long)(WINDOW_NS / 1000000));
	vt_ok_call(vni_dma_unmap(ctx, mem, len), "vni_dma_unmap");
	vt_ok_call(vni_ctx_destroy(&ctx), "vni_ctx_destroy");
	munmap(mem, len);
	free(old);
	return vt_done();
}
