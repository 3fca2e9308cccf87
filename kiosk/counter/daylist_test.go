package counter

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kortstation/kortstation/kiosk/devseed"
)

// dayList is the day list's data in the current view.
func (c *counter) dayList() map[string]any {
	c.t.Helper()
	v := c.view()
	if v.Flow == nil || v.Flow.Kind != KindDayList {
		c.t.Fatalf("view = %+v, want the day list", v.Flow)
	}
	l, _ := v.Flow.Data["daylist"].(map[string]any)
	if l == nil {
		c.t.Fatalf("day list data = %+v", v.Flow.Data)
	}
	return l
}

func (c *counter) dayEntries() []dayEntry {
	c.t.Helper()
	es, _ := c.dayList()["entries"].([]dayEntry)
	return es
}

func (c *counter) openDayList() {
	c.t.Helper()
	if err := c.call("flow.start", map[string]Kind{"kind": KindDayList}); err != nil {
		c.t.Fatal(err)
	}
}

func (c *counter) searchDay(q string, days int) {
	c.t.Helper()
	if err := c.step("search", SearchInput{Query: q, Days: days}); err != nil {
		c.t.Fatal(err)
	}
}

// issuedAndPrinted issues a reserve card to devseed.Lost, waits until
// its receipt is printed and closes the flow; it returns the receipt.
func (c *counter) issuedAndPrinted() (id string, pdf []byte) {
	c.t.Helper()
	c.completeIssuance(devseed.Lost)
	c.waitPrintState("printed")
	if err := c.step("close", nil); err != nil {
		c.t.Fatal(err)
	}
	id, _, pdf = c.receiptPrint()
	return id, pdf
}

var testSig = SignatureInput{AspectRatio: 3, Strokes: [][]receiptPoint{{{X: .1, Y: .1}, {X: .2, Y: .5}, {X: .3, Y: .2}, {X: .4, Y: .6}, {X: .5, Y: .3}}}}

func (c *counter) signAll() {
	c.t.Helper()
	v := c.view()
	signers, _ := v.Flow.Data["signers"].([]signer)
	if len(signers) == 0 {
		c.t.Fatalf("no signers in %+v", v.Flow.Data)
	}
	for _, s := range signers {
		sig := testSig
		sig.Key = s.Key
		if err := c.step("sign", sig); err != nil {
			c.t.Fatal(err)
		}
	}
}

// TestDayListShowsTheDaysIssuancesAndSearches: the day list needs the
// operator's session; it lists today's issuance with the recipient, the
// card and the receipt, and finds it by a part of the name (any case), of
// the personal number and of the card number — and nothing for another
// name. The search terms reach neither the log nor the audit log.
func TestDayListShowsTheDaysIssuancesAndSearches(t *testing.T) {
	c := newCounter(t)
	if err := c.call("flow.start", map[string]Kind{"kind": KindDayList}); keyOf(err) != "locked" {
		t.Fatalf("day list without a session: %v, want locked", err)
	}
	c.login()
	id, _ := c.issuedAndPrinted()
	c.openDayList()
	es := c.dayEntries()
	if len(es) != 1 || es[0].ReceiptID != id || es[0].CardNumber != devseed.ReserveInStock[0] || es[0].Name != "Eva Ek" ||
		es[0].PersonalNumber != devseed.Lost || es[0].Kind != "reserve" || es[0].PrintState != "printed" || es[0].Version != 1 {
		t.Fatalf("entries = %+v", es)
	}
	for _, q := range []string{"eVA e", strings.ReplaceAll(devseed.Lost, "-", "")[4:10], devseed.ReserveInStock[0][12:], "9752 2699 0000 0000 101"} {
		c.searchDay(q, 7)
		if n := len(c.dayEntries()); n != 1 {
			t.Errorf("search %q: %d entries, want 1", q, n)
		}
	}
	c.searchDay("Zäta Okänd", 30)
	if n := len(c.dayEntries()); n != 0 {
		t.Errorf("search for another name: %d entries, want 0", n)
	}
	if err := c.step("search", SearchInput{Days: 3}); keyOf(err) != "search.period" {
		t.Errorf("a period of 3 days: %v, want refused", err)
	}
	// Tomorrow, "today" no longer holds it; 7 days do.
	c.clock.Advance(24 * time.Hour)
	c.searchDay("", 1)
	if n := len(c.dayEntries()); n != 0 {
		t.Errorf("today's list the next day: %d entries, want 0", n)
	}
	c.searchDay("", 7)
	if n := len(c.dayEntries()); n != 1 {
		t.Errorf("the last 7 days: %d entries, want 1", n)
	}
	for _, needle := range []string{"Zäta", "eVA e", "9752 2699"} {
		if strings.Contains(c.logs.String(), needle) {
			t.Errorf("log holds the search %q", needle)
		}
		var n int
		c.st.Reader().QueryRow(`SELECT count(*) FROM audit_log WHERE detail LIKE ?`, "%"+needle+"%").Scan(&n)
		if n > 0 {
			t.Errorf("audit log holds the search %q", needle)
		}
	}
}

