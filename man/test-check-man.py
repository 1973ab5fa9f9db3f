#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Self-test of man/check-man.py ('man-pages-checker', suite unit).

Takes the same arguments as check-man.py. Runs it on the real pages (must
pass), then on copies with one defect each, which must each make it fail
with the message that names the defect. Prints 'ok'/'not ok' lines and
'N passed, N failed'.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CHECK = os.path.join(HERE, "check-man.py")
passed = failed = 0


def check(cond, desc, out=""):
    global passed, failed
    if cond:
        passed += 1
        print("ok - " + desc)
    else:
        failed += 1
        print("not ok - " + desc)
        for ln in out.splitlines()[-20:]:
            print("    | " + ln)


def run(a, **over):
    v = dict(vars(a))
    v.update(over)
    cmd = [sys.executable, CHECK, "--man-src", v["man_src"], "--man3", v["man3"],
           "--kernel-doc", v["kernel_doc"], "--groff", v["groff"], "--nm", v["nm"],
           "--lib", v["lib"], "--headers"] + v["headers"]
    if v["exe_wrapper"] is not None:
        cmd += ["--exe-wrapper", v["exe_wrapper"]]
    if v["tools"]:
        cmd += ["--tools"] + v["tools"]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return p.returncode, p.stdout


def expect_fail(a, desc, needle, **over):
    rc, out = run(a, **over)
    check(rc == 1 and needle in out, "%s: fails, naming it" % desc, out)


def edit(path, old, new, count=1):
    with open(path) as f:
        text = f.read()
    if old not in text:
        sys.exit("test set-up: %r not in %s" % (old, path))
    with open(path, "w") as f:
        f.write(text.replace(old, new, count))


def main():
    ap = argparse.ArgumentParser()
    for o in ("--man-src", "--man3", "--kernel-doc", "--groff", "--nm", "--lib"):
        ap.add_argument(o, default="")
    ap.add_argument("--headers", nargs="+", default=[])
    ap.add_argument("--tools", nargs="*", default=[])
    ap.add_argument("--exe-wrapper", default=None)
    a = ap.parse_args()

    rc, out = run(a)
    check(rc == 0, "the real pages pass", out)

    with tempfile.TemporaryDirectory() as tmp:
        # section 3: a missing page, a page groff warns about, none built
        m3 = os.path.join(tmp, "man3")
        shutil.copytree(a.man3, m3)
        os.remove(os.path.join(m3, "vni_dma_map.3"))
        expect_fail(a, "no page for vni_dma_map", "exported symbol vni_dma_map has no", man3=m3)
        shutil.rmtree(m3)
        shutil.copytree(a.man3, m3)
        with open(os.path.join(m3, "vni_ctx_new.3"), "a") as f:
            f.write(".XYZZY undefined macro\n")
        expect_fail(a, "undefined macro in vni_ctx_new.3", "vni_ctx_new.3", man3=m3)
        shutil.rmtree(m3)
        shutil.copytree(a.man3, m3)
        edit(os.path.join(m3, "vni_dma_seg.3type"), "\n.SH NAME\nvni_dma_seg ",
             "\n.SH NAME\nstruct vni_dma_seg ")
        expect_fail(a, "NAME line whatis cannot parse", "(whatis)", man3=m3)
        expect_fail(a, "section 3 not built", "section 3 pages were not built", man3="")

        # kernel-doc lint: an undocumented parameter
        hdr = os.path.join(tmp, "dma.h")
        src_hdr = [h for h in a.headers if os.path.basename(h) == "dma.h"][0]
        shutil.copy(src_hdr, hdr)
        edit(hdr, " * @nsegs:", " * nsegs:")
        headers = [hdr if h == src_hdr else h for h in a.headers]
        expect_fail(a, "undocumented @nsegs", "nsegs", headers=headers)

        # sections 7 and 8
        ms = os.path.join(tmp, "src")

        def fresh_src():
            shutil.rmtree(ms, ignore_errors=True)
            shutil.copytree(a.man_src, ms, ignore=shutil.ignore_patterns("*.py", "*.sh"))

        if a.tools:
            fresh_src()
            os.remove(os.path.join(ms, "man8", "vni-inspect.8"))
            expect_fail(a, "no page for vni-inspect", "tool vni-inspect has no manual page",
                        man_src=ms)
            fresh_src()
            # every mention of the option gone
            edit(os.path.join(ms, "man8", "vni-list.8"), "\\-\\-json", "", count=-1)
            expect_fail(a, "vni-list.8 without --json", "does not describe --json",
                        man_src=ms)
            fresh_src()
            edit(os.path.join(ms, "man8", "vni-list.8"), ".B \\-\\-vfio\n",
                 ".B \\-\\-vfio\n.TP\n.B \\-\\-no\\-such\\-option\nnothing\n")
            expect_fail(a, "vni-list.8 with an option the tool lacks", "names --no-such-option",
                        man_src=ms)
            fresh_src()
            edit(os.path.join(ms, "man8", "vni-bind.8"), "\\-\\-enable\\-noiommu",
                 "\\-\\-enable\\-noiommu-typo")
            expect_fail(a, "vni-unbind.8 (.so) follows vni-bind.8's typo", "vni-unbind.8 names",
                        man_src=ms)
        fresh_src()
        os.remove(os.path.join(ms, "man7", "libvfionoiommu.7"))
        expect_fail(a, "no libvfionoiommu.7", "libvfionoiommu.7 is missing", man_src=ms)
        fresh_src()
        edit(os.path.join(ms, "man7", "libvfionoiommu.7"), ".SH FLOW", ".SH FLOW\n.ft ZZ")
        expect_fail(a, "bad font in libvfionoiommu.7", "libvfionoiommu.7", man_src=ms)

    expect_fail(a, "groff missing", "groff not found", groff="")

    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
