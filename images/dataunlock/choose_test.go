package dataunlock_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kortstation/kortstation/images/dataunlock"
)

// fakeSystem: a Raspberry Pi or not, whose firmware gives the OTP key (the
// module loads and its device appears) or not; the TPM's device appearing
// after some probes (udev loading its driver), or never (-1).
type fakeSystem struct {
	pi, otpLoads bool
	otpLoaded    atomic.Bool
	loads        atomic.Int32
	tpmAfter     int32
	tpmProbes    atomic.Int32
	fwCfg        bool // a QEMU host gave the machine a secret
}

func (f *fakeSystem) RaspberryPi() bool { return f.pi }

func (f *fakeSystem) LoadOTPModule() error {
	f.loads.Add(1)
	if !f.otpLoads {
		return errors.New("finit_module: no such device")
	}
	f.otpLoaded.Store(true)
	return nil
}

func (f *fakeSystem) Exists(path string) bool {
	switch path {
	case dataunlock.OTPDevice:
		return f.otpLoaded.Load()
	case dataunlock.FwCfgSecretPath:
		return f.fwCfg
	case dataunlock.TPMDevice:
		return f.tpmAfter >= 0 && f.tpmProbes.Add(1) > f.tpmAfter
	}
	return false
}

// The appliance's unit runs -key-source auto: the Raspberry Pi's OTP where
// its firmware gives the key, else the TPM once its device appears, else
// no key and the data partition stays closed (encryption at rest, issue 15).
func TestAutoKeySource(t *testing.T) {
	ctx := context.Background()
	const sealed = "/boot/firmware/kortstation-data.cred"
	t.Run("a Pi whose firmware gives the key: rpi-otp, the TPM not consulted", func(t *testing.T) {
		sys := &fakeSystem{pi: true, otpLoads: true, tpmAfter: 0}
		src, err := dataunlock.ChooseSource(ctx, "auto", sealed, time.Second, sys)
		if err != nil || src.Name() != "rpi-otp" {
			t.Fatalf("got %v, %v; want rpi-otp", src, err)
		}
		if sys.tpmProbes.Load() != 0 || sys.loads.Load() != 1 {
			t.Errorf("TPM probed %d times, module loaded %d times; want 0 and 1", sys.tpmProbes.Load(), sys.loads.Load())
		}
	})
	t.Run("a Pi whose firmware has no key, with a TPM: sealed by the TPM", func(t *testing.T) {
		src, err := dataunlock.ChooseSource(ctx, "auto", sealed, 5*time.Second, &fakeSystem{pi: true, tpmAfter: 3})
		if err != nil {
			t.Fatal(err)
		}
		if s, ok := src.(dataunlock.Sealed); !ok || s.Key != "tpm2" || s.Path != sealed {
			t.Fatalf("got %#v, want the TPM-sealed secret in %s", src, sealed)
		}
	})
	t.Run("not a Pi: the OTP module is never loaded", func(t *testing.T) {
		sys := &fakeSystem{otpLoads: true, tpmAfter: 0}
		src, err := dataunlock.ChooseSource(ctx, "auto", sealed, time.Second, sys)
		if err != nil || src.Name() != "sealed-tpm2" || sys.loads.Load() != 0 {
			t.Fatalf("got %v, %v, %d loads; want sealed-tpm2 and no load", src, err, sys.loads.Load())
		}
	})
	t.Run("no OTP, no TPM, a QEMU host's secret: qemu-fw-cfg", func(t *testing.T) {
		src, err := dataunlock.ChooseSource(ctx, "auto", sealed, time.Second, &fakeSystem{tpmAfter: -1, fwCfg: true})
		if err != nil || src.Name() != "qemu-fw-cfg" {
			t.Fatalf("got %v, %v; want qemu-fw-cfg", src, err)
		}
	})
	t.Run("a Pi without the key and nothing else: an error naming both, after the wait", func(t *testing.T) {
		start := time.Now()
		_, err := dataunlock.ChooseSource(ctx, "auto", sealed, 300*time.Millisecond, &fakeSystem{pi: true, tpmAfter: -1})
		if err == nil || !strings.Contains(err.Error(), "gives no OTP key") || !strings.Contains(err.Error(), dataunlock.TPMDevice) {
			t.Fatalf("err = %v, want one naming the OTP and %s", err, dataunlock.TPMDevice)
		}
		if d := time.Since(start); d < 300*time.Millisecond {
			t.Errorf("gave up after %s, before the wait", d)
		}
	})
	t.Run("sources by name; unknown ones refused", func(t *testing.T) {
		if src, err := dataunlock.ChooseSource(ctx, "rpi-otp", sealed, 0, &fakeSystem{otpLoads: true, tpmAfter: -1}); err != nil || src.Name() != "rpi-otp" {
			t.Errorf("rpi-otp: %v, %v", src, err)
		}
		if _, err := dataunlock.ChooseSource(ctx, "rpi-otp", sealed, 0, &fakeSystem{tpmAfter: -1}); err == nil {
			t.Errorf("rpi-otp where the module does not load: no error")
		}
		if _, err := dataunlock.ChooseSource(ctx, "tpm2", sealed, 100*time.Millisecond, &fakeSystem{tpmAfter: -1}); err == nil {
			t.Errorf("tpm2 without a TPM device: no error")
		}
		if _, err := dataunlock.ChooseSource(ctx, "usb-stick", sealed, 0, &fakeSystem{}); err == nil {
			t.Errorf("an unknown key source was accepted")
		}
	})
	t.Run("cancelled while waiting for the TPM", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := dataunlock.ChooseSource(cctx, "tpm2", sealed, time.Minute, &fakeSystem{tpmAfter: -1}); !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	})
}

// Machine reads the device tree's compatible list as the kernel shows it.
func TestMachineRaspberryPi(t *testing.T) {
	for name, tc := range map[string]struct {
		compatible string
		want       bool
	}{
		"Pi 4":          {"raspberrypi,4-model-b\x00brcm,bcm2711\x00", true},
		"Pi 3 (QEMU)":   {"raspberrypi,3-model-b\x00brcm,bcm2837\x00", true},
		"QEMU virt":     {"linux,dummy-virt\x00", false},
		"name inside":   {"vendor,notraspberrypi,4\x00", false},
		"no devicetree": {"", false},
	} {
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			if tc.compatible != "" {
				p := filepath.Join(root, "proc/device-tree/compatible")
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(tc.compatible), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if got := (dataunlock.Machine{Root: root}).RaspberryPi(); got != tc.want {
				t.Errorf("RaspberryPi() = %v, want %v", got, tc.want)
			}
		})
	}
	// No module file: a clear error, not a panic or a silent success.
	if err := (dataunlock.Machine{Root: t.TempDir()}).LoadOTPModule(); err == nil || !strings.Contains(err.Error(), dataunlock.OTPModule) {
		t.Errorf("LoadOTPModule without the module file: %v", err)
	}
}
