/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvfionoiommu tools - is a network interface in use? (rtnetlink via
 * libnl-3 / libnl-route-3)
 */
#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/rtnetlink.h>

#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/route.h>

#include "netcheck.h"

#if defined(__GNUC__) || defined(__clang__)
#define NC_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define NC_PRINTF(fmt, args)
#endif

static void set_err(char *err, size_t errlen, const char *fmt, ...) NC_PRINTF(3, 4);
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static void add_reason(struct netcheck_result *res, enum netcheck_kind kind,
		       const char *fmt, ...) NC_PRINTF(3, 4);
static void add_reason(struct netcheck_result *res, enum netcheck_kind kind,
		       const char *fmt, ...)
{
	struct netcheck_reason *r;
	va_list ap;

	if (res->nreasons >= NETCHECK_MAX_REASONS) {
		res->dropped++;
		return;
	}
	r = &res->reasons[res->nreasons++];
	r->kind = kind;
	va_start(ap, fmt);
	vsnprintf(r->text, sizeof(r->text), fmt, ap);
	va_end(ap);
}

/* libnl error code -> negative errno, for the few that matter here. */
static int nlerr_to_errno(int nlerr)
{
	switch (nlerr < 0 ? -nlerr : nlerr) {
	case NLE_OBJ_NOTFOUND:
	case NLE_NODEV:
		return -ENODEV;
	case NLE_NOMEM:
		return -ENOMEM;
	case NLE_PERM:
		return -EPERM;
	case NLE_NOACCESS:
		return -EACCES;
	case NLE_INVAL:
		return -EINVAL;
	default:
		return -EIO;
	}
}

static const char *family_name(int family)
{
	switch (family) {
	case AF_INET:
		return "IPv4";
	case AF_INET6:
		return "IPv6";
	default:
		return "other";
	}
}

static void table_name(uint32_t table, char *buf, size_t len)
{
	switch (table) {
	case RT_TABLE_MAIN:
		snprintf(buf, len, "main");
		break;
	case RT_TABLE_DEFAULT:
		snprintf(buf, len, "default");
		break;
	case RT_TABLE_LOCAL:
		snprintf(buf, len, "local");
		break;
	default:
		snprintf(buf, len, "%u", table);
		break;
	}
}

static int check_addresses(struct nl_sock *sk, struct netcheck_result *res)
{
	struct nl_cache *cache = NULL;
	struct nl_object *obj;
	int ret;

	ret = rtnl_addr_alloc_cache(sk, &cache);
	if (ret < 0)
		return ret;
	for (obj = nl_cache_get_first(cache); obj; obj = nl_cache_get_next(obj)) {
		struct rtnl_addr *a = (struct rtnl_addr *)obj;
		struct nl_addr *local;
		char buf[INET6_ADDRSTRLEN + 8];

		if (rtnl_addr_get_ifindex(a) != res->ifindex)
			continue;
		local = rtnl_addr_get_local(a);
		if (!local)
			continue;
		res->addresses++;
		nl_addr2str(local, buf, sizeof(buf));
		add_reason(res, NETCHECK_ADDRESS, "interface %s has %s address %s",
			   res->ifname, family_name(rtnl_addr_get_family(a)), buf);
	}
	nl_cache_free(cache);
	return 0;
}

/* Does a route leave through our interface? */
static bool route_uses_if(struct rtnl_route *r, int ifindex)
{
	int n = rtnl_route_get_nnexthops(r);

	for (int i = 0; i < n; i++) {
		struct rtnl_nexthop *nh = rtnl_route_nexthop_n(r, i);

		if (nh && rtnl_route_nh_get_ifindex(nh) == ifindex)
			return true;
	}
	return false;
}

static void route_gateway(struct rtnl_route *r, int ifindex, char *buf, size_t len)
{
	int n = rtnl_route_get_nnexthops(r);

	buf[0] = '\0';
	for (int i = 0; i < n; i++) {
		struct rtnl_nexthop *nh = rtnl_route_nexthop_n(r, i);
		struct nl_addr *gw;

		if (!nh || rtnl_route_nh_get_ifindex(nh) != ifindex)
			continue;
		gw = rtnl_route_nh_get_gateway(nh);
		if (gw) {
			char tmp[INET6_ADDRSTRLEN + 8];

			nl_addr2str(gw, tmp, sizeof(tmp));
			snprintf(buf, len, " via %s", tmp);
			return;
		}
	}
}

