package counter

import (
	"bytes"
	"database/sql"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/kortstation/kortstation/kiosk/devseed"
	"github.com/kortstation/kortstation/kiosk/rules/calendar"
)

const (
	foreignHSAID = "SE2321000131-P000000000041" // staff without a Swedish number
	managerHSAID = "SE2321000131-P000000000021"
	shortTermOrd = "ORD-ST-1"
)

// seedShortTermOrder puts a short-term card ordered for staff without a
// Swedish number in the drawer, with the registry's facts keyed by the
// order number (ID-4).
func (c *counter) seedShortTermOrder(serial, cardType string) {
	c.t.Helper()
	today := calendar.DateOf(tuesday)
	facts := `{"holder_hsa_id":"` + foreignHSAID + `","orders":[{"id":"` + shortTermOrd + `","type":"regular","card_type":"` + cardType +
		`","ordered":"` + today.AddDays(-10).String() + `","card_serial":"` + serial + `","pickup_deadline":"` + today.AddDays(20).String() + `"}]}`
	at := tuesday.UTC().Format(time.RFC3339Nano)
	err := c.st.Write(c.t.Context(), func(tx *sql.Tx) error {
		if _, err := tx.Exec(`INSERT INTO ref_person_facts (personal_number, facts, updated_at) VALUES (?, ?, ?)`, shortTermOrd, facts, at); err != nil {
			return err
		}
		_, err := tx.Exec(`INSERT INTO cards (serial, type, state, updated_at) VALUES (?, ?, 'in_stock', ?)`, serial, cardType, at)
		return err
	})
	if err != nil {
		c.t.Fatal(err)
	}
}

