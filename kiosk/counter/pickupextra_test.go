package counter

import (
	"strings"
	"testing"

	"github.com/kortstation/kortstation/kiosk/devseed"
)

// pickupToPreview takes devseed.Ordered's pickup from the recipient to
// the preview with identify (the identity step's requests).
func (c *counter) pickupToPreview(identify func()) {
	c.t.Helper()
	if err := c.call("flow.start", map[string]Kind{"kind": KindPickup}); err != nil {
		c.t.Fatal(err)
	}
	if err := c.step("recipient", RecipientInput{PersonalNumber: devseed.Ordered, Name: "Per Hämtare"}); err != nil {
		c.t.Fatal(err)
	}
	identify()
	c.drawer.Open()
	c.waitView(func(v View) bool {
		return v.Flow != nil && v.Flow.Data["drawer_opened"] == true && v.Flow.Step == StepInsert
	})
	c.insert(1, devseed.OrderedCard)
	c.waitView(func(v View) bool { return v.Flow != nil && (v.Flow.Step == StepPreview || len(v.Flow.Errors) > 0) })
	if v := c.view(); v.Flow.Step != StepPreview {
		c.t.Fatalf("pickup did not reach the preview: %+v", v.Flow.Errors)
	}
}

// TestPickupWithoutIDDocumentManagerPresentSeed003: a recipient with a
// Swedish number but no valid ID document picks up their card with their
// manager present, who shows a valid ID of their own and signs (seed 003,
// ID-6, AT-1, AT-3); the receipt says so, the manager's document is
// recorded with the issuance; the old card handed in is recorded, voided
// and its certificates asked to be blocked (BL-2).
func TestPickupWithoutIDDocumentManagerPresentSeed003(t *testing.T) {
	c := newCounter(t)
	c.login()
	valid := DocumentInput{Type: "swedish_driving_licence", Number: "MGR1", Expiry: "2030-01-01", Intact: true}
	c.pickupToPreview(func() {
		if err := c.step("no_document", nil); err != nil {
			t.Fatal(err)
		}
		if v := c.view(); v.Flow.Step != StepManager || v.Flow.Data["ground"] != "no_valid_document" {
			t.Fatalf("after no_document: %s %+v, want the manager step", v.Flow.Step, v.Flow.Data["ground"])
		}
		// AT-3: the operator is not the manager; ID-1/ID-5: the manager's
		// own document counts.
		if err := c.step("manager", ManagerInput{HSAID: "SE2321000131-P000000000011", Name: "Test Operatör Ett", Document: valid}); !strings.Contains(rulesOf(err), "AT-") {
			t.Errorf("the operator as the manager: %v, want refused (AT-1/AT-3)", err)
		}
		expired := valid
		expired.Expiry = "2026-01-01"
		if err := c.step("manager", ManagerInput{HSAID: managerHSAID, Name: "Maja Chef", Document: expired}); !strings.Contains(rulesOf(err), "ID-") {
			t.Errorf("a manager with an expired document: %v, want refused", err)
		}
		if err := c.step("manager", ManagerInput{HSAID: managerHSAID, Name: "Maja Chef", Document: valid}); err != nil {
			t.Fatal(err)
		}
	})
	v := c.view()
	olds, _ := v.Flow.Data["old_cards"].([]map[string]any)
	if len(olds) != 1 || olds[0]["number"] != devseed.OldCard {
		t.Fatalf("old cards = %+v, want %s", olds, devseed.OldCard)
	}
	for _, bad := range []string{devseed.OrderedCard, devseed.ReserveInStock[0]} {
		if err := c.step("hand_in", HandInInput{Serial: bad}); keyOf(err) != "hand_in.unknown" {
			t.Errorf("handing in %s: %v, want refused", bad, err)
		}
	}
	if err := c.step("hand_in", HandInInput{Serial: devseed.OldCard}); err != nil {
		t.Fatal(err)
	}
	if err := c.step("confirm", nil); err != nil {
		t.Fatal(err)
	}
	signers, _ := c.view().Flow.Data["signers"].([]signer)
	if len(signers) != 3 || signers[1].Role != "manager" || signers[1].Name != "Maja Chef" {
		t.Fatalf("signers = %+v, want the recipient, the manager and the operator", signers)
	}
	c.signAll()
	if err := c.step("complete", nil); err != nil {
		t.Fatal(err)
	}
	if v := c.view(); v.Flow.Step != StepDone || v.Flow.Data["handed_in"] != devseed.OldCard {
		t.Fatalf("done view = %s %+v", v.Flow.Step, v.Flow.Data["handed_in"])
	}
	count := func(q string, args ...any) int {
		var n int
		if err := c.st.Reader().QueryRow(q, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	checks := []struct {
		what string
		q    string
		args []any
	}{
		{"the manager's document recorded with the pickup", `SELECT count(*) FROM id_document_checks WHERE holder = ? AND doc_number = 'MGR1'`, []any{managerHSAID}},
		{"the manager's attestation", `SELECT count(*) FROM attestations WHERE attestor = ? AND role = 'manager'`, []any{managerHSAID}},
		{"the old card voided", `SELECT count(*) FROM cards WHERE serial = ? AND state = 'voided'`, []any{devseed.OldCard}},
		{"the old card handed in with the new one", `SELECT count(*) FROM cards_handed_in WHERE card_serial = ? AND new_card = ?`, []any{devseed.OldCard, devseed.OrderedCard}},
		{"its history", `SELECT count(*) FROM card_state_changes WHERE card_serial = ? AND to_state = 'voided' AND reason = 'handed_in_at_pickup'`, []any{devseed.OldCard}},
		{"the block request (BL-2)", `SELECT count(*) FROM outbox WHERE kind = 'block_request' AND json_extract(CAST(payload AS TEXT), '$.card_serial') = ?`, []any{devseed.OldCard}},
		{"the audit entry", `SELECT count(*) FROM audit_log WHERE kind = 'card.handed_in' AND subject = ?`, []any{devseed.OldCard}},
	}
	for _, ch := range checks {
		if n := count(ch.q, ch.args...); n != 1 {
			t.Errorf("%s: %d rows, want 1", ch.what, n)
		}
	}
	// RE-3: its correction is signed by the manager again.
	_ = c.step("close", nil)
	c.openDayList()
	var id string
	if err := c.st.Reader().QueryRow(`SELECT id FROM receipts`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	if err := c.step("correct", ReceiptInput{ReceiptID: id}); err != nil {
		t.Fatal(err)
	}
	if err := c.step("confirm", CorrectionInput{RecipientName: "Per Hämtare-Ek"}); err != nil {
		t.Fatal(err)
	}
	if s, _ := c.view().Flow.Data["signers"].([]signer); len(s) != 3 || s[1].Role != "manager" {
		t.Fatalf("correction signers = %+v, want the manager among them", s)
	}
	c.signAll()
	if err := c.step("complete", nil); err != nil {
		t.Fatalf("correction of the manager-present receipt: %v", err)
	}
	if n := count(`SELECT count(*) FROM receipts WHERE corrects = ?`, id); n != 1 {
		t.Errorf("corrections = %d, want 1", n)
	}
	if n := count(`SELECT count(*) FROM id_document_checks WHERE holder IS NULL`); n != 0 {
		t.Errorf("a recipient's document recorded for a recipient without one: %d", n)
	}
	var pdf []byte
	if err := c.st.Reader().QueryRow(`SELECT pdf FROM receipts`).Scan(&pdf); err != nil {
		t.Fatal(err)
	}
	text := pdfText(t, pdf)
	for _, want := range []string{"Närvarande chef med egen giltig id-handling", "Mottagaren saknar giltig id-handling", "Maja Chef"} {
		if !strings.Contains(text, want) {
			t.Errorf("receipt lacks %q:\n%s", want, text)
		}
	}
}

// TestPickupNoDocumentOnlyForSwedishNumbersID4: staff without a Swedish
// number show their passport (ID-4): the no-document path is refused for
// them; and a pickup with a valid document goes on without the manager,
// nothing handed in.
func TestPickupNoDocumentOnlyForSwedishNumbersID4(t *testing.T) {
	c := newCounter(t)
	c.seedShortTermOrder(devseed.ReserveShipped[0], "short_term")
	c.login()
	if err := c.call("flow.start", map[string]Kind{"kind": KindPickup}); err != nil {
		t.Fatal(err)
	}
	if err := c.step("recipient", RecipientInput{OrderID: shortTermOrd, Name: "Ana Lima"}); err != nil {
		t.Fatal(err)
	}
	if err := c.step("no_document", nil); keyOf(err) != "wrong_step" {
		t.Errorf("no document for staff without a Swedish number: %v, want refused", err)
	}
	if v := c.view(); v.Flow.Step != StepIdentity {
		t.Errorf("step = %s, want identity", v.Flow.Step)
	}
	_ = c.step("close", nil)
	c.pickupToPreview(func() {
		if err := c.step("document", DocumentInput{Type: "swedish_passport", Number: "P1", Expiry: "2030-01-01", Intact: true}); err != nil {
			t.Fatal(err)
		}
	})
	if err := c.step("confirm", nil); err != nil {
		t.Fatal(err)
	}
	c.signAll()
	if err := c.step("complete", nil); err != nil {
		t.Fatal(err)
	}
	var n int
	c.st.Reader().QueryRow(`SELECT count(*) FROM cards_handed_in`).Scan(&n)
	if n != 0 {
		t.Errorf("cards handed in = %d, want 0", n)
	}
	c.st.Reader().QueryRow(`SELECT count(*) FROM cards WHERE serial = ?`, devseed.OldCard).Scan(&n)
	if n != 0 {
		t.Errorf("the old card not handed in was recorded")
	}
}
