package counter

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/kortstation/kortstation/kiosk/store"
	"github.com/kortstation/kortstation/sync/protocol"
)

const (
	opEtt        = "SE2321000131-P000000000011" // logged in by c.login
	opTva        = "SE2321000131-P000000000012" // Test Operatör Två, card ...012, PIN 2345
	intygsgivare = "SE2321000131-P000000000021" // on the list, not authorised
	managerCard  = attestorCard2                // Chef Chefsson, PIN 4567
)

// manage puts the manager's card in the card reader and types its PIN.
func (c *counter) manage(serial, pin string) error {
	c.t.Helper()
	if err := c.call("session.touch", nil); err != nil { // clears the last refusal
		c.t.Fatal(err)
	}
	c.insert(1, serial)
	v := c.waitView(func(v View) bool {
		return v.Flow != nil && (v.Flow.Data["manager_login"] != nil || len(v.Flow.Errors) > 0)
	})
	defer func() {
		c.remove(1)
		c.waitView(func(v View) bool { return v.Flow != nil && v.Flow.Data["manager_login"] == nil })
	}()
	if len(v.Flow.Errors) > 0 {
		return refuse(v.Flow.Errors...)
	}
	return c.step("manager_pin", map[string]string{"pin": pin})
}

func (c *counter) adminEvents() []protocol.AdminChangePayload {
	c.t.Helper()
	evs, err := c.st.PendingEvents(context.Background(), 0, 1000)
	if err != nil {
		c.t.Fatal(err)
	}
	var out []protocol.AdminChangePayload
	for _, e := range evs {
		if e.Kind == protocol.KindAdminChange {
			var p protocol.AdminChangePayload
			if err := json.Unmarshal(e.Payload, &p); err != nil {
				c.t.Fatal(err)
			}
			out = append(out, p)
		}
	}
	return out
}

// loginError logs in with serial and returns the login's error (nil:
// logged in).
func (c *counter) loginWith(serial, pin string) *Message {
	c.t.Helper()
	c.insert(0, serial)
	v := c.waitView(func(v View) bool { return v.State == StatePIN || (v.Login != nil && v.Login.Error != nil) })
	if v.Login != nil && v.Login.Error != nil {
		e := *v.Login.Error
		c.remove(0)
		return &e
	}
	if err := c.call("session.pin", map[string]string{"pin": pin}); err != nil {
		c.t.Fatal(err)
	}
	return nil
}

