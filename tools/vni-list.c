/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vni-list - list PCI devices as VFIO no-IOMMU mode sees them.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

static void usage(FILE *f)
{
	fprintf(f,
"Usage: %s [OPTION]...\n"
"List PCI devices with what VFIO no-IOMMU mode needs to know about them.\n"
"\n"
"The first line says whether no-IOMMU mode is enabled\n"
"(/sys/module/vfio/parameters/enable_unsafe_noiommu_mode). Then one line per\n"
"device, sorted by address:\n"
"\n"
"  BDF        PCI address, DDDD:BB:DD.F\n"
"  ID         VENDOR:DEVICE (hexadecimal, as lspci -n prints them)\n"
"  CLASS      24-bit class code and its base class name\n"
"  DRIVER     bound driver, \"-\" when none\n"
"  IOMMU      \"group:N\" (behind an IOMMU), \"noiommu\" or \"noiommu:N\" (a VFIO\n"
"             no-IOMMU device, N = its legacy group), \"none\" (no group)\n"
"  VFIO-CDEV  the vfio device node a program opens, \"-\" when none\n"
"\n"
"Options:\n"
"  -d, --device=VENDOR[:DEVICE]  only devices with these IDs (hex, as lspci -d;\n"
"                                \"1234:\" or \"1234\" matches the vendor only)\n"
"  -c, --class=CLASS             only this class: 2, 4 or 6 hex digits, e.g.\n"
"                                02 (network), 0108 (NVMe), 010802\n"
"  -s, --slot=BDF                only this address (DDDD:BB:DD.F or BB:DD.F)\n"
"  -k, --driver=NAME             only devices bound to NAME (\"none\": unbound)\n"
"      --vfio                    only devices that have a vfio cdev\n"
"      --noiommu                 only VFIO no-IOMMU devices\n"
"  -j, --json                    print one JSON object instead of the table\n"
"  -b, --bdf-only                print only the addresses, one per line\n"
"  -H, --no-header               omit the mode line and the column titles\n"
"  -v, --verbose                 print the library's log messages on stderr\n"
"  -h, --help                    print this help and exit\n"
"  -V, --version                 print the version and exit\n"
"\n"
"Filters combine (all must match). Discovery reads sysfs only: it works as any\n"
"user and never opens a device.\n"
"\n"
"Exit status: 0 success (also when no device matches), 1 failure, 2 usage error.\n"
"\n"
"Examples:\n"
"  %s -d 1234:11e8          every QEMU edu device\n"
"  %s -c 0108 --json        NVMe controllers, as JSON\n"
"  %s --vfio -b             addresses of the devices bound to VFIO\n",
		vt_prog(), vt_prog(), vt_prog(), vt_prog());
}

enum { OPT_VFIO = 256, OPT_NOIOMMU };

