#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Build one kernel flavour for the QEMU tests (see docs/development.md).
#
#   scripts/build-kernel.sh FLAVOUR [--kernels DIR] [--force]
#
# Source: Debian's linux-source-6.12 tarball. Flavours, their kconfig
# fragments and whether they get the patch series are listed in
# kernel-patches/flavours. Everything is cached outside the work tree in
# ${VNI_CACHE_DIR:-/var/cache/libvfionoiommu}:
#
#   src/vanilla/      the unpacked tarball (re-extracted when it changes)
#   src/patched/      hard-linked copy of src/vanilla with the series applied
#                     (re-made when the series or a patch changes)
#   build/<flavour>/  hard-linked copy of src/vanilla or src/patched for this
#                     flavour, re-made when that tree changes; make O=obj
#                     builds in build/<flavour>/obj/, so kbuild names every
#                     file relative to it (srctree "..") and compile commands
#                     are the same for every flavour
#   ccache/           CCACHE_DIR (or $VNI_CCACHE_DIR): after a patch edit most
#                     objects hit it, and so do the objects a flavour shares
#                     with another of the same config (vanilla after group:
#                     all but what the series touches)
#   logs/<flavour>.log  full output of the last build of that flavour
#   kernels/<flavour>/  the default output directory (--kernels)
#
# Output: <kernels>/<flavour>/{bzImage,config,headers/include/,selftests/,
# modules/} (modules/lib/modules/<release>/ only for a modular flavour).
# A stamp (.vni-key) keyed on the source package version, the tarball, the
# series and patch contents, the fragments, this script and the selftest
# shim makes an unchanged rebuild a no-op. Stamps are written last and
# output directories are renamed into place, so an interrupted run is never
# taken as a valid build.

set -euo pipefail
umask 022

# The whole script is one function, parsed before anything runs, and the
# call is on the last line: editing this file while a build is running
# cannot derail that build.
main() {

prog=build-kernel
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
self="$repo/scripts/build-kernel.sh"
cache=${VNI_CACHE_DIR:-/var/cache/libvfionoiommu}
tarball=${VNI_LINUX_TARBALL:-/usr/src/linux-source-6.12.tar.xz}
srcpkg=${VNI_LINUX_PACKAGE:-linux-source-6.12}
flavours_file="$repo/kernel-patches/flavours"
config_dir="$repo/kernel-patches/config"
patch_dir="$repo/kernel-patches/linux-6.12"
series_file="$patch_dir/series"
shim="$repo/tests/iommufd-selftests/shim.h"

usage() {
	cat <<EOF
usage: $0 FLAVOUR [--kernels DIR] [--force]

Builds kernel flavour FLAVOUR (one of: $(flavour_names | tr '\n' ' '))
into DIR/FLAVOUR (default DIR: \${VNI_CACHE_DIR:-/var/cache/libvfionoiommu}/kernels).
--force ignores the up-to-date stamp (make still only rebuilds what changed).
EOF
}

flavour_names() {
	awk '!/^[[:space:]]*(#|$)/ { print $1 }' "$flavours_file"
}

t_start=$(date +%s)
phase_start=$t_start
say() { printf '[%s %s] %s\n' "$prog" "${flavour:-?}" "$*"; }
die() { printf '[%s %s] ERROR: %s\n' "$prog" "${flavour:-?}" "$*" >&2; exit 1; }
elapsed() { echo "$(( $(date +%s) - $1 ))s"; }
phase_done() {
	say "$1 done in $(elapsed "$phase_start")"
	phase_start=$(date +%s)
}

flavour=
kernels=
force=0
while [ $# -gt 0 ]; do
	case $1 in
	--kernels) [ $# -ge 2 ] || { usage >&2; exit 2; }; kernels=$2; shift 2 ;;
	--kernels=*) kernels=${1#--kernels=}; shift ;;
	--force) force=1; shift ;;
	-h|--help) usage; exit 0 ;;
	-*) usage >&2; exit 2 ;;
	*) [ -z "$flavour" ] || { usage >&2; exit 2; }; flavour=$1; shift ;;
	esac
