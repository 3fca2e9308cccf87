#!/usr/bin/env bash
# Installs the Debian packages a Make target needs, only when missing.
#   scripts/install-deps.sh build   – what `make build` / `make run` need (cgo: pcsc-lite headers)
#   scripts/install-deps.sh test    – plus the real daemons and browser the tests drive
# As root it runs apt-get; otherwise it prints the exact command and fails.
set -euo pipefail

build=(gcc pkg-config libpcsclite-dev)
test=(pcscd vsmartcard-vpcd pcsc-tools cups cups-bsd printer-driver-cups-pdf poppler-utils chromium fonts-dejavu-core)

case "${1:-build}" in
  build) want=("${build[@]}") ;;
  test) want=("${build[@]}" "${test[@]}") ;;
  *) echo "usage: $0 build|test" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

cmd="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "Missing Debian packages: ${missing[*]}" >&2
  echo "Install them with:  sudo apt-get update && sudo $cmd" >&2
  exit 1
fi
echo "Installing missing Debian packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# Refresh the package lists when they are absent or a first try fails.
if ! ls /var/lib/apt/lists/*_Packages >/dev/null 2>&1 || ! $cmd >/tmp/kortstation-apt.log 2>&1; then
  apt-get update -qq
  $cmd
fi
# Installing pcscd or cups must not leave a daemon running that the tests'
# own harness would collide with; the tests start what they need.
exit 0
