#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Fuzz every libFuzzer target of tests/fuzz for a while, each with a corpus
# that grows in a work directory (seeded from tests/fuzz/corpus/<target>/),
# then print executions and crashes per target.
#
#   scripts/fuzz.sh [-t MINUTES] [-j JOBS] [-b BUILDDIR] [-w WORKDIR] [TARGET...]
#
#   -t  minutes per target (default 10)
#   -j  targets fuzzed at the same time (default 1)
#   -b  build directory (default build-fuzz; configured with CC=clang
#       -Dfuzz=true if it is not yet)
#   -w  work directory (default BUILDDIR/fuzz-work): corpus/<target>/ (kept
#       between runs, so the corpus keeps growing), crashes/<target>/
#       (crash-*, leak-*, timeout-*, oom-* inputs), logs/<target>.log
#   TARGET  pci_addr filter_id log_level sysfs tools_args mountinfo (default all)
#
# Every fuzzer runs under nice -n 19. After a crash the target is started
# again for the rest of its time, so the table counts every crash found.
# A crash input is a reproducer: copy it into tests/fuzz/corpus/<target>/ and
# `meson test -C BUILDDIR --suite fuzz` fails until the bug is fixed.
# Exit status: 0 if no target crashed, 1 otherwise, 2 on usage errors.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
minutes=10
jobs=1
build=$top/build-fuzz
work=
all_targets=(pci_addr filter_id log_level sysfs tools_args mountinfo)

usage() { sed -n '4,23p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
while getopts "t:j:b:w:h" opt; do
	case $opt in
	t) minutes=$OPTARG ;;
	j) jobs=$OPTARG ;;
	b) build=$(realpath -m "$OPTARG") ;;
	w) work=$(realpath -m "$OPTARG") ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[[ $minutes =~ ^[0-9]+$ && $minutes -gt 0 && $jobs =~ ^[0-9]+$ && $jobs -gt 0 ]] || usage
work=${work:-$build/fuzz-work}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")
for t in "${targets[@]}"; do
	[ -d "$top/tests/fuzz/corpus/$t" ] || { echo "unknown target $t" >&2; exit 2; }
done

command -v clang >/dev/null || { echo "clang not found (apt-get install clang libclang-rt-14-dev)" >&2; exit 1; }
if [ ! -f "$build/build.ninja" ]; then
	CC=clang meson setup "$build" "$top" -Dfuzz=true -Dtests=false -Dexamples=false \
		-Dvm-tests=false >/dev/null
fi
nice -n 19 ninja -C "$build" -j2 $(printf 'tests/fuzz/fuzz-%s ' "${targets[@]}") >/dev/null

# Fuzz one target for $minutes minutes; leaves "execs crashes" in its .result.
fuzz_one() {
	local t=$1 exe=$build/tests/fuzz/fuzz-$1
	local corpus=$work/corpus/$t crashes=$work/crashes/$t log=$work/logs/$t.log
	local end=$(( $(date +%s) + minutes * 60 )) left execs=0 ncrash=0 n rc
	mkdir -p "$corpus" "$crashes" "$work/logs"
	cp -n "$top/tests/fuzz/corpus/$t"/* "$corpus"/ 2>/dev/null || true
	: >"$log"
	while left=$(( end - $(date +%s) )); [ "$left" -gt 0 ]; do
		rc=0
		ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		nice -n 19 "$exe" -max_total_time="$left" -print_final_stats=1 -timeout=10 \
			-rss_limit_mb=2048 -artifact_prefix="$crashes/" \
			"$corpus" >"$log.run" 2>&1 || rc=$?
		cat "$log.run" >>"$log"
		n=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log.run" | tail -1)
		[ -n "$n" ] || n=$(grep -o '^#[0-9]*' "$log.run" | tail -1 | tr -d '#')
		execs=$(( execs + ${n:-0} ))
		if [ "$rc" -ne 0 ]; then
			ncrash=$(( ncrash + 1 ))
			# a crash reproduced at once on restart would spin: stop then
			grep -q 'INITED' "$log.run" || break
		fi
	done
	rm -f "$log.run"
	echo "$execs $ncrash" >"$work/logs/$t.result"
}

echo "fuzzing ${targets[*]}: $minutes min each, $jobs at a time; work dir $work"
running=0
for t in "${targets[@]}"; do
	fuzz_one "$t" &
	running=$(( running + 1 ))
	if [ "$running" -ge "$jobs" ]; then
		wait -n || true
		running=$(( running - 1 ))
	fi
done
wait

status=0
printf '\n%-12s %8s %14s %10s %8s %8s %s\n' target minutes executions exec/s corpus crashes artifacts
for t in "${targets[@]}"; do
	read -r execs ncrash <"$work/logs/$t.result"
	ncorpus=$(find "$work/corpus/$t" -type f | wc -l)
	nart=$(find "$work/crashes/$t" -type f | wc -l)
	printf '%-12s %8s %14s %10s %8s %8s %s\n' "$t" "$minutes" "$execs" \
		"$(( execs / (minutes * 60) ))" "$ncorpus" "$ncrash" "$nart"
	[ "$ncrash" -eq 0 ] || status=1
done
exit $status
