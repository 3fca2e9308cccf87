// Command otpinit is PID 1 of the initramfs the Raspberry Pi firmware tests
// boot (images/otp_test.go): on QEMU's raspi machines, with the image's own
// Debian kernel, it loads the kortstation_otp module and chooses the data
// partition's key source exactly as kortstation-unlock does
// (dataunlock.Machine, dataunlock.ChooseSource). Where the firmware gives
// the key it then goes the first boot's way — provisions the OTP through
// dataunlock.RPiOTP — and plays the attacker: a second key, a short read,
// a process that is not root. It reports what happened as one JSON line on
// the console and powers the machine off. It never prints a key: only
// whether one was read, whether it was blank, and whether it stayed the
// same.
package main

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kortstation/kortstation/images/dataunlock"
)

// ReportPrefix starts the console line the test looks for.
const ReportPrefix = "KORTSTATION-OTP-REPORT "

// probeOpen is the argument under which otpinit runs itself as another
// user, to try to open the device.
const probeOpen = "probe-open"

// report is what the test checks.
type report struct {
	RaspberryPi bool   `json:"raspberry_pi"`
	Load        string `json:"load"`       // LoadOTPModule's error, "" when loaded
	LoadErrno   string `json:"load_errno"` // its errno's name, e.g. ENODEV
	Device      bool   `json:"device"`     // /dev/kortstation-otp exists
	Read        string `json:"read"`       // "blank", "key", or the read's error
	Source      string `json:"source"`     // ChooseSource("auto")'s choice
	SourceError string `json:"source_error"`

	// Where the source is rpi-otp: the first boot's provisioning and the
	// attacker's tries afterwards.
	Provision       string `json:"provision,omitempty"`        // "ok" or its error
	AfterProvision  string `json:"after_provision,omitempty"`  // "key", "blank", or an error
	P256            bool   `json:"p256,omitempty"`             // the key is a P-256 scalar
	SecondProvision string `json:"second_provision,omitempty"` // its error ("" = it succeeded)
	OverwriteErrno  string `json:"overwrite_errno,omitempty"`  // a second key written to the device
	ShortReadErrno  string `json:"short_read_errno,omitempty"` // a 16-byte read
	KeyUnchanged    bool   `json:"key_unchanged,omitempty"`    // after all of the above
	NobodyOpen      string `json:"nobody_open,omitempty"`      // the device opened as uid 65534

	Mounts string `json:"mounts,omitempty"`
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == probeOpen {
		f, err := os.Open(dataunlock.OTPDevice)
		if err == nil {
			f.Close()
			fmt.Print("opened")
			return
		}
		fmt.Print(errnoName(err))
		return
	}
	var r report
	if err := mounts(); err != nil {
		r.Mounts = err.Error()
	}
	ctx := context.Background()
	m := dataunlock.Machine{}
	r.RaspberryPi = m.RaspberryPi()
	if err := m.LoadOTPModule(); err != nil {
		r.Load = err.Error()
		r.LoadErrno = errnoName(err)
	}
	r.Device = m.Exists(dataunlock.OTPDevice)
	otp := dataunlock.RPiOTP{}
	if r.Device {
		r.Read = readState(ctx, otp)
	}
	src, err := dataunlock.ChooseSource(ctx, "auto", "/nonexistent.cred", 2*time.Second, m)
	if err != nil {
		r.SourceError = err.Error()
	} else {
		r.Source = src.Name()
	}
	if r.Source == otp.Name() {
		attack(ctx, otp, &r)
	}
	b, _ := json.Marshal(r)
	fmt.Fprintf(os.Stdout, "\n%s%s\n", ReportPrefix, b)
	unix.Sync()
	// The test stops the machine once it has the line; power off in case
	// the machine can.
	_ = unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
	select {}
}

// attack provisions the OTP as the first boot does, then tries what an
// attacker or a bug would: a second key, through the key source and
// straight to the device, a short read, and a process that is not root.
func attack(ctx context.Context, otp dataunlock.RPiOTP, r *report) {
	r.Provision = "ok"
	if err := otp.Provision(ctx); err != nil {
		r.Provision = err.Error()
	}
	key, err := otp.Secret(ctx)
	switch {
	case err == nil:
		r.AfterProvision = "key"
		_, perr := ecdh.P256().NewPrivateKey(key)
		r.P256 = perr == nil
	case errors.Is(err, dataunlock.ErrNoSecret):
		r.AfterProvision = "blank"
	default:
		r.AfterProvision = err.Error()
	}
	if err := otp.Provision(ctx); err != nil {
		r.SecondProvision = err.Error()
	}
	other := bytes.Repeat([]byte{0xa5}, 32)
	if f, err := os.OpenFile(dataunlock.OTPDevice, os.O_WRONLY, 0); err != nil {
		r.OverwriteErrno = "open: " + errnoName(err)
	} else {
		_, err := f.Write(other)
		f.Close()
		r.OverwriteErrno = errnoName(err)
	}
	if f, err := os.Open(dataunlock.OTPDevice); err != nil {
		r.ShortReadErrno = "open: " + errnoName(err)
	} else {
		_, err := f.Read(make([]byte, 16))
		f.Close()
		r.ShortReadErrno = errnoName(err)
	}
	if again, err := otp.Secret(ctx); err == nil && key != nil && bytes.Equal(again, key) {
		r.KeyUnchanged = true
	}
	cmd := exec.Command("/init", probeOpen)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.Output()
	r.NobodyOpen = string(out)
	if err != nil && len(out) == 0 {
		r.NobodyOpen = "run: " + err.Error()
	}
}

func readState(ctx context.Context, otp dataunlock.RPiOTP) string {
	switch _, err := otp.Secret(ctx); {
	case err == nil:
		return "key"
	case errors.Is(err, dataunlock.ErrNoSecret):
		return "blank"
	default:
		return err.Error()
	}
}

// errnoName is the errno in err ("EEXIST"), "" for none, or the error.
func errnoName(err error) string {
	if err == nil || errors.Is(err, io.EOF) {
		return ""
	}
	var errno unix.Errno
	if errors.As(err, &errno) {
		return unix.ErrnoName(errno)
	}
	return err.Error()
}

func mounts() error {
	for _, m := range []struct{ fs, dir string }{{"proc", "/proc"}, {"sysfs", "/sys"}, {"devtmpfs", "/dev"}} {
		if err := os.MkdirAll(m.dir, 0o755); err != nil {
			return err
		}
		if err := unix.Mount(m.fs, m.dir, m.fs, 0, ""); err != nil && !errors.Is(err, unix.EBUSY) {
			return fmt.Errorf("mount %s: %w", m.dir, err)
		}
	}
	return nil
}
