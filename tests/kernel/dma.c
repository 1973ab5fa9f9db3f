// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * noiommu-dma [BDF...]: real DMA at the addresses GET_PA returns.
 *
 * Every edu device given (default 0000:00:04.0 and 0000:00:05.0, bound to
 * vfio-pci in noiommu mode) is bound to one iommufd and attached to one
 * IOAS. A source and a destination buffer of 4 KiB pages are mapped there;
 * each device copies the source to the destination through its own 4 KiB
 * buffer (RAM -> device at 0x40000 -> RAM), one physically contiguous
 * piece at a time, starting at an odd offset, with the physical addresses
 * and run lengths GET_PA reported. The destination is compared byte for
 * byte, including guard bytes around the copied range that must stay
 * untouched. Then the same through a 2 MiB hugetlbfs page, with transfers
 * of almost 4 KiB that cross 4 KiB page boundaries, and a relay where one
 * device reads what the other wrote.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "kt-edu.h"
#include "kt-iommufd.h"
#include "kt-mem.h"
#include "kt-tap.h"

#define MAX_DEVS 2
#define BUF_LEN (64 * 1024)
#define GUARD 100
#define IOVA_SRC 0x40000000ULL
#define IOVA_DST 0x50000000ULL
#define IOVA_HUGE 0x60000000ULL
#define FILL 0xee

struct dev {
	const char *bdf;
	int fd;
	uint32_t dev_id;
	struct kt_edu edu;
};

struct span {
	uint64_t src_iova;
	uint64_t dst_iova;
	size_t len;
};

static int iommufd;
static uint32_t ioas;
static unsigned int dmas;

/*
 * Copies span->len bytes from src_iova to dst_iova through the device's
 * buffer. Each transfer is at most KT_EDU_MAX_XFER bytes and physically
 * contiguous on both sides, as GET_PA says.
 */
static int copy(struct dev *d, const struct span *s, unsigned int *pieces)
{
	uint64_t done = 0, sent, spa, slen, dpa, dlen;
	int ret;

	while (done < s->len) {
		sent = s->len - done < KT_EDU_MAX_XFER ? s->len - done : KT_EDU_MAX_XFER;
		ret = kt_get_pa(iommufd, ioas, s->src_iova + done, sent, &spa, &slen);
		if (ret)
			return ret;
		ret = kt_edu_dma(&d->edu, spa, KT_EDU_BUF, slen, false);
		if (ret)
			return ret;
		dmas++;
		for (sent = 0; sent < slen; sent += dlen) {
			ret = kt_get_pa(iommufd, ioas, s->dst_iova + done + sent, slen - sent,
					&dpa, &dlen);
			if (ret)
				return ret;
			ret = kt_edu_dma(&d->edu, KT_EDU_BUF + sent, dpa, dlen, true);
			if (ret)
				return ret;
			dmas++;
		}
		(*pieces)++;
		done += slen;
	}
	return 0;
}

/* Index of the first wrong byte of dst, or -1. */
static long verify(const uint8_t *src, const uint8_t *dst, size_t len, size_t start,
		   size_t n)
{
	size_t i;

	for (i = 0; i < len; i++) {
		uint8_t want = i >= start && i < start + n ? src[i] : FILL;

		if (dst[i] != want)
			return (long)i;
	}
	return -1;
}

static void fill_random(uint8_t *p, size_t len, uint64_t *seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t)(kt_rand(seed) >> 56);
}

static void round_trip(struct dev *d, const char *what, const uint8_t *src, uint8_t *dst,
		       size_t len, const struct span *s, size_t start)
{
	unsigned int pieces = 0, before = dmas;
	long bad;
	int ret;

	memset(dst, FILL, len);
	ret = copy(d, s, &pieces);
	bad = ret ? -1 : verify(src, dst, len, start, s->len);
	kt_check(!ret && bad < 0,
		 "%s: %s: %zu bytes RAM -> edu -> RAM in %u contiguous pieces, %u DMAs, "
		 "compared byte for byte with %zu guard bytes untouched%s%s",
		 d->bdf, what, s->len, pieces, dmas - before, len - s->len,
		 ret ? ": " : "", ret ? kt_errname(ret) : "");
	if (bad >= 0)
		kt_diag("first wrong byte at offset %ld: %#x", bad, dst[bad]);
}

static int open_dev(struct dev *d)
{
	int ret;

	d->fd = kt_open_cdev(d->bdf);
	if (d->fd < 0) {
		kt_diag("%s: open the noiommu cdev: %s", d->bdf, kt_errname(d->fd));
		return d->fd;
	}
	ret = kt_bind(d->fd, iommufd, &d->dev_id);
	if (!ret)
		ret = kt_attach(d->fd, ioas, NULL);
	if (!ret)
		ret = kt_edu_open(&d->edu, d->fd);
	kt_check(!ret, "%s: bind (dev_id %u), attach to IOAS %u, edu id %#x: %s", d->bdf,
		 d->dev_id, ioas, d->edu.id, kt_errname(ret));
	return ret;
}

