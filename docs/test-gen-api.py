#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Self-test of docs/gen-api.py: on copies of the real headers, a missing
kernel-doc comment, an undocumented or a misspelled parameter, a missing
Return: section and a changed comment must each make it fail; the real
headers must pass the lint. Prints TAP-like lines and 'N passed, N failed'."""

import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
GEN = os.path.join(HERE, "gen-api.py")
INC = os.path.join(HERE, "..", "include", "vfionoiommu")

passed = failed = 0


def run(include, *args):
    p = subprocess.run([sys.executable, GEN, "--include", include] + list(args),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return p.returncode, p.stdout + p.stderr


def check(cond, desc, out=""):
    global passed, failed
    if cond:
        passed += 1
        print("ok - " + desc)
    else:
        failed += 1
        print("not ok - " + desc)
        for ln in out.splitlines()[:20]:
            print("    | " + ln)


UMBRELLA = """/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvfionoiommu - test umbrella.
 */
#include <vfionoiommu/x.h>
"""

X_H = """/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvfionoiommu - a test header.
 */
#ifndef X_H
#define X_H

/**
 * vni_x_get() - read a thing
 * @ctx:   context
 * @value: output
 *
 * Return: 0, or -EINVAL for NULL arguments.
 */
int vni_x_get(struct vni_ctx *ctx, int *value);

/**
 * vni_x_reset() - forget everything
 * @ctx: context
 */
void vni_x_reset(struct vni_ctx *ctx);

#endif
"""


def tree(x_h):
    d = tempfile.mkdtemp(prefix="vni-gen-api-")
    with open(os.path.join(d, "vfionoiommu.h"), "w") as f:
        f.write(UMBRELLA)
    with open(os.path.join(d, "x.h"), "w") as f:
        f.write(x_h)
    return d


def main():
    with tempfile.TemporaryDirectory() as tmp:
        ref = os.path.join(tmp, "api.md")
        rc, out = run(INC, "--output", ref)
        check(rc == 0, "the real headers pass the lint", out)
        rc, out = run(INC, "--check", ref)
        check(rc == 0, "--check accepts a fresh api.md of the real headers", out)

        d = tree(X_H)
        try:
            rc, out = run(d, "--stdout")
            check(rc == 0 and "### vni_x_get()" in out and "- `value`: output" in out
                  and "**Returns:** 0, or -EINVAL for NULL arguments." in out,
                  "a well-documented header renders", out)
        finally:
            shutil.rmtree(d)

        cases = [
            ("int vni_x_get(struct vni_ctx *ctx, int *value);",
             "int vni_x_get(struct vni_ctx *ctx, int *value);\n\n"
             "int vni_x_undocumented(struct vni_ctx *ctx);",
             "vni_x_undocumented() has no kernel-doc comment",
             "a function without kernel-doc fails"),
            (" * @value: output\n", "",
             "parameter 'value' is not documented",
             "an undocumented parameter fails"),
            (" * @value: output\n", " * @val: output\n",
             "documents '@val'",
             "a documented parameter the prototype lacks fails"),
            (" * Return: 0, or -EINVAL for NULL arguments.\n", "",
             "vni_x_get(): no 'Return:' section",
             "a missing Return: section fails (void functions need none)"),
        ]
        for old, new, msg, desc in cases:
            d = tree(X_H.replace(old, new, 1))
            try:
                rc, out = run(d, "--stdout")
                check(rc == 1 and msg in out, desc, out)
            finally:
                shutil.rmtree(d)

        d = tree(X_H)
        ref2 = os.path.join(tmp, "x-api.md")
        try:
            rc, out = run(d, "--output", ref2)
            check(rc == 0, "--output of the test header", out)
        finally:
            shutil.rmtree(d)
        d = tree(X_H.replace("read a thing", "read a changed thing"))
        try:
            rc, out = run(d, "--check", ref2)
            check(rc == 1 and "is stale" in out and "changed thing" in out,
                  "--check fails on a stale api.md and shows the difference", out)
        finally:
            shutil.rmtree(d)

    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
