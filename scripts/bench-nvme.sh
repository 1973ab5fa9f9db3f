#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# bench-nvme.sh [BUILD [SECONDS [ROUNDS]]]: 4 KiB random reads at queue
# depth 1 and 32 on QEMU's NVMe controller, through the kernel's nvme
# driver and through vni-nvme (examples/nvme/, polled and MSI-X), in the
# same guest (cdev kernel), ROUNDS times in turn (default 3, SECONDS per
# run, default 2). Prints every run, then per driver the median over the
# rounds of IOPS, median and 99th percentile latency, and the vni-nvme /
# kernel ratios. A benchmark, not a test: under TCG only the
# ratios mean something (docs/performance.md).
#
# Needs a build configured with -Dkernels (BUILD defaults to ./build).
set -eu
build=${1:-build}
secs=${2:-2}
rounds=${3:-3}
src=$(cd "$(dirname "$0")/.." && pwd)
kernels=$(meson introspect --buildoptions "$build" |
	python3 -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"] == "kernels"][0])')
[ -n "$kernels" ] || { echo "bench-nvme: $build was configured without -Dkernels" >&2; exit 1; }
logdir=$(mktemp -d)
trap 'rm -rf "$logdir"' EXIT
python3 "$src/tests/vm/run-vm-test" --kernel-dir "$kernels/cdev" \
	--initramfs "$build/tests/vm/vm-initramfs.cpio.gz" --devices nvme \
	--cmd "nvme-bench.sh $secs $rounds" --hugepages 8 --timeout 1800 --quiet \
	--name bench-nvme --log-dir "$logdir"
grep -h "^nvme-kbench: QD\|^vni-nvme: bench: QD\|^vni-nvme-bench " "$logdir"/*.console.log
python3 - "$logdir"/bench-nvme.console.log <<'PY'
import re, sys
runs = []
for line in open(sys.argv[1], errors="replace"):
    if line.startswith("vni-nvme-bench "):
        runs.append(dict(kv.split("=", 1) for kv in line.split()[1:]))
keys = ["qd1_iops", "qd1_p50_us", "qd1_p99_us", "qd32_iops", "qd32_p50_us", "qd32_p99_us"]
med = {}
for r in runs:
    med.setdefault((r["driver"], r["completions"]), []).append(r)
if set(med) != {("kernel", "irq"), ("vni-nvme", "poll"), ("vni-nvme", "msix")}:
    sys.exit("bench-nvme: missing results in the console log")
rows = []
for (drv, comp) in [("kernel", "irq"), ("vni-nvme", "poll"), ("vni-nvme", "msix")]:
    rs = med[(drv, comp)]
    row = {"driver": drv, "completions": comp}
    for key in keys:
        vals = sorted(float(r[key]) for r in rs)
        row[key] = "%g" % vals[len(vals) // 2]
    rows.append(row)
k, ours = rows[0], rows[1:]
print("\nmedians over %d round(s):" % len(med[("kernel", "irq")]))
print("| driver | completions | QD1 IOPS | QD1 median us | QD1 p99 us | QD32 IOPS | QD32 median us | QD32 p99 us |")
print("|---|---|---|---|---|---|---|---|")
for r in rows:
    print("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
        r["driver"], r["completions"], r["qd1_iops"], r["qd1_p50_us"], r["qd1_p99_us"],
        r["qd32_iops"], r["qd32_p50_us"], r["qd32_p99_us"]))
for r in ours:
    print("ratio vni-nvme (%s) / kernel: QD1 IOPS %.2fx, QD32 IOPS %.2fx, "
          "QD1 median latency %.2fx" % (
              r["completions"], float(r["qd1_iops"]) / float(k["qd1_iops"]),
              float(r["qd32_iops"]) / float(k["qd32_iops"]),
              float(r["qd1_p50_us"]) / float(k["qd1_p50_us"])))
PY
