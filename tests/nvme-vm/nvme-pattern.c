/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * nvme-pattern: the cross-check test's data pattern, in the guest.
 *
 *   nvme-pattern gen SECTOR COUNT SEED FILE     write the pattern to FILE
 *   nvme-pattern check SECTOR COUNT SEED FILE   compare FILE with it
 *   nvme-pattern pick SEED N SECTORS            N random disjoint ranges
 *
 * Sector format (512 bytes, the same as tests/nvme-vm/nvmeimage.py on the
 * host): "VNINVME1", the sector number, the seed (little endian u64 each),
 * then byte j of the other 488 is (j + 7 * sector + 13 * seed) mod 256.
 * pick prints "START COUNT" lines; the counts cycle through sizes that
 * need no PRP2, PRP2 only, a PRP list, a full MDTS (512 KiB) and more than
 * one command.
 */
#include <errno.h>
#include <stdbool.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SECTOR 512

static void sector(uint8_t *p, uint64_t n, uint64_t seed)
{
	uint8_t off = (uint8_t)(7 * n + 13 * seed);

	memcpy(p, "VNINVME1", 8);
	for (int i = 0; i < 8; i++) {
		p[8 + i] = (uint8_t)(n >> (8 * i));
		p[16 + i] = (uint8_t)(seed >> (8 * i));
	}
	for (int j = 0; j < SECTOR - 24; j++)
		p[24 + j] = (uint8_t)(j + off);
}

static int num(const char *s, uint64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 0);
	if (errno || end == s || *end) {
		fprintf(stderr, "nvme-pattern: bad number '%s'\n", s);
		return -1;
	}
	return 0;
}

static void describe(const uint8_t *p, char *out, size_t len)
{
	uint64_t n = 0, seed = 0;

	if (memcmp(p, "VNINVME1", 8) != 0) {
		snprintf(out, len, "no pattern header (first bytes %02x %02x %02x %02x)", p[0],
			 p[1], p[2], p[3]);
		return;
	}
	for (int i = 7; i >= 0; i--) {
		n = n << 8 | p[8 + i];
		seed = seed << 8 | p[16 + i];
	}
	snprintf(out, len, "the pattern of sector %" PRIu64 " seed %#" PRIx64, n, seed);
}

static int gen_or_check(bool check, uint64_t start, uint64_t count, uint64_t seed,
			const char *file)
{
	uint8_t want[SECTOR], got[SECTOR];
	FILE *f = fopen(file, check ? "rbe" : "wbe");
	uint64_t bad = 0;
	char d[96];

	if (!f) {
		fprintf(stderr, "nvme-pattern: %s: %s\n", file, strerror(errno));
		return 1;
	}
	for (uint64_t n = start; n < start + count; n++) {
		sector(want, n, seed);
		if (!check) {
			if (fwrite(want, SECTOR, 1, f) != 1)
				break;
			continue;
		}
		if (fread(got, SECTOR, 1, f) != 1) {
			fprintf(stderr, "nvme-pattern: %s ends at sector %" PRIu64 " of %" PRIu64
				"+%" PRIu64 "\n", file, n, start, count);
			fclose(f);
			return 1;
		}
		if (memcmp(want, got, SECTOR) != 0) {
			if (bad++ == 0) {
				describe(got, d, sizeof(d));
				fprintf(stderr, "nvme-pattern: %s: sector %" PRIu64 " is not the "
					"pattern with seed %#" PRIx64 ": it holds %s\n", file, n,
					seed, d);
			}
		}
	}
	if (fclose(f) != 0 && !check) {
		fprintf(stderr, "nvme-pattern: writing %s: %s\n", file, strerror(errno));
		return 1;
	}
	if (bad) {
		fprintf(stderr, "nvme-pattern: %s: %" PRIu64 " of %" PRIu64 " sectors wrong\n",
			file, bad, count);
		return 1;
	}
	if (check)
		printf("nvme-pattern: %s: sectors %" PRIu64 "+%" PRIu64 " hold the pattern with "
		       "seed %#" PRIx64 "\n", file, start, count, seed);
	return 0;
}

static uint64_t rng_state;

static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static int pick(uint64_t seed, uint64_t n, uint64_t sectors)
{
	/* 4 KiB: PRP1 only; 8 KiB: PRP2; 12 KiB: list; 512 KiB: MDTS; 750 KiB:
	 * two commands; odd sizes and starts put PRP1 at an offset. */
	static const uint64_t sizes[] = { 8, 16, 24, 1024, 1500, 1, 137, 256 };
	uint64_t *s = calloc(n, sizeof(*s)), *c = calloc(n, sizeof(*c));

	if (!s || !c)
		return 1;
	rng_state = seed | 1;
	for (uint64_t i = 0; i < n; i++) {
		c[i] = sizes[i % (sizeof(sizes) / sizeof(sizes[0]))];
		for (int tries = 0;; tries++) {
			bool clash = false;

			if (tries == 10000 || c[i] > sectors) {
				fprintf(stderr, "nvme-pattern: cannot place %" PRIu64 " ranges\n", n);
				return 1;
			}
			s[i] = rng() % (sectors - c[i] + 1);
			for (uint64_t j = 0; j < i && !clash; j++)
				clash = s[i] < s[j] + c[j] && s[j] < s[i] + c[i];
			if (!clash)
				break;
		}
		printf("%" PRIu64 " %" PRIu64 "\n", s[i], c[i]);
	}
	free(s);
	free(c);
	return 0;
}

int main(int argc, char **argv)
{
	uint64_t a, b, seed;

	if (argc == 6 && (strcmp(argv[1], "gen") == 0 || strcmp(argv[1], "check") == 0)) {
		if (num(argv[2], &a) || num(argv[3], &b) || num(argv[4], &seed))
			return 2;
		return gen_or_check(argv[1][0] == 'c', a, b, seed, argv[5]);
	}
	if (argc == 5 && strcmp(argv[1], "pick") == 0) {
		if (num(argv[2], &seed) || num(argv[3], &a) || num(argv[4], &b))
			return 2;
		return pick(seed, a, b);
	}
	fprintf(stderr, "usage: nvme-pattern gen|check SECTOR COUNT SEED FILE\n"
			"       nvme-pattern pick SEED N SECTORS\n");
	return 2;
}