static int check_routes(struct nl_sock *sk, struct netcheck_result *res)
{
	struct nl_cache *cache = NULL;
	struct nl_object *obj;
	int ret;

	ret = rtnl_route_alloc_cache(sk, AF_UNSPEC, 0, &cache);
	if (ret < 0)
		return ret;
	/* Two passes so that default routes come first among the reasons. */
	for (int pass = 0; pass < 2; pass++) {
		for (obj = nl_cache_get_first(cache); obj; obj = nl_cache_get_next(obj)) {
			struct rtnl_route *r = (struct rtnl_route *)obj;
			struct nl_addr *dst = rtnl_route_get_dst(r);
			uint32_t table = rtnl_route_get_table(r);
			bool is_default;
			char dstbuf[INET6_ADDRSTRLEN + 8], gw[INET6_ADDRSTRLEN + 16], tbl[16];

			if (table == RT_TABLE_LOCAL)
				continue; /* mirrors the addresses, already reported */
			if (!route_uses_if(r, res->ifindex))
				continue;
			is_default = !dst || nl_addr_get_prefixlen(dst) == 0;
			if (is_default != (pass == 0))
				continue;
			res->routes++;
			table_name(table, tbl, sizeof(tbl));
			route_gateway(r, res->ifindex, gw, sizeof(gw));
			if (is_default) {
				res->default_route = true;
				add_reason(res, NETCHECK_DEFAULT_ROUTE,
					   "interface %s carries the %s default route (default%s, table %s): "
					   "this machine's traffic leaves through it",
					   res->ifname, family_name(rtnl_route_get_family(r)), gw, tbl);
			} else {
				nl_addr2str(dst, dstbuf, sizeof(dstbuf));
				add_reason(res, NETCHECK_ROUTE,
					   "interface %s carries the route %s%s (table %s)",
					   res->ifname, dstbuf, gw, tbl);
			}
		}
	}
	nl_cache_free(cache);
	return 0;
}

int netcheck_ifname(const char *ifname, struct netcheck_result *res,
		    char *err, size_t errlen)
{
	struct nl_sock *sk;
	struct rtnl_link *link = NULL;
	int ret;

	if (err && errlen)
		err[0] = '\0';
	if (!res) {
		set_err(err, errlen, "netcheck_ifname: NULL result");
		return -EINVAL;
	}
	memset(res, 0, sizeof(*res));
	if (!ifname || !*ifname || strlen(ifname) >= IFNAMSIZ ||
	    strlen(ifname) >= sizeof(res->ifname)) {
		set_err(err, errlen, "\"%s\" is not a network interface name",
			ifname ? ifname : "(null)");
		return -EINVAL;
	}
	snprintf(res->ifname, sizeof(res->ifname), "%s", ifname);

	sk = nl_socket_alloc();
	if (!sk) {
		set_err(err, errlen, "cannot allocate a netlink socket");
		return -ENOMEM;
	}
	ret = nl_connect(sk, NETLINK_ROUTE);
	if (ret < 0) {
		set_err(err, errlen, "cannot connect to rtnetlink: %s", nl_geterror(ret));
		ret = nlerr_to_errno(ret);
		goto out;
	}
	ret = rtnl_link_get_kernel(sk, 0, ifname, &link);
	if (ret < 0) {
		ret = nlerr_to_errno(ret);
		if (ret == -ENODEV)
			set_err(err, errlen, "no network interface named %s", ifname);
		else
			set_err(err, errlen, "cannot look up interface %s over rtnetlink",
				ifname);
		goto out;
	}
	res->ifindex = rtnl_link_get_ifindex(link);
	res->up = (rtnl_link_get_flags(link) & IFF_UP) != 0;
	if (res->up)
		add_reason(res, NETCHECK_UP,
			   "interface %s is administratively UP (take it down first: "
			   "ip link set %s down)", ifname, ifname);
	ret = check_addresses(sk, res);
	if (ret < 0) {
		set_err(err, errlen, "cannot list the addresses of %s over rtnetlink: %s",
			ifname, nl_geterror(ret));
		ret = nlerr_to_errno(ret);
		goto out;
	}
	ret = check_routes(sk, res);
	if (ret < 0) {
		set_err(err, errlen, "cannot list the routes over rtnetlink: %s",
			nl_geterror(ret));
		ret = nlerr_to_errno(ret);
		goto out;
	}
	ret = 0;
out:
	if (link)
		rtnl_link_put(link);
	nl_socket_free(sk);
	return ret;
}

bool netcheck_busy(const struct netcheck_result *res)
{
	return res && (res->nreasons > 0 || res->dropped > 0);
}

const char *netcheck_kind_name(enum netcheck_kind kind)
{
	switch (kind) {
	case NETCHECK_UP:
		return "up";
	case NETCHECK_ADDRESS:
		return "address";
	case NETCHECK_DEFAULT_ROUTE:
		return "default-route";
	case NETCHECK_ROUTE:
		return "route";
	}
	return "?";
}
