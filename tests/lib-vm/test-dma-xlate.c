/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vni-test-dma-xlate [BDF [BACKEND]]: DMA mapping and translation against an
 * independent source, /proc/self/pagemap (read here, not by the library), on
 * a no-IOMMU backend (noiommu, or legacy, which reads pagemap itself: the
 * test's own reading still checks it); BACKEND: the one expected in use.
 *
 * For each mapping (2 MiB hugepage buffers, caller hugetlb memory, 4 KiB
 * buffers, caller anonymous memory populated or not, two adjacent mappings):
 *   - every page's vni_dma_addr() and vni_dma_addr_fast() (at a varying byte
 *     offset) equals the physical address from pagemap
 *   - vni_dma_segments() of the whole mapping equals the physically
 *     contiguous runs computed from pagemap, and so does an unaligned
 *     sub-range; -ENOSPC with one segment too few
 *   - vni_dma_contig() at several offsets
 *   - GET_PA calls made by the map == number of contiguous runs (pagemap),
 *     vni_dma_lookup() reports the same number of runs, length, flags
 *   - 2 MiB table leaves for hugepage buffers (fresh context)
 * plus the context counters, error returns of map/unmap/free, and that
 * translations vanish after unmap; then DMA pools (64 B, 8 KiB, 4 KiB of
 * 4 KiB pages): every object aligned, in one page, its DMA address ==
 * pagemap, growth, reuse, refused frees, and edu DMA through pool objects. Needs a bound no-IOMMU device (default
 * 0000:00:04.0) and about 8 free 2 MiB hugepages (legacy: 12).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmtest.h"

#ifndef MAP_HUGE_SHIFT
#define MAP_HUGE_SHIFT 26
#endif
#ifndef MAP_HUGE_2MB
#define MAP_HUGE_2MB (21 << MAP_HUGE_SHIFT)
#endif

#define MiB (1024ul * 1024ul)

static int pm;
static struct vni_ctx *ctx;
/* The legacy backend: no GET_PA, hugepage-only buffers, caller memory of
 * 4 KiB pages only with VNI_DMA_MAP_MAY_MOVE. */
static bool legacy;
static unsigned int may_move;

struct live {
	void *va;
	size_t len;
	uint64_t runs;
};
static struct live lives[32];
static size_t nlives;

static struct vni_ctx_stats stats(void)
{
	struct vni_ctx_stats s = { .struct_size = sizeof(s) };

	if (vni_ctx_stats(ctx, &s) < 0)
		vt_bail("vni_ctx_stats");
	return s;
}

/* Expected segments of [va, va+len) from pagemap runs covering it. */
static size_t expected_segments(const struct vt_run *runs, size_t nruns, uint64_t va,
				uint64_t len, struct vni_dma_seg *out, size_t max)
{
	size_t n = 0;
	uint64_t end = va + len;

	for (size_t i = 0; i < nruns; i++) {
		uint64_t rs = runs[i].va, re = runs[i].va + runs[i].len;
		uint64_t s = rs > va ? rs : va, e = re < end ? re : end;

		if (s >= e)
			continue;
		if (n < max) {
			out[n].dma = runs[i].pa + (s - rs);
			out[n].len = e - s;
		}
		n++;
	}
	return n;
}

static bool segs_equal(const struct vni_dma_seg *a, const struct vni_dma_seg *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i].dma != b[i].dma || a[i].len != b[i].len)
			return false;
	return true;
}

/* Translation of every page, segments and contig of [va, va+len) vs pagemap.
 * Returns the number of runs, or (size_t)-1. */
