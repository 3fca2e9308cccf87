package counter

import (
	"context"
	"strings"
	"testing"

	"github.com/kortstation/kortstation/kiosk/devseed"
)

// Find the person first, back and undo (issue 13).

func (c *counter) mustStep(name string, data any) {
	c.t.Helper()
	if err := c.step(name, data); err != nil {
		c.t.Fatalf("%s: %v", name, err)
	}
}

func (c *counter) found() map[string]any {
	c.t.Helper()
	v := c.view()
	if v.Flow == nil {
		c.t.Fatal("no flow")
	}
	f, _ := v.Flow.Data["found"].(map[string]any)
	return f
}

func foundCards(f map[string]any) string {
	var out []string
	cards, _ := f["cards"].([]map[string]any)
	for _, c := range cards {
		out = append(out, c["number"].(string))
	}
	return strings.Join(out, ",")
}

// TestFindRC2RC3PassThenNameThenIdentity is the happy path of the look-up.
func TestFindRC2RC3PassThenNameThenIdentity(t *testing.T) {
	c := newCounter(t)
	c.login()
	if err := c.call("flow.start", map[string]Kind{"kind": KindIssue}); err != nil {
		t.Fatal(err)
	}
	c.mustStep("reason", map[string]string{"reason": "lost"})
	c.mustStep("find", FindInput{Query: strings.ReplaceAll(devseed.Lost, "-", "")[2:]}) // 10 digits
	v := c.view()
	if v.Flow.Step != StepRecipient {
		t.Fatalf("step = %s, want recipient (the name is not known)", v.Flow.Step)
	}
	f := c.found()
	if f["personal_number"] != devseed.Lost || f["name"] != "" {
		t.Errorf("found = %v", f)
	}
	if orders, _ := f["orders"].([]map[string]any); len(orders) == 0 {
		t.Errorf("the registry's order is not shown: %v", f)
	}
	c.mustStep("recipient", RecipientInput{PersonalNumber: devseed.Lost, Name: "Eva Ek"})
	if v := c.view(); v.Flow.Step != StepIdentity {
		t.Fatalf("step = %s, want identity", v.Flow.Step)
	}
}

// TestFindRC3RefusedBeforeAnythingIsTyped: nobody with neither a card nor
// an order gets past the look-up (RC-3).
func TestFindRC3RefusedBeforeAnythingIsTyped(t *testing.T) {
	c := newCounter(t)
	c.login()
	if err := c.call("flow.start", map[string]Kind{"kind": KindIssue}); err != nil {
		t.Fatal(err)
	}
	c.mustStep("reason", map[string]string{"reason": "forgotten"})
	err := c.step("find", FindInput{Query: devseed.PersonalNumber("19700202", 222)})
	if !strings.Contains(rulesOf(err), "RC-3") {
		t.Fatalf("got %v, want RC-3", err)
	}
	if v := c.view(); v.Flow.Step != StepRecipient || !hasRule(v.Flow.Errors, "RC-3") {
		t.Errorf("flow = %+v, want RC-3 at the look-up", v.Flow)
	}
}

// TestFindKnownPersonRC4NameAndReserveCardFromTheStation: once the station
// issued a reserve card to a person, the look-up names them from its own
// records, lists that reserve card and refuses a second one (RC-4) before
// anything is typed; the ID document checked then is offered.
func TestFindKnownPersonRC4NameAndReserveCardFromTheStation(t *testing.T) {
	c := newCounter(t)
	c.login()
	c.completeIssuance(devseed.Lost)
	c.mustStep("close", nil)
	if err := c.call("flow.start", map[string]Kind{"kind": KindIssue}); err != nil {
		t.Fatal(err)
	}
	c.mustStep("reason", map[string]string{"reason": "lost"})
	err := c.step("find", FindInput{Query: devseed.Lost})
	if !strings.Contains(rulesOf(err), "RC-4") {
		t.Fatalf("got %v, want RC-4", err)
	}
	f := c.found()
	if f["name"] != "Eva Ek" {
		t.Errorf("name = %v, want the station's Eva Ek", f["name"])
	}
	if !strings.Contains(foundCards(f), devseed.ReserveInStock[0]) {
		t.Errorf("cards = %s, want the reserve card %s", foundCards(f), devseed.ReserveInStock[0])
	}
	doc, _ := f["document"].(map[string]string)
	if doc["number"] != "P1" || doc["type"] != "swedish_passport" {
		t.Errorf("document offered = %v, want the passport P1 checked before", doc)
	}
	// The same person found by the card's number.
	err = c.step("find", FindInput{Query: devseed.ReserveInStock[0]})
	if !strings.Contains(rulesOf(err), "RC-4") || c.found()["name"] != "Eva Ek" || c.found()["by"] != "card" {
		t.Errorf("by card: %v, found %v", err, c.found())
	}
}

