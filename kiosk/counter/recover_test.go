package counter

import (
	"bytes"
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	printersim "github.com/kortstation/kortstation/hw/printer/sim"
	"github.com/kortstation/kortstation/kiosk/devseed"
	"github.com/kortstation/kortstation/kiosk/store"
)

// crashAndRestart stops the counter the way a crash leaves it as far as
// the receipt is concerned (the print follower gives up, the print state
// stays), then builds a new counter on the same database with printer p,
// recovers and runs it.
func (c *counter) crashAndRestart(p *printersim.Printer) Recovery {
	c.t.Helper()
	c.stop()
	c.printer = p
	c.deps.Printer = p
	c.m = New(c.deps, c.opts)
	rec, err := c.m.Recover(context.Background())
	if err != nil {
		c.t.Fatalf("recover: %v", err)
	}
	c.run()
	c.remove(0)
	c.waitView(func(View) bool { return len(c.reader.Readers()) == 2 })
	return rec
}

func (c *counter) auditKinds(kind string) int {
	c.t.Helper()
	var n int
	if err := c.st.Reader().QueryRow(`SELECT count(*) FROM audit_log WHERE kind = ?`, kind).Scan(&n); err != nil {
		c.t.Fatal(err)
	}
	return n
}

// TestRecoveryInterruptedPrintGoesToTheReprintListRE3: a receipt the
// station was printing when it stopped, whose job the printer no longer
// knows (a printer restarted too), is not printed unattended at start: it
// appears in "receipts to reprint" on the home screen, prints from there
// once, byte for byte as stored (RE-3), and leaves the list.
func TestRecoveryInterruptedPrintGoesToTheReprintListRE3(t *testing.T) {
	c := newCounter(t)
	c.login()
	c.printer.SetPaused(true) // the job stays queued: "printing"
	c.completeIssuance(devseed.Lost)
	c.waitPrintState("printing")
	id, _, stored := c.receiptPrint()

	fresh := printersim.New(printersim.Options{})
	t.Cleanup(func() { fresh.Close() })
	rec := c.crashAndRestart(fresh)
	if rec.ToReprint != 1 || rec.Printed != 0 || rec.Following != 0 {
		t.Fatalf("recovery = %+v, want one receipt to reprint", rec)
	}
	if _, state, _ := c.receiptPrint(); state != store.PrintFailed {
		t.Fatalf("print state after recovery = %q, want failed", state)
	}
	if n := c.auditKinds("receipt.print_recovered"); n != 1 {
		t.Errorf("receipt.print_recovered audit entries = %d, want 1", n)
	}
	time.Sleep(50 * time.Millisecond)
	if n := len(c.printedReceipts()); n != 0 {
		t.Fatalf("%d receipts printed unattended at start", n)
	}

	c.login()
	v := c.waitView(func(v View) bool { return v.State == StateReady })
	if len(v.Reprints) != 1 || v.Reprints[0].ReceiptID != id || v.Reprints[0].Card != devseed.ReserveInStock[0] {
		t.Fatalf("home screen's receipts to reprint = %+v, want %s", v.Reprints, id)
	}
	if err := c.call("receipt.reprint", map[string]string{"receipt_id": id}); err != nil {
		t.Fatalf("reprint from the list: %v", err)
	}
	c.waitView(func(View) bool { return len(c.printedReceipts()) == 1 })
	deadline := time.Now().Add(5 * time.Second)
	for _, state, _ := c.receiptPrint(); state != store.PrintPrinted; _, state, _ = c.receiptPrint() {
		if time.Now().After(deadline) {
			t.Fatalf("print state = %q, want printed", state)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got := c.printedReceipts(); !bytes.Equal(got[0], stored) {
		t.Fatal("the reprinted receipt differs from the stored one")
	}
	if v := c.view(); len(v.Reprints) != 0 {
		t.Errorf("receipts to reprint after printing = %+v, want none", v.Reprints)
	}
	if err := c.call("receipt.reprint", map[string]string{"receipt_id": id}); err == nil {
		t.Fatal("a printed receipt was printed again from the list")
	}
	if err := c.call("receipt.reprint", map[string]string{"receipt_id": "KV-nope"}); err == nil {
		t.Fatal("an unknown receipt was accepted for reprint")
	}
	if n := len(c.printedReceipts()); n != 1 {
		t.Fatalf("receipts printed = %d, want exactly 1", n)
	}
}

// TestRecoveryAsksThePrinterAboutTheJob: a job that completed while the
// station was down makes the receipt printed (not printed twice); a job
// still queued is followed again and prints once.
func TestRecoveryAsksThePrinterAboutTheJob(t *testing.T) {
	t.Run("completed while down", func(t *testing.T) {
		c := newCounter(t)
		c.login()
		c.printer.SetPaused(true)
		c.completeIssuance(devseed.Lost)
		c.waitPrintState("printing")
		c.stop()
		c.printer.SetPaused(false)
		c.waitView(func(View) bool { return len(c.printedReceipts()) == 1 })
		rec := c.crashAndRestart(c.printer)
		if rec.Printed != 1 || rec.ToReprint != 0 {
			t.Fatalf("recovery = %+v, want the receipt printed", rec)
		}
		if _, state, _ := c.receiptPrint(); state != store.PrintPrinted {
			t.Fatalf("print state = %q, want printed", state)
		}
		c.login()
		if v := c.waitView(func(v View) bool { return v.State == StateReady }); len(v.Reprints) != 0 {
			t.Errorf("receipts to reprint = %+v, want none", v.Reprints)
		}
	})
	t.Run("still queued", func(t *testing.T) {
		c := newCounter(t)
		c.login()
		c.printer.SetPaused(true)
		c.completeIssuance(devseed.Lost)
		c.waitPrintState("printing")
		rec := c.crashAndRestart(c.printer)
		if rec.Following != 1 {
			t.Fatalf("recovery = %+v, want the queued job followed", rec)
		}
		c.printer.SetPaused(false)
		deadline := time.Now().Add(5 * time.Second)
		for _, state, _ := c.receiptPrint(); state != store.PrintPrinted; _, state, _ = c.receiptPrint() {
			if time.Now().After(deadline) {
				t.Fatalf("print state = %q, want printed", state)
			}
			time.Sleep(5 * time.Millisecond)
		}
		if n := len(c.printedReceipts()); n != 1 {
			t.Fatalf("receipts printed = %d, want 1", n)
		}
	})
}

// TestRecoveryClosesInterruptedSessions: a session the station never ended
// (killed mid-session) is closed at start with an audit entry, and the
// station starts locked.
func TestRecoveryClosesInterruptedSessions(t *testing.T) {
	c := newCounter(t)
	c.login()
	c.waitView(func(v View) bool { return v.State == StateReady })
	var sid string
	if err := c.st.Reader().QueryRow(`SELECT id FROM operator_sessions WHERE ended_at IS NULL`).Scan(&sid); err != nil {
		t.Fatal(err)
	}
	// A crash ends no session: take the clean end back out.
	c.stop()
	if err := c.st.Write(context.Background(), func(tx *sql.Tx) error {
		_, err := tx.Exec(`UPDATE operator_sessions SET ended_at = NULL, end_reason = NULL WHERE id = ?`, sid)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	rec := c.crashAndRestart(c.printer)
	if rec.Sessions != 1 {
		t.Fatalf("recovery = %+v, want one session closed", rec)
	}
	var reason string
	if err := c.st.Reader().QueryRow(`SELECT end_reason FROM operator_sessions WHERE id = ? AND ended_at IS NOT NULL`, sid).Scan(&reason); err != nil || reason != "shutdown" {
		t.Fatalf("interrupted session: reason %q, err %v", reason, err)
	}
	if n := c.auditKinds("session.interrupted"); n != 1 {
		t.Errorf("session.interrupted audit entries = %d, want 1", n)
	}
	if v := c.view(); v.State == StateReady {
		t.Error("the station started in the interrupted session")
	}
	if _, err := c.st.VerifyAudit(context.Background()); err != nil {
		t.Errorf("audit chain after recovery: %v", err)
	}
	// A clean start finds nothing to do.
	rec = c.crashAndRestart(c.printer)
	if rec != (Recovery{}) {
		t.Errorf("second recovery = %+v, want nothing", rec)
	}
}

// TestRefusalsAreLoggedAtInfoWithTheirRule: a rule's refusal is logged at
// INFO with its rule ID, a wrong PIN at WARN and audited (no PIN, no
// personal data), and nothing of it at ERROR: ERROR is for what is broken.
func TestRefusalsAreLoggedAtInfoWithTheirRule(t *testing.T) {
	c := newCounter(t)
	c.insert(0, "9752269900000000011")
	c.waitView(func(v View) bool { return v.State == "pin" })
	if err := c.call("session.pin", map[string]string{"pin": "9999"}); err == nil {
		t.Fatal("a wrong PIN was accepted")
	}
	if n := c.auditKinds("session.login_refused"); n != 1 {
		t.Errorf("session.login_refused audit entries after a wrong PIN = %d, want 1", n)
	}
	if err := c.call("session.pin", map[string]string{"pin": "1234"}); err != nil {
		t.Fatal(err)
	}
	if err := c.step("reason", nil); err == nil {
		t.Fatal("a step with no flow was accepted")
	}
	_ = c.call("flow.start", map[string]Kind{"kind": KindIssue})
	_ = c.step("reason", map[string]string{"reason": "lost"})
	if err := c.step("recipient", RecipientInput{PersonalNumber: "19121212-1213", Name: "Tolvan Tolvansson"}); rulesOf(err) != "ID-5" {
		t.Fatalf("wrong Luhn digit: %v, want ID-5", err)
	}
	logs := c.logs.String()
	var info, warn bool
	for _, l := range strings.Split(logs, "\n") {
		if !strings.Contains(l, `msg="request refused"`) {
			continue
		}
		info = info || (strings.Contains(l, "level=INFO") && strings.Contains(l, "ID-5"))
		warn = warn || (strings.Contains(l, "level=WARN") && strings.Contains(l, "request=session.pin"))
	}
	if !info || !warn {
		t.Errorf("refusals logged: rule at INFO %v, wrong PIN at WARN %v\n%s", info, warn, logs)
	}
	if strings.Contains(logs, "level=ERROR") {
		t.Errorf("a refusal was logged at ERROR:\n%s", logs)
	}
	for _, pd := range []string{"9999", "1212", "Tolvan"} {
		if strings.Contains(logs, pd) {
			t.Errorf("log carries %q", pd)
		}
	}
}
