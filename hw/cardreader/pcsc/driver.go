// Package pcsc is the real card reader driver: PC/SC through pcscd with
// github.com/ebfe/scard. It is the only package of the card reader that
// links C (libpcsclite).
//
// Run watches the readers with a blocking SCardGetStatusChange on every
// reader plus `\\?PnP?\Notification` (reader hot-plug); it has no polling
// loop of its own and is cancelled with SCardCancel when its context is
// done. When pcscd goes away it reports ServiceUnavailable, re-establishes
// its PC/SC context with exponential backoff and reports ServiceRestored.
//
// ReadCard, VerifyPIN and Sign each use their own PC/SC context and
// connection, opened in shared mode inside a transaction and released as
// soon as the operation ends (Disconnect with LeaveCard), so other PC/SC
// clients are not locked out. The one exception: after a successful
// VerifyPIN the connection stays open, outside any transaction, until
// Sign (at most Config.PINHold), because pcscd powers an unused card down
// and that resets the PIN state. Each operation is bounded by its context
// and the driver's OpTimeout: a card that stops answering gives an error,
// never a hang.
package pcsc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ebfe/scard"

	"github.com/kortstation/kortstation/hw/cardreader"
)

// pnpReader is PC/SC's pseudo reader whose state changes when readers are
// added or removed.
const pnpReader = `\\?PnP?\Notification`

// Config configures a Driver. The zero value is usable.
type Config struct {
	// Logger receives the driver's log; slog.Default() if nil. The driver
	// never logs card data or PINs.
	Logger *slog.Logger
	// OpTimeout bounds ReadCard, VerifyPIN and Sign when their context has no
	// earlier deadline (default 10 s).
	OpTimeout time.Duration
	// MinBackoff and MaxBackoff bound the wait between attempts to reach
	// pcscd after it went away (defaults 50 ms and 2 s).
	MinBackoff, MaxBackoff time.Duration
	// PINHold is how long the driver keeps a connection to a card after a
	// successful VerifyPIN, waiting for Sign, so that pcscd does not power
	// the card down and reset its security state (default 30 s).
	PINHold time.Duration
	// RemovalGrace is how long an operation that failed on a transmission
	// error waits for the reader to report the card gone, to tell a pulled
	// card (ErrCardRemoved) from another failure (default 1 s).
	RemovalGrace time.Duration
}

// Driver is the real cardreader.Reader over pcscd.
type Driver struct {
	log *slog.Logger
	cfg Config

	running atomic.Bool

	mu      sync.Mutex
	readers []string // known to Run, sorted
	// pinCounters holds, per reader, pcsc-lite's card event counter when
	// a PIN was last verified there: Sign tells a card removed since.
	pinCounters map[string]uint32
	// held is the connection kept per reader from a verified PIN to Sign.
	held map[string]*heldCard
}

var _ cardreader.Reader = (*Driver)(nil)

// New returns a Driver; nothing happens until Run or an operation.
func New(cfg Config) *Driver {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.OpTimeout <= 0 {
		cfg.OpTimeout = 10 * time.Second
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 50 * time.Millisecond
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = max(2*time.Second, cfg.MinBackoff)
	}
	if cfg.PINHold <= 0 {
		cfg.PINHold = 30 * time.Second
	}
	if cfg.RemovalGrace <= 0 {
		cfg.RemovalGrace = time.Second
	}
	return &Driver{log: cfg.Logger.With("component", "cardreader/pcsc"), cfg: cfg,
		pinCounters: map[string]uint32{}, held: map[string]*heldCard{}}
}

// Readers returns the readers known to Run, sorted; nil when Run is not
// active or pcscd is unavailable.
func (d *Driver) Readers() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.readers)
}

func (d *Driver) setReaders(names []string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.readers = names
}

// Run watches readers and cards and sends events until ctx is done; it
// returns ctx.Err(). See cardreader.Reader.
func (d *Driver) Run(ctx context.Context, events chan<- cardreader.Event) error {
	if events == nil {
		return errors.New("pcsc: Run: nil events channel")
	}
	if !d.running.CompareAndSwap(false, true) {
		return cardreader.ErrAlreadyRunning
	}
	defer d.running.Store(false)
	defer d.setReaders(nil)

	m := &monitor{d: d, events: events, known: map[string]*readerState{}}
	backoff := d.cfg.MinBackoff
	available := true
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		sc, err := scard.EstablishContext()
		if err != nil {
			if available {
				available = false
				d.log.Warn("PC/SC service unavailable", "err", err)
				m.serviceLost(ctx, time.Now())
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, d.cfg.MaxBackoff)
			continue
		}
		if !available {
			available = true
			d.log.Info("PC/SC service restored")
			m.emit(ctx, cardreader.Event{Kind: cardreader.ServiceRestored, At: time.Now()})
		}
		began := time.Now()
		err = m.watch(ctx, sc)
		if relErr := sc.Release(); relErr != nil && ctx.Err() == nil {
			d.log.Debug("release PC/SC context", "err", relErr)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		available = false
		d.log.Warn("PC/SC service lost", "err", err)
		m.serviceLost(ctx, time.Now())
		if time.Since(began) >= d.cfg.MaxBackoff {
			backoff = d.cfg.MinBackoff // it worked for a while: retry at once
			continue
		}
		// It failed right after connecting: do not flap, back off.
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, d.cfg.MaxBackoff)
	}
}

