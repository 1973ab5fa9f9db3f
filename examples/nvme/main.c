/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vni-nvme: command line of the user space NVMe driver.
 *
 *   vni-nvme [OPTIONS] BDF identify
 *   vni-nvme [OPTIONS] BDF read LBA COUNT [FILE]
 *   vni-nvme [OPTIONS] BDF write LBA COUNT FILE
 *   vni-nvme [OPTIONS] BDF verify [LBA COUNT]
 *   vni-nvme [OPTIONS] BDF bench [SECONDS]
 *
 * The controller must be bound to vfio-pci in no-IOMMU mode (vni-bind
 * --enable-noiommu BDF); needs CAP_SYS_RAWIO. Public API only.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "nvme.h"

const char *nvme_prog = "vni-nvme";

enum mem_kind { MEM_HEAP, MEM_HUGE };

struct opts {
	bool irq;
	unsigned int queues;
	enum mem_kind mem;
	size_t offset;
	uint32_t nsid;
};

/* A data buffer: ordinary memory mapped for DMA, or library hugepages. */
struct buf {
	enum mem_kind kind;
	void *mem;
	size_t maplen;
	uint8_t *data;               /* mem + offset */
	size_t len;
};

static uint64_t rng_state = 0x2545f4914f6cdd1dull;

static uint64_t rng(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vni-nvme [OPTIONS] BDF COMMAND [ARGS]\n"
		"commands:\n"
		"  identify                  controller and namespace: model, serial, firmware,\n"
		"                            LBA size, capacity, MDTS\n"
		"  read LBA COUNT [FILE]     read COUNT blocks into FILE (default: hex dump)\n"
		"  write LBA COUNT FILE      write COUNT blocks from FILE\n"
		"  verify [LBA COUNT]        write a pattern, read it back, restore the old data\n"
		"                            (default: 2 MiB + 4 KiB from LBA 0)\n"
		"  bench [SECONDS]           4 KiB random reads at queue depth 1 and 32\n"
		"                            (default 3 s each); last line key=value\n"
		"options:\n"
		"  -i, --irq                 completions by MSI-X on eventfds (default: polling)\n"
		"  -q, --queues N            I/O queue pairs, 1-%u (default 1); I/O is spread\n"
		"                            round-robin over them\n"
		"  -m, --mem heap|huge       data buffers: 4 KiB pages of ordinary memory faulted in\n"
		"                            random order and mapped with vni_dma_map (heap, the\n"
		"                            default), or 2 MiB hugepages from vni_dma_alloc (huge)\n"
		"  -o, --offset N            data starts N bytes into its buffer (multiple of 4)\n"
		"  -n, --nsid N              namespace (default 1)\n"
		"  -h, --help\n", NVME_MAX_IOQ);
}

