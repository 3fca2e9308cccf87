package reconcile_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kortstation/kortstation/sync/client/reconcile"
	"github.com/kortstation/kortstation/sync/protocol"
	"github.com/kortstation/kortstation/sync/registry"
	"github.com/kortstation/kortstation/sync/registrytest"
)

// On-demand person look-ups (issue 12 item 5): a station asks the
// registry for one person it holds nothing about, for an authorised
// operator; every look-up is recorded with the personal number only as a
// keyed hash.

// lookupPerson sets up a person with a reserve card issued at B (RC-4),
// facts that only B holds.
func lookupPerson(t *testing.T, reg *registrytest.Registry) string {
	t.Helper()
	pnr := registry.TestPersonalNumber("19810303", 717)
	if err := reg.Server.SetPersonFactsDoc(context.Background(), pnr, protocol.PersonFactsDoc{
		RegularCards: []protocol.RegularCardFact{{Serial: "SIS-717", State: "active"}},
		ReserveCards: []protocol.ReserveCardFact{{Serial: "RK-B1", Reason: "forgotten", Station: "ST-B", ValidUntil: "2099-01-01"}},
	}); err != nil {
		t.Fatal(err)
	}
	return pnr
}

// lookups is the registry's look-up record, oldest first.
func lookups(t *testing.T, reg *registrytest.Registry) []registry.PersonLookup {
	t.Helper()
	ls, err := reg.Server.PersonLookups(context.Background(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	for i, j := 0, len(ls)-1; i < j; i, j = i+1, j-1 {
		ls[i], ls[j] = ls[j], ls[i]
	}
	return ls
}

// TestPersonLookupFoundNotStored: an authorised operator at A gets B's
// person's facts (the reserve card at B); A's person register stays
// without them; the look-up is recorded with the personal number as the
// same keyed hash the console's search records, never in clear.
func TestPersonLookupFoundNotStored(t *testing.T) {
	ctx := context.Background()
	reg, a, b := twoStations(t)
	pnr := lookupPerson(t, reg)
	mustOnce(t, a)
	mustOnce(t, b)
	if n := a.count(`SELECT count(*) FROM ref_person_facts WHERE personal_number = ?`, pnr); n != 0 {
		t.Fatalf("A holds the facts of B's person before any look-up (%d)", n)
	}
	facts, err := a.cli.LookupPerson(ctx, authorisedOp, pnr)
	if err != nil {
		t.Fatalf("look-up: %v", err)
	}
	var doc protocol.PersonFactsDoc
	if err := json.Unmarshal(facts, &doc); err != nil || len(doc.ReserveCards) != 1 || doc.ReserveCards[0].Station != "ST-B" {
		t.Fatalf("facts = %s (%v), want the reserve card at ST-B", facts, err)
	}
	nobody := registry.TestPersonalNumber("19810303", 718)
	if facts, err := a.cli.LookupPerson(ctx, authorisedOp, nobody); err != nil || facts != nil {
		t.Errorf("look-up of someone the registry has nothing about: got %s, %v; want nil, nil", facts, err)
	}
	mustOnce(t, a)
	if n := a.count(`SELECT count(*) FROM ref_person_facts WHERE personal_number = ?`, pnr); n != 0 {
		t.Errorf("A stored the looked-up facts (%d rows); they are for the flow only", n)
	}
	ls := lookups(t, reg)
	if len(ls) != 2 || ls[0].Outcome != registry.LookupFound || ls[1].Outcome != registry.LookupNotFound ||
		ls[0].Station != "ST-A" || ls[0].Operator != authorisedOp || ls[0].At == "" {
		t.Fatalf("look-up record = %+v", ls)
	}
	want, err := reg.Server.SearchTermHash(ctx, registry.SearchPersonalNumber, pnr)
	if err != nil {
		t.Fatal(err)
	}
	if ls[0].TermHMAC != want {
		t.Errorf("term hash = %s, want the search audit's %s", ls[0].TermHMAC, want)
	}
	noClearNumber(t, reg, pnr, nobody)
}

// noClearNumber: no column of the look-up record holds a personal number
// in any written form.
func noClearNumber(t *testing.T, reg *registrytest.Registry, pnrs ...string) {
	t.Helper()
	db := registrytest.RawDB(t, reg.Dir)
	rows, err := db.Query(`SELECT at, station_id, operator, term_hmac, outcome FROM person_lookups`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var cols [5]string
		if err := rows.Scan(&cols[0], &cols[1], &cols[2], &cols[3], &cols[4]); err != nil {
			t.Fatal(err)
		}
		for _, c := range cols {
			for _, p := range pnrs {
				if strings.Contains(c, p) || strings.Contains(c, p[2:]) || strings.Contains(c, p[:8]+"-"+p[8:]) {
					t.Errorf("look-up record holds the personal number in clear: %q", c)
				}
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}

// TestPersonLookupAttacks: without an operator, for an operator who is not
// authorised (AD-1) or unknown, from a locked station, in another
// station's name, with a revoked certificate or one from another CA: the
// look-up is refused and nothing is returned; each refusal that reached
// HTTP is recorded.
func TestPersonLookupAttacks(t *testing.T) {
	ctx := context.Background()
	reg, a, b := twoStations(t)
	pnr := lookupPerson(t, reg)
	refused := func(name string, facts json.RawMessage, err error, status int, code string) {
		t.Helper()
		var pe *protocol.Error
		if facts != nil {
			t.Errorf("%s: facts returned: %s", name, facts)
		}
		if status == 0 {
			if err == nil || errors.As(err, &pe) {
				t.Errorf("%s: got %v, want a TLS refusal", name, err)
			}
			return
		}
		if !errors.As(err, &pe) || pe.Status != status || pe.Code != code {
			t.Errorf("%s: got %v, want %d %s", name, err, status, code)
		}
	}
	facts, err := a.cli.LookupPerson(ctx, "", pnr)
	refused("no operator logged in", facts, err, http.StatusForbidden, protocol.CodeOperatorNotAuthorised)
	facts, err = a.cli.LookupPerson(ctx, deauthorisedOp, pnr)
	refused("operator not authorised (AD-1)", facts, err, http.StatusForbidden, protocol.CodeOperatorNotAuthorised)
	facts, err = a.cli.LookupPerson(ctx, "SE2321000131-P000000000666", pnr)
	refused("operator unknown", facts, err, http.StatusForbidden, protocol.CodeOperatorNotAuthorised)

	// B's certificate asking in A's name.
	tc, err := b.id.TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	hc := reconcile.NewHTTPClient(tc, 10*time.Second, nil)
	defer hc.CloseIdleConnections()
	var resp protocol.PersonLookupResponse
	err = protocol.Post(ctx, hc, reg.URL+protocol.PathPerson, protocol.PersonLookupRequest{StationID: "ST-A", Operator: authorisedOp, PersonalNumber: pnr}, &resp)
	refused("another station's certificate", resp.Facts, err, http.StatusForbidden, protocol.CodeIdentityMismatch)

	if _, err := reg.Server.SendCommand(ctx, "ST-A", protocol.CmdLock); err != nil {
		t.Fatal(err)
	}
	facts, err = a.cli.LookupPerson(ctx, authorisedOp, pnr)
	refused("locked station", facts, err, http.StatusLocked, protocol.CodeStationLocked)
	if _, err := reg.Server.SendCommand(ctx, "ST-A", protocol.CmdUnlock); err != nil {
		t.Fatal(err)
	}

	foreign := newStation(t, registrytest.ForeignIdentity(t, reg, "ST-A"), reg.URL, nil)
	facts, err = foreign.cli.LookupPerson(ctx, authorisedOp, pnr)
	// The client offers no certificate the registry's CA did not issue.
	refused("certificate from another CA", facts, err, http.StatusUnauthorized, protocol.CodeUnauthenticated)

	if err := reg.Server.RevokeStation(ctx, "ST-A"); err != nil {
		t.Fatal(err)
	}
	fresh := newStation(t, a.id, reg.URL, nil)
	facts, err = fresh.cli.LookupPerson(ctx, authorisedOp, pnr)
	refused("revoked certificate (fresh connection)", facts, err, 0, "")
	facts, err = a.cli.LookupPerson(ctx, authorisedOp, pnr)
	if facts != nil || err == nil {
		t.Errorf("revoked certificate (open connection): got %s, %v; want refused", facts, err)
	}

	var got []string
	for _, l := range lookups(t, reg) {
		got = append(got, l.Station+" "+l.Operator+" "+l.Outcome)
	}
	want := []string{
		"ST-A  " + registry.LookupNoOperator,
		"ST-A " + deauthorisedOp + " " + registry.LookupNoOperator,
		"ST-A SE2321000131-P000000000666 " + registry.LookupNoOperator,
		"ST-B " + authorisedOp + " " + registry.LookupIdentity,
		"ST-A " + authorisedOp + " " + registry.LookupLocked,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("look-up record:\n%s\nwant:\n%s\n(TLS refusals never reach the record: no request was read)", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	noClearNumber(t, reg, pnr)
}

// TestPersonLookupRateLimit: a burst of 10 look-ups per station, then one
// a minute; refusals take nothing from the allowance; another station has
// its own.
func TestPersonLookupRateLimit(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	reg := registrytest.NewWith(t, t.TempDir(), func(c *registry.Config) { c.Now = clk.Now })
	reg.Serve(t)
	if err := reg.Server.Seed(ctx, ""); err != nil {
		t.Fatal(err)
	}
	a := newStation(t, reg.Identity(t, "ST-A"), reg.URL, nil)
	b := newStation(t, reg.Identity(t, "ST-B"), reg.URL, nil)
	pnr := lookupPerson(t, reg)
	limited := func(err error) bool {
		var pe *protocol.Error
		return errors.As(err, &pe) && pe.Status == http.StatusTooManyRequests && pe.Code == protocol.CodeRateLimited
	}
	for i := range 10 {
		if _, err := a.cli.LookupPerson(ctx, authorisedOp, pnr); err != nil {
			t.Fatalf("look-up %d of the burst: %v", i+1, err)
		}
	}
	facts, err := a.cli.LookupPerson(ctx, authorisedOp, pnr)
	if !limited(err) || facts != nil {
		t.Fatalf("11th look-up: got %s, %v; want 429 %s", facts, err, protocol.CodeRateLimited)
	}
	if _, err := b.cli.LookupPerson(ctx, authorisedOp, pnr); err != nil {
		t.Errorf("B's first look-up while A is limited: %v", err)
	}
	clk.Set(clk.Now().Add(59 * time.Second))
	if _, err := a.cli.LookupPerson(ctx, authorisedOp, pnr); !limited(err) {
		t.Errorf("after 59 s: got %v, want still limited", err)
	}
	clk.Set(clk.Now().Add(time.Second))
	if _, err := a.cli.LookupPerson(ctx, authorisedOp, pnr); err != nil {
		t.Errorf("after a minute: %v, want one more allowed", err)
	}
	if _, err := a.cli.LookupPerson(ctx, authorisedOp, pnr); !limited(err) {
		t.Errorf("second after a minute: got %v, want limited", err)
	}
	clk.Set(clk.Now().Add(time.Hour))
	for i := range 10 {
		if _, err := a.cli.LookupPerson(ctx, authorisedOp, pnr); err != nil {
			t.Fatalf("after an hour, look-up %d: %v (the bucket refills to 10, no more)", i+1, err)
		}
	}
	if _, err := a.cli.LookupPerson(ctx, authorisedOp, pnr); !limited(err) {
		t.Errorf("after an hour, the 11th: got %v, want limited", err)
	}
	n := 0
	for _, l := range lookups(t, reg) {
		if l.Station == "ST-A" && l.Outcome == registry.LookupRateLimited {
			n++
		}
	}
	if n != 4 {
		t.Errorf("%d rate-limited look-ups recorded, want 4", n)
	}
}