static size_t check_translation(const char *name, void *va, size_t len)
{
	struct vt_run *runs = NULL;
	size_t nruns = 0, npages = len / 4096, bad = 0, badfast = 0;
	struct vni_dma_seg *want, *got;
	size_t nwant, ngot;
	uint64_t first_bad = 0;
	int ret;

	ret = vt_pagemap_runs(pm, va, len, &runs, &nruns);
	if (ret < 0) {
		vt_ok(false, "%s: pagemap: %s", name, strerror(-ret));
		return (size_t)-1;
	}
	vt_diag("%s: %p+%#zx, %zu pages, %zu physically contiguous run(s) per pagemap; "
		"first run pa %#llx len %#llx", name, va, len, npages, nruns,
		(unsigned long long)runs[0].pa, (unsigned long long)runs[0].len);

	/* Every page, at a byte offset that varies from page to page. */
	for (size_t r = 0, i = 0; r < nruns; r++) {
		for (uint64_t o = 0; o < runs[r].len; o += 4096, i++) {
			uint64_t off = (i * 8 * 97) % 4096;
			const uint8_t *p = (const uint8_t *)(uintptr_t)(runs[r].va + o) + off;
			uint64_t want_pa = runs[r].pa + o + off, dma = 0, fast;

			ret = vni_dma_addr(ctx, p, &dma);
			if (ret < 0 || dma != want_pa) {
				if (!bad)
					first_bad = (uint64_t)(uintptr_t)p;
				bad++;
			}
			fast = vni_dma_addr_fast(ctx, p);
			if (fast != want_pa)
				badfast++;
		}
	}
	vt_ok(bad == 0, "%s: vni_dma_addr of all %zu pages == pagemap (%zu wrong, first at %#llx)",
	      name, npages, bad, (unsigned long long)first_bad);
	vt_ok(badfast == 0, "%s: vni_dma_addr_fast of all %zu pages == pagemap (%zu wrong)",
	      name, npages, badfast);
	{
		uint64_t last_pa = 0, dma = 0;
		const uint8_t *last = (const uint8_t *)va + len - 1;

		vt_pagemap_pa(pm, last, &last_pa);
		ret = vni_dma_addr(ctx, last, &dma);
		vt_ok(ret == 0 && dma == last_pa, "%s: last byte -> %#llx (pagemap %#llx)", name,
		      (unsigned long long)dma, (unsigned long long)last_pa);
	}

	/* Segments of the whole range. */
	want = calloc(nruns + 1, sizeof(*want));
	got = calloc(nruns + 1, sizeof(*got));
	if (!want || !got)
		vt_bail("calloc");
	nwant = expected_segments(runs, nruns, (uint64_t)(uintptr_t)va, len, want, nruns + 1);
	ret = vni_dma_segments(ctx, va, len, got, nruns + 1, &ngot);
	vt_ok(ret == 0 && ngot == nwant && segs_equal(got, want, nwant),
	      "%s: vni_dma_segments(whole) = %d, %zu segment(s), pagemap %zu, all equal",
	      name, ret, ngot, nwant);
	if (nruns > 1) {
		size_t nn = 0;

		ret = vni_dma_segments(ctx, va, len, got, nruns - 1, &nn);
		vt_ok(ret == -ENOSPC && nn == nruns && segs_equal(got, want, nruns - 1),
		      "%s: vni_dma_segments with %zu slots = %d (-ENOSPC), needs %zu", name,
		      nruns - 1, ret, nn);
	}
	/* An unaligned sub-range. */
	if (len > 8192) {
		uint64_t s = (uint64_t)(uintptr_t)va + 100, l = len - 100 - 300;

		nwant = expected_segments(runs, nruns, s, l, want, nruns + 1);
		ret = vni_dma_segments(ctx, (void *)(uintptr_t)s, l, got, nruns + 1, &ngot);
		vt_ok(ret == 0 && ngot == nwant && segs_equal(got, want, nwant),
		      "%s: vni_dma_segments(+100, len-400) = %d, %zu segment(s), pagemap %zu",
		      name, ret, ngot, nwant);
	}
	/* Contig at the start of each run (up to 8 runs) and mid-run. */
	for (size_t r = 0; r < nruns && r < 8; r++) {
		uint64_t dma = 0;
		size_t contig = 0;
		uint64_t mid = runs[r].len / 2 + 12;
		uint64_t rest = (uint64_t)(uintptr_t)va + len - (runs[r].va + mid);
		uint64_t want_c = runs[r].len - mid;

		ret = vni_dma_contig(ctx, (void *)(uintptr_t)(runs[r].va + mid), (size_t)rest,
				     &dma, &contig);
		if (!vt_ok(ret == 0 && dma == runs[r].pa + mid && contig == want_c,
			   "%s: vni_dma_contig(run %zu + %#llx) = %d: dma %#llx contig %#zx "
			   "(pagemap %#llx, %#llx)", name, r, (unsigned long long)mid, ret,
			   (unsigned long long)dma, contig, (unsigned long long)(runs[r].pa + mid),
			   (unsigned long long)want_c))
			break;
	}
	{
		uint64_t dma = 0;
		size_t contig = 0;

		ret = vni_dma_contig(ctx, va, 100, &dma, &contig);
		vt_ok(ret == 0 && contig == 100 && dma == runs[0].pa,
		      "%s: vni_dma_contig(start, 100) caps at 100 (%zu)", name, contig);
	}
	free(want);
	free(got);
	free(runs);
	return nruns;
}