static int buf_alloc(struct nvme_ctrl *c, const struct opts *o, size_t len, struct buf *b)
{
	size_t page = o->mem == MEM_HUGE ? VNI_PAGE_SIZE_2M : VNI_PAGE_SIZE_4K;
	size_t npages, nsegs = 0;
	void *mem = NULL;
	int ret;

	memset(b, 0, sizeof(*b));
	b->kind = o->mem;
	b->len = len;
	b->maplen = (o->offset + len + page - 1) / page * page;
	if (o->mem == MEM_HUGE) {
		ret = vni_dma_alloc(c->ctx, b->maplen, VNI_DMA_ALLOC_HUGE, &mem);
		if (ret < 0) {
			fprintf(stderr, "%s: allocating %zu KiB of hugepages failed (%d): %s\n",
				nvme_prog, b->maplen >> 10, ret, vni_strerror_last());
			return ret;
		}
	} else {
		unsigned int *order;

		mem = mmap(NULL, b->maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			   -1, 0);
		if (mem == MAP_FAILED)
			return -errno;
		/* Fault the pages in a random order: virtually adjacent pages then
		 * get physically scattered frames. */
		npages = b->maplen / page;
		order = malloc(npages * sizeof(*order));
		if (!order) {
			munmap(mem, b->maplen);
			return -ENOMEM;
		}
		for (size_t i = 0; i < npages; i++)
			order[i] = (unsigned int)i;
		for (size_t i = npages; i > 1; i--) {
			size_t j = rng() % i;
			unsigned int t = order[i - 1];

			order[i - 1] = order[j];
			order[j] = t;
		}
		for (size_t i = 0; i < npages; i++)
			((volatile uint8_t *)mem)[(size_t)order[i] * page] = 0;
		free(order);
		ret = vni_dma_map(c->ctx, mem, b->maplen, 0);
		if (ret < 0) {
			fprintf(stderr, "%s: mapping %zu KiB for DMA failed (%d): %s\n", nvme_prog,
				b->maplen >> 10, ret, vni_strerror_last());
			munmap(mem, b->maplen);
			return ret;
		}
	}
	b->mem = mem;
	b->data = (uint8_t *)mem + o->offset;
	ret = vni_dma_segments(c->ctx, b->data, len, NULL, 0, &nsegs);
	if (ret < 0 && ret != -ENOSPC)
		nsegs = 0;
	printf("%s: buffer: %zu bytes at offset %zu, %s, %zu DMA segment(s)\n", nvme_prog, len,
	       o->offset, o->mem == MEM_HUGE ? "2 MiB hugepages (vni_dma_alloc)" :
	       "4 KiB pages faulted in random order (vni_dma_map)", nsegs);
	return 0;
}

/* After nvme_close(): the device is quiesced, nothing can DMA any more. */
static void buf_free(struct vni_ctx *ctx, struct buf *b)
{
	if (!b->mem)
		return;
	if (b->kind == MEM_HUGE) {
		vni_dma_free(ctx, b->mem);
	} else {
		vni_dma_unmap(ctx, b->mem, b->maplen);
		munmap(b->mem, b->maplen);
	}
	b->mem = NULL;
}

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 0);
	return (errno || end == s || *end || s[0] == '-') ? -EINVAL : 0;
}

static void fmt_size(char *out, size_t n, uint64_t bytes)
{
	if (bytes >= (1ull << 30))
		snprintf(out, n, "%.1f GiB", (double)bytes / (1ull << 30));
	else if (bytes >= (1ull << 20))
		snprintf(out, n, "%.1f MiB", (double)bytes / (1ull << 20));
	else
		snprintf(out, n, "%" PRIu64 " KiB", bytes >> 10);
}

static void print_identify(const struct nvme_ctrl *c)
{
	char cap[32];

	fmt_size(cap, sizeof(cap), c->nsze * c->lba_size);
	printf("%s: model:       %s\n", nvme_prog, c->model);
	printf("%s: serial:      %s\n", nvme_prog, c->serial);
	printf("%s: firmware:    %s\n", nvme_prog, c->firmware);
	printf("%s: PCI vendor:  %#06x\n", nvme_prog, c->vid);
	printf("%s: namespaces:  %u\n", nvme_prog, c->nn);
	if (c->mdts)
		printf("%s: MDTS:        %u (%u KiB per command)\n", nvme_prog, c->mdts,
		       (4096u << NVME_CAP_MPSMIN(c->cap) << c->mdts) >> 10);
	else
		printf("%s: MDTS:        0 (no limit)\n", nvme_prog);
	printf("%s: max transfer: %u KiB per command (one PRP list page)\n", nvme_prog,
	       c->max_xfer >> 10);
	printf("%s: namespace %u: LBA size %u B, %" PRIu64 " blocks, capacity %" PRIu64
	       " bytes (%s)\n", nvme_prog, c->nsid, c->lba_size, c->nsze, c->nsze * c->lba_size, cap);
}

