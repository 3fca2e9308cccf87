package counter

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kortstation/kortstation/sync/client/reconcile"
	"github.com/kortstation/kortstation/sync/protocol"
	"github.com/kortstation/kortstation/sync/registry"
	"github.com/kortstation/kortstation/sync/registrytest"
)

// On-demand look-ups (issue 12 item 5), with a real registry over mutual
// TLS: the station holds nothing about a person whose reserve card was
// issued at another station; the counter asks the registry and refuses by
// RC-4 at the look-up, before any ID data is typed.

const counterOperator = "SE2321000131-P000000000011" // the card login() uses

// remoteRegistry starts a registry that knows the counter's operator and a
// person with a regular card and a reserve card issued at ST-B, and
// connects the counter to it as ST-A. It returns the person's number.
func remoteRegistry(t *testing.T, c *counter) (*registrytest.Registry, string) {
	t.Helper()
	ctx := context.Background()
	reg := registrytest.Start(t)
	if err := reg.Server.Seed(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if err := reg.Server.SetOperator(ctx, counterOperator, "Test Operatör Ett", true); err != nil {
		t.Fatal(err)
	}
	pnr := registry.TestPersonalNumber("19810303", 717)
	if err := reg.Server.SetPersonFactsDoc(ctx, pnr, protocol.PersonFactsDoc{
		RegularCards: []protocol.RegularCardFact{{Serial: "SIS-717", State: "active"}},
		ReserveCards: []protocol.ReserveCardFact{{Serial: "RK-B1", Reason: "forgotten", Station: "ST-B", ValidUntil: "2099-01-01T00:00:00Z"}},
	}); err != nil {
		t.Fatal(err)
	}
	id := reg.Identity(t, "ST-A")
	id.URL = reg.URL
	cli, err := reconcile.New(reconcile.Config{Identity: id, Version: "test", RequestTimeout: 10 * time.Second}, c.st, c.clock, registrytest.Logger(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cli.Close)
	c.m.SetPersonLookup(cli)
	return reg, pnr
}

// TestRemoteLookupRC4FromAnotherStation: a person with a reserve card at
// station B, looked up at A which holds nothing about them → the registry
// is asked, the card at B is shown and RC-4 refuses at the look-up, before
// any ID data; the facts are not stored at A; the registry recorded the
// look-up for the operator.
func TestRemoteLookupRC4FromAnotherStation(t *testing.T) {
	c := newCounter(t)
	reg, pnr := remoteRegistry(t, c)
	c.login()
	if err := c.call("flow.start", map[string]Kind{"kind": KindIssue}); err != nil {
		t.Fatal(err)
	}
	c.mustStep("reason", map[string]string{"reason": "forgotten"})
	err := c.step("find", FindInput{Query: pnr})
	if !strings.Contains(rulesOf(err), "RC-4") {
		t.Fatalf("got %v, want RC-4", err)
	}
	v := c.view()
	if v.Flow.Step != StepRecipient || !hasRule(v.Flow.Errors, "RC-4") {
		t.Errorf("flow = step %s, errors %+v; want RC-4 at the look-up, before the identification", v.Flow.Step, v.Flow.Errors)
	}
	f := c.found()
	if f["registry"] != remoteFound || !strings.Contains(foundCards(f), "RK-B1") {
		t.Errorf("found = %v; want the registry's facts with the reserve card at ST-B", f)
	}
	var n int
	if err := c.st.Reader().QueryRow(`SELECT count(*) FROM ref_person_facts WHERE personal_number = ?`, pnr).Scan(&n); err != nil || n != 0 {
		t.Errorf("the looked-up facts were stored at the station (%d, %v); they are for the flow only", n, err)
	}
	ls, err := reg.Server.PersonLookups(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(ls) != 1 || ls[0].Station != "ST-A" || ls[0].Operator != counterOperator || ls[0].Outcome != registry.LookupFound {
		t.Errorf("registry's look-up record = %+v", ls)
	}
	// Typing the number again at the recipient step asks no more: the
	// flow keeps the answer.
	err = c.step("recipient", RecipientInput{PersonalNumber: pnr, Name: "Rut Ek"})
	if !strings.Contains(rulesOf(err), "RC-4") {
		t.Errorf("recipient step: got %v, want RC-4", err)
	}
	if ls, _ := reg.Server.PersonLookups(context.Background(), 10); len(ls) != 1 {
		t.Errorf("%d look-ups recorded, want 1 for the flow", len(ls))
	}
}

// TestRemoteLookupOffline: the registry cannot be asked → the screen says
// so (registry: unavailable) and the checks run on the station's data
// only: with no card or order known here, RC-3 refuses.
func TestRemoteLookupOffline(t *testing.T) {
	c := newCounter(t)
	reg, pnr := remoteRegistry(t, c)
	reg.Stop()
	c.login()
	if err := c.call("flow.start", map[string]Kind{"kind": KindIssue}); err != nil {
		t.Fatal(err)
	}
	c.mustStep("reason", map[string]string{"reason": "forgotten"})
	err := c.step("find", FindInput{Query: pnr})
	if !strings.Contains(rulesOf(err), "RC-3") {
		t.Fatalf("got %v, want RC-3 on the station's own data", err)
	}
	if f := c.found(); f["registry"] != remoteUnavailable {
		t.Errorf("found = %v; want registry unavailable on screen", f)
	}
	if strings.Contains(c.logs.String(), pnr) || strings.Contains(c.logs.String(), pnr[2:]) {
		t.Error("the personal number is in the station's log")
	}
}
