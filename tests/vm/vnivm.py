# SPDX-License-Identifier: LGPL-2.1-or-later
"""QEMU test harness for libvfionoiommu (host side, Python 3 stdlib only).

- CpioWriter: newc archives (no root needed for device nodes).
- ConsoleScanner: finds the verdict and kernel problem reports in a console
  log (oops, BUG, WARNING, panic, KASAN, UBSAN, lockdep, kmemleak, ...).
- run_vm(): boots a kernel flavour with the initramfs plus a per-run cpio
  holding the test command and the flavour's kselftests, streams and scans
  the console, and returns a Result with a one-word failure reason.

See docs/development.md for the contracts (slots, verdict lines).
"""

import os
import queue
import re
import shlex
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time

# --------------------------------------------------------------------------
# cpio (newc)


class CpioWriter:
    """Writes a newc ("070701") cpio archive into memory."""

    def __init__(self):
        self._chunks = []
        self._ino = 1000
        self._dirs = set()

    def _entry(self, name, mode, data=b"", nlink=1, rdev=(0, 0)):
        name = name.lstrip("/")
        nameb = name.encode() + b"\0"
        self._ino += 1
        fields = [self._ino, mode, 0, 0, nlink, 0, len(data), 0, 0,
                  rdev[0], rdev[1], len(nameb), 0]
        hdr = b"070701" + b"".join(b"%08X" % f for f in fields)
        self._chunks.append(hdr + nameb)
        self._chunks.append(b"\0" * ((4 - (len(hdr) + len(nameb)) % 4) % 4))
        self._chunks.append(data)
        self._chunks.append(b"\0" * ((4 - len(data) % 4) % 4))

    def add_dir(self, path, mode=0o755):
        path = "/" + path.strip("/")
        if path == "/" or path in self._dirs:
            return
        self.add_dir(os.path.dirname(path))
        self._dirs.add(path)
        self._entry(path, stat.S_IFDIR | mode, nlink=2)

    def add_file(self, path, data, mode=0o644):
        self.add_dir(os.path.dirname("/" + path.lstrip("/")))
        self._entry(path, stat.S_IFREG | mode, data)

    def add_symlink(self, path, target):
        self.add_dir(os.path.dirname("/" + path.lstrip("/")))
        self._entry(path, stat.S_IFLNK | 0o777, target.encode())

    def add_chardev(self, path, major, minor, mode=0o600):
        self.add_dir(os.path.dirname("/" + path.lstrip("/")))
        self._entry(path, stat.S_IFCHR | mode, rdev=(major, minor))

    def getvalue(self):
        self._entry("TRAILER!!!", 0)
        data = b"".join(self._chunks)
        return data + b"\0" * ((512 - len(data) % 512) % 512)


# --------------------------------------------------------------------------
# console scanning

VERDICT_RE = re.compile(r"VNI-VERDICT: (PASS|FAIL rc=(-?\d+))")
INIT_START_RE = re.compile(r"vni-init: start")

# (reason, regex) in priority order: the first reason found in this order
# is the primary failure reason; a line is classified by the first match.
PROBLEM_PATTERNS = [
    ("panic", re.compile(r"Kernel panic - not syncing")),
    ("kasan", re.compile(r"\bKASAN: ")),
    ("ubsan", re.compile(r"\bUBSAN: ")),
    ("kmemleak", re.compile(r"unreferenced object 0x|suspected memory leak")),
    ("lockdep", re.compile(
        r"possible circular locking|possible recursive locking"
        r"|inconsistent lock state|possible irq lock inversion"
        r"|suspicious RCU usage|bad unlock balance|held lock freed"
        r"|lock held when returning to user space|INFO: trying to register non-static key"
        r"|INFO: lockdep|BUG: MAX_LOCKDEP|DEBUG_LOCKS_WARN_ON")),
    ("gpf", re.compile(r"general protection fault")),
    ("oops", re.compile(r"\bOops: |\bOops\b.*\[#\d+\]")),
    ("bug", re.compile(r"\bBUG: |kernel BUG at ")),
    ("info", re.compile(r"\bINFO: ")),
    ("warning", re.compile(r"\bWARNING: ")),
    ("call-trace", re.compile(r"Call Trace:")),
    # QEMU itself (a device model abort, e.g. edu's DMA range check)
    ("qemu-error", re.compile(r"^qemu: hardware error|^qemu-system-\S+: .*(error|Error)")),
]

