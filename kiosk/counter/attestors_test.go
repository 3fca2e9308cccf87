package counter

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/kortstation/kortstation/hw/cardreader/vcard"
	"github.com/kortstation/kortstation/kiosk/devseed"
	"github.com/kortstation/kortstation/kiosk/store"
	"github.com/kortstation/kortstation/sync/protocol"
)

// Cards for the attestor tests, besides the dev cards: a second attestor,
// and a card that names the logged-in operator (Test Operatör Ett).
var testAttestorCards = []vcard.Profile{
	{Serial: "9752269900000000022", HSAID: "SE2321000131-P000000000022", CommonName: "Chef Chefsson", PIN: "4567"},
	{Serial: "9752269900000000019", HSAID: "SE2321000131-P000000000011", CommonName: "Test Operatör Ett", PIN: "1234"},
	// The recipient of toIdentity (devseed.Lost) with their own SITHS card,
	// which also carries a personal-number certificate.
	{Serial: "9752269900000000023", HSAID: "SE2321000131-P000000000023", CommonName: "Eva Ek", PIN: "5678",
		PersonalNumber: strings.ReplaceAll(devseed.Lost, "-", "")},
}

const (
	attestorCard1 = "9752269900000000021" // Test Intygsgivare, PIN 3456
	attestorCard2 = "9752269900000000022" // Chef Chefsson, PIN 4567
	operatorTwin  = "9752269900000000019"
)

// allowTypedAttestors writes the registry's policy for the station, one
// that allows typed-in attestors, into the store as a sync would.
func (c *counter) allowTypedAttestors() {
	c.t.Helper()
	c.setPolicy(protocol.StationPolicy{TypedAttestors: true}, c.clock.Now())
}

// setPolicy applies a station_policy snapshot synced at syncedAt.
func (c *counter) setPolicy(p protocol.StationPolicy, syncedAt time.Time) {
	c.t.Helper()
	ctx := context.Background()
	if err := c.st.Update(ctx, c.clock, func(t *store.Tx) error {
		if err := t.RecordStationPolicy(ctx, []protocol.StationPolicy{p}, syncedAt); err != nil {
			return err
		}
		return t.PutCursor(ctx, protocol.RefStationPolicy, "policy", "policy", syncedAt, false, true)
	}); err != nil {
		c.t.Fatal(err)
	}
}

// toIdentity runs an issuance to its identification step.
func (c *counter) toIdentity() {
	c.t.Helper()
	c.login()
	for _, err := range []error{
		c.call("flow.start", map[string]Kind{"kind": KindIssue}),
		c.step("reason", map[string]string{"reason": "lost"}),
		c.step("recipient", RecipientInput{PersonalNumber: devseed.Lost, Name: "Eva Ek"}),
	} {
		if err != nil {
			c.t.Fatal(err)
		}
	}
}

// attest puts an attestor's card in the card reader and types its PIN.
func (c *counter) attest(serial, pin string) error {
	c.t.Helper()
	c.insert(1, serial)
	c.waitView(func(v View) bool { return v.Flow != nil && v.Flow.Data["attestor_login"] != nil })
	defer func() {
		c.remove(1)
		c.waitView(func(v View) bool { return v.Flow != nil && v.Flow.Data["attestor_login"] == nil })
	}()
	return c.step("attestor_pin", map[string]string{"pin": pin})
}

func attestorCards(v View) []map[string]any {
	cards, _ := v.Flow.Data["attestor_cards"].([]map[string]any)
	return cards
}

