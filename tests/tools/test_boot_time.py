#!/usr/bin/env python3
"""Tests of tools/boot-time against a fake QEMU (fake_qemu.py).

The fake prints a serial log at once, so the times are near zero: these tests
check the schedule, the parsing and the verdicts, never the numbers.
"""

import os
import re
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
BOOT_TIME = HERE.parent.parent / "tools" / "boot-time"
FAKE_QEMU = HERE / "fake_qemu.py"

CONFIG = """\
QEMU_MACHINE=virt,virtualization=on,gic-version=3
QEMU_CPU=cortex-a57
QEMU_SMP=2
QEMU_MEMORY_MB=512
HOST_KERNEL_ADDR=0x40400000
QEMU_TIMEOUT=30
"""

START = "[    0.5] Run /init as init process\nHYPHEAP-INIT: start\n"
DONE = "HYPHEAP-TEST: hh-sysinfo PASS\nHYPHEAP-DONE: 1 passed, 0 failed\n"
PER_BOOT = re.compile(r"^boot-time: (direct|hyp) +#(\d+): init [0-9.]+ done [0-9.]+ exit [0-9.]+$",
                      re.M)


class BootTimeTest(unittest.TestCase):

    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="boot-time-test.")
        self.tmp = Path(self._tmp.name)
        self.kernel = self.tmp / "Image"
        self.initrd = self.tmp / "initramfs.cpio.gz"
        self.hyp = self.tmp / "hyp.bin"
        for path in (self.kernel, self.initrd, self.hyp):
            path.write_bytes(b"\0" * 64)
        self.config = self.tmp / "virt.conf"
        self.config.write_text(CONFIG)
        self.logs = self.tmp / "logs"
        self.argv_file = self.tmp / "argv"
        self.env = dict(os.environ, FAKE_QEMU_ARGV=str(self.argv_file))
        self.env.pop("HYPHEAP_QEMU", None)

    def tearDown(self):
        self._tmp.cleanup()

    def serial(self, text):
        output = self.tmp / "serial"
        output.write_text(text)
        self.env["FAKE_QEMU_OUTPUT"] = str(output)

    def run_tool(self, *extra, runs="2"):
        cmd = [sys.executable, str(BOOT_TIME), "--kernel", str(self.kernel),
               "--initrd", str(self.initrd), "--hyp", str(self.hyp), "--runs", runs,
               "--log-dir", str(self.logs), "--config", str(self.config),
               "--qemu-binary", str(FAKE_QEMU)]
        return subprocess.run(cmd + list(extra), env=self.env, capture_output=True, text=True,
                              timeout=120)

    def test_boots_alternate_and_the_summary_has_medians_and_ratios(self):
        self.serial(START + DONE)
        result = self.run_tool()
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        order = [(mode, int(index)) for mode, index in PER_BOOT.findall(result.stdout)]
        self.assertEqual(order, [("direct", 0), ("hyp", 0), ("hyp", 1), ("direct", 1)])
        self.assertRegex(result.stdout, r"(?m)^  direct +[0-9.]+ +[0-9.]+ +[0-9.]+$")
        self.assertRegex(result.stdout, r"(?m)^  hyp +[0-9.]+ +[0-9.]+ +[0-9.]+$")
        self.assertRegex(result.stdout, r"(?m)^  hyp/dir +(\S+ +){2}\S+$")
        self.assertEqual(sorted(p.name for p in self.logs.iterdir()),
                         ["boot-time-direct-0.log", "boot-time-direct-1.log",
                          "boot-time-hyp-0.log", "boot-time-hyp-1.log"])

    def test_hyp_boots_load_linux_beside_the_hypervisor(self):
        self.serial(START + DONE)
        # One run: direct then hyp, so the fake's last command line is the hyp one.
        self.assertEqual(self.run_tool(runs="1").returncode, 0)
        argv = self.argv_file.read_text().splitlines()
        self.assertEqual(argv[argv.index("-kernel") + 1], str(self.hyp))
        self.assertIn(f"loader,file={self.kernel},addr=0x40400000,force-raw=on", argv)
        self.assertEqual(argv[argv.index("-append") + 1], "console=ttyAMA0 hypheap_run=hh-sysinfo")

    def test_extra_append_goes_to_both_ways(self):
        self.serial(START + DONE)
        self.assertEqual(self.run_tool("--append", "quiet", runs="1").returncode, 0)
        argv = self.argv_file.read_text().splitlines()
        self.assertEqual(argv[argv.index("-append") + 1],
                         "console=ttyAMA0 quiet hypheap_run=hh-sysinfo")

    def test_a_failed_boot_fails_the_run(self):
        self.serial(START + "HYPHEAP-TEST: hh-sysinfo FAIL exit=1\n"
                    "HYPHEAP-DONE: 0 passed, 1 failed\n")
        result = self.run_tool()
        self.assertEqual(result.returncode, 1, result.stdout)
        self.assertIn("boot-time: FAIL: direct boot #0: qemu-run: boot-time-direct-0 FAIL",
                      result.stdout)
        self.assertNotIn("medians", result.stdout)

    def test_a_missing_marker_fails_the_run(self):
        # A pass for qemu-run, but user space was never seen starting.
        self.serial("[    0.5] Run /init as init process\n" + DONE)
        result = self.run_tool()
        self.assertEqual(result.returncode, 1, result.stdout)
        self.assertIn("boot-time: FAIL: direct boot #0: no init time", result.stdout)

    def test_missing_image_is_a_setup_error(self):
        self.hyp.unlink()
        result = self.run_tool()
        self.assertEqual(result.returncode, 3, result.stdout)
        self.assertIn("--hyp", result.stdout)
        self.assertFalse(self.argv_file.exists())

    def test_qemu_that_cannot_start_is_a_setup_error(self):
        self.serial(START + DONE)
        cmd = [sys.executable, str(BOOT_TIME), "--kernel", str(self.kernel),
               "--initrd", str(self.initrd), "--hyp", str(self.hyp), "--runs", "1",
               "--log-dir", str(self.logs), "--config", str(self.config),
               "--qemu-binary", str(self.tmp / "no-qemu")]
        result = subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=60)
        self.assertEqual(result.returncode, 3, result.stdout)
        self.assertIn("cannot start", result.stdout)

    def test_zero_runs_is_a_usage_error(self):
        result = self.run_tool(runs="0")
        self.assertEqual(result.returncode, 3, result.stderr)


if __name__ == "__main__":
    unittest.main()
