#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# vni-monitor in the guest: two monitors (text and --json) follow an edu
# hot-added by QEMU (device_add over the host channel) at 0000:00:08.0,
# bound to vfio-pci (its vfio cdev and group nodes appear), unbound, and
# removed; then SIGINT and SIGTERM stop them with exit status 0.
#
#   tools-vm-monitor.sh acpi    the guest's ACPI PCI hot plug driver adds the
#                               device and removes it on device_del (debug)
#   tools-vm-monitor.sh rescan  no hot plug driver (cdev, group): a bus
#                               rescan finds the device, sysfs remove drops it
. /usr/bin/tools-vm-lib.sh

MODE=${1:-rescan}
H=0000:00:08.0
D=/sys/bus/pci/devices/$H
TXT=/tmp/mon.txt
JS=/tmp/mon.json

t_eq "$([ -e /run/udev/control ] && echo udevd || echo none)" none "no udevd in the guest"
vni-monitor >$TXT 2>$TXT.err &
M1=$!
vni-monitor --json >$JS 2>$JS.err &
M2=$!
t_wait $TXT.err '^vni-monitor: listening to kernel events$' "text monitor listens (default source: kernel)"
t_wait $JS.err '^vni-monitor: listening to kernel events$' "JSON monitor listens"

# hot add
t_run 0 "device_add edu at 08.0" vni-vm-host device_add edu,id=hp0,addr=08.0
if [ "$MODE" = rescan ]; then
	echo 1 >/sys/bus/pci/rescan
	t_ok "bus rescanned"
fi
t_wait $TXT "^[0-9]+ add pci $H pci=$H id=1234:11e8 class=00ff00 driver=-\$" "add event"

# bind: the pci bind event and the vfio nodes the binding makes
t_run 0 "vni-bind --enable-noiommu $H" vni-bind --enable-noiommu -q $H
t_wait $TXT "^[0-9]+ bind pci $H pci=$H id=1234:11e8 class=00ff00 driver=vfio-pci\$" "bind event names vfio-pci"
cdev=$(ls $D/vfio-dev 2>/dev/null)
t_eq "$(echo "$cdev" | grep -Ec '^(noiommu-)?vfio[0-9]+$')" 1 "the binding made one vfio cdev ($cdev)"
t_wait $TXT "^[0-9]+ add vfio-dev $cdev pci=$H dev=/dev/vfio/devices/$cdev\$" "vfio-dev add event with the PCI address and node"
# a legacy group node too where the kernel has VFIO_GROUP (group flavour)
group=$(basename "$(readlink $D/iommu_group 2>/dev/null)" 2>/dev/null)
if [ -n "$group" ] && [ -e /dev/vfio/noiommu-$group ]; then
	t_wait $TXT "^[0-9]+ add vfio noiommu-$group dev=/dev/vfio/noiommu-$group\$" "vfio group add event (noiommu-$group)"
fi

# unbind
t_run 0 "vni-unbind $H" vni-unbind -q $H
t_wait $TXT "^[0-9]+ unbind pci $H pci=$H id=1234:11e8 class=00ff00 driver=-\$" "unbind event"
t_wait $TXT "^[0-9]+ remove vfio-dev $cdev pci=$H dev=/dev/vfio/devices/$cdev\$" "vfio-dev remove event"

# hot remove
if [ "$MODE" = acpi ]; then
	t_run 0 "device_del hp0" vni-vm-host device_del hp0
else
	echo 1 >$D/remove
	t_ok "removed through sysfs"
fi
t_wait $TXT "^[0-9]+ remove pci $H pci=$H id=1234:11e8 class=00ff00 driver=-\$" "remove event"
t_eq "$([ -e $D ] && echo present || echo gone)" gone "the device is gone from sysfs"

# order of the PCI events
t_eq "$(grep " pci $H " $TXT | cut -d' ' -f2 | tr '\n' ' ')" "add bind unbind remove " "PCI events in order, each once"

echo "# the events seen (text):"
sed 's/^/#   /' $TXT
# stop: SIGINT and SIGTERM end with exit status 0
kill -INT $M1
wait $M1
t_eq $? 0 "SIGINT: exit status 0"
t_wait $TXT.err '^vni-monitor: SIGINT: stopping$' "SIGINT reported"
kill -TERM $M2
wait $M2
t_eq $? 0 "SIGTERM: exit status 0"

# the JSON stream: one valid object per line, same events
t_eq "$(wc -l <$JS | tr -d ' ')" "$(wc -l <$TXT | tr -d ' ')" "JSON: one line per event, as many as text"
t_jq $JS 'all(.[]; (.seqnum | type) == "number" and (.action | type) == "string" and
	(.subsystem | IN("pci", "vfio-dev", "vfio")) and (.name | type) == "string" and
	(.devpath | startswith("/devices/")))' "JSON: every event has seqnum, action, subsystem, name, devpath"
t_jq $JS '[.[].seqnum] == ([.[].seqnum] | sort)' "JSON: seqnums ascend"
t_jq $JS "[.[] | select(.subsystem == \"pci\" and .pci == \"$H\") | [.action, .driver]] ==
	[[\"add\", null], [\"bind\", \"vfio-pci\"], [\"unbind\", null], [\"remove\", null]]" "JSON: PCI actions and drivers"
t_jq $JS "all(.[] | select(.subsystem == \"pci\" and .pci == \"$H\"); .name == \"$H\" and
	.id == \"1234:11e8\" and .class == \"00ff00\" and .devnode == null)" "JSON: PCI fields"
t_jq $JS "[.[] | select(.subsystem == \"vfio-dev\") | [.action, .name, .pci, .devnode]] ==
	[[\"add\", \"$cdev\", \"$H\", \"/dev/vfio/devices/$cdev\"],
	 [\"remove\", \"$cdev\", \"$H\", \"/dev/vfio/devices/$cdev\"]]" "JSON: vfio-dev add and remove"

echo "# the events seen (JSON):"
sed 's/^/#   /' $JS
t_run 2 "vni-monitor --source bad" vni-monitor --source nowhere
t_finish
