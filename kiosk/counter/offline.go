package counter

import (
	"context"
	"time"
)

// OfflineView says how long the station has gone without the registry's
// data and when it stops issuing without it (issue 15: days offline).
// The screens show it once the data is an hour old and warn a day
// before issuing stops; it holds no personal data.
type OfflineView struct {
	// Since is when the registry's data was last complete (zero: never).
	Since time.Time `json:"since,omitzero"`
	// Hours is how long ago that was, in whole hours.
	Hours int `json:"hours"`
	// IssuingUntil is when issuing stops if nothing more arrives: the
	// first issuing data kind to pass its maximum age, or a revocation
	// list past its NextUpdate and grace. Zero when issuing already
	// waits for data never received.
	IssuingUntil time.Time `json:"issuing_until,omitzero"`
	// Limit is what sets IssuingUntil (a reference data kind, or "crls"),
	// for the audit log and tests, not for the screen.
	Limit string `json:"limit,omitempty"`
	// Warn: issuing stops within offlineWarnAhead.
	Warn bool `json:"warn"`
	// Stopped: issuing is refused for data too old.
	Stopped bool `json:"stopped"`
}

// offlineShowAfter is when the screens start to say the station is
// offline; offlineWarnAhead is how far ahead they warn that issuing stops.
const (
	offlineShowAfter = time.Hour
	offlineWarnAhead = 24 * time.Hour
)

// IssuingUntil is when the station stops issuing if it hears nothing more
// from the registry, and what sets that limit. ok is false when nothing
// bounds it (a policy without issuing kinds and no revocation lists).
func (m *Counter) IssuingUntil(ctx context.Context) (until time.Time, limit string, ok bool, err error) {
	until, limit, ok, err = m.opts.Freshness.Until(ctx, m.st, issuingKinds...)
	if err != nil {
		return time.Time{}, "", false, err
	}
	if m.trust != nil {
		if crl, has := m.trust.RevocationUntil(); has && (!ok || crl.Before(until)) {
			until, limit, ok = crl, "crls", true
		}
	}
	return until, limit, ok, nil
}

// offlineView is the station's offline state now; nil while the data is
// recent enough not to mention.
func (m *Counter) offlineView(ctx context.Context) *OfflineView {
	now := m.clock.Now()
	states, err := m.st.RefStates(ctx)
	if err != nil {
		m.log.Warn("offline state: read sync states", "err", err)
		return nil
	}
	var since time.Time
	for _, s := range states {
		if s.CompleteAt.After(since) {
			since = s.CompleteAt
		}
	}
	until, limit, ok, err := m.IssuingUntil(ctx)
	if err != nil {
		m.log.Warn("offline state: issuing limit", "err", err)
		return nil
	}
	if !since.IsZero() && now.Sub(since) < offlineShowAfter && (!ok || until.Sub(now) > offlineWarnAhead) {
		return nil
	}
	v := &OfflineView{Since: since, IssuingUntil: until, Limit: limit}
	if !since.IsZero() {
		v.Hours = int(now.Sub(since) / time.Hour)
	}
	if ok {
		v.Stopped = !now.Before(until) || until.IsZero()
		v.Warn = !v.Stopped && until.Sub(now) <= offlineWarnAhead
	}
	return v
}

// offlineKey is what of the offline state the screens show: a change of
// it is a change of the view.
func offlineKey(v *OfflineView) [4]int64 {
	if v == nil {
		return [4]int64{}
	}
	b := func(x bool) int64 {
		if x {
			return 1
		}
		return 0
	}
	return [4]int64{1, int64(v.Hours), v.IssuingUntil.Unix(), b(v.Warn)<<1 | b(v.Stopped)}
}

// checkOffline re-reads the offline state and tells the screens when
// what they show of it changed. Called with m.mu held.
func (m *Counter) checkOffline(ctx context.Context) {
	k := offlineKey(m.offlineView(ctx))
	if k != m.offlineShown {
		m.offlineShown = k
		m.changed()
	}
}
