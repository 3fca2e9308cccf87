//go:build imagetest

package images

// TestImageLayout checks the image `make image` built (KORTSTATION_IMAGE):
// the partition table, the file systems' labels, the files on each and the
// enabled units. It reads the image without mounting it: the MBR and
// superblocks directly, FAT with mtools, ext4 with debugfs.
// Run by `make image` (go test -tags imagetest), not by `make test`.

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

type partition struct {
	boot         bool
	kind         byte
	start, bytes int64
}

func readMBR(t *testing.T, img string) []partition {
	t.Helper()
	f, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	mbr := make([]byte, 512)
	if _, err := f.ReadAt(mbr, 0); err != nil {
		t.Fatal(err)
	}
	if mbr[510] != 0x55 || mbr[511] != 0xaa {
		t.Fatalf("no MBR signature: % x", mbr[510:])
	}
	var ps []partition
	for i := 0; i < 4; i++ {
		e := mbr[446+16*i : 446+16*(i+1)]
		if e[4] == 0 {
			continue
		}
		ps = append(ps, partition{
			boot:  e[0] == 0x80,
			kind:  e[4],
			start: int64(binary.LittleEndian.Uint32(e[8:12])) * 512,
			bytes: int64(binary.LittleEndian.Uint32(e[12:16])) * 512,
		})
	}
	return ps
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

	ps := readMBR(t, img)
	if len(ps) != 3 {
		t.Fatalf("got %d partitions, want 3 (boot, root, data): %+v", len(ps), ps)
	}
	for i, p := range ps {
		if p.start%(1<<20) != 0 {
			t.Errorf("partition %d starts at %d, not 1 MiB aligned", i+1, p.start)
		}
		if p.start+p.bytes > fi.Size() {
			t.Errorf("partition %d ends past the image", i+1)
		}
		if i > 0 && ps[i-1].start+ps[i-1].bytes > p.start {
			t.Errorf("partition %d overlaps partition %d", i+1, i)
		}
	}
	boot, root, data := ps[0], ps[1], ps[2]
	if boot.kind != 0x0c || !boot.boot {
		t.Errorf("partition 1: type %#x boot %v, want FAT32 LBA (0xc), bootable", boot.kind, boot.boot)
	}
	if root.kind != 0x83 || data.kind != 0x83 {
		t.Errorf("partitions 2, 3: types %#x %#x, want Linux (0x83)", root.kind, data.kind)
	}
	if lbl := strings.TrimSpace(string(readAt(t, img, boot.start+0x47, 11))); lbl != "KSBOOT" {
		t.Errorf("boot label %q, want KSBOOT", lbl)
	}
	if lbl := ext4Label(t, img, root.start); lbl != "KSROOT" {
		t.Errorf("root label %q, want KSROOT", lbl)
	}
	if lbl := ext4Label(t, img, data.start); lbl != "KSDATA" {
		t.Errorf("data label %q, want KSDATA", lbl)
	}

	t.Run("boot", func(t *testing.T) {
		fat := fmt.Sprintf("%s@@%d", img, boot.start)
		out, err := exec.Command("mdir", "-b", "-i", fat, "::/").CombinedOutput()
		if err != nil {
			t.Fatalf("mdir: %v\n%s", err, out)
		}
		list := string(out)
		for _, want := range []string{"/config.txt", "/cmdline.txt", "/vmlinuz-", "/initrd.img-", "/bcm2711-rpi-4-b.dtb", "/start4.elf", "/fixup4.dat"} {
			if !strings.Contains(list, want) {
				t.Errorf("boot partition lacks %s:\n%s", want, list)
			}
		}
		cmdline, err := exec.Command("mtype", "-i", fat, "::/cmdline.txt").Output()
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"root=LABEL=KSROOT", " ro ", "consoleblank=0", "rootwait"} {
			if !strings.Contains(string(cmdline), want) {
				t.Errorf("cmdline.txt %q lacks %q", cmdline, want)
			}
		}
		if strings.Contains(string(cmdline), " rw ") || strings.Contains(string(cmdline), "cma=") {
			t.Errorf("cmdline.txt %q: root must not be rw, no cma= on a Pi 4", cmdline)
		}
		config, err := exec.Command("mtype", "-i", fat, "::/config.txt").Output()
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"arm_64bit=1", "kernel=vmlinuz-", "initramfs initrd.img-"} {
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
		for _, p := range []string{"/usr/bin/cage", "/usr/bin/chromium", "/usr/sbin/pcscd", "/usr/sbin/cupsd", "/data", "/boot/firmware", "/var/lib/kortstation"} {
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
		fstab, _ := extFile(t, img, root.start, "/etc/fstab")
		for _, want := range []string{"LABEL=KSROOT  /               ext4   ro,", "LABEL=KSDATA  /data", "LABEL=KSBOOT  /boot/firmware", "/data/kortstation  /var/lib/kortstation"} {
			if !strings.Contains(fstab, want) {
				t.Errorf("fstab lacks %q", want)
			}
		}
		if strings.Contains(fstab, "gid=lp") {
			t.Error("fstab still has gid=lp (not resolved to a number)")
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
			"/etc/systemd/system/graphical.target.wants/kortstation-display.service":    "/lib/systemd/system/kortstation-display.service",
			"/etc/systemd/system/sockets.target.wants/pcscd.socket":                     "/lib/systemd/system/pcscd.socket",
			"/etc/systemd/system/default.target":                                        "/lib/systemd/system/graphical.target",
			"/etc/systemd/system/getty@tty1.service":                                    "/dev/null",
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

	t.Run("data", func(t *testing.T) {
		if stationUID == 0 {
			t.Fatal("root subtest found no kortstation user")
		}
		uid, gid, mode, _, ok := extStat(t, img, data.start, "/kortstation")
		if !ok || uid != stationUID || gid != stationGID || mode&0o7777 != 0o700 {
			t.Errorf("data /kortstation: %d:%d %o (exists %v), want %d:%d 700", uid, gid, mode&0o7777, ok, stationUID, stationGID)
		}
		for _, p := range []string{"/cups/cupsd.conf", "/systemd", "/log/journal"} {
			if _, _, _, _, ok := extStat(t, img, data.start, p); !ok {
				t.Errorf("data partition lacks %s", p)
			}
		}
	})
}
