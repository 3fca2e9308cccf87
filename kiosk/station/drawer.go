package station

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/kortstation/kortstation/hw/drawer"
	"github.com/kortstation/kortstation/kiosk/audit"
	"github.com/kortstation/kortstation/kiosk/outbox"
	"github.com/kortstation/kortstation/sync/protocol"
)

// DrawerRecord is what the station stores and publishes for one drawer
// event; the registry is sent its Payload. It carries no personal data: the
// operator appears as a session ID.
type DrawerRecord struct {
	State   string    `json:"state"` // open, closed, flapping, fault, recovered
	Session string    `json:"session,omitempty"`
	Alarm   bool      `json:"alarm"` // RC-7: opened with no operator logged in
	FoundOp bool      `json:"found_open,omitempty"`
	Detail  string    `json:"detail,omitempty"`
	At      time.Time `json:"at"`
}

// Payload is the event sent to the registry: an RC-7 alarm is a
// drawer_alarm, every other state change a drawer_event
// (docs/sync-protocol.md).
func (r DrawerRecord) Payload() protocol.Payload {
	if r.Alarm {
		return protocol.DrawerAlarmPayload{State: r.State, FoundOpen: r.FoundOp, Detail: r.Detail, At: r.At}
	}
	return protocol.DrawerEventPayload{State: r.State, SessionID: r.Session, FoundOpen: r.FoundOp, Detail: r.Detail, At: r.At}
}

// RunDrawer watches the drawer sensor until ctx ends. Every opening belongs
// to the logged-in operator's session; an opening with no session is an
// alarm (RC-7), recorded in the audit log and queued for the registry in the
// same transaction as the event itself.
func (s *Station) RunDrawer(ctx context.Context, sensor drawer.Sensor) error {
	events := make(chan drawer.Event, 16)
	errc := make(chan error, 1)
	go func() { errc <- sensor.Run(ctx, events) }()
	for {
		select {
		case ev := <-events:
			if err := s.recordDrawer(ctx, ev); err != nil {
				s.log.Error("drawer event not recorded", "kind", ev.Kind.String(), "err", err)
			}
		case err := <-errc:
			if err != nil {
				return fmt.Errorf("drawer sensor: %w", err)
			}
			return nil
		}
	}
}

func (s *Station) recordDrawer(ctx context.Context, ev drawer.Event) error {
	op, loggedIn := s.Operator()
	rec := DrawerRecord{At: ev.At.UTC(), Detail: ev.Detail}
	switch ev.Kind {
	case drawer.EventOpened:
		rec.State = "open"
		rec.FoundOp = ev.Prev == drawer.StateUnknown
		rec.Alarm = !loggedIn
	case drawer.EventClosed:
		rec.State = "closed"
	case drawer.EventFlapping:
		rec.State = "flapping"
	case drawer.EventFault:
		rec.State = "fault"
	case drawer.EventRecovered:
		rec.State = "recovered"
	default:
		return fmt.Errorf("unknown drawer event %v", ev.Kind)
	}
	if loggedIn {
		rec.Session = op.SessionID
	}
	kind := "drawer." + rec.State
	if rec.Alarm {
		kind = "drawer.alarm"
	}
	err := s.store.Write(ctx, func(tx *sql.Tx) error {
		var session any
		if rec.Session != "" {
			session = rec.Session
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO drawer_events (state, session_id, alarm, at) VALUES (?, ?, ?, ?)`,
			rec.State, session, rec.Alarm, rec.At.Format(time.RFC3339Nano)); err != nil {
			return fmt.Errorf("insert drawer event: %w", err)
		}
		actor := "station"
		if loggedIn {
			actor = op.HSAID
		}
		detail := map[string]any{"state": rec.State, "alarm": rec.Alarm}
		if rec.Session != "" {
			detail["session"] = rec.Session
		}
		if rec.FoundOp {
			detail["found_open"] = true
		}
		if rec.Detail != "" {
			detail["detail"] = rec.Detail
		}
		if _, err := audit.Append(ctx, tx, s.clock, audit.Entry{Kind: kind, Actor: actor, Subject: "drawer", Detail: detail}); err != nil {
			return err
		}
		_, err := outbox.Enqueue(ctx, tx, s.clock, rec.Payload())
		return err
	})
	if err != nil {
		return err
	}
	if rec.Alarm {
		s.log.Warn("drawer opened with no operator logged in (RC-7 alarm)")
	}
	state := rec.State
	if rec.Alarm {
		state = "alarm"
	}
	s.SetDevice("drawer", state, rec.Detail, ev.At)
	s.bus.Publish("drawer."+rec.State, ev.At, rec)
	return nil
}