/* After a map: GET_PA calls and lookup info vs pagemap runs; record it. */
static void check_mapping(const char *name, void *va, size_t len, size_t want_len,
			  const struct vni_ctx_stats *before, uint32_t want_flags,
			  size_t want_page)
{
	struct vni_ctx_stats after = stats();
	struct vni_dma_mapping_info mi = { .struct_size = sizeof(mi) };
	uint64_t calls = after.get_pa_calls - before->get_pa_calls;
	size_t nruns;
	int ret;

	vt_ok(len == want_len, "%s: mapping length %#zx (want %#zx)", name, len, want_len);
	nruns = check_translation(name, va, len);
	if (nruns == (size_t)-1)
		return;
	vt_ok(calls == (legacy ? 0 : nruns), "%s: GET_PA calls during the map = %llu, "
	      "contiguous runs (pagemap) = %zu%s", name, (unsigned long long)calls, nruns,
	      legacy ? " (legacy backend: no GET_PA)" : "");
	mi = (struct vni_dma_mapping_info){ .struct_size = sizeof(mi) };
	ret = vni_dma_lookup(ctx, (uint8_t *)va + len / 2, &mi);
	vt_ok(ret == 0 && mi.vaddr == va && mi.len == len && mi.runs == nruns &&
	      mi.flags == want_flags && mi.page_size == want_page,
	      "%s: vni_dma_lookup = %d: vaddr %p len %#zx runs %llu flags %#x page %#zx", name,
	      ret, mi.vaddr, mi.len, (unsigned long long)mi.runs, mi.flags, mi.page_size);
	vt_ok(after.map_calls == before->map_calls + 1 &&
	      after.mappings == before->mappings + 1 &&
	      after.mapped_bytes == before->mapped_bytes + len &&
	      after.runs == before->runs + nruns,
	      "%s: counters: map_calls +%llu, mappings +%llu, bytes +%#llx, runs +%llu", name,
	      (unsigned long long)(after.map_calls - before->map_calls),
	      (unsigned long long)(after.mappings - before->mappings),
	      (unsigned long long)(after.mapped_bytes - before->mapped_bytes),
	      (unsigned long long)(after.runs - before->runs));
	if (nlives < sizeof(lives) / sizeof(lives[0]))
		lives[nlives++] = (struct live){ va, len, nruns };
}

/* 2 MiB blocks of [va, va+len) that lie inside one physical run. */
static size_t whole_2m_blocks(void *va, size_t len)
{
	struct vt_run *runs = NULL;
	size_t nruns = 0, n = 0;
	uint64_t s = (uint64_t)(uintptr_t)va, e = s + len;

	if (vt_pagemap_runs(pm, va, len, &runs, &nruns) < 0)
		return 0;
	for (uint64_t b = (s + 2 * MiB - 1) & ~(2 * MiB - 1); b + 2 * MiB <= e; b += 2 * MiB)
		for (size_t r = 0; r < nruns; r++)
			if (runs[r].va <= b && runs[r].va + runs[r].len >= b + 2 * MiB)
				n++;
	free(runs);
	return n;
}

static void *alloc_checked(const char *name, size_t len, unsigned int flags, size_t want_len,
			   uint32_t want_flags, size_t want_page, bool check_leaves)
{
	struct vni_ctx_stats before = stats(), after;
	struct vni_dma_mapping_info mi = { .struct_size = sizeof(mi) };
	void *p = NULL;
	int ret = vni_dma_alloc(ctx, len, flags, &p);

	if (!vt_ok_call(ret, name))
		return NULL;
	if (vni_dma_lookup(ctx, p, &mi) < 0)
		vt_bail("vni_dma_lookup");
	vt_ok(((uintptr_t)p & (want_page - 1)) == 0, "%s: %p aligned to %#zx", name, p,
	      want_page);
	{
		const uint8_t *b = p;
		size_t nz = 0;

		for (size_t i = 0; i < mi.len; i += 512)
			nz += b[i] != 0;
		vt_ok(nz == 0, "%s: buffer is zero-filled", name);
	}
	check_mapping(name, p, mi.len, want_len, &before, want_flags, want_page);
	if (check_leaves) {
		size_t blocks = whole_2m_blocks(p, mi.len);

		after = stats();
		vt_ok(after.leaf_2m - before.leaf_2m == blocks,
		      "%s: %llu 2 MiB table leaves added, %zu 2 MiB blocks are contiguous", name,
		      (unsigned long long)(after.leaf_2m - before.leaf_2m), blocks);
	}
	return p;
}

static void *map_checked(const char *name, void *va, size_t len, unsigned int flags)
{
	struct vni_ctx_stats before = stats();
	int ret = vni_dma_map(ctx, va, len, flags);

	if (!vt_ok_call(ret, name))
		return NULL;
	check_mapping(name, va, len, len, &before, 0, 4096);
	return va;
}