static const struct option long_opts[] = {
	{ "device", required_argument, NULL, 'd' },
	{ "class", required_argument, NULL, 'c' },
	{ "slot", required_argument, NULL, 's' },
	{ "driver", required_argument, NULL, 'k' },
	{ "vfio", no_argument, NULL, OPT_VFIO },
	{ "noiommu", no_argument, NULL, OPT_NOIOMMU },
	{ "json", no_argument, NULL, 'j' },
	{ "bdf-only", no_argument, NULL, 'b' },
	{ "no-header", no_argument, NULL, 'H' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

static const char *mode_name(int mode)
{
	if (mode == 1)
		return "enabled";
	if (mode == 0)
		return "disabled";
	return "unavailable";
}

static void format_iommu(const struct vni_pci_dev_info *d, char *buf, size_t len)
{
	if (d->noiommu && d->iommu_group >= 0)
		snprintf(buf, len, "noiommu:%" PRId32, d->iommu_group);
	else if (d->noiommu)
		snprintf(buf, len, "noiommu");
	else if (d->iommu_group >= 0)
		snprintf(buf, len, "group:%" PRId32, d->iommu_group);
	else
		snprintf(buf, len, "none");
}

static void print_json(int mode, const char *mode_msg,
		       const struct vni_pci_dev_info *list, size_t n)
{
	struct vt_json j;
	char buf[32];

	vt_json_init(&j, stdout);
	vt_json_begin_object(&j);
	vt_json_kv_string(&j, "noiommu_mode", mode_name(mode));
	if (mode < 0)
		vt_json_kv_string(&j, "noiommu_mode_error", mode_msg);
	vt_json_key(&j, "devices");
	vt_json_begin_array(&j);
	for (size_t i = 0; i < n; i++) {
		const struct vni_pci_dev_info *d = &list[i];

		vt_json_begin_object(&j);
		vt_json_kv_string(&j, "bdf", d->bdf);
		snprintf(buf, sizeof(buf), "%04x", d->vendor);
		vt_json_kv_string(&j, "vendor", buf);
		snprintf(buf, sizeof(buf), "%04x", d->device);
		vt_json_kv_string(&j, "device", buf);
		snprintf(buf, sizeof(buf), "%04x", d->subsystem_vendor);
		vt_json_kv_string(&j, "subsystem_vendor", buf);
		snprintf(buf, sizeof(buf), "%04x", d->subsystem_device);
		vt_json_kv_string(&j, "subsystem_device", buf);
		snprintf(buf, sizeof(buf), "%06x", d->class_code);
		vt_json_kv_string(&j, "class", buf);
		vt_json_kv_string(&j, "class_name", vt_pci_class_name(d->class_code));
		vt_json_kv_string(&j, "driver", d->driver[0] ? d->driver : NULL);
		vt_json_key(&j, "iommu_group");
		if (d->iommu_group >= 0)
			vt_json_i64(&j, d->iommu_group);
		else
			vt_json_null(&j);
		vt_json_kv_bool(&j, "noiommu", d->noiommu);
		vt_json_kv_string(&j, "vfio_cdev", d->has_cdev ? d->cdev_path : NULL);
		vt_json_end(&j);
	}
	vt_json_end(&j);
	vt_json_end(&j);
}

static void print_table(int mode, const char *mode_msg, bool header,
			const struct vni_pci_dev_info *list, size_t n)
{
	int wbdf = 12, wdrv = 6, wiommu = 5;
	char iommu[32];

	for (size_t i = 0; i < n; i++) {
		int l = (int)strlen(list[i].bdf); /* wider with a VMD domain */

		if (l > wbdf)
			wbdf = l;
		l = (int)strlen(list[i].driver[0] ? list[i].driver : "-");

		if (l > wdrv)
			wdrv = l;
		format_iommu(&list[i], iommu, sizeof(iommu));
		l = (int)strlen(iommu);
		if (l > wiommu)
			wiommu = l;
	}
	if (header) {
		if (mode < 0)
			printf("no-IOMMU mode: unavailable (%s)\n", mode_msg);
		else
			printf("no-IOMMU mode: %s\n", mode_name(mode));
		printf("%-*s  %-9s  %-6s %-13s  %-*s  %-*s  %-28s  %s\n", wbdf, "BDF", "ID", "CLASS",
		       "", wdrv, "DRIVER", wiommu, "IOMMU", "VFIO-CDEV", "BACKEND");
	}
	for (size_t i = 0; i < n; i++) {
		const struct vni_pci_dev_info *d = &list[i];

		format_iommu(d, iommu, sizeof(iommu));
		/* the backend a context would use (vfio-pci devices only) */
		int be = strcmp(d->driver, "vfio-pci") == 0 ? vni_backend_probe(d->bdf) : 0;

		printf("%-*s  %04x:%04x  %06x %-13s  %-*s  %-*s  %-28s  %s\n", wbdf, d->bdf, d->vendor,
		       d->device, d->class_code, vt_pci_class_name(d->class_code), wdrv,
		       d->driver[0] ? d->driver : "-", wiommu, iommu,
		       d->has_cdev ? d->cdev_path : "-", be > 0 ? vni_backend_name(be) : "-");
	}
}

int main(int argc, char **argv)
{
	struct vni_pci_filter filter;
	struct vni_pci_dev_info *list = NULL;
	bool json = false, bdf_only = false, header = true;
	char mode_msg[256] = "";
	size_t n = 0;
	int verbose = 0, mode, ret, c;

	vt_set_prog(argv[0], "vni-list");
	memset(&filter, 0, sizeof(filter));
	while ((c = getopt_long(argc, argv, "d:c:s:k:jbHvhV", long_opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			if (vni_pci_filter_parse_id(optarg, &filter) < 0)
				return vt_usage_err("--device: \"%s\" is not VENDOR[:DEVICE] "
						    "(hexadecimal, e.g. 1234:11e8)", optarg);
			break;
		case 'c':
			if (vt_parse_class(optarg, &filter.class_code, &filter.class_mask) < 0)
				return vt_usage_err("--class: \"%s\" is not 2, 4 or 6 hexadecimal "
						    "digits (e.g. 02, 0108, 010802)", optarg);
			filter.flags |= VNI_PCI_MATCH_CLASS;
			break;
		case 's':
			if (vni_pci_addr_parse(optarg, &filter.addr) < 0)
				return vt_usage_err("--slot: \"%s\" is not a PCI address "
						    "(DDDD:BB:DD.F or BB:DD.F)", optarg);
			filter.flags |= VNI_PCI_MATCH_ADDR;
			break;
		case 'k':
			filter.driver = strcmp(optarg, "none") == 0 ? "" : optarg;
			filter.flags |= VNI_PCI_MATCH_DRIVER;
			break;
		case OPT_VFIO:
			filter.flags |= VNI_PCI_MATCH_VFIO;
			break;
		case OPT_NOIOMMU:
			filter.flags |= VNI_PCI_MATCH_NOIOMMU;
			break;
		case 'j':
			json = true;
			break;
		case 'b':
			bdf_only = true;
			break;
		case 'H':
			header = false;
			break;
		case 'v':
			verbose++;
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
		return vt_usage_err("unexpected argument \"%s\" (use -s BDF to select "
				    "a device)", argv[optind]);
	if (json && bdf_only)
		return vt_usage_err("--json and --bdf-only exclude each other");
	vt_setup_logging(verbose);

	mode = vni_noiommu_enabled();
	if (mode < 0)
		snprintf(mode_msg, sizeof(mode_msg), "%s", vni_strerror_last());

	ret = vni_pci_scan(&filter, &list, &n);
	if (ret < 0)
		return vt_lib_err(ret, "cannot list PCI devices");

	if (json)
		print_json(mode, mode_msg, list, n);
	else if (bdf_only)
		for (size_t i = 0; i < n; i++)
			printf("%s\n", list[i].bdf);
	else
		print_table(mode, mode_msg, header, list, n);
	vni_pci_list_free(list);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		vt_err("write error on standard output");
		return VT_EXIT_FAIL;
	}
	return VT_EXIT_OK;
}