// TestAdminChangeAtTheStationAD2: the logged-in administrator enters an
// appointment; the manager proves who they are with their own SITHS card
// and PIN (not the administrator's card, not with a wrong PIN); the change
// is planned (AD-1: training vouched for, details complete), stored with
// its audit entries and sent to the central service (AD-2), and shows as
// pending; the appointee cannot log in until the registry's list names
// them, then can (AD-1 at the next login). A removal is in force here at
// once.
func TestAdminChangeAtTheStationAD2(t *testing.T) {
	c := newCounter(t)
	c.login()
	if err := c.call("flow.start", map[string]Kind{"kind": KindAdmins}); err != nil {
		t.Fatal(err)
	}
	v := c.view()
	if v.Flow.Step != StepList {
		t.Fatalf("admins starts at %s, want list", v.Flow.Step)
	}
	if list, _ := v.Flow.Data["admins"].([]map[string]any); len(list) < 2 {
		t.Fatalf("administrators listed: %+v", v.Flow.Data["admins"])
	}
	appoint := AdminChangeInput{Change: "appointed", Admin: intygsgivare, Name: "Test Intygsgivare", Email: "ti@example.se", Phone: "0701234567"}
	// AD-1: the manager must vouch for the training.
	if err := c.step("request", appoint); rulesOf(err) != "AD-1" {
		t.Fatalf("appointment without training: %v, want an AD-1 refusal", err)
	}
	// AD-2: the appointee's details are complete.
	noPhone := appoint
	noPhone.TrainingConfirmed, noPhone.Phone = true, ""
	if err := c.step("request", noPhone); rulesOf(err) != "AD-2" {
		t.Fatalf("appointment without a telephone: %v, want an AD-2 refusal", err)
	}
	// An administrator already authorised here is not appointed again.
	if err := c.step("request", AdminChangeInput{Change: "appointed", Admin: opTva, Name: "Två", Email: "t@example.se", Phone: "1", TrainingConfirmed: true}); rulesOf(err) != "AD-1" {
		t.Fatalf("appointing an authorised administrator: %v, want AD-1", err)
	}
	appoint.TrainingConfirmed = true
	if err := c.step("request", appoint); err != nil {
		t.Fatal(err)
	}
	if v := c.view(); v.Flow.Step != StepManager {
		t.Fatalf("after the request: step %s, want manager", v.Flow.Step)
	}
	if err := c.step("confirm", nil); rulesOf(err) != "AD-1" {
		t.Fatalf("confirm without the manager: %v, want AD-1", err)
	}
	// Attackers: the logged-in administrator's own (twin) card is not a
	// manager; a wrong PIN proves nobody.
	if err := c.manage(operatorTwin, "1234"); err == nil || !strings.Contains(err.Error(), "own card") {
		t.Fatalf("the operator's card as manager: %v, want refused", err)
	}
	if err := c.manage(managerCard, "0000"); err == nil {
		t.Fatal("manager's wrong PIN accepted")
	}
	if c.view().Flow.Data["manager"] != nil {
		t.Fatal("a wrong PIN proved the manager")
	}
	if err := c.manage(managerCard, "4567"); err != nil {
		t.Fatal(err)
	}
	if m, _ := c.view().Flow.Data["manager"].(map[string]any); m["hsa_id"] != "SE2321000131-P000000000022" || m["name"] != "Chef Chefsson" {
		t.Fatalf("manager from their card: %+v", c.view().Flow.Data["manager"])
	}
	if err := c.step("confirm", nil); err != nil {
		t.Fatal(err)
	}
	v = c.view()
	if v.Flow.Step != StepDone || v.Flow.Data["result"].(map[string]any)["authorised_now"] != false {
		t.Fatalf("done: %+v", v.Flow)
	}
	evs := c.adminEvents()
	if len(evs) != 1 {
		t.Fatalf("admin_change events: %+v, want 1", evs)
	}
	p := evs[0]
	if p.Station != "t" || p.Change != "appointed" || p.Admin != intygsgivare || p.Manager != "SE2321000131-P000000000022" ||
		p.ManagerProof != protocol.ManagerProofCard || !p.TrainingConfirmed || p.Operator != opEtt || p.Email != "ti@example.se" {
		t.Errorf("AD-2 event: %+v", p)
	}
	for _, kind := range []string{"admin_change.requested", "admin_change.manager_verified", "admin_change.manager_pin_refused"} {
		var n int
		if err := c.st.Reader().QueryRow(`SELECT count(*) FROM audit_log WHERE kind = ?`, kind).Scan(&n); err != nil || n != 1 {
			t.Errorf("audit %s: %d entries, %v; want 1", kind, n, err)
		}
	}
	// Back to the list: the change is pending; a second change for the
	// same administrator waits for it.
	if err := c.step("list", nil); err != nil {
		t.Fatal(err)
	}
	reqs, _ := c.view().Flow.Data["requests"].([]map[string]any)
	if len(reqs) != 1 || reqs[0]["status"] != "pending" || reqs[0]["admin"] != intygsgivare {
		t.Fatalf("requests listed: %+v", reqs)
	}
	if err := c.step("request", appoint); rulesOf(err) != "AD-2" {
		t.Fatalf("a second change while one is pending: %v, want AD-2", err)
	}

	// A removal of Test Operatör Två is in force here at once.
	if err := c.step("request", AdminChangeInput{Change: "removed", Admin: opTva}); err != nil {
		t.Fatal(err)
	}
	if err := c.manage(managerCard, "4567"); err != nil {
		t.Fatal(err)
	}
	if err := c.step("confirm", nil); err != nil {
		t.Fatal(err)
	}
	if r := c.view().Flow.Data["result"].(map[string]any); r["revoked_here"] != true || r["name"] != "Test Operatör Två" {
		t.Fatalf("removal result: %+v", r)
	}
	c.logout()
	c.remove(0)
	c.waitView(func(v View) bool { return v.State == StateLocked })
	if e := c.loginWith("9752269900000000012", "2345"); e == nil || e.Rule != "AD-1" {
		t.Fatalf("AD-1: the administrator whose removal is pending logged in (%v)", e)
	}
	// AD-1: the appointee cannot log in while pending...
	if e := c.loginWith(attestorCard1, "3456"); e == nil || e.Rule != "AD-1" {
		t.Fatalf("AD-1: the appointee logged in before the registry's approval (%v)", e)
	}
	// ...and can once the registry's list (its next sync) names them.
	ctx := context.Background()
	err := c.st.Update(ctx, c.clock, func(t *store.Tx) error {
		if err := t.ReplaceOperators(ctx, []protocol.Operator{{HSAID: opEtt, Name: "Test Operatör Ett", Authorised: true},
			{HSAID: intygsgivare, Name: "Test Intygsgivare", Authorised: true}}, c.clock.Now()); err != nil {
			return err
		}
		return t.ReplaceAdminRequests(ctx, []protocol.AdminRequest{
			{RequestID: p.RequestID, Change: "appointed", Admin: intygsgivare, Name: "Test Intygsgivare", Source: "station", Status: protocol.AdminApproved, DecidedAt: c.clock.Now()},
		}, c.clock.Now())
	})
	if err != nil {
		t.Fatal(err)
	}
	if e := c.loginWith(attestorCard1, "3456"); e != nil {
		t.Fatalf("AD-1: the approved appointee cannot log in: %+v", e)
	}
}
