package e2e

import (
	"bytes"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/kortstation/kortstation/kiosk/e2e/browsertest"
)

// TestReprintListOnTheHomeScreenRE3: a receipt that could not be printed
// (the printer was off) is on the home screen's "Kvittenser att skriva ut
// igen" once the operator has left the done screen; from there it prints
// once, the stored PDF byte for byte (RE-3), and leaves the list. The list
// shows the receipt and the card, no name. (A receipt interrupted by a
// restart lands on the same list: kiosk/counter's recovery tests.)
func TestReprintListOnTheHomeScreenRE3(t *testing.T) {
	r := newRig(t, workday, seedStation(workday))
	b := r.open(browsertest.Sizes[0])
	login(b)
	togglePrinter(b, "frånkopplad")

	issueLostToEvaEk(b)
	b.WaitText("#print-state", "Kvittensen kunde inte skrivas ut")
	id := r.str(`SELECT id FROM receipts`)
	var stored []byte
	if err := r.db.QueryRow(`SELECT pdf FROM receipts`).Scan(&stored); err != nil {
		t.Fatal(err)
	}

	b.Tap("#close")
	b.WaitText("#reprints", "Kvittenser att skriva ut igen")
	b.WaitText("#reprints li", id)
	b.WaitText("#reprints li", reserveA)
	var text string
	b.Run("reprint list text", chromedp.Text("#reprints", &text))
	if bytes.Contains([]byte(text), []byte("Eva")) || bytes.Contains([]byte(text), []byte(pnrLost)) {
		t.Errorf("the reprint list shows personal data: %q", text)
	}
	shot(b, "RE-3-reprint-list")

	togglePrinter(b, "redo")
	waitFor(t, func() bool { return len(r.printedFiles()) == 1 }) // the hand-out letter
	b.Tap(`#reprints button.reprint[data-receipt="` + id + `"]`)
	waitFor(t, func() bool { return r.str(`SELECT print_state FROM receipts`) == "printed" })
	waitFor(t, func() bool {
		var gone bool
		b.Run("list gone", chromedp.Evaluate(`document.getElementById("reprints") === null`, &gone))
		return gone
	})
	same := 0
	for _, p := range r.printedFiles() {
		if bytes.Equal(p, stored) {
			same++
		}
	}
	if same != 1 {
		t.Errorf("printouts identical to the stored receipt = %d, want 1", same)
	}
}