done
[ -n "$flavour" ] || { usage >&2; exit 2; }
kernels=${kernels:-$cache/kernels}

# --- flavour definition ------------------------------------------------------
line=$(awk -v f="$flavour" '!/^[[:space:]]*(#|$)/ && $1 == f { print; exit }' "$flavours_file")
[ -n "$line" ] || die "unknown flavour '$flavour' (known: $(flavour_names | tr '\n' ' '))"
read -r _ want_series fragments <<<"$line"
case $want_series in yes|no) ;; *) die "flavours: series must be yes or no, got '$want_series'" ;; esac
[ -n "$fragments" ] || die "flavours: no fragments for $flavour"
frag_files=()
for f in $fragments; do
	[ -f "$config_dir/$f.config" ] || die "missing fragment kernel-patches/config/$f.config"
	frag_files+=("$config_dir/$f.config")
done

patches=()
if [ "$want_series" = yes ] && [ -f "$series_file" ]; then
	while read -r p _; do
		case $p in ''|'#'*) continue ;; esac
		[ -f "$patch_dir/$p" ] || die "series names $p, which does not exist in kernel-patches/linux-6.12/"
		patches+=("$p")
	done <"$series_file"
fi

# --- tools -------------------------------------------------------------------
for t in make gcc tar xz flex bison bc git sha256sum; do
	command -v "$t" >/dev/null || die "$t not found (see scripts/packages.txt)"
done
[ -f "$tarball" ] || die "$tarball not found (apt-get install $srcpkg)"
jobs=$(( $(nproc) + 1 ))

mkdir -p "$cache" "$cache/src" "$cache/build" "$cache/logs" "$kernels"
exec 9>"$cache/.lock"
if ! flock -n 9; then
	say "waiting for another kernel build (lock $cache/.lock)"
	flock 9
	say "got the lock after $(elapsed "$t_start")"
fi
phase_start=$(date +%s)

