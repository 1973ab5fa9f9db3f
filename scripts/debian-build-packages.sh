#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Build the Debian packages of this tree and check them with lintian:
#
#   scripts/debian-build-packages.sh [--out DIR] [--with-tests] [--force]
#
# Copies the tree (tracked and untracked, not ignored, files) to a scratch
# directory, runs `dpkg-buildpackage -us -uc -b` there (with
# DEB_BUILD_OPTIONS=nocheck unless --with-tests: ./run.sh test runs the
# unit suite itself) and `lintian` on the result, which must report no
# error and no warning. The .debs, the .changes and lintian's output land in
# DIR (default ${VNI_CACHE_DIR:-/var/cache/libvfionoiommu}/debian/debs/KEY,
# KEY a hash of the tree's contents): an unchanged tree is not rebuilt.
# The last line of output is the directory, for scripts.
set -euo pipefail
umask 022

prog=debian-build-packages
say() { printf '[%s] %s\n' "$prog" "$*" >&2; }
die() { printf '[%s] ERROR: %s\n' "$prog" "$*" >&2; exit 1; }
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${VNI_CACHE_DIR:-/var/cache/libvfionoiommu}/debian
out=
with_tests=0
force=0
while [ $# -gt 0 ]; do
	case $1 in
	--out) out=${2:?}; shift 2 ;;
	--with-tests) with_tests=1; shift ;;
	--force) force=1; shift ;;
	*) sed -n '3,/^set -e/{s/^# \{0,1\}//;/^set -e/d;p}' "$0" >&2; exit 2 ;;
	esac
done
for t in dpkg-buildpackage lintian rsync git; do
	command -v "$t" >/dev/null || die "$t not found (scripts/packages.txt)"
done

cd "$top"
files=$(git ls-files -co --exclude-standard | LC_ALL=C sort)
key=$( {
	echo "tests $with_tests"
	dpkg-query -W -f='${Package} ${Version}\n' debhelper dh-dkms lintian meson gcc 2>/dev/null || true
	printf '%s\n' "$files" | while IFS= read -r f; do
		[ -f "$f" ] && printf '%s %s\n' "$(sha256sum <"$f" | cut -c1-32)" "$f"
	done
} | sha256sum | cut -c1-24)
out=${out:-$cache/debs/$key}
if [ "$force" = 0 ] && [ -f "$out/.done" ]; then
	say "up to date: $out"
	echo "$out"
	exit 0
fi

version=$(dpkg-parsechangelog -l debian/changelog -S Version)
source=$(dpkg-parsechangelog -l debian/changelog -S Source)
work=$cache/pkgbuild
rm -rf "$work"
mkdir -p "$work/$source-$version"
printf '%s\n' "$files" | rsync -a --files-from=- ./ "$work/$source-$version/"

t=$(date +%s)
opts=
[ "$with_tests" = 1 ] || opts=nocheck
say "dpkg-buildpackage -us -uc -b ($source $version${opts:+, DEB_BUILD_OPTIONS=$opts}), log: $work/build.log"
if ! (cd "$work/$source-$version" &&
      DEB_BUILD_OPTIONS="$opts${DEB_BUILD_OPTIONS:+ $DEB_BUILD_OPTIONS}" \
      dpkg-buildpackage -us -uc -b) >"$work/build.log" 2>&1; then
	tail -n 40 "$work/build.log" >&2
	die "dpkg-buildpackage failed (full log: $work/build.log)"
fi
say "packages built in $(( $(date +%s) - t ))s"

t=$(date +%s)
changes=$(ls "$work"/*.changes)
# --pedantic and --display-info show everything; only errors and warnings fail.
lintian --pedantic --display-info "$changes" >"$work/lintian.log" 2>&1 || true
grep -v '^running with root privileges' "$work/lintian.log" >&2 || true
ne=$(grep -c '^E: ' "$work/lintian.log" || true)
nw=$(grep -c '^W: ' "$work/lintian.log" || true)
say "lintian: $ne error(s), $nw warning(s), $(grep -c '^[IPX]: ' "$work/lintian.log" || true) other tag(s) in $(( $(date +%s) - t ))s"
[ "$ne" = 0 ] && [ "$nw" = 0 ] || die "lintian reported errors or warnings (above)"

rm -rf "$out.new"
mkdir -p "$out.new"
cp "$work"/*.deb "$work"/*.changes "$work"/*.buildinfo "$work/build.log" "$work/lintian.log" "$out.new/"
touch "$out.new/.done"
rm -rf "$out"
mv "$out.new" "$out"
rm -rf "$work"
# Keep only this build among the cached ones.
case $out in "$cache"/debs/*)
	for d in "$cache"/debs/*/; do
		[ "${d%/}" = "$out" ] || rm -rf "${d%/}"
	done ;;
esac
say "packages: $(cd "$out" && ls -- *.deb | tr '\n' ' ')"
echo "$out"
