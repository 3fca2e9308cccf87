#!/usr/bin/env bash
# Builds a throwaway amd64 root holding QEMU from bookworm-backports (10.x)
# into DIR, and prints how to run its qemu-system-aarch64 from the host
# without entering the root (its own loader and libraries). Debian 12's
# QEMU (7.2) does not emulate the Raspberry Pi's OTP; QEMU 10 answers the
# firmware's private-key tags on its raspi machines, which the OTP
# module's test (images/otp_test.go) and `make qemu-boot-pi` need. The
# host's own packages are never touched.
#
#   images/qemu-root.sh -o DIR [-c CACHEDIR]
#
# Prints one line: the command (words separated by spaces) that runs the
# root's qemu-system-aarch64.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out= cache=
while getopts o:c: opt; do
	case $opt in
	o) out=$OPTARG ;;
	c) cache=$OPTARG ;;
	*) echo "usage: $0 -o DIR [-c CACHEDIR]" >&2; exit 2 ;;
	esac
done
[ -n "$out" ] || { echo "usage: $0 -o DIR [-c CACHEDIR]" >&2; exit 2; }
mirror=$("$here/debian-mirror.sh" bookworm)
opts=(
	--mode=root --arch=amd64 --variant=apt
	--hook-dir=/usr/share/mmdebstrap/hooks/eatmydata
	--aptopt='APT::Install-Recommends "false"'
	--dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*'
	--dpkgopt='path-exclude=/usr/share/locale/*'
	--customize-hook='chroot "$1" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends -t bookworm-backports qemu-system-arm'
)
if [ -n "$cache" ]; then
	mkdir -p "$cache/apt-amd64"
	opts+=(
		--skip=download/empty --skip=essential/unlink
		--setup-hook='mkdir -p "$1"/var/cache/apt/archives/'
		--setup-hook="sync-in '$cache/apt-amd64' /var/cache/apt/archives/"
		--customize-hook="sync-out /var/cache/apt/archives '$cache/apt-amd64'"
		--customize-hook='rm -f "$1"/var/cache/apt/archives/*.deb'
	)
fi
mmdebstrap "${opts[@]}" bookworm "$out" "deb $mirror bookworm main" "deb $mirror bookworm-backports main" >&2
root=$(cd "$out" && pwd)
libs=$root/usr/lib/x86_64-linux-gnu:$root/lib/x86_64-linux-gnu
# The root's loader runs the root's QEMU with the root's libraries; -L
# finds its firmware files, QEMU_MODULE_DIR its modules (never the host's).
echo "env QEMU_MODULE_DIR=$root/usr/lib/x86_64-linux-gnu/qemu $root/lib64/ld-linux-x86-64.so.2 --library-path $libs $root/usr/bin/qemu-system-aarch64 -L $root/usr/share/qemu"
