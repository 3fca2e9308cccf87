package counter

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kortstation/kortstation/hw/drawer/sim"
	"github.com/kortstation/kortstation/kiosk/bus"
	"github.com/kortstation/kortstation/kiosk/clock"
	"github.com/kortstation/kortstation/kiosk/rules/ident"
	"github.com/kortstation/kortstation/kiosk/store"
	"github.com/kortstation/kortstation/sync/protocol"
)

func newTestStation(t *testing.T) (*Counter, *store.Store, *bus.Bus) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "s.db"), store.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	b := bus.New()
	s := New(Deps{Info: Info{ID: "test-station"}, Store: st, Bus: b, Clock: clock.System{}, Log: log}, Options{Simulation: true})
	return s, st, b
}

func waitTopic(t *testing.T, sub *bus.Subscription, topic string) bus.Event {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case ev := <-sub.C:
			if ev.Topic == topic {
				return ev
			}
		case <-timeout:
			t.Fatalf("no %s event", topic)
		}
	}
}

// TestDrawerOpeningWithoutOperatorIsAnAlarm: RC-7 — every opening belongs to
// a logged-in operator's session, or it is an alarm recorded in the audit
// log and the outbox together with the event.
func TestDrawerOpeningWithoutOperatorIsAnAlarm(t *testing.T) {
	s, st, b := newTestStation(t)
	sensor, err := sim.New(sim.DefaultConfig(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	sub := b.Subscribe(64)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- WatchDrawer(ctx, sensor, s) }()
	defer func() { cancel(); <-done }()

	waitTopic(t, sub, "drawer.closed") // the initial state

	// RC-7: no operator logged in.
	sensor.Open()
	ev := waitTopic(t, sub, "drawer.open")
	if rec := ev.Data.(DrawerRecord); !rec.Alarm || rec.Session != "" {
		t.Fatalf("opening with no session: %+v, want alarm", rec)
	}
	sensor.Close()
	waitTopic(t, sub, "drawer.closed")

	// RC-7: an operator is logged in; the opening is attached to the session.
	if err := st.Write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.Exec(`INSERT INTO operators (hsa_id, name, updated_at) VALUES ('SE2321000131-P000000000001', 'Op', 't')`); err != nil {
			return err
		}
		_, err := tx.Exec(`INSERT INTO operator_sessions (id, operator, card_serial, started_at) VALUES ('sess-1', 'SE2321000131-P000000000001', 'C1', 't')`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	h, err := ident.ParseHSAID("SE2321000131-P000000000001")
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	s.sess = &session{id: "sess-1", hsaID: h}
	s.mu.Unlock()
	sensor.Open()
	ev = waitTopic(t, sub, "drawer.open")
	if rec := ev.Data.(DrawerRecord); rec.Alarm || rec.Session != "sess-1" {
		t.Fatalf("opening in a session: %+v, want no alarm, session sess-1", rec)
	}

	rows, err := st.Reader().Query(`SELECT state, coalesce(session_id, ''), alarm FROM drawer_events ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var state, session string
		var alarm bool
		rows.Scan(&state, &session, &alarm)
		if alarm {
			state += "!alarm"
		}
		got = append(got, state+"/"+session)
	}
	rows.Close()
	want := []string{"closed/", "open!alarm/", "closed/", "open/sess-1"}
	if len(got) != len(want) {
		t.Fatalf("drawer_events = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("drawer_events[%d] = %s, want %s", i, got[i], want[i])
		}
	}
	// The registry is sent the documented kinds (docs/sync-protocol.md):
	// the RC-7 alarm as drawer_alarm, every other change as drawer_event.
	var sent []string
	rows, err = st.Reader().Query(`SELECT kind, payload FROM outbox ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var kind string
		var payload []byte
		if err := rows.Scan(&kind, &payload); err != nil {
			t.Fatal(err)
		}
		p, err := protocol.DecodePayload(kind, payload)
		if err != nil {
			t.Fatalf("outbox event %s: %v", kind, err)
		}
		switch p := p.(type) {
		case protocol.DrawerAlarmPayload:
			sent = append(sent, kind+":"+p.State)
		case protocol.DrawerEventPayload:
			sent = append(sent, kind+":"+p.State+"/"+p.SessionID)
		default:
			t.Errorf("outbox event %s carries %T", kind, p)
		}
	}
	rows.Close()
	wantSent := []string{"drawer_event:closed/", "drawer_alarm:open", "drawer_event:closed/", "drawer_event:open/sess-1"}
	if strings.Join(sent, " ") != strings.Join(wantSent, " ") {
		t.Errorf("outbox = %v, want %v", sent, wantSent)
	}
	var alarms int
	st.Reader().QueryRow(`SELECT count(*) FROM audit_log WHERE kind = 'drawer.alarm' AND actor = 'station'`).Scan(&alarms)
	if alarms != 1 {
		t.Errorf("audit log has %d drawer.alarm entries, want 1", alarms)
	}
	if _, err := st.VerifyAudit(ctx); err != nil {
		t.Error(err)
	}
	if s.StationSnapshot(ctx).Hardware["drawer"].State != "open" {
		t.Errorf("drawer device state = %+v", s.StationSnapshot(ctx).Hardware["drawer"])
	}
}

// TestDrawerFaultIsReported: a sensor that cannot be read is recorded and
// shown, not ignored.
func TestDrawerFaultIsReported(t *testing.T) {
	s, st, b := newTestStation(t)
	sensor, _ := sim.New(sim.DefaultConfig(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	sub := b.Subscribe(64)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- WatchDrawer(ctx, sensor, s) }()
	defer func() { cancel(); <-done }()
	waitTopic(t, sub, "drawer.closed")
	sensor.Fail("wire cut")
	waitTopic(t, sub, "drawer.fault")
	if d := s.StationSnapshot(ctx).Hardware["drawer"]; d.State != "fault" {
		t.Errorf("drawer device = %+v, want fault", d)
	}
	var n int
	st.Reader().QueryRow(`SELECT count(*) FROM outbox WHERE kind = ? AND json_extract(payload, '$.state') = ?`, protocol.KindDrawerEvent, protocol.DrawerFault).Scan(&n)
	if n != 1 {
		t.Errorf("outbox drawer_event fault = %d, want 1", n)
	}
}