// TestDayListReprintRE3IsTheStoredPDF: "Skriv ut igen" in the day list
// sends the stored receipt to the printer byte for byte (RE-3: never
// rendered anew, never a new receipt) and audits it; a receipt that is not
// this station's prints nothing.
func TestDayListReprintRE3IsTheStoredPDF(t *testing.T) {
	c := newCounter(t)
	c.login()
	id, stored := c.issuedAndPrinted()
	c.openDayList()
	if err := c.step("reprint", ReceiptInput{ReceiptID: id}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, func() bool { return len(c.printedReceipts()) == 2 })
	for i, p := range c.printedReceipts() {
		if !bytes.Equal(p, stored) {
			t.Errorf("printout %d differs from the stored receipt", i)
		}
	}
	if n := c.auditCount("receipt.reprinted", "SE2321000131-P000000000011"); n != 1 {
		t.Errorf("reprint audit entries = %d, want 1", n)
	}
	var n int
	c.st.Reader().QueryRow(`SELECT count(*) FROM receipts`).Scan(&n)
	if n != 1 {
		t.Errorf("receipts = %d, want 1", n)
	}
	if err := c.step("reprint", ReceiptInput{ReceiptID: "KV-FROM-ELSEWHERE"}); keyOf(err) != "receipt.unknown" {
		t.Errorf("reprint of another station's receipt: %v, want receipt.unknown", err)
	}
	time.Sleep(50 * time.Millisecond)
	if n := len(c.printedReceipts()); n != 2 {
		t.Errorf("printouts = %d after the refused reprint, want 2", n)
	}
}

// TestDayListRC6ReserveCardsOutAndOverdue: the reserve cards out from the
// station are listed with their last valid day; one whose validity ended
// and that was not returned is marked overdue (RC-6), one still valid is
// not. The ordered cards in the drawer are listed as waiting, the one past
// its deadline marked (CP-4).
func TestDayListRC6ReserveCardsOutAndOverdue(t *testing.T) {
	c := newCounter(t)
	c.seedIssued(devseed.ReserveInStock[1], devseed.Lost, tuesday.AddDate(0, 0, -40), 30)
	c.seedIssued(devseed.ReserveInStock[2], devseed.Forgot, tuesday.AddDate(0, 0, -2), 10)
	c.login()
	c.openDayList()
	out, _ := c.dayList()["reserve_out"].([]outCard)
	got := map[string]outCard{}
	for _, o := range out {
		got[o.CardNumber] = o
	}
	late, ok := got[devseed.ReserveInStock[1]]
	if !ok || !late.Overdue || late.Why != "deviation.expired" || late.ValidThrough != "2026-02-27" {
		t.Errorf("RC-6 card out past its validity = %+v, want overdue through 2026-02-27", late)
	}
	if cur, ok := got[devseed.ReserveInStock[2]]; !ok || cur.Overdue || cur.ValidThrough != "2026-03-17" {
		t.Errorf("card out within its validity = %+v, want not overdue, through 2026-03-17", cur)
	}
	pickups, _ := c.dayList()["pickups"].([]waitingPickup)
	want := map[string]bool{devseed.OrderedCard: false, devseed.ExpiredCard: true}
	if len(pickups) != 2 {
		t.Fatalf("pickups = %+v, want the ordered and the expired card", pickups)
	}
	for _, p := range pickups {
		if exp, ok := want[p.CardNumber]; !ok || p.Expired != exp || p.PersonalNumber == "" {
			t.Errorf("pickup %+v: want expired=%v with its holder", p, exp)
		}
	}
}

