#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Build the no-IOMMU cdev modules for an installed Debian 6.12 kernel,
# without rebuilding the kernel (docs/debian.md):
#
#   scripts/build-modules.sh [options] KVER
#
# KVER is a kernel release such as 6.12.117+deb12-amd64. The modules come
# from Debian's linux-source-6.12 tarball with kernel-patches/linux-6.12/
# applied, built with Kbuild's external-module mode against that kernel's
# linux-headers-KVER package, with Debian's configuration plus the options
# the feature needs:
#
#   VFIO_NOIOMMU=y VFIO_DEVICE_CDEV=y IOMMUFD=m (and what Kconfig derives
#   from them inside drivers/vfio/ and drivers/iommu/iommufd/, such as
#   IOMMUFD_NOIOMMU)
#
# Result: iommufd.ko, vfio.ko, vfio_iommu_type1.ko, vfio-pci-core.ko,
# vfio-pci.ko and mdev.ko (every module Debian builds from those
# directories) in --out DIR. This is the one build of these modules: the
# vfionoiommu-dkms package runs this script (dkms.conf MAKE), and the
# tests run it through dkms.
#
# Options:
#   --headers DIR   kernel headers (default: /lib/modules/KVER/build)
#   --source FILE   kernel source tarball (default:
#                   /usr/src/linux-source-MAJOR.MINOR.tar.xz)
#   --patches DIR   directory with the series file (default: the
#                   kernel-patches/linux-6.12 next to this script, in the
#                   DKMS source tree or in the repository)
#   --work DIR      scratch directory (default: ./vni-work; removed at the
#                   end unless --keep)
#   --out DIR       where the .ko files go (default: ./out)
#   --check-versions  only check that the source tarball is the kernel's
#                   version (fast: used by dkms.conf PRE_BUILD, whose output
#                   DKMS shows)
#   --check         only check that source, headers and series fit
#                   together (versions, patches, configuration), build nothing
#   --keep          keep the work directory
#   -j N            parallel jobs (default: nproc)
#
# Exit status: 0 built (or, with --check, would build); 1 a failure, with
# the reason on stderr; 2 usage.

set -euo pipefail
umask 022

main() {

prog=vfionoiommu-build-modules
say() { printf '%s: %s\n' "$prog" "$*"; }
die() { printf '%s: ERROR: %s\n' "$prog" "$*" >&2; exit 1; }
t0=$(date +%s)

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
headers=
tarball=
patch_dir=
work=
out=
check_only=0
versions_only=0
keep=0
jobs=$(nproc 2>/dev/null || echo 2)
kver=

usage() { sed -n '3,/^# 2 usage/{s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }

while [ $# -gt 0 ]; do
	case $1 in
	--headers) headers=${2:?}; shift 2 ;;
	--source) tarball=${2:?}; shift 2 ;;
	--patches) patch_dir=${2:?}; shift 2 ;;
	--work) work=${2:?}; shift 2 ;;
	--out) out=${2:?}; shift 2 ;;
	--check) check_only=1; shift ;;
	--check-versions) versions_only=1; shift ;;
	--keep) keep=1; shift ;;
	-j) jobs=${2:?}; shift 2 ;;
	-j*) jobs=${1#-j}; shift ;;
	-h|--help) usage; exit 0 ;;
	-*) usage >&2; exit 2 ;;
	*) [ -z "$kver" ] || { usage >&2; exit 2; }; kver=$1; shift ;;
	esac
done
[ -n "$kver" ] || { usage >&2; exit 2; }

