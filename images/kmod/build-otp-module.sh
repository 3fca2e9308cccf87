#!/usr/bin/env bash
# Builds the kortstation_otp kernel module (images/kmod/kortstation-otp: the
# Raspberry Pi's OTP private key as /dev/kortstation-otp, for the encrypted
# data partition) against the one kernel installed in ROOT, an arm64 Debian
# root under construction (binfmt_misc runs its compiler under qemu-user),
# and installs it as /lib/modules/KVER/updates/kortstation_otp.ko.
#
# The kernel headers, compiler and make it needs are installed into ROOT
# for the build and purged again: the root's package list afterwards is the
# one before, checked, so an image never carries a toolchain.
#
#   images/kmod/build-otp-module.sh ROOT
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=${1:?usage: $0 ROOT}
[ -d "$root/lib/modules" ] || { echo "build-otp-module: $root has no kernel" >&2; exit 1; }
kvers=$(ls "$root/lib/modules")
[ "$(printf '%s\n' "$kvers" | wc -l)" -eq 1 ] ||
	{ echo "build-otp-module: want one kernel in $root, found: $kvers" >&2; exit 1; }
kver=$kvers

in_root() { chroot "$root" env DEBIAN_FRONTEND=noninteractive LC_ALL=C "$@"; }
packages() { in_root dpkg-query -W -f '${db:Status-Abbrev} ${Package}\n' | awk '$1 == "ii" {print $2}' | sort; }

before=$(packages)
in_root apt-get install -y --no-install-recommends "linux-headers-$kver" make
added=$(comm -13 <(printf '%s\n' "$before") <(packages))

src=/tmp/kortstation-otp-build
rm -rf "$root$src"
cp -r "$here/kortstation-otp" "$root$src"
# The Debian headers' configuration (module versions, no forced signing):
# the module loads into exactly this kernel.
in_root make -C "/lib/modules/$kver/build" M="$src" modules
in_root strip --strip-debug "$src/kortstation_otp.ko"
install -D -m 0644 "$root$src/kortstation_otp.ko" "$root/lib/modules/$kver/updates/kortstation_otp.ko"
rm -rf "${root:?}$src"
in_root depmod "$kver"

# shellcheck disable=SC2086 # one package name per word
in_root apt-get purge -y $added
after=$(packages)
if [ "$after" != "$before" ]; then
	echo "build-otp-module: the root's packages changed:" >&2
	diff <(printf '%s\n' "$before") <(printf '%s\n' "$after") >&2 || true
	exit 1
fi
in_root modinfo -F vermagic "/lib/modules/$kver/updates/kortstation_otp.ko"
