#!/usr/bin/env python3
"""Tests of tools/qemu-run against a fake QEMU (fake_qemu.py).

Each test writes the serial output the fake prints, runs the real launcher as
a subprocess and checks its exit code, its final line and the log it kept.
"""

import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
QEMU_RUN = HERE.parent.parent / "tools" / "qemu-run"
FAKE_QEMU = HERE / "fake_qemu.py"

CONFIG = """\
# test machine
QEMU_MACHINE=virt,virtualization=on,gic-version=3
QEMU_CPU=cortex-a57
QEMU_SMP=2
QEMU_MEMORY_MB=512
HOST_KERNEL_ADDR=0x40400000
QEMU_TIMEOUT=30
"""

XEN_CONFIG = """\
XEN_MEMORY_MB=2048
XEN_BOOTARGS=console=dtuart dtuart=/pl011@9000000 dom0_mem=512M
XEN_DOM0_MODULES=0x50000000,0x52000000
XEN_DOMU_MODULES=0x5a000000,0x5c000000
XEN_DOMU_MEMORY_MB=256
XEN_DOMU_ID=1
"""

PANIC = ("[   65.1] Unable to handle kernel ttbr address size fault at virtual address ffff\n"
         "[   65.1]   FSC = 0x00: ttbr address size fault\n"
         "[   65.1] Internal error: Oops: 0000000096000000 [#1] SMP\n"
         "[   65.2] Kernel panic - not syncing: Oops: Fatal exception\n")

BOOT = "[    0.569154] Run /init as init process\nHYPHEAP-INIT: start\n"
GOOD = BOOT + "HYPHEAP-TEST: hh-sysinfo PASS\nHYPHEAP-DONE: 1 passed, 0 failed\n"
HYP_FATAL = ("[hyp] FATAL: unexpected exception 'EL2h sync' (EC 0x25) at EL2, lr 402016e8\n"
             "[hyp] FATAL state: ESR_EL2 0000000097c08005 FAR_EL2 0000004000000000 "
             "ELR_EL2 00000000402016ec HPFAR_EL2 0000000000000000 SPSR_EL2 00000000600003c9 "
             "MPIDR 0\n")


