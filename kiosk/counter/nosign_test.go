package counter

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/kortstation/kortstation/kiosk/devseed"
	"github.com/kortstation/kortstation/kiosk/receiptpdf"
	"github.com/kortstation/kortstation/kiosk/rules"
	"github.com/kortstation/kortstation/sync/protocol"
)

var noSignTestSig = SignatureInput{AspectRatio: 3, Strokes: [][]receiptPoint{{{X: .1, Y: .1}, {X: .2, Y: .5}, {X: .3, Y: .2}, {X: .4, Y: .6}, {X: .5, Y: .3}}}}

// toSign runs an issuance with an ID document to the sign step and takes
// the issued card out of the card reader.
func (c *counter) toSign() {
	c.t.Helper()
	c.login()
	c.issueUpToCard(devseed.Lost)
	c.insert(1, devseed.ReserveInStock[0])
	c.waitView(func(v View) bool { return v.Flow != nil && v.Flow.Step == StepPreview })
	if err := c.step("confirm", nil); err != nil {
		c.t.Fatal(err)
	}
	c.remove(1)
	c.waitView(func(v View) bool { return v.Flow != nil && v.Flow.Data["card_in"] == false })
}

func (c *counter) signAs(key string) error {
	c.t.Helper()
	s := noSignTestSig
	s.Key = key
	return c.step("sign", s)
}

func noSignOf(v View) map[string]any {
	ns, _ := v.Flow.Data["no_signature"].(map[string]any)
	return ns
}

