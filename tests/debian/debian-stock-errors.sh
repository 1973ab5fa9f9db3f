#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# On Debian's stock 6.12 (vfio without no-IOMMU mode, no iommufd): the tools
# and the library fail clearly instead of half-working (edu at 00:04.0).
. /usr/bin/tools-vm-lib.sh
B=0000:00:04.0
t_run 0 "vni-list --json" vni-list --json
t_grep out "\"$B\"" "vni-list lists the edu device"
t_run 1 "vni-bind --enable-noiommu $B" vni-bind --enable-noiommu $B
t_grep err 'no VFIO no-IOMMU support' "vni-bind says the kernel has no no-IOMMU support"
t_grep err 'CONFIG_VFIO_NOIOMMU' "vni-bind names the missing option"
t_eq "$(t_driver $B)" "" "nothing bound after the refusal"
# The fix a Debian user needs.
t_grep err 'vfionoiommu-dkms' "vni-bind names the fix on Debian 12 (vfionoiommu-dkms)"
t_grep err 'Linux >= 7.3' "vni-bind names the kernel that has it (Linux >= 7.3)"
t_run 0 "vni-test-errors unpatched (library errors without iommufd)" vni-test-errors unpatched
t_finish
