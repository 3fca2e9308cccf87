// Package refdata is the staleness policy of the reference data pulled
// from the registry: is a kind fresh enough to rely on, and how old is
// each kind. The data itself, and its sync state, is read through
// kiosk/store (the one reader of reference data).
//
// Past its maximum age a kind is stale, and the issuances that depend on it
// are refused with a *StaleError that says which data is how old.
package refdata

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kortstation/kortstation/kiosk/store"
	"github.com/kortstation/kortstation/sync/protocol"
)

// Policy is the maximum age of each kind; a kind missing from it is never
// stale.
type Policy map[string]time.Duration

// OfflineAllowance is how long a station keeps issuing without reaching
// the registry under the default policy: a long weekend (Friday evening
// to Tuesday morning is about 87 hours) with a margin, because reserve
// cards are needed most on the morning after one. README.md ("Days
// offline") gives each kind's risk.
const OfflineAllowance = 96 * time.Hour

// DefaultPolicy: the sets an issuance decides on may be as old as
// OfflineAllowance, so a station cut off over a long weekend still hands
// out reserve cards on Monday; what that risks, per kind:
//   - operators (AD-1): an administrator withdrawn centrally may still log
//     in, but only with their own card and PIN, and every issuance is
//     reviewed centrally (CP-1);
//   - blocked cards (BL-1): a card blocked centrally in the last days may
//     still be handed out or attest; the block reaches the station with
//     the next sync and the card's certificates are blocked centrally;
//   - stop windows (CP-3): published when they are entered, ahead of their
//     start, so an offline station honours the ones it already holds;
//   - person facts (RC-2..RC-4): a card or order made elsewhere in the
//     last days is not known; RC-4 doubles are caught at the registry;
//   - CRLs: the operator's and attestors' certificates are checked against
//     the CRLs the station holds (each also bounded by its NextUpdate and
//     the crl-grace setting, which kiosk/trust enforces).
//
// The validity table, intermediate CAs, stock and card status change
// rarely and may be two weeks old. The station's policy is a permission
// like the administrators' list; past its age the counter falls back to
// the fail-closed default rather than refusing every issuance.
func DefaultPolicy() Policy {
	return Policy{
		protocol.RefOperators:          OfflineAllowance,
		protocol.RefBlockedCards:       OfflineAllowance,
		protocol.RefStopWindows:        OfflineAllowance,
		protocol.RefValidity:           14 * 24 * time.Hour,
		protocol.RefTrustIntermediates: 14 * 24 * time.Hour,
		protocol.RefCRLs:               OfflineAllowance,
		protocol.RefStationPolicy:      OfflineAllowance,
		protocol.RefPersonFacts:        OfflineAllowance,
		protocol.RefShipments:          14 * 24 * time.Hour,
		protocol.RefCardStatus:         14 * 24 * time.Hour,
	}
}

// IssuingKinds are the registry data an issuance decides on: the
// administrators (AD-1), blocked cards (BL-1), stops (CP-3), the validity
// table (RC-1) and the person facts (RC-2..RC-4).
var IssuingKinds = []string{protocol.RefOperators, protocol.RefBlockedCards, protocol.RefStopWindows,
	protocol.RefValidity, protocol.RefPersonFacts}

// Until is when the first of kinds goes stale under the policy, and
// which kind that is: the moment a station that hears nothing more from
// the registry stops issuing. A kind never completely synced, or
// mid-resync, is stale already: its zero time is returned. Kinds the
// policy does not bound are left out; ok is false when none is bounded.
func (p Policy) Until(ctx context.Context, st *store.Store, kinds ...string) (until time.Time, kind string, ok bool, err error) {
	states, err := st.RefStates(ctx)
	if err != nil {
		return time.Time{}, "", false, fmt.Errorf("refdata: read sync states: %w", err)
	}
	for _, k := range kinds {
		max, bounded := p[k]
		if !bounded {
			continue
		}
		r, synced := states[k]
		var t time.Time
		if synced && !r.CompleteAt.IsZero() && !r.Resyncing {
			t = r.CompleteAt.Add(max)
		}
		if !ok || t.Before(until) {
			until, kind, ok = t, k, true
		}
	}
	return until, kind, ok, nil
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

// Ages returns the state of every kind, in protocol.RefKinds order, as
// the store reads it.
func Ages(ctx context.Context, st *store.Store, now time.Time) ([]Age, error) {
	got, err := st.RefStates(ctx)
	if err != nil {
		return nil, fmt.Errorf("refdata: read ages: %w", err)
	}
	out := make([]Age, 0, len(protocol.RefKinds))
	for _, k := range protocol.RefKinds {
		a := Age{Kind: k}
		if r, ok := got[k]; ok {
			a.CompleteAt, a.Resyncing = r.CompleteAt, r.Resyncing
			if !r.CompleteAt.IsZero() {
				a.Age = now.Sub(r.CompleteAt)
			}
		}
		out = append(out, a)
	}
	return out, nil
}

// Fresh returns nil when kind was completely synced within maxAge before
// now, and a *StaleError otherwise.
func Fresh(ctx context.Context, st *store.Store, kind string, maxAge time.Duration, now time.Time) error {
	r, err := st.RefState(ctx, kind)
	if errors.Is(err, store.ErrNotFound) {
		return &StaleError{Kind: kind, MaxAge: maxAge, Never: true}
	}
	if err != nil {
		return fmt.Errorf("refdata: freshness of %s: %w", kind, err)
	}
	return Judge(r, maxAge, now)
}

// Judge applies the policy to one kind's sync state: nil when it was
// completely synced within maxAge before now, a *StaleError otherwise.
func Judge(r store.RefState, maxAge time.Duration, now time.Time) error {
	if r.CompleteAt.IsZero() {
		return &StaleError{Kind: r.Kind, MaxAge: maxAge, Never: true}
	}
	if r.Resyncing {
		return &StaleError{Kind: r.Kind, MaxAge: maxAge, Resyncing: true}
	}
	age := now.Sub(r.CompleteAt)
	if age < -clockSkewTolerance {
		return &StaleError{Kind: r.Kind, Age: age, MaxAge: maxAge, ClockBack: true}
	}
	if age > maxAge {
		return &StaleError{Kind: r.Kind, Age: age, MaxAge: maxAge}
	}
	return nil
}

// Check runs Fresh for each kind under policy and joins the failures.
func (p Policy) Check(ctx context.Context, st *store.Store, now time.Time, kinds ...string) error {
	var errs []error
	for _, k := range kinds {
		max, ok := p[k]
		if !ok {
			continue
		}
		if err := Fresh(ctx, st, k, max, now); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
