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
// kernel on QEMU's Raspberry Pi machines, whose emulated VideoCore mailbox
// the kernel's own firmware driver talks to, with an initramfs whose init
// loads the module and chooses the key source as kortstation-unlock does
// (images/internal/otpinit), twice:
//
//   - a firmware without the private-key tag (Debian 12's QEMU 7.2, raspi3b;
//     like a Pi 3 or an old Pi 4 firmware): the module refuses to load, the
//     unlock finds no key source and the data partition stays closed;
//   - a firmware with it (QEMU 10 from bookworm-backports, which emulates
//     the OTP, run from its own throwaway root so the host's packages are
//     not touched; raspi4b, the station's SoC): the OTP reads blank, the
//     first boot's provisioning programs a P-256 key through the module and
//     reads it back, and a second key (through the key source or straight
//     to the device), a short read and a process that is not root are all
//     refused with the key unchanged.
//
// What no emulator shows is a real Pi 4's firmware (docs/appliance.md,
// "Encryption at rest").
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
	boot := raspiBoot{
		kernel:    filepath.Join(root, "boot/vmlinuz-"+kver),
		dtbDir:    filepath.Join(root, "usr/lib/linux-image-"+kver, "broadcom"),
		initramfs: filepath.Join(dir, "initramfs.cpio"),
	}
	writeInitramfs(t, boot.initramfs, map[string]string{
		"init": initBin,
		"lib/modules/" + kver + "/updates/kortstation_otp.ko": ko,
	})

	t.Run("firmware without the key: the module refuses, the unlock stays closed", func(t *testing.T) {
		out, rep := boot.run(t, nil, "raspi3b", "bcm2837-rpi-3-b.dtb")
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
		if rep.Provision != "" {
			t.Errorf("provisioned without an OTP: %q", rep.Provision)
		}
	})

	t.Run("firmware with the key: provisioned once, read back, every overwrite refused", func(t *testing.T) {
		qemu := qemu10(t)
		_, rep := boot.run(t, qemu, "raspi3b", "bcm2837-rpi-3-b.dtb")
		if !rep.RaspberryPi || rep.Load != "" || !rep.Device {
			t.Fatalf("module: Pi %v, load %q, device %v; want it loaded with its device", rep.RaspberryPi, rep.Load, rep.Device)
		}
		if rep.Read != "blank" || rep.Source != "rpi-otp" {
			t.Errorf("a new board: read %q, source %q (%s); want blank and rpi-otp", rep.Read, rep.Source, rep.SourceError)
		}
		if rep.Provision != "ok" || rep.AfterProvision != "key" || !rep.P256 {
			t.Errorf("first boot: provision %q, then %q, P-256 %v; want ok, a key, a P-256 scalar", rep.Provision, rep.AfterProvision, rep.P256)
		}
		if !strings.Contains(rep.SecondProvision, "never written twice") {
			t.Errorf("second provisioning: %q, want a refusal", rep.SecondProvision)
		}
		if rep.OverwriteErrno != "EEXIST" {
			t.Errorf("a second key written to the device: %q, want EEXIST", rep.OverwriteErrno)
		}
		if rep.ShortReadErrno != "EINVAL" {
			t.Errorf("a 16-byte read: %q, want EINVAL", rep.ShortReadErrno)
		}
		if !rep.KeyUnchanged {
			t.Error("the key changed after the refused attempts")
		}
		if rep.NobodyOpen != "EACCES" {
			t.Errorf("the device opened as uid 65534: %q, want EACCES", rep.NobodyOpen)
		}
	})
}