static void *mmap_anon(size_t len, int extra)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | extra,
		       -1, 0);

	if (p == MAP_FAILED)
		vt_bail("mmap %zu bytes (flags %#x): %s", len, extra, strerror(errno));
	return p;
}

static void check_gone(const char *name, void *va, size_t len)
{
	uint64_t dma = 0;
	int ret = vni_dma_addr(ctx, va, &dma);
	int ret2 = vni_dma_addr(ctx, (uint8_t *)va + len - 1, &dma);

	vt_ok(ret == -ENOENT && ret2 == -ENOENT &&
	      vni_dma_addr_fast(ctx, va) == VNI_DMA_ADDR_INVALID,
	      "%s: after unmap first/last byte -> %d/%d (-ENOENT), fast -> INVALID", name, ret,
	      ret2);
}

static void forget(void *va)
{
	for (size_t i = 0; i < nlives; i++)
		if (lives[i].va == va) {
			lives[i] = lives[--nlives];
			return;
		}
}

/* One pool object against pagemap: aligned to its size (virtual and DMA),
 * inside one page when it fits in one, every 4 KiB page of it at
 * dma + offset per pagemap (one physically contiguous piece). */
static bool pool_obj_ok(const void *obj, uint64_t dma, size_t sz, const char **why)
{
	uint64_t va = (uint64_t)(uintptr_t)obj, pa = 0, d = 0;

	if ((va | dma) & (sz - 1))
		return *why = "not aligned to its size", false;
	if (sz <= 4096 && (va >> 12) != ((va + sz - 1) >> 12))
		return *why = "straddles a page", false;
	if (vni_dma_addr(ctx, obj, &d) < 0 || d != dma)
		return *why = "vni_dma_addr disagrees", false;
	for (uint64_t o = 0; o < sz; o += 4096)
		if (vt_pagemap_pa(pm, (const uint8_t *)obj + o, &pa) < 0 || pa != dma + o)
			return *why = "pagemap disagrees", false;
	return true;
}

/* Allocate n objects of pool p (size sz), each checked against pagemap;
 * the array is malloc()ed. */
static void **pool_fill(const char *name, struct vni_dma_pool *p, size_t n, size_t sz)
{
	void **objs = calloc(n, sizeof(*objs));
	size_t bad = 0, failed = 0;
	const char *why = "";
	uint64_t first_dma = 0;

	if (!objs)
		vt_bail("calloc");
	for (size_t i = 0; i < n; i++) {
		uint64_t dma = 0;

		if (vni_dma_pool_alloc(p, &objs[i], &dma) < 0) {
			objs[i] = NULL;
			failed++;
			continue;
		}
		if (i == 0)
			first_dma = dma;
		if (!pool_obj_ok(objs[i], dma, sz, &why))
			bad++;
	}
	vt_ok(failed == 0 && bad == 0, "%s: %zu objects of %zu B: aligned, one page, DMA address "
	      "== pagemap (%zu failed, %zu wrong%s%s); first %p -> %#llx", name, n, sz, failed,
	      bad, bad ? ": " : "", bad ? why : "", objs[0], (unsigned long long)first_dma);
	return objs;
}

static void pool_drain(struct vni_dma_pool *p, void **objs, size_t n)
{
	size_t bad = 0;

	for (size_t i = 0; i < n; i++)
		if (objs[i] && vni_dma_pool_free(p, objs[i]) < 0)
			bad++;
	vt_ok(bad == 0, "freed %zu objects (%zu refused)", n, bad);
	free(objs);
}

static struct vni_dma_pool_info pool_info(struct vni_dma_pool *p)
{
	struct vni_dma_pool_info i = { .struct_size = sizeof(i) };

	if (vni_dma_pool_info(p, &i) < 0)
		vt_bail("vni_dma_pool_info");
	return i;
}

/* edu DMA: src object -> edu buffer -> dst object, len bytes, verified. */
static void pool_dma(const char *name, struct vni_device *dev, void *src, void *dst,
		     uint32_t len, uint32_t seed)
{
	uint64_t s = vni_dma_addr_fast(ctx, src), d = vni_dma_addr_fast(ctx, dst);
	ptrdiff_t diff;
	int r1, r2;

	vt_fill_pattern(src, len, seed);
	memset(dst, 0xa5, len);
	r1 = vt_edu_dma(dev, s, EDU_BUF_ADDR, len, false, false);
	r2 = r1 ? r1 : vt_edu_dma(dev, EDU_BUF_ADDR, d, len, true, false);
	diff = vt_memdiff(src, dst, len);
	vt_ok(r1 == 0 && r2 == 0 && diff < 0, "%s: edu DMA %u bytes %#llx -> edu -> %#llx: %s "
	      "(rc %d/%d)", name, len, (unsigned long long)s, (unsigned long long)d,
	      diff < 0 ? "verified" : "MISMATCH", r1, r2);
}

