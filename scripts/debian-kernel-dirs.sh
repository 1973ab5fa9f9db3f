#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Kernel directories for the QEMU harness (tests/vm) made of Debian's own,
# unmodified 6.12 kernel:
#
#   scripts/debian-kernel-dirs.sh --kernels DIR [--kver KVER] [--uapi-out DIR]
#   scripts/debian-kernel-dirs.sh --kernels DIR --kver KVER --stock-only NAME
#
#   DIR/debian-stock/  Debian's vmlinuz and config, and the Debian modules
#                      the tests load (vfio-pci, vfio_iommu_type1, mdev,
#                      e1000, kvmgt and what they depend on)
#   DIR/debian-dkms/   the same plus the modules DKMS installed for KVER in
#                      /lib/modules/KVER/updates/dkms (vfionoiommu-dkms), and
#                      selftests/noiommu_cdev_test built from the series
#
# Both have modules/lib/modules/KVER/ with modules.dep made by depmod, as
# the guest /init expects (it runs modprobe vfio-pci). vmlinuz and Debian's
# modules come out of linux-image-KVER-unsigned, fetched with apt-get
# download and unpacked with dpkg-deb, cached under
# ${VNI_CACHE_DIR:-/var/cache/libvfionoiommu}/debian/image/VERSION/.
# --stock-only NAME makes only DIR/NAME, the debian-stock kind, for another
# Debian kernel (Debian 12's default 6.1: --kver 6.1.0-N-amd64 --stock-only
# debian61-stock). --uapi-out DIR writes the series' UAPI headers (linux/vfio.h,
# linux/iommufd.h after headers_install) to DIR/linux/, for building the
# guest programs when the system headers are older.
set -euo pipefail
umask 022

prog=debian-kernel-dirs
say() { printf '[%s] %s\n' "$prog" "$*"; }
die() { printf '[%s] ERROR: %s\n' "$prog" "$*" >&2; exit 1; }
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${VNI_CACHE_DIR:-/var/cache/libvfionoiommu}/debian
kernels=
kver=${VNI_DEBIAN_KVER:-}
uapi_out=
stock_only=
while [ $# -gt 0 ]; do
	case $1 in
	--stock-only) stock_only=${2:?}; shift 2 ;;
	--kernels) kernels=${2:?}; shift 2 ;;
	--kver) kver=${2:?}; shift 2 ;;
	--uapi-out) uapi_out=${2:?}; shift 2 ;;
	*) sed -n '3,/^set -e/{s/^# \{0,1\}//;/^set -e/d;p}' "$0" >&2; exit 2 ;;
	esac
done
[ -n "$kernels" ] || die "--kernels DIR is required"
[ -n "$kver" ] || die "--kver KVER is required (e.g. 6.12.117+deb12-amd64)"
t0=$(date +%s)

