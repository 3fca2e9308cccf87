package receiptpdf

import "testing"

// TestManagerForARecipientWithoutADocumentSeed003: seed 003 — a recipient
// with a Swedish number but no ID document picks up with their manager
// present (ID-6); the receipt renders with the manager and the ground, and
// is refused without the ground or with a document as well.
func TestManagerForARecipientWithoutADocumentSeed003(t *testing.T) {
	base := func() Receipt {
		r := documentReceipt()
		r.Card.Type, r.Reason = CardRegular, ReasonNewCard
		r.IDDocument = nil
		r.Manager = &Person{Name: "Maja Chef", HSAID: "SE2321000131-P000000000021"}
		r.AttestationGround = GroundNoValidDocument
		r.Signatures = append(r.Signatures, zigzag(RoleManager, "Maja Chef", 1, 8))
		return r
	}
	if _, err := RenderReceipt(base(), A4); err != nil {
		t.Fatalf("manager present for a recipient without a document: %v", err)
	}
	noGround := base()
	noGround.AttestationGround = ""
	if _, err := RenderReceipt(noGround, A4); err == nil {
		t.Error("rendered without the ground (ID-6)")
	}
	withDoc := base()
	withDoc.IDDocument = &IDDocument{Type: DocDrivingLicence, Number: "D1", Expiry: withDoc.IssuedAt.AddDate(2, 0, 0)}
	if _, err := RenderReceipt(withDoc, A4); err == nil {
		t.Error("rendered with a manager and a Swedish recipient's own document")
	}
}
