#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""iommufd selftests, unpatched vs patched kernel.

Runs the kernel's own iommufd selftests (static binaries that
scripts/build-kernel.sh put in <kernels>/<flavour>/selftests/) in QEMU on
each flavour (default: vanilla and group) through run-vm-test, and passes
only if the per-case results (ok / not ok / skip per test name) are
identical. Cases that fail on every flavour are listed, not held against
the series: the criterion is "the series changes nothing here".

Timing under TCG (2 vCPUs on a busy 2-core host): iommufd (190 cases)
takes about 35 s in the guest, iommufd_fail_nth (7 cases) about 5 s when
the kernel has fault injection (FAILSLAB + FAULT_INJECTION_DEBUG_FS;
without them its 7 cases SKIP, identically on both kernels). Both are run.

  compare.py --runner tests/vm/run-vm-test --initramfs X --kernels DIR
             [--flavours vanilla,group] [--tests iommufd,iommufd_fail_nth] [--timeout N]
             [--log-dir DIR] [--hugepages N]
"""

import argparse
import os
import re
import subprocess
import sys

TAP_RE = re.compile(r"^(not ok|ok) (\d+) (\S+)(?:\s+#\s*(SKIP|XFAIL|XPASS|TODO)\b.*)?")


def guest_command(tests):
    lines = []
    for t in tests:
        lines += [
            "if [ ! -x /selftests/%s ]; then echo 'selftest %s missing from the kernel "
            "directory'; exit 1; fi" % (t, t),
            "echo 'VNI-SELFTEST-BEGIN %s'" % t,
            "start=$(cut -d. -f1 /proc/uptime)",
            "/selftests/%s 2>&1 | tee /tmp/%s.out" % (t, t),
            "echo \"VNI-SELFTEST-END %s ($(( $(cut -d. -f1 /proc/uptime) - start )) s)\"" % t,
            # A clean copy of the result lines (the streamed one can have
            # kernel messages interleaved).
            "echo 'VNI-TAP-BEGIN %s'" % t,
            "grep -E '^(not )?ok [0-9]+ |^# Totals' /tmp/%s.out" % t,
            "echo 'VNI-TAP-END %s'" % t,
        ]
    lines.append("exit 0")
    return "\n".join(lines)


def parse_log(path, tests):
    """{test: {case: result}} and {test: totals line} from a console log."""
    results = {t: {} for t in tests}
    totals = {}
    cur = None
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            m = re.match(r"VNI-TAP-(BEGIN|END) (\S+)", line)
            if m:
                cur = m.group(2) if m.group(1) == "BEGIN" else None
                continue
            if cur is None:
                continue
            if line.startswith("# Totals"):
                totals[cur] = line
                continue
            m = TAP_RE.match(line)
            if m:
                res = m.group(1)
                if m.group(4):
                    res = m.group(4).lower()
                results[cur][m.group(3)] = res
    return results, totals


def elapsed(path):
    """{test: seconds} from the VNI-SELFTEST-END lines of a console log."""
    out = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = re.search(r"VNI-SELFTEST-END (\S+) \((\d+) s\)", line)
            if m:
                out[m.group(1)] = int(m.group(2))
    return out


def has_fault_injection(kernel_dir):
    """True when the flavour's config has what iommufd_fail_nth needs."""
    want = {"CONFIG_FAULT_INJECTION_DEBUG_FS=y", "CONFIG_FAILSLAB=y"}
    try:
        with open(os.path.join(kernel_dir, "config"), encoding="utf-8") as f:
            have = {line.strip() for line in f}
    except OSError:
        return False
    return want <= have


def counts(res):
    c = {}
    for r in res.values():
        c[r] = c.get(r, 0) + 1
    return ", ".join("%d %s" % (c[k], k) for k in sorted(c))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runner", required=True)
    ap.add_argument("--initramfs", required=True)
    ap.add_argument("--kernels", required=True)
    ap.add_argument("--flavours", default="vanilla,group")
    ap.add_argument("--tests", default="iommufd,iommufd_fail_nth")
    ap.add_argument("--timeout", type=int, default=1200)
    ap.add_argument("--log-dir", default=".")
    ap.add_argument("--hugepages", type=int, default=80,
                    help="2 MiB pages for the hugepage variants (the largest needs 64)")
    ap.add_argument("--python", default=sys.executable)
    a = ap.parse_args()
    flavours = a.flavours.split(",")
    tests = a.tests.split(",")

    per_flavour = {}
    for fl in flavours:
        name = "iommufd-selftests@" + fl
        cmd = [a.python, a.runner, "--kernel-dir", os.path.join(a.kernels, fl),
               "--initramfs", a.initramfs, "--cmd", guest_command(tests),
               "--timeout", str(a.timeout), "--log-dir", a.log_dir, "--name", name,
               "--hugepages", str(a.hugepages)]
        print("compare: running the selftests on %s" % fl, flush=True)
        p = subprocess.run(cmd)
        log = os.path.join(a.log_dir, name + ".console.log")
        if p.returncode != 0:
            print("compare: FAIL: the run on %s failed (see the runner's reason above)" % fl)
            return 1
        results, totals = parse_log(log, tests)
        secs = elapsed(log)
        for t in tests:
            if not results[t]:
                print("compare: FAIL: no TAP results for %s on %s (log %s)" % (t, fl, log))
                return 1
            print("compare: %s on %s: %d cases: %s%s, %s s in the guest" % (
                t, fl, len(results[t]), counts(results[t]),
                ("; " + totals[t]) if t in totals else "", secs.get(t, "?")))
            if all(r == "skip" for r in results[t].values()):
                if t == "iommufd_fail_nth" and has_fault_injection(
                        os.path.join(a.kernels, fl)):
                    # The config has fault injection: a skip means the test
                    # did not run (debugfs missing, or the harness broke).
                    print("compare: FAIL: every iommufd_fail_nth case SKIPs on %s although "
                          "its config has FAULT_INJECTION_DEBUG_FS and FAILSLAB" % fl)
                    return 1
                print("compare: note: every %s case SKIPs on %s%s" % (
                    t, fl, " (no fault injection: the kernel needs CONFIG_FAILSLAB and "
                    "CONFIG_FAULT_INJECTION_DEBUG_FS)" if t == "iommufd_fail_nth" else ""))
        per_flavour[fl] = results

    ok = True
    base = flavours[0]
    for t in tests:
        ref = per_flavour[base][t]
        for fl in flavours[1:]:
            other = per_flavour[fl][t]
            diffs = []
            for case in sorted(set(ref) | set(other)):
                r1, r2 = ref.get(case, "missing"), other.get(case, "missing")
                if r1 != r2:
                    diffs.append("  %s: %s on %s, %s on %s" % (case, r1, base, r2, fl))
            if diffs:
                ok = False
                print("compare: %s: %d case(s) differ between %s and %s:" % (
                    t, len(diffs), base, fl))
                print("\n".join(diffs))
            else:
                print("compare: %s: all %d cases identical on %s and %s" % (
                    t, len(ref), base, fl))
        allfail = sorted(c for c in ref
                         if all(per_flavour[fl][t].get(c) == "not ok" for fl in flavours))
        if allfail:
            print("compare: %s: %d case(s) fail on every flavour (%s): %s" % (
                t, len(allfail), ", ".join(flavours), " ".join(allfail)))
    print("compare: %s" % ("PASS: identical results" if ok else "FAIL: results differ"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
