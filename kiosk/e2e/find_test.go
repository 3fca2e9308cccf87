package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kortstation/kortstation/kiosk/e2e/browsertest"
)

// Find the person first, back and undo, and the tap targets (issue 13).

// autoFind mirrors the screen (screens/find.js completePnr): a whole
// personal number with the right check digit is looked up as it is typed
// — 12 digits, or 10 that cannot start 12 (not 19… or 20…).
func autoFind(q string) bool {
	d := strings.NewReplacer("-", "", "+", "").Replace(q)
	for _, c := range d {
		if c < '0' || c > '9' {
			return false
		}
	}
	switch {
	case len(d) == 12:
		return luhn(d[2:])
	case len(d) == 10 && !strings.HasPrefix(d, "19") && !strings.HasPrefix(d, "20"):
		return luhn(d)
	}
	return false
}

func luhn(d string) bool {
	sum := 0
	for i, c := range d {
		n := int(c-'0') * (2 - i%2)
		if n > 9 {
			n -= 9
		}
		sum += n
	}
	return sum%10 == 0
}

// keys taps s on the on-screen keyboard into the field already active.
func keys(b *browsertest.Browser, s string) {
	for _, ch := range strings.ToUpper(s) {
		key := string(ch)
		if ch == ' ' {
			key = "space"
		}
		b.Tap(fmt.Sprintf(`#kb button[data-key=%q]`, key))
	}
}

// findQuery types q into the look-up field and searches (a whole personal
// number is looked up as it is typed, without "Sök").
func findQuery(b *browsertest.Browser, q string) {
	typeText(b, "find", q)
	if !autoFind(q) {
		b.Tap("#find")
	}
}

// findRecipient looks up a person the station does not know yet and types
// their name.
func findRecipient(b *browsertest.Browser, q, name string) {
	findQuery(b, q)
	typeText(b, "name", name)
	b.Tap("#next")
}

// cancelFlow taps "Avbryt" and confirms when the screen asks.
func cancelFlow(b *browsertest.Browser) {
	b.Tap("#flow-cancel")
	var asks bool
	b.Run("cancel asks?", chromedp.Evaluate(`!!document.querySelector("#cancel-dialog")`, &asks))
	if asks {
		b.Tap("#cancel-yes")
	}
	b.WaitText("#screen-home h1", "Vad vill du göra?")
}

// tenDigits is a personal number as typed at the counter: YYMMDDNNNC.
func tenDigits(pnr string) string { return digits(pnr)[2:] }

const knownName = "Eva Ek"

// knownPerson is a person the station dealt with before: their name, the
// ordinary card (serial) they picked up here and the driving licence
// checked then (ID-5).
func knownPerson(pnr, name, serial, state string) []string {
	at := workday.AddDate(0, -2, 0).UTC().Format(time.RFC3339)
	return []string{
		fmt.Sprintf(`INSERT OR IGNORE INTO operator_sessions (id, operator, card_serial, started_at) VALUES ('old-session', '%s', '%s', '%s')`, opHSAID, opCard, at),
		fmt.Sprintf(`INSERT INTO persons (personal_number, name, created_at) VALUES ('%s', '%s', '%s')`, digits(pnr), name, at),
		fmt.Sprintf(`INSERT INTO cards (serial, type, state, holder, updated_at) VALUES ('%s', 'sis', '%s', (SELECT id FROM persons WHERE personal_number = '%s'), '%s')`, serial, state, digits(pnr), at),
		fmt.Sprintf(`INSERT INTO issuances (id, kind, card_serial, person_id, session_id, created_at, clock_source)
			VALUES ('iss-known-%s', 'pickup', '%s', (SELECT id FROM persons WHERE personal_number = '%s'), 'old-session', '%s', 'ntp')`, serial, serial, digits(pnr), at),
		fmt.Sprintf(`INSERT INTO id_document_checks (issuance_id, doc_type, doc_number, expires_on, intact, checked_at)
			VALUES ('iss-known-%s', 'swedish_driving_licence', 'KK123456', '2030-05-31', 1, '%s')`, serial, at),
	}
}

// tapReport logs the taps counted and fails when over the target.
func tapReport(t *testing.T, b *browsertest.Browser, what string, max int) {
	t.Helper()
	t.Logf("%s: %d taps on the screen (target ≤ %d), %d on the simulated hardware; %s", what, b.Taps(), max, b.HardwareTaps(), strings.Join(b.TapLog(), " "))
	if b.Taps() > max {
		t.Errorf("%s took %d taps, want ≤ %d", what, b.Taps(), max)
	}
}

