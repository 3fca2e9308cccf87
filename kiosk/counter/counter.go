// Package counter is the station's counter: the one owner of what happens
// at it. It holds the operator's session and every flow run at the counter
// (reserve-card issuance, ordinary pickup, return, extension, block
// request, stock), the devices' states and a central admin's lock, as a
// server-side state machine.
//
// It is built explicitly from its dependencies (New): the store, the clock,
// the card reader, the printer, the drawer sensor, the bus that fans events
// out to the screens, and a logger. The device watchers (devices.go) deliver
// typed events to it through the Events interface; the web layer hands it
// requests, which one routing table (routes.go) maps to their handlers; the
// sync component sets itself in with SetSync. Every decision is the rules
// package's; the counter gathers the facts, asks, and records the outcome
// through the store's record methods, which write the row, its audit entry
// and its outbox event in one transaction.
//
// The UI is a view of the counter: each request moves the machine one step
// or is refused with a problem.Problem; reader and drawer events move it
// too. The session belongs to the connection that logged in (session.go).
package counter

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/kortstation/kortstation/hw/cardreader"
	"github.com/kortstation/kortstation/hw/drawer"
	"github.com/kortstation/kortstation/hw/printer"
	"github.com/kortstation/kortstation/kiosk/bus"
	"github.com/kortstation/kortstation/kiosk/clock"
	"github.com/kortstation/kortstation/kiosk/store"
	"github.com/kortstation/kortstation/kiosk/trust"
	"github.com/kortstation/kortstation/sync/client/refdata"
)

// DefaultIdleTimeout locks the station after this long without a touch or
// a card event.
const DefaultIdleTimeout = 5 * time.Minute

// Info identifies the station.
type Info struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Location string `json:"location"`
	Version  string `json:"version"`
}

// Deps are what the counter is built from. Reader, Drawer and Printer may
// be nil (a station without that device); Dev is set only in simulation.
type Deps struct {
	Info    Info
	Store   *store.Store
	Bus     *bus.Bus
	Clock   clock.Clock
	Log     *slog.Logger
	Reader  cardreader.Reader
	Drawer  drawer.Sensor
	Printer printer.Printer
	// Dev drives the simulated hardware from the dev panel (simulation
	// only; nil on a real station).
	Dev DevPanel
	// Trust decides whether a card's identity is proven (its certificate
	// chain, validity, revocation and a signature over a fresh challenge);
	// TrustMaterial reads the registry's intermediates and CRLs for it
	// again after a sync.
	Trust         *trust.Verifier
	TrustMaterial func(context.Context) (trust.Material, error)
}

// Options are the counter's policies.
type Options struct {
	// IdleTimeout locks an idle session; 0 means DefaultIdleTimeout.
	IdleTimeout time.Duration
	// OperatorReader is where the operator's card stays during the
	// session; CardReader is where cards being issued or returned go. Empty
	// means the first and second reader by name.
	OperatorReader, CardReader string
	// Freshness is the maximum age of the registry data an issuance
	// relies on; nil means refdata.DefaultPolicy. An empty policy checks
	// nothing.
	Freshness refdata.Policy
	// Simulation serves the dev panel's requests (with Deps.Dev).
	Simulation bool
	// RequireClock refuses issuing until the clock is synchronised.
	RequireClock bool
	// MinFreeSpace is the free space (bytes) on the data partition below
	// which new records are refused; 0 means DefaultMinFreeSpace.
	MinFreeSpace uint64
}

// Sync is what the counter needs of the registry sync: "sync now" and its
// state for the status screen.
type Sync interface {
	SyncNow() error
	Status(ctx context.Context) any
}

// Counter is the counter's state machine.
type Counter struct {
	info    Info
	st      *store.Store
	bus     *bus.Bus
	clock   clock.Clock
	log     *slog.Logger
	reader  cardreader.Reader
	drawer  drawer.Sensor
	printer printer.Printer
	dev     DevPanel
	trust   *trust.Verifier
	trustM  func(context.Context) (trust.Material, error)
	opts    Options
	routes  map[string]route

	// mu is held for each request and device event, end to end: the
	// session, the flow and the login change only under it.
	mu    sync.Mutex
	login *login
	sess  *session
	// owner is the UI connection that holds the session: only it sees the
	// session's view and may act in it. resume is the secret handed to it
	// at login, with which a reloaded page (a new connection) takes the
	// session back.
	owner  string
	resume string
	flow   *flowState
	note   *Message // shown on the lock screen, e.g. why the session ended
	// homeErrors: why the last flow did not start.
	homeErrors []Message
	rev        uint64
	// offlineShown is what the screens were last told of the offline
	// state (offline.go).
	offlineShown [4]int64
	// updating names the version being installed while the update agent
	// holds the counter closed to new logins (update.go).
	updating string

	// devMu guards what the status snapshot reads without waiting for a
	// request in progress: device states, the remote lock, the sync.
	devMu        sync.Mutex
	hardware     map[string]DeviceState // "reader", "drawer", "printer"
	slots        map[string]bool        // card reader → a card in it
	readerDown   bool                   // pcscd unavailable
	remoteLocked bool
	sync         Sync
	lookup       PersonLookup // the on-demand person look-up (remotefacts.go)

	bg     context.Context // ends when Run ends: the print followers' life
	stopBg context.CancelFunc
	wg     sync.WaitGroup // print followers
}

// DeviceState is one device's state as the UI shows it.
type DeviceState struct {
	State  string    `json:"state"`            // e.g. "ready", "card_present", "open", "offline"
	Detail string    `json:"detail,omitempty"` // non-personal detail
	Since  time.Time `json:"since"`
}

