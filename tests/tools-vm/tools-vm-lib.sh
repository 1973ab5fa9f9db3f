# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Shared helpers of the tools' VM tests (sourced: . /usr/bin/tools-vm-lib.sh).
# Each check prints "ok - ..." or "not ok - ..." with the output it saw;
# finish prints "N passed, N failed" and exits 1 if anything failed.

T_PASS=0
T_FAIL=0
T_OUT=/tmp/tools-vm.out
T_ERR=/tmp/tools-vm.err

t_ok() { T_PASS=$((T_PASS + 1)); echo "ok - $*"; }
t_notok() {
	T_FAIL=$((T_FAIL + 1))
	echo "not ok - $*"
	[ -s "$T_OUT" ] && sed 's/^/    out| /' "$T_OUT"
	[ -s "$T_ERR" ] && sed 's/^/    err| /' "$T_ERR"
	return 1
}
t_note() { echo "# $*"; }

# t_run RC DESCRIPTION CMD...: run CMD (stdout in $T_OUT, stderr in $T_ERR),
# pass when it exits RC. Returns 0 on pass.
t_run() {
	_want=$1 _desc=$2
	shift 2
	echo "# \$ $*"
	"$@" >"$T_OUT" 2>"$T_ERR"
	_rc=$?
	sed 's/^/#   /' "$T_OUT" "$T_ERR"
	if [ "$_rc" = "$_want" ]; then
		t_ok "$_desc (exit $_rc)"
	else
		t_notok "$_desc: exit $_rc, expected $_want"
	fi
}

# t_grep out|err REGEX DESCRIPTION: the last t_run's output matches (grep -E)
t_grep() {
	_f=$T_OUT
	[ "$1" = err ] && _f=$T_ERR
	if grep -Eq -- "$2" "$_f"; then
		t_ok "$3"
	else
		t_notok "$3: /$2/ not found in std$1"
	fi
}

# t_nogrep out|err REGEX DESCRIPTION: the last t_run's output does not match
t_nogrep() {
	_f=$T_OUT
	[ "$1" = err ] && _f=$T_ERR
	if grep -Eq -- "$2" "$_f"; then
		t_notok "$3: /$2/ found in std$1"
	else
		t_ok "$3"
	fi
}

# t_eq ACTUAL EXPECTED DESCRIPTION
t_eq() {
	if [ "$1" = "$2" ]; then
		t_ok "$3"
	else
		echo "#   got:      '$1'"
		echo "#   expected: '$2'"
		T_FAIL=$((T_FAIL + 1))
		echo "not ok - $3"
	fi
}

# Driver bound to a PCI device ("" when none)
t_driver() {
	if [ -e "/sys/bus/pci/devices/$1/driver" ]; then
		basename "$(readlink "/sys/bus/pci/devices/$1/driver")"
	fi
}

# t_wait FILE REGEX DESCRIPTION: wait until a line of FILE (written by a
# program in the background) matches; fails after 60 s. The bound is for a
# missing line, not a delay the check depends on.
t_wait() {
	_n=0
	while ! grep -Eq -- "$2" "$1" 2>/dev/null; do
		_n=$((_n + 1))
		if [ "$_n" -gt 300 ]; then
			echo "#   $1:"
			sed 's/^/#   | /' "$1" 2>/dev/null
			T_FAIL=$((T_FAIL + 1))
			echo "not ok - $3: /$2/ not in $1 within 60 s"
			return 1
		fi
		sleep 0.2
	done
	t_ok "$3"
}

# t_jq FILE FILTER DESCRIPTION: jq -e FILTER over the JSON values in FILE
# (slurped into one array) is true; a parse error fails too.
t_jq() {
	if jq -e -s "$2" "$1" >/dev/null 2>"$T_ERR"; then
		t_ok "$3"
	else
		echo "#   jq -s '$2' $1:"
		sed 's/^/#   | /' "$1" "$T_ERR"
		T_FAIL=$((T_FAIL + 1))
		echo "not ok - $3"
	fi
}

t_finish() {
	echo "$T_PASS passed, $T_FAIL failed"
	[ "$T_FAIL" = 0 ]
	exit $?
}
