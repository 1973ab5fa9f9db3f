#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# One entry point for a fresh Debian 12 machine (root):
#
#   ./run.sh demo   set everything up, then run the edu DMA example in QEMU
#                   on the patched cdev-only kernel
#   ./run.sh test   set everything up, then run every test (unit, unit under
#                   ASan+UBSan, the fuzz regression, the unit suite on arm64
#                   under qemu-user, and the QEMU suite on all kernel flavours)
#
# Both are idempotent: packages, kernels (cached under VNI_CACHE_DIR) and
# the Meson build are only redone when their inputs changed.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${VNI_CACHE_DIR:-/var/cache/libvfionoiommu}
kernels=$cache/kernels
build=$top/build
build_asan=$top/build-asan
build_fuzz=$top/build-fuzz
build_arm64=$top/build-arm64
export VNI_CACHE_DIR=$cache

t0=$(date +%s)
# Each step prints the minutes:seconds since the start, so a CI log shows
# where a cold run spends its time.
step() {
	local dt=$(( $(date +%s) - t0 ))
	printf '\n==> [%d:%02d] %s\n' $((dt / 60)) $((dt % 60)) "$*"
}

as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

install_packages() {
	local missing=()
	mapfile -t wanted < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$top/scripts/packages.txt")
	for p in "${wanted[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	if [ ${#missing[@]} -eq 0 ]; then
		echo "all ${#wanted[@]} packages present"
		return
	fi
	echo "installing: ${missing[*]}"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
	as_root env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -q --no-install-recommends "${missing[@]}"
}

build_kernels() {
	local f
	for f in "$@"; do
		"$top/scripts/build-kernel.sh" "$f" --kernels "$kernels"
	done
}

# Configure (or reconfigure) a build directory with the given options.
meson_setup() {
	local dir=$1
	shift
	if [ -f "$dir/build.ninja" ]; then
		meson setup --reconfigure "$dir" "$top" "$@" >/dev/null
	else
		meson setup "$dir" "$top" "$@"
	fi
}

build_project() {
	meson_setup "$build" -Dkernels="$kernels" \
		-Dlinux-headers="$kernels/cdev/headers/include"
	ninja -C "$build"
}

# Print the plain closing line from Meson's JSON test log.
summary() {
	python3 - "$@" <<'EOF'
import json, sys
passed = failed = skipped = 0
for path in sys.argv[1:]:
    try:
        log = open(path)
    except OSError:
        print(f"no test log {path}: that step did not get to its tests")
        failed += 1
        continue
    for line in log:
        r = json.loads(line)["result"]
        if r in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif r == "SKIP":
            skipped += 1
        else:
            failed += 1
print(f"{passed} passed, {failed} failed, {skipped} skipped")
EOF
}

cmd=${1:-}
case "$cmd" in
demo)
	step "packages"
	install_packages
	step "kernel (cdev flavour)"
	build_kernels cdev
	step "library, tools, examples"
	build_project
	step "edu DMA example in QEMU on the patched cdev-only kernel"
	meson test -C "$build" --suite demo --verbose --no-rebuild
	;;
test)
	step "packages"
	install_packages
	step "kernels"
	build_kernels group cdev debug vanilla
	step "library, tools, examples, tests"
	build_project
	step "unit tests under AddressSanitizer + UndefinedBehaviorSanitizer"
	meson_setup "$build_asan" -Db_sanitize=address,undefined -Db_lundef=false \
		-Dlinux-headers="$kernels/cdev/headers/include" -Dvm-tests=false
	ninja -C "$build_asan"
	rc=0
	meson test -C "$build_asan" --suite unit --no-rebuild --print-errorlogs || rc=1
	step "fuzz regression: each libFuzzer target over its seed corpus (clang)"
	CC=clang meson_setup "$build_fuzz" -Dfuzz=true -Dtests=false -Dexamples=false \
		-Dvm-tests=false
	ninja -C "$build_fuzz"
	meson test -C "$build_fuzz" --suite fuzz --no-rebuild --print-errorlogs || rc=1
	step "arm64: cross-build, unit tests under qemu-aarch64"
	"$top/scripts/test-arm64.sh" "$build_arm64" || rc=1
	step "unit and QEMU tests"
	meson test -C "$build" --suite unit --suite vm --no-rebuild --print-errorlogs || rc=1
	step "Debian 12's own kernel: DKMS modules, .debs, QEMU on Debian's vmlinuz"
	"$top/scripts/test-debian.sh" --kernels "$kernels" --build "$build" || rc=1
	step "summary"
	summary "$build_asan/meson-logs/testlog.json" "$build_fuzz/meson-logs/testlog.json" \
		"$build_arm64/meson-logs/testlog.json" "$build/meson-logs/testlog.json" \
		"$build/meson-logs/testlog-debian.json"
	exit $rc
	;;
*)
	echo "usage: $0 demo|test" >&2
	exit 2
	;;
esac
