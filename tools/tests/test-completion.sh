#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The bash completion (tools/completion/vni.bash) against the tools: for
# each tool, in a fresh bash that sources the completion file, every option
# its --help lists is offered after "-", a prefix narrows the options, and
# option values and arguments come from a fake sysfs tree (VNI_SYSFS_ROOT):
# PCI addresses, drivers, hugepage sizes and nodes, fixed value sets.
#
#   test-completion.sh COMPLETION-FILE /path/to/vni-list ... (every tool)
#
# Prints one "ok"/"not ok" line per check and "N passed, N failed".
set -u
COMP=$1
shift
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok - $*"; }
notok() { fail=$((fail + 1)); echo "not ok - $*"; }

S=$tmp/sys
mkdir -p "$S/bus/pci/devices/0000:00:04.0" "$S/bus/pci/devices/0000:00:05.0" \
	"$S/bus/pci/devices/0000:01:00.0" "$S/bus/pci/drivers/vfio-pci" "$S/bus/pci/drivers/nvme" \
	"$S/kernel/mm/hugepages/hugepages-2048kB" "$S/kernel/mm/hugepages/hugepages-1048576kB" \
	"$S/devices/system/node/node0/hugepages" "$S/devices/system/node/node1/hugepages" \
	"$S/devices/system/node/node2" "$tmp/mnt/huge"
export VNI_SYSFS_ROOT=$S

# comp TOOL WORD...: the completion of the last WORD of "TOOL WORD...", sorted,
# space-separated (run in a fresh bash that sources $COMP).
comp() {
	bash --norc --noprofile -c '
		source "$1" || exit 3
		shift
		spec=$(complete -p "$1" 2>/dev/null) || { echo "NO-COMPLETION"; exit 0; }
		fn=${spec#*-F }
		fn=${fn%% *}
		COMP_WORDS=("$@")
		COMP_CWORD=$(($# - 1))
		COMP_LINE="$*"
		COMP_POINT=${#COMP_LINE}
		COMPREPLY=()
		"$fn" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
		printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " " | sed "s/ \$//"
	' comp "$COMP" "$@"
}
# expect DESCRIPTION EXPECTED TOOL WORD...
expect() {
	desc=$1 want=$2
	shift 2
	got=$(comp "$@")
	if [ "$got" = "$want" ]; then ok "$desc"; else notok "$desc: got '$got', expected '$want'"; fi
}

# Options of a --help text: "  -d, --device=ID  ..." and "      --vfio  ..."
help_options() {
	sed -nE 's/^ {2,}((-[A-Za-z0-9], )?--[a-z][-a-z0-9]*[^ ]*).*/\1/p' |
		tr ',' '\n' | sed -E 's/^ +//; s/[=[].*//' | sort -u
}

for t in "$@"; do
	name=$(basename "$t")
	if [ -n "${MESON_EXE_WRAPPER:-}" ]; then
		$MESON_EXE_WRAPPER "$t" --help >"$tmp/help" 2>&1
	else
		"$t" --help >"$tmp/help" 2>&1
	fi
	help_options <"$tmp/help" >"$tmp/opts"
	n=$(wc -l <"$tmp/opts")
	if [ "$n" -ge 4 ]; then ok "$name: $n options in --help"; else notok "$name: only $n options parsed from --help"; fi
	offered=" $(comp "$name" -) "
	case $offered in *NO-COMPLETION*) notok "$name: no completion registered"; continue ;; esac
	missing=
	while read -r o; do
		case $offered in *" $o "*) ;; *) missing="$missing $o" ;; esac
	done <"$tmp/opts"
	if [ -z "$missing" ]; then ok "$name: every --help option is completed"; else notok "$name: not completed:$missing"; fi
	extra=
	for o in $offered; do
		grep -qx -- "$o" "$tmp/opts" || extra="$extra $o"
	done
	if [ -z "$extra" ]; then ok "$name: completes no option --help lacks"; else notok "$name: completes unknown options:$extra"; fi
done

BDFS="0000:00:04.0 0000:00:05.0 0000:01:00.0"
expect "vni-list --js" "--json" vni-list --js
expect "vni-list --slot BDF" "$BDFS" vni-list --slot ""
expect "vni-list --slot=0000:00:0" "0000:00:04.0 0000:00:05.0" vni-list --slot = 0000:00:0
expect "vni-list -s= (empty value)" "$BDFS" vni-list -s =
expect "vni-list -k DRIVER" "none nvme vfio-pci" vni-list -k ""
expect "vni-list --class 01" "01 0106 0108" vni-list --class 01
expect "vni-list --device takes free text" "" vni-list --device 12
expect "vni-bind BDF" "$BDFS" vni-bind ""
expect "vni-bind --enable-noiommu 0000:01" "0000:01:00.0" vni-bind --enable-noiommu 0000:01
expect "vni-unbind -D DRIVER" "none nvme vfio-pci" vni-unbind -D ""
expect "vni-unbind --dr" "--driver --dry-run" vni-unbind --dr
expect "vni-inspect BDF" "$BDFS" vni-inspect -j ""
expect "vni-inspect --hexdump" "256" vni-inspect --hexdump 2
expect "vni-translate --size 4" "4K 4M" vni-translate --size 4
expect "vni-translate BDF after options" "$BDFS" vni-translate --huge -s 4M ""
expect "vni-monitor --source" "kernel udev" vni-monitor --source ""
expect "vni-monitor --source=u" "udev" vni-monitor --source = u
expect "vni-monitor takes no argument" "" vni-monitor -j ""
expect "vni-hugepages commands" "release reserve show" vni-hugepages ""
expect "vni-hugepages re" "release reserve" vni-hugepages -p 2M re
expect "vni-hugepages --pagesize (from sysfs)" "1G 2M" vni-hugepages --pagesize ""
expect "vni-hugepages --node (nodes with pools)" "0 1" vni-hugepages --node ""
expect "vni-hugepages reserve COUNT" "" vni-hugepages reserve ""
expect "vni-hugepages --mount=DIR" "$tmp/mnt/huge" vni-hugepages --mount = "$tmp/mnt/h"
expect "vni-hugepages -m then a command" "release reserve show" vni-hugepages -m ""

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
