/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The UAPI the library is built with (kernel headers + lib/compat): struct
 * layouts and ioctl numbers, bit for bit (the same facts are also
 * _Static_asserted in the header itself).
 */
#include <stddef.h>

#include <errno.h>
#include <sys/mman.h>

#include "util.h"
#include "internal.h"
#include "compat/vni-uapi.h"

static int get_pa(struct vni_ctx *ctx, uint64_t iova, uint64_t length,
		  struct vni_uapi_get_pa *q)
{
	uint32_t ioas;

	assert_ok(vni_ctx_ioas_id(ctx, &ioas));
	memset(q, 0, sizeof(*q));
	q->size = sizeof(*q);
	q->ioas_id = ioas;
	q->iova = iova;
	q->length = length;
	return vnip_ioctl(vni_ctx_iommufd(ctx), VNI_IOCTL_GET_PA, q);
}

/* The simulated kernel follows the mainline GET_PA rules the library
 * relies on: length 0 = no limit (the same run as ~0), a non-zero length
 * caps the answer, only iova must be mapped, EOPNOTSUPP without a noiommu
 * device attached, ENOTTY on a kernel without the ioctl. */
static void test_get_pa_rules(void **state)
{
	struct fake_cfg cfg = fake_default_cfg();
	struct vni_ctx *ctx = NULL;
	struct vni_device *dev = NULL;
	struct vni_uapi_get_pa q0, qmax, q;
	const size_t len = 64 * 4096;
	char *mem;

	(void)state;
	cfg.big_pct = 0;
	cfg.run_max = 6;
	fake_install(&cfg);
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(mem != MAP_FAILED);
	assert_ok(vni_ctx_new(&ctx, 0));
	assert_ok(vni_device_open(ctx, EDU, &dev));
	assert_ok(vni_dma_map(ctx, mem, len, 0));

	assert_ok(get_pa(ctx, (uintptr_t)mem + 100, 0, &q0));
	assert_ok(get_pa(ctx, (uintptr_t)mem + 100, UINT64_MAX, &qmax));
	assert_int_equal(q0.out_phys, qmax.out_phys);
	assert_int_equal(q0.length, qmax.length);
	assert_true(q0.length >= 4096 - 100 && q0.length < len);
	assert_ok(get_pa(ctx, (uintptr_t)mem + 100, 10, &q));
	assert_int_equal(q.out_phys, q0.out_phys);
	assert_int_equal(q.length, 10);
	/* the library's first run of the mapping is the kernel's answer */
	{
		size_t l = 0;

		assert_int_equal(vni_dma_addr_len(ctx, mem + 100, &l), q0.out_phys);
		assert_int_equal(l, q0.length);
	}
	/* the last page: the run ends at the end of the area */
	assert_ok(get_pa(ctx, (uintptr_t)mem + len - 4096, 0, &q));
	assert_int_equal(q.length, 4096);
	assert_int_equal(get_pa(ctx, (uintptr_t)mem + len, 0, &q), -ENOENT);

	/* no noiommu device attached: EOPNOTSUPP (and no pin) */
	assert_ok(vni_device_close(&dev));
	assert_int_equal(get_pa(ctx, (uintptr_t)mem, 0, &q), -EOPNOTSUPP);
	assert_ok(vni_dma_unmap(ctx, mem, len));
	assert_ok(vni_ctx_destroy(&ctx));

	/* a kernel without GET_PA: ENOTTY from the kernel, and vni_dma_map
	 * says the kernel lacks the feature */
	cfg.getpa_supported = false;
	fake_install(&cfg);
	assert_ok(vni_ctx_new(&ctx, 0));
	assert_ok(vni_device_open(ctx, EDU, &dev));
	assert_err(vni_dma_map(ctx, mem, len, 0), ENOSYS);
	assert_int_equal(vni_reason_last(), VNI_REASON_KERNEL_LACKS);
	assert_non_null(strstr(vni_strerror_last(), "lacks the ioctl"));
	assert_ok(vni_device_close(&dev));
	assert_ok(vni_ctx_destroy(&ctx));
	munmap(mem, len);
}

