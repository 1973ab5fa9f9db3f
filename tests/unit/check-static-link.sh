#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The static-link recipe of docs/usage.md, as written there, against this
# build's uninstalled pkg-config file: libvfionoiommu goes in statically,
# libudev (Debian ships no libudev.a) and libc stay shared.
#   check-static-link.sh UNINSTALLED_PC_DIR CC...
set -eu
export PKG_CONFIG_PATH=$1
shift
cc="$*"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/prog.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <vfionoiommu/vfionoiommu.h>
int main(void)
{
	struct vni_pci_addr a;

	if (vni_pci_addr_parse("0000:00:04.0", &a) != 0 || a.dev != 4)
		return 1;
	printf("%s\n", vni_version());
	return strcmp(vni_version(), VNI_VERSION_STRING) != 0;
}
C
# --- the recipe (docs/usage.md, "Building and linking") ---
$cc -o "$tmp/prog" "$tmp/prog.c" $(pkg-config --cflags --libs-only-L vfionoiommu) \
	-Wl,-Bstatic -lvfionoiommu -Wl,-Bdynamic $(pkg-config --libs libudev) -pthread \
	${VNI_EXTRA_LDFLAGS:-}
# --- (VNI_EXTRA_LDFLAGS: the sanitizer runtime of a sanitized build only)
"$tmp/prog"
if readelf -d "$tmp/prog" | grep -q 'libvfionoiommu'; then
	echo "FAIL: the program needs libvfionoiommu.so" >&2
	exit 1
fi
echo "static link recipe: ok (NEEDED: $(readelf -d "$tmp/prog" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | tr '\n' ' '))"