int main(int argc, char **argv)
{
	static const char *const defaults[] = { "0000:00:04.0", "0000:00:05.0" };
	struct rlimit unlimited = { RLIM_INFINITY, RLIM_INFINITY };
	struct dev devs[MAX_DEVS];
	struct kt_buf src, dst, huge;
	uint64_t seed = 0x65647564ULL, iova;
	struct span s;
	int ndev, i, ret;

	kt_start("noiommu-dma");
	setrlimit(RLIMIT_MEMLOCK, &unlimited);
	ndev = argc > 1 ? argc - 1 : MAX_DEVS;
	if (ndev > MAX_DEVS)
		kt_bail("at most %d devices", MAX_DEVS);
	memset(devs, 0, sizeof(devs));
	for (i = 0; i < ndev; i++)
		devs[i].bdf = argc > 1 ? argv[i + 1] : defaults[i];

	iommufd = kt_open_iommufd();
	if (iommufd < 0 || kt_ioas_alloc(iommufd, &ioas))
		kt_bail("iommufd: %s", kt_errname(iommufd));
	for (i = 0; i < ndev; i++)
		if (open_dev(&devs[i]))
			kt_bail("%s unusable", devs[i].bdf);

	if (kt_buf_alloc(&src, BUF_LEN, false) || kt_buf_alloc(&dst, BUF_LEN, false))
		kt_bail("buffers");
	fill_random(src.va, src.len, &seed);
	iova = IOVA_SRC;
	ret = kt_map(iommufd, ioas, src.va, src.len, &iova,
		     IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_FIXED_IOVA);
	if (!ret) {
		iova = IOVA_DST;
		ret = kt_map(iommufd, ioas, dst.va, dst.len, &iova,
			     KT_MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA);
	}
	if (!kt_check(!ret, "map %d KiB source (read-only) and destination: %s", BUF_LEN / 1024,
		      kt_errname(ret)))
		kt_bail("map");

	/* From an odd offset to GUARD bytes before the end. */
	s.src_iova = IOVA_SRC + GUARD;
	s.dst_iova = IOVA_DST + GUARD;
	s.len = BUF_LEN - 2 * GUARD;
	for (i = 0; i < ndev; i++)
		round_trip(&devs[i], "4 KiB pages", src.va, dst.va, BUF_LEN, &s, GUARD);

	ret = kt_buf_alloc(&huge, KT_HUGE, true);
	if (!kt_check(!ret, "hugetlbfs buffer of 2 MiB: %s", kt_errname(ret)))
		kt_bail("no huge page (%lu free)", kt_hugepages_free());
	fill_random(huge.va, KT_HUGE / 2, &seed);
	iova = IOVA_HUGE;
	ret = kt_map(iommufd, ioas, huge.va, huge.len, &iova, KT_MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA);
	kt_check(!ret, "map the huge page at iova %#" PRIx64 ": %s", iova, kt_errname(ret));
	/* Pieces of almost 4 KiB that straddle 4 KiB page boundaries of the huge page. */
	s.src_iova = IOVA_HUGE + 2048;
	s.dst_iova = IOVA_HUGE + KT_HUGE / 2 + 2048;
	s.len = 8 * KT_PAGE;
	for (i = 0; i < ndev; i++)
		round_trip(&devs[i], "2 MiB page", huge.va, huge.va + KT_HUGE / 2, KT_HUGE / 2,
			   &s, 2048);

	if (ndev == 2) {
		/* Device 0 copies src -> dst, device 1 copies dst -> the huge page. */
		unsigned int pieces = 0;
		long bad;

		memset(dst.va, FILL, dst.len);
		memset(huge.va, FILL, KT_HUGE);
		s.src_iova = IOVA_SRC;
		s.dst_iova = IOVA_DST;
		s.len = BUF_LEN;
		ret = copy(&devs[0], &s, &pieces);
		s.src_iova = IOVA_DST;
		s.dst_iova = IOVA_HUGE + 1;
		if (!ret)
			ret = copy(&devs[1], &s, &pieces);
		bad = ret ? -1 : verify(src.va, huge.va + 1, BUF_LEN, 0, BUF_LEN);
		kt_check(!ret && bad < 0 && huge.va[0] == FILL && huge.va[BUF_LEN + 1] == FILL,
			 "relay: %s wrote %d KiB that %s read back, compared byte for byte: %s",
			 devs[0].bdf, BUF_LEN / 1024, devs[1].bdf, kt_errname(ret));
		if (bad >= 0)
			kt_diag("first wrong byte at offset %ld", bad);
	}
	kt_diag("%u DMA transfers in total", dmas);

	for (i = 0; i < ndev; i++) {
		kt_edu_close(&devs[i].edu);
		close(devs[i].fd);
	}
	close(iommufd);
	kt_buf_free(&src);
	kt_buf_free(&dst);
	kt_buf_free(&huge);
	return kt_finish();
}
