/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vni-translate - map a buffer and show its DMA address segments (a demo and
 * debugging tool for IOMMU_IOAS_NOIOMMU_GET_PA as the library uses it).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "common.h"

#ifndef MAP_HUGE_SHIFT
#define MAP_HUGE_SHIFT 26
#endif
#ifndef MAP_HUGE_2MB
#define MAP_HUGE_2MB (21 << MAP_HUGE_SHIFT)
#endif

struct opts {
	bool no_device;
	bool huge;
	bool small;
	bool user;
	bool pages;
	bool verify;
	bool json;
	int verbose;
	uint64_t size;
	uint64_t offset;
	uint64_t length; /* 0: to the end */
	char bdf[VNI_PCI_ADDR_STRLEN];
};

static void usage(FILE *f)
{
	fprintf(f,
"Usage: %s [OPTION]... BDF\n"
"       %s --no-device [OPTION]...\n"
"Map a buffer for DMA in a libvfionoiommu context and print how it translates.\n"
"\n"
"Creates a context (an iommufd and an IOAS), opens the device BDF in it (which\n"
"attaches the device to the IOAS: the kernel then keeps a software page table\n"
"for it), allocates a buffer, maps it (pinning it; one\n"
"IOMMU_IOAS_NOIOMMU_GET_PA ioctl per physically contiguous run) and prints the\n"
"DMA segments of the buffer: where it is in the IOAS (IOVA, equal to the\n"
"process virtual address), the physical address a device must be given (PA)\n"
"and the length of each physically contiguous piece. Nothing is written to\n"
"the device.\n"
"\n"
"With --no-device no device is opened. The kernel only translates an IOAS\n"
"that has a no-IOMMU device attached, so mapping fails: this shows the error\n"
"a driver gets when it maps memory before opening a device (exit status 1).\n"
"\n"
"Options:\n"
"  -s, --size=SIZE     buffer size (default 4K); suffixes K, M, G (binary)\n"
"      --huge          use 2 MiB hugepages only (fails if none are free:\n"
"                      echo N > /proc/sys/vm/nr_hugepages)\n"
"      --small         use 4 KiB pages only\n"
"                      (default: 4 KiB up to 4 KiB, else hugepages when free)\n"
"  -u, --user          map memory the tool mmap()s itself (vni_dma_map) instead\n"
"                      of a buffer from vni_dma_alloc\n"
"  -o, --offset=OFF    translate from this byte of the buffer (default 0)\n"
"  -l, --length=LEN    translate LEN bytes (default: to the end of the buffer)\n"
"  -p, --pages         also print the DMA address of every 4 KiB page\n"
"      --verify        check the segments against per-page lookups\n"
"                      (vni_dma_addr, vni_dma_contig); exit 1 on a mismatch\n"
"  -n, --no-device     do not open a device (see above)\n"
"  -j, --json          print one JSON object instead of text\n"
"  -v, --verbose       print the library's log messages on stderr (twice: debug)\n"
"  -h, --help          print this help and exit\n"
"  -V, --version       print the version and exit\n"
"\n"
"The device must be bound to vfio-pci in no-IOMMU mode (vni-bind); root\n"
"(CAP_SYS_RAWIO) is needed, and RLIMIT_MEMLOCK must allow pinning SIZE.\n"
"\n"
"Text output: \"segments: N\", then one line per segment\n"
"  INDEX  IOVA (0x + 16 digits)  PA (0x + 16 digits)  LENGTH (0x...)  (human)\n"
"and \"total: 0xLEN bytes in N segment(s)\".\n"
"\n"
"Exit status: 0 success, 1 failure, 2 usage error.\n"
"\n"
"Examples:\n"
"  %s 0000:00:04.0                 one 4 KiB page\n"
"  %s -s 4M --huge 0000:00:04.0    two hugepages\n"
"  %s -s 64K --small --verify 00:04.0\n",
		vt_prog(), vt_prog(), vt_prog(), vt_prog(), vt_prog());
}

enum { OPT_HUGE = 256, OPT_SMALL, OPT_VERIFY };

