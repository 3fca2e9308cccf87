package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kortstation/kortstation/kiosk/e2e/browsertest"
	"github.com/kortstation/kortstation/kiosk/rules/calendar"
)

const (
	foreignHSAID = "SE2321000131-P000000000041" // staff without a Swedish number
	managerHSAID = "SE2321000131-P000000000021"
	shortTermOrd = "ORD-ST-1"
)

// seedShortTermOrder: a short-term card ordered for staff without a
// Swedish number, in the drawer; the registry keys their facts by the
// order number (ID-4).
func seedShortTermOrder(now time.Time) []string {
	today := calendar.DateOf(now)
	at := now.UTC().Format(time.RFC3339Nano)
	facts := fmt.Sprintf(`{"holder_hsa_id":%q,"orders":[{"id":%q,"type":"regular","card_type":"short_term","ordered":%q,"card_serial":%q,"pickup_deadline":%q}]}`,
		foreignHSAID, shortTermOrd, today.AddDays(-10).String(), shippedD, today.AddDays(20).String())
	return []string{
		fmt.Sprintf(`INSERT INTO ref_person_facts (personal_number, facts, updated_at) VALUES ('%s', '%s', '%s')`, shortTermOrd, facts, at),
		fmt.Sprintf(`INSERT INTO cards (serial, type, state, updated_at) VALUES ('%s', 'short_term', 'in_stock', '%s')`, shippedD, at),
	}
}

// TestShortTermPickupID4PassportAndManager walks the pickup of a
// short-term card by staff without a Swedish number: found by the order
// number, their passport valid six months after the issue, their manager
// present with a valid ID of their own, who signs the receipt (ID-4).
func TestShortTermPickupID4PassportAndManager(t *testing.T) {
	r := newRig(t, workday, seedStation(workday, seedShortTermOrder(workday)...))
	b := r.open(browsertest.Sizes[1])
	login(b)

	b.Tap(`#menu button[data-flow="pickup"]`)
	findRecipient(b, shortTermOrd, "Ana Lima")
	b.WaitText("#flow-step", "Identifiering")
	b.Tap(`button[data-doctype="foreign_passport"]`)
	typeText(b, "docnum", "FP1")
	typeText(b, "docexp", "2026-08-31") // the card is valid until 2026-09-10
	b.Tap("#next")
	waitRule(b, "#flow-errors", "ID-4")
	shot(b, "ID-4-passport-too-short")
	clearField(b, "docexp", 10)
	typeText(b, "docexp", "2026-09-10")
	b.Tap("#next")
	b.WaitText("#flow-step", "Närvarande chef")

	// No manager: the pickup goes no further.
	b.Tap("#next")
	waitRule(b, "#flow-errors", "ID-5")
	b.WaitText("#flow-step", "Närvarande chef")
	typeText(b, "mhsa", managerHSAID)
	typeText(b, "mname", "Maja Chef")
	typeText(b, "mdocnum", "M1")
	typeText(b, "mdocexp", "2030-01-31")
	shot(b, "ID-4-manager")
	b.Tap("#next")
	b.WaitText("#flow-step", "Sätt i kortet")
	b.WaitText("#card-number", shippedD)
	b.Tap("#dev-drawer-open")
	b.WaitText("#drawer-hint", "Lådan är öppnad")
	insert(b, reader1, shippedD)
	b.WaitText("#preview", "Närvarande chef")
	b.Tap("#dev-drawer-close")
	b.Tap("#confirm")
	b.WaitText(`button[data-signer="attestor-1"]`, "Närvarande chef: Maja Chef")
	sign(b, "recipient")
	sign(b, "attestor-1")
	sign(b, "administrator")
	b.Tap("#complete")
	b.WaitText("#result", "Kortet är utlämnat")
	shot(b, "ID-4-picked-up")
	remove(b, reader1)

	if got := r.str(`SELECT state FROM cards WHERE serial = ?`, shippedD); got != "handed_out" {
		t.Errorf("card state = %q, want handed_out", got)
	}
	if n := r.count(`SELECT count(*) FROM attestations WHERE attestor = ? AND role = 'manager'`, managerHSAID); n != 1 {
		t.Errorf("manager attestations = %d, want 1", n)
	}
	var pdf []byte
	if err := r.db.QueryRow(`SELECT pdf FROM receipts`).Scan(&pdf); err != nil {
		t.Fatal(err)
	}
	text := pdfText(t, pdf)
	for _, want := range []string{"Utländskt pass", "FP1", "Närvarande chef", "Maja Chef, HSA-id " + managerHSAID} {
		if !strings.Contains(text, want) {
			t.Errorf("receipt lacks %q:\n%s", want, text)
		}
	}
}
