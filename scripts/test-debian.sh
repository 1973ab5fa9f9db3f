#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Issue #9 end to end, as root on a Debian 12 machine (docs/debian.md):
#
#   scripts/test-debian.sh [--kernels DIR] [--build DIR] [--skip-kernel-deb]
#
#  1. packages: dkms, linux-headers-KVER, linux-config-6.12, debhelper,
#     lintian, debootstrap, ... (apt-get install what is missing)
#  2. .debs: dpkg-buildpackage -us -uc -b + lintian, 0 errors 0 warnings
#     (scripts/debian-build-packages.sh)
#  3. vfionoiommu-dkms on this machine: dpkg -i, dkms install -k KVER (which
#     runs scripts/build-modules.sh), checks; a kernel of another upstream
#     version is refused with both versions named
#  4. kernel dirs from Debian's linux-image-KVER-unsigned (apt-get download):
#     <kernels>/debian-dkms and <kernels>/debian-stock
#     (scripts/debian-kernel-dirs.sh)
#  5. purge vfionoiommu-dkms: Debian's modules are back, no file left
#  6. QEMU on Debian's unmodified vmlinuz: meson test --suite debian
#  7. the .debs in a pristine debootstrap chroot (scripts/debian-chroot-test.sh)
#  8. scripts/build-kernel-deb.sh --check (config + compile of drivers/vfio/
#     and drivers/iommu/iommufd/ with Debian's config plus our options)
#
# KVER is the Debian kernel whose version matches linux-source-6.12
# (6.12.117+deb12-amd64 today; VNI_DEBIAN_KVER overrides). --build DIR is an
# existing Meson build configured with -Dkernels=<the same DIR> (./run.sh
# test's); without it a build-debian/ is configured here. Steps 3-5 are
# skipped when the dkms .deb and the kernel are unchanged since the last run
# (stamp in <kernels>/debian-dkms/.vni-key). Exits non-zero if any step fails;
# the last line is "N passed, N failed".
set -uo pipefail
umask 022

# The whole script is one function, parsed before anything runs: editing
# this file while it runs cannot derail the run.
main() {
prog=test-debian
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export VNI_CACHE_DIR=${VNI_CACHE_DIR:-/var/cache/libvfionoiommu}
cache=$VNI_CACHE_DIR
kernels=$cache/kernels
build=
skip_kdeb=0
while [ $# -gt 0 ]; do
	case $1 in
	--kernels) kernels=${2:?}; shift 2 ;;
	--build) build=${2:?}; shift 2 ;;
	--skip-kernel-deb) skip_kdeb=1; shift ;;
	*) sed -n '3,/^set -uo/{s/^# \{0,1\}//;/^set -uo/d;p}' "$0" >&2; exit 2 ;;
	esac
done
[ "$(id -u)" = 0 ] || { echo "$prog: run as root" >&2; exit 2; }
mkdir -p "$kernels"
kernels=$(cd "$kernels" && pwd)

