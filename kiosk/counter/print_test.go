package counter

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/kortstation/kortstation/kiosk/devseed"
)

// receiptPrint is the stored receipt's id, print state and PDF.
func (c *counter) receiptPrint() (id, state string, pdf []byte) {
	c.t.Helper()
	if err := c.st.Reader().QueryRow(`SELECT id, print_state, pdf FROM receipts`).Scan(&id, &state, &pdf); err != nil {
		c.t.Fatal(err)
	}
	return id, state, pdf
}

func (c *counter) waitPrintState(want string) {
	c.t.Helper()
	c.waitView(func(v View) bool { return v.Flow != nil && v.Flow.Data["print_state"] == want })
}

// printedReceipts are the receipts the simulated printer printed.
func (c *counter) printedReceipts() [][]byte {
	var out [][]byte
	for _, p := range c.printer.Printed() {
		if strings.HasPrefix(p.Name, "receipt ") {
			out = append(out, p.PDF)
		}
	}
	return out
}

// TestReprintRE3PrintsTheStoredReceiptOnceThePrinterIsBack: a printer
// that cannot print does not keep the receipt to print it unattended
// later; the receipt is marked failed and, with the printer back, printed
// again byte for byte as stored (RE-3: never rendered anew).
func TestReprintRE3PrintsTheStoredReceiptOnceThePrinterIsBack(t *testing.T) {
	for _, tc := range []struct {
		name string
		stop func(*counter, bool)
	}{
		{"RE-3/printer offline", func(c *counter, on bool) { c.printer.SetOffline(on) }},
		{"RE-3/printer out of paper", func(c *counter, on bool) { c.printer.SetOutOfPaper(on) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCounter(t)
			c.login()
			tc.stop(c, true)
			c.completeIssuance(devseed.Lost)
			c.waitPrintState("failed")
			if err := c.step("reprint", nil); err != nil {
				t.Fatalf("reprint with the printer still stopped: %v", err)
			}
			c.waitPrintState("failed")
			if n := len(c.printedReceipts()); n != 0 {
				t.Fatalf("%d receipts printed while the printer was stopped", n)
			}

			tc.stop(c, false)
			// Back again, the withdrawn jobs stay withdrawn: nothing prints
			// on its own.
			c.waitView(func(View) bool { return len(c.printer.Printed()) >= 1 }) // the hand-out letter
			if n := len(c.printedReceipts()); n != 0 {
				t.Fatalf("%d receipts printed without the operator asking", n)
			}
			if err := c.step("reprint", nil); err != nil {
				t.Fatal(err)
			}
			c.waitPrintState("printed")
			_, state, stored := c.receiptPrint()
			if state != "printed" {
				t.Fatalf("print_state = %q", state)
			}
			got := c.printedReceipts()
			if len(got) != 1 || !bytes.Equal(got[0], stored) {
				t.Fatalf("printed receipts = %d, identical to the stored one: %v", len(got), len(got) == 1 && bytes.Equal(got[0], stored))
			}
			// Printed once: a second reprint is refused.
			if err := c.step("reprint", nil); err == nil {
				t.Fatal("a printed receipt was printed again")
			}
			if n := len(c.printedReceipts()); n != 1 {
				t.Fatalf("receipts printed = %d, want 1", n)
			}
		})
	}
}

// TestPausedPrinterHoldsTheReceiptRE1: a paused printer holds the job on
// purpose; the receipt waits ("printing"), is not offered for reprint, and
// prints once the printer is resumed.
func TestPausedPrinterHoldsTheReceiptRE1(t *testing.T) {
	c := newCounter(t)
	c.login()
	c.printer.SetPaused(true)
	c.completeIssuance(devseed.Lost)
	c.waitPrintState("printing")
	time.Sleep(100 * time.Millisecond) // several follower polls
	if _, state, _ := c.receiptPrint(); state != "printing" {
		t.Fatalf("print_state with the printer paused = %q, want printing", state)
	}
	if err := c.step("reprint", nil); err == nil {
		t.Fatal("a held receipt was offered for reprint")
	}
	c.printer.SetPaused(false)
	c.waitPrintState("printed")
	_, _, stored := c.receiptPrint()
	if got := c.printedReceipts(); len(got) != 1 || !bytes.Equal(got[0], stored) {
		t.Fatalf("printed receipts = %d, want the stored one once", len(got))
	}
}