// TestAttestorsProveWhoTheyAreWithTheirCardAT1: each attestor puts their
// own SITHS card in the card reader and types their PIN; the HSA-ID and
// name are the certificate's. The receipt and the registry's record say
// each was verified by card; a wrong PIN spends an attempt and lists
// nobody.
func TestAttestorsProveWhoTheyAreWithTheirCardAT1(t *testing.T) {
	c := newCounter(t)
	c.toIdentity()

	if err := c.attest(attestorCard1, "0000"); err == nil || !strings.Contains(err.Error(), "2 attempts left") {
		t.Fatalf("attestor's wrong PIN: %v, want 2 attempts left", err)
	}
	if n := len(attestorCards(c.view())); n != 0 {
		t.Fatalf("a wrong PIN listed %d attestors", n)
	}
	for _, a := range []struct{ serial, pin string }{{attestorCard1, "3456"}, {attestorCard2, "4567"}} {
		if err := c.attest(a.serial, a.pin); err != nil {
			t.Fatalf("attestor %s: %v", a.serial, err)
		}
	}
	cards := attestorCards(c.view())
	if len(cards) != 2 || cards[0]["name"] != "Test Intygsgivare" || cards[1]["hsa_id"] != "SE2321000131-P000000000022" {
		t.Fatalf("attestors from their cards: %+v", cards)
	}
	if err := c.step("attestors", map[string]any{"ground": "no_valid_document", "roles": []string{"manager", "employer"}}); err != nil {
		t.Fatal(err)
	}
	c.drawer.Open()
	c.waitView(func(v View) bool { return v.Flow != nil && v.Flow.Data["drawer_opened"] == true })
	if err := c.step("card", map[string]string{"serial": devseed.ReserveInStock[0]}); err != nil {
		t.Fatal(err)
	}
	c.insert(1, devseed.ReserveInStock[0])
	c.waitView(func(v View) bool { return v.Flow != nil && v.Flow.Step == StepPreview })
	if err := c.step("confirm", nil); err != nil {
		t.Fatal(err)
	}
	sig := SignatureInput{AspectRatio: 3, Strokes: [][]receiptPoint{{{X: .1, Y: .1}, {X: .2, Y: .5}, {X: .3, Y: .2}, {X: .4, Y: .6}, {X: .5, Y: .3}}}}
	for _, k := range []string{"recipient", "attestor-1", "attestor-2", "administrator"} {
		sig.Key = k
		if err := c.step("sign", sig); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.step("complete", nil); err != nil {
		t.Fatal(err)
	}
	var payload []byte
	if err := c.st.Reader().QueryRow(`SELECT payload FROM outbox WHERE kind = ?`, protocol.KindIssuance).Scan(&payload); err != nil {
		t.Fatal(err)
	}
	var p protocol.IssuancePayload
	json.Unmarshal(payload, &p)
	if strings.Join(p.AttestorProofs, ",") != "siths_card,siths_card" || p.AttestationGround != "no_valid_document" {
		t.Errorf("issuance sent to the registry: proofs %v, ground %q", p.AttestorProofs, p.AttestationGround)
	}
	var verified, refused int
	c.st.Reader().QueryRow(`SELECT count(*) FROM audit_log WHERE kind = 'attestor.verified'`).Scan(&verified)
	c.st.Reader().QueryRow(`SELECT count(*) FROM audit_log WHERE kind = 'attestor.pin_refused'`).Scan(&refused)
	if verified != 2 || refused != 1 {
		t.Errorf("audit: %d attestors verified, %d PINs refused; want 2 and 1", verified, refused)
	}
}

// TestTypedAttestorsOnlyByPolicyAT1: attestors typed in by the operator
// (one honest operator could invent two) are refused unless the station's
// policy allows them; then they are marked unverified.
func TestTypedAttestorsOnlyByPolicyAT1(t *testing.T) {
	c := newCounter(t)
	c.toIdentity()
	invented := []AttestorInput{{HSAID: "SE2321000131-P000000000777", Name: "Påhittad Person", Role: "manager"}}
	if err := c.attest(attestorCard1, "3456"); err != nil {
		t.Fatal(err)
	}
	err := c.step("attestors", map[string]any{"ground": "no_valid_document", "attestors": invented})
	if rulesOf(err) != "AT-1" {
		t.Fatalf("one invented attestor: %v, want AT-1", err)
	}
	if v := c.view(); v.Flow.Step != StepIdentity {
		t.Fatalf("the refused attestation moved the flow to %s", v.Flow.Step)
	}
	c.allowTypedAttestors()
	if err := c.step("attestors", map[string]any{"ground": "no_valid_document", "attestors": invented}); err != nil {
		t.Fatalf("typed attestor where the policy allows: %v", err)
	}
	var audited int
	c.st.Reader().QueryRow(`SELECT count(*) FROM audit_log WHERE kind = 'station.policy' AND actor = 'registry'`).Scan(&audited)
	if audited != 1 {
		t.Errorf("audit: %d station.policy entries, want 1", audited)
	}
}

// TestTypedAttestorsPolicyFailsClosedAT1: the registry's policy for the
// station decides whether typed-in attestors are offered and accepted;
// no policy, a policy that forbids them, or one older than the freshness
// policy allows, means they are not.
func TestTypedAttestorsPolicyFailsClosedAT1(t *testing.T) {
	invented := []AttestorInput{
		{HSAID: "SE2321000131-P000000000777", Name: "Påhittad Person", Role: "manager"},
		{HSAID: "SE2321000131-P000000000778", Name: "Påhittad Två", Role: "manager"},
	}
	for _, tc := range []struct {
		name   string
		policy *protocol.StationPolicy // nil: the registry never sent one
		age    time.Duration           // how long ago it was synced
		want   bool
	}{
		{"no policy from the registry", nil, 0, false},
		{"policy forbids", &protocol.StationPolicy{TypedAttestors: false}, 0, false},
		{"policy allows", &protocol.StationPolicy{TypedAttestors: true}, time.Hour, true},
		{"policy allows but is stale", &protocol.StationPolicy{TypedAttestors: true}, 97 * time.Hour, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCounter(t)
			if tc.policy != nil {
				c.setPolicy(*tc.policy, c.clock.Now().Add(-tc.age))
			}
			c.toIdentity()
			if got, _ := c.view().Flow.Data["typed_attestors"].(bool); got != tc.want {
				t.Errorf("view typed_attestors: got %v, want %v", got, tc.want)
			}
			err := c.step("attestors", map[string]any{"ground": "no_valid_document", "attestors": invented})
			if got := err == nil; got != tc.want {
				t.Errorf("two typed attestors accepted: got %v (%v), want %v", got, err, tc.want)
			}
			if got := rulesOf(err); !tc.want && got != "AT-1,AT-1" {
				t.Errorf("refusal: got %v, want AT-1 for each attestor", got)
			}
		})
	}
}

