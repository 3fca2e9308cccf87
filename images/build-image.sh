#!/usr/bin/env bash
# Builds the bootable Raspberry Pi 4 image (Debian 12 arm64) with A/B root
# slots for RAUC updates:
#   images/build-image.sh -d KORTSTATION_ARM64_DEB -o IMAGE -k KEYRING -V VERSION [-c CACHEDIR]
#   images/build-image.sh -r ROOTDIR -o IMAGE -k KEYRING -V VERSION
# -r takes a root directory made beforehand (build-rootfs.sh -p image, or a
# test's stand-in) instead of building one; it is changed in place.
#
# Partitions (MBR; 4 is the extended partition holding 5-7):
#   1 KSBOOT  FAT32  64 MiB    autoboot.txt (tryboot_a_b: which of 2/3 boots),
#                              the A/B backend's state, a technician's
#                              kortstation-provision.conf; /boot/firmware
#   2 KSFW    FAT32  BOOT_MIB  slot A's boot files: Debian's raspi-firmware,
#                              kernel, initrd, DTBs, config.txt, cmdline.txt
#   3         -      BOOT_MIB  slot B's boot files (empty until an update)
#   5 KSROOT  ext4   SLOT_MIB  slot A's root file system, mounted read-only
#   6         -      SLOT_MIB  slot B's root (empty until an update)
#   7 KSDATA  LUKS2  DATA_MIB  the writable data: store, certificates, CUPS (blank; encrypted at the first boot)
#                              setup, systemd state, journal, RAUC status
# Beside IMAGE it leaves the root and boot file systems (…-root.ext4,
# …-boot.vfat) that `make bundle` packs into a signed update. KEYRING is the
# update CA the image trusts (/etc/rauc/keyring.pem); VERSION the Debian
# version of the station software (/etc/kortstation-release; updates must
# be newer). No loop devices or mounts: the file systems are made from
# directories (mke2fs -d, mtools) and written into the image at their offsets.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
deb= out= cache= keyring= version= prebuilt=
CONF_MIB=${CONF_MIB:-64}
BOOT_MIB=${BOOT_MIB:-256}
SLOT_MIB=${SLOT_MIB:-3072}
DATA_MIB=${DATA_MIB:-512}
usage() { echo "usage: $0 -d DEB|-r ROOTDIR -o IMAGE -k KEYRING -V VERSION [-c CACHEDIR]" >&2; exit 2; }
while getopts d:r:o:c:k:V: opt; do
	case $opt in
	d) deb=$OPTARG ;;
	r) prebuilt=$OPTARG ;;
	o) out=$OPTARG ;;
	c) cache=$OPTARG ;;
	k) keyring=$OPTARG ;;
	V) version=$OPTARG ;;
	*) usage ;;
	esac
