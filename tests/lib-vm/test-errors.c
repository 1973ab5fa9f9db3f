/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vni-test-errors: vni_device_open() failures give the documented -errno and
 * a message that says what to do.
 *
 * Starts with 0000:00:04.0 bound to vfio-pci (vni-vm-bind) and 0000:00:05.0
 * unbound.
 *
 *   - malformed address                 -EINVAL
 *   - no such device                    -ENODEV, message names the address
 *   - not bound to vfio-pci (05.0)      -ENXIO, message names vfio-pci and
 *                                       driver_override
 *   - CAP_SYS_RAWIO dropped (child)     -EPERM, message names CAP_SYS_RAWIO;
 *                                       the kernel refuses the cdev as well
 *   - no-IOMMU mode off                 -EOPNOTSUPP, message names
 *                                       enable_unsafe_noiommu_mode
 *     (04.0 bound while the mode was on; and 05.0 bound while it is off).
 *     Then the fix the messages describe: mode on, (re)bind, open works.
 *   - the device in use by another context
 *
 * vni-test-errors unpatched: on a kernel without the series, see unpatched().
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vmtest.h"

static int try_open(const char *bdf)
{
	struct vni_ctx *ctx = NULL;
	struct vni_device *dev = NULL;
	int ret = vni_ctx_new(&ctx, 0);

	if (ret < 0)
		vt_bail("vni_ctx_new");
	ret = vni_device_open(ctx, bdf, &dev);
	if (ret == 0) {
		if (dev == NULL)
			vt_bail("vni_device_open returned 0 and no device");
		vni_device_close(&dev);
	} else if (dev != NULL) {
		vt_ok(false, "vni_device_open failed but set the handle");
	}
	/* A successful destroy does not touch the open's message. */
	vni_ctx_destroy(&ctx);
	return ret;
}

static int drop_cap(unsigned int cap)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	if (syscall(SYS_capget, &hdr, data) < 0)
		return -errno;
	data[cap / 32].effective &= ~(1u << (cap % 32));
	data[cap / 32].permitted &= ~(1u << (cap % 32));
	data[cap / 32].inheritable &= ~(1u << (cap % 32));
	if (syscall(SYS_capset, &hdr, data) < 0)
		return -errno;
	if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
		return -errno;
	return 0;
}

struct child_result {
	int drop;
	int ret;
	int kernel_errno;
	char msg[1024];
};

static void test_no_rawio(const char *bdf)
{
	struct child_result r;
	int pfd[2], st;
	pid_t pid;
	char cdev[128];
	struct vni_pci_dev_info info;

	if (vni_pci_get(bdf, &info) < 0 || !info.has_cdev)
		vt_bail("%s has no cdev", bdf);
	snprintf(cdev, sizeof(cdev), "%s", info.cdev_path);
	if (pipe(pfd) < 0)
		vt_bail("pipe");
	pid = fork();
	if (pid == 0) {
		int fd;

		memset(&r, 0, sizeof(r));
		r.drop = drop_cap(CAP_SYS_RAWIO);
		if (r.drop == 0) {
			r.ret = try_open(bdf);
			snprintf(r.msg, sizeof(r.msg), "%s", vni_strerror_last());
			/* The kernel enforces it too, library or not. */
			fd = open(cdev, O_RDWR | O_CLOEXEC);
			r.kernel_errno = fd < 0 ? errno : 0;
			if (fd >= 0)
				close(fd);
		}
		if (write(pfd[1], &r, sizeof(r)) != sizeof(r))
			_exit(3);
		_exit(0);
	}
	close(pfd[1]);
	memset(&r, 0, sizeof(r));
	if (pid < 0 || read(pfd[0], &r, sizeof(r)) != sizeof(r) || waitpid(pid, &st, 0) < 0)
		vt_bail("child");
	close(pfd[0]);
	vt_ok(r.drop == 0, "child dropped CAP_SYS_RAWIO (%d)", r.drop);
	{
		bool good = r.ret == -EPERM && strstr(r.msg, "CAP_SYS_RAWIO");

		vt_ok(good, "without CAP_SYS_RAWIO: vni_device_open(%s) = %d (%s), want -EPERM "
		      "and a message naming CAP_SYS_RAWIO", bdf, r.ret, strerror(-r.ret));
		vt_diag("  message: \"%s\"", r.msg);
	}
	vt_ok(r.kernel_errno == EPERM, "without CAP_SYS_RAWIO the kernel refuses open(%s): %s",
	      cdev, strerror(r.kernel_errno));
}

