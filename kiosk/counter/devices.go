package counter

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/kortstation/kortstation/hw/cardreader"
	"github.com/kortstation/kortstation/hw/drawer"
	"github.com/kortstation/kortstation/hw/printer"
	"github.com/kortstation/kortstation/kiosk/clock"
	"github.com/kortstation/kortstation/kiosk/rules"
	"github.com/kortstation/kortstation/kiosk/store"
)

// Events is what the device watchers tell the counter, as typed events:
// the counter implements it, and a test can play a device by calling it.
type Events interface {
	// Card is a card reader event: a card in or out, a reader attached or
	// detached, pcscd gone or back.
	Card(ctx context.Context, ev cardreader.Event)
	// Drawer is a drawer sensor event: opened, closed, flapping, fault,
	// recovered.
	Drawer(ctx context.Context, ev drawer.Event)
	// Printer is the printer's state as last asked (err: not reachable).
	Printer(ctx context.Context, st printer.Status, err error)
}

var _ Events = (*Counter)(nil)

// WatchReader delivers the card reader's events to ev until ctx ends.
func WatchReader(ctx context.Context, r cardreader.Reader, ev Events) error {
	events := make(chan cardreader.Event, 16)
	errc := make(chan error, 1)
	go func() { errc <- r.Run(ctx, events) }()
	for {
		select {
		case e := <-events:
			ev.Card(ctx, e)
		case err := <-errc:
			if err == nil || errors.Is(err, context.Canceled) {
				return nil
			}
			return fmt.Errorf("card reader: %w", err)
		}
	}
}

// WatchDrawer delivers the drawer sensor's events to ev until ctx ends.
func WatchDrawer(ctx context.Context, s drawer.Sensor, ev Events) error {
	events := make(chan drawer.Event, 16)
	errc := make(chan error, 1)
	go func() { errc <- s.Run(ctx, events) }()
	for {
		select {
		case e := <-events:
			ev.Drawer(ctx, e)
		case err := <-errc:
			if err != nil && !errors.Is(err, context.Canceled) {
				return fmt.Errorf("drawer sensor: %w", err)
			}
			return nil
		}
	}
}

// printerPoll is how often the printer's state is asked: IPP has no push
// notifications that CUPS keeps without subscriptions, and a two-second view
// is what the status screen needs.
const printerPoll = 2 * time.Second

