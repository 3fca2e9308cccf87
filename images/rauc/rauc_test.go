package rauc

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// repo is the repository root (tests run in images/rauc).
func repo(t *testing.T) string {
	t.Helper()
	r, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func script(t *testing.T, name string) string { return filepath.Join(repo(t), "images", "rauc", name) }

// sh runs a command and returns its combined output; it fails the test on
// error.
func sh(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	out, err := shErr(env, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

func shErr(env []string, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// keys makes a signing PKI with make-keys.sh.
func keys(t *testing.T, dir, name string) string {
	t.Helper()
	out := filepath.Join(dir, name)
	sh(t, nil, script(t, "make-keys.sh"), out, name)
	return out
}

// fileSystems makes the two file systems a bundle carries: a root (ext4)
// holding /etc/kortstation-release and some payload, and a boot slot (FAT)
// with a cmdline.txt as the image's has it.
func fileSystems(t *testing.T, dir, version string) (root, boot string) {
	t.Helper()
	src := filepath.Join(dir, "rootsrc-"+version)
	if err := os.MkdirAll(filepath.Join(src, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(src, "etc", "kortstation-release"), "VERSION="+version+"\n")
	// Incompressible payload: a verity bundle needs a few KiB at least.
	payload := make([]byte, 64<<10)
	for i := range payload {
		payload[i] = byte(i*7919>>3) ^ byte(len(version)*31+i>>9)
	}
	if err := os.WriteFile(filepath.Join(src, "payload"), payload, 0o644); err != nil {
		t.Fatal(err)
	}
	root = filepath.Join(dir, "root-"+version+".ext4")
	sh(t, nil, "mkfs.ext4", "-q", "-F", "-L", "KSROOT", "-d", src, root, "8M")
	boot = filepath.Join(dir, "boot-"+version+".vfat")
	_ = os.Remove(boot) // mkfs.vfat -C will not overwrite
	sh(t, nil, "mkfs.vfat", "-n", "KSFW", "-C", boot, "4096")
	cmdline := filepath.Join(dir, "cmdline.txt")
	write(t, cmdline, "console=ttyS1,115200 console=tty0 root=/dev/mmcblk0p5 rauc.slot=A ro rootwait consoleblank=0\n")
	sh(t, nil, "mcopy", "-i", boot, cmdline, "::/cmdline.txt")
	return root, boot
}

// makeBundle builds a bundle with `make bundle`, as a release build would.
func makeBundle(t *testing.T, dir, version, format, keyDir string) string {
	t.Helper()
	root, boot := fileSystems(t, dir, version)
	bin := filepath.Join(dir, "bin-"+version+"-"+format)
	sh(t, nil, "make", "--no-print-directory", "-C", repo(t), "-f", "images/appliance.mk", "bundle",
		"BIN="+bin, "VERSION=v"+version, "BUNDLE_FORMAT="+format,
		"ROOT_EXT4="+root, "BOOT_VFAT="+boot,
		"RAUC_KEY="+filepath.Join(keyDir, "signing.key.pem"),
		"RAUC_CERT="+filepath.Join(keyDir, "signing.cert.pem"),
		"RAUC_KEYRING="+filepath.Join(keyDir, "ca.cert.pem"))
	out := filepath.Join(bin, "bundle", "kortstation-"+version+".raucb")
	if _, err := os.Stat(out); err != nil {
		t.Fatalf("make bundle wrote no %s: %v", out, err)
	}
	return out
}

// station is a Pi's update machinery on loop devices: four slots (boot and
// root, A and B), the autoboot directory (partition 1), the data directory,
// and the real rauc service on a private D-Bus with the shipped
// system.conf, its devices and paths pointed at these.
type station struct {
	t                                   *testing.T
	dir, conf, abDir, abLog, bootID     string
	release, cmdline, result, rebootLog string
	dev                                 map[string]string // slot name -> loop device
	env                                 []string
	svc                                 *exec.Cmd
	svcLog                              *logBuffer
}

func newStation(t *testing.T, keyring string) *station {
	t.Helper()
	return newStationSized(t, keyring, 16<<20)
}

// newStationSized is newStation with slots of slotBytes each.
func newStationSized(t *testing.T, keyring string, slotBytes int64) *station {
	t.Helper()
	dir := t.TempDir()
	s := &station{t: t, dir: dir, dev: map[string]string{}}
	for _, slot := range []string{"rootfs.0", "rootfs.1", "boot.0", "boot.1"} {
		img := filepath.Join(dir, slot+".img")
		if err := os.Truncate(img, 0); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		f, err := os.Create(img)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Truncate(slotBytes); err != nil {
			t.Fatal(err)
		}
		f.Close()
		loop := strings.TrimSpace(sh(t, nil, "losetup", "--find", "--show", img))
		s.dev[slot] = loop
		t.Cleanup(func() { _ = exec.Command("losetup", "-d", loop).Run() })
	}

	// The shipped system.conf with only its devices and paths replaced.
	shipped := read(t, script(t, "system.conf"))
	conf := shipped
	for from, to := range map[string]string{
		"device=/dev/mmcblk0p5":      "device=" + s.dev["rootfs.0"],
		"device=/dev/mmcblk0p6":      "device=" + s.dev["rootfs.1"],
		"device=/dev/mmcblk0p2":      "device=" + s.dev["boot.0"],
		"device=/dev/mmcblk0p3":      "device=" + s.dev["boot.1"],
		"data-directory=/data/rauc":  "data-directory=" + filepath.Join(dir, "data"),
		"path=/etc/rauc/keyring.pem": "path=" + keyring,
		"=/usr/lib/kortstation/":     "=" + filepath.Join(repo(t), "images", "rauc") + "/",
		"bundle-formats=-plain":      "bundle-formats=plain verity", // no device-mapper here
	} {
		if strings.Count(conf, from) == 0 {
			t.Fatalf("shipped system.conf lacks %q", from)
		}
		conf = strings.ReplaceAll(conf, from, to)
	}
	s.conf = filepath.Join(dir, "system.conf")
	write(t, s.conf, conf)

	s.abDir = filepath.Join(dir, "autoboot")
	if err := os.MkdirAll(s.abDir, 0o755); err != nil {
		t.Fatal(err)
	}
	// The image's autoboot.txt: A committed, B for tryboot.
	write(t, filepath.Join(s.abDir, "autoboot.txt"), "[all]\ntryboot_a_b=1\nboot_partition=2\n[tryboot]\nboot_partition=3\n")
	s.abLog = filepath.Join(dir, "tryboot.log")
	s.release = filepath.Join(dir, "kortstation-release")
	s.cmdline = filepath.Join(dir, "cmdline")
	s.bootID = filepath.Join(dir, "boot_id")
	s.result = filepath.Join(dir, "update-result")
	s.rebootLog = filepath.Join(dir, "reboots")
	fakeReboot := filepath.Join(dir, "fake-reboot")
	if err := os.WriteFile(fakeReboot, []byte("#!/bin/sh\necho \"reboot $*\" >> '"+s.rebootLog+"'\n"), 0o755); err != nil {
		t.Fatal(err)
	}

	out := sh(t, nil, "dbus-daemon", "--session", "--fork", "--nopidfile",
		"--address=unix:path="+filepath.Join(dir, "bus"), "--print-pid")
	dbusPID := strings.TrimSpace(out)
	t.Cleanup(func() { _ = exec.Command("kill", dbusPID).Run() })
	s.env = []string{
		"DBUS_SESSION_BUS_ADDRESS=unix:path=" + filepath.Join(dir, "bus"),
		"DBUS_STARTER_BUS_TYPE=session",
		"KS_AB_DIR=" + s.abDir,
		"KS_AB_CMDLINE=" + s.cmdline,
		"KS_AB_LOG=" + s.abLog,
		"KS_AB_BOOT_ID=" + s.bootID,
		"KS_AB_BACKEND=" + script(t, "rauc-tryboot"),
		"KS_RELEASE_FILE=" + s.release,
		"KS_UPDATE_RESULT=" + s.result,
		"KS_REBOOT=" + fakeReboot,
	}
	t.Cleanup(s.stop)
	return s
}

// boot stands in for the firmware and the new root: the kernel command
// line names slot, the root holds version, the boot ID is new, and the
// rauc service starts again with that booted slot.
func (s *station) boot(slot, version string) {
	t := s.t
	t.Helper()
	s.stop()
	write(t, s.cmdline, "console=tty0 root=/dev/x ro rauc.slot="+slot+"\n")
	write(t, s.release, "VERSION="+version+"\n")
	write(t, s.bootID, fmt.Sprintf("boot-%d\n", time.Now().UnixNano()))
	s.svcLog = &logBuffer{}
	cmd := exec.Command("rauc", "service", "--conf="+s.conf, "--mount="+filepath.Join(s.dir, "mnt"), "--override-boot-slot="+slot)
	cmd.Env = append(os.Environ(), s.env...)
	cmd.Stdout, cmd.Stderr = s.svcLog, s.svcLog
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.svc = cmd
	deadline := time.Now().Add(15 * time.Second)
	for {
		out, err := shErr(s.env, "rauc", "status", "--output-format=json")
		if err == nil && strings.Contains(out, `"booted":"`+slot+`"`) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("rauc service did not come up booted from %s: %v\n%s\nservice log:\n%s", slot, err, out, s.svcLog)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// logBuffer is the service's output, written by exec's goroutines while the
// test reads it.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (s *station) stop() {
	if s.svc == nil {
		return
	}
	_ = s.svc.Process.Kill()
	_ = s.svc.Wait()
	s.svc = nil
}

// update runs kortstation-update, as the station's updater does.
func (s *station) update(bundle string) (string, error) {
	return shErr(s.env, script(s.t, "kortstation-update"), bundle)
}

// health runs kortstation-health with a health check that passes or fails.
func (s *station) health(pass bool) (string, error) {
	check := "false"
	if pass {
		check = "true"
	}
	return shErr(s.env, script(s.t, "kortstation-health"), check)
}

// autoboot is the partition autoboot.txt boots normally ([all]) and after a
// tryboot reboot ([tryboot]).
func (s *station) autoboot() (all, tryboot string) {
	sec := ""
	for _, line := range strings.Split(read(s.t, filepath.Join(s.abDir, "autoboot.txt")), "\n") {
		switch {
		case strings.HasPrefix(line, "["):
			sec = line
		case strings.HasPrefix(line, "boot_partition="):
			if sec == "[all]" {
				all = strings.TrimPrefix(line, "boot_partition=")
			} else if sec == "[tryboot]" {
				tryboot = strings.TrimPrefix(line, "boot_partition=")
			}
		}
	}
	if !strings.Contains(read(s.t, filepath.Join(s.abDir, "autoboot.txt")), "tryboot_a_b=1") {
		s.t.Error("autoboot.txt lost tryboot_a_b=1")
	}
	return all, tryboot
}

func (s *station) wantAutoboot(all, tryboot string) {
	s.t.Helper()
	a, tb := s.autoboot()
	if a != all || tb != tryboot {
		s.t.Errorf("autoboot.txt: [all] boot_partition=%s [tryboot] boot_partition=%s, want %s and %s\ntryboot log:\n%s",
			a, tb, all, tryboot, s.logText())
	}
}

func (s *station) backend(args ...string) string {
	return strings.TrimSpace(sh(s.t, s.env, script(s.t, "rauc-tryboot"), args...))
}

func (s *station) logText() string {
	b, _ := os.ReadFile(s.abLog)
	return string(b)
}

// takeLog returns the backend's decisions since the last call.
func (s *station) takeLog() string {
	l := s.logText()
	_ = os.Remove(s.abLog)
	return l
}

func (s *station) reboots() string {
	b, _ := os.ReadFile(s.rebootLog)
	_ = os.Remove(s.rebootLog)
	return strings.TrimSpace(string(b))
}

func (s *station) takeResult() string {
	b, _ := os.ReadFile(s.result)
	_ = os.Remove(s.result)
	return string(b)
}

// slotHolds reports whether the slot device starts with the image's bytes.
func (s *station) slotHolds(slot, image string) bool {
	want, err := os.ReadFile(image)
	if err != nil {
		s.t.Fatal(err)
	}
	f, err := os.Open(s.dev[slot])
	if err != nil {
		s.t.Fatal(err)
	}
	defer f.Close()
	got := make([]byte, len(want))
	if _, err := f.ReadAt(got, 0); err != nil {
		s.t.Fatal(err)
	}
	return bytes.Equal(got, want)
}

func (s *station) bootCmdline(slot string) string {
	s.t.Helper()
	// Stdout only: mtools warns on stderr that a loop device has no geometry.
	out, err := exec.Command("mtype", "-i", s.dev[slot], "::/cmdline.txt").Output()
	if err != nil {
		s.t.Fatalf("mtype %s: %v", s.dev[slot], err)
	}
	return strings.TrimSpace(string(out))
}

func contains(t *testing.T, what, got string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, got)
		}
	}
}

// TestUpdateCommitAndRollback installs bundles built by `make bundle` with
// rauc into loop-device slots through the tryboot backend, and follows the
// rollback rules of docs/appliance.md: a passing health check after the
// tryboot reboot commits the new slot, a failing one rolls back, and a
// trial that never came up is marked bad by the old slot.
func TestUpdateCommitAndRollback(t *testing.T) {
	dir := t.TempDir()
	k := keys(t, dir, "Kortstation test")
	v2 := makeBundle(t, dir, "2.0.0", "plain", k)
	v3 := makeBundle(t, dir, "3.0.0", "plain", k)
	v31 := makeBundle(t, dir, "3.1.0", "plain", k)
	s := newStation(t, filepath.Join(k, "ca.cert.pem"))
	s.boot("A", "1.0.0")
	if got := s.backend("get-primary"); got != "A" {
		t.Fatalf("a new station's primary slot is %s, want A", got)
	}

	// 1. Booted A, install 2.0.0: B is written, becomes the trial, and the
	// updater reboots with tryboot; the committed boot stays A.
	start := time.Now()
	out, err := s.update(v2)
	if err != nil {
		t.Fatalf("kortstation-update 2.0.0: %v\n%s\nservice:\n%s", err, out, s.svcLog)
	}
	t.Logf("install of a %d KiB bundle: %s", fileSize(t, v2)>>10, time.Since(start).Round(time.Millisecond))
	contains(t, "backend decisions for the install", s.takeLog(), "set-state B bad", "set-primary B: trial")
	s.wantAutoboot("2", "3")
	if got := s.reboots(); got != "reboot 0 tryboot" {
		t.Errorf("updater reboot %q, want a tryboot reboot", got)
	}
	if !s.slotHolds("rootfs.1", filepath.Join(dir, "root-2.0.0.ext4")) {
		t.Error("slot rootfs.1 does not hold the bundle's root file system")
	}
	if s.slotHolds("rootfs.0", filepath.Join(dir, "root-2.0.0.ext4")) {
		t.Error("the booted slot rootfs.0 was written")
	}
	contains(t, "boot.1 cmdline.txt", s.bootCmdline("boot.1"), "root="+s.dev["rootfs.1"]+" rauc.slot=B ", " ro rootwait")
	if strings.Contains(s.bootCmdline("boot.1"), "mmcblk0p5") {
		t.Errorf("boot.1 cmdline.txt still names A's root: %s", s.bootCmdline("boot.1"))
	}

	// 2. The tryboot boot of B passes its health check: B is committed.
	s.boot("B", "2.0.0")
	if out, err := s.health(true); err != nil {
		t.Fatalf("health on the trial: %v\n%s", err, out)
	}
	contains(t, "backend decisions for the commit", s.takeLog(), "set-state B good: booted trial passed; commit B")
	s.wantAutoboot("3", "2")
	contains(t, "update result", s.takeResult(), "result=committed", "slot=B", "version=2.0.0")
	if got := s.reboots(); got != "" {
		t.Errorf("a passing health check rebooted: %q", got)
	}

	// 3. From B, install 3.0.0 into A; its trial boot fails the health
	// check: A is marked bad, the station reboots normally, and the
	// committed slot is still B.
	if out, err := s.update(v3); err != nil {
		t.Fatalf("kortstation-update 3.0.0: %v\n%s\nservice:\n%s", err, out, s.svcLog)
	}
	s.wantAutoboot("3", "2")
	contains(t, "boot.0 cmdline.txt", s.bootCmdline("boot.0"), "root="+s.dev["rootfs.0"]+" rauc.slot=A ")
	s.takeLog()
	s.reboots()
	s.boot("A", "3.0.0")
	if out, err := s.health(false); err != nil {
		t.Fatalf("health on the failing trial: %v\n%s", err, out)
	}
	contains(t, "backend decisions for the rollback", s.takeLog(), "set-state A bad: trial cancelled; next boot B")
	if got := s.reboots(); got != "reboot" {
		t.Errorf("after a failed trial: reboot %q, want a normal reboot", got)
	}
	s.wantAutoboot("3", "2")
	contains(t, "update result", s.takeResult(), "result=rolled_back", "slot=A", "version=3.0.0", "reason=health check failed")
	if got := s.backend("get-state", "A"); got != "bad" {
		t.Errorf("A after the failed trial: %s, want bad", got)
	}
	s.boot("B", "2.0.0")
	if got := s.backend("get-primary"); got != "B" {
		t.Errorf("primary after the rollback: %s, want B", got)
	}
	if out, err := s.health(true); err != nil {
		t.Fatalf("health on B after the rollback: %v\n%s", err, out)
	}

	// 4. A trial that never came up (hung, reset by the watchdog): the
	// firmware boots B again by itself; B's health check marks A bad. A
	// health check run before the reboot leaves the trial alone.
	if out, err := s.update(v31); err != nil {
		t.Fatalf("kortstation-update 3.1.0: %v\n%s\nservice:\n%s", err, out, s.svcLog)
	}
	if out, err := s.health(true); err != nil {
		t.Fatalf("health before the reboot: %v\n%s", err, out)
	}
	if got := s.backend("get-trial"); got != "A" {
		t.Fatalf("a health check before the tryboot reboot cancelled the trial (trial %q)", got)
	}
	s.takeLog()
	s.boot("B", "2.0.0") // the firmware fell back: same slot, new boot
	if out, err := s.health(true); err != nil {
		t.Fatalf("health after the fallback: %v\n%s", err, out)
	}
	contains(t, "backend decisions after the fallback", s.takeLog(), "set-state A bad: trial cancelled")
	contains(t, "update result", s.takeResult(), "result=rolled_back", "slot=A", "reason=trial boot did not come up")
	if got := s.backend("get-trial"); got != "" {
		t.Errorf("trial after the fallback: %q, want none", got)
	}
	s.wantAutoboot("3", "2")
}

func fileSize(t *testing.T, p string) int64 {
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// TestRefused is the attacker's side: bundles a station must not install.
// Each is refused before a slot is written, and the boot choice stays.
func TestRefused(t *testing.T) {
	dir := t.TempDir()
	k := keys(t, dir, "Kortstation test")
	evil := keys(t, dir, "Someone else")
	good := makeBundle(t, dir, "2.0.0", "plain", k)
	newer := makeBundle(t, dir, "2.1.0", "plain", k)
	older := makeBundle(t, dir, "1.5.0", "plain", k)
	again := filepath.Join(dir, "again.raucb")
	sh(t, nil, "cp", makeBundle(t, dir, "1.9.0", "plain", k), again)

	// Signed by a CA the station does not trust (its own valid PKI).
	wrong := filepath.Join(dir, "wrong.raucb")
	root, boot := fileSystems(t, dir, "9.0.0")
	sh(t, nil, script(t, "build-bundle.sh"), "-r", root, "-b", boot, "-V", "9.0.0", "-f", "plain",
		"-k", filepath.Join(evil, "signing.key.pem"), "-c", filepath.Join(evil, "signing.cert.pem"), "-o", wrong)
	// Signed by the station's own CA certificate's key but not issued by
	// the CA? The CA key itself signs: still a chain to the keyring, so the
	// interesting forgeries are the unsigned and the altered ones.
	// Unsigned: the bundle's squashfs without a signature.
	content := filepath.Join(dir, "unsigned")
	if err := os.MkdirAll(content, 0o755); err != nil {
		t.Fatal(err)
	}
	sh(t, nil, "cp", root, filepath.Join(content, "root.ext4"))
	write(t, filepath.Join(content, "manifest.raucm"), "[update]\ncompatible=kortstation-rpi4\nversion=9.0.0\n\n[bundle]\nformat=plain\n\n[image.rootfs]\nfilename=root.ext4\n")
	unsigned := filepath.Join(dir, "unsigned.raucb")
	sh(t, nil, "mksquashfs", content, unsigned, "-all-root", "-noappend", "-no-progress", "-quiet")
	// Altered: one byte of a good bundle's payload changed after signing.
	altered := filepath.Join(dir, "altered.raucb")
	b, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/3] ^= 0x01
	if err := os.WriteFile(altered, b, 0o644); err != nil {
		t.Fatal(err)
	}
	// Another product's bundle, signed by our CA.
	other := filepath.Join(dir, "other.raucb")
	otherDir := filepath.Join(dir, "othercontent")
	if err := os.MkdirAll(otherDir, 0o755); err != nil {
		t.Fatal(err)
	}
	sh(t, nil, "cp", root, filepath.Join(otherDir, "root.ext4"))
	write(t, filepath.Join(otherDir, "manifest.raucm"), "[update]\ncompatible=some-other-device\nversion=9.0.0\n\n[bundle]\nformat=plain\n\n[image.rootfs]\nfilename=root.ext4\n")
	sh(t, nil, "rauc", "bundle", "--cert="+filepath.Join(k, "signing.cert.pem"), "--key="+filepath.Join(k, "signing.key.pem"), otherDir, other)

	s := newStation(t, filepath.Join(k, "ca.cert.pem"))
	s.boot("A", "2.0.0")
	for _, c := range []struct{ name, bundle, why string }{
		{"wrongly signed", wrong, "signature verification failed"},
		{"unsigned", unsigned, "Signature size is 0"},
		{"altered after signing", altered, "signature verification failed"},
		{"other device", other, "Compatible mismatch"},
		{"downgrade", older, "Pre-install handler error"},
		{"same version", good, "Pre-install handler error"},
		{"older than running", again, "Pre-install handler error"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s.takeLog()
			out, err := s.update(c.bundle)
			if err == nil {
				t.Fatalf("%s bundle installed:\n%s", c.name, out)
			}
			if c.why != "" && !strings.Contains(out, c.why) {
				t.Errorf("refusal says %q, want it to name %q", out, c.why)
			}
			if l := s.takeLog(); strings.Contains(l, "set-primary") || strings.Contains(l, "set-state") {
				t.Errorf("the backend was asked to change the boot:\n%s", l)
			}
			if s.slotHolds("rootfs.1", root) || s.slotHolds("rootfs.1", filepath.Join(dir, "root-1.5.0.ext4")) {
				t.Error("slot rootfs.1 was written")
			}
			s.wantAutoboot("2", "3")
			if got := s.reboots(); got != "" {
				t.Errorf("the updater rebooted: %q", got)
			}
		})
	}
	contains(t, "rauc service log", s.svcLog.String(), "refused: bundle version 1.5.0 is not above the running version 2.0.0")

	// While a trial is pending on its first boot, nothing more installs:
	// the committed slot is the only one known to be good.
	if out, err := s.update(newer); err != nil {
		t.Fatalf("install 2.1.0: %v\n%s", err, out)
	}
	s.boot("B", "2.1.0")
	later := makeBundle(t, dir, "2.2.0", "plain", k)
	if out, err := s.update(later); err == nil {
		t.Errorf("installed over the committed slot while on trial:\n%s", out)
	}
	contains(t, "rauc service log", s.svcLog.String(), "refused: booted slot B is on trial (committed: A)")
	s.wantAutoboot("2", "3")
}

// TestStationConfigRefusesPlain: the shipped system.conf accepts verity
// bundles only; the other tests lift that one key because this machine
// has no device-mapper to install verity bundles with.
func TestStationConfigRefusesPlain(t *testing.T) {
	dir := t.TempDir()
	k := keys(t, dir, "Kortstation test")
	plain := makeBundle(t, dir, "2.0.0", "plain", k)
	verity := makeBundle(t, dir, "2.0.0", "verity", k)
	s := newStation(t, filepath.Join(k, "ca.cert.pem"))
	conf := read(t, s.conf)
	write(t, s.conf, strings.Replace(conf, "bundle-formats=plain verity", "bundle-formats=-plain", 1))
	s.boot("A", "1.0.0")
	out, err := s.update(plain)
	if err == nil {
		t.Fatalf("a station installed a plain bundle:\n%s", out)
	}
	contains(t, "refusal", out, "plain")
	info := sh(t, nil, "rauc", "info", "--keyring="+filepath.Join(k, "ca.cert.pem"), verity)
	contains(t, "rauc info of the verity bundle", info, "Version:    \t'2.0.0'", "Bundle Format: \tverity", "'kortstation-rpi4'", "Verity Hash:")
	if misc, err := os.ReadFile("/proc/misc"); err == nil && strings.Contains(string(misc), " device-mapper\n") {
		// With device-mapper (a QEMU guest, a Pi) the verity bundle installs.
		if out, err := s.update(verity); err != nil {
			t.Errorf("verity bundle: %v\n%s", err, out)
		}
	}
}