static void test_get_pa_layout(void **state)
{
	(void)state;
	assert_int_equal(sizeof(struct vni_uapi_get_pa), 40);
	assert_int_equal(offsetof(struct vni_uapi_get_pa, size), 0);
	assert_int_equal(offsetof(struct vni_uapi_get_pa, flags), 4);
	assert_int_equal(offsetof(struct vni_uapi_get_pa, ioas_id), 8);
	assert_int_equal(offsetof(struct vni_uapi_get_pa, __reserved), 12);
	assert_int_equal(offsetof(struct vni_uapi_get_pa, iova), 16);
	assert_int_equal(offsetof(struct vni_uapi_get_pa, length), 24);
	assert_int_equal(offsetof(struct vni_uapi_get_pa, out_phys), 32);
	assert_int_equal(_Alignof(struct vni_uapi_get_pa), 8);
	/* _IO(';', 0x95): no size or direction bits, type 0x3b, nr 0x95 */
	assert_int_equal(VNI_IOCTL_GET_PA, 0x3b95);
	assert_int_equal(IOMMU_IOAS_NOIOMMU_GET_PA, 0x3b95);
	print_message("GET_PA from %s\n", VNI_UAPI_GET_PA_SOURCE);
}

static void test_iommufd_layouts(void **state)
{
	(void)state;
	assert_int_equal(sizeof(struct iommu_ioas_alloc), 12);
	assert_int_equal(offsetof(struct iommu_ioas_alloc, out_ioas_id), 8);
	assert_int_equal(sizeof(struct iommu_destroy), 8);
	assert_int_equal(sizeof(struct iommu_ioas_map), 40);
	assert_int_equal(offsetof(struct iommu_ioas_map, ioas_id), 8);
	assert_int_equal(offsetof(struct iommu_ioas_map, user_va), 16);
	assert_int_equal(offsetof(struct iommu_ioas_map, length), 24);
	assert_int_equal(offsetof(struct iommu_ioas_map, iova), 32);
	assert_int_equal(sizeof(struct iommu_ioas_unmap), 24);
	assert_int_equal(offsetof(struct iommu_ioas_unmap, iova), 8);
	assert_int_equal(offsetof(struct iommu_ioas_unmap, length), 16);
	assert_int_equal(IOMMU_IOAS_MAP_FIXED_IOVA, 1);
	assert_int_equal(IOMMU_IOAS_MAP_WRITEABLE, 2);
	assert_int_equal(IOMMU_IOAS_MAP_READABLE, 4);
	assert_int_equal(IOMMU_DESTROY, 0x3b80);
	assert_int_equal(IOMMU_IOAS_ALLOC, 0x3b81);
	assert_int_equal(IOMMU_IOAS_MAP, 0x3b85);
	assert_int_equal(IOMMU_IOAS_UNMAP, 0x3b86);
}

static void test_vfio_layouts(void **state)
{
	(void)state;
	assert_int_equal(sizeof(struct vfio_device_bind_iommufd), 16);
	assert_int_equal(offsetof(struct vfio_device_bind_iommufd, iommufd), 8);
	assert_int_equal(offsetof(struct vfio_device_bind_iommufd, out_devid), 12);
	assert_int_equal(sizeof(struct vfio_device_attach_iommufd_pt), 12);
	assert_int_equal(offsetof(struct vfio_device_attach_iommufd_pt, pt_id), 8);
	assert_int_equal(sizeof(struct vfio_device_detach_iommufd_pt), 8);
	assert_int_equal(VFIO_DEVICE_BIND_IOMMUFD, 0x3b76);
	assert_int_equal(VFIO_DEVICE_ATTACH_IOMMUFD_PT, 0x3b77);
	assert_int_equal(VFIO_DEVICE_DETACH_IOMMUFD_PT, 0x3b78);
	assert_int_equal(VFIO_DEVICE_FLAGS_CDEV, 1 << 9);
	/* public enums mirror the VFIO numbers */
	assert_int_equal(VNI_REGION_CONFIG, VFIO_PCI_CONFIG_REGION_INDEX);
	assert_int_equal(VNI_REGION_VGA, VFIO_PCI_VGA_REGION_INDEX);
	assert_int_equal(VNI_IRQ_INTX, VFIO_PCI_INTX_IRQ_INDEX);
	assert_int_equal(VNI_IRQ_MSI, VFIO_PCI_MSI_IRQ_INDEX);
	assert_int_equal(VNI_IRQ_MSIX, VFIO_PCI_MSIX_IRQ_INDEX);
	assert_int_equal(VNI_REGION_MMAP, VFIO_REGION_INFO_FLAG_MMAP);
	assert_int_equal(VNI_IRQ_INFO_AUTOMASKED, VFIO_IRQ_INFO_AUTOMASKED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_pa_layout),
		cmocka_unit_test(test_iommufd_layouts),
		cmocka_unit_test(test_vfio_layouts),
		cmocka_unit_test_setup_teardown(test_get_pa_rules, fake_setup, fake_teardown),
	};

	return cmocka_run_group_tests_name("compat", tests, NULL, NULL);
}
