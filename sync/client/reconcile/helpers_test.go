package reconcile_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/kortstation/kortstation/hw/drawer/sim"
	"github.com/kortstation/kortstation/kiosk/bus"
	"github.com/kortstation/kortstation/kiosk/clock"
	"github.com/kortstation/kortstation/kiosk/counter"
	"github.com/kortstation/kortstation/kiosk/store"
	"github.com/kortstation/kortstation/sync/client/enrol"
	"github.com/kortstation/kortstation/sync/client/reconcile"
	"github.com/kortstation/kortstation/sync/protocol"
	"github.com/kortstation/kortstation/sync/registrytest"
)

// testClock is a settable clock safe for concurrent use.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *testClock { return &testClock{t: time.Now().UTC()} }

func (c *testClock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Source() string  { return clock.SourceFixed }
func (c *testClock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

var _ clock.Clock = (*testClock)(nil)

type station struct {
	t    testing.TB
	path string
	st   *store.Store
	cli  *reconcile.Client
	clk  *testClock
	id   enrol.Identity
	cfg  reconcile.Config
}

func openStore(t testing.TB, path string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), path, store.Options{Logger: registrytest.Logger(t)})
	if err != nil {
		t.Fatalf("open station store: %v", err)
	}
	return st
}

// newStation opens a station database in a temporary directory and a sync
// client for it towards url (the registry or a proxy in front of it).
func newStation(t testing.TB, id enrol.Identity, url string, mod func(*reconcile.Config)) *station {
	t.Helper()
	s := &station{t: t, path: filepath.Join(t.TempDir(), "station.db"), clk: newClock(), id: id}
	s.st = openStore(t, s.path)
	t.Cleanup(func() { s.st.Close() })
	id.URL = url
	s.cfg = reconcile.Config{Identity: id, Version: "test", RequestTimeout: 10 * time.Second}
	if mod != nil {
		mod(&s.cfg)
	}
	s.client()
	return s
}

func (s *station) client() {
	s.t.Helper()
	cli, err := reconcile.New(s.cfg, s.st, s.clk, registrytest.Logger(s.t), nil)
	if err != nil {
		s.t.Fatalf("new client: %v", err)
	}
	s.t.Cleanup(cli.Close)
	s.cli = cli
}

// reopen closes and reopens the station database, as after a restart.
func (s *station) reopen() {
	s.t.Helper()
	if err := s.st.Close(); err != nil {
		s.t.Fatal(err)
	}
	s.st = openStore(s.t, s.path)
	s.t.Cleanup(func() { s.st.Close() })
	s.client()
}

func (s *station) enqueue(payload protocol.Payload) protocol.Event {
	s.t.Helper()
	var ev protocol.Event
	err := s.st.Update(context.Background(), s.clk, func(tx *store.Tx) error {
		var err error
		ev, err = tx.Enqueue(context.Background(), payload)
		return err
	})
	if err != nil {
		s.t.Fatalf("enqueue: %v", err)
	}
	return ev
}

// paddedMovement is a stock movement with incompressible padding, for
// batches of a given size; the registry stores the extra field untouched.
type paddedMovement struct {
	protocol.StockMovementPayload
	Pad string `json:"pad"`
}

// enqueueN adds n events of about size bytes of incompressible payload.
func (s *station) enqueueN(n, size int) []protocol.Event {
	s.t.Helper()
	var out []protocol.Event
	err := s.st.Update(context.Background(), s.clk, func(tx *store.Tx) error {
		for i := 0; i < n; i++ {
			ev, err := tx.Enqueue(context.Background(), paddedMovement{StockMovementPayload: protocol.StockMovementPayload{CardSerial: randHex(8), Movement: "counted"}, Pad: randHex(size / 2)})
			if err != nil {
				return err
			}
			out = append(out, ev)
		}
		return nil
	})
	if err != nil {
		s.t.Fatalf("enqueue: %v", err)
	}
	return out
}

func (s *station) depth() int64 {
	s.t.Helper()
	n, err := s.st.OutboxDepth(context.Background())
	if err != nil {
		s.t.Fatal(err)
	}
	return n
}

func (s *station) count(q string, args ...any) int {
	s.t.Helper()
	var n int
	if err := s.st.Reader().QueryRow(q, args...).Scan(&n); err != nil {
		s.t.Fatalf("%s: %v", q, err)
	}
	return n
}

// assertExactlyOnce checks at the registry that it holds exactly the
// station's events: each once, under its seq, with its payload; and that
// the station has nothing left unacknowledged.
func assertExactlyOnce(t testing.TB, reg *registrytest.Registry, s *station) {
	t.Helper()
	got, err := reg.Server.Events(context.Background(), s.id.StationID)
	if err != nil {
		t.Fatal(err)
	}
	want, err := s.st.PendingEvents(context.Background(), 0, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	if len(want) != 0 {
		t.Errorf("station still has %d unacknowledged events", len(want))
	}
	rows, err := s.st.Reader().Query(`SELECT seq, event_id, payload FROM outbox ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	i := 0
	for rows.Next() {
		var seq int64
		var id string
		var payload []byte
		if err := rows.Scan(&seq, &id, &payload); err != nil {
			t.Fatal(err)
		}
		if i >= len(got) {
			t.Errorf("registry lacks event seq %d (lost)", seq)
			i++
			continue
		}
		if got[i].Seq != seq || got[i].ID != id || string(got[i].Payload) != string(payload) {
			t.Errorf("registry event %d = seq %d id %s, want seq %d id %s with the same payload", i, got[i].Seq, got[i].ID, seq, id)
		}
		i++
	}
	if len(got) != i {
		t.Errorf("registry holds %d events, station made %d (doubled or foreign)", len(got), i)
	}
}

// drawer runs the station's real drawer handling (kiosk/counter)
// on s's database with the simulated sensor, nobody logged in, until the
// test ends.
type drawer struct {
	t      testing.TB
	sensor *sim.Sensor
	sub    *bus.Subscription
}

func (s *station) drawer() *drawer {
	s.t.Helper()
	log := registrytest.Logger(s.t)
	sensor, err := sim.New(sim.DefaultConfig(), log)
	if err != nil {
		s.t.Fatal(err)
	}
	b := bus.New()
	ctr := counter.New(counter.Deps{Info: counter.Info{ID: s.id.StationID}, Store: s.st, Bus: b, Clock: s.clk, Log: log}, counter.Options{})
	d := &drawer{t: s.t, sensor: sensor, sub: b.Subscribe(64)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- counter.WatchDrawer(ctx, sensor, ctr) }()
	s.t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			s.t.Errorf("drawer: %v", err)
		}
	})
	d.wait("drawer.closed") // the initial state
	return d
}

// wait waits for the station to have recorded a drawer event of topic.
func (d *drawer) wait(topic string) {
	d.t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case ev := <-d.sub.C:
			if ev.Topic == topic {
				return
			}
		case <-timeout:
			d.t.Fatalf("the station recorded no %s event", topic)
		}
	}
}
