#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Cross-build the library, tools and unit tests for aarch64 (Debian 12's
# gcc-aarch64-linux-gnu, cross/aarch64-linux-gnu.ini) and run the unit suite
# under qemu-user (qemu-aarch64).
#
#   scripts/test-arm64.sh [BUILDDIR]      (default build-arm64)
#
# Needs, as root once (the script installs them when run as root and they
# are missing; VNI_NO_INSTALL=1 only checks):
#   dpkg --add-architecture arm64 && apt-get update
#   apt-get install gcc-aarch64-linux-gnu qemu-user \
#       libudev-dev:arm64 libcmocka-dev:arm64 libnl-3-dev:arm64 libnl-route-3-dev:arm64
# No kernel headers or VM tests on arm64 (-Dvm-tests=false, no -Dkernels).
# Exit status: 0 when every unit test passed, 1 otherwise.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$(realpath -m "${1:-$top/build-arm64}")
cross=$top/cross/aarch64-linux-gnu.ini
packages=(gcc-aarch64-linux-gnu qemu-user libc6-dev:arm64 libudev-dev:arm64 libcmocka-dev:arm64
	libnl-3-dev:arm64 libnl-route-3-dev:arm64)

step() { printf '\n==> %s\n' "$*"; }
now() { date +%s; }

step "packages"
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ] || [ -n "${VNI_NO_INSTALL:-}" ]; then
		echo "missing packages: ${missing[*]} (see the header of $0)" >&2
		exit 1
	fi
	echo "installing: ${missing[*]}"
	dpkg --print-foreign-architectures | grep -qx arm64 || dpkg --add-architecture arm64
	DEBIAN_FRONTEND=noninteractive apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		"${missing[@]}"
else
	echo "all ${#packages[@]} packages present"
fi
for prog in aarch64-linux-gnu-gcc qemu-aarch64; do
	command -v "$prog" >/dev/null || { echo "$prog not found" >&2; exit 1; }
done

step "configure $build"
t0=$(now)
if [ -f "$build/build.ninja" ]; then
	meson setup --reconfigure "$build" "$top" >/dev/null
else
	meson setup --cross-file "$cross" "$build" "$top" \
		-Dvm-tests=false -Dexamples=false >/dev/null
fi

step "cross-build (aarch64)"
nice -n 19 ninja -C "$build" -j2
t1=$(now)

step "unit tests under qemu-aarch64"
# The tools' command line test runs the tools itself: it needs to honour
# Meson's MESON_EXE_WRAPPER to work under qemu-user; until it does, it is
# left out here (it can only fail with "Exec format error").
mapfile -t tests < <(meson test -C "$build" --list --suite unit 2>/dev/null | grep -v '^ninja')
if ! grep -q MESON_EXE_WRAPPER "$top/tools/tests/test-cli.sh"; then
	echo "note: tools-cli left out (tools/tests/test-cli.sh does not use MESON_EXE_WRAPPER)"
	mapfile -t tests < <(printf '%s\n' "${tests[@]}" | grep -vx tools-cli)
fi
rc=0
nice -n 19 meson test -C "$build" --no-rebuild --print-errorlogs "${tests[@]}" || rc=1
t2=$(now)

step "summary"
echo "cross-build $(( t1 - t0 )) s, unit tests $(( t2 - t1 )) s"
python3 - "$build/meson-logs/testlog.json" <<'PY'
import json, sys
res = [json.loads(l)["result"] for l in open(sys.argv[1])]
ok = sum(r in ("OK", "EXPECTEDFAIL") for r in res)
skip = sum(r == "SKIP" for r in res)
print(f"arm64: {ok} passed, {len(res) - ok - skip} failed, {skip} skipped")
PY
exit $rc