passed=0
failed=0
times=()
step_t=0
step() { printf '\n==> [%s] %s\n' "$prog" "$*"; step_t=$(date +%s); }
result() { # rc name
	local dt=$(( $(date +%s) - step_t ))
	times+=("$(printf '%-34s %4ss %s' "$2" "$dt" "$([ "$1" = 0 ] && echo ok || echo FAILED)")")
	if [ "$1" = 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "$prog: FAILED: $2" >&2; fi
}
finish() {
	printf '\n==> [%s] summary\n' "$prog"
	printf '  %s\n' "${times[@]}"
	echo "$passed passed, $failed failed"
	[ "$failed" = 0 ]
	exit $?
}
run() { "$@"; }

# --- 1. packages ------------------------------------------------------------------
step "packages"
srcver=$(dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null || true)
if [ -z "$srcver" ]; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends linux-source-6.12 >/dev/null
	srcver=$(dpkg-query -W -f='${Version}' linux-source-6.12)
fi
upstream=${srcver%%-*}
kver=${VNI_DEBIAN_KVER:-$upstream+deb12-amd64}
need=(dkms dh-dkms debhelper groff-base perl lintian debootstrap dpkg-dev rsync git kmod xz-utils patch
	"linux-headers-$kver" linux-config-6.12 libudev-dev libnl-3-dev libnl-route-3-dev meson
	ninja-build pkgconf python3 busybox-static qemu-system-x86 flex bison bc libelf-dev libssl-dev)
missing=()
for p in "${need[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
rc=0
if [ ${#missing[@]} -gt 0 ]; then
	echo "installing: ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" \
		>"$cache/test-debian-apt.log" 2>&1 || { tail -20 "$cache/test-debian-apt.log"; rc=1; }
else
	echo "all ${#need[@]} packages present; Debian kernel $kver, linux-source-6.12 $srcver"
fi
result $rc "packages"
[ $rc = 0 ] || finish

# The chroot's debootstrap is mostly downloads: make it meanwhile.
mkdir -p "$cache/debian"
"$top/scripts/debian-chroot-test.sh" --prepare >"$cache/debian/chroot-prepare.log" 2>&1 &
chroot_pid=$!

# --- 2. .debs + lintian -------------------------------------------------------------
step "Debian packages (dpkg-buildpackage -us -uc -b, lintian)"
debdir=$("$top/scripts/debian-build-packages.sh" | tail -1)
rc=$?
[ -d "$debdir" ] || rc=1
result $rc "dpkg-buildpackage + lintian"
[ $rc = 0 ] || finish
dkms_deb=$(ls "$debdir"/vfionoiommu-dkms_*_all.deb)
dkms_ver=$(dpkg-deb -f "$dkms_deb" Version)
# Keyed on what DKMS uses (not the docs in the package).
dkms_key=$( { dpkg-deb --fsys-tarfile "$dkms_deb" | tar -xO --wildcards './usr/src/*' './usr/share/dkms/*' | sha256sum
	dpkg-deb -f "$dkms_deb" Version Depends; echo "$kver"; dpkg-query -W -f='${Version}' "linux-headers-$kver";
	sha256sum <"$top/scripts/debian-kernel-dirs.sh"; } | sha256sum | cut -c1-24)

if [ "$(cat "$kernels/debian-dkms/.vni-key" 2>/dev/null)" = "$dkms_key" ] && [ -f "$kernels/debian-stock/bzImage" ]; then
	step "DKMS and kernel dirs: unchanged since the last run (key $dkms_key)"
	result 0 "dkms (cached)"
else
# --- 3. DKMS on this machine ----------------------------------------------------------
step "vfionoiommu-dkms $dkms_ver: dpkg -i, dkms install -k $kver"
snap() { find /usr/src /var/lib/dkms /usr/share/dkms /usr/share/doc "/lib/modules/$kver" 2>/dev/null |
	grep -v '^/var/lib/dkms/mok\.' | LC_ALL=C sort; }
dpkg --purge vfionoiommu-dkms >/dev/null 2>&1
snap >"$cache/dkms-before.txt"
rc=0
dpkg -i "$dkms_deb" >"$cache/dkms-dpkg.log" 2>&1 || { tail -30 "$cache/dkms-dpkg.log"; rc=1; }
if [ $rc = 0 ]; then
	dkms install -m vfionoiommu -v "$dkms_ver" -k "$kver" 2>&1 | tail -5 || rc=1
	st=$(dkms status -m vfionoiommu -v "$dkms_ver" -k "$kver" 2>/dev/null)
	echo "dkms status: $st"
	case $st in *": installed"*) ;; *) echo "not installed for $kver"; rc=1 ;; esac
	for m in iommufd vfio vfio_iommu_type1 vfio-pci-core vfio-pci mdev; do
		f=$(modinfo -k "$kver" -n "$m" 2>/dev/null)
		echo "  modinfo -k $kver -n $m: $f"
		case $f in "/lib/modules/$kver/updates/dkms/"*) ;; *) rc=1 ;; esac
	done
	grep -h 'will refuse to load' /var/lib/dkms/vfionoiommu/"$dkms_ver"/"$kver"/x86_64/log/make.log 2>/dev/null || true
fi
result $rc "dkms install -k $kver"

step "a kernel of another upstream version is refused"
fake=$cache/fake-headers
rm -rf "$fake"
mkdir -p "$fake/include/config"
cp -a "/usr/src/linux-headers-$kver/.config" "/usr/src/linux-headers-$kver/Module.symvers" "$fake/"
ln -s "/usr/src/linux-headers-$kver/scripts" "$fake/scripts"
fkver=${upstream%.*}.999+deb12-amd64
printf 'VERSION = 6\nPATCHLEVEL = 12\nSUBLEVEL = 999\nEXTRAVERSION =\n' >"$fake/Makefile"
echo "$fkver" >"$fake/include/config/kernel.release"
out=$("/usr/src/vfionoiommu-$dkms_ver/build-modules.sh" --headers "$fake" --work "$cache/fake-work" \
	--out "$cache/fake-out" "$fkver" 2>&1)