# --- what we build for -------------------------------------------------------
headers=${headers:-/lib/modules/$kver/build}
flavour_hint=${kver#*+*-}
[ "$flavour_hint" != "$kver" ] || flavour_hint=amd64
if [ ! -f "$headers/Makefile" ] || [ ! -f "$headers/.config" ] || [ ! -f "$headers/Module.symvers" ]; then
	die "no kernel headers for $kver in $headers: install linux-headers-$kver"
fi
kmake_version() { # Makefile -> "V.P.S", following Debian's one-line include
	local mk=$1 inc
	inc=$(sed -n 's/^include[[:space:]]\{1,\}\(\/.*Makefile\)$/\1/p' "$mk" | head -1)
	if [ -n "$inc" ] && ! grep -q '^VERSION[[:space:]]*=' "$mk"; then mk=$inc; fi
	awk -F'[[:space:]]*=[[:space:]]*' '
		$1 == "VERSION" { v = $2 } $1 == "PATCHLEVEL" { p = $2 } $1 == "SUBLEVEL" { s = $2 }
		END { if (v != "" && p != "") print v "." p "." (s == "" ? 0 : s) }' "$mk"
}
kernel_upstream=$(kmake_version "$headers/Makefile")
[ -n "$kernel_upstream" ] || die "cannot read the kernel version from $headers/Makefile"
kmm=${kernel_upstream%.*}
krel_headers=$(cat "$headers/include/config/kernel.release" 2>/dev/null || echo "$kver")
[ "$krel_headers" = "$kver" ] ||
	die "$headers is for kernel $krel_headers, not $kver"

deb_version() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || true; }
hdr_pkg=linux-headers-$kver
hdr_ver=$(deb_version "$hdr_pkg")
img_ver=$(deb_version "linux-image-$kver")
[ -n "$img_ver" ] || img_ver=$(deb_version "linux-image-$kver-unsigned")
kernel_pkgver=${img_ver:-$hdr_ver}

srcpkg=linux-source-$kmm
tarball=${tarball:-${VNI_LINUX_TARBALL:-/usr/src/$srcpkg.tar.xz}}
if [ -z "$patch_dir" ]; then
	for d in "$here/kernel-patches/linux-6.12" "$here/../kernel-patches/linux-6.12"; do
		[ -f "$d/series" ] && { patch_dir=$(cd "$d" && pwd); break; }
	done
