#!/usr/bin/env bash
# Boots a copy of the Raspberry Pi image under qemu-system-aarch64 (the
# generic "virt" machine: QEMU 7.2 has no Raspberry Pi 4 model) with the
# image's own kernel and initrd, and reports the seconds from starting QEMU
# until systemd reports kioskd.service started (Type=notify: READY=1, i.e.
# the UI is served). The copy is pre-provisioned for the embedded reference
# registry and simulated hardware (a virt machine has no GPIO or reader).
# Emulated (TCG) on an x86 host this is many times slower than a Pi 4.
#   images/qemu-boot.sh IMAGE [TIMEOUT_SECONDS]
set -euo pipefail
img=$1 timeout=${2:-900}
work=$(mktemp -d "${TMPDIR:-/tmp}/kortstation-qemu.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp --sparse=always "$img" "$work/disk.img"

# Partition offsets from the MBR.
off() { sfdisk -d "$work/disk.img" | awk -F'start=' '/start=/ { split($2, a, ","); print a[1] * 512 }' | sed -n "$(( $1 + 1 ))p"; }
boot=$(off 0) data=$(off 2)

mcopy -i "$work/disk.img@@$boot" "::/$(mdir -b -i "$work/disk.img@@$boot" ::/ | sed -n 's|.*/\(vmlinuz-[^ ]*\)$|\1|p' | head -1)" "$work/vmlinuz"
mcopy -i "$work/disk.img@@$boot" "::/$(mdir -b -i "$work/disk.img@@$boot" ::/ | sed -n 's|.*/\(initrd.img-[^ ]*\)$|\1|p' | head -1)" "$work/initrd"

# Pre-provision on the data partition: kioskd starts at boot.
uid=$(debugfs -R 'stat /kortstation' "$work/disk.img?offset=$data" 2>/dev/null | awk '/User:/ {print $4; exit}')
gid=$(debugfs -R 'stat /kortstation' "$work/disk.img?offset=$data" 2>/dev/null | awk '/Group:/ {print $6; exit}')
printf 'KIOSK_REGISTRY=embedded\nKIOSK_SIMULATION=true\nKIOSK_READER=sim\nKIOSK_PRINTER=sim\nKIOSK_DRAWER=sim\n' > "$work/provisioning.env"
debugfs -w -f - "$work/disk.img?offset=$data" >/dev/null 2>&1 <<DEBUGFS
cd /kortstation
write $work/provisioning.env provisioning.env
set_inode_field provisioning.env uid $uid
set_inode_field provisioning.env gid $gid
set_inode_field provisioning.env mode 0100600
DEBUGFS

start=$(date +%s%N)
qemu-system-aarch64 -M virt -cpu max -smp 2 -m 2048 -nographic -no-reboot \
	-kernel "$work/vmlinuz" -initrd "$work/initrd" \
	-append "root=LABEL=KSROOT ro rootwait console=ttyAMA0 systemd.show_status=1" \
	-drive "file=$work/disk.img,if=virtio,format=raw" \
	-netdev user,id=n0 -device virtio-net-pci,netdev=n0,romfile= > "$work/console.log" 2>&1 &
qemu=$!
result=timeout
while kill -0 $qemu 2>/dev/null; do
	# systemd colours its status lines: strip the escapes before matching.
	plain=$(sed 's/\x1b\[[0-9;]*m//g' "$work/console.log")
	if grep -q 'Started kioskd.service' <<<"$plain"; then result=ok; break; fi
	if grep -q 'Failed to start kioskd.service' <<<"$plain"; then result=failed; break; fi
	if [ $(( ($(date +%s%N) - start) / 1000000000 )) -gt "$timeout" ]; then break; fi
	sleep 0.5
done
end=$(date +%s%N)
kill $qemu 2>/dev/null || true
wait $qemu 2>/dev/null || true
cp "$work/console.log" "${CONSOLE_LOG:-/tmp/kortstation-qemu-console.log}"
ms=$(( (end - start) / 1000000 ))
printf 'qemu-boot: %s after %d.%03d s (console: %s)\n' "$result" $((ms / 1000)) $((ms % 1000)) "${CONSOLE_LOG:-/tmp/kortstation-qemu-console.log}"
[ "$result" = ok ]