static void test_in_use(const char *bdf)
{
	struct vni_ctx *c1 = NULL, *c2 = NULL;
	struct vni_device *d1 = NULL, *d2 = NULL;
	int ret;

	if (vni_ctx_new(&c1, 0) < 0 || vni_ctx_new(&c2, 0) < 0)
		vt_bail("vni_ctx_new");
	if (vni_device_open(c1, bdf, &d1) < 0)
		vt_bail("vni_device_open");
	ret = vni_device_open(c2, bdf, &d2);
	vt_ok(ret < 0 && d2 == NULL, "%s open in another context: second open = %d (%s)", bdf,
	      ret, strerror(-ret));
	vt_diag("  message: \"%s\"", vni_strerror_last());
	if (ret == 0)
		vni_device_close(&d2);
	vt_ok_call(vni_device_close(&d1), "vni_device_close");
	ret = vni_device_open(c2, bdf, &d2);
	vt_ok_call(ret, "after closing it there, the other context can open it");
	if (ret == 0)
		vni_device_close(&d2);
	vni_ctx_destroy(&c1);
	vni_ctx_destroy(&c2);
}

/*
 * On a kernel without the series (flavour 'vanilla'): the device binds and
 * gets a legacy group node, sysfs may even list a vfio-dev entry, but there
 * is no no-IOMMU cdev node. Discovery must not report a cdev that cannot be
 * opened, and vni_device_open() must say the kernel lacks the feature.
 */
static int unpatched(void)
{
	struct vni_pci_dev_info info;
	struct vni_ctx *ctx = NULL;
	char name[64];
	int ret;

	vt_vfio_dev_name(EDU_BDF0, name, sizeof(name));
	vt_diag("%s: sysfs vfio-dev entry '%s'", EDU_BDF0, name);
	ret = vni_pci_get(EDU_BDF0, &info);
	if (ret < 0)
		vt_bail("vni_pci_get");
	vt_diag("discovery: driver '%s' has_cdev %d cdev '%s' noiommu %d group %d", info.driver,
		info.has_cdev, info.cdev_path, info.noiommu, info.iommu_group);
	vt_ok(!info.has_cdev || access(info.cdev_path, F_OK) == 0,
	      "discovery reports no cdev that does not exist (has_cdev %d, '%s' %s)",
	      info.has_cdev, info.cdev_path,
	      info.has_cdev ? (access(info.cdev_path, F_OK) == 0 ? "exists" : "missing") : "-");
	/* the noiommu backend: the kernel lacks it (a distinct errno and reason) */
	if (vni_ctx_new(&ctx, 0) < 0)
		vt_bail("vni_ctx_new: %s", vni_strerror_last());
	vt_ok_call(vni_ctx_set_backend(ctx, VNI_BACKEND_NOIOMMU), "force the noiommu backend");
	{
		struct vni_device *dev = NULL;

		ret = vni_device_open(ctx, EDU_BDF0, &dev);
		vt_ok_err(ret, -ENOSYS, "vni_device_open with the noiommu backend on a kernel "
			  "without no-IOMMU cdev support", "7.3", (const char *)NULL);
		vt_ok(vni_reason_last() == VNI_REASON_KERNEL_LACKS, "reason %s",
		      vni_reason_name(vni_reason_last()));
		if (dev)
			vni_device_close(&dev);
	}
	vni_ctx_destroy(&ctx);
	ret = vni_backend_probe(EDU_BDF0);
	if (access("/sys/module/vfio/parameters/enable_unsafe_noiommu_mode", F_OK) != 0) {
		/* no VFIO_NOIOMMU at all (Debian's stock kernel): no backend either */
		vt_ok(ret == -ENOSYS,
		      "vni_backend_probe(" EDU_BDF0 ") without VFIO_NOIOMMU = %d, reason %s", ret,
		      vni_reason_name(vni_reason_last()));
		return vt_done();
	}
	/* automatically: the legacy group, which this kernel has */
	vt_ok(ret == VNI_BACKEND_LEGACY, "vni_backend_probe(" EDU_BDF0 ") = %s (%d)",
	      vni_backend_name(ret), ret);
	vt_ok_call(try_open(EDU_BDF0), "vni_device_open chooses the legacy backend");
	return vt_done();
}

