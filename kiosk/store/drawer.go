package store

import (
	"context"
	"fmt"
	"time"

	"github.com/kortstation/kortstation/kiosk/audit"
	"github.com/kortstation/kortstation/sync/protocol"
)

// DrawerEvent is what the station stores and sends for one drawer event.
// It carries no personal data: the operator appears as a session ID.
type DrawerEvent struct {
	State   string    `json:"state"` // open, closed, flapping, fault, recovered
	Session string    `json:"session,omitempty"`
	Alarm   bool      `json:"alarm"` // RC-7: opened with no operator logged in
	FoundOp bool      `json:"found_open,omitempty"`
	Detail  string    `json:"detail,omitempty"`
	At      time.Time `json:"at"`
}

// Kind is the event's audit kind: drawer.<state>, or drawer.alarm for an
// opening with no session (RC-7).
func (e DrawerEvent) Kind() string {
	if e.Alarm {
		return "drawer.alarm"
	}
	return "drawer." + e.State
}

// RecordDrawerEvent stores a drawer event with its audit entry (actor: the
// logged-in operator's HSA-ID, or "station") and queues it for the
// registry.
func (t *Tx) RecordDrawerEvent(ctx context.Context, actor string, e DrawerEvent) error {
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO drawer_events (state, session_id, alarm, at) VALUES (?, ?, ?, ?)`,
		e.State, nullIfEmpty(e.Session), e.Alarm, e.At.Format(time.RFC3339Nano)); err != nil {
		return fmt.Errorf("insert drawer event: %w", err)
	}
	detail := map[string]any{"state": e.State, "alarm": e.Alarm}
	if e.Session != "" {
		detail["session"] = e.Session
	}
	if e.FoundOp {
		detail["found_open"] = true
	}
	if e.Detail != "" {
		detail["detail"] = e.Detail
	}
	if _, err := t.Audit(ctx, audit.Entry{Kind: e.Kind(), Actor: actor, Subject: "drawer", Detail: detail}); err != nil {
		return err
	}
	_, err := t.Enqueue(ctx, e.Payload())
	return err
}

// Payload is the event sent to the registry: an RC-7 alarm is a
// drawer_alarm, every other state change a drawer_event
// (docs/sync-protocol.md).
func (e DrawerEvent) Payload() protocol.Payload {
	if e.Alarm {
		return protocol.DrawerAlarmPayload{State: e.State, FoundOpen: e.FoundOp, Detail: e.Detail, At: e.At}
	}
	return protocol.DrawerEventPayload{State: e.State, SessionID: e.Session, FoundOpen: e.FoundOp, Detail: e.Detail, At: e.At}
}

// AlarmsSince counts the RC-7 drawer alarms at or after since.
func (s *Store) AlarmsSince(ctx context.Context, since time.Time) (int, error) {
	var n int
	if err := s.reader.QueryRowContext(ctx, `SELECT count(*) FROM drawer_events WHERE alarm = 1 AND at >= ?`, ts(since)).Scan(&n); err != nil {
		return 0, fmt.Errorf("count drawer alarms: %w", err)
	}
	return n, nil
}
