#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# A whole Debian kernel package with the no-IOMMU cdev series, for machines
# where the DKMS modules are not wanted (docs/debian.md):
#
#   scripts/build-kernel-deb.sh [--modular|--builtin] [--check] [-j N]
#
# Unpacks /usr/src/linux-source-6.12.tar.xz, applies
# kernel-patches/linux-6.12/series, takes Debian's own amd64 configuration
# from linux-config-6.12 (config.amd64_none_amd64.xz) and adds the options
# the feature needs:
#
#   --modular (default)  IOMMUFD=m, VFIO_NOIOMMU=y, VFIO_DEVICE_CDEV=y
#                        (VFIO and VFIO_PCI stay modules, as Debian has them)
#   --builtin            IOMMUFD=y, VFIO=y, VFIO_PCI=y (and the same bools)
#
# plus LOCALVERSION=-vni and an empty SYSTEM_TRUSTED_KEYS (Debian's signing
# certificates are not in the source package; the build makes its own
# module signing key), checks that every option made it into .config
# (IOMMUFD_NOIOMMU included), then runs `make bindeb-pkg`: the
# linux-image-*-vni and linux-headers-*-vni .debs land in the work
# directory's parent. That takes hours on a small machine.
#
# --check stops after the configuration check and compiles only
# drivers/vfio/ and drivers/iommu/iommufd/ with that configuration (what CI
# runs; minutes). Work directory: ${VNI_CACHE_DIR:-/var/cache/libvfionoiommu}/debian/kernel-deb
# (the patched tree is kept and reused while the tarball and the series are
# unchanged).
set -euo pipefail
umask 022

prog=build-kernel-deb
say() { printf '[%s] %s\n' "$prog" "$*"; }
die() { printf '[%s] ERROR: %s\n' "$prog" "$*" >&2; exit 1; }
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${VNI_CACHE_DIR:-/var/cache/libvfionoiommu}/debian/kernel-deb
tarball=${VNI_LINUX_TARBALL:-/usr/src/linux-source-6.12.tar.xz}
debconfig=/usr/src/linux-config-6.12/config.amd64_none_amd64.xz
patch_dir=$top/kernel-patches/linux-6.12
mode=modular
check=0
jobs=$(( $(nproc) + 1 ))
while [ $# -gt 0 ]; do
	case $1 in
	--modular) mode=modular; shift ;;
	--builtin) mode=builtin; shift ;;
	--check) check=1; shift ;;
	-j) jobs=${2:?}; shift 2 ;;
	*) sed -n '3,/^set -e/{s/^# \{0,1\}//;/^set -e/d;p}' "$0" >&2; exit 2 ;;
	esac
done
[ -f "$tarball" ] || die "$tarball not found: apt-get install linux-source-6.12"
[ -f "$debconfig" ] || die "$debconfig not found: apt-get install linux-config-6.12"
t0=$(date +%s)

patches=()
while read -r p _; do
	case $p in ''|'#'*) continue ;; esac
	patches+=("$p")
done <"$patch_dir/series"
key=$( { stat -c '%s %Y' "$tarball"; for p in "${patches[@]}"; do echo "$p"; sha256sum <"$patch_dir/$p"; done; } |
	sha256sum | cut -c1-24)
src=$cache/src
mkdir -p "$cache"
if [ "$(cat "$src/.vni-key" 2>/dev/null)" != "$key" ]; then
	say "unpacking $tarball and applying ${#patches[@]} patches"
	rm -rf "$src" "$cache/build"
	mkdir -p "$src"
	tar -xJf "$tarball" -C "$src" --strip-components=1
	for p in "${patches[@]}"; do
		(cd "$src" && patch -p1 --batch --forward --fuzz=0 -s --no-backup-if-mismatch <"$patch_dir/$p") ||
			die "$p does not apply"
	done
	echo "$key" >"$src/.vni-key"
	say "source ready in $(( $(date +%s) - t0 ))s"
fi