// TestTapsReserveIssuanceWithDocumentForAKnownPerson: at both screen sizes,
// a reserve issuance (RC-1) with an ID document for a person the station
// knows takes at most 25 taps, every key counted: the personal number is
// looked up as it is typed (10 digits), the name and cards come from the
// station's data, RC-2..RC-4 pass before anything else is typed, the ID
// document checked last time is offered and compared (ID-5), the card is
// chosen and read (RC-9), two signatures (RE-1).
func TestTapsReserveIssuanceWithDocumentForAKnownPerson(t *testing.T) {
	for _, size := range browsertest.Sizes {
		t.Run(size.Name, func(t *testing.T) {
			r := newRig(t, workday, seedStation(workday, knownPerson(pnrLost, knownName, "9752269000000000102", "blocked")...))
			b := r.open(size)
			login(b)
			b.ResetTaps()
			b.Tap(`#menu button[data-flow="issue"]`)
			b.Tap(`#reasons button[data-reason="lost"]`)
			b.WaitText("#flow-step", "Mottagare")
			keys(b, tenDigits(pnrLost))
			b.WaitText("#flow-step", "Identifiering")
			b.WaitText("#screen", knownName)
			b.Tap("#f-samedoc")
			b.WaitText("#f-samedoc", "KK123456")
			shot(b, "known-person-same-document")
			b.Tap("#next")
			b.WaitText("#flow-step", "Ta ett kort ur lådan")
			b.Tap("#dev-drawer-open")
			b.WaitText("#drawer-hint", "Lådan är öppnad")
			b.Tap(`#stock button[data-serial="` + reserveA + `"]`)
			b.WaitText("#insert-hint", "Sätt i kortet")
			insert(b, reader1, reserveA)
			b.WaitText("#pv-doc", "KK123456")
			b.Tap("#dev-drawer-close")
			b.Tap("#confirm")
			sign(b, "recipient")
			sign(b, "administrator")
			b.Tap("#complete")
			b.WaitText("#result", "Kortet är utlämnat")
			tapReport(t, b, "reserve issuance with an ID document, "+size.Name, 25)
			if n := r.count(`SELECT count(*) FROM id_document_checks WHERE doc_number = 'KK123456' AND issuance_id NOT LIKE 'iss-known%'`); n != 1 {
				t.Errorf("document checks of the new issuance = %d, want 1", n)
			}
			if got := r.str(`SELECT name FROM persons WHERE personal_number = ?`, digits(pnrLost)); got != knownName {
				t.Errorf("person's name = %q", got)
			}
		})
	}
}

// TestTapsReserveIssuanceWithTwoCardVerifiedAttestors: at both sizes, a
// reserve issuance for a known person identified by two attestors who put their own SITHS
// cards into the reader and type their PINs (AT-1, AT-2; ID-6 recorded by
// the operator's "no valid ID document – next") takes at most 30 taps.
func TestTapsReserveIssuanceWithTwoCardVerifiedAttestors(t *testing.T) {
	for _, size := range browsertest.Sizes {
		t.Run(size.Name, func(t *testing.T) {
			r := newRig(t, workday, seedStation(workday, knownPerson(pnrAttested, "Olle Ring", "9752269000000000103", "activated")...))
			b := r.open(size)
			login(b)
			b.ResetTaps()
			b.Tap(`#menu button[data-flow="issue"]`)
			b.Tap(`#reasons button[data-reason="forgotten"]`)
			b.WaitText("#flow-step", "Mottagare")
			keys(b, tenDigits(pnrAttested))
			b.WaitText("#flow-step", "Identifiering")
			b.WaitText("#screen", "Olle Ring")
			insert(b, reader1, attestorCard)
			b.WaitText("#att-pin-title", "Test Intygsgivare")
			attestorPIN(b, "3456")
			b.WaitText("#att-cards", "Test Intygsgivare")
			remove(b, reader1)
			insert(b, reader1, attestorCard2)
			b.WaitText("#att-pin-title", "Chef Chefsson")
			attestorPIN(b, "4567")
			b.WaitText("#att-cards", "Chef Chefsson")
			remove(b, reader1)
			b.WaitText("#next", "saknar giltig id-handling")
			shot(b, "attestors-ground-next")
			b.Tap("#next")
			b.WaitText("#flow-step", "Ta ett kort ur lådan")
			b.Tap("#dev-drawer-open")
			b.WaitText("#drawer-hint", "Lådan är öppnad")
			b.Tap(`#stock button[data-serial="` + reserveA + `"]`)
			insert(b, reader1, reserveA)
			b.WaitText("#preview", "Kvittens")
			b.Tap("#dev-drawer-close")
			b.Tap("#confirm")
			for _, s := range []string{"recipient", "attestor-1", "attestor-2", "administrator"} {
				sign(b, s)
			}
			b.Tap("#complete")
			b.WaitText("#result", "Kortet är utlämnat")
			tapReport(t, b, "reserve issuance with two card-verified attestors, "+size.Name, 30)
			if n := r.count(`SELECT count(*) FROM audit_log WHERE kind = 'attestor.verified'`); n != 2 {
				t.Errorf("audited attestor identifications = %d, want 2", n)
			}
		})
	}
}
