# SPDX-License-Identifier: LGPL-2.1-or-later
"""The NVMe image of the cross-check test (host side, stdlib only).

run_vm() (tests/vm/vnivm.py) uses this for the 'nvme-pattern' device: the
64 MiB image QEMU's nvme device is backed by is filled with the host
pattern before the VM starts; the guest announces every range it (or the
guest kernel) wrote with a console line

    vni-nvme-image: wrote SECTOR COUNT seed SEED

and after the VM has exited every byte of the image must be the pattern of
its 512-byte sector with the seed of the last announced write covering it,
or the host seed. Sector format (the same as nvme-pattern.c in the guest):
bytes 0-7 "VNINVME1", 8-15 the sector number, 16-23 the seed (both little
endian), then byte j of the remaining 488 is (j + 7 * sector + 13 * seed)
mod 256.
"""

import re
import struct

SECTOR = 512
SIZE = 64 << 20
HOST_SEED = 0x4E564D45  # nvme-xcheck.sh knows it too
MAGIC = b"VNINVME1"
_RAMP = bytes(range(256)) * 3
_WROTE_RE = re.compile(r"vni-nvme-image: wrote (\d+) (\d+) seed (0x[0-9a-fA-F]+|\d+)\s*$")


def sector(n, seed):
    off = (7 * n + 13 * seed) & 0xFF
    return MAGIC + struct.pack("<QQ", n, seed) + _RAMP[off:off + SECTOR - 24]


def describe(data):
    """What a 512-byte sector holds, for error messages."""
    if data[:8] == MAGIC:
        n, seed = struct.unpack("<QQ", data[8:24])
        return "pattern of sector %d seed %#x%s" % (
            n, seed, "" if data == sector(n, seed) else " (damaged)")
    if data == bytes(SECTOR):
        return "zeros"
    return "unknown data %s..." % data[:16].hex()


class PatternImage:
    def __init__(self):
        self.writes = []        # (start, count, seed) in console order

    def fill(self, path):
        nsect = SIZE // SECTOR
        with open(path, "wb") as f:
            for base in range(0, nsect, 2048):
                f.write(b"".join(sector(n, HOST_SEED) for n in range(base, base + 2048)))

    def feed(self, line):
        m = _WROTE_RE.search(line)
        if m:
            self.writes.append((int(m.group(1)), int(m.group(2)), int(m.group(3), 0)))

    def check(self, path):
        """None if the image is as announced, else a one-line reason."""
        nsect = SIZE // SECTOR
        seeds = {}
        for start, count, seed in self.writes:
            if start + count > nsect:
                return "announced write %d+%d is beyond the image" % (start, count)
            for n in range(start, start + count):
                seeds[n] = seed
        with open(path, "rb") as f:
            data = f.read()
        if len(data) != SIZE:
            return "image is %d bytes, not %d" % (len(data), SIZE)
        bad = 0
        first = None
        for n in range(nsect):
            got = data[n * SECTOR:(n + 1) * SECTOR]
            want_seed = seeds.get(n, HOST_SEED)
            if got != sector(n, want_seed):
                bad += 1
                if first is None:
                    first = "sector %d: expected the pattern with seed %#x, found %s" % (
                        n, want_seed, describe(got))
        if bad:
            return "%d of %d sectors differ; first: %s" % (bad, nsect, first)
        return None

    def summary(self):
        return "%d sectors in %d announced write(s)" % (
            len({n for s, c, _ in self.writes for n in range(s, s + c)}), len(self.writes))
