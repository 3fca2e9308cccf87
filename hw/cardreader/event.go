package cardreader

import (
	"context"
	"fmt"
	"time"
)

// EventKind says what happened at a reader or to the PC/SC service.
type EventKind int

// The kinds of events a Reader delivers.
const (
	// ReaderAttached: a reader appeared (or was present when Run started).
	ReaderAttached EventKind = iota + 1
	// ReaderDetached: a reader disappeared.
	ReaderDetached
	// CardInserted: a card is in the reader; Event.ATR holds its ATR.
	CardInserted
	// CardRemoved: the card left the reader.
	CardRemoved
	// ServiceUnavailable: the PC/SC service (pcscd) cannot be reached; the
	// Reader keeps trying to reconnect by itself.
	ServiceUnavailable
	// ServiceRestored: the PC/SC service is reachable again.
	ServiceRestored
)

var eventKindNames = map[EventKind]string{
	ReaderAttached:     "reader attached",
	ReaderDetached:     "reader detached",
	CardInserted:       "card inserted",
	CardRemoved:        "card removed",
	ServiceUnavailable: "service unavailable",
	ServiceRestored:    "service restored",
}

// String returns a short English description of the kind.
func (k EventKind) String() string {
	if s, ok := eventKindNames[k]; ok {
		return s
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event is one change seen at a reader or at the PC/SC service.
type Event struct {
	Kind EventKind
	// Reader is the PC/SC reader name; empty for ServiceUnavailable and
	// ServiceRestored.
	Reader string
	// ATR is the card's answer to reset, for CardInserted only.
	ATR []byte
	// At is when the driver learnt of the change (for the real driver: the
	// moment GetStatusChange returned). The time from At to the consumer's
	// receipt is the driver's own latency.
	At time.Time
}

// String describes the event without personal data.
func (e Event) String() string {
	if e.Reader == "" {
		return e.Kind.String()
	}
	if e.Kind == CardInserted {
		return fmt.Sprintf("%s: %q ATR % X", e.Kind, e.Reader, e.ATR)
	}
	return fmt.Sprintf("%s: %q", e.Kind, e.Reader)
}

// Reader is a PC/SC card reader service as the station uses it: one or
// more readers, their events, and the PKCS#15 application on the cards
// in them. Implementations: pcsc.Driver (real, pcscd) and sim.Reader
// (in-process simulator). All methods are safe for concurrent use.
type Reader interface {
	// Run watches the readers and sends events on events until ctx is done,
	// then returns ctx.Err(). It reconnects to the PC/SC service by itself.
	// Sends block: the consumer must keep receiving. Only one Run may be
	// active at a time.
	Run(ctx context.Context, events chan<- Event) error
	// Readers returns the names of the readers known to Run, sorted; nil
	// before Run has seen any.
	Readers() []string
	// ReadCard reads the card in reader: ATR, serial number, certificate,
	// HSA-ID and the PIN attempts left. It never blocks past ctx (or the
	// driver's own operation timeout).
	ReadCard(ctx context.Context, reader string) (Card, error)
	// VerifyPIN checks pin on the card in reader. It zeroes pin before it
	// returns, whatever the outcome. A wrong PIN gives *PINError, a blocked
	// PIN ErrPINBlocked.
	VerifyPIN(ctx context.Context, reader string, pin []byte) error
	// Sign has the card in reader sign SHA-256 of challenge with the
	// holder's authentication key (the key of Card.Certificate), proving
	// that the card holds that key. The PIN must have been verified
	// before, in the same card session (the card neither removed nor
	// reset since), else ErrSecurityStatus; call it right after
	// VerifyPIN. If the card the PIN was verified on has left the reader
	// since (gone, or put back), Sign gives ErrCardRemoved without asking
	// the card, until ReadCard reads a new card there or VerifyPIN
	// succeeds again. A card without a key gives ErrNoKey. Check the result
	// with Signature.Verify against the certificate read from the same
	// card; validating that certificate's chain is the caller's job.
	Sign(ctx context.Context, reader string, challenge []byte) (Signature, error)
}
