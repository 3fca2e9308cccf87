// Package updatesim is the simulated installer for `make run`: there is
// no RAUC and no root there, so it records what the real installer
// (update.Spool and kortstation-update) would do, one JSON line per
// install, and removes the bundle. The station does not reboot; with
// OutcomeFile set it leaves a "committed" outcome there, as
// kortstation-health would after a passing trial boot, so the rest of the
// cycle (the update_result at the registry, its console) runs on
// `make run` too.
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
	// OutcomeFile, when set, receives a committed outcome per install.
	OutcomeFile string

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
	if s.OutcomeFile != "" {
		o := fmt.Sprintf("result=committed\nslot=B\nversion=%s\nreason=simulated install - nothing was written\nat=%s\n", offer.Version, rec.At.Format(time.RFC3339))
		if err := os.WriteFile(s.OutcomeFile, []byte(o), 0o644); err != nil {
			return fmt.Errorf("updatesim: %w", err)
		}
	}
	return os.Remove(path)
}

// Installs returns what was installed since the start.
func (s *Installer) Installs() []Install {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Install(nil), s.installs...)
}
