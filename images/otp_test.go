package images

import (
	"bufio"
	"bytes"
	"context"
	"debug/elf"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The Raspberry Pi's OTP key reaches the unlock through the kortstation_otp
// module (images/kmod): Debian's kernel has no /dev/vcio for Raspberry Pi
// OS's rpi-otp-private-key (issue 15, encryption at rest). This builds the
// module exactly as the image does (build-otp-module.sh, as an mmdebstrap
// customize hook, into an arm64 root with Debian's kernel) and boots that
// kernel on QEMU's raspi3b machine, whose emulated VideoCore mailbox the
// kernel's own firmware driver talks to, with an initramfs whose init
// loads the module and chooses the key source as kortstation-unlock does
// (images/internal/otpinit).
//
// QEMU's firmware, like a Pi 3's or an old Pi 4 firmware, does not know the
// private-key tag: the test proves the module builds for and loads into the
// image's kernel, reaches the firmware over the real mailbox, and refuses a
// firmware that does not answer, so the unlock finds no key source and the
// data partition stays closed. Reading and programming a real key needs a
// Raspberry Pi 4 (docs/appliance.md, "Encryption at rest").
func TestOTPModuleOnRaspberryPiFirmware(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("qemu-system-aarch64"); err != nil {
		t.Fatalf("qemu-system-aarch64: %v (scripts/install-deps.sh appliance installs it)", err)
	}
	root := kernelRoot(t)
	kver := oneKernel(t, root)
	ko := filepath.Join(root, "lib/modules", kver, "updates/kortstation_otp.ko")

	// The module is built for exactly this kernel, and the toolchain that
	// built it is gone again.
	info := modinfo(t, ko)
	if !strings.HasPrefix(info["vermagic"], kver+" ") {
		t.Errorf("module vermagic %q, want kernel %s", info["vermagic"], kver)
	}
	if info["license"] != "GPL" || info["name"] != "kortstation_otp" {
		t.Errorf("module %q, licence %q; want kortstation_otp, GPL (it uses the firmware driver's GPL symbols)", info["name"], info["license"])
	}
	for _, p := range []string{"usr/bin/make", "usr/bin/gcc-12", "usr/src/linux-headers-" + kver} {
		if _, err := os.Stat(filepath.Join(root, p)); err == nil {
			t.Errorf("the build left %s in the root", p)
		}
	}

	// The initramfs: the test init (arm64, static) and the module where
	// dataunlock.Machine loads it from.
	dir := t.TempDir()
	initBin := filepath.Join(dir, "init")
	build := exec.Command("go", "build", "-trimpath", "-o", initBin, "./images/internal/otpinit")
	build.Dir = built.repo
	build.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build otpinit: %v\n%s", err, out)
	}
	cpio := filepath.Join(dir, "initramfs.cpio")
	writeInitramfs(t, cpio, map[string]string{
		"init": initBin,
		"lib/modules/" + kver + "/updates/kortstation_otp.ko": ko,
	})

	out, rep := bootRaspi3(t, root, kver, cpio)
	if !rep.RaspberryPi {
		t.Errorf("the init did not see a Raspberry Pi in the device tree")
	}
	// The module reached the firmware through Debian's driver and the
	// mailbox, and refused its answer: no device, no key.
	if rep.LoadErrno != "ENODEV" || rep.Device {
		t.Errorf("module load: %q (%s), device %v; want ENODEV and no device", rep.Load, rep.LoadErrno, rep.Device)
	}
	for _, want := range []string{
		"kortstation_otp: firmware answered tag 0x00030081",
		"kortstation_otp: the firmware does not give the private key",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("kernel log lacks %q", want)
		}
	}
	if rep.Source != "" || !strings.Contains(rep.SourceError, "gives no OTP key") || !strings.Contains(rep.SourceError, "/dev/tpmrm0") {
		t.Errorf("key source: %q, error %q; want none, naming the OTP and the TPM", rep.Source, rep.SourceError)
	}
	if rep.Mounts != "" {
		t.Errorf("init mounts: %s", rep.Mounts)
	}
}

// kernelRoot is an arm64 Debian root with the image's kernel package and
// the module built into it by build-otp-module.sh, the image's own hook.
//
// KORTSTATION_KERNEL_ROOT names such a root built before (the test then
// checks and boots it, without building).
func kernelRoot(t *testing.T) string {
	t.Helper()
	if r := os.Getenv("KORTSTATION_KERNEL_ROOT"); r != "" {
		return r
	}
	dir, err := os.MkdirTemp("", "kortstation-kernel-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			t.Logf("remove %s: %v", dir, err)
		}
	})
	root := filepath.Join(dir, "root")
	mirror := strings.TrimSpace(run(t, time.Minute, nil, filepath.Join(built.repo, "images/debian-mirror.sh"), "bookworm"))
	security := strings.TrimSpace(run(t, time.Minute, nil, filepath.Join(built.repo, "images/debian-mirror.sh"), "bookworm-security"))
	hook := filepath.Join(built.repo, "images/kmod/build-otp-module.sh")
	args := []string{
		"--mode=root", "--arch=arm64", "--variant=apt", "--include=kmod",
		"--hook-dir=/usr/share/mmdebstrap/hooks/eatmydata",
		"--aptopt=APT::Install-Recommends \"false\"",
		"--dpkgopt=path-exclude=/usr/share/man/*", "--dpkgopt=path-exclude=/usr/share/doc/*",
		"--dpkgopt=path-exclude=/usr/share/locale/*",
		// The kernel without an initramfs (the test boots its own; making
		// one under qemu-user takes minutes), then the image's module hook.
		`--customize-hook=chroot "$1" env INITRD=No DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends linux-image-arm64`,
		`--customize-hook=` + hook + ` "$1"`,
	}
	if c := os.Getenv("KORTSTATION_CACHE"); c != "" {
		cache := filepath.Join(c, "apt-arm64")
		if err := os.MkdirAll(cache, 0o755); err != nil {
			t.Fatal(err)
		}
		args = append(args,
			"--skip=download/empty", "--skip=essential/unlink",
			`--setup-hook=mkdir -p "$1"/var/cache/apt/archives/`,
			"--setup-hook=sync-in '"+cache+"' /var/cache/apt/archives/",
			"--customize-hook=sync-out /var/cache/apt/archives '"+cache+"'",
			`--customize-hook=rm -f "$1"/var/cache/apt/archives/*.deb`)
	}
	args = append(args, "bookworm", root, "deb "+mirror+" bookworm main", "deb "+security+" bookworm-security main")
	start := time.Now()
	run(t, 25*time.Minute, nil, "mmdebstrap", args...)
	t.Logf("kernel root with the OTP module: %s", time.Since(start).Round(time.Second))
	return root
}