/* Where the PRP list pages live: one per queue slot, from the pool. */
static void print_prp_pool(const struct nvme_ctrl *c)
{
	struct vni_dma_pool_info pi = { .struct_size = sizeof(pi) };

	if (vni_dma_pool_info(c->prp_pool, &pi) < 0)
		return;
	printf("%s: PRP lists: DMA pool of %zu KiB objects, %" PRIu64 " in use, %" PRIu64
	       " chunk(s) (%" PRIu64 " of them 2 MiB hugepages), %" PRIu64 " KiB\n", nvme_prog,
	       pi.obj_size >> 10, pi.in_use, pi.chunks, pi.huge_chunks, pi.bytes >> 10);
}

static int cmd_read(struct nvme_ctrl *c, const struct opts *o, uint64_t lba, uint64_t n,
		    const char *file, struct buf *b)
{
	size_t len = (size_t)(n * c->lba_size);
	FILE *f;
	int ret;

	ret = buf_alloc(c, o, len, b);
	if (ret < 0)
		return ret;
	ret = nvme_rw(c, false, lba, n, b->data);
	if (ret < 0)
		return ret;
	printf("%s: read %" PRIu64 " block(s) at LBA %" PRIu64 " (%zu bytes)\n", nvme_prog, n,
	       lba, len);
	if (!file) {
		for (size_t i = 0; i < len; i += 16) {
			printf("%08zx:", i);
			for (size_t j = i; j < i + 16 && j < len; j++)
				printf(" %02x", b->data[j]);
			printf("\n");
		}
		return 0;
	}
	f = fopen(file, "wbe");
	if (!f || fwrite(b->data, 1, len, f) != len || fclose(f) != 0) {
		fprintf(stderr, "%s: writing %s: %s\n", nvme_prog, file, strerror(errno));
		return -EIO;
	}
	return 0;
}

static int cmd_write(struct nvme_ctrl *c, const struct opts *o, uint64_t lba, uint64_t n,
		     const char *file, struct buf *b)
{
	size_t len = (size_t)(n * c->lba_size), got;
	FILE *f;
	int ret;

	ret = buf_alloc(c, o, len, b);
	if (ret < 0)
		return ret;
	f = fopen(file, "rbe");
	if (!f) {
		fprintf(stderr, "%s: %s: %s\n", nvme_prog, file, strerror(errno));
		return -errno;
	}
	got = fread(b->data, 1, len, f);
	fclose(f);
	if (got != len) {
		fprintf(stderr, "%s: %s has %zu bytes, %" PRIu64 " blocks need %zu\n", nvme_prog,
			file, got, n, len);
		return -EINVAL;
	}
	ret = nvme_rw(c, true, lba, n, b->data);
	if (ret < 0)
		return ret;
	printf("%s: wrote %" PRIu64 " block(s) at LBA %" PRIu64 " (%zu bytes)\n", nvme_prog, n,
	       lba, len);
	return 0;
}

static int compare(const uint8_t *want, const uint8_t *got, size_t len, uint64_t lba,
		   uint32_t lba_size, const char *what)
{
	for (size_t i = 0; i < len; i++) {
		if (want[i] != got[i]) {
			fprintf(stderr, "%s: verify: %s: byte %zu (LBA %" PRIu64 " + %zu) is %#04x, "
				"expected %#04x\n", nvme_prog, what, i, lba + i / lba_size,
				i % lba_size, got[i], want[i]);
			return -EIO;
		}
	}
	return 0;
}

/* Read [lba, lba + n) back twice and compare with @want: in commands as
 * large as allowed (PRP lists), then in 4 KiB commands (no PRP list), since
 * a PRP list that put pages in the wrong order would read back "right"
 * through the same lists. */
