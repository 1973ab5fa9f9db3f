/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvfionoiommu - helpers for tools and command lines.
 *
 * Not part of the core driver API: parsers and names that command line
 * programs (the vni-* tools, test and benchmark drivers) use to turn their
 * options into library arguments. A driver needs none of them. They are
 * exported from the same library and follow its conventions (negative
 * errno, vni_strerror_last()), but may change more freely than the core
 * API. The umbrella header <vfionoiommu/vfionoiommu.h> does not include
 * this one: include <vfionoiommu/util.h> explicitly.
 */
#ifndef VFIONOIOMMU_UTIL_H
#define VFIONOIOMMU_UTIL_H

#include <vfionoiommu/common.h>
#include <vfionoiommu/pci.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * vni_log_level_parse() - parse a log level name
 * @s:     "none", "error", "warn" (or "warning"), "info", "debug"
 *         (case-insensitive) or a single digit "0".."4"
 * @level: output
 *
 * Return: 0, or -EINVAL if @s or @level is NULL or @s is not a level.
 */
int vni_log_level_parse(const char *s, enum vni_log_level *level);

/**
 * vni_log_level_name() - name of a log level
 * @level: level
 *
 * Return: "none", "error", "warn", "info", "debug", or "?" when out of range.
 */
const char *vni_log_level_name(enum vni_log_level level);

/**
 * vni_pci_filter_parse_id() - fill a filter from "VVVV:DDDD" or "VVVV:"
 * @s:      vendor[:device] in hexadecimal, as lspci -d takes it
 *          ("8086:10d3", "1234:", "1234")
 * @filter: vendor (and device if given) are set and their flags added;
 *          other fields untouched
 *
 * Return: 0; -EINVAL on NULL arguments or a malformed string.
 */
int vni_pci_filter_parse_id(const char *s, struct vni_pci_filter *filter);

#ifdef __cplusplus
}
#endif

#endif /* VFIONOIOMMU_UTIL_H */
