package drawer_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/kortstation/kortstation/hw/drawer"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"
)

// guard bounds every real-time wait in the tests; nothing here should take
// more than a few milliseconds.
const guard = 2 * time.Second

var t0 = time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)

// signalClock is a clockwork fake clock that reports every After call. Both
// the gpiotest pin (in WaitForEdge) and the driver (in its backoff sleep)
// wait through After, so a report means: the driver is blocked on a timer
// that Advance can fire. That makes the tests step the driver exactly,
// independent of scheduling.
type signalClock struct {
	*clockwork.FakeClock
	waits chan time.Duration
}

func (c *signalClock) After(d time.Duration) <-chan time.Time {
	ch := c.FakeClock.After(d)
	select {
	case c.waits <- d:
	default:
		panic("signalClock: too many unread waits")
	}
	return ch
}

// rig runs a Driver on a gpiotest pin under a signalClock.
type rig struct {
	t        *testing.T
	clk      *signalClock
	pin      *gpiotest.Pin
	drv      *drawer.Driver
	events   chan drawer.Event
	cancel   context.CancelFunc
	done     chan error
	deadline time.Time // when the timer the driver is blocked on fires
	got      []drawer.Event
}

// newRig builds the driver on pin (a gpiotest.Pin, possibly wrapped);
// closed is the pin's level before it is armed.
func newRig(t *testing.T, cfg drawer.Config, closed gpio.Level, wrap func(*gpiotest.Pin) gpio.PinIn) *rig {
	t.Helper()
	clk := &signalClock{FakeClock: clockwork.NewFakeClockAt(t0), waits: make(chan time.Duration, 256)}
	p := &gpiotest.Pin{N: cfg.Pin, L: closed, EdgesChan: make(chan gpio.Level), Clock: clk}
	var pin gpio.PinIn = p
	if wrap != nil {
		pin = wrap(p)
	}
	d, err := drawer.New(pin, cfg, drawer.WithClock(clk))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return &rig{t: t, clk: clk, pin: p, drv: d, events: make(chan drawer.Event, 64)}
}

func testConfig(pull drawer.Pull, active drawer.ActiveLevel) drawer.Config {
	cfg := drawer.DefaultConfig()
	cfg.Pin = "GPIO17"
	cfg.Pull = pull
	cfg.ActiveLevel = active
	cfg.Debounce = 100 * time.Millisecond
	cfg.Resync = 500 * time.Millisecond
	cfg.FlapCount = 3
	cfg.FlapWindow = time.Second
	cfg.RetryMin = time.Second
	cfg.RetryMax = 4 * time.Second
	return cfg
}

// start runs the driver and waits until it is blocked on its first timer.
func (r *rig) start() {
	r.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.done = make(chan error, 1)
	go func() { r.done <- r.drv.Run(ctx, r.events) }()
	r.t.Cleanup(r.stop)
	r.sync()
}

// sync waits until the driver blocks on a timer.
func (r *rig) sync() time.Duration {
	r.t.Helper()
	select {
	case d := <-r.clk.waits:
		r.deadline = r.clk.Now().Add(d)
		return d
	case err := <-r.done:
		r.done = nil
		r.t.Fatalf("Run returned early: %v", err)
	case <-time.After(guard):
		r.t.Fatal("the driver did not wait on a timer")
	}
	return 0
}

// fire advances the clock to the driver's timer, then waits until the
// driver has handled it and blocks again. It returns the duration advanced.
func (r *rig) fire() time.Duration {
	r.t.Helper()
	d := r.deadline.Sub(r.clk.Now())
	r.clk.Advance(d)
	r.sync()
	return d
}

// advance moves the clock by d without reaching the driver's timer.
func (r *rig) advance(d time.Duration) {
	r.t.Helper()
	if !r.clk.Now().Add(d).Before(r.deadline) {
		r.t.Fatalf("advance(%v) would fire the driver's timer; use fire", d)
	}
	r.clk.Advance(d)
}

