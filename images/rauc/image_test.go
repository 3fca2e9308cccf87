package rauc

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// standInRoot is a root directory with what build-image.sh expects of one
// built by build-rootfs.sh -p image: raspi-firmware's boot files (with the
// command line its kernel hook writes), the units the image enables, and
// the directories that move to the data partition.
func standInRoot(t *testing.T, dir string) string {
	t.Helper()
	root := filepath.Join(dir, "root")
	files := map[string]string{
		"boot/firmware/cmdline.txt":                 "console=ttyS1,115200 console=tty0 root=/dev/mmcblk0p5 rw fsck.repair=yes rootwait consoleblank=0 quiet loglevel=3 usbcore.authorized_default=0\n",
		"boot/firmware/config.txt":                  "arm_64bit=1\nkernel=vmlinuz-6.1.0-test-arm64\ninitramfs initrd.img-6.1.0-test-arm64\ndtparam=watchdog=on\n",
		"boot/firmware/vmlinuz-6.1.0-test-arm64":    "kernel",
		"boot/firmware/initrd.img-6.1.0-test-arm64": "initrd",
		"boot/firmware/start4.elf":                  "firmware",
		"boot/firmware/fixup4.dat":                  "fixup",
		"boot/firmware/bcm2711-rpi-4-b.dtb":         "dtb",
		"etc/group":                                 "root:x:0:\nlp:x:7:\n",
		"etc/cups/cupsd.conf":                       "Listen localhost:631\n",
		"var/lib/kortstation/.keep":                 "",
		"var/lib/systemd/.keep":                     "",
		"var/log/.keep":                             "",
		"var/cache/apt/.keep":                       "",
		"var/lib/apt/lists/.keep":                   "",
	}
	for _, u := range []string{"systemd-networkd.service", "systemd-resolved.service", "systemd-timesyncd.service"} {
		files["lib/systemd/system/"+u] = "[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n"
	}
	files["lib/systemd/system/graphical.target"] = "[Unit]\nDescription=Graphical\n"
	// The package's unit that opens the encrypted data partition; the image
	// enables it for data.mount.
	files["lib/systemd/system/kortstation-unlock.service"] = "[Service]\nExecStart=/bin/true\n[Install]\nRequiredBy=data.mount\n"
	for p, c := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		write(t, full, c)
	}
	return root
}

