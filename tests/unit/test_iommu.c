/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The IOMMU backends (iommufd, type1) against the simulated kernel's IOMMU:
 * selection, IOVAs inside the reported ranges (never in the reserved
 * window) and below the DMA mask, 2 MiB alignment, reuse, one run per
 * mapping, device DMA through the IOMMU lands in the right memory, read-only
 * mappings fault on device writes and stay unchanged, the life cycle across
 * the last close (type1 maps again at the same IOVAs), fault injection.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "util.h"
#include "internal.h"

#define IOM "0000:00:07.0"   /* devs[3]: behind the IOMMU */
#define IOM_DEV 3

enum kind { IOMMUFD, TYPE1 };

static struct fake_cfg iommu_cfg(enum kind k)
{
	struct fake_cfg cfg = fake_default_cfg();

	if (k == TYPE1) {
		/* no vfio cdev, a real IOMMU group: only the type1 path */
		cfg.devs[3].cdev = NULL;
		cfg.devs[3].iommu_group = true;
	}
	return cfg;
}

static void open_iommu(enum kind k, struct vni_ctx **ctx, struct vni_device **dev,
		       unsigned int mask)
{
	struct fake_cfg cfg = iommu_cfg(k);

	fake_install(&cfg);
	assert_ok(vni_ctx_new(ctx, 0));
	if (mask)
		assert_ok(vni_ctx_set_dma_mask(*ctx, mask));
	assert_int_equal(vni_backend_probe(IOM), k == TYPE1 ? VNI_BACKEND_TYPE1 :
			 VNI_BACKEND_IOMMUFD);
	assert_ok(vni_device_open(*ctx, IOM, dev));
	assert_int_equal(vni_ctx_backend(*ctx), k == TYPE1 ? VNI_BACKEND_TYPE1 :
			 VNI_BACKEND_IOMMUFD);
	/* a device behind an IOMMU needs no bus master for setup, but for DMA */
	assert_ok(vni_device_set_bus_master(*dev, true));
}

static bool iova_ok(uint64_t iova, uint64_t len, unsigned int bits)
{
	uint64_t last = iova + len - 1;

	return iova >= 4096 && last > iova && last < (1ull << 48) &&
	       (bits == 64 || last < (1ull << bits)) &&
	       (last < FAKE_IOVA_HOLE_START || iova > FAKE_IOVA_HOLE_LAST);
}

/* Every page of p translates to iova + offset; one segment. */
static uint64_t check_iova(struct vni_ctx *ctx, const char *p, size_t len, unsigned int bits)
{
	struct vni_dma_seg seg;
	size_t n = 0;
	uint64_t base, d;

	assert_ok(vni_dma_addr(ctx, p, &base));
	assert_true(iova_ok(base, len, bits));
	for (size_t off = 0; off < len; off += 4096) {
		assert_ok(vni_dma_addr(ctx, p + off + 7, &d));
		assert_int_equal(d, base + off + 7);
	}
	assert_ok(vni_dma_segments(ctx, p, len, &seg, 1, &n));
	assert_int_equal(n, 1);
	assert_int_equal(seg.dma, base);
	assert_int_equal(seg.len, len);
	return base;
}

static void dma_roundtrip(struct vni_ctx *ctx, char *p, size_t len)
{
	char pat[64], back[64];
	uint64_t iova;

	assert_ok(vni_dma_addr(ctx, p, &iova));
	for (size_t i = 0; i < sizeof(pat); i++)
		pat[i] = (char)(i * 7 + 1);
	/* the device writes through the IOMMU at the IOVA: it lands in p */
	assert_int_equal(fake_dev_dma(IOM_DEV, iova + len - 64, pat, 64, true), 0);
	assert_memory_equal(p + len - 64, pat, 64);
	/* and reads what the CPU wrote */
	memset(p, 0x5a, 64);
	assert_int_equal(fake_dev_dma(IOM_DEV, iova, back, 64, false), 0);
	for (int i = 0; i < 64; i++)
		assert_int_equal((unsigned char)back[i], 0x5a);
}

