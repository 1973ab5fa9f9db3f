/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvfionoiommu tools - is a network interface in use? (rtnetlink, libnl)
 *
 * Taking a NIC away from its kernel driver kills the interface on top of it.
 * vni-bind refuses (unless --force) when an interface of the device is
 * administratively UP, has an address, or carries a route: each of those is
 * a sign that something (a person, a DHCP client, the default route of the
 * machine) relies on it.
 */
#ifndef VNI_TOOLS_NETCHECK_H
#define VNI_TOOLS_NETCHECK_H

#include <stdbool.h>
#include <stddef.h>

#define NETCHECK_MAX_REASONS 16
#define NETCHECK_TEXT_LEN 192
#define NETCHECK_IFNAME_LEN 32

enum netcheck_kind {
	NETCHECK_UP = 1,        /* IFF_UP is set */
	NETCHECK_ADDRESS,       /* an IPv4/IPv6 address is assigned */
	NETCHECK_DEFAULT_ROUTE, /* a default route (prefix length 0) goes out of it */
	NETCHECK_ROUTE,         /* another route goes out of it */
};

struct netcheck_reason {
	enum netcheck_kind kind;
	char text[NETCHECK_TEXT_LEN]; /* one sentence, no trailing newline */
};

/*
 * struct netcheck_result - what makes an interface busy
 * @ifname:        the interface
 * @ifindex:       its index
 * @up:            administratively UP
 * @addresses:     number of addresses (IPv4 and IPv6, any scope)
 * @routes:        routes through it, outside the "local" table (which only
 *                 mirrors its addresses), default routes included
 * @default_route: at least one of @routes is a default route
 * @nreasons:      entries used in @reasons
 * @dropped:       reasons that did not fit in @reasons
 * @reasons:       UP first, then addresses, then default routes, then routes
 */
struct netcheck_result {
	char ifname[NETCHECK_IFNAME_LEN];
	int ifindex;
	bool up;
	unsigned int addresses;
	unsigned int routes;
	bool default_route;
	size_t nreasons;
	size_t dropped;
	struct netcheck_reason reasons[NETCHECK_MAX_REASONS];
};

/*
 * netcheck_ifname() - look an interface up over rtnetlink
 * @ifname: interface name
 * @res:    output (zeroed first)
 * @err:    on failure, a message (may be NULL)
 * @errlen: size of @err
 *
 * Needs no privilege. Return: 0 (the interface exists; it is busy when
 * netcheck_busy() says so); -ENODEV if there is no such interface; -EINVAL
 * for a NULL/empty/too long @ifname or NULL @res; -EIO (or another negative
 * errno) when netlink fails.
 */
int netcheck_ifname(const char *ifname, struct netcheck_result *res,
		    char *err, size_t errlen);

/* netcheck_busy() - did netcheck_ifname() find any reason? */
bool netcheck_busy(const struct netcheck_result *res);

/* Name of a reason kind: "up", "address", "default-route", "route". */
const char *netcheck_kind_name(enum netcheck_kind kind);

#endif /* VNI_TOOLS_NETCHECK_H */