# Normal lines that contain one of the words above. Keep this list short
# and specific; each entry is a regex searched in the line.
BENIGN_PATTERNS = [
    # CPU vulnerability notes printed under TCG with -cpu max.
    re.compile(r"(RETBleed|Spectre V2|MDS|MMIO Stale Data|TAA|SRBDS|GDS|RFDS|ITS|"
               r"Speculative Store Bypass|Spectre V1|L1TF|BHI|SRSO)\s*: WARNING: "),
]

# QEMU's intel-iommu reports a DMA the IOMMU refused on stderr (a
# "permission error"): expected, and only then benign, in a test that makes
# a device write a read-only mapping (run-vm-test --expect-iommu-fault).
IOMMU_FAULT_PATTERNS = [
    re.compile(r"^qemu-system-\S+: vtd_iova_to_slpte: detected slpte permission error "
               r"\(iova=0x[0-9a-f]+, level=0x[0-9a-f]+, slpte=0x[0-9a-f]+, write=1"),
    re.compile(r"^qemu-system-\S+: vtd_iommu_translate: detected translation failure "
               r"\(dev=[0-9a-f:]+, iova=0x[0-9a-f]+\)"),
    re.compile(r"^qemu-system-\S+: New fault is not recorded due to compression of faults"),
]

REASON_ORDER = [r for r, _ in PROBLEM_PATTERNS if r != "qemu-error"] + [
    "timeout", "fail-verdict", "no-verdict", "qemu-error"]


def classify_line(line):
    """Returns the problem reason for one console line, or None."""
    for benign in BENIGN_PATTERNS:
        if benign.search(line):
            return None
    for reason, rx in PROBLEM_PATTERNS:
        if rx.search(line):
            return reason
    return None


class ConsoleScanner:
    def __init__(self):
        self.findings = []          # (reason, line number, line)
        self.verdict = None         # "PASS" or "FAIL"
        self.rc = None
        self.verdict_line = None
        self.init_started = False
        self.nlines = 0

    def feed(self, line):
        self.nlines += 1
        if not self.init_started and INIT_START_RE.search(line):
            self.init_started = True
        m = VERDICT_RE.search(line)
        if m and self.verdict is None:
            self.verdict_line = self.nlines
            if m.group(1) == "PASS":
                self.verdict = "PASS"
                self.rc = 0
            else:
                self.verdict = "FAIL"
                self.rc = int(m.group(2))
            return
        reason = classify_line(line)
        if reason:
            self.findings.append((reason, self.nlines, line.strip()))

    def feed_text(self, text):
        for line in text.splitlines():
            self.feed(line)
        return self

    def reasons(self, timed_out=False, qemu_rc=0):
        """All failure reasons, primary first, each with a detail string."""
        found = {}
        for reason, n, line in self.findings:
            found.setdefault(reason, "line %d: %s" % (n, line))
        if timed_out and self.verdict is None:
            found["timeout"] = "no verdict before the timeout"
        if self.verdict == "FAIL":
            found["fail-verdict"] = "guest command exited with rc=%d" % self.rc
        if self.verdict is None and not timed_out:
            if qemu_rc not in (0, None):
                found.setdefault("qemu-error", "QEMU exited with status %s" % qemu_rc)
            else:
                found["no-verdict"] = "the guest stopped without printing a verdict"
        return [(r, found[r]) for r in REASON_ORDER if r in found]


# --------------------------------------------------------------------------
# running a VM

EDU_SLOTS = ["04.0", "05.0"]
NVME_SLOT = "06.0"
E1000_SLOT = "07.0"


class Result:
    def __init__(self):
        self.ok = False
        self.reason = None
        self.detail = ""
        self.all_reasons = []
        self.log_path = None
        self.boot_to_verdict = None
        self.elapsed = None
        self.initramfs_size = 0
        self.scanner = None


def _emit(out, text):
    if out is not None:
        out.write(text)
        out.flush()


