/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tools-netcheck-probe IFNAME: run vni-bind's network check (tools/netcheck.c)
 * on one interface and print the verdict and the reasons, one per line:
 *
 *   lo: busy
 *   up: interface lo is administratively UP (...)
 *   address: interface lo has IPv4 address 127.0.0.1/8
 *
 * Exit 0 when the check ran (busy or idle), 1 when it failed.
 */
#include <stdio.h>

#include "netcheck.h"

int main(int argc, char **argv)
{
	struct netcheck_result r;
	char err[256];
	int ret;

	if (argc != 2) {
		fprintf(stderr, "usage: tools-netcheck-probe IFNAME\n");
		return 2;
	}
	ret = netcheck_ifname(argv[1], &r, err, sizeof(err));
	if (ret < 0) {
		fprintf(stderr, "tools-netcheck-probe: %s\n", err);
		return 1;
	}
	printf("%s: %s\n", r.ifname, netcheck_busy(&r) ? "busy" : "idle");
	for (size_t i = 0; i < r.nreasons; i++)
		printf("%s: %s\n", netcheck_kind_name(r.reasons[i].kind), r.reasons[i].text);
	if (r.dropped)
		printf("dropped: %zu\n", r.dropped);
	return 0;
}
