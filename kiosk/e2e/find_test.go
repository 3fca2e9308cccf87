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
	if !autoFind(q) {
		typeText(b, "find", q)
		b.Tap("#find")
		return
	}
	typeKeys(b, "find", q)
	// The look-up answers: a person found (the summary, or the next step),
	// or a refusal; then the field now active is checked in view.
	b.Run("look-up answered", chromedp.Poll(`!!document.querySelector("#found, #found-brief, #flow-errors li, #flow-errors p") || !document.querySelector("#f-find")`, nil,
		chromedp.WithPollingInterval(10*time.Millisecond)))
	typingActive(b)
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
			startIssue(b, "lost")
			keys(b, tenDigits(pnrLost))
			b.WaitText("#flow-step", "Identifiering")
			b.WaitText("#screen", knownName)
			// What the station holds about the person, before anything is typed.
			b.WaitText("#found-brief summary", "Kort: 1 · beställningar: 1 · reservkort: inga")
			b.Tap("#f-samedoc")
			b.WaitText("#f-samedoc", "KK123456")
			shot(b, "known-person-same-document")
			b.Tap("#next")
			takeFromDrawer(b, reserveA)
			b.WaitText("#insert-hint", "Sätt i kortet")
			insert(b, reader1, reserveA)
			b.WaitText("#pv-doc", "KK123456")
			b.Tap("#dev-drawer-close")
			b.Tap("#confirm")
			signAndComplete(b, "recipient", "administrator")
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
			startIssue(b, "forgotten")
			keys(b, tenDigits(pnrAttested))
			b.WaitText("#flow-step", "Identifiering")
			b.WaitText("#screen", "Olle Ring")
			cardAttestor(b, attestorCard, "Test Intygsgivare", "3456")
			cardAttestor(b, attestorCard2, "Chef Chefsson", "4567")
			b.WaitText("#next", "saknar giltig id-handling")
			shot(b, "attestors-ground-next")
			b.Tap("#next")
			takeFromDrawer(b, reserveA)
			insert(b, reader1, reserveA)
			b.WaitText("#preview", "Kvittens")
			b.Tap("#dev-drawer-close")
			b.Tap("#confirm")
			signAndComplete(b, "recipient", "attestor-1", "attestor-2", "administrator")
			b.WaitText("#result", "Kortet är utlämnat")
			tapReport(t, b, "reserve issuance with two card-verified attestors, "+size.Name, 30)
			if n := r.count(`SELECT count(*) FROM audit_log WHERE kind = 'attestor.verified'`); n != 2 {
				t.Errorf("audited attestor identifications = %d, want 2", n)
			}
		})
	}
}

// value is the value of the input sel.
func value(b *browsertest.Browser, sel string) string {
	var v string
	b.Run("value of "+sel, chromedp.Value(sel, &v, chromedp.ByQuery))
	return v
}

