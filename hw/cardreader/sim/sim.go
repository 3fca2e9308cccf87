// Package sim is the simulated card reader used by `make run` and the UI
// tests: a cardreader.Reader in-process (no pcscd) whose cards are virtual
// cards (package vcard) that run the same card application protocol code
// as the real driver. A dev panel drives it with Insert and Remove (and
// Attach, Detach, StopService and StartService for the rarer states); it
// emits the same events as the real driver and passes the same contract
// suite (package readertest).
package sim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/kortstation/kortstation/hw/cardreader"
	"github.com/kortstation/kortstation/hw/cardreader/vcard"
)

// DefaultReaders returns the readers of New when none are named.
func DefaultReaders() []string { return []string{"Simulated Reader 00", "Simulated Reader 01"} }

// ErrReaderBusy is returned by Insert when the reader already holds a card.
var ErrReaderBusy = errors.New("sim: reader already holds a card")

// Reader is the simulated PC/SC service with its readers. Safe for
// concurrent use.
type Reader struct {
	log *slog.Logger

	mu      sync.Mutex
	slots   map[string]*slot // attached readers
	down    bool             // service stopped
	running bool
	queue   []cardreader.Event
	wake    chan struct{} // capacity 1: events queued
}

// slot is one attached reader.
type slot struct {
	card *vcard.Card
	gen  int           // bumped at every insertion and removal
	gone chan struct{} // closed when the card leaves or the service stops
	// pinGen is gen when a PIN was last verified on the card (0: none):
	// Sign after the card left since gives ErrCardRemoved.
	pinGen int
}

// OpTimeout bounds ReadCard, VerifyPIN and Sign when their context has no
// earlier deadline, as the real driver's default does.
const OpTimeout = 10 * time.Second

var _ cardreader.Reader = (*Reader)(nil)

// New returns a simulator with the named readers attached and empty
// (DefaultReaders if none). logger may be nil.
func New(logger *slog.Logger, readers ...string) *Reader {
	if logger == nil {
		logger = slog.Default()
	}
	if len(readers) == 0 {
		readers = DefaultReaders()
	}
	r := &Reader{
		log:   logger.With("component", "cardreader/sim"),
		slots: map[string]*slot{},
		wake:  make(chan struct{}, 1),
	}
	for _, name := range readers {
		r.slots[name] = &slot{}
	}
	return r
}

