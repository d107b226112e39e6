#!/usr/bin/env python3
"""Tests of tools/mkinitramfs.sh: layout, reproducibility, refusals."""

import gzip
import os
import subprocess
import tempfile
import time
import unittest
from pathlib import Path

MKINITRAMFS = Path(__file__).resolve().parent.parent.parent / "tools" / "mkinitramfs.sh"


def cpio_listing(archive):
    """`cpio -itv` of a gzip'd archive: mode, owner and name of each entry."""
    listing = subprocess.run(["cpio", "-itv", "--quiet"], input=gzip.decompress(archive.read_bytes()),
                             capture_output=True, check=True).stdout.decode()
    rows = []
    for line in listing.splitlines():
        fields = line.split()
        rows.append((fields[0], fields[2], fields[3], fields[-1]))
    return rows


class MkInitramfsTest(unittest.TestCase):

    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="mkinitramfs-test.")
        self.tmp = Path(self._tmp.name)
        self.init = self.write("init", b"\x7fELF init")
        self.prog = self.write("hh-prog", b"\x7fELF prog")
        self.module = self.write("hypheap.ko", b"\x7fELF module")

    def tearDown(self):
        self._tmp.cleanup()

    def write(self, name, data, directory=None):
        path = (directory or self.tmp) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path

    def build(self, out, *extra):
        return subprocess.run([str(MKINITRAMFS), str(out), str(self.init), *extra],
                              capture_output=True, text=True)

    def test_layout(self):
        out = self.tmp / "out" / "initramfs.cpio.gz"
        result = self.build(out, "--program", str(self.prog), "--module", str(self.module))
        self.assertEqual(result.returncode, 0, result.stderr)
        rows = cpio_listing(out)
        names = [row[3] for row in rows]
        self.assertEqual(names, sorted(names))
        self.assertEqual(set(names), {
            "bin", "bin/hh-prog", "dev", "init", "lib", "lib/modules", "lib/modules/hypheap",
            "lib/modules/hypheap/hypheap.ko", "proc", "sys", "sys/kernel", "sys/kernel/debug",
            "tmp"})
        modes = {row[3]: row[0] for row in rows}
        self.assertEqual(modes["init"], "-rwxr-xr-x")
        self.assertEqual(modes["bin/hh-prog"], "-rwxr-xr-x")
        self.assertEqual(modes["lib/modules/hypheap/hypheap.ko"], "-rw-r--r--")
        self.assertEqual(modes["tmp"], "drwxrwxrwt")
        self.assertTrue(all(row[1:3] == ("root", "root") for row in rows), rows)

    def test_two_runs_give_identical_bytes(self):
        first, second = self.tmp / "a.cpio.gz", self.tmp / "b.cpio.gz"
        self.assertEqual(self.build(first, "--program", str(self.prog)).returncode, 0)
        # Different input mtimes and modes must not leak into the archive.
        time.sleep(1.1)
        os.utime(self.prog)
        self.prog.chmod(0o700)
        self.assertEqual(self.build(second, "--program", str(self.prog)).returncode, 0)
        self.assertEqual(first.read_bytes(), second.read_bytes())

    def test_two_files_of_one_name_are_refused(self):
        other = self.write("hh-prog", b"other", self.tmp / "elsewhere")
        result = self.build(self.tmp / "x.cpio.gz", "--program", str(self.prog),
                            "--program", str(other))
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("two files would be hh-prog", result.stderr)
        self.assertFalse((self.tmp / "x.cpio.gz").exists())

    def test_missing_input_is_refused(self):
        result = self.build(self.tmp / "x.cpio.gz", "--module", str(self.tmp / "absent.ko"))
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("no such file", result.stderr)
        self.assertEqual(list(self.tmp.glob("x.cpio.gz*")), [])


if __name__ == "__main__":
    unittest.main()
