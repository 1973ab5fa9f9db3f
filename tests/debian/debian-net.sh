#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# vni-bind's refusal of a network interface in use, on a real driver: Debian's
# e1000 module drives QEMU's e1000 at 0000:00:07.0 (no network backend: no
# packet leaves the guest). Up with an address and a route: refused; down
# and flushed: bound to vfio-pci; vni-unbind gives it back to e1000.
. /usr/bin/tools-vm-lib.sh
B=0000:00:07.0
D=/sys/bus/pci/devices/$B
modprobe e1000
t_eq "$?" 0 "modprobe e1000"
i=0
while [ ! -d "$D/net" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
ifc=$(ls "$D/net" 2>/dev/null | head -1)
[ -n "$ifc" ] && t_ok "e1000 drives $B as $ifc" || { t_notok "no interface on $B"; t_finish; }
t_eq "$(t_driver $B)" e1000 "driver is e1000"
ip link set "$ifc" up
ip addr add 192.0.2.15/24 dev "$ifc"
ip route add 198.51.100.0/24 via 192.0.2.1 dev "$ifc"
ip addr show dev "$ifc" | sed 's/^/#   /'
ip route show | sed 's/^/#   /'
t_run 1 "vni-bind --enable-noiommu $B while $ifc is up with an address and a route" vni-bind --enable-noiommu $B
t_grep err "interface $ifc is administratively UP" "refusal names the interface being up"
t_grep err "interface $ifc has .*address 192\.0\.2\.15" "refusal names the address"
t_grep err "interface $ifc carries the route 198\.51\.100\.0/24" "refusal names the route"
t_eq "$(t_driver $B)" e1000 "still on e1000 after the refusal"
ip addr flush dev "$ifc"
ip link set "$ifc" down
t_run 0 "vni-bind --enable-noiommu $B once $ifc is down" vni-bind --enable-noiommu $B
t_eq "$(t_driver $B)" vfio-pci "bound to vfio-pci"
t_grep out '^cdev /dev/vfio/devices/noiommu-vfio[0-9]+$' "the no-IOMMU cdev appeared"
t_run 0 "vni-unbind $B" vni-unbind $B
t_eq "$(t_driver $B)" e1000 "back on e1000"
i=0
while [ ! -d "$D/net" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
[ -n "$(ls "$D/net" 2>/dev/null)" ] && t_ok "the interface is back ($(ls "$D/net"))" || t_notok "no interface after vni-unbind"
t_finish