/* DMA pools: objects against pagemap, growth, reuse, refusals, edu DMA
 * into pool objects. Needs 4 free hugepages. */
static void test_pools(struct vni_device *dev)
{
	struct vni_dma_pool *small = NULL, *big = NULL, *pages = NULL;
	struct vni_dma_pool_info pi = { .struct_size = sizeof(pi) };
	void **so, **bo, **po = NULL, *x = NULL;
	size_t sn, bn;
	int ret;

	/* 64 B objects in hugepage chunks: the whole first chunk, then one more */
	ret = vni_dma_pool_create(ctx, 64, 0, VNI_DMA_POOL_HUGE, &small);
	if (!vt_ok_call(ret, "vni_dma_pool_create 64 B, hugepage chunks"))
		return;
	pi = pool_info(small);
	vt_ok(pi.objs == 2 * MiB / 64 && pi.chunks == 1 && pi.huge_chunks == 1,
	      "64 B pool: %llu objects in %llu chunk(s), %llu huge", (unsigned long long)pi.objs,
	      (unsigned long long)pi.chunks, (unsigned long long)pi.huge_chunks);
	sn = (size_t)pi.objs + 1;
	so = pool_fill("64 B pool", small, sn, 64);
	pi = pool_info(small);
	vt_ok(pi.chunks == 2 && pi.in_use == sn, "64 B pool grew to %llu chunks, %llu in use",
	      (unsigned long long)pi.chunks, (unsigned long long)pi.in_use);
	{
		struct vni_dma_mapping_info mi = { .struct_size = sizeof(mi) };

		ret = vni_dma_lookup(ctx, so[0], &mi);
		vt_ok(ret == 0 && mi.vaddr == so[0] && mi.len == 2 * MiB && mi.runs == 1 &&
		      (mi.flags & VNI_DMA_MAPPING_POOL) && (mi.flags & VNI_DMA_MAPPING_HUGE),
		      "64 B pool: its chunk is a 2 MiB hugepage mapping, one run, flags %#x",
		      ret == 0 ? mi.flags : 0);
		vt_ok_err(vni_dma_free(ctx, so[0]), -EBUSY, "vni_dma_free of a pool chunk",
			  "vni_dma_pool_free", (const char *)NULL);
	}
	/* LIFO reuse and refused frees */
	x = so[1000];
	vt_ok_call(vni_dma_pool_free(small, x), "free one object");
	{
		void *y = NULL;
		uint64_t d = 0;

		ret = vni_dma_pool_alloc(small, &y, &d);
		vt_ok(ret == 0 && y == x, "the object freed last comes back first (%p, %p)", x, y);
	}
	vt_ok_err(vni_dma_pool_free(small, (uint8_t *)x + 32), -EINVAL,
		  "vni_dma_pool_free inside an object", (const char *)NULL);
	vt_ok_err(vni_dma_pool_free(small, &pi), -EINVAL,
		  "vni_dma_pool_free of foreign memory", (const char *)NULL);

	/* 8 KiB objects share hugepages, each physically contiguous */
	ret = vni_dma_pool_create(ctx, 8192, 0, 0, &big);
	if (!vt_ok_call(ret, "vni_dma_pool_create 8 KiB"))
		goto out;
	bn = 2 * MiB / 8192 + 1;
	bo = pool_fill("8 KiB pool", big, bn, 8192);
	pi = pool_info(big);
	vt_ok(pi.chunks == 2 && pi.huge_chunks == 2, "8 KiB pool: %llu objects in %llu hugepage "
	      "chunks (not one hugepage each)", (unsigned long long)pi.objs,
	      (unsigned long long)pi.huge_chunks);

	/* 4 KiB objects in 64 KiB chunks of 4 KiB pages (not on legacy) */
	ret = vni_dma_pool_create(ctx, 4096, 40, VNI_DMA_POOL_SMALL | VNI_DMA_POOL_ZERO, &pages);
	if (legacy) {
		vt_ok_err(ret, -EINVAL, "legacy: a pool of 4 KiB pages is refused", "hugepages",
			  (const char *)NULL);
	} else if (vt_ok_call(ret, "vni_dma_pool_create 4 KiB, 4 KiB pages, max 40")) {
		po = pool_fill("4 KiB pool", pages, 40, 4096);
		pi = pool_info(pages);
		vt_ok(pi.chunks == 3 && pi.huge_chunks == 0, "4 KiB pool: 3 chunks of 64 KiB (%llu)",
		      (unsigned long long)pi.chunks);
		vt_ok_err(vni_dma_pool_alloc(pages, &x, NULL), -ENOMEM,
			  "4 KiB pool: the 41st object is over the maximum", (const char *)NULL);
	}

	/* the device reads and writes pool objects */
	vt_ok_call(vni_device_set_bus_master(dev, true), "bus master on");
	pool_dma("8 KiB objects, across their page boundary", dev, (uint8_t *)bo[3] + 2048,
		 (uint8_t *)bo[bn - 1] + 2048, EDU_XFER_MAX, 11);
	pool_dma("64 B objects", dev, so[5], so[sn - 1], 64, 12);
	if (po)
		pool_dma("4 KiB objects of 4 KiB pages", dev, po[0], po[39], EDU_XFER_MAX, 13);
	vt_ok_call(vni_device_set_bus_master(dev, false), "bus master off");

	if (po)
		pool_drain(pages, po, 40);
	pool_drain(big, bo, bn);
out:
	pool_drain(small, so, sn);
	if (pages)
		vt_ok_call(vni_dma_pool_destroy(&pages), "vni_dma_pool_destroy 4 KiB");
	if (big)
		vt_ok_call(vni_dma_pool_destroy(&big), "vni_dma_pool_destroy 8 KiB");
	vt_ok_call(vni_dma_pool_destroy(&small), "vni_dma_pool_destroy 64 B");
	vt_ok_err(vni_dma_pool_destroy(&small), -EBADF, "second vni_dma_pool_destroy",
		  (const char *)NULL);
	vt_ok(stats().mappings == 0, "no mapping left after the pools (%llu)",
	      (unsigned long long)stats().mappings);
}

