/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vni-monitor - follow PCI and VFIO device events (add, remove, bind,
 * unbind) through a libudev monitor until SIGINT or SIGTERM.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <libudev.h>

#include "common.h"

/* The subsystems followed: PCI functions, vfio cdevs, legacy vfio groups. */
static const char *const subsystems[] = { "pci", "vfio-dev", "vfio" };

static void usage(FILE *f)
{
	fprintf(f,
"Usage: %s [OPTION]...\n"
"Follow PCI and VFIO device events until interrupted (SIGINT or SIGTERM).\n"
"\n"
"Prints one line per event of the subsystems pci (PCI functions), vfio-dev\n"
"(vfio device cdevs) and vfio (legacy vfio group nodes):\n"
"\n"
"  SEQNUM ACTION SUBSYSTEM NAME [key=value]...\n"
"\n"
"ACTION is add, remove, bind, unbind, change, move, online or offline. The\n"
"keys: pci= (the PCI address the event is about), id=VENDOR:DEVICE and\n"
"class= (pci events), driver= (the driver bound, \"-\" when none; an unbind\n"
"event has none), dev= (the device node of vfio events).\n"
"\n"
"Once it listens, vni-monitor prints \"%s: listening to SOURCE events\" on\n"
"standard error: events from then on are reported. Standard output is line\n"
"buffered.\n"
"\n"
"Options:\n"
"  -s, --source=SOURCE  kernel: the kernel's uevents, as the kernel sends them\n"
"                       (needs no udev daemon); udev: the events udevd sends\n"
"                       after its rules ran (device nodes exist by then).\n"
"                       Default: udev if udevd runs (/run/udev/control), else\n"
"                       kernel\n"
"  -j, --json           one JSON object per line instead (docs/json.md)\n"
"  -h, --help           print this help and exit\n"
"  -V, --version        print the version and exit\n"
"\n"
"Exit status: 0 success (stopped by SIGINT or SIGTERM), 1 failure, 2 usage\n"
"error.\n"
"\n"
"Example:\n"
"  %s --json | tee events.json\n",
		vt_prog(), vt_prog(), vt_prog());
}