int main(int argc, char **argv)
{
	char drv[64], name[64];
	int ret;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 2 && strcmp(argv[1], "unpatched") == 0)
		return unpatched();
	if (argc != 1) {
		fprintf(stderr, "usage: %s [unpatched]\n", argv[0]);
		return 2;
	}
	if (vt_driver_of(EDU_BDF0, drv, sizeof(drv)) < 0 || strcmp(drv, "vfio-pci") != 0)
		vt_bail("%s must be bound to vfio-pci (vni-vm-bind) first", EDU_BDF0);
	if (vt_driver_of(EDU_BDF1, drv, sizeof(drv)) < 0 || drv[0])
		vt_bail("%s must be unbound at the start (driver '%s')", EDU_BDF1, drv);

	vt_ok_call(try_open(EDU_BDF0), "baseline: vni_device_open(" EDU_BDF0 ")");

	ret = try_open("00:04");
	vt_ok_err(ret, -EINVAL, "malformed address \"00:04\"", (const char *)NULL);

	ret = try_open("0000:00:1f.7");
	vt_ok_err(ret, -ENODEV, "device 0000:00:1f.7 does not exist", "0000:00:1f.7",
		  (const char *)NULL);

	ret = try_open(EDU_BDF1);
	vt_ok_err(ret, -ENXIO, "device " EDU_BDF1 " not bound to vfio-pci", EDU_BDF1, "vfio-pci",
		  "driver_override", (const char *)NULL);

	test_no_rawio(EDU_BDF0);
	test_in_use(EDU_BDF0);

	/* No-IOMMU mode off, device bound while it was on. */
	ret = vt_set_noiommu(false);
	vt_ok(ret == 0, "wrote 0 to enable_unsafe_noiommu_mode (%d)", ret);
	vt_ok(vni_noiommu_enabled() == 0, "vni_noiommu_enabled() = 0");
	ret = try_open(EDU_BDF0);
	vt_ok_err(ret, -EOPNOTSUPP, "no-IOMMU mode off, " EDU_BDF0 " bound earlier",
		  "enable_unsafe_noiommu_mode", (const char *)NULL);
	vt_ok(vni_reason_last() == VNI_REASON_NOIOMMU_OFF, "reason %s",
	      vni_reason_name(vni_reason_last()));

	/* Binding while the mode is off. */
	ret = vt_bind_vfio(EDU_BDF1);
	vt_driver_of(EDU_BDF1, drv, sizeof(drv));
	vt_vfio_dev_name(EDU_BDF1, name, sizeof(name));
	vt_diag("binding %s to vfio-pci with the mode off: %d (%s), driver '%s', vfio-dev '%s'",
		EDU_BDF1, ret, strerror(-ret), drv, name);
	vt_ok(strncmp(name, "noiommu-", 8) != 0,
	      "no no-IOMMU cdev appears for a device probed with the mode off ('%s')", name);
	ret = try_open(EDU_BDF1);
	vt_ok_err(ret, -EOPNOTSUPP, "no-IOMMU mode off, " EDU_BDF1 " probed with the mode off",
		  "enable_unsafe_noiommu_mode", (const char *)NULL);

	/* Follow the advice: mode on. The device bound earlier works at once. */
	ret = vt_set_noiommu(true);
	vt_ok(ret == 0 && vni_noiommu_enabled() == 1, "wrote 1 to enable_unsafe_noiommu_mode");
	vt_ok_call(try_open(EDU_BDF0), "mode on again: vni_device_open(" EDU_BDF0 ")");

	/* The device probed with the mode off must be probed again. */
	ret = try_open(EDU_BDF1);
	vt_diag("mode on, %s not re-probed yet: vni_device_open = %d (%s): \"%s\"", EDU_BDF1, ret,
		strerror(-ret), vni_strerror_last());
	if (ret == -ENXIO)
		vt_ok_err(ret, -ENXIO, "mode on, probe had failed: not bound, says how to bind",
			  "driver_override", (const char *)NULL);
	if (ret < 0) {
		vt_unbind(EDU_BDF1);
		ret = vt_bind_vfio(EDU_BDF1);
		vt_ok(ret == 0, "re-bound %s to vfio-pci with the mode on (%d)", EDU_BDF1, ret);
		vt_vfio_dev_name(EDU_BDF1, name, sizeof(name));
		vt_ok(strncmp(name, "noiommu-vfio", 12) == 0, "%s now has cdev '%s'", EDU_BDF1, name);
		ret = try_open(EDU_BDF1);
	}
	vt_ok_call(ret, "vni_device_open(" EDU_BDF1 ") after mode on + bind");

	/* Leave 05.0 unbound again, as found. */
	vt_unbind(EDU_BDF1);
	ret = try_open(EDU_BDF1);
	vt_ok_err(ret, -ENXIO, "after unbinding again: not bound", "vfio-pci", (const char *)NULL);
	return vt_done();
}