// TestCorrectionRE3IsANewVersionThatRefersToTheOld: a correction of the
// recipient's name from the day list is a new receipt, signed again, that
// refers to the old one; the old one stays byte for byte; the audit names
// what changed (not the values) and the registry gets the new receipt with
// corrects. The list shows the newest version; the old one is not
// corrected again.
func TestCorrectionRE3IsANewVersionThatRefersToTheOld(t *testing.T) {
	c := newCounter(t)
	c.login()
	oldID, oldPDF := c.issuedAndPrinted()
	var oldContent string
	c.st.Reader().QueryRow(`SELECT content FROM receipts WHERE id = ?`, oldID).Scan(&oldContent)
	c.openDayList()
	if err := c.step("correct", ReceiptInput{ReceiptID: oldID}); err != nil {
		t.Fatal(err)
	}
	if err := c.step("confirm", CorrectionInput{RecipientName: "Eva Ek"}); keyOf(err) != "correction.nothing" {
		t.Fatalf("a correction that changes nothing: %v, want refused", err)
	}
	if err := c.step("confirm", CorrectionInput{RecipientName: "Eva Ekström"}); err != nil {
		t.Fatal(err)
	}
	if err := c.step("complete", nil); rulesOf(err) != "RE-1" {
		t.Fatalf("complete before the signatures: %v, want RE-1", err)
	}
	c.signAll()
	if err := c.step("complete", nil); err != nil {
		t.Fatal(err)
	}
	v := c.view()
	newID, _ := v.Flow.Data["result"].(map[string]any)["receipt_id"].(string)
	if v.Flow.Step != StepDone || newID == "" || newID == oldID {
		t.Fatalf("done view = %+v", v.Flow)
	}
	var corrects, content string
	var pdf []byte
	if err := c.st.Reader().QueryRow(`SELECT corrects, content, pdf FROM receipts WHERE id = ?`, newID).Scan(&corrects, &content, &pdf); err != nil {
		t.Fatal(err)
	}
	if corrects != oldID || !strings.Contains(content, "Eva Ekström") {
		t.Errorf("new version corrects %q, content %s", corrects, content)
	}
	var nowContent string
	var nowPDF []byte
	c.st.Reader().QueryRow(`SELECT content, pdf FROM receipts WHERE id = ?`, oldID).Scan(&nowContent, &nowPDF)
	if nowContent != oldContent || !bytes.Equal(nowPDF, oldPDF) {
		t.Error("RE-3: the old receipt changed")
	}
	if n := c.auditCount("receipt.corrected", "SE2321000131-P000000000011"); n != 1 {
		t.Errorf("correction audit entries = %d, want 1", n)
	}
	var n int
	c.st.Reader().QueryRow(`SELECT count(*) FROM audit_log WHERE kind = 'receipt.corrected' AND detail LIKE '%recipient_name%' AND detail NOT LIKE '%Ekström%'`).Scan(&n)
	if n != 1 {
		t.Errorf("audit entries naming the changed field without its value = %d, want 1", n)
	}
	c.st.Reader().QueryRow(`SELECT count(*) FROM outbox WHERE kind = 'receipt' AND json_extract(CAST(payload AS TEXT), '$.corrects') = ?`, oldID).Scan(&n)
	if n != 1 {
		t.Errorf("receipt events with corrects = %d, want 1", n)
	}
	if txt := pdfText(t, pdf); !strings.Contains(txt, oldID) {
		t.Errorf("the new version's PDF does not name the receipt it corrects")
	}
	waitUntil(t, func() bool { return len(c.printedReceipts()) == 2 })

	if err := c.step("list", nil); err != nil {
		t.Fatal(err)
	}
	es := c.dayEntries()
	if len(es) != 1 || es[0].ReceiptID != newID || es[0].Version != 2 || es[0].Name != "Eva Ekström" {
		t.Errorf("entries after the correction = %+v, want the new version", es)
	}
	if err := c.step("correct", ReceiptInput{ReceiptID: oldID}); rulesOf(err) != "RE-3" {
		t.Errorf("correcting the old version again: %v, want RE-3", err)
	}
}