static const struct option long_opts[] = {
	{ "size", required_argument, NULL, 's' },
	{ "huge", no_argument, NULL, OPT_HUGE },
	{ "small", no_argument, NULL, OPT_SMALL },
	{ "user", no_argument, NULL, 'u' },
	{ "offset", required_argument, NULL, 'o' },
	{ "length", required_argument, NULL, 'l' },
	{ "pages", no_argument, NULL, 'p' },
	{ "verify", no_argument, NULL, OPT_VERIFY },
	{ "no-device", no_argument, NULL, 'n' },
	{ "json", no_argument, NULL, 'j' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

/* Page-by-page cross-check of the segment list. Returns mismatches. */
static unsigned int verify(const struct vni_ctx *ctx, const uint8_t *start, uint64_t len,
			   const struct vni_dma_seg *segs, size_t nsegs)
{
	unsigned int bad = 0;
	uint64_t off = 0;

	for (size_t s = 0; s < nsegs; s++) {
		for (uint64_t in = 0; in < segs[s].len; ) {
			uint64_t want = segs[s].dma + in, got = 0, step;
			uint64_t dma = 0;
			size_t contig = 0;
			const uint8_t *p = start + off + in;
			uint64_t rest = len - off - in;

			if (vni_dma_addr(ctx, p, &got) < 0 || got != want) {
				if (bad++ < 8)
					fprintf(stderr, "%s: verify: vni_dma_addr(%p) = 0x%" PRIx64
						", segment %zu says 0x%" PRIx64 "\n", vt_prog(),
						(const void *)p, got, s, want);
			}
			if (vni_dma_contig(ctx, p, (size_t)rest, &dma, &contig) < 0 ||
			    dma != want || contig > segs[s].len - in || contig == 0 ||
			    (contig < segs[s].len - in)) {
				/* contiguous length must reach the end of the segment */
				if (bad++ < 8)
					fprintf(stderr, "%s: verify: vni_dma_contig(%p) = 0x%" PRIx64
						"+0x%zx, segment %zu says 0x%" PRIx64 "+0x%" PRIx64
						"\n", vt_prog(), (const void *)p, dma, contig, s, want,
						segs[s].len - in);
			}
			/* next 4 KiB boundary */
			step = 4096 - ((uintptr_t)p & 4095);
			in += step;
		}
		off += segs[s].len;
	}
	if (off != len) {
		fprintf(stderr, "%s: verify: segments cover 0x%" PRIx64 " bytes, expected 0x%"
			PRIx64 "\n", vt_prog(), off, len);
		bad++;
	}
	return bad;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	int c;

	while ((c = getopt_long(argc, argv, "s:uo:l:pnjvhV", long_opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (vt_parse_size(optarg, &o->size) < 0 || o->size == 0)
				return vt_usage_err("--size: \"%s\" is not a size (e.g. 4096, 64K, "
						    "2M)", optarg);
			break;
		case OPT_HUGE:
			o->huge = true;
			break;
		case OPT_SMALL:
			o->small = true;
			break;
		case 'u':
			o->user = true;
			break;
		case 'o':
			if (vt_parse_size(optarg, &o->offset) < 0)
				return vt_usage_err("--offset: \"%s\" is not a byte offset", optarg);
			break;
		case 'l':
			if (vt_parse_size(optarg, &o->length) < 0 || o->length == 0)
				return vt_usage_err("--length: \"%s\" is not a non-zero length",
						    optarg);
			break;
		case 'p':
			o->pages = true;
			break;
		case OPT_VERIFY:
			o->verify = true;
			break;
		case 'n':
			o->no_device = true;
			break;
		case 'j':
			o->json = true;
			break;
		case 'v':
			o->verbose++;
			break;
		case 'h':
			usage(stdout);
			exit(VT_EXIT_OK);
		case 'V':
			exit(vt_version());
		default:
			return vt_try_help();
		}
	}
	if (o->huge && o->small)
		return vt_usage_err("--huge and --small exclude each other");
	if (o->no_device) {
		if (optind < argc)
			return vt_usage_err("--no-device takes no BDF (unexpected \"%s\")",
					    argv[optind]);
	} else {
		if (optind >= argc)
			return vt_usage_err("missing BDF (the PCI address of a device bound to "
					    "vfio-pci, e.g. 0000:00:04.0), or --no-device");
		if (optind + 1 < argc)
			return vt_usage_err("one BDF at a time (unexpected \"%s\")",
					    argv[optind + 1]);
		if (vt_parse_bdf(argv[optind], o->bdf, sizeof(o->bdf)) < 0)
			return vt_usage_err("\"%s\" is not a PCI address (DDDD:BB:DD.F or "
					    "BB:DD.F)", argv[optind]);
	}
	if (o->size > SIZE_MAX / 2)
		return vt_usage_err("--size: too large");
	return 0;
}

/* The user-memory variant: mmap the buffer ourselves. */
static void *user_mmap(const struct opts *o, size_t *lenp)
{
	size_t page = o->huge ? VNI_PAGE_SIZE_2M : VNI_PAGE_SIZE_4K;
	size_t len = (size_t)((o->size + page - 1) & ~(uint64_t)(page - 1));
	int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE;
	void *p;

	if (o->huge)
		flags |= MAP_HUGETLB | MAP_HUGE_2MB;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, flags, -1, 0);
	if (p == MAP_FAILED) {
		vt_err("cannot mmap %zu bytes%s: %s", len, o->huge ? " of hugepages" : "",
		       strerror(errno));
		if (o->huge)
			fprintf(stderr, "Reserve hugepages first: echo 8 > "
				"/proc/sys/vm/nr_hugepages\n");
		return NULL;
	}
	*lenp = len;
	return p;
}

int main(int argc, char **argv)
{
	struct opts o;
	struct vni_ctx *ctx = NULL;
	struct vni_device *dev = NULL;
	struct vni_dma_mapping_info mi = { .struct_size = sizeof(mi) };
	struct vni_dma_seg *segs = NULL;
	struct vni_ctx_stats st = { .struct_size = sizeof(st) };
	void *buf = NULL;
	size_t user_len = 0, nsegs = 0;
	uint64_t len;
	uint32_t ioas = 0;
	unsigned int flags = 0;
	int ret, rc = VT_EXIT_FAIL;
	char h1[32], h2[32];

	memset(&o, 0, sizeof(o));
	o.size = 4096;
	vt_set_prog(argv[0], "vni-translate");
	ret = parse_args(argc, argv, &o);
	if (ret)
		return ret;
	vt_setup_logging(o.verbose);
	if (o.huge)
		flags |= VNI_DMA_ALLOC_HUGE;
	if (o.small)
		flags |= VNI_DMA_ALLOC_SMALL;

	ret = vni_ctx_new(&ctx, 0);
	if (ret < 0)
		return vt_lib_err(ret, "cannot create a context");
	vni_ctx_ioas_id(ctx, &ioas);
	if (!o.no_device) {
		ret = vni_device_open(ctx, o.bdf, &dev);
		if (ret < 0) {
			vt_lib_err(ret, "cannot open %s", o.bdf);
			goto out;
		}
	}

	if (o.user) {
		buf = user_mmap(&o, &user_len);
		if (!buf)
			goto out;
		ret = vni_dma_map(ctx, buf, user_len, 0);
		if (ret < 0) {
			vt_lib_err(ret, "cannot map %zu bytes at %p", user_len, buf);
			munmap(buf, user_len);
			buf = NULL;
			goto out;
		}
	} else {
		ret = vni_dma_alloc(ctx, (size_t)o.size, flags, &buf);
		if (ret < 0) {
			vt_lib_err(ret, "cannot allocate a %s DMA buffer",
				   vt_format_size(o.size, h1, sizeof(h1)));
			buf = NULL;
			goto out;
		}
	}
	ret = vni_dma_lookup(ctx, buf, &mi);
	if (ret < 0) {
		vt_lib_err(ret, "vni_dma_lookup of the buffer");
		goto out;
	}
	if (o.offset >= mi.len) {
		vt_err("--offset 0x%" PRIx64 " is past the end of the %zu-byte buffer", o.offset,
		       mi.len);
		rc = VT_EXIT_USAGE;
		goto out;
	}
	len = o.length ? o.length : mi.len - o.offset;
	if (len > mi.len - o.offset) {
		vt_err("--offset + --length (0x%" PRIx64 ") is past the end of the %zu-byte "
		       "buffer", o.offset + len, mi.len);
		rc = VT_EXIT_USAGE;
		goto out;
	}

	ret = vni_dma_segments(ctx, (uint8_t *)buf + o.offset, (size_t)len, NULL, 0, &nsegs);
	if (ret < 0 && ret != -ENOSPC) {
		vt_lib_err(ret, "vni_dma_segments");
		goto out;
	}
	segs = calloc(nsegs ? nsegs : 1, sizeof(*segs));
	if (!segs) {
		vt_err("out of memory for %zu segments", nsegs);
		goto out;
	}
	ret = vni_dma_segments(ctx, (uint8_t *)buf + o.offset, (size_t)len, segs, nsegs,
			       &nsegs);
	if (ret < 0) {
		vt_lib_err(ret, "vni_dma_segments");
		goto out;
	}
	vni_ctx_stats(ctx, &st);

	if (o.json) {
		struct vt_json j;
		uint64_t off = 0;

		vt_json_init(&j, stdout);
		vt_json_begin_object(&j);
		vt_json_kv_string(&j, "device", o.no_device ? NULL : o.bdf);
		vt_json_kv_u64(&j, "ioas_id", ioas);
		vt_json_key(&j, "buffer");
		vt_json_begin_object(&j);
		vt_json_kv_hex(&j, "vaddr", (uintptr_t)mi.vaddr, 16);
		vt_json_kv_u64(&j, "len", mi.len);
		vt_json_kv_u64(&j, "page_size", mi.page_size);
		vt_json_kv_u64(&j, "runs", mi.runs);
		vt_json_kv_bool(&j, "allocated", mi.flags & VNI_DMA_MAPPING_ALLOCATED);
		vt_json_kv_bool(&j, "huge", mi.flags & VNI_DMA_MAPPING_HUGE);
		vt_json_end(&j);
		vt_json_kv_u64(&j, "offset", o.offset);
		vt_json_kv_u64(&j, "length", len);
		vt_json_key(&j, "segments");
		vt_json_begin_array(&j);
		for (size_t i = 0; i < nsegs; i++) {
			vt_json_begin_object(&j);
			vt_json_kv_hex(&j, "iova", (uintptr_t)buf + o.offset + off, 16);
			vt_json_kv_hex(&j, "pa", segs[i].dma, 16);
			vt_json_kv_u64(&j, "len", segs[i].len);
			vt_json_end(&j);
			off += segs[i].len;
		}
		vt_json_end(&j);
		if (o.pages) {
			vt_json_key(&j, "pages");
			vt_json_begin_array(&j);
			for (uint64_t p = (o.offset & ~(uint64_t)4095); p < o.offset + len;
			     p += 4096) {
				uint64_t dma = vni_dma_addr_fast(ctx, (uint8_t *)buf + p);

				vt_json_begin_object(&j);
				vt_json_kv_hex(&j, "iova", (uintptr_t)buf + p, 16);
				vt_json_kv_hex(&j, "pa", dma, 16);
				vt_json_end(&j);
			}
			vt_json_end(&j);
		}
		vt_json_key(&j, "stats");
		vt_json_begin_object(&j);
		vt_json_kv_u64(&j, "get_pa_calls", st.get_pa_calls);
		vt_json_kv_u64(&j, "runs", st.runs);
		vt_json_kv_u64(&j, "table_bytes", st.table_bytes);
		vt_json_end(&j);
		vt_json_end(&j);
	} else {
		uint64_t off = 0;

		printf("context: IOAS %" PRIu32 ", backend %s\n", ioas,
		       vni_backend_name(vni_ctx_backend(ctx)));
		if (dev) {
			struct vni_device_info di = { .struct_size = sizeof(di) };

			if (vni_device_get_info(dev, &di) == 0)
				printf("device: %s (%s)\n", o.bdf, di.cdev_path);
		}
		printf("buffer: %p, %s, %s, page size %s, %" PRIu64
		       " physically contiguous run(s)\n", mi.vaddr,
		       vt_format_size(mi.len, h1, sizeof(h1)),
		       mi.flags & VNI_DMA_MAPPING_ALLOCATED ? "vni_dma_alloc" : "vni_dma_map",
		       vt_format_size(mi.page_size, h2, sizeof(h2)), mi.runs);
		printf("range: offset 0x%" PRIx64 ", length 0x%" PRIx64 " (%s)\n", o.offset, len,
		       vt_format_size(len, h1, sizeof(h1)));
		printf("segments: %zu\n", nsegs);
		printf("  %-5s  %-18s  %-18s  %s\n", "INDEX", "IOVA", "PA", "LENGTH");
		for (size_t i = 0; i < nsegs; i++) {
			printf("  %-5zu  0x%016" PRIxPTR "  0x%016" PRIx64 "  0x%-10" PRIx64 " (%s)\n",
			       i, (uintptr_t)buf + (uintptr_t)(o.offset + off), segs[i].dma,
			       segs[i].len, vt_format_size(segs[i].len, h1, sizeof(h1)));
			off += segs[i].len;
		}
		printf("total: 0x%" PRIx64 " bytes in %zu segment(s)\n", off, nsegs);
		if (o.pages) {
			printf("pages:\n");
			for (uint64_t p = (o.offset & ~(uint64_t)4095); p < o.offset + len;
			     p += 4096) {
				uint64_t dma = vni_dma_addr_fast(ctx, (uint8_t *)buf + p);

				printf("  0x%016" PRIxPTR "  0x%016" PRIx64 "\n",
				       (uintptr_t)buf + (uintptr_t)p, dma);
			}
		}
		printf("stats: %" PRIu64 " GET_PA call(s), %" PRIu64 " run(s), translation "
		       "table %s\n", st.get_pa_calls, st.runs,
		       vt_format_size(st.table_bytes, h1, sizeof(h1)));
	}

	rc = VT_EXIT_OK;
	if (o.verify) {
		unsigned int bad = verify(ctx, (const uint8_t *)buf + o.offset, len, segs, nsegs);

		if (bad) {
			vt_err("verify: %u mismatch(es) between the segments and per-page lookups",
			       bad);
			rc = VT_EXIT_FAIL;
		} else if (!o.json) {
			printf("verify: OK\n");
		}
	}
out:
	free(segs);
	if (buf) {
		if (o.user) {
			ret = vni_dma_unmap(ctx, buf, user_len);
			if (ret < 0)
				rc = vt_lib_err(ret, "vni_dma_unmap");
			munmap(buf, user_len);
		} else {
			ret = vni_dma_free(ctx, buf);
			if (ret < 0)
				rc = vt_lib_err(ret, "vni_dma_free");
		}
	}
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