done
[ -n "$deb$prebuilt" ] && [ -n "$out" ] && [ -n "$keyring" ] && [ -n "$version" ] || usage
openssl x509 -in "$keyring" -noout 2>/dev/null || { echo "build-image: $keyring is not a PEM certificate (the update CA)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/kortstation-image.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
t0=$(date +%s)
step() { echo "build-image: [$(( $(date +%s) - t0 ))s] $*" >&2; }

step "root file system (mmdebstrap, arm64 under qemu-user)"
if [ -n "$prebuilt" ]; then
	root=$(cd "$prebuilt" && pwd)
else
	"$here/build-rootfs.sh" -a arm64 -p image -d "$deb" -o "$root" ${cache:+-c "$cache"}
fi

step "appliance configuration"
cp -a "$here/rootfs/etc/." "$root/etc/"
# A/B updates: RAUC's system configuration, the update CA, the version.
install -D -m 0644 "$here/rauc/system.conf" "$root/etc/rauc/system.conf"
install -D -m 0644 "$keyring" "$root/etc/rauc/keyring.pem"
printf 'VERSION=%s\n' "$version" > "$root/etc/kortstation-release"
lp_gid=$(awk -F: '$1 == "lp" { print $3 }' "$root/etc/group")
sed -i "s/gid=lp/gid=$lp_gid/g" "$root/etc/fstab"
echo kortstation > "$root/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tkortstation\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' > "$root/etc/hosts"
# A machine ID per device: empty here, so systemd makes one at every boot of
# the read-only root (persisting it would need a writable /etc).
: > "$root/etc/machine-id"
mkdir -p "$root/data" "$root/boot/firmware"
ln -sf /lib/systemd/system/graphical.target "$root/etc/systemd/system/default.target"
ln -sf /run/systemd/resolve/stub-resolv.conf "$root/etc/resolv.conf"
for u in systemd-networkd.service systemd-resolved.service systemd-timesyncd.service; do
	systemctl --root="$root" enable "$u" >/dev/null 2>&1
done
# No login prompt on the touchscreen's VT and no spare gettys on the others
# (logind starts none either: NAutoVTs=0); the serial console inside the
# case keeps one for a technician. No reboot from Ctrl+Alt+Del.
for u in getty@tty1.service getty@.service autovt@.service ctrl-alt-del.target; do
	systemctl --root="$root" mask "$u" >/dev/null 2>&1
done
# raspi-firmware's kernel hook wrote cmdline.txt from our
# /etc/default/raspi-* (build-rootfs.sh -p image); it always says rw. Slot
# A's root is partition 5; rauc.slot= tells RAUC and the tryboot backend
# which slot booted (rauc-post-install rewrites both for slot B).
sed -i -E -e 's/ rw / ro /' -e 's/(^| )root=[^ ]*//' -e 's/^ +//' -e 's|^|root=/dev/mmcblk0p5 rauc.slot=A |' "$root/boot/firmware/cmdline.txt"
grep -q ' ro ' "$root/boot/firmware/cmdline.txt" || { echo "build-image: cmdline.txt has no ' ro '" >&2; exit 1; }
rm -f "$root/var/cache/apt/"*.bin
rm -rf "$root/var/lib/apt/lists/"*

step "data partition skeleton"
# The data partition ships blank (zeros): at the first boot
# kortstation-unlock.service encrypts it (LUKS2, a key from the Pi's OTP),
# makes its file system and copies this skeleton into it.
data=$root/usr/lib/kortstation/data-skel
mkdir -p "$data"
cp -a "$root/var/lib/kortstation" "$data/kortstation"
cp -a "$root/etc/cups" "$data/cups"
cp -a "$root/var/lib/systemd" "$data/systemd"
mkdir -p "$root/var/log/journal"
cp -a "$root/var/log" "$data/log"
install -d -m 0700 "$data/rauc"
chmod 0755 "$data"
systemctl --root="$root" enable kortstation-unlock.service >/dev/null 2>&1

step "file systems"
boot_files=$work/boot conf_files=$work/conf
mkdir -p "$boot_files" "$conf_files"
cp -a "$root/boot/firmware/." "$boot_files/"
find "$root/boot/firmware" -mindepth 1 -delete
# Partition 1: the firmware reads autoboot.txt here and boots partition 2
# (slot A); `reboot "0 tryboot"` boots partition 3 once. rauc-tryboot
# rewrites it.
printf '[all]\ntryboot_a_b=1\nboot_partition=2\n[tryboot]\nboot_partition=3\n' > "$conf_files/autoboot.txt"
printf 'A=good\nB=bad\ntrial=\n' > "$conf_files/kortstation-ab.state"
root_mib=$(( $(du -sm "$root" | cut -f1) * 115 / 100 + 64 ))
[ "$root_mib" -le "$SLOT_MIB" ] || { echo "build-image: the root needs ${root_mib} MiB, a slot has $SLOT_MIB (SLOT_MIB=)" >&2; exit 1; }
mkfs.vfat -F 32 -n KSBOOT -C "$work/conf.img" $(( CONF_MIB * 1024 )) >/dev/null
mcopy -s -i "$work/conf.img" "$conf_files"/* ::/
mkfs.vfat -F 32 -n KSFW -C "$work/boot.img" $(( BOOT_MIB * 1024 )) >/dev/null
mcopy -s -i "$work/boot.img" "$boot_files"/* ::/
mkfs.ext4 -q -F -L KSROOT -d "$root" -E root_owner=0:0 "$work/root.img" "${root_mib}M"

step "disk image"
mkdir -p "$(dirname "$out")"
# MiB offsets; each logical partition is preceded by 1 MiB for its EBR.
p1=4 p2=$(( 4 + CONF_MIB )) p3=$(( 4 + CONF_MIB + BOOT_MIB )) ext=$(( 4 + CONF_MIB + 2 * BOOT_MIB ))
p5=$(( ext + 1 )) p6=$(( ext + 2 + SLOT_MIB )) p7=$(( ext + 3 + 2 * SLOT_MIB ))
total=$(( p7 + DATA_MIB ))
rm -f "$out"
truncate -s "${total}M" "$out"
sfdisk --quiet "$out" <<SFDISK
label: dos
start=${p1}MiB, size=${CONF_MIB}MiB, type=c, bootable
start=${p2}MiB, size=${BOOT_MIB}MiB, type=c
start=${p3}MiB, size=${BOOT_MIB}MiB, type=c
start=${ext}MiB, size=$(( total - ext ))MiB, type=5
start=${p5}MiB, size=${SLOT_MIB}MiB, type=83
start=${p6}MiB, size=${SLOT_MIB}MiB, type=83
start=${p7}MiB, size=${DATA_MIB}MiB, type=83
SFDISK
dd if="$work/conf.img" of="$out" bs=1M seek=$p1 conv=notrunc,sparse status=none
dd if="$work/boot.img" of="$out" bs=1M seek=$p2 conv=notrunc,sparse status=none
dd if="$work/root.img" of="$out" bs=1M seek=$p5 conv=notrunc,sparse status=none
# Partition 7 stays zeros (the image is made with truncate): blank for the
# first boot's encryption.
# The file systems of slot A, for `make bundle`.
base=${out%.img}
base=${base%-rpi-arm64}
cp --sparse=always "$work/root.img" "$base-root.ext4"
cp --sparse=always "$work/boot.img" "$base-boot.vfat"
step "wrote $out: $(du -h --apparent-size "$out" | cut -f1) ($(du -h "$out" | cut -f1) allocated); root ${root_mib} MiB in a ${SLOT_MIB} MiB slot; $base-root.ext4, $base-boot.vfat"