b=$cache/build
mkdir -p "$b"
kmake=(make -C "$src" O="$b" ARCH=x86_64)
xz -dc "$debconfig" >"$b/.config"
opts=(--set-str LOCALVERSION -vni --set-str SYSTEM_TRUSTED_KEYS ''
	--set-str SYSTEM_REVOCATION_KEYS '' --set-str MODULE_SIG_KEY certs/signing_key.pem
	--enable VFIO_NOIOMMU --enable VFIO_DEVICE_CDEV)
if [ "$mode" = builtin ]; then
	opts+=(--enable IOMMUFD --enable VFIO --enable VFIO_PCI_CORE --enable VFIO_PCI)
	want="IOMMUFD=y VFIO=y VFIO_PCI=y"
else
	opts+=(--module IOMMUFD)
	want="IOMMUFD=m VFIO=m VFIO_PCI=m"
fi
want="$want VFIO_NOIOMMU=y VFIO_DEVICE_CDEV=y IOMMUFD_NOIOMMU=y"
"$src/scripts/config" --file "$b/.config" "${opts[@]}"
"${kmake[@]}" olddefconfig >"$cache/config.log" 2>&1 || { cat "$cache/config.log" >&2; die "olddefconfig failed"; }
bad=()
for o in $want; do
	got=$(grep -E "^CONFIG_${o%%=*}=" "$b/.config" | cut -d= -f2 || true)
	[ "$got" = "${o#*=}" ] || bad+=("CONFIG_$o (got ${got:-n})")
done
[ ${#bad[@]} -eq 0 ] || die "the configuration lacks: ${bad[*]}"
krel=$("${kmake[@]}" -s kernelrelease)
say "configuration ($mode, Debian's amd64 config plus the series' options) verified: $want; kernel $krel"

if [ "$check" = 1 ]; then
	ckey=$( { echo "$key $mode"; sha256sum <"$0"; sha256sum <"$b/.config"; } | sha256sum | cut -c1-24)
	if [ "$(cat "$cache/.check-ok" 2>/dev/null)" = "$ckey" ]; then
		say "check passed before for this source, series and configuration (stamp $cache/.check-ok)"
		exit 0
	fi
	rm -f "$cache/.check-ok"
	t=$(date +%s)
	"${kmake[@]}" -j"$jobs" modules_prepare >"$cache/check.log" 2>&1 ||
		{ tail -30 "$cache/check.log" >&2; die "make modules_prepare failed"; }
	"${kmake[@]}" -j"$jobs" KBUILD_MODPOST_WARN=1 drivers/vfio/ drivers/iommu/iommufd/ >>"$cache/check.log" 2>&1 ||
		{ tail -30 "$cache/check.log" >&2; die "drivers/vfio/ or drivers/iommu/iommufd/ does not compile with this configuration"; }
	for o in drivers/vfio/vfio_main.o drivers/vfio/device_cdev.o drivers/vfio/iommufd.o \
		 drivers/iommu/iommufd/noiommu.o drivers/iommu/iommufd/main.o drivers/vfio/pci/vfio_pci_core.o; do
		[ -f "$b/$o" ] || die "$o was not built"
	done
	n=$(find "$b/drivers/vfio" "$b/drivers/iommu/iommufd" -name '*.o' | wc -l)
	echo "$ckey" >"$cache/.check-ok"
	say "check passed: $n objects of drivers/vfio/ and drivers/iommu/iommufd/ compiled in $(( $(date +%s) - t ))s (total $(( $(date +%s) - t0 ))s)"
	exit 0
fi

say "make bindeb-pkg -j$jobs (this takes long; log: $cache/bindeb-pkg.log)"
"${kmake[@]}" -j"$jobs" bindeb-pkg >"$cache/bindeb-pkg.log" 2>&1 ||
	{ tail -30 "$cache/bindeb-pkg.log" >&2; die "make bindeb-pkg failed"; }
say "packages: $(ls "$cache"/*.deb 2>/dev/null | tr '\n' ' ') in $(( $(date +%s) - t0 ))s"
