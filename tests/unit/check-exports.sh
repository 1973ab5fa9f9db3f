#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# check-exports.sh NM LIB [API_MD]: every defined dynamic symbol is
# vni_* @VNI_0.1 and, with API_MD (docs/api.md), has its own section there
# ("### vni_name()"), whichever public header (util.h too) declares it.
set -eu
nm=$1
lib=$2
api=${3:-}
syms=$("$nm" -D --defined-only --with-symbol-versions "$lib" | awk '{print $3}')
[ -n "$syms" ] || { echo "no symbols in $lib"; exit 1; }
bad=$(printf '%s\n' "$syms" | grep -v '^vni_[A-Za-z0-9_]*@@VNI_0\.1$' | grep -v '^VNI_0\.1\(@@VNI_0\.1\)\{0,1\}$' || true)
if [ -n "$bad" ]; then
	echo "unexpected exports:"; printf '%s\n' "$bad"; exit 1
fi
if [ -n "$api" ]; then
	undoc=$(printf '%s\n' "$syms" | sed -n 's/^\(vni_[A-Za-z0-9_]*\)@@VNI_0\.1$/\1/p' |
		while read -r s; do grep -qx "### $s()" "$api" || echo "$s"; done)
	if [ -n "$undoc" ]; then
		echo "exported but not documented in $api:"; printf '%s\n' "$undoc"; exit 1
	fi
fi
echo "$(printf '%s\n' "$syms" | grep -c '^vni_') vni_* symbols exported, all @VNI_0.1${api:+, all documented}"
