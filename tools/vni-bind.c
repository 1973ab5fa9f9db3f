/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vni-bind / vni-unbind - hand a PCI device to vfio-pci and back.
 *
 * Built twice: as vni-bind and, with -DVT_UNBIND_DEFAULT=1, as vni-unbind
 * (the same program with --unbind implied).
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "devcheck.h"
#include "netcheck.h"

#ifndef VT_UNBIND_DEFAULT
#define VT_UNBIND_DEFAULT 0
#endif

#define NOIOMMU_PARAM "/module/vfio/parameters/enable_unsafe_noiommu_mode"
#define MAX_CHILDREN 32

struct opts {
	bool unbind;
	bool enable_noiommu;
	bool force;
	bool dry_run;
	bool check_only;
	bool quiet;
	int verbose;
	double wait_s;
	const char *driver; /* unbind: driver to restore (NULL: recorded) */
	char bdf[VNI_PCI_ADDR_STRLEN];
};

static void usage(FILE *f)
{
	fprintf(f,
"Usage: vni-bind [OPTION]... BDF\n"
"       vni-bind --unbind [OPTION]... BDF\n"
"       vni-unbind [OPTION]... BDF\n"
"Bind a PCI device to vfio-pci for a user space driver, or give it back.\n"
"\n"
"Binding sets driver_override to vfio-pci, unbinds the current driver, asks\n"
"the kernel to probe the device again (drivers_probe) and waits for its vfio\n"
"cdev (/dev/vfio/devices/noiommu-vfioN). The previous driver is recorded in\n"
"$VNI_STATE_DIR/BDF (default /run/vfionoiommu) so that unbinding can\n"
"restore it.\n"
"\n"
"Before taking a device from its driver, vni-bind refuses (exit 1) when\n"
"  - a network interface of the device is administratively UP, has an IPv4 or\n"
"    IPv6 address, or carries a route (the default route in particular),\n"
"    as rtnetlink reports it;\n"
"  - a block device of the device (or a partition) is mounted, is active\n"
"    swap, or is held by device-mapper/md;\n"
"  - the device is the firmware's boot display (boot_vga);\n"
"and says which and why. --force binds anyway. Unbinding refuses while a\n"
"process has the device's VFIO node open (the kernel would block until it\n"
"is closed).\n"
"\n"
"Unbinding detaches the device from vfio-pci, clears driver_override and\n"
"restores the recorded driver (\"none\" when it had none: the device stays\n"
"unbound). Without a record the kernel picks a driver (drivers_probe).\n"
"\n"
"Options:\n"
"  -u, --unbind           give the device back instead of binding it\n"
"  -n, --enable-noiommu   write 1 to /sys%s first\n"
"                         (needed once per boot on a machine without IOMMU)\n"
"  -f, --force            bind even when a safety check refuses\n"
"      --check            only run the safety checks: exit 0 when the device\n"
"                         can be taken, 1 when it is in use\n"
"      --dry-run          print what would be done, change nothing\n"
"  -D, --driver=NAME      with --unbind: bind NAME afterwards instead of the\n"
"                         recorded driver (\"none\": leave it unbound)\n"
"  -w, --wait=SECONDS     how long to wait for the vfio node (default 5)\n"
"  -q, --quiet            print errors only\n"
"  -v, --verbose          more detail (each sysfs write)\n"
"  -h, --help             print this help and exit\n"
"  -V, --version          print the version and exit\n"
"\n"
"BDF is DDDD:BB:DD.F or BB:DD.F (find it with vni-list). Needs root.\n"
"\n"
"Output on success: a line \"BDF: bound to vfio-pci (was: DRIVER)\" or\n"
"\"BDF: unbound from vfio-pci, now: DRIVER\", and after binding one line per\n"
"VFIO node: \"cdev PATH\" and/or \"group PATH\".\n"
"\n"
"Exit status: 0 success, 1 failure or refused, 2 usage error.\n"
"\n"
"Examples:\n"
"  vni-bind --enable-noiommu 0000:00:04.0\n"
"  vni-bind --check 0000:03:00.0 && echo free\n"
"  vni-unbind 0000:00:04.0\n",
		NOIOMMU_PARAM);
}

