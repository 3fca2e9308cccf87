package reconcile_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/kortstation/kortstation/kiosk/rules"
	"github.com/kortstation/kortstation/kiosk/rules/ident"
	"github.com/kortstation/kortstation/kiosk/store"
	"github.com/kortstation/kortstation/sync/protocol"
	"github.com/kortstation/kortstation/sync/registry"
	"github.com/kortstation/kortstation/sync/registrytest"
)

// The seeded administrators (registry.Seed) and people of these tests.
const (
	adAnna    = "SE2321000131-P000000012345" // authorised everywhere
	adBertil  = "SE2321000131-P000000023456" // authorised everywhere
	adDoris   = "SE2321000131-P000000099999" // on the list, not authorised
	adNew     = "SE2321000131-P000000077777" // appointed at ST-A
	adManager = "SE2321000131-P000000088888" // the manager at ST-A
)

func hsa(t *testing.T, s string) ident.HSAID {
	t.Helper()
	h, err := ident.ParseHSAID(s)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// requestAdminChange records a change asked for at the station's counter
// (store.RecordAdminRequest: audit entry and admin_change event).
func requestAdminChange(t *testing.T, s *station, p protocol.AdminChangePayload) {
	t.Helper()
	ctx := context.Background()
	if p.At.IsZero() {
		p.At = s.clk.Now()
	}
	err := s.st.Update(ctx, s.clk, func(tx *store.Tx) error {
		return tx.RecordAdminRequest(ctx, p, store.Session{ID: "sess-1", Operator: p.Operator})
	})
	if err != nil {
		t.Fatal(err)
	}
}

func authorised(t *testing.T, s *station) []ident.HSAID {
	t.Helper()
	list, err := s.st.AuthorisedAdmins(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// canLogIn is the login's AD-1 check at the station (counter.startLogin).
func canLogIn(t *testing.T, s *station, h string) bool {
	t.Helper()
	return rules.CheckOperator(rules.Operator{Person: rules.Person{HSAID: hsa(t, h)}}, authorised(t, s)) == nil
}

func stationRequest(t *testing.T, s *station, id string) store.AdminRequest {
	t.Helper()
	reqs, err := s.st.AdminRequests(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range reqs {
		if r.ID == id {
			return r
		}
	}
	t.Fatalf("station has no admin request %s (has %+v)", id, reqs)
	return store.AdminRequest{}
}

// TestAdminChangeRequestApprovedAD1AD2: a station asks for an
// administrator to be appointed and another removed (AD-2); the removal
// is in force at that station at once; a station manager at the registry
// approves the appointment and rejects the removal with a reason; after
// the next sync the appointee can log in at that station and not at
// another (AD-1, per station), the removed one is back, and the station
// shows both decisions. A change made at the console for ST-A then
// removes an administrator there only.
func TestAdminChangeRequestApprovedAD1AD2(t *testing.T) {
	ctx := context.Background()
	reg := registrytest.Start(t)
	if err := reg.Server.Seed(ctx, "ST-A"); err != nil {
		t.Fatal(err)
	}
	a := newStation(t, reg.Identity(t, "ST-A"), reg.URL, nil)
	b := newStation(t, reg.Identity(t, "ST-B"), reg.URL, nil)
	mustOnce(t, a)
	mustOnce(t, b)
	if canLogIn(t, a, adNew) || !canLogIn(t, a, adBertil) {
		t.Fatal("before: the appointee must not log in and Bertil must")
	}

	requestAdminChange(t, a, protocol.AdminChangePayload{RequestID: "AD-1", Station: "ST-A", Change: protocol.AdminAppointed, Admin: adNew,
		Name: "Nora Ny", Email: "nora@example.se", Phone: "0701234567", Manager: adManager, ManagerName: "Maja Chef",
		ManagerProof: protocol.ManagerProofCard, TrainingConfirmed: true, Operator: adAnna})
	requestAdminChange(t, a, protocol.AdminChangePayload{RequestID: "AD-2", Station: "ST-A", Change: protocol.AdminRemoved, Admin: adBertil,
		Name: "Bertil Behörig", Manager: adManager, ManagerProof: protocol.ManagerProofCard, Operator: adAnna})
	// A removal is in force here at once (RevokeLocally); an appointment
	// waits for the registry.
	if canLogIn(t, a, adBertil) || canLogIn(t, a, adNew) {
		t.Error("AD-2: while pending, the removed administrator logged in here, or the appointee did")
	}
	mustOnce(t, a)
	if r := stationRequest(t, a, "AD-1"); r.Status != protocol.AdminPending {
		t.Errorf("AD-2: the station shows %q after the push, want pending", r.Status)
	}
	reqs, err := reg.Server.AdminRequests(ctx)
	if err != nil || len(reqs) != 2 {
		t.Fatalf("registry requests = %+v, %v; want 2 pending", reqs, err)
	}
	for _, r := range reqs {
		if r.Station != "ST-A" || r.Status != protocol.AdminPending || len(r.Findings) != 0 {
			t.Errorf("registry request %+v: want pending for ST-A without findings", r)
		}
	}
	if held, _ := reg.Server.ReviewItems(ctx); len(held) != 0 {
		t.Errorf("held for review: %+v; want none", held)
	}

	// AD-2: a rejection needs a reason.
	if err := reg.Server.DecideAdminRequest(ctx, "ST-A", "AD-2", false, registry.DevActor, " "); !errors.Is(err, registry.ErrInvalid) {
		t.Errorf("reject without a reason: got %v, want ErrInvalid", err)
	}
	if err := reg.Server.DecideAdminRequest(ctx, "ST-A", "AD-1", true, registry.DevActor, ""); err != nil {
		t.Fatal(err)
	}
	if err := reg.Server.DecideAdminRequest(ctx, "ST-A", "AD-2", false, registry.DevActor, "Chefen har inte bekräftat"); err != nil {
		t.Fatal(err)
	}
	if err := reg.Server.DecideAdminRequest(ctx, "ST-A", "AD-1", false, registry.DevActor, "again"); !errors.Is(err, registry.ErrDecided) {
		t.Errorf("decided twice: got %v, want ErrDecided", err)
	}
	// Another station's request ID is not this station's.
	if err := reg.Server.DecideAdminRequest(ctx, "ST-B", "AD-1", true, registry.DevActor, ""); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("ST-B/AD-1: got %v, want ErrNotFound", err)
	}

	mustOnce(t, a)
	mustOnce(t, b)
	if !canLogIn(t, a, adNew) {
		t.Error("AD-1: the approved appointee cannot log in at ST-A after its next sync")
	}
	if canLogIn(t, b, adNew) {
		t.Error("AD-1: the appointee at ST-A can log in at ST-B")
	}
	if !canLogIn(t, a, adBertil) {
		t.Error("AD-2: after the removal was rejected, Bertil cannot log in at ST-A")
	}
	if r := stationRequest(t, a, "AD-1"); r.Status != protocol.AdminApproved || r.DecidedAt.IsZero() {
		t.Errorf("station request AD-1 = %+v, want approved with its time", r)
	}
	if r := stationRequest(t, a, "AD-2"); r.Status != protocol.AdminRejected || r.Reason != "Chefen har inte bekräftat" {
		t.Errorf("station request AD-2 = %+v, want rejected with the reason", r)
	}
	if n := a.count(`SELECT count(*) FROM audit_log WHERE kind = 'admin_change.decided'`); n != 2 {
		t.Errorf("station audit: %d admin_change.decided entries, want 2", n)
	}
	// AD-2: the station audits what the new list changed (rules.DiffAdmins).
	if n := a.count(`SELECT count(*) FROM audit_log WHERE kind = 'admins.changed' AND detail LIKE ?`, `%"added":["`+adNew+`"]%`); n != 1 {
		t.Errorf("station audit: %d admins.changed entries adding the appointee, want 1", n)
	}
	if n := b.count(`SELECT count(*) FROM admin_requests`); n != 0 {
		t.Errorf("ST-B holds %d of ST-A's admin requests, want 0", n)
	}

	// The console removes Anna at ST-A directly (the manager e-mailed the
	// central service): at ST-A only, after its next sync.
	id, err := reg.Server.ChangeAdmin(ctx, "ST-A", rules.AdminChange{Kind: rules.AdminRemoved, Admin: hsa(t, adAnna), Manager: hsa(t, adManager)}, registry.DevActor)
	if err != nil {
		t.Fatal(err)
	}
	mustOnce(t, a)
	mustOnce(t, b)
	if canLogIn(t, a, adAnna) {
		t.Error("AD-1: the administrator removed at ST-A still logs in there")
	}
	if !canLogIn(t, b, adAnna) {
		t.Error("AD-1: the administrator removed at ST-A cannot log in at ST-B")
	}
	if r := stationRequest(t, a, id); r.Source != "console" || r.Status != protocol.AdminApproved {
		t.Errorf("console change at the station = %+v, want approved from the console", r)
	}
	// PlanAdminChange refuses an appointment without the manager's word
	// on the training (AD-1): nothing changes.
	_, err = reg.Server.ChangeAdmin(ctx, "ST-A", rules.AdminChange{Kind: rules.AdminAppointed, Admin: hsa(t, adDoris), Name: "Doris",
		Email: "d@example.se", Phone: "1", Manager: hsa(t, adManager)}, registry.DevActor)
	var refused *registry.ErrAdminChange
	if !errors.As(err, &refused) || !errors.Is(err, registry.ErrInvalid) || !slices.Contains(refused.Findings, "AD-1 admin.untrained") {
		t.Errorf("appointment without training: got %v, want ErrAdminChange with AD-1 admin.untrained", err)
	}
	mustOnce(t, a)
	if canLogIn(t, a, adDoris) {
		t.Error("AD-1: a refused appointment authorised the administrator")
	}
}

// TestAdminChangeAttackersAD2: a station asks for a change at another
// station, or by an administrator who is not authorised there (or names
// none): the registry stores it, holds it for central review and changes
// nothing; an administrator removed at a station cannot issue there.
func TestAdminChangeAttackersAD2(t *testing.T) {
	ctx := context.Background()
	reg := registrytest.Start(t)
	if err := reg.Server.Seed(ctx, "ST-A"); err != nil {
		t.Fatal(err)
	}
	a := newStation(t, reg.Identity(t, "ST-A"), reg.URL, nil)
	b := newStation(t, reg.Identity(t, "ST-B"), reg.URL, nil)
	mustOnce(t, a)
	mustOnce(t, b)
	if _, err := reg.Server.ChangeAdmin(ctx, "ST-A", rules.AdminChange{Kind: rules.AdminRemoved, Admin: hsa(t, adBertil), Manager: hsa(t, adManager)}, registry.DevActor); err != nil {
		t.Fatal(err)
	}
	appoint := func(id, station, operator string) protocol.AdminChangePayload {
		return protocol.AdminChangePayload{RequestID: id, Station: station, Change: protocol.AdminAppointed, Admin: adNew, Name: "Nora Ny",
			Email: "n@example.se", Phone: "1", Manager: adManager, ManagerProof: protocol.ManagerProofCard, TrainingConfirmed: true, Operator: operator}
	}
	b.enqueue(appoint("X-1", "ST-A", adAnna))   // ST-B asks for ST-A
	a.enqueue(appoint("X-2", "ST-A", adDoris))  // not authorised
	a.enqueue(appoint("X-3", "ST-A", ""))       // nobody
	a.enqueue(appoint("X-4", "ST-A", adBertil)) // removed at ST-A
	b.enqueue(appoint("X-5", "ST-B", adBertil)) // still authorised at ST-B: accepted
	mustOnce(t, a)
	mustOnce(t, b)
	held, err := reg.Server.ReviewItems(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, h := range held {
		if h.Kind != protocol.KindAdminChange {
			t.Errorf("held %+v, want only admin changes", h)
		}
		got[h.Station] = append(got[h.Station], h.Reason)
	}
	if !slices.Equal(got["ST-B"], []string{registry.ReviewAdminOtherStation}) {
		t.Errorf("ST-B's request for ST-A: held %v, want [%s]", got["ST-B"], registry.ReviewAdminOtherStation)
	}
	if !slices.Equal(got["ST-A"], []string{registry.ReviewOperatorNotAuthorised, registry.ReviewOperatorMissing, registry.ReviewOperatorNotAuthorised}) {
		t.Errorf("ST-A's requests: held %v, want not authorised, missing, not authorised (removed here)", got["ST-A"])
	}
	reqs, err := reg.Server.AdminRequests(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range reqs {
		if r.Source == "console" {
			continue
		}
		ids = append(ids, r.Station+"/"+r.ID)
	}
	if !slices.Equal(ids, []string{"ST-B/X-5"}) {
		t.Errorf("station requests recorded at the registry: %v, want only ST-B/X-5 (the held ones change nothing)", ids)
	}

	// AD-1 at the registry: an issuance at ST-A by the administrator
	// removed there is held for review.
	if err := reg.Server.Ship(ctx, "ST-A", "SHIP-AD", "reserve", "RK-AD"); err != nil {
		t.Fatal(err)
	}
	a.enqueue(protocol.IssuancePayload{IssuanceID: "iss-ad", CardSerial: "RK-AD", CardType: "reserve", Reason: "forgotten", Operator: adBertil})
	mustOnce(t, a)
	held, _ = reg.Server.ReviewItems(ctx)
	found := false
	for _, h := range held {
		found = found || (h.Kind == protocol.KindIssuance && h.Reason == registry.ReviewOperatorNotAuthorised && h.Station == "ST-A")
	}
	if !found {
		t.Errorf("AD-1: an issuance at ST-A by an administrator removed there was not held (held %+v)", held)
	}
}
