#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Builds the guest initramfs (gzip'ed newc cpio) for the QEMU tests.

  mkinitramfs.py --output OUT --init INIT --busybox BUSYBOX [--strip] PROGRAM...

Contents: busybox (applet links are made by /init at boot), /init, every
PROGRAM in /usr/bin (ELF programs and scripts alike, mode 0755), and every
shared library the ELF programs load, as resolved by the dynamic loader
(ldd): libraries go to /lib/x86_64-linux-gnu, which is on the dynamic
loader's built-in search path (no LD_LIBRARY_PATH needed, so it also works
for programs run with file capabilities or setuid, where the loader ignores
LD_LIBRARY_PATH), the loader itself to the path the programs ask for
(PT_INTERP).
"""

import argparse
import gzip
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
from vnivm import CpioWriter  # noqa: E402

LIBDIR = "/lib/x86_64-linux-gnu"  # Debian's ld.so system search path


def is_elf(path):
    with open(path, "rb") as f:
        return f.read(4) == b"\x7fELF"


def shared_libs(path):
    """[(guest path, host path)] of the libraries and loader `path` needs."""
    p = subprocess.run(["ldd", path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, env=dict(os.environ, LC_ALL="C"))
    out = p.stdout
    if "not a dynamic executable" in out or "statically linked" in out:
        return []
    if p.returncode != 0:
        raise SystemExit("mkinitramfs: ldd %s failed:\n%s" % (path, out))
    libs = []
    for line in out.splitlines():
        line = line.strip()
        m = re.match(r"(\S+) => (.*) \(0x[0-9a-f]+\)$", line)
        if m:
            name, host = m.group(1), m.group(2)
            libs.append((LIBDIR + "/" + os.path.basename(name), host))
            continue
        if "=> not found" in line:
            raise SystemExit("mkinitramfs: %s: library not found: %s" % (path, line))
        m = re.match(r"(/\S+) \(0x[0-9a-f]+\)$", line)
        if m:  # the dynamic loader, at the path the program asks for
            libs.append((m.group(1), m.group(1)))
    return libs


def read_maybe_stripped(path, strip, tmpdir):
    if strip and is_elf(path):
        out = os.path.join(tmpdir, "s")
        r = subprocess.run(["strip", "--strip-debug", "-o", out, path],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if r.returncode == 0:
            with open(out, "rb") as f:
                return f.read()
    with open(path, "rb") as f:
        return f.read()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--output", required=True)
    ap.add_argument("--init", required=True)
    ap.add_argument("--busybox", required=True)
    ap.add_argument("--strip", action="store_true", help="strip debug info from ELF files")
    ap.add_argument("programs", nargs="*")
    a = ap.parse_args()

    cp = CpioWriter()
    for d in ("/bin", "/sbin", "/usr/bin", "/usr/sbin", LIBDIR, "/etc", "/proc", "/sys",
              "/dev", "/tmp", "/run", "/root", "/mnt", "/var"):
        cp.add_dir(d)
    cp.add_chardev("/dev/console", 5, 1)
    cp.add_chardev("/dev/null", 1, 3, 0o666)
    cp.add_file("/etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n")
    cp.add_file("/etc/group", b"root:x:0:\n")

    libs = {}
    sizes = []
    with tempfile.TemporaryDirectory() as tmp:
        def add_prog(guest, host):
            data = read_maybe_stripped(host, a.strip, tmp)
            cp.add_file(guest, data, 0o755)
            sizes.append((guest, len(data)))
            if is_elf(host):
                for g, h in shared_libs(host):
                    libs.setdefault(g, h)

        add_prog("/bin/busybox", a.busybox)
        with open(a.init, "rb") as f:
            cp.add_file("/init", f.read(), 0o755)
        seen = set()
        for prog in a.programs:
            name = os.path.basename(prog)
            if name in seen:
                raise SystemExit("mkinitramfs: two guest programs named %s" % name)
            seen.add(name)
            add_prog("/usr/bin/" + name, prog)
        for guest, host in sorted(libs.items()):
            data = read_maybe_stripped(os.path.realpath(host), a.strip, tmp)
            cp.add_file(guest, data, 0o755)
            sizes.append((guest, len(data)))

    raw = cp.getvalue()
    gz = gzip.compress(raw, compresslevel=9, mtime=0)
    tmp_out = a.output + ".tmp"
    with open(tmp_out, "wb") as f:
        f.write(gz)
    os.replace(tmp_out, a.output)
    print("mkinitramfs: %s: %d KiB (%d KiB uncompressed), %d programs, %d libraries"
          % (a.output, len(gz) // 1024, len(raw) // 1024, len(a.programs), len(libs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