static const struct option long_opts[] = {
	{ "source", required_argument, NULL, 's' },
	{ "json", no_argument, NULL, 'j' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

/* What one event says, NULL for what it does not. */
struct event {
	const char *seqnum;
	const char *action;
	const char *subsystem;
	const char *name;
	const char *devpath;
	char pci[VNI_PCI_ADDR_STRLEN]; /* "" when none */
	char id[16];
	char class_code[8];
	const char *driver;
	char devnode[128];
};

/* A PCI address in the canonical form through the library; -EINVAL if not one. */
static int canon_addr(const char *s, char *buf, size_t len)
{
	struct vni_pci_addr a;
	int ret = vni_pci_addr_parse(s, &a);

	return ret < 0 ? ret : vni_pci_addr_format(&a, buf, len);
}

/*
 * The PCI function an event is about: PCI_SLOT_NAME for pci events, else the
 * last component of the devpath that is a full PCI address
 * (/devices/pci0000:00/0000:00:04.0/vfio-dev/vfio0 -> 0000:00:04.0).
 */
static void event_pci(struct udev_device *d, struct event *e)
{
	const char *slot = udev_device_get_property_value(d, "PCI_SLOT_NAME");
	const char *p = e->devpath;

	e->pci[0] = '\0';
	if (slot && canon_addr(slot, e->pci, sizeof(e->pci)) == 0)
		return;
	while (p && *p) {
		char comp[64];
		size_t n;

		p += strspn(p, "/");
		n = strcspn(p, "/");
		/* only "dddd:bb:dd.f": "pci0000:00" and short forms are not functions */
		if (n == 12 && n < sizeof(comp)) {
			memcpy(comp, p, n);
			comp[n] = '\0';
			if (canon_addr(comp, comp, sizeof(comp)) == 0)
				vt_strlcpy(e->pci, comp, sizeof(e->pci));
		}
		p += n;
	}
}

static void event_fill(struct udev_device *d, struct event *e)
{
	const char *v;

	memset(e, 0, sizeof(*e));
	e->seqnum = udev_device_get_property_value(d, "SEQNUM");
	e->action = udev_device_get_action(d);
	e->subsystem = udev_device_get_subsystem(d);
	e->name = udev_device_get_sysname(d);
	e->devpath = udev_device_get_devpath(d);
	e->driver = udev_device_get_property_value(d, "DRIVER");
	event_pci(d, e);
	v = udev_device_get_property_value(d, "PCI_ID");
	if (v) {
		/* "1234:11E8" -> "1234:11e8", as vni-list prints IDs */
		size_t i;

		for (i = 0; v[i] && i + 1 < sizeof(e->id); i++)
			e->id[i] = (char)(v[i] >= 'A' && v[i] <= 'F' ? v[i] - 'A' + 'a' : v[i]);
		e->id[i] = '\0';
	}
	v = udev_device_get_property_value(d, "PCI_CLASS");
	if (v && *v) {
		/* hexadecimal without leading zeros: "FF00", "10802" */
		char *end;
		unsigned long long cls = strtoull(v, &end, 16);

		if (*end == '\0' && cls <= 0xffffff)
			snprintf(e->class_code, sizeof(e->class_code), "%06llx", cls);
	}
	v = udev_device_get_property_value(d, "DEVNAME");
	if (v)
		snprintf(e->devnode, sizeof(e->devnode), "%s%s", v[0] == '/' ? "" : "/dev/", v);
}

static void print_text(const struct event *e)
{
	printf("%s %s %s %s", e->seqnum ? e->seqnum : "-", e->action ? e->action : "-",
	       e->subsystem, e->name ? e->name : "-");
	if (e->pci[0])
		printf(" pci=%s", e->pci);
	if (e->id[0])
		printf(" id=%s", e->id);
	if (e->class_code[0])
		printf(" class=%s", e->class_code);
	if (strcmp(e->subsystem, "pci") == 0)
		printf(" driver=%s", e->driver ? e->driver : "-");
	if (e->devnode[0])
		printf(" dev=%s", e->devnode);
	printf("\n");
}

static void print_json(const struct event *e)
{
	struct vt_json j;
	uint64_t seq;

	vt_json_init(&j, stdout);
	vt_json_begin_object(&j);
	vt_json_key(&j, "seqnum");
	if (e->seqnum && vt_parse_u64(e->seqnum, UINT64_MAX, &seq) == 0)
		vt_json_u64(&j, seq);
	else
		vt_json_null(&j);
	vt_json_kv_string(&j, "action", e->action);
	vt_json_kv_string(&j, "subsystem", e->subsystem);
	vt_json_kv_string(&j, "name", e->name);
	vt_json_kv_string(&j, "devpath", e->devpath);
	vt_json_kv_string(&j, "pci", e->pci[0] ? e->pci : NULL);
	vt_json_kv_string(&j, "id", e->id[0] ? e->id : NULL);
	vt_json_kv_string(&j, "class", e->class_code[0] ? e->class_code : NULL);
	vt_json_kv_string(&j, "driver", e->driver);
	vt_json_kv_string(&j, "devnode", e->devnode[0] ? e->devnode : NULL);
	vt_json_end(&j);
}

static bool followed(const char *subsystem)
{
	for (size_t i = 0; subsystem && i < VT_ARRAY_SIZE(subsystems); i++)
		if (strcmp(subsystem, subsystems[i]) == 0)
			return true;
	return false;
}

int main(int argc, char **argv)
{
	struct udev_monitor *mon = NULL;
	struct udev *udev = NULL;
	const char *source = NULL;
	bool json = false;
	sigset_t sigs;
	int sfd = -1, c, rc = VT_EXIT_FAIL;

	vt_set_prog(argv[0], "vni-monitor");
	while ((c = getopt_long(argc, argv, "s:jhV", long_opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (strcmp(optarg, "kernel") != 0 && strcmp(optarg, "udev") != 0)
				return vt_usage_err("--source: \"%s\" is neither kernel nor udev",
						    optarg);
			source = optarg;
			break;
		case 'j':
			json = true;
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
	if (optind < argc)
		return vt_usage_err("unexpected argument \"%s\"", argv[optind]);
	if (!source)
		source = access("/run/udev/control", F_OK) == 0 ? "udev" : "kernel";
	/* Each event is a line a reader may be waiting for. */
	setvbuf(stdout, NULL, _IOLBF, 0);

	/* SIGINT/SIGTERM arrive on a descriptor polled with the monitor's. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &sigs, NULL) < 0 ||
	    (sfd = signalfd(-1, &sigs, SFD_CLOEXEC)) < 0) {
		vt_err("cannot set up signal handling: %s", strerror(errno));
		return VT_EXIT_FAIL;
	}
	udev = udev_new();
	if (!udev) {
		vt_err("cannot create a libudev context: %s", strerror(errno));
		goto out;
	}
	mon = udev_monitor_new_from_netlink(udev, source);
	if (!mon) {
		vt_err("cannot open a %s event monitor: %s%s", source, strerror(errno),
		       errno == EPERM || errno == EACCES ? " (run as root)" : "");
		goto out;
	}
	for (size_t i = 0; i < VT_ARRAY_SIZE(subsystems); i++) {
		int ret = udev_monitor_filter_add_match_subsystem_devtype(mon, subsystems[i],
									  NULL);

		if (ret < 0) {
			vt_err("cannot filter for %s events: %s", subsystems[i], strerror(-ret));
			goto out;
		}
	}
	{
		int ret = udev_monitor_enable_receiving(mon);

		if (ret < 0) {
			vt_err("cannot listen to %s events: %s%s", source, strerror(-ret),
			       ret == -EPERM ? " (run as root)" : "");
			goto out;
		}
	}
	fprintf(stderr, "%s: listening to %s events\n", vt_prog(), source);

	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = udev_monitor_get_fd(mon), .events = POLLIN },
			{ .fd = sfd, .events = POLLIN },
		};
		struct udev_device *d;
		struct event e;

		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			vt_err("poll: %s", strerror(errno));
			goto out;
		}
		if (pfd[1].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
				fprintf(stderr, "%s: %s: stopping\n", vt_prog(),
					si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
			rc = VT_EXIT_OK;
			break;
		}
		if (pfd[0].revents & (POLLERR | POLLHUP)) {
			vt_err("the event monitor failed");
			goto out;
		}
		if (!(pfd[0].revents & POLLIN))
			continue;
		/* NULL: not a whole message, or one the filter dropped */
		d = udev_monitor_receive_device(mon);
		if (!d)
			continue;
		if (followed(udev_device_get_subsystem(d))) {
			event_fill(d, &e);
			if (json)
				print_json(&e);
			else
				print_text(&e);
		}
		udev_device_unref(d);
		if (ferror(stdout)) {
			vt_err("write error on standard output");
			goto out;
		}
	}
out:
	if (mon)
		udev_monitor_unref(mon);
	if (udev)
		udev_unref(udev);
	if (sfd >= 0)
		close(sfd);
	if (rc == VT_EXIT_OK && (fflush(stdout) != 0 || ferror(stdout))) {
		vt_err("write error on standard output");
		rc = VT_EXIT_FAIL;
	}
	return rc;
}