fi
[ -n "$patch_dir" ] && [ -f "$patch_dir/series" ] || die "no kernel-patches/linux-6.12/series next to $0 (use --patches)"
series_base=$(basename "$patch_dir")          # linux-6.12
series_mm=${series_base#linux-}
if [ "$kmm" != "$series_mm" ]; then
	die "kernel $kver is Linux $kernel_upstream, but this series is for Linux $series_mm only" \
	    "(boot a Debian $series_mm kernel, linux-image-$series_mm.*-$flavour_hint, or use Linux >= 7.3, which has the feature)"
fi
if [ ! -f "$tarball" ]; then
	die "kernel source $tarball not found: install $srcpkg${kernel_pkgver:+ (= $kernel_pkgver, the version of linux-image-$kver)}"
fi
src_pkgver=$(deb_version "$srcpkg")

for t in tar xz patch make awk sed sort cmp; do
	command -v "$t" >/dev/null || die "$t not found"
done

# The tarball's own version: read its top Makefile (stop at the first match).
top=$(tar -tJf "$tarball" 2>/dev/null | head -1 | cut -d/ -f1) || true
[ -n "$top" ] || die "$tarball is not a kernel source tarball"
source_upstream=$(tar -xJOf "$tarball" --occurrence=1 "$top/Makefile" 2>/dev/null |
	awk -F'[[:space:]]*=[[:space:]]*' '
		$1 == "VERSION" { v = $2 } $1 == "PATCHLEVEL" { p = $2 } $1 == "SUBLEVEL" { s = $2 }
		$1 == "EXTRAVERSION" { print v "." p "." s; exit }' || true)
[ -n "$source_upstream" ] || die "cannot read the version of $tarball"
if [ "$source_upstream" != "$kernel_upstream" ]; then
	msg="kernel $kver is Linux $kernel_upstream"
	[ -n "$kernel_pkgver" ] && msg="$msg (package version $kernel_pkgver)"
	msg="$msg, but $tarball is Linux $source_upstream"
	[ -n "$src_pkgver" ] && msg="$msg ($srcpkg $src_pkgver)"
	msg="$msg. The modules must be built from the source of exactly this kernel version:"
	if [ -n "$kernel_pkgver" ]; then
		msg="$msg install $srcpkg version $kernel_pkgver (apt-get install $srcpkg=$kernel_pkgver),"
	else
		msg="$msg install the $srcpkg whose version matches linux-image-$kver,"
	fi
	msg="$msg or boot the kernel that matches the installed source (linux-image-$source_upstream+*-$flavour_hint)."
	die "$msg"
fi
if [ -n "$src_pkgver" ] && [ -n "$kernel_pkgver" ] && [ "$src_pkgver" != "$kernel_pkgver" ]; then
	say "note: $srcpkg is $src_pkgver and the kernel package $kernel_pkgver: same upstream" \
	    "version $kernel_upstream, building (Debian's own patches may differ)"
fi
say "kernel $kver (Linux $kernel_upstream${kernel_pkgver:+, $kernel_pkgver}), source $tarball" \
    "(Linux $source_upstream${src_pkgver:+, $src_pkgver}), headers $headers"
if [ "$versions_only" = 1 ]; then
	say "versions match"
	return 0
fi

# --- the series ----------------------------------------------------------------
patches=()
while read -r p _; do
	case $p in ''|'#'*) continue ;; esac
	[ -f "$patch_dir/$p" ] || die "series names $p, which is not in $patch_dir"
	patches+=("$p")
done <"$patch_dir/series"
[ ${#patches[@]} -gt 0 ] || die "$patch_dir/series is empty"

# Files the series changes (old side, must exist in the tarball) and creates.
touched=()
created=()
for p in "${patches[@]}"; do
	while read -r kind path; do
		case $kind in
		old) case " ${created[*]} ${touched[*]} " in *" $path "*) ;; *) touched+=("$path") ;; esac ;;
		new) created+=("$path") ;;
		esac
	done < <(awk '
		/^diff --git / { if (f != "") print (isnew ? "new " : "old ") f
			f = $4; sub(/^b\//, "", f); isnew = 0; hdr = 1; next }
		hdr && /^new file mode/ { isnew = 1 }
		hdr && /^@@/ { hdr = 0 }
		END { if (f != "") print (isnew ? "new " : "old ") f }' "$patch_dir/$p")
done
# Only module code and their headers may change: the kernel image stays Debian's.
private_headers=" include/linux/vfio.h include/linux/vfio_pci_core.h include/linux/iommufd.h"
private_headers+=" include/linux/mdev.h include/uapi/linux/vfio.h include/uapi/linux/iommufd.h " 
bad=()
for f in "${touched[@]}" "${created[@]}"; do
	case $f in
	drivers/vfio/*|drivers/iommu/iommufd/*) ;;
	include/*) case $private_headers in *" $f "*) ;; *) bad+=("$f") ;; esac ;;
	Documentation/*|MAINTAINERS|tools/testing/selftests/*) ;;
	*) bad+=("$f") ;;
	esac
done
[ ${#bad[@]} -eq 0 ] || die "the series changes ${bad[*]}: code outside the modules (or a header" \
	"Debian's built-in kernel code also uses) cannot be replaced without rebuilding the kernel" \
	"(scripts/build-kernel-deb.sh builds a whole kernel package instead)"

# --- source tree ----------------------------------------------------------------
work=${work:-$PWD/vni-work}
out=${out:-$PWD/out}
case $work in /*) ;; *) work=$PWD/$work ;; esac
case $out in /*) ;; *) out=$PWD/$out ;; esac
rm -rf "$work"
mkdir -p "$work"
cleanup() { [ "$keep" = 1 ] || rm -rf "$work"; }
trap cleanup EXIT
src=$work/src
mkdir -p "$src"
# One pass over the tarball: the module directories, everything Kconfig
# reads, and every file the series changes.
members=("$top/drivers/vfio/*" "$top/drivers/iommu/iommufd/*" "$top/drivers/iommu/iommu-priv.h"
	"$top/drivers/iommu/iommu-pages.h"
	"$top/lib/interval_tree.c" "$top/Kconfig" "$top/*/Kconfig*" "$top/scripts/*")
for f in "${touched[@]}"; do
	case $f in # (a member matched by two patterns counts for the first only)
	drivers/vfio/*|drivers/iommu/iommufd/*|*/Kconfig*|Kconfig*|scripts/*|lib/interval_tree.c|drivers/iommu/iommu-priv.h|drivers/iommu/iommu-pages.h) ;;
	*) members+=("$top/$f") ;;
	esac
done
say "extracting the module sources from $tarball"
tar -xJf "$tarball" -C "$src" --strip-components=1 --wildcards "${members[@]}" ||
	die "cannot extract the needed files from $tarball (does the series fit this source?)"
for f in drivers/vfio/vfio_main.c drivers/iommu/iommufd/main.c lib/interval_tree.c Kconfig; do
	[ -f "$src/$f" ] || die "$tarball has no $f"
done

n=0
for p in "${patches[@]}"; do
	n=$((n + 1))
	if ! patch -d "$src" -p1 --batch --forward --fuzz=0 --no-backup-if-mismatch -s \
	     <"$patch_dir/$p" >"$work/patch.log" 2>&1; then
		cat "$work/patch.log" >&2
		die "patch $n/${#patches[@]} $p does not apply to $srcpkg $source_upstream"
	fi
done
say "extracted and applied ${#patches[@]} patches from $patch_dir/series ($(( $(date +%s) - t0 ))s)"

# --- configuration ------------------------------------------------------------
# Debian's config plus our options, resolved by the kernel's own Kconfig
# (Debian ships conf in linux-kbuild). Every change Kconfig makes must be
# one we can deliver in modules.
conf=$headers/scripts/kconfig/conf
[ -x "$conf" ] || die "$conf not found (linux-kbuild package of $kver)"
want_opts='IOMMUFD=m VFIO_NOIOMMU=y VFIO_DEVICE_CDEV=y'
kv() { # VAR from the headers' .kernelvariables (Debian: CC, CROSS_COMPILE)
	printf 'show:\n\t@echo $(%s)\ninclude %s\n' "$1" "$headers/.kernelvariables" | make -s -f - show 2>/dev/null
}
if [ -f "$headers/.kernelvariables" ]; then
	kcc=$(kv CC | awk '{print $NF}')
	kcross=$(kv CROSS_COMPILE)
else
	kcc=gcc
	kcross=
fi
command -v "$kcc" >/dev/null || die "$kver was built with $kcc, which is not installed (Debian: linux-headers-$kver depends on it)"
cp "$headers/.config" "$work/config.debian"
cp "$work/config.debian" "$src/.config"
for o in $want_opts; do echo "CONFIG_$o" >>"$src/.config"; done
(
	cd "$src"
	export srctree=. ARCH=x86 SRCARCH=x86 KERNELVERSION=$source_upstream
	export CC=$kcc LD=${kcross}ld NM=${kcross}nm OBJCOPY=${kcross}objcopy AR=${kcross}ar
	export HOSTCC=gcc HOSTCXX=g++ RUSTC=vni-no-rustc BINDGEN=vni-no-bindgen PAHOLE=pahole
	CC_VERSION_TEXT=$("$kcc" --version | head -1)
	export CC_VERSION_TEXT KCONFIG_CONFIG=.config
	"$conf" -s --olddefconfig Kconfig
) >"$work/kconfig.log" 2>&1 || { cat "$work/kconfig.log" >&2; die "Kconfig failed on Debian's config plus $want_opts"; }
cp "$src/.config" "$work/config.vni"

cfg_val() { # FILE OPTION -> y, m, n or the value
	local v
	v=$(grep -E "^CONFIG_$2=" "$1" | head -1 | cut -d= -f2-) || true
	echo "${v:-n}"
}
for o in $want_opts; do
	got=$(cfg_val "$work/config.vni" "${o%%=*}")
	[ "$got" = "${o#*=}" ] || die "Kconfig did not accept CONFIG_$o (got $got): see $work/kconfig.log"
done
# Options defined by the module directories' own Kconfig files are ours to set.
module_opts=" $(cat "$src"/drivers/vfio/Kconfig "$src"/drivers/vfio/*/Kconfig "$src"/drivers/iommu/iommufd/Kconfig 2>/dev/null |
	sed -n 's/^[[:space:]]*\(menu\)\{0,1\}config[[:space:]]\{1,\}\([A-Za-z0-9_]\{1,\}\).*/\2/p' | sort -u | tr '\n' ' ') "
make_vars=()
cdefs=()
emulate_span_iter=0
notes=()
while read -r opt old val; do
	case " $module_opts " in
	*" $opt "*)
		case $old:$val in
		n:y) make_vars+=("CONFIG_$opt=y"); cdefs+=("-DCONFIG_$opt=1") ;;
		n:m) make_vars+=("CONFIG_$opt=m"); cdefs+=("-DCONFIG_${opt}_MODULE=1") ;;
		*) die "Kconfig changes CONFIG_$opt from $old to $val: only new options can be added in modules" ;;
		esac
		notes+=("CONFIG_$opt=$val")
		continue ;;
	esac
	case $opt:$old:$val in
	INTERVAL_TREE_SPAN_ITER:n:y)
		# lib/interval_tree.c's span iterator, compiled into iommufd.ko.
		emulate_span_iter=1
		notes+=("CONFIG_INTERVAL_TREE_SPAN_ITER=y (in iommufd.ko)") ;;
	IOMMUFD_DRIVER:n:y)
		# Built-in helper for IOMMU drivers' dirty tracking (iova_bitmap);
		# Debian's kernel has none, so dirty tracking stays unsupported,
		# exactly as it is with Debian's own modules.
		notes+=("CONFIG_IOMMUFD_DRIVER stays off (built-in code)") ;;
	*)
		die "Kconfig also changes CONFIG_$opt ($old -> $val), which is built into Debian's kernel image:" \
		    "the series needs a kernel rebuild (scripts/build-kernel-deb.sh)" ;;
	esac
