package main

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kortstation/kortstation/images/dataunlock"
)

// fakeSystem: the OTP tool installed or not; the TPM's device appearing
// after some probes (udev loading its driver), or never (-1).
type fakeSystem struct {
	otp       bool
	tpmAfter  int32
	tpmProbes atomic.Int32
	fwCfg     bool // a QEMU host gave the machine a secret
}

func (f *fakeSystem) LookPath(name string) (string, error) {
	if name == "rpi-otp-private-key" && f.otp {
		return "/usr/bin/" + name, nil
	}
	return "", exec.ErrNotFound
}

func (f *fakeSystem) Exists(path string) bool {
	if path == dataunlock.FwCfgSecretPath {
		return f.fwCfg
	}
	if path != tpmDevice || f.tpmAfter < 0 {
		return false
	}
	return f.tpmProbes.Add(1) > f.tpmAfter
}

// The appliance's unit runs -key-source auto: the Raspberry Pi's OTP where
// its tool is installed, else the TPM once its device appears, else no key
// and the data partition stays closed (encryption at rest, issue 15).
func TestAutoKeySource(t *testing.T) {
	ctx := context.Background()
	const sealed = "/boot/firmware/kortstation-data.cred"
	t.Run("OTP tool installed: rpi-otp, the TPM not consulted", func(t *testing.T) {
		sys := &fakeSystem{otp: true, tpmAfter: 0}
		src, err := chooseSource(ctx, "auto", sealed, time.Second, sys)
		if err != nil || src.Name() != "rpi-otp" {
			t.Fatalf("got %v, %v; want rpi-otp", src, err)
		}
		if sys.tpmProbes.Load() != 0 {
			t.Errorf("the TPM was probed on a Pi with its OTP tool")
		}
	})
	t.Run("no OTP tool, a TPM that appears late: sealed by the TPM", func(t *testing.T) {
		src, err := chooseSource(ctx, "auto", sealed, 5*time.Second, &fakeSystem{tpmAfter: 3})
		if err != nil {
			t.Fatal(err)
		}
		s, ok := src.(dataunlock.Sealed)
		if !ok || s.Key != "tpm2" || s.Path != sealed {
			t.Fatalf("got %#v, want the TPM-sealed secret in %s", src, sealed)
		}
	})
	t.Run("no OTP tool, no TPM, a QEMU host's secret: qemu-fw-cfg", func(t *testing.T) {
		src, err := chooseSource(ctx, "auto", sealed, time.Second, &fakeSystem{tpmAfter: -1, fwCfg: true})
		if err != nil || src.Name() != "qemu-fw-cfg" {
			t.Fatalf("got %v, %v; want qemu-fw-cfg", src, err)
		}
	})
	t.Run("neither: an error naming both, after the wait", func(t *testing.T) {
		start := time.Now()
		_, err := chooseSource(ctx, "auto", sealed, 300*time.Millisecond, &fakeSystem{tpmAfter: -1})
		if err == nil || !strings.Contains(err.Error(), "rpi-otp-private-key is not installed") || !strings.Contains(err.Error(), tpmDevice) {
			t.Fatalf("err = %v, want one naming the OTP tool and %s", err, tpmDevice)
		}
		if d := time.Since(start); d < 300*time.Millisecond {
			t.Errorf("gave up after %s, before the wait", d)
		}
	})
	t.Run("explicit sources are not probed; unknown ones refused", func(t *testing.T) {
		if src, err := chooseSource(ctx, "rpi-otp", sealed, 0, &fakeSystem{tpmAfter: -1}); err != nil || src.Name() != "rpi-otp" {
			t.Errorf("rpi-otp: %v, %v", src, err)
		}
		if _, err := chooseSource(ctx, "tpm2", sealed, 100*time.Millisecond, &fakeSystem{tpmAfter: -1}); err == nil {
			t.Errorf("tpm2 without a TPM device: no error")
		}
		if _, err := chooseSource(ctx, "usb-stick", sealed, 0, &fakeSystem{}); err == nil {
			t.Errorf("an unknown key source was accepted")
		}
	})
	t.Run("cancelled while waiting for the TPM", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := chooseSource(cctx, "tpm2", sealed, time.Minute, &fakeSystem{tpmAfter: -1}); !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	})
}
