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
	"strings"
	"sync"
	"time"

	"github.com/kortstation/kortstation/hw/cardreader"
	"github.com/kortstation/kortstation/hw/drawer"
	"github.com/kortstation/kortstation/hw/printer"
	"github.com/kortstation/kortstation/kiosk/bus"
	"github.com/kortstation/kortstation/kiosk/clock"
	"github.com/kortstation/kortstation/kiosk/problem"
	"github.com/kortstation/kortstation/kiosk/store"
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

	mu           sync.Mutex
	hardware     map[string]DeviceState // "reader", "drawer", "printer"
	operator     *Operator              // nil while locked
	readerHooks  []func(context.Context, cardreader.Event)
	remoteLocked bool
	syncStatus   func(context.Context) any
	handlers     map[string]Handler
	sessionView  func(ctx context.Context, client string) SessionState
	tasks        []func(ctx context.Context) error
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
	s.handlers["status.get"] = func(ctx context.Context, client string, _ json.RawMessage) (any, error) {
		return s.Snapshot(ctx, client), nil
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

// Handles reports whether a handler for typ is registered.
func (s *Station) Handles(typ string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.handlers[typ]
	return ok
}

// Go adds a task that Run starts with the devices and waits for; it must
// return when its context ends. Tasks added after Run started are not run.
func (s *Station) Go(task func(ctx context.Context) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tasks = append(s.tasks, task)
}

// SetSessionView sets the function that fills the snapshot's session state
// as one client may see it (package flow provides it).
func (s *Station) SetSessionView(f func(ctx context.Context, client string) SessionState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sessionView = f
}

// Info returns the station's identity.
func (s *Station) Info() Info { return s.info }

// Store returns the station's database.
func (s *Station) Store() *store.Store { return s.store }

// Bus returns the station's event bus.
func (s *Station) Bus() *bus.Bus { return s.bus }

// Clock returns the station's clock.
func (s *Station) Clock() clock.Clock { return s.clock }

// Logger returns the station's logger.
func (s *Station) Logger() *slog.Logger { return s.log }

// Devices returns the station's hardware.
func (s *Station) Devices() Devices { return s.dev }

// Simulation reports whether the station runs on simulated hardware.
func (s *Station) Simulation() bool { return s.opts.Simulation }

// ClockBlocking reports whether issuing must wait for the clock
// (require-clock-sync and not synchronised).
func (s *Station) ClockBlocking() bool { return s.clockState().Blocking }

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
	// RemoteLocked: a central admin locked the station.
	RemoteLocked bool `json:"remote_locked"`
	// Sync is the registry sync state, when sync runs.
	Sync     any      `json:"sync,omitempty"`
	Problems []string `json:"problems,omitempty"`
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
	// View is the session's screen state (package flow): the step the
	// counter is at and what it shows. It holds personal data while a flow
	// runs and is cleared on logout; it goes only to the station's own UI.
	View any `json:"view,omitempty"`
}

func (s *Station) clockState() ClockState {
	synced := clock.Synced(s.clock)
	return ClockState{Now: s.clock.Now(), Source: s.clock.Source(), Synced: synced, Blocking: s.opts.RequireClock && !synced}
}

// Snapshot returns the current state as client may see it: the session's
// view holds personal data only for the connection that holds the
// session. An empty client is the station itself (no session view).
func (s *Station) Snapshot(ctx context.Context, client string) any {
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
	view := s.sessionView
	snap.RemoteLocked = s.remoteLocked
	syncStatus := s.syncStatus
	s.mu.Unlock()
	if view != nil && client != "" {
		snap.Session = view(ctx, client)
	}
	if syncStatus != nil {
		snap.Sync = syncStatus(ctx)
	}
	depth, err := s.store.OutboxDepth(ctx)
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
	locked := s.remoteLocked
	s.mu.Unlock()
	if locked && !allowedWhileLocked(typ) && !(s.opts.Simulation && strings.HasPrefix(typ, "dev.")) {
		return nil, errLocked
	}
	if !ok || (!s.opts.Simulation && len(typ) > 4 && typ[:4] == "dev.") {
		return nil, problem.Errorf("unknown_request", "Okänd begäran.", fmt.Sprintf("Unknown request type %q.", typ))
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

// Run watches every device, and runs the tasks added with Go, until ctx
// ends.
func (s *Station) Run(ctx context.Context) error {
	s.mu.Lock()
	tasks := append([]func(context.Context) error(nil), s.tasks...)
	s.mu.Unlock()
	errc := make(chan error, 3+len(tasks))
	n := 0
	for _, task := range tasks {
		n++
		go func() { errc <- task(ctx) }()
	}
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