// TestBackAndCancelEveryFlow: at both sizes, every flow that concerns a
// person goes back a step keeping what was entered, and cancels — asking
// first when anything was entered, and saying what to do with a card taken
// from the drawer (back into it or voided, RC-8), which the audit log
// records. A signature is redone before finishing; a wrong scan is taken
// off a shipment.
func TestBackAndCancelEveryFlow(t *testing.T) {
	for _, size := range browsertest.Sizes {
		t.Run(size.Name, func(t *testing.T) {
			extra := append(knownPerson(pnrLost, knownName, "9752269000000000102", "blocked"),
				knownPerson(pnrAttested, "Olle Ring", "9752269000000000103", "activated")...)
			extra = append(extra, issuedCard(reserveC, pnrForgot, "Frida Glömsk", "forgotten", workday.AddDate(0, 0, -5), 10)...)
			r := newRig(t, workday, seedStation(workday, extra...))
			b := r.open(size)
			login(b)

			// Nothing entered: Avbryt just leaves.
			b.Tap(`#menu button[data-flow="issue"]`)
			b.WaitText("#flow-step", "Välj orsak")
			b.Tap("#flow-cancel")
			b.WaitText("#screen-home h1", "Vad vill du göra?")

			// Issue: back from the identification keeps the look-up; back
			// from the card in the reader names the card to put back.
			b.Tap(`#menu button[data-flow="issue"]`)
			b.Tap(`#reasons button[data-reason="lost"]`)
			keys(b, tenDigits(pnrLost))
			b.WaitText("#flow-step", "Identifiering")
			b.Tap("#flow-back")
			b.WaitText("#flow-step", "Mottagare")
			b.WaitText("#found-name", knownName)
			if got := value(b, "#f-find"); got != tenDigits(pnrLost) {
				t.Errorf("after Back the look-up holds %q, want %q", got, tenDigits(pnrLost))
			}
			shot(b, "back-to-look-up")
			b.Tap("#find")
			b.WaitText("#flow-step", "Identifiering")
			b.Tap("#f-samedoc")
			b.Tap("#next")
			b.WaitText("#flow-step", "Ta ett kort ur lådan")
			b.Tap("#flow-back")
			b.WaitText("#flow-step", "Identifiering")
			if got := value(b, "#f-docnum"); got != "KK123456" {
				t.Errorf("after Back the document number is %q", got)
			}
			b.Tap("#next")
			takeFromDrawer(b, reserveA)
			b.WaitText("#insert-hint", "Sätt i kortet")
			b.Tap("#flow-back")
			b.WaitText("#put-back", reserveA)
			shot(b, "back-put-the-card-back")
			b.Tap(`#stock button[data-serial="` + reserveA + `"]`)
			insert(b, reader1, reserveA)
			b.WaitText("#preview", "Kvittens")
			b.Tap("#flow-back")
			b.WaitText("#insert-hint", "Sätt i kortet")
			remove(b, reader1)
			insert(b, reader1, reserveA)
			b.WaitText("#preview", "Kvittens")
			b.Tap("#dev-drawer-close")
			b.Tap("#confirm")
			sign(b, "recipient")
			// Redo the recipient's signature: one stroke this time.
			b.Tap(`button[data-signer="recipient"]`)
			b.WaitText("#sign-redo", "Signera igen")
			draw(b)
			b.Tap("#pad-undo")
			strokes(b, 1)
			b.Tap("#pad-save")
			b.WaitText("#sign-who", "Kortadministratör")
			sign(b, "administrator")
			// Avbryt with the card out of the drawer: it says so; "No" goes on.
			b.Tap("#flow-cancel")
			b.WaitText("#cancel-text", reserveA)
			shot(b, "cancel-card-out")
			b.Tap("#cancel-no")
			b.Tap("#complete")
			b.WaitText("#result", "Kortet är utlämnat")
			if n := r.count(`SELECT count(*) FROM receipts WHERE json_extract(signatures, '$[0].role') = 'recipient'
				AND json_array_length(json_extract(signatures, '$[0].strokes')) = 1`); n != 1 {
				t.Errorf("receipts with the redone one-stroke signature = %d, want 1", n)
			}
			if n := r.count(`SELECT count(*) FROM audit_log WHERE kind = 'flow.card_put_back' AND json_extract(detail, '$.card') = ?`, reserveA); n != 1 {
				t.Errorf("audited put-backs = %d, want 1", n)
			}
			b.Tap("#close")
			remove(b, reader1)

			// Issue cancelled with the card out: voided (RC-8), audited.
			b.Tap(`#menu button[data-flow="issue"]`)
			b.Tap(`#reasons button[data-reason="forgotten"]`)
			keys(b, tenDigits(pnrAttested))
			b.WaitText("#flow-step", "Identifiering")
			b.Tap("#f-samedoc")
			b.Tap("#next")
			takeFromDrawer(b, reserveB) // the drawer opens at this step, not before
			b.WaitText("#insert-hint", "Sätt i kortet")
			b.Tap("#flow-cancel")
			b.WaitText("#cancel-text", reserveB)
			b.Tap("#cancel-void")
			b.WaitText("#screen-home h1", "Vad vill du göra?")
			if got := r.str(`SELECT state FROM cards WHERE serial = ?`, reserveB); got != "voided" {
				t.Errorf("card voided on cancel is %q", got)
			}
			if n := r.count(`SELECT count(*) FROM audit_log WHERE kind = 'flow.cancelled' AND json_extract(detail, '$.card_disposition') = 'void'`); n != 1 {
				t.Errorf("audited cancels with a voided card = %d, want 1", n)
			}

			// Pickup: the typed name survives Back; Avbryt asks.
			b.Tap(`#menu button[data-flow="pickup"]`)
			findRecipient(b, pnrOrdered, "Per")
			b.WaitText("#flow-step", "Identifiering")
			b.Tap("#flow-back")
			b.WaitText("#flow-step", "Mottagare")
			if got := value(b, "#f-name"); got != "Per" {
				t.Errorf("after Back the name is %q", got)
			}
			b.Tap("#flow-cancel")
			b.WaitText("#cancel-text", "försvinner")
			b.Tap("#cancel-yes")
			b.WaitText("#screen-home h1", "Vad vill du göra?")

			// Extend: back from the identification to the card; return:
			// back from the preview to the card.
			for _, f := range []struct{ flow, sel, want string }{
				{"extend", "#flow-step", "Identifiering"},
				{"return", "#preview", "Kortet kan återlämnas"},
			} {
				b.Tap(`#menu button[data-flow="` + f.flow + `"]`)
				insert(b, reader1, reserveC)
				b.WaitText(f.sel, f.want)
				b.Tap("#flow-back")
				b.WaitText("#insert-hint", "reservkort")
				remove(b, reader1)
				cancelFlow(b)
			}

			// Block: the holder is shown; back to the look-up keeps it.
			b.Tap(`#menu button[data-flow="block"]`)
			keys(b, reserveC)
			b.Tap("#find")
			b.WaitText("#block-holder", "Frida Glömsk")
			shot(b, "block-holder")
			b.Tap("#flow-back")
			b.WaitText("#flow-step", "Spärrbegäran")
			if got := value(b, "#f-find"); got != reserveC {
				t.Errorf("after Back the look-up holds %q", got)
			}
			cancelFlow(b)
			if n := r.count(`SELECT count(*) FROM outbox WHERE kind = 'block_request'`); n != 0 {
				t.Errorf("block requests = %d after cancelling, want 0", n)
			}

			// Stock receive: a wrong scan comes off the list.
			b.Tap(`#menu button[data-flow="stock_receive"]`)
			typeText(b, "serial", shippedD)
			b.Tap("#add")
			b.WaitText("#serials", shippedD)
			clearField(b, "serial", 0)
			typeText(b, "serial", shippedE)
			b.Tap("#add")
			b.WaitText("#serials", shippedE)
			b.Tap(`#serials button[data-remove="` + shippedE + `"]`)
			b.Run("wrong scan removed", pollGone(`#serials li[data-serial="`+shippedE+`"]`))
			b.Tap("#commit")
			b.WaitText("#result", "1 kort mottagna")
			b.Tap("#close")
		})
	}
}