done < <(
	# Every option whose value differs, as "NAME OLD NEW" (n for unset).
	awk 'FNR == 1 { fi++ }
		/^CONFIG_[A-Za-z0-9_]+=/ { n = $0; sub(/=.*/, "", n); sub(/^CONFIG_/, "", n)
			v = $0; sub(/^[^=]*=/, "", v); val[fi, n] = v; names[n] = 1; next }
		/^# CONFIG_[A-Za-z0-9_]+ is not set/ { n = $2; sub(/^CONFIG_/, "", n); names[n] = 1 }
		END { for (n in names) { x = ((1, n) in val) ? val[1, n] : "n"
			y = ((2, n) in val) ? val[2, n] : "n"; if (x != y) print n, x, y } }' \
		"$work/config.debian" "$work/config.vni" | sort)
case " ${notes[*]} " in *" CONFIG_IOMMUFD_NOIOMMU=y "*) ;;
	*) die "the series does not provide CONFIG_IOMMUFD_NOIOMMU (iommufd's no-IOMMU page table): is it the no-IOMMU cdev series?" ;;
esac
say "configuration: Debian's plus ${notes[*]}"

if [ "$check_only" = 1 ]; then
	say "check passed: $kver can be built from $srcpkg $source_upstream with ${#patches[@]} patches ($(( $(date +%s) - t0 ))s)"
	return 0
