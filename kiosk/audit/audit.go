// Package audit is the station's append-only audit chain as pure logic:
// every state change and security event, each entry carrying a per-station
// sequence number and the SHA-256 of the previous entry, so a changed,
// missing or cut-off entry is found by a Verifier. The entries are stored
// by kiosk/store (Tx.Audit, Store.VerifyAudit), in the same transaction as
// the change they record.
//
// Entries never carry personal numbers, names, PINs or signatures: the
// subject is an identifier (a card serial, an issuance or session ID).
package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kortstation/kortstation/kiosk/clock"
)

// GenesisHash is the previous-hash of the first entry.
var GenesisHash = strings.Repeat("0", 64)

// Entry is one audit event as the caller describes it.
type Entry struct {
	Kind    string         // e.g. "operator.login", "card.state", "drawer.alarm"
	Actor   string         // HSA-ID of the operator, or "station", "registry"
	Subject string         // what it is about: a card serial, issuance ID, …
	Detail  map[string]any // small, non-personal facts
}

// Head is the newest entry of the chain: its sequence number and hash.
type Head struct {
	Seq  int64
	Hash string
}

// Genesis is the head of an empty chain.
func Genesis() Head { return Head{Seq: 0, Hash: GenesisHash} }

// Record is an entry as stored, with its place in the chain.
type Record struct {
	Seq         int64
	At          time.Time
	ClockSource string
	Kind        string
	Actor       string
	Subject     string
	Detail      string // canonical JSON
	PrevHash    string
	Hash        string
}

// Next makes the record that follows head for e, stamped by clock.
func Next(head Head, clock clock.Clock, e Entry) (Record, error) {
	if e.Kind == "" || e.Actor == "" {
		return Record{}, errors.New("audit: entry needs a kind and an actor")
	}
	detail := "{}"
	if len(e.Detail) > 0 {
		b, err := json.Marshal(e.Detail) // map keys are sorted: canonical
		if err != nil {
			return Record{}, fmt.Errorf("audit: encode detail: %w", err)
		}
		detail = string(b)
	}
	r := Record{
		Seq:         head.Seq + 1,
		At:          clock.Now().UTC().Truncate(time.Microsecond),
		ClockSource: clock.Source(),
		Kind:        e.Kind,
		Actor:       e.Actor,
		Subject:     e.Subject,
		Detail:      detail,
		PrevHash:    head.Hash,
	}
	r.Hash = r.ComputeHash()
	return r, nil
}

// ComputeHash is SHA-256 over the previous hash and every field, each
// length-prefixed so no two different entries encode alike.
func (r Record) ComputeHash() string {
	h := sha256.New()
	for _, f := range []string{
		r.PrevHash, strconv.FormatInt(r.Seq, 10), r.At.Format(time.RFC3339Nano), r.ClockSource,
		r.Kind, r.Actor, r.Subject, r.Detail,
	} {
		fmt.Fprintf(h, "%d:%s;", len(f), f)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// BreakError says where the chain is broken.
type BreakError struct {
	Seq    int64  // the first entry that is wrong or missing
	Reason string // what is wrong with it
}

func (e *BreakError) Error() string {
	return fmt.Sprintf("audit chain broken at entry %d: %s", e.Seq, e.Reason)
}

// Result summarises a successful verification.
type Result struct {
	Entries int64
	Head    string
}

// Verifier walks the chain in order: Next for every stored entry, oldest
// first, then End with the recorded head. The first entry that was
// changed, is missing, or was cut off the tail is a *BreakError.
type Verifier struct {
	want Head
}

// NewVerifier starts at the genesis.
func NewVerifier() *Verifier { return &Verifier{want: Genesis()} }

// Next checks the next stored entry; at is its stored time text (the
// record's At is parsed from it here).
func (v *Verifier) Next(r Record, at string) error {
	if r.Seq != v.want.Seq+1 {
		return &BreakError{Seq: v.want.Seq + 1, Reason: fmt.Sprintf("missing (next present entry is %d)", r.Seq)}
	}
	if r.PrevHash != v.want.Hash {
		return &BreakError{Seq: r.Seq, Reason: "previous-hash does not match the entry before it"}
	}
	var err error
	if r.At, err = time.Parse(time.RFC3339Nano, at); err != nil {
		return &BreakError{Seq: r.Seq, Reason: "time is not RFC 3339"}
	}
	if r.ComputeHash() != r.Hash {
		return &BreakError{Seq: r.Seq, Reason: "content does not match its hash (altered)"}
	}
	v.want = Head{Seq: r.Seq, Hash: r.Hash}
	return nil
}

// End compares the last entry seen with the recorded head (Genesis when
// none is recorded).
func (v *Verifier) End(head Head) (Result, error) {
	if head.Seq > v.want.Seq {
		return Result{}, &BreakError{Seq: v.want.Seq + 1, Reason: fmt.Sprintf("missing: the log ends at %d but its head says %d (tail cut off)", v.want.Seq, head.Seq)}
	}
	if head != v.want {
		return Result{}, &BreakError{Seq: v.want.Seq, Reason: "the newest entry does not match the recorded head"}
	}
	return Result{Entries: v.want.Seq, Head: v.want.Hash}, nil
}
