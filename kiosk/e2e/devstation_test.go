package e2e

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/kortstation/kortstation/kiosk/devseed"
)

// TestDevStationWithEmbeddedRegistry is `make run` as a person meets it:
// the station with its defaults (simulated hardware, the embedded
// reference registry). Once the first sync brought the registry's
// administrators, one of them logs in with the dev panel's card, receives
// the registry's reserve-card shipment by reading a card, and starts an
// issuance for a person the registry knows.
func TestDevStationWithEmbeddedRegistry(t *testing.T) {
	dir := t.TempDir()
	b := devStation(t, dir)
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
	findRecipient(b, devseed.Forgot, "Gun Glömsk")
	b.WaitText("#flow-step", "Identifiering")
	shot(b, "issuing")
	cancelFlow(b)

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
	// The button says it syncs until the engine reports the attempt, then
	// the result is shown under it (issue 13).
	b.WaitText("#sync-state", "Synkad")
	for deadline := time.Now().Add(10 * time.Second); lastAttempt() == before; {
		if time.Now().After(deadline) {
			t.Fatal("sync now did not run a sync")
		}
		time.Sleep(20 * time.Millisecond)
	}
	shot(b, "status")
}
