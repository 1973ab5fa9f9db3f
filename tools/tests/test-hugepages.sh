#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# vni-hugepages against a fake sysfs tree (VNI_SYSFS_ROOT) and a fake mount
# table (VNI_MOUNTS): show (text and JSON, parsed with python3), reserve and
# release per node and system-wide, the refusal while pages are in use or
# reserved, sizes the kernel does not offer, and --mount on a directory that
# already is a hugetlbfs mount. Plain files take the place of the kernel's
# counters, so a write is checked by reading the file back.
#
#   test-hugepages.sh /path/to/vni-hugepages
#
# Prints one "ok"/"not ok" line per check and "N passed, N failed".
set -u
HP=$1
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
if [ -n "${MESON_EXE_WRAPPER:-}" ]; then
	printf '#!/bin/sh\nexec %s "%s" "$@"\n' "$MESON_EXE_WRAPPER" "$(realpath "$HP")" >"$tmp/hp"
	chmod +x "$tmp/hp"
	HP=$tmp/hp
fi
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok - $*"; }
notok() { fail=$((fail + 1)); echo "not ok - $*"; sed 's/^/    | /' "$tmp/out" "$tmp/err"; }
run() {
	want=$1 desc=$2
	shift 2
	"$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ "$rc" = "$want" ]; then ok "$desc (exit $rc)"; return 0; fi
	notok "$desc: exit $rc, expected $want"
	return 1
}
expect() {
	if grep -Eq -- "$2" "$tmp/$1"; then ok "$3"; else notok "$3: /$2/ not in std$1"; fi
}
eq() {
	if [ "$1" = "$2" ]; then ok "$3"; else notok "$3: '$1', expected '$2'"; fi
}