// WatchPrinter asks the printer for its state every two seconds and tells
// ev, until ctx ends.
func WatchPrinter(ctx context.Context, p printer.Printer, ev Events, c clock.Clock) error {
	t := time.NewTicker(printerPoll)
	defer t.Stop()
	for {
		qctx, cancel := context.WithTimeout(ctx, printerPoll)
		st, err := p.State(qctx)
		cancel()
		if ctx.Err() != nil {
			return nil
		}
		ev.Printer(ctx, st, err)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// ReaderEvent is a card reader event as it goes on the bus. It carries no
// personal data: the card's content is read only when a flow asks for it.
type ReaderEvent struct {
	Kind   string `json:"kind"` // reader_attached, reader_detached, card_inserted, card_removed, service_unavailable, service_restored
	Reader string `json:"reader,omitempty"`
}

var readerTopics = map[cardreader.EventKind]string{
	cardreader.ReaderAttached:     "reader_attached",
	cardreader.ReaderDetached:     "reader_detached",
	cardreader.CardInserted:       "card_inserted",
	cardreader.CardRemoved:        "card_removed",
	cardreader.ServiceUnavailable: "service_unavailable",
	cardreader.ServiceRestored:    "service_restored",
}

// Card relays a reader event to the screens (topic "card.<kind>"; At is
// when GetStatusChange returned, so latency is measured from there), keeps
// the reader's state for the status screen and moves the session: login,
// logout on card removal, a card read into the flow.
func (m *Counter) Card(ctx context.Context, ev cardreader.Event) {
	kind, ok := readerTopics[ev.Kind]
	if !ok {
		m.log.Warn("unknown card reader event", "event", ev.String())
		return
	}
	m.devMu.Lock()
	if m.slots == nil {
		m.slots = map[string]bool{}
	}
	switch ev.Kind {
	case cardreader.ReaderAttached, cardreader.CardRemoved:
		m.slots[ev.Reader] = false
	case cardreader.ReaderDetached:
		delete(m.slots, ev.Reader)
	case cardreader.CardInserted:
		m.slots[ev.Reader] = true
	case cardreader.ServiceUnavailable:
		m.readerDown = true
	case cardreader.ServiceRestored:
		m.readerDown = false
	}
	state, detail := readerState(m.readerDown, m.slots), readerDetail(m.slots)
	m.devMu.Unlock()
	m.bus.Publish("card."+kind, ev.At, ReaderEvent{Kind: kind, Reader: ev.Reader})
	m.setDevice("reader", state, detail, ev.At)
	m.onCard(ctx, ev)
}

func readerState(down bool, slots map[string]bool) string {
	switch {
	case down:
		return "unavailable"
	case len(slots) == 0:
		return "no_reader"
	}
	for _, card := range slots {
		if card {
			return "card_present"
		}
	}
	return "ready"
}

func readerDetail(slots map[string]bool) string {
	names := make([]string, 0, len(slots))
	for n, card := range slots {
		if card {
			n += " (card)"
		}
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// DrawerRecord is what the station stores, publishes and (as its protocol
// payload) sends for one drawer event. It carries no personal data: the
// operator appears as a session ID.
type DrawerRecord = store.DrawerEvent

// Drawer records a drawer event. Every opening belongs to the logged-in
// operator's session; an opening with no session is an alarm (RC-7),
// recorded in the audit log and queued for the registry in the same
// transaction as the event itself. An opening in a session lets the flow
// go on to the card.
func (m *Counter) Drawer(ctx context.Context, ev drawer.Event) {
	m.mu.Lock()
	defer m.mu.Unlock()
	rec, err := m.recordDrawer(ctx, ev)
	if err != nil {
		m.log.Error("drawer event not recorded", "kind", ev.Kind.String(), "err", err)
		return
	}
	state := rec.State
	if rec.Alarm {
		m.log.Warn("drawer opened with no operator logged in (RC-7 alarm)")
		state = "alarm"
	}
	m.setDevice("drawer", state, rec.Detail, ev.At)
	m.bus.Publish("drawer."+rec.State, ev.At, rec)
	if ev.Kind == drawer.EventOpened {
		m.drawerOpened(ctx)
	}
}

// recordDrawer stores the event; the caller holds m.mu.
func (m *Counter) recordDrawer(ctx context.Context, ev drawer.Event) (DrawerRecord, error) {
	rec := DrawerRecord{At: ev.At.UTC(), Detail: ev.Detail}
	switch ev.Kind {
	case drawer.EventOpened:
		rec.State = "open"
		rec.FoundOp = ev.Prev == drawer.StateUnknown
		// RC-7: an opening belongs to the session of an authorised
		// operator, or it is an alarm.
		var sessions []rules.Session
		if m.sess != nil {
			sessions = []rules.Session{{Operator: m.sess.hsaID, Start: m.sess.since}}
		}
		admins, err := m.st.AuthorisedAdmins(ctx)
		if err != nil {
			m.log.Error("read operators for the drawer", "err", err) // fails closed: an alarm
		}
		rec.Alarm = rules.CheckDrawerOpening(m.clock.Now(), sessions, admins) != nil // the station clock, as the session
	case drawer.EventClosed:
		rec.State = "closed"
	case drawer.EventFlapping:
		rec.State = "flapping"
	case drawer.EventFault:
		rec.State = "fault"
	case drawer.EventRecovered:
		rec.State = "recovered"
	default:
		return rec, fmt.Errorf("unknown drawer event %v", ev.Kind)
	}
	actor := "station"
	if m.sess != nil {
		rec.Session, actor = m.sess.id, m.sess.hsaID.String()
	}
	err := m.st.Update(ctx, m.clock, func(t *store.Tx) error { return t.RecordDrawerEvent(ctx, actor, rec) })
	return rec, err
}

// Printer keeps the printer's state on the status screen current.
func (m *Counter) Printer(_ context.Context, st printer.Status, err error) {
	if err != nil {
		m.setDevice("printer", printer.StateUnreachable.String(), "", m.clock.Now())
		return
	}
	detail := st.Message
	if !st.Accepting {
		detail = "not accepting jobs"
	}
	m.setDevice("printer", st.State.String(), detail, m.clock.Now())
}