// TestFindBlockedOrderedCardBL1BeforeIdentification: a pickup whose
// ordered card is on the registry's list of blocked cards is refused at
// the look-up — by personal number or by the card read in reader 01 —
// before any ID document is typed (BL-1).
func TestFindBlockedOrderedCardBL1BeforeIdentification(t *testing.T) {
	c := newCounter(t)
	c.blockCards(devseed.OrderedCard)
	c.login()
	if err := c.call("flow.start", map[string]Kind{"kind": KindPickup}); err != nil {
		t.Fatal(err)
	}
	before := c.dbState(devseed.OrderedCard)
	err := c.step("find", FindInput{Query: devseed.Ordered})
	if !strings.Contains(rulesOf(err), "BL-1") {
		t.Fatalf("got %v, want BL-1", err)
	}
	c.insert(1, devseed.OrderedCard)
	v := c.waitView(func(v View) bool {
		f, _ := v.Flow.Data["found"].(map[string]any)
		return hasRule(v.Flow.Errors, "BL-1") && f["by"] == "card"
	})
	if v.Flow.Step != StepRecipient {
		t.Errorf("step = %s, want the look-up", v.Flow.Step)
	}
	if c.found()["personal_number"] != devseed.Ordered {
		t.Errorf("found = %v, want the holder of the card read", c.found())
	}
	if after := c.dbState(devseed.OrderedCard); after != before {
		t.Errorf("BL-1 refusal changed the database:\n got %s\nwant %s", after, before)
	}
}

// TestFindOrderNumberOnlyForPickup: an order number is refused in an
// issuance with a message, not a rule's code.
func TestFindOrderNumberOnlyForPickup(t *testing.T) {
	c := newCounter(t)
	c.login()
	if err := c.call("flow.start", map[string]Kind{"kind": KindIssue}); err != nil {
		t.Fatal(err)
	}
	c.mustStep("reason", map[string]string{"reason": "lost"})
	err := c.step("find", FindInput{Query: "ORD-1"})
	if err == nil || !strings.Contains(err.Error(), "Order numbers") {
		t.Fatalf("got %v", err)
	}
	if err := c.step("find", FindInput{Query: " "}); err == nil {
		t.Fatal("an empty look-up was accepted")
	}
}

// TestBlockShowsTheHolderAndRefusesABlockedCardBeforeTheReason: the block
// request finds the card first and names its holder; a card already on
// the registry's list of blocked cards is refused there (BL-1).
func TestBlockShowsTheHolderAndRefusesABlockedCardBeforeTheReason(t *testing.T) {
	c := newCounter(t)
	c.seedIssued(devseed.ReserveInStock[1], devseed.Lost, tuesday.AddDate(0, 0, -3), 30)
	c.seedIssued(devseed.ReserveInStock[2], devseed.Forgot, tuesday.AddDate(0, 0, -3), 10)
	c.blockCards(devseed.ReserveInStock[2])
	c.login()
	if err := c.call("flow.start", map[string]Kind{"kind": KindBlock}); err != nil {
		t.Fatal(err)
	}
	c.mustStep("find", FindInput{Query: devseed.ReserveInStock[1]})
	v := c.view()
	if card, _ := v.Flow.Data["card"].(map[string]any); card["number"] != devseed.ReserveInStock[1] || c.found()["name"] != "Lars Sen" {
		t.Fatalf("card %v, found %v", v.Flow.Data["card"], c.found())
	}
	c.mustStep("back", nil)
	if v := c.view(); v.Flow.Data["card"] != nil || v.Flow.Data["found"] != nil {
		t.Errorf("back kept the card: %v", v.Flow.Data)
	}
	if err := c.step("find", FindInput{Query: devseed.ReserveInStock[2]}); !strings.Contains(rulesOf(err), "BL-1") {
		t.Fatalf("blocked card: %v, want BL-1", err)
	}
	if v := c.view(); v.Flow.Data["card"] != nil {
		t.Errorf("a blocked card was taken for a block request: %v", v.Flow.Data["card"])
	}
}

// TestBackKeepsWhatWasEnteredAndPutsTheCardBack: Back goes step by step to
// the reason; the recipient stays; a card chosen from the drawer is named
// to go back into it, and that is audited.
func TestBackKeepsWhatWasEnteredAndPutsTheCardBack(t *testing.T) {
	c := newCounter(t)
	c.login()
	c.issueUpToCard(devseed.Lost)
	if v := c.view(); v.Flow.Step != StepInsert || v.Flow.Data["card_out"] != devseed.ReserveInStock[0] {
		t.Fatalf("flow = %+v", v.Flow)
	}
	c.mustStep("back", nil)
	v := c.view()
	if v.Flow.Step != StepCard || v.Flow.Data["put_back"] != devseed.ReserveInStock[0] || v.Flow.Data["card"] != nil {
		t.Fatalf("after back: %+v", v.Flow)
	}
	if n := c.auditCount("flow.card_put_back", "SE2321000131-P000000000011"); n != 1 {
		t.Errorf("audited put-backs = %d, want 1", n)
	}
	for _, want := range []Step{StepIdentity, StepRecipient, StepReason} {
		c.mustStep("back", nil)
		v := c.view()
		if v.Flow.Step != want {
			t.Fatalf("step = %s, want %s", v.Flow.Step, want)
		}
		if r, _ := v.Flow.Data["recipient"].(map[string]any); r["name"] != "Eva Ek" {
			t.Errorf("at %s the recipient is gone: %v", want, v.Flow.Data["recipient"])
		}
	}
	if v := c.view(); v.Flow.Data["can_back"] != false {
		t.Error("Back offered at the first step")
	}
	if err := c.step("back", nil); err == nil {
		t.Error("back from the first step was accepted")
	}
	// Forward again: the card chosen anew, in stock all along.
	c.mustStep("reason", map[string]string{"reason": "lost"})
	c.mustStep("recipient", RecipientInput{PersonalNumber: devseed.Lost, Name: "Eva Ek"})
	c.mustStep("document", DocumentInput{Type: "swedish_passport", Number: "P1", Expiry: "2030-01-01", Intact: true})
	c.mustStep("card", map[string]string{"serial": devseed.ReserveInStock[1]})
	if v := c.view(); v.Flow.Step != StepInsert {
		t.Fatalf("step = %s", v.Flow.Step)
	}
}

