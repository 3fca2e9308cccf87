package e2e

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kortstation/kortstation/kiosk/app"
	"github.com/kortstation/kortstation/kiosk/e2e/browsertest"
	"github.com/kortstation/kortstation/sync/registry"
)

// TestDevStationPickupAndVoidingFromTheRegistrysOrders is `make run` as a
// person demonstrates ordinary pickup with it: the embedded registry's
// demonstration data orders a card for one person, ready at the station
// (ID-3), and has another past its pickup deadline, which is voided
// (CP-4).
func TestDevStationPickupAndVoidingFromTheRegistrysOrders(t *testing.T) {
	addr, dir := freeAddr(t), t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- app.Main(ctx, app.Env{Args: []string{"-listen", addr, "-data-dir", dir, "-log-level", "warn"},
			Stdout: io.Discard, Stderr: stderr(), Ready: func(a string) { ready <- a }})
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("station did not start: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("station did not start in 20 s")
	}
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("station stopped with %v", err)
		}
	}()
	b := browsertest.New(t, browsertest.Sizes[0])
	b.Run("open UI", chromedp.Navigate(fmt.Sprintf("http://%s/", addr)))
	b.WaitText("#conn", "Ansluten")

	// The registry's administrator gets in once the first sync brought
	// the registry's data (its orders come in the same pull).
	deadline := time.Now().Add(30 * time.Second)
	for {
		insert(b, reader0, "9752269900000000051")
		var state string
		b.Run("login state", chromedp.Poll(`(() => { const s = document.getElementById("screen").dataset.state;
			return (s === "pin" || document.getElementById("login-error")) ? (s === "pin" ? "pin" : "refused") : false; })()`, &state,
			chromedp.WithPollingInterval(20*time.Millisecond)))
		if state == "pin" {
			break
		}
		remove(b, reader0)
		if time.Now().After(deadline) {
			t.Fatal("the registry's administrators never arrived")
		}
		time.Sleep(300 * time.Millisecond)
	}
	pinPad(b, "1234")
	b.WaitText("#operator", "Anna Administratör")

	b.Tap(`#menu button[data-flow="pickup"]`)
	typeText(b, "pnr", pnrOrdered)
	typeText(b, "name", "Per Hämtare")
	b.Tap("#next")
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
	typeText(b, "pnr", pnrForgot)
	typeText(b, "name", "Gun Glömsk")
	b.Tap("#next")
	b.WaitText("#flow-errors", "CP-4")
	shot(b, "CP-4-registry-order-expired")
	b.Tap("#void")
	b.WaitText("#result", "Kortet är makulerat")
	shot(b, "CP-4-registry-order-voided")
}
