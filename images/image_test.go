//go:build imagetest

package images

// TestImageLayout checks the image `make image` built (KORTSTATION_IMAGE):
// the partition table, the file systems' labels, the files on each and the
// enabled units. It reads the image without mounting it: the partition
// table with sfdisk, superblocks directly, FAT with mtools, ext4 with debugfs.
// Run by `make image` (go test -tags imagetest), not by `make test`.

import (
	"bytes"
	"crypto/x509"
	"debug/elf"
	"encoding/binary"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/kortstation/kortstation/images/dataunlock"
)

type partition struct {
	boot         bool
	kind         byte
	start, bytes int64
}

func readAt(t *testing.T, img string, off int64, n int) []byte {
	t.Helper()
	f, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, n)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	return b
}

// ext4Label is the volume name of the ext2/3/4 file system at off.
func ext4Label(t *testing.T, img string, off int64) string {
	sb := readAt(t, img, off+1024, 1024)
	if binary.LittleEndian.Uint16(sb[56:58]) != 0xef53 {
		t.Fatalf("no ext4 superblock at offset %d", off)
	}
	return string(bytes.TrimRight(sb[120:136], "\x00"))
}

// debugfs runs one debugfs request against the ext4 file system at off.
func debugfs(t *testing.T, img string, off int64, req string) string {
	t.Helper()
	out, err := exec.Command("debugfs", "-R", req, fmt.Sprintf("%s?offset=%d", img, off)).CombinedOutput()
	if err != nil {
		t.Fatalf("debugfs -R %q: %v\n%s", req, err, out)
	}
	return string(out)
}

// extFile is a file's contents; ok is false when it does not exist.
func extFile(t *testing.T, img string, off int64, path string) (string, bool) {
	t.Helper()
	s := debugfs(t, img, off, "cat "+path)
	if strings.Contains(s, "File not found by ext2_lookup") {
		return "", false
	}
	// debugfs prints its version banner on stderr first.
	if i := strings.Index(s, "\n"); strings.HasPrefix(s, "debugfs ") && i >= 0 {
		s = s[i+1:]
	}
	return s, true
}

// extStat is debugfs's stat of path (owner, mode, link target).
func extStat(t *testing.T, img string, off int64, path string) (uid, gid int, mode uint32, link string, ok bool) {
	t.Helper()
	s := debugfs(t, img, off, "stat "+path)
	if strings.Contains(s, "File not found by ext2_lookup") {
		return 0, 0, 0, "", false
	}
	fields := strings.Fields(s)
	for i, f := range fields {
		switch {
		case f == "User:" && i+1 < len(fields):
			uid, _ = strconv.Atoi(fields[i+1])
		case f == "Group:" && i+1 < len(fields):
			gid, _ = strconv.Atoi(fields[i+1])
		case f == "Mode:" && i+1 < len(fields):
			m, _ := strconv.ParseUint(fields[i+1], 8, 32)
			mode = uint32(m)
		}
	}
	if i := strings.Index(s, "Fast link dest: \""); i >= 0 {
		rest := s[i+len("Fast link dest: \""):]
		link = rest[:strings.Index(rest, "\"")]
	}
	return uid, gid, mode, link, true
}

// sfdiskParts reads the partition table, logical partitions included, with
// sfdisk --json: number (1-7) -> partition.
func sfdiskParts(t *testing.T, img string) map[int]partition {
	t.Helper()
	out, err := exec.Command("sfdisk", "--json", img).Output()
	if err != nil {
		t.Fatalf("sfdisk --json: %v", err)
	}
	var tbl struct {
		PartitionTable struct {
			Label      string `json:"label"`
			Partitions []struct {
				Node     string `json:"node"`
				Start    int64  `json:"start"`
				Size     int64  `json:"size"`
				Type     string `json:"type"`
				Bootable bool   `json:"bootable"`
			} `json:"partitions"`
		} `json:"partitiontable"`
	}
	if err := json.Unmarshal(out, &tbl); err != nil {
		t.Fatalf("sfdisk --json: %v", err)
	}
	if tbl.PartitionTable.Label != "dos" {
		t.Errorf("partition table %q, want dos (MBR, for the Pi's boot ROM)", tbl.PartitionTable.Label)
	}
	ps := map[int]partition{}
	for _, p := range tbl.PartitionTable.Partitions {
		n, err := strconv.Atoi(strings.TrimPrefix(p.Node, img))
		if err != nil {
			t.Fatalf("partition node %q", p.Node)
		}
		kind, _ := strconv.ParseUint(p.Type, 16, 8)
		ps[n] = partition{boot: p.Bootable, kind: byte(kind), start: p.Start * 512, bytes: p.Size * 512}
	}
	return ps
}

