// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * noiommu-getpa-errors [BDF]: every error of IOMMU_IOAS_NOIOMMU_GET_PA, in
 * the order of the ABI:
 *
 *   EPERM       the caller lacks CAP_SYS_RAWIO
 *   EOPNOTSUPP  flags or __reserved not zero
 *   EOVERFLOW   iova does not fit an unsigned long
 *   ENOENT      nothing mapped at iova
 *   EOPNOTSUPP  the IOAS has no noiommu device attached
 *
 * plus ENOENT for an ioas_id that is not an IOAS and EINVAL/E2BIG for a bad
 * size. Each case also carries the faults that come later in the order, so
 * a wrong order shows up as a wrong errno.
 *
 * Length 0 is not an error: it means "no limit" (mainline's uAPI; the
 * round-1 kernel wrongly returned EINVAL). Every case that used to carry a
 * length 0 as an extra fault now checks that it changes nothing: the error
 * is the one of the next fault in the order, and a valid call with length
 * 0 answers like one with length ~0.
 *
 * EOVERFLOW cannot happen on x86_64: iova is a u64 and unsigned long is 64
 * bits wide, so every iova fits. The largest iova gives ENOENT instead.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kt-iommufd.h"
#include "kt-mem.h"
#include "kt-tap.h"

#define IOVA_A 0x40000000ULL
#define IOVA_UNMAPPED 0x90000000ULL
#define BUF_LEN (16 * KT_PAGE)

static int iommufd;

static struct kt_get_pa_arg valid_arg(uint32_t ioas)
{
	struct kt_get_pa_arg a;

	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.ioas_id = ioas;
	a.iova = IOVA_A;
	a.length = KT_PAGE;
	return a;
}

static void expect(struct kt_get_pa_arg a, int want, const char *what)
{
	int ret = kt_get_pa_raw(iommufd, &a);

	kt_check(ret == want, "%s: %s (want %s)", what, kt_errname(ret), kt_errname(want));
}

