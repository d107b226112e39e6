#!/usr/bin/env bash
# Build the guest kernel (Image + modules) into a cache outside the repository.
#
#   tools/kernel.sh dir     print the build directory for the current key
#   tools/kernel.sh src     print the source directory
#   tools/kernel.sh build   build if the cache has no finished build, then
#                           print the kernel release
#
# The source is Debian's linux-source-6.1 package with configs/kernel/patches/
# applied, unpacked once per package version and patch set. The build is keyed
# by package version, fragment, patches and cross compiler version, so a warm
# run costs no compile and a changed fragment never reuses a stale .config.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
fragment=$top/configs/kernel/hypheap.config
patches=("$top"/configs/kernel/patches/*.patch)
cache=${HYPHEAP_CACHE:-$HOME/.cache/hypheap}
tarball=/usr/src/linux-source-6.1.tar.xz
cross=${CROSS_COMPILE:-aarch64-linux-gnu-}
jobs=${JOBS:-$(($(nproc) + 1))}

pkgver=$(dpkg-query -W -f='${Version}' linux-source-6.1)
ccver=$("${cross}gcc" -dumpfullversion)
patch_key=$(cat "${patches[@]}" | sha256sum | cut -c1-8)
key=$(cat "$fragment" "$0" "${patches[@]}" <(echo "$pkgver $ccver") | sha256sum | cut -c1-12)
src=$cache/linux-source-$pkgver-$patch_key
out=$cache/linux-build-$pkgver-$key
kmake=(make -s -C "$src" O="$out" ARCH=arm64 CROSS_COMPILE="$cross")

unpack_source() {
	[ -f "$src/.unpacked" ] && return
	echo "kernel: unpacking $tarball (linux-source $pkgver)"
	local tmp
	tmp=$(mktemp -d "$cache/.unpack.XXXXXX")
	tar -xJf "$tarball" -C "$tmp" --strip-components=1
	local p
	for p in "${patches[@]}"; do
		echo "kernel: applying $(basename "$p")"
		patch -s -p1 -d "$tmp" <"$p"
	done
	rm -rf "$src"
	mv "$tmp" "$src"
	touch "$src/.unpacked"
}

# Every CONFIG_X=v line must appear verbatim in .config; every "# CONFIG_X is
# not set" line must not be set. Kconfig silently drops what a dependency
# forbids, which is exactly the failure this catches.
check_fragment() {
	local bad=0 line sym
	while IFS= read -r line; do
		case "$line" in
		CONFIG_*=*)
			grep -qxF -- "$line" "$out/.config" && continue
			sym=${line%%=*}
			echo "kernel: fragment option did not take: $line" \
				"(.config has: $(grep -E "^(# )?$sym[= ]" "$out/.config" || echo absent))" >&2
			bad=1
			;;
		"# CONFIG_"*" is not set")
			sym=${line#\# }
			sym=${sym%% *}
			if grep -q "^$sym=" "$out/.config"; then
				echo "kernel: fragment option did not take: $line" \
					"(.config has: $(grep "^$sym=" "$out/.config"))" >&2
				bad=1
			fi
			;;
		esac
	done <"$fragment"
	return $bad
}

build() {
	if [ -f "$out/.done" ]; then
		cat "$out/.done"
		return
	fi
	unpack_source
	mkdir -p "$out"
	echo "kernel: configuring $out"
	KCONFIG_ALLCONFIG=$fragment "${kmake[@]}" allnoconfig
	"${kmake[@]}" olddefconfig
	check_fragment
	echo "kernel: building Image and modules with -j$jobs (about 5 min cold on 2 cores)"
	"${kmake[@]}" -j"$jobs" Image modules
	"${kmake[@]}" kernelrelease >"$out/.done"
	cat "$out/.done"
}

mkdir -p "$cache"
case "${1:-build}" in
dir) echo "$out" ;;
src) echo "$src" ;;
build)
	# One builder at a time per cache; a second caller waits, then finds .done.
	exec 9>"$cache/.lock"
	flock 9
	build
	;;
*)
	echo "usage: $0 [dir|src|build]" >&2
	exit 2
	;;
esac
