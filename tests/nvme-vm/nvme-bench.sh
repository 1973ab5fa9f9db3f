#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# nvme-bench.sh [SECONDS [ROUNDS]]: guest side of scripts/bench-nvme.sh.
# 4 KiB random reads at QD1 and QD32 through the kernel's nvme driver
# (nvme-kbench on /dev/nvme0n1), then through vni-nvme with polled and with
# MSI-X completions, on the same controller; ROUNDS times (default 3) in
# turn, so that a change in the host's load hits every driver alike. Prints
# figures; the host script takes the "vni-nvme-bench" lines.
set -u
BDF=0000:00:06.0
secs=${1:-2}
rounds=${2:-3}
fail() { echo "nvme-bench: FAIL: $*"; exit 1; }
wait_blk() {
	i=0
	while [ ! -b /dev/nvme0n1 ]; do
		i=$((i + 1))
		[ $i -le 300 ] || fail "/dev/nvme0n1 did not appear"
		sleep 0.2
	done
}
modprobe nvme || fail "modprobe nvme"
# vni-nvme on CPU 0, and the interrupts vfio-pci requests for it too (the
# kernel's nvme driver completes on the submitting CPU by itself): a
# cross-CPU wake-up under TCG waits for the host to run the other vCPU.
echo 1 >/proc/irq/default_smp_affinity || fail "cannot set the default IRQ affinity"
r=1
while [ $r -le "$rounds" ]; do
	echo "nvme-bench: round $r of $rounds"
	wait_blk
	nvme-kbench /dev/nvme0n1 "$secs" || fail "nvme-kbench"
	vni-bind --enable-noiommu $BDF >/dev/null || fail "vni-bind"
	taskset 1 vni-nvme $BDF bench "$secs" || fail "vni-nvme bench"
	taskset 1 vni-nvme -i $BDF bench "$secs" || fail "vni-nvme -i bench"
	vni-unbind $BDF >/dev/null || fail "vni-unbind"
	r=$((r + 1))
done
