// Package audit keeps the station's append-only audit chain: every state
// change and security event, each entry carrying a per-station sequence
// number and the SHA-256 of the previous entry, so a changed, missing or
// cut-off entry is found by Verify.
//
// Entries never carry personal numbers, names, PINs or signatures: the
// subject is an identifier (a card serial, an issuance or session ID).
package audit

import (
	"context"
	"crypto/sha256"
	"database/sql"
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

// Append adds e to the chain inside tx, the same transaction as the state
// change it records, and returns the stored record.
func Append(ctx context.Context, tx *sql.Tx, clock clock.Clock, e Entry) (Record, error) {
	if e.Kind == "" || e.Actor == "" {
		return Record{}, errors.New("audit: entry needs a kind and an actor")
	}
	var head Record
	err := tx.QueryRowContext(ctx, "SELECT seq, hash FROM audit_head WHERE id = 1").Scan(&head.Seq, &head.Hash)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		head.Seq, head.Hash = 0, GenesisHash
	case err != nil:
		return Record{}, fmt.Errorf("audit: read head: %w", err)
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
	r.Hash = r.computeHash()
	if _, err := tx.ExecContext(ctx,
		`INSERT INTO audit_log (seq, at, clock_source, kind, actor, subject, detail, prev_hash, hash)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.Seq, r.At.Format(time.RFC3339Nano), r.ClockSource, r.Kind, r.Actor, r.Subject, r.Detail, r.PrevHash, r.Hash); err != nil {
		return Record{}, fmt.Errorf("audit: insert entry %d: %w", r.Seq, err)
	}
	if _, err := tx.ExecContext(ctx,
		`INSERT INTO audit_head (id, seq, hash) VALUES (1, ?, ?)
		 ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash`, r.Seq, r.Hash); err != nil {
		return Record{}, fmt.Errorf("audit: move head: %w", err)
	}
	return r, nil
}

// computeHash is SHA-256 over the previous hash and every field, each
// length-prefixed so no two different entries encode alike.
func (r Record) computeHash() string {
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

// Verify walks the whole chain in order and returns a *BreakError for the
// first entry that was changed, is missing, or was cut off the tail.
func Verify(ctx context.Context, db *sql.DB) (Result, error) {
	rows, err := db.QueryContext(ctx,
		`SELECT seq, at, clock_source, kind, actor, subject, detail, prev_hash, hash FROM audit_log ORDER BY seq`)
	if err != nil {
		return Result{}, fmt.Errorf("audit: read log: %w", err)
	}
	defer rows.Close()
	want := Record{Seq: 0, Hash: GenesisHash}
	for rows.Next() {
		var r Record
		var at string
		if err := rows.Scan(&r.Seq, &at, &r.ClockSource, &r.Kind, &r.Actor, &r.Subject, &r.Detail, &r.PrevHash, &r.Hash); err != nil {
			return Result{}, fmt.Errorf("audit: read entry: %w", err)
		}
		if r.Seq != want.Seq+1 {
			return Result{}, &BreakError{Seq: want.Seq + 1, Reason: fmt.Sprintf("missing (next present entry is %d)", r.Seq)}
		}
		if r.PrevHash != want.Hash {
			return Result{}, &BreakError{Seq: r.Seq, Reason: "previous-hash does not match the entry before it"}
		}
		if r.At, err = time.Parse(time.RFC3339Nano, at); err != nil {
			return Result{}, &BreakError{Seq: r.Seq, Reason: "time is not RFC 3339"}
		}
		if r.computeHash() != r.Hash {
			return Result{}, &BreakError{Seq: r.Seq, Reason: "content does not match its hash (altered)"}
		}
		want = r
	}
	if err := rows.Err(); err != nil {
		return Result{}, fmt.Errorf("audit: read log: %w", err)
	}
	var head Record
	err = db.QueryRowContext(ctx, "SELECT seq, hash FROM audit_head WHERE id = 1").Scan(&head.Seq, &head.Hash)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		head = Record{Seq: 0, Hash: GenesisHash}
	case err != nil:
		return Result{}, fmt.Errorf("audit: read head: %w", err)
	}
	if head.Seq > want.Seq {
		return Result{}, &BreakError{Seq: want.Seq + 1, Reason: fmt.Sprintf("missing: the log ends at %d but its head says %d (tail cut off)", want.Seq, head.Seq)}
	}
	if head.Seq != want.Seq || head.Hash != want.Hash {
		return Result{}, &BreakError{Seq: want.Seq, Reason: "the newest entry does not match the recorded head"}
	}
	return Result{Entries: want.Seq, Head: want.Hash}, nil
}