// edge drives the pin to l (gpiotest delivers it to WaitForEdge) and waits
// until the driver has handled it and blocks again.
func (r *rig) edge(l gpio.Level) {
	r.t.Helper()
	r.pin.Lock()
	ch := r.pin.EdgesChan
	r.pin.Unlock()
	select {
	case ch <- l:
	case <-time.After(guard):
		r.t.Fatalf("the driver did not take edge %v", l)
	}
	r.sync()
}

// event returns the next event; the driver must already have sent it.
func (r *rig) event() drawer.Event {
	r.t.Helper()
	select {
	case ev := <-r.events:
		r.got = append(r.got, ev)
		return ev
	default:
		r.t.Fatal("no event")
	}
	return drawer.Event{}
}

// noEvent checks that the driver has sent nothing new.
func (r *rig) noEvent() {
	r.t.Helper()
	select {
	case ev := <-r.events:
		r.got = append(r.got, ev)
		r.t.Errorf("unexpected event %s %v (prev %v) %q", ev.Kind, ev.State, ev.Prev, ev.Detail)
	default:
	}
}

// stop cancels Run, waits for it to return and collects the remaining
// events; idempotent.
func (r *rig) stop() {
	r.t.Helper()
	if r.done == nil {
		return
	}
	r.cancel()
	r.clk.Advance(24 * time.Hour) // wake a WaitForEdge on the fake clock
	for {
		select {
		case err := <-r.done:
			r.done = nil
			if err != nil {
				r.t.Errorf("Run = %v, want nil after cancellation", err)
			}
			for {
				select {
				case ev := <-r.events:
					r.got = append(r.got, ev)
				default:
					return
				}
			}
		case <-r.clk.waits:
			r.clk.Advance(24 * time.Hour)
		case <-time.After(guard):
			r.t.Fatal("Run did not return after cancellation")
		}
	}
}

type ev struct {
	kind  drawer.EventKind
	state drawer.State
	prev  drawer.State
}

// check compares ev with want, including the exact time when at is not zero.
func check(t *testing.T, got drawer.Event, want ev, at time.Time) {
	t.Helper()
	if got.Kind != want.kind || got.State != want.state || got.Prev != want.prev {
		t.Errorf("event = %s %v (prev %v) %q, want %s %v (prev %v)",
			got.Kind, got.State, got.Prev, got.Detail, want.kind, want.state, want.prev)
	}
	if !at.IsZero() && !got.At.Equal(at) {
		t.Errorf("%s event at %v, want %v", got.Kind, got.At.Sub(t0), at.Sub(t0))
	}
}

// checkAll compares the whole event history of a run (call after stop).
func checkAll(t *testing.T, got []drawer.Event, want ...ev) {
	t.Helper()
	var g, w []string
	for _, e := range got {
		g = append(g, e.Kind.String()+":"+e.Prev.String()+">"+e.State.String())
	}
	for _, e := range want {
		w = append(w, e.kind.String()+":"+e.prev.String()+">"+e.state.String())
	}
	if strings.Join(g, " ") != strings.Join(w, " ") {
		t.Errorf("events:\n got %v\nwant %v", g, w)
	}
}

// faultyPin is a gpiotest.Pin that can break like a GPIO line whose kernel
// request was lost: with noArm set In fails, with noWait set WaitForEdge
// returns false at once.
type faultyPin struct {
	*gpiotest.Pin
	noArm, noWait atomic.Bool
}

func (p *faultyPin) In(pull gpio.Pull, edge gpio.Edge) error {
	if p.noArm.Load() {
		return errLineGone
	}
	return p.Pin.In(pull, edge)
}

func (p *faultyPin) WaitForEdge(timeout time.Duration) bool {
	if p.noWait.Load() {
		return false
	}
	return p.Pin.WaitForEdge(timeout)
}

type lineGoneError struct{}

func (lineGoneError) Error() string { return "gpio line request lost" }

var errLineGone error = lineGoneError{}
