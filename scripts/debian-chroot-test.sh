#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Install the library and tools packages into a pristine Debian 12 chroot,
# use them, purge them, and check that nothing is left behind:
#
#   scripts/debian-chroot-test.sh DEBDIR
#   scripts/debian-chroot-test.sh --prepare   (only make the cached chroot)
#
# DEBDIR holds libvfionoiommu0, libvfionoiommu-dev and vfionoiommu-tools
# .debs (scripts/debian-build-packages.sh). The chroot is `debootstrap
# --variant=minbase bookworm` from the machine's own Debian mirror plus a C
# compiler and pkgconf (to build a program there); it is made once and kept
# as a tarball under ${VNI_CACHE_DIR:-/var/cache/libvfionoiommu}/debian/chroot/
# keyed by the debootstrap version and the mirror, and unpacked afresh for
# every run. In it: apt-get install the .debs, build a one-file program with
# `pkg-config --cflags --libs vfionoiommu` and run it, run `vni-list --json`
# (host /sys mounted read-only) and check its JSON, `apt-get purge
# --autoremove` the packages, and compare the file list before and after.
set -euo pipefail
umask 022

prog=debian-chroot-test
say() { printf '[%s] %s\n' "$prog" "$*"; }
die() { printf '[%s] ERROR: %s\n' "$prog" "$*" >&2; exit 1; }
debdir=${1:?usage: $0 DEBDIR|--prepare}
prepare=0
if [ "$debdir" = --prepare ]; then
	prepare=1
else
	debdir=$(cd "$debdir" && pwd)
fi
cache=${VNI_CACHE_DIR:-/var/cache/libvfionoiommu}/debian/chroot
suite=bookworm
pkgs="libvfionoiommu0 libvfionoiommu-dev vfionoiommu-tools"
[ "$prepare" = 1 ] || for p in $pkgs; do ls "$debdir/${p}_"*.deb >/dev/null 2>&1 || die "no $p .deb in $debdir"; done
command -v debootstrap >/dev/null || die "debootstrap not found"
t0=$(date +%s)

mirror=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE)' 2>/dev/null |
	awk -v s="$suite" '$2 == s { print $1; exit }')
[ -n "$mirror" ] || die "no apt source for $suite on this machine"
key=$(printf '%s %s %s gcc libc6-dev pkgconf\n' "$(dpkg-query -W -f='${Version}' debootstrap)" "$mirror" "$suite" |
	sha256sum | cut -c1-16)
base=$cache/$suite-minbase-$key.tar
mkdir -p "$cache"

root=$cache/run
[ "$prepare" = 0 ] || root=$cache/prepare
exec 9>"$cache/.lock"
flock 9
cleanup() {
	mountpoint -q "$root/sys" 2>/dev/null && umount "$root/sys"
	mountpoint -q "$root/proc" 2>/dev/null && umount "$root/proc"
	rm -rf "$root"
}
trap cleanup EXIT
cleanup

if [ ! -f "$base" ]; then
	say "debootstrap --variant=minbase $suite $mirror (cached as $base)"
	mkdir -p "$root"
	debootstrap --variant=minbase "$suite" "$root" "$mirror" >"$cache/debootstrap.log" 2>&1 ||
		{ tail -20 "$cache/debootstrap.log" >&2; die "debootstrap failed (log: $cache/debootstrap.log)"; }
	cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
	chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		gcc libc6-dev pkgconf >"$cache/base-install.log" 2>&1 ||
		{ tail -20 "$cache/base-install.log" >&2; die "cannot install gcc in the chroot"; }
	chroot "$root" apt-get clean
	tar -C "$root" -cf "$base.tmp" .
	mv "$base.tmp" "$base"
	rm -rf "$root"
	say "chroot made in $(( $(date +%s) - t0 ))s"
fi
if [ "$prepare" = 1 ]; then
	say "chroot ready: $base"
	exit 0
