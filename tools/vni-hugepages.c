/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vni-hugepages - show, reserve and release hugepages per NUMA node, and
 * mount hugetlbfs.
 *
 * Reads and writes the kernel's pool counters in sysfs:
 *   <sys>/kernel/mm/hugepages/hugepages-<KB>kB/        the whole system
 *   <sys>/devices/system/node/nodeN/hugepages/...      one NUMA node
 * (<sys> is vt_sysfs(): VNI_SYSFS_ROOT for tests) and the hugetlbfs mounts
 * from /proc/self/mounts (VNI_MOUNTS overrides the file, for tests).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

#define MAX_SIZES 8
#define MAX_NODES 64
#define DEFAULT_MOUNT "/dev/hugepages"

/* One pool: the system's for a page size, or one node's. */
struct pool {
	uint64_t total;    /* nr_hugepages */
	uint64_t free;     /* free_hugepages */
	uint64_t surplus;  /* surplus_hugepages */
	uint64_t resv;     /* resv_hugepages (system pools only) */
	bool has_resv;
};

struct hsize {
	uint64_t kb; /* page size in KiB, as in the directory name */
	struct pool all;
	struct pool node[MAX_NODES];
};

struct state {
	struct hsize sizes[MAX_SIZES];
	size_t nsizes;
	int nodes[MAX_NODES]; /* node numbers, ascending */
	size_t nnodes;
};

enum cmd { CMD_SHOW, CMD_RESERVE, CMD_RELEASE, CMD_NONE };

static void usage(FILE *f)
{
	fprintf(f,
"Usage: %s [OPTION]... [show]\n"
"       %s [OPTION]... reserve COUNT\n"
"       %s [OPTION]... release\n"
"       %s --mount[=DIR] [OPTION]...\n"
"Show, reserve and release hugepages per NUMA node, and mount hugetlbfs.\n"
"\n"
"Commands:\n"
"  show           (default) every page size the kernel offers, per NUMA node\n"
"                 and for the whole system: pages in the pool (TOTAL), FREE,\n"
"                 RESERVED (promised to a mapping, not yet faulted in),\n"
"                 SURPLUS (overcommitted) and IN-USE (TOTAL - FREE); then the\n"
"                 hugetlbfs mounts\n"
"  reserve COUNT  make the pool COUNT pages (a plain number) or enough pages\n"
"                 for COUNT bytes (with a suffix K, M, G: \"1G\"); on one node\n"
"                 with --node, else system-wide (the kernel spreads the pages\n"
"                 over the nodes). Fails when the kernel finds fewer free\n"
"                 contiguous pages than asked, and keeps those it found.\n"
"  release        empty the pool (of one node with --node). Refused when pages\n"
"                 are in use or reserved: the message says how many\n"
"\n"
"Options:\n"
"  -p, --pagesize=SIZE  the page size reserve and release work on: 2M (default)\n"
"                       or 1G (where the CPU offers it), any size show lists\n"
"  -n, --node=N         only NUMA node N (reserve, release and show)\n"
"  -m, --mount[=DIR]    mount hugetlbfs for --pagesize on DIR (default\n"
"                       " DEFAULT_MOUNT ", created if missing), after reserve if\n"
"                       given; nothing is done when DIR already is one\n"
"  -j, --json           show: print one JSON object (docs/json.md)\n"
"  -h, --help           print this help and exit\n"
"  -V, --version        print the version and exit\n"
"\n"
"Reserving, releasing and mounting need root. A reserve that makes the pool\n"
"smaller is a release and is checked the same way.\n"
"\n"
"Exit status: 0 success, 1 failure (also: pages in use, fewer pages than\n"
"asked), 2 usage error.\n"
"\n"
"Examples:\n"
"  %s                        the pools and mounts\n"
"  %s reserve 512 --mount    1 GiB of 2 MiB pages, hugetlbfs on " DEFAULT_MOUNT "\n"
"  %s -p 1G -n 0 reserve 2   two 1 GiB pages on node 0\n"
"  %s release                give the 2 MiB pages back\n",
		vt_prog(), vt_prog(), vt_prog(), vt_prog(), vt_prog(), vt_prog(), vt_prog(),
		vt_prog());
}