# --- Debian's kernel image package -------------------------------------------
pkg=linux-image-$kver-unsigned
ver=$(apt-cache policy "$pkg" 2>/dev/null | sed -n 's/^  Candidate: //p')
[ -n "$ver" ] && [ "$ver" != "(none)" ] || die "$pkg is not in the apt archive (apt-get update?)"
img=$cache/image/$ver
if [ ! -f "$img/.done" ]; then
	rm -rf "$img"
	mkdir -p "$img/deb"
	say "apt-get download $pkg=$ver"
	# (_apt cannot write to this cache directory: apt says so and downloads as root)
	(cd "$img/deb" && apt-get download -q "$pkg=$ver") >"$img/download.log" 2>&1 ||
		{ cat "$img/download.log" >&2; die "apt-get download $pkg=$ver failed"; }
	deb=$(ls "$img"/deb/*.deb)
	dpkg-deb -x "$deb" "$img/root"
	[ -f "$img/root/boot/vmlinuz-$kver" ] || die "$deb has no /boot/vmlinuz-$kver"
	touch "$img/.done"
	say "unpacked $(basename "$deb") ($(( $(date +%s) - t0 ))s)"
fi
root=$img/root
moddir=$root/lib/modules/$kver
[ -d "$moddir/kernel" ] || die "$pkg has no modules for $kver"

wanted="vfio-pci vfio_iommu_type1 mdev e1000 kvmgt"

# make_dir NAME EXTRA_DIR: kernel dir with Debian's modules (the closure of
# $wanted) plus, when EXTRA_DIR is given, its modules in updates/dkms.
make_dir() {
	local name=$1 extra=$2 stage out files f
	stage=$cache/stage-$name
	out=$kernels/.$name.new
	rm -rf "$stage" "$out"
	mkdir -p "$stage/lib/modules/$kver"
	cp -al "$moddir/kernel" "$stage/lib/modules/$kver/"
	cp "$moddir"/modules.order "$moddir"/modules.builtin* "$stage/lib/modules/$kver/"
	if [ -n "$extra" ]; then
		mkdir -p "$stage/lib/modules/$kver/updates/dkms"
		cp "$extra"/*.ko* "$stage/lib/modules/$kver/updates/dkms/"
	fi
	depmod -b "$stage" "$kver"
	files=$(for m in $wanted; do
		modprobe -d "$stage" -S "$kver" --show-depends "$m" | awk '$1 == "insmod" { print $2 }'
	done | sort -u)
	mkdir -p "$out/modules/lib/modules/$kver"
	for f in $files; do
		f=${f#"$stage"/lib/modules/"$kver"/}
		mkdir -p "$out/modules/lib/modules/$kver/$(dirname "$f")"
		cp "$stage/lib/modules/$kver/$f" "$out/modules/lib/modules/$kver/$f"
	done
	cp "$moddir"/modules.order "$moddir"/modules.builtin* "$out/modules/lib/modules/$kver/"
	depmod -b "$out/modules" "$kver"
	rm -rf "$stage"
	cp "$root/boot/vmlinuz-$kver" "$out/bzImage"
	cp "$root/boot/config-$kver" "$out/config"
	mkdir -p "$out/selftests"
	{
		echo "flavour: $name"
		echo "kernelrelease: $kver"
		echo "image: $pkg $ver (unmodified)"
		echo "modules: $(cd "$out/modules/lib/modules/$kver" && find . -name '*.ko*' | sed 's|^\./||' | sort | tr '\n' ' ')"
	} >"$out/build-info"
	rm -rf "$kernels/$name"
	mv "$out" "$kernels/$name"
	say "$kernels/$name: $(grep -c . <<<"$files") modules"
}

mkdir -p "$kernels"
if [ -n "$stock_only" ]; then
	make_dir "$stock_only" ""
	say "done in $(( $(date +%s) - t0 ))s"
	exit 0
fi
make_dir debian-stock ""

dkms_mods=/lib/modules/$kver/updates/dkms
for m in iommufd vfio vfio_iommu_type1 vfio-pci-core vfio-pci mdev; do
	ls "$dkms_mods/$m".ko* >/dev/null 2>&1 ||
		die "$dkms_mods/$m.ko* missing: install vfionoiommu-dkms and run dkms install -m vfionoiommu -k $kver"
done
make_dir debian-dkms "$dkms_mods"

# --- the series' UAPI headers and kselftest -------------------------------------
src=$cache/selftest-src
series=$top/kernel-patches/linux-6.12/series
skey=$( { cat "$series"; for p in $(grep -v '^#' "$series"); do sha256sum <"$top/kernel-patches/linux-6.12/$p"; done
	stat -c '%s %Y' /usr/src/linux-source-6.12.tar.xz; } | sha256sum | cut -c1-24)
if [ "$(cat "$src/.key" 2>/dev/null)" != "$skey" ]; then
	rm -rf "$src"
	mkdir -p "$src"
	say "extracting UAPI headers and kselftest sources from linux-source-6.12"
	tar -xJf /usr/src/linux-source-6.12.tar.xz -C "$src" --strip-components=1 --wildcards \
		'linux-source-6.12/include/uapi/linux/vfio.h' 'linux-source-6.12/include/uapi/linux/iommufd.h' \
		'linux-source-6.12/tools/testing/selftests/kselftest*' 'linux-source-6.12/scripts/headers_install.sh' \
		'linux-source-6.12/scripts/unifdef.c'
	gcc -O2 -o "$src/scripts/unifdef" "$src/scripts/unifdef.c" || die "cannot build scripts/unifdef"
	for p in $(grep -v '^#' "$series"); do
		(cd "$src" && git apply --include='include/uapi/*' --include='tools/testing/selftests/vfio/*' \
			--exclude='*' "$top/kernel-patches/linux-6.12/$p") || die "$p does not apply"
	done
	mkdir -p "$src/uapi/linux"
	for h in vfio iommufd; do
		(cd "$src" && sh scripts/headers_install.sh "include/uapi/linux/$h.h" "uapi/linux/$h.h")
	done
	echo "$skey" >"$src/.key"
fi
if [ -n "$uapi_out" ]; then
	mkdir -p "$uapi_out/linux"
	cp "$src"/uapi/linux/*.h "$uapi_out/linux/"
fi
if [ -f "$src/tools/testing/selftests/vfio/noiommu_cdev_test.c" ]; then
	gcc -static -Wall -O2 -isystem "$src/uapi" -o "$kernels/debian-dkms/selftests/noiommu_cdev_test" \
		"$src/tools/testing/selftests/vfio/noiommu_cdev_test.c" || die "noiommu_cdev_test does not build"
	say "selftests/noiommu_cdev_test built"
fi
say "done in $(( $(date +%s) - t0 ))s"
