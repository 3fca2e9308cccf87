package pcsc

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/ebfe/scard"

	"github.com/kortstation/kortstation/hw/cardreader"
)

// ReadCard reads the card in reader. See cardreader.Reader.
func (d *Driver) ReadCard(ctx context.Context, reader string) (cardreader.Card, error) {
	var card cardreader.Card
	err := d.withCard(ctx, reader, "read card", sessionOpts{counter: true}, func(t cardreader.Transport, atr []byte, counter uint32) error {
		d.mu.Lock()
		c, ok := d.pinCounters[reader]
		stale := ok && c != counter
		if stale {
			delete(d.pinCounters, reader) // a new card: forget the old one's PIN
		}
		d.mu.Unlock()
		if stale {
			d.releaseHeld(reader, nil)
		}
		var err error
		card, err = cardreader.NewClient(t).ReadCard(atr)
		return err
	})
	if err != nil {
		return cardreader.Card{}, err
	}
	return card, nil
}

// VerifyPIN verifies pin on the card in reader and zeroes pin before it
// returns. See cardreader.Reader.
func (d *Driver) VerifyPIN(ctx context.Context, reader string, pin []byte) error {
	// The operation may outlive this call (timeout): give it its own copy,
	// which the client zeroes, and zero the caller's now.
	own := slices.Clone(pin)
	clear(pin)
	if !cardreader.ValidPIN(own) {
		clear(own)
		return fmt.Errorf("pcsc: verify PIN in reader %q: %w", reader, cardreader.ErrPINFormat)
	}
	return d.withCard(ctx, reader, "verify PIN", sessionOpts{counter: true, hold: true}, func(t cardreader.Transport, _ []byte, counter uint32) error {
		err := cardreader.NewClient(t).VerifyPIN(own)
		d.mu.Lock()
		if err == nil {
			d.pinCounters[reader] = counter
		} else {
			delete(d.pinCounters, reader)
		}
		d.mu.Unlock()
		if err != nil {
			d.releaseHeld(reader, nil)
		}
		return err
	})
}

// Sign has the card in reader sign challenge. See cardreader.Reader. It
// runs in its own shared connection and transaction like every operation.
// The card keeps its security state from VerifyPIN because connections
// end with SCARD_LEAVE_CARD and because the driver holds a connection
// open from a successful VerifyPIN until Sign (at most Config.PINHold):
// otherwise pcscd powers the unused card down, which resets it. Sign
// releases that connection. A card that left the reader since its PIN was
// verified (pcsc-lite's card event counter moved, or no card now) gives
// ErrCardRemoved without a command sent.
func (d *Driver) Sign(ctx context.Context, reader string, challenge []byte) (cardreader.Signature, error) {
	d.mu.Lock()
	pinCounter, pinVerified := d.pinCounters[reader]
	d.mu.Unlock()
	defer d.releaseHeld(reader, nil)
	var sig cardreader.Signature
	err := d.withCard(ctx, reader, "sign", sessionOpts{counter: true}, func(t cardreader.Transport, _ []byte, counter uint32) error {
		if pinVerified && counter != pinCounter {
			return fmt.Errorf("%w since the PIN was verified", cardreader.ErrCardRemoved)
		}
		var err error
		sig, err = cardreader.NewClient(t).Sign(challenge)
		return err
	})
	if err != nil {
		if pinVerified && errors.Is(err, cardreader.ErrNoCard) && !errors.Is(err, cardreader.ErrCardRemoved) {
			err = fmt.Errorf("%w since the PIN was verified: %w", cardreader.ErrCardRemoved, err)
		}
		return cardreader.Signature{}, err
	}
	return sig, nil
}

// sessionOpts choose what a session does besides running its operation.
type sessionOpts struct {
	// counter: pass pcsc-lite's card event counter of the reader to fn.
	counter bool
	// hold: on success, keep the connection open (see heldCard).
	hold bool
}

// sessionFunc is an operation on a connected card: the transport, the
// card's ATR and, when asked for, pcsc-lite's card event counter of the
// reader (it moves at every insertion and removal).
type sessionFunc func(t cardreader.Transport, atr []byte, counter uint32) error

// withCard runs fn on a fresh shared connection to the card in reader,
// inside a transaction, bounded by ctx and OpTimeout.
func (d *Driver) withCard(ctx context.Context, reader, op string, opts sessionOpts, fn sessionFunc) error {
	ctx, cancel := context.WithTimeout(ctx, d.cfg.OpTimeout)
	defer cancel()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("pcsc: %s in reader %q: %w", op, reader, err)
	}
	done := make(chan error, 1)
	go func() { done <- d.session(ctx, reader, opts, fn) }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("pcsc: %s in reader %q: %w", op, reader, err)
		}
		return nil
	case <-ctx.Done():
		// The PC/SC call in flight cannot be cancelled; the session ends
		// (and releases everything) when it returns.
		return fmt.Errorf("pcsc: %s in reader %q: card did not answer: %w", op, reader, ctx.Err())
	}
}

// transport sends APDUs on a connected card; it stops at ctx.
type transport struct {
	ctx  context.Context
	card *scard.Card
}

func (t transport) Transmit(apdu []byte) ([]byte, error) {
	if err := t.ctx.Err(); err != nil {
		return nil, err
	}
	return t.card.Transmit(apdu)
}

