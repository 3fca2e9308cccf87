package counter

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kortstation/kortstation/kiosk/devseed"
	"github.com/kortstation/kortstation/kiosk/store"
	"github.com/kortstation/kortstation/sync/protocol"
)

// The attacker's side of BL-1: a card on the registry's list of blocked
// cards — lost, stolen, its PIN exposed — is put to the counter. It must
// not leave the station's stock, be extended or picked up, or log anyone
// in; and the refusal leaves the database as it was.

// blockCards puts serials on the registry's list of blocked cards, as a
// pull would.
func (c *counter) blockCards(serials ...string) {
	c.t.Helper()
	var items []protocol.BlockedCard
	for _, s := range serials {
		items = append(items, protocol.BlockedCard{Serial: s, Reason: "stolen", BlockedAt: tuesday.Add(-time.Hour)})
	}
	err := c.st.Update(context.Background(), c.clock, func(t *store.Tx) error { return t.ReplaceBlockedCards(context.Background(), items) })
	if err != nil {
		c.t.Fatal(err)
	}
}

// dbState is what a refused step must not change: every table a record
// writes, and the state of the cards concerned. The refusal's own audit
// entries (counter.refused, *_refused) are what it adds, and are left out.
func (c *counter) dbState(serials ...string) string {
	c.t.Helper()
	var b strings.Builder
	for _, table := range []string{"cards", "card_state_changes", "stock_movements", "issuances", "receipts", "persons",
		"id_document_checks", "attestations", "outbox", "audit_log", "operator_sessions"} {
		var n int
		q := `SELECT count(*) FROM ` + table
		if table == "audit_log" {
			q += ` WHERE kind NOT LIKE '%refused'`
		}
		if err := c.st.Reader().QueryRow(q).Scan(&n); err != nil {
			c.t.Fatal(err)
		}
		b.WriteString(table + "=" + strconv.Itoa(n) + " ")
	}
	for _, s := range serials {
		card, err := c.st.Card(context.Background(), s)
		if err != nil {
			c.t.Fatal(err)
		}
		b.WriteString(s + ":" + string(card.State) + " ")
	}
	return b.String()
}

func hasRule(msgs []Message, rule string) bool {
	for _, m := range msgs {
		if m.Rule == rule {
			return true
		}
	}
	return false
}

func TestBlockedStockCardBL1IsNotTakenFromTheDrawer(t *testing.T) {
	c := newCounter(t)
	c.login()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(c.call("flow.start", map[string]Kind{"kind": KindIssue}))
	must(c.step("reason", map[string]string{"reason": "lost"}))
	must(c.step("recipient", RecipientInput{PersonalNumber: devseed.Lost, Name: "Eva Ek"}))
	must(c.step("document", DocumentInput{Type: "swedish_passport", Number: "P1", Expiry: "2030-01-01", Intact: true}))
	c.drawer.Open()
	c.waitView(func(v View) bool { return v.Flow != nil && v.Flow.Data["drawer_opened"] == true })
	// Printed with spaces, listed without: the serial is compared as printed (RC-9).
	c.blockCards(devseed.ReserveInStock[0])
	before := c.dbState(devseed.ReserveInStock[0])
	err := c.step("card", map[string]string{"serial": devseed.ReserveInStock[0]})
	if !strings.Contains(rulesOf(err), "BL-1") {
		t.Fatalf("got %v, want a BL-1 refusal", err)
	}
	if v := c.view(); v.Flow.Step != "card" {
		t.Errorf("got step %q, want card", v.Flow.Step)
	}
	if after := c.dbState(devseed.ReserveInStock[0]); after != before {
		t.Errorf("BL-1 refusal changed the database:\n got %s\nwant %s", after, before)
	}
	// Another card from the drawer is fine.
	must(c.step("card", map[string]string{"serial": devseed.ReserveInStock[1]}))
}

func TestBlockedCardInTheReaderBL1DuringIssuance(t *testing.T) {
	c := newCounter(t)
	c.login()
	c.issueUpToCard(devseed.Lost)
	// The registry blocks the card after it was chosen; it goes into the
	// reader anyway.
	c.blockCards(devseed.ReserveInStock[0])
	before := c.dbState(devseed.ReserveInStock[0])
	c.insert(1, devseed.ReserveInStock[0])
	v := c.waitView(func(v View) bool { return v.Flow != nil && len(v.Flow.Errors) > 0 })
	if !hasRule(v.Flow.Errors, "BL-1") || v.Flow.Step != "insert" {
		t.Fatalf("flow = %+v, want BL-1 at insert", v.Flow)
	}
	if err := c.step("confirm", nil); err == nil {
		t.Fatal("confirm accepted without a decision")
	}
	if after := c.dbState(devseed.ReserveInStock[0]); after != before {
		t.Errorf("BL-1 refusal changed the database:\n got %s\nwant %s", after, before)
	}
}