static const struct option long_opts[] = {
	{ "unbind", no_argument, NULL, 'u' },
	{ "enable-noiommu", no_argument, NULL, 'n' },
	{ "force", no_argument, NULL, 'f' },
	{ "check", no_argument, NULL, 'C' },
	{ "dry-run", no_argument, NULL, 'N' },
	{ "driver", required_argument, NULL, 'D' },
	{ "wait", required_argument, NULL, 'w' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

/* ---- helpers ----------------------------------------------------------------- */

static void dev_path(const struct opts *o, const char *attr, char *buf, size_t len)
{
	snprintf(buf, len, "%s/bus/pci/devices/%s%s%s", vt_sysfs(), o->bdf,
		 attr ? "/" : "", attr ? attr : "");
}

static void current_driver(const struct opts *o, char *buf, size_t len)
{
	char path[PATH_MAX];

	dev_path(o, "driver", path, sizeof(path));
	if (vt_readlink_base(path, buf, len) < 0)
		buf[0] = '\0';
}

/* Write a sysfs attribute (or say so with --dry-run). */
static int sysfs_write(const struct opts *o, const char *path, const char *val)
{
	const char *shown = strcmp(val, "\n") == 0 ? "(empty)" : val;
	int ret;

	if (o->dry_run) {
		printf("would write %s to %s\n", shown, path);
		return 0;
	}
	if (o->verbose)
		fprintf(stderr, "%s: writing %s to %s\n", vt_prog(), shown, path);
	ret = vt_write_file(path, val);
	if (ret < 0) {
		vt_err("cannot write %s to %s: %s%s", shown, path, strerror(-ret),
		       ret == -EACCES || ret == -EPERM ? " (run as root)" : "");
	}
	return ret;
}

static const char *state_dir(void)
{
	const char *d = getenv("VNI_STATE_DIR");

	return d && *d ? d : "/run/vfionoiommu";
}

/* State file: "driver=NAME\noverride=VALUE\n" (NAME empty: none). */
static int state_save(const struct opts *o, const char *driver, const char *override)
{
	char path[PATH_MAX];
	FILE *f;

	if (o->dry_run)
		return 0;
	if (mkdir(state_dir(), 0755) < 0 && errno != EEXIST) {
		vt_warn("cannot create %s (%s): vni-unbind will not know the previous driver",
			state_dir(), strerror(errno));
		return -errno;
	}
	snprintf(path, sizeof(path), "%s/%s", state_dir(), o->bdf);
	f = fopen(path, "we");
	if (!f) {
		vt_warn("cannot write %s (%s): vni-unbind will not know the previous driver",
			path, strerror(errno));
		return -errno;
	}
	fprintf(f, "driver=%s\noverride=%s\n", driver, override);
	if (fclose(f) != 0) {
		vt_warn("cannot write %s", path);
		return -EIO;
	}
	return 0;
}

/* 1: found (driver/override filled), 0: no record, <0 error. */
static int state_load(const struct opts *o, char *driver, size_t dlen, char *override,
		      size_t olen)
{
	char path[PATH_MAX], line[256];
	int found = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", state_dir(), o->bdf);
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	driver[0] = override[0] = '\0';
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "driver=", 7) == 0) {
			vt_strlcpy(driver, line + 7, dlen);
			found = 1;
		} else if (strncmp(line, "override=", 9) == 0) {
			vt_strlcpy(override, line + 9, olen);
		}
	}
	fclose(f);
	return found;
}

