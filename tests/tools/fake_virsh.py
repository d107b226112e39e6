#!/usr/bin/env python3
"""A stand-in for virsh in the tests of tools/qemu-run --via libvirt.

Answers `uri` (so the launcher finds a libvirtd and starts none), `create FILE`, `domstate
NAME` and `destroy NAME`. `create` starts a detached "domain": a child that writes the bytes
of FAKE_VIRSH_OUTPUT to the serial file named in the XML and then shuts off, or with
FAKE_VIRSH_HANG=1 keeps running until destroyed. State lives in FAKE_VIRSH_DIR:
<name>.pid while the domain runs, and `calls` (one line per invocation) for the asserts.
"""

import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

STATE = Path(os.environ["FAKE_VIRSH_DIR"])


def domain(xml_path):
    dom = ET.parse(xml_path).getroot()
    return dom.find("name").text, dom.find("devices/serial/source").get("path")


def run_domain(serial_path):
    """The child: the guest's serial output, then power off (or hang)."""
    output = os.environ.get("FAKE_VIRSH_OUTPUT")
    with open(serial_path, "wb") as serial:
        if output:
            serial.write(Path(output).read_bytes())
    if os.environ.get("FAKE_VIRSH_HANG") == "1":
        while True:
            time.sleep(60)


def main(argv):
    args = [a for a in argv if a not in ("-q",)]
    if args[:1] == ["-c"]:
        args = args[2:]
    with open(STATE / "calls", "a") as calls:
        calls.write(" ".join(args) + "\n")
    cmd, rest = args[0], args[1:]
    if cmd == "uri":
        print("qemu:///system")
        return 0
    if cmd == "create":
        name, serial_path = domain(rest[0])
        child = subprocess.Popen([sys.executable, __file__, "--domain", serial_path],
                                 env=os.environ, start_new_session=True, stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        (STATE / f"{name}.pid").write_text(f"{child.pid}\n")
        return 0
    pid_file = STATE / f"{rest[0]}.pid" if rest else None
    if cmd == "domstate":
        if pid_file is None or not pid_file.exists():
            print(f"error: failed to get domain '{rest[0] if rest else ''}'", file=sys.stderr)
            return 1
        pid = int(pid_file.read_text())
        stat = Path(f"/proc/{pid}/stat")
        running = stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
        print("running" if running else "shut off")
        return 0
    if cmd == "destroy":
        if pid_file is None or not pid_file.exists():
            return 1
        try:
            os.kill(int(pid_file.read_text()), signal.SIGKILL)
        except ProcessLookupError:
            pass
        pid_file.unlink()
        return 0
    print(f"fake virsh: unknown command {cmd}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    if sys.argv[1:2] == ["--domain"]:
        run_domain(sys.argv[2])
        sys.exit(0)
    sys.exit(main(sys.argv[1:]))
