// Package refdata answers the station's questions about reference data
// pulled from the registry: is a kind fresh enough to rely on (the
// staleness policy), how old is each kind, and the lookups the issuance
// rules need (validity table, stop windows, blocked cards, person facts,
// authorised administrators).
//
// Past its maximum age a kind is stale, and the issuances that depend on it
// are refused with a *StaleError that says which data is how old.
package refdata

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/kortstation/kortstation/sync/protocol"
)

// Querier is a *sql.DB or *sql.Tx.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Policy is the maximum age of each kind; a kind missing from it is never
// stale.
type Policy map[string]time.Duration

// DefaultPolicy: security-relevant sets must be recent; stock and card
// status may lag.
func DefaultPolicy() Policy {
	return Policy{
		protocol.RefOperators:    72 * time.Hour,
		protocol.RefBlockedCards: 24 * time.Hour,
		protocol.RefStopWindows:  24 * time.Hour,
		protocol.RefValidity:     7 * 24 * time.Hour,
		protocol.RefPersonFacts:  72 * time.Hour,
		protocol.RefShipments:    7 * 24 * time.Hour,
		protocol.RefCardStatus:   7 * 24 * time.Hour,
	}
}

// clockSkewTolerance is how far in the future a sync time may lie before
// the station doubts it (its clock jumped back since).
const clockSkewTolerance = 5 * time.Minute

// StaleError says that a kind of reference data is too old (or missing,
// or mid-resync) to rely on.
type StaleError struct {
	Kind      string
	Age       time.Duration // time since the last complete sync; 0 when Never
	MaxAge    time.Duration
	Never     bool // never synced completely
	Resyncing bool // a full resync is part-way through
	ClockBack bool // the last sync lies in the future: the clock moved back
}

func (e *StaleError) Error() string {
	switch {
	case e.Never:
		return fmt.Sprintf("reference data %q has never been received from the registry", e.Kind)
	case e.Resyncing:
		return fmt.Sprintf("reference data %q is being resynchronised and is incomplete", e.Kind)
	case e.ClockBack:
		return fmt.Sprintf("reference data %q was synchronised %s in the future: the station clock moved back", e.Kind, (-e.Age).Round(time.Second))
	}
	return fmt.Sprintf("reference data %q is %s old, more than the allowed %s", e.Kind, e.Age.Round(time.Minute), e.MaxAge)
}

// Age is one kind's state.
type Age struct {
	Kind       string
	CompleteAt time.Time // zero if never
	Age        time.Duration
	Resyncing  bool
}

// Ages returns the state of every kind, in protocol.RefKinds order.
func Ages(ctx context.Context, q Querier, now time.Time) ([]Age, error) {
	rows, err := q.QueryContext(ctx, `SELECT kind, coalesce(complete_at, ''), resyncing FROM ref_cursors`)
	if err != nil {
		return nil, fmt.Errorf("refdata: read ages: %w", err)
	}
	defer rows.Close()
	got := map[string]Age{}
	for rows.Next() {
		var a Age
		var at string
		if err := rows.Scan(&a.Kind, &at, &a.Resyncing); err != nil {
			return nil, fmt.Errorf("refdata: read ages: %w", err)
		}
		if at != "" {
			if a.CompleteAt, err = time.Parse(time.RFC3339Nano, at); err != nil {
				return nil, fmt.Errorf("refdata: %s: bad time: %w", a.Kind, err)
			}
			a.Age = now.Sub(a.CompleteAt)
		}
		got[a.Kind] = a
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("refdata: read ages: %w", err)
	}
	out := make([]Age, 0, len(protocol.RefKinds))
	for _, k := range protocol.RefKinds {
		a, ok := got[k]
		if !ok {
			a = Age{Kind: k}
		}
		out = append(out, a)
	}
	return out, nil
}