static void state_remove(const struct opts *o)
{
	char path[PATH_MAX];

	if (o->dry_run)
		return;
	snprintf(path, sizeof(path), "%s/%s", state_dir(), o->bdf);
	unlink(path);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ---- safety checks ------------------------------------------------------------ */

struct refusals {
	size_t n;
	char text[64][NETCHECK_TEXT_LEN + 64];
};

static void refuse(struct refusals *r, const char *fmt, ...) VT_PRINTF(2, 3);
static void refuse(struct refusals *r, const char *fmt, ...)
{
	va_list ap;

	if (r->n >= VT_ARRAY_SIZE(r->text))
		return;
	va_start(ap, fmt);
	vsnprintf(r->text[r->n++], sizeof(r->text[0]), fmt, ap);
	va_end(ap);
}

static void check_net(const struct opts *o, struct refusals *r)
{
	char names[MAX_CHILDREN][DEVCHECK_NAME_LEN];
	size_t n;
	int ret;

	ret = devcheck_children(o->bdf, "net", names, MAX_CHILDREN, &n);
	if (ret < 0) {
		refuse(r, "cannot list the network interfaces of %s: %s", o->bdf,
		       strerror(-ret));
		return;
	}
	if (n > MAX_CHILDREN) {
		refuse(r, "%s has %zu network interfaces, more than this tool checks", o->bdf, n);
		n = MAX_CHILDREN;
	}
	for (size_t i = 0; i < n; i++) {
		struct netcheck_result res;
		char err[256];

		ret = netcheck_ifname(names[i], &res, err, sizeof(err));
		if (ret < 0) {
			refuse(r, "cannot check network interface %s: %s", names[i], err);
			continue;
		}
		if (o->verbose)
			fprintf(stderr, "%s: network interface %s: %s\n", vt_prog(), names[i],
				netcheck_busy(&res) ? "in use" : "idle (down, no address, no route)");
		for (size_t k = 0; k < res.nreasons; k++)
			refuse(r, "%s", res.reasons[k].text);
		if (res.dropped)
			refuse(r, "interface %s: %zu more reasons", names[i], res.dropped);
	}
}

static void check_block(const struct opts *o, struct refusals *r)
{
	char names[MAX_CHILDREN][DEVCHECK_NAME_LEN];
	size_t n;
	int ret;

	ret = devcheck_children(o->bdf, "block", names, MAX_CHILDREN, &n);
	if (ret < 0) {
		refuse(r, "cannot list the block devices of %s: %s", o->bdf, strerror(-ret));
		return;
	}
	if (n > MAX_CHILDREN) {
		refuse(r, "%s has %zu block devices, more than this tool checks", o->bdf, n);
		n = MAX_CHILDREN;
	}
	for (size_t i = 0; i < n; i++) {
		struct devcheck_result res;

		ret = devcheck_block(names[i], NULL, NULL, NULL, &res);
		if (ret < 0) {
			refuse(r, "cannot check block device %s: %s", names[i], strerror(-ret));
			continue;
		}
		if (o->verbose)
			fprintf(stderr, "%s: block device %s (%s): %s\n", vt_prog(), names[i],
				res.devnum, devcheck_busy(&res) ? "in use" : "not in use");
		for (size_t k = 0; k < res.nreasons; k++)
			refuse(r, "%s", res.reasons[k]);
		if (res.dropped)
			refuse(r, "block device %s: %zu more reasons", names[i], res.dropped);
	}
}

static void check_boot_vga(const struct opts *o, struct refusals *r)
{
	char path[PATH_MAX], buf[8];

	dev_path(o, "boot_vga", path, sizeof(path));
	if (vt_read_file(path, buf, sizeof(buf)) > 0 && strcmp(buf, "1") == 0)
		refuse(r, "%s is the boot display (boot_vga is 1): the console on it "
		       "would go dark", o->bdf);
}

/* Run every check; returns the number of refusals (printed). */
static size_t safety_checks(const struct opts *o, bool as_warnings)
{
	struct refusals *r = calloc(1, sizeof(*r));
	size_t n;

	if (!r) {
		vt_err("out of memory");
		return 1;
	}
	check_net(o, r);
	check_block(o, r);
	check_boot_vga(o, r);
	n = r->n;
	if (n) {
		fflush(stdout);
		if (as_warnings)
			fprintf(stderr, "%s: warning: %s is in use; --force given, going on:\n",
				vt_prog(), o->bdf);
		else
			fprintf(stderr, "%s: refusing to take %s from its driver: it is in use:\n",
				vt_prog(), o->bdf);
		for (size_t i = 0; i < n; i++)
			fprintf(stderr, "  - %s\n", r->text[i]);
		if (!as_warnings && !o->check_only)
			fprintf(stderr, "Stop using it first, or pass --force to take it anyway "
				"(whatever uses it stops working).\n");
	}
	free(r);
	return n;
}

/* Is the VFIO node open in some process? Prints the first holder; 1 yes, 0 no. */
static int node_in_use(const char *node)
{
	DIR *proc = opendir("/proc");
	struct dirent *pe;
	int found = 0;

	if (!proc)
		return 0;
	while (!found && (pe = readdir(proc))) {
		char fddir[64], link[PATH_MAX], target[PATH_MAX];
		struct dirent *fe;
		DIR *fds;

		if (pe->d_name[0] < '1' || pe->d_name[0] > '9')
			continue;
		snprintf(fddir, sizeof(fddir), "/proc/%.20s/fd", pe->d_name);
		fds = opendir(fddir);
		if (!fds)
			continue;
		while ((fe = readdir(fds))) {
			ssize_t n;

			if (fe->d_name[0] == '.')
				continue;
			snprintf(link, sizeof(link), "%s/%s", fddir, fe->d_name);
			n = readlink(link, target, sizeof(target) - 1);
			if (n < 0)
				continue;
			target[n] = '\0';
			if (strcmp(target, node) == 0) {
				char comm[64] = "?", cpath[96];

				snprintf(cpath, sizeof(cpath), "/proc/%.20s/comm", pe->d_name);
				vt_read_file(cpath, comm, sizeof(comm));
				vt_err("%s is open in process %s (%s): close it (stop the program) "
				       "before unbinding", node, pe->d_name, comm);
				found = 1;
				break;
			}
		}
		closedir(fds);
	}
	closedir(proc);
	return found;
}

/* Print the VFIO nodes of the device; returns how many exist. */
static int print_nodes(const struct opts *o, bool print)
{
	struct vni_pci_dev_info info;
	struct stat st;
	int found = 0;

	if (vni_pci_get(o->bdf, &info) < 0)
		return 0;
	if (info.has_cdev && stat(info.cdev_path, &st) == 0 && S_ISCHR(st.st_mode)) {
		if (print)
			printf("cdev %s\n", info.cdev_path);
		found++;
	}
	if (info.iommu_group >= 0) {
		char p[64];

		snprintf(p, sizeof(p), "/dev/vfio/%s%d", info.noiommu ? "noiommu-" : "",
			 (int)info.iommu_group);
		if (stat(p, &st) == 0 && S_ISCHR(st.st_mode)) {
			if (print)
				printf("group %s\n", p);
			found++;
		}
	}
	return found;
}

/* ---- bind ------------------------------------------------------------------------ */

static int ensure_noiommu(const struct opts *o, const struct vni_pci_dev_info *info)
{
	char path[PATH_MAX];
	int mode = vni_noiommu_enabled();

	snprintf(path, sizeof(path), "%s%s", vt_sysfs(), NOIOMMU_PARAM);
	if (o->enable_noiommu) {
		if (mode == 1)
			return 0;
		if (mode == -ENOENT) {
			vt_err("%s does not exist: the kernel has no VFIO no-IOMMU support "
			       "(CONFIG_VFIO_NOIOMMU) or vfio is not loaded (modprobe vfio); "
			       "use Linux >= 7.3, or on Debian 12's 6.12 kernel the "
			       "vfionoiommu-dkms package", path);
			return -ENOENT;
		}
		if (sysfs_write(o, path, "1") < 0)
			return -EIO;
		if (!o->quiet && !o->dry_run)
			printf("no-IOMMU mode enabled (the kernel is tainted once a no-IOMMU "
			       "device is used)\n");
		return 0;
	}
	if (mode == 1)
		return 0;
	if (info->iommu_group >= 0) {
		if (!o->quiet)
			vt_warn("%s is behind an IOMMU (group %d): vfio-pci binds it as an "
				"ordinary VFIO device; libvfionoiommu drives only no-IOMMU devices",
				o->bdf, (int)info->iommu_group);
		return 0;
	}
	if (mode == 0)
		vt_err("no-IOMMU mode is disabled and %s has no IOMMU: vfio-pci would refuse "
		       "it. Pass --enable-noiommu (or write 1 to %s)", o->bdf, path);
	else
		vt_err("%s has no IOMMU and the kernel has no VFIO no-IOMMU mode (%s): "
		       "build it with CONFIG_VFIO_NOIOMMU=y or load vfio", o->bdf,
		       vni_strerror_last());
	return -EOPNOTSUPP;
}

static int do_bind(const struct opts *o)
{
	struct vni_pci_dev_info info;
	char path[PATH_MAX], override[128] = "", drv[128];
	int ret;

	ret = vni_pci_get(o->bdf, &info);
	if (ret < 0)
		return vt_lib_err(ret, "%s", o->bdf);

	if (strcmp(info.driver, "vfio-pci") == 0 && !o->check_only) {
		if (o->enable_noiommu && ensure_noiommu(o, &info) < 0)
			return VT_EXIT_FAIL;
		if (!o->quiet)
			printf("%s: already bound to vfio-pci\n", o->bdf);
		if (!o->dry_run)
			print_nodes(o, !o->quiet);
		return VT_EXIT_OK;
	}

	if (safety_checks(o, o->force && !o->check_only) && (!o->force || o->check_only))
		return VT_EXIT_FAIL;
	if (o->check_only) {
		if (!o->quiet)
			printf("%s: not in use (driver: %s): it can be bound\n", o->bdf,
			       info.driver[0] ? info.driver : "none");
		return VT_EXIT_OK;
	}

	snprintf(path, sizeof(path), "%s/bus/pci/drivers/vfio-pci", vt_sysfs());
	if (access(path, F_OK) != 0) {
		vt_err("the vfio-pci driver is not loaded (%s missing): modprobe vfio-pci, "
		       "or use a kernel with CONFIG_VFIO_PCI=y", path);
		return VT_EXIT_FAIL;
	}
	if (ensure_noiommu(o, &info) < 0)
		return VT_EXIT_FAIL;

	dev_path(o, "driver_override", path, sizeof(path));
	if (vt_read_file(path, override, sizeof(override)) < 0 ||
	    strcmp(override, "(null)") == 0)
		override[0] = '\0';
	state_save(o, info.driver, strcmp(override, "vfio-pci") == 0 ? "" : override);

	if (sysfs_write(o, path, "vfio-pci") < 0)
		return VT_EXIT_FAIL;
	if (info.driver[0]) {
		dev_path(o, "driver/unbind", path, sizeof(path));
		if (sysfs_write(o, path, o->bdf) < 0)
			goto rollback;
	}
	snprintf(path, sizeof(path), "%s/bus/pci/drivers_probe", vt_sysfs());
	/* -EINVAL/-ENODEV from drivers_probe: no driver accepted the device;
	 * the check below says so with a better message. */
	ret = sysfs_write(o, path, o->bdf);
	if (ret < 0 && ret != -EINVAL && ret != -ENODEV)
		goto rollback;
	if (o->dry_run)
		return VT_EXIT_OK;

	current_driver(o, drv, sizeof(drv));
	if (strcmp(drv, "vfio-pci") != 0) {
		vt_err("vfio-pci did not take %s (now bound to: %s); the kernel log (dmesg) "
		       "says why. Without an IOMMU this means no-IOMMU mode is off "
		       "(--enable-noiommu)", o->bdf, drv[0] ? drv : "nothing");
		goto rollback;
	}
	if (!o->quiet)
		printf("%s: bound to vfio-pci (was: %s)\n", o->bdf,
		       info.driver[0] ? info.driver : "none");

	/*
	 * The sysfs entries exist once drivers_probe returns; devtmpfs creates
	 * the /dev nodes asynchronously: wait for the cdev node when sysfs
	 * announces one, else for any VFIO node.
	 */
	for (long waited = 0; ; waited += 100) {
		struct vni_pci_dev_info now;
		struct stat st;

		if (vni_pci_get(o->bdf, &now) == 0) {
			if (now.cdev_name[0] ? stat(now.cdev_path, &st) == 0 :
			    print_nodes(o, false) > 0)
				break;
		}
		if (waited >= (long)(o->wait_s * 1000))
			break;
		sleep_ms(100);
	}
	if (print_nodes(o, !o->quiet) == 0) {
		vt_warn("%s is bound to vfio-pci but no VFIO node appeared in /dev within %.1f s "
			"(is devtmpfs mounted on /dev?)", o->bdf, o->wait_s);
	} else {
		struct vni_pci_dev_info now;
		struct stat st;

		if (vni_pci_get(o->bdf, &now) == 0 && !now.cdev_name[0])
			vt_warn("%s has no vfio cdev: the kernel lacks no-IOMMU cdev support "
				"(CONFIG_VFIO_DEVICE_CDEV plus Linux 7.3 or the 6.12 series); "
				"libvfionoiommu needs it", o->bdf);
		else if (stat(now.cdev_path, &st) != 0)
			vt_warn("sysfs lists the vfio cdev %s of %s but %s did not appear within "
				"%.1f s (is devtmpfs mounted on /dev?)", now.cdev_name, o->bdf,
				now.cdev_path, o->wait_s);
	}
	return VT_EXIT_OK;

rollback:
	vt_err("undoing: clearing driver_override and giving %s back to %s", o->bdf,
	       info.driver[0] ? info.driver : "no driver");
	dev_path(o, "driver", path, sizeof(path));
	if (access(path, F_OK) == 0) {
		current_driver(o, drv, sizeof(drv));
		if (strcmp(drv, info.driver) != 0) {
			dev_path(o, "driver/unbind", path, sizeof(path));
			sysfs_write(o, path, o->bdf);
		}
	}
	dev_path(o, "driver_override", path, sizeof(path));
	sysfs_write(o, path, override[0] ? override : "\n");
	if (info.driver[0]) {
		current_driver(o, drv, sizeof(drv));
		if (!drv[0]) {
			snprintf(path, sizeof(path), "%s/bus/pci/drivers/%s/bind", vt_sysfs(),
				 info.driver);
			sysfs_write(o, path, o->bdf);
		}
	}
	state_remove(o);
	return VT_EXIT_FAIL;
}

/* ---- unbind ------------------------------------------------------------------------ */

static int do_unbind(const struct opts *o)
{
	struct vni_pci_dev_info info;
	char path[PATH_MAX], prev[128] = "", prev_override[128] = "", drv[128];
	int have_state;
	int ret;

	ret = vni_pci_get(o->bdf, &info);
	if (ret < 0)
		return vt_lib_err(ret, "%s", o->bdf);

	have_state = state_load(o, prev, sizeof(prev), prev_override, sizeof(prev_override));
	if (have_state < 0) {
		vt_warn("cannot read the record of %s in %s: %s", o->bdf, state_dir(),
			strerror(-have_state));
		have_state = 0;
	}
	if (o->driver) {
		snprintf(prev, sizeof(prev), "%s", strcmp(o->driver, "none") == 0 ? "" : o->driver);
		have_state = 1;
	}

	if (strcmp(info.driver, "vfio-pci") != 0) {
		char ov[128] = "";

		/* not ours; only tidy up a driver_override we may have left */
		dev_path(o, "driver_override", path, sizeof(path));
		if (vt_read_file(path, ov, sizeof(ov)) > 0 && strcmp(ov, "vfio-pci") == 0)
			sysfs_write(o, path, prev_override[0] ? prev_override : "\n");
		state_remove(o);
		if (!o->quiet)
			printf("%s: not bound to vfio-pci (driver: %s): nothing to do\n", o->bdf,
			       info.driver[0] ? info.driver : "none");
		return VT_EXIT_OK;
	}

	if (!o->force) {
		bool busy = false;

		if (info.has_cdev && node_in_use(info.cdev_path))
			busy = true;
		if (info.iommu_group >= 0) {
			char p[64];

			snprintf(p, sizeof(p), "/dev/vfio/%s%d", info.noiommu ? "noiommu-" : "",
				 (int)info.iommu_group);
			if (node_in_use(p))
				busy = true;
		}
		if (busy) {
			fprintf(stderr, "Unbinding now would block until the device is closed; "
				"--force tries anyway.\n");
			return VT_EXIT_FAIL;
		}
	}

	dev_path(o, "driver/unbind", path, sizeof(path));
	if (sysfs_write(o, path, o->bdf) < 0)
		return VT_EXIT_FAIL;
	dev_path(o, "driver_override", path, sizeof(path));
	if (sysfs_write(o, path, prev_override[0] ? prev_override : "\n") < 0)
		return VT_EXIT_FAIL;

	if (have_state && !prev[0]) {
		/* it had no driver before: leave it unbound */
	} else {
		snprintf(path, sizeof(path), "%s/bus/pci/drivers_probe", vt_sysfs());
		ret = sysfs_write(o, path, o->bdf);
		if (ret < 0 && ret != -EINVAL && ret != -ENODEV)
			return VT_EXIT_FAIL;
		if (!o->dry_run && have_state) {
			current_driver(o, drv, sizeof(drv));
			if (strcmp(drv, prev) != 0) {
				if (drv[0]) {
					dev_path(o, "driver/unbind", path, sizeof(path));
					sysfs_write(o, path, o->bdf);
				}
				snprintf(path, sizeof(path), "%s/bus/pci/drivers/%s/bind",
					 vt_sysfs(), prev);
				if (sysfs_write(o, path, o->bdf) < 0)
					vt_warn("could not give %s back to %s", o->bdf, prev);
			}
		}
	}
	state_remove(o);
	if (o->dry_run)
		return VT_EXIT_OK;
	current_driver(o, drv, sizeof(drv));
	if (!o->quiet)
		printf("%s: unbound from vfio-pci, now: %s\n", o->bdf, drv[0] ? drv : "none");
	if (have_state && strcmp(drv, prev) != 0) {
		vt_err("%s should be back on %s but is bound to %s", o->bdf,
		       prev[0] ? prev : "no driver", drv[0] ? drv : "nothing");
		return VT_EXIT_FAIL;
	}
	return VT_EXIT_OK;
}

int main(int argc, char **argv)
{
	struct opts o;
	int c;

	memset(&o, 0, sizeof(o));
	o.unbind = VT_UNBIND_DEFAULT;
	o.wait_s = 5;
	vt_set_prog(argv[0], VT_UNBIND_DEFAULT ? "vni-unbind" : "vni-bind");
	while ((c = getopt_long(argc, argv, "unfD:w:qvhV", long_opts, NULL)) != -1) {
		switch (c) {
		case 'u':
			o.unbind = true;
			break;
		case 'n':
			o.enable_noiommu = true;
			break;
		case 'f':
			o.force = true;
			break;
		case 'C':
			o.check_only = true;
			break;
		case 'N':
			o.dry_run = true;
			break;
		case 'D':
			if (!*optarg || strchr(optarg, '/'))
				return vt_usage_err("--driver: \"%s\" is not a driver name", optarg);
			o.driver = optarg;
			break;
		case 'w': {
			char *end;

			o.wait_s = strtod(optarg, &end);
			if (end == optarg || *end || o.wait_s < 0 || o.wait_s > 3600)
				return vt_usage_err("--wait: \"%s\" is not a number of seconds "
						    "(0..3600)", optarg);
			break;
		}
		case 'q':
			o.quiet = true;
			break;
		case 'v':
			o.verbose++;
			break;
		case 'h':
			usage(stdout);
			return VT_EXIT_OK;
		case 'V':
			return vt_version();
		default:
			return vt_try_help();
		}
	}
	if (optind >= argc)
		return vt_usage_err("missing BDF (the PCI address, e.g. 0000:00:04.0; "
				    "vni-list shows them)");
	if (optind + 1 < argc)
		return vt_usage_err("one BDF at a time (unexpected \"%s\")", argv[optind + 1]);
	if (vt_parse_bdf(argv[optind], o.bdf, sizeof(o.bdf)) < 0)
		return vt_usage_err("\"%s\" is not a PCI address (DDDD:BB:DD.F or BB:DD.F)",
				    argv[optind]);
	if (o.driver && !o.unbind)
		return vt_usage_err("--driver only goes with --unbind");
	if (o.check_only && o.unbind)
		return vt_usage_err("--check only goes with binding");
	if (o.verbose > 1)
		vt_setup_logging(o.verbose - 1);
	return o.unbind ? do_unbind(&o) : do_bind(&o);
}
