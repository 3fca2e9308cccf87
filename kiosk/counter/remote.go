package counter

import (
	"context"

	"github.com/kortstation/kortstation/kiosk/problem"
	"github.com/kortstation/kortstation/kiosk/store"
)

// SetRemoteLock locks or unlocks the station on a central admin's command.
// A locked station serves its status but refuses every other request. The
// lock is stored, so it survives a restart, and audited. Setting the state
// it already has is harmless (commands may be delivered twice).
func (m *Counter) SetRemoteLock(ctx context.Context, locked bool) error {
	err := m.st.Update(ctx, m.clock, func(t *store.Tx) error { return t.RecordRemoteLock(ctx, m.info.ID, locked) })
	if err != nil {
		return err
	}
	m.devMu.Lock()
	m.remoteLocked = locked
	m.devMu.Unlock()
	m.log.Info("remote lock", "locked", locked)
	topic := "station.unlocked"
	if locked {
		topic = "station.locked"
	}
	m.bus.Publish(topic, m.clock.Now(), map[string]bool{"locked": locked})
	return nil
}

// Restore reads the state the station keeps across restarts: a central
// admin's lock. Call it before the counter serves requests.
func (m *Counter) Restore(ctx context.Context) error {
	locked, err := m.st.RemoteLocked(ctx)
	if err != nil {
		return err
	}
	m.devMu.Lock()
	m.remoteLocked = locked
	m.devMu.Unlock()
	if locked {
		m.log.Warn("station starts locked by the central administration")
	}
	return nil
}

// RemoteLocked reports whether a central admin has locked the station.
func (m *Counter) RemoteLocked() bool {
	m.devMu.Lock()
	defer m.devMu.Unlock()
	return m.remoteLocked
}

// errLocked is what a locked station answers.
var errLocked = problem.Errorf("station_locked", "Stationen är låst av den centrala förvaltningen.",
	"The station has been locked by the central administration.")
