// Package drawertest holds the contract suite that every drawer.Sensor
// passes: the real driver on periph.io gpiotest pins and the simulator.
package drawertest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/kortstation/kortstation/hw/drawer"
)

// Harness is one Sensor under test with the means to move its drawer.
type Harness struct {
	// Sensor starts with the drawer closed and is not running.
	Sensor drawer.Sensor
	// Open and Close move the drawer. The suite calls them only while Run
	// is running, after its first event, and reads the resulting event
	// before the next call; they may block until the sensor waits for an
	// edge (a gpiotest pin's edge channel is unbuffered).
	Open, Close func()
	// Resync is the sensor's Config.Resync, which bounds how long Run takes
	// to notice cancellation.
	Resync time.Duration
}

// eventTimeout bounds every wait for an event in the suite.
const eventTimeout = 2 * time.Second

// RunContract runs the contract suite; newHarness returns a fresh Harness
// for each subtest. The sensors must have no debounce (Config.Debounce 0),
// so that each Open or Close yields its event at once.
func RunContract(t *testing.T, newHarness func(t *testing.T) Harness) {
	t.Run("initial state is the first event", func(t *testing.T) {
		h := newHarness(t)
		if got := h.Sensor.State(); got != drawer.StateUnknown {
			t.Errorf("State() before Run = %v, want %v", got, drawer.StateUnknown)
		}
		r := start(t, h.Sensor)
		ev := r.next(t)
		want(t, ev, drawer.EventClosed, drawer.StateClosed, drawer.StateUnknown)
		if ev.At.IsZero() {
			t.Error("initial event has a zero time")
		}
		if got := h.Sensor.State(); got != drawer.StateClosed {
			t.Errorf("State() = %v, want %v", got, drawer.StateClosed)
		}
	})

	t.Run("RC-7/every opening and closing is an event with its time", func(t *testing.T) {
		h := newHarness(t)
		r := start(t, h.Sensor)
		last := r.next(t).At
		for i := 0; i < 3; i++ {
			h.Open()
			ev := r.next(t)
			want(t, ev, drawer.EventOpened, drawer.StateOpen, drawer.StateClosed)
			if got := h.Sensor.State(); got != drawer.StateOpen {
				t.Errorf("cycle %d: State() after opening = %v, want %v", i, got, drawer.StateOpen)
			}
			if ev.At.Before(last) {
				t.Errorf("cycle %d: opening at %v is before the previous event at %v", i, ev.At, last)
			}
			last = ev.At

			h.Close()
			ev = r.next(t)
			want(t, ev, drawer.EventClosed, drawer.StateClosed, drawer.StateOpen)
			if got := h.Sensor.State(); got != drawer.StateClosed {
				t.Errorf("cycle %d: State() after closing = %v, want %v", i, got, drawer.StateClosed)
			}
			if ev.At.Before(last) {
				t.Errorf("cycle %d: closing at %v is before the opening at %v", i, ev.At, last)
			}
			last = ev.At
		}
	})

	t.Run("cancellation returns promptly and forgets the state", func(t *testing.T) {
		h := newHarness(t)
		r := start(t, h.Sensor)
		r.next(t)
		h.Open()
		r.next(t)
		began := time.Now()
		r.cancel()
		select {
		case err := <-r.done:
			r.done = nil
			if err != nil {
				t.Errorf("Run after cancellation = %v, want nil", err)
			}
		case <-time.After(h.Resync + time.Second):
			t.Fatalf("Run did not return within %v of cancellation", h.Resync+time.Second)
		}
		if took := time.Since(began); took > h.Resync+500*time.Millisecond {
			t.Errorf("Run took %v to return after cancellation, want at most Resync (%v) + slack", took, h.Resync)
		}
		if got := h.Sensor.State(); got != drawer.StateUnknown {
			t.Errorf("State() after Run = %v, want %v", got, drawer.StateUnknown)
		}
	})

	t.Run("a cancelled context stops Run before the first event", func(t *testing.T) {
		h := newHarness(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := h.Sensor.Run(ctx, make(chan drawer.Event)); err != nil {
			t.Errorf("Run with a cancelled context = %v, want nil", err)
		}
	})

	t.Run("a second concurrent Run is refused", func(t *testing.T) {
		h := newHarness(t)
		r := start(t, h.Sensor)
		r.next(t)
		err := h.Sensor.Run(context.Background(), make(chan drawer.Event, 1))
		if !errors.Is(err, drawer.ErrAlreadyRunning) {
			t.Errorf("second Run = %v, want %v", err, drawer.ErrAlreadyRunning)
		}
		// The first run is undisturbed.
		h.Open()
		want(t, r.next(t), drawer.EventOpened, drawer.StateOpen, drawer.StateClosed)
	})

	t.Run("a nil events channel is refused", func(t *testing.T) {
		h := newHarness(t)
		ctx, cancel := context.WithTimeout(context.Background(), eventTimeout)
		defer cancel()
		if err := h.Sensor.Run(ctx, nil); err == nil {
			t.Error("Run with a nil channel = nil, want an error")
		}
	})

	t.Run("Run can start again after it returned", func(t *testing.T) {
		h := newHarness(t)
		r := start(t, h.Sensor)
		r.next(t)
		h.Open()
		r.next(t)
		h.Close()
		r.next(t)
		r.stop(t)
		if got := h.Sensor.State(); got != drawer.StateUnknown {
			t.Errorf("State() between runs = %v, want %v", got, drawer.StateUnknown)
		}
		r = start(t, h.Sensor)
		want(t, r.next(t), drawer.EventClosed, drawer.StateClosed, drawer.StateUnknown)
		h.Open()
		want(t, r.next(t), drawer.EventOpened, drawer.StateOpen, drawer.StateClosed)
	})
}

type running struct {
	events chan drawer.Event
	cancel context.CancelFunc
	done   chan error
}

// start runs s until the test ends.
func start(t *testing.T, s drawer.Sensor) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{events: make(chan drawer.Event, 16), cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- s.Run(ctx, r.events) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// stop cancels Run and waits for it; idempotent.
func (r *running) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	if r.done == nil {
		return
	}
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("Run = %v, want nil after cancellation", err)
		}
		r.done = nil
	case <-time.After(eventTimeout):
		t.Errorf("Run did not return within %v of cancellation", eventTimeout)
	}
}

func (r *running) next(t *testing.T) drawer.Event {
	t.Helper()
	select {
	case ev := <-r.events:
		return ev
	case err := <-r.done:
		r.done = nil
		t.Fatalf("Run returned %v while an event was expected", err)
	case <-time.After(eventTimeout):
		t.Fatalf("no event within %v", eventTimeout)
	}
	return drawer.Event{}
}

func want(t *testing.T, ev drawer.Event, kind drawer.EventKind, state, prev drawer.State) {
	t.Helper()
	if ev.Kind != kind || ev.State != state || ev.Prev != prev {
		t.Errorf("event = %s %v (prev %v) %q, want %s %v (prev %v)", ev.Kind, ev.State, ev.Prev, ev.Detail, kind, state, prev)
	}
}