// TestCorrectionRE3Attackers: a correction asked without a session, from
// another connection than the session's, of a receipt that is not this
// station's, or with an ID document the rules refuse, is refused and
// changes nothing.
func TestCorrectionRE3Attackers(t *testing.T) {
	c := newCounter(t)
	step := func(client, name string, data any) error {
		_, err := c.callAs(client, "flow.step", map[string]any{"step": name, "data": data})
		return err
	}
	if err := step("test", "correct", ReceiptInput{ReceiptID: "KV-X"}); keyOf(err) != "locked" {
		t.Errorf("without a session: %v, want locked", err)
	}
	c.login()
	id, _ := c.issuedAndPrinted()
	snapshot := func() string {
		var s string
		c.st.Reader().QueryRow(`SELECT (SELECT count(*) FROM receipts) || '/' || (SELECT count(*) FROM outbox) || '/' ||
			(SELECT count(*) FROM audit_log WHERE kind LIKE 'receipt.%')`).Scan(&s)
		return s
	}
	before := snapshot()
	c.openDayList()
	if err := step("evil", "correct", ReceiptInput{ReceiptID: id}); keyOf(err) != "elsewhere" {
		t.Errorf("from another connection: %v, want elsewhere", err)
	}
	if v := c.view(); v.Flow.Step != StepList {
		t.Errorf("another connection moved the flow to %s", v.Flow.Step)
	}
	if err := step("test", "correct", ReceiptInput{ReceiptID: "KV-ANOTHER-STATION"}); keyOf(err) != "receipt.unknown" {
		t.Errorf("another station's receipt: %v, want receipt.unknown", err)
	}
	if err := step("test", "correct", ReceiptInput{ReceiptID: id}); err != nil {
		t.Fatal(err)
	}
	if err := step("evil", "confirm", CorrectionInput{RecipientName: "Mallory"}); keyOf(err) != "elsewhere" {
		t.Errorf("confirm from another connection: %v, want elsewhere", err)
	}
	bad := DocumentInput{Type: "library_card", Number: "L1", Expiry: "2030-01-01", Intact: true}
	if err := step("test", "confirm", CorrectionInput{Document: &bad}); rulesOf(err) != "ID-1" {
		t.Errorf("a document the rules refuse: %v, want ID-1", err)
	}
	expired := DocumentInput{Type: "swedish_passport", Number: "P1", Expiry: "2026-01-01", Intact: true}
	if err := step("test", "confirm", CorrectionInput{Document: &expired}); !strings.Contains(rulesOf(err), "ID-") {
		t.Errorf("a document expired when the receipt was signed: %v, want refused", err)
	}
	if err := step("test", "complete", nil); keyOf(err) != "wrong_step" {
		t.Errorf("complete before confirm: %v, want wrong_step", err)
	}
	if after := snapshot(); after != before {
		t.Errorf("receipts/outbox/receipt audit %s → %s: the refusals changed something", before, after)
	}
	c.logout()
	if err := step("test", "correct", ReceiptInput{ReceiptID: id}); keyOf(err) != "locked" {
		t.Errorf("after logout: %v, want locked", err)
	}
}

// TestDevHistoryCanBeExtendedRC5: the development station's history
// (devseed.SeedHistory) has a reserve card out that the extension flow
// takes to identification (RC-5 allows it).
func TestDevHistoryCanBeExtendedRC5(t *testing.T) {
	c := newCounter(t)
	if err := devseed.SeedHistory(context.Background(), c.st, c.clock); err != nil {
		t.Fatal(err)
	}
	c.login()
	if err := c.call("flow.start", map[string]Kind{"kind": KindExtend}); err != nil {
		t.Fatal(err)
	}
	c.insert(1, devseed.ExtendCard)
	v := c.waitView(func(v View) bool { return v.Flow != nil && (v.Flow.Step == StepIdentity || len(v.Flow.Errors) > 0) })
	if v.Flow.Step != StepIdentity {
		t.Fatalf("extension of the dev card: %+v", v.Flow.Errors)
	}
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 5 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (c *counter) logout() {
	c.t.Helper()
	if err := c.call("session.logout", nil); err != nil {
		c.t.Fatal(err)
	}
}
