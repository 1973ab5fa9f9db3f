#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# vni-translate in the guest (edu at 0000:00:04.0, 8 hugepages): segment
# lists are consistent (they chain in IOVA, cover the range exactly, have
# page-aligned physical addresses, agree with the per-page lookups), for
# 4 KiB pages, hugepages, caller memory and sub-ranges; --no-device fails
# with the library's explanation.
. /usr/bin/tools-vm-lib.sh

E=0000:00:04.0

# check_segments TOTAL ALIGN DESC: the "segments:" table of $T_OUT chains in
# IOVA, sums to TOTAL and has PAs aligned to ALIGN (relative to the IOVA).
check_segments() {
	_total=$1 _align=$2 _desc=$3
	_n=$(sed -n 's/^segments: //p' "$T_OUT")
	_sum=0 _next= _bad=
	_rows=$(awk '/^  INDEX /{f=1; next} /^total:/{f=0} f' "$T_OUT")
	_count=0
	while read -r _i _iova _pa _len _rest; do
		[ -n "$_i" ] || continue
		_count=$((_count + 1))
		[ -z "$_next" ] || [ $((_iova)) = $((_next)) ] || _bad="$_bad seg$_i-not-chained"
		[ $((_pa)) != 0 ] || _bad="$_bad seg$_i-pa-zero"
		[ $(((_pa - _iova) % _align)) = 0 ] || _bad="$_bad seg$_i-pa-misaligned"
		_next=$((_iova + _len))
		_sum=$((_sum + _len))
	done <<ROWS
$_rows
ROWS
	[ "$_count" = "$_n" ] || _bad="$_bad count-$_count-vs-$_n"
	[ $((_sum)) = $((_total)) ] || _bad="$_bad sum-$_sum-vs-$((_total))"
	grep -Eq "^total: 0x$(printf %x $((_total))) bytes in $_n segment\(s\)\$" "$T_OUT" ||
		_bad="$_bad total-line"
	if [ -z "$_bad" ]; then
		t_ok "$_desc: $_n segment(s), chained, sum 0x$(printf %x $_sum), PAs aligned"
	else
		t_notok "$_desc:$_bad"
	fi
}

t_run 1 "vni-translate --no-device" vni-translate --no-device
t_grep err 'no device is open in this context|open a device' "--no-device: the library says a device must be open"

t_run 0 "vni-bind --enable-noiommu" vni-bind --enable-noiommu -q $E

t_run 0 "vni-translate (one 4 KiB page)" vni-translate $E
t_grep out '^context: IOAS [0-9]+, backend noiommu$' "context line"
t_grep out "^device: $E \(/dev/vfio/devices/noiommu-vfio[0-9]+\)\$" "device line"
t_grep out '^buffer: 0x[0-9a-f]+, 4 KiB, vni_dma_alloc, page size 4 KiB, 1 physically contiguous run\(s\)$' "buffer line"
t_grep out '^segments: 1$' "one segment"
t_grep out '^  0 +0x[0-9a-f]{13}000 +0x[0-9a-f]{13}000 +0x1000 +\(4 KiB\)$' "segment: page-aligned IOVA and PA, 4 KiB"
check_segments 4096 4096 "4 KiB"
t_grep out '^stats: 1 GET_PA call\(s\), 1 run\(s\)' "one GET_PA call"

t_run 0 "vni-translate -s 256K --small --verify -p" vni-translate -s 256K --small --verify -p $E
check_segments 0x40000 4096 "256 KiB of 4 KiB pages"
t_grep out '^verify: OK$' "segments agree with vni_dma_addr/vni_dma_contig"
runs=$(sed -n 's/^buffer: .* \([0-9]*\) physically contiguous run(s)$/\1/p' "$T_OUT")
t_eq "$(sed -n 's/^segments: //p' "$T_OUT")" "$runs" "segments = physically contiguous runs of the buffer"
t_eq "$(awk '/^pages:/{f=1; next} /^stats:/{f=0} f' "$T_OUT" | wc -l | tr -d ' ')" 64 "-p: 64 pages listed"
t_nogrep out '^  0x[0-9a-f]{16}  0xffffffffffffffff$' "-p: every page translates"

t_run 0 "vni-translate -s 4M --huge --verify" vni-translate -s 4M --huge --verify $E
t_grep out '^buffer: 0x[0-9a-f]+, 4 MiB, vni_dma_alloc, page size 2 MiB, [12] physically contiguous run\(s\)$' "hugepage buffer"
check_segments 0x400000 0x200000 "4 MiB of hugepages"
t_grep out '^verify: OK$' "hugepages: verify OK"

t_run 0 "vni-translate --user -s 64K --verify" vni-translate --user -s 64K --verify $E
t_grep out '^buffer: 0x[0-9a-f]+, 64 KiB, vni_dma_map, page size 4 KiB, ' "caller memory via vni_dma_map"
check_segments 0x10000 4096 "64 KiB of caller memory"
t_grep out '^verify: OK$' "caller memory: verify OK"

t_run 0 "vni-translate sub-range" vni-translate -s 64K --small -o 0x800 -l 0x2000 --verify $E
t_grep out '^range: offset 0x800, length 0x2000 \(8 KiB\)$' "range line"
t_grep out '^  0 +0x[0-9a-f]{13}800 +0x[0-9a-f]{13}800 ' "first segment starts at offset 0x800 of a page"
check_segments 0x2000 4096 "sub-range"

t_run 0 "vni-translate --json" vni-translate --json -s 8K --small $E
t_grep out "^\\{\"device\": \"$E\", \"ioas_id\": [0-9]+, \"buffer\": \\{\"vaddr\": \"0x[0-9a-f]{16}\", \"len\": 8192, \"page_size\": 4096, " "JSON: header"
t_grep out '"segments": \[\{"iova": "0x[0-9a-f]{16}", "pa": "0x[0-9a-f]{16}", "len": [0-9]+\}' "JSON: segments"

t_run 2 "vni-translate -o past the end" vni-translate -s 4K -o 4K $E
t_run 0 "vni-unbind" vni-unbind -q $E
t_finish
