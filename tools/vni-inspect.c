/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vni-inspect - open a no-IOMMU device through the library and describe it.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define CFG_STD 256
#define CFG_MAX 4096

static void usage(FILE *f)
{
	fprintf(f,
"Usage: %s [OPTION]... BDF\n"
"Open a VFIO no-IOMMU PCI device through libvfionoiommu and describe it.\n"
"\n"
"Prints, in this order:\n"
"  - the device: IDs, class, vfio cdev, iommufd device and IOAS IDs, VFIO flags;\n"
"  - its VFIO regions: index, name, size, flags (read, write, mmap), offset in\n"
"    the device file;\n"
"  - its interrupts: vectors per type (INTx, MSI, MSI-X) and their flags;\n"
"  - the first 64 bytes of config space, as a hex dump and decoded: IDs,\n"
"    command and status registers, class, header type, BARs, subsystem,\n"
"    interrupt pin;\n"
"  - the capability list (and the extended capabilities of PCIe devices).\n"
"Config space is read through VFIO, which virtualizes some fields. With --json\n"
"the same as one JSON object, the dump as a hex string (docs/json.md).\n"
"\n"
"The device must be bound to vfio-pci in no-IOMMU mode (see vni-bind) and the\n"
"caller needs CAP_SYS_RAWIO (root). Opening the device does not change it,\n"
"but while vni-inspect runs nobody else can open it.\n"
"\n"
"Options:\n"
"  -x, --hexdump=N   dump N bytes of config space instead of 64 (up to 4096)\n"
"  -j, --json        print one JSON object instead of text (docs/json.md)\n"
"  -v, --verbose     print the library's log messages on stderr (twice: debug)\n"
"  -h, --help        print this help and exit\n"
"  -V, --version     print the version and exit\n"
"\n"
"Exit status: 0 success, 1 failure (the message says what to do), 2 usage error.\n"
"\n"
"Example:\n"
"  %s 0000:00:04.0\n",
		vt_prog(), vt_prog());
}

