#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Harness self-test wrapper: runs run-vm-test and passes only when it
fails for the expected reason.

  expect-failure.py --reason REASON -- RUNNER ARGS...
"""
import argparse
import re
import subprocess
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reason", required=True)
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd
    if not cmd:
        ap.error("no runner command")
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         errors="replace")
    last = None
    for line in p.stdout:
        sys.stdout.write(line)
        if line.startswith("run-vm-test: PASS") or line.startswith("run-vm-test: FAIL"):
            last = line.strip()
    rc = p.wait()
    sys.stdout.flush()
    if rc == 0:
        print("expect-failure: FAIL: the runner passed (rc 0); expected reason=%s" % a.reason)
        return 1
    m = re.match(r"run-vm-test: FAIL reason=([\w-]+)", last or "")
    if not m:
        print("expect-failure: FAIL: runner exited %d without a reason line" % rc)
        return 1
    if m.group(1) != a.reason:
        print("expect-failure: FAIL: runner failed with reason=%s, expected reason=%s"
              % (m.group(1), a.reason))
        return 1
    print("expect-failure: PASS: runner failed as expected (reason=%s, rc %d)" % (a.reason, rc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
