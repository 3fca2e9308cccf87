package e2e

import (
	"testing"

	"github.com/kortstation/kortstation/sync/registry"
)

// TestDevStationPickupAndVoidingFromTheRegistrysOrders is `make run` as a
// person demonstrates ordinary pickup with it: the embedded registry's
// demonstration data orders a card for one person, ready at the station
// (ID-3), and has another past its pickup deadline, which is voided
// (CP-4).
func TestDevStationPickupAndVoidingFromTheRegistrysOrders(t *testing.T) {
	dir := t.TempDir()
	b := devStation(t, dir)

	b.Tap(`#menu button[data-flow="pickup"]`)
	findRecipient(b, pnrOrdered, "Per Hämtare")
	b.WaitText("#flow-step", "Identifiering")
	typeText(b, "docnum", "K5550001")
	typeText(b, "docexp", "2030-01-31")
	b.Tap("#next")
	b.WaitText("#flow-step", "Sätt i kortet")
	b.WaitText("#card-number", registry.SeedOrderedCard)
	b.Tap("#dev-drawer-open")
	b.WaitText("#drawer-hint", "Lådan är öppnad")
	insert(b, reader1, registry.SeedOrderedCard)
	b.WaitText("#preview", "Kvittens")
	b.Tap("#dev-drawer-close")
	shot(b, "ID-3-registry-order-preview")
	b.Tap("#confirm")
	sign(b, "recipient")
	sign(b, "administrator")
	b.Tap("#complete")
	b.WaitText("#result", "Kortet är utlämnat")
	shot(b, "ID-3-registry-order-picked-up")
	b.Tap("#close")
	remove(b, reader1)

	b.Tap(`#menu button[data-flow="pickup"]`)
	findQuery(b, pnrForgot)
	waitRule(b, "#flow-errors", "CP-4")
	shot(b, "CP-4-registry-order-expired")
	b.Tap("#void")
	b.WaitText("#result", "Kortet är makulerat")
	shot(b, "CP-4-registry-order-voided")
}