// push queues an event for Run; r.mu must be held. Nothing is queued while
// Run is not active: Run starts from the current state.
func (r *Reader) push(kind cardreader.EventKind, reader string, atr []byte) {
	if !r.running {
		return
	}
	r.queue = append(r.queue, cardreader.Event{Kind: kind, Reader: reader, ATR: atr, At: time.Now()})
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// pushState queues ReaderAttached (and CardInserted) for every reader, in
// name order; r.mu must be held.
func (r *Reader) pushState() {
	for _, name := range r.namesLocked() {
		r.push(cardreader.ReaderAttached, name, nil)
		if c := r.slots[name].card; c != nil {
			r.push(cardreader.CardInserted, name, c.ATR())
		}
	}
}

func (r *Reader) namesLocked() []string {
	names := make([]string, 0, len(r.slots))
	for name := range r.slots {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// Insert puts card into reader and emits CardInserted. The same card may
// be inserted again after Remove, keeping its PIN counter.
func (r *Reader) Insert(reader string, card *vcard.Card) error {
	if card == nil {
		return errors.New("sim: insert: nil card")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.slots[reader]
	if !ok {
		return fmt.Errorf("sim: insert into %q: %w", reader, cardreader.ErrNoReader)
	}
	if s.card != nil {
		return fmt.Errorf("sim: insert into %q: %w", reader, ErrReaderBusy)
	}
	card.Reset()
	s.card = card
	s.gen++
	s.gone = make(chan struct{})
	if !r.down {
		r.push(cardreader.CardInserted, reader, card.ATR())
	}
	return nil
}

// Remove takes the card out of reader and emits CardRemoved; removing from
// an empty reader does nothing.
func (r *Reader) Remove(reader string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.slots[reader]; !ok {
		return fmt.Errorf("sim: remove from %q: %w", reader, cardreader.ErrNoReader)
	}
	r.removeLocked(reader)
	return nil
}

func (r *Reader) removeLocked(reader string) {
	s := r.slots[reader]
	if s == nil || s.card == nil {
		return
	}
	s.card.Reset() // unpowered
	s.card = nil
	s.gen++
	close(s.gone)
	if !r.down {
		r.push(cardreader.CardRemoved, reader, nil)
	}
}

// Attach plugs in a new empty reader (emits ReaderAttached).
func (r *Reader) Attach(reader string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if reader == "" {
		return errors.New("sim: attach: empty reader name")
	}
	if _, ok := r.slots[reader]; ok {
		return fmt.Errorf("sim: attach %q: reader already attached", reader)
	}
	r.slots[reader] = &slot{}
	if !r.down {
		r.push(cardreader.ReaderAttached, reader, nil)
	}
	return nil
}

// Detach unplugs reader, with its card if any (emits CardRemoved and
// ReaderDetached).
func (r *Reader) Detach(reader string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.slots[reader]; !ok {
		return fmt.Errorf("sim: detach %q: %w", reader, cardreader.ErrNoReader)
	}
	r.removeLocked(reader)
	delete(r.slots, reader)
	if !r.down {
		r.push(cardreader.ReaderDetached, reader, nil)
	}
	return nil
}

// StopService simulates pcscd going away: ServiceUnavailable, then every
// card removed and every reader detached. Cards stay physically in their
// readers and reappear on StartService.
func (r *Reader) StopService() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.down {
		return
	}
	r.push(cardreader.ServiceUnavailable, "", nil)
	for _, name := range r.namesLocked() {
		if r.slots[name].card != nil {
			r.push(cardreader.CardRemoved, name, nil)
		}
		r.push(cardreader.ReaderDetached, name, nil)
		s := r.slots[name]
		s.gen++ // operations in flight fail
		if s.card != nil {
			s.card.Reset() // the service powers its cards down
			close(s.gone)
			s.gone = make(chan struct{})
		}
	}
	r.down = true
}

// StartService simulates pcscd coming back: ServiceRestored, then every
// reader attached (and its card inserted).
func (r *Reader) StartService() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.down {
		return
	}
	r.down = false
	r.push(cardreader.ServiceRestored, "", nil)
	r.pushState()
}

// Run sends the simulator's events until ctx is done and returns
// ctx.Err(). It starts with the current state: ReaderAttached and
// CardInserted for what is present, or ServiceUnavailable.
func (r *Reader) Run(ctx context.Context, events chan<- cardreader.Event) error {
	if events == nil {
		return errors.New("sim: Run: nil events channel")
	}
	r.mu.Lock()
	if r.running {
		r.mu.Unlock()
		return cardreader.ErrAlreadyRunning
	}
	r.running = true
	r.queue = nil
	if r.down {
		r.push(cardreader.ServiceUnavailable, "", nil)
	} else {
		r.pushState()
	}
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.running = false
		r.queue = nil
		r.mu.Unlock()
	}()

	for {
		r.mu.Lock()
		batch := r.queue
		r.queue = nil
		r.mu.Unlock()
		for _, ev := range batch {
			select {
			case events <- ev:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		select {
		case <-r.wake:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Readers returns the attached readers, sorted; nil while Run is not
// active or the service is stopped.
func (r *Reader) Readers() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.running || r.down || len(r.slots) == 0 {
		return nil
	}
	return r.namesLocked()
}

// ReadCard reads the card in reader with the shared protocol client.
func (r *Reader) ReadCard(ctx context.Context, reader string) (cardreader.Card, error) {
	var card cardreader.Card
	err := r.withCard(ctx, reader, "read card", func(t cardreader.Transport, atr []byte) error {
		var err error
		card, err = cardreader.NewClient(t).ReadCard(atr)
		return err
	})
	r.mu.Lock()
	if s := r.slots[reader]; s != nil && s.card != nil && s.pinGen != s.gen {
		s.pinGen = 0 // a new card was read: forget the old one's PIN
	}
	r.mu.Unlock()
	if err != nil {
		return cardreader.Card{}, err
	}
	return card, nil
}

// VerifyPIN verifies pin on the card in reader and zeroes pin.
func (r *Reader) VerifyPIN(ctx context.Context, reader string, pin []byte) error {
	defer clear(pin)
	if !cardreader.ValidPIN(pin) {
		return fmt.Errorf("sim: verify PIN in reader %q: %w", reader, cardreader.ErrPINFormat)
	}
	return r.withCard(ctx, reader, "verify PIN", func(t cardreader.Transport, _ []byte) error {
		err := cardreader.NewClient(t).VerifyPIN(pin)
		if err == nil {
			r.mu.Lock()
			if s := r.slots[reader]; s != nil && s.card != nil {
				s.pinGen = s.gen
			}
			r.mu.Unlock()
		}
		return err
	})
}

// Sign has the card in reader sign challenge (see cardreader.Reader). A
// card that left the reader since its PIN was verified gives
// ErrCardRemoved without a command sent.
func (r *Reader) Sign(ctx context.Context, reader string, challenge []byte) (cardreader.Signature, error) {
	r.mu.Lock()
	if s := r.slots[reader]; s != nil && !r.down && s.pinGen != 0 && s.pinGen != s.gen {
		empty := s.card == nil
		r.mu.Unlock()
		if empty {
			return cardreader.Signature{}, fmt.Errorf("sim: sign in reader %q: %w since the PIN was verified (%w)", reader, cardreader.ErrCardRemoved, cardreader.ErrNoCard)
		}
		return cardreader.Signature{}, fmt.Errorf("sim: sign in reader %q: %w since the PIN was verified", reader, cardreader.ErrCardRemoved)
	}
	r.mu.Unlock()
	var sig cardreader.Signature
	err := r.withCard(ctx, reader, "sign", func(t cardreader.Transport, _ []byte) error {
		var err error
		sig, err = cardreader.NewClient(t).Sign(challenge)
		return err
	})
	if err != nil {
		return cardreader.Signature{}, err
	}
	return sig, nil
}

func (r *Reader) withCard(ctx context.Context, reader, op string, fn func(t cardreader.Transport, atr []byte) error) error {
	wrap := func(err error) error { return fmt.Errorf("sim: %s in reader %q: %w", op, reader, err) }
	ctx, cancel := context.WithTimeout(ctx, OpTimeout)
	defer cancel()
	if err := ctx.Err(); err != nil {
		return wrap(err)
	}
	r.mu.Lock()
	s, ok := r.slots[reader]
	switch {
	case r.down:
		r.mu.Unlock()
		return wrap(cardreader.ErrServiceUnavailable)
	case !ok:
		r.mu.Unlock()
		return wrap(cardreader.ErrNoReader)
	case s.card == nil:
		r.mu.Unlock()
		return wrap(cardreader.ErrNoCard)
	}
	card, gen, gone := s.card, s.gen, s.gone
	r.mu.Unlock()

	t := cardreader.TransportFunc(func(apdu []byte) ([]byte, error) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		r.mu.Lock()
		still := !r.down && r.slots[reader] == s && s.gen == gen
		down := r.down
		r.mu.Unlock()
		if !still {
			if down {
				return nil, cardreader.ErrServiceUnavailable
			}
			return nil, cardreader.ErrCardRemoved
		}
		rsp, err := card.Process(apdu)
		if errors.Is(err, vcard.ErrPulled) {
			r.mu.Lock()
			if r.slots[reader] == s && s.gen == gen {
				r.removeLocked(reader)
			}
			r.mu.Unlock()
			return nil, cardreader.ErrCardRemoved
		}
		if errors.Is(err, vcard.ErrStalled) {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-gone:
				return nil, cardreader.ErrCardRemoved
			}
		}
		return rsp, err
	})
	if err := fn(t, card.ATR()); err != nil {
		return wrap(err)
	}
	return nil
}
