package receiptpdf

import "testing"

// TestRecipientCannotSign (issue 13, item 8): when the recipient cannot
// sign, the statement replaces their signature (RE-1): the receipt prints
// it in Swedish with the reason and the attestor who confirmed it, and is
// refused with a recipient's signature as well, with an unknown reason or
// without the confirming attestor.
func TestRecipientCannotSign(t *testing.T) {
	base := func() Receipt {
		r := documentReceipt()
		r.Signatures = []Signature{zigzag(RoleAdministrator, "Göran Källström", 1, 8)}
		r.NoSignature = &NoSignature{Reason: NoSignCannotWrite, ConfirmedBy: Person{Name: "Märta Sjöö", HSAID: "SE2321000131-P000000000111"}}
		return r
	}
	for _, f := range formats {
		pdf, err := RenderReceipt(base(), f)
		if err != nil {
			t.Fatalf("format %v: statement in place of the signature: %v", f, err)
		}
		assertContains(t, pdfText(t, pdf), "Mottagaren kan inte skriva under (kan inte skriva)",
			"i stället för mottagarens underskrift", "Märta Sjöö, HSA-id SE2321000131-P000000000111", "ID-administratör")
	}
	en := base()
	en.Lang = English
	en.NoSignature.Reason = NoSignCannotUsePad
	pdf, err := RenderReceipt(en, A4)
	if err != nil {
		t.Fatal(err)
	}
	assertContains(t, pdfText(t, pdf), "The recipient cannot sign (cannot use the signature pad)")

	both := base()
	both.Signatures = append(both.Signatures, zigzag(RoleRecipient, "Åsa Öberg-Lindqvist", 2, 12))
	unknown := base()
	unknown.NoSignature.Reason = "broken arm" // no health details, only the fixed list
	noAttestor := base()
	noAttestor.NoSignature.ConfirmedBy = Person{}
	for name, r := range map[string]Receipt{"signature and statement": both, "unknown reason": unknown, "no attestor": noAttestor} {
		if _, err := RenderReceipt(r, A4); err == nil {
			t.Errorf("%s: rendered", name)
		}
	}
}
