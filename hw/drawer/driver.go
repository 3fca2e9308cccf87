package drawer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"periph.io/x/conn/v3/gpio"
)

// ErrAlreadyRunning is returned by Run when the sensor is already running.
var ErrAlreadyRunning = errors.New("drawer: sensor is already running")

// Fault detection: a WaitForEdge that returns false (no edge) in less than
// half its timeout has not waited, which means the pin's edge detection is
// not armed (e.g. the kernel line was released, or the GPIO driver has no
// interrupt support). earlyLimit such returns in a row are a fault. Waits
// shorter than minCheckedWait are not judged (timer granularity).
const (
	earlyLimit     = 3
	minCheckedWait = 20 * time.Millisecond
)

// Option configures a Driver.
type Option func(*Driver)

// WithLogger sets the driver's logger (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(d *Driver) {
		if l != nil {
			d.log = l
		}
	}
}

// WithClock sets the driver's time source (default: the system clock). Use
// the same clock as the pin: a gpiotest.Pin's Clock in tests.
func WithClock(c Clock) Option {
	return func(d *Driver) {
		if c != nil {
			d.clock = c
		}
	}
}

// Driver is the real drawer sensor on a GPIO input. It is edge-triggered:
// it arms the pin with In(pull, gpio.BothEdges) and blocks in WaitForEdge,
// waking at least every Config.Resync to re-read the level (a safety net
// for a missed edge) and to notice cancellation.
type Driver struct {
	pin     gpio.PinIn
	cfg     Config
	clock   Clock
	log     *slog.Logger
	state   atomic.Int32
	running atomic.Bool
}

var _ Sensor = (*Driver)(nil)

