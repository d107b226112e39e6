#!/usr/bin/env bash
# Build the guest's initramfs: a gzip'd newc cpio, byte-for-byte reproducible.
#
#   tools/mkinitramfs.sh OUT.cpio.gz INIT [--module FILE.ko]... [--program FILE]...
#
# Layout: /init, /bin/<program>, /lib/modules/hypheap/<module>, and empty
# mount points /dev /proc /sys /sys/kernel/debug /tmp. No /dev/console node
# (making one needs root): the kernel's built-in initramfs (usr/default_cpio_list)
# already holds it, so init starts with a console; /init then mounts devtmpfs
# and reopens /dev/console from there anyway.
#
# Reproducible: names sorted in byte order, every mtime 0, owner 0:0, fixed
# modes, inode numbers renumbered, gzip without name or time stamp.
set -euo pipefail

usage() {
	echo "usage: $0 OUT.cpio.gz INIT [--module FILE.ko]... [--program FILE]..." >&2
	exit 2
}

die() {
	echo "mkinitramfs: $*" >&2
	exit 1
}

[ $# -ge 2 ] || usage
out=$1
init=$2
shift 2
modules=()
programs=()
while [ $# -gt 0 ]; do
	[ $# -ge 2 ] || usage
	case "$1" in
	--module) modules+=("$2") ;;
	--program) programs+=("$2") ;;
	*) usage ;;
	esac
	shift 2
done

# Copies FILE into the staging tree as DEST with MODE, refusing duplicates
# (two files of one name would silently shadow each other).
stage_file() {
	local file=$1 dest=$2 mode=$3
	[ -f "$file" ] || die "no such file: $file"
	[ ! -e "$dest" ] || die "two files would be $(basename "$dest"): $file"
	cp "$file" "$dest"
	chmod "$mode" "$dest"
}

stage=$(mktemp -d "${TMPDIR:-/tmp}/hypheap-initramfs.XXXXXX")
tmp_out=
trap 'rm -rf "$stage" $tmp_out' EXIT

mkdir -p "$stage"/{bin,dev,proc,sys/kernel/debug,tmp,lib/modules/hypheap}
chmod 0755 "$stage" "$stage"/{bin,dev,proc,sys,sys/kernel,sys/kernel/debug,lib,lib/modules,lib/modules/hypheap}
chmod 1777 "$stage/tmp"
stage_file "$init" "$stage/init" 0755
for p in "${programs[@]}"; do
	stage_file "$p" "$stage/bin/$(basename "$p")" 0755
done
for m in "${modules[@]}"; do
	stage_file "$m" "$stage/lib/modules/hypheap/$(basename "$m")" 0644
done
find "$stage" -exec touch -h -d @0 {} +

mkdir -p "$(dirname "$out")"
tmp_out=$(mktemp "$out.XXXXXX")
(
	cd "$stage"
	find . -mindepth 1 -printf '%P\n' | LC_ALL=C sort |
		cpio --quiet -o -H newc --owner=0:0 --reproducible
) | gzip -9 -n >"$tmp_out"
chmod 0644 "$tmp_out"
mv "$tmp_out" "$out"
