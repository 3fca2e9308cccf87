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
	source := fs.String("key-source", "auto", "where the device secret lives: rpi-otp (the Raspberry Pi's OTP private key), tpm2 (a secret sealed by the TPM in -sealed-file), qemu-fw-cfg (a QEMU host's secret, for the boot test), or auto (rpi-otp on a Raspberry Pi whose firmware gives the key, else tpm2 or qemu-fw-cfg, whichever appears)")
	tpmWait := fs.Duration("tpm-wait", 30*time.Second, "key-source auto or tpm2: how long to wait for the TPM's device or the QEMU host's secret (their drivers are loaded by udev)")
	sealed := fs.String("sealed-file", "/boot/firmware/kortstation-data.cred", "the TPM-sealed secret (key-source tpm2)")
	skel := fs.String("skel", "", "at the first boot, copy this directory into the new file system (the image's data skeleton)")
	grow := fs.Bool("grow", true, "at the first boot, grow the blank partition to the end of its disk before formatting it (the last logical partition of an MBR disk)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	src, err := dataunlock.ChooseSource(ctx, *source, *sealed, *tpmWait, dataunlock.Machine{})
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
