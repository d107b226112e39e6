"""Boot a hypheap scenario as a libvirt domain: the domain XML, the daemons, the run.

Used by tools/qemu-run --via libvirt, which judges the serial log exactly as it judges a
direct QEMU run. The domain is generated from the same configs/qemu/virt.conf values and
the same scenario arguments as the QEMU command line, so the two cannot drift; the
committed configs/libvirt/hypheap.xml is this generator's output for the demo with
placeholder paths, checked by tests/tools/test_libvirt_domain.py.

libvirtd and virtlogd run as root without systemd (Debian 12's libvirt 9.0; the facts are in
docs/testing.md, "Through libvirt"): a run starts them when none runs, each with a pid file,
and stops them by pid when it is done. One run at a time on a machine (an flock), since the
daemons are the system's.
"""

import fcntl
import os
import signal
import subprocess
import time
import xml.etree.ElementTree as ET
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

URI = "qemu:///system"
QEMU_NS = "http://libvirt.org/schemas/domain/qemu/1.0"
STATE_DIR = Path(os.environ.get("HYPHEAP_LIBVIRT_STATE", "/run/hypheap-libvirt"))
QEMU_CONF = Path("/etc/libvirt/qemu.conf")
# What libvirt 9.0 needs to run QEMU as root with no systemd, no SELinux/AppArmor.
QEMU_CONF_TEXT = """\
# Written by hypheap's tools/libvirt_domain.py: QEMU runs as root, no security driver
# (a CI machine without systemd, AppArmor or SELinux). Remove to restore libvirt's defaults.
user = "root"
group = "root"
security_driver = "none"
"""
# libvirt resolves its compiled-in default user and group before it reads qemu.conf.
ACCOUNTS = (("group", "kvm"), ("group", "libvirt-qemu"), ("user", "libvirt-qemu"))
DIRS = ("/var/log/libvirt", "/var/run/libvirt", "/var/lib/libvirt/qemu")
DAEMON_START_SECONDS = 20.0
POLL_SECONDS = 0.25


class LibvirtError(Exception):
    """libvirt could not be set up or did not do what was asked."""


@dataclass
class Scenario:
    name: str        # domain name
    hyp: str         # hypervisor image, booted first (or the Linux Image without one)
    kernel: str      # Linux Image, loaded beside the hypervisor
    initrd: str
    cmdline: str
    log: str         # serial console file
    extra_args: tuple = ()  # QEMU arguments as they are (--qemu-arg)


def machine_parts(machine):
    """'virt,virtualization=on,gic-version=3,its=off' -> ('virt', '3', 'virtualization=on,its=off').

    libvirt has XML for the machine type and the GIC version; the other properties go to
    QEMU as a second -machine option, which QEMU merges with libvirt's own."""
    words = machine.split(",")
    gic = None
    rest = []
    for word in words[1:]:
        key, _, value = word.partition("=")
        if key == "gic-version":
            gic = value
        else:
            rest.append(word)
    return words[0], gic, ",".join(rest)


def domain_xml(scenario, config):
    """The domain for one scenario, from virt.conf's values (read_config of qemu-run)."""
    ET.register_namespace("qemu", QEMU_NS)
    machine, gic, machine_rest = machine_parts(config["QEMU_MACHINE"])
    dom = ET.Element("domain", {"type": "qemu"})
    ET.SubElement(dom, "name").text = scenario.name
    ET.SubElement(dom, "memory", {"unit": "MiB"}).text = config["QEMU_MEMORY_MB"]
    ET.SubElement(dom, "vcpu").text = config["QEMU_SMP"]
    os_el = ET.SubElement(dom, "os")
    ET.SubElement(os_el, "type", {"arch": "aarch64", "machine": machine}).text = "hvm"
    ET.SubElement(os_el, "kernel").text = scenario.hyp
    ET.SubElement(os_el, "initrd").text = scenario.initrd
    ET.SubElement(os_el, "cmdline").text = scenario.cmdline
    if gic:
        features = ET.SubElement(dom, "features")
        ET.SubElement(features, "gic", {"version": gic})
    cpu = ET.SubElement(dom, "cpu", {"mode": "custom", "match": "exact", "check": "none"})
    ET.SubElement(cpu, "model", {"fallback": "forbid"}).text = config["QEMU_CPU"]
    # Like -no-reboot: a guest that powers off or reboots ends the domain.
    for event in ("on_poweroff", "on_reboot", "on_crash"):
        ET.SubElement(dom, event).text = "destroy"
    devices = ET.SubElement(dom, "devices")
    ET.SubElement(devices, "emulator").text = "/usr/bin/qemu-system-aarch64"
    serial = ET.SubElement(devices, "serial", {"type": "file"})
    ET.SubElement(serial, "source", {"path": scenario.log, "append": "off"})
    ET.SubElement(serial, "target", {"port": "0"})
    # Nothing libvirt would add by default (a balloon, USB): the hyp gives the host only
    # the devices the platform file lists, and these would be DMA masters.
    ET.SubElement(devices, "controller", {"type": "usb", "model": "none"})
    ET.SubElement(devices, "memballoon", {"model": "none"})
    args = []
    if machine_rest:
        args += ["-machine", machine_rest]
    if scenario.kernel:
        args += ["-device", f"loader,file={scenario.kernel},addr={config['HOST_KERNEL_ADDR']},"
                            "force-raw=on"]
    args += list(scenario.extra_args)
    if args:
        cmdline = ET.SubElement(dom, f"{{{QEMU_NS}}}commandline")
        for arg in args:
            ET.SubElement(cmdline, f"{{{QEMU_NS}}}arg", {"value": arg})
    ET.indent(dom)
    return ET.tostring(dom, encoding="unicode") + "\n"