fi

# --- external module tree -----------------------------------------------------
stage=$work/mod
mkdir -p "$stage/drivers/iommu" "$stage/vni-include"
cp -a "$src/drivers/vfio" "$stage/drivers/"
cp -a "$src/drivers/iommu/iommufd" "$stage/drivers/iommu/"
# iommufd includes these two from its parent directory.
cp "$src/drivers/iommu/iommu-priv.h" "$src/drivers/iommu/iommu-pages.h" "$stage/drivers/iommu/"
# Our headers (the series' versions) win over the headers package's:
# Kbuild puts NOSTDINC_FLAGS before its own include path.
for f in "${touched[@]}" "${created[@]}"; do
	case $f in include/*)
		mkdir -p "$stage/vni-include/$(dirname "${f#include/}")"
		cp "$src/$f" "$stage/vni-include/${f#include/}" ;;
	esac
done
if [ "$emulate_span_iter" = 1 ]; then
	{
		echo "// SPDX-License-Identifier: GPL-2.0-only"
		echo "/* Generated by build-modules.sh from lib/interval_tree.c of $srcpkg $source_upstream:"
		echo " * the CONFIG_INTERVAL_TREE_SPAN_ITER part, which $kver does not build in. */"
		sed -n '1,/^#ifdef CONFIG_INTERVAL_TREE_SPAN_ITER/{/^#include/p}' "$src/lib/interval_tree.c"
		sed -n '/^#ifdef CONFIG_INTERVAL_TREE_SPAN_ITER/,$p' "$src/lib/interval_tree.c" |
			sed '1d;$d' | grep -v '^EXPORT_SYMBOL'
	} >"$stage/drivers/iommu/iommufd/vni_interval_tree_span.c"
	grep -q 'interval_tree_span_iter_first' "$stage/drivers/iommu/iommufd/vni_interval_tree_span.c" ||
		die "lib/interval_tree.c has no span iterator"
	echo 'iommufd-y += vni_interval_tree_span.o' >>"$stage/drivers/iommu/iommufd/Makefile"
fi
cat >"$stage/Kbuild" <<'EOF'
# Generated by build-modules.sh: one external module tree, so that modpost
# sees iommufd's exports when it links vfio.
obj-m += drivers/iommu/iommufd/
obj-m += drivers/vfio/
EOF

kmake=(make -C "$headers" M="$stage" -j"$jobs"
	"NOSTDINC_FLAGS=-I$stage/vni-include ${cdefs[*]}" "${make_vars[@]}")
say "building: make -C $headers M=<tree> ${make_vars[*]}"
t_build=$(date +%s)
if ! "${kmake[@]}" modules >"$work/build.log" 2>&1; then
	tail -n 60 "$work/build.log" >&2
	die "module build failed (full log above; rerun with --keep to inspect $work)"
fi
grep -E 'WARNING: modpost|undefined!' "$work/build.log" >&2 && die "modpost reported problems"
say "compiled in $(( $(date +%s) - t_build ))s"

