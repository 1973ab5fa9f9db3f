#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# vni-bind / vni-unbind in the guest (edu at 0000:00:05.0): safety check,
# dry run, refusing without no-IOMMU mode, binding (sysfs driver becomes
# vfio-pci, the cdev appears), idempotence, refusing to unbind while the
# cdev is open, unbinding (previous state restored: no driver, no override).
. /usr/bin/tools-vm-lib.sh

B=0000:00:05.0
D=/sys/bus/pci/devices/$B
P=/sys/module/vfio/parameters/enable_unsafe_noiommu_mode
STATE=/run/vfionoiommu/$B

t_eq "$(t_driver $B)" "" "edu 2 starts without a driver"
t_eq "$(cat $P)" "N" "no-IOMMU mode starts disabled"

t_run 0 "vni-bind --check" vni-bind --check $B
t_grep out "^$B: not in use \(driver: none\): it can be bound\$" "--check: edu is free"

t_run 1 "vni-bind without --enable-noiommu while the mode is off" vni-bind $B
t_grep err 'no-IOMMU mode is disabled and 0000:00:05.0 has no IOMMU' "says why"
t_grep err '--enable-noiommu' "says what to do"
t_eq "$(t_driver $B)" "" "nothing bound after the refusal"
t_eq "$(cat $D/driver_override)" "(null)" "driver_override untouched after the refusal"

t_run 0 "vni-bind --dry-run --enable-noiommu" vni-bind --dry-run --enable-noiommu $B
t_grep out "^would write 1 to /sys$(echo $P | sed 's|^/sys||')\$" "dry run: enabling no-IOMMU mode"
t_grep out "^would write vfio-pci to $D/driver_override\$" "dry run: driver_override"
t_grep out "^would write $B to /sys/bus/pci/drivers_probe\$" "dry run: drivers_probe"
t_eq "$(cat $P)" "N" "dry run changed nothing (mode)"
t_eq "$(t_driver $B)" "" "dry run changed nothing (driver)"
t_eq "$(cat $D/driver_override)" "(null)" "dry run changed nothing (override)"

t_run 0 "vni-bind --enable-noiommu" vni-bind --enable-noiommu $B
t_grep out '^no-IOMMU mode enabled' "reports enabling the mode"
t_grep out "^$B: bound to vfio-pci \(was: none\)\$" "reports the binding"
t_grep out '^cdev /dev/vfio/devices/noiommu-vfio[0-9]+$' "prints the no-IOMMU cdev"
t_eq "$(cat $P)" "Y" "no-IOMMU mode is on"
t_eq "$(t_driver $B)" "vfio-pci" "sysfs: driver is vfio-pci"
t_eq "$(cat $D/driver_override)" "vfio-pci" "sysfs: driver_override is vfio-pci"
cdev=$(sed -n 's/^cdev //p' "$T_OUT")
if [ -c "$cdev" ]; then t_ok "$cdev is a character device"; else t_notok "$cdev missing"; fi
t_eq "$(cat $STATE 2>/dev/null)" "driver=
override=" "state file records: no previous driver"
if [ -e "$D/iommu_group" ]; then
	g=$(basename "$(readlink "$D/iommu_group")")
	if [ -c "/dev/vfio/noiommu-$g" ]; then
		t_grep out "^group /dev/vfio/noiommu-$g\$" "group flavour: prints the legacy group node too"
	fi
fi

t_run 0 "vni-bind again" vni-bind $B
t_grep out "^$B: already bound to vfio-pci\$" "second bind: already bound"
t_grep out "^cdev $cdev\$" "second bind: same cdev"

t_run 0 "vni-bind --check on the bound device" vni-bind --check $B

# Hold the cdev open in another process: unbinding must refuse and name it.
sleep 60 <>"$cdev" &
holder=$!
sleep 0.3
t_run 1 "vni-unbind while the cdev is open" vni-unbind $B
t_grep err "$cdev is open in process $holder \(sleep\)" "names the process holding the cdev"
t_eq "$(t_driver $B)" "vfio-pci" "still bound after the refusal"
kill $holder
wait $holder 2>/dev/null

t_run 0 "vni-unbind" vni-unbind $B
t_grep out "^$B: unbound from vfio-pci, now: none\$" "reports the restored state"
t_eq "$(t_driver $B)" "" "sysfs: no driver again (as before vni-bind)"
t_eq "$(cat $D/driver_override)" "(null)" "sysfs: driver_override cleared"
if [ -e "$STATE" ]; then t_notok "state file $STATE left behind"; else t_ok "state file removed"; fi
i=0
while [ -e "$cdev" ] && [ $i -lt 20 ]; do sleep 0.1; i=$((i + 1)); done
if [ -e "$cdev" ]; then t_notok "$cdev still exists"; else t_ok "$cdev is gone"; fi

t_run 0 "vni-unbind again" vni-unbind $B
t_grep out "^$B: not bound to vfio-pci \(driver: none\): nothing to do\$" "second unbind: nothing to do"

# The short address form, and vni-bind --unbind as the alias of vni-unbind.
t_run 0 "vni-bind 00:05.0 (mode already on)" vni-bind 00:05.0
t_eq "$(t_driver $B)" "vfio-pci" "bound again"
t_run 0 "vni-bind --unbind -q" vni-bind --unbind -q 00:05.0
t_eq "$(cat "$T_OUT")" "" "-q prints nothing"
t_eq "$(t_driver $B)" "" "unbound again"

t_run 2 "vni-bind bad BDF" vni-bind 00:05.9
t_run 1 "vni-bind absent device" vni-bind 00:1f.0
t_grep err 'no PCI device' "absent device: says so"

t_finish
