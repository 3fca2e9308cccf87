#!/usr/bin/env bash
# Boots a copy of the Raspberry Pi image three times under
# qemu-system-aarch64 and checks the encrypted data partition's whole
# open-and-mount path, which build and CI machines (no device-mapper)
# cannot run (docs/appliance.md, "Boot to UI" and "Encryption at rest"):
#
#   1. first boot, box A: kortstation-unlock grows the blank partition 7 to
#      the end of the card, derives the key from box A's secret, formats
#      LUKS2, opens /dev/mapper/ksdata, makes the file system; /data is mounted;
#      kortstation-provision reads the technician's kortstation-provision.conf
#      from partition 1 (and deletes it); kioskd.service starts (READY=1).
#   2. second boot, same card, same box: the volume is opened, not
#      formatted (same LUKS UUID); kioskd starts from the provisioning the
#      first boot wrote into the encrypted /data.
#   3. the card in another box (another secret): the unit fails, /data is not
#      mounted, kioskd does not start, and partition 7 is byte for byte what
#      it was (nothing formatted over it).
#
# The machine is QEMU's generic "virt" (QEMU 7.2 has no Raspberry Pi 4
# model) with the image's own kernel, initrd and cmdline.txt (slot A:
# partition 2's boot files, root=/dev/mmcblk0p5): the card is an emulated
# SD card on an SDHCI controller, so the kernel names it mmcblk0 as on the
# Pi, and grows to the next power of two (QEMU's SD cards need one), so the
# first boot's growth of partition 7 runs too.
#
# The box's secret: Debian 12's QEMU emulates no OTP (see -m raspi3b), and
# a TPM cannot be seen (QEMU's virt machine offers only a TIS TPM on MMIO, tpm-tis-device,
# for which Debian's arm64 kernel has no driver: CONFIG_TCG_TIS is not set).
# So the host gives each "box" a random secret through QEMU's firmware
# configuration device (-fw_cfg name=opt/kortstation/device-secret), which
# the image's unit picks up itself (kortstation-unlock -key-source auto:
# not a Raspberry Pi, no TPM, a QEMU host's secret). Like the OTP it belongs to
# the machine, not the card. The virt machine has no GPIO, reader or
# printer: kioskd runs with simulated hardware (systemd.setenv= on the
# kernel command line). Nothing answers at the provisioned registry
# address: kioskd serves its UI before it syncs. A station has no way to
# shut down from the outside (the power key is ignored), so each boot ends
# with a power cut (QEMU quits).
#
# With -m raspi3b the machine is instead QEMU's Raspberry Pi 3 (QEMU 10,
# given with -Q as images/qemu-root.sh prints it: Debian 12's QEMU 7.2
# does not emulate the OTP), booted from the same card with the Pi's own
# device tree, and the secret is the emulated firmware's OTP private key,
# reached through the image's kortstation_otp module exactly as on a Pi:
#
#   1. first boot, a new Pi (blank OTP): kortstation-unlock loads the
#      module, programs a key into the OTP, grows, formats and opens the
#      data partition; kioskd starts.
#   2. the card in another new Pi (QEMU's OTP starts blank each run, so
#      every run is a new board): the unit refuses the volume, programs
#      nothing into that Pi's OTP, partition 7 is unchanged.
#
# A second boot on the same Pi cannot be shown there (the emulated OTP
# does not persist between runs); the virt machine's second boot covers
# opening the volume again. (QEMU 10's raspi4b machine would be the
# station's SoC, but Debian's 6.1 kernel faults on its unemulated L2
# interrupt controller.)
#
#   images/qemu-boot.sh [-p] [-m virt|raspi3b -Q QEMU_COMMAND] IMAGE [TIMEOUT_SECONDS_PER_BOOT]
#
# -p  patch the copy's root for images built before the TPM key source
#     and QEMU's secret worked: this checkout's kortstation-unlock
#     (cross-built), its unit and /etc/fstab, and the TPM2 libraries
#     systemd-creds loads (Debian arm64 packages).
#     Needs root (a loop mount of the copy's slot A). The image is never
#     changed, only the copy.
#
# Prints one line per boot with its result and seconds; exits non-zero if a
# check fails. Console logs: $QEMU_BOOT_LOGS (default /tmp/kortstation-qemu-boot).
# Emulated (TCG) on an x86 host this is many times slower than a Pi 4.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
patch= machine=virt qemu_cmd=qemu-system-aarch64
usage() { echo "usage: $0 [-p] [-m virt|raspi3b -Q QEMU_COMMAND] IMAGE [TIMEOUT_SECONDS]" >&2; exit 2; }
while getopts pm:Q: opt; do
	case $opt in
	p) patch=1 ;;
	m) machine=$OPTARG ;;
	Q) qemu_cmd=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || usage
