#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# vni-inspect in the guest: the edu device at 0000:00:04.0 opened through the
# library (QEMU's edu: 1 MiB BAR0, INTx and one MSI vector, an MSI capability).
. /usr/bin/tools-vm-lib.sh

E=0000:00:04.0

t_run 1 "vni-inspect before binding" vni-inspect $E
t_grep err "cannot open $E" "says which device could not be opened"
t_grep err 'enable_unsafe_noiommu_mode|vfio-pci' "says what to do (no-IOMMU mode / vfio-pci)"

t_run 0 "vni-bind --enable-noiommu" vni-bind --enable-noiommu -q $E
t_run 1 "vni-inspect of the unbound edu" vni-inspect 0000:00:05.0
t_grep err 'vfio-pci' "unbound device: mentions vfio-pci"

t_run 0 "vni-inspect" vni-inspect $E
t_grep out "^device $E: 1234:11e8, class 00ff00 \(unclassified\)\$" "device line"
t_grep out '^  cdev: +/dev/vfio/devices/noiommu-vfio[0-9]+$' "no-IOMMU cdev"
t_grep out '^  iommufd: +device object [0-9]+ attached to IOAS [0-9]+$' "iommufd binding"
t_grep out '^  vfio flags: +0x[0-9a-f]+ \((reset,)?pci' "VFIO flags decoded"
t_grep out '^regions: (9|[1-9][0-9])$' "region count"
t_grep out '^  0 +BAR0 +0x100000 +1 MiB +read,write,mmap +0x0$' "BAR0: 1 MiB, mmap-able, offset 0"
t_grep out '^  1 +BAR1 +0 +\(absent\)' "BAR1 absent"
t_grep out '^  7 +CONFIG +0x(100|1000) +(256 B|4 KiB) +read,write +0x[0-9a-f]+$' "config region"
t_grep out '^  INTx +1 vector\(s\) +eventfd' "INTx: one vector"
t_grep out '^  MSI +1 vector\(s\)' "MSI: one vector"
t_grep out '^  MSI-X +0 vector\(s\) +-$' "MSI-X: none"
t_grep out '^config space \((256|4096) bytes; first 64 shown\):$' "config space header"
t_grep out '^  000: 34 12 e8 11 ' "hex dump starts with the IDs"
t_eq "$(grep -c '^  0[0-3]0: ' "$T_OUT")" 4 "64 bytes = 4 dump lines"
t_grep out '^  vendor +1234$' "decoded vendor"
t_grep out '^  device +11e8$' "decoded device"
t_grep out '^  status +0x[0-9a-f]{4} \(.*cap-list' "status: capability list"
t_grep out '^  class +00ff00 ' "decoded class"
t_grep out '^  header type 0x00 \(normal\)$' "header type"
t_grep out '^  BAR0 +memory at 0x[0-9a-f]+ \(32-bit, non-prefetchable\)$' "BAR0 decoded"
t_grep out '^  interrupt +line [0-9]+, pin A$' "interrupt pin A"
t_grep out '^capabilities:$' "capability list"
t_grep out '^  \[0x[0-9a-f]{2}\] 0x05 MSI: (enabled|disabled), 1 vector\(s\) capable' "MSI capability"

t_run 0 "vni-inspect -x 256" vni-inspect -x 256 00:04.0
t_grep out '^config space \((256|4096) bytes; first 256 shown\):$' "-x 256 header"
t_eq "$(grep -c '^  0[0-9a-f]0: ' "$T_OUT")" 16 "256 bytes = 16 dump lines"

# --json: the same facts as one object (docs/json.md)
t_run 0 "vni-inspect --json" vni-inspect --json $E
cp "$T_OUT" /tmp/inspect.json
t_eq "$(wc -l </tmp/inspect.json | tr -d ' ')" 1 "JSON: one line"
t_jq /tmp/inspect.json ".[0].device | .bdf == \"$E\" and .vendor == \"1234\" and .device == \"11e8\" and
	.class == \"00ff00\" and .class_name == \"unclassified\" and
	(.cdev | test(\"^/dev/vfio/devices/noiommu-vfio[0-9]+\$\")) and
	(.iommufd_dev_id | type) == \"number\" and (.ioas_id | type) == \"number\" and
	(.vfio_flag_names | index(\"pci\")) != null" "JSON: device"
t_jq /tmp/inspect.json '.[0].regions | length >= 9 and
	(.[0] | .index == 0 and .name == "BAR0" and .size == 1048576 and .offset == 0 and
	 .flags == ["read", "write", "mmap"]) and
	(.[1] | .name == "BAR1" and .size == 0) and
	(.[7] | .name == "CONFIG" and (.size == 256 or .size == 4096) and .flags == ["read", "write"])' \
	"JSON: regions (BAR0 1 MiB mmap, BAR1 absent, config)"
t_jq /tmp/inspect.json '.[0].interrupts | map(.type) == ["INTx", "MSI", "MSI-X"] and
	.[0].count == 1 and (.[0].flags | index("eventfd")) != null and .[1].count == 1 and
	.[2].count == 0 and .[2].flags == []' "JSON: interrupts"
t_jq /tmp/inspect.json '.[0].config | .hex[0:8] == "3412e811" and (.hex | length) == 128 and
	.vendor == "1234" and .device == "11e8" and .class == "00ff00" and .header_type == 0 and
	.multi_function == false and (.status_flags | index("cap-list")) != null and
	.interrupt_pin == "A" and
	(.bars[0] | .type == "memory" and .bits == 32 and .prefetchable == false and
	 (.address | test("^0x[0-9a-f]+$"))) and (.bars | length) == 6' "JSON: config header and BARs"
t_jq /tmp/inspect.json '.[0].capabilities | any(.id == 5 and .name == "MSI" and .offset >= 64)' "JSON: MSI capability"
t_jq /tmp/inspect.json '.[0].extended_capabilities | type == "array"' "JSON: extended capabilities array"
t_run 0 "vni-inspect --json -x 256" vni-inspect --json -x 256 $E
t_jq "$T_OUT" '.[0].config.hex | length == 512' "JSON: -x 256 gives 256 bytes of hex"

# The device is free again once vni-inspect exits: a second open works.
t_run 0 "vni-inspect again" vni-inspect $E
t_run 0 "vni-unbind" vni-unbind -q $E
t_finish