// TestAttestorCardOfTheRecipientAT3: the recipient cannot attest for
// themself: a card whose personal-number certificate names the recipient
// is refused, whatever HSA-ID it has; no PIN is asked.
func TestAttestorCardOfTheRecipientAT3(t *testing.T) {
	c := newCounter(t)
	c.toIdentity()
	c.insert(1, "9752269900000000023")
	v := c.waitView(func(v View) bool { return v.Flow != nil && len(v.Flow.Errors) > 0 })
	if v.Flow.Errors[0].Rule != "AT-3" || v.Flow.Errors[0].Key != "attestor.is_recipient" || v.Flow.Data["attestor_login"] != nil {
		t.Fatalf("recipient's card as attestor: %+v, want AT-3 (is the recipient) and no PIN asked", v.Flow.Errors)
	}
}

// TestAttestorCardOfTheOperatorAT3: a card naming the issuing
// administrator cannot attest, whatever its serial; nothing is listed.
func TestAttestorCardOfTheOperatorAT3(t *testing.T) {
	c := newCounter(t)
	c.toIdentity()
	c.insert(1, operatorTwin)
	v := c.waitView(func(v View) bool { return v.Flow != nil && len(v.Flow.Errors) > 0 })
	if v.Flow.Errors[0].Rule != "AT-3" || v.Flow.Data["attestor_login"] != nil {
		t.Fatalf("operator's card as attestor: %+v, want AT-3 and no PIN asked", v.Flow.Errors)
	}
	if err := c.step("attestor_pin", map[string]string{"pin": "1234"}); err == nil {
		t.Fatal("a PIN was taken for a refused attestor card")
	}
}