static const struct option long_opts[] = {
	{ "pagesize", required_argument, NULL, 'p' },
	{ "node", required_argument, NULL, 'n' },
	{ "mount", optional_argument, NULL, 'm' },
	{ "json", no_argument, NULL, 'j' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

/* ---- sysfs ---------------------------------------------------------------- */

static void sys_dir(char *buf, size_t len, int node, uint64_t kb)
{
	if (node < 0)
		snprintf(buf, len, "%s/kernel/mm/hugepages/hugepages-%" PRIu64 "kB", vt_sysfs(),
			 kb);
	else
		snprintf(buf, len, "%s/devices/system/node/node%d/hugepages/hugepages-%" PRIu64
			 "kB", vt_sysfs(), node, kb);
}

static int read_counter(const char *dir, const char *name, uint64_t *out)
{
	char path[512], buf[64];
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	n = vt_read_file(path, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	return vt_parse_u64(buf, UINT64_MAX, out);
}

static int read_pool(int node, uint64_t kb, struct pool *p)
{
	char dir[400];
	int ret;

	sys_dir(dir, sizeof(dir), node, kb);
	memset(p, 0, sizeof(*p));
	ret = read_counter(dir, "nr_hugepages", &p->total);
	if (ret == 0)
		ret = read_counter(dir, "free_hugepages", &p->free);
	if (ret == 0)
		ret = read_counter(dir, "surplus_hugepages", &p->surplus);
	if (ret < 0) {
		vt_err("cannot read %s: %s", dir, strerror(-ret));
		return ret;
	}
	p->has_resv = read_counter(dir, "resv_hugepages", &p->resv) == 0;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* The page sizes the kernel offers, ascending. */
static int list_sizes(uint64_t *kb, size_t *n)
{
	char path[400];
	struct dirent *e;
	DIR *d;

	snprintf(path, sizeof(path), "%s/kernel/mm/hugepages", vt_sysfs());
	d = opendir(path);
	if (!d) {
		int err = -errno;

		vt_err("cannot read %s: %s (a kernel without CONFIG_HUGETLBFS has no "
		       "hugepages)", path, strerror(errno));
		return err;
	}
	*n = 0;
	while ((e = readdir(d)) != NULL && *n < MAX_SIZES) {
		uint64_t v;
		char tail[8];

		if (sscanf(e->d_name, "hugepages-%" SCNu64 "%7s", &v, tail) == 2 &&
		    strcmp(tail, "kB") == 0 && v > 0)
			kb[(*n)++] = v;
	}
	closedir(d);
	qsort(kb, *n, sizeof(*kb), cmp_u64);
	return 0;
}

/* NUMA nodes with hugepage pools; none on a kernel without CONFIG_NUMA. */
static void list_nodes(struct state *s)
{
	char path[400];
	struct dirent *e;
	DIR *d;

	s->nnodes = 0;
	snprintf(path, sizeof(path), "%s/devices/system/node", vt_sysfs());
	d = opendir(path);
	if (!d)
		return;
	while ((e = readdir(d)) != NULL && s->nnodes < MAX_NODES) {
		char sub[700];
		struct stat st;
		int node;
		char c;

		if (sscanf(e->d_name, "node%d%c", &node, &c) != 1 || node < 0)
			continue;
		snprintf(sub, sizeof(sub), "%s/%s/hugepages", path, e->d_name);
		if (stat(sub, &st) == 0 && S_ISDIR(st.st_mode))
			s->nodes[s->nnodes++] = node;
	}
	closedir(d);
	qsort(s->nodes, s->nnodes, sizeof(s->nodes[0]), cmp_int);
}

static int load(struct state *s)
{
	uint64_t kb[MAX_SIZES];
	int ret;

	memset(s, 0, sizeof(*s));
	ret = list_sizes(kb, &s->nsizes);
	if (ret < 0)
		return ret;
	list_nodes(s);
	for (size_t i = 0; i < s->nsizes; i++) {
		struct hsize *h = &s->sizes[i];

		h->kb = kb[i];
		ret = read_pool(-1, h->kb, &h->all);
		for (size_t k = 0; ret == 0 && k < s->nnodes; k++)
			ret = read_pool(s->nodes[k], h->kb, &h->node[k]);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static struct hsize *find_size(struct state *s, uint64_t kb)
{
	for (size_t i = 0; i < s->nsizes; i++)
		if (s->sizes[i].kb == kb)
			return &s->sizes[i];
	return NULL;
}

static ssize_t node_index(const struct state *s, int node)
{
	for (size_t k = 0; k < s->nnodes; k++)
		if (s->nodes[k] == node)
			return (ssize_t)k;
	return -1;
}

static uint64_t in_use(const struct pool *p)
{
	return p->total > p->free ? p->total - p->free : 0;
}

/* ---- mounts --------------------------------------------------------------- */

static const char *mounts_file(void)
{
	const char *f = getenv("VNI_MOUNTS");

	return f && *f ? f : "/proc/self/mounts";
}

/* Page size in bytes of a "pagesize=2M" option; 0 when absent. */
static uint64_t mount_pagesize(const char *opts)
{
	const char *p = strstr(opts, "pagesize=");
	char val[32];
	uint64_t v = 0;
	size_t n;

	if (!p)
		return 0;
	p += strlen("pagesize=");
	n = strcspn(p, ",");
	if (n >= sizeof(val))
		return 0;
	memcpy(val, p, n);
	val[n] = '\0';
	return vt_parse_size(val, &v) == 0 ? v : 0;
}

/*
 * Calls @fn for each hugetlbfs mount (directory, page size in bytes or 0);
 * stops when it returns true. Octal escapes in paths (\040) are decoded.
 */
static void for_each_mount(bool (*fn)(const char *dir, uint64_t psize, void *arg),
			   void *arg)
{
	char line[4096];
	FILE *f = fopen(mounts_file(), "re");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char dev[256], dir[2048], type[64], opts[1024];
		size_t o = 0;

		if (sscanf(line, "%255s %2047s %63s %1023s", dev, dir, type, opts) != 4 ||
		    strcmp(type, "hugetlbfs") != 0)
			continue;
		for (size_t i = 0; dir[i]; i++, o++) {
			if (dir[i] == '\\' && dir[i + 1] >= '0' && dir[i + 1] <= '3' &&
			    dir[i + 2] >= '0' && dir[i + 2] <= '7' && dir[i + 3] >= '0' &&
			    dir[i + 3] <= '7') {
				dir[o] = (char)((dir[i + 1] - '0') << 6 | (dir[i + 2] - '0') << 3 |
						(dir[i + 3] - '0'));
				i += 3;
			} else {
				dir[o] = dir[i];
			}
		}
		dir[o] = '\0';
		if (fn(dir, mount_pagesize(opts), arg))
			break;
	}
	fclose(f);
}

/* ---- show ----------------------------------------------------------------- */

static void size_name(uint64_t kb, char *buf, size_t len)
{
	vt_format_size(kb * 1024, buf, len);
}

static void print_row(const char *node, uint64_t kb, const struct pool *p)
{
	char sz[32], resv[24];

	size_name(kb, sz, sizeof(sz));
	if (p->has_resv)
		snprintf(resv, sizeof(resv), "%" PRIu64, p->resv);
	else
		snprintf(resv, sizeof(resv), "-");
	printf("%-6s %-8s %8" PRIu64 " %8" PRIu64 " %8s %8" PRIu64 " %8" PRIu64 "\n", node, sz,
	       p->total, p->free, resv, p->surplus, in_use(p));
}

static bool print_mount(const char *dir, uint64_t psize, void *arg)
{
	char sz[32];
	int *n = arg;

	if ((*n)++ == 0)
		printf("hugetlbfs mounts:\n");
	printf("  %s (pagesize %s)\n", dir,
	       psize ? vt_format_size(psize, sz, sizeof(sz)) : "default");
	return false;
}

static void show_text(const struct state *s, int only_node)
{
	int nmounts = 0;

	printf("%-6s %-8s %8s %8s %8s %8s %8s\n", "NODE", "SIZE", "TOTAL", "FREE", "RESERVED",
	       "SURPLUS", "IN-USE");
	for (size_t i = 0; i < s->nsizes; i++) {
		const struct hsize *h = &s->sizes[i];

		for (size_t k = 0; k < s->nnodes; k++) {
			char name[16];

			if (only_node >= 0 && s->nodes[k] != only_node)
				continue;
			snprintf(name, sizeof(name), "%d", s->nodes[k]);
			print_row(name, h->kb, &h->node[k]);
		}
		if (only_node < 0)
			print_row("all", h->kb, &h->all);
	}
	for_each_mount(print_mount, &nmounts);
	if (nmounts == 0)
		printf("hugetlbfs mounts: none\n");
}

static void json_pool(struct vt_json *j, const struct pool *p)
{
	vt_json_kv_u64(j, "total", p->total);
	vt_json_kv_u64(j, "free", p->free);
	vt_json_key(j, "reserved");
	if (p->has_resv)
		vt_json_u64(j, p->resv);
	else
		vt_json_null(j);
	vt_json_kv_u64(j, "surplus", p->surplus);
	vt_json_kv_u64(j, "in_use", in_use(p));
}

static bool json_mount(const char *dir, uint64_t psize, void *arg)
{
	struct vt_json *j = arg;

	vt_json_begin_object(j);
	vt_json_kv_string(j, "path", dir);
	vt_json_key(j, "page_size");
	if (psize)
		vt_json_u64(j, psize);
	else
		vt_json_null(j);
	vt_json_end(j);
	return false;
}

static void show_json(const struct state *s, int only_node)
{
	struct vt_json j;

	vt_json_init(&j, stdout);
	vt_json_begin_object(&j);
	vt_json_key(&j, "sizes");
	vt_json_begin_array(&j);
	for (size_t i = 0; i < s->nsizes; i++) {
		const struct hsize *h = &s->sizes[i];

		vt_json_begin_object(&j);
		vt_json_kv_u64(&j, "page_size", h->kb * 1024);
		json_pool(&j, &h->all);
		vt_json_key(&j, "nodes");
		vt_json_begin_array(&j);
		for (size_t k = 0; k < s->nnodes; k++) {
			if (only_node >= 0 && s->nodes[k] != only_node)
				continue;
			vt_json_begin_object(&j);
			vt_json_kv_i64(&j, "node", s->nodes[k]);
			json_pool(&j, &h->node[k]);
			vt_json_end(&j);
		}
		vt_json_end(&j);
		vt_json_end(&j);
	}
	vt_json_end(&j);
	vt_json_key(&j, "mounts");
	vt_json_begin_array(&j);
	for_each_mount(json_mount, &j);
	vt_json_end(&j);
	vt_json_end(&j);
}

/* ---- reserve / release ---------------------------------------------------- */

static int write_count(const char *path, uint64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%" PRIu64 "\n", v);
	return vt_write_file(path, buf);
}

/*
 * Set the pool of @node (-1: the system) for @h to @want pages. A smaller
 * pool is refused while the pages it would drop are in use or reserved.
 */
static int set_pool(struct state *s, struct hsize *h, int node, uint64_t want)
{
	char dir[400], path[450], sz[32], where[32];
	const struct pool *p;
	uint64_t busy, got;
	ssize_t k = -1;
	int ret;

	if (node >= 0) {
		k = node_index(s, node);
		p = &h->node[k];
		snprintf(where, sizeof(where), "node %d", node);
	} else {
		p = &h->all;
		snprintf(where, sizeof(where), "the system");
	}
	size_name(h->kb, sz, sizeof(sz));
	/* Reserved pages count as free but a mapping has been promised them. */
	busy = in_use(p) + (node < 0 && p->has_resv ? p->resv : 0);
	if (want < p->total && busy > want) {
		vt_err("refusing to release %s pages on %s: %" PRIu64 " of %" PRIu64
		       " in use (%" PRIu64 " free, %" PRIu64 " reserved%s); stop the programs "
		       "that map them (hugetlbfs files, SHM_HUGETLB, MAP_HUGETLB) first",
		       sz, where, in_use(p), p->total, p->free,
		       p->has_resv ? p->resv : h->all.resv,
		       node >= 0 ? " system-wide" : "");
		return -EBUSY;
	}
	sys_dir(dir, sizeof(dir), node, h->kb);
	snprintf(path, sizeof(path), "%s/nr_hugepages", dir);
	ret = write_count(path, want);
	if (ret < 0) {
		vt_err("cannot write %" PRIu64 " to %s: %s%s", want, path, strerror(-ret),
		       ret == -EACCES || ret == -EPERM ? " (run as root)" : "");
		return ret;
	}
	ret = read_counter(dir, "nr_hugepages", &got);
	if (ret < 0) {
		vt_err("cannot read back %s: %s", path, strerror(-ret));
		return ret;
	}
	printf("%s: %s pages: %" PRIu64 " (was %" PRIu64 ")\n", where, sz, got, p->total);
	if (got < want) {
		vt_err("asked for %" PRIu64 " %s pages on %s, the kernel found %" PRIu64
		       " (not enough free contiguous memory: reserve early, or at boot with "
		       "hugepages=N)", want, sz, where, got);
		return -ENOMEM;
	}
	if (got > want) {
		vt_err("asked for %" PRIu64 " %s pages on %s, the kernel kept %" PRIu64
		       " (pages in use)", want, sz, where, got);
		return -EBUSY;
	}
	return 0;
}

/* ---- mount ---------------------------------------------------------------- */

struct mount_query {
	const char *dir;
	uint64_t psize;
	bool found;
};

static bool match_mount(const char *dir, uint64_t psize, void *arg)
{
	struct mount_query *q = arg;

	if (strcmp(dir, q->dir) != 0)
		return false;
	q->found = true;
	q->psize = psize;
	return true;
}

static int do_mount(const char *dir, uint64_t kb)
{
	struct mount_query q = { .dir = dir };
	char opts[64], sz[32];

	size_name(kb, sz, sizeof(sz));
	for_each_mount(match_mount, &q);
	if (q.found) {
		if (q.psize && q.psize != kb * 1024) {
			char other[32];

			vt_err("%s is already a hugetlbfs mount for %s pages, not %s", dir,
			       vt_format_size(q.psize, other, sizeof(other)), sz);
			return -EEXIST;
		}
		printf("hugetlbfs already mounted on %s\n", dir);
		return 0;
	}
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		int err = -errno;

		vt_err("cannot create %s: %s", dir, strerror(errno));
		return err;
	}
	snprintf(opts, sizeof(opts), "pagesize=%" PRIu64 "K", kb);
	if (mount("hugetlbfs", dir, "hugetlbfs", MS_NOSUID | MS_NODEV, opts) < 0) {
		int err = -errno;

		vt_err("cannot mount hugetlbfs (%s) on %s: %s%s", opts, dir, strerror(errno),
		       errno == EPERM ? " (run as root)" : "");
		return err;
	}
	printf("hugetlbfs mounted on %s (pagesize %s)\n", dir, sz);
	return 0;
}

/* ---- main ----------------------------------------------------------------- */

static int parse_pagesize(const char *s, uint64_t *kb)
{
	uint64_t v;

	if (vt_parse_size(s, &v) < 0 || v < 4096 || v % 1024)
		return -EINVAL;
	*kb = v / 1024;
	return 0;
}

int main(int argc, char **argv)
{
	const char *mount_dir = NULL;
	uint64_t kb = 2048, count = 0;
	enum cmd cmd = CMD_NONE;
	bool json = false;
	struct state s;
	int node = -1, c, ret;

	vt_set_prog(argv[0], "vni-hugepages");
	while ((c = getopt_long(argc, argv, "p:n:m::jhV", long_opts, NULL)) != -1) {
		uint64_t v;

		switch (c) {
		case 'p':
			if (parse_pagesize(optarg, &kb) < 0)
				return vt_usage_err("--pagesize: \"%s\" is not a page size (2M, "
						    "1G)", optarg);
			break;
		case 'n':
			if (vt_parse_u64(optarg, 1023, &v) < 0)
				return vt_usage_err("--node: \"%s\" is not a NUMA node number",
						    optarg);
			node = (int)v;
			break;
		case 'm':
			mount_dir = optarg ? optarg : DEFAULT_MOUNT;
			if (mount_dir[0] != '/')
				return vt_usage_err("--mount: \"%s\" is not an absolute path",
						    mount_dir);
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
	if (optind < argc) {
		const char *w = argv[optind++];

		if (strcmp(w, "show") == 0) {
			cmd = CMD_SHOW;
		} else if (strcmp(w, "release") == 0) {
			cmd = CMD_RELEASE;
		} else if (strcmp(w, "reserve") == 0) {
			const char *a = optind < argc ? argv[optind++] : NULL;
			size_t n;

			if (!a)
				return vt_usage_err("reserve: missing COUNT (pages, or bytes with "
						    "a suffix: 1G)");
			n = strspn(a, "0123456789");
			if (a[n] == '\0' ? vt_parse_u64(a, UINT64_MAX / 2, &count) < 0
					 : vt_parse_size(a, &count) < 0)
				return vt_usage_err("reserve: \"%s\" is not a page count or a "
						    "size (512, 1G)", a);
			if (a[n] != '\0')
				count = (count + kb * 1024 - 1) / (kb * 1024);
			cmd = CMD_RESERVE;
		} else {
			return vt_usage_err("unknown command \"%s\" (show, reserve, release)", w);
		}
	}
	if (optind < argc)
		return vt_usage_err("unexpected argument \"%s\"", argv[optind]);
	if (cmd == CMD_NONE)
		cmd = mount_dir ? CMD_NONE : CMD_SHOW;
	if (json && cmd != CMD_SHOW)
		return vt_usage_err("--json is for show only");
	if (mount_dir && cmd == CMD_RELEASE)
		return vt_usage_err("--mount goes with reserve, or alone");

	ret = load(&s);
	if (ret < 0)
		return VT_EXIT_FAIL;
	if (node >= 0 && node_index(&s, node) < 0) {
		if (s.nnodes == 0)
			vt_err("--node %d: this kernel shows no NUMA nodes (no "
			       "CONFIG_NUMA): drop --node", node);
		else
			vt_err("--node %d: no such NUMA node with hugepages", node);
		return VT_EXIT_FAIL;
	}

	if (cmd == CMD_SHOW) {
		if (json)
			show_json(&s, node);
		else
			show_text(&s, node);
	} else if (cmd != CMD_NONE || mount_dir) {
		struct hsize *h = find_size(&s, kb);
		char sz[32];

		if (!h) {
			char offered[128] = "";

			for (size_t i = 0; i < s.nsizes; i++) {
				size_t l = strlen(offered);

				size_name(s.sizes[i].kb, sz, sizeof(sz));
				snprintf(offered + l, sizeof(offered) - l, "%s%s", i ? ", " : "", sz);
			}
			size_name(kb, sz, sizeof(sz));
			vt_err("this kernel offers no %s hugepages (offered: %s)", sz,
			       offered[0] ? offered : "none");
			return VT_EXIT_FAIL;
		}
		if (cmd == CMD_RESERVE || cmd == CMD_RELEASE) {
			ret = set_pool(&s, h, node, cmd == CMD_RESERVE ? count : 0);
			if (ret < 0)
				return VT_EXIT_FAIL;
		}
		if (mount_dir && do_mount(mount_dir, kb) < 0)
			return VT_EXIT_FAIL;
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		vt_err("write error on standard output");
		return VT_EXIT_FAIL;
	}
	return VT_EXIT_OK;
}