func TestShortTermPickupID4PassportSixMonthsAndManagerPresent(t *testing.T) {
	c := newCounter(t)
	serial := devseed.ReserveShipped[0]
	c.seedShortTermOrder(serial, "short_term")
	c.login()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(c.call("flow.start", map[string]Kind{"kind": KindPickup}))
	if err := c.step("recipient", RecipientInput{OrderID: "ORD-NONE", Name: "Ana Lima"}); err == nil {
		t.Fatal("an unknown order number was accepted")
	}
	must(c.step("recipient", RecipientInput{OrderID: shortTermOrd, Name: "Ana Lima"}))
	if v := c.view(); v.Flow.Step != "identity" || v.Flow.Data["card"].(map[string]any)["number"] != serial {
		t.Fatalf("flow = %+v, want identity with card %s", v.Flow, serial)
	}
	for _, tc := range []struct {
		name string
		doc  DocumentInput
		rule string
	}{
		{"ID-4/not a passport", DocumentInput{Type: "swedish_driving_licence", Number: "D1", Expiry: "2030-01-01", Intact: true}, "ID-4"},
		{"ID-4/passport valid less than six months after the issue", DocumentInput{Type: "foreign_passport", Number: "FP1", Expiry: "2026-08-31", Intact: true}, "ID-4"},
		{"ID-2/damaged passport", DocumentInput{Type: "foreign_passport", Number: "FP1", Expiry: "2030-01-01", Intact: false}, "ID-2"},
	} {
		if err := c.step("document", tc.doc); !strings.Contains(rulesOf(err), tc.rule) {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.rule)
		}
	}
	must(c.step("document", DocumentInput{Type: "foreign_passport", Number: "FP1", Expiry: "2026-09-10", Intact: true}))
	if v := c.view(); v.Flow.Step != "manager" {
		t.Fatalf("step = %s, want manager (ID-4)", v.Flow.Step)
	}
	valid := DocumentInput{Type: "swedish_passport", Number: "M1", Expiry: "2030-01-01", Intact: true}
	for _, tc := range []struct {
		name string
		in   ManagerInput
		rule string
	}{
		{"AT-3/the operator as manager", ManagerInput{HSAID: "SE2321000131-P000000000011", Name: "Op", Document: valid}, "AT-3"},
		{"ID-4/manager's ID expired", ManagerInput{HSAID: managerHSAID, Name: "Maja Chef", Document: DocumentInput{Type: "swedish_passport", Number: "M1", Expiry: "2026-01-01", Intact: true}}, "ID-1"},
		{"AT-1/manager unnamed", ManagerInput{HSAID: managerHSAID, Document: valid}, "AT-1"},
	} {
		if err := c.step("manager", tc.in); !strings.Contains(rulesOf(err), tc.rule) {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.rule)
		}
	}
	must(c.step("manager", ManagerInput{HSAID: managerHSAID, Name: "Maja Chef", Document: valid}))
	c.drawer.Open()
	c.waitView(func(v View) bool { return v.Flow != nil && v.Flow.Data["drawer_opened"] == true })
	c.insert(1, serial)
	c.waitView(func(v View) bool { return v.Flow != nil && v.Flow.Step == "preview" })
	must(c.step("confirm", nil))
	signers, _ := c.view().Flow.Data["signers"].([]signer)
	if len(signers) != 3 || signers[1].Key != "attestor-1" || signers[1].Role != "manager" || signers[1].Name != "Maja Chef" {
		t.Fatalf("signers = %+v, want the recipient, the manager (ID-4) and the administrator", signers)
	}
	sig := SignatureInput{AspectRatio: 3, Strokes: [][]receiptPoint{{{X: .1, Y: .1}, {X: .2, Y: .5}, {X: .3, Y: .2}, {X: .4, Y: .6}, {X: .5, Y: .3}}}}
	for _, k := range []string{"recipient", "attestor-1", "administrator"} {
		sig.Key = k
		must(c.step("sign", sig))
	}
	must(c.step("complete", nil))

	db := c.st.Reader()
	var state, until string
	must(db.QueryRow(`SELECT state, valid_until FROM cards WHERE serial = ?`, serial).Scan(&state, &until))
	if u, _ := time.Parse(time.RFC3339, until); state != "handed_out" || calendar.DateOf(u) != calendar.DateOf(tuesday).AddMonths(6) {
		t.Errorf("card = %s until %s, want handed_out for six months", state, until)
	}
	for q, want := range map[string]int{
		`SELECT count(*) FROM persons WHERE personal_number IS NULL AND hsa_id = '` + foreignHSAID + `'`:                                      1,
		`SELECT count(*) FROM issuances i JOIN persons p ON p.id = i.person_id WHERE i.kind = 'pickup' AND p.hsa_id = '` + foreignHSAID + `'`: 1,
		`SELECT count(*) FROM attestations WHERE attestor = '` + managerHSAID + `' AND role = 'manager'`:                                      1,
		`SELECT count(*) FROM id_document_checks WHERE doc_type = 'foreign_passport' AND doc_number = 'FP1'`:                                  1,
	} {
		var n int
		must(db.QueryRow(q).Scan(&n))
		if n != want {
			t.Errorf("%s = %d, want %d", q, n, want)
		}
	}

	// The receipt names the passport and, in a section of its own, the
	// manager present; the manager is no attestor (ID-4, RE-4).
	_, _, pdf := c.receiptPrint()
	text := pdfText(t, pdf)
	for _, want := range []string{"Saknar svenskt person- och samordningsnummer", "Utländskt pass", "FP1",
		"Närvarande chef", "Maja Chef, HSA-id " + managerHSAID, "Chefen intygar"} {
		if !strings.Contains(text, want) {
			t.Errorf("receipt lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "Intygsgivare") {
		t.Errorf("receipt prints the manager as an attestor:\n%s", text)
	}
}

// pdfText is the text of a PDF, by poppler's pdftotext, white space
// collapsed.
func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	cmd := exec.Command("pdftotext", "-enc", "UTF-8", "-", "-")
	cmd.Stdin = bytes.NewReader(pdf)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pdftotext (apt-get install -y poppler-utils): %v", err)
	}
	return strings.Join(strings.Fields(string(out)), " ")
}

