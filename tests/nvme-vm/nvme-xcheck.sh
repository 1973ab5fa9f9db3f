#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# nvme-xcheck.sh: vni-nvme against the kernel's nvme driver on one
# controller (guest side of the nvme-xcheck test). The host filled the
# 64 MiB image with its pattern (tests/nvme-vm/nvmeimage.py, seed
# HOST_SEED); every write made here is announced with a
# "vni-nvme-image: wrote SECTOR COUNT seed SEED" line, and the host checks
# the image against them byte for byte after the VM exits.
#
#  1. vni-nvme: identify, verify (writes a pattern, reads it back, restores);
#  2. vni-nvme reads the host pattern at random sectors (group A);
#  3. vni-nvme writes its pattern at other random sectors (group B);
#  4. back to the kernel (vni-unbind): dd iflag=direct from /dev/nvme0n1
#     reads group B and a range of group A exactly; dd oflag=direct writes
#     the kernel's pattern at group C, then sync;
#  5. back to vfio-pci (vni-bind): vni-nvme reads group C.
# Each vni-nvme run uses other options: polled or MSI-X completions, 1-4
# I/O queue pairs, scattered 4 KiB pages or hugepages, data at an offset.
set -u
BDF=0000:00:06.0
HOST_SEED=0x4e564d45
OUR_SEED=0x0a11ce5
KERNEL_SEED=0x6b65726e
NRANGES=8

say() { echo "nvme-xcheck: $*"; }
fail() { echo "nvme-xcheck: FAIL: $*"; exit 1; }
run() { say "\$ $*"; "$@" || fail "'$*' failed (exit $?)"; }

# vni-nvme options for the Nth range
opts() {
	case $(($1 % 8)) in
	0) echo "-m heap" ;;
	1) echo "-m huge" ;;
	2) echo "-i -m heap -o 512" ;;
	3) echo "-i -m huge" ;;
	4) echo "-q 2 -m heap" ;;
	5) echo "-q 4 -i -m heap -o 4" ;;
	6) echo "-m huge -o 2048" ;;
	7) echo "-i -q 2 -m huge" ;;
	esac
}

wait_blk() {
	i=0
	while [ ! -b /dev/nvme0n1 ]; do
		i=$((i + 1))
		[ $i -le 300 ] || fail "/dev/nvme0n1 did not appear within 60 s"
		sleep 0.2
	done
}

# group NAME FIRST: lines FIRST..FIRST+NRANGES-1 of the plan
group() { sed -n "$(($1 + 1)),$(($1 + NRANGES))p" /tmp/plan; }

run modprobe nvme
wait_blk
say "the kernel's nvme driver has $(cat /sys/block/nvme0n1/size) sectors"
nvme-pattern pick 20261202 $((3 * NRANGES)) "$(cat /sys/block/nvme0n1/size)" >/tmp/plan ||
	fail "nvme-pattern pick failed"
run vni-bind --enable-noiommu $BDF

# 1. identify and verify
# out FILE CMD...: run CMD, show and keep its output
out() { f=$1; shift; say "\$ $*"; "$@" >"$f"; rc=$?; cat "$f"; [ $rc = 0 ] || fail "'$*' failed (exit $rc)"; }
out /tmp/identify vni-nvme $BDF identify
grep -q "LBA size 512 B" /tmp/identify || fail "identify: not a namespace of 512 B blocks"
# a namespace the controller does not have: the status, by name
say "\$ vni-nvme -n 4000 $BDF identify (must fail)"
vni-nvme -n 4000 $BDF identify >/tmp/bad 2>&1 && fail "identify of namespace 4000 succeeded"
cat /tmp/bad
grep -q "admin command 0x06: Invalid Namespace or Format (SCT 0 SC 0x0b" /tmp/bad ||
	fail "identify of namespace 4000: no 'Invalid Namespace or Format' status"
out /tmp/verify vni-nvme -i $BDF verify
grep -q "MSI-X interrupts: .* I/O [1-9]" /tmp/verify || fail "verify -i: no I/O queue interrupt seen"
run vni-nvme -m huge -o 1024 -q 2 $BDF verify 5000 1500

# 2. our driver reads the host's pattern
n=0
group 0 >/tmp/a
while read -r s c; do
	run vni-nvme $(opts $n) $BDF read "$s" "$c" /tmp/data
	run nvme-pattern check "$s" "$c" $HOST_SEED /tmp/data
	n=$((n + 1))
done </tmp/a

# 3. our driver writes its pattern
group $NRANGES >/tmp/b
while read -r s c; do
	run nvme-pattern gen "$s" "$c" $OUR_SEED /tmp/data
	run vni-nvme $(opts $n) $BDF write "$s" "$c" /tmp/data
	echo "vni-nvme-image: wrote $s $c seed $OUR_SEED"
	n=$((n + 1))
done </tmp/b

# 4. the kernel reads what we wrote, and writes its own pattern
run vni-unbind $BDF
wait_blk
while read -r s c; do
	run dd if=/dev/nvme0n1 of=/tmp/data bs=512 skip="$s" count="$c" iflag=direct status=none
	run nvme-pattern check "$s" "$c" $OUR_SEED /tmp/data
done </tmp/b
read -r s c </tmp/a
run dd if=/dev/nvme0n1 of=/tmp/data bs=512 skip="$s" count="$c" iflag=direct status=none
run nvme-pattern check "$s" "$c" $HOST_SEED /tmp/data
group $((2 * NRANGES)) >/tmp/c
while read -r s c; do
	run nvme-pattern gen "$s" "$c" $KERNEL_SEED /tmp/data
	run dd if=/tmp/data of=/dev/nvme0n1 bs=512 seek="$s" count="$c" oflag=direct conv=notrunc \
		status=none
	echo "vni-nvme-image: wrote $s $c seed $KERNEL_SEED"
done </tmp/c
run sync

# 5. our driver reads what the kernel wrote
run vni-bind $BDF
while read -r s c; do
	run vni-nvme $(opts $n) $BDF read "$s" "$c" /tmp/data
	run nvme-pattern check "$s" "$c" $KERNEL_SEED /tmp/data
	n=$((n + 1))
done </tmp/c
say "PASS: $NRANGES ranges each: host pattern read by vni-nvme, vni-nvme's writes read" \
	"by the kernel, the kernel's writes read by vni-nvme"
