package update

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"github.com/kortstation/kortstation/sync/protocol"
)

// SpoolName is the file root's kortstation-update.path waits for in the
// spool directory.
const SpoolName = "ready.raucb"

// Spool is the real installer: kioskd runs unprivileged, so it hands the
// verified bundle to root by moving it into the spool directory
// (/var/lib/kortstation/update-spool) under SpoolName, atomically
// (rename). systemd's kortstation-update.path sees it and starts
// kortstation-update.service, which copies it out of the station user's
// reach, removes it, and runs kortstation-update on the copy as root:
// RAUC checks the signature, the format and the version, installs into
// the other slot and reboots into it on trial.
type Spool struct {
	Dir string
}

var _ Installer = Spool{}

// Reboots: the installer reboots the station into the new slot.
func (Spool) Reboots() bool { return true }

// Install moves the bundle at path into the spool. A bundle already
// waiting there is refused (the installer has not taken the last one).
func (s Spool) Install(_ context.Context, path string, _ protocol.UpdateOffer) error {
	dst := filepath.Join(s.Dir, SpoolName)
	if _, err := os.Lstat(dst); err == nil {
		return fmt.Errorf("update: %s is still waiting for the installer", dst)
	}
	tmp := filepath.Join(s.Dir, "."+SpoolName+".tmp")
	err := os.Rename(path, tmp)
	if errors.Is(err, syscall.EXDEV) {
		err = copyFile(path, tmp)
		if err == nil {
			_ = os.Remove(path)
		}
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("update: spool: %w", err)
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		return fmt.Errorf("update: spool: %w", err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("update: spool: %w", err)
	}
	if d, err := os.Open(s.Dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// copyFile copies src to a new file dst and syncs it.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