static const struct option long_opts[] = {
	{ "hexdump", required_argument, NULL, 'x' },
	{ "json", no_argument, NULL, 'j' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

static const char *region_name(unsigned int index, char *buf, size_t len)
{
	static const char *const names[] = { "BAR0", "BAR1", "BAR2", "BAR3", "BAR4",
					     "BAR5", "ROM", "CONFIG", "VGA" };

	if (index < VT_ARRAY_SIZE(names))
		return names[index];
	snprintf(buf, len, "dev-%u", index);
	return buf;
}

static const char *cap_name(unsigned int id)
{
	static const char *const names[] = {
		[0x01] = "Power Management", [0x02] = "AGP", [0x03] = "VPD",
		[0x04] = "Slot ID", [0x05] = "MSI", [0x06] = "CompactPCI Hot Swap",
		[0x07] = "PCI-X", [0x08] = "HyperTransport", [0x09] = "Vendor Specific",
		[0x0a] = "Debug Port", [0x0b] = "CompactPCI CRC", [0x0c] = "PCI Hot-Plug",
		[0x0d] = "Bridge Subsystem ID", [0x0e] = "AGP 8x", [0x0f] = "Secure Device",
		[0x10] = "PCI Express", [0x11] = "MSI-X", [0x12] = "SATA",
		[0x13] = "Advanced Features", [0x14] = "Enhanced Allocation",
		[0x15] = "Flattening Portal Bridge",
	};

	return id < VT_ARRAY_SIZE(names) && names[id] ? names[id] : "unknown";
}

static const char *ext_cap_name(unsigned int id)
{
	static const char *const names[] = {
		[0x01] = "Advanced Error Reporting", [0x02] = "Virtual Channel",
		[0x03] = "Device Serial Number", [0x04] = "Power Budgeting",
		[0x05] = "Root Complex Link Declaration", [0x06] = "Root Complex Internal Link",
		[0x07] = "Root Complex Event Collector", [0x08] = "Multi-Function VC",
		[0x09] = "Virtual Channel (MFVC)", [0x0a] = "RCRB Header",
		[0x0b] = "Vendor Specific", [0x0c] = "Configuration Access Correlation",
		[0x0d] = "Access Control Services", [0x0e] = "Alternative Routing-ID",
		[0x0f] = "Address Translation Services", [0x10] = "SR-IOV",
		[0x11] = "MR-IOV", [0x12] = "Multicast", [0x13] = "Page Request",
		[0x15] = "Resizable BAR", [0x16] = "Dynamic Power Allocation",
		[0x17] = "TPH Requester", [0x18] = "Latency Tolerance Reporting",
		[0x19] = "Secondary PCI Express", [0x1a] = "PMUX",
		[0x1b] = "PASID", [0x1c] = "LN Requester", [0x1d] = "Downstream Port Containment",
		[0x1e] = "L1 PM Substates", [0x1f] = "Precision Time Measurement",
		[0x23] = "Designated Vendor Specific", [0x25] = "Data Link Feature",
		[0x26] = "Physical Layer 16 GT/s", [0x27] = "Lane Margining",
		[0x2a] = "Physical Layer 32 GT/s",
	};

	return id < VT_ARRAY_SIZE(names) && names[id] ? names[id] : "unknown";
}

static uint16_t rd16(const uint8_t *c, unsigned int off)
{
	return (uint16_t)(c[off] | c[off + 1] << 8);
}

static uint32_t rd32(const uint8_t *c, unsigned int off)
{
	return (uint32_t)c[off] | (uint32_t)c[off + 1] << 8 | (uint32_t)c[off + 2] << 16 |
	       (uint32_t)c[off + 3] << 24;
}

static void hexdump(const uint8_t *c, size_t len)
{
	for (size_t i = 0; i < len; i += 16) {
		printf("  %03zx:", i);
		for (size_t k = i; k < i + 16 && k < len; k++)
			printf(" %02x", c[k]);
		printf("\n");
	}
}

static const char *const vfio_flags[] = { "reset", "pci", "platform", "amba",
					  "ccw", "ap", "fsl-mc", "caps", "cdx" };
static const char *const rflags[] = { "read", "write", "mmap", "caps" };
static const char *const irq_types[] = { "INTx", "MSI", "MSI-X" };
static const char *const iflags[] = { "eventfd", "maskable", "automasked", "noresize" };

static void print_device(struct vni_ctx *ctx, struct vni_device *dev,
			 const struct vni_device_info *di)
{
	uint32_t ioas = 0;
	char flags[128];

	vni_ctx_ioas_id(ctx, &ioas);
	printf("device %s: %04x:%04x, class %06x (%s)\n", vni_device_bdf(dev), di->vendor,
	       di->device, di->class_code, vt_pci_class_name(di->class_code));
	printf("  cdev:       %s\n", di->cdev_path);
	printf("  backend:    %s\n", vni_backend_name(vni_ctx_backend(ctx)));
	if (vni_ctx_iommufd(ctx) >= 0)
		printf("  iommufd:    device object %" PRIu32 " attached to IOAS %" PRIu32 "\n",
		       di->dev_id, ioas);
	printf("  vfio flags: 0x%" PRIx32 " (%s)\n", di->vfio_flags,
	       vt_format_flags(di->vfio_flags, vfio_flags, VT_ARRAY_SIZE(vfio_flags), flags,
			       sizeof(flags)));
}

static void print_regions(struct vni_device *dev, const struct vni_device_info *di)
{

	printf("regions: %" PRIu32 "\n", di->num_regions);
	printf("  %-5s  %-6s  %-18s  %-9s  %-17s  %s\n", "INDEX", "NAME", "SIZE", "", "FLAGS",
	       "OFFSET");
	for (uint32_t i = 0; i < di->num_regions; i++) {
		struct vni_region_info ri = { .struct_size = sizeof(ri) };
		char nbuf[16], sz[32], fl[64];
		int ret = vni_device_region_info(dev, i, &ri);

		if (ret < 0) {
			printf("  %-5" PRIu32 "  %-6s  (unavailable: %s)\n", i,
			       region_name(i, nbuf, sizeof(nbuf)), vni_strerror_last());
			continue;
		}
		if (ri.size == 0) {
			printf("  %-5" PRIu32 "  %-6s  %-18s  %-9s  %-17s  -\n", i,
			       region_name(i, nbuf, sizeof(nbuf)), "0", "(absent)", "-");
			continue;
		}
		printf("  %-5" PRIu32 "  %-6s  0x%-16" PRIx64 "  %-9s  %-17s  0x%" PRIx64 "\n",
		       i, region_name(i, nbuf, sizeof(nbuf)), ri.size,
		       vt_format_size(ri.size, sz, sizeof(sz)),
		       vt_format_flags(ri.flags, rflags, VT_ARRAY_SIZE(rflags), fl, sizeof(fl)),
		       ri.offset);
	}
}

static void print_irqs(struct vni_device *dev)
{
	printf("interrupts:\n");
	for (unsigned int t = VNI_IRQ_INTX; t <= VNI_IRQ_MSIX; t++) {
		struct vni_irq_info ii = { .struct_size = sizeof(ii) };
		char fl[96];

		if (vni_device_irq_info(dev, (enum vni_irq_type)t, &ii) < 0) {
			printf("  %-6s (unavailable: %s)\n", irq_types[t], vni_strerror_last());
			continue;
		}
		printf("  %-6s %3" PRIu32 " vector(s)  %s\n", irq_types[t], ii.count,
		       ii.count ? vt_format_flags(ii.flags, iflags, VT_ARRAY_SIZE(iflags), fl,
						  sizeof(fl))
				: "-");
	}
}

static void print_bars(const uint8_t *c)
{
	for (unsigned int i = 0; i < 6; i++) {
		uint32_t lo = rd32(c, 0x10 + 4 * i);

		if (lo & 1) {
			printf("  BAR%u        I/O ports at 0x%" PRIx32 "\n", i, lo & ~(uint32_t)3);
			continue;
		}
		if (((lo >> 1) & 3) == 2 && i < 5) {
			uint64_t addr = ((uint64_t)rd32(c, 0x10 + 4 * (i + 1)) << 32) |
					(lo & ~(uint32_t)0xf);

			printf("  BAR%u        memory at 0x%" PRIx64 " (64-bit, %s)\n", i, addr,
			       lo & 8 ? "prefetchable" : "non-prefetchable");
			printf("  BAR%u        upper half of BAR%u\n", i + 1, i);
			i++;
			continue;
		}
		if (lo == 0)
			printf("  BAR%u        unused\n", i);
		else
			printf("  BAR%u        memory at 0x%" PRIx32 " (32-bit, %s)\n", i,
			       lo & ~(uint32_t)0xf, lo & 8 ? "prefetchable" : "non-prefetchable");
	}
}

static const char *const cmd_bits[] = {
	"io", "memory", "bus-master", "special-cycles", "mwi", "vga-snoop",
	"parity-error", NULL, "serr", "fast-b2b", "intx-disable" };
static const char *const sts_bits[] = {
	NULL, NULL, NULL, "intx-status", "cap-list", "66mhz", NULL, "fast-b2b",
	"master-parity-error", NULL, NULL, "sig-target-abort", "rcv-target-abort",
	"rcv-master-abort", "sig-system-error", "parity-error" };

static void print_header(const uint8_t *c)
{
	uint16_t cmd = rd16(c, 0x04), sts = rd16(c, 0x06);
	uint8_t htype = c[0x0e];
	char buf[256];

	printf("  vendor      %04x\n", rd16(c, 0x00));
	printf("  device      %04x\n", rd16(c, 0x02));
	printf("  command     0x%04x (%s)\n", cmd,
	       vt_format_flags(cmd, cmd_bits, VT_ARRAY_SIZE(cmd_bits), buf, sizeof(buf)));
	/* status bits 9-10 are DEVSEL timing, not flags */
	printf("  status      0x%04x (%s; devsel %s)\n", sts,
	       vt_format_flags(sts & ~0x0600u, sts_bits, VT_ARRAY_SIZE(sts_bits), buf,
			       sizeof(buf)),
	       ((sts >> 9) & 3) == 0 ? "fast" : ((sts >> 9) & 3) == 1 ? "medium" : "slow");
	printf("  revision    0x%02x\n", c[0x08]);
	printf("  class       %02x%02x%02x (%s, subclass %02x, prog-if %02x)\n", c[0x0b],
	       c[0x0a], c[0x09], vt_pci_class_name((uint32_t)c[0x0b] << 16), c[0x0a], c[0x09]);
	printf("  header type 0x%02x (%s%s)\n", htype,
	       (htype & 0x7f) == 0 ? "normal" : (htype & 0x7f) == 1 ? "PCI bridge" :
	       (htype & 0x7f) == 2 ? "CardBus bridge" : "unknown",
	       htype & 0x80 ? ", multi-function" : "");
	printf("  cache line  %u bytes, latency timer %u, BIST 0x%02x\n", c[0x0c] * 4u,
	       c[0x0d], c[0x0f]);
	if ((htype & 0x7f) != 0) {
		printf("  (not a normal header: BARs and subsystem not decoded)\n");
		return;
	}
	print_bars(c);
	printf("  subsystem   %04x:%04x\n", rd16(c, 0x2c), rd16(c, 0x2e));
	printf("  ROM BAR     0x%08" PRIx32 "%s\n", rd32(c, 0x30),
	       rd32(c, 0x30) & 1 ? " (enabled)" : "");
	printf("  cap pointer 0x%02x\n", c[0x34]);
	printf("  interrupt   line %u, pin %s\n", c[0x3c],
	       c[0x3d] == 0 ? "none" : c[0x3d] == 1 ? "A" : c[0x3d] == 2 ? "B" :
	       c[0x3d] == 3 ? "C" : c[0x3d] == 4 ? "D" : "?");
}

static void print_cap_detail(const uint8_t *c, unsigned int pos, unsigned int id,
			     size_t len)
{
	if (pos + 12 > len)
		return;
	switch (id) {
	case 0x01: {
		uint16_t pmc = rd16(c, pos + 2), pmcsr = rd16(c, pos + 4);

		printf(": version %u, state D%u", pmc & 7u, pmcsr & 3u);
		break;
	}
	case 0x05: {
		uint16_t ctl = rd16(c, pos + 2);

		printf(": %s, %u vector(s) capable", ctl & 1 ? "enabled" : "disabled",
		       1u << ((ctl >> 1) & 7));
		if (ctl & 1)
			printf(", %u in use", 1u << ((ctl >> 4) & 7));
		printf(", %s%s", ctl & 0x80 ? "64-bit" : "32-bit",
		       ctl & 0x100 ? ", per-vector masking" : "");
		break;
	}
	case 0x10: {
		static const char *const types[] = {
			"endpoint", "legacy endpoint", NULL, NULL, "root port",
			"upstream port", "downstream port", "PCIe-to-PCI bridge",
			"PCI-to-PCIe bridge", "root complex integrated endpoint",
			"root complex event collector" };
		uint16_t caps = rd16(c, pos + 2);
		unsigned int t = (caps >> 4) & 0xf;

		printf(": version %u, %s", caps & 0xfu,
		       t < VT_ARRAY_SIZE(types) && types[t] ? types[t] : "unknown type");
		break;
	}
	case 0x11: {
		uint16_t ctl = rd16(c, pos + 2);
		uint32_t table = rd32(c, pos + 4), pba = rd32(c, pos + 8);

		printf(": %s%s, %u vector(s), table BAR%u+0x%" PRIx32 ", PBA BAR%u+0x%" PRIx32,
		       ctl & 0x8000 ? "enabled" : "disabled", ctl & 0x4000 ? " (masked)" : "",
		       (ctl & 0x7ffu) + 1, table & 7u, table & ~(uint32_t)7, pba & 7u,
		       pba & ~(uint32_t)7);
		break;
	}
	default:
		break;
	}
}

static void print_caps(const uint8_t *c, size_t len)
{
	unsigned int pos, count = 0;

	printf("capabilities:\n");
	if (!(rd16(c, 0x06) & 0x10)) {
		printf("  none (status register has no capability list)\n");
		return;
	}
	pos = c[0x34] & ~3u;
	while (pos >= 0x40 && pos + 2 <= len && pos < CFG_STD) {
		unsigned int id = c[pos];

		if (++count > 48) {
			printf("  ... the list loops: stopped\n");
			break;
		}
		printf("  [0x%02x] 0x%02x %s", pos, id, cap_name(id));
		print_cap_detail(c, pos, id, len);
		printf("\n");
		pos = c[pos + 1] & ~3u;
	}
	if (count == 0)
		printf("  none\n");

	if (len <= CFG_STD)
		return;
	pos = 0x100;
	count = 0;
	printf("extended capabilities:\n");
	while (pos >= 0x100 && pos + 4 <= len) {
		uint32_t hdr = rd32(c, pos);

		if (hdr == 0 || hdr == 0xffffffff) {
			if (count == 0)
				printf("  none\n");
			break;
		}
		if (++count > 96) {
			printf("  ... the list loops: stopped\n");
			break;
		}
		printf("  [0x%03x] 0x%04" PRIx32 " %s (version %" PRIu32 ")\n", pos,
		       hdr & 0xffff, ext_cap_name(hdr & 0xffff), (hdr >> 16) & 0xf);
		pos = (hdr >> 20) & ~3u;
	}
}

/* ---- JSON output (schema: docs/json.md) ---------------------------------- */

/* The names of the set bits of @flags as an array ("bitN" for unnamed ones). */
static void json_flags(struct vt_json *j, const char *key, uint32_t flags,
		       const char *const *names, size_t nnames)
{
	vt_json_key(j, key);
	vt_json_begin_array(j);
	for (unsigned int b = 0; b < 32; b++) {
		char buf[16];

		if (!(flags & (1u << b)))
			continue;
		if (b < nnames && names[b]) {
			vt_json_string(j, names[b]);
		} else {
			snprintf(buf, sizeof(buf), "bit%u", b);
			vt_json_string(j, buf);
		}
	}
	vt_json_end(j);
}

static void json_hex4(struct vt_json *j, const char *key, unsigned int v, int width)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%0*x", width, v);
	vt_json_kv_string(j, key, buf);
}

static void json_device(struct vt_json *j, struct vni_ctx *ctx, struct vni_device *dev,
			const struct vni_device_info *di)
{
	uint32_t ioas = 0;
	bool iommufd = vni_ctx_iommufd(ctx) >= 0;

	vni_ctx_ioas_id(ctx, &ioas);
	vt_json_key(j, "device");
	vt_json_begin_object(j);
	vt_json_kv_string(j, "bdf", vni_device_bdf(dev));
	json_hex4(j, "vendor", di->vendor, 4);
	json_hex4(j, "device", di->device, 4);
	json_hex4(j, "class", di->class_code, 6);
	vt_json_kv_string(j, "class_name", vt_pci_class_name(di->class_code));
	vt_json_kv_string(j, "cdev", di->cdev_path);
	vt_json_kv_string(j, "backend", vni_backend_name(vni_ctx_backend(ctx)));
	vt_json_key(j, "iommufd_dev_id");
	if (iommufd)
		vt_json_u64(j, di->dev_id);
	else
		vt_json_null(j);
	vt_json_key(j, "ioas_id");
	if (iommufd)
		vt_json_u64(j, ioas);
	else
		vt_json_null(j);
	vt_json_kv_u64(j, "vfio_flags", di->vfio_flags);
	json_flags(j, "vfio_flag_names", di->vfio_flags, vfio_flags, VT_ARRAY_SIZE(vfio_flags));
	vt_json_end(j);
}

static void json_regions(struct vt_json *j, struct vni_device *dev,
			 const struct vni_device_info *di)
{
	vt_json_key(j, "regions");
	vt_json_begin_array(j);
	for (uint32_t i = 0; i < di->num_regions; i++) {
		struct vni_region_info ri = { .struct_size = sizeof(ri) };
		char nbuf[16];

		vt_json_begin_object(j);
		vt_json_kv_u64(j, "index", i);
		vt_json_kv_string(j, "name", region_name(i, nbuf, sizeof(nbuf)));
		if (vni_device_region_info(dev, i, &ri) < 0) {
			vt_json_kv_string(j, "error", vni_strerror_last());
		} else {
			vt_json_kv_u64(j, "size", ri.size);
			json_flags(j, "flags", ri.flags, rflags, VT_ARRAY_SIZE(rflags));
			vt_json_kv_u64(j, "offset", ri.offset);
		}
		vt_json_end(j);
	}
	vt_json_end(j);
}

static void json_irqs(struct vt_json *j, struct vni_device *dev)
{
	vt_json_key(j, "interrupts");
	vt_json_begin_array(j);
	for (unsigned int t = VNI_IRQ_INTX; t <= VNI_IRQ_MSIX; t++) {
		struct vni_irq_info ii = { .struct_size = sizeof(ii) };

		vt_json_begin_object(j);
		vt_json_kv_string(j, "type", irq_types[t]);
		if (vni_device_irq_info(dev, (enum vni_irq_type)t, &ii) < 0) {
			vt_json_kv_string(j, "error", vni_strerror_last());
		} else {
			vt_json_kv_u64(j, "count", ii.count);
			json_flags(j, "flags", ii.count ? ii.flags : 0, iflags,
				   VT_ARRAY_SIZE(iflags));
		}
		vt_json_end(j);
	}
	vt_json_end(j);
}

static void json_bars(struct vt_json *j, const uint8_t *c)
{
	vt_json_key(j, "bars");
	vt_json_begin_array(j);
	for (unsigned int i = 0; i < 6; i++) {
		uint32_t lo = rd32(c, 0x10 + 4 * i);
		bool mem64 = !(lo & 1) && ((lo >> 1) & 3) == 2 && i < 5;

		vt_json_begin_object(j);
		vt_json_kv_u64(j, "index", i);
		if (lo & 1) {
			vt_json_kv_string(j, "type", "io");
			vt_json_kv_hex(j, "address", lo & ~(uint32_t)3, 1);
		} else if (mem64 || lo != 0) {
			uint64_t addr = lo & ~(uint32_t)0xf;

			if (mem64)
				addr |= (uint64_t)rd32(c, 0x10 + 4 * (i + 1)) << 32;
			vt_json_kv_string(j, "type", "memory");
			vt_json_kv_hex(j, "address", addr, 1);
			vt_json_kv_u64(j, "bits", mem64 ? 64 : 32);
			vt_json_kv_bool(j, "prefetchable", lo & 8);
		} else {
			vt_json_kv_string(j, "type", "unused");
		}
		vt_json_end(j);
		if (mem64) {
			/* the upper half of a 64-bit BAR has its own entry */
			vt_json_begin_object(j);
			vt_json_kv_u64(j, "index", ++i);
			vt_json_kv_string(j, "type", "upper");
			vt_json_end(j);
		}
	}
	vt_json_end(j);
}

static void json_config(struct vt_json *j, const uint8_t *c, size_t len, size_t dump)
{
	static const char pins[] = "ABCD";
	char hex[2 * CFG_MAX + 1];
	uint8_t htype = c[0x0e];

	for (size_t i = 0; i < dump; i++)
		snprintf(hex + 2 * i, 3, "%02x", c[i]);
	hex[2 * dump] = '\0';
	vt_json_key(j, "config");
	vt_json_begin_object(j);
	vt_json_kv_u64(j, "size", len);
	vt_json_kv_string(j, "hex", hex);
	json_hex4(j, "vendor", rd16(c, 0x00), 4);
	json_hex4(j, "device", rd16(c, 0x02), 4);
	vt_json_kv_u64(j, "command", rd16(c, 0x04));
	json_flags(j, "command_flags", rd16(c, 0x04), cmd_bits, VT_ARRAY_SIZE(cmd_bits));
	vt_json_kv_u64(j, "status", rd16(c, 0x06));
	json_flags(j, "status_flags", rd16(c, 0x06) & ~0x0600u, sts_bits,
		   VT_ARRAY_SIZE(sts_bits));
	vt_json_kv_u64(j, "revision", c[0x08]);
	json_hex4(j, "class", (unsigned int)c[0x0b] << 16 | (unsigned int)c[0x0a] << 8 | c[0x09], 6);
	vt_json_kv_u64(j, "header_type", htype & 0x7f);
	vt_json_kv_bool(j, "multi_function", htype & 0x80);
	if ((htype & 0x7f) == 0) {
		json_bars(j, c);
		json_hex4(j, "subsystem_vendor", rd16(c, 0x2c), 4);
		json_hex4(j, "subsystem_device", rd16(c, 0x2e), 4);
		vt_json_kv_u64(j, "interrupt_line", c[0x3c]);
		vt_json_key(j, "interrupt_pin");
		if (c[0x3d] >= 1 && c[0x3d] <= 4) {
			char pin[2] = { pins[c[0x3d] - 1], '\0' };

			vt_json_string(j, pin);
		} else {
			vt_json_null(j);
		}
	}
	vt_json_end(j);
}

static void json_caps(struct vt_json *j, const uint8_t *c, size_t len)
{
	unsigned int pos, count = 0;

	vt_json_key(j, "capabilities");
	vt_json_begin_array(j);
	pos = c[0x34] & ~3u;
	while ((rd16(c, 0x06) & 0x10) && pos >= 0x40 && pos + 2 <= len && pos < CFG_STD &&
	       ++count <= 48) {
		vt_json_begin_object(j);
		vt_json_kv_u64(j, "offset", pos);
		vt_json_kv_u64(j, "id", c[pos]);
		vt_json_kv_string(j, "name", cap_name(c[pos]));
		vt_json_end(j);
		pos = c[pos + 1] & ~3u;
	}
	vt_json_end(j);
	vt_json_key(j, "extended_capabilities");
	vt_json_begin_array(j);
	pos = 0x100;
	count = 0;
	while (len > CFG_STD && pos >= 0x100 && pos + 4 <= len && ++count <= 96) {
		uint32_t hdr = rd32(c, pos);

		if (hdr == 0 || hdr == 0xffffffff)
			break;
		vt_json_begin_object(j);
		vt_json_kv_u64(j, "offset", pos);
		vt_json_kv_u64(j, "id", hdr & 0xffff);
		vt_json_kv_u64(j, "version", (hdr >> 16) & 0xf);
		vt_json_kv_string(j, "name", ext_cap_name(hdr & 0xffff));
		vt_json_end(j);
		pos = (hdr >> 20) & ~3u;
	}
	vt_json_end(j);
}

int main(int argc, char **argv)
{
	struct vni_ctx *ctx = NULL;
	struct vni_device *dev = NULL;
	struct vni_device_info di = { .struct_size = sizeof(di) };
	char bdf[VNI_PCI_ADDR_STRLEN];
	struct vni_region_info cri = { .struct_size = sizeof(cri) };
	uint64_t dump = 64;
	uint8_t *cfg = NULL;
	size_t cfg_len;
	bool json = false;
	int verbose = 0, ret, c, rc = VT_EXIT_FAIL;

	vt_set_prog(argv[0], "vni-inspect");
	while ((c = getopt_long(argc, argv, "x:jvhV", long_opts, NULL)) != -1) {
		switch (c) {
		case 'x':
			if (vt_parse_size(optarg, &dump) < 0 || dump == 0 || dump > CFG_MAX)
				return vt_usage_err("--hexdump: \"%s\" is not a byte count 1..%d",
						    optarg, CFG_MAX);
			break;
		case 'j':
			json = true;
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
	if (optind >= argc)
		return vt_usage_err("missing BDF (the PCI address, e.g. 0000:00:04.0; "
				    "vni-list shows them)");
	if (optind + 1 < argc)
		return vt_usage_err("one BDF at a time (unexpected \"%s\")", argv[optind + 1]);
	if (vt_parse_bdf(argv[optind], bdf, sizeof(bdf)) < 0)
		return vt_usage_err("\"%s\" is not a PCI address (DDDD:BB:DD.F or BB:DD.F)",
				    argv[optind]);
	vt_setup_logging(verbose);

	ret = vni_ctx_new(&ctx, 0);
	if (ret < 0)
		return vt_lib_err(ret, "cannot create a context");
	ret = vni_device_open(ctx, bdf, &dev);
	if (ret < 0) {
		vt_lib_err(ret, "cannot open %s", bdf);
		goto out;
	}
	ret = vni_device_get_info(dev, &di);
	if (ret < 0) {
		vt_lib_err(ret, "cannot get the device info of %s", bdf);
		goto out;
	}

	/* the config region's size, or the standard header when unknown */
	cfg_len = CFG_STD;
	if (vni_device_region_info(dev, VNI_REGION_CONFIG, &cri) == 0 && cri.size)
		cfg_len = (size_t)(cri.size < CFG_MAX ? cri.size : CFG_MAX);
	cfg = calloc(1, CFG_MAX);
	if (!cfg) {
		vt_err("out of memory");
		goto out;
	}
	ret = vni_device_config_read(dev, 0, cfg, cfg_len);
	if (ret < 0 && cfg_len > CFG_STD) {
		cfg_len = CFG_STD;
		ret = vni_device_config_read(dev, 0, cfg, cfg_len);
	}
	if (ret < 0) {
		vt_lib_err(ret, "cannot read the config space of %s", bdf);
		goto out;
	}
	if (dump > cfg_len)
		dump = cfg_len;

	if (json) {
		struct vt_json j;

		vt_json_init(&j, stdout);
		vt_json_begin_object(&j);
		json_device(&j, ctx, dev, &di);
		json_regions(&j, dev, &di);
		json_irqs(&j, dev);
		json_config(&j, cfg, cfg_len, (size_t)dump);
		json_caps(&j, cfg, cfg_len);
		vt_json_end(&j);
	} else {
		print_device(ctx, dev, &di);
		print_regions(dev, &di);
		print_irqs(dev);
		printf("config space (%zu bytes; first %" PRIu64 " shown):\n", cfg_len, dump);
		hexdump(cfg, (size_t)dump);
		print_header(cfg);
		print_caps(cfg, cfg_len);
	}
	rc = VT_EXIT_OK;
out:
	free(cfg);
	if (dev)
		vni_device_close(&dev);
	if (ctx)
		vni_ctx_destroy(&ctx);
	if (rc == VT_EXIT_OK && (fflush(stdout) != 0 || ferror(stdout))) {
		vt_err("write error on standard output");
		rc = VT_EXIT_FAIL;
	}
	return rc;
}