// TestImageToBundleToSlot builds an A/B image with build-image.sh (from a
// stand-in root: the real one takes half an hour, `make image` and its
// TestImageLayout do that), packs its root and boot file systems with
// `make bundle` as a release would, and installs that into slot B of a
// station: the image's command line becomes slot B's.
func TestImageToBundleToSlot(t *testing.T) {
	dir := t.TempDir()
	k := keys(t, dir, "Kortstation test")
	img := filepath.Join(dir, "out", "kortstation-2.0.0-rpi-arm64.img")
	env := []string{"CONF_MIB=64", "BOOT_MIB=64", "SLOT_MIB=96", "DATA_MIB=16"}
	sh(t, env, filepath.Join(repo(t), "images", "build-image.sh"), "-r", standInRoot(t, dir), "-o", img,
		"-k", filepath.Join(k, "ca.cert.pem"), "-V", "2.0.0")

	// The partition table: 1-3 primary, 4 extended with 5-7.
	var tbl struct {
		PartitionTable struct {
			Partitions []struct {
				Start, Size int64
				Type        string
				Bootable    bool
			}
		}
	}
	if err := json.Unmarshal([]byte(sh(t, nil, "sfdisk", "--json", img)), &tbl); err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, p := range tbl.PartitionTable.Partitions {
		kinds = append(kinds, fmt.Sprintf("%s/%d", p.Type, p.Size>>11))
	}
	if got, want := strings.Join(kinds, " "), "c/64 c/64 c/64 5/211 83/96 83/96 83/16"; got != want {
		t.Errorf("partitions (type/MiB) %s, want %s", got, want)
	}
	off := func(n int) string { return fmt.Sprintf("%s@@%d", img, tbl.PartitionTable.Partitions[n-1].Start*512) }
	if ab := sh(t, nil, "mtype", "-i", off(1), "::/autoboot.txt"); ab != "[all]\ntryboot_a_b=1\nboot_partition=2\n[tryboot]\nboot_partition=3\n" {
		t.Errorf("autoboot.txt:\n%s", ab)
	}
	cmdline := sh(t, nil, "mtype", "-i", off(2), "::/cmdline.txt")
	if !strings.HasPrefix(cmdline, "root=/dev/mmcblk0p5 rauc.slot=A console=") || !strings.Contains(cmdline, " ro ") || strings.Contains(cmdline, " rw ") {
		t.Errorf("slot A cmdline.txt %q", cmdline)
	}
	rootfs := strings.TrimSuffix(img, "-rpi-arm64.img") + "-root.ext4"
	bootfs := strings.TrimSuffix(img, "-rpi-arm64.img") + "-boot.vfat"
	conf := sh(t, nil, "debugfs", "-R", "cat /etc/rauc/system.conf", rootfs)
	if !strings.Contains(conf, read(t, script(t, "system.conf"))) {
		t.Error("the image's /etc/rauc/system.conf is not images/rauc/system.conf")
	}
	if rel := sh(t, nil, "debugfs", "-R", "cat /etc/kortstation-release", rootfs); !strings.Contains(rel, "VERSION=2.0.0") {
		t.Errorf("/etc/kortstation-release: %q", rel)
	}

	// No gettys on the touchscreen's or spare VTs, no Ctrl+Alt+Del (the
	// image layout test checks the same in the real image).
	for _, u := range []string{"getty@tty1.service", "getty@.service", "autovt@.service", "ctrl-alt-del.target"} {
		st := sh(t, nil, "debugfs", "-R", "stat /etc/systemd/system/"+u, rootfs)
		if !strings.Contains(st, `Fast link dest: "/dev/null"`) {
			t.Errorf("%s is not masked in the image's root:\n%s", u, st)
		}
	}
	logind := sh(t, nil, "debugfs", "-R", "cat /etc/systemd/logind.conf.d/kortstation.conf", rootfs)
	if !strings.Contains(logind, "NAutoVTs=0") || !strings.Contains(logind, "ReserveVT=0") {
		t.Errorf("logind starts gettys on spare VTs:\n%s", logind)
	}

	// make bundle from the image's file systems, then install on a station.
	bin := filepath.Join(dir, "bin")
	sh(t, nil, "make", "--no-print-directory", "-C", repo(t), "-f", "images/appliance.mk", "bundle",
		"BIN="+bin, "VERSION=v2.0.0", "BUNDLE_FORMAT=plain", "ROOT_EXT4="+rootfs, "BOOT_VFAT="+bootfs,
		"RAUC_KEY="+filepath.Join(k, "signing.key.pem"), "RAUC_CERT="+filepath.Join(k, "signing.cert.pem"),
		"RAUC_KEYRING="+filepath.Join(k, "ca.cert.pem"))
	s := newStationSized(t, filepath.Join(k, "ca.cert.pem"), 96<<20)
	s.boot("A", "1.0.0")
	if out, err := s.update(filepath.Join(bin, "bundle", "kortstation-2.0.0.raucb")); err != nil {
		t.Fatalf("install the image's bundle: %v\n%s\nservice:\n%s", err, out, s.svcLog)
	}
	if !s.slotHolds("rootfs.1", rootfs) {
		t.Error("slot B does not hold the image's root file system")
	}
	b := s.bootCmdline("boot.1")
	if want := "root=" + s.dev["rootfs.1"] + " rauc.slot=B console=ttyS1,115200 console=tty0 ro fsck.repair=yes rootwait"; !strings.HasPrefix(b, want) {
		t.Errorf("slot B cmdline.txt %q, want it to start %q", b, want)
	}
	for _, w := range []string{"usbcore.authorized_default=0", "consoleblank=0"} {
		if !strings.Contains(b, w) {
			t.Errorf("slot B cmdline.txt lost %s: %q", w, b)
		}
	}
	s.wantAutoboot("2", "3")
}
