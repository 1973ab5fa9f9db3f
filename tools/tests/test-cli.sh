#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Host test of the tools' command lines: --help and --version, usage errors
# (exit 2, message + "Try ... --help"), failures (exit 1) with messages that
# say what to do, and vni-list on this machine's real PCI bus.
#
#   test-cli.sh /path/to/vni-list /path/to/vni-bind ... (any order)
#
# Prints one "ok"/"not ok" line per check and a summary line
# "N passed, N failed".
set -u

for t in "$@"; do
	case $(basename "$t") in
	vni-list) LIST=$t ;;
	vni-bind) BIND=$t ;;
	vni-unbind) UNBIND=$t ;;
	vni-inspect) INSPECT=$t ;;
	vni-translate) TRANSLATE=$t ;;
	vni-monitor) MONITOR=$t ;;
	vni-hugepages) HUGEPAGES=$t ;;
	esac
done
for v in LIST BIND UNBIND INSPECT TRANSLATE MONITOR HUGEPAGES; do
	eval "[ -n \"\${$v:-}\" ]" || { echo "test-cli.sh: missing tool $v" >&2; exit 1; }
done

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

# Cross builds (arm64 under qemu-user): run the tools through Meson's
# exe wrapper, which the tests get in MESON_EXE_WRAPPER.
if [ -n "${MESON_EXE_WRAPPER:-}" ]; then
	mkdir "$tmp/wrap" || exit 1
	for v in LIST BIND UNBIND INSPECT TRANSLATE MONITOR HUGEPAGES; do
		eval "t=\$$v"
		w=$tmp/wrap/$(basename "$t")
		printf '#!/bin/sh\nexec %s "%s" "$@"\n' "$MESON_EXE_WRAPPER" "$(realpath "$t")" >"$w"
		chmod +x "$w"
		eval "$v=\$w"
	done
fi
pass=0
fail=0

ok() { pass=$((pass + 1)); echo "ok - $*"; }
notok() { fail=$((fail + 1)); echo "not ok - $*"; sed 's/^/    | /' "$tmp/out" "$tmp/err"; }

# run EXPECTED_RC DESCRIPTION CMD...: runs CMD, output in $tmp/out, $tmp/err
run() {
	want=$1 desc=$2
	shift 2
	"$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ "$rc" = "$want" ]; then
		ok "$desc (exit $rc)"
		return 0
	fi
	notok "$desc: exit $rc, expected $want"
	return 1
}
# expect FILE REGEX DESCRIPTION
expect() {
	if grep -Eq -- "$2" "$tmp/$1"; then
		ok "$3"
	else
		notok "$3: /$2/ not in std$1"
	fi
}

for t in "$LIST" "$BIND" "$UNBIND" "$INSPECT" "$TRANSLATE" "$MONITOR" "$HUGEPAGES"; do
	n=$(basename "$t")
	run 0 "$n --help" "$t" --help && expect out '^Usage: ' "$n --help prints usage"
	expect out 'Exit status: 0 success' "$n --help documents exit codes"
	run 0 "$n --version" "$t" --version && expect out "^$n \\(libvfionoiommu\\) [0-9]+\\.[0-9]+\\.[0-9]+" "$n --version format"
	run 2 "$n --no-such-option" "$t" --no-such-option && expect err "Try '$n --help'" "$n: bad option hints at --help"
done

# vni-list
run 2 "vni-list -d bad" "$LIST" -d xyz && expect err 'is not VENDOR\[:DEVICE\]' "vni-list -d: says what is expected"
run 2 "vni-list -c bad" "$LIST" -c 123 && expect err 'is not 2, 4 or 6' "vni-list -c: says what is expected"
run 2 "vni-list -s bad" "$LIST" -s 00:99.0
run 2 "vni-list stray argument" "$LIST" 0000:00:04.0 && expect err 'use -s BDF' "vni-list: stray argument hint"
run 2 "vni-list --json --bdf-only" "$LIST" --json --bdf-only
if [ -d /sys/bus/pci/devices ] && [ -n "$(ls /sys/bus/pci/devices)" ]; then
	first=$(ls /sys/bus/pci/devices | sort | head -n 1)
	ven=$(cut -c3- "/sys/bus/pci/devices/$first/vendor")
	dev=$(cut -c3- "/sys/bus/pci/devices/$first/device")
	total=$(ls /sys/bus/pci/devices | wc -l)
	run 0 "vni-list" "$LIST" && expect out '^no-IOMMU mode: (enabled|disabled|unavailable)' "vni-list: mode line"
	expect out "^$first  $ven:$dev  " "vni-list: first device line"
	[ "$(grep -c '^[0-9a-f]\{4\}:' "$tmp/out")" = "$total" ] && ok "vni-list: one line per device ($total)" || notok "vni-list: line count != $total"
	run 0 "vni-list -b" "$LIST" -b
	[ "$(cat "$tmp/out")" = "$(ls /sys/bus/pci/devices | sort)" ] && ok "vni-list -b lists every device in order" || notok "vni-list -b differs from sysfs"
	run 0 "vni-list -s $first" "$LIST" -H -s "$first"
	[ "$(wc -l <"$tmp/out")" = 1 ] && expect out "^$first " "vni-list -s selects one device" || notok "vni-list -s: not one line"
	run 0 "vni-list -d $ven:$dev" "$LIST" -b -d "$ven:$dev" && expect out "^$first\$" "vni-list -d finds the device"
	run 0 "vni-list -d ffff:fffe (none)" "$LIST" -H -d ffff:fffe
	[ -s "$tmp/out" ] && notok "vni-list -d ffff:fffe printed something" || ok "vni-list: no match prints nothing"
	run 0 "vni-list --json" "$LIST" --json
	if command -v python3 >/dev/null 2>&1; then
		if python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["noiommu_mode"] in ("enabled", "disabled", "unavailable"), d
