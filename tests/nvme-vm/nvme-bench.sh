#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# nvme-bench.sh [SECONDS]: guest side of scripts/bench-nvme.sh. 4 KiB
# random reads at QD1 and QD32 through the kernel's nvme driver
# (nvme-kbench on /dev/nvme0n1), then through vni-nvme with polled and with
# MSI-X completions, on the same controller. Prints figures; the host
# script takes the "vni-nvme-bench" lines.
set -u
BDF=0000:00:06.0
secs=${1:-3}
fail() { echo "nvme-bench: FAIL: $*"; exit 1; }
modprobe nvme || fail "modprobe nvme"
i=0
while [ ! -b /dev/nvme0n1 ]; do
	i=$((i + 1))
	[ $i -le 300 ] || fail "/dev/nvme0n1 did not appear"
	sleep 0.2
done
nvme-kbench /dev/nvme0n1 "$secs" || fail "nvme-kbench"
vni-bind --enable-noiommu $BDF || fail "vni-bind"
vni-nvme $BDF bench "$secs" || fail "vni-nvme bench"
vni-nvme -i $BDF bench "$secs" || fail "vni-nvme -i bench"
