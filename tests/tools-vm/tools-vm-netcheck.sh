#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# vni-bind's rtnetlink check (tools/netcheck.c) against the guest's loopback
# interface, driven through its states with busybox ip: down and bare (idle),
# UP, UP with 127.0.0.1/8, carrying a default route, down but still
# addressed, and bare again. Nothing is sent anywhere: the guest has no NIC.
. /usr/bin/tools-vm-lib.sh

ip link set lo down 2>/dev/null
ip addr flush dev lo 2>/dev/null

t_run 0 "lo down, no address" tools-netcheck-probe lo
t_grep out '^lo: idle$' "idle when down and bare"

t_run 1 "no such interface" tools-netcheck-probe vnitest0
t_grep err 'no network interface named vnitest0' "says the interface does not exist"

ip link set lo up || t_notok "ip link set lo up failed"
t_run 0 "lo up" tools-netcheck-probe lo
t_grep out '^lo: busy$' "busy when UP"
t_grep out '^up: interface lo is administratively UP \(take it down first: ip link set lo down\)$' "reason: UP"

if [ -d /proc/sys/net/ipv4 ]; then
	# Linux gives lo 127.0.0.1/8 by itself when it comes up; add it if not.
	ip -4 addr show dev lo | grep -q 'inet 127.0.0.1/8' ||
		ip addr add 127.0.0.1/8 dev lo || t_notok "ip addr add 127.0.0.1/8 dev lo failed"
	t_run 0 "lo up with 127.0.0.1" tools-netcheck-probe lo
	t_grep out '^lo: busy$' "busy with an address"
	t_grep out '^up: ' "reason: UP"
	t_grep out '^address: interface lo has IPv4 address 127.0.0.1/8$' "reason: 127.0.0.1/8"
	t_nogrep out '^(default-)?route: ' "the local table (127.0.0.0/8 local) is not a route reason"

	ip route add default dev lo || t_notok "ip route add default dev lo failed"
	t_run 0 "lo with the default route" tools-netcheck-probe lo
	t_grep out '^default-route: interface lo carries the IPv4 default route \(default, table main\)' "reason: default route"
	ip route del default dev lo

	ip link set lo down
	t_run 0 "lo down, address kept" tools-netcheck-probe lo
	t_grep out '^lo: busy$' "still busy: the address stays"
	t_nogrep out '^up: ' "no UP reason when down"
	t_grep out '^address: interface lo has IPv4 address 127.0.0.1/8$' "reason: address"

	ip addr flush dev lo
	t_run 0 "lo down, flushed" tools-netcheck-probe lo
	t_grep out '^lo: idle$' "idle again"
else
	t_notok "the guest kernel has no IPv4 (CONFIG_INET): the address and route checks cannot run"
fi

t_finish
