package counter

import (
	"context"
	"time"

	"github.com/kortstation/kortstation/kiosk/clock"
)

// Snapshot is the full state a screen renders.
type Snapshot struct {
	Station    Info                   `json:"station"`
	Simulation bool                   `json:"simulation"`
	Clock      ClockState             `json:"clock"`
	Session    SessionState           `json:"session"`
	Hardware   map[string]DeviceState `json:"hardware"`
	Outbox     int64                  `json:"outbox"`
	// RemoteLocked: a central admin locked the station.
	RemoteLocked bool `json:"remote_locked"`
	// Sync is the registry sync state, when sync runs.
	Sync     any      `json:"sync,omitempty"`
	Problems []string `json:"problems,omitempty"`
}

// ClockState says whether dates can be trusted.
type ClockState struct {
	Now    time.Time `json:"now"`
	Source string    `json:"source"`
	Synced bool      `json:"synced"`
	// Blocking: issuing waits for the clock (require-clock-sync and not
	// synchronised).
	Blocking bool `json:"blocking"`
}

// SessionState is the operator session as one screen sees it.
type SessionState struct {
	State State `json:"state"` // locked until an operator logs in
	// View is the counter as the screen shows it. It holds personal data
	// while a flow runs, only for the connection that holds the session,
	// and is cleared on logout.
	View *View `json:"view,omitempty"`
}

func (m *Counter) clockState() ClockState {
	synced := clock.Synced(m.clock)
	return ClockState{Now: m.clock.Now(), Source: m.clock.Source(), Synced: synced, Blocking: m.opts.RequireClock && !synced}
}

// ClockBlocking reports whether issuing must wait for the clock
// (require-clock-sync and not synchronised).
func (m *Counter) ClockBlocking() bool { return m.clockState().Blocking }

// Snapshot returns the current state as client may see it: the session's
// view holds personal data only for the connection that holds the
// session. An empty client is the station itself (no session view): what
// the registry is told.
func (m *Counter) Snapshot(ctx context.Context, client string) any {
	return m.snapshot(ctx, client)
}

func (m *Counter) snapshot(ctx context.Context, client string) Snapshot {
	snap := Snapshot{
		Station:    m.info,
		Simulation: m.opts.Simulation,
		Clock:      m.clockState(),
		Session:    SessionState{State: StateLocked},
		Hardware:   m.devices(),
	}
	m.devMu.Lock()
	snap.RemoteLocked = m.remoteLocked
	sy := m.sync
	m.devMu.Unlock()
	if client != "" {
		snap.Session = m.sessionState(ctx, client)
	}
	if sy != nil {
		snap.Sync = sy.Status(ctx)
	}
	depth, err := m.st.OutboxDepth(ctx)
	if err != nil {
		m.log.Error("read outbox depth", "err", err)
		snap.Problems = append(snap.Problems, "store")
	}
	snap.Outbox = depth
	return snap
}

// StationSnapshot is the station's state with no session view: what the
// registry is told with each sync.
func (m *Counter) StationSnapshot(ctx context.Context) Snapshot { return m.snapshot(ctx, "") }
