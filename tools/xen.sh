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
#
# Only the versions pinned below are taken, each checked against its SHA256 (the
# archive's, from apt-cache show): the newest of them apt offers. A version the archive
# no longer has (a security update replaced it) needs a new pin here, and a run of the
# xen scenarios with it.
set -euo pipefail

cache=${HYPHEAP_CACHE:-$HOME/.cache/hypheap}
pkg=xen-hypervisor-4.17-arm64:arm64
binary=boot/xen-4.17-arm64

# "version sha256-of-the-.deb" lines, newest first; only versions the xen scenarios passed on
pins="4.17.7+13-g2445b30a44-0+deb12u1 f76507aca2df2c1870d492406724e812f2b7ab822ee9a24c7634fc3e2cb1100e"

pinned_sha() {
	awk -v v="$1" '$1 == v { print $2 }' <<<"$pins"
}

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

# Every version apt offers, once the arm64 package lists are there.
offered() {
	apt-cache show "$pkg" 2>/dev/null | awk '/^Version:/ { print $2 }'
}

# The newest pinned version apt offers, or nothing.
pinned_offered() {
	local v have
	have=$(offered)
	while read -r v _; do
		if grep -qxF "$v" <<<"$have"; then
			echo "$v"
			return
		fi
	done <<<"$pins"
}

ensure_lists() {
	local v log
	v=$(pinned_offered)
	if [ -n "$v" ]; then
		echo "$v"
		return
	fi
	if ! dpkg --print-foreign-architectures | grep -qx arm64; then
		need_root "adding arm64 to dpkg" "dpkg --add-architecture arm64"
		$SUDO dpkg --add-architecture arm64
	fi
	need_root "apt-get update" "apt-get update"
	log=$(mktemp)
	if ! $SUDO apt-get update -qq >"$log" 2>&1; then
		echo "xen: 'apt-get update' failed; last lines of its log:" >&2
		tail -n 5 "$log" >&2
		rm -f "$log"
		exit 1
	fi
	rm -f "$log"
	v=$(pinned_offered)
	if [ -z "$v" ]; then
		echo "xen: apt offers none of the pinned versions of $pkg ($(offered | tr '\n' ' ')); pin one in tools/xen.sh" >&2
		exit 1
	fi
	echo "$v"
}

# The newest unpacked pinned version, whatever apt says now: a warm run asks nothing.
# The unpacked tree is trusted by its name and .done alone: the .deb's sha256 is checked
# only when it is unpacked, never again, so whoever can write the cache can change Xen.
cached_dir() {
	local d
	for d in "$cache"/xen-*; do
		if [ -f "$d/.done" ] && [ -n "$(pinned_sha "${d##*/xen-}")" ]; then echo "$d"; fi
	done | sort -V | tail -n 1
}

fetch() {
	local d v tmp deb sha
	d=$(cached_dir)
	if [ -n "$d" ]; then
		echo "$d/$binary"
		return
	fi
	v=$(ensure_lists)
	d=$cache/xen-$v
	tmp=$(mktemp -d "$cache/.xen.XXXXXX")
	(cd "$tmp" && apt-get download -q "$pkg=$v" >"$tmp/download.log" 2>&1) || {
		echo "xen: apt-get download $pkg=$v failed:" >&2
		tail -n 5 "$tmp/download.log" >&2
		rm -rf "$tmp"
		exit 1
	}
	deb=$(ls "$tmp"/*.deb)
	sha=$(sha256sum "$deb" | cut -d' ' -f1)
	if [ "$sha" != "$(pinned_sha "$v")" ]; then
		echo "xen: $(basename "$deb") has SHA256 $sha, not the pinned $(pinned_sha "$v")" >&2
		rm -rf "$tmp"
		exit 1
	fi
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
