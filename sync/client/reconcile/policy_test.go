package reconcile_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/kortstation/kortstation/kiosk/store"
	"github.com/kortstation/kortstation/sync/protocol"
	"github.com/kortstation/kortstation/sync/registry"
	"github.com/kortstation/kortstation/sync/registrytest"
)

// TestStationPolicySyncsPerStation: the registry's policy for a station
// reaches that station, and only that one, through the pull; a station
// without one keeps the fail-closed default; a change is audited once.
func TestStationPolicySyncsPerStation(t *testing.T) {
	ctx := context.Background()
	reg := registrytest.Start(t)
	a := newStation(t, reg.Identity(t, "ST-A"), reg.URL, nil)
	b := newStation(t, reg.Identity(t, "ST-B"), reg.URL, nil)
	policy := func(s *station) store.Policy {
		t.Helper()
		p, err := s.st.StationPolicy(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	audited := func(s *station) int {
		t.Helper()
		var n int
		if err := s.st.Reader().QueryRow(`SELECT count(*) FROM audit_log WHERE kind = 'station.policy'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if got := policy(a); got.TypedAttestors {
		t.Fatalf("before any sync: got %+v, want the fail-closed default", got)
	}
	if err := reg.Server.SetStationPolicy(ctx, "ST-A", true); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*station{a, b, a} { // A twice: unchanged the second time
		mustOnce(t, s)
	}
	for _, c := range []struct {
		name        string
		s           *station
		want        bool
		wantAudited int
	}{
		{"ST-A, allowed", a, true, 1},
		{"ST-B, no policy set", b, false, 0},
	} {
		if got := policy(c.s).TypedAttestors; got != c.want {
			t.Errorf("%s: typed attestors got %v, want %v", c.name, got, c.want)
		}
		if got := audited(c.s); got != c.wantAudited {
			t.Errorf("%s: station.policy audit entries got %d, want %d", c.name, got, c.wantAudited)
		}
		if r, err := c.s.st.RefState(ctx, protocol.RefStationPolicy); err != nil || r.CompleteAt.IsZero() {
			t.Errorf("%s: sync state %+v, %v; want complete", c.name, r, err)
		}
	}
	if err := reg.Server.SetStationPolicy(ctx, "ST-A", false); err != nil {
		t.Fatal(err)
	}
	mustOnce(t, a)
	if got := policy(a).TypedAttestors; got {
		t.Errorf("ST-A after the registry forbade it: got %v, want false", got)
	}
	if got := audited(a); got != 2 {
		t.Errorf("ST-A: station.policy audit entries got %d, want 2", got)
	}
	if err := reg.Server.SetStationPolicy(ctx, "ST-NONE", true); err == nil {
		t.Error("a policy for an unknown station was accepted")
	}
}

// TestApprovalViewShowsAttestorsAndHowVerifiedCP1: an issuance with one
// attestor verified by their SITHS card and one typed in reaches the real
// registry, whose approval view (CP-1) shows both attestors with how each
// was verified and the ID-6 ground; an issuance identified by an ID
// document says so.
func TestApprovalViewShowsAttestorsAndHowVerifiedCP1(t *testing.T) {
	const (
		cardAttestor  = "SE2321000131-P000000000021"
		typedAttestor = "SE2321000131-P000000000777"
	)
	reg := registrytest.Start(t)
	s := newStation(t, reg.Identity(t, "ST-1"), reg.URL, nil)
	// The station's own cards, issued by an authorised operator: applied,
	// not held for review.
	ctx := context.Background()
	if err := reg.Server.SetOperator(ctx, "SE2321000131-P000000012345", "Anna Administratör", true); err != nil {
		t.Fatal(err)
	}
	if err := reg.Server.Ship(ctx, "ST-1", "SHIP-1", "reserve", "RK-ATT", "RK-DOC"); err != nil {
		t.Fatal(err)
	}
	now := s.clk.Now()
	s.enqueue(protocol.IssuancePayload{IssuanceID: "iss-att", CardSerial: "RK-ATT", CardType: "reserve", Reason: "lost",
		ValidFrom: now, ValidUntil: now.AddDate(0, 0, 30), Operator: "SE2321000131-P000000012345",
		Attestors: []string{cardAttestor, typedAttestor}, AttestorProofs: []string{"siths_card", "typed"},
		AttestationGround: "no_valid_document"})
	s.enqueue(protocol.IssuancePayload{IssuanceID: "iss-doc", CardSerial: "RK-DOC", CardType: "reserve", Reason: "forgotten",
		ValidFrom: now, ValidUntil: now.AddDate(0, 0, 10), Operator: "SE2321000131-P000000012345"})
	mustOnce(t, s)

	console, err := reg.Server.NewConsole(ctx, registry.ConsoleConfig{Dev: true})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(console.Handler())
	defer srv.Close()
	res, err := http.Get(srv.URL + "/admin")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET /admin: %d, %v", res.StatusCode, err)
	}
	page := string(body)
	row := func(id string) string {
		t.Helper()
		m := regexp.MustCompile(`(?s)<tr><td>` + regexp.QuoteMeta(id) + `</td>.*?</tr>`).FindString(page)
		if m == "" {
			t.Fatalf("approval view lacks issuance %s:\n%s", id, page)
		}
		return m
	}
	attested, byDoc := row("iss-att"), row("iss-doc")
	for _, c := range []struct {
		name, row, want string
	}{
		{"card attestor", attested, `<li class="attestor">` + cardAttestor + `: verifierad med SITHS-kort</li>`},
		{"typed attestor", attested, `<li class="attestor">` + typedAttestor + `: <strong>inskriven – INTE verifierad</strong></li>`},
		{"ID-6 ground", attested, "grund enligt ID-6: ingen giltig id-handling"},
		{"ID document", byDoc, `<td class="identified">id-handling</td>`},
	} {
		if !strings.Contains(c.row, c.want) {
			t.Errorf("%s: row does not contain %q:\n%s", c.name, c.want, c.row)
		}
	}
	if strings.Contains(attested, cardAttestor+": <strong>inskriven") || strings.Contains(attested, typedAttestor+": verifierad") {
		t.Errorf("an attestor is marked the other way:\n%s", attested)
	}
	if strings.Contains(byDoc, "attestor") {
		t.Errorf("the issuance by ID document shows attestors:\n%s", byDoc)
	}
	iss, err := reg.Server.Issuances(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range iss {
		if i.ID != "iss-att" {
			continue
		}
		if len(i.Attestors) != 2 || !i.Attestors[0].Verified() || i.Attestors[1].Verified() || i.Attestors[0].HSAID != cardAttestor || i.AttestationGround != "no_valid_document" {
			t.Errorf("Issuances: got %+v, want the card attestor verified first, the typed one not", i)
		}
	}
}
