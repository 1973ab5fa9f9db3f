#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Run the unit suite N times (default 50) while every CPU is kept busy, to
# show that no unit test depends on scheduling. Not part of CI.
#
#   scripts/repeat-unit.sh [BUILD_DIR [N]]
#
# Prints meson's summary; exits non-zero if any run of any test failed.
set -eu
build=${1:-build}
n=${2:-50}
ncpu=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)

pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM

# One busy loop per CPU, at normal priority: the tests compete with them.
i=0
while [ "$i" -lt "$ncpu" ]; do
	sh -c 'while :; do :; done' &
	pids="$pids $!"
	i=$((i + 1))
done

echo "repeat-unit: $n runs of the unit suite in $build, $ncpu busy loop(s) running"
meson test -C "$build" --suite unit --repeat "$n" --print-errorlogs