static void run_dma(enum kind k)
{
	struct vni_ctx *ctx = NULL;
	struct vni_device *dev = NULL, *dev2 = NULL;
	struct vni_dma_mapping_info mi = { .struct_size = sizeof(mi) };
	struct vni_ctx_stats st = { .struct_size = sizeof(st) };
	const size_t len = 1 << 20;
	uint64_t a, b, ro_iova;
	void *buf = NULL, *hb = NULL;
	char *mem, *ro;

	mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ro = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(mem != MAP_FAILED && ro != MAP_FAILED);
	open_iommu(k, &ctx, &dev, 0);
	if (k == IOMMUFD) {
		assert_true(vni_ctx_iommufd(ctx) >= 0);
	} else {
		assert_err(vni_ctx_iommufd(ctx), EOPNOTSUPP);
	}
	assert_err(vni_ctx_set_dma_mask(ctx, 40), EBUSY);

	/* caller memory of 4 KiB pages: no flag needed, one run */
	assert_ok(vni_dma_map(ctx, mem, len, 0));
	a = check_iova(ctx, mem, len, 64);
	assert_ok(vni_dma_lookup(ctx, mem, &mi));
	assert_int_equal(mi.runs, 1);
	dma_roundtrip(ctx, mem, len);
	/* hugepage buffer: 2 MiB aligned IOVA, 2 MiB leaves in the table */
	assert_ok(vni_dma_alloc(ctx, 4 << 20, 0, &hb));
	b = check_iova(ctx, hb, 4 << 20, 64);
	assert_int_equal(b & ((2 << 20) - 1), 0);
	assert_ok(vni_ctx_stats(ctx, &st));
	assert_int_equal(st.leaf_2m, 2);
	assert_int_equal(st.get_pa_calls, 0);
	/* small buffer */
	assert_ok(vni_dma_alloc(ctx, 4096, 0, &buf));
	check_iova(ctx, buf, 4096, 64);

	/* read-only: the device may read, its write faults and changes nothing */
	memset(ro, 0x11, 8192);
	assert_ok(vni_dma_map(ctx, ro, 8192, VNI_DMA_MAP_READONLY));
	assert_ok(vni_dma_lookup(ctx, ro, &mi));
	assert_true(mi.flags & VNI_DMA_MAPPING_READONLY);
	ro_iova = check_iova(ctx, ro, 8192, 64);
	{
		char w[32], r[32];

		memset(w, 0x77, sizeof(w));
		assert_int_equal(fake_dev_dma(IOM_DEV, ro_iova + 100, w, sizeof(w), true),
				 -EFAULT);
		for (int i = 0; i < 8192; i++)
			assert_int_equal((unsigned char)ro[i], 0x11);
		assert_int_equal(fake_dev_dma(IOM_DEV, ro_iova + 100, r, sizeof(r), false), 0);
		assert_int_equal((unsigned char)r[0], 0x11);
	}
	/* unmapped IOVA: fault */
	{
		char x = 0;

		assert_int_equal(fake_dev_dma(IOM_DEV, 0x10, &x, 1, true), -EFAULT);
	}

	/* an IOVA is given again after unmap */
	assert_ok(vni_dma_unmap(ctx, mem, len));
	assert_int_equal(fake_dev_dma(IOM_DEV, a, mem, 8, false), -EFAULT);
	assert_ok(vni_dma_map(ctx, mem, len, 0));
	assert_int_equal(check_iova(ctx, mem, len, 64), a);

	/* a no-IOMMU device does not fit in this context */
	assert_err(vni_device_open(ctx, EDU, &dev2), EXDEV);
	assert_int_equal(vni_reason_last(), VNI_REASON_BACKEND_MISMATCH);
	assert_non_null(strstr(vni_strerror_last(), "needs the noiommu backend"));

	/* last close: addresses invalid; reopen: the same IOVAs, and DMA
	 * through them works again (type1: mapped again by the library) */
	assert_ok(vni_device_close(&dev));
	assert_err(vni_dma_addr(ctx, mem, &b), ENODEV);
	if (k == TYPE1) {
		struct fake_counts c;

		fake_counts(&c);
		assert_int_equal(c.ioas_maps, 0); /* the kernel dropped them */
	}
	assert_ok(vni_device_open(ctx, IOM, &dev));
	assert_ok(vni_device_set_bus_master(dev, true));
	assert_int_equal(check_iova(ctx, mem, len, 64), a);
	assert_int_equal(check_iova(ctx, ro, 8192, 64), ro_iova);
	dma_roundtrip(ctx, mem, len);
	{
		char w = 1;

		assert_int_equal(fake_dev_dma(IOM_DEV, ro_iova, &w, 1, true), -EFAULT);
	}
	assert_ok(vni_device_close(&dev));
	/* destroy releases what is left, device closed or not */
	assert_ok(vni_ctx_destroy(&ctx));
	munmap(mem, len);
	munmap(ro, 8192);
}

