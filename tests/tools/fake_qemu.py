#!/usr/bin/env python3
"""A stand-in for qemu-system-aarch64 in the tests of tools/qemu-run.

Driven by environment variables, all optional:
  FAKE_QEMU_ARGV        write the command line here, one argument a line
  FAKE_QEMU_OUTPUT      file whose bytes are written to stdout, as a serial log
  FAKE_QEMU_HANG        "1": after the output, start a grandchild (its pid goes
                        to FAKE_QEMU_CHILD_PID, ours to FAKE_QEMU_PID) and never
                        exit, like a hung VM
  FAKE_QEMU_EXIT        exit status (default 0)
"""

import os
import subprocess
import sys
import time


def main():
    argv_file = os.environ.get("FAKE_QEMU_ARGV")
    if argv_file:
        with open(argv_file, "w") as out:
            out.write("\n".join(sys.argv) + "\n")
    output = os.environ.get("FAKE_QEMU_OUTPUT")
    if output:
        with open(output, "rb") as log:
            sys.stdout.buffer.write(log.read())
        sys.stdout.buffer.flush()
    if os.environ.get("FAKE_QEMU_HANG") == "1":
        child = subprocess.Popen(["sleep", "600"])
        with open(os.environ["FAKE_QEMU_PID"], "w") as out:
            out.write(f"{os.getpid()}\n")
        with open(os.environ["FAKE_QEMU_CHILD_PID"], "w") as out:
            out.write(f"{child.pid}\n")
        while True:
            time.sleep(60)
    return int(os.environ.get("FAKE_QEMU_EXIT", "0"))


if __name__ == "__main__":
    sys.exit(main())
