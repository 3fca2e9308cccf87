package drawer_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kortstation/kortstation/hw/drawer"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"
)

var (
	closedFirst = ev{drawer.EventClosed, drawer.StateClosed, drawer.StateUnknown}
	openedFirst = ev{drawer.EventOpened, drawer.StateOpen, drawer.StateUnknown}
	opened      = ev{drawer.EventOpened, drawer.StateOpen, drawer.StateClosed}
	closed      = ev{drawer.EventClosed, drawer.StateClosed, drawer.StateOpen}
)

// polarities are the two wirings: the pull resistor holds the closed level.
var polarities = []struct {
	name         string
	pull         drawer.Pull
	active       drawer.ActiveLevel
	open, closed gpio.Level
}{
	{"active-high", drawer.PullDown, drawer.ActiveHigh, gpio.High, gpio.Low},
	{"active-low", drawer.PullUp, drawer.ActiveLow, gpio.Low, gpio.High},
}

func TestInitialStateIsDebounced(t *testing.T) {
	for _, pol := range polarities {
		t.Run(pol.name, func(t *testing.T) {
			r := newRig(t, testConfig(pol.pull, pol.active), pol.closed, nil)
			r.start()
			if d := r.deadline.Sub(r.clk.Now()); d != 100*time.Millisecond {
				t.Errorf("first wait = %v, want the debounce time 100ms", d)
			}
			r.noEvent()
			if got := r.drv.State(); got != drawer.StateUnknown {
				t.Errorf("State() before the level is stable = %v, want unknown", got)
			}
			r.fire()
			check(t, r.event(), closedFirst, t0)
			if got := r.drv.State(); got != drawer.StateClosed {
				t.Errorf("State() = %v, want closed", got)
			}
		})
	}
}

func TestInitiallyOpen(t *testing.T) {
	cfg := testConfig(drawer.PullNone, drawer.ActiveHigh)
	r := newRig(t, cfg, gpio.High, nil)
	r.start()
	r.fire()
	check(t, r.event(), openedFirst, t0)
}

func TestRC7OpenAndCloseEdges(t *testing.T) {
	for _, pol := range polarities {
		t.Run("RC-7/"+pol.name, func(t *testing.T) {
			r := newRig(t, testConfig(pol.pull, pol.active), pol.closed, nil)
			r.start()
			r.fire()
			r.event()

			r.advance(400 * time.Millisecond)
			openedAt := r.clk.Now()
			r.edge(pol.open)
			r.noEvent() // not before the level was stable for the debounce time
			r.fire()
			check(t, r.event(), opened, openedAt)
			if got := r.drv.State(); got != drawer.StateOpen {
				t.Errorf("State() = %v, want open", got)
			}

			closedAt := r.clk.Now()
			r.edge(pol.closed)
			r.fire()
			check(t, r.event(), closed, closedAt)
			r.stop()
			checkAll(t, r.got, closedFirst, opened, closed)
		})
	}
}

func TestBounceYieldsOneEventWithTheFinalLevel(t *testing.T) {
	for _, pol := range polarities {
		t.Run(pol.name, func(t *testing.T) {
			r := newRig(t, testConfig(pol.pull, pol.active), pol.closed, nil)
			r.start()
			r.fire()
			r.event()

			// Five edges within the debounce window, ending open.
			for i, l := range []gpio.Level{pol.open, pol.closed, pol.open, pol.closed, pol.open} {
				if i > 0 {
					r.advance(30 * time.Millisecond)
				}
				r.edge(l)
			}
			last := r.clk.Now()
			if d := r.fire(); d != 100*time.Millisecond {
				t.Errorf("waited %v after the last edge, want the debounce time 100ms", d)
			}
			check(t, r.event(), opened, last)

			// A bounce that ends where it started is no event at all.
			r.edge(pol.closed)
			r.advance(50 * time.Millisecond)
			r.edge(pol.open)
			r.fire()
			r.noEvent()
			if got := r.drv.State(); got != drawer.StateOpen {
				t.Errorf("State() = %v, want open", got)
			}
			r.stop()
			checkAll(t, r.got, closedFirst, opened)
		})
	}
}

func TestZeroDebounceReportsAtOnce(t *testing.T) {
	cfg := testConfig(drawer.PullDown, drawer.ActiveHigh)
	cfg.Debounce = 0
	r := newRig(t, cfg, gpio.Low, nil)
	r.start()
	check(t, r.event(), closedFirst, t0)
	r.edge(gpio.High)
	check(t, r.event(), opened, t0)
	r.edge(gpio.Low)
	check(t, r.event(), closed, t0)
}