def process_is_gone(pid):
    """True when |pid| no longer runs; a zombie nobody reaped counts as gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


class QemuRunTest(unittest.TestCase):

    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="qemu-run-test.")
        self.tmp = Path(self._tmp.name)
        self.kernel = self.tmp / "Image"
        self.initrd = self.tmp / "initramfs.cpio.gz"
        self.hyp = self.tmp / "hyp.bin"
        for path in (self.kernel, self.initrd, self.hyp):
            path.write_bytes(b"\0" * 64)
        self.config = self.tmp / "virt.conf"
        self.config.write_text(CONFIG)
        self.log = self.tmp / "logs" / "scenario.log"
        self.argv_file = self.tmp / "argv"
        self.child_pid_file = self.tmp / "child.pid"
        self.fake_pid_file = self.tmp / "fake.pid"
        self.env = dict(os.environ, FAKE_QEMU_ARGV=str(self.argv_file),
                        FAKE_QEMU_CHILD_PID=str(self.child_pid_file),
                        FAKE_QEMU_PID=str(self.fake_pid_file))
        self.env.pop("HYPHEAP_QEMU", None)

    def tearDown(self):
        # A broken launcher must not leave the fake VM behind.
        for pid_file in (self.fake_pid_file, self.child_pid_file):
            if pid_file.exists():
                try:
                    os.kill(int(pid_file.read_text()), signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self._tmp.cleanup()

    def serial(self, text):
        output = self.tmp / "serial"
        output.write_bytes(text.encode() if isinstance(text, str) else text)
        self.env["FAKE_QEMU_OUTPUT"] = str(output)

    def run_tool(self, *extra, fake=True):
        cmd = [sys.executable, str(QEMU_RUN), "--name", "scenario", "--kernel", str(self.kernel),
               "--initrd", str(self.initrd), "--log", str(self.log), "--config", str(self.config)]
        if fake:
            cmd += ["--qemu-binary", str(FAKE_QEMU)]
        result = subprocess.run(cmd + list(extra), env=self.env, capture_output=True, text=True,
                                timeout=60)
        self.final = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
        return result

    def qemu_argv(self):
        return self.argv_file.read_text().splitlines()[1:]

    def assertVerdict(self, result, code, verdict, reason_part):
        self.assertEqual(result.returncode, code, result.stdout + result.stderr)
        self.assertTrue(self.final.startswith(f"qemu-run: scenario {verdict} ("), self.final)
        self.assertIn(reason_part, self.final)
        self.assertTrue(self.final.endswith(f"s, log: {self.log}"), self.final)

    # ---- verdicts ----

    def test_pass_keeps_the_whole_log(self):
        self.serial(GOOD)
        result = self.run_tool()
        self.assertVerdict(result, 0, "PASS", "1 passed")
        self.assertEqual(self.log.read_text(), GOOD)

    def test_serial_line_endings_are_accepted(self):
        self.serial(GOOD.replace("\n", "\r\n"))
        self.assertVerdict(self.run_tool(), 0, "PASS", "1 passed")

    def test_missing_done_fails(self):
        self.serial(BOOT + "HYPHEAP-TEST: hh-sysinfo PASS\n")
        result = self.run_tool()
        self.assertVerdict(result, 1, "FAIL", "no HYPHEAP-DONE marker")
        self.assertIn("  | HYPHEAP-TEST: hh-sysinfo PASS", result.stdout)
        self.assertIn(f"full log: {self.log}", result.stdout)

    def test_failed_count_fails_and_names_the_failure(self):
        self.serial(BOOT + "HYPHEAP-TEST: hh-x FAIL signal=SIGSEGV\n"
                    "HYPHEAP-DONE: 0 passed, 1 failed\n")
        self.assertVerdict(self.run_tool(), 1, "FAIL", "1 failed: HYPHEAP-TEST: hh-x FAIL")

    def test_done_not_at_line_start_is_not_a_pass(self):
        self.serial(BOOT + "noise HYPHEAP-DONE: 1 passed, 0 failed\n")
        self.assertVerdict(self.run_tool(), 1, "FAIL", "no HYPHEAP-DONE marker")

    def test_panic_line_fails_despite_done(self):
        self.serial(GOOD + "[    1.0] Kernel panic - not syncing: Attempted to kill init!\n")
        self.assertVerdict(self.run_tool(), 1, "FAIL", "Kernel panic - not syncing")

    def test_warning_line_fails(self):
        self.serial(BOOT + "[    0.7] WARNING: CPU: 0 PID: 1 at mm/x.c:1 f+0x0/0x4\n"
                    + GOOD)
        self.assertVerdict(self.run_tool(), 1, "FAIL", "WARNING: CPU: 0")

    def test_reject_regex_fails(self):
        self.serial(GOOD + "hypheap: leaked 3 pages\n")
        self.assertVerdict(self.run_tool("--reject", r"leaked \d+ pages"), 1, "FAIL",
                           "leaked 3 pages")

    def test_expect_miss_fails(self):
        self.serial(GOOD)
        self.assertVerdict(self.run_tool("--expect", r"^  system$"), 1, "FAIL",
                           "--expect '^  system$' not matched")

    def test_expect_hit_passes(self):
        self.serial(GOOD.replace("HYPHEAP-TEST", "  system\nHYPHEAP-TEST"))
        self.assertVerdict(self.run_tool("--expect", r"^  system$"), 0, "PASS", "1 passed")

    def test_qemu_error_exit_fails(self):
        self.serial(GOOD)
        self.env["FAKE_QEMU_EXIT"] = "1"
        self.assertVerdict(self.run_tool(), 1, "FAIL", "QEMU exited with status 1")

    # ---- hung VMs ----

    def test_timeout_kills_the_process_group(self):
        self.serial(BOOT)
        self.env["FAKE_QEMU_HANG"] = "1"
        started = time.monotonic()
        result = self.run_tool("--timeout", "1")
        self.assertLess(time.monotonic() - started, 20)
        self.assertVerdict(result, 2, "FAIL", "timeout after 1s, QEMU killed")
        self.assertTrue(process_is_gone(int(self.child_pid_file.read_text())))

    def test_hyp_fatal_stops_qemu_before_the_timeout(self):
        self.serial(BOOT + "[hyp] FATAL stage-2 fault at 0x40000000\n")
        self.env["FAKE_QEMU_HANG"] = "1"
        started = time.monotonic()
        result = self.run_tool("--timeout", "25")
        self.assertLess(time.monotonic() - started, 15)
        self.assertVerdict(result, 1, "FAIL", "[hyp] FATAL stage-2 fault")

    # ---- --expect-hyp-fatal: the hypervisor's crash path ----

    def test_expect_hyp_fatal_passes_when_qemu_exits_by_itself(self):
        self.serial(HYP_FATAL)
        result = self.run_tool("--expect-hyp-fatal")
        self.assertVerdict(result, 0, "PASS", "[hyp] FATAL: unexpected exception")

    def test_expect_hyp_fatal_fails_when_qemu_stays_up(self):
        self.serial(HYP_FATAL)
        self.env["FAKE_QEMU_HANG"] = "1"
        started = time.monotonic()
        result = self.run_tool("--expect-hyp-fatal", "--timeout", "25")
        self.assertLess(time.monotonic() - started, 15)
        self.assertVerdict(result, 1, "FAIL", "QEMU did not exit by itself")
        self.assertTrue(process_is_gone(int(self.child_pid_file.read_text())))

    def test_expect_hyp_fatal_needs_the_syndrome_line(self):
        self.serial(HYP_FATAL.splitlines(keepends=True)[0])
        self.assertVerdict(self.run_tool("--expect-hyp-fatal"), 1, "FAIL",
                           "no line with ESR_EL2, FAR_EL2, ELR_EL2, HPFAR_EL2")

    def test_expect_hyp_fatal_needs_every_register(self):
        self.serial(HYP_FATAL.replace("HPFAR_EL2", "SPSR_EL2"))
        self.assertVerdict(self.run_tool("--expect-hyp-fatal"), 1, "FAIL",
                           "no line with ESR_EL2")

    def test_expect_hyp_fatal_fails_a_clean_run(self):
        self.serial(GOOD)
        self.assertVerdict(self.run_tool("--expect-hyp-fatal"), 1, "FAIL",
                           "no '[hyp] FATAL: ' line")

    def test_expect_hyp_fatal_still_rejects_a_kernel_panic(self):
        self.serial(HYP_FATAL + "Kernel panic - not syncing: Attempted to kill init!\n")
        self.assertVerdict(self.run_tool("--expect-hyp-fatal"), 1, "FAIL", "Kernel panic")

    def test_expect_hyp_fatal_checks_the_exit_status(self):
        self.serial(HYP_FATAL)
        self.env["FAKE_QEMU_EXIT"] = "1"
        self.assertVerdict(self.run_tool("--expect-hyp-fatal"), 1, "FAIL",
                           "QEMU exited with status 1")

    def test_expect_hyp_fatal_keeps_expect(self):
        self.serial(HYP_FATAL)
        self.assertVerdict(self.run_tool("--expect-hyp-fatal", "--expect", "el2_crash_test"),
                           1, "FAIL", "--expect 'el2_crash_test' not matched")

    def test_hyp_fatal_without_the_option_still_fails(self):
        self.serial(HYP_FATAL)
        self.assertVerdict(self.run_tool(), 1, "FAIL", "[hyp] FATAL: unexpected exception")

    # ---- command line and setup ----

    def test_command_line_without_hyp(self):
        self.serial(GOOD)
        self.run_tool("--append", "hypheap_run=hh-sysinfo", "--qemu-arg=-s")
        argv = self.qemu_argv()
        self.assertEqual(argv[:10], ["-M", "virt,virtualization=on,gic-version=3",
                                     "-cpu", "cortex-a57", "-smp", "2", "-m", "512",
                                     "-nographic", "-no-reboot"])
        self.assertEqual(argv[argv.index("-kernel") + 1], str(self.kernel))
        self.assertEqual(argv[argv.index("-initrd") + 1], str(self.initrd))
        self.assertEqual(argv[argv.index("-append") + 1],
                         "console=ttyAMA0 hypheap_run=hh-sysinfo")
        self.assertNotIn("-device", argv)
        self.assertEqual(argv[-1], "-s")

    def test_cpu_replaces_the_configs_model(self):
        self.serial(GOOD)
        self.run_tool("--cpu", "cortex-a53")
        argv = self.qemu_argv()
        self.assertEqual(argv[argv.index("-cpu") + 1], "cortex-a53")
        self.assertEqual(argv.count("-cpu"), 1)

    def test_command_line_with_hyp_loads_linux_beside_it(self):
        self.serial(GOOD)
        self.run_tool("--hyp", str(self.hyp))
        argv = self.qemu_argv()
        self.assertEqual(argv[argv.index("-kernel") + 1], str(self.hyp))
        self.assertEqual(argv[argv.index("-device") + 1],
                         f"loader,file={self.kernel},addr=0x40400000,force-raw=on")
        self.assertEqual(argv[argv.index("-append") + 1], "console=ttyAMA0")

    def test_xen_dry_run_loads_dom0_and_the_receiver_beside_xen(self):
        self.config.write_text(CONFIG + XEN_CONFIG)
        domu = self.tmp / "rx.cpio.gz"
        domu.write_bytes(b"\0" * 64)
        result = self.run_tool("--dry-run", "--xen", str(self.hyp), "--domu-initrd", str(domu))
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        line = result.stdout
        self.assertIn(f"-m 2048 -nographic -no-reboot -nic none -kernel {self.hyp}", line)
        self.assertIn(f"loader,file={self.kernel},addr=0x50000000,force-raw=on", line)
        self.assertIn(f"loader,file={self.initrd},addr=0x52000000,force-raw=on", line)
        self.assertIn(f"loader,file={self.kernel},addr=0x5a000000,force-raw=on", line)
        self.assertIn(f"loader,file={domu},addr=0x5c000000,force-raw=on", line)
        self.assertIn("-dtb ", line)
        self.assertNotIn("-initrd", line)
        self.assertFalse(self.argv_file.exists())

    def test_xen_without_its_settings_is_a_setup_error(self):
        result = self.run_tool("--dry-run", "--xen", str(self.hyp))
        self.assertVerdict(result, 3, "FAIL", "lacks XEN_MEMORY_MB")

    def test_xen_images_that_overlap_are_a_setup_error(self):
        self.config.write_text(CONFIG + XEN_CONFIG.replace("0x52000000", "0x50000010"))
        result = self.run_tool("--dry-run", "--xen", str(self.hyp))
        self.assertVerdict(result, 3, "FAIL", "runs into")

    def test_expect_panic_passes_on_the_panic_and_its_expects(self):
        self.serial(BOOT + PANIC)
        result = self.run_tool("--expect-panic", "--expect", "FSC = 0x00")
        self.assertVerdict(result, 0, "PASS", "kernel panic as expected")

    def test_expect_panic_fails_a_clean_run(self):
        self.serial(GOOD)
        self.assertVerdict(self.run_tool("--expect-panic"), 1, "FAIL", "no 'Kernel panic' line")

    def test_expect_panic_keeps_expect(self):
        self.serial(BOOT + PANIC)
        result = self.run_tool("--expect-panic", "--expect", "copy_from_kernel_nofault")
        self.assertVerdict(result, 1, "FAIL", "not matched")

    def test_expect_panic_still_rejects_a_warning(self):
        self.serial(BOOT + "[    1.0] WARNING: CPU: 0 PID: 1 at x.c:1\n" + PANIC)
        self.assertVerdict(self.run_tool("--expect-panic"), 1, "FAIL", "WARNING:")

    def test_qemu_binary_from_environment(self):
        self.serial(GOOD)
        self.env["HYPHEAP_QEMU"] = str(FAKE_QEMU)
        self.assertVerdict(self.run_tool(fake=False), 0, "PASS", "1 passed")

    def test_dry_run_prints_without_running(self):
        result = self.run_tool("--dry-run", "--hyp", str(self.tmp / "not-built-yet.bin"))
        self.assertEqual(result.returncode, 0)
        self.assertIn("-device loader,file=", result.stdout)
        self.assertFalse(self.argv_file.exists())

    def test_echo_streams_the_serial_output(self):
        self.serial(GOOD)
        result = self.run_tool("--echo")
        self.assertIn(GOOD, result.stdout)

    def test_missing_kernel_is_a_setup_error(self):
        self.kernel.unlink()
        self.assertVerdict(self.run_tool(), 3, "FAIL", "--kernel")
        self.assertFalse(self.argv_file.exists())

    def test_incomplete_config_is_a_setup_error(self):
        self.config.write_text(CONFIG.replace("HOST_KERNEL_ADDR=0x40400000\n", ""))
        self.assertVerdict(self.run_tool(), 3, "FAIL", "lacks HOST_KERNEL_ADDR")

    def test_usage_error_is_a_setup_error_not_a_timeout(self):
        result = self.run_tool("--timeout")
        self.assertEqual(result.returncode, 3, result.stderr)

    def test_missing_qemu_binary_is_a_setup_error(self):
        result = self.run_tool("--qemu-binary", str(self.tmp / "no-qemu"), fake=False)
        self.assertVerdict(result, 3, "FAIL", "cannot start")


class LibvirtRunTest(unittest.TestCase):
    """--via libvirt against a fake virsh (fake_virsh.py, first on PATH as `virsh`), with
    QemuRunTest's fixture (not its tests)."""

    run_tool = QemuRunTest.run_tool

    def setUp(self):
        QemuRunTest.setUp(self)
        bin_dir = self.tmp / "bin"
        bin_dir.mkdir()
        (bin_dir / "virsh").symlink_to(HERE / "fake_virsh.py")
        self.virsh_dir = self.tmp / "virsh"
        self.virsh_dir.mkdir()
        self.env.update(PATH=f"{bin_dir}:{self.env['PATH']}", FAKE_VIRSH_DIR=str(self.virsh_dir),
                        HYPHEAP_LIBVIRT_STATE=str(self.tmp / "state"))

    def tearDown(self):
        for pid_file in self.virsh_dir.glob("*.pid"):
            try:
                os.kill(int(pid_file.read_text()), signal.SIGKILL)
            except ProcessLookupError:
                pass
        QemuRunTest.tearDown(self)

    def virsh_serial(self, text):
        output = self.tmp / "virsh-serial"
        output.write_text(text)
        self.env["FAKE_VIRSH_OUTPUT"] = str(output)

    def calls(self):
        return (self.virsh_dir / "calls").read_text().splitlines()

    def test_libvirt_run_passes_on_the_guest_markers(self):
        self.virsh_serial(GOOD)
        result = self.run_tool("--via", "libvirt", "--hyp", str(self.hyp))
        self.assertEqual(result.returncode, 0, result.stdout)
        self.assertIn("PASS (1 passed)", self.final)
        self.assertEqual(self.log.read_text(), GOOD)
        created = [c for c in self.calls() if c.startswith("create ")]
        self.assertEqual(len(created), 1)
        xml = Path(created[0].split()[1]).read_text()
        self.assertIn(f"<kernel>{self.hyp.resolve()}</kernel>", xml)
        self.assertIn(f"loader,file={self.kernel.resolve()},addr=0x40400000,force-raw=on", xml)
        self.assertIn("<memory unit=\"MiB\">512</memory>", xml)

    def test_libvirt_failed_program_fails(self):
        self.virsh_serial(BOOT + "HYPHEAP-TEST: hh-x FAIL exit 1\nHYPHEAP-DONE: 0 passed, 1 failed\n")
        result = self.run_tool("--via", "libvirt")
        self.assertEqual(result.returncode, 1)
        self.assertIn("1 failed", self.final)

    def test_libvirt_timeout_destroys_the_domain(self):
        self.virsh_serial(BOOT)
        self.env["FAKE_VIRSH_HANG"] = "1"
        result = self.run_tool("--via", "libvirt", "--timeout", "2")
        self.assertEqual(result.returncode, 2)
        self.assertTrue(any(c.startswith("destroy hypheap-scenario-") for c in self.calls()))
        self.assertEqual(list(self.virsh_dir.glob("*.pid")), [], "the domain was left running")

    def test_libvirt_hyp_fatal_stops_early(self):
        self.virsh_serial(BOOT + HYP_FATAL)
        self.env["FAKE_VIRSH_HANG"] = "1"
        started = time.monotonic()
        result = self.run_tool("--via", "libvirt", "--timeout", "50")
        self.assertEqual(result.returncode, 1)
        self.assertLess(time.monotonic() - started, 30)
        self.assertIn("[hyp] FATAL", self.final)
        self.assertEqual(list(self.virsh_dir.glob("*.pid")), [])

    def test_libvirt_dry_run_prints_the_domain(self):
        result = self.run_tool("--via", "libvirt", "--dry-run", "--append", "hypheap_run=x")
        self.assertEqual(result.returncode, 0)
        self.assertIn("<cmdline>console=ttyAMA0 hypheap_run=x</cmdline>", result.stdout)
        self.assertFalse((self.virsh_dir / "calls").exists())


if __name__ == "__main__":
    unittest.main()