func (d *Driver) session(ctx context.Context, reader string, opts sessionOpts, fn sessionFunc) error {
	sc, err := scard.EstablishContext()
	if err != nil {
		return mapError(err)
	}
	card, err := sc.Connect(reader, scard.ShareShared, scard.ProtocolAny)
	if err != nil {
		sc.Release()
		if errors.Is(err, scard.ErrRemovedCard) || errors.Is(err, scard.ErrNoSmartcard) {
			return fmt.Errorf("%w (%w)", cardreader.ErrNoCard, err)
		}
		return mapError(err)
	}
	hold := false
	defer func() {
		// Runs after EndTransaction (deferred later, run first).
		if hold && ctx.Err() == nil {
			d.holdCard(reader, sc, card)
			return
		}
		card.Disconnect(scard.LeaveCard)
		sc.Release()
	}()
	if err := card.BeginTransaction(); err != nil {
		return d.classify(sc, reader, err)
	}
	defer card.EndTransaction(scard.LeaveCard)
	status, err := card.Status()
	if err != nil {
		return d.classify(sc, reader, err)
	}
	var counter uint32
	if opts.counter {
		states := []scard.ReaderState{{Reader: reader, CurrentState: scard.StateUnaware}}
		if err := sc.GetStatusChange(states, 0); err != nil {
			return d.classify(sc, reader, err)
		}
		counter = uint32(states[0].EventState) >> 16
	}
	if err := fn(transport{ctx: ctx, card: card}, status.Atr, counter); err != nil {
		return d.classify(sc, reader, err)
	}
	hold = opts.hold
	return nil
}

// heldCard is a connection kept open after a verified PIN so that pcscd
// does not power the card down (pcsc-lite does so soon after its last
// connection ends; the vpcd card here loses its PIN state within a
// second), which would reset the card's security state before Sign.
type heldCard struct {
	sc    *scard.Context
	card  *scard.Card
	timer *time.Timer
	once  sync.Once
}

func (h *heldCard) close() {
	h.once.Do(func() {
		h.timer.Stop()
		_ = h.card.Disconnect(scard.LeaveCard)
		_ = h.sc.Release()
	})
}

// holdCard keeps sc and card open for reader until Sign, a failed
// VerifyPIN, a new card read there, or PINHold.
func (d *Driver) holdCard(reader string, sc *scard.Context, card *scard.Card) {
	h := &heldCard{sc: sc, card: card}
	d.mu.Lock()
	old := d.held[reader]
	d.held[reader] = h
	h.timer = time.AfterFunc(d.cfg.PINHold, func() { d.releaseHeld(reader, h) })
	d.mu.Unlock()
	if old != nil {
		old.close()
	}
}

// releaseHeld closes the connection held for reader: h only, or whichever
// there is if h is nil.
func (d *Driver) releaseHeld(reader string, h *heldCard) {
	d.mu.Lock()
	cur := d.held[reader]
	if h == nil {
		h = cur
	}
	if h != nil && cur == h {
		delete(d.held, reader)
	}
	d.mu.Unlock()
	if h != nil {
		h.close()
	}
}

// mapError turns PC/SC errors into the cardreader sentinels.
func mapError(err error) error {
	var se scard.Error
	if !errors.As(err, &se) {
		return err
	}
	switch se {
	case scard.ErrNoService, scard.ErrServiceStopped, scard.ErrInvalidHandle:
		return fmt.Errorf("%w (%w)", cardreader.ErrServiceUnavailable, err)
	case scard.ErrUnknownReader, scard.ErrReaderUnavailable, scard.ErrNoReadersAvailable:
		return fmt.Errorf("%w (%w)", cardreader.ErrNoReader, err)
	case scard.ErrRemovedCard, scard.ErrNoSmartcard:
		return fmt.Errorf("%w (%w)", cardreader.ErrCardRemoved, err)
	default:
		return err
	}
}

// classify maps an error from a card session. A transmission failure or
// an empty response (not a status word) with the card gone from the reader
// within RemovalGrace is ErrCardRemoved.
func (d *Driver) classify(sc *scard.Context, reader string, err error) error {
	var se scard.Error
	switch {
	case errors.As(err, &se):
		if mapped := mapError(err); mapped != err {
			return mapped
		}
	case !errors.Is(err, cardreader.ErrNoResponse):
		return err // a status word or a protocol error: the card answered
	}
	if d.cardGone(sc, reader) {
		return fmt.Errorf("%w (%w)", cardreader.ErrCardRemoved, err)
	}
	return err
}

// cardGone reports whether reader shows no card, waiting up to
// RemovalGrace for pcscd to notice a removal.
func (d *Driver) cardGone(sc *scard.Context, reader string) bool {
	readerGone := func(err error) bool {
		return errors.Is(err, scard.ErrUnknownReader) || errors.Is(err, scard.ErrReaderUnavailable)
	}
	states := []scard.ReaderState{{Reader: reader, CurrentState: scard.StateUnaware}}
	deadline := time.Now().Add(d.cfg.RemovalGrace)
	timeout := time.Duration(0)
	for {
		err := sc.GetStatusChange(states, timeout)
		switch {
		case errors.Is(err, scard.ErrTimeout):
			return false
		case err != nil:
			return readerGone(err)
		}
		ev := states[0].EventState
		if ev&scard.StatePresent == 0 {
			return true
		}
		states[0].CurrentState = ev &^ scard.StateChanged
		if timeout = time.Until(deadline); timeout <= 0 {
			return false
		}
	}
}
