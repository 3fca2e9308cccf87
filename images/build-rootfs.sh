#!/usr/bin/env bash
# Builds a Debian 12 root file system with the kortstation package installed
# (and, through its Depends, pcscd, CUPS, cage and Chromium) into a directory,
# with mmdebstrap. For a foreign architecture (arm64 on an amd64 machine) the
# maintainer scripts run under qemu-user through binfmt_misc
# (scripts/install-deps.sh appliance registers it).
#
#   images/build-rootfs.sh -a ARCH -d KORTSTATION_DEB -o DIR [-p station|image] [-c CACHEDIR]
#
# -p station  the package and a bootable-userland base (the CI-sized check)
# -p image    plus the Raspberry Pi kernel, firmware and networking
# -c CACHEDIR keeps downloaded packages between runs (same machine only)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
arch= deb= out= profile=station cache=
while getopts a:d:o:p:c: opt; do
	case $opt in
	a) arch=$OPTARG ;;
	d) deb=$OPTARG ;;
	o) out=$OPTARG ;;
	p) profile=$OPTARG ;;
	c) cache=$OPTARG ;;
	*) echo "usage: $0 -a ARCH -d DEB -o DIR [-p station|image] [-c CACHEDIR]" >&2; exit 2 ;;
	esac
done
[ -n "$arch" ] && [ -n "$deb" ] && [ -n "$out" ] ||
	{ echo "usage: $0 -a ARCH -d DEB -o DIR [-p station|image] [-c CACHEDIR]" >&2; exit 2; }
[ -f "$deb" ] || { echo "build-rootfs: no such package: $deb" >&2; exit 1; }
deb=$(cd "$(dirname "$deb")" && pwd)/$(basename "$deb")
if [ -e "$out" ] && [ -n "$(ls -A "$out" 2>/dev/null)" ]; then
	echo "build-rootfs: $out exists and is not empty" >&2
	exit 1
fi

mirror=$("$here/debian-mirror.sh" bookworm)
hooks=()
pkgs=systemd,systemd-sysv,systemd-timesyncd,systemd-resolved,dbus,udev,libpam-systemd,adduser,ca-certificates,libccid,fonts-dejavu-core
components=main
sources=("deb $mirror bookworm main")
case $profile in
station) ;;
image)
	# Debian's own Raspberry Pi boot firmware and kernel. raspi-firmware is
	# in non-free-firmware in Debian 12.
	components="main non-free-firmware"
	security=$("$here/debian-mirror.sh" bookworm-security)
	sources=("deb $mirror bookworm $components" "deb $mirror bookworm-updates $components" "deb $security bookworm-security $components")
	pkgs=$pkgs,linux-image-arm64,raspi-firmware,initramfs-tools,dosfstools,e2fsprogs,iproute2,kmod,cups-filters,printer-driver-gutenprint
	# A/B updates: RAUC and its D-Bus service; mtools for rauc-post-install.
	pkgs=$pkgs,rauc,rauc-service,mtools
	# Encryption at rest: kortstation-unlock opens the LUKS2 data partition.
	pkgs=$pkgs,cryptsetup-bin
	# Its TPM key source (boxes or HATs with a TPM): systemd-creds
	# --with-key=tpm2 loads these TPM2 libraries at run time; without them
	# it cannot seal or unseal.
	pkgs=$pkgs,libtss2-esys-3.0.2-0,libtss2-mu0,libtss2-rc0,libtss2-tcti-device0
	# The Pi's OTP key for the encrypted data partition: Debian's kernel
	# has no /dev/vcio, so the kortstation_otp module gives the unlock its
	# door to the firmware. Built here against the installed kernel; the
	# headers and compiler are purged again (images/kmod).
	hooks+=(--customize-hook="'$here/kmod/build-otp-module.sh' \"\$1\"")
	# raspi-firmware's kernel hook writes cmdline.txt and config.txt from
	# these when the kernel is configured: they must be there first.
	hooks+=(--setup-hook="mkdir -p \"\$1/etc/default\" && cp '$here/rootfs/etc/default/'raspi-* \"\$1/etc/default/\"")
	;;
*) echo "build-rootfs: unknown profile $profile" >&2; exit 2 ;;
esac

# The package's dependencies are installed with the rest; the package
# itself from inside the root (apt's own handling of a local .deb puts it
# where a chrooted dpkg cannot see it). Depends, alternatives to the first,
# versions dropped: apt-get checks them when it installs the .deb.
deps=$(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed -E 's/\|.*//; s/\(.*\)//; s/[[:space:]]//g' | grep . | paste -sd, -)
opts=(
	--mode=root --arch="$arch" --variant=apt
	--include="$pkgs,$deps"
	# No fsync per file: under qemu-user that alone costs minutes.
	--hook-dir=/usr/share/mmdebstrap/hooks/eatmydata
	# An appliance needs no manuals, docs or translations (but keeps the
	# licences, and Chromium's Swedish and English UI strings).
	--dpkgopt='path-exclude=/usr/share/man/*'
	--dpkgopt='path-exclude=/usr/share/doc/*'
	--dpkgopt='path-include=/usr/share/doc/*/copyright'
	--dpkgopt='path-include=/usr/share/doc/kortstation/*'
	--dpkgopt='path-exclude=/usr/share/locale/*'
	--dpkgopt='path-exclude=/usr/lib/chromium/locales/*'
	--dpkgopt='path-include=/usr/lib/chromium/locales/en-US.pak'
	--dpkgopt='path-include=/usr/lib/chromium/locales/sv.pak'
	--aptopt='APT::Install-Recommends "false"'
	# Our /etc/default files, put in place before the packages, win.
	--dpkgopt='force-confold'
	"${hooks[@]}"
	--customize-hook="mkdir -p \"\$1/tmp/kortstation-deb\" && cp '$deb' \"\$1/tmp/kortstation-deb/\""
	--customize-hook="chroot \"\$1\" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends /tmp/kortstation-deb/$(basename "$deb")"
	--customize-hook='rm -rf "$1/tmp/kortstation-deb"'
)
if [ -n "$cache" ]; then
	mkdir -p "$cache/apt-$arch"
	opts+=(
		--skip=download/empty --skip=essential/unlink
		--setup-hook='mkdir -p "$1"/var/cache/apt/archives/'
		--setup-hook="sync-in '$cache/apt-$arch' /var/cache/apt/archives/"
		--customize-hook="sync-out /var/cache/apt/archives '$cache/apt-$arch'"
		--customize-hook='rm -f "$1"/var/cache/apt/archives/*.deb'
	)
fi
mkdir -p "$out"
mmdebstrap "${opts[@]}" bookworm "$out" "${sources[@]}"
