# hypheap top-level driver.
#
#   make run     boot the guest under QEMU and show what it runs (the demo); VIA=libvirt
#                boots it as a libvirt domain
#   make run-xen boot Xen 4.17 with Linux as dom0 and the xen transport's receiver
#                domain, run the Xen experiments and show the heaps (docs/xen.md)
#   make test    build everything and run every test through CTest
#   make bench   benchmarks only (CTest label "bench"), then the comparison table and plot
#   make mutants mutation testing (tools/mutants.txt); MUTANTS=host|qemu|all (default all)
#
# Artifacts go to build/ (in the repository, ignored by git); the kernel build
# goes to a cache outside it (HYPHEAP_CACHE, default ~/.cache/hypheap), keyed by
# kernel version and config fragment hash, so a warm run compiles no kernel.

.DEFAULT_GOAL := all
PUBLIC_GOALS := all test run run-xen bench kernel modules guest hyp initramfs host checkpatch mutants

# The first pass only makes sure the Debian packages are there, then re-enters
# make: the second pass may then ask the toolchain and dpkg for paths.
ifeq ($(HYPHEAP_DEPS_CHECKED),)

$(PUBLIC_GOALS):
	@tools/deps.sh
	@tools/xen.sh fetch >/dev/null
	@$(MAKE) --no-print-directory HYPHEAP_DEPS_CHECKED=1 $@

clean:
	rm -rf build

.PHONY: $(PUBLIC_GOALS) clean

else

JOBS ?= $(shell nproc)
BUILD := $(CURDIR)/build
KERNEL_SRC := $(shell tools/kernel.sh src)
KERNEL_BUILD := $(shell tools/kernel.sh dir)
KERNEL_IMAGE := $(KERNEL_BUILD)/arch/arm64/boot/Image
INITRAMFS := $(BUILD)/initramfs.cpio.gz
XEN_RX_INITRAMFS := $(BUILD)/xen-receiver.cpio.gz
HYP_IMAGE := $(BUILD)/el2/hyp/arch/arm64/hypheap-hyp.bin
# make bench's control: the same hyp with no branch-predictor hardening, never for use.
HYP_UNHARDENED_IMAGE := $(BUILD)/el2-unhardened/hyp/arch/arm64/hypheap-hyp.bin
XEN_IMAGE := $(shell tools/xen.sh path)
CMAKE_QUIET := -DCMAKE_RULE_MESSAGES=OFF --no-warn-unused-cli

all: host initramfs hyp

kernel:
	@tools/kernel.sh build | sed 's/^/kernel release: /'

modules: kernel
	@$(MAKE) --no-print-directory -C kernel -j$(JOBS) HYPHEAP_WERROR=1 \
		KERNEL_SRC=$(KERNEL_SRC) KERNEL_BUILD=$(KERNEL_BUILD)

checkpatch: kernel
	@$(MAKE) --no-print-directory -C kernel checkpatch \
		KERNEL_SRC=$(KERNEL_SRC) KERNEL_BUILD=$(KERNEL_BUILD)

guest:
	@cmake -S . -B $(BUILD)/guest -DCMAKE_BUILD_TYPE=Release $(CMAKE_QUIET) \
		-DHYPHEAP_KERNEL_SRC=$(KERNEL_SRC) \
		-DCMAKE_TOOLCHAIN_FILE=$(CURDIR)/cmake/aarch64-linux.cmake >/dev/null
	@cmake --build $(BUILD)/guest -j$(JOBS)

hyp:
	@cmake -S . -B $(BUILD)/el2 -DCMAKE_BUILD_TYPE=Release $(CMAKE_QUIET) \
		-DHYPHEAP_MEASURE_UNHARDENED=OFF \
		-DCMAKE_TOOLCHAIN_FILE=$(CURDIR)/cmake/aarch64-el2.cmake >/dev/null
	@cmake --build $(BUILD)/el2 -j$(JOBS)

