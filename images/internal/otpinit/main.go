// Command otpinit is PID 1 of the initramfs the Raspberry Pi firmware test
// boots (images/otp_test.go): on QEMU's raspi3b machine, with the image's
// own Debian kernel, it loads the kortstation_otp module and chooses the
// data partition's key source exactly as kortstation-unlock does
// (dataunlock.Machine, dataunlock.ChooseSource), reports what happened as
// one JSON line on the console, and powers the machine off. It never
// prints a key: only whether one was read and whether it was blank.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kortstation/kortstation/images/dataunlock"
)

// ReportPrefix starts the console line the test looks for.
const ReportPrefix = "KORTSTATION-OTP-REPORT "

// report is what the test checks.
type report struct {
	RaspberryPi bool   `json:"raspberry_pi"`
	Load        string `json:"load"`       // LoadOTPModule's error, "" when loaded
	LoadErrno   string `json:"load_errno"` // its errno's name, e.g. ENODEV
	Device      bool   `json:"device"`     // /dev/kortstation-otp exists
	Read        string `json:"read"`       // "blank", "key", or the read's error
	Source      string `json:"source"`     // ChooseSource("auto")'s choice
	SourceError string `json:"source_error"`
	Mounts      string `json:"mounts,omitempty"`
}

func main() {
	var r report
	if err := mounts(); err != nil {
		r.Mounts = err.Error()
	}
	m := dataunlock.Machine{}
	r.RaspberryPi = m.RaspberryPi()
	if err := m.LoadOTPModule(); err != nil {
		r.Load = err.Error()
		var errno unix.Errno
		if errors.As(err, &errno) {
			r.LoadErrno = unix.ErrnoName(errno)
		}
	}
	r.Device = m.Exists(dataunlock.OTPDevice)
	if r.Device {
		switch _, err := (dataunlock.RPiOTP{}).Secret(context.Background()); {
		case err == nil:
			r.Read = "key"
		case errors.Is(err, dataunlock.ErrNoSecret):
			r.Read = "blank"
		default:
			r.Read = err.Error()
		}
	}
	src, err := dataunlock.ChooseSource(context.Background(), "auto", "/nonexistent.cred", 2*time.Second, m)
	if err != nil {
		r.SourceError = err.Error()
	} else {
		r.Source = src.Name()
	}
	b, _ := json.Marshal(r)
	fmt.Fprintf(os.Stdout, "\n%s%s\n", ReportPrefix, b)
	unix.Sync()
	// The test stops the machine once it has the line; power off in case
	// the machine can.
	_ = unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
	select {}
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