// New builds the counter from its dependencies.
func New(d Deps, opts Options) *Counter {
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = DefaultIdleTimeout
	}
	if opts.MinFreeSpace == 0 {
		opts.MinFreeSpace = DefaultMinFreeSpace
	}
	if opts.Freshness == nil {
		opts.Freshness = refdata.DefaultPolicy()
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	m := &Counter{
		info: d.Info, st: d.Store, bus: d.Bus, clock: d.Clock, log: d.Log.With("component", "counter"),
		reader: d.Reader, drawer: d.Drawer, printer: d.Printer, dev: d.Dev, opts: opts,
		trust: d.Trust, trustM: d.TrustMaterial,
		hardware: map[string]DeviceState{},
	}
	m.bg, m.stopBg = context.WithCancel(context.Background())
	m.routes = m.routeTable()
	return m
}

// SetSync connects the registry sync once it runs (it starts after the
// counter, which it needs for the lock and the station's status).
func (m *Counter) SetSync(s Sync) {
	m.devMu.Lock()
	defer m.devMu.Unlock()
	m.sync = s
}

// Info returns the station's identity.
func (m *Counter) Info() Info { return m.info }

// Run watches every device and the idle timeout until ctx ends; then it
// ends the session and waits for the print followers.
func (m *Counter) Run(ctx context.Context) error {
	type watch func(context.Context) error
	watches := []watch{m.watchIdle, m.watchDisk}
	if m.reader != nil {
		watches = append(watches, func(ctx context.Context) error { return WatchReader(ctx, m.reader, m) })
	}
	if m.drawer != nil {
		watches = append(watches, func(ctx context.Context) error { return WatchDrawer(ctx, m.drawer, m) })
	}
	if m.printer != nil {
		watches = append(watches, func(ctx context.Context) error { return WatchPrinter(ctx, m.printer, m, m.clock) })
	}
	errc := make(chan error, len(watches))
	for _, w := range watches {
		go func() { errc <- w(ctx) }()
	}
	var errs []error
	for range watches {
		errs = append(errs, <-errc)
	}
	m.stopBg()
	m.wg.Wait()
	m.mu.Lock()
	if m.sess != nil {
		m.endSession(context.WithoutCancel(ctx), "shutdown")
	}
	m.mu.Unlock()
	return errors.Join(errs...)
}

// watchIdle locks a session idle for longer than the idle timeout, and
// tells the screens when the offline state changes as time passes.
func (m *Counter) watchIdle(ctx context.Context) error {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			m.mu.Lock()
			m.checkOffline(ctx) // hours pass while the station is offline
			idle := time.Duration(0)
			if m.sess != nil {
				idle = m.clock.Now().Sub(m.sess.lastSeen)
			}
			switch {
			case m.sess != nil && idle >= m.opts.IdleTimeout:
				m.endSession(ctx, "idle")
				m.note = ptr(msg("idle", "Stationen låstes efter en stund utan aktivitet. Sätt i ditt kort för att logga in igen.", "The station locked after a while without activity. Insert your card to log in again."))
				m.changed()
			case m.sess != nil && idle >= m.opts.IdleTimeout-idleWarning(m.opts.IdleTimeout) && !m.sess.warned:
				// Say so before the lock: "Mer tid?" keeps the session.
				m.sess.warned = true
				m.changed()
			}
			m.mu.Unlock()
		}
	}
}

// Health is the /healthz answer: the store must answer; device states are
// reported.
func (m *Counter) Health(ctx context.Context) (bool, any) {
	detail := map[string]any{}
	ok := true
	if err := m.st.Ping(ctx); err != nil {
		ok = false
		detail["store"] = "unreachable"
		m.log.Error("health: store", "err", err)
	} else {
		detail["store"] = "ok"
	}
	detail["hardware"] = m.devices()
	return ok, detail
}

// devices is a copy of the device states.
func (m *Counter) devices() map[string]DeviceState {
	m.devMu.Lock()
	defer m.devMu.Unlock()
	hw := make(map[string]DeviceState, len(m.hardware))
	for k, v := range m.hardware {
		hw[k] = v
	}
	return hw
}

// setDevice records a device's state and publishes it on the bus.
func (m *Counter) setDevice(name, state, detail string, at time.Time) {
	m.devMu.Lock()
	prev := m.hardware[name]
	if prev.State == state && prev.Detail == detail {
		m.devMu.Unlock()
		return
	}
	ds := DeviceState{State: state, Detail: detail, Since: at}
	m.hardware[name] = ds
	m.devMu.Unlock()
	m.bus.Publish("device."+name, at, map[string]any{"device": name, "state": ds})
}

// Changed tells every screen that the station's state changed (a sync
// ended), and takes in the registry's newest trust material.
func (m *Counter) Changed(ctx context.Context) {
	m.refreshTrust(ctx)
	m.bus.Publish("station.changed", m.clock.Now(), nil)
	m.mu.Lock()
	m.checkOffline(ctx)
	m.mu.Unlock()
}

// refreshTrust loads the registry's intermediates and CRLs into the
// verifier; what cannot be used is logged and never makes a card pass.
func (m *Counter) refreshTrust(ctx context.Context) {
	if m.trust == nil || m.trustM == nil {
		return
	}
	mat, err := m.trustM(ctx)
	if err != nil {
		m.log.Error("trust material not read", "err", err)
		return
	}
	for _, e := range m.trust.Load(mat) {
		m.log.Warn("trust material not used", "err", e)
	}
}

func ptr[T any](v T) *T { return &v }

// idleWarning is how long before the idle lock the screen warns: a
// minute, or a fifth of a shorter timeout.
func idleWarning(timeout time.Duration) time.Duration {
	return min(time.Minute, timeout/5)
}