assert len(d["devices"]) == int(sys.argv[2]), len(d["devices"])
x = d["devices"][0]
assert x["bdf"] == sys.argv[3] and x["vendor"] == sys.argv[4] and x["device"] == sys.argv[5], x
for k in ("class", "class_name", "driver", "iommu_group", "noiommu", "vfio_cdev", "subsystem_vendor"):
    assert k in x, k
' "$tmp/out" "$total" "$first" "$ven" "$dev" 2>"$tmp/err"; then
			ok "vni-list --json is valid JSON with every device"
		else
			notok "vni-list --json content"
		fi
	fi
fi

# vni-bind / vni-unbind
run 2 "vni-bind without BDF" "$BIND" && expect err 'missing BDF' "vni-bind: missing BDF message"
run 2 "vni-bind bad BDF" "$BIND" eth0 && expect err 'is not a PCI address' "vni-bind: bad BDF message"
run 2 "vni-bind two BDFs" "$BIND" 00:04.0 00:05.0
run 2 "vni-bind --driver without --unbind" "$BIND" --driver e1000 00:04.0
run 2 "vni-unbind --check" "$UNBIND" --check 00:04.0
run 2 "vni-bind --wait bad" "$BIND" --wait x 00:04.0
run 1 "vni-bind absent device" "$BIND" --check 00:1f.7 && expect err '0000:00:1f.7' "vni-bind: names the absent device"
run 1 "vni-unbind absent device" "$UNBIND" 00:1f.7

# The safety check on this machine's real NIC, when the interface of the IPv4
# default route sits on a PCI device: binding it must be refused, with the
# default route named as the reason. Read-only (--check).
defif=$(awk 'NR > 1 && $2 == "00000000" && $8 == "00000000" { print $1; exit }' /proc/net/route 2>/dev/null)
if [ -n "$defif" ] && [ -e "/sys/class/net/$defif/device" ]; then
	nicdev=$(readlink -f "/sys/class/net/$defif/device")
	# walk up to the PCI function (virtio NICs hang below a virtioN device)
	while [ -n "$nicdev" ] && [ "$nicdev" != / ] &&
	      ! [ "$(readlink -f "$nicdev/subsystem" 2>/dev/null)" = /sys/bus/pci ]; do
		nicdev=$(dirname "$nicdev")
	done
	if [ "$(readlink -f "$nicdev/subsystem" 2>/dev/null)" = /sys/bus/pci ]; then
		nic=$(basename "$nicdev")
		run 1 "vni-bind --check $nic (NIC of $defif)" "$BIND" --check "$nic" &&
			expect err "refusing to take $nic" "vni-bind: refuses the NIC of the default route" &&
			expect err "interface $defif carries the IPv4 default route" "vni-bind: names the default route" &&
			expect err "interface $defif is administratively UP" "vni-bind: names the UP state"
		run 1 "vni-bind --dry-run $nic" "$BIND" --dry-run "$nic" &&
			expect err 'pass --force' "vni-bind: refusal says how to override"
	fi
fi

# vni-inspect / vni-translate
run 2 "vni-inspect without BDF" "$INSPECT"
run 2 "vni-inspect --hexdump 0" "$INSPECT" --hexdump 0 00:04.0
run 2 "vni-translate without BDF" "$TRANSLATE" && expect err 'or --no-device' "vni-translate: missing BDF message"
run 2 "vni-translate --huge --small" "$TRANSLATE" --huge --small 00:04.0
run 2 "vni-translate --size 0" "$TRANSLATE" --size 0 00:04.0
run 2 "vni-translate --no-device BDF" "$TRANSLATE" --no-device 00:04.0
if [ ! -e /dev/iommu ]; then
	# No iommufd on this host (the context sets up its backend with the
	# first device): the library's message must say why each call fails.
	run 1 "vni-inspect without the device" "$INSPECT" 00:1f.7 && expect err 'no PCI device' "vni-inspect: names the missing device"
	run 1 "vni-translate without a device" "$TRANSLATE" --no-device && expect err 'open a device' "vni-translate: says a device must be open"
fi

# vni-monitor / vni-hugepages (their behaviour: tools-hugepages on a fake
# sysfs tree, tools-monitor-* in QEMU)
run 2 "vni-monitor --source bad" "$MONITOR" --source nowhere && expect err 'neither kernel nor udev' "vni-monitor: names the sources"
run 2 "vni-monitor stray argument" "$MONITOR" extra
run 2 "vni-hugepages unknown command" "$HUGEPAGES" grow && expect err 'show, reserve, release' "vni-hugepages: lists the commands"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