def add_modules(cp, kernel_dir):
    """Add <kernel_dir>/modules/lib/modules/<release>/ (a modular flavour,
    see scripts/build-kernel.sh) under /lib/modules. Returns the module
    names (without .ko), empty for a flavour with everything built in."""
    top = os.path.join(kernel_dir, "modules", "lib", "modules")
    names = []
    if not os.path.isdir(top):
        return names
    for root, dirs, files in os.walk(top):
        dirs.sort()
        rel = os.path.relpath(root, top)
        guest_dir = "/lib/modules" + ("" if rel == "." else "/" + rel)
        for name in sorted(files):
            with open(os.path.join(root, name), "rb") as f:
                cp.add_file(guest_dir + "/" + name, f.read(), 0o644)
            if name.endswith(".ko"):
                names.append(name[:-3])
    return sorted(names)


def build_run_cpio(cmd, kernel_dir):
    """Per-run archive: /run-test.sh, /selftests/* and, for a modular
    flavour, /lib/modules/<release>/ of the flavour."""
    cp = CpioWriter()
    cp.add_file("/run-test.sh", ("#!/bin/sh\n# generated by run-vm-test\n%s\n" % cmd).encode(),
                0o755)
    add_modules(cp, kernel_dir)
    sdir = os.path.join(kernel_dir, "selftests")
    names = []
    if os.path.isdir(sdir):
        cp.add_dir("/selftests")
        for name in sorted(os.listdir(sdir)):
            p = os.path.join(sdir, name)
            if os.path.isfile(p):
                with open(p, "rb") as f:
                    cp.add_file("/selftests/" + name, f.read(), 0o755)
                names.append(name)
    return cp.getvalue(), names


