package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kortstation/kortstation/kiosk/e2e/browsertest"
)

// TestReserveCardIssuance walks a reserve-card issuance end to end as the
// operator and the recipient do it: reason with its validity from the
// table (RC-1), the recipient's personal number and name typed on the
// on-screen keyboard, the registry's prerequisites (RC-2, RC-3), an ID
// document (ID-1, ID-5), the drawer opened, the card chosen and read in
// the reader (RC-9), the receipt previewed in Swedish, signed on the
// touchscreen by the recipient and the operator, then stored, printed and
// queued for the registry (RE-1, RE-4), with the expected approval (CP-2).
func TestReserveCardIssuance(t *testing.T) {
	r := newRig(t, workday, seedStation(workday))
	b := r.open(browsertest.Sizes[0])
	login(b)
	b.Tap(`#menu button[data-flow="issue"]`)
	b.WaitText(`#reasons button[data-reason="lost"]`, "Förlorat kort – 30 dagar")
	b.WaitText(`#reasons button[data-reason="forgotten"]`, "Glömt kort – 10 dagar")
	shot(b, "RC-1-reasons")
	b.Tap(`#reasons button[data-reason="lost"]`)

	b.WaitText("#flow-step", "Mottagare")
	findQuery(b, pnrLost)
	b.WaitText("#found-cards", "9752269000000000102")
	typeText(b, "name", "Eva Ek")
	shot(b, "recipient")
	b.Tap("#next")

	b.WaitText("#flow-step", "Identifiering")
	b.WaitText("#facts-age", "Registrets uppgifter från")
	b.Tap(`button[data-doctype="swedish_driving_licence"]`)
	typeText(b, "docnum", "AB123456")
	typeText(b, "docexp", "2030-05-31")
	shot(b, "document")
	b.Tap("#next")

	b.WaitText("#flow-step", "Ta ett kort ur lådan")
	b.WaitText("#drawer-hint", "Öppna kortlådan")
	b.Tap("#dev-drawer-open")
	b.WaitText("#drawer-hint", "Lådan är öppnad")
	shot(b, "drawer-open")
	b.Tap(`#stock button[data-serial="` + reserveA + `"]`)
	b.WaitText("#insert-hint", "Sätt i kortet")
	b.Tap("#dev-drawer-close")
	insert(b, reader1, reserveA)

	b.WaitText("#preview", "Kvittens – förhandsgranskning")
	b.WaitText("#pv-card", reserveA)
	b.WaitText("#pv-reason", "Förlorat kort")
	b.WaitText("#pv-valid", "2026-03-10 – 2026-04-08 (30 dagar)")
	b.WaitText("#pv-doc", "Svenskt körkort AB123456")
	b.WaitText("#pv-recipient", "Eva Ek, "+pnrLost)
	shot(b, "preview")
	b.Tap("#confirm")

	b.WaitText("#flow-step", "Underskrifter")
	b.WaitText("#sign-who", "Mottagare – Eva Ek")
	// Undo takes back the last stroke, clear all of them.
	draw(b)
	b.Tap("#pad-undo")
	strokes(b, 1)
	b.Tap("#pad-clear")
	strokes(b, 0)
	sign(b, "recipient")
	b.WaitText("#sign-who", "Kortadministratör")
	shot(b, "recipient-signed")
	sign(b, "administrator")
	shot(b, "all-signed")
	b.Tap("#complete")

	b.WaitText("#result", "Kortet är utlämnat")
	b.WaitText("#result", "Godkännande väntas senast 2026-03-10")
	shot(b, "done")

	// The database: card handed out, issuance, document check, receipt,
	// audit, outbox — all in one transaction.
	if got := r.str(`SELECT state FROM cards WHERE serial = ?`, reserveA); got != "handed_out" {
		t.Errorf("card state = %q, want handed_out", got)
	}
	if n := r.count(`SELECT count(*) FROM issuances WHERE kind = 'reserve' AND card_serial = ? AND reason = 'lost'`, reserveA); n != 1 {
		t.Errorf("issuances = %d, want 1", n)
	}
	if n := r.count(`SELECT count(*) FROM id_document_checks WHERE doc_type = 'swedish_driving_licence' AND doc_number = 'AB123456' AND expires_on = '2030-05-31' AND intact = 1`); n != 1 {
		t.Errorf("document checks = %d, want 1", n)
	}
	for _, kind := range []string{"issuance", "receipt", "stock_movement"} {
		if n := r.count(`SELECT count(*) FROM outbox WHERE kind = ?`, kind); n != 1 {
			t.Errorf("outbox %s = %d, want 1", kind, n)
		}
	}
	if n := r.count(`SELECT count(*) FROM audit_log WHERE kind = 'card.reserve' AND detail NOT LIKE ?`, "%"+digits(pnrLost)+"%"); n != 1 {
		t.Errorf("audit card.reserve without personal data = %d, want 1", n)
	}
	// The signatures are kept as vector strokes: two signers, two strokes
	// each, as drawn.
	if n := r.count(`SELECT count(*) FROM receipts WHERE json_array_length(signatures) = 2
		AND json_array_length(json_extract(signatures, '$[0].strokes')) = 2
		AND json_extract(signatures, '$[0].role') = 'recipient' AND json_extract(signatures, '$[1].role') = 'administrator'`); n != 1 {
		t.Errorf("receipts with the drawn vector signatures = %d, want 1", n)
	}
	var pdf []byte
	if err := r.db.QueryRow(`SELECT pdf FROM receipts`).Scan(&pdf); err != nil {
		t.Fatal(err)
	}
	text := pdfText(t, pdf)
	for _, want := range []string{reserveA, "Eva Ek", pnrLost, "AB123456", "Test Operatör Ett", "2026-04-08"} {
		if !strings.Contains(text, want) {
			t.Errorf("receipt PDF lacks %q:\n%s", want, text)
		}
	}
	// Printed: the simulated printer wrote the job.
	b.WaitText("#st-printer", "")
	waitFor(t, func() bool { return r.str(`SELECT print_state FROM receipts`) == "printed" })
	// Printed: the simulated printer wrote the receipt and the hand-out
	// letter with the activation information (CP-2).
	var printed []string
	waitFor(t, func() bool {
		printed, _ = filepath.Glob(filepath.Join(r.dir, "printed", "*.pdf"))
		return len(printed) == 2
	})
	var all string
	for _, p := range printed {
		pb, _ := os.ReadFile(p)
		all += pdfText(t, pb)
	}
	for _, want := range []string{reserveA, "Underskrifter", "aktivera det då med koderna"} {
		if !strings.Contains(all, want) {
			t.Errorf("printed documents lack %q", want)
		}
	}

	b.Tap("#close")
	b.WaitText("#screen-home h1", "Vad vill du göra?")
	// The screen no longer shows the recipient.
	if strings.Contains(b.Text("#screen"), "Eva Ek") {
		t.Error("the recipient's name is still on screen after the flow")
	}
}
