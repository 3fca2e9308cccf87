package station

import (
	"context"

	"github.com/kortstation/kortstation/kiosk/problem"
	"github.com/kortstation/kortstation/kiosk/store"
)

// SetRemoteLock locks or unlocks the station on a central admin's command.
// A locked station serves its status but refuses every other request. The
// lock is stored, so it survives a restart, and audited. Setting the state
// it already has is harmless (commands may be delivered twice).
func (s *Station) SetRemoteLock(ctx context.Context, locked bool) error {
	err := s.store.Update(ctx, s.clock, func(t *store.Tx) error { return t.RecordRemoteLock(ctx, s.info.ID, locked) })
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.remoteLocked = locked
	s.mu.Unlock()
	s.log.Info("remote lock", "locked", locked)
	topic := "station.unlocked"
	if locked {
		topic = "station.locked"
	}
	s.bus.Publish(topic, s.clock.Now(), map[string]bool{"locked": locked})
	return nil
}

// Restore reads the state the station keeps across restarts: a central
// admin's lock. Call it before the station serves requests.
func (s *Station) Restore(ctx context.Context) error {
	locked, err := s.store.RemoteLocked(ctx)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.remoteLocked = locked
	s.mu.Unlock()
	if locked {
		s.log.Warn("station starts locked by the central administration")
	}
	return nil
}

// RemoteLocked reports whether a central admin has locked the station.
func (s *Station) RemoteLocked() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.remoteLocked
}

// errLocked is what a locked station answers.
var errLocked = problem.Errorf("station_locked", "Stationen är låst av den centrala förvaltningen.",
	"The station has been locked by the central administration.")

// allowedWhileLocked are the requests a locked station still serves.
func allowedWhileLocked(typ string) bool {
	return typ == "status.get" || typ == "sync.now"
}

// SetSyncStatus sets where the status screen gets the sync state.
func (s *Station) SetSyncStatus(f func(context.Context) any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.syncStatus = f
}

// Changed tells every UI that the station's state changed.
func (s *Station) Changed(context.Context) {
	s.bus.Publish("station.changed", s.clock.Now(), nil)
}
