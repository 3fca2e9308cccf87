package e2e

import (
	"database/sql"
	"path/filepath"
	"testing"

	_ "github.com/mattn/go-sqlite3"

	"github.com/kortstation/kortstation/kiosk/devseed"
	"github.com/kortstation/kortstation/sync/registry"
)

// TestDevStationExtensionRC5 is `make run` as a person tries an extension
// with it: the development data (kiosk/devseed on the station,
// sync/registry.Seed in the embedded registry) has a reserve card handed
// out at this station three days ago and activated since; after the first
// sync it is extended once, by the same validity for the same reason
// (RC-5), and a second extension of it is refused.
func TestDevStationExtensionRC5(t *testing.T) {
	if devseed.ExtendCard != registry.SeedExtendCard {
		t.Fatalf("the station's and the registry's dev card to extend differ: %s, %s", devseed.ExtendCard, registry.SeedExtendCard)
	}
	dir := t.TempDir()
	b := devStation(t, dir)

	b.Tap(`#menu button[data-flow="extend"]`)
	b.WaitText("#insert-hint", "mottagarens reservkort")
	insert(b, reader1, devseed.ExtendCard)
	b.WaitText("#flow-step", "Identifiering")
	b.WaitText("#screen", devseed.ExtenderName)
	shot(b, "RC-5-devstation-identity")
	typeText(b, "docnum", "N7000333")
	typeText(b, "docexp", "2030-01-31")
	b.Tap("#next")
	b.WaitText("#pv-valid", "(10 dagar)")
	shot(b, "RC-5-devstation-preview")
	b.Tap("#confirm")
	sign(b, "recipient")
	sign(b, "administrator")
	b.Tap("#complete")
	b.WaitText("#result", "Kortet är utlämnat")
	shot(b, "RC-5-devstation-extended")
	b.Tap("#close")
	remove(b, reader1)

	db, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, "station.db")+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM issuances WHERE kind = 'extension' AND card_serial = ? AND refers_to IS NOT NULL`, devseed.ExtendCard).Scan(&n); err != nil || n != 1 {
		t.Errorf("extensions of the dev card = %d (%v), want 1", n, err)
	}

	// RC-5: once only.
	b.Tap(`#menu button[data-flow="extend"]`)
	insert(b, reader1, devseed.ExtendCard)
	waitRule(b, "#flow-errors", "RC-5")
	b.Tap("#flow-cancel")
	remove(b, reader1)
}
