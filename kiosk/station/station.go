// Package station is the station's authoritative state behind the UI: what
// hardware it sees, who is logged in, what is queued, and the requests the
// UI may make. The web layer asks it for snapshots and hands it requests;
// the hardware drivers and the sync client feed it events through the bus.
package station

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/kortstation/kortstation/hw/cardreader"
	"github.com/kortstation/kortstation/hw/drawer"
	"github.com/kortstation/kortstation/hw/printer"
	"github.com/kortstation/kortstation/kiosk/bus"
	"github.com/kortstation/kortstation/kiosk/clock"
	"github.com/kortstation/kortstation/kiosk/outbox"
	"github.com/kortstation/kortstation/kiosk/store"
	"github.com/kortstation/kortstation/kiosk/web"
)

// Info identifies the station.
type Info struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Location string `json:"location"`
	Version  string `json:"version"`
}

// Station is the state machine behind the UI.
type Station struct {
	info  Info
	store *store.Store
	bus   *bus.Bus
	clock clock.Clock
	log   *slog.Logger
	opts  Options
	dev   Devices

	mu          sync.Mutex
	hardware    map[string]DeviceState // "reader", "drawer", "printer"
	operator    *Operator              // nil while locked
	readerHooks []func(context.Context, cardreader.Event)
	handlers    map[string]Handler
}

// DeviceState is one device's state as the UI shows it.
type DeviceState struct {
	State  string    `json:"state"`            // e.g. "ok", "card_present", "open", "offline"
	Detail string    `json:"detail,omitempty"` // non-personal detail
	Since  time.Time `json:"since"`
}

// Handler answers one request type from the UI.
type Handler func(ctx context.Context, client string, payload json.RawMessage) (any, error)

// Devices are the station's hardware, real or simulated.
type Devices struct {
	Reader  cardreader.Reader
	Drawer  drawer.Sensor
	Printer printer.Printer
}

// Options are the station's policies.
type Options struct {
	Simulation   bool // serve the dev.* requests that drive simulated hardware
	RequireClock bool // refuse issuing until the clock is synchronised
}

// New returns a station.
func New(info Info, st *store.Store, b *bus.Bus, c clock.Clock, log *slog.Logger, dev Devices, opts Options) *Station {
	s := &Station{
		info: info, store: st, bus: b, clock: c, log: log.With("component", "station"), opts: opts, dev: dev,
		hardware: map[string]DeviceState{},
		handlers: map[string]Handler{},
	}
	s.handlers["status.get"] = func(ctx context.Context, _ string, _ json.RawMessage) (any, error) {
		return s.Snapshot(ctx), nil
	}
	return s
}

// HandleFunc registers h for requests of type typ. Types starting with
// "dev." are only served in simulation.
func (s *Station) HandleFunc(typ string, h Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handlers[typ] = h
}

// SetDevice records a device's state and publishes it on the bus.
func (s *Station) SetDevice(name, state, detail string, at time.Time) {
	s.mu.Lock()
	prev := s.hardware[name]
	if prev.State == state && prev.Detail == detail {
		s.mu.Unlock()
		return
	}
	ds := DeviceState{State: state, Detail: detail, Since: at}
	s.hardware[name] = ds
	s.mu.Unlock()
	s.bus.Publish("device."+name, at, map[string]any{"device": name, "state": ds})
}

// Snapshot is the full state the UI renders.
type Snapshot struct {
	Station    Info                   `json:"station"`
	Simulation bool                   `json:"simulation"`
	Clock      ClockState             `json:"clock"`
	Session    SessionState           `json:"session"`
	Hardware   map[string]DeviceState `json:"hardware"`
	Outbox     int64                  `json:"outbox"`
	Problems   []string               `json:"problems,omitempty"`
}

// ClockState says whether dates can be trusted.
type ClockState struct {
	Now    time.Time `json:"now"`
	Source string    `json:"source"`
	Synced bool      `json:"synced"`
	// Blocking: issuing waits for the clock (require-clock-sync and not
	// synchronised).
	Blocking bool `json:"blocking"`
}

// SessionState is the operator session as the UI sees it.
type SessionState struct {
	State string `json:"state"` // "locked" until an operator logs in
}

func (s *Station) clockState() ClockState {
	synced := clock.Synced(s.clock)
	return ClockState{Now: s.clock.Now(), Source: s.clock.Source(), Synced: synced, Blocking: s.opts.RequireClock && !synced}
}

// Snapshot returns the current state.
func (s *Station) Snapshot(ctx context.Context) any {
	snap := Snapshot{
		Station:    s.info,
		Simulation: s.opts.Simulation,
		Clock:      s.clockState(),
		Session:    SessionState{State: "locked"},
		Hardware:   map[string]DeviceState{},
	}
	s.mu.Lock()
	for k, v := range s.hardware {
		snap.Hardware[k] = v
	}
	s.mu.Unlock()
	depth, err := outbox.Depth(ctx, s.store.Reader())
	if err != nil {
		s.log.Error("read outbox depth", "err", err)
		snap.Problems = append(snap.Problems, "store")
	}
	snap.Outbox = depth
	return snap
}

// Handle dispatches one UI request.
func (s *Station) Handle(ctx context.Context, client, typ string, payload json.RawMessage) (any, error) {
	s.mu.Lock()
	h, ok := s.handlers[typ]
	s.mu.Unlock()
	if !ok || (!s.opts.Simulation && len(typ) > 4 && typ[:4] == "dev.") {
		return nil, web.NewProblem("unknown_request", "Okänd begäran.", fmt.Sprintf("Unknown request type %q.", typ))
	}
	return h(ctx, client, payload)
}

// Health is the /healthz answer: the store must answer; device states are
// reported.
func (s *Station) Health(ctx context.Context) (bool, any) {
	detail := map[string]any{}
	ok := true
	if err := s.store.Ping(ctx); err != nil {
		ok = false
		detail["store"] = "unreachable"
		s.log.Error("health: store", "err", err)
	} else {
		detail["store"] = "ok"
	}
	s.mu.Lock()
	hw := map[string]DeviceState{}
	for k, v := range s.hardware {
		hw[k] = v
	}
	s.mu.Unlock()
	detail["hardware"] = hw
	return ok, detail
}

// Run watches every device until ctx ends.
func (s *Station) Run(ctx context.Context) error {
	errc := make(chan error, 3)
	n := 0
	if s.dev.Reader != nil {
		n++
		go func() { errc <- s.RunReader(ctx, s.dev.Reader) }()
	}
	if s.dev.Drawer != nil {
		n++
		go func() { errc <- s.RunDrawer(ctx, s.dev.Drawer) }()
	}
	if s.dev.Printer != nil {
		n++
		go func() { errc <- s.RunPrinter(ctx, s.dev.Printer) }()
	}
	var errs []error
	for ; n > 0; n-- {
		errs = append(errs, <-errc)
	}
	return errors.Join(errs...)
}
