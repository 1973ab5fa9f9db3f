#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# vni-list in the guest (devices: edu, edu at 0000:00:04.0 and 0000:00:05.0):
# discovery by ID, class, slot and driver, table and JSON output, the
# no-IOMMU mode line, and what changes once 0000:00:04.0 is bound.
. /usr/bin/tools-vm-lib.sh

E1=0000:00:04.0
E2=0000:00:05.0
NL='
'

t_run 0 "vni-list" vni-list
t_grep out '^no-IOMMU mode: disabled$' "mode line: disabled at boot"
t_grep out "^$E1  1234:11e8  00ff00 unclassified +- +none +- +-\$" "edu 1: unbound, no IOMMU group, no cdev"
t_grep out "^$E2  1234:11e8  00ff00 unclassified +- +none +- +-\$" "edu 2: unbound"

t_run 0 "vni-list -d 1234:11e8 -b" vni-list -d 1234:11e8 -b
t_eq "$(cat "$T_OUT")" "$E1$NL$E2" "-d 1234:11e8 finds exactly both edu devices, in order"
t_run 0 "vni-list -d 1234: -b" vni-list -d 1234: -b
t_eq "$(cat "$T_OUT")" "$E1$NL$E2" "-d 1234: (vendor only)"
t_run 0 "vni-list -d 1234:11e9 -b" vni-list -d 1234:11e9 -b
t_eq "$(cat "$T_OUT")" "" "-d with another device ID finds nothing"
t_run 0 "vni-list -c 00ff -b" vni-list -c 00ff -b
t_eq "$(cat "$T_OUT")" "$E1$NL$E2" "-c 00ff (class of edu)"
t_run 0 "vni-list -s 00:05.0 -H" vni-list -s 00:05.0 -H
t_eq "$(wc -l <"$T_OUT" | tr -d ' ')" 1 "-s selects one line"
t_grep out "^$E2 " "-s 00:05.0 is the second edu"
t_run 2 "vni-list -d 1234:11e8x" vni-list -d 1234:11e8x

t_run 0 "vni-list --json -d 1234:11e8" vni-list --json -d 1234:11e8
t_grep out '^\{"noiommu_mode": "disabled", "devices": \[' "JSON: mode and device array"
t_grep out "\"bdf\": \"$E1\", \"vendor\": \"1234\", \"device\": \"11e8\"" "JSON: edu 1"
t_grep out "\"bdf\": \"$E2\", \"vendor\": \"1234\", \"device\": \"11e8\"" "JSON: edu 2"
t_grep out '"driver": null, "iommu_group": null, "noiommu": false, "vfio_cdev": null' "JSON: unbound fields are null"
t_eq "$(grep -o '"bdf"' "$T_OUT" | wc -l | tr -d ' ')" 2 "JSON: two devices"

# Bind the first edu with the harness helper and look again.
echo "# \$ vni-vm-bind $E1"
vni-vm-bind "$E1" || t_notok "vni-vm-bind $E1 failed"
cdev=$(basename /sys/bus/pci/devices/$E1/vfio-dev/* 2>/dev/null)
t_run 0 "vni-list after binding" vni-list -d 1234:11e8
t_grep out '^no-IOMMU mode: enabled$' "mode line: enabled"
t_grep out "^$E1  1234:11e8  00ff00 unclassified +vfio-pci +noiommu(:[0-9]+)? +/dev/vfio/devices/$cdev +noiommu\$" "edu 1: vfio-pci, noiommu, cdev $cdev, backend noiommu"
t_grep out "^$E2  1234:11e8  00ff00 unclassified +- +none +- +-\$" "edu 2: still unbound"
case $cdev in noiommu-vfio*) t_ok "the cdev is a no-IOMMU cdev ($cdev)" ;; *) t_notok "cdev name '$cdev'" ;; esac

t_run 0 "vni-list --vfio -b" vni-list --vfio -b
t_eq "$(cat "$T_OUT")" "$E1" "--vfio: only the bound edu"
t_run 0 "vni-list --noiommu -b" vni-list --noiommu -b
t_eq "$(cat "$T_OUT")" "$E1" "--noiommu: only the bound edu"
t_run 0 "vni-list -k vfio-pci -b" vni-list -k vfio-pci -b
t_eq "$(cat "$T_OUT")" "$E1" "-k vfio-pci"
t_run 0 "vni-list -k none -d 1234:11e8 -b" vni-list -k none -d 1234:11e8 -b
t_eq "$(cat "$T_OUT")" "$E2" "-k none: the unbound edu"
t_run 0 "vni-list --json -s $E1" vni-list --json -s "$E1"
t_grep out "\"driver\": \"vfio-pci\", \"iommu_group\": (null|[0-9]+), \"noiommu\": true, \"vfio_cdev\": \"/dev/vfio/devices/$cdev\"" "JSON: bound device"

t_finish