func TestBlockedAfterSigningBL1CompleteRecordsNothing(t *testing.T) {
	c := newCounter(t)
	c.login()
	c.issueUpToCard(devseed.Lost)
	c.insert(1, devseed.ReserveInStock[0])
	c.waitView(func(v View) bool { return v.Flow != nil && v.Flow.Step == "preview" })
	if err := c.step("confirm", nil); err != nil {
		t.Fatal(err)
	}
	sig := SignatureInput{AspectRatio: 3, Strokes: [][]receiptPoint{{{X: .1, Y: .1}, {X: .2, Y: .5}, {X: .3, Y: .2}, {X: .4, Y: .6}, {X: .5, Y: .3}}}}
	for _, k := range []string{"recipient", "administrator"} {
		sig.Key = k
		if err := c.step("sign", sig); err != nil {
			t.Fatal(err)
		}
	}
	// A sync brings the block between the signatures and the completion:
	// the rules decide again at this instant.
	c.blockCards(devseed.ReserveInStock[0])
	before := c.dbState(devseed.ReserveInStock[0])
	if err := c.step("complete", nil); !strings.Contains(rulesOf(err), "BL-1") {
		t.Fatalf("got %v, want a BL-1 refusal", err)
	}
	if after := c.dbState(devseed.ReserveInStock[0]); after != before {
		t.Errorf("BL-1 refusal changed the database:\n got %s\nwant %s", after, before)
	}
}

func TestBlockedReserveCardBL1IsNotExtended(t *testing.T) {
	c := newCounter(t)
	c.seedIssued(devseed.ReserveInStock[1], devseed.Lost, tuesday.AddDate(0, -1, 0), 30)
	c.blockCards(devseed.ReserveInStock[1])
	c.login()
	if err := c.call("flow.start", map[string]Kind{"kind": KindExtend}); err != nil {
		t.Fatal(err)
	}
	before := c.dbState(devseed.ReserveInStock[1])
	c.insert(1, devseed.ReserveInStock[1])
	v := c.waitView(func(v View) bool { return v.Flow != nil && len(v.Flow.Errors) > 0 })
	if !hasRule(v.Flow.Errors, "BL-1") || v.Flow.Step != "insert" {
		t.Fatalf("flow = %+v, want BL-1 at insert", v.Flow)
	}
	if after := c.dbState(devseed.ReserveInStock[1]); after != before {
		t.Errorf("BL-1 refusal changed the database:\n got %s\nwant %s", after, before)
	}
}

func TestBlockedOrderedCardBL1IsNotPickedUp(t *testing.T) {
	c := newCounter(t)
	c.blockCards(devseed.OrderedCard)
	c.login()
	if err := c.call("flow.start", map[string]Kind{"kind": KindPickup}); err != nil {
		t.Fatal(err)
	}
	before := c.dbState(devseed.OrderedCard)
	err := c.step("recipient", RecipientInput{PersonalNumber: devseed.Ordered, Name: "Olle Ord"})
	if !strings.Contains(rulesOf(err), "BL-1") {
		t.Fatalf("got %v, want a BL-1 refusal", err)
	}
	if v := c.view(); v.Flow.Step != "recipient" {
		t.Errorf("got step %q, want recipient", v.Flow.Step)
	}
	if after := c.dbState(devseed.OrderedCard); after != before {
		t.Errorf("BL-1 refusal changed the database:\n got %s\nwant %s", after, before)
	}
}

func TestBlockedOperatorCardBL1DoesNotLogIn(t *testing.T) {
	c := newCounter(t)
	c.blockCards("9752269900000000011")
	before := c.dbState()
	c.insert(0, "9752269900000000011")
	v := c.waitView(func(v View) bool { return v.Login != nil && v.Login.Error != nil })
	if v.State != "locked" || v.Login.Error.Rule != "BL-1" {
		t.Fatalf("view = %+v, want locked with a BL-1 error", v)
	}
	if err := c.call("session.pin", map[string]string{"pin": "1234"}); err == nil {
		t.Fatal("PIN accepted for a blocked card")
	}
	if _, ok := c.m.Operator(); ok {
		t.Fatal("an operator is logged in with a blocked card")
	}
	if after := c.dbState(); after != before {
		t.Errorf("BL-1 refusal changed the database:\n got %s\nwant %s", after, before)
	}
}

func TestReturnOfBlockedCardBL2AsksNoCertificateBlock(t *testing.T) {
	c := newCounter(t)
	c.seedIssued(devseed.ReserveInStock[1], devseed.Lost, tuesday.AddDate(0, 0, -3), 30)
	c.blockCards(devseed.ReserveInStock[1])
	c.login()
	if err := c.call("flow.start", map[string]Kind{"kind": KindReturn}); err != nil {
		t.Fatal(err)
	}
	c.insert(1, devseed.ReserveInStock[1])
	c.waitView(func(v View) bool { return v.Flow != nil && v.Flow.Step == "preview" })
	if err := c.step("confirm", nil); err != nil {
		t.Fatalf("RC-6/a blocked card is still taken back: %v", err)
	}
	v := c.view()
	if v.Flow.Data["result"] == nil {
		t.Fatalf("no result in %+v", v.Flow)
	}
	res := v.Flow.Data["result"].(map[string]any)
	if res["block_certificates"] != false || res["cut_and_return"] != true {
		t.Errorf("got %v, want no certificate block (BL-2, already blocked) and cut and return (RC-8)", res)
	}
}