# --- keys --------------------------------------------------------------------
hash() { sha256sum | cut -c1-32; }
pkgver=$(dpkg-query -W -f='${Version}' "$srcpkg" 2>/dev/null || echo unknown)
tar_id="$tarball $(stat -c '%s %Y' "$tarball")"
vanilla_key=$(printf 'pkg %s %s\ntarball %s\n' "$srcpkg" "$pkgver" "$tar_id" | hash)
if [ ${#patches[@]} -gt 0 ]; then
	tree=patched
	tree_key=$( {
		echo "vanilla $vanilla_key"
		for p in "${patches[@]}"; do
			echo "patch $p $(sha256sum <"$patch_dir/$p" | cut -d' ' -f1)"
		done
	} | hash)
else
	# No patches (vanilla flavour, or the series is still empty): the
	# plain tree, which also lets these flavours share ccache objects.
	tree=vanilla
	tree_key=$vanilla_key
fi
flavour_key=$( {
	echo "flavour $flavour tree $tree $tree_key"
	for f in "${frag_files[@]}"; do echo "fragment $(basename "$f")"; cat "$f"; done
	echo "script"; cat "$self"
	if [ -f "$shim" ]; then echo "shim"; cat "$shim"; fi
	gcc --version | head -1
} | hash)

out="$kernels/$flavour"
if [ "$force" = 0 ] && [ -f "$out/.vni-key" ] && [ "$(cat "$out/.vni-key")" = "$flavour_key" ] &&
   [ -f "$out/bzImage" ]; then
	say "up to date: $out (key $flavour_key, $(elapsed "$t_start"))"
	exit 0
fi

log="$cache/logs/$flavour.log"
# One log per flavour, appended per run (cut when it grows large).
if [ -f "$log" ] && [ "$(stat -c %s "$log")" -gt $((64 << 20)) ]; then : >"$log"; fi
echo "===== $(date -u '+%Y-%m-%dT%H:%M:%SZ') build-kernel.sh $flavour (key $flavour_key)" >>"$log"
say "building $flavour: $srcpkg $pkgver, ${#patches[@]} patch(es), fragments: $fragments"
say "full log: $log"
run() {
	# Run a build step with its output in the log; on failure show the tail.
	echo "+ $*" >>"$log"
	if ! "$@" >>"$log" 2>&1; then
		echo "----- last lines of $log -----" >&2
		tail -n 40 "$log" >&2
		echo "-----" >&2
		die "failed: $*"
	fi
}

# --- source trees ------------------------------------------------------------
vanilla="$cache/src/vanilla"
if [ "$(cat "$vanilla/.vni-tree-key" 2>/dev/null)" != "$vanilla_key" ]; then
	say "extracting $tarball"
	rm -rf "$vanilla.new" "$vanilla"
	mkdir -p "$vanilla.new"
	run tar -xf "$tarball" -C "$vanilla.new" --strip-components=1
	[ -f "$vanilla.new/Makefile" ] || die "$tarball did not unpack to a kernel tree"
	echo "$vanilla_key" >"$vanilla.new/.vni-tree-key"
	mv "$vanilla.new" "$vanilla"
	# Trees derived from the old tarball are stale.
	rm -rf "$cache/src/patched"
	phase_done "extract"
fi

src="$cache/src/$tree"
if [ "$tree" = patched ] && [ "$(cat "$src/.vni-tree-key" 2>/dev/null)" != "$tree_key" ]; then
	say "applying ${#patches[@]} patch(es) from kernel-patches/linux-6.12/series"
	rm -rf "$src.new" "$src"
	# Hard-linked copy: cheap, and git apply replaces (never rewrites) the
	# files it changes, so src/vanilla stays pristine.
	cp -al "$vanilla" "$src.new"
	rm -f "$src.new/.vni-tree-key"
	n=0
	for p in "${patches[@]}"; do
		n=$((n + 1))
		echo "+ git apply $p" >>"$log"
		if ! (cd "$src.new" && GIT_CEILING_DIRECTORIES="$cache/src" \
		      git apply --whitespace=nowarn "$patch_dir/$p") >>"$log" 2>&1; then
			tail -n 20 "$log" >&2
			die "patch $n/${#patches[@]} $p does not apply"
		fi
		say "  applied $p"
	done
	echo "$tree_key" >"$src.new/.vni-tree-key"
	mv "$src.new" "$src"
	phase_done "patch"
fi

# --- configure ---------------------------------------------------------------
wt="$cache/build/$flavour"
b="$wt/obj"
if [ "$(cat "$wt/.vni-src-key" 2>/dev/null)" != "$tree:$tree_key" ]; then
	# New source tree: kept objects could be newer than changed sources.
	# Start clean; ccache makes the recompile cheap.
	rm -rf "$wt" "$wt.new"
	cp -al "$src" "$wt.new"
	# Hard links: replace the copied key file, never write through it.
	rm -f "$wt.new/.vni-tree-key"
	mkdir "$wt.new/obj"
	echo "$tree:$tree_key" >"$wt.new/.vni-src-key"
	mv "$wt.new" "$wt"
fi
if [ "$(cat "$b/.vni-built-key" 2>/dev/null)" = "$flavour_key" ] &&
   [ -f "$b/vni-headers/include/linux/vfio.h" ] && [ -d "$b/vni-selftests" ]; then
	need_build=0
	say "build directory already holds this build: installing only"
else
	need_build=1
	rm -f "$b/.vni-built-key"
fi
hdr="$b/vni-headers"
st="$b/vni-selftests"
mods="$b/vni-modules"
krel=$(cat "$b/include/config/kernel.release" 2>/dev/null || echo unknown)

if command -v ccache >/dev/null && [ -d /usr/lib/ccache ]; then
	export PATH="/usr/lib/ccache:$PATH"
	# VNI_CCACHE_DIR lets a second cache directory (another checkout's
	# kernels) share the compiled objects.
	export CCACHE_DIR="${VNI_CCACHE_DIR:-$cache/ccache}"
	export CCACHE_SLOPPINESS=include_file_mtime,include_file_ctime,time_macros
	export CCACHE_NOHASHDIR=1
	mkdir -p "$CCACHE_DIR"
	[ -f "$CCACHE_DIR/ccache.conf" ] || echo "max_size = 8G" >"$CCACHE_DIR/ccache.conf"
	ccache -z >/dev/null 2>&1 || true
	use_ccache=1
else
	say "ccache not found: building without it"
	use_ccache=0
fi
export KBUILD_BUILD_USER=vni KBUILD_BUILD_HOST=vni
KBUILD_BUILD_TIMESTAMP=$(date -u -d "@$(stat -c %Y "$tarball")" '+%a %b %e %T UTC %Y')
export KBUILD_BUILD_TIMESTAMP
# O= a direct subdirectory of the tree: kbuild then uses srctree "..".
kmake=(make -C "$wt" O="$b" ARCH=x86_64)

if [ "$need_build" = 1 ]; then
say "configuring: tinyconfig + $fragments"
run "${kmake[@]}" tinyconfig
run env -C "$wt" ./scripts/kconfig/merge_config.sh -m -O "$b" "$b/.config" "${frag_files[@]}"
run "${kmake[@]}" olddefconfig

# Every CONFIG_ line of the fragments must have survived (the last fragment
# that mentions an option wins, as in merge_config.sh).
declare -A want=()
declare -a order=()
for f in "${frag_files[@]}"; do
	while IFS= read -r l; do
		if [[ $l =~ ^(CONFIG_[A-Za-z0-9_]+)=(.*)$ ]]; then
			opt=${BASH_REMATCH[1]}; val=${BASH_REMATCH[2]}
		elif [[ $l =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set ]]; then
			opt=${BASH_REMATCH[1]}; val=n
		else
			continue
		fi
		[ -n "${want[$opt]+x}" ] || order+=("$opt")
		want[$opt]=$val
	done <"$f"
done
bad=()
for opt in "${order[@]}"; do
	wantv=${want[$opt]}
	got=$(grep -E "^$opt=" "$b/.config" | head -1 | cut -d= -f2- || true)
	[ -n "$got" ] || got=n
	if [ "$got" != "$wantv" ]; then
		bad+=("$opt (wanted $wantv, got $got)")
	fi
done
if [ ${#bad[@]} -gt 0 ]; then
	printf '  %s\n' "${bad[@]}" >&2
	die "${#bad[@]} option(s) of the fragments did not make it into .config: ${bad[*]%% *}"
fi
say "config verified: ${#order[@]} options as asked"
phase_done "configure"

# --- build -------------------------------------------------------------------
targets=(bzImage)
modular=0
if grep -q '^CONFIG_MODULES=y' "$b/.config"; then
	modular=1
	targets+=(modules)
fi
say "make -j$jobs ${targets[*]}"
run "${kmake[@]}" -j"$jobs" "${targets[@]}"
krel=$(cat "$b/include/config/kernel.release")
phase_done "${targets[*]} ($krel)"

# Modular flavour: lib/modules/<release>/ with modules.dep, as the guest's
# /init expects it (stripped: the initramfs stays small).
rm -rf "$mods"
if [ "$modular" = 1 ]; then
	command -v depmod >/dev/null || die "depmod not found (apt-get install kmod)"
	run "${kmake[@]}" modules_install INSTALL_MOD_PATH="$mods" INSTALL_MOD_STRIP=1
	[ -f "$mods/lib/modules/$krel/modules.dep" ] || die "modules_install wrote no modules.dep"
	rm -f "$mods/lib/modules/$krel/build" "$mods/lib/modules/$krel/source"
	phase_done "modules_install ($(find "$mods" -name '*.ko' | wc -l) modules)"
fi

rm -rf "$hdr"
run "${kmake[@]}" headers_install INSTALL_HDR_PATH="$hdr"
[ -f "$hdr/include/linux/vfio.h" ] || die "headers_install produced no linux/vfio.h"
phase_done "headers_install"

# --- selftests ---------------------------------------------------------------
# Static kselftest binaries built from the same tree against its own
# installed headers. Never modifies the kernel tree: output goes to O=.
rm -rf "$st"
mkdir -p "$st"

build_selftest() { # dir extra-cflags...
	local dir=$1; shift
	local o="$b/kselftest/$dir"
	rm -rf "$o"
	mkdir -p "$o"
	run env CFLAGS="$*" LDFLAGS="-static" \
		make -C "$src/tools/testing/selftests/$dir" OUTPUT="$o" \
		KHDR_INCLUDES="-isystem $hdr/include" -j"$jobs"
	local n=0 f
	for f in "$o"/*; do
		[ -f "$f" ] && [ -x "$f" ] || continue
		[ "$(head -c4 "$f" | od -An -c | tr -d ' ')" = '177ELF' ] || continue
		if readelf -l "$f" | grep -q INTERP; then
			die "selftest $dir/$(basename "$f") is not static"
		fi
		cp "$f" "$st/"
		n=$((n + 1))
	done
	[ "$n" -gt 0 ] || die "selftests/$dir built no program"
	say "  selftests/$dir: $(cd "$o" && for f in *; do [ -x "$f" ] && [ -f "$f" ] && printf '%s ' "$f"; done)"
}

if grep -q '^CONFIG_IOMMUFD_TEST=y' "$b/.config"; then
	[ -f "$shim" ] || die "missing $shim"
	# The shim fills in names this tree's selftests use but its headers
	# lack; tell it which ones the headers already have.
	shim_defs=()
	grep -q 'IOMMU_HW_INFO_TYPE_DEFAULT' "$hdr/include/linux/iommufd.h" && shim_defs+=(-DVNI_HAVE_HW_INFO_TYPE_DEFAULT)
	grep -q 'IOMMU_HW_INFO_FLAG_INPUT_TYPE' "$hdr/include/linux/iommufd.h" && shim_defs+=(-DVNI_HAVE_HW_INFO_FLAG_INPUT_TYPE)
	grep -q 'in_data_type' "$hdr/include/linux/iommufd.h" && shim_defs+=(-DVNI_HAVE_HW_INFO_IN_DATA_TYPE)
	grep -q 'MOCK_FLAGS_DEVICE_PASID' "$src/drivers/iommu/iommufd/iommufd_test.h" && shim_defs+=(-DVNI_HAVE_MOCK_FLAGS_DEVICE_PASID)
	grep -q 'MOCK_PASID_WIDTH' "$src/drivers/iommu/iommufd/iommufd_test.h" && shim_defs+=(-DVNI_HAVE_MOCK_PASID_WIDTH)
	build_selftest iommu -include "$shim" "${shim_defs[@]}"
fi
if [ -d "$src/tools/testing/selftests/vfio" ]; then
	build_selftest vfio
fi
phase_done "selftests"

if [ "$use_ccache" = 1 ]; then
	say "ccache: $(ccache -s 2>/dev/null | awk '/^[[:space:]]*(Hits|Misses):/ { printf "%s %s ", $1, $2 }')"
fi
echo "$flavour_key" >"$b/.vni-built-key"
fi # need_build

# --- install -----------------------------------------------------------------
new="$kernels/.$flavour.new.$$"
rm -rf "$new"
mkdir -p "$new/headers" "$new/selftests" "$new/modules"
cp "$b/arch/x86/boot/bzImage" "$new/bzImage"
cp "$b/.config" "$new/config"
cp -a "$hdr/include" "$new/headers/include"
cp -a "$st/." "$new/selftests/"
[ ! -d "$mods/lib" ] || cp -a "$mods/lib" "$new/modules/"
{
	echo "flavour: $flavour"
	echo "kernelrelease: $krel"
	echo "source: $srcpkg $pkgver ($tarball)"
	echo "fragments: $fragments"
	echo "patches: ${patches[*]:-none}"
	echo "key: $flavour_key"
	echo "built: $(date -u '+%Y-%m-%dT%H:%M:%SZ')"
} >"$new/build-info"
echo "$flavour_key" >"$new/.vni-key"
if [ -e "$out" ]; then
	mv "$out" "$kernels/.$flavour.old.$$"
fi
mv "$new" "$out"
rm -rf "$kernels/.$flavour.old.$$"
say "done: $out ($krel, bzImage $(( $(stat -c %s "$out/bzImage") / 1024 )) KiB, $(ls "$out/selftests" | wc -l) selftest(s)) in $(elapsed "$t_start")"
}

# One line: bash has read all of it before main runs, so an edit of this
# file during a build cannot make it read the rest from a shifted offset.
main "$@"; exit $?
