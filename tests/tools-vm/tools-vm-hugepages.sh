#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# vni-hugepages in the guest (booted without hugepages): reserve 2 MiB pages
# and mount hugetlbfs, show them (text and JSON), refuse the release while
# a process holds pages mapped, release them once it exited; a reserve the
# memory cannot satisfy; 1 GiB pages where the CPU offers them.
. /usr/bin/tools-vm-lib.sh

G=/sys/kernel/mm/hugepages/hugepages-2048kB
MNT=/mnt/huge

t_eq "$(cat $G/nr_hugepages)" 0 "boots without 2 MiB pages"
t_run 0 "show" vni-hugepages
t_grep out '^all +2 MiB +0 +0 +0 +0 +0$' "show: no 2 MiB pages"

t_run 0 "reserve 8 --mount=$MNT" vni-hugepages reserve 8 --mount=$MNT
t_grep out '^the system: 2 MiB pages: 8 \(was 0\)$' "reserve: reports the new pool"
t_grep out "^hugetlbfs mounted on $MNT \\(pagesize 2 MiB\\)\$" "reserve: mounted hugetlbfs"
t_eq "$(cat $G/nr_hugepages)" 8 "kernel pool is 8"
t_eq "$(awk -v m=$MNT '$2 == m { print $3 }' /proc/mounts)" hugetlbfs "hugetlbfs in /proc/mounts"
t_run 0 "--mount again" vni-hugepages --mount=$MNT
t_grep out "already mounted on $MNT" "second mount is a no-op"

t_run 0 "show" vni-hugepages
t_grep out '^all +2 MiB +8 +8 +0 +0 +0$' "show: 8 free"
t_grep out "^  $MNT \\(pagesize 2 MiB\\)\$" "show: the mount"

# a process maps and faults in 3 pages; it says so through a FIFO
mkfifo /tmp/hold
hugepage-hold 3 >/tmp/hold &
HOLD=$!
read -r line </tmp/hold
t_eq "$line" "holding 3" "a process holds 3 pages"
t_run 0 "show --json (3 in use)" vni-hugepages --json
cp "$T_OUT" /tmp/hp.json
t_jq /tmp/hp.json '.[0].sizes | map(select(.page_size == 2097152)) | length == 1 and
	(.[0] | .total == 8 and .free == 5 and .reserved == 0 and .surplus == 0 and .in_use == 3)' \
	"JSON: 8 total, 5 free, 3 in use"
t_jq /tmp/hp.json ".[0].mounts | any(.path == \"$MNT\" and .page_size == 2097152)" "JSON: the mount"
t_jq /tmp/hp.json '.[0].sizes | all(.nodes | type == "array")' "JSON: nodes arrays"

t_run 1 "release while in use" vni-hugepages release
t_grep err 'refusing to release 2 MiB pages on the system: 3 of 8 in use \(5 free, 0 reserved\)' "refusal names how many are in use"
t_eq "$(cat $G/nr_hugepages)" 8 "refused release left the pool"
t_run 1 "reserve 2 (below 3 in use)" vni-hugepages reserve 2
t_grep err '3 of 8 in use' "shrinking below the pages in use is refused"
t_run 0 "reserve 3 (= in use)" vni-hugepages reserve 3
t_eq "$(cat $G/nr_hugepages)" 3 "pool shrunk to the pages in use"

kill $HOLD
wait $HOLD
t_run 0 "show after the process exited" vni-hugepages
t_grep out '^all +2 MiB +3 +3 +0 +0 +0$' "show: pages free again"
t_run 0 "release" vni-hugepages release
t_grep out '^the system: 2 MiB pages: 0 \(was 3\)$' "release: reports the empty pool"
t_eq "$(cat $G/nr_hugepages)" 0 "kernel pool is 0"

# far more than the guest's memory: the kernel finds what it can
t_run 1 "reserve 64G" vni-hugepages reserve 64G
t_grep err 'asked for 32768 2 MiB pages on the system, the kernel found [0-9]+ \(not enough' "partial reserve says what the kernel found"
t_run 0 "release after the partial reserve" vni-hugepages release
t_eq "$(cat $G/nr_hugepages)" 0 "pool empty again"

# 1 GiB pages: only where the CPU has them (pdpe1gb)
if [ -d /sys/kernel/mm/hugepages/hugepages-1048576kB ]; then
	t_run 0 "reserve 1 GiB page" vni-hugepages -p 1G reserve 1
	t_run 0 "release 1 GiB pages" vni-hugepages -p 1G release
else
	t_run 1 "1 GiB pages not offered" vni-hugepages -p 1G reserve 1
	t_grep err 'offers no 1 GiB hugepages \(offered: 2 MiB\)' "names the sizes offered"
fi
if [ -d /sys/devices/system/node/node0/hugepages ]; then
	t_run 0 "show -n 0" vni-hugepages -n 0
	t_grep out '^0 +2 MiB ' "show -n 0: node 0"
else
	t_run 1 "--node without NUMA" vni-hugepages -n 0
	t_grep err 'no NUMA nodes' "--node on a kernel without NUMA says why"
fi
umount $MNT
t_finish