case $machine in virt | raspi3b) ;; *) usage ;; esac
# shellcheck disable=SC2206 # the command is words, as qemu-root.sh prints it
qemu_argv=($qemu_cmd)
img=$1 timeout=${2:-900}
[ -r "$img" ] || { echo "qemu-boot: no image $img (make image)" >&2; exit 1; }
[ "$machine" = virt ] || "${qemu_argv[@]}" -machine help | grep -q "^$machine " ||
	{ echo "qemu-boot: $qemu_cmd has no $machine machine (use images/qemu-root.sh's QEMU 10)" >&2; exit 1; }
for c in "${qemu_argv[0]}" openssl mcopy sfdisk cryptsetup; do
	command -v "$c" >/dev/null || { echo "qemu-boot: $c is missing (scripts/install-deps.sh image)" >&2; exit 1; }
done
logs=${QEMU_BOOT_LOGS:-/tmp/kortstation-qemu-boot}
mkdir -p "$logs"
work=$(mktemp -d "${TMPDIR:-/tmp}/kortstation-qemu.XXXXXX")
qemu= mnt=
cleanup() {
	[ -z "$qemu" ] || kill "$qemu" 2>/dev/null || true
	[ -z "$mnt" ] || { umount "$mnt" 2>/dev/null || true; }
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
fail() { echo "qemu-boot: FAIL: $*" >&2; exit 1; }

disk=$work/card.img
cp --sparse=always "$img" "$disk"
size=$(stat -c %s "$disk") card=1
while [ "$card" -lt "$size" ]; do card=$((card * 2)); done
truncate -s "$card" "$disk"

# Partition N's byte offset and size, from the MBR.
part() {
	local v
	v=$(sfdisk -d "$disk" | sed -n "s|^[^ ]*[^0-9]$1 : start= *\([0-9]*\), size= *\([0-9]*\).*|\1 \2|p")
	[ -n "$v" ] || return 0
	set -- "$2" $v
	if [ "$1" = start ]; then echo $(($2 * 512)); else echo $(($3 * 512)); fi
}
p1=$(part 1 start) p2=$(part 2 start) p5=$(part 5 start) p5size=$(part 5 size)
[ -n "$p1" ] && [ -n "$p2" ] && [ -n "$p5" ] || fail "$img has not the A/B layout (partitions 1, 2, 5)"

# Slot A's boot files: kernel, initrd and command line (as the Pi firmware
# would boot them from partition 2).
bootfile() { mdir -b -i "$disk@@$p2" ::/ | sed -n "s|^::/\($1[^ ]*\)$|\1|p" | head -1; }
k=$(bootfile vmlinuz-) i=$(bootfile initrd.img-)
[ -n "$k" ] && [ -n "$i" ] || fail "no kernel or initrd in partition 2"
mcopy -i "$disk@@$p2" "::/$k" "$work/vmlinuz"
mcopy -i "$disk@@$p2" "::/$i" "$work/initrd"
if [ "$machine" = raspi3b ]; then
	mcopy -i "$disk@@$p2" ::/bcm2837-rpi-3-b.dtb "$work/machine.dtb" ||
		fail "no bcm2837-rpi-3-b.dtb in partition 2"
fi
cmdline=$(mtype -i "$disk@@$p2" ::/cmdline.txt | tr -d '\r\n')
# The Pi's consoles become the virt machine's serial port; quiet off so
# systemd's status lines show.
cmdline=$(sed -E 's/(^| )(console=[^ ]*|quiet|loglevel=[^ ]*)//g' <<<"$cmdline")
# The journal goes to the console too: kioskd starts when provisioning has
# run, often after the boot's last status line.
cmdline="$cmdline console=ttyAMA0 systemd.show_status=1 systemd.journald.forward_to_console=1"
for v in KIOSK_SIMULATION=true KIOSK_READER=sim KIOSK_PRINTER=sim KIOSK_DRAWER=sim; do
	cmdline="$cmdline systemd.setenv=$v"
done
# QEMU's Raspberry Pi power manager resets the machine as soon as the
# watchdog driver arms it (it emulates the reset, not the countdown):
# without its driver, systemd finds no hardware watchdog to pet there.
[ "$machine" = virt ] || cmdline="$cmdline modprobe.blacklist=bcm2835_wdt"
grep -q 'root=/dev/mmcblk0p5' <<<"$cmdline" || fail "cmdline.txt does not boot slot A's root: $cmdline"

# A technician's provisioning: kortstation-provision.conf on partition 1.
# Provisioning requires the registry's CA pinned; nothing answers at the
# address, so a throwaway CA's SHA-256 fingerprint (as the central
# administrator would give it with the code) keeps the file valid.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-subj "/CN=qemu-boot throwaway registry CA" -addext basicConstraints=critical,CA:TRUE \
	-keyout "$work/registry-ca-key.pem" -out "$work/registry-ca.pem" 2>/dev/null
fp=$(openssl x509 -in "$work/registry-ca.pem" -noout -fingerprint -sha256 | cut -d= -f2)
[ ${#fp} -eq 95 ] || fail "no SHA-256 fingerprint of the throwaway registry CA: $fp"
printf '# qemu-boot.sh\nregistry-url=https://10.0.2.2:9443\nenrol-code=QEMU-BOOT-0001\nstation-id=qemu-boot\nregistry-ca-fingerprint=%s\n' "$fp" > "$work/kortstation-provision.conf"
mcopy -i "$disk@@$p1" "$work/kortstation-provision.conf" ::/kortstation-provision.conf

if [ -n "$patch" ]; then
	mnt=$work/root
	mkdir -p "$mnt"
	mount -o loop,offset="$p5",sizelimit="$p5size" "$disk" "$mnt"
	echo "qemu-boot: patching the copy's slot A root (-p): this checkout's kortstation-unlock and unit, TPM2 libraries" >&2
	(cd "$here/.." && CGO_ENABLED=0 GOOS=linux GOARCH=arm64 go build -trimpath -o "$work/kortstation-unlock" ./images/cmd/kortstation-unlock)
	install -m 0755 "$work/kortstation-unlock" "$mnt/usr/lib/kortstation/kortstation-unlock"
	install -m 0644 "$here/../systemd/kortstation-unlock.service" "$mnt/lib/systemd/system/kortstation-unlock.service"
	lp_gid=$(awk -F: '$1 == "lp" { print $3 }' "$mnt/etc/group")
	sed "s/gid=lp/gid=$lp_gid/g" "$here/rootfs/etc/fstab" > "$mnt/etc/fstab"
	if ! ls "$mnt"/usr/lib/aarch64-linux-gnu/libtss2-esys.so.0 >/dev/null 2>&1; then
		mkdir -p "$work/debs" "$work/tss"
		(cd "$work/debs" && apt-get download -q libtss2-esys-3.0.2-0:arm64 libtss2-mu0:arm64 libtss2-rc0:arm64 \
			libtss2-sys1:arm64 libtss2-tctildr0:arm64 libtss2-tcti-device0:arm64 >/dev/null)
		for d in "$work"/debs/*.deb; do dpkg-deb -x "$d" "$work/tss"; done
		cp -a "$work"/tss/usr/lib/aarch64-linux-gnu/libtss2-* "$mnt/usr/lib/aarch64-linux-gnu/"
	fi
	ls "$mnt"/usr/lib/aarch64-linux-gnu/libssl.so.3 >/dev/null || fail "the root has no libssl3 (the TPM2 libraries need it)"
	umount "$mnt"
	mnt=
fi

# A "box": its own random secret, the stand-in for a Pi's OTP key.
box() { openssl rand -hex 32 > "$work/secret-$1"; }
# Partition 7's bytes (for the "nothing written" check), its LUKS UUID.
p7() { local s; s=$(part 7 start); dd if="$disk" bs=1M iflag=skip_bytes,count_bytes skip="$s" count="$(( $(part 7 size) ))" status=none; }
luks_uuid() { local s; s=$(part 7 start); dd if="$disk" bs=1M iflag=skip_bytes,count_bytes skip="$s" count=$((16 << 20)) status=none > "$work/hdr"; cryptsetup luksUUID "$work/hdr" 2>/dev/null || true; }

# boot NAME BOX WANT: boots the card in BOX until WANT's patterns
# appear on the console (ok), a failure shows (failed), or the timeout.
# WANT: "ready" (kioskd started) or "closed" (the unlock unit failed).
result= secs=
boot() {
	local name=$1 t=$2 want=$3 log=$logs/console-$1.log
	local start end plain
	: >"$log"
	start=$(date +%s%N)
	if [ "$machine" = raspi3b ]; then
		# The Pi's own device tree and SD slot; its OTP is the secret
		# (blank at every start: each run is a new board).
		"${qemu_argv[@]}" -M raspi3b -nographic -no-reboot \
			-kernel "$work/vmlinuz" -initrd "$work/initrd" -dtb "$work/machine.dtb" -append "$cmdline" \
			-drive if=sd,file="$disk",format=raw >"$log" 2>&1 &
	else
		"${qemu_argv[@]}" -M virt -cpu max -smp 2 -m 2048 -nographic -no-reboot \
			-kernel "$work/vmlinuz" -initrd "$work/initrd" -append "$cmdline" \
			-device sdhci-pci -drive if=none,id=card,file="$disk",format=raw -device sd-card,drive=card \
			-fw_cfg name=opt/kortstation/device-secret,file="$work/secret-$t" \
			-netdev user,id=n0 -device virtio-net-pci,netdev=n0,romfile= >"$log" 2>&1 &
	fi
	qemu=$!
	result=timeout
	while kill -0 "$qemu" 2>/dev/null; do
		# systemd colours its status lines: strip the escapes before matching.
		plain=$(tr -d '\0' < "$log" | sed 's/\x1b\[[0-9;]*[mK]//g')
		case $want in
		ready)
			if grep -q 'Started kioskd.service' <<<"$plain"; then result=ok; break; fi
			if grep -q 'Failed to start kioskd.service\|Failed to start kortstation-unlock\|Dependency failed for data.mount\|emergency.target' <<<"$plain"; then result=failed; break; fi ;;
		closed)
			if grep -q 'Started kioskd.service\|Mounted data.mount' <<<"$plain"; then result=opened; break; fi
			if grep -q 'Dependency failed for data.mount' <<<"$plain" && grep -q 'emergency.target' <<<"$plain"; then result=ok; break; fi ;;
		esac
		if [ $(( ($(date +%s%N) - start) / 1000000000 )) -gt "$timeout" ]; then break; fi
		sleep 0.5
	done
	end=$(date +%s%N)
	# Let the journal and kioskd's first writes reach the card, then cut
	# the power (a station cannot be shut down from outside).
	[ "$result" != ok ] || sleep 10
	kill "$qemu" 2>/dev/null || true
	wait "$qemu" 2>/dev/null || true
	qemu=
	local ms=$(( (end - start) / 1000000 ))
	secs=$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))
	printf 'qemu-boot: %-28s %-8s after %7s s (console: %s)\n' "$name" "$result" "$secs" "$log"
}
console() { tr -d '\0' < "$logs/console-$1.log" | sed 's/\x1b\[[0-9;]*[mK]//g'; }
# has BOOT PATTERN: the boot's console shows PATTERN (grep -c reads it all:
# grep -q would end the pipe early, which pipefail counts as a failure).
has() { console "$1" | grep -c -- "$2" >/dev/null; }

if [ "$machine" = raspi3b ]; then
	boot 1-first-boot-pi - ready
	[ "$result" = ok ] || fail "first boot on a new Pi: kioskd did not start"
	has 1-first-boot-pi 'key source.*source=rpi-otp' || fail "first boot on a new Pi: the key source was not the OTP"
	has 1-first-boot-pi 'kortstation_otp: private key programmed' || fail "first boot on a new Pi: the module did not program the OTP"
	has 1-first-boot-pi 'data partition ready.*formatted=true.*provisioned=true' || fail "first boot on a new Pi: not formatted with a newly provisioned key"
	uuid1=$(luks_uuid)
	[ -n "$uuid1" ] || fail "after the first boot partition 7 is not LUKS"
	grown=$(console 1-first-boot-pi | grep -o 'grown=[a-z]*' | tail -1)
	before=$(p7 | sha256sum)
	boot 2-other-pi - closed
	[ "$result" = ok ] || fail "another Pi: the data partition was not refused ($result)"
	has 2-other-pi 'kortstation-unlock:' || fail "another Pi: no refusal from kortstation-unlock on the console"
	if has 2-other-pi 'kortstation_otp: private key programmed'; then fail "another Pi: a key was programmed into its OTP for a volume it cannot open"; fi
	[ "$(p7 | sha256sum)" = "$before" ] || fail "another Pi: partition 7 changed"
	if has 2-other-pi 'Started kioskd.service'; then fail "another Pi: kioskd started"; fi
	echo "qemu-boot: ok (raspi3b): LUKS2 $uuid1 made at a new Pi's first boot with a key programmed into its OTP ($grown), refused in another Pi with nothing programmed and partition 7 unchanged"
	exit 0
fi

box a
boot 1-first-boot a ready
[ "$result" = ok ] || fail "first boot: kioskd did not start"
has 1-first-boot 'data partition ready.*formatted=true' || fail "first boot: kortstation-unlock did not format the data partition"
has 1-first-boot 'key source.*source=qemu-fw-cfg' || fail "first boot: the key source was not the machine's secret"
uuid1=$(luks_uuid)
[ -n "$uuid1" ] || fail "after the first boot partition 7 is not LUKS"
cryptsetup luksDump "$work/hdr" | grep -c 'Label:.*KSDATA' >/dev/null || fail "the LUKS volume is not labelled KSDATA"
if mdir -i "$disk@@$p1" ::/kortstation-provision.conf >/dev/null 2>&1; then fail "kortstation-provision.conf is still on partition 1"; fi
grown=$(console 1-first-boot | grep -o 'grown=[a-z]*' | tail -1)

boot 2-second-boot a ready
[ "$result" = ok ] || fail "second boot: kioskd did not start"
has 2-second-boot 'data partition ready.*formatted=false' || fail "second boot: the data partition was not just opened"
[ "$(luks_uuid)" = "$uuid1" ] || fail "second boot: the LUKS volume changed"
# kioskd's store is the first boot's: opened at its schema, not made anew.
has 2-second-boot '"msg":"station serving"' || fail "second boot: kioskd did not log that it serves"
if has 2-second-boot '"msg":"migrated schema"'; then fail "second boot: kioskd made a new store"; fi

before=$(p7 | sha256sum)
box b
boot 3-other-box b closed
[ "$result" = ok ] || fail "other box: the data partition was not refused ($result)"
has 3-other-box 'kortstation-unlock:' || fail "other box: no refusal from kortstation-unlock on the console"
[ "$(p7 | sha256sum)" = "$before" ] || fail "other box: partition 7 changed"
if has 3-other-box 'Started kioskd.service'; then fail "other box: kioskd started"; fi
echo "qemu-boot: ok: LUKS2 $uuid1 made at the first boot ($grown), opened at the second, refused in another machine with partition 7 unchanged"