def nvme_pattern_image():
    """'nvme-pattern': the nvme device on an image holding a known pattern,
    checked byte for byte after the VM exits (tests/nvme-vm/nvmeimage.py)."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)),
                                    os.pardir, "nvme-vm"))
    import nvmeimage
    return nvmeimage.PatternImage()


def qemu_command(kernel_dir, initrd, devices, memory, smp, append, tmpdir, iommu="none",
                 nvme_image=None):
    accel = os.environ.get("VNI_VM_ACCEL", "tcg")
    if accel == "kvm":
        accel_args = ["-accel", "kvm", "-cpu", "host"]
    elif accel == "tcg":
        accel_args = ["-accel", "tcg", "-cpu", "max"]
    else:
        raise ValueError("VNI_VM_ACCEL must be tcg or kvm, not %r" % accel)
    qemu = os.environ.get("VNI_QEMU", "qemu-system-x86_64")
    if iommu == "none":
        machine, iommu_args = "pc", []
    elif iommu == "intel":
        # VT-d needs q35; it must come before the PCI devices it translates.
        # No interrupt remapping: under TCG it is not needed and x2apic
        # stays off. The kernel command line gets intel_iommu=on (run_vm).
        machine, iommu_args = "q35", ["-device", "intel-iommu,intremap=off"]
    else:
        raise ValueError("unknown iommu %r (none, intel)" % iommu)
    cmd = [qemu, "-machine", machine] + accel_args + [
        "-m", str(memory), "-smp", str(smp),
        "-nographic", "-no-reboot", "-vga", "none", "-nic", "none",
        "-kernel", os.path.join(kernel_dir, "bzImage"),
        "-initrd", initrd,
        "-append", append,
    ] + iommu_args
    nedu = 0
    nnvme = 0
    ne1000 = 0
    for dev in devices:
        if dev == "edu":
            if nedu >= len(EDU_SLOTS):
                raise ValueError("at most %d edu devices" % len(EDU_SLOTS))
            cmd += ["-device", "edu,dma_mask=0xffffffffffffffff,addr=%s" % EDU_SLOTS[nedu]]
            nedu += 1
        elif dev in ("nvme", "nvme-pattern"):
            if nnvme >= 1:
                raise ValueError("at most one nvme device")
            img = os.path.join(tmpdir, "nvme0.img")
            if dev == "nvme-pattern":
                nvme_image.fill(img)  # checked after the run, see run_vm()
            else:
                with open(img, "wb") as f:
                    f.truncate(64 << 20)
            cmd += ["-drive", "file=%s,if=none,id=nvm0,format=raw" % img,
                    "-device", "nvme,serial=vni0001,drive=nvm0,addr=%s" % NVME_SLOT]
            nnvme += 1
        elif dev == "e1000":
            if ne1000 >= 1:
                raise ValueError("at most one e1000 device")
            # A user-mode network with no way out: the guest gets a real
            # link, an address and a route to test against, nothing more.
            cmd += ["-netdev", "user,id=vnin0,restrict=on",
                    "-device", "e1000,netdev=vnin0,addr=%s" % E1000_SLOT]
            ne1000 += 1
        else:
            raise ValueError("unknown device %r (edu, nvme, nvme-pattern, e1000)" % dev)
    return cmd


HOST_COMMANDS = ("device_add", "device_del")


class HostChannel:
    """Lets the guest ask the host for QEMU monitor commands (hot plug).

    The guest writes one HMP command line to its second serial port
    (/dev/ttyS1, see vni-vm-host); the host runs it through QMP's
    human-monitor-command and answers one line, "ok" or "error: TEXT".
    Only HOST_COMMANDS are accepted. Requests and answers go to the log."""

    def __init__(self, tmpdir, note):
        self.chan_path = os.path.join(tmpdir, "host.sock")
        self.qmp_path = os.path.join(tmpdir, "qmp.sock")
        self._note = note
        self._stop = threading.Event()
        self._thread = None

    def qemu_args(self):
        # Any -serial replaces -nographic's default serial: name both, the
        # console first (ttyS0, as without the channel), then the channel.
        return ["-serial", "mon:stdio",
                "-chardev", "socket,id=vnihost,path=%s,server=on,wait=off" % self.chan_path,
                "-serial", "chardev:vnihost",
                "-qmp", "unix:%s,server=on,wait=off" % self.qmp_path]

    def start(self):
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def stop(self):
        self._stop.set()

    def _connect(self, path):
        import socket
        while not self._stop.is_set():
            try:
                sk = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sk.connect(path)
                return sk
            except OSError:
                sk.close()
                time.sleep(0.1)
        return None

    def _qmp(self, f, obj):
        import json
        f.write((json.dumps(obj) + "\n").encode())
        f.flush()
        while True:
            line = f.readline()
            if not line:
                raise OSError("QMP connection closed")
            msg = json.loads(line)
            if "return" in msg or "error" in msg:
                return msg

    def _serve(self):
        import json
        chan = self._connect(self.chan_path)
        qmp = self._connect(self.qmp_path)
        if chan is None or qmp is None:
            return
        qf = qmp.makefile("rwb")
        try:
            json.loads(qf.readline())  # greeting
            self._qmp(qf, {"execute": "qmp_capabilities"})
            cf = chan.makefile("rwb")
            for raw in iter(cf.readline, b""):
                req = raw.decode("utf-8", "replace").strip()
                if not req:
                    continue
                word = req.split()[0]
                if word not in HOST_COMMANDS:
                    answer = "error: %s is not allowed (only %s)" % (word, ", ".join(HOST_COMMANDS))
                else:
                    r = self._qmp(qf, {"execute": "human-monitor-command",
                                       "arguments": {"command-line": req}})
                    text = r.get("return", "") if "return" in r else r["error"].get("desc", "?")
                    text = " ".join(str(text).split())
                    answer = "ok" if "return" in r and not text else "error: %s" % (text or "?")
                self._note("run-vm-test: host request %r: %s\n" % (req, answer))
                cf.write((answer + "\n").encode())
                cf.flush()
        except (OSError, ValueError) as e:
            if not self._stop.is_set():
                self._note("run-vm-test: host channel: %s\n" % e)


def run_vm(kernel_dir, initramfs, cmd, devices=(), timeout=300, log_path=None,
           hugepages=0, memory=1024, smp=2, extra_append="", grace=30, out=sys.stdout,
           iommu="none", host_channel=False):
    res = Result()
    res.log_path = log_path
    t0 = time.monotonic()
    bz = os.path.join(kernel_dir, "bzImage")
    if not os.path.isfile(bz):
        res.reason = "no-kernel"
        flavour = os.path.basename(os.path.normpath(kernel_dir))
        res.detail = ("%s not found: build the flavour first "
                      "(scripts/build-kernel.sh %s --kernels %s)"
                      % (bz, flavour, os.path.dirname(os.path.normpath(kernel_dir))))
        res.all_reasons = [(res.reason, res.detail)]
        return res
    with open(initramfs, "rb") as f:
        base = f.read()
    run_cpio, selftests = build_run_cpio(cmd, kernel_dir)
    initrd_data = base + b"\0" * ((4 - len(base) % 4) % 4) + run_cpio
    res.initramfs_size = len(initrd_data)

    # watchdog_thresh=60: the soft-lockup detector (debug flavour) reports
    # after 120 s instead of 20 s. Under TCG with KASAN, ACPI's interpreter
    # routing a PCI interrupt (vfio-pci enabling a device) runs for 25-30 s
    # without scheduling: emulation speed, not a lockup. Real lockups in the
    # code under test (an unbounded unmap) still last far longer.
    append = "console=ttyS0 panic=-1 rdinit=/init watchdog_thresh=60"
    if hugepages:
        append += " hugepagesz=2M hugepages=%d" % hugepages
    if iommu == "intel":
        # intremap=off: MSIs are not isolated, so iommufd and vfio's type1
        # refuse devices (EPERM) unless told that the guest accepts it.
        append += (" intel_iommu=on iommufd.allow_unsafe_interrupts=1"
                   " vfio_iommu_type1.allow_unsafe_interrupts=1")
    if extra_append:
        append += " " + extra_append

    log = open(log_path, "w", encoding="utf-8", errors="replace") if log_path else None
    scanner = ConsoleScanner()
    res.scanner = scanner
    timed_out = False
    qemu_rc = None
    with tempfile.TemporaryDirectory(prefix="vni-vm-") as tmpdir:
        initrd = os.path.join(tmpdir, "initrd.img")
        with open(initrd, "wb") as f:
            f.write(initrd_data)
        nvme_image = nvme_pattern_image() if "nvme-pattern" in devices else None
        qcmd = qemu_command(kernel_dir, initrd, list(devices), memory, smp, append, tmpdir,
                            iommu=iommu, nvme_image=nvme_image)
        log_lock = threading.Lock()

        def note(text):
            with log_lock:
                _emit(out, text)
                if log:
                    log.write(text)
                    log.flush()
        host = HostChannel(tmpdir, note) if host_channel else None
        if host:
            qcmd += host.qemu_args()
        header = ("run-vm-test: kernel %s, initramfs %s (%d KiB with the per-run cpio; "
                  "selftests: %s), devices: %s, timeout %d s\n"
                  "run-vm-test: guest command: %s\n"
                  "run-vm-test: %s\n" % (
                      kernel_dir, initramfs, len(initrd_data) // 1024,
                      " ".join(selftests) or "none", ",".join(devices) or "none",
                      timeout, cmd, " ".join(shlex.quote(a) for a in qcmd)))
        _emit(out, header)
        if log:
            log.write(header)
        proc = subprocess.Popen(qcmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True)
        lines = queue.Queue()

        def reader():
            for raw in iter(proc.stdout.readline, b""):
                lines.put(raw)
            lines.put(None)

        th = threading.Thread(target=reader, daemon=True)
        th.start()
        if host:
            host.start()
        deadline = t0 + timeout
        eof = False
        while not eof:
            now = time.monotonic()
            if now >= deadline:
                break
            try:
                raw = lines.get(timeout=min(1.0, deadline - now))
            except queue.Empty:
                continue
            if raw is None:
                eof = True
                break
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n").replace("\r", "")
            note(line + "\n")
            if nvme_image:
                nvme_image.feed(line)
            had_verdict = scanner.verdict is not None
            scanner.feed(line)
            if not had_verdict and scanner.verdict is not None:
                res.boot_to_verdict = time.monotonic() - t0
                deadline = min(deadline, time.monotonic() + grace)
        if not eof:
            if scanner.verdict is None:
                timed_out = True
                msg = "run-vm-test: timeout after %d s: killing QEMU\n" % timeout
            else:
                msg = ("run-vm-test: note: the guest did not power off within %d s "
                       "after its verdict: killing QEMU\n" % grace)
            _emit(out, msg)
            if log:
                log.write(msg)
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if host:
            host.stop()
        try:
            qemu_rc = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            qemu_rc = proc.wait()
        th.join(timeout=5)
        if timed_out or (scanner.verdict is not None and not eof):
            qemu_rc = None  # killed by us
        nvme_problem = None
        if nvme_image:
            nvme_problem = nvme_image.check(os.path.join(tmpdir, "nvme0.img"))
            note("run-vm-test: nvme image after the run: %s\n" % (
                "as expected byte for byte, " + nvme_image.summary() if nvme_problem is None
                else "WRONG: " + nvme_problem))
    res.elapsed = time.monotonic() - t0
    res.all_reasons = scanner.reasons(timed_out=timed_out, qemu_rc=qemu_rc)
    if nvme_problem:
        res.all_reasons.append(("nvme-image", nvme_problem))
    if res.all_reasons:
        res.reason, res.detail = res.all_reasons[0]
    else:
        res.ok = True
    if log:
        log.close()
    return res


def format_result(res, name):
    times = []
    if res.boot_to_verdict is not None:
        times.append("boot-to-verdict %.1f s" % res.boot_to_verdict)
    if res.elapsed is not None:
        times.append("total %.1f s" % res.elapsed)
    if res.initramfs_size:
        times.append("initramfs %d KiB" % (res.initramfs_size // 1024))
    t = ", ".join(times)
    if res.ok:
        return "run-vm-test: PASS %s (%s)" % (name, t)
    others = ", ".join(r for r, _ in res.all_reasons[1:])
    s = "run-vm-test: FAIL reason=%s: %s" % (res.reason, res.detail)
    if others:
        s += " [also: %s]" % others
    if res.log_path and os.path.exists(res.log_path):
        s += " (console log: %s)" % res.log_path
    if t:
        s += " (%s)" % t
    return s


def main(argv=None):
    import argparse
    ap = argparse.ArgumentParser(
        prog="run-vm-test",
        description="Boot a kernel flavour under QEMU with the test initramfs, "
                    "run a guest command and check the verdict and the console.")
    ap.add_argument("--kernel-dir", required=True, help="<kernels>/<flavour>")
    ap.add_argument("--initramfs", required=True)
    ap.add_argument("--cmd", required=True, help="guest shell command (exit 0 = pass)")
    ap.add_argument("--devices", default="", help="comma list of edu,nvme,nvme-pattern,e1000")
    ap.add_argument("--host-channel", action="store_true",
                    help="guest may ask for device_add/device_del (vni-vm-host)")
    ap.add_argument("--iommu", default="none", choices=["none", "intel"],
                    help="guest IOMMU (intel: q35 + intel-iommu, intel_iommu=on)")
    ap.add_argument("--expect-iommu-fault", action="store_true",
                    help="QEMU's reports of a device write the guest IOMMU refused are "
                         "expected (read-only mapping tests), not a qemu-error")
    ap.add_argument("--timeout", type=int, default=300, help="seconds (default 300)")
    ap.add_argument("--log-dir", default=".", help="where the console log is kept")
    ap.add_argument("--name", default=None, help="test name (log file name)")
    ap.add_argument("--hugepages", type=int, default=0, help="2 MiB pages reserved at boot")
    ap.add_argument("--memory", type=int, default=1024, help="guest RAM in MiB")
    ap.add_argument("--smp", type=int, default=2)
    ap.add_argument("--append", default="", help="extra kernel command line")
    ap.add_argument("--grace", type=int, default=30,
                    help="seconds to wait for power-off after the verdict")
    ap.add_argument("--quiet", action="store_true", help="do not echo the console")
    a = ap.parse_args(argv)
    if a.expect_iommu_fault:
        BENIGN_PATTERNS.extend(IOMMU_FAULT_PATTERNS)
    devices = [d for d in a.devices.split(",") if d.strip()]
    name = a.name or "vm-test"
    safe = re.sub(r"[^A-Za-z0-9_.@+-]", "_", name)
    os.makedirs(a.log_dir, exist_ok=True)
    log_path = os.path.abspath(os.path.join(a.log_dir, safe + ".console.log"))
    try:
        res = run_vm(a.kernel_dir, a.initramfs, a.cmd, devices=devices, timeout=a.timeout,
                     log_path=log_path, hugepages=a.hugepages, memory=a.memory, smp=a.smp,
                     extra_append=a.append, grace=a.grace, iommu=a.iommu,
                     host_channel=a.host_channel,
                     out=None if a.quiet else sys.stdout)
    except (OSError, ValueError) as e:
        print("run-vm-test: FAIL reason=harness-error: %s" % e)
        return 1
    print(format_result(res, name))
    sys.stdout.flush()
    return 0 if res.ok else 1

