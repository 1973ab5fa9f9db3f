#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Host-only unit test of the QEMU console scanner (tests/vm/vnivm.py):
canned console snippets with real problems (must be caught, with the right
reason) and normal boot lines that must not be flagged."""

import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import vnivm  # noqa: E402

NORMAL_BOOT = """\
[    0.000000] Linux version 6.12.57-vni (vni@vni) (gcc (Debian 12.2.0-14) 12.2.0) #1 SMP
[    0.000000] Command line: console=ttyS0 panic=-1 rdinit=/init
[    0.000000] Kernel command line: console=ttyS0 panic=-1 rdinit=/init hugepages=8
[    0.012000] kasan: KernelAddressSanitizer initialized (generic)
[    0.020000] Spectre V2 : Mitigation: Retpolines
[    0.021000] RETBleed: WARNING: Spectre v2 mitigation leaves CPU vulnerable to RETBleed attacks, data leaks possible!
[    0.030000] kmemleak: Kernel memory leak detector initialized (mem pool available: 15663)
[    0.031000] kmemleak: Automatic memory scanning thread started
[    0.400000] Run /init as init process
vni-init: start (6.12.57-vni)
[    1.100000] vfio-pci 0000:00:04.0: Adding kernel taint for vfio-noiommu group on device
[    1.100100] VFIO - User Level meta-driver version: 0.3
[    1.200000] lockdep: fixing up alternatives.
[    1.300000] Lock dependency validator: Copyright (c) 2006 Red Hat, Inc., Ingo Molnar
[    1.300100] ... MAX_LOCKDEP_SUBCLASSES:  8
[    1.400000] Freeing unused kernel image (initmem) memory: 1024K
[    1.500000] debug: unmapping init [mem 0xffffffff82000000-0xffffffff821fffff]
[    1.600000] clocksource: Switched to clocksource tsc
ok 1 - DMA round trip
ok 2 iommufd.simple_close
# PASSED: 2 / 2 tests passed.
VNI-VERDICT: PASS
[    9.000000] reboot: Power down
"""

OOPS = """\
[   12.345678] BUG: kernel NULL pointer dereference, address: 0000000000000008
[   12.345679] #PF: supervisor read access in kernel mode
[   12.345680] Oops: Oops: 0000 [#1] PREEMPT SMP
[   12.345681] CPU: 0 UID: 0 PID: 77 Comm: noiommu-getpa Not tainted 6.12.57-vni #1
[   12.345682] RIP: 0010:iommufd_ioas_noiommu_get_pa+0x20/0x80
[   12.345690] Call Trace:
"""

WARN = """\
[    5.000000] ------------[ cut here ]------------
[    5.000001] WARNING: CPU: 1 PID: 80 at drivers/iommu/iommufd/pages.c:123 iopt_pages_release+0x1/0x2
[    5.000002] Modules linked in:
[    5.000010] Call Trace:
[    5.000011]  <TASK>
[    5.000020] ---[ end trace 0000000000000000 ]---
"""

PANIC = """\
[    3.100000] Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000100
[    3.100001] CPU: 0 UID: 0 PID: 1 Comm: init Not tainted 6.12.57-vni #1
[    3.100002] Call Trace:
[    3.100003]  <TASK>
[    3.100010] Kernel Offset: disabled
"""

KASAN = """\
[    7.000000] ==================================================================
[    7.000001] BUG: KASAN: slab-use-after-free in iommufd_noiommu_unmap+0x40/0x100
[    7.000002] Read of size 8 at addr ffff888003a4b000 by task noiommu-getpa/90
"""

UBSAN = """\
[    7.000000] UBSAN: shift-out-of-bounds in drivers/iommu/iommufd/noiommu.c:42:17
"""

LOCKDEP = """\
[    8.000000] ======================================================
[    8.000001] WARNING: possible circular locking dependency detected
[    8.000002] 6.12.57-vni #1 Not tainted
"""

LOCKDEP2 = """\
[    8.000000] INFO: trying to register non-static key.
"""

KMEMLEAK = """\
unreferenced object 0xffff888004b2c000 (size 64):
  comm "noiommu-getpa", pid 91, jiffies 4294937296
  backtrace (crc 0):
"""

HUNG = """\
[  130.000000] INFO: task vni-test:95 blocked for more than 120 seconds.
"""

GPF = """\
[    4.000000] general protection fault, probably for non-canonical address 0xdead000000000100: 0000 [#1] SMP
"""


class ScannerTest(unittest.TestCase):
    def scan(self, text):
        return vnivm.ConsoleScanner().feed_text(text)

    def test_normal_boot_is_clean(self):
        s = self.scan(NORMAL_BOOT)
        self.assertEqual(s.findings, [])
        self.assertEqual(s.verdict, "PASS")
        self.assertTrue(s.init_started)
        self.assertEqual(s.reasons(), [])

    def test_each_benign_line(self):
        for line in NORMAL_BOOT.splitlines():
            self.assertIsNone(vnivm.classify_line(line), line)

    def primary(self, text, **kw):
        r = self.scan(NORMAL_BOOT.replace("VNI-VERDICT: PASS\n", text + "VNI-VERDICT: PASS\n"))
        reasons = r.reasons(**kw)
        self.assertTrue(reasons, text)
        return reasons[0][0], [x for x, _ in reasons]

    def test_oops(self):
        self.assertEqual(self.primary(OOPS)[0], "oops")
        self.assertIn("bug", self.primary(OOPS)[1])

    def test_warning(self):
        p, allr = self.primary(WARN)
        self.assertEqual(p, "warning")
        self.assertIn("call-trace", allr)

    def test_panic_wins(self):
        self.assertEqual(self.primary(PANIC)[0], "panic")
        self.assertEqual(self.primary(OOPS + PANIC)[0], "panic")

    def test_kasan(self):
        self.assertEqual(self.primary(KASAN)[0], "kasan")

    def test_ubsan(self):
        self.assertEqual(self.primary(UBSAN)[0], "ubsan")

    def test_lockdep(self):
        self.assertEqual(self.primary(LOCKDEP)[0], "lockdep")
        self.assertEqual(self.primary(LOCKDEP2)[0], "lockdep")

    def test_kmemleak(self):
        self.assertEqual(self.primary(KMEMLEAK)[0], "kmemleak")

    def test_hung_task(self):
        self.assertEqual(self.primary(HUNG)[0], "info")

    def test_gpf(self):
        self.assertEqual(self.primary(GPF)[0], "gpf")

    def test_call_trace_alone(self):
        self.assertEqual(self.primary("[ 1.0] Call Trace:\n")[0], "call-trace")

    def test_fail_verdict(self):
        s = self.scan("vni-init: start\nVNI-VERDICT: FAIL rc=3\n")
        self.assertEqual(s.verdict, "FAIL")
        self.assertEqual(s.rc, 3)
        self.assertEqual(s.reasons()[0][0], "fail-verdict")

    def test_no_verdict(self):
        s = self.scan("vni-init: start\n[ 2.0] reboot: Power down\n")
        self.assertEqual(s.reasons()[0][0], "no-verdict")
        self.assertEqual(s.reasons(qemu_rc=1)[0][0], "qemu-error")

    def test_timeout(self):
        s = self.scan("vni-init: start\n")
        self.assertEqual(s.reasons(timed_out=True)[0][0], "timeout")

    def test_verdict_after_kernel_noise_on_same_line(self):
        s = self.scan("[ 3.0] random: crng init doneVNI-VERDICT: PASS\n")
        self.assertEqual(s.verdict, "PASS")

    def test_first_verdict_counts(self):
        s = self.scan("VNI-VERDICT: FAIL rc=1\nVNI-VERDICT: PASS\n")
        self.assertEqual(s.verdict, "FAIL")


def cpio_names(data):
    """Entry names of a newc archive, checking the 4-byte header alignment."""
    pos = 0
    names = []
    while True:
        assert pos % 4 == 0, pos
        assert data[pos:pos + 6] == b"070701", pos
        f = [int(data[pos + 6 + 8 * i:pos + 14 + 8 * i], 16) for i in range(13)]
        nsz, fsz = f[11], f[6]
        name = data[pos + 110:pos + 110 + nsz - 1].decode()
        names.append(name)
        pos += 110 + nsz
        pos += (4 - pos % 4) % 4
        pos += fsz
        pos += (4 - pos % 4) % 4
        if name == "TRAILER!!!":
            return names


class CpioTest(unittest.TestCase):
    def test_layout(self):
        cp = vnivm.CpioWriter()
        cp.add_file("/a/b/c", b"hello", 0o755)
        cp.add_chardev("/dev/console", 5, 1)
        data = cp.getvalue()
        self.assertEqual(len(data) % 512, 0)
        self.assertTrue(data.startswith(b"070701"))
        self.assertIn(b"a/b\0", data)
        self.assertIn(b"TRAILER!!!\0", data)
        self.assertEqual(cpio_names(data),
                         ["a", "a/b", "a/b/c", "dev", "dev/console", "TRAILER!!!"])

    def test_run_cpio_modules(self):
        # A modular flavour's modules/lib/modules/<release>/ lands under
        # /lib/modules; a flavour without modules/ adds nothing.
        with tempfile.TemporaryDirectory() as kdir:
            data, _ = vnivm.build_run_cpio("true", kdir)
            self.assertFalse([n for n in cpio_names(data) if n.startswith("lib")])
            rel = os.path.join(kdir, "modules", "lib", "modules", "6.12.0-vni")
            os.makedirs(os.path.join(rel, "kernel", "drivers", "vfio"))
            with open(os.path.join(rel, "modules.dep"), "w") as f:
                f.write("kernel/drivers/vfio/vfio.ko:\n")
            with open(os.path.join(rel, "kernel", "drivers", "vfio", "vfio.ko"), "wb") as f:
                f.write(b"\x7fELF")
            data, _ = vnivm.build_run_cpio("true", kdir)
            names = cpio_names(data)
            self.assertIn("lib/modules/6.12.0-vni/modules.dep", names)
            self.assertIn("lib/modules/6.12.0-vni/kernel/drivers/vfio/vfio.ko", names)
            self.assertIn("run-test.sh", names)
            self.assertEqual(vnivm.add_modules(vnivm.CpioWriter(), kdir), ["vfio"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
