package counter

import (
	"crypto/x509"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kortstation/kortstation/sync/client/refdata"
)

// TestOfflineViewAndIssuingLimit (issue 15, days offline): the screens say
// nothing while the registry's data is recent, say since when it is old
// after an hour, warn a day before issuing stops, and issuing stops exactly
// at the policy's limit — not a second before.
func TestOfflineViewAndIssuingLimit(t *testing.T) {
	c := newCounter(t)
	limit := tuesday.Add(refdata.OfflineAllowance)
	if v := c.view(); v.Offline != nil {
		t.Fatalf("fresh data: offline view %+v, want none", v.Offline)
	}

	c.clock.Advance(2 * time.Hour)
	v := c.view()
	if v.Offline == nil || v.Offline.Hours != 2 || v.Offline.Warn || v.Offline.Stopped || !v.Offline.Since.Equal(tuesday) || !v.Offline.IssuingUntil.Equal(limit) {
		t.Fatalf("two hours offline: %+v, want since %s, 2 hours, issuing until %s, no warning", v.Offline, tuesday, limit)
	}

	c.clock.Advance(limit.Sub(c.clock.Now()) - 23*time.Hour)
	if v := c.view(); v.Offline == nil || !v.Offline.Warn || v.Offline.Stopped {
		t.Fatalf("23 hours before the limit: %+v, want a warning", v.Offline)
	}

	// At the limit itself issuing goes on…
	c.clock.Advance(23 * time.Hour)
	c.login()
	if err := c.call("flow.start", map[string]Kind{"kind": KindIssue}); err != nil {
		t.Fatalf("at the limit: %v, want issuing to go on", err)
	}
	if err := c.call("flow.cancel", nil); err != nil {
		t.Fatal(err)
	}
	// …a second past it, it stops, and the screen says so.
	c.clock.Advance(time.Second)
	err := c.call("flow.start", map[string]Kind{"kind": KindIssue})
	var r *Refusal
	if !errors.As(err, &r) || !strings.Contains(r.Error(), "hours old (at most 96)") {
		t.Fatalf("a second past the limit: %v, want a refusal for stale data", err)
	}
	if v := c.view(); v.Offline == nil || !v.Offline.Stopped || v.Offline.Warn {
		t.Fatalf("past the limit: %+v, want stopped", v.Offline)
	}
}

// TestIssuingLimitFollowsRevocationLists: a revocation list that runs out
// before the data does sets the limit (its NextUpdate plus grace).
func TestIssuingLimitFollowsRevocationLists(t *testing.T) {
	c := newCounter(t)
	crlDER, err := c.ca.CRL(2, tuesday.Add(-time.Hour), tuesday.Add(36*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	crl, err := x509.ParseRevocationList(crlDER)
	if err != nil {
		t.Fatal(err)
	}
	c.crl = crl
	c.m.Changed(t.Context())
	until, limit, ok, err := c.m.IssuingUntil(t.Context())
	if err != nil || !ok || limit != "crls" || !until.Equal(tuesday.Add(36*time.Hour)) {
		t.Fatalf("IssuingUntil = %s %q %v %v, want the CRL's next update %s", until, limit, ok, err, tuesday.Add(36*time.Hour))
	}
}