# --- results ---------------------------------------------------------------------
mods=()
while IFS= read -r m; do
	m=${m#"$stage"/}
	mods+=("${m%.o}")
done <"$stage/modules.order"
[ ${#mods[@]} -gt 0 ] || die "the build produced no modules"
for need in drivers/iommu/iommufd/iommufd drivers/vfio/vfio drivers/vfio/pci/vfio-pci-core drivers/vfio/pci/vfio-pci; do
	[ -f "$stage/$need.ko" ] || die "$need.ko was not built"
done
# Every module Debian builds from these directories must be replaced too,
# or Debian's copy would load against ours.
if [ -d "/lib/modules/$kver/kernel" ]; then
	for d in drivers/vfio drivers/iommu/iommufd; do
		[ -d "/lib/modules/$kver/kernel/$d" ] || continue
		while IFS= read -r f; do
			rel=${f#/lib/modules/$kver/kernel/}
			rel=${rel%.ko*}
			[ -f "$stage/$rel.ko" ] || die "Debian's kernel has $rel, which this build does not replace"
		done < <(find "/lib/modules/$kver/kernel/$d" -name '*.ko*')
	done
fi
vermagic=$(modinfo -F vermagic "$stage/drivers/vfio/vfio.ko" 2>/dev/null || true)
case $vermagic in "$kver "*) ;; *) die "vfio.ko has vermagic '$vermagic', not for $kver" ;; esac

rm -rf "$out"
mkdir -p "$out"
for m in "${mods[@]}"; do cp "$stage/$m.ko" "$out/"; done
cp "$stage/Module.symvers" "$out/Module.symvers"
cp "$work/config.vni" "$out/config"
{
	echo "kernel: $kver (Linux $kernel_upstream${kernel_pkgver:+, $kernel_pkgver})"
	echo "source: $tarball (Linux $source_upstream${src_pkgver:+, $srcpkg $src_pkgver})"
	echo "series: $patch_dir/series (${#patches[@]} patches)"
	for p in "${patches[@]}"; do echo "  $p $(sha256sum <"$patch_dir/$p" | cut -c1-16)"; done
	echo "config: Debian's plus ${notes[*]}"
	echo "modules: $(for m in "${mods[@]}"; do printf '%s ' "$(basename "$m")"; done)"
	echo "vermagic: $vermagic"
} >"$out/build-info"

# Modules outside this build that use these modules' symbols (Debian: the
# i915 kvmgt module) must not load against them: with MODVERSIONS each
# imported symbol carries a CRC of its types, and the kernel refuses a
# module with a mismatch. Report which ones will be refused.
if [ -f "/lib/modules/$kver/modules.dep" ] && command -v modprobe >/dev/null; then
	ours=" $(for m in "${mods[@]}"; do printf '%s ' "$(basename "$m")"; done)"
	while IFS= read -r line; do
		modfile=${line%%:*}
		name=$(basename "${modfile%%.ko*}")
		case $ours in *" $name "*) continue ;; esac
		hit=0
		for d in ${line#*:}; do
			d=$(basename "${d%%.ko*}")
			case $ours in *" $d "*) hit=1 ;; esac
		done
		[ $hit = 1 ] || continue
		changed=0 same=0
		while read -r crc sym; do
			new=$(awk -v s="$sym" '$2 == s { print $1; exit }' "$out/Module.symvers")
			[ -n "$new" ] || continue
			if [ "$((new))" = "$((crc))" ]; then same=$((same + 1)); else changed=$((changed + 1)); fi
		done < <(modprobe --dump-modversions "/lib/modules/$kver/$modfile" 2>/dev/null)
		if [ $changed -gt 0 ]; then
			say "note: $name (Debian's, not replaced) will refuse to load: $changed of the symbols it imports from these modules changed"
			echo "refused: $modfile $changed changed, $same unchanged" >>"$out/build-info"
		else
			say "note: $name imports only unchanged symbols from these modules"
			echo "compatible: $modfile $same unchanged" >>"$out/build-info"
		fi
	done < <(grep -E ": .*/($(for m in "${mods[@]}"; do printf '%s|' "$(basename "$m")"; done | sed 's/|$//')).ko" \
		"/lib/modules/$kver/modules.dep" || true)
fi
say "built ${#mods[@]} modules for $kver into $out in $(( $(date +%s) - t0 ))s: $(cd "$out" && ls -- *.ko | tr '\n' ' ')"
}

main "$@"
