#!/usr/bin/env bash
# Builds the bootable Raspberry Pi 4 image (Debian 12 arm64):
#   images/build-image.sh -d KORTSTATION_ARM64_DEB -o IMAGE [-c CACHEDIR]
#
# Partitions (MBR, for the Pi's boot ROM):
#   1 KSBOOT  FAT32  256 MiB  Debian's raspi-firmware, kernel, initrd, DTBs,
#                             config.txt, cmdline.txt
#   2 KSROOT  ext4   ~root    the root file system, mounted read-only
#   3 KSDATA  ext4   DATA_MIB the writable data: store, certificates, CUPS
#                             setup, systemd state, journal
# No loop devices or mounts: the file systems are made from directories
# (mke2fs -d, mtools) and written into the image at their offsets.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
deb= out= cache=
BOOT_MIB=${BOOT_MIB:-256}
DATA_MIB=${DATA_MIB:-512}
while getopts d:o:c: opt; do
	case $opt in
	d) deb=$OPTARG ;;
	o) out=$OPTARG ;;
	c) cache=$OPTARG ;;
	*) echo "usage: $0 -d DEB -o IMAGE [-c CACHEDIR]" >&2; exit 2 ;;
	esac
done
[ -n "$deb" ] && [ -n "$out" ] || { echo "usage: $0 -d DEB -o IMAGE [-c CACHEDIR]" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/kortstation-image.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root data=$work/data
t0=$(date +%s)
step() { echo "build-image: [$(( $(date +%s) - t0 ))s] $*" >&2; }

step "root file system (mmdebstrap, arm64 under qemu-user)"
"$here/build-rootfs.sh" -a arm64 -p image -d "$deb" -o "$root" ${cache:+-c "$cache"}

step "appliance configuration"
cp -a "$here/rootfs/etc/." "$root/etc/"
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
# No login prompt on the touchscreen's VT; the serial console keeps one.
systemctl --root="$root" mask getty@tty1.service >/dev/null 2>&1
# raspi-firmware's kernel hook wrote cmdline.txt from our
# /etc/default/raspi-* (build-rootfs.sh -p image); it always says rw.
sed -i -e 's/ rw / ro /' "$root/boot/firmware/cmdline.txt"
grep -q ' ro ' "$root/boot/firmware/cmdline.txt" || { echo "build-image: cmdline.txt has no ' ro '" >&2; exit 1; }
rm -f "$root/var/cache/apt/"*.bin
rm -rf "$root/var/lib/apt/lists/"*

step "data partition contents"
mkdir -p "$data"
cp -a "$root/var/lib/kortstation" "$data/kortstation"
cp -a "$root/etc/cups" "$data/cups"
cp -a "$root/var/lib/systemd" "$data/systemd"
mkdir -p "$root/var/log/journal"
cp -a "$root/var/log" "$data/log"
chmod 0755 "$data"

step "file systems"
boot_files=$work/boot
mkdir -p "$boot_files"
cp -a "$root/boot/firmware/." "$boot_files/"
find "$root/boot/firmware" -mindepth 1 -delete
root_mib=$(( $(du -sm "$root" | cut -f1) * 115 / 100 + 64 ))
mkfs.vfat -F 32 -n KSBOOT -C "$work/boot.img" $(( BOOT_MIB * 1024 )) >/dev/null
mcopy -s -i "$work/boot.img" "$boot_files"/* ::/
mkfs.ext4 -q -F -L KSROOT -d "$root" -E root_owner=0:0 "$work/root.img" "${root_mib}M"
mkfs.ext4 -q -F -L KSDATA -d "$data" "$work/data.img" "${DATA_MIB}M"

step "disk image"
mkdir -p "$(dirname "$out")"
start1=4 start2=$(( 4 + BOOT_MIB )) start3=$(( 4 + BOOT_MIB + root_mib ))
total=$(( start3 + DATA_MIB ))
rm -f "$out"
truncate -s "${total}M" "$out"
sfdisk --quiet "$out" <<SFDISK
label: dos
${start1}MiB,${BOOT_MIB}MiB,c,*
${start2}MiB,${root_mib}MiB,83
${start3}MiB,${DATA_MIB}MiB,83
SFDISK
dd if="$work/boot.img" of="$out" bs=1M seek=$start1 conv=notrunc,sparse status=none
dd if="$work/root.img" of="$out" bs=1M seek=$start2 conv=notrunc,sparse status=none
dd if="$work/data.img" of="$out" bs=1M seek=$start3 conv=notrunc,sparse status=none
step "wrote $out: $(du -h --apparent-size "$out" | cut -f1) ($(du -h "$out" | cut -f1) allocated); root ${root_mib} MiB"