# Every module and every guest program goes in; the scenario's kernel command
# line picks what runs (docs/testing.md).
# The xen transport's receiver domain boots its own tiny one (docs/xen.md).
initramfs: modules guest
	@tools/mkinitramfs.sh $(INITRAMFS) $(BUILD)/guest/init \
		$(foreach m,$(wildcard kernel/*.ko),--module $(m)) \
		$$(sed 's|^|--program $(BUILD)/guest/|' $(BUILD)/guest/guest-programs.txt)
	@tools/mkinitramfs.sh $(XEN_RX_INITRAMFS) $(BUILD)/guest/hh-xen-receiver-init \
		--module kernel/hypheap_xen_rx.ko

# The host build compiles the boot code's libfdt from the kernel tree (tests/boot), and
# the KUnit tests parse with the tree's kunit.py: the source must be unpacked first.
host: kernel
	@cmake -S . -B $(BUILD)/host -DCMAKE_BUILD_TYPE=Debug $(CMAKE_QUIET) \
		-DHYPHEAP_KERNEL_SRC=$(KERNEL_SRC) \
		-DHYPHEAP_KERNEL_BUILD=$(KERNEL_BUILD) \
		-DHYPHEAP_KERNEL_IMAGE=$(KERNEL_IMAGE) \
		-DHYPHEAP_INITRAMFS=$(INITRAMFS) \
		-DHYPHEAP_XEN_IMAGE=$(XEN_IMAGE) \
		-DHYPHEAP_XEN_RX_INITRAMFS=$(XEN_RX_INITRAMFS) \
		-DHYPHEAP_HYP_IMAGE=$(HYP_IMAGE) \
		-DHYPHEAP_HYP_UNHARDENED_IMAGE=$(HYP_UNHARDENED_IMAGE) >/dev/null
	@cmake --build $(BUILD)/host -j$(JOBS)

test: all
	@cd $(BUILD)/host && ctest --output-on-failure -j$(JOBS) -LE bench

# The benchmarks, then the comparison table and plot from the benchmark boot's serial log
# (build/bench/comparison.{md,json,svg}, docs/performance.md).
bench: all
	@cmake -S . -B $(BUILD)/el2-unhardened -DCMAKE_BUILD_TYPE=Release $(CMAKE_QUIET) \
		-DHYPHEAP_MEASURE_UNHARDENED=ON \
		-DCMAKE_TOOLCHAIN_FILE=$(CURDIR)/cmake/aarch64-el2.cmake >/dev/null
	@cmake --build $(BUILD)/el2-unhardened -j$(JOBS)
	@cd $(BUILD)/host && ctest --output-on-failure -V -L bench
	@tools/bench-report --out $(BUILD)/bench $(BUILD)/logs/bench.log
	@tools/bench-report --out $(BUILD)/bench-a53 $(BUILD)/logs/bench-a53.log
	@tools/bench-report --out $(BUILD)/bench-unhardened $(BUILD)/logs/bench-unhardened.log

# Not part of make test (each QEMU mutant is a rebuild and a boot): tools/mutants works in a
# scratch copy of the tree under build/mutants and builds what it needs there itself.
MUTANTS ?= all
mutants:
	@tools/mutants --set $(MUTANTS)

# The demo: Linux as the deprivileged host under the hypervisor. VIA=libvirt boots the same
# machine as a libvirt domain (configs/libvirt/hypheap.xml is that domain).
VIA ?= qemu
DEMO_QEMU_ARGS := $(shell grep -v '^\#' configs/qemu/demo.args)
run: initramfs hyp
	@tools/qemu-run --name run --via $(VIA) --echo --hyp $(HYP_IMAGE) --kernel $(KERNEL_IMAGE) \
		--initrd $(INITRAMFS) --log $(BUILD)/logs/run.log \
		$(foreach a,$(DEMO_QEMU_ARGS),--qemu-arg=$(a)) \
		--append "hypheap_load=hypheap.ko,hypheap_dmaprobe.ko hypheap_run=hh-sysinfo,hypheap-demo"

# Xen 4.17 (tools/xen.sh) with Linux as dom0 and the receiver domain: the experiments of
# hypheap_xen_ktest.ko, then what the heaps and the transport say (docs/xen.md).
run-xen: initramfs
	@tools/qemu-run --name run-xen --echo --xen $(XEN_IMAGE) --kernel $(KERNEL_IMAGE) \
		--initrd $(INITRAMFS) --domu-initrd $(XEN_RX_INITRAMFS) --log $(BUILD)/logs/run-xen.log \
		--timeout 600 --append "hypheap_load=hypheap.ko,hypheap_xen_ktest.ko hypheap_run=hh-sysinfo,hypheap-xen-demo"

.PHONY: $(PUBLIC_GOALS)

endif