// readerState is what Run last reported about a reader.
type readerState struct {
	present bool
	counter uint32 // pcsc-lite's card event counter (high word of the state)
}

type monitor struct {
	d      *Driver
	events chan<- cardreader.Event
	known  map[string]*readerState
}

// emit sends ev unless ctx is done first.
func (m *monitor) emit(ctx context.Context, ev cardreader.Event) {
	select {
	case m.events <- ev:
	case <-ctx.Done():
	}
}

// serviceLost reports the service gone and every known reader detached.
func (m *monitor) serviceLost(ctx context.Context, at time.Time) {
	m.emit(ctx, cardreader.Event{Kind: cardreader.ServiceUnavailable, At: at})
	m.syncReaders(ctx, nil, at)
}

// syncReaders reports readers that appeared or disappeared since the last
// call and records names as the known readers.
func (m *monitor) syncReaders(ctx context.Context, names []string, at time.Time) {
	names = slices.Clone(names)
	slices.Sort(names)
	gone := make([]string, 0)
	for name := range m.known {
		if !slices.Contains(names, name) {
			gone = append(gone, name)
		}
	}
	slices.Sort(gone)
	for _, name := range gone {
		if m.known[name].present {
			m.emit(ctx, cardreader.Event{Kind: cardreader.CardRemoved, Reader: name, At: at})
		}
		delete(m.known, name)
		m.d.log.Info("reader detached", "reader", name)
		m.emit(ctx, cardreader.Event{Kind: cardreader.ReaderDetached, Reader: name, At: at})
	}
	for _, name := range names {
		if _, ok := m.known[name]; ok {
			continue
		}
		m.known[name] = &readerState{}
		m.d.log.Info("reader attached", "reader", name)
		m.emit(ctx, cardreader.Event{Kind: cardreader.ReaderAttached, Reader: name, At: at})
	}
	if len(names) == 0 {
		names = nil
	}
	m.d.setReaders(names)
}

// watch follows the readers of sc until ctx is done or the service fails;
// it returns the failure.
func (m *monitor) watch(ctx context.Context, sc *scard.Context) error {
	// SCardCancel is the only way to end a blocking GetStatusChange. A
	// cancel that lands just before the call is lost, so repeat it until
	// watch has returned.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-stop:
			return
		case <-ctx.Done():
		}
		for {
			_ = sc.Cancel()
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	defer func() {
		close(stop)
		wg.Wait()
	}()

	states := []scard.ReaderState{{Reader: pnpReader, CurrentState: scard.StateUnaware}}
	relist := true
	for {
		if relist {
			relist = false
			names, err := sc.ListReaders()
			switch {
			case errors.Is(err, scard.ErrNoReadersAvailable):
				names = nil
			case err != nil:
				return fmt.Errorf("list readers: %w", err)
			}
			m.syncReaders(ctx, names, time.Now())
			states = rebuildStates(states, names)
		}
		err := sc.GetStatusChange(states, -1)
		at := time.Now()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		switch {
		case err == nil:
		case errors.Is(err, scard.ErrCancelled), errors.Is(err, scard.ErrTimeout):
			continue
		case errors.Is(err, scard.ErrUnknownReader), errors.Is(err, scard.ErrReaderUnavailable):
			relist = true
			continue
		default:
			return fmt.Errorf("wait for status change: %w", err)
		}
		for i := range states {
			rs := &states[i]
			ev := rs.EventState
			rs.CurrentState = ev &^ scard.StateChanged
			if i == 0 {
				if ev&scard.StateChanged != 0 {
					relist = true
				}
				continue
			}
			if ev&(scard.StateUnknown|scard.StateUnavailable) != 0 {
				relist = true
				continue
			}
			m.cardState(ctx, rs.Reader, ev, rs.Atr, at)
		}
	}
}

// rebuildStates keeps the PnP entry and the entries of readers still
// present, and adds new readers as StateUnaware.
func rebuildStates(old []scard.ReaderState, names []string) []scard.ReaderState {
	states := []scard.ReaderState{old[0]}
	for _, name := range names {
		i := slices.IndexFunc(old[1:], func(rs scard.ReaderState) bool { return rs.Reader == name })
		if i >= 0 {
			states = append(states, old[1+i])
		} else {
			states = append(states, scard.ReaderState{Reader: name, CurrentState: scard.StateUnaware})
		}
	}
	return states
}

// cardState turns a reader's new state into CardInserted / CardRemoved.
func (m *monitor) cardState(ctx context.Context, name string, ev scard.StateFlag, atr []byte, at time.Time) {
	k, ok := m.known[name]
	if !ok {
		return
	}
	present := ev&scard.StatePresent != 0
	counter := uint32(ev) >> 16
	inserted := func() {
		m.d.log.Debug("card inserted", "reader", name)
		m.emit(ctx, cardreader.Event{Kind: cardreader.CardInserted, Reader: name, ATR: slices.Clone(atr), At: at})
	}
	removed := func() {
		m.d.log.Debug("card removed", "reader", name)
		m.emit(ctx, cardreader.Event{Kind: cardreader.CardRemoved, Reader: name, At: at})
	}
	switch {
	case present && !k.present:
		inserted()
	case !present && k.present:
		removed()
	case present && k.present && counter != k.counter:
		// Pulled and inserted again between two calls.
		removed()
		inserted()
	}
	k.present, k.counter = present, counter
}
