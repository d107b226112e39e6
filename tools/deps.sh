#!/usr/bin/env bash
# Install the Debian packages hypheap needs, only when something is missing.
#
# Idempotent: when every package is present this is one dpkg-query and exits in
# well under a second. Needs root (or passwordless sudo) only to install.
set -euo pipefail

# One package a line: the binary it provides is what the build calls.
PACKAGES=(
	# cross toolchain for the guest user space and the EL2 hypervisor
	gcc-aarch64-linux-gnu g++-aarch64-linux-gnu binutils-aarch64-linux-gnu
	# emulator (qemu-system-aarch64)
	qemu-system-arm
	# kernel source and what building it needs
	linux-source-6.1 xz-utils patch bc flex bison libssl-dev libelf-dev cpio kmod rsync
	# the kernel's static checker (make C=2, lint.sparse)
	sparse
	# device trees
	device-tree-compiler
	# host C++: build, tests, sanitizers, fuzzing, benchmarks
	make cmake g++ clang clang-format libclang-rt-14-dev libgtest-dev libgmock-dev googletest
	libbenchmark-dev
	# test glue (KTAP parsing with the kernel's kunit.py, the QEMU launcher)
	python3
	# make bench's plot (tools/bench-report runs Debian's /usr/bin/python3)
	python3-matplotlib
	# scenarios booted as libvirt domains (virsh, virt-xml-validate, libvirtd, virtlogd)
	libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients
)

missing=()
for p in "${PACKAGES[@]}"; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$status" = installed ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi

echo "deps: missing Debian packages: ${missing[*]}"

SUDO=
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
		SUDO=sudo
	else
		echo "deps: not root and no passwordless sudo; install them with:" >&2
		echo "  apt-get update && apt-get install -y ${missing[*]}" >&2
		exit 1
	fi
fi

export DEBIAN_FRONTEND=noninteractive
if ! $SUDO apt-get update -qq >/tmp/hypheap-apt-update.log 2>&1; then
	echo "deps: 'apt-get update' failed (is the package registry reachable?)." >&2
	tail -n 5 /tmp/hypheap-apt-update.log >&2
	exit 1
fi
if ! $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" \
	>/tmp/hypheap-apt-install.log 2>&1; then
	echo "deps: 'apt-get install' failed; last lines of its log:" >&2
	tail -n 15 /tmp/hypheap-apt-install.log >&2
	exit 1
fi
echo "deps: installed ${#missing[@]} package(s)"
