// Package updatesim is the simulated installer for `make run`: there is
// no RAUC and no root there, so it records what the real installer
// (update.Spool and kortstation-update) would do, one JSON line per
// install, and removes the bundle. The station does not reboot.
package updatesim

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/kortstation/kortstation/kiosk/update"
	"github.com/kortstation/kortstation/sync/protocol"
)

// Installer records installs to Log.
type Installer struct {
	// Log is the file the installs are appended to.
	Log string

	mu       sync.Mutex
	installs []Install
}

var _ update.Installer = (*Installer)(nil)

// Install is one recorded install.
type Install struct {
	At      time.Time `json:"at"`
	Version string    `json:"version"`
	SHA256  string    `json:"sha256"`
	Size    int64     `json:"size"`
	Would   string    `json:"would"`
}

// Reboots: a simulated install does not reboot.
func (*Installer) Reboots() bool { return false }

// Install records what would happen and removes the bundle.
func (s *Installer) Install(_ context.Context, path string, offer protocol.UpdateOffer) error {
	rec := Install{At: time.Now().UTC(), Version: offer.Version, SHA256: offer.SHA256, Size: offer.Size,
		Would: "move the bundle to the spool directory; kortstation-update would run rauc install and reboot into the other slot on trial"}
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := os.OpenFile(s.Log, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("updatesim: %w", err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("updatesim: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("updatesim: %w", err)
	}
	s.installs = append(s.installs, rec)
	return os.Remove(path)
}

// Installs returns what was installed since the start.
func (s *Installer) Installs() []Install {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Install(nil), s.installs...)
}
