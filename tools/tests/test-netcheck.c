/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of tools/netcheck.c against this machine's real interfaces:
 * the loopback interface (UP with 127.0.0.1 on any ordinary host) must be
 * reported busy with exactly those reasons; the interface of the IPv4
 * default route (if there is one) must be reported as carrying it. What the
 * machine looks like is learnt independently (getifaddrs, /proc/net/route);
 * a check whose precondition does not hold on this machine is skipped.
 */
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../netcheck.h"

static bool has_reason(const struct netcheck_result *r, enum netcheck_kind kind,
		       const char *needle)
{
	for (size_t i = 0; i < r->nreasons; i++)
		if (r->reasons[i].kind == kind && (!needle || strstr(r->reasons[i].text, needle)))
			return true;
	return false;
}

static void print_result(const struct netcheck_result *r)
{
	print_message("%s (index %d): %s\n", r->ifname, r->ifindex,
		      netcheck_busy(r) ? "busy" : "idle");
	for (size_t i = 0; i < r->nreasons; i++)
		print_message("  [%s] %s\n", netcheck_kind_name(r->reasons[i].kind),
			      r->reasons[i].text);
}

/* Is lo UP with 127.0.0.1, according to getifaddrs()? */
static bool lo_up_with_127(void)
{
	struct ifaddrs *ifa, *i;
	bool up = false, addr = false;

	if (getifaddrs(&ifa) < 0)
		return false;
	for (i = ifa; i; i = i->ifa_next) {
		if (strcmp(i->ifa_name, "lo") != 0)
			continue;
		if (i->ifa_flags & IFF_UP)
			up = true;
		if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET &&
		    ((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr.s_addr ==
			    htonl(INADDR_LOOPBACK))
			addr = true;
	}
	freeifaddrs(ifa);
	return up && addr;
}

static void test_loopback_busy(void **state)
{
	struct netcheck_result r;
	char err[256];

	(void)state;
	if (!lo_up_with_127()) {
		print_message("lo is not UP with 127.0.0.1 here: skipped\n");
		skip();
	}
	assert_int_equal(netcheck_ifname("lo", &r, err, sizeof(err)), 0);
	print_result(&r);
	assert_string_equal(r.ifname, "lo");
	assert_int_equal(r.ifindex, (int)if_nametoindex("lo"));
	assert_true(r.up);
	assert_true(netcheck_busy(&r));
	assert_true(r.addresses >= 1);
	/* UP comes first, then the address */
	assert_int_equal(r.reasons[0].kind, NETCHECK_UP);
	assert_non_null(strstr(r.reasons[0].text, "administratively UP"));
	assert_true(has_reason(&r, NETCHECK_ADDRESS, "IPv4 address 127.0.0.1/8"));
	/* lo's routes live in the local table only, which is not counted */
	assert_false(r.default_route);
}

/* The interface of the IPv4 default route, from /proc/net/route. */
static bool default_route_if(char *ifname, size_t len)
{
	char line[512], name[64];
	unsigned int dst, mask, flags;
	FILE *f = fopen("/proc/net/route", "r");
	bool found = false;

	if (!f)
		return false;
	if (!fgets(line, sizeof(line), f)) { /* header */
		fclose(f);
		return false;
	}
	while (!found && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63s %x %*x %x %*d %*d %*d %x", name, &dst, &flags, &mask) == 4 &&
		    dst == 0 && mask == 0 && (flags & 1)) {
			snprintf(ifname, len, "%s", name);
			found = true;
		}
	}
	fclose(f);
	return found;
}

static void test_default_route(void **state)
{
	struct netcheck_result r;
	char ifname[64], err[256];

	(void)state;
	if (!default_route_if(ifname, sizeof(ifname))) {
		print_message("no IPv4 default route here: skipped\n");
		skip();
	}
	assert_int_equal(netcheck_ifname(ifname, &r, err, sizeof(err)), 0);
	print_result(&r);
	assert_true(netcheck_busy(&r));
	assert_true(r.default_route);
	assert_true(r.routes >= 1);
	assert_true(has_reason(&r, NETCHECK_DEFAULT_ROUTE, "IPv4 default route"));
	/* default routes are listed before the other routes */
	for (size_t i = 0; i < r.nreasons; i++) {
		if (r.reasons[i].kind == NETCHECK_ROUTE) {
			for (size_t k = i; k < r.nreasons; k++)
				assert_int_not_equal(r.reasons[k].kind, NETCHECK_DEFAULT_ROUTE);
			break;
		}
	}
}

static void test_missing(void **state)
{
	struct netcheck_result r;
	char err[256];

	(void)state;
	assert_int_equal(netcheck_ifname("vnitest-none0", &r, err, sizeof(err)), -ENODEV);
	assert_non_null(strstr(err, "no network interface named vnitest-none0"));
	assert_false(netcheck_busy(&r));
}

static void test_bad_args(void **state)
{
	struct netcheck_result r;
	char err[256];

	(void)state;
	assert_int_equal(netcheck_ifname(NULL, &r, err, sizeof(err)), -EINVAL);
	assert_int_equal(netcheck_ifname("", &r, err, sizeof(err)), -EINVAL);
	assert_int_equal(netcheck_ifname("a-name-much-longer-than-ifnamsiz", &r, err,
					 sizeof(err)), -EINVAL);
	assert_int_equal(netcheck_ifname("lo", NULL, err, sizeof(err)), -EINVAL);
	/* err may be NULL */
	assert_int_equal(netcheck_ifname("", &r, NULL, 0), -EINVAL);
	assert_false(netcheck_busy(NULL));
}

static void test_kind_names(void **state)
{
	(void)state;
	assert_string_equal(netcheck_kind_name(NETCHECK_UP), "up");
	assert_string_equal(netcheck_kind_name(NETCHECK_ADDRESS), "address");
	assert_string_equal(netcheck_kind_name(NETCHECK_DEFAULT_ROUTE), "default-route");
	assert_string_equal(netcheck_kind_name(NETCHECK_ROUTE), "route");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loopback_busy),
		cmocka_unit_test(test_default_route),
		cmocka_unit_test(test_missing),
		cmocka_unit_test(test_bad_args),
		cmocka_unit_test(test_kind_names),
	};

	return cmocka_run_group_tests_name("tools-netcheck", tests, NULL, NULL);
}
