package e2e

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kortstation/kortstation/sync/registry"
)

// TestDevStationPickupWithoutIDDocumentAndOldCardSeed003 is `make run` as
// a person tries the two pickup paths of seed 003 with it: the recipient
// has no valid ID document, so their manager is present with a valid ID of
// their own and signs (ID-6, AT-1); and the recipient hands in their old
// card, which is recorded, voided and its certificates asked to be blocked
// (BL-2).
func TestDevStationPickupWithoutIDDocumentAndOldCardSeed003(t *testing.T) {
	dir := t.TempDir()
	b := devStation(t, dir)

	b.Tap(`#menu button[data-flow="pickup"]`)
	findRecipient(b, pnrOrdered, "Per Hämtare")
	b.WaitText("#flow-step", "Identifiering")
	b.Tap("#no-document")
	b.WaitText("#flow-step", "Närvarande chef")
	b.WaitText("#manager-hint", "saknar giltig ID-handling")
	typeText(b, "mhsa", "SE2321000131-P000000000022")
	typeText(b, "mname", "Chef Chefsson")
	b.Tap(`button[data-mdoctype="swedish_driving_licence"]`)
	typeText(b, "mdocnum", "K1234567")
	typeText(b, "mdocexp", "2030-01-31")
	shot(b, "seed003-manager-no-document")
	b.Tap("#next")
	b.WaitText("#flow-step", "Sätt i kortet")
	b.Tap("#dev-drawer-open")
	b.WaitText("#drawer-hint", "Lådan är öppnad")
	insert(b, reader1, registry.SeedOrderedCard)
	b.WaitText("#preview", "Kvittens")
	b.Tap("#dev-drawer-close")
	b.WaitText("#pv-ground", "saknar giltig ID-handling")
	b.Tap(`button[data-handin="` + registry.SeedOldCard + `"]`)
	b.WaitText(`button[data-handin="`+registry.SeedOldCard+`"][aria-pressed="true"]`, registry.SeedOldCard)
	shot(b, "seed003-old-card-handed-in")
	b.Tap("#confirm")
	b.WaitText(`button[data-signer="attestor-1"]`, "Chef Chefsson")
	sign(b, "recipient")
	sign(b, "attestor-1")
	sign(b, "administrator")
	b.Tap("#complete")
	b.WaitText("#result", "Kortet är utlämnat")
	b.WaitText("#handed-in", registry.SeedOldCard)
	shot(b, "seed003-picked-up")
	b.Tap("#close")
	remove(b, reader1)

	db, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, "station.db")+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, c := range []struct{ what, q string }{
		{"old card voided", `SELECT count(*) FROM cards WHERE serial = '` + registry.SeedOldCard + `' AND state = 'voided'`},
		{"old card handed in", `SELECT count(*) FROM cards_handed_in WHERE card_serial = '` + registry.SeedOldCard + `'`},
		{"manager's document", `SELECT count(*) FROM id_document_checks WHERE holder = 'SE2321000131-P000000000022' AND doc_number = 'K1234567'`},
	} {
		var n int
		if err := db.QueryRow(c.q).Scan(&n); err != nil || n != 1 {
			t.Errorf("%s: %d (%v), want 1", c.what, n, err)
		}
	}
	var pdf []byte
	if err := db.QueryRow(`SELECT pdf FROM receipts`).Scan(&pdf); err != nil {
		t.Fatal(err)
	}
	if text := pdfText(t, pdf); !strings.Contains(text, "Närvarande chef") || !strings.Contains(text, "Chef Chefsson") {
		t.Errorf("receipt lacks the manager present:\n%s", text)
	}
}
