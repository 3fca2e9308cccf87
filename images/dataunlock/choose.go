package dataunlock

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// TPMDevice is the kernel's TPM resource manager, which systemd-creds uses.
const TPMDevice = "/dev/tpmrm0"

// System is what ChooseSource asks of the machine (Machine; fakes in
// tests).
type System interface {
	// Exists reports whether a path exists.
	Exists(path string) bool
	// RaspberryPi reports whether the device tree names a Raspberry Pi.
	RaspberryPi() bool
	// LoadOTPModule loads the kortstation_otp module; loaded already is
	// not an error. It fails where the firmware cannot give the key.
	LoadOTPModule() error
}

// ChooseSource picks the key source by name. "auto": on a Raspberry Pi its
// OTP key, once the kortstation_otp module is loaded (which succeeds only
// where the firmware gives the key); otherwise whichever of a TPM (its
// device TPMDevice, the secret sealed in sealed) or a QEMU host's secret
// (FwCfg, the QEMU boot test's stand-in for the OTP) appears first,
// waiting up to wait: udev loads their drivers while the unlock unit
// starts. None: an error, and the data partition stays closed. A source
// chosen by name is not probed, except that tpm2 waits for its device and
// rpi-otp loads its module.
func ChooseSource(ctx context.Context, name, sealed string, wait time.Duration, sys System) (KeySource, error) {
	tpm := Sealed{Path: sealed, Key: "tpm2"}
	await := func(tpmOnly bool) (KeySource, error) {
		deadline := time.Now().Add(wait)
		for {
			if sys.Exists(TPMDevice) {
				return tpm, nil
			}
			if !tpmOnly && sys.Exists(FwCfgSecretPath) {
				return FwCfg{}, nil
			}
			if time.Now().After(deadline) {
				return nil, fmt.Errorf("no TPM: %s did not appear within %s", TPMDevice, wait)
			}
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	otp := func() error {
		if sys.Exists(OTPDevice) {
			return nil
		}
		if err := sys.LoadOTPModule(); err != nil {
			return err
		}
		if !sys.Exists(OTPDevice) {
			return fmt.Errorf("the %s module is loaded but %s is missing", OTPModule, OTPDevice)
		}
		return nil
	}
	switch name {
	case "rpi-otp":
		if err := otp(); err != nil {
			return nil, fmt.Errorf("no OTP key: %w", err)
		}
		return RPiOTP{}, nil
	case "tpm2":
		return await(true)
	case "qemu-fw-cfg":
		return FwCfg{}, nil
	case "auto":
		why := "not a Raspberry Pi"
		if sys.RaspberryPi() {
			err := otp()
			if err == nil {
				return RPiOTP{}, nil
			}
			why = fmt.Sprintf("this Raspberry Pi gives no OTP key (%v)", err)
		}
		src, err := await(false)
		if err != nil {
			return nil, fmt.Errorf("no key source: %s, and %w", why, err)
		}
		return src, nil
	}
	return nil, fmt.Errorf("unknown -key-source %q (auto, rpi-otp, tpm2 or qemu-fw-cfg)", name)
}

// Machine is the running machine's System.
type Machine struct {
	// Root prefixes every path it reads (tests); "" is "/".
	Root string
}

func (m Machine) path(p string) string { return filepath.Join("/", m.Root, p) }

// Exists reports whether path exists.
func (m Machine) Exists(path string) bool {
	_, err := os.Stat(m.path(path))
	return err == nil
}

// RaspberryPi: one of the device tree's compatible strings (NUL-separated)
// is "raspberrypi,…" (a Raspberry Pi board, whose firmware may hold the
// OTP key).
func (m Machine) RaspberryPi() bool {
	b, err := os.ReadFile(m.path("/proc/device-tree/compatible"))
	if err != nil {
		return false
	}
	for _, c := range bytes.Split(b, []byte{0}) {
		if bytes.HasPrefix(c, []byte("raspberrypi,")) {
			return true
		}
	}
	return false
}

// OTPModulePath is where the image installs the module, under the running
// kernel's module directory.
func (m Machine) OTPModulePath() (string, error) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "", fmt.Errorf("uname: %w", err)
	}
	return m.path(filepath.Join("/lib/modules", unix.ByteSliceToString(u.Release[:]), "updates", OTPModule+".ko")), nil
}

// LoadOTPModule loads the module from OTPModulePath with finit_module(2),
// as modprobe would (it needs no other module: the firmware driver is
// built into the kernel).
func (m Machine) LoadOTPModule() error {
	p, err := m.OTPModulePath()
	if err != nil {
		return err
	}
	f, err := os.Open(p)
	if err != nil {
		return fmt.Errorf("load %s: %w", OTPModule, err)
	}
	defer f.Close()
	if err := unix.FinitModule(int(f.Fd()), "", 0); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("load %s: %w", p, err)
	}
	return nil
}
