package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/kortstation/kortstation/kiosk/e2e/browsertest"
)

const (
	attestorCard2 = "9752269900000000022" // Chef Chefsson, PIN 4567 (kiosk/app/devcards.go)
)

// attestorPIN types an attestor's PIN on the identification step's keypad.
func attestorPIN(b *browsertest.Browser, pin string) {
	for _, d := range pin {
		b.Tap(fmt.Sprintf(`#att-pin #keypad button[data-key=%q]`, string(d)))
	}
	b.Tap("#att-pin #pin-ok")
}

// TestIssuanceWithCardVerifiedAttestors: at 800×480, two attestors each put
// their own SITHS card in the card reader and type their PIN (AT-1); their
// names come from the cards. Under the default policy an invented, typed
// attestor is not even offered, and the server refuses one sent anyway.
// The receipt PDF says how each attestor was verified, and the ground
// (ID-6).
func TestIssuanceWithCardVerifiedAttestors(t *testing.T) {
	r := newRig(t, workday, seedStation(workday))
	b := r.open(browsertest.Sizes[0])
	login(b)
	b.Tap(`#menu button[data-flow="issue"]`)
	b.Tap(`#reasons button[data-reason="forgotten"]`)
	findRecipient(b, pnrAttested, "Olle Ring")
	b.WaitText("#flow-step", "Identifiering")
	b.Tap("#id-att")
	b.WaitText("#att-hint", "sätt i ditt SITHS-kort")
	var typedFields int
	b.Run("typed fields", chromedp.Evaluate(`document.querySelectorAll("#f-a1hsa, #f-a2hsa").length`, &typedFields))
	if typedFields != 0 {
		t.Error("typed attestor fields are offered although the policy forbids them")
	}
	b.Tap("#f-ground")

	// An invented attestor sent by hand is refused (AT-1).
	var refused string
	b.Run("invented attestor", chromedp.Evaluate(`window.kortstation.conn.request("flow.step", {step: "attestors", data: {ground: "no_valid_document",
		attestors: [{hsa_id: "SE2321000131-P000000000777", name: "Påhittad", role: "manager"}]}}).then(() => "", (p) => p.rule || p.key)`, &refused,
		func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
	if refused != "AT-1" {
		t.Errorf("invented attestor: refused with %q, want AT-1", refused)
	}
	waitRule(b, "#flow-errors", "AT-1")
	shot(b, "AT-1-invented-attestor")

	insert(b, reader1, attestorCard)
	b.WaitText("#att-pin-title", "Test Intygsgivare")
	shot(b, "attestor-1-pin")
	attestorPIN(b, "3456")
	b.WaitText("#att-cards", "Test Intygsgivare")
	remove(b, reader1)
	cardAttestor(b, attestorCard2, "Chef Chefsson", "4567")
	b.WaitText("#att-hint", "Båda intygsgivarna")
	b.Tap(`#att-cards button[data-cardatt="2"][data-role="employer"]`)
	shot(b, "attestors-verified")
	b.Tap("#next")

	takeFromDrawer(b, reserveA)
	b.WaitText("#insert-hint", "Sätt i kortet")
	insert(b, reader1, reserveA)
	b.WaitText("#preview", "Kvittens")
	b.Tap("#dev-drawer-close")
	b.Tap("#confirm")
	signAndComplete(b, "recipient", "attestor-1", "attestor-2", "administrator")
	b.WaitText("#result", "Kortet är utlämnat")
	shot(b, "done")

	var pdf []byte
	if err := r.db.QueryRow(`SELECT pdf FROM receipts`).Scan(&pdf); err != nil {
		t.Fatal(err)
	}
	text := strings.Join(strings.Fields(pdfText(t, pdf)), " ")
	for _, want := range []string{"Test Intygsgivare", "Chef Chefsson", "verifierad med SITHS-kort och PIN", "saknar giltig id-handling"} {
		if !strings.Contains(text, want) {
			t.Errorf("receipt PDF lacks %q", want)
		}
	}
	if strings.Contains(text, "ej verifierad") {
		t.Error("receipt PDF marks a card-verified attestor unverified")
	}
	if n := r.count(`SELECT count(*) FROM audit_log WHERE kind = 'attestor.verified'`); n != 2 {
		t.Errorf("audited attestor identifications = %d, want 2", n)
	}
}
