/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The UAPI the library is built with (kernel headers + lib/compat): struct
 * layouts and ioctl numbers, bit for bit (the same facts are also
 * _Static_asserted in the header itself).
 */
#include <stddef.h>

#include "util.h"
#include "compat/vni-uapi.h"

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
	};

	return cmocka_run_group_tests_name("compat", tests, NULL, NULL);
}
