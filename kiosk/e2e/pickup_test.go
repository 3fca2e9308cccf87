package e2e

import (
	"strings"
	"testing"

	"github.com/kortstation/kortstation/kiosk/e2e/browsertest"
)

// TestOrdinaryPickupAndVoiding walks the pickup of an ordered card: the ID
// document must be valid three months after the order (ID-3), the card
// comes out of the drawer and its chip is checked (RC-9), the recipient
// signs. A card not picked up by its deadline is voided instead (CP-4).
func TestOrdinaryPickupAndVoiding(t *testing.T) {
	r := newRig(t, workday, seedStation(workday))
	b := r.open(browsertest.Sizes[1])
	login(b)

	b.Tap(`#menu button[data-flow="pickup"]`)
	findRecipient(b, pnrOrdered, "Per Hämtare")
	b.WaitText("#flow-step", "Identifiering")
	typeText(b, "docnum", "K5550001")
	typeText(b, "docexp", "2026-04-30")
	b.Tap("#next")
	waitRule(b, "#flow-errors", "ID-3")
	shot(b, "ID-3-document-too-short")
	clearField(b, "docexp", 10)
	typeText(b, "docexp", "2030-01-31")
	b.Tap("#next")
	b.WaitText("#flow-step", "Sätt i kortet")
	b.WaitText("#card-number", orderedCard)
	b.Tap("#dev-drawer-open")
	b.WaitText("#drawer-hint", "Lådan är öppnad")
	insert(b, reader1, orderedCard)
	b.WaitText("#preview", "Kvittens")
	b.Tap("#dev-drawer-close")
	shot(b, "pickup-preview")
	b.Tap("#confirm")
	sign(b, "recipient")
	sign(b, "administrator")
	b.Tap("#complete")
	b.WaitText("#result", "Kortet är utlämnat")
	shot(b, "picked-up")
	b.Tap("#close")
	remove(b, reader1)
	if got := r.str(`SELECT state FROM cards WHERE serial = ?`, orderedCard); got != "handed_out" {
		t.Errorf("picked-up card state = %q", got)
	}
	if n := r.count(`SELECT count(*) FROM issuances WHERE kind = 'pickup'`); n != 1 {
		t.Errorf("pickups = %d, want 1", n)
	}
	var pdf []byte
	if err := r.db.QueryRow(`SELECT pdf FROM receipts`).Scan(&pdf); err != nil {
		t.Fatal(err)
	}
	if text := pdfText(t, pdf); !strings.Contains(text, orderedCard) || !strings.Contains(text, "K5550001") {
		t.Errorf("pickup receipt lacks card or document:\n%s", text)
	}

	// CP-4: past the pickup deadline the card is voided, not handed out.
	b.Tap(`#menu button[data-flow="pickup"]`)
	findQuery(b, pnrLate)
	waitRule(b, "#flow-errors", "CP-4")
	shot(b, "CP-4-deadline-passed")
	b.Tap("#void")
	b.WaitText("#result", "Kortet är makulerat")
	shot(b, "CP-4-voided")
	if got := r.str(`SELECT state FROM cards WHERE serial = ?`, expiredCard); got != "voided" {
		t.Errorf("expired card state = %q, want voided", got)
	}
	if n := r.count(`SELECT count(*) FROM card_state_changes WHERE card_serial = ? AND to_state = 'voided' AND rule = 'CP-4'`, expiredCard); n != 1 {
		t.Errorf("CP-4 state changes = %d, want 1", n)
	}
}