/* Runs GET_PA in a child without CAP_SYS_RAWIO; returns its errno. */
static int without_rawio(struct kt_get_pa_arg a)
{
	int status, ret;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (!pid) {
		ret = kt_drop_cap_sys_rawio();
		if (ret)
			_exit(100);
		ret = kt_get_pa_raw(iommufd, &a);
		_exit(ret < 0 ? -ret : 0);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -ECHILD;
	if (WEXITSTATUS(status) == 100)
		kt_diag("the child could not drop CAP_SYS_RAWIO");
	return -WEXITSTATUS(status);
}

int main(int argc, char **argv)
{
	struct rlimit unlimited = { RLIM_INFINITY, RLIM_INFINITY };
	const char *bdf = argc > 1 ? argv[1] : "0000:00:04.0";
	struct {
		struct kt_get_pa_arg a;
		uint64_t tail;
	} big;
	uint32_t empty_ioas = 0;
	struct kt_get_pa_arg a, b0;
	struct kt_ctx c;
	struct kt_buf b;
	uint64_t iova, pfn0 = 0;
	int ret, ret2;

	kt_start("noiommu-getpa-errors");
	kt_diag("device %s, GET_PA ABI from the %s", bdf, KT_GET_PA_SOURCE);
	setrlimit(RLIMIT_MEMLOCK, &unlimited);
	if (kt_ctx_open(&c, bdf, true))
		kt_bail("cannot open %s through its noiommu cdev", bdf);
	iommufd = c.iommufd;
	ret = kt_buf_alloc(&b, BUF_LEN, false);
	if (ret)
		kt_bail("buffer: %s", strerror(-ret));
	iova = IOVA_A;
	ret = kt_map(iommufd, c.ioas_id, b.va, b.len, &iova, KT_MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA);
	if (ret)
		kt_bail("map: %s", kt_errname(ret));
	/* A second IOAS with the same memory mapped, but no device. */
	ret = kt_ioas_alloc(iommufd, &empty_ioas);
	if (!ret) {
		iova = IOVA_A;
		ret = kt_map(iommufd, empty_ioas, b.va, b.len, &iova,
			     KT_MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA);
	}
	if (ret)
		kt_bail("second IOAS: %s", kt_errname(ret));
	kt_pfns(b.va, KT_PAGE, &pfn0);

	a = valid_arg(c.ioas_id);
	ret = kt_get_pa_raw(iommufd, &a);
	kt_check(!ret && a.out_phys == pfn0 * KT_PAGE,
		 "a valid call succeeds: PA %#llx (pagemap %#" PRIx64 "), length %llu, %s",
		 (unsigned long long)a.out_phys, pfn0 * KT_PAGE, (unsigned long long)a.length,
		 kt_errname(ret));

	/* 1. EPERM, before anything else. */
	a = valid_arg(c.ioas_id);
	ret = without_rawio(a);
	kt_check(ret == -EPERM, "without CAP_SYS_RAWIO: %s (want EPERM)", kt_errname(ret));
	a.flags = 1;
	a.__reserved = 1;
	a.length = 0;
	a.iova = IOVA_UNMAPPED;
	a.ioas_id = empty_ioas;
	ret = without_rawio(a);
	kt_check(ret == -EPERM, "without CAP_SYS_RAWIO, with flags, __reserved, length 0, "
		 "unmapped iova, IOAS without device: %s (want EPERM)", kt_errname(ret));
	expect(valid_arg(c.ioas_id), 0, "the parent, which kept the capability");

	/* 2. EOPNOTSUPP for flags and __reserved, before ENOENT. */
	a = valid_arg(c.ioas_id);
	a.flags = 1;
	expect(a, -EOPNOTSUPP, "flags = 1");
	a.flags = 1U << 31;
	expect(a, -EOPNOTSUPP, "flags = 1 << 31");
	a = valid_arg(c.ioas_id);
	a.__reserved = 1;
	expect(a, -EOPNOTSUPP, "__reserved = 1");
	a = valid_arg(c.ioas_id);
	a.flags = 2;
	a.length = 0;
	a.iova = IOVA_UNMAPPED;
	expect(a, -EOPNOTSUPP, "flags = 2 with length 0 and an unmapped iova");
	a.flags = 0;
	a.__reserved = 0x80;
	expect(a, -EOPNOTSUPP, "__reserved with length 0 and an unmapped iova");
	a = valid_arg(empty_ioas);
	a.flags = 1;
	expect(a, -EOPNOTSUPP, "flags = 1 on the IOAS without a device");

	/* 3. Length 0 is no limit, not an error: nothing changes in the order. */
	a = valid_arg(c.ioas_id);
	a.length = 0;
	ret = kt_get_pa_raw(iommufd, &a);
	b0 = valid_arg(c.ioas_id);
	b0.length = UINT64_MAX;
	ret2 = kt_get_pa_raw(iommufd, &b0);
	kt_check(!ret && !ret2 && a.out_phys == pfn0 * KT_PAGE && a.out_phys == b0.out_phys &&
		 a.length == b0.length && a.length >= KT_PAGE && a.length <= BUF_LEN,
		 "length 0 succeeds like length ~0: PA %#llx / %#llx (pagemap %#" PRIx64
		 "), length %llu / %llu: %s / %s", (unsigned long long)a.out_phys,
		 (unsigned long long)b0.out_phys, pfn0 * KT_PAGE, (unsigned long long)a.length,
		 (unsigned long long)b0.length, kt_errname(ret), kt_errname(ret2));
	a = valid_arg(c.ioas_id);
	a.length = 0;
	a.iova = IOVA_UNMAPPED;
	expect(a, -ENOENT, "length 0 and an unmapped iova");
	a = valid_arg(empty_ioas);
	a.length = 0;
	expect(a, -EOPNOTSUPP, "length 0 on the IOAS without a device");

	/* 4. EOVERFLOW: impossible on x86_64 (u64 iova, 64-bit unsigned long). */
	a = valid_arg(c.ioas_id);
	a.iova = UINT64_MAX;
	expect(a, -ENOENT, "iova 0xffffffffffffffff (fits an unsigned long here, so no EOVERFLOW)");

	/* 5. ENOENT when nothing is mapped at iova, before the device check. */
	a = valid_arg(c.ioas_id);
	a.iova = IOVA_UNMAPPED;
	expect(a, -ENOENT, "unmapped iova");
	a.iova = IOVA_A - 1;
	expect(a, -ENOENT, "the byte before the mapping");
	a.iova = IOVA_A + BUF_LEN;
	expect(a, -ENOENT, "the byte after the mapping");
	a.iova = 0;
	expect(a, -ENOENT, "iova 0");
	a = valid_arg(empty_ioas);
	a.iova = IOVA_UNMAPPED;
	expect(a, -ENOENT, "unmapped iova on the IOAS without a device");

	/* 6. EOPNOTSUPP when no noiommu device is attached. */
	expect(valid_arg(empty_ioas), -EOPNOTSUPP, "mapped iova on an IOAS without a device");
	ret = kt_detach(c.devfd);
	kt_check(!ret, "detach the device: %s", kt_errname(ret));
	expect(valid_arg(c.ioas_id), -EOPNOTSUPP, "mapped iova on the IOAS after the detach");
	ret = kt_attach(c.devfd, empty_ioas, NULL);
	kt_check(!ret, "attach the device to the second IOAS: %s", kt_errname(ret));
	expect(valid_arg(empty_ioas), 0, "the second IOAS translates now");
	ret = kt_attach(c.devfd, c.ioas_id, NULL);
	kt_check(!ret, "move the device back (replace): %s", kt_errname(ret));
	expect(valid_arg(empty_ioas), -EOPNOTSUPP, "the second IOAS after the device left");
	expect(valid_arg(c.ioas_id), 0, "the first IOAS translates again");
	/*
	 * The detach unpinned the buffer (the second IOAS has no domain when
	 * the device is not there), so the pages may have moved since pfn0
	 * was read: read pagemap again now that they are pinned again.
	 */
	ret = kt_pfns(b.va, KT_PAGE, &pfn0);
	kt_check(!ret, "pagemap read again after the re-pin: PA %#" PRIx64 ", %s",
		 pfn0 * KT_PAGE, kt_errname(ret));

	/* An ioas_id that is not an IOAS of this iommufd. */
	expect(valid_arg(0), -ENOENT, "ioas_id 0");
	expect(valid_arg(empty_ioas + 1000), -ENOENT, "ioas_id that was never allocated");
	expect(valid_arg(c.dev_id), -ENOENT, "ioas_id naming the device object");

	/* Size: too small is EINVAL, larger needs zeroes past the end. */
	a = valid_arg(c.ioas_id);
	a.size = 0;
	expect(a, -EINVAL, "size 0");
	a.size = 4;
	expect(a, -EINVAL, "size 4");
	a.size = 32;
	expect(a, -EINVAL, "size 32 (without out_phys)");
	a.size = 39;
	expect(a, -EINVAL, "size 39");
	memset(&big, 0, sizeof(big));
	big.a = valid_arg(c.ioas_id);
	big.a.size = sizeof(big);
	ret = kt_get_pa_raw(iommufd, &big.a);
	kt_check(!ret && big.a.out_phys == pfn0 * KT_PAGE,
		 "size 48 with zeroes past the end: %s", kt_errname(ret));
	big.a.length = KT_PAGE;
	big.tail = 1;
	ret = kt_get_pa_raw(iommufd, &big.a);
	kt_check(ret == -E2BIG, "size 48 with a non-zero byte past the end: %s (want E2BIG)",
		 kt_errname(ret));

	ret = kt_unmap(iommufd, c.ioas_id, IOVA_A, BUF_LEN);
	kt_check(!ret, "unmap: %s", kt_errname(ret));
	expect(valid_arg(c.ioas_id), -ENOENT, "the iova after the unmap");

	kt_ctx_close(&c);
	kt_buf_free(&b);
	return kt_finish();
}
