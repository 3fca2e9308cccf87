package e2e

import (
	"github.com/kortstation/kortstation/kiosk/e2e/browsertest"
)

// The steps of a reserve-card issuance that many walks share, each as the
// operator taps it.

// startIssue starts a reserve-card issuance for reason (lost, forgotten)
// from the home screen and waits for the recipient step.
func startIssue(b *browsertest.Browser, reason string) {
	b.Tap(`#menu button[data-flow="issue"]`)
	b.Tap(`#reasons button[data-reason="` + reason + `"]`)
	b.WaitText("#flow-step", "Mottagare")
}

// enterDocument, at the identity step, enters an ID document of doctype
// with number (valid until 2030-05-31) and goes on.
func enterDocument(b *browsertest.Browser, doctype, number string) {
	b.WaitText("#flow-step", "Identifiering")
	b.Tap(`button[data-doctype="` + doctype + `"]`)
	typeText(b, "docnum", number)
	typeText(b, "docexp", "2030-05-31")
	b.Tap("#next")
}

// takeFromDrawer, at the step "Ta ett kort ur lådan" (the drawer opens
// at this step, not before), opens the drawer from the dev panel and
// chooses serial from the stock shown.
func takeFromDrawer(b *browsertest.Browser, serial string) {
	b.WaitText("#flow-step", "Ta ett kort ur lådan")
	b.Tap("#dev-drawer-open")
	b.WaitText("#drawer-hint", "Lådan är öppnad")
	b.Tap(`#stock button[data-serial="` + serial + `"]`)
}

// signAndComplete, at the signatures, has each signer sign in turn and
// completes the issuance.
func signAndComplete(b *browsertest.Browser, signers ...string) {
	for _, s := range signers {
		sign(b, s)
	}
	b.Tap("#complete")
}

// issueLostToEvaEk issues reserveA from the home screen for a lost card
// to Eva Ek (pnrLost, found by the personal number), identified by a
// Swedish passport: the drawer is closed before the card goes into
// reader 1, the preview confirmed, recipient and administrator sign and
// the issuance is completed (the done screen is not awaited).
func issueLostToEvaEk(b *browsertest.Browser) {
	startIssue(b, "lost")
	findRecipient(b, pnrLost, "Eva Ek")
	enterDocument(b, "swedish_passport", "P7654321")
	takeFromDrawer(b, reserveA)
	b.WaitText("#insert-hint", "Sätt i kortet")
	b.Tap("#dev-drawer-close")
	insert(b, reader1, reserveA)
	b.WaitText("#preview", "Kvittens – förhandsgranskning")
	b.Tap("#confirm")
	signAndComplete(b, "recipient", "administrator")
}

// cardAttestor, at the identity step, has an attestor put their own SITHS
// card into reader 1 and type their PIN (AT-1), waits for their name,
// from the card, among the attestors and takes the card out.
func cardAttestor(b *browsertest.Browser, card, name, pin string) {
	insert(b, reader1, card)
	b.WaitText("#att-pin-title", name)
	attestorPIN(b, pin)
	b.WaitText("#att-cards", name)
	remove(b, reader1)
}

// togglePrinter switches the simulated printer off or on (dev panel) and
// waits for the status bar to say want ("frånkopplad", "redo").
func togglePrinter(b *browsertest.Browser, want string) {
	b.Tap("#dev-printer-offline")
	b.WaitText("#st-printer", want)
}
