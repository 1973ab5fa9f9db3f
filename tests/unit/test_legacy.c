/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The legacy no-IOMMU group backend against the simulated kernel's legacy
 * interface (/dev/vfio/vfio, /dev/vfio/noiommu-N, /proc/self/pagemap and
 * smaps): selection and refusals, hugetlb-only buffers, the may-move rule
 * for caller memory, physical addresses equal to pagemap's read in one pass,
 * hidden PFNs, mlock bookkeeping, quiesce before close, reopen, and fault
 * injection over the whole life cycle.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"
#include "internal.h"

#define LEG "0000:00:07.0"      /* devs[3] made a vanilla-kernel noiommu device */

/* The device an unpatched kernel with VFIO_GROUP=y offers: IOMMU group
 * "vfio-noiommu", a plain "vfioN" cdev (no no-IOMMU cdev support). */
static struct fake_cfg legacy_cfg(void)
{
	struct fake_cfg cfg = fake_default_cfg();

	cfg.devs[3].noiommu_group = true;
	return cfg;
}

static int legacy_setup(void **state)
{
	struct fake_cfg cfg = legacy_cfg();

	(void)state;
	unsetenv("VNI_BACKEND");
	fake_install(&cfg);
	return 0;
}

static void open_legacy(struct vni_ctx **ctx, struct vni_device **dev)
{
	assert_ok(vni_ctx_new(ctx, 0));
	assert_ok(vni_device_open(*ctx, LEG, dev));
	assert_int_equal(vni_ctx_backend(*ctx), VNI_BACKEND_LEGACY);
}

