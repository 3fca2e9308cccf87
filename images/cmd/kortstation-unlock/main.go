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
	"os/signal"
	"syscall"

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
	source := fs.String("key-source", "rpi-otp", "where the device secret lives: rpi-otp (the Raspberry Pi's OTP private key) or tpm2 (a secret sealed by the TPM in -sealed-file)")
	sealed := fs.String("sealed-file", "/boot/firmware/kortstation-data.cred", "the TPM-sealed secret (key-source tpm2)")
	skel := fs.String("skel", "", "at the first boot, copy this directory into the new file system (the image's data skeleton)")
	grow := fs.Bool("grow", true, "at the first boot, grow the blank partition to the end of its disk before formatting it (the last logical partition of an MBR disk)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var src dataunlock.KeySource
	switch *source {
	case "rpi-otp":
		src = dataunlock.RPiOTP{}
	case "tpm2":
		src = dataunlock.Sealed{Path: *sealed, Key: "tpm2"}
	default:
		return fmt.Errorf("unknown -key-source %q (rpi-otp or tpm2)", *source)
	}
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
