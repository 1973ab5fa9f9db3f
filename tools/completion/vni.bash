# SPDX-License-Identifier: LGPL-2.1-or-later
# Bash completion for the libvfionoiommu tools: options, PCI addresses,
# drivers, and the values of options that take a fixed set. Installed once
# per tool name into bash-completion's completionsdir (loaded on demand);
# each copy registers all tools. Plain bash: no bash-completion helpers
# needed. Sysfs is read under ${VNI_SYSFS_ROOT:-/sys}, as the tools do.

# PCI addresses in sysfs
_vni_bdfs()
{
	local d
	for d in "${VNI_SYSFS_ROOT:-/sys}"/bus/pci/devices/*; do
		[[ -e $d ]] && printf '%s\n' "${d##*/}"
	done
}

# PCI drivers in sysfs, and "none"
_vni_drivers()
{
	local d
	for d in "${VNI_SYSFS_ROOT:-/sys}"/bus/pci/drivers/*; do
		[[ -e $d ]] && printf '%s\n' "${d##*/}"
	done
	echo none
}

# Hugepage sizes the kernel offers, as vni-hugepages takes them (2M, 1G)
_vni_hugepage_sizes()
{
	local d kb
	for d in "${VNI_SYSFS_ROOT:-/sys}"/kernel/mm/hugepages/hugepages-*kB; do
		[[ -e $d ]] || continue
		kb=${d##*/hugepages-}
		kb=${kb%kB}
		if (( kb % 1048576 == 0 )); then
			echo "$((kb / 1048576))G"
		elif (( kb % 1024 == 0 )); then
			echo "$((kb / 1024))M"
		else
			echo "${kb}K"
		fi
	done
}

# NUMA nodes with hugepage pools
_vni_nodes()
{
	local d
	for d in "${VNI_SYSFS_ROOT:-/sys}"/devices/system/node/node*/hugepages; do
		[[ -e $d ]] || continue
		d=${d%/hugepages}
		printf '%s\n' "${d##*/node}"
	done
}

# _vni_complete OPTIONS: sets cur and prev, and eq=1 when cur is the value
# of an "--opt=value" word (which arrives split at "=": prev is then the
# option); when cur is an option, completes it from OPTIONS and returns 0.
_vni_complete()
{
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=
	eq=
	(( COMP_CWORD > 0 )) && prev=${COMP_WORDS[COMP_CWORD - 1]}
	if [[ $cur == = ]]; then
		cur=
		eq=1
	elif [[ $prev == = ]] && (( COMP_CWORD > 1 )); then
		prev=${COMP_WORDS[COMP_CWORD - 2]}
		eq=1
	fi
	if [[ -z $eq && $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$1" -- "$cur"))
		return 0
	fi
	return 1
}

# _vni_words WORDS...: complete cur from WORDS
_vni_words()
{
	COMPREPLY=($(compgen -W "$*" -- "$cur"))
}

_vni_list()
{
	local cur prev eq
	_vni_complete '-d --device -c --class -s --slot -k --driver --vfio --noiommu
		-j --json -b --bdf-only -H --no-header -v --verbose -h --help -V --version' && return
	case $prev in
	-d | --device) return ;;
	-c | --class) _vni_words 01 0106 0108 02 0200 03 04 06 0c 0c03 ff ;;
	-s | --slot) _vni_words "$(_vni_bdfs)" ;;
	-k | --driver) _vni_words "$(_vni_drivers)" ;;
	*) COMPREPLY=() ;;
	esac
}

_vni_bind()
{
	local cur prev eq
	_vni_complete '-u --unbind -n --enable-noiommu -f --force --check --dry-run
		-D --driver -w --wait -q --quiet -v --verbose -h --help -V --version' && return
	case $prev in
	-D | --driver) _vni_words "$(_vni_drivers)" ;;
	-w | --wait) _vni_words 5 10 30 60 ;;
	*) _vni_words "$(_vni_bdfs)" ;;
	esac
}

_vni_inspect()
{
	local cur prev eq
	_vni_complete '-x --hexdump -j --json -v --verbose -h --help -V --version' && return
	case $prev in
	-x | --hexdump) _vni_words 64 256 4096 ;;
	*) _vni_words "$(_vni_bdfs)" ;;
	esac
}

_vni_translate()
{
	local cur prev eq
	_vni_complete '-s --size --huge --small -u --user -o --offset -l --length -p --pages
		--verify -n --no-device -j --json -v --verbose -h --help -V --version' && return
	case $prev in
	-s | --size) _vni_words 4K 64K 1M 2M 4M ;;
	-o | --offset | -l | --length) COMPREPLY=() ;;
	*) _vni_words "$(_vni_bdfs)" ;;
	esac
}

_vni_monitor()
{
	local cur prev eq
	_vni_complete '-s --source -j --json -h --help -V --version' && return
	case $prev in
	-s | --source) _vni_words kernel udev ;;
	*) COMPREPLY=() ;;
	esac
}

_vni_hugepages()
{
	local cur prev eq i cmd=
	_vni_complete '-p --pagesize -n --node -m --mount -j --json -h --help -V --version' && return
	# --mount's DIR is optional and only ever given as --mount=DIR
	if [[ $prev == --mount && -n $eq ]]; then
		COMPREPLY=($(compgen -d -- "$cur"))
		return
	fi
	case $prev in
	-p | --pagesize) _vni_words "$(_vni_hugepage_sizes)"; return ;;
	-n | --node) _vni_words "$(_vni_nodes)"; return ;;
	esac
	for (( i = 1; i < COMP_CWORD; i++ )); do
		case ${COMP_WORDS[i]} in
		show | reserve | release) cmd=${COMP_WORDS[i]} ;;
		esac
	done
	if [[ -z $cmd ]]; then
		_vni_words show reserve release
	else
		COMPREPLY=()  # reserve COUNT: a number
	fi
}

complete -F _vni_list vni-list
complete -F _vni_bind vni-bind vni-unbind
complete -F _vni_inspect vni-inspect
complete -F _vni_translate vni-translate
complete -F _vni_monitor vni-monitor
complete -F _vni_hugepages vni-hugepages