// New returns a driver for pin, which it arms when Run starts. cfg must be
// valid (cfg.Pin names the pin in logs and errors).
func New(pin gpio.PinIn, cfg Config, opts ...Option) (*Driver, error) {
	if pin == nil {
		return nil, fmt.Errorf("drawer: new sensor on %q: nil pin", cfg.Pin)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	d := &Driver{
		pin:   pin,
		cfg:   cfg,
		clock: realClock{},
		log:   slog.New(slog.DiscardHandler),
	}
	for _, o := range opts {
		o(d)
	}
	d.log = d.log.With("component", "drawer", "pin", cfg.Pin)
	return d, nil
}

// State implements Sensor.
func (d *Driver) State() State { return State(d.state.Load()) }

// Run implements Sensor.
func (d *Driver) Run(ctx context.Context, events chan<- Event) error {
	if events == nil {
		return errors.New("drawer: Run needs a non-nil events channel")
	}
	if !d.running.CompareAndSwap(false, true) {
		return ErrAlreadyRunning
	}
	defer d.running.Store(false)
	defer d.state.Store(int32(StateUnknown))

	w := &watch{d: d, ctx: ctx, events: events, open: d.cfg.ActiveLevel.openLevel()}
	err := w.loop()
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// watch is the state of one Run.
type watch struct {
	d      *Driver
	ctx    context.Context
	events chan<- Event
	open   gpio.Level // the level that means open

	reported   State       // the state last reported (what State returns)
	stable     State       // the last debounced state, tracked while flapping too
	pending    bool        // edges seen; the level has not been stable for Debounce yet
	lastEdge   time.Time   // the last edge (or a level change found by a re-read)
	burstStart time.Time   // the first edge since the level was last stable
	changes    []time.Time // debounced state changes within FlapWindow
	flapping   bool
	recovering bool // re-armed after a fault; EventRecovered waits for a working wait
	early      int  // WaitForEdge calls in a row that returned without waiting
	streak     int  // faults without a working wait in between (backoff exponent)
}

func (w *watch) loop() error {
	cfg := &w.d.cfg
	if err := w.arm(false); err != nil {
		return err
	}
	for {
		if err := w.ctx.Err(); err != nil {
			return err
		}
		now := w.d.clock.Now()
		timeout := cfg.Resync
		switch {
		case w.pending:
			quiet := now.Sub(w.lastEdge)
			if quiet >= cfg.Debounce {
				if err := w.settle(now); err != nil {
					return err
				}
				continue
			}
			if !w.flapping && now.Sub(w.burstStart) >= cfg.FlapWindow {
				if err := w.startFlapping(now, fmt.Sprintf("no stable level for %s", cfg.FlapWindow)); err != nil {
					return err
				}
			}
			timeout = min(timeout, cfg.Debounce-quiet)
		case w.flapping:
			quiet := now.Sub(w.lastEdge)
			if quiet >= cfg.FlapWindow {
				if err := w.stopFlapping(); err != nil {
					return err
				}
				continue
			}
			timeout = min(timeout, cfg.FlapWindow-quiet)
		}
		if err := w.wait(timeout); err != nil {
			return err
		}
	}
}

// wait blocks in WaitForEdge for at most timeout and records what it saw.
func (w *watch) wait(timeout time.Duration) error {
	start := w.d.clock.Now()
	edge := w.d.pin.WaitForEdge(timeout)
	end := w.d.clock.Now()
	if err := w.ctx.Err(); err != nil {
		return err
	}
	if edge {
		if err := w.working(end); err != nil {
			return err
		}
		w.edgeAt(end)
		return nil
	}
	if timeout < minCheckedWait {
		return nil
	}
	if end.Sub(start) < timeout/2 {
		w.early++
		if w.early < earlyLimit {
			return nil
		}
		w.streak++
		if !w.recovering { // else the fault is still the one reported
			if err := w.fault(fmt.Sprintf("edge detection not working: WaitForEdge(%s) returned at once %d times", timeout, w.early)); err != nil {
				return err
			}
		}
		return w.arm(true)
	}
	if err := w.working(end); err != nil {
		return err
	}
	if !w.pending && w.stateOf(w.d.pin.Read()) != w.stable {
		w.d.log.Debug("level changed without an edge; re-read caught it")
		w.edgeAt(end)
	}
	return nil
}

// working records a wait that behaved (an edge, or a full timeout). After a
// fault it is the proof of recovery: EventRecovered, then the state if it
// is already known.
func (w *watch) working(now time.Time) error {
	w.early, w.streak = 0, 0
	if !w.recovering {
		return nil
	}
	w.recovering = false
	w.d.log.Info("drawer sensor recovered")
	if err := w.emit(Event{Kind: EventRecovered, State: StateUnknown, At: now}); err != nil {
		return err
	}
	if !w.pending && !w.flapping && w.stable != StateUnknown {
		return w.report(w.stable, w.lastEdge, "")
	}
	return nil
}

func (w *watch) edgeAt(t time.Time) {
	if !w.pending {
		w.pending = true
		w.burstStart = t
	}
	w.lastEdge = t
}

func (w *watch) stateOf(l gpio.Level) State {
	if l == w.open {
		return StateOpen
	}
	return StateClosed
}

// settle reads the level once it has been quiet for Debounce.
func (w *watch) settle(now time.Time) error {
	cfg := &w.d.cfg
	w.pending = false
	st := w.stateOf(w.d.pin.Read())
	if st == w.stable {
		return nil // the bounce ended where it started
	}
	if w.stable != StateUnknown {
		// Keep the changes within the window, oldest first; FlapCount+1 of
		// them are enough to tell flapping.
		i := 0
		for i < len(w.changes) && now.Sub(w.changes[i]) >= cfg.FlapWindow {
			i++
		}
		if extra := len(w.changes) - i - cfg.FlapCount; extra > 0 {
			i += extra
		}
		w.changes = append(w.changes[i:], now)
	}
	w.stable = st
	if w.flapping || w.recovering {
		return nil // reported when the flapping stops or the recovery is proven
	}
	if len(w.changes) > cfg.FlapCount {
		return w.startFlapping(now, fmt.Sprintf("%d state changes within %s", len(w.changes), cfg.FlapWindow))
	}
	return w.report(st, w.lastEdge, "")
}

func (w *watch) startFlapping(now time.Time, detail string) error {
	w.flapping = true
	w.d.log.Warn("drawer sensor is flapping", "detail", detail)
	return w.emit(Event{Kind: EventFlapping, State: StateUnknown, At: now, Detail: detail})
}

func (w *watch) stopFlapping() error {
	w.flapping = false
	w.changes = w.changes[:0]
	w.d.log.Info("drawer sensor settled after flapping", "state", w.stable)
	return w.report(w.stable, w.lastEdge, "settled after flapping")
}

func (w *watch) report(st State, at time.Time, detail string) error {
	kind := EventClosed
	if st == StateOpen {
		kind = EventOpened
	}
	w.d.log.Debug("drawer state", "state", st, "prev", w.reported)
	return w.emit(Event{Kind: kind, State: st, At: at, Detail: detail})
}

func (w *watch) fault(detail string) error {
	w.stable = StateUnknown
	w.pending = false
	w.d.log.Warn("drawer sensor fault", "detail", detail)
	return w.emit(Event{Kind: EventFault, State: StateUnknown, At: w.d.clock.Now(), Detail: detail})
}

// emit records ev.State as the reported state, fills in Prev and delivers
// ev, waiting for the consumer or cancellation.
func (w *watch) emit(ev Event) error {
	ev.Prev = w.reported
	w.reported = ev.State
	w.d.state.Store(int32(ev.State))
	select {
	case w.events <- ev:
		return nil
	case <-w.ctx.Done():
		return w.ctx.Err()
	}
}

// arm configures the pin for edge detection, retrying with backoff until
// In succeeds (reporting EventFault once). afterFault means a fault was
// already reported: wait before the first attempt. After a fault the watch
// is recovering until a wait works (see working). On success the level is
// treated as a fresh edge, so the initial state is debounced too.
func (w *watch) arm(afterFault bool) error {
	cfg := &w.d.cfg
	faulted := afterFault
	if afterFault {
		if err := w.sleep(w.backoff(w.streak - 1)); err != nil {
			return err
		}
	}
	for attempt := 0; ; attempt++ {
		err := w.d.pin.In(cfg.Pull.gpio(), gpio.BothEdges)
		if err == nil {
			break
		}
		if !faulted {
			faulted = true
			w.streak++
			if err := w.fault(fmt.Sprintf("cannot arm the pin: %v", err)); err != nil {
				return err
			}
		}
		n := w.streak - 1 + attempt
		if afterFault {
			n++ // the first wait was before the first attempt
		}
		d := w.backoff(n)
		w.d.log.Debug("arming the drawer pin failed; retrying", "err", err, "in", d)
		if err := w.sleep(d); err != nil {
			return err
		}
	}
	w.early = 0
	w.flapping = false
	w.changes = w.changes[:0]
	w.stable = StateUnknown
	w.pending = false
	w.recovering = faulted
	w.edgeAt(w.d.clock.Now())
	return nil
}

// backoff returns RetryMin doubled n times, at most RetryMax.
func (w *watch) backoff(n int) time.Duration {
	d := w.d.cfg.RetryMin
	for i := 0; i < n && d < w.d.cfg.RetryMax; i++ {
		d *= 2
	}
	return min(d, w.d.cfg.RetryMax)
}

func (w *watch) sleep(d time.Duration) error {
	select {
	case <-w.ctx.Done():
		return w.ctx.Err()
	case <-w.d.clock.After(d):
		return nil
	}
}
