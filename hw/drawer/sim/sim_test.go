package sim_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kortstation/kortstation/hw/drawer"
	"github.com/kortstation/kortstation/hw/drawer/drawertest"
	"github.com/kortstation/kortstation/hw/drawer/sim"
)

// fastConfig is sim.DefaultConfig with the shortest resync and retry, so
// the tests spend little real time waiting.
func fastConfig() drawer.Config {
	cfg := sim.DefaultConfig()
	cfg.Resync = 20 * time.Millisecond
	cfg.RetryMin = 20 * time.Millisecond
	return cfg
}

func newSim(t *testing.T, cfg drawer.Config) *sim.Sensor {
	t.Helper()
	s, err := sim.New(cfg, nil)
	if err != nil {
		t.Fatalf("sim.New: %v", err)
	}
	return s
}

// TestContract: the simulator passes the same contract as the real driver.
func TestContract(t *testing.T) {
	t.Parallel()
	for _, active := range []drawer.ActiveLevel{drawer.ActiveHigh, drawer.ActiveLow} {
		t.Run("active-"+string(active), func(t *testing.T) {
			t.Parallel()
			drawertest.RunContract(t, func(t *testing.T) drawertest.Harness {
				cfg := fastConfig()
				cfg.ActiveLevel = active
				s := newSim(t, cfg)
				return drawertest.Harness{Sensor: s, Open: s.Open, Close: s.Close, Resync: cfg.Resync}
			})
		})
	}
}

type run struct {
	events chan drawer.Event
	done   chan error
}

func start(t *testing.T, s *sim.Sensor) *run {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &run{events: make(chan drawer.Event, 16), done: make(chan error, 1)}
	go func() { r.done <- s.Run(ctx, r.events) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-r.done:
			if err != nil {
				t.Errorf("Run = %v", err)
			}
		case <-time.After(2 * time.Second):
			t.Error("Run did not return")
		}
	})
	return r
}

func (r *run) next(t *testing.T, kind drawer.EventKind, state drawer.State) drawer.Event {
	t.Helper()
	select {
	case ev := <-r.events:
		if ev.Kind != kind || ev.State != state {
			t.Fatalf("event = %s %v %q, want %s %v", ev.Kind, ev.State, ev.Detail, kind, state)
		}
		return ev
	case <-time.After(2 * time.Second):
		t.Fatalf("no %s event", kind)
	}
	return drawer.Event{}
}

func TestOpenAndCloseNeverBlockAndAreIdempotent(t *testing.T) {
	t.Parallel()
	s := newSim(t, fastConfig())
	// Not running: nothing listens, yet the dev panel must not hang.
	s.Open()
	s.Open()
	r := start(t, s)
	r.next(t, drawer.EventOpened, drawer.StateOpen)
	s.Open() // already open: no edge, no event
	s.Close()
	ev := r.next(t, drawer.EventClosed, drawer.StateClosed)
	if ev.Prev != drawer.StateOpen {
		t.Errorf("prev = %v, want open", ev.Prev)
	}
}

func TestFailAndRepair(t *testing.T) {
	t.Parallel()
	s := newSim(t, fastConfig())
	r := start(t, s)
	r.next(t, drawer.EventClosed, drawer.StateClosed)

	s.Fail("wire cut")
	r.next(t, drawer.EventFault, drawer.StateUnknown)
	if got := s.State(); got != drawer.StateUnknown {
		t.Errorf("State() while failed = %v, want unknown", got)
	}
	s.Open() // moves while broken: seen after the repair
	s.Repair()
	r.next(t, drawer.EventRecovered, drawer.StateUnknown)
	ev := r.next(t, drawer.EventOpened, drawer.StateOpen)
	if ev.Prev != drawer.StateUnknown {
		t.Errorf("prev after recovery = %v, want unknown", ev.Prev)
	}
}

func TestFailBeforeRunIsAFaultWithTheReason(t *testing.T) {
	t.Parallel()
	s := newSim(t, fastConfig())
	s.Fail("no such line")
	r := start(t, s)
	ev := r.next(t, drawer.EventFault, drawer.StateUnknown)
	if !strings.Contains(ev.Detail, "no such line") {
		t.Errorf("detail = %q, want the reason", ev.Detail)
	}
	s.Repair()
	r.next(t, drawer.EventRecovered, drawer.StateUnknown)
	r.next(t, drawer.EventClosed, drawer.StateClosed)
}

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	cfg := sim.DefaultConfig()
	cfg.ActiveLevel = "sometimes"
	if _, err := sim.New(cfg, nil); err == nil {
		t.Error("sim.New accepted an invalid active level")
	}
}