def virsh(*args, check=True, timeout=60):
    result = subprocess.run(["virsh", "-q", "-c", URI, *args], capture_output=True, text=True,
                            timeout=timeout)
    if check and result.returncode != 0:
        raise LibvirtError(f"virsh {' '.join(args)}: {result.stderr.strip()}")
    return result


def ensure_host_setup():
    """The accounts, directories and qemu.conf libvirt needs (idempotent)."""
    for kind, name in ACCOUNTS:
        lookup = ["getent", "group" if kind == "group" else "passwd", name]
        if subprocess.run(lookup, capture_output=True).returncode == 0:
            continue
        if kind == "group":
            cmd = ["groupadd", "-r", name]
        else:
            cmd = ["useradd", "-r", "-g", "libvirt-qemu", "-d", "/var/lib/libvirt",
                   "-s", "/usr/sbin/nologin", name]
        if subprocess.run(cmd, capture_output=True).returncode != 0:
            raise LibvirtError(f"cannot create {kind} {name} (root needed): {' '.join(cmd)}")
    for path in DIRS:
        os.makedirs(path, exist_ok=True)
    if not QEMU_CONF.exists() or QEMU_CONF.read_text() != QEMU_CONF_TEXT:
        if QEMU_CONF.exists() and "hypheap" not in QEMU_CONF.read_text():
            raise LibvirtError(f"{QEMU_CONF} exists and is not hypheap's: it must set user and "
                               'group "root" and security_driver "none"')
        QEMU_CONF.parent.mkdir(parents=True, exist_ok=True)
        QEMU_CONF.write_text(QEMU_CONF_TEXT)


def libvirtd_answers():
    try:
        return virsh("uri", check=False, timeout=10).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def start_daemon(binary, pid_file):
    pid_file.unlink(missing_ok=True)
    result = subprocess.run([binary, "--daemon", "--pid-file", str(pid_file)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise LibvirtError(f"{binary} --daemon: {result.stderr.strip()}")


def stop_daemon(pid_file):
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return
    try:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            os.kill(pid, 0)
            time.sleep(POLL_SECONDS)
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    pid_file.unlink(missing_ok=True)


@contextmanager
def daemons():
    """libvirtd and virtlogd for the duration of the block: ours when none runs (stopped by
    pid afterwards), the system's when it already has them (left alone)."""
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    with open(STATE_DIR / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        started = []
        try:
            if not libvirtd_answers():
                ensure_host_setup()
                for binary in ("virtlogd", "libvirtd"):
                    pid_file = STATE_DIR / f"{binary}.pid"
                    start_daemon(binary, pid_file)
                    started.append(pid_file)
                deadline = time.monotonic() + DAEMON_START_SECONDS
                while not libvirtd_answers():
                    if time.monotonic() >= deadline:
                        raise LibvirtError(f"libvirtd did not answer on {URI} within "
                                           f"{DAEMON_START_SECONDS:g}s")
                    time.sleep(POLL_SECONDS)
            yield
        finally:
            for pid_file in reversed(started):
                stop_daemon(pid_file)


def domain_running(name):
    """True while the transient domain exists and is not shut off."""
    result = virsh("domstate", name, check=False, timeout=30)
    return result.returncode == 0 and result.stdout.strip() not in ("shut off", "crashed")


def destroy(name):
    virsh("destroy", name, check=False, timeout=30)
