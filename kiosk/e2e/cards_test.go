package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/kortstation/kortstation/kiosk/e2e/browsertest"
)

// issuedCard seeds a reserve card handed out at issued to a person, as
// an earlier issuance at this station left it, with the registry's word
// that it is activated.
func issuedCard(serial, pnr, name, reason string, issued time.Time, days int) []string {
	from := issued.UTC().Format(time.RFC3339)
	until := issued.AddDate(0, 0, days).UTC().Format(time.RFC3339)
	return []string{
		fmt.Sprintf(`INSERT OR IGNORE INTO operator_sessions (id, operator, card_serial, started_at) VALUES ('old-session', '%s', '%s', '%s')`, opHSAID, opCard, from),
		fmt.Sprintf(`INSERT INTO persons (personal_number, name, created_at) VALUES ('%s', '%s', '%s')`, digits(pnr), name, from),
		fmt.Sprintf(`UPDATE cards SET state = 'handed_out', holder = (SELECT id FROM persons WHERE personal_number = '%s'), valid_from = '%s', valid_until = '%s' WHERE serial = '%s'`,
			digits(pnr), from, until, serial),
		fmt.Sprintf(`INSERT INTO issuances (id, kind, card_serial, person_id, session_id, reason, valid_from, valid_until, created_at, clock_source)
			VALUES ('iss-%s', 'reserve', '%s', (SELECT id FROM persons WHERE personal_number = '%s'), 'old-session', '%s', '%s', '%s', '%s', 'ntp')`,
			serial, serial, digits(pnr), reason, from, until, from),
		fmt.Sprintf(`INSERT INTO ref_card_status (serial, state, receipt_received, updated_at) VALUES ('%s', 'activated', 1, '%s')`, serial, from),
	}
}

// TestExtensionReturnAndBlock walks the reserve card's later life: an
// extension within 7 months (RC-5) with a new receipt; the refusal of an
// extension after 7 months (RC-5); the return of that card read in the
// reader (RC-6, RC-8); and a block request with its reason (BL-1).
func TestExtensionReturnAndBlock(t *testing.T) {
	extra := append(issuedCard(reserveA, pnrForgot, "Frida Glömsk", "forgotten", workday.AddDate(0, 0, -5), 10),
		issuedCard(reserveB, pnrLost, "Lars Sen", "lost", workday.AddDate(0, -8, 0), 30)...)
	r := newRig(t, workday, seedStation(workday, extra...))
	b := r.open(browsertest.Sizes[0])
	login(b)

	// RC-5: extended once, same reason and validity, within 7 months.
	b.Tap(`#menu button[data-flow="extend"]`)
	b.WaitText("#insert-hint", "mottagarens reservkort")
	insert(b, reader1, reserveA)
	b.WaitText("#flow-step", "Identifiering")
	b.WaitText("#screen", "Frida Glömsk")
	typeText(b, "docnum", "N1234567")
	typeText(b, "docexp", "2029-01-31")
	b.Tap("#next")
	b.WaitText("#pv-valid", "2026-03-10 – 2026-03-19 (10 dagar)")
	shot(b, "RC-5-extension-preview")
	b.Tap("#confirm")
	sign(b, "recipient")
	sign(b, "administrator")
	// The printer is paused: the receipt is stored and waits for it.
	b.Tap("#dev-printer-paused")
	b.WaitText("#st-printer", "pausad")
	b.Tap("#complete")
	b.WaitText("#result", "Kortet är utlämnat")
	b.WaitText("#print-state", "väntar på skrivaren")
	shot(b, "RC-5-extended-printer-paused")
	b.Tap("#dev-printer-paused")
	b.WaitText("#print-state", "Kvittensen är utskriven")
	shot(b, "RC-5-extended-printed")
	b.Tap("#close")
	remove(b, reader1)
	if n := r.count(`SELECT count(*) FROM issuances WHERE kind = 'extension' AND card_serial = ? AND refers_to = ?`, reserveA, "iss-"+reserveA); n != 1 {
		t.Errorf("extensions = %d, want 1", n)
	}
	if n := r.count(`SELECT count(*) FROM outbox WHERE kind = 'extension'`); n != 1 {
		t.Errorf("outbox extension = %d, want 1", n)
	}
	if n := r.count(`SELECT count(*) FROM receipts r JOIN issuances i ON i.id = r.issuance_id WHERE i.kind = 'extension'`); n != 1 {
		t.Errorf("extension receipts = %d, want 1", n)
	}

	// RC-5: more than 7 months after the issue, no extension.
	b.Tap(`#menu button[data-flow="extend"]`)
	insert(b, reader1, reserveB)
	waitRule(b, "#flow-errors", "RC-5")
	shot(b, "RC-5-after-7-months")
	cancelFlow(b)
	remove(b, reader1)

	// RC-6: the card comes back; it is cut and sent back (RC-8).
	b.Tap(`#menu button[data-flow="return"]`)
	insert(b, reader1, reserveB)
	b.WaitText("#preview", "Kortet kan återlämnas")
	b.WaitText("#preview", "Klipp kortet")
	b.WaitText("#preview", "avvikelse")
	shot(b, "RC-6-return-preview")
	b.Tap("#confirm")
	b.WaitText("#result", "Kortet är återlämnat")
	shot(b, "returned")
	b.Tap("#close")
	remove(b, reader1)
	if got := r.str(`SELECT state FROM cards WHERE serial = ?`, reserveB); got != "returned" {
		t.Errorf("returned card state = %q", got)
	}
	if n := r.count(`SELECT count(*) FROM outbox WHERE kind = 'return'`); n != 1 {
		t.Errorf("outbox return = %d, want 1", n)
	}

	// BL-1: a block request with its reason.
	b.Tap(`#menu button[data-flow="block"]`)
	findQuery(b, reserveA)
	b.WaitText("#block-holder", "Frida Glömsk")
	b.WaitText("#block-card", reserveA)
	b.Tap("#next")
	waitRule(b, "#flow-errors", "BL-1")
	shot(b, "BL-1-no-reason")
	b.Tap(`button[data-block="lost"]`)
	b.Tap("#next")
	b.WaitText("#result", "Spärrbegäran är köad")
	shot(b, "BL-1-blocked")
	if n := r.count(`SELECT count(*) FROM outbox WHERE kind = 'block_request' AND json_extract(payload, '$.reason') = 'lost'`); n != 1 {
		t.Errorf("outbox block_request = %d, want 1", n)
	}
}
