package reconcile_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/kortstation/kortstation/kiosk/rules"
	"github.com/kortstation/kortstation/sync/client/refdata"
	"github.com/kortstation/kortstation/sync/protocol"
	"github.com/kortstation/kortstation/sync/registry"
	"github.com/kortstation/kortstation/sync/registrytest"
)

// devConsolePage is the registry's console page (development mode).
func devConsolePage(t *testing.T, reg *registrytest.Registry) string {
	t.Helper()
	c, err := reg.Server.NewConsole(context.Background(), registry.ConsoleConfig{Dev: true})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	c.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://127.0.0.1:8444/admin", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("console page: %d", rec.Code)
	}
	return rec.Body.String()
}

// TestSevenDayOutage (issue 15, days offline): a station cut off from the
// registry for a week, in fake time, with 10,000 records queued. Issuing
// goes on exactly as long as the default policy says (README "Days
// offline": through a long weekend), a total stop published ahead is
// honoured while offline (CP-3), the registry knew beforehand when the
// station would stop, and afterwards every record arrives exactly once.
func TestSevenDayOutage(t *testing.T) {
	ctx := context.Background()
	reg := registrytest.Start(t)
	p := registrytest.NewProxy(t, reg.Addr)
	s := newStation(t, reg.Identity(t, "ST-WEEK"), p.URL(), nil)
	// The station last synced 80 hours ago, so the console (on the real
	// clock) sees it within a day of its limit.
	s.clk.Set(time.Now().Add(-80 * time.Hour))
	t0 := s.clk.Now()
	policy := refdata.DefaultPolicy()

	// CP-3: a total stop entered ahead; it starts two days into the outage.
	stopStarts := t0.Add(48 * time.Hour).Truncate(time.Minute)
	if _, err := reg.Server.AddStopWindow(ctx, protocol.TotalStop, stopStarts, stopStarts.Add(6*time.Hour), "planned"); err != nil {
		t.Fatal(err)
	}
	mustOnce(t, s)
	mustOnce(t, s) // its status now reports the limit of the complete data
	limit, kind, ok, err := policy.Until(ctx, s.st, refdata.IssuingKinds...)
	if err != nil || !ok || !limit.Equal(t0.Add(refdata.OfflineAllowance)) {
		t.Fatalf("issuing limit = %s (%s) %v %v, want %s", limit, kind, ok, err, t0.Add(refdata.OfflineAllowance))
	}
	if got := stationInfo(t, reg, "ST-WEEK").Status.IssuingUntil; !got.Equal(limit) {
		t.Errorf("the registry was told the station issues until %s, want %s", got, limit)
	}
	if page := devConsolePage(t, reg); !strings.Contains(page, `<td class="issuing-until"><strong class="alarm">`) {
		t.Errorf("the console does not mark the station within a day of its limit:\n%s", page)
	}

	p.Set(true, 0, 0, 0) // the registry cannot be reached
	p.CloseAll()
	const backlog, days = 10000, 7
	for day := 1; day <= days; day++ {
		s.clk.Set(t0.Add(time.Duration(day) * 24 * time.Hour))
		n := backlog / days
		if day == days {
			n = backlog - (days-1)*(backlog/days)
		}
		s.enqueueN(n, 64)
		if err := s.cli.Once(ctx); err == nil {
			t.Fatalf("day %d: a sync through a refusing link succeeded", day)
		}
		err := policy.Check(ctx, s.st, s.clk.Now(), refdata.IssuingKinds...)
		if stale := s.clk.Now().After(limit); stale != (err != nil) {
			t.Errorf("day %d: issuing check = %v, want stale %v (limit %s)", day, err, stale, limit)
		}
	}
	if d := s.depth(); d != backlog {
		t.Fatalf("outbox holds %d records after the week, want %d", d, backlog)
	}
	// Exactly at the limit issuing goes on; a second later it stops.
	if err := policy.Check(ctx, s.st, limit, refdata.IssuingKinds...); err != nil {
		t.Errorf("at the limit: %v, want issuing to go on", err)
	}
	var se *refdata.StaleError
	if err := policy.Check(ctx, s.st, limit.Add(time.Second), refdata.IssuingKinds...); !errors.As(err, &se) {
		t.Errorf("a second past the limit: %v, want a StaleError", err)
	}
	// CP-3: the stop published ahead is honoured offline.
	windows, err := s.st.StopWindows(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v := rules.CheckTotalStop(windows, stopStarts.Add(time.Hour)); v == nil || v.Rule != "CP-3" {
		t.Errorf("CP-3: inside the stop published ahead: %v, want a refusal", v)
	}
	if v := rules.CheckTotalStop(windows, stopStarts.Add(-time.Minute)); v != nil {
		t.Errorf("CP-3: before the stop: %v, want none", v)
	}

	// The link is back: everything arrives once and issuing may resume.
	p.Clear()
	mustOnce(t, s)
	assertExactlyOnce(t, reg, s)
	if err := policy.Check(ctx, s.st, s.clk.Now(), refdata.IssuingKinds...); err != nil {
		t.Errorf("after the outage: %v, want fresh data", err)
	}
}