static int read_back(struct nvme_ctrl *c, uint64_t lba, uint64_t n, const uint8_t *want,
		     uint8_t *in, const char *what)
{
	size_t len = (size_t)(n * c->lba_size);
	uint64_t per = NVME_PAGE / c->lba_size;
	char label[96];
	int ret;

	memset(in, 0xa5, len);
	ret = nvme_rw(c, false, lba, n, in);
	if (ret < 0)
		return ret;
	ret = compare(want, in, len, lba, c->lba_size, what);
	if (ret < 0)
		return ret;
	memset(in, 0xc3, len);
	for (uint64_t k = 0; k < n; k += per) {
		ret = nvme_rw(c, false, lba + k, n - k < per ? n - k : per, in + k * c->lba_size);
		if (ret < 0)
			return ret;
	}
	snprintf(label, sizeof(label), "%s in 4 KiB commands", what);
	ret = compare(want, in, len, lba, c->lba_size, label);
	if (ret < 0)
		return ret;
	printf("%s: verify: %s: identical, in %" PRIu64 " command(s) and in 4 KiB commands\n",
	       nvme_prog, what, (len + c->max_xfer - 1) / c->max_xfer);
	return 0;
}

/* Write a pattern, read it back, then put the old data back and check it
 * (also when the pattern did not read back right). */
static int cmd_verify(struct nvme_ctrl *c, const struct opts *o, uint64_t lba, uint64_t n,
		      struct buf *bufs)
{
	size_t len = (size_t)(n * c->lba_size);
	uint64_t seed = nvme_now_ns() | 1;
	uint8_t *old, *pat, *in;
	int ret, err;

	for (int i = 0; i < 3; i++) {
		ret = buf_alloc(c, o, len, &bufs[i]);
		if (ret < 0)
			return ret;
	}
	old = bufs[0].data;
	pat = bufs[1].data;
	in = bufs[2].data;
	ret = nvme_rw(c, false, lba, n, old);
	if (ret < 0)
		return ret;
	/* Each 8-byte word names its block, its place and this run. */
	for (size_t i = 0; i < len; i += 8) {
		uint64_t w = (lba + i / c->lba_size) << 20 ^ (i % c->lba_size) ^ seed;

		memcpy(pat + i, &w, 8);
	}
	if (memcmp(old, pat, len) == 0)
		pat[0] ^= 0xff;
	printf("%s: verify: %" PRIu64 " block(s) at LBA %" PRIu64 " (%zu bytes)\n", nvme_prog, n,
	       lba, len);
	err = nvme_rw(c, true, lba, n, pat);
	if (err == 0)
		err = read_back(c, lba, n, pat, in, "pattern written and read back");
	ret = nvme_rw(c, true, lba, n, old);
	if (ret == 0)
		ret = read_back(c, lba, n, old, in, "previous data restored and read back");
	return err < 0 ? err : ret;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

struct bench_result {
	double iops, p50_us, p99_us;
};

/* 4 KiB random reads at depth @qd on the first I/O queue for @secs. */
static int bench_run(struct nvme_ctrl *c, uint8_t *data, unsigned int qd, double secs,
		     struct bench_result *r)
{
	struct nvme_queue *q = &c->io[0];
	uint32_t per = NVME_PAGE / c->lba_size;
	uint64_t nslots = c->nsze / per, t0, t_end, count = 0, cap = 1u << 20;
	uint64_t *lat;
	int err = 0, ret = 0;
	bool stop = false;