int main(int argc, char **argv)
{
	const char *bdf = argc > 1 ? argv[1] : EDU_BDF0;
	struct vni_device *dev = NULL;
	struct vni_ctx_stats s = { .struct_size = sizeof(s) };
	void *h2, *h6, *hcaller, *s4k, *s1m, *anon, *lazy, *adj, *adjb, *scratch;
	size_t hsize = 4 * MiB;
	int ret;

	setvbuf(stdout, NULL, _IOLBF, 0);
	pm = vt_pagemap_open();
	{
		uint64_t pa;
		int probe = 0;

		if (vt_pagemap_pa(pm, &probe, &pa) < 0)
			vt_bail("pagemap shows no PFNs (needs CAP_SYS_ADMIN)");
	}
	ret = vni_ctx_new(&ctx, 0);
	if (ret < 0)
		vt_bail("vni_ctx_new");

	/* No device yet: the kernel has no translation for the IOAS. */
	scratch = mmap_anon(4 * 4096, MAP_POPULATE);
	ret = vni_dma_map(ctx, scratch, 4096, 0);
	vt_ok_err(ret, -ENODEV, "vni_dma_map before any device is open", "open a device",
		  (const char *)NULL);
	{
		void *p = NULL;

		ret = vni_dma_alloc(ctx, 4096, 0, &p);
		vt_ok_err(ret, -ENODEV, "vni_dma_alloc before any device is open",
			  (const char *)NULL);
	}

	ret = vni_device_open(ctx, bdf, &dev);
	if (ret < 0)
		vt_bail("vni_device_open(%s)", bdf);
	legacy = vni_ctx_backend(ctx) == VNI_BACKEND_LEGACY;
	may_move = legacy ? VNI_DMA_MAP_MAY_MOVE : 0;
	vt_ok(true, "opened %s, backend %s", bdf, vni_backend_name(vni_ctx_backend(ctx)));
	if (argc > 2)
		vt_ok(strcmp(argv[2], vni_backend_name(vni_ctx_backend(ctx))) == 0,
		      "the context uses the %s backend", argv[2]);

	/* Hugepages first, in a fresh table, so that 2 MiB leaves are expected. */
	h2 = alloc_checked("alloc 2 MiB HUGE", 2 * MiB, VNI_DMA_ALLOC_HUGE, 2 * MiB,
			   VNI_DMA_MAPPING_ALLOCATED | VNI_DMA_MAPPING_HUGE, 2 * MiB, true);
	h6 = alloc_checked("alloc 4 MiB+1 HUGE", 4 * MiB + 1, VNI_DMA_ALLOC_HUGE, 6 * MiB,
			   VNI_DMA_MAPPING_ALLOCATED | VNI_DMA_MAPPING_HUGE, 2 * MiB, true);
	hcaller = mmap(NULL, hsize, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_HUGE_2MB | MAP_POPULATE,
		       -1, 0);
	if (hcaller == MAP_FAILED) {
		vt_skip("no hugepages left", "caller hugetlb memory");
		hcaller = NULL;
	} else {
		map_checked("map caller hugetlb 4 MiB", hcaller, hsize, 0);
	}

	if (legacy) {
		/* nothing pins: every buffer is a hugepage, 4 KiB pages refused */
		s4k = alloc_checked("alloc 4 KiB (legacy: a hugepage)", 100, 0, 2 * MiB,
				    VNI_DMA_MAPPING_ALLOCATED | VNI_DMA_MAPPING_HUGE, 2 * MiB,
				    true);
		vt_ok_err(vni_dma_alloc(ctx, MiB + 4096, VNI_DMA_ALLOC_SMALL, &s1m), -EINVAL,
			  "legacy: alloc SMALL refused", "hugepages", (const char *)NULL);
		vt_ok(vni_reason_last() == VNI_REASON_MAY_MOVE, "reason %s",
		      vni_reason_name(vni_reason_last()));
		s1m = NULL;
	} else {
		s4k = alloc_checked("alloc 4 KiB", 100, 0, 4096, VNI_DMA_MAPPING_ALLOCATED, 4096,
				    false);
		s1m = alloc_checked("alloc 1 MiB+4 KiB SMALL", MiB + 4096, VNI_DMA_ALLOC_SMALL,
				    MiB + 4096, VNI_DMA_MAPPING_ALLOCATED, 4096, false);
	}
	anon = mmap_anon(32 * MiB, MAP_POPULATE);
	if (legacy) {
		vt_ok_err(vni_dma_map(ctx, anon, 32 * MiB, 0), -EINVAL,
			  "legacy: 4 KiB caller memory refused without VNI_DMA_MAP_MAY_MOVE",
			  "VNI_DMA_MAP_MAY_MOVE", (const char *)NULL);
		vt_ok(vni_reason_last() == VNI_REASON_MAY_MOVE, "reason %s",
		      vni_reason_name(vni_reason_last()));
	}
	map_checked("map caller anon 32 MiB (populated)", anon, 32 * MiB, may_move);
	lazy = mmap_anon(MiB, 0);
	map_checked("map caller anon 1 MiB (not populated: the map faults it in)", lazy, MiB,
		    may_move);
	adj = mmap_anon(2 * MiB, MAP_POPULATE);
	map_checked("map adjacent A (1 MiB)", adj, MiB, may_move);
	adjb = (uint8_t *)adj + MiB;
	map_checked("map adjacent B (1 MiB)", adjb, MiB, may_move);
	check_translation("segments across adjacent mappings A+B", adj, 2 * MiB);

	/* Counters against what is live. */
	s = stats();
	{
		uint64_t bytes = 0, runs = 0;

		for (size_t i = 0; i < nlives; i++) {
			bytes += lives[i].len;
			runs += lives[i].runs;
		}
		vt_ok(s.mappings == nlives && s.mapped_bytes == bytes && s.runs == runs &&
		      s.devices == 1,
		      "stats: mappings %llu (want %zu), bytes %#llx (want %#llx), runs %llu "
		      "(want %llu), devices %llu, get_pa_calls %llu, table %llu KiB, "
		      "leaves 2M %llu 4K %llu",
		      (unsigned long long)s.mappings, nlives, (unsigned long long)s.mapped_bytes,
		      (unsigned long long)bytes, (unsigned long long)s.runs,
		      (unsigned long long)runs, (unsigned long long)s.devices,
		      (unsigned long long)s.get_pa_calls, (unsigned long long)(s.table_bytes / 1024),
		      (unsigned long long)s.leaf_2m, (unsigned long long)s.leaf_4k);
		vt_ok(s.get_pa_calls == (legacy ? 0 : runs),
		      "stats: GET_PA calls %llu == contiguous runs of all mappings %llu%s",
		      (unsigned long long)s.get_pa_calls, (unsigned long long)runs,
		      legacy ? " (legacy: none)" : "");
	}

	/* Error returns. */
	vt_ok_err(vni_dma_map(ctx, (uint8_t *)anon + 4096, 4096, may_move), -EEXIST,
		  "vni_dma_map overlapping an existing mapping", (const char *)NULL);
	vt_ok_err(vni_dma_map(ctx, (uint8_t *)scratch + 8, 4096, 0), -EINVAL,
		  "vni_dma_map of an unaligned address", (const char *)NULL);
	vt_ok_err(vni_dma_map(ctx, scratch, 4096, 4), -EINVAL, "vni_dma_map with flags 4",
		  (const char *)NULL);
	{
		void *gone = mmap_anon(2 * 4096, MAP_POPULATE);

		munmap(gone, 2 * 4096);
		/* legacy: mlock() is what finds it missing */
		vt_ok_err(vni_dma_map(ctx, gone, 2 * 4096, may_move), legacy ? -ENOMEM : -EFAULT,
			  "vni_dma_map of memory not mapped in the process", (const char *)NULL);
	}
	vt_ok_err(vni_dma_unmap(ctx, anon, MiB), -EINVAL, "vni_dma_unmap with a wrong length",
		  (const char *)NULL);
	vt_ok_err(vni_dma_unmap(ctx, (uint8_t *)anon + 4096, 4096), -ENOENT,
		  "vni_dma_unmap inside a mapping", (const char *)NULL);
	vt_ok_err(vni_dma_unmap(ctx, s4k, legacy ? 2 * MiB : 4096), -EBUSY,
		  "vni_dma_unmap of a vni_dma_alloc() buffer", "vni_dma_free", (const char *)NULL);
	vt_ok_err(vni_dma_free(ctx, anon), -EBUSY, "vni_dma_free of caller memory",
		  "vni_dma_unmap", (const char *)NULL);
	{
		uint64_t dma;

		vt_ok_err(vni_dma_addr(ctx, scratch, &dma), -ENOENT, "vni_dma_addr of unmapped memory",
			  (const char *)NULL);
	}
	s = stats();
	vt_ok(s.mappings == nlives, "failed calls left the mapping count at %llu",
	      (unsigned long long)s.mappings);

	/* Unmap everything, checking the translations disappear. */
#define UNMAP(p, l)                                                                    \
	do {                                                                           \
		if (p) {                                                               \
			vt_ok_call(vni_dma_unmap(ctx, p, l), "vni_dma_unmap " #p);     \
			check_gone(#p, p, l);                                          \
			forget(p);                                                     \
		}                                                                      \
	} while (0)
#define FREE(p, l)                                                                     \
	do {                                                                           \
		if (p) {                                                               \
			vt_ok_call(vni_dma_free(ctx, p), "vni_dma_free " #p);          \
			forget(p);                                                     \
		}                                                                      \
	} while (0)
	UNMAP(anon, 32 * MiB);
	UNMAP(lazy, MiB);
	UNMAP(adj, MiB);
	{
		uint64_t dma = 0;

		vt_ok(vni_dma_addr(ctx, adjb, &dma) == 0, "adjacent B still translates after A's unmap");
	}
	UNMAP(adjb, MiB);
	UNMAP(hcaller, hsize);
	FREE(h2, 2 * MiB);
	FREE(h6, 6 * MiB);
	FREE(s4k, 4096);
	FREE(s1m, MiB + 4096);
	vt_ok_err(vni_dma_free(ctx, s4k), -ENOENT, "second vni_dma_free", (const char *)NULL);
	vt_ok_err(vni_dma_unmap(ctx, anon, 32 * MiB), -ENOENT, "second vni_dma_unmap",
		  (const char *)NULL);
	s = stats();
	vt_ok(s.mappings == 0 && s.mapped_bytes == 0 && s.runs == 0 && s.leaf_2m == 0 &&
	      s.leaf_4k == 0,
	      "stats after unmapping all: mappings %llu bytes %llu runs %llu leaves %llu/%llu, "
	      "unmap_calls %llu, table %llu KiB kept",
	      (unsigned long long)s.mappings, (unsigned long long)s.mapped_bytes,
	      (unsigned long long)s.runs, (unsigned long long)s.leaf_2m,
	      (unsigned long long)s.leaf_4k, (unsigned long long)s.unmap_calls,
	      (unsigned long long)(s.table_bytes / 1024));

	test_pools(dev);

	/* A buffer left mapped is released by vni_ctx_destroy(). */
	s4k = NULL;
	ret = vni_dma_alloc(ctx, 3 * 4096, legacy ? 0 : VNI_DMA_ALLOC_SMALL, &s4k);
	vt_ok_call(ret, "vni_dma_alloc 12 KiB left for vni_ctx_destroy");
	vt_ok_err(vni_ctx_destroy(&ctx), -EBUSY, "vni_ctx_destroy with a device open",
		  (const char *)NULL);
	vt_ok_call(vni_device_close(&dev), "vni_device_close");
	vt_ok(dev == NULL, "vni_device_close cleared the handle");
	vt_ok_call(vni_ctx_destroy(&ctx), "vni_ctx_destroy with a buffer still mapped");
	vt_ok(ctx == NULL, "vni_ctx_destroy cleared the handle");
	vt_ok_err(vni_ctx_destroy(&ctx), -EBADF, "second vni_ctx_destroy", (const char *)NULL);
	munmap(scratch, 4 * 4096);
	close(pm);
	return vt_done();
}