// TestShortTermPickupID4NoManagerNoCard: without the manager present, with
// a valid ID of their own, the pickup goes no further than the manager
// step and the card stays in stock.
func TestShortTermPickupID4NoManagerNoCard(t *testing.T) {
	c := newCounter(t)
	serial := devseed.ReserveShipped[0]
	c.seedShortTermOrder(serial, "short_term")
	c.login()
	if err := c.call("flow.start", map[string]Kind{"kind": KindPickup}); err != nil {
		t.Fatal(err)
	}
	if err := c.step("recipient", RecipientInput{OrderID: shortTermOrd, Name: "Ana Lima"}); err != nil {
		t.Fatal(err)
	}
	if err := c.step("document", DocumentInput{Type: "foreign_passport", Number: "FP1", Expiry: "2030-01-01", Intact: true}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		step string
		data any
	}{
		{"ID-4/no manager: straight to the card", "confirm", nil},
		{"ID-4/no manager: straight to the signatures", "sign", SignatureInput{Key: "recipient", AspectRatio: 3}},
		{"ID-4/no manager: completed", "complete", nil},
		{"ID-4/manager without anything", "manager", ManagerInput{}},
		{"ID-4/manager without an ID document", "manager", ManagerInput{HSAID: managerHSAID, Name: "Maja Chef"}},
		{"ID-4/manager with a damaged ID document", "manager", ManagerInput{HSAID: managerHSAID, Name: "Maja Chef",
			Document: DocumentInput{Type: "swedish_passport", Number: "M1", Expiry: "2030-01-01", Intact: false}}},
	} {
		if err := c.step(tc.step, tc.data); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
		if v := c.view(); v.Flow == nil || v.Flow.Step != "manager" {
			t.Fatalf("%s: flow = %+v, want it still at the manager step", tc.name, v.Flow)
		}
	}
	c.drawer.Open()
	c.insert(1, serial)
	time.Sleep(50 * time.Millisecond)
	var state string
	if err := c.st.Reader().QueryRow(`SELECT state FROM cards WHERE serial = ?`, serial).Scan(&state); err != nil {
		t.Fatal(err)
	}
	if v := c.view(); state != "in_stock" || v.Flow.Step != "manager" {
		t.Errorf("card %s, step %s: want in_stock at the manager step", state, v.Flow.Step)
	}
	var n int
	if err := c.st.Reader().QueryRow(`SELECT count(*) FROM issuances`).Scan(&n); err != nil || n != 0 {
		t.Errorf("issuances = %d (%v), want none", n, err)
	}
}

// TestShortTermPickupID4OnlyShortTermCards: staff without a Swedish number
// get a short-term card, not an ordinary one.
func TestShortTermPickupID4OnlyShortTermCards(t *testing.T) {
	c := newCounter(t)
	serial := devseed.ReserveShipped[0]
	c.seedShortTermOrder(serial, "sis")
	c.login()
	_ = c.call("flow.start", map[string]Kind{"kind": KindPickup})
	if err := c.step("recipient", RecipientInput{OrderID: shortTermOrd, Name: "Ana Lima"}); err != nil {
		t.Fatal(err)
	}
	if err := c.step("document", DocumentInput{Type: "foreign_passport", Number: "FP1", Expiry: "2030-01-01", Intact: true}); err != nil {
		t.Fatal(err)
	}
	if err := c.step("manager", ManagerInput{HSAID: managerHSAID, Name: "Maja Chef", Document: DocumentInput{Type: "swedish_passport", Number: "M1", Expiry: "2030-01-01", Intact: true}}); err != nil {
		t.Fatal(err)
	}
	c.drawer.Open()
	c.waitView(func(v View) bool { return v.Flow != nil && v.Flow.Data["drawer_opened"] == true })
	c.insert(1, serial)
	v := c.waitView(func(v View) bool { return v.Flow != nil && len(v.Flow.Errors) > 0 })
	if !strings.Contains(v.Flow.Errors[0].Rule+rulesOf(&Refusal{Messages: v.Flow.Errors}), "ID-4") || v.Flow.Step != "insert" {
		t.Fatalf("flow = %+v, want ID-4 at insert", v.Flow)
	}
	var state string
	_ = c.st.Reader().QueryRow(`SELECT state FROM cards WHERE serial = ?`, serial).Scan(&state)
	if state != "in_stock" {
		t.Errorf("card state = %s, want in_stock", state)
	}
}