fi
mkdir -p "$root"
tar -C "$root" -xf "$base"
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
mount -t proc proc "$root/proc"

listing() { # every path in the chroot but the volatile ones
	(cd "$root" && find . -xdev \( -path ./proc -o -path ./sys -o -path ./dev -o -path ./tmp \
		-o -path ./var/cache -o -path ./var/log -o -path ./var/lib/apt \) -prune -o -print |
		grep -vE '^\./var/lib/dpkg/[a-z]+-old$|^\./var/cache/debconf/.*-old$' | LC_ALL=C sort)
}
listing >"$cache/before.txt"

mkdir -p "$root/tmp/debs"
for p in $pkgs; do cp "$debdir/${p}_"*.deb "$root/tmp/debs/"; done
in_chroot() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 HOME=/root \
	DEBIAN_FRONTEND=noninteractive "$@"; }
say "apt-get install $pkgs (from $debdir)"
in_chroot sh -c 'apt-get install -y -q --no-install-recommends /tmp/debs/*.deb' >"$cache/install.log" 2>&1 ||
	{ tail -20 "$cache/install.log" >&2; die "installing the packages failed"; }
for p in $pkgs; do
	in_chroot dpkg-query -W -f='${Status}\n' "$p" | grep -q 'install ok installed' || die "$p is not installed"
done

cat >"$root/tmp/prog.c" <<'EOF'
/* A program built only from the installed packages. */
#include <stdio.h>
#include <string.h>
#include <vfionoiommu/vfionoiommu.h>

int main(void)
{
	printf("libvfionoiommu %s (headers %s)\n", vni_version(), VNI_VERSION_STRING);
	return strcmp(vni_version(), VNI_VERSION_STRING) != 0;
}
EOF
flags=$(in_chroot pkg-config --cflags --libs vfionoiommu) || die "pkg-config --cflags --libs vfionoiommu failed"
say "pkg-config --cflags --libs vfionoiommu: $flags"
in_chroot sh -c "cc -Wall -Werror -o /tmp/prog /tmp/prog.c $flags" || die "the one-file program does not build"
out=$(in_chroot /tmp/prog) || die "the program failed: $out"
say "program: $out"
want=$(dpkg-deb -f "$(ls "$debdir"/libvfionoiommu0_*.deb)" Version)
case $out in "libvfionoiommu $want "*) ;; *) die "the program reports '$out', expected version $want" ;; esac

mount -t sysfs -o ro sysfs "$root/sys"
in_chroot vni-list --json >"$cache/vni-list.json" 2>"$cache/vni-list.err" ||
	{ cat "$cache/vni-list.err" >&2; die "vni-list --json failed in the chroot"; }
python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(type(d).__name__, len(d))' \
	"$cache/vni-list.json" >/dev/null || die "vni-list --json printed no valid JSON: $(head -c 300 "$cache/vni-list.json")"
say "vni-list --json: valid JSON, $(wc -c <"$cache/vni-list.json") bytes"
umount "$root/sys"

rm -rf "$root/tmp/debs" "$root/tmp/prog" "$root/tmp/prog.c"
in_chroot apt-get purge -y -q --autoremove $pkgs >"$cache/purge.log" 2>&1 ||
	{ tail -20 "$cache/purge.log" >&2; die "apt-get purge failed"; }
for p in $pkgs; do
	st=$(in_chroot dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case $st in ''|*not-installed) ;; *) die "$p is still known to dpkg after the purge: $st" ;; esac
done
listing >"$cache/after.txt"
if ! diff -u "$cache/before.txt" "$cache/after.txt" >"$cache/leftovers.diff"; then
	cat "$cache/leftovers.diff" >&2
	die "the chroot differs after the purge (above; + = left behind, - = removed)"
fi
say "installed, used and purged: no file left behind ($(wc -l <"$cache/before.txt") paths compared) in $(( $(date +%s) - t0 ))s"