frc=$?
echo "$out"
rc=0
[ $frc = 1 ] || rc=1
for w in "Linux ${upstream%.*}.999" "Linux $upstream" "linux-source-6.12"; do
	case $out in *"$w"*) ;; *) echo "message lacks '$w'"; rc=1 ;; esac
done
[ ! -e "$cache/fake-out" ] || { echo "it built something"; rc=1; }
rm -rf "$fake" "$cache/fake-work" "$cache/fake-out"
result $rc "version mismatch refused"

# --- 4. kernel dirs ------------------------------------------------------------------
step "kernel dirs from linux-image-$kver-unsigned"
rm -f "$kernels/debian-dkms/.vni-key"
"$top/scripts/debian-kernel-dirs.sh" --kernels "$kernels" --kver "$kver" --uapi-out "$cache/debian/uapi"
rc=$?
result $rc "kernel dirs (debian-dkms, debian-stock)"

# --- 5. purge ------------------------------------------------------------------------
step "dpkg --purge vfionoiommu-dkms: Debian's modules come back"
rc=0
dpkg --purge vfionoiommu-dkms >"$cache/dkms-purge.log" 2>&1 || { tail -20 "$cache/dkms-purge.log"; rc=1; }
f=$(modinfo -k "$kver" -n vfio 2>/dev/null)
echo "modinfo -k $kver -n vfio: $f"
case $f in "/lib/modules/$kver/kernel/drivers/vfio/vfio.ko"*) ;; *) rc=1 ;; esac
snap >"$cache/dkms-after.txt"
if ! diff -u "$cache/dkms-before.txt" "$cache/dkms-after.txt"; then
	echo "files differ after the purge (above)"
	rc=1
fi
[ $rc != 0 ] || [ ! -f "$kernels/debian-dkms/bzImage" ] || echo "$dkms_key" >"$kernels/debian-dkms/.vni-key"
result $rc "purge restores Debian's modules"
fi

# --- 5b. Debian 12's default kernel (6.1, linux-image-amd64) ------------------------------
# Unmodified, its own modules: the edu example behind the guest IOMMU
# through the type1 backend (edu-example@debian61-stock-type1, suite debian).
d61=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^  Depends: linux-image-\(6\.1\.[^ ]*-amd64\)$/\1/p' | head -1)
step "kernel dir from Debian 12's default kernel (${d61:-?})"
rc=0
if [ -z "$d61" ]; then
	echo "linux-image-amd64 depends on no linux-image-6.1.*-amd64 (apt-get update?)"
	rc=1
elif [ "$(sed -n 's/^kernelrelease: //p' "$kernels/debian61-stock/build-info" 2>/dev/null)" != "$d61" ]; then
	"$top/scripts/debian-kernel-dirs.sh" --kernels "$kernels" --kver "$d61" --stock-only debian61-stock || rc=1
fi
result $rc "kernel dir debian61-stock"

# --- 6. QEMU on Debian's kernel -----------------------------------------------------------
step "QEMU: Debian's unmodified $kver (meson test --suite debian)"
if [ -z "$build" ]; then
	build=$top/build-debian
	opts=(-Dkernels="$kernels" -Dlinux-headers="$cache/debian/uapi")
	if [ -f "$build/build.ninja" ]; then
		meson setup --reconfigure "$build" "$top" "${opts[@]}" >/dev/null
	else
		meson setup "$build" "$top" "${opts[@]}" >/dev/null
	fi
fi
rc=0
ninja -C "$build" >/dev/null || rc=1
[ $rc = 0 ] && { meson test -C "$build" --suite debian --no-rebuild --print-errorlogs --logbase testlog-debian || rc=1; }
result $rc "QEMU tests on Debian's kernel"

# --- 7. chroot --------------------------------------------------------------------------------
step "install, use and purge the .debs in a debootstrap chroot"
wait "$chroot_pid"
cat "$cache/debian/chroot-prepare.log"
"$top/scripts/debian-chroot-test.sh" "$debdir"
result $? "chroot install/purge"

# --- 8. build-kernel-deb.sh --check ---------------------------------------------------------
if [ "$skip_kdeb" = 0 ]; then
	step "scripts/build-kernel-deb.sh --check"
	"$top/scripts/build-kernel-deb.sh" --check
	result $? "build-kernel-deb.sh --check"
fi
finish
}

main "$@"