// TestRecipientCannotSignAttestorConfirmsRE1 (issue 13, item 8): the
// operator records that the recipient cannot sign, with a reason from the
// fixed list; a signature the recipient drew before is discarded (one or
// the other, never both); the receipt is not completed until an attestor
// confirms with their own card and PIN (a wrong PIN confirms nothing);
// the operator still signs. The sealed receipt, its PDF, the stored
// signatures, the audit log and the registry's receipt event carry the
// statement in place of the recipient's signature.
func TestRecipientCannotSignAttestorConfirmsRE1(t *testing.T) {
	c := newCounter(t)
	c.toSign()
	if err := c.signAs("recipient"); err != nil {
		t.Fatal(err)
	}
	if err := c.step("no_signature", map[string]string{"reason": "broken arm"}); err == nil {
		t.Fatal("a reason not on the list (a health detail) was recorded")
	}
	if err := c.step("no_signature", map[string]string{"reason": "cannot_write"}); err != nil {
		t.Fatal(err)
	}
	v := c.view()
	signers, _ := v.Flow.Data["signers"].([]signer)
	if len(signers) == 0 || signers[0].Signed || signers[0].Statement != "recorded" {
		t.Fatalf("recipient after the statement: %+v, want the drawn signature discarded and the statement recorded", signers)
	}
	if err := c.signAs("recipient"); err == nil {
		t.Fatal("the recipient signed while the statement stands")
	}
	if err := c.signAs("administrator"); err != nil {
		t.Fatal(err)
	}
	if err := c.step("complete", nil); err == nil || !strings.Contains(err.Error(), "intygsgivare") && !strings.Contains(err.Error(), "attestor") {
		t.Fatalf("complete without the attestor: %v, want refused", err)
	}
	if err := c.attest(attestorCard1, "0000"); err == nil {
		t.Fatal("a wrong PIN confirmed the statement")
	}
	if ns := noSignOf(c.view()); ns["confirmed_by"] != nil {
		t.Fatalf("a wrong PIN confirmed: %+v", ns)
	}
	if err := c.attest(attestorCard1, "3456"); err != nil {
		t.Fatal(err)
	}
	cb, _ := noSignOf(c.view())["confirmed_by"].(map[string]any)
	if cb["name"] != "Test Intygsgivare" {
		t.Fatalf("confirmed by %+v, want the attestor's card", cb)
	}
	if err := c.step("complete", nil); err != nil {
		t.Fatal(err)
	}

	var content, sigs string
	var pdf []byte
	if err := c.st.Reader().QueryRow(`SELECT content, signatures, pdf FROM receipts`).Scan(&content, &sigs, &pdf); err != nil {
		t.Fatal(err)
	}
	var sealed rules.SealedReceipt
	if err := json.Unmarshal([]byte(content), &sealed); err != nil {
		t.Fatal(err)
	}
	if err := rules.VerifySealed(sealed); err != nil {
		t.Errorf("the receipt read back is not sealed: %v", err)
	}
	ns := sealed.Receipt.NoSignature
	if ns == nil || ns.Reason != rules.NoSignCannotWrite || ns.ConfirmedBy.HSAID.String() != "SE2321000131-P000000000021" || ns.Proof != rules.ProofCard {
		t.Fatalf("sealed receipt's statement: %+v", ns)
	}
	var stored []receiptpdf.Signature
	json.Unmarshal([]byte(sigs), &stored)
	roles := []string{}
	for _, s := range stored {
		roles = append(roles, s.Role)
	}
	if strings.Join(roles, ",") != "administrator" {
		t.Errorf("stored signatures: %v, want only the administrator's", roles)
	}
	text := pdfText(t, pdf)
	for _, w := range []string{"Mottagaren kan inte skriva under (kan inte skriva)", "Test Intygsgivare"} {
		if !strings.Contains(text, w) {
			t.Errorf("receipt PDF lacks %q", w)
		}
	}

	var payload []byte
	if err := c.st.Reader().QueryRow(`SELECT payload FROM outbox WHERE kind = ?`, protocol.KindReceipt).Scan(&payload); err != nil {
		t.Fatal(err)
	}
	var rp protocol.ReceiptPayload
	json.Unmarshal(payload, &rp)
	if !strings.Contains(string(rp.Content), `"no_signature":{"reason":"cannot_write"`) {
		t.Errorf("receipt event content lacks the statement: %s", rp.Content)
	}
	var detail string
	if err := c.st.Reader().QueryRow(`SELECT detail FROM audit_log WHERE kind = 'card.reserve'`).Scan(&detail); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(detail, `"recipient_signature":"statement"`) || !strings.Contains(detail, "SE2321000131-P000000000021") || strings.Contains(detail, "Intygsgivare") {
		t.Errorf("issuance audit: %s, want the statement and the attestor's HSA-ID, no name", detail)
	}
	var kinds []string
	rows, err := c.st.Reader().Query(`SELECT kind FROM audit_log WHERE kind LIKE 'receipt.no_signature%' ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k string
		rows.Scan(&k)
		kinds = append(kinds, k)
	}
	rows.Close()
	if strings.Join(kinds, ",") != "receipt.no_signature_recorded_signature_discarded,receipt.no_signature_confirmed" {
		t.Errorf("audit of the statement: %v", kinds)
	}
}

// TestRecipientCannotSignRefusedAttestorsAT3BL1: the attestor who
// confirms cannot be the operator or the recipient (AT-3), a blocked card
// proves nobody (BL-1), no card means no PIN; with none of them the
// receipt is not completed and nothing is recorded. Withdrawing the
// statement lets the recipient sign again.
func TestRecipientCannotSignRefusedAttestorsAT3BL1(t *testing.T) {
	c := newCounter(t)
	c.toSign()
	if err := c.step("attestor_pin", map[string]string{"pin": "3456"}); err == nil {
		t.Fatal("a PIN was taken before the statement was recorded")
	}
	if err := c.step("no_signature", map[string]string{"reason": "cannot_use_pad"}); err != nil {
		t.Fatal(err)
	}
	if err := c.step("attestor_pin", map[string]string{"pin": "3456"}); err == nil {
		t.Fatal("a PIN was taken without an attestor's card")
	}
	c.blockCards(attestorCard2)
	for _, tc := range []struct {
		name, serial, rule, key string
	}{
		{"the operator", operatorTwin, "AT-3", "attestor.is_operator"},
		{"the recipient", "9752269900000000023", "AT-3", "attestor.is_recipient"},
		{"a blocked card", attestorCard2, "BL-1", ""},
	} {
		c.insert(1, tc.serial)
		v := c.waitView(func(v View) bool {
			return v.Flow != nil && len(v.Flow.Errors) > 0 && v.Flow.Errors[0].Rule == tc.rule && (tc.key == "" || v.Flow.Errors[0].Key == tc.key)
		})
		if v.Flow.Data["attestor_login"] != nil {
			t.Errorf("%s as the confirming attestor: %+v, want %s and no PIN asked", tc.name, v.Flow.Errors, tc.rule)
		}
		c.remove(1)
		c.waitView(func(v View) bool { return v.Flow != nil && v.Flow.Data["card_in"] == false })
	}
	if err := c.signAs("administrator"); err != nil {
		t.Fatal(err)
	}
	before := c.dbState(devseed.ReserveInStock[0])
	if err := c.step("complete", nil); rulesOf(err) != "RE-1" {
		t.Fatalf("complete with no confirming attestor: %v, want RE-1", err)
	}
	if after := c.dbState(devseed.ReserveInStock[0]); after != before {
		t.Errorf("the refused completion changed the database:\n got %s\nwant %s", after, before)
	}
	// Withdrawn: the recipient signs after all.
	if err := c.step("no_signature", map[string]bool{"withdraw": true}); err != nil {
		t.Fatal(err)
	}
	if err := c.signAs("recipient"); err != nil {
		t.Fatal(err)
	}
	if err := c.step("complete", nil); err != nil {
		t.Fatal(err)
	}
	var content string
	c.st.Reader().QueryRow(`SELECT content FROM receipts`).Scan(&content)
	if strings.Contains(content, "no_signature") {
		t.Errorf("a withdrawn statement is on the receipt: %s", content)
	}
}