	if (qd + 1 > q->depth || nslots == 0)
		return -EINVAL;
	lat = malloc(cap * sizeof(*lat));
	if (!lat)
		return -ENOMEM;
	t0 = nvme_now_ns();
	t_end = t0 + (uint64_t)(secs * 1e9);
	/* Buffer i of the data area belongs to slot i. */
	for (unsigned int i = 0; i < qd; i++) {
		int cid = nvme_slot_peek(q);

		ret = nvme_io_submit(q, NVME_CMD_READ, rng() % nslots * per, per,
				     data + (size_t)cid * NVME_PAGE);
		if (ret < 0)
			goto out;
	}
	while (q->inflight) {
		uint64_t now;

		ret = nvme_reap(q, 1, 30000);
		if (ret < 0)
			goto out;
		now = nvme_now_ns();
		if (now >= t_end)
			stop = true;
		for (int i = 0; i < q->depth; i++) {
			struct nvme_slot *s = &q->slot[i];

			if (!s->busy || !s->done)
				continue;
			if (NVME_STATUS_CODE(s->status)) {
				nvme_print_status("bench read", s->status);
				err = -EIO;
				stop = true;
			}
			if (count < cap)
				lat[count] = now - s->t_submit_ns;
			count++;
			nvme_release(q, i);
			if (!stop) {
				ret = nvme_io_submit(q, NVME_CMD_READ, rng() % nslots * per, per,
						     data + (size_t)i * NVME_PAGE);
				if (ret < 0)
					goto out;
			}
		}
	}
	ret = err;
	if (ret == 0 && count > 0) {
		uint64_t n = count < cap ? count : cap;

		qsort(lat, n, sizeof(*lat), cmp_u64);
		r->iops = (double)count / ((double)(nvme_now_ns() - t0) / 1e9);
		r->p50_us = (double)lat[n / 2] / 1e3;
		r->p99_us = (double)lat[n * 99 / 100] / 1e3;
		printf("%s: bench: QD%u: %" PRIu64 " reads of 4 KiB in %.2f s: %.0f IOPS, "
		       "latency median %.1f us, p99 %.1f us\n", nvme_prog, qd, count,
		       (double)(nvme_now_ns() - t0) / 1e9, r->iops, r->p50_us, r->p99_us);
	}
out:
	free(lat);
	return ret < 0 ? ret : 0;
}

/* The key=value line goes into @line: main() prints it last, after teardown. */
static int cmd_bench(struct nvme_ctrl *c, const struct opts *o, double secs, struct buf *b,
		     char *line, size_t len)
{
	struct bench_result r1, r32;
	int ret;

	/* A page per queue slot; slot i reads into page i. */
	ret = buf_alloc(c, o, (size_t)c->io[0].depth * NVME_PAGE, b);
	if (ret < 0)
		return ret;
	if (o->offset) {
		fprintf(stderr, "%s: bench reads page-aligned 4 KiB blocks: no --offset\n",
			nvme_prog);
		return -EINVAL;
	}
	ret = bench_run(c, b->data, 1, secs, &r1);
	if (ret == 0)
		ret = bench_run(c, b->data, 32, secs, &r32);
	if (ret < 0)
		return ret;
	snprintf(line, len, "vni-nvme-bench driver=vni-nvme completions=%s qd1_iops=%.0f "
		 "qd1_p50_us=%.1f qd1_p99_us=%.1f qd32_iops=%.0f qd32_p50_us=%.1f "
		 "qd32_p99_us=%.1f", c->use_irq ? "msix" : "poll", r1.iops, r1.p50_us,
		 r1.p99_us, r32.iops, r32.p50_us, r32.p99_us);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "irq", no_argument, NULL, 'i' },
		{ "queues", required_argument, NULL, 'q' },
		{ "mem", required_argument, NULL, 'm' },
		{ "offset", required_argument, NULL, 'o' },
		{ "nsid", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { .irq = false, .queues = 1, .mem = MEM_HEAP, .offset = 0, .nsid = 1 };
	struct nvme_ctrl c;
	struct buf bufs[3];
	char bench_line[256] = "";
	const char *bdf, *cmd;
	uint64_t a = 0, b = 0;
	int opt, ret, nargs;

	memset(bufs, 0, sizeof(bufs));
	while ((opt = getopt_long(argc, argv, "+iq:m:o:n:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'i':
			o.irq = true;
			break;
		case 'q':
			if (parse_u64(optarg, &a) < 0 || a < 1 || a > NVME_MAX_IOQ) {
				fprintf(stderr, "%s: --queues: 1 to %u\n", nvme_prog, NVME_MAX_IOQ);
				return 2;
			}
			o.queues = (unsigned int)a;
			break;
		case 'm':
			if (strcmp(optarg, "heap") == 0) {
				o.mem = MEM_HEAP;
			} else if (strcmp(optarg, "huge") == 0) {
				o.mem = MEM_HUGE;
			} else {
				fprintf(stderr, "%s: --mem: heap or huge\n", nvme_prog);
				return 2;
			}
			break;
		case 'o':
			if (parse_u64(optarg, &a) < 0 || (a & 3) || a >= VNI_PAGE_SIZE_4K) {
				fprintf(stderr, "%s: --offset: a multiple of 4 below 4096\n",
					nvme_prog);
				return 2;
			}
			o.offset = (size_t)a;
			break;
		case 'n':
			if (parse_u64(optarg, &a) < 0 || a == 0 || a >= UINT32_MAX) {
				fprintf(stderr, "%s: --nsid: 1 to %u\n", nvme_prog, UINT32_MAX - 1);
				return 2;
			}
			o.nsid = (uint32_t)a;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	nargs = argc - optind;
	if (nargs < 2) {
		usage(stderr);
		return 2;
	}
	bdf = argv[optind];
	cmd = argv[optind + 1];
	nargs -= 2;
	if (!((strcmp(cmd, "identify") == 0 && nargs == 0) ||
	      (strcmp(cmd, "read") == 0 && (nargs == 2 || nargs == 3)) ||
	      (strcmp(cmd, "write") == 0 && nargs == 3) ||
	      (strcmp(cmd, "verify") == 0 && (nargs == 0 || nargs == 2)) ||
	      (strcmp(cmd, "bench") == 0 && nargs <= 1))) {
		usage(stderr);
		return 2;
	}
	if ((nargs >= 2 && strcmp(cmd, "bench") != 0 &&
	     (parse_u64(argv[optind + 2], &a) < 0 || parse_u64(argv[optind + 3], &b) < 0)) ||
	    (strcmp(cmd, "bench") == 0 && nargs == 1 &&
	     (parse_u64(argv[optind + 2], &a) < 0 || a == 0))) {
		fprintf(stderr, "%s: bad number\n", nvme_prog);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);

	ret = nvme_open(&c, bdf, o.irq);
	if (ret == 0)
		ret = nvme_identify(&c, o.nsid);
	if (ret == 0)
		ret = nvme_create_io_queues(&c, o.queues);
	if (ret == 0 && strcmp(cmd, "identify") == 0) {
		print_identify(&c);
		printf("%s: %u I/O queue pair(s) of %u entries created\n", nvme_prog, c.nioq,
		       c.io[0].depth);
		print_prp_pool(&c);
	} else if (ret == 0 && strcmp(cmd, "read") == 0) {
		ret = cmd_read(&c, &o, a, b, nargs == 3 ? argv[optind + 4] : NULL, &bufs[0]);
	} else if (ret == 0 && strcmp(cmd, "write") == 0) {
		ret = cmd_write(&c, &o, a, b, argv[optind + 4], &bufs[0]);
	} else if (ret == 0 && strcmp(cmd, "verify") == 0) {
		if (nargs == 0) {
			a = 0;
			b = (NVME_MAX_XFER + NVME_PAGE) / c.lba_size;
			if (b > c.nsze)
				b = c.nsze;
		}
		ret = cmd_verify(&c, &o, a, b, bufs);
	} else if (ret == 0 && strcmp(cmd, "bench") == 0) {
		ret = cmd_bench(&c, &o, nargs == 1 ? (double)a : 3.0, &bufs[0], bench_line,
				sizeof(bench_line));
	}

	/* Shut the controller down and quiesce the device, then unmap. */
	nvme_close(&c);
	for (int i = 0; i < 3; i++)
		buf_free(c.ctx, &bufs[i]);
	nvme_destroy(&c);
	if (ret == 0)
		printf("%s: %s: OK\n", nvme_prog, cmd);
	if (ret == 0 && bench_line[0])
		printf("%s\n", bench_line);
	return ret == 0 ? 0 : 1;
}
