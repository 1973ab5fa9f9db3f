#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Fuzz every parser target of tests/fuzz with libFuzzer, SECONDS each
# (default 600), under ASan and UBSan. Not part of CI.
#
#   scripts/fuzz.sh [BUILD_DIR [SECONDS]]
#
# BUILD_DIR is a configured Meson build (for the generated version.h).
# Needs clang with libFuzzer (Debian 12: clang, which brings
# libclang-rt-14-dev) and libudev-dev. New inputs that raise coverage are
# kept in BUILD_DIR/fuzz/<target>/ (start from tests/fuzz/corpus/<target>);
# crashes are written there as crash-* and make the script fail.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
secs=${2:-600}
cc=${CLANG:-clang}
out=$build/fuzz
mkdir -p "$out"
status=0
for t in pci_addr pci_id log_level; do
	bin=$out/fuzz-$t
	$cc -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		-D_GNU_SOURCE -std=gnu11 -I"$src/include" -I"$build/include" -I"$src/lib" \
		-o "$bin" "$src/tests/fuzz/fuzz_$t.c" "$src"/lib/*.c -ludev -pthread
	mkdir -p "$out/$t"
	cp -n "$src/tests/fuzz/corpus/$t/"* "$out/$t/" 2>/dev/null || true
	echo "== fuzz-$t: $secs s"
	if ! (cd "$out" && "$bin" -max_total_time="$secs" -print_final_stats=1 \
			-artifact_prefix="$out/$t-" "$out/$t" 2>&1 | tail -15); then
		status=1
	fi
	if ls "$out/$t-"crash-* > /dev/null 2>&1; then
		echo "fuzz-$t: CRASH: $(ls "$out/$t-"crash-*)"
		status=1
	fi
done
exit $status
