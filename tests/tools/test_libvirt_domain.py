"""tools/libvirt_domain.py: the domain XML is virt.conf's machine, valid for libvirt, and the
committed configs/libvirt/hypheap.xml is what the generator makes (so the two cannot drift).

    tests/tools/test_libvirt_domain.py [--regenerate]   (rewrites the committed file)
"""

import shutil
import subprocess
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ET
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(REPO / "tools"))
import libvirt_domain  # noqa: E402

VIRT_CONF = REPO / "configs" / "qemu" / "virt.conf"
COMMITTED = REPO / "configs" / "libvirt" / "hypheap.xml"
QEMU_NS = "{" + libvirt_domain.QEMU_NS + "}"


def read_conf(path):
    config = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            config[key.strip()] = value.strip()
    return config


# The demo (make run VIA=libvirt). Paths depend on the machine, so the committed file has
# absolute placeholders (libvirt's schema wants absolute paths): /HYPHEAP_BUILD is the
# repository's build/, /HYPHEAP_KERNEL_BUILD the cached kernel build (tools/kernel.sh dir).
DEMO = libvirt_domain.Scenario(
    name="hypheap-demo", hyp="/HYPHEAP_BUILD/el2/hyp/arch/arm64/hypheap-hyp.bin",
    kernel="/HYPHEAP_KERNEL_BUILD/arch/arm64/boot/Image",
    initrd="/HYPHEAP_BUILD/initramfs.cpio.gz",
    cmdline="console=ttyAMA0 hypheap_load=hypheap.ko hypheap_run=hh-sysinfo,hypheap-demo",
    log="/HYPHEAP_BUILD/logs/run.log")


def demo_xml():
    return libvirt_domain.domain_xml(DEMO, read_conf(VIRT_CONF))


class LibvirtDomainTest(unittest.TestCase):
    def test_committed_domain_is_the_generated_one(self):
        self.assertEqual(COMMITTED.read_text(), demo_xml(),
                         "configs/libvirt/hypheap.xml drifted from configs/qemu/virt.conf or "
                         "the generator: run tests/tools/test_libvirt_domain.py --regenerate")

    def test_domain_is_the_machine_of_virt_conf(self):
        conf = read_conf(VIRT_CONF)
        dom = ET.fromstring(demo_xml())
        machine, gic, rest = libvirt_domain.machine_parts(conf["QEMU_MACHINE"])
        self.assertEqual(dom.find("os/type").get("machine"), machine)
        self.assertEqual(dom.find("features/gic").get("version"), gic)
        self.assertEqual(dom.find("memory").text, conf["QEMU_MEMORY_MB"])
        self.assertEqual(dom.find("memory").get("unit"), "MiB")
        self.assertEqual(dom.find("vcpu").text, conf["QEMU_SMP"])
        self.assertEqual(dom.find("cpu/model").text, conf["QEMU_CPU"])
        args = [a.get("value") for a in dom.find(QEMU_NS + "commandline")]
        self.assertEqual(args[0:2], ["-machine", rest])
        self.assertIn(f"addr={conf['HOST_KERNEL_ADDR']}", args[3])

    def test_machine_properties_split_between_xml_and_qemu(self):
        self.assertEqual(libvirt_domain.machine_parts("virt,virtualization=on,gic-version=3,its=off"),
                         ("virt", "3", "virtualization=on,its=off"))
        self.assertEqual(libvirt_domain.machine_parts("virt"), ("virt", None, ""))

    def test_libvirt_accepts_the_domain(self):
        validate = shutil.which("virt-xml-validate")
        self.assertIsNotNone(validate, "virt-xml-validate missing (libvirt-clients, tools/deps.sh)")
        with tempfile.NamedTemporaryFile("w", suffix=".xml") as f:
            f.write(demo_xml())
            f.flush()
            result = subprocess.run([validate, f.name, "domain"], capture_output=True, text=True)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)

    def test_no_default_dma_masters(self):
        dom = ET.fromstring(demo_xml())
        self.assertEqual(dom.find("devices/memballoon").get("model"), "none")
        self.assertEqual(dom.find("devices/controller[@type='usb']").get("model"), "none")


if __name__ == "__main__":
    if "--regenerate" in sys.argv:
        COMMITTED.write_text(demo_xml())
        print(f"wrote {COMMITTED}")
    else:
        unittest.main()