// TestImageLayout checks the A/B image: partition 1 with autoboot.txt,
// two boot slots and two root slots (B empty until the first update), the
// data partition; RAUC's configuration and keyring, the tryboot backend,
// the health gate, and the kiosk lockdown (browser policy, no spare gettys,
// USB by class) in the root.
func TestImageLayout(t *testing.T) {
	img := os.Getenv("KORTSTATION_IMAGE")
	if img == "" {
		t.Fatal("KORTSTATION_IMAGE is not set: run `make image`")
	}
	fi, err := os.Stat(img)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("image %s: %d MiB", img, fi.Size()>>20)
	repo, _ := filepath.Abs("..")
	repoFile := func(rel string) string {
		b, err := os.ReadFile(filepath.Join(repo, rel))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}

	ps := sfdiskParts(t, img)
	if len(ps) != 7 {
		t.Fatalf("got %d partitions, want 7 (autoboot, boot A/B, extended, root A/B, data): %+v", len(ps), ps)
	}
	for n := 1; n <= 7; n++ {
		p := ps[n]
		if p.start%(1<<20) != 0 {
			t.Errorf("partition %d starts at %d, not 1 MiB aligned", n, p.start)
		}
		if p.start+p.bytes > fi.Size() {
			t.Errorf("partition %d ends past the image", n)
		}
		if n > 1 && n != 5 && ps[n-1].start+ps[n-1].bytes > p.start && n-1 != 4 {
			t.Errorf("partition %d overlaps partition %d", n, n-1)
		}
	}
	ext := ps[4]
	for n := 5; n <= 7; n++ {
		if ps[n].start < ext.start || ps[n].start+ps[n].bytes > ext.start+ext.bytes {
			t.Errorf("logical partition %d is outside the extended partition", n)
		}
	}
	if ps[6].start < ps[5].start+ps[5].bytes || ps[7].start < ps[6].start+ps[6].bytes {
		t.Error("logical partitions overlap")
	}
	conf, bootA, bootB, rootA, rootB, data := ps[1], ps[2], ps[3], ps[5], ps[6], ps[7]
	if conf.kind != 0x0c || !conf.boot {
		t.Errorf("partition 1: type %#x boot %v, want FAT32 LBA (0xc), bootable", conf.kind, conf.boot)
	}
	if bootA.kind != 0x0c || bootB.kind != 0x0c || ext.kind != 0x05 {
		t.Errorf("partitions 2, 3, 4: types %#x %#x %#x, want 0xc 0xc 0x5", bootA.kind, bootB.kind, ext.kind)
	}
	if rootA.kind != 0x83 || rootB.kind != 0x83 || data.kind != 0x83 {
		t.Errorf("partitions 5, 6, 7: types %#x %#x %#x, want Linux (0x83)", rootA.kind, rootB.kind, data.kind)
	}
	// Both slots of a pair are the same size: any update fits either.
	if bootA.bytes != bootB.bytes || rootA.bytes != rootB.bytes {
		t.Errorf("slot sizes differ: boot %d/%d, root %d/%d", bootA.bytes, bootB.bytes, rootA.bytes, rootB.bytes)
	}
	fatLabel := func(p partition) string { return strings.TrimSpace(string(readAt(t, img, p.start+0x47, 11))) }
	if lbl := fatLabel(conf); lbl != "KSBOOT" {
		t.Errorf("partition 1 label %q, want KSBOOT", lbl)
	}
	if lbl := fatLabel(bootA); lbl != "KSFW" {
		t.Errorf("boot slot A label %q, want KSFW", lbl)
	}
	root := rootA
	if lbl := ext4Label(t, img, root.start); lbl != "KSROOT" {
		t.Errorf("root slot A label %q, want KSROOT", lbl)
	}
	// The data partition is blank: the first boot encrypts it (LUKS2) and
	// makes its file system from the root's skeleton (kortstation-unlock).
	if !bytes.Equal(readAt(t, img, data.start, 1<<20), make([]byte, 1<<20)) {
		t.Error("the data partition is not blank: it would be refused at the first boot, or hold data in the clear")
	}
	// On a card larger than the image, the first boot grows the data
	// partition to the card's end before encrypting it
	// (dataunlock.GrowPartition): this image's own table, on a card 1 GiB
	// larger.
	t.Run("data partition grows on a larger card", func(t *testing.T) {
		card := filepath.Join(t.TempDir(), "card.img")
		f, err := os.Create(card)
		if err != nil {
			t.Fatal(err)
		}
		// Only the table: the MBR and the EBR 1 MiB before each logical
		// partition, in a sparse card.
		for _, off := range []int64{0, rootA.start - 1<<20, rootB.start - 1<<20, data.start - 1<<20} {
			if _, err := f.WriteAt(readAt(t, img, off, 512), off); err != nil {
				t.Fatal(err)
			}
		}
		if err := f.Truncate(fi.Size() + 1<<30); err != nil {
			t.Fatal(err)
		}
		f.Close()
		g, err := dataunlock.GrowDisk(card, 7)
		if err != nil || !g.Grown {
			t.Fatalf("GrowDisk: %+v, %v", g, err)
		}
		grown := sfdiskParts(t, card)
		end := fi.Size() + 1<<30
		if p := grown[7]; p.start != data.start || p.start+p.bytes != end {
			t.Errorf("grown data partition: %d+%d, want it from %d to the card's end %d", p.start, p.bytes, data.start, end)
		}
		if p := grown[4]; p.start != ext.start || p.start+p.bytes != end {
			t.Errorf("grown extended partition: %d+%d, want it to the card's end %d", p.start, p.bytes, end)
		}
		for _, n := range []int{1, 2, 3, 5, 6} {
			if grown[n] != ps[n] {
				t.Errorf("partition %d changed: %+v -> %+v", n, ps[n], grown[n])
			}
		}
		if out, err := exec.Command("sfdisk", "--verify", card).CombinedOutput(); err != nil || !strings.Contains(string(out), "No errors detected") {
			t.Errorf("sfdisk --verify: %v\n%s", err, out)
		}
	})
	// Slot B is empty until the first update writes it.
	for name, p := range map[string]partition{"boot slot B": bootB, "root slot B": rootB} {
		if !bytes.Equal(readAt(t, img, p.start, 4096), make([]byte, 4096)) {
			t.Errorf("%s is not empty", name)
		}
	}

	t.Run("autoboot", func(t *testing.T) {
		fat := fmt.Sprintf("%s@@%d", img, conf.start)
		ab, err := exec.Command("mtype", "-i", fat, "::/autoboot.txt").Output()
		if err != nil {
			t.Fatalf("partition 1 has no autoboot.txt: %v", err)
		}
		if want := "[all]\ntryboot_a_b=1\nboot_partition=2\n[tryboot]\nboot_partition=3\n"; string(ab) != want {
			t.Errorf("autoboot.txt:\n%s\nwant:\n%s", ab, want)
		}
		state, err := exec.Command("mtype", "-i", fat, "::/kortstation-ab.state").Output()
		if err != nil || !strings.Contains(string(state), "A=good") || !strings.Contains(string(state), "B=bad") {
			t.Errorf("kortstation-ab.state %q (%v), want A good, B bad", state, err)
		}
	})

	t.Run("boot", func(t *testing.T) {
		fat := fmt.Sprintf("%s@@%d", img, bootA.start)
		out, err := exec.Command("mdir", "-b", "-i", fat, "::/").CombinedOutput()
		if err != nil {
			t.Fatalf("mdir: %v\n%s", err, out)
		}
		list := string(out)
		for _, want := range []string{"/config.txt", "/cmdline.txt", "/vmlinuz-", "/initrd.img-", "/bcm2711-rpi-4-b.dtb", "/start4.elf", "/fixup4.dat"} {
			if !strings.Contains(list, want) {
				t.Errorf("boot slot A lacks %s:\n%s", want, list)
			}
		}
		cmdline, err := exec.Command("mtype", "-i", fat, "::/cmdline.txt").Output()
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"root=/dev/mmcblk0p5 rauc.slot=A ", " ro ", "consoleblank=0", "rootwait", "usbcore.authorized_default=0"} {
			if !strings.Contains(string(cmdline), want) {
				t.Errorf("cmdline.txt %q lacks %q", cmdline, want)
			}
		}
		if strings.Contains(string(cmdline), " rw ") || strings.Contains(string(cmdline), "cma=") || strings.Contains(string(cmdline), "LABEL=KSROOT") {
			t.Errorf("cmdline.txt %q: root must not be rw or by label (both slots carry KSROOT), no cma= on a Pi 4", cmdline)
		}
		config, err := exec.Command("mtype", "-i", fat, "::/config.txt").Output()
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"arm_64bit=1", "kernel=vmlinuz-", "initramfs initrd.img-", "dtparam=watchdog=on"} {
			if !strings.Contains(string(config), want) {
				t.Errorf("config.txt lacks %q", want)
			}
		}
	})

	var stationUID, stationGID int
	t.Run("root", func(t *testing.T) {
		for _, p := range packagedFiles {
			if _, _, _, _, ok := extStat(t, img, root.start, p); !ok {
				t.Errorf("root lacks %s", p)
			}
		}
		for _, p := range []string{"/usr/bin/cage", "/usr/bin/chromium", "/usr/sbin/pcscd", "/usr/sbin/cupsd", "/data", "/boot/firmware", "/var/lib/kortstation",
			"/usr/bin/rauc", "/lib/systemd/system/rauc.service", "/usr/bin/mcopy", "/usr/bin/setpriv"} {
			if _, _, _, _, ok := extStat(t, img, root.start, p); !ok {
				t.Errorf("root lacks %s", p)
			}
		}
		// The station binary is the arm64 cgo build.
		bin := filepath.Join(t.TempDir(), "kioskd")
		debugfs(t, img, root.start, "dump /usr/bin/kioskd "+bin)
		if f, err := elf.Open(bin); err != nil {
			t.Errorf("/usr/bin/kioskd: %v", err)
		} else {
			if f.Machine != elf.EM_AARCH64 {
				t.Errorf("/usr/bin/kioskd is for %v, want EM_AARCH64", f.Machine)
			}
			f.Close()
		}
		// The Raspberry Pi's OTP key reaches the unlock through the
		// kortstation_otp module, built for exactly the image's kernel;
		// the toolchain that built it is not in the image.
		kernels := debugfs(t, img, root.start, "ls -p /lib/modules")
		var kver string
		for _, l := range strings.Split(kernels, "\n") {
			if f := strings.Split(l, "/"); len(f) > 5 && f[5] != "." && f[5] != ".." && f[5] != "" {
				if kver != "" {
					t.Errorf("more than one kernel: %s and %s", kver, f[5])
				}
				kver = f[5]
			}
		}
		ko := filepath.Join(t.TempDir(), "kortstation_otp.ko")
		debugfs(t, img, root.start, "dump /lib/modules/"+kver+"/updates/kortstation_otp.ko "+ko)
		if _, err := os.Stat(ko); err != nil {
			t.Errorf("the image has no kortstation_otp module for kernel %q", kver)
		} else if info := modinfo(t, ko); !strings.HasPrefix(info["vermagic"], kver+" ") {
			t.Errorf("kortstation_otp is built for %q, the image's kernel is %s", info["vermagic"], kver)
		}
		if dep, _ := extFile(t, img, root.start, "/lib/modules/"+kver+"/modules.dep"); !strings.Contains(dep, "updates/kortstation_otp.ko:") {
			t.Error("modules.dep does not list kortstation_otp (depmod did not run)")
		}
		for _, p := range []string{"/usr/bin/make", "/usr/bin/gcc-12", "/usr/src/linux-headers-" + kver} {
			if _, _, _, _, ok := extStat(t, img, root.start, p); ok {
				t.Errorf("the image carries %s", p)
			}
		}
		fstab, _ := extFile(t, img, root.start, "/etc/fstab")
		for _, want := range []string{"/dev/mapper/ksdata  /data", "x-systemd.requires=kortstation-unlock.service", "x-systemd.device-timeout=6min", "LABEL=KSBOOT  /boot/firmware", "/data/kortstation  /var/lib/kortstation"} {
			if !strings.Contains(fstab, want) {
				t.Errorf("fstab lacks %q", want)
			}
		}
		if strings.Contains(fstab, "LABEL=KSROOT") {
			t.Error("fstab mounts the root by label: both root slots carry it")
		}
		if strings.Contains(fstab, "gid=lp") {
			t.Error("fstab still has gid=lp (not resolved to a number)")
		}

		// RAUC: the shipped configuration, the update CA as keyring, the
		// running version for the downgrade check.
		if got, _ := extFile(t, img, root.start, "/etc/rauc/system.conf"); got != repoFile("images/rauc/system.conf") {
			t.Error("/etc/rauc/system.conf differs from images/rauc/system.conf")
		}
		keyring, _ := extFile(t, img, root.start, "/etc/rauc/keyring.pem")
		if blk, _ := pem.Decode([]byte(keyring)); blk == nil {
			t.Error("/etc/rauc/keyring.pem holds no PEM certificate")
		} else if c, err := x509.ParseCertificate(blk.Bytes); err != nil || !c.IsCA {
			t.Errorf("/etc/rauc/keyring.pem: not a CA certificate (%v)", err)
		} else {
			t.Logf("update CA: %s", c.Subject)
		}
		if rel, _ := extFile(t, img, root.start, "/etc/kortstation-release"); !strings.HasPrefix(rel, "VERSION=") {
			t.Errorf("/etc/kortstation-release %q, want VERSION=", rel)
		}
		// The kiosk lockdown.
		if got, _ := extFile(t, img, root.start, "/etc/chromium/policies/managed/kortstation.json"); got != repoFile("systemd/chromium-policy.json") {
			t.Error("the Chromium policy in the image differs from systemd/chromium-policy.json")
		}
		logind, _ := extFile(t, img, root.start, "/etc/systemd/logind.conf.d/kortstation.conf")
		for _, want := range []string{"NAutoVTs=0", "ReserveVT=0", "HandlePowerKey=ignore"} {
			if !strings.Contains(logind, want) {
				t.Errorf("logind.conf.d/kortstation.conf lacks %s", want)
			}
		}
		if wd, _ := extFile(t, img, root.start, "/etc/systemd/system.conf.d/kortstation.conf"); !strings.Contains(wd, "RuntimeWatchdogSec=") {
			t.Error("systemd does not pet the hardware watchdog")
		}
		if sc, _ := extFile(t, img, root.start, "/etc/sysctl.d/60-kortstation.conf"); !strings.Contains(sc, "kernel.sysrq = 0") {
			t.Error("magic SysRq is not off")
		}

		passwd, _ := extFile(t, img, root.start, "/etc/passwd")
		for _, line := range strings.Split(passwd, "\n") {
			if f := strings.Split(line, ":"); len(f) > 3 && f[0] == "kortstation" {
				stationUID, _ = strconv.Atoi(f[2])
				stationGID, _ = strconv.Atoi(f[3])
			}
		}
		if stationUID == 0 {
			t.Fatal("no user kortstation in the image's /etc/passwd")
		}
		links := map[string]string{
			"/etc/systemd/system/multi-user.target.wants/kioskd.service":                "/lib/systemd/system/kioskd.service",
			"/etc/systemd/system/multi-user.target.wants/kortstation-provision.service": "/lib/systemd/system/kortstation-provision.service",
			"/etc/systemd/system/multi-user.target.wants/kortstation-health.service":    "/lib/systemd/system/kortstation-health.service",
			"/etc/systemd/system/multi-user.target.wants/kortstation-update.path":       "/lib/systemd/system/kortstation-update.path",
			"/etc/systemd/system/graphical.target.wants/kortstation-display.service":    "/lib/systemd/system/kortstation-display.service",
			"/etc/systemd/system/sockets.target.wants/pcscd.socket":                     "/lib/systemd/system/pcscd.socket",
			"/etc/systemd/system/default.target":                                        "/lib/systemd/system/graphical.target",
			// No gettys on the touchscreen's or any spare VT, no Ctrl+Alt+Del.
			"/etc/systemd/system/getty@tty1.service":  "/dev/null",
			"/etc/systemd/system/getty@.service":      "/dev/null",
			"/etc/systemd/system/autovt@.service":     "/dev/null",
			"/etc/systemd/system/ctrl-alt-del.target": "/dev/null",
		}
		for l, want := range links {
			_, _, _, got, ok := extStat(t, img, root.start, l)
			if !ok || got != want {
				t.Errorf("%s -> %q (exists %v), want %s", l, got, ok, want)
			}
		}
		for _, u := range []string{"systemd-networkd.service", "systemd-resolved.service", "systemd-timesyncd.service"} {
			found := false
			for _, dir := range []string{"multi-user.target.wants", "sysinit.target.wants", "network-online.target.wants"} {
				if _, _, _, l, ok := extStat(t, img, root.start, "/etc/systemd/system/"+dir+"/"+u); ok && l != "" {
					found = true
				}
			}
			if !found {
				t.Errorf("%s is not enabled", u)
			}
		}
		if mid, _ := extFile(t, img, root.start, "/etc/machine-id"); strings.TrimSpace(mid) != "" {
			t.Errorf("/etc/machine-id is %q, want empty (one per device, made at boot)", mid)
		}
	})

	// The data skeleton the first boot copies into the encrypted data
	// partition, and the unit that does it, enabled for data.mount.
	t.Run("data", func(t *testing.T) {
		if stationUID == 0 {
			t.Fatal("root subtest found no kortstation user")
		}
		const skel = "/usr/lib/kortstation/data-skel"
		uid, gid, mode, _, ok := extStat(t, img, root.start, skel+"/kortstation")
		if !ok || uid != stationUID || gid != stationGID || mode&0o7777 != 0o700 {
			t.Errorf("data skeleton /kortstation: %d:%d %o (exists %v), want %d:%d 700", uid, gid, mode&0o7777, ok, stationUID, stationGID)
		}
		for _, p := range []string{"/cups/cupsd.conf", "/systemd", "/log/journal", "/rauc"} {
			if _, _, _, _, ok := extStat(t, img, root.start, skel+p); !ok {
				t.Errorf("data skeleton lacks %s", p)
			}
		}
		// partx (util-linux) tells the kernel the grown data partition's size.
		for _, p := range []string{"/usr/lib/kortstation/kortstation-unlock", "/usr/sbin/cryptsetup", "/usr/bin/partx",
			"/etc/systemd/system/data.mount.requires/kortstation-unlock.service"} {
			if _, _, _, _, ok := extStat(t, img, root.start, p); !ok {
				t.Errorf("root lacks %s", p)
			}
		}
		unit, _ := extFile(t, img, root.start, "/lib/systemd/system/kortstation-unlock.service")
		if !strings.Contains(unit, "-device /dev/mmcblk0p7") || !strings.Contains(unit, "-skel "+skel) || strings.Contains(unit, "-grow=false") {
			t.Errorf("the unlock unit does not open partition 7 with the skeleton:\n%s", unit)
		}
		// The TPM key source: the sealed secret on partition 1 (mounted
		// first), and the TPM2 libraries systemd-creds loads at run time.
		// And the check of /data waits until the first boot's file system
		// is made and filled (found by the QEMU boot test).
		if !strings.Contains(unit, "-key-source auto") || !strings.Contains(unit, "RequiresMountsFor=/boot/firmware") ||
			!strings.Contains(unit, "Before=systemd-fsck@dev-mapper-ksdata.service") {
			t.Errorf("the unlock unit does not choose its key source, mount the boot partition first, or run before the check of /data:\n%s", unit)
		}
		for _, lib := range []string{"libtss2-esys.so.0", "libtss2-rc.so.0", "libtss2-mu.so.0", "libtss2-tcti-device.so.0"} {
			if _, _, _, _, ok := extStat(t, img, root.start, "/usr/lib/aarch64-linux-gnu/"+lib); !ok {
				t.Errorf("root lacks %s: systemd-creds cannot use the TPM", lib)
			}
		}
	})

	// What `make bundle` packs: the file systems of slot A, beside the image.
	t.Run("bundle inputs", func(t *testing.T) {
		base := strings.TrimSuffix(strings.TrimSuffix(img, ".img"), "-rpi-arm64")
		for _, c := range []struct {
			file string
			p    partition
		}{{base + "-root.ext4", rootA}, {base + "-boot.vfat", bootA}} {
			b, err := os.ReadFile(c.file)
			if err != nil {
				t.Errorf("no %s: %v", c.file, err)
				continue
			}
			if int64(len(b)) > c.p.bytes || !bytes.Equal(readAt(t, img, c.p.start, 1<<20), b[:1<<20]) {
				t.Errorf("%s is not what slot A holds", c.file)
			}
		}
	})
}