S=$tmp/sys
export VNI_SYSFS_ROOT=$S VNI_MOUNTS=$tmp/mounts
# pool DIR TOTAL FREE SURPLUS [RESV]
pool() {
	mkdir -p "$1"
	echo "$2" >"$1/nr_hugepages"
	echo "$3" >"$1/free_hugepages"
	echo "$4" >"$1/surplus_hugepages"
	[ $# -ge 5 ] && echo "$5" >"$1/resv_hugepages"
	return 0
}
G=$S/kernel/mm/hugepages
N=$S/devices/system/node
pool "$G/hugepages-2048kB" 12 7 0 1
pool "$G/hugepages-1048576kB" 0 0 0 0
pool "$N/node0/hugepages/hugepages-2048kB" 8 3 0
pool "$N/node0/hugepages/hugepages-1048576kB" 0 0 0
pool "$N/node1/hugepages/hugepages-2048kB" 4 4 0
pool "$N/node1/hugepages/hugepages-1048576kB" 0 0 0
mkdir -p "$N/node2" "$N/possible"   # a memoryless node without pools: not listed
printf 'proc /proc proc rw 0 0\nhugetlbfs /dev/hugepages hugetlbfs rw,relatime,pagesize=2M 0 0\nnone /mnt/huge\\0401g hugetlbfs rw,pagesize=1024M 0 0\n' >"$tmp/mounts"

# show
run 0 "show" "$HP" && expect out '^NODE +SIZE +TOTAL +FREE +RESERVED +SURPLUS +IN-USE$' "show: header"
expect out '^0 +2 MiB +8 +3 +- +0 +5$' "show: node 0, 2 MiB, 5 in use"
expect out '^1 +2 MiB +4 +4 +- +0 +0$' "show: node 1, 2 MiB"
expect out '^all +2 MiB +12 +7 +1 +0 +5$' "show: system 2 MiB with reserved"
expect out '^all +1 GiB +0 +0 +0 +0 +0$' "show: system 1 GiB"
expect out '^  /dev/hugepages \(pagesize 2 MiB\)$' "show: mount with its page size"
expect out '^  /mnt/huge 1g \(pagesize 1 GiB\)$' "show: mount path unescaped"
eq "$(grep -c '^2 ' "$tmp/out")" 0 "show: node without pools not listed"
run 0 "show -n 1" "$HP" -n 1 show
eq "$(grep -Ec '^(0|all) ' "$tmp/out")" 0 "show -n 1: only node 1"
eq "$(grep -Ec '^1 ' "$tmp/out")" 2 "show -n 1: both sizes of node 1"
run 0 "show --json" "$HP" --json
if python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert [s["page_size"] for s in d["sizes"]] == [2 << 20, 1 << 30], d
s = d["sizes"][0]
assert (s["total"], s["free"], s["reserved"], s["surplus"], s["in_use"]) == (12, 7, 1, 0, 5), s
assert [n["node"] for n in s["nodes"]] == [0, 1], s
n0 = s["nodes"][0]
assert (n0["total"], n0["free"], n0["reserved"], n0["in_use"]) == (8, 3, None, 5), n0
assert d["mounts"] == [{"path": "/dev/hugepages", "page_size": 2 << 20},
                       {"path": "/mnt/huge 1g", "page_size": 1 << 30}], d["mounts"]
' "$tmp/out" 2>"$tmp/err"; then ok "show --json: fields and values"; else notok "show --json content"; fi

# usage errors
run 2 "reserve without COUNT" "$HP" reserve && expect err 'missing COUNT' "reserve: says COUNT is missing"
run 2 "reserve bad COUNT" "$HP" reserve lots
run 2 "bad page size" "$HP" -p 3x show
run 2 "unknown command" "$HP" frobnicate && expect err 'unknown command' "names the unknown command"
run 2 "--json with reserve" "$HP" --json reserve 1
run 2 "--mount relative" "$HP" --mount=huge
run 1 "--node 5 (absent)" "$HP" -n 5 show && expect err 'no such NUMA node' "absent node named"
run 1 "4 MiB pages (not offered)" "$HP" -p 4M reserve 1 && expect err 'offers no 4 MiB hugepages \(offered: 2 MiB, 1 GiB\)' "lists the offered sizes"

# reserve and release
run 0 "reserve 16 on node 1" "$HP" -n 1 reserve 16 && expect out '^node 1: 2 MiB pages: 16 \(was 4\)$' "reserve: before and after"
eq "$(cat "$N/node1/hugepages/hugepages-2048kB/nr_hugepages")" 16 "reserve: node 1 counter written"
eq "$(cat "$G/hugepages-2048kB/nr_hugepages")" 12 "reserve -n: system counter untouched"
run 0 "reserve 2G of 1 GiB pages" "$HP" -p 1G reserve 2G
eq "$(cat "$G/hugepages-1048576kB/nr_hugepages")" 2 "reserve SIZE: rounded to pages"
pool "$N/node1/hugepages/hugepages-2048kB" 16 16 0   # as the kernel would show it now
run 0 "reserve 3M of 2 MiB pages" "$HP" -n 1 reserve 3M
eq "$(cat "$N/node1/hugepages/hugepages-2048kB/nr_hugepages")" 2 "reserve 3M: rounded up to 2 pages"
run 1 "release node 0 (5 in use)" "$HP" -n 0 release &&
	expect err 'refusing to release 2 MiB pages on node 0: 5 of 8 in use \(3 free' "refusal names how many are in use"
eq "$(cat "$N/node0/hugepages/hugepages-2048kB/nr_hugepages")" 8 "refused release wrote nothing"
run 1 "reserve 2 on node 0 (below 5 in use)" "$HP" -n 0 reserve 2 && expect err '5 of 8 in use' "shrinking is a release"
run 0 "reserve 5 on node 0 (= in use)" "$HP" -n 0 reserve 5
run 1 "system release (5 in use, 1 reserved)" "$HP" release && expect err '5 of 12 in use \(7 free, 1 reserved\)' "system refusal counts reserved"
# the reservation alone blocks a release
pool "$G/hugepages-2048kB" 4 4 0 2
run 1 "system release with 2 reserved" "$HP" release && expect err '0 of 4 in use \(4 free, 2 reserved\)' "reserved pages block"
pool "$G/hugepages-2048kB" 4 4 0 0
run 0 "system release (all free)" "$HP" release && expect out '^the system: 2 MiB pages: 0 \(was 4\)$' "release: before and after"
eq "$(cat "$G/hugepages-2048kB/nr_hugepages")" 0 "release: counter is 0"
# mount: already mounted with the right size is a no-op; a wrong size fails
run 0 "--mount on an existing hugetlbfs" "$HP" --mount && expect out 'already mounted on /dev/hugepages' "mount: existing mount recognised"
run 1 "--mount 1G pages on the 2M mount" "$HP" -p 1G --mount=/dev/hugepages && expect err 'already a hugetlbfs mount for 2 MiB pages, not 1 GiB' "mount: page size mismatch"

# no NUMA in the kernel: system pools only, --node refused
rm -rf "$N"
run 0 "show without NUMA" "$HP" && expect out '^all +2 MiB ' "no NUMA: system rows"
eq "$(grep -Ec '^[0-9]' "$tmp/out")" 0 "no NUMA: no node rows"
run 1 "--node without NUMA" "$HP" -n 0 show && expect err 'no NUMA nodes' "no NUMA: --node refused with a reason"
rm -rf "$S/kernel"
run 1 "no hugepages at all" "$HP" && expect err 'CONFIG_HUGETLBFS' "no hugetlbfs: says why"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
