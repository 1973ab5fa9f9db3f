#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The 'man-pages' test: the manual pages are complete and clean.

  check-man.py --man-src DIR --man3 DIR --kernel-doc KD --groff GROFF
               --nm NM --lib LIB --headers H... [--exe-wrapper W] [--tools T...]

Fails (exit 1, one line per problem) when
  - section 3 was not built (--man3 '': kernel-doc was not found), or an
    exported symbol of LIB (nm -D) has no DIR/SYMBOL.3;
  - kernel-doc -none -Wall reports anything on a header (an undocumented
    parameter or return value, a misspelt parameter, bad syntax);
  - a tool has no man8/TOOL.8, or its page and its --help (run under W,
    qemu-user, in a cross build) disagree on the long options (one names
    an option the other lacks);
  - man7/libvfionoiommu.7 is missing;
  - groff -man -ww -z prints anything for any page (.so links resolved).
Empty paths (a program that was not found) are failures, not skips.
"""

import argparse
import glob
import os
import re
import subprocess
import sys

problems = []


def fail(msg):
    problems.append(msg)


def run(cmd, **kw):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def exported_symbols(nm, lib):
    p = run([nm, "-D", "--defined-only", lib])
    if p.returncode != 0:
        fail("%s -D %s failed: %s" % (nm, lib, p.stderr.strip()))
        return []
    syms = [ln.split()[-1] for ln in p.stdout.splitlines() if ln.split()]
    return sorted({s.split("@")[0] for s in syms if s.startswith("vni_")})


def page_source(path, root):
    """Text of a page, following one level of .so link (relative to root)."""
    with open(path) as f:
        text = f.read()
    m = re.match(r"\.so\s+(\S+)\s*$", text)
    if m:
        with open(os.path.join(root, m.group(1))) as f:
            text = f.read()
    return text


# the NAME line as whatis/lexgrog parse it: "name[, name...] \- summary"
WHATIS = re.compile(r"^[\w.\\-]+(, [\w.\\-]+)* \\- \S")


def name_check(root, rel):
    lines = page_source(os.path.join(root, rel), root).splitlines()
    for i, ln in enumerate(lines[:-1]):
        if ln.strip() == ".SH NAME":
            if not WHATIS.match(lines[i + 1]):
                fail("%s: NAME line %r is not \"name[, name] \\- summary\" (whatis)"
                     % (os.path.join(root, rel), lines[i + 1]))
            return
    fail("%s: no NAME section" % os.path.join(root, rel))


def groff_check(groff, root, rel):
    name_check(root, rel)
    # a page whose first line is '\" t asks for tbl, as man(1) honours
    with open(os.path.join(root, rel)) as f:
        tbl = f.readline().startswith("'\\\" t")
    p = run([groff, "-man", "-ww", "-z"] + (["-t"] if tbl else []) + [rel], cwd=root)
    out = (p.stdout + p.stderr).strip()
    if p.returncode != 0 or out:
        fail("groff -man -ww -z %s: exit %d %s" % (os.path.join(root, rel), p.returncode, out))


LONG_OPT = re.compile(r"(?<![\w-])--([a-z][a-z0-9-]*[a-z0-9])")


def check_tool(tool, man8, wrapper):
    name = os.path.basename(tool)
    page = os.path.join(man8, name + ".8")
    if not os.path.isfile(page):
        fail("tool %s has no manual page man/man8/%s.8" % (name, name))
        return
    p = run(wrapper + [tool, "--help"])
    if p.returncode != 0:
        fail("%s --help: exit %d" % (name, p.returncode))
        return
    helped = set(LONG_OPT.findall(p.stdout))
    roff = page_source(page, os.path.dirname(man8)).replace("\\-", "-")
    documented = set(LONG_OPT.findall(roff))
    for o in sorted(helped - documented):
        fail("man8/%s.8 does not describe --%s (in %s --help)" % (name, o, name))
    for o in sorted(documented - helped):
        fail("man8/%s.8 names --%s, which %s --help does not know" % (name, o, name))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--man-src", required=True)
    ap.add_argument("--man3", default="")
    ap.add_argument("--kernel-doc", default="")
    ap.add_argument("--groff", default="")
    ap.add_argument("--nm", default="")
    ap.add_argument("--lib", required=True)
    ap.add_argument("--headers", nargs="+", default=[])
    ap.add_argument("--tools", nargs="*", default=[])
    ap.add_argument("--exe-wrapper", default=None,
                    help="cross builds: run the tools with this (qemu-user)")
    a = ap.parse_args()
    src = a.man_src
    npages = 0

    if not a.groff:
        fail("groff not found (Debian package groff-base): pages cannot be checked")
    if not a.nm:
        fail("nm not found (binutils): exported symbols cannot be listed")

    # section 3
    if not a.man3:
        fail("section 3 pages were not built: the kernel's scripts/kernel-doc was not found "
             "(install linux-source-6.12, or configure with -Dkernel-doc=PATH)")
    else:
        pages3 = sorted(glob.glob(os.path.join(a.man3, "*.3")) +
                        glob.glob(os.path.join(a.man3, "*.3type")))
        npages += len(pages3)
        have = {os.path.basename(p)[:-2] for p in pages3 if p.endswith(".3")}
        syms = exported_symbols(a.nm, a.lib) if a.nm else []
        if a.nm and not syms:
            fail("no vni_* symbols exported by %s" % a.lib)
        for s in syms:
            if s not in have:
                fail("exported symbol %s has no section 3 page (a kernel-doc comment "
                     "\"%s() - ...\" in its header)" % (s, s))
        if a.groff:
            for p in pages3:
                groff_check(a.groff, a.man3, os.path.basename(p))
        print("section 3: %d pages (%d of types), %d exported symbols"
              % (len(pages3), sum(p.endswith(".3type") for p in pages3), len(syms)))

    # kernel-doc's own lint of every header
    if a.kernel_doc:
        for h in a.headers:
            p = run(["perl", a.kernel_doc, "-none", "-Wall", h])
            out = [ln for ln in (p.stdout + p.stderr).splitlines()
                   if "no structured comments found" not in ln]
            if p.returncode != 0 or out:
                fail("kernel-doc -none -Wall %s: exit %d\n  %s"
                     % (h, p.returncode, "\n  ".join(out)))

    # sections 7 and 8
    if not os.path.isfile(os.path.join(src, "man7", "libvfionoiommu.7")):
        fail("man/man7/libvfionoiommu.7 is missing")
    if a.exe_wrapper == "":
        fail("cross build without qemu-user: the tools' --help cannot be run")
    for t in a.tools:
        check_tool(t, os.path.join(src, "man8"), [a.exe_wrapper] if a.exe_wrapper else [])
    for sect in ("man7", "man8"):
        pages = sorted(glob.glob(os.path.join(src, sect, "*.[0-9]")))
        npages += len(pages)
        if a.groff:
            for p in pages:
                groff_check(a.groff, src, os.path.join(sect, os.path.basename(p)))
        print("%s: %s" % (sect, " ".join(os.path.basename(p) for p in pages)))

    for p in problems:
        print("FAIL: " + p)
    print("%d pages checked, %d problems" % (npages, len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
