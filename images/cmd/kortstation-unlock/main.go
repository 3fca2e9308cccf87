// Command kortstation-unlock opens the appliance's encrypted data
// partition at boot (kortstation-unlock.service, before /data is
// mounted), encrypting it at the first boot. See images/dataunlock.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"github.com/kortstation/kortstation/images/dataunlock"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(ctx, os.Args[1:], log); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "kortstation-unlock:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, log *slog.Logger) error {
	fs := flag.NewFlagSet("kortstation-unlock", flag.ContinueOnError)
	device := fs.String("device", "", "the data partition, e.g. /dev/mmcblk0p4")
	name := fs.String("name", "ksdata", "the mapping: /dev/mapper/NAME")
	label := fs.String("label", "KSDATA", "the volume's label (LUKS and file system)")
	source := fs.String("key-source", "auto", "where the device secret lives: rpi-otp (the Raspberry Pi's OTP private key), tpm2 (a secret sealed by the TPM in -sealed-file), qemu-fw-cfg (a QEMU host's secret, for the boot test), or auto (rpi-otp where its tool is installed, else tpm2 or qemu-fw-cfg, whichever appears)")
	tpmWait := fs.Duration("tpm-wait", 30*time.Second, "key-source auto or tpm2: how long to wait for the TPM's device or the QEMU host's secret (their drivers are loaded by udev)")
	sealed := fs.String("sealed-file", "/boot/firmware/kortstation-data.cred", "the TPM-sealed secret (key-source tpm2)")
	skel := fs.String("skel", "", "at the first boot, copy this directory into the new file system (the image's data skeleton)")
	grow := fs.Bool("grow", true, "at the first boot, grow the blank partition to the end of its disk before formatting it (the last logical partition of an MBR disk)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	src, err := chooseSource(ctx, *source, *sealed, *tpmWait, probe{})
	if err != nil {
		return err
	}
	log.Info("key source", "source", src.Name())
	cfg := dataunlock.Config{Device: *device, Name: *name, Label: *label, Source: src, Volume: dataunlock.Cryptsetup{}, Log: log}
	if *skel != "" {
		cfg.Populate = dataunlock.PopulateFrom(*skel)
	}
	if *grow {
		cfg.Grow = dataunlock.GrowPartition
	}
	res, err := dataunlock.Unlock(ctx, cfg)
	if err != nil {
		return err
	}
	log.Info("data partition ready", "mapped", res.Mapped, "formatted", res.Formatted, "grown", res.Grown, "provisioned", res.Provisioned)
	return nil
}

// tpmDevice is the kernel's TPM resource manager, which systemd-creds uses.
const tpmDevice = "/dev/tpmrm0"

// system is what chooseSource asks of the machine (probe; fakes in tests).
type system interface {
	// LookPath finds a program, as exec.LookPath.
	LookPath(name string) (string, error)
	// Exists reports whether a path exists.
	Exists(path string) bool
}

type probe struct{}

func (probe) LookPath(name string) (string, error) { return exec.LookPath(name) }
func (probe) Exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// chooseSource picks the key source. "auto": the Raspberry Pi's OTP where
// its tool (rpi-otp-private-key) is installed; otherwise whichever of a
// TPM (its device /dev/tpmrm0) or a QEMU host's secret (FwCfg, the QEMU
// boot test's stand-in for the OTP) appears first, waiting up to wait:
// udev loads their drivers while this unit starts. Neither: an error, and
// the data partition stays closed. A source chosen explicitly is not
// probed, except that tpm2 waits for its device.
func chooseSource(ctx context.Context, name, sealed string, wait time.Duration, sys system) (dataunlock.KeySource, error) {
	tpm := dataunlock.Sealed{Path: sealed, Key: "tpm2"}
	await := func(tpmOnly bool) (dataunlock.KeySource, error) {
		deadline := time.Now().Add(wait)
		for {
			if sys.Exists(tpmDevice) {
				return tpm, nil
			}
			if !tpmOnly && sys.Exists(dataunlock.FwCfgSecretPath) {
				return dataunlock.FwCfg{}, nil
			}
			if time.Now().After(deadline) {
				return nil, fmt.Errorf("no TPM: %s did not appear within %s", tpmDevice, wait)
			}
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	switch name {
	case "rpi-otp":
		return dataunlock.RPiOTP{}, nil
	case "tpm2":
		return await(true)
	case "qemu-fw-cfg":
		return dataunlock.FwCfg{}, nil
	case "auto":
		if _, err := sys.LookPath("rpi-otp-private-key"); err == nil {
			return dataunlock.RPiOTP{}, nil
		}
		src, err := await(false)
		if err != nil {
			return nil, fmt.Errorf("no key source: rpi-otp-private-key is not installed, and %w", err)
		}
		return src, nil
	}
	return nil, fmt.Errorf("unknown -key-source %q (auto, rpi-otp, tpm2 or qemu-fw-cfg)", name)
}
