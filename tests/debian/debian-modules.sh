#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# debian-modules.sh dkms|stock: in the guest booted on Debian's unmodified
# 6.12 kernel (tests/debian), check which VFIO modules are loaded.
#   dkms:  the six modules of vfionoiommu-dkms are the ones loaded (from
#          updates/dkms: out-of-tree, taint O), with no-IOMMU mode and
#          /dev/iommu; Debian's kvmgt refuses to load against them.
#   stock: Debian's own vfio is loaded (in-tree), without no-IOMMU mode or
#          iommufd; kvmgt loads (the control for the refusal above).
. /usr/bin/tools-vm-lib.sh
mode=${1:?usage: debian-modules.sh dkms|stock}
K=/lib/modules/$(uname -r)
P=/sys/module/vfio/parameters/enable_unsafe_noiommu_mode
t_note "kernel: $(cat /proc/version)"
case $(cat /proc/version) in *Debian*) t_ok "the kernel is Debian's" ;; *) t_notok "not Debian's kernel" ;; esac

taint() { cat "/sys/module/$1/taint" 2>/dev/null; }
if [ "$mode" = dkms ]; then
	for m in iommufd vfio vfio_iommu_type1 vfio-pci-core vfio-pci mdev; do
		s=$(echo "$m" | tr - _)
		modprobe "$m"
		t_eq "$?" 0 "modprobe $m"
		f=$(grep "^updates/dkms/$m\.ko[^:]*:" "$K/modules.dep" | cut -d: -f1)
		[ -n "$f" ] && t_ok "modules.dep resolves $m to $f" || t_notok "modules.dep does not resolve $m to updates/dkms"
		if [ -d "/sys/module/$s" ]; then t_ok "$s is loaded"; else t_notok "$s is not loaded"; fi
		case $(taint "$s") in *O*) t_ok "$s is the out-of-tree (DKMS) module (taint '$(taint "$s")')" ;;
			*) t_notok "$s is not out-of-tree (taint '$(taint "$s")'): Debian's module was loaded" ;; esac
	done
	[ -e "$P" ] && t_ok "$P exists (VFIO_NOIOMMU)" || t_notok "$P missing"
	[ -c /dev/iommu ] && t_ok "/dev/iommu exists (iommufd)" || t_notok "/dev/iommu missing"
	t_note "load order (first loaded first): $(awk '{ print $1 }' /proc/modules | sed -n '1!G;h;$p' | tr '\n' ' ')"
	# kvmgt was built against Debian's vfio: the kernel must refuse it.
	dmesg -c >/dev/null
	t_run 1 "modprobe kvmgt (Debian's, against our vfio)" modprobe kvmgt
	[ -d /sys/module/kvmgt ] && t_notok "kvmgt got loaded" || t_ok "kvmgt is not loaded"
	dmesg | grep 'disagrees about version of symbol' | sed 's/^/#   /'
	dmesg | grep -q 'kvmgt: disagrees about version of symbol' &&
		t_ok "the kernel refused kvmgt: symbol versions disagree" ||
		t_notok "no 'kvmgt: disagrees about version of symbol' in dmesg"
else
	[ -d /sys/module/vfio ] && t_ok "vfio is loaded" || t_notok "vfio is not loaded"
	case $(taint vfio) in *O*) t_notok "vfio is out-of-tree: not Debian's" ;; *) t_ok "vfio is Debian's own (in-tree)" ;; esac
	[ -e "$P" ] && t_notok "$P exists on the stock kernel" || t_ok "no no-IOMMU mode on the stock kernel"
	[ -e /dev/iommu ] && t_notok "/dev/iommu exists on the stock kernel" || t_ok "no /dev/iommu on the stock kernel"
	t_run 0 "modprobe kvmgt (control: loads with Debian's vfio)" modprobe kvmgt
	[ -d /sys/module/kvmgt ] && t_ok "kvmgt is loaded" || t_notok "kvmgt is not loaded"
fi
t_finish
