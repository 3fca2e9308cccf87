package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kortstation/kortstation/kiosk/e2e/browsertest"
)

const (
	attestorHSAID  = "SE2321000131-P000000000021"
	attestor2HSAID = "SE2321000131-P000000000031"
)

// clearField deletes n characters of field on the on-screen keyboard.
func clearField(b *browsertest.Browser, field string, n int) {
	b.Tap("#f-" + field)
	for range n {
		b.Tap(`#kb button[data-key="back"]`)
	}
}

// TestReserveCardIssuanceRefusalsAndAttestation walks the refusals at the
// portrait screen, each shown with its rule where it was typed, then
// completes the issuance with two attestors: ID-5 wrong Luhn digit, ID-1
// expired document, ID-2 damaged document, AT-3 operator as attestor,
// AT-2 one attestor only, RC-9 chip/serial mismatch, CP-3 total stop.
func TestReserveCardIssuanceRefusalsAndAttestation(t *testing.T) {
	stopFrom := workday.Add(2 * time.Hour).Truncate(time.Minute)
	stop := fmt.Sprintf(`INSERT INTO ref_stop_windows (id, kind, starts, ends) VALUES ('TS-1', 'total_stop', '%s', '%s')`,
		stopFrom.UTC().Format(time.RFC3339), stopFrom.Add(2*time.Hour).UTC().Format(time.RFC3339))
	// The attestors are typed in here: the registry's policy for the
	// station, as last synced, allows it.
	policy := fmt.Sprintf(`INSERT INTO ref_station_policy (id, typed_attestors, updated_at) VALUES (1, 1, '%s')`, workday.UTC().Format(time.RFC3339Nano))
	r := newRig(t, workday, seedStation(workday, stop, policy))
	b := r.open(browsertest.Sizes[1])
	login(b)
	b.Tap(`#menu button[data-flow="issue"]`)
	b.Tap(`#reasons button[data-reason="forgotten"]`)

	// ID-5: a wrong Luhn digit is refused; nothing is saved.
	last := pnrAttested[len(pnrAttested)-1]
	typeText(b, "find", wrongLuhn(pnrAttested))
	b.WaitText("#v-find", "Kontrollsiffran stämmer inte") // stopped where it is typed
	b.Tap("#find")                                        // and the server refuses it too
	waitRule(b, "#flow-errors", "ID-5")
	shot(b, "ID-5-luhn")
	clearField(b, "find", 1)
	typeText(b, "find", string(last)) // a whole personal number is looked up at once
	typeText(b, "name", "Olle Ring")
	b.Tap("#next")
	b.WaitText("#flow-step", "Identifiering")

	// ID-1: an expired document.
	typeText(b, "docnum", "P998877")
	typeText(b, "docexp", "2025-12-31")
	b.Tap("#next")
	waitRule(b, "#flow-errors", "ID-1")
	shot(b, "ID-1-expired")
	// ID-2: a damaged document, whatever its date.
	clearField(b, "docexp", 10)
	typeText(b, "docexp", "2031-12-31")
	b.Tap("#f-intact")
	b.Tap("#next")
	waitRule(b, "#flow-errors", "ID-2")
	shot(b, "ID-2-damaged")

	// Attestation instead (ID-6): only once the operator records that the
	// recipient has no valid ID document.
	b.Tap("#id-att")
	typeText(b, "a1hsa", opHSAID)
	typeText(b, "a1name", "Test Operatör Ett")
	typeText(b, "a2hsa", attestorHSAID)
	typeText(b, "a2name", "Ida Intyg")
	b.Tap("#next")
	waitRule(b, "#flow-errors", "ID-6")
	shot(b, "ID-6-attestation-without-ground")
	b.Tap("#f-ground")
	// AT-3: the operator cannot attest.
	b.Tap("#next")
	waitRule(b, "#flow-errors", "AT-3")
	shot(b, "AT-3-operator-attests")
	// AT-2: one attestor only.
	clearField(b, "a1hsa", len(opHSAID))
	clearField(b, "a1name", len("Test Operatör Ett"))
	b.Tap("#next")
	waitRule(b, "#flow-errors", "AT-2")
	shot(b, "AT-2-one-attestor")
	typeText(b, "a1hsa", attestor2HSAID)
	typeText(b, "a1name", "Chef Chefsson")
	b.Tap("#next")

	// RC-9: the chip does not match the card chosen.
	takeFromDrawer(b, reserveB)
	b.WaitText("#insert-hint", "Sätt i kortet")
	insert(b, reader1, reserveC)
	waitRule(b, "#flow-errors", "RC-9")
	shot(b, "RC-9-chip-mismatch")
	remove(b, reader1)
	insert(b, reader1, reserveB)
	b.WaitText("#preview", "Kvittens")
	b.WaitText("#pv-att", "Chef Chefsson")
	b.Tap("#dev-drawer-close")
	shot(b, "preview-attested")
	b.Tap("#confirm")
	for _, s := range []string{"recipient", "attestor-1", "attestor-2", "administrator"} {
		sign(b, s)
	}
	shot(b, "all-signed")
	b.Tap("#complete")
	b.WaitText("#result", "Kortet är utlämnat")
	shot(b, "done")
	if n := r.count(`SELECT count(*) FROM attestations`); n != 2 {
		t.Errorf("attestations = %d, want 2", n)
	}
	if n := r.count(`SELECT count(*) FROM id_document_checks`); n != 0 {
		t.Errorf("document checks = %d, want 0 (identified by attestation)", n)
	}
	var pdf []byte
	if err := r.db.QueryRow(`SELECT pdf FROM receipts`).Scan(&pdf); err != nil {
		t.Fatal(err)
	}
	text := strings.Join(strings.Fields(pdfText(t, pdf)), " ")
	for _, want := range []string{"Chef Chefsson", "Ida Intyg", reserveB, "Olle Ring", "saknar giltig id-handling", "inskriven, ej verifierad"} {
		if !strings.Contains(text, want) {
			t.Errorf("receipt PDF lacks %q", want)
		}
	}
	if got := r.str(`SELECT state FROM cards WHERE serial = ?`, reserveC); got != "in_stock" {
		t.Errorf("the mismatched card is %q, want in_stock: nothing half-done is saved", got)
	}
	b.Tap("#close")
	// The close reaches the station (and touches the session) before the
	// clock jumps; otherwise the session counts as active at the new time.
	b.WaitText("#screen-home h1", "Vad vill du göra?")

	// CP-3: in a total stop not even reserve cards are issued.
	// 150 minutes later the idle session has locked: log in again.
	r.clock.Advance(150 * time.Minute)
	b.WaitText("#notice", "utan aktivitet")
	remove(b, reader0)
	login(b)
	// The issuance does not even start: the home screen says why.
	b.Tap(`#menu button[data-flow="issue"]`)
	waitRule(b, "#home-errors", "CP-3")
	shot(b, "CP-3-total-stop")
	b.WaitText("#screen-home h1", "Vad vill du göra?")
}
