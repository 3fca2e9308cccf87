// Package sim is the simulated drawer sensor for `make run` and UI tests.
//
// A Sensor is the real drawer.Driver on a simulated GPIO pin, so debouncing,
// flapping and fault handling behave exactly as on a station; the dev panel
// moves the drawer with Open and Close and can break the sensor with Fail.
package sim

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/kortstation/kortstation/hw/drawer"
	"periph.io/x/conn/v3/gpio"
)

// Sensor is a simulated drawer sensor; the drawer starts closed.
type Sensor struct {
	*drawer.Driver
	pin       *pin
	openLevel gpio.Level
}

var _ drawer.Sensor = (*Sensor)(nil)

// DefaultConfig is drawer.DefaultConfig for the simulated pin "SIM": no
// debounce (a button does not bounce) and short resync and retry times so
// the dev panel reacts at once.
func DefaultConfig() drawer.Config {
	cfg := drawer.DefaultConfig()
	cfg.Pin = "SIM"
	cfg.Debounce = 0
	cfg.Resync = 100 * time.Millisecond
	cfg.RetryMin = 100 * time.Millisecond
	cfg.RetryMax = 2 * time.Second
	return cfg
}

// New returns a simulated sensor with the drawer closed. cfg is validated
// as for the real driver; its timing and ActiveLevel apply, Pull does not
// (the simulated switch always drives the level). log may be nil.
func New(cfg drawer.Config, log *slog.Logger) (*Sensor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	openLevel := gpio.High
	if cfg.ActiveLevel == drawer.ActiveLow {
		openLevel = gpio.Low
	}
	p := &pin{name: cfg.Pin, level: !openLevel, edges: make(chan struct{}, 1)}
	d, err := drawer.New(p, cfg, drawer.WithLogger(log))
	if err != nil {
		return nil, fmt.Errorf("sim: %w", err)
	}
	return &Sensor{Driver: d, pin: p, openLevel: openLevel}, nil
}

// Open opens the simulated drawer. It never blocks; opening an open drawer
// does nothing.
func (s *Sensor) Open() { s.pin.set(s.openLevel) }

// Close closes the simulated drawer. It never blocks.
func (s *Sensor) Close() { s.pin.set(!s.openLevel) }

// Fail makes the simulated pin unusable, as a broken GPIO line: arming
// fails with reason and edge detection stops. The sensor reports
// drawer.EventFault.
func (s *Sensor) Fail(reason string) { s.pin.fail(errors.New(reason)) }

// Repair undoes Fail; the sensor reports drawer.EventRecovered.
func (s *Sensor) Repair() { s.pin.fail(nil) }

// pin is a simulated gpio.PinIn. Edges are coalesced in a one-slot channel,
// like a kernel that has queued an edge, so the simulator never blocks.
type pin struct {
	name  string
	edges chan struct{}

	mu     sync.Mutex
	level  gpio.Level
	broken error
	pull   gpio.Pull
}

var _ gpio.PinIn = (*pin)(nil)

func (p *pin) set(l gpio.Level) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.level != l {
		p.level = l
		p.notify()
	}
}

func (p *pin) fail(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.broken = err
	p.notify() // wake a waiting WaitForEdge so the change is seen at once
}

func (p *pin) notify() {
	select {
	case p.edges <- struct{}{}:
	default:
	}
}

func (p *pin) String() string   { return "sim:" + p.name }
func (p *pin) Halt() error      { return nil }
func (p *pin) Name() string     { return p.name }
func (p *pin) Number() int      { return -1 }
func (p *pin) Function() string { return "In" }

// In arms the pin; it fails while the pin is broken.
func (p *pin) In(pull gpio.Pull, _ gpio.Edge) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.broken != nil {
		return fmt.Errorf("sim pin %s: %w", p.name, p.broken)
	}
	p.pull = pull
	select {
	case <-p.edges:
	default:
	}
	return nil
}

func (p *pin) Read() gpio.Level {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.level
}

// WaitForEdge returns false at once while the pin is broken, as a GPIO line
// whose edge detection is gone does.
func (p *pin) WaitForEdge(timeout time.Duration) bool {
	p.mu.Lock()
	broken := p.broken != nil
	p.mu.Unlock()
	if broken {
		return false
	}
	if timeout < 0 {
		<-p.edges
		return true
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-p.edges:
		return true
	case <-t.C:
		return false
	}
}

func (p *pin) Pull() gpio.Pull {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pull
}

func (p *pin) DefaultPull() gpio.Pull { return gpio.Float }
