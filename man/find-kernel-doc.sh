#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# find-kernel-doc.sh OUTDIR: put a copy of the Linux kernel's scripts/kernel-doc
# in OUTDIR (once) and print its path. Taken from an unpacked tree of the
# kernel build cache when there is one (fast), else extracted from Debian's
# linux-source-6.12 tarball, which scripts/packages.txt installs. A copy, so
# that a kernel build replacing its tree cannot pull it from under the build.
# Exit 1 when neither exists.
set -eu
out=$1
cache=${VNI_CACHE_DIR:-/var/cache/libvfionoiommu}
[ -s "$out/kernel-doc" ] && { echo "$out/kernel-doc"; exit 0; }
mkdir -p "$out"
for f in "$cache"/src/*/scripts/kernel-doc; do
	[ -f "$f" ] && cp "$f" "$out/kernel-doc.tmp" && break
done
if [ ! -s "$out/kernel-doc.tmp" ]; then
	for t in /usr/src/linux-source-6.12.tar.xz /usr/src/linux-source-*.tar.xz; do
		[ -f "$t" ] || continue
		# the whole archive is decompressed to find one file: some seconds
		tar -xJf "$t" -O --wildcards '*/scripts/kernel-doc' >"$out/kernel-doc.tmp" 2>/dev/null &&
			[ -s "$out/kernel-doc.tmp" ] && break
	done
fi
if [ -s "$out/kernel-doc.tmp" ]; then
	mv "$out/kernel-doc.tmp" "$out/kernel-doc"
	echo "$out/kernel-doc"
	exit 0
fi
rm -f "$out/kernel-doc.tmp"
echo "no scripts/kernel-doc: neither in $cache/src/*/ nor in /usr/src/linux-source-*.tar.xz" >&2
exit 1
