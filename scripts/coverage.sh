#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Line coverage of lib/ by the unit suite (the simulated kernel of
# tests/unit/fake.c), per file and in total, with gcovr.
#
#   scripts/coverage.sh [BUILDDIR]      (default build-coverage)
#
# Configures BUILDDIR with -Db_coverage=true (gcc, no VM tests), clears old
# counters, runs `meson test --suite unit`, prints the gcovr table and writes
# BUILDDIR/coverage/index.html (line by line) and coverage.txt.
# Needs gcovr (apt-get install gcovr). Exit status: 1 if a unit test failed
# or gcovr could not run; coverage itself never fails the script, unless
# VNI_COVERAGE_MIN=N is set and the total of lib/ is below N percent.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$(realpath -m "${1:-$top/build-coverage}")

command -v gcovr >/dev/null || { echo "gcovr not found (apt-get install gcovr)" >&2; exit 1; }
if [ -f "$build/build.ninja" ]; then
	meson setup --reconfigure "$build" "$top" >/dev/null
else
	# The default buildtype (debugoptimized, -O2): at -O0/-Og gcc 12 reports
	# a false -Wformat-truncation in lib/pci.c and -Werror stops the build.
	meson setup "$build" "$top" -Db_coverage=true -Dvm-tests=false -Dexamples=false \
		>/dev/null
fi
nice -n 19 ninja -C "$build" -j2 >/dev/null
find "$build" -name '*.gcda' -delete

rc=0
nice -n 19 meson test -C "$build" --suite unit --no-rebuild --print-errorlogs >"$build/coverage-tests.log" 2>&1 || rc=1
grep -E '^(Ok|Fail|Timeout):' "$build/coverage-tests.log" || true
[ $rc -eq 0 ] || echo "unit tests failed (log: $build/coverage-tests.log); coverage below is partial" >&2

mkdir -p "$build/coverage"
gcovr --root "$top" --object-directory "$build" --filter "$top/lib/" \
	--exclude-unreachable-branches --txt "$build/coverage/coverage.txt" \
	--html-details "$build/coverage/index.html" --print-summary
cat "$build/coverage/coverage.txt"
echo "line by line: $build/coverage/index.html"

if [ -n "${VNI_COVERAGE_MIN:-}" ]; then
	total=$(awk '/^TOTAL/ { sub("%", "", $4); print int($4) }' "$build/coverage/coverage.txt")
	if [ "${total:-0}" -lt "$VNI_COVERAGE_MIN" ]; then
		echo "lib/ line coverage ${total}% is below VNI_COVERAGE_MIN=${VNI_COVERAGE_MIN}%" >&2
		rc=1
	fi
fi
exit $rc
