/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Test-side shim for tools/testing/selftests/iommu as shipped in Debian's
 * linux-source-6.12 (6.12.117): the selftests were updated for names that
 * only later kernels' headers have. Force-included (-include) by
 * scripts/build-kernel.sh when it builds the selftests; the kernel tree is
 * never modified.
 *
 * Values follow mainline, so the selftests exercise the mainline ABI: a
 * 6.12 kernel, which lacks it, fails those few cases (on the vanilla and
 * the patched kernel alike, which is what the comparison needs).
 *
 * build-kernel.sh passes -DVNI_HAVE_<name> for every name the tree already
 * provides, so the shim stays out of the way of a tree that has them.
 */
#ifndef VNI_IOMMUFD_SELFTEST_SHIM_H
#define VNI_IOMMUFD_SELFTEST_SHIM_H

/* enum iommu_hw_info_type: mainline IOMMU_HW_INFO_TYPE_DEFAULT = 0 */
#ifndef VNI_HAVE_HW_INFO_TYPE_DEFAULT
#define IOMMU_HW_INFO_TYPE_DEFAULT 0
#endif

/* enum iommufd_hw_info_flags: mainline IOMMU_HW_INFO_FLAG_INPUT_TYPE = 1 << 0 */
#ifndef VNI_HAVE_HW_INFO_FLAG_INPUT_TYPE
#define IOMMU_HW_INFO_FLAG_INPUT_TYPE (1U << 0)
#endif

/*
 * struct iommu_hw_info: mainline turned out_data_type into
 * union { __u32 in_data_type; __u32 out_data_type; }: same offset, so
 * in_data_type names the same member.
 */
#ifndef VNI_HAVE_HW_INFO_IN_DATA_TYPE
#define in_data_type out_data_type
#endif

/* drivers/iommu/iommufd/iommufd_test.h (mainline values) */
#ifndef VNI_HAVE_MOCK_FLAGS_DEVICE_PASID
#define MOCK_FLAGS_DEVICE_PASID (1 << 2)
#endif
#ifndef VNI_HAVE_MOCK_PASID_WIDTH
#define MOCK_PASID_WIDTH 20
#endif

#endif
