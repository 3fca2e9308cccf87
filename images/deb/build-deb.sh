#!/usr/bin/env bash
# Builds the kortstation .deb from prebuilt binaries, without debhelper:
#   images/deb/build-deb.sh -a arm64|amd64 -v DEBIAN_VERSION -b BINDIR -o OUTDIR
# BINDIR holds kioskd, kortstation-provision and kortstation-unlock for that architecture.
# Prints the path of the package it wrote.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
arch= version= bindir= outdir=
while getopts a:v:b:o: opt; do
	case $opt in
	a) arch=$OPTARG ;;
	v) version=$OPTARG ;;
	b) bindir=$OPTARG ;;
	o) outdir=$OPTARG ;;
	*) echo "usage: $0 -a ARCH -v VERSION -b BINDIR -o OUTDIR" >&2; exit 2 ;;
	esac
done
[ -n "$arch" ] && [ -n "$version" ] && [ -n "$bindir" ] && [ -n "$outdir" ] ||
	{ echo "usage: $0 -a ARCH -v VERSION -b BINDIR -o OUTDIR" >&2; exit 2; }
case $arch in
arm64) triplet=aarch64-linux-gnu ;;
amd64) triplet=x86_64-linux-gnu ;;
*) echo "build-deb: unsupported architecture $arch" >&2; exit 2 ;;
esac
for b in kioskd kortstation-provision kortstation-unlock; do
	[ -x "$bindir/$b" ] || { echo "build-deb: missing $bindir/$b (run make cross)" >&2; exit 1; }
done

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
inst() { # mode source destination
	install -D -m "$1" "$2" "$root/$3"
}
inst 0755 "$bindir/kioskd" usr/bin/kioskd
inst 0755 "$bindir/kortstation-provision" usr/lib/kortstation/kortstation-provision
# Encryption at rest: opens the LUKS2 data partition at boot. Shipped here,
# enabled only by the Raspberry Pi image (images/build-image.sh), which
# knows its data partition.
inst 0755 "$bindir/kortstation-unlock" usr/lib/kortstation/kortstation-unlock
inst 0644 "$repo/systemd/kortstation-unlock.service" lib/systemd/system/kortstation-unlock.service
for u in kioskd.service kortstation-display.service kortstation-provision.service kortstation-health.service kortstation-update.path kortstation-update.service; do
	inst 0644 "$repo/systemd/$u" "lib/systemd/system/$u"
done
inst 0644 "$repo/systemd/pcscd.socket.d/kortstation.conf" lib/systemd/system/pcscd.socket.d/kortstation.conf
inst 0644 "$repo/systemd/kortstation-display.pam" etc/pam.d/kortstation-display
inst 0644 "$repo/systemd/kortstation.tmpfiles" usr/lib/tmpfiles.d/kortstation.conf
inst 0755 "$repo/systemd/kiosk-browser" usr/lib/kortstation/kiosk-browser
inst 0644 "$here/kioskd.json" etc/kortstation/kioskd.json
inst 0644 "$here/60-kortstation-gpio.rules" lib/udev/rules.d/60-kortstation-gpio.rules
# Kiosk lockdown: the browser's managed policy, USB devices by class.
inst 0644 "$repo/systemd/chromium-policy.json" etc/chromium/policies/managed/kortstation.json
inst 0644 "$here/70-kortstation-usb.rules" lib/udev/rules.d/70-kortstation-usb.rules
inst 0755 "$here/usb-authorize" usr/lib/kortstation/usb-authorize
# A/B updates with RAUC (used on the Raspberry Pi image, which adds
# /etc/rauc/system.conf and the keyring; kortstation-health.service runs
# only there).
for s in rauc-tryboot rauc-pre-install rauc-post-install kortstation-health kortstation-update kortstation-update-spool; do
	inst 0755 "$repo/images/rauc/$s" "usr/lib/kortstation/$s"
done
inst 0644 "$repo/images/README.md" usr/share/doc/kortstation/README.md
inst 0644 "$here/copyright" usr/share/doc/kortstation/copyright

mkdir -p "$root/DEBIAN"
for s in postinst prerm postrm; do
	install -m 0755 "$here/$s" "$root/DEBIAN/$s"
done
printf '%s\n' /etc/kortstation/kioskd.json /etc/pam.d/kortstation-display /etc/chromium/policies/managed/kortstation.json > "$root/DEBIAN/conffiles"

# The shared libraries cgo linked: glibc and pcsc-lite (sqlite is compiled
# in). Checked from the binary's ELF header rather than assumed.
needed=$(LC_ALL=C objdump -p "$bindir/kioskd" 2>/dev/null | awk '/NEEDED/ {print $2}' || true)
[ -n "$needed" ] || needed=$(LC_ALL=C "${triplet}-objdump" -p "$bindir/kioskd" | awk '/NEEDED/ {print $2}')
shlibs="libc6 (>= 2.34)"
if grep -q '^libpcsclite' <<<"$needed"; then shlibs="$shlibs, libpcsclite1 (>= 1.9)"; fi

size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" -e "s/@SHLIBS@/$shlibs/" \
	"$here/control.in" > "$root/DEBIAN/control"

mkdir -p "$outdir"
out="$outdir/kortstation_${version}_${arch}.deb"
# Reproducible-ish: fixed mtimes, root-owned files without fakeroot.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$repo" log -1 --format=%ct 2>/dev/null || date +%s)}
find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
dpkg-deb --root-owner-group -Zxz --build "$root" "$out" >/dev/null
echo "$out"
