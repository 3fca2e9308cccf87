package dataunlock

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
)

// Volume is what Unlock needs of cryptsetup (Cryptsetup).
type Volume interface {
	IsLUKS2(ctx context.Context, dev string) (bool, error)
	Format(ctx context.Context, dev, label string, key []byte) error
	Open(ctx context.Context, dev, name string, key []byte) error
}

// Config is one encrypted partition.
type Config struct {
	// Device is the partition, e.g. /dev/mmcblk0p4.
	Device string
	// Name is its mapping: /dev/mapper/<Name>.
	Name string
	// Label names the volume: the LUKS label, and the volume in the
	// passphrase's derivation. The file system inside is labelled the same.
	Label  string
	Source KeySource
	Volume Volume
	// Mkfs makes the file system in the newly opened volume at the first
	// boot; default mkfs.ext4 labelled Label.
	Mkfs func(ctx context.Context, dev, label string) error
	// Populate fills the new file system at the first boot (the image's
	// data skeleton: directories, CUPS's setup); nil leaves it empty.
	Populate func(ctx context.Context, dev string) error
	// Grow, at the first boot only (a blank partition), grows the
	// partition to the end of its disk before it is formatted
	// (GrowPartition); nil leaves its size. A failure is logged and the
	// partition formatted at its old size: a working station over a
	// bigger one.
	Grow func(ctx context.Context, dev string) (Growth, error)
	Log  *slog.Logger
}

// Result says what Unlock did.
type Result struct {
	Provisioned bool   // the key source's secret was made now
	Formatted   bool   // the partition was blank and is now a LUKS2 volume with a file system
	Grown       bool   // the blank partition was grown to the end of its disk first
	Mapped      string // the opened volume, /dev/mapper/<Name>
}

// Unlock opens the data partition, making it at the first boot: a new
// device gets its secret, a blank partition its LUKS2 header and file
// system. It never formats a partition that holds anything, and never
// makes a new secret for a partition that is already encrypted (the data
// of a card moved to another device stays unreadable, as intended).
func Unlock(ctx context.Context, cfg Config) (Result, error) {
	var res Result
	if cfg.Device == "" || cfg.Name == "" || cfg.Label == "" || cfg.Source == nil || cfg.Volume == nil {
		return res, errors.New("dataunlock: device, name, label, key source and volume are needed")
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	encrypted, err := cfg.Volume.IsLUKS2(ctx, cfg.Device)
	if err != nil {
		return res, err
	}
	// A partition that is neither encrypted nor blank is refused before
	// the key source is touched: a device's first secret (the Pi's OTP
	// key, which can never be written again) is made only for a partition
	// this boot will really encrypt.
	if !encrypted {
		empty, err := blank(cfg.Device)
		if err != nil {
			return res, err
		}
		if !empty {
			return res, fmt.Errorf("%w: %s", ErrNotBlank, cfg.Device)
		}
	}
	secret, err := cfg.Source.Secret(ctx)
	if errors.Is(err, ErrNoSecret) {
		if encrypted {
			return res, fmt.Errorf("dataunlock: the data partition is encrypted but the key source %s holds no secret: it was encrypted on another device, and cannot be opened here", cfg.Source.Name())
		}
		log.Info("making the device's secret", "source", cfg.Source.Name())
		if err := cfg.Source.Provision(ctx); err != nil {
			return res, err
		}
		res.Provisioned = true
		secret, err = cfg.Source.Secret(ctx)
	}
	if err != nil {
		return res, err
	}
	pass, err := Passphrase(secret, cfg.Label)
	clear(secret)
	if err != nil {
		return res, err
	}
	defer clear(pass)
	res.Mapped = "/dev/mapper/" + cfg.Name
	if encrypted {
		if err := cfg.Volume.Open(ctx, cfg.Device, cfg.Name, pass); err != nil {
			return res, err
		}
		log.Info("data partition opened", "device", cfg.Device, "mapped", res.Mapped)
		return res, nil
	}
	if cfg.Grow != nil {
		g, err := cfg.Grow(ctx, cfg.Device)
		switch {
		case err != nil:
			log.Error("first boot: the data partition could not be grown to the end of the card; formatting it at its size", "device", cfg.Device, "err", err)
		case !g.Grown:
			log.Info("first boot: the data partition already ends at the end of the card", "device", cfg.Device, "disk", g.Disk)
		default:
			res.Grown = true
			log.Info("first boot: data partition grown to the end of the card", "device", cfg.Device, "disk", g.Disk,
				"old_mib", (g.OldEnd+1)*sectorSize>>20, "new_mib", (g.NewEnd+1)*sectorSize>>20)
			if g.KernelNotUpdated != nil {
				log.Error("first boot: the kernel still has the old size of the data partition; it is formatted at that size", "device", cfg.Device, "err", g.KernelNotUpdated)
			}
		}
	}
	log.Info("first boot: encrypting the data partition", "device", cfg.Device)
	if err := cfg.Volume.Format(ctx, cfg.Device, cfg.Label, pass); err != nil {
		return res, err
	}
	if err := cfg.Volume.Open(ctx, cfg.Device, cfg.Name, pass); err != nil {
		return res, err
	}
	mkfs := cfg.Mkfs
	if mkfs == nil {
		mkfs = mkfsExt4
	}
	if err := mkfs(ctx, res.Mapped, cfg.Label); err != nil {
		return res, err
	}
	if cfg.Populate != nil {
		if err := cfg.Populate(ctx, res.Mapped); err != nil {
			return res, err
		}
	}
	res.Formatted = true
	log.Info("data partition encrypted and opened", "device", cfg.Device, "mapped", res.Mapped)
	return res, nil
}

// PopulateFrom copies the directory skel (ownership, modes and all) into
// the file system on dev: mounted on a private directory, copied, synced
// and unmounted.
func PopulateFrom(skel string) func(ctx context.Context, dev string) error {
	return func(ctx context.Context, dev string) error {
		dir, err := os.MkdirTemp("", "kortstation-data-")
		if err != nil {
			return fmt.Errorf("dataunlock: populate: %w", err)
		}
		defer os.Remove(dir)
		run := func(name string, args ...string) error {
			out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
			if err != nil {
				return fmt.Errorf("dataunlock: populate: %s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
			}
			return nil
		}
		if err := run("mount", "-t", "ext4", dev, dir); err != nil {
			return err
		}
		err = run("cp", "-a", skel+"/.", dir+"/")
		if err == nil {
			err = run("sync", "-f", dir)
		}
		if uerr := run("umount", dir); err == nil {
			err = uerr
		}
		return err
	}
}

func mkfsExt4(ctx context.Context, dev, label string) error {
	out, err := exec.CommandContext(ctx, "mkfs.ext4", "-q", "-L", label, dev).CombinedOutput()
	if err != nil {
		return fmt.Errorf("dataunlock: mkfs.ext4 %s: %w: %s", dev, err, strings.TrimSpace(string(out)))
	}
	return nil
}