static void test_iommufd_dma(void **state)
{
	(void)state;
	run_dma(IOMMUFD);
}

static void test_type1_dma(void **state)
{
	(void)state;
	run_dma(TYPE1);
}

/* The DMA mask and the kernel's ranges bound every IOVA; a full space is
 * -ENOSPC with the mask in the message. */
static void run_mask(enum kind k)
{
	struct vni_ctx *ctx = NULL;
	struct vni_device *dev = NULL;
	const size_t big = 1ull << 30;
	char *m[4];
	int ret;

	for (int i = 0; i < 4; i++) {
		m[i] = mmap(NULL, big, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		assert_true(m[i] != MAP_FAILED);
	}
	assert_ok(vni_ctx_new(&ctx, 0));
	assert_err(vni_ctx_set_dma_mask(ctx, 31), EINVAL);
	assert_err(vni_ctx_set_dma_mask(ctx, 65), EINVAL);
	vni_ctx_destroy(&ctx);
	open_iommu(k, &ctx, &dev, 32);
	/* below 2^32 and outside the window at 0xfee00000: three 1 GiB
	 * mappings fit (2 MiB aligned from 2 MiB), the fourth does not */
	for (int i = 0; i < 3; i++) {
		assert_ok(vni_dma_map(ctx, m[i], big, VNI_DMA_MAP_MAY_MOVE));
		check_iova(ctx, m[i], 4096, 32);
		{
			uint64_t d;

			assert_ok(vni_dma_addr(ctx, m[i] + big - 1, &d));
			assert_true(iova_ok(d & ~4095ull, 4096, 32));
		}
	}
	ret = vni_dma_map(ctx, m[3], big, 0);
	assert_int_equal(ret, -ENOSPC);
	assert_non_null(strstr(vni_strerror_last(), "32-bit DMA mask"));
	/* free one: it fits again, at the freed IOVA */
	{
		uint64_t was, now;

		assert_ok(vni_dma_addr(ctx, m[1], &was));
		assert_ok(vni_dma_unmap(ctx, m[1], big));
		assert_ok(vni_dma_map(ctx, m[3], big, 0));
		assert_ok(vni_dma_addr(ctx, m[3], &now));
		assert_int_equal(now, was);
		assert_ok(vni_dma_unmap(ctx, m[3], big));
	}
	assert_ok(vni_device_close(&dev));
	assert_ok(vni_ctx_destroy(&ctx));
	for (int i = 0; i < 4; i++)
		munmap(m[i], big);
}

static void test_iommufd_mask(void **state)
{
	(void)state;
	run_mask(IOMMUFD);
}

static void test_type1_mask(void **state)
{
	(void)state;
	run_mask(TYPE1);
}

/* A device with both a cdev and a group: iommufd by default, type1 when
 * forced; refusals say why. */
static void test_iommu_select(void **state)
{
	struct fake_cfg cfg = fake_default_cfg();
	struct vni_ctx *ctx = NULL;
	struct vni_device *dev = NULL;

	(void)state;
	cfg.devs[3].iommu_group = true;
	fake_install(&cfg);
	assert_int_equal(vni_backend_probe(IOM), VNI_BACKEND_IOMMUFD);
	setenv("VNI_BACKEND", "type1", 1);
	assert_int_equal(vni_backend_probe(IOM), VNI_BACKEND_TYPE1);
	assert_ok(vni_ctx_new(&ctx, 0));
	assert_ok(vni_device_open(ctx, IOM, &dev));
	assert_int_equal(vni_ctx_backend(ctx), VNI_BACKEND_TYPE1);
	assert_string_equal(vni_backend_name(vni_ctx_backend(ctx)), "type1");
	assert_ok(vni_device_close(&dev));
	assert_ok(vni_ctx_destroy(&ctx));
	/* forced IOMMU backend for a no-IOMMU device */
	assert_ok(vni_ctx_new(&ctx, 0));
	assert_err(vni_device_open(ctx, EDU, &dev), EXDEV);
	assert_int_equal(vni_reason_last(), VNI_REASON_NO_IOMMU);
	assert_ok(vni_ctx_destroy(&ctx));
	unsetenv("VNI_BACKEND");
	/* no /dev/iommu: the kernel lacks iommufd; type1 is used instead */
	cfg.have_iommu = false;
	fake_install(&cfg);
	assert_ok(vni_ctx_set_backend(NULL, 0) == -EINVAL ? 0 : -1);
	assert_ok(vni_ctx_new(&ctx, 0));
	assert_ok(vni_ctx_set_backend(ctx, VNI_BACKEND_IOMMUFD));
	assert_err(vni_device_open(ctx, IOM, &dev), ENOSYS);
	assert_int_equal(vni_reason_last(), VNI_REASON_KERNEL_LACKS);
	assert_ok(vni_ctx_set_backend(ctx, VNI_BACKEND_TYPE1));
	assert_ok(vni_device_open(ctx, IOM, &dev));
	assert_ok(vni_device_close(&dev));
	assert_ok(vni_ctx_destroy(&ctx));
	/* neither cdev nor group: said so */
	cfg = fake_default_cfg();
	cfg.devs[3].cdev = NULL;
	cfg.devs[3].iommu_group = true;
	cfg.no_legacy = true;
	fake_install(&cfg);
	assert_ok(vni_ctx_new(&ctx, 0));
	assert_err(vni_device_open(ctx, IOM, &dev), ENOSYS);
	assert_int_equal(vni_reason_last(), VNI_REASON_KERNEL_LACKS);
	assert_non_null(strstr(vni_strerror_last(), "CONFIG_VFIO_DEVICE_CDEV"));
	assert_ok(vni_ctx_destroy(&ctx));
}

/* A second device joins: the allocator is rebuilt from the ranges the
 * IOAS reports now, around the IOVAs in use; both devices reach both. */
static void test_iommufd_two_devices(void **state)
{
	struct fake_cfg cfg = fake_default_cfg();
	struct vni_ctx *ctx = NULL;
	struct vni_device *d3 = NULL, *d1 = NULL;
	char *a = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *b = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t ia, ib;
	char x[16] = "through dev 1", y[16];

	(void)state;
	assert_true(a != MAP_FAILED && b != MAP_FAILED);
	cfg.devs[1].cdev = "vfio1"; /* 00:05.0 behind the IOMMU too */
	fake_install(&cfg);
	assert_ok(vni_ctx_new(&ctx, 0));
	assert_ok(vni_device_open(ctx, IOM, &d3));
	assert_ok(vni_dma_map(ctx, a, 1 << 20, 0));
	ia = check_iova(ctx, a, 1 << 20, 64);
	assert_ok(vni_device_open(ctx, EDU2, &d1));
	assert_int_equal(vni_ctx_backend(ctx), VNI_BACKEND_IOMMUFD);
	assert_int_equal(check_iova(ctx, a, 1 << 20, 64), ia);
	assert_ok(vni_dma_map(ctx, b, 1 << 20, 0));
	ib = check_iova(ctx, b, 1 << 20, 64);
	assert_true(ib + (1 << 20) <= ia || ia + (1 << 20) <= ib);
	assert_ok(vni_device_set_bus_master(d1, true));
	assert_int_equal(fake_dev_dma(1, ia + 64, x, sizeof(x), true), 0);
	assert_memory_equal(a + 64, x, sizeof(x));
	assert_int_equal(fake_dev_dma(1, ib, y, sizeof(y), false), 0);
	assert_ok(vni_device_close(&d1));
	assert_ok(vni_device_close(&d3));
	assert_ok(vni_ctx_destroy(&ctx));
	munmap(a, 1 << 20);
	munmap(b, 1 << 20);
}

static void run_faults(enum kind k)
{
	long n;
	char *mem = mmap(NULL, 256 << 10, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct fake_cfg cfg = iommu_cfg(k);

	assert_true(mem != MAP_FAILED);
	fake_install(&cfg);
	for (n = 1; n < 3000; n++) {
		struct vni_ctx *ctx = NULL;
		struct vni_device *dev = NULL;
		struct fake_counts c;
		void *p = NULL;
		bool fired;
		int ret;

		assert_ok(vni_ctx_new(&ctx, 0));
		fake_fail_at(n);
		ret = vni_device_open(ctx, IOM, &dev);
		if (ret == 0) {
			ret = vni_dma_alloc(ctx, 4096, 0, &p);
			if (ret == 0)
				ret = vni_dma_map(ctx, mem, 256 << 10, VNI_DMA_MAP_READONLY);
			if (ret == 0) {
				/* last close and reopen (type1 maps again) */
				ret = vni_device_close(&dev);
				if (ret == 0)
					ret = vni_device_open(ctx, IOM, &dev);
			}
		}
		fired = fake_fault_fired();
		fake_fail_at(0);
		if (ret < 0) {
			assert_true(fired);
			assert_int_equal(vni_errno_last(), -ret);
		}
		if (dev) {
			if (p)
				check_iova(ctx, p, 4096, 64);
			assert_ok(vni_device_close(&dev));
		}
		assert_ok(vni_ctx_destroy(&ctx));
		fake_counts(&c);
		if (c.fds || c.mmaps || c.heap || c.ioas_maps)
			fail_msg("after fault %ld: fds %ld mmaps %ld heap %ld ioas_maps %ld", n,
				 c.fds, c.mmaps, c.heap, c.ioas_maps);
		if (ret == 0 && !fired)
			break;
	}
	print_message("%s: %ld injected failures unwound cleanly\n",
		      k == TYPE1 ? "type1" : "iommufd", n - 1);
	assert_true(n > 15);
	munmap(mem, 256 << 10);
}

static void test_iommufd_faults(void **state)
{
	(void)state;
	run_faults(IOMMUFD);
}

static void test_type1_faults(void **state)
{
	(void)state;
	run_faults(TYPE1);
}

/* The IOMMU reports more IOVA ranges than the first buffer holds (the
 * library asks again with the size the kernel gives), none below 4 GiB:
 * IOVAs land in them; a 32-bit DMA mask then has no room at all. */
static void test_iommufd_many_ranges(void **state)
{
	struct fake_cfg cfg = iommu_cfg(IOMMUFD);
	struct vni_ctx *ctx;
	struct vni_device *dev = NULL;
	void *buf;
	uint64_t dma;

	(void)state;
	cfg.iova_split = 12;
	fake_install(&cfg);
	assert_ok(vni_ctx_new(&ctx, 0));
	assert_ok(vni_device_open(ctx, IOM, &dev));
	assert_ok(vni_dma_alloc(ctx, 8192, 0, &buf));
	assert_ok(vni_dma_addr(ctx, buf, &dma));
	assert_true(dma >= (4ull << 30));
	assert_true(((dma - (4ull << 30)) >> 30) % 2 == 0); /* inside a range */
	assert_ok(vni_dma_free(ctx, buf));
	assert_ok(vni_device_close(&dev));
	assert_ok(vni_ctx_destroy(&ctx));

	assert_ok(vni_ctx_new(&ctx, 0));
	assert_ok(vni_ctx_set_dma_mask(ctx, 32));
	assert_err(vni_device_open(ctx, IOM, &dev), ENOSPC);
	assert_non_null(strstr(vni_strerror_last(), "no IOVA range below the 32-bit DMA mask"));
	assert_null(dev);
	assert_ok(vni_ctx_destroy(&ctx));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_iommufd_dma, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_type1_dma, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_iommufd_mask, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_iommufd_many_ranges, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_type1_mask, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_iommu_select, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_iommufd_two_devices, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_iommufd_faults, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_type1_faults, fake_setup, fake_teardown),
	};

	unsetenv("VNI_BACKEND");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
