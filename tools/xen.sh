#!/usr/bin/env bash
# Fetch Debian's arm64 Xen 4.17 hypervisor into the cache outside the repository.
#
#   tools/xen.sh fetch   download and unpack it if the cache has none, then print the
#                        path of the hypervisor binary (boot/xen-4.17-arm64)
#   tools/xen.sh path    print that path without fetching
#
# The package is xen-hypervisor-4.17-arm64:arm64 (bookworm), taken with apt-get
# download after adding the arm64 architecture to dpkg: nothing is installed on the
# build machine, the .deb is only unpacked (dpkg -x) into $HYPHEAP_CACHE/xen-<version>.
# Adding the architecture and apt-get update need root (or passwordless sudo).
set -euo pipefail

cache=${HYPHEAP_CACHE:-$HOME/.cache/hypheap}
pkg=xen-hypervisor-4.17-arm64:arm64
binary=boot/xen-4.17-arm64

SUDO=
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
		SUDO=sudo
	fi
fi

need_root() {
	if [ "$(id -u)" -ne 0 ] && [ -z "$SUDO" ]; then
		echo "xen: $1 needs root; run as root: $2" >&2
		exit 1
	fi
}

# The candidate version, once the arm64 package lists are there.
candidate() {
	apt-cache policy "$pkg" 2>/dev/null | awk '/Candidate:/ { print $2 }'
}

ensure_lists() {
	local v
	v=$(candidate)
	if [ -n "$v" ] && [ "$v" != "(none)" ]; then
		echo "$v"
		return
	fi
	if ! dpkg --print-foreign-architectures | grep -qx arm64; then
		need_root "adding arm64 to dpkg" "dpkg --add-architecture arm64"
		$SUDO dpkg --add-architecture arm64
	fi
	need_root "apt-get update" "apt-get update"
	if ! $SUDO apt-get update -qq >/tmp/hypheap-xen-apt-update.log 2>&1; then
		echo "xen: 'apt-get update' failed; last lines of its log:" >&2
		tail -n 5 /tmp/hypheap-xen-apt-update.log >&2
		exit 1
	fi
	v=$(candidate)
	if [ -z "$v" ] || [ "$v" = "(none)" ]; then
		echo "xen: no candidate for $pkg after apt-get update" >&2
		exit 1
	fi
	echo "$v"
}

# The newest unpacked version, whatever apt says now: a warm run asks nothing.
cached_dir() {
	local d
	for d in "$cache"/xen-*; do
		if [ -f "$d/.done" ]; then echo "$d"; fi
	done | sort -V | tail -n 1
}

fetch() {
	local d v tmp deb
	d=$(cached_dir)
	if [ -n "$d" ]; then
		echo "$d/$binary"
		return
	fi
	v=$(ensure_lists)
	d=$cache/xen-$v
	tmp=$(mktemp -d "$cache/.xen.XXXXXX")
	(cd "$tmp" && apt-get download -q "$pkg=$v" >/tmp/hypheap-xen-download.log 2>&1) || {
		echo "xen: apt-get download $pkg=$v failed:" >&2
		tail -n 5 /tmp/hypheap-xen-download.log >&2
		rm -rf "$tmp"
		exit 1
	}
	deb=$(ls "$tmp"/*.deb)
	mkdir -p "$tmp/root"
	dpkg -x "$deb" "$tmp/root"
	# The arm64 Image header ("ARM\x64" at 0x38): QEMU loads it as a kernel.
	if [ "$(dd if="$tmp/root/$binary" bs=1 skip=56 count=4 2>/dev/null | od -An -tx1 | tr -d ' ')" != 41524d64 ]; then
		echo "xen: $binary in $deb has no arm64 Image header" >&2
		rm -rf "$tmp"
		exit 1
	fi
	rm -rf "$d"
	mv "$tmp/root" "$d"
	basename "$deb" >"$d/.done"
	rm -rf "$tmp"
	echo "xen: unpacked $(cat "$d/.done") into $d" >&2
	echo "$d/$binary"
}

mkdir -p "$cache"
case "${1:-fetch}" in
fetch)
	exec 9>"$cache/.xen-lock"
	flock 9
	fetch
	;;
path)
	d=$(cached_dir)
	[ -n "$d" ] || { echo "xen: not fetched yet (tools/xen.sh fetch)" >&2; exit 1; }
	echo "$d/$binary"
	;;
*)
	echo "usage: $0 [fetch|path]" >&2
	exit 2
	;;
esac
