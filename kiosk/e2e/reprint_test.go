package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/kortstation/kortstation/kiosk/e2e/browsertest"
)

// printedFiles are the documents the simulated printer wrote.
func (r *rig) printedFiles() [][]byte {
	r.t.Helper()
	paths, _ := filepath.Glob(filepath.Join(r.dir, "printed", "*.pdf"))
	var out [][]byte
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			r.t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// TestReprintRE3AfterThePrinterWasOffline: the printer is switched off
// (dev panel) during an issuance; the done screen says the receipt could
// not be printed and offers "Skriv ut igen". With the printer back,
// pressing it prints the stored receipt PDF byte for byte — it is never
// rendered anew (RE-3) — and the receipt's print state becomes printed.
func TestReprintRE3AfterThePrinterWasOffline(t *testing.T) {
	r := newRig(t, workday, seedStation(workday))
	b := r.open(browsertest.Sizes[0])
	login(b)
	togglePrinter(b, "frånkopplad")

	issueLostToEvaEk(b)

	b.WaitText("#result", "Kortet är utlämnat")
	b.WaitText("#print-state", "Kvittensen kunde inte skrivas ut")
	b.WaitText("#reprint", "Skriv ut igen")
	shot(b, "RE-3-print-failed")
	if got := r.str(`SELECT print_state FROM receipts`); got != "failed" {
		t.Fatalf("print_state = %q, want failed", got)
	}
	var stored []byte
	if err := r.db.QueryRow(`SELECT pdf FROM receipts`).Scan(&stored); err != nil {
		t.Fatal(err)
	}

	// The printer comes back: the withdrawn receipt does not print on its
	// own (the hand-out letter, still queued, does).
	togglePrinter(b, "redo")
	waitFor(t, func() bool { return len(r.printedFiles()) == 1 })
	if bytes.Equal(r.printedFiles()[0], stored) {
		t.Fatal("the receipt printed without the operator asking")
	}

	b.Tap("#reprint")
	b.WaitText("#print-state", "Kvittensen är utskriven")
	shot(b, "RE-3-reprinted")
	waitFor(t, func() bool { return len(r.printedFiles()) == 2 })
	same := 0
	for _, p := range r.printedFiles() {
		if bytes.Equal(p, stored) {
			same++
		}
	}
	if same != 1 {
		t.Errorf("printouts identical to the stored receipt = %d, want 1", same)
	}
	if got := r.str(`SELECT print_state FROM receipts`); got != "printed" {
		t.Errorf("print_state = %q, want printed", got)
	}
	if n := r.count(`SELECT count(*) FROM receipts WHERE printed_at IS NOT NULL`); n != 1 {
		t.Errorf("receipts with printed_at = %d, want 1", n)
	}
	if n := r.count(`SELECT count(*) FROM receipts`); n != 1 {
		t.Errorf("receipts = %d, want 1 (a reprint is no new receipt)", n)
	}
	// The button is gone once printed.
	var gone bool
	b.Run("reprint button gone", chromedp.Evaluate(`document.getElementById("reprint") === null`, &gone))
	if !gone {
		t.Error("Skriv ut igen is still offered after printing")
	}
}