// pollGone waits until nothing matches sel.
func pollGone(sel string) chromedp.Action {
	return chromedp.Poll(fmt.Sprintf(`!document.querySelector(%q)`, sel), nil, chromedp.WithPollingInterval(20*time.Millisecond))
}

// TestBlockedCardRefusedBeforeAnyIDData: at both sizes, a pickup whose
// ordered card is on the registry's list of blocked cards is refused at the
// look-up — by the personal number, or by the card read in card reader 01
// — before any ID document field is even shown (BL-1).
func TestBlockedCardRefusedBeforeAnyIDData(t *testing.T) {
	for _, size := range browsertest.Sizes {
		t.Run(size.Name, func(t *testing.T) {
			blocked := fmt.Sprintf(`INSERT INTO ref_blocked_cards (serial, reason, blocked_at) VALUES ('%s', 'stolen', '%s')`,
				orderedCard, workday.Add(-time.Hour).UTC().Format(time.RFC3339))
			r := newRig(t, workday, seedStation(workday, blocked))
			b := r.open(size)
			login(b)
			b.ResetTaps()
			b.Tap(`#menu button[data-flow="pickup"]`)
			keys(b, pnrOrdered)
			waitRule(b, "#flow-errors", "BL-1")
			b.WaitText("#flow-step", "Mottagare")
			shot(b, "BL-1-at-the-look-up")
			var idFields int
			b.Run("ID fields", chromedp.Evaluate(`document.querySelectorAll("#f-docnum, #f-docexp, #f-name, [data-doctype]").length`, &idFields))
			if idFields != 0 {
				t.Errorf("%d ID data fields shown with a blocked card", idFields)
			}
			tapReport(t, b, "pickup of a blocked card refused, "+size.Name, 1+len(pnrOrdered))
			cancelFlow(b)

			// The card read in the reader: the same refusal.
			b.Tap(`#menu button[data-flow="pickup"]`)
			insert(b, reader1, orderedCard)
			waitRule(b, "#flow-errors", "BL-1")
			b.WaitText("#found-person", pnrOrdered)
			b.Run("ID fields", chromedp.Evaluate(`document.querySelectorAll("#f-docnum, #f-docexp, [data-doctype]").length`, &idFields))
			if idFields != 0 {
				t.Errorf("%d ID data fields shown with a blocked card read", idFields)
			}
			remove(b, reader1)
			cancelFlow(b)
			if n := r.count(`SELECT count(*) FROM audit_log WHERE kind = 'counter.refused' AND detail LIKE '%BL-1%'`); n < 2 {
				t.Errorf("audited BL-1 refusals = %d, want 2", n)
			}
		})
	}
}
