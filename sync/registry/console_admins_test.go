package registry_test

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/kortstation/kortstation/kiosk/trust/trusttest"
	"github.com/kortstation/kortstation/sync/protocol"
	"github.com/kortstation/kortstation/sync/registry"
	"github.com/kortstation/kortstation/sync/registrytest"
)

// TestConsoleAdminChangesAD2 drives the console's administrators page over
// HTTPS with client certificates: a station's request (pushed over the
// wire format) is listed; a viewer may see it but not approve it; a post
// without the CSRF token or from another site changes nothing; a station
// manager rejects one only with a reason and approves another, which
// changes the station's operators snapshot (AD-1); a station manager
// removes an administrator at a station directly, planned with
// PlanAdminChange (an incomplete appointment is refused); every action is
// in the audit trail.
func TestConsoleAdminChangesAD2(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	srv, err := registry.Open(ctx, registry.Config{DataDir: dir, Logger: registrytest.Logger(t), Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() }) // after the console stops
	for _, st := range []string{"ST-1", "ST-2"} {
		if err := srv.AddStation(ctx, st, "Test station"); err != nil {
			t.Fatal(err)
		}
	}
	if err := srv.Seed(ctx, "ST-1"); err != nil {
		t.Fatal(err)
	}
	root := trusttest.NewRoot(t, "SITHS e-id Root CA v2", trusttest.ECDSA)
	inter := root.Intermediate("SITHS e-id Person HSA-id 3 CA v1", trusttest.ECDSA)
	now := time.Now()
	type admin struct {
		cert *x509.Certificate
		key  crypto.Signer
	}
	admins := map[string]admin{}
	for _, id := range []string{viewerID, caseID, managerID} {
		c, k := inter.Issue(trusttest.Leaf{HSAID: id})
		admins[id] = admin{c, k}
	}
	registrytest.TrustIntermediate(t, ctx, srv, inter, now.Add(-time.Hour), now.Add(23*time.Hour))
	base := registrytest.ServeConsole(t, ctx, srv, root.PEM(), viewerID+" viewer\n"+caseID+" case_officer\n"+managerID+" station_manager\n")
	f := &consoleFixture{t: t, ctx: ctx, srv: srv, dir: dir, base: base, pool: srv.CA().Pool()}
	as := func(id string) *http.Client { return f.client(admins[id].cert, admins[id].key) }

	// ST-1 asks for two appointments (the events as its sync pushes them).
	const anna, newAdmin, other, boss = "SE2321000131-P000000012345", "SE2321000131-P000000077777", "SE2321000131-P000000066666", "SE2321000131-P000000088888"
	var events []protocol.Event
	for i, a := range []string{newAdmin, other} {
		p := protocol.AdminChangePayload{RequestID: "AD-" + a[len(a)-5:], Station: "ST-1", Change: protocol.AdminAppointed, Admin: a, Name: "Ny Administratör",
			Email: "ny@example.se", Phone: "0701234567", Manager: boss, ManagerName: "Maja Chef", ManagerProof: protocol.ManagerProofCard,
			TrainingConfirmed: true, Operator: anna, At: now}
		events = append(events, event(t, int64(i+1), p))
	}
	if _, err := srv.Store(ctx, "ST-1", events); err != nil {
		t.Fatal(err)
	}
	operators := func(station string) map[string]bool {
		t.Helper()
		resp, err := srv.Pull(ctx, station, map[string]string{protocol.RefOperators: ""}, 0)
		if err != nil {
			t.Fatal(err)
		}
		var ops []protocol.Operator
		if err := json.Unmarshal(resp.Pages[protocol.RefOperators].Items, &ops); err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for _, o := range ops {
			out[o.HSAID] = o.Authorised
		}
		return out
	}
	status := func(id string) string {
		t.Helper()
		reqs, err := srv.AdminRequests(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range reqs {
			if r.ID == id {
				return r.Status + ":" + r.Reason
			}
		}
		return ""
	}

	// Every role sees the page, in Swedish by default; only a station
	// manager is offered the decision and the direct change.
	for _, id := range []string{viewerID, managerID} {
		res, body := f.get(as(id), "/admin/admins")
		if res.StatusCode != http.StatusOK || !strings.Contains(body, "Ändringar som väntar på beslut") || !strings.Contains(body, newAdmin) {
			t.Fatalf("%s: GET /admin/admins %d", id, res.StatusCode)
		}
		if offered := strings.Contains(body, `action="/admin/admins/decide"`); offered != (id == managerID) {
			t.Errorf("%s: decision form offered %v", id, offered)
		}
		if !f.auditHas("console.view", id, "") {
			t.Errorf("%s: view not audited", id)
		}
	}
	if _, body := f.get(as(viewerID), "/admin"); !strings.Contains(body, `href="/admin/admins"`) {
		t.Error("the console does not link the administrators page")
	}

	approve := func(id string) url.Values {
		return url.Values{"station": {"ST-1"}, "id": {id}, "decision": {"approve"}}
	}
	withCSRF := func(c *http.Client, v url.Values) url.Values {
		v.Set("csrf", f.csrf(c))
		return v
	}
	// Attackers: a viewer and a case officer may not decide; no CSRF
	// token, or a cross-site post, changes nothing.
	viewer, caseOfficer, manager := as(viewerID), as(caseID), as(managerID)
	if code := f.post(viewer, "/admin/admins/decide", withCSRF(viewer, approve("AD-77777")), nil); code != http.StatusForbidden {
		t.Errorf("viewer approves: %d, want 403", code)
	}
	if code := f.post(caseOfficer, "/admin/admins/decide", withCSRF(caseOfficer, approve("AD-77777")), nil); code != http.StatusForbidden {
		t.Errorf("case officer approves: %d, want 403", code)
	}
	if code := f.post(manager, "/admin/admins/decide", approve("AD-77777"), nil); code != http.StatusForbidden {
		t.Errorf("no CSRF token: %d, want 403", code)
	}
	if code := f.post(manager, "/admin/admins/decide", withCSRF(manager, approve("AD-77777")), func(r *http.Request) {
		r.Header.Set("Origin", "https://evil.example")
	}); code != http.StatusForbidden {
		t.Errorf("cross-origin post: %d, want 403", code)
	}
	if s := status("AD-77777"); s != "pending:" {
		t.Fatalf("after the refused posts: %s, want pending", s)
	}
	if !f.auditHas("admin_change.decide", viewerID, "refused") || !f.auditHas("console.csrf_refused", managerID, "refused") {
		t.Error("refused decisions not audited")
	}

	// A rejection needs a reason.
	reject := url.Values{"station": {"ST-1"}, "id": {"AD-66666"}, "decision": {"reject"}}
	if code := f.post(manager, "/admin/admins/decide", withCSRF(manager, reject), nil); code != http.StatusBadRequest {
		t.Errorf("reject without a reason: %d, want 400", code)
	}
	reject.Set("reason", "Inte utbildad ännu")
	if code := f.post(manager, "/admin/admins/decide", withCSRF(manager, reject), nil); code != http.StatusOK {
		t.Errorf("reject: %d", code)
	}
	if code := f.post(manager, "/admin/admins/decide", withCSRF(manager, approve("AD-77777")), nil); code != http.StatusOK {
		t.Errorf("approve: %d", code)
	}
	if s := status("AD-66666"); s != "rejected:Inte utbildad ännu" {
		t.Errorf("rejected request: %s", s)
	}
	if s := status("AD-77777"); s != "approved:" {
		t.Errorf("approved request: %s", s)
	}
	if ops := operators("ST-1"); !ops[newAdmin] || ops[other] {
		t.Errorf("AD-1: ST-1's operators %v: want the approved one authorised, not the rejected one", ops)
	}
	if ops := operators("ST-2"); ops[newAdmin] {
		t.Error("AD-1: the administrator approved for ST-1 is authorised at ST-2")
	}
	if !f.auditHas("admin_change.decide", managerID, "ok") {
		t.Error("decision not audited")
	}

	// Directly at the console: an incomplete appointment is refused by
	// PlanAdminChange; a removal at ST-2 only.
	bad := url.Values{"station": {"ST-2"}, "change": {"appointed"}, "admin": {other}, "name": {"X"}, "manager": {boss}, "training_confirmed": {"1"}}
	if code := f.post(manager, "/admin/admins/change", withCSRF(manager, bad), nil); code != http.StatusBadRequest {
		t.Errorf("appointment without e-mail and telephone: %d, want 400", code)
	}
	if operators("ST-2")[other] {
		t.Error("a refused appointment authorised the administrator")
	}
	remove := url.Values{"station": {"ST-2"}, "change": {"removed"}, "admin": {anna}, "manager": {boss}}
	if code := f.post(viewer, "/admin/admins/change", withCSRF(viewer, remove), nil); code != http.StatusForbidden {
		t.Errorf("viewer changes an administrator: %d, want 403", code)
	}
	if code := f.post(manager, "/admin/admins/change", withCSRF(manager, remove), nil); code != http.StatusOK {
		t.Errorf("removal: %d", code)
	}
	if ops1, ops2 := operators("ST-1"), operators("ST-2"); !ops1[anna] || ops2[anna] {
		t.Errorf("AD-1: after removing Anna at ST-2: ST-1 %v, ST-2 %v", ops1[anna], ops2[anna])
	}
	if !f.auditHas("admin_change.make", managerID, "ok") || !f.auditHas("admin_change.make", managerID, "invalid") {
		t.Error("direct changes not audited")
	}
	// English on the toggle.
	en := as(viewerID)
	if res, _ := f.get(en, "/admin/admins?lang=en"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("language switch: %d", res.StatusCode)
	}
	if _, body := f.get(en, "/admin/admins"); !strings.Contains(body, "Decided changes") || !strings.Contains(body, "Inte utbildad ännu") {
		t.Error("English page or the rejection's reason missing")
	}
}

// event is payload as a station's event seq.
func event(t *testing.T, seq int64, p protocol.Payload) protocol.Event {
	t.Helper()
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return protocol.Event{Seq: seq, ID: uuid.NewString(), Kind: p.EventKind(), Payload: b, CreatedAt: time.Now(), ClockSource: "ntp"}
}
