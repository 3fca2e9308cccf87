#!/usr/bin/env bash
# Installs the Debian packages a Make target needs, only when missing.
#   scripts/install-deps.sh build   – what `make build` / `make run` need (cgo: pcsc-lite headers)
#   scripts/install-deps.sh test    – plus the real daemons and browser the tests drive
#   scripts/install-deps.sh appliance – arm64 cross toolchain, qemu-user, mmdebstrap,
#                                       dpkg-dev: `make cross`, `make deb`, the rootfs check;
#                                       qemu-system-aarch64: the OTP module's raspi3b boot
#   scripts/install-deps.sh image   – plus what `make image` and `make bundle` need (mtools,
#                                     dosfstools, fdisk, rauc, squashfs-tools)
#   scripts/install-deps.sh bundle  – only what `make bundle` needs (rauc, squashfs-tools)
#   scripts/install-deps.sh boot    – what `make qemu-boot` needs (qemu-system-aarch64, mtools, cryptsetup)
# As root it runs apt-get; otherwise it prints the exact command and fails.
set -euo pipefail

build=(gcc pkg-config libpcsclite-dev)
test=(cryptsetup-bin pcscd vsmartcard-vpcd pcsc-tools softhsm2 cups cups-bsd printer-driver-cups-pdf poppler-utils chromium fonts-dejavu-core libnss3-tools e2fsprogs mount util-linux postgresql)
# RAUC A/B updates on loop devices (images/rauc): rauc, its bundle tools,
# a private D-Bus, and the tools that make and read the slots' file systems.
test+=(rauc squashfs-tools dbus openssl mtools dosfstools e2fsprogs)
# The appliance packages: cross-building for arm64 needs the foreign
# architecture enabled (and its package lists fetched) before
# libpcsclite-dev:arm64 can be installed.
appliance=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross libpcsclite-dev:arm64 qemu-user-static mmdebstrap arch-test dpkg-dev fakeroot systemd qemu-system-arm)
image=(mtools dosfstools fdisk e2fsprogs rauc squashfs-tools openssl)
bundle=(rauc squashfs-tools openssl)
# The QEMU boot test of the image (images/qemu-boot.sh): qemu-system-aarch64.
boot=(qemu-system-arm mtools fdisk cryptsetup-bin openssl)

case "${1:-build}" in
  build) want=("${build[@]}") ;;
  test) want=("${build[@]}" "${test[@]}") ;;
  appliance) want=("${build[@]}" "${appliance[@]}") ;;
  image) want=("${build[@]}" "${appliance[@]}" "${image[@]}") ;;
  bundle) want=("${bundle[@]}") ;;
  boot) want=("${boot[@]}") ;;
  *) echo "usage: $0 build|test|appliance|image|bundle|boot" >&2; exit 2 ;;
esac

# binfmt registers qemu-aarch64 with the kernel so that an arm64 chroot
# runs; without systemd as PID 1 nobody else does it. Idempotent.
binfmt() {
  case "${1:-build}" in appliance|image) ;; *) return 0 ;; esac
  local dir=/proc/sys/fs/binfmt_misc conf=/usr/lib/binfmt.d/qemu-aarch64.conf
  [ -e "$dir/qemu-aarch64" ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "qemu-aarch64 is not registered with binfmt_misc; as root run: $0 $1" >&2
    return 1
  fi
  [ -e "$dir/register" ] || mount -t binfmt_misc binfmt_misc "$dir"
  [ -r "$conf" ] || { echo "missing $conf (package qemu-user-static)" >&2; return 1; }
  grep -v '^#' "$conf" | grep . > "$dir/register"
}

# multiarch adds the arm64 architecture to dpkg when a wanted package
# needs it; the package lists must then be fetched again.
multiarch=0
if printf '%s\n' "${want[@]}" | grep -q ':arm64$' && ! dpkg --print-foreign-architectures | grep -qx arm64; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "The arm64 architecture is not enabled; as root run: dpkg --add-architecture arm64 && apt-get update" >&2
    exit 1
  fi
  echo "Enabling the arm64 architecture (dpkg --add-architecture arm64)" >&2
  dpkg --add-architecture arm64
  multiarch=1
fi

# The browser tests' accessibility checks need npm for axe-core
# (scripts/axe-core.sh); Debian's npm only where no Node.js brings its own.
if [ "${1:-build}" = test ] && ! command -v npm >/dev/null; then
  want+=(npm)
fi
# axe_core fetches the pinned axe-core into the cache (scripts/axe-core.sh).
axe_core() {
  [ "${1:-build}" = test ] || return 0
  "$(dirname "$0")/axe-core.sh" >/dev/null
}

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  binfmt "${1:-build}"
  axe_core "${1:-build}"
  exit 0
fi

cmd="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "Missing Debian packages: ${missing[*]}" >&2
  echo "Install them with:  sudo apt-get update && sudo $cmd" >&2
  exit 1
fi
echo "Installing missing Debian packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# Refresh the package lists when they are absent or a first try fails.
if [ $multiarch -eq 1 ] || ! ls /var/lib/apt/lists/*_Packages >/dev/null 2>&1 || ! $cmd >/tmp/kortstation-apt.log 2>&1; then
  apt-get update -qq
  $cmd
fi
# Installing pcscd or cups must not leave a daemon running that the tests'
# own harness would collide with; the tests start what they need.
binfmt "${1:-build}"
axe_core "${1:-build}"
exit 0
