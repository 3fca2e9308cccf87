package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kortstation/kortstation/kiosk/e2e/browsertest"
)

// TestStockReceiveCountVoidAndStatus walks the drawer's stock: a shipment
// received with one serial typed and one read in the reader (a serial in
// no shipment is refused), the drawer counted and reconciled, a card voided
// (RC-8) while an ordered card still in time is not (CP-4), and the
// station status screen.
func TestStockReceiveCountVoidAndStatus(t *testing.T) {
	r := newRig(t, workday, seedStation(workday))
	b := r.open(browsertest.Sizes[0])
	login(b)

	b.Tap(`#menu button[data-flow="stock_receive"]`)
	typeText(b, "serial", "9752269900000009999")
	b.Tap("#add")
	b.WaitText("#flow-errors", "finns inte i någon leverans")
	shot(b, "not-shipped")
	clearField(b, "serial", 19)
	typeText(b, "serial", shippedD)
	b.Tap("#add")
	b.WaitText("#serials", shippedD)
	insert(b, reader1, shippedE)
	b.WaitText("#serials", shippedE)
	remove(b, reader1)
	shot(b, "scanned")
	b.Tap("#commit")
	b.WaitText("#result", "2 kort mottagna")
	shot(b, "received")
	b.Tap("#close")
	if n := r.count(`SELECT count(*) FROM cards WHERE serial IN (?, ?) AND state = 'in_stock'`, shippedD, shippedE); n != 2 {
		t.Errorf("received cards in stock = %d, want 2", n)
	}
	if n := r.count(`SELECT count(*) FROM outbox WHERE kind = 'stock_movement' AND json_extract(payload, '$.movement') = 'received'`); n != 2 {
		t.Errorf("outbox received = %d, want 2", n)
	}

	// Count: every card but one is found.
	b.Tap(`#menu button[data-flow="stock_count"]`)
	for _, s := range []string{reserveA, reserveB, reserveC, shippedD, shippedE} {
		sel := fmt.Sprintf(`#stock button[data-serial=%q]`, s)
		b.Tap(sel)
		b.Run("marked "+s, chromedp.Poll(fmt.Sprintf(`document.querySelector('%s[aria-pressed="true"]') !== null`, sel), nil,
			chromedp.WithPollingInterval(10*time.Millisecond)))
	}
	insert(b, reader1, orderedCard)
	remove(b, reader1)
	shot(b, "counting")
	b.Tap("#commit")
	b.WaitText("#result", "Saknas: "+expiredCard)
	shot(b, "counted")
	b.Tap("#close")
	if n := r.count(`SELECT count(*) FROM stock_movements WHERE kind = 'counted'`); n != 6 {
		t.Errorf("counted = %d, want 6", n)
	}
	if n := r.count(`SELECT count(*) FROM stock_movements WHERE kind = 'missing' AND card_serial = ?`, expiredCard); n != 1 {
		t.Errorf("missing = %d, want 1", n)
	}

	// RC-8: a damaged reserve card is voided; CP-4: an ordered card in time is not.
	b.Tap(`#menu button[data-flow="stock_void"]`)
	b.Tap(fmt.Sprintf(`button[data-void=%q]`, orderedCard))
	waitRule(b, "#flow-errors", "CP-4")
	shot(b, "CP-4-still-in-time")
	b.Tap(fmt.Sprintf(`button[data-void=%q]`, reserveC))
	b.WaitText("#result", "Kortet är makulerat")
	b.WaitText("#result", "Kortet är makulerat")
	shot(b, "RC-8-voided")
	b.Tap("#close")
	if got := r.str(`SELECT state FROM cards WHERE serial = ?`, reserveC); got != "voided" {
		t.Errorf("voided card state = %q", got)
	}

	// Station status.
	b.Tap(`#menu button[data-flow="status"]`)
	b.WaitText("#ss-registry", "nåbart")
	b.WaitText("#ss-stock", "Reservkort: i lager 4, makulerade 1")
	b.WaitText("#ss-drawer", "stängd")
	b.WaitText("#ss-outbox", fmt.Sprint(r.count(`SELECT count(*) FROM outbox WHERE acked_at IS NULL`)))
	shot(b, "status")
	b.Tap("#lang")
	b.WaitText("#flow-title", "Station status")
	b.WaitText("#ss-registry", "reachable")
	shot(b, "status-english")
	b.Tap("#lang")
	b.Tap("#close")
}

// TestStatusScreenPortrait shows the status screen at the portrait size,
// with a printer fault visible.
func TestStatusScreenPortrait(t *testing.T) {
	r := newRig(t, workday, seedStation(workday))
	b := r.open(browsertest.Sizes[1])
	login(b)
	b.Tap(`#menu button[data-flow="status"]`)
	b.WaitText("#ss-stock", "Reservkort: i lager 3")
	b.Tap("#dev-printer-paper")
	b.WaitText("#ss-printer", "")
	b.Run("printer state shown", pollText("#ss-printer", "slut på papper"))
	shot(b, "status-printer-out-of-paper")
	b.Tap("#dev-printer-paper")
	b.Tap("#close")
	b.WaitText("#screen-home h1", "Vad vill du göra?")

	// Four days without sync: the lock screen says since when and that
	// issuing has stopped, the status says so, and issuing is refused
	// with the data's age.
	r.clock.Advance(73 * time.Hour)
	b.WaitText("#notice", "utan aktivitet")
	b.WaitText("#offline", "Ingen kontakt med registret sedan")
	b.WaitText("#offline", "Stationen slutar lämna ut kort")
	shot(b, "offline-a-day-before-issuing-stops")
	r.clock.Advance(24 * time.Hour)
	b.WaitText("#offline", "lämnar inte ut kort förrän")
	remove(b, reader0)
	login(b)
	b.Tap(`#menu button[data-flow="issue"]`)
	b.WaitText("#home-errors", "spärrade kort är 97 timmar gamla (högst 96)")
	shot(b, "stale-registry-data")
	b.Tap(`#menu button[data-flow="status"]`)
	b.WaitText("#ss-registry", "inte nått på länge")
	shot(b, "status-registry-not-reached")
}
