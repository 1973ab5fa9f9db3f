# SPDX-License-Identifier: LGPL-2.1-or-later
"""Host-only test of nvmeimage.py: the image check must accept exactly the
announced writes and catch stray, lost and misplaced ones."""

import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import nvmeimage as m  # noqa: E402


def put(path, n, data):
    with open(path, "r+b") as f:
        f.seek(n * m.SECTOR)
        f.write(data)


def main():
    failures = 0

    def expect(cond, what):
        nonlocal failures
        print("%s - %s" % ("ok" if cond else "not ok", what))
        failures += not cond

    with tempfile.TemporaryDirectory() as tmp:
        img = os.path.join(tmp, "nvme0.img")
        p = m.PatternImage()
        p.fill(img)
        expect(os.path.getsize(img) == m.SIZE, "fill makes 64 MiB")
        expect(p.check(img) is None, "untouched image passes")

        for n in range(1000, 1010):
            put(img, n, m.sector(n, 0x77))
        r = p.check(img)
        expect(r is not None and "10 of" in r and "sector 1000" in r,
               "unannounced write is caught: %s" % r)
        p.feed("vni-nvme-image: wrote 1000 10 seed 0x77")
        p.feed("noise vni-nvme-image: wrote 1 2 seed x")
        expect(p.check(img) is None, "announced write passes")

        p.feed("vni-nvme-image: wrote 5000 1 seed 0x99")
        r = p.check(img)
        expect(r is not None and "sector 5000" in r and "seed 0x4e564d45" in r,
               "lost write is caught: %s" % r)
        put(img, 5000, m.sector(5001, 0x99))
        r = p.check(img)
        expect(r is not None and "pattern of sector 5001" in r,
               "write to the wrong sector is caught: %s" % r)
        put(img, 5000, m.sector(5000, 0x99))
        expect(p.check(img) is None, "fixed")
        put(img, 7, bytes(m.SECTOR))
        r = p.check(img)
        expect(r is not None and "zeros" in r, "zeroed sector is caught: %s" % r)
        expect(p.summary() == "11 sectors in 2 announced write(s)", p.summary())
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