// modinfo is a module's .modinfo section: key=value strings.
func modinfo(t *testing.T, ko string) map[string]string {
	t.Helper()
	f, err := elf.Open(ko)
	if err != nil {
		t.Fatalf("module: %v", err)
	}
	defer f.Close()
	sec := f.Section(".modinfo")
	if sec == nil {
		t.Fatalf("%s has no .modinfo", ko)
	}
	data, err := sec.Data()
	if err != nil {
		t.Fatal(err)
	}
	info := map[string]string{}
	for _, kv := range bytes.Split(data, []byte{0}) {
		if k, v, ok := strings.Cut(string(kv), "="); ok {
			info[k] = v
		}
	}
	return info
}

func oneKernel(t *testing.T, root string) string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(root, "lib/modules"))
	if err != nil || len(ents) != 1 {
		t.Fatalf("want one kernel in %s/lib/modules: %v, %v", root, ents, err)
	}
	return ents[0].Name()
}

// otpReport is images/internal/otpinit's report line.
type otpReport struct {
	RaspberryPi bool   `json:"raspberry_pi"`
	Load        string `json:"load"`
	LoadErrno   string `json:"load_errno"`
	Device      bool   `json:"device"`
	Read        string `json:"read"`
	Source      string `json:"source"`
	SourceError string `json:"source_error"`
	Mounts      string `json:"mounts"`
}

const otpReportPrefix = "KORTSTATION-OTP-REPORT "

// bootRaspi3 boots the root's kernel on QEMU's raspi3b machine with the
// initramfs and returns the console output and the init's report.
func bootRaspi3(t *testing.T, root, kver, initramfs string) (string, otpReport) {
	t.Helper()
	dtb := filepath.Join(root, "usr/lib/linux-image-"+kver, "broadcom/bcm2837-rpi-3-b.dtb")
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "qemu-system-aarch64", "-M", "raspi3b",
		"-kernel", filepath.Join(root, "boot/vmlinuz-"+kver), "-dtb", dtb, "-initrd", initramfs,
		"-append", "console=ttyAMA0 rdinit=/init panic=-1 loglevel=7",
		"-display", "none", "-monitor", "none", "-serial", "stdio", "-no-reboot")
	cmd.WaitDelay = 5 * time.Second
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var console bytes.Buffer
	cmd.Stderr = &console
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	var rep otpReport
	found := false
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		console.WriteString(line + "\n")
		if i := strings.Index(line, otpReportPrefix); i >= 0 {
			if err := json.Unmarshal([]byte(line[i+len(otpReportPrefix):]), &rep); err != nil {
				t.Fatalf("report %q: %v", line, err)
			}
			found = true
			break
		}
	}
	if !found {
		t.Fatalf("no report from the init after %s:\n%s", time.Since(start).Round(time.Second), tail(console.Bytes(), 6000))
	}
	t.Logf("raspi3b boot to report: %s", time.Since(start).Round(100*time.Millisecond))
	t.Logf("report: %+v", rep)
	for _, l := range strings.Split(console.String(), "\n") {
		if strings.Contains(l, "kortstation_otp") {
			t.Logf("console: %s", l)
		}
	}
	return console.String(), rep
}

// writeInitramfs writes an uncompressed newc cpio archive holding files
// (archive path → file on disk) and the directories above them, all owned
// by root; init is executable.
func writeInitramfs(t *testing.T, path string, files map[string]string) {
	t.Helper()
	var buf bytes.Buffer
	ino := 1
	entry := func(name string, mode uint32, data []byte) {
		fmt.Fprintf(&buf, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
			ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name)+1, 0)
		ino++
		buf.WriteString(name + "\x00")
		pad := func() {
			for buf.Len()%4 != 0 {
				buf.WriteByte(0)
			}
		}
		pad()
		buf.Write(data)
		pad()
	}
	dirs := map[string]bool{}
	for _, d := range []string{"dev", "proc", "sys"} {
		dirs[d] = true
		entry(d, 0o040755, nil)
	}
	for name, src := range files {
		var parents []string
		for d := filepath.Dir(name); d != "."; d = filepath.Dir(d) {
			parents = append([]string{d}, parents...)
		}
		for _, d := range parents {
			if !dirs[d] {
				dirs[d] = true
				entry(d, 0o040755, nil)
			}
		}
		f, err := os.Open(src)
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		entry(name, 0o100755, data)
	}
	entry("TRAILER!!!", 0, nil)
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