// Fresh returns nil when kind was completely synced within maxAge before
// now, and a *StaleError otherwise.
func Fresh(ctx context.Context, q Querier, kind string, maxAge time.Duration, now time.Time) error {
	var at string
	var resyncing bool
	err := q.QueryRowContext(ctx, `SELECT coalesce(complete_at, ''), resyncing FROM ref_cursors WHERE kind = ?`, kind).Scan(&at, &resyncing)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && at == "") {
		return &StaleError{Kind: kind, MaxAge: maxAge, Never: true}
	}
	if err != nil {
		return fmt.Errorf("refdata: freshness of %s: %w", kind, err)
	}
	if resyncing {
		return &StaleError{Kind: kind, MaxAge: maxAge, Resyncing: true}
	}
	t, err := time.Parse(time.RFC3339Nano, at)
	if err != nil {
		return fmt.Errorf("refdata: %s: bad time: %w", kind, err)
	}
	age := now.Sub(t)
	if age < -clockSkewTolerance {
		return &StaleError{Kind: kind, Age: age, MaxAge: maxAge, ClockBack: true}
	}
	if age > maxAge {
		return &StaleError{Kind: kind, Age: age, MaxAge: maxAge}
	}
	return nil
}

// Check runs Fresh for each kind under policy and joins the failures.
func (p Policy) Check(ctx context.Context, q Querier, now time.Time, kinds ...string) error {
	var errs []error
	for _, k := range kinds {
		max, ok := p[k]
		if !ok {
			continue
		}
		if err := Fresh(ctx, q, k, max, now); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// ErrUnknownReason is returned for a reason not in the validity table.
var ErrUnknownReason = errors.New("refdata: reason not in the validity table")

// ValidityDays is the maximum validity for reason (RC-1).
func ValidityDays(ctx context.Context, q Querier, reason string) (int, error) {
	var n int
	err := q.QueryRowContext(ctx, `SELECT max_days FROM ref_validity WHERE reason = ?`, reason).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("%w: %q", ErrUnknownReason, reason)
	}
	if err != nil {
		return 0, fmt.Errorf("refdata: validity: %w", err)
	}
	return n, nil
}

// ActiveStops returns the stop windows containing at (CP-3).
func ActiveStops(ctx context.Context, q Querier, at time.Time) ([]protocol.StopWindow, error) {
	ts := at.UTC().Format(time.RFC3339)
	rows, err := q.QueryContext(ctx, `SELECT id, kind, starts, ends, note FROM ref_stop_windows WHERE starts <= ? AND ends > ? ORDER BY starts`, ts, ts)
	if err != nil {
		return nil, fmt.Errorf("refdata: stop windows: %w", err)
	}
	defer rows.Close()
	var out []protocol.StopWindow
	for rows.Next() {
		var w protocol.StopWindow
		var s, e string
		if err := rows.Scan(&w.ID, &w.Kind, &s, &e, &w.Note); err != nil {
			return nil, fmt.Errorf("refdata: stop windows: %w", err)
		}
		w.Starts, _ = time.Parse(time.RFC3339, s)
		w.Ends, _ = time.Parse(time.RFC3339, e)
		out = append(out, w)
	}
	return out, rows.Err()
}

// Blocked reports whether a card serial is blocked (BL-1).
func Blocked(ctx context.Context, q Querier, serial string) (bool, error) {
	var n int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM ref_blocked_cards WHERE serial = ?`, serial).Scan(&n); err != nil {
		return false, fmt.Errorf("refdata: blocked: %w", err)
	}
	return n > 0, nil
}

// Authorised reports whether hsaID is an authorised administrator (AD-1).
func Authorised(ctx context.Context, q Querier, hsaID string) (bool, error) {
	var a bool
	err := q.QueryRowContext(ctx, `SELECT authorised FROM operators WHERE hsa_id = ?`, hsaID).Scan(&a)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("refdata: operator: %w", err)
	}
	return a, nil
}

// ErrNoFacts is returned when the registry has no facts about a person.
var ErrNoFacts = errors.New("refdata: no registry facts for this person")

// PersonFacts returns the registry's facts JSON for a canonical personal
// number (RC-2..4).
func PersonFacts(ctx context.Context, q Querier, personalNumber string) (json.RawMessage, error) {
	var f string
	err := q.QueryRowContext(ctx, `SELECT facts FROM ref_person_facts WHERE personal_number = ?`, personalNumber).Scan(&f)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNoFacts
	}
	if err != nil {
		return nil, fmt.Errorf("refdata: person facts: %w", err)
	}
	return json.RawMessage(f), nil
}
