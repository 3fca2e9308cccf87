package e2e

import (
	"strings"
	"testing"

	"github.com/kortstation/kortstation/kiosk/e2e/browsertest"
)

// TestRecipientCannotSign (issue 13, item 8): at the sign step the
// operator records that the recipient cannot sign, with a reason from the
// short list; an attestor confirms with their own SITHS card and PIN; the
// operator signs and the receipt is completed, the statement printed in
// place of the recipient's signature. Screens at both sizes, axe-checked.
func TestRecipientCannotSign(t *testing.T) {
	r := newRig(t, workday, seedStation(workday))
	b := r.open(browsertest.Sizes[0])
	login(b)
	startIssue(b, "lost")
	findQuery(b, pnrLost)
	b.WaitText("#found-cards", "9752269000000000102")
	typeText(b, "name", "Eva Ek")
	b.Tap("#next")
	enterDocument(b, "swedish_driving_licence", "AB123456")
	takeFromDrawer(b, reserveA)
	b.WaitText("#insert-hint", "Sätt i kortet")
	b.Tap("#dev-drawer-close")
	insert(b, reader1, reserveA)
	b.WaitText("#preview", "Kvittens – förhandsgranskning")
	b.Tap("#confirm")
	b.WaitText("#flow-step", "Underskrifter")
	b.WaitText("#sign-who", "Mottagare – Eva Ek")

	b.Tap("#nosign-open")
	b.WaitText("#nosign-choose-title", "ange inga hälsouppgifter")
	shot(b, "nosign-reasons")
	b.Tap(`#nosign-choose button[data-nosign-reason="cannot_write"]`)
	b.WaitText("#nosign-reason", "Mottagaren kan inte signera. Skäl: Kan inte skriva")
	b.WaitText("#nosign-hint", "En intygsgivare bekräftar")
	b.WaitText("#sign-who", "Kortadministratör")
	shot(b, "nosign-recorded")

	remove(b, reader1)
	insert(b, reader1, attestorCard)
	b.WaitText("#att-pin-title", "Test Intygsgivare")
	shot(b, "nosign-attestor-pin")
	attestorPIN(b, "3456")
	b.WaitText("#nosign-confirmed", "Bekräftat av Test Intygsgivare")
	remove(b, reader1)
	sign(b, "administrator")
	shot(b, "nosign-confirmed")
	b.Tap("#complete")
	b.WaitText("#result", "Kortet är utlämnat")

	var pdf []byte
	if err := r.db.QueryRow(`SELECT pdf FROM receipts`).Scan(&pdf); err != nil {
		t.Fatal(err)
	}
	text := strings.Join(strings.Fields(pdfText(t, pdf)), " ")
	for _, want := range []string{"Mottagaren kan inte skriva under (kan inte skriva)", "Test Intygsgivare"} {
		if !strings.Contains(text, want) {
			t.Errorf("receipt PDF lacks %q", want)
		}
	}
	if n := r.count(`SELECT count(*) FROM receipts WHERE json_extract(content, '$.receipt.no_signature.reason') = 'cannot_write'
		AND json_array_length(signatures) = 1 AND json_extract(signatures, '$[0].role') = 'administrator'`); n != 1 {
		t.Errorf("receipts with the statement in place of the recipient's signature = %d, want 1", n)
	}
}
