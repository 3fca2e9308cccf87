package station

import (
	"context"
	"fmt"

	"github.com/kortstation/kortstation/hw/drawer"
	"github.com/kortstation/kortstation/kiosk/store"
)

// DrawerRecord is what the station stores and sends for one drawer event.
// It carries no personal data: the operator appears as a session ID.
type DrawerRecord = store.DrawerEvent

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
	actor := "station"
	if loggedIn {
		actor = op.HSAID
	}
	err := s.store.Update(ctx, s.clock, func(t *store.Tx) error { return t.RecordDrawerEvent(ctx, actor, rec) })
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