/* Does a fork()ed child see p? (It faults on memory marked MADV_DONTFORK.) */
static bool child_sees(const volatile char *p)
{
	int st = 0;
	pid_t pid = fork();

	if (pid == 0) {
		char c;

		signal(SIGSEGV, SIG_DFL); /* not cmocka's handler */
		c = p[0];
		(void)c;
		_exit(0);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (WIFSIGNALED(st))
		assert_int_equal(WTERMSIG(st), SIGSEGV);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* Does this kernel keep MADV_DONTFORK memory out of children? qemu-user does not. */
static bool dontfork_honoured(void)
{
	char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	bool ret;

	assert_true(p != MAP_FAILED);
	assert_int_equal(madvise(p, 4096, MADV_DONTFORK), 0);
	ret = !child_sees(p);
	munmap(p, 4096);
	return ret;
}

/* Every page of [p, p+len) translates to what pagemap says, and the
 * segments are pagemap's physically contiguous runs. */
static void check_vs_pagemap(struct vni_ctx *ctx, const char *p, size_t len)
{
	struct vni_dma_seg segs[512];
	size_t nsegs = 0, expect = 0;
	uint64_t dma, prev = 0;

	for (size_t off = 0; off < len; off += 4096) {
		uint64_t pa = fake_pagemap_pa((uintptr_t)p + off);

		assert_ok(vni_dma_addr(ctx, p + off + 123, &dma));
		assert_int_equal(dma, pa + 123);
		assert_int_equal(vni_dma_addr_fast(ctx, p + off), pa);
		if (off == 0 || pa != prev + 4096)
			expect++;
		prev = pa;
	}
	assert_ok(vni_dma_segments(ctx, p, len, segs, 512, &nsegs));
	assert_int_equal(nsegs, expect);
}

static void test_legacy_select(void **state)
{
	struct vni_ctx *ctx = NULL;
	struct vni_device *dev = NULL, *dev2 = NULL;
	struct fake_cfg cfg;
	uint32_t ioas;

	(void)state;
	/* automatic: the noiommu cdev is not there, the legacy group is */
	assert_int_equal(vni_backend_probe(LEG), VNI_BACKEND_LEGACY);
	assert_int_equal(vni_backend_probe(EDU), VNI_BACKEND_NOIOMMU);
	assert_string_equal(vni_backend_name(VNI_BACKEND_LEGACY), "legacy");
	assert_string_equal(vni_backend_name(VNI_BACKEND_NOIOMMU), "noiommu");
	assert_string_equal(vni_backend_name(VNI_BACKEND_AUTO), "auto");
	assert_string_equal(vni_backend_name(99), "?");
	open_legacy(&ctx, &dev);
	assert_non_null(strstr(fake_log(), "c0:iommu") ? fake_log() : NULL);
	/* no iommufd in this backend */
	assert_err(vni_ctx_iommufd(ctx), EOPNOTSUPP);
	assert_err(vni_ctx_ioas_id(ctx, &ioas), EOPNOTSUPP);
	/* the backend is fixed now */
	assert_err(vni_ctx_set_backend(ctx, VNI_BACKEND_NOIOMMU), EBUSY);
	/* a device that needs the other backend is refused, with why */
	assert_err(vni_device_open(ctx, EDU, &dev2), EXDEV);
	assert_int_equal(vni_reason_last(), VNI_REASON_BACKEND_MISMATCH);
	assert_non_null(strstr(vni_strerror_last(), "needs the noiommu backend"));
	assert_non_null(strstr(vni_strerror_last(), "uses legacy"));
	assert_non_null(strstr(vni_strerror_last(), LEG));
	assert_null(dev2);
	/* a device behind a real IOMMU: not for this context either */
	assert_ok(vni_device_close(&dev));
	assert_ok(vni_ctx_destroy(&ctx));

	/* the other way round: a noiommu-cdev context refuses the legacy-only device */
	assert_ok(vni_ctx_new(&ctx, 0));
	assert_ok(vni_device_open(ctx, EDU, &dev));
	assert_err(vni_device_open(ctx, LEG, &dev2), EXDEV);
	assert_int_equal(vni_reason_last(), VNI_REASON_BACKEND_MISMATCH);
	assert_non_null(strstr(vni_strerror_last(), "needs the legacy backend"));
	assert_ok(vni_device_close(&dev));
	assert_ok(vni_ctx_destroy(&ctx));

	/* forced by the context option: legacy for a device that also has the
	 * no-IOMMU cdev (EDU2 in group 1) */
	cfg = legacy_cfg();
	cfg.devs[1].noiommu_group = true;
	fake_install(&cfg);
	assert_ok(vni_ctx_new(&ctx, 0));
	assert_err(vni_ctx_set_backend(ctx, 42), EINVAL);
	assert_ok(vni_ctx_set_backend(ctx, VNI_BACKEND_LEGACY));
	assert_int_equal(vni_ctx_backend(ctx), VNI_BACKEND_LEGACY);
	/* forced legacy, device without a group: the kernel lacks it */
	assert_err(vni_device_open(ctx, EDU, &dev), ENOSYS);
	assert_int_equal(vni_reason_last(), VNI_REASON_KERNEL_LACKS);
	assert_non_null(strstr(vni_strerror_last(), "CONFIG_VFIO_GROUP"));
	/* nothing was set up: the option stays */
	assert_int_equal(vni_ctx_backend(ctx), VNI_BACKEND_LEGACY);
	assert_ok(vni_device_open(ctx, EDU2, &dev));
	assert_int_equal(vni_ctx_backend(ctx), VNI_BACKEND_LEGACY);
	assert_string_equal(vni_device_get_info(dev, &(struct vni_device_info){ .struct_size = sizeof(struct vni_device_info) }) == 0 ?
			    "ok" : "", "ok");
	assert_ok(vni_device_close(&dev));
	assert_ok(vni_ctx_destroy(&ctx));

	/* forced by the environment */
	setenv("VNI_BACKEND", "legacy", 1);
	assert_int_equal(vni_backend_probe(EDU2), VNI_BACKEND_LEGACY);
	assert_ok(vni_ctx_new(&ctx, 0));
	assert_int_equal(vni_ctx_backend(ctx), VNI_BACKEND_LEGACY);
	assert_ok(vni_device_open(ctx, EDU2, &dev));
	assert_ok(vni_device_close(&dev));
	assert_ok(vni_ctx_destroy(&ctx));
	/* ... to the other backend: the legacy-only device is refused */
	setenv("VNI_BACKEND", "noiommu", 1);
	assert_ok(vni_ctx_new(&ctx, 0));
	assert_err(vni_device_open(ctx, LEG, &dev), ENOSYS);
	assert_int_equal(vni_reason_last(), VNI_REASON_KERNEL_LACKS);
	assert_non_null(strstr(vni_strerror_last(), "only the legacy group interface"));
	/* the option overrides the environment */
	assert_ok(vni_ctx_set_backend(ctx, VNI_BACKEND_AUTO));
	assert_ok(vni_device_open(ctx, LEG, &dev));
	assert_int_equal(vni_ctx_backend(ctx), VNI_BACKEND_LEGACY);
	assert_ok(vni_device_close(&dev));
	assert_ok(vni_ctx_destroy(&ctx));
	/* forced no-IOMMU backend, device behind an IOMMU */
	cfg = fake_default_cfg();
	fake_install(&cfg);
	setenv("VNI_BACKEND", "legacy", 1);
	assert_ok(vni_ctx_new(&ctx, 0));
	assert_err(vni_device_open(ctx, "0000:00:07.0", &dev), EXDEV);
	assert_int_equal(vni_reason_last(), VNI_REASON_REAL_IOMMU);
	assert_ok(vni_ctx_destroy(&ctx));
	/* a name that is no backend */
	setenv("VNI_BACKEND", "type3", 1);
	assert_err(vni_ctx_new(&ctx, 0), EINVAL);
	assert_non_null(strstr(vni_strerror_last(), "VNI_BACKEND=type3"));
	assert_null(ctx);
	assert_err(vni_backend_probe(EDU), EINVAL);
	unsetenv("VNI_BACKEND");
}

static void test_legacy_alloc(void **state)
{
	struct vni_ctx *ctx = NULL;
	struct vni_device *dev = NULL;
	struct vni_dma_mapping_info mi = { .struct_size = sizeof(mi) };
	struct vni_ctx_stats st = { .struct_size = sizeof(st) };
	void *p = NULL, *q = NULL;
	struct fake_cfg cfg;

	(void)state;
	open_legacy(&ctx, &dev);
	/* small requests get a hugepage too, locked and translated */
	assert_ok(vni_dma_alloc(ctx, 8192, 0, &p));
	assert_ok(vni_dma_lookup(ctx, p, &mi));
	assert_int_equal(mi.page_size, 2 << 20);
	assert_int_equal(mi.len, 2 << 20);
	assert_true(mi.flags & VNI_DMA_MAPPING_HUGE);
	assert_int_equal(mi.runs, 1);
	assert_true(fake_locked((uintptr_t)p, 2 << 20));
	check_vs_pagemap(ctx, p, 2 << 20);
	assert_int_equal(vni_dma_addr_fast(ctx, p) & ((2 << 20) - 1), 0);
	/* no GET_PA in this backend */
	assert_ok(vni_ctx_stats(ctx, &st));
	assert_int_equal(st.get_pa_calls, 0);
	assert_int_equal(st.leaf_2m, 1);
	/* 3 hugepages: three runs (the fake never places them adjacent) */
	assert_err(vni_dma_alloc(ctx, 5 << 20, VNI_DMA_ALLOC_CONTIG, &q), EINVAL);
	assert_ok(vni_dma_alloc(ctx, 5 << 20, 0, &q));
	assert_ok(vni_dma_lookup(ctx, q, &mi));
	assert_int_equal(mi.runs, 3);
	check_vs_pagemap(ctx, q, 6 << 20);
	assert_ok(vni_dma_free(ctx, q));
	/* 4 KiB pages may move: refused */
	assert_err(vni_dma_alloc(ctx, 4096, VNI_DMA_ALLOC_SMALL, &q), EINVAL);
	assert_int_equal(vni_reason_last(), VNI_REASON_MAY_MOVE);
	assert_ok(vni_dma_free(ctx, p));
	assert_false(fake_locked((uintptr_t)p, 4096));
	assert_ok(vni_device_close(&dev));
	assert_ok(vni_ctx_destroy(&ctx));

	/* no hugepages: no buffer at all (never a 4 KiB fallback) */
	cfg = legacy_cfg();
	cfg.hugepages = false;
	fake_install(&cfg);
	open_legacy(&ctx, &dev);
	assert_err(vni_dma_alloc(ctx, 4096, 0, &p), ENOMEM);
	assert_non_null(strstr(vni_strerror_last(), "legacy backend allocates only from hugepages"));
	assert_ok(vni_device_close(&dev));
	assert_ok(vni_ctx_destroy(&ctx));
}

static void test_legacy_map(void **state)
{
	struct vni_ctx *ctx = NULL;
	struct vni_device *dev = NULL;
	struct vni_dma_mapping_info mi = { .struct_size = sizeof(mi) };
	const size_t len = 1 << 20;
	long reads;
	char *mem, *huge;

	(void)state;
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(mem != MAP_FAILED);
	open_legacy(&ctx, &dev);
	/* 4 KiB caller memory: refused without the flag, nothing locked */
	assert_err(vni_dma_map(ctx, mem, len, 0), EINVAL);
	assert_int_equal(vni_reason_last(), VNI_REASON_MAY_MOVE);
	assert_non_null(strstr(vni_strerror_last(), "VNI_DMA_MAP_MAY_MOVE"));
	assert_false(fake_locked((uintptr_t)mem, 4096));
	/* with it: locked, and pagemap read in bulk (256 entries, one read) */
	reads = fake_pagemap_reads();
	assert_ok(vni_dma_map(ctx, mem, len, VNI_DMA_MAP_MAY_MOVE));
	assert_int_equal(fake_pagemap_reads() - reads, 1);
	assert_true(fake_locked((uintptr_t)mem, len));
	check_vs_pagemap(ctx, mem, len);
	assert_ok(vni_dma_lookup(ctx, mem, &mi));
	assert_true(mi.runs > 32); /* chunks of at most 8 pages */
	/* lookups never read pagemap */
	reads = fake_pagemap_reads();
	for (size_t off = 0; off < len; off += 4096)
		assert_true(vni_dma_addr_fast(ctx, mem + off) != VNI_DMA_ADDR_INVALID);
	assert_int_equal(fake_pagemap_reads(), reads);
	/* nothing pins it: kept out of fork()ed children while mapped (their
	 * copy-on-write would move the parent's pages) */
	assert_true(fake_dontfork((uintptr_t)mem, len));
	if (dontfork_honoured())
		assert_false(child_sees(mem));
	assert_ok(vni_dma_unmap(ctx, mem, len));
	assert_false(fake_locked((uintptr_t)mem, 4096));
	assert_false(fake_dontfork((uintptr_t)mem, len));
	assert_true(child_sees(mem));

	/* hugetlb caller memory (smaps: KernelPageSize 2048 kB): no flag needed */
	huge = vnip_sys.mmap(NULL, 4 << 20, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	assert_true(huge != MAP_FAILED);
	assert_ok(vni_dma_map(ctx, huge, 4 << 20, 0));
	check_vs_pagemap(ctx, huge, 4 << 20);
	/* a range reaching past the hugetlb mapping is not all hugetlb */
	assert_ok(vni_dma_unmap(ctx, huge, 4 << 20));
	assert_err(vni_dma_map(ctx, huge + (2 << 20), 4 << 20, 0), EINVAL);
	assert_int_equal(vni_reason_last(), VNI_REASON_MAY_MOVE);
	/* a big mapping is read in chunks of 8192 entries, not per page */
	{
		const size_t big = 64 << 20;
		char *b = mmap(NULL, big, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

		assert_true(b != MAP_FAILED);
		reads = fake_pagemap_reads();
		assert_ok(vni_dma_map(ctx, b, big, VNI_DMA_MAP_MAY_MOVE));
		assert_int_equal(fake_pagemap_reads() - reads, (big / 4096) / 8192);
		assert_ok(vni_dma_unmap(ctx, b, big));
		munmap(b, big);
	}

	/* the DMA addresses follow the device life cycle like the other
	 * backends: invalid without a device, read again at reopen */
	assert_ok(vni_dma_map(ctx, mem, len, VNI_DMA_MAP_MAY_MOVE));
	assert_ok(vni_device_close(&dev));
	{
		uint64_t d;

		assert_err(vni_dma_addr(ctx, mem, &d), ENODEV);
		assert_int_equal(vni_reason_last(), VNI_REASON_NO_DEVICE);
	}
	assert_true(fake_locked((uintptr_t)mem, len)); /* still mapped: still locked */
	reads = fake_pagemap_reads();
	assert_ok(vni_device_open(ctx, LEG, &dev));
	assert_int_equal(fake_pagemap_reads() - reads, 1);
	check_vs_pagemap(ctx, mem, len);
	assert_ok(vni_device_close(&dev));
	/* destroy unmaps and unlocks what is left */
	assert_ok(vni_ctx_destroy(&ctx));
	assert_false(fake_locked((uintptr_t)mem, 4096));
	vnip_sys.munmap(huge, 4 << 20);
	munmap(mem, len);
}

/* Without CAP_SYS_ADMIN pagemap gives PFN 0: said clearly, nothing left. */
static void test_legacy_no_pfn(void **state)
{
	struct fake_cfg cfg = legacy_cfg();
	struct vni_ctx *ctx = NULL;
	struct vni_device *dev = NULL;
	struct fake_counts before, after;
	void *p = NULL;

	(void)state;
	cfg.cap_sys_admin = false;
	fake_install(&cfg);
	open_legacy(&ctx, &dev);
	fake_counts(&before);
	assert_err(vni_dma_alloc(ctx, 4096, 0, &p), EPERM);
	assert_int_equal(vni_reason_last(), VNI_REASON_PAGEMAP_HIDDEN);
	assert_string_equal(vni_reason_name(vni_reason_last()), "pagemap-hidden");
	assert_non_null(strstr(vni_strerror_last(), "CAP_SYS_ADMIN"));
	assert_null(p);
	fake_counts(&after);
	/* (the heap may hold the context's mapping list now) */
	assert_int_equal(after.fds, before.fds);
	assert_int_equal(after.mmaps, before.mmaps);
	assert_int_equal(after.locked_pages, 0);
	assert_ok(vni_device_close(&dev));
	assert_ok(vni_ctx_destroy(&ctx));
}

/* Close quiesces (Bus Master off) before the device fd and its group go. */
static void test_legacy_quiesce(void **state)
{
	struct vni_ctx *ctx = NULL;
	struct vni_device *dev = NULL;
	const char *log, *bm, *cl, *gc;

	(void)state;
	open_legacy(&ctx, &dev);
	assert_ok(vni_device_set_bus_master(dev, true));
	fake_log_clear();
	assert_ok(vni_device_close(&dev));
	log = fake_log();
	bm = strstr(log, "d3:bmoff");
	cl = strstr(log, "d3:close");
	gc = strstr(log, "g3:close");
	assert_non_null(bm);
	assert_non_null(cl);
	assert_non_null(gc);
	assert_true(bm < cl && cl < gc);
	assert_false(fake_bus_master(3));
	/* the group can be opened again (it was released) */
	assert_ok(vni_device_open(ctx, LEG, &dev));
	assert_ok(vni_device_close(&dev));
	assert_ok(vni_ctx_destroy(&ctx));
}

/* Fault injection: open, alloc, map, close; any failure unwinds fully. */
static void test_legacy_faults(void **state)
{
	long n;
	char *mem = mmap(NULL, 256 << 10, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	(void)state;
	assert_true(mem != MAP_FAILED);
	for (n = 1; n < 2000; n++) {
		struct vni_ctx *ctx = NULL;
		struct vni_device *dev = NULL;
		struct fake_counts c;
		void *p = NULL;
		bool fired;
		int ret;

		assert_ok(vni_ctx_new(&ctx, 0));
		fake_fail_at(n);
		ret = vni_device_open(ctx, LEG, &dev);
		if (ret == 0) {
			ret = vni_dma_alloc(ctx, 4096, 0, &p);
			if (ret == 0)
				ret = vni_dma_map(ctx, mem, 256 << 10, VNI_DMA_MAP_MAY_MOVE);
		}
		fired = fake_fault_fired();
		fake_fail_at(0);
		if (ret < 0) {
			assert_true(fired);
			assert_true(vni_strerror_last()[0]);
			assert_int_equal(vni_errno_last(), -ret);
		}
		if (dev) {
			/* what succeeded is usable */
			if (p)
				check_vs_pagemap(ctx, p, 2 << 20);
			assert_ok(vni_device_close(&dev));
		}
		assert_ok(vni_ctx_destroy(&ctx));
		fake_counts(&c);
		if (c.fds || c.mmaps || c.heap || c.locked_pages)
			fail_msg("after fault %ld: fds %ld mmaps %ld heap %ld locked %ld", n,
				 c.fds, c.mmaps, c.heap, c.locked_pages);
		if (ret == 0 && !fired)
			break;
	}
	print_message("legacy: %ld injected failures unwound cleanly\n", n - 1);
	assert_true(n > 15);
	munmap(mem, 256 << 10);
}

/* The group is a single-open file: a second context (another process, to
 * the kernel) asking for it while the first holds it gets EBUSY, told why. */
static void test_legacy_group_busy(void **state)
{
	struct vni_ctx *ctx, *ctx2;
	struct vni_device *dev, *dev2 = NULL;

	(void)state;
	open_legacy(&ctx, &dev);
	assert_ok(vni_ctx_new(&ctx2, 0));
	assert_err(vni_device_open(ctx2, LEG, &dev2), EBUSY);
	assert_int_equal(vni_reason_last(), VNI_REASON_IN_USE);
	assert_null(dev2);
	assert_ok(vni_ctx_destroy(&ctx2));
	assert_ok(vni_device_close(&dev));
	assert_ok(vni_ctx_destroy(&ctx));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_legacy_group_busy, legacy_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_legacy_select, legacy_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_legacy_alloc, legacy_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_legacy_map, legacy_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_legacy_no_pfn, legacy_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_legacy_quiesce, legacy_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_legacy_faults, legacy_setup, fake_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