// qemu10 is the command that runs QEMU 10 from a throwaway root
// (images/qemu-root.sh), whose raspi machines emulate the OTP with the
// firmware's private-key tags; Debian 12's own QEMU (7.2) does not. The
// host's packages stay as they are. KORTSTATION_QEMU_ROOT names such a
// root built before.
func qemu10(t *testing.T) []string {
	t.Helper()
	if r := os.Getenv("KORTSTATION_QEMU_ROOT"); r != "" {
		libs := r + "/usr/lib/x86_64-linux-gnu:" + r + "/lib/x86_64-linux-gnu"
		return []string{"env", "QEMU_MODULE_DIR=" + r + "/usr/lib/x86_64-linux-gnu/qemu", r + "/lib64/ld-linux-x86-64.so.2", "--library-path", libs, r + "/usr/bin/qemu-system-aarch64", "-L", r + "/usr/share/qemu"}
	}
	dir := bigTempDir(t, "kortstation-qemu-")
	args := []string{"-o", filepath.Join(dir, "root")}
	if c := os.Getenv("KORTSTATION_CACHE"); c != "" {
		args = append(args, "-c", c)
	}
	start := time.Now()
	// run's output holds mmdebstrap's log too (stderr): the command is the
	// last line.
	lines := strings.Split(strings.TrimSpace(run(t, 15*time.Minute, nil, filepath.Join(built.repo, "images/qemu-root.sh"), args...)), "\n")
	cmd := strings.Fields(lines[len(lines)-1])
	if len(cmd) == 0 || cmd[0] != "env" {
		t.Fatalf("images/qemu-root.sh printed no command: %q", lines[len(lines)-1])
	}
	out := run(t, time.Minute, nil, cmd[0], append(cmd[1:], "--version")...)
	t.Logf("QEMU root: %s, %s", time.Since(start).Round(time.Second), strings.SplitN(out, "\n", 2)[0])
	return cmd
}

// aptCache is mmdebstrap's options to keep downloaded packages in
// KORTSTATION_CACHE (as build-rootfs.sh -c does), none when it is unset.
func aptCache(arch string) []string {
	c := os.Getenv("KORTSTATION_CACHE")
	if c == "" {
		return nil
	}
	cache := filepath.Join(c, "apt-"+arch)
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return nil
	}
	return []string{
		"--skip=download/empty", "--skip=essential/unlink",
		`--setup-hook=mkdir -p "$1"/var/cache/apt/archives/`,
		"--setup-hook=sync-in '" + cache + "' /var/cache/apt/archives/",
		"--customize-hook=sync-out /var/cache/apt/archives '" + cache + "'",
		`--customize-hook=rm -f "$1"/var/cache/apt/archives/*.deb`,
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
	dir := bigTempDir(t, "kortstation-kernel-")
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
	args = append(args, aptCache("arm64")...)
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

// bigTempDir is a directory for a root file system (prefix names it in
// the system's temporary directory, for whoever looks), removed after the
// test.
func bigTempDir(t *testing.T, prefix string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			t.Logf("remove %s: %v", dir, err)
		}
	})
	return dir
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

	Provision       string `json:"provision"`
	AfterProvision  string `json:"after_provision"`
	P256            bool   `json:"p256"`
	SecondProvision string `json:"second_provision"`
	OverwriteErrno  string `json:"overwrite_errno"`
	ShortReadErrno  string `json:"short_read_errno"`
	KeyUnchanged    bool   `json:"key_unchanged"`
	NobodyOpen      string `json:"nobody_open"`

	Mounts string `json:"mounts"`
}

const otpReportPrefix = "KORTSTATION-OTP-REPORT "

// raspiBoot is what the tests boot: the image's kernel, its device trees,
// and the test's initramfs.
type raspiBoot struct {
	kernel, dtbDir, initramfs string
}

// run boots it on QEMU's machine with the device tree dtb, with the host's
// qemu-system-aarch64 or the command qemu, and returns the console output
// and the init's report.
func (b raspiBoot) run(t *testing.T, qemu []string, machine, dtb string) (string, otpReport) {
	t.Helper()
	if len(qemu) == 0 {
		qemu = []string{"qemu-system-aarch64"}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	args := append(append([]string{}, qemu...), "-M", machine,
		"-kernel", b.kernel, "-dtb", filepath.Join(b.dtbDir, dtb), "-initrd", b.initramfs,
		"-append", "console=ttyAMA0 rdinit=/init panic=-1 loglevel=7",
		"-display", "none", "-monitor", "none", "-serial", "stdio", "-no-reboot")
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.WaitDelay = 5 * time.Second
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	// QEMU's own messages: read only once it has exited (stop).
	var console, qemuErr bytes.Buffer
	cmd.Stderr = &qemuErr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	}
	defer stop()
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
		stop()
		t.Fatalf("no report from the init on %s after %s:\n%s\n%s", machine, time.Since(start).Round(time.Second), tail(console.Bytes(), 6000), tail(qemuErr.Bytes(), 2000))
	}
	t.Logf("%s boot to report: %s", machine, time.Since(start).Round(100*time.Millisecond))
	t.Logf("report: %+v", rep)
	if rep.Mounts != "" {
		t.Errorf("init mounts: %s", rep.Mounts)
	}
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