// TestCancelWithACardOutOfTheDrawerSaysWhatHappensToIt: a cancel after a
// card left the drawer is refused until the operator says whether it goes
// back or is voided; both are audited, a void is recorded (RC-8).
func TestCancelWithACardOutOfTheDrawerSaysWhatHappensToIt(t *testing.T) {
	c := newCounter(t)
	c.login()
	c.issueUpToCard(devseed.Lost)
	if err := c.call("flow.cancel", nil); err == nil {
		t.Fatal("cancel without saying what happens to the card was accepted")
	}
	if c.view().Flow == nil {
		t.Fatal("the refused cancel ended the flow")
	}
	if err := c.call("flow.cancel", map[string]string{"card": CardToDrawer}); err != nil {
		t.Fatal(err)
	}
	if c.view().Flow != nil {
		t.Fatal("flow still there")
	}
	var disp, state string
	c.st.Reader().QueryRow(`SELECT json_extract(detail, '$.card_disposition') FROM audit_log WHERE kind = 'flow.cancelled' ORDER BY seq DESC LIMIT 1`).Scan(&disp)
	c.st.Reader().QueryRow(`SELECT state FROM cards WHERE serial = ?`, devseed.ReserveInStock[0]).Scan(&state)
	if disp != CardToDrawer || state != "in_stock" {
		t.Errorf("disposition %q, card %q; want drawer, in_stock", disp, state)
	}

	c.drawer.Close()
	c.waitView(func(View) bool {
		return c.m.snapshot(context.Background(), "test").Hardware["drawer"].State == "closed"
	})
	c.issueUpToCard(devseed.Lost)
	if err := c.call("flow.cancel", map[string]string{"card": CardVoid}); err != nil {
		t.Fatal(err)
	}
	c.st.Reader().QueryRow(`SELECT json_extract(detail, '$.card_disposition') FROM audit_log WHERE kind = 'flow.cancelled' ORDER BY seq DESC LIMIT 1`).Scan(&disp)
	c.st.Reader().QueryRow(`SELECT state FROM cards WHERE serial = ?`, devseed.ReserveInStock[0]).Scan(&state)
	if disp != CardVoid || state != "voided" {
		t.Errorf("disposition %q, card %q; want void, voided", disp, state)
	}
	// Nothing entered: a cancel just ends the flow.
	if err := c.call("flow.start", map[string]Kind{"kind": KindIssue}); err != nil {
		t.Fatal(err)
	}
	if v := c.view(); v.Flow.Data["entered"] != false {
		t.Errorf("entered = %v at the first step", v.Flow.Data["entered"])
	}
	if err := c.call("flow.cancel", nil); err != nil || c.view().Flow != nil {
		t.Errorf("cancel: %v", err)
	}
}

// TestRemoveAWrongScan: a card read into a shipment by mistake comes off
// the list before the shipment is recorded.
func TestRemoveAWrongScan(t *testing.T) {
	c := newCounter(t)
	c.login()
	if err := c.call("flow.start", map[string]Kind{"kind": KindStockReceive}); err != nil {
		t.Fatal(err)
	}
	c.mustStep("add", map[string]string{"serial": devseed.ReserveShipped[0]})
	c.mustStep("add", map[string]string{"serial": devseed.ReserveShipped[1]})
	c.mustStep("remove", map[string]string{"serial": devseed.ReserveShipped[0]})
	if err := c.step("remove", map[string]string{"serial": "nope"}); err == nil {
		t.Error("removing a card not on the list was accepted")
	}
	c.mustStep("commit", nil)
	var n int
	c.st.Reader().QueryRow(`SELECT count(*) FROM cards WHERE serial IN (?, ?)`, devseed.ReserveShipped[0], devseed.ReserveShipped[1]).Scan(&n)
	if n != 1 {
		t.Errorf("cards received = %d, want 1", n)
	}
}
