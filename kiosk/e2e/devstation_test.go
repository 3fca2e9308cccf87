package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kortstation/kortstation/kiosk/app"
	"github.com/kortstation/kortstation/kiosk/e2e/browsertest"
	"github.com/kortstation/kortstation/kiosk/flow/devseed"
)

// TestDevStationWithEmbeddedRegistry is `make run` as a person meets it:
// the station with its defaults (simulated hardware, the embedded
// reference registry). Once the first sync brought the registry's
// administrators, one of them logs in with the dev panel's card, receives
// the registry's reserve-card shipment by reading a card, and starts an
// issuance for a person the registry knows.
func TestDevStationWithEmbeddedRegistry(t *testing.T) {
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

	// Anna Administratör is authorised once the registry's list arrived.
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
	shot(b, "logged-in")

	serial := fmt.Sprintf("RK-%s-0001", time.Now().Format("2006"))
	b.Tap(`#menu button[data-flow="stock_receive"]`)
	insert(b, reader1, serial)
	b.WaitText("#serials", serial)
	remove(b, reader1)
	b.Tap("#commit")
	b.WaitText("#result", "1 kort mottagna")
	shot(b, "shipment-received")
	b.Tap("#close")

	b.Tap(`#menu button[data-flow="issue"]`)
	b.Tap(`#reasons button[data-reason="forgotten"]`)
	typeText(b, "pnr", devseed.Forgot)
	typeText(b, "name", "Gun Glömsk")
	b.Tap("#next")
	b.WaitText("#flow-step", "Identifiering")
	shot(b, "issuing")
	b.Tap("#flow-cancel")

	// The status screen has the sync engine's word on the registry.
	b.Tap(`#menu button[data-flow="status"]`)
	b.WaitText("#ss-registry", "nåbart")
	// Issue 6: data age per kind on the status screen, and "sync now" runs
	// the same one-attempt sync as the schedule.
	b.WaitText("#ss-dataage", "Administratörer")
	lastAttempt := func() string {
		db, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, "station.db")+"?mode=ro")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var v string
		db.QueryRow(`SELECT value FROM station_meta WHERE key = 'sync.last_attempt'`).Scan(&v)
		return v
	}
	before := lastAttempt()
	b.Tap("#sync-now")
	for deadline := time.Now().Add(10 * time.Second); lastAttempt() == before; {
		if time.Now().After(deadline) {
			t.Fatal("sync now did not run a sync")
		}
		time.Sleep(20 * time.Millisecond)
	}
	shot(b, "status")
}