func TestFlapping(t *testing.T) {
	r := newRig(t, testConfig(drawer.PullDown, drawer.ActiveHigh), gpio.Low, nil)
	r.start()
	r.fire()
	r.event()

	// FlapCount is 3: the fourth state change within the 1 s window flaps.
	level := gpio.Low
	for i := 0; i < 4; i++ {
		level = !level
		r.edge(level)
		r.fire()
	}
	for _, want := range []ev{opened, closed, opened} {
		check(t, r.event(), want, time.Time{})
	}
	f := r.event()
	check(t, f, ev{drawer.EventFlapping, drawer.StateUnknown, drawer.StateOpen}, time.Time{})
	if !strings.Contains(f.Detail, "4 state changes within 1s") {
		t.Errorf("flapping detail = %q, want the count and window", f.Detail)
	}
	if got := r.drv.State(); got != drawer.StateUnknown {
		t.Errorf("State() while flapping = %v, want unknown", got)
	}

	// Reported once: more changes while flapping are not events.
	r.edge(gpio.High)
	lastEdge := r.clk.Now()
	r.fire()
	r.noEvent()

	// Quiet for a whole window: the stable state is reported again.
	for r.clk.Now().Sub(lastEdge) < time.Second {
		r.noEvent()
		r.fire()
	}
	settled := r.event()
	check(t, settled, openedFirst, lastEdge)
	if settled.Detail == "" {
		t.Error("the settled event has no detail")
	}
	if got := r.drv.State(); got != drawer.StateOpen {
		t.Errorf("State() after settling = %v, want open", got)
	}
	r.stop()
	checkAll(t, r.got, closedFirst, opened, closed, opened,
		ev{drawer.EventFlapping, drawer.StateUnknown, drawer.StateOpen}, openedFirst)
}

func TestSlowChangesAreNotFlapping(t *testing.T) {
	r := newRig(t, testConfig(drawer.PullDown, drawer.ActiveHigh), gpio.Low, nil)
	r.start()
	r.fire()
	r.event()
	// Eight changes, each 400 ms apart: at most three within any 1 s window.
	level := gpio.Low
	for i := 0; i < 8; i++ {
		level = !level
		r.edge(level)
		r.fire()
		r.advance(300 * time.Millisecond)
	}
	r.stop()
	checkAll(t, r.got, closedFirst, opened, closed, opened, closed, opened, closed, opened, closed)
}

func TestNoiseThatNeverSettlesIsFlapping(t *testing.T) {
	r := newRig(t, testConfig(drawer.PullDown, drawer.ActiveHigh), gpio.Low, nil)
	r.start()
	r.fire()
	r.event()
	// An edge every 50 ms: the level is never stable for the 100 ms debounce.
	level := gpio.Low
	for i := 0; i <= 20; i++ {
		level = !level
		r.edge(level)
		r.advance(50 * time.Millisecond)
	}
	f := r.event()
	check(t, f, ev{drawer.EventFlapping, drawer.StateUnknown, drawer.StateClosed}, time.Time{})
	if !strings.Contains(f.Detail, "no stable level") {
		t.Errorf("flapping detail = %q", f.Detail)
	}
	r.noEvent()
}

func TestMissedEdgeIsCaughtByTheResync(t *testing.T) {
	r := newRig(t, testConfig(drawer.PullDown, drawer.ActiveHigh), gpio.Low, nil)
	r.start()
	r.fire()
	r.event()
	// The level changes but no edge is delivered.
	r.pin.Lock()
	r.pin.L = gpio.High
	r.pin.Unlock()
	if d := r.fire(); d != 500*time.Millisecond {
		t.Errorf("idle wait = %v, want Resync 500ms", d)
	}
	seen := r.clk.Now()
	r.noEvent() // the re-read level is debounced like an edge
	r.fire()
	check(t, r.event(), opened, seen)
}

func TestUnarmablePinIsAFaultThenRecovers(t *testing.T) {
	r := newRig(t, testConfig(drawer.PullDown, drawer.ActiveHigh), gpio.Low, nil)
	// gpiotest.Pin.In fails with BothEdges while EdgesChan is nil.
	edges := r.pin.EdgesChan
	r.pin.EdgesChan = nil
	r.start()
	f := r.event()
	check(t, f, ev{drawer.EventFault, drawer.StateUnknown, drawer.StateUnknown}, t0)
	if !strings.Contains(f.Detail, "cannot arm the pin") || !strings.Contains(f.Detail, "EdgesChan") {
		t.Errorf("fault detail = %q, want the In error", f.Detail)
	}
	if got := r.drv.State(); got != drawer.StateUnknown {
		t.Errorf("State() during a fault = %v, want unknown", got)
	}
	// Exponential backoff from RetryMin 1s, capped at RetryMax 4s; the
	// fault is reported once.
	for _, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second} {
		if d := r.fire(); d != want {
			t.Errorf("retry after %v, want %v", d, want)
		}
		r.noEvent()
	}
	r.pin.Lock()
	r.pin.EdgesChan = edges
	r.pin.Unlock()
	r.fire()
	armedAt := r.clk.Now()
	r.noEvent() // armed, but not yet proven to work
	r.fire()
	check(t, r.event(), ev{drawer.EventRecovered, drawer.StateUnknown, drawer.StateUnknown}, armedAt.Add(100*time.Millisecond))
	check(t, r.event(), closedFirst, armedAt)
	r.edge(gpio.High)
	r.fire()
	check(t, r.event(), opened, time.Time{})
}

