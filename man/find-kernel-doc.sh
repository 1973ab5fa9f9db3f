#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# find-kernel-doc.sh OUTDIR: print the path of the kernel's scripts/kernel-doc.
# An unpacked Linux tree of the kernel build cache first, else the script
# extracted (once, into OUTDIR) from Debian's linux-source-6.12 tarball,
# which scripts/packages.txt installs. Exit 1 when neither exists.
set -eu
out=$1
cache=${VNI_CACHE_DIR:-/var/cache/libvfionoiommu}
for f in "$cache"/src/*/scripts/kernel-doc; do
	[ -f "$f" ] && { echo "$f"; exit 0; }
done
[ -s "$out/kernel-doc" ] && { echo "$out/kernel-doc"; exit 0; }
for t in /usr/src/linux-source-6.12.tar.xz /usr/src/linux-source-*.tar.xz; do
	[ -f "$t" ] || continue
	mkdir -p "$out"
	# the whole archive is decompressed to find one file: a few seconds
	if tar -xJf "$t" -O --wildcards '*/scripts/kernel-doc' >"$out/kernel-doc.tmp" 2>/dev/null &&
		[ -s "$out/kernel-doc.tmp" ]; then
		mv "$out/kernel-doc.tmp" "$out/kernel-doc"
		echo "$out/kernel-doc"
		exit 0
	fi
	rm -f "$out/kernel-doc.tmp"
done
echo "no scripts/kernel-doc: neither $cache/src/*/ nor /usr/src/linux-source-*.tar.xz" >&2
exit 1