func TestEdgeDetectionLostIsAFaultThenRecovers(t *testing.T) {
	var fp *faultyPin
	r := newRig(t, testConfig(drawer.PullDown, drawer.ActiveHigh), gpio.Low, func(p *gpiotest.Pin) gpio.PinIn {
		fp = &faultyPin{Pin: p}
		return fp
	})
	r.start()
	r.fire()
	r.event()

	fp.noArm.Store(true)
	fp.noWait.Store(true)
	r.fire() // the current wait ends; the next ones return at once
	f := r.event()
	check(t, f, ev{drawer.EventFault, drawer.StateUnknown, drawer.StateClosed}, time.Time{})
	if !strings.Contains(f.Detail, "edge detection not working") {
		t.Errorf("fault detail = %q", f.Detail)
	}
	if got := r.drv.State(); got != drawer.StateUnknown {
		t.Errorf("State() during a fault = %v, want unknown", got)
	}
	if d := r.fire(); d != time.Second { // re-arming fails: the line is still gone
		t.Errorf("first re-arm after %v, want RetryMin 1s", d)
	}
	if d := r.deadline.Sub(r.clk.Now()); d != 2*time.Second {
		t.Errorf("second re-arm after %v, want 2s", d)
	}
	r.noEvent()

	fp.noArm.Store(false)
	fp.noWait.Store(false)
	r.fire()
	r.noEvent()
	r.fire()
	check(t, r.event(), ev{drawer.EventRecovered, drawer.StateUnknown, drawer.StateUnknown}, time.Time{})
	check(t, r.event(), closedFirst, time.Time{})
	r.stop()
	checkAll(t, r.got, closedFirst,
		ev{drawer.EventFault, drawer.StateUnknown, drawer.StateClosed},
		ev{drawer.EventRecovered, drawer.StateUnknown, drawer.StateUnknown},
		closedFirst)
}

func TestBrokenEdgeDetectionIsOneFaultWithGrowingBackoff(t *testing.T) {
	// A line that arms fine but whose edge detection keeps failing (e.g. a
	// GPIO driver without interrupts) is one fault, not a Fault/Recovered
	// pair per retry, and it is re-armed ever more slowly.
	var fp *faultyPin
	r := newRig(t, testConfig(drawer.PullDown, drawer.ActiveHigh), gpio.Low, func(p *gpiotest.Pin) gpio.PinIn {
		fp = &faultyPin{Pin: p}
		fp.noWait.Store(true)
		return fp
	})
	r.start()
	f := r.event()
	check(t, f, ev{drawer.EventFault, drawer.StateUnknown, drawer.StateUnknown}, t0)
	var waits []time.Duration
	for i := 0; i < 4; i++ {
		waits = append(waits, r.fire())
		r.noEvent()
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second}
	for i := range want {
		if waits[i] != want[i] {
			t.Errorf("backoff %d = %v, want %v (all: %v)", i, waits[i], want[i], waits)
		}
	}
	fp.noWait.Store(false)
	r.fire()
	r.noEvent()
	r.fire()
	r.stop()
	checkAll(t, r.got,
		ev{drawer.EventFault, drawer.StateUnknown, drawer.StateUnknown},
		ev{drawer.EventRecovered, drawer.StateUnknown, drawer.StateUnknown},
		closedFirst)
}

func TestCancellationDuringBackoff(t *testing.T) {
	r := newRig(t, testConfig(drawer.PullDown, drawer.ActiveHigh), gpio.Low, nil)
	r.pin.EdgesChan = nil
	r.start()
	r.event()
	// The driver sleeps on the fake clock, which never moves: only the
	// context can end it.
	r.cancel()
	select {
	case err := <-r.done:
		r.done = nil
		if err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
	case <-time.After(guard):
		t.Fatal("Run did not return after cancellation during backoff")
	}
}

func TestRunReturnsWhileTheConsumerIsNotReading(t *testing.T) {
	cfg := testConfig(drawer.PullDown, drawer.ActiveHigh)
	cfg.Debounce = 0
	r := newRig(t, cfg, gpio.Low, nil)
	r.events = make(chan drawer.Event) // nobody reads
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.drv.Run(ctx, r.events) }()
	time.Sleep(10 * time.Millisecond) // let it block on the send
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
	case <-time.After(guard):
		t.Fatal("Run blocked on a full events channel after cancellation")
	}
}
