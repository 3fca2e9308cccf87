package counter

import (
	"context"
	"crypto/x509"
	"database/sql"
	"encoding/json"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	readersim "github.com/kortstation/kortstation/hw/cardreader/sim"
	"github.com/kortstation/kortstation/hw/cardreader/vcard"
	drawersim "github.com/kortstation/kortstation/hw/drawer/sim"
	printersim "github.com/kortstation/kortstation/hw/printer/sim"
	"github.com/kortstation/kortstation/kiosk/bus"
	"github.com/kortstation/kortstation/kiosk/clock"
	"github.com/kortstation/kortstation/kiosk/devseed"
	"github.com/kortstation/kortstation/kiosk/problem"
	"github.com/kortstation/kortstation/kiosk/rules/calendar"
	"github.com/kortstation/kortstation/kiosk/store"
	"github.com/kortstation/kortstation/kiosk/trust"
	"github.com/kortstation/kortstation/sync/protocol"
)

// counter is a station with the flows attached, on a real SQLite file and
// simulated hardware, seeded with the dev station's reference data.
type counter struct {
	t      testing.TB
	st     *store.Store
	m      *Counter
	ca     *vcard.CA
	crl    *x509.RevocationList
	deps   Deps // what the counter is built from (a restart builds it again)
	opts   Options
	reader *readersim.Reader
	drawer *drawersim.Sensor
	// printer is the simulated printer the receipts go to.
	printer *printersim.Printer
	cards   map[string]*vcard.Card
	clock   *safeClock
	logs    *syncBuffer
	// stop ends the running counter's Run and waits for it.
	stop func()
}

// syncBuffer collects log lines from the station's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (w *syncBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// safeClock is a settable clock safe for the station's goroutines.
type safeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *safeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *safeClock) Source() string { return clock.SourceFixed }

func (c *safeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var tuesday = time.Date(2026, 3, 10, 9, 30, 0, 0, calendar.Stockholm())

func newCounter(t testing.TB) *counter {
	t.Helper()
	return newCounterAt(t, filepath.Join(t.TempDir(), "s.db"))
}

// newCounterAt is newCounter with its database at path.
func newCounterAt(t testing.TB, path string) *counter {
	t.Helper()
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	st, err := store.Open(context.Background(), path, store.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	c := &counter{t: t, st: st, logs: logs, cards: map[string]*vcard.Card{}, clock: &safeClock{t: tuesday}}
	if _, err := devseed.Seed(context.Background(), st, c.clock); err != nil {
		t.Fatal(err)
	}
	// The registry data counts as synced at the start (the freshness
	// policy refuses issuing on stale data).
	if err := st.Write(context.Background(), func(tx *sql.Tx) error {
		for _, k := range protocol.RefKinds {
			at := tuesday.UTC().Format(time.RFC3339Nano)
			if _, err := tx.Exec(`INSERT INTO ref_cursors (kind, cursor, updated_at, complete_at) VALUES (?, 'c', ?, ?)`, k, at, at); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	ca, err := vcard.NewCA("test CA")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range append(append(vcard.DevProfiles(), devseed.BlankCards()...), testAttestorCards...) {
		card, err := ca.Issue(p)
		if err != nil {
			t.Fatal(err)
		}
		c.cards[p.Serial] = card
	}
	c.reader = readersim.New(log, readersim.DefaultReaders()...)
	c.drawer, err = drawersim.New(drawersim.DefaultConfig(), log)
	if err != nil {
		t.Fatal(err)
	}
	pr := printersim.New(printersim.Options{Logger: log})
	t.Cleanup(func() { pr.Close() })
	c.printer = pr
	// The test CA is the SITHS root; its CRL revokes nothing.
	crlDER, err := ca.CRL(1, tuesday.Add(-time.Hour), tuesday.AddDate(0, 0, 30))
	if err != nil {
		t.Fatal(err)
	}
	crl, err := x509.ParseRevocationList(crlDER)
	if err != nil {
		t.Fatal(err)
	}
	c.ca, c.crl = ca, crl
	material := func(context.Context) (trust.Material, error) {
		return trust.Material{CRLs: []*x509.RevocationList{c.crl}}, nil
	}
	verifier, err := trust.New(ca.CertificatePEM(), trust.Material{CRLs: []*x509.RevocationList{crl}}, c.clock, trust.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c.deps = Deps{Info: Info{ID: "t", Name: "Test", Location: "Testplats"}, Store: st, Bus: bus.New(), Clock: c.clock, Log: log,
		Reader: c.reader, Drawer: c.drawer, Printer: pr, Trust: verifier, TrustMaterial: material}
	c.opts = Options{IdleTimeout: time.Minute, Simulation: true}
	c.m = New(c.deps, c.opts)
	c.run()
	t.Cleanup(func() { c.stop() })
	c.waitView(func(View) bool { return len(c.reader.Readers()) == 2 })
	// The drawer's initial state is recorded before a test compares the
	// database before and after.
	c.waitView(func(View) bool {
		var n int
		_ = st.Reader().QueryRow(`SELECT count(*) FROM audit_log WHERE kind LIKE 'drawer.%'`).Scan(&n)
		return n > 0
	})
	return c
}

// run runs the counter's devices and idle timeout until stop.
func (c *counter) run() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.m.Run(ctx) }()
	var once sync.Once
	c.stop = func() { once.Do(func() { cancel(); <-done }) }
}

func (c *counter) call(typ string, payload any) error {
	c.t.Helper()
	b, _ := json.Marshal(payload)
	_, err := c.m.Handle(context.Background(), "test", typ, b)
	return err
}

func (c *counter) step(name string, data any) error {
	c.t.Helper()
	return c.call("flow.step", map[string]any{"step": name, "data": data})
}

func (c *counter) view() View {
	c.m.mu.Lock()
	defer c.m.mu.Unlock()
	return c.m.view(context.Background(), "test")
}

func (c *counter) waitView(cond func(View) bool) View {
	c.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		v := c.view()
		if cond(v) {
			return v
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("view never reached the condition: %+v", v)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (c *counter) insert(reader int, serial string) {
	c.t.Helper()
	if err := c.reader.Insert(readersim.DefaultReaders()[reader], c.cards[serial]); err != nil {
		c.t.Fatal(err)
	}
}

func (c *counter) remove(reader int) {
	c.t.Helper()
	if err := c.reader.Remove(readersim.DefaultReaders()[reader]); err != nil {
		c.t.Fatal(err)
	}
}

func (c *counter) login() {
	c.t.Helper()
	c.insert(0, "9752269900000000011")
	c.waitView(func(v View) bool { return v.State == "pin" })
	if err := c.call("session.pin", map[string]string{"pin": "1234"}); err != nil {
		c.t.Fatal(err)
	}
}

func rulesOf(err error) string {
	var r *Refusal
	if !errors.As(err, &r) {
		return ""
	}
	var out []string
	for _, m := range r.Messages {
		out = append(out, m.Rule)
	}
	return strings.Join(out, ",")
}

func TestLoginAD1RefusesAnOperatorNotAuthorised(t *testing.T) {
	c := newCounter(t)
	c.insert(0, "9752269900000000021") // the attestor: not an administrator
	v := c.waitView(func(v View) bool { return v.Login != nil && v.Login.Error != nil })
	if v.State != "locked" || v.Login.Error.Rule != "AD-1" {
		t.Fatalf("view = %+v, want locked with an AD-1 error", v)
	}
	if err := c.call("session.pin", map[string]string{"pin": "3456"}); err == nil {
		t.Fatal("PIN accepted for an unauthorised card")
	}
	if _, ok := c.m.Operator(); ok {
		t.Fatal("an operator is logged in")
	}
}

func TestLoginWrongPINThenRightPINStartsTheSessionRC7(t *testing.T) {
	c := newCounter(t)
	c.insert(0, "9752269900000000011")
	c.waitView(func(v View) bool { return v.State == "pin" })
	err := c.call("session.pin", map[string]string{"pin": "0000"})
	if err == nil || !strings.Contains(err.Error(), "2 attempts left") {
		t.Fatalf("wrong PIN: %v", err)
	}
	if err := c.call("flow.start", map[string]Kind{"kind": KindIssue}); err == nil {
		t.Fatal("a flow started without a session")
	}
	if err := c.call("session.pin", map[string]string{"pin": "1234"}); err != nil {
		t.Fatal(err)
	}
	op, ok := c.m.Operator()
	if !ok || op.HSAID != "SE2321000131-P000000000011" {
		t.Fatalf("station operator = %+v, %v (RC-7 needs the session)", op, ok)
	}
	// Card removal locks and clears.
	if err := c.call("flow.start", map[string]Kind{"kind": KindIssue}); err != nil {
		t.Fatal(err)
	}
	c.remove(0)
	v := c.waitView(func(v View) bool { return v.State == "locked" })
	if v.Flow != nil || v.Operator != nil {
		t.Fatalf("locked view still holds a flow or operator: %+v", v)
	}
	if _, ok := c.m.Operator(); ok {
		t.Fatal("operator still set after card removal")
	}
}

func TestIdleTimeoutLocks(t *testing.T) {
	c := newCounter(t)
	c.login()
	c.clock.Advance(2 * time.Minute)
	c.waitView(func(v View) bool { return v.State == "locked" && v.Notice != nil && v.Notice.Key == "idle" })
}

// TestIdleWarningBeforeTheLock: before the idle lock the screen is told
// (a fifth of the one-minute test timeout ahead); a touch ("Mer tid?")
// keeps the session and clears the warning.
func TestIdleWarningBeforeTheLock(t *testing.T) {
	c := newCounter(t)
	c.login()
	c.clock.Advance(50 * time.Second)
	v := c.waitView(func(v View) bool { return v.IdleLocksAt != nil })
	if want := tuesday.Add(time.Minute); v.IdleLocksAt.Before(want) {
		t.Errorf("locks at %v, want after %v", v.IdleLocksAt, want)
	}
	if err := c.call("session.touch", nil); err != nil {
		t.Fatal(err)
	}
	if v := c.view(); v.IdleLocksAt != nil || v.State != StateReady {
		t.Fatalf("after more time: %+v, want ready without a warning", v)
	}
	c.clock.Advance(30 * time.Second)
	time.Sleep(1100 * time.Millisecond) // a tick of the idle watch
	if v := c.view(); v.State != StateReady {
		t.Fatalf("locked 30 s after more time was asked: %+v", v)
	}
}

func TestStepsOutOfOrderAreRefused(t *testing.T) {
	c := newCounter(t)
	c.login()
	if err := c.call("flow.start", map[string]Kind{"kind": KindIssue}); err != nil {
		t.Fatal(err)
	}
	if err := c.step("complete", nil); err == nil {
		t.Fatal("complete accepted at the reason step")
	}
	var p *problem.Problem
	if err := c.step("card", map[string]string{"serial": devseed.ReserveInStock[0]}); !errors.As(err, &p) {
		t.Fatalf("card at the reason step: %v, want a problem", err)
	}
}

// issueUpToCard runs an issuance to the insert step.
func (c *counter) issueUpToCard(pnr string) {
	c.t.Helper()
	must := func(err error) {
		c.t.Helper()
		if err != nil {
			c.t.Fatal(err)
		}
	}
	must(c.call("flow.start", map[string]Kind{"kind": KindIssue}))
	must(c.step("reason", map[string]string{"reason": "lost"}))
	must(c.step("recipient", RecipientInput{PersonalNumber: pnr, Name: "Eva Ek"}))
	must(c.step("document", DocumentInput{Type: "swedish_passport", Number: "P1", Expiry: "2030-01-01", Intact: true}))
	c.drawer.Open()
	c.waitView(func(v View) bool { return v.Flow != nil && v.Flow.Data["drawer_opened"] == true })
	must(c.step("card", map[string]string{"serial": devseed.ReserveInStock[0]}))
}

func TestRecipientID5WrongLuhnDigitChangesNothing(t *testing.T) {
	c := newCounter(t)
	c.login()
	_ = c.call("flow.start", map[string]Kind{"kind": KindIssue})
	_ = c.step("reason", map[string]string{"reason": "lost"})
	wrong := devseed.Lost[:len(devseed.Lost)-1] + string('0'+(devseed.Lost[len(devseed.Lost)-1]-'0'+1)%10)
	err := c.step("recipient", RecipientInput{PersonalNumber: wrong, Name: "Eva Ek"})
	if rulesOf(err) != "ID-5" {
		t.Fatalf("wrong Luhn: %v, want ID-5", err)
	}
	if v := c.view(); v.Flow.Step != "recipient" || v.Flow.Errors[0].Rule != "ID-5" {
		t.Fatalf("view = %+v", v.Flow)
	}
}

func TestRecipientRC3NoCardNoOrder(t *testing.T) {
	c := newCounter(t)
	c.login()
	_ = c.call("flow.start", map[string]Kind{"kind": KindIssue})
	_ = c.step("reason", map[string]string{"reason": "forgotten"})
	err := c.step("recipient", RecipientInput{PersonalNumber: devseed.PersonalNumber("19700202", 222), Name: "Ny Person"})
	if !strings.Contains(rulesOf(err), "RC-3") {
		t.Fatalf("no card, no order: %v, want RC-3", err)
	}
}

func TestAttestorsAT3OperatorAndAT2TooFew(t *testing.T) {
	c := newCounter(t)
	c.allowTypedAttestors()
	c.toIdentity()
	err := c.step("attestors", map[string]any{"ground": "no_valid_document", "attestors": []AttestorInput{
		{HSAID: "SE2321000131-P000000000011", Name: "Op", Role: "manager"},
		{HSAID: "SE2321000131-P000000000021", Name: "Ida", Role: "manager"}}})
	if !strings.Contains(rulesOf(err), "AT-3") {
		t.Fatalf("operator as attestor: %v, want AT-3", err)
	}
	err = c.step("attestors", map[string]any{"ground": "no_valid_document", "attestors": []AttestorInput{{HSAID: "SE2321000131-P000000000021", Name: "Ida", Role: "manager"}}})
	if !strings.Contains(rulesOf(err), "AT-2") {
		t.Fatalf("one attestor: %v, want AT-2", err)
	}
}

// TestAttestationID6NeedsItsGround: attestors identify a recipient only
// when the operator records that the recipient has no valid ID document
// (or no Swedish personal number, which a recipient with one cannot be
// said to lack); otherwise the step is refused and the flow stays.
func TestAttestationID6NeedsItsGround(t *testing.T) {
	c := newCounter(t)
	c.allowTypedAttestors()
	c.toIdentity()
	two := []AttestorInput{{HSAID: "SE2321000131-P000000000021", Name: "Ida", Role: "manager"}, {HSAID: "SE2321000131-P000000000031", Name: "Chef", Role: "manager"}}
	for _, ground := range []string{"", "no_personal_number", "because"} {
		err := c.step("attestors", map[string]any{"ground": ground, "attestors": two})
		if rulesOf(err) != "ID-6" {
			t.Errorf("ground %q: %v, want ID-6 only", ground, err)
		}
		if v := c.view(); v.Flow.Step != StepIdentity {
			t.Fatalf("ground %q moved the flow to %s", ground, v.Flow.Step)
		}
	}
	if err := c.step("attestors", map[string]any{"ground": "no_valid_document", "attestors": two}); err != nil {
		t.Fatalf("attestation with its ground: %v", err)
	}
	if v := c.view(); v.Flow.Step != StepCard {
		t.Fatalf("after attestation: step %s, want card", v.Flow.Step)
	}
}

func TestChipRC9MismatchKeepsTheCardInStock(t *testing.T) {
	c := newCounter(t)
	c.login()
	c.issueUpToCard(devseed.Lost)
	c.insert(1, devseed.ReserveInStock[1])
	v := c.waitView(func(v View) bool { return v.Flow != nil && len(v.Flow.Errors) > 0 })
	if v.Flow.Errors[0].Rule != "RC-9" || v.Flow.Step != "insert" {
		t.Fatalf("flow = %+v, want RC-9 at insert", v.Flow)
	}
	c.remove(1)
	c.insert(1, devseed.ReserveInStock[0])
	c.waitView(func(v View) bool { return v.Flow != nil && v.Flow.Step == "preview" })
}

func TestIssuanceCompletesWithReceiptAndRecords(t *testing.T) {
	c := newCounter(t)
	c.login()
	c.completeIssuance(devseed.Lost)
	var n int
	c.st.Reader().QueryRow(`SELECT count(*) FROM outbox WHERE kind IN ('issuance', 'receipt')`).Scan(&n)
	if n != 2 {
		t.Errorf("outbox issuance+receipt = %d, want 2", n)
	}
	v := c.view()
	if v.Flow.Step != "done" || v.Flow.Data["document"] != nil {
		t.Errorf("done view = %+v; the document must be cleared", v.Flow)
	}
	// RC-4: a second reserve card for the same person is refused.
	_ = c.step("close", nil)
	_ = c.call("flow.start", map[string]Kind{"kind": KindIssue})
	_ = c.step("reason", map[string]string{"reason": "lost"})
	if err := c.step("recipient", RecipientInput{PersonalNumber: devseed.Lost, Name: "Eva Ek"}); !strings.Contains(rulesOf(err), "RC-4") {
		t.Fatalf("second reserve card: %v, want RC-4", err)
	}
}

func (c *counter) completeIssuance(pnr string) {
	c.t.Helper()
	c.issueUpToCard(pnr)
	c.insert(1, devseed.ReserveInStock[0])
	c.waitView(func(v View) bool { return v.Flow != nil && v.Flow.Step == "preview" })
	if err := c.step("confirm", nil); err != nil {
		c.t.Fatal(err)
	}
	sig := SignatureInput{AspectRatio: 3, Strokes: [][]receiptPoint{{{X: .1, Y: .1}, {X: .2, Y: .5}, {X: .3, Y: .2}, {X: .4, Y: .6}, {X: .5, Y: .3}}}}
	for _, k := range []string{"recipient", "administrator"} {
		sig.Key = k
		if err := c.step("sign", sig); err != nil {
			c.t.Fatal(err)
		}
	}
	if err := c.step("complete", nil); err != nil {
		c.t.Fatal(err)
	}
}

// TestNoPersonalDataInLogsOrAudit: personal numbers and names never reach
// the log or the audit log; the audit names cards, receipts and sessions.
func TestNoPersonalDataInLogsOrAudit(t *testing.T) {
	c := newCounter(t)
	c.login()
	c.completeIssuance(devseed.Lost)
	pnr := strings.ReplaceAll(devseed.Lost, "-", "")
	for _, needle := range []string{pnr, devseed.Lost, pnr[2:], "Eva Ek"} {
		if strings.Contains(c.logs.String(), needle) {
			t.Errorf("log holds %q", needle)
		}
		var n int
		c.st.Reader().QueryRow(`SELECT count(*) FROM audit_log WHERE detail LIKE ? OR subject LIKE ?`, "%"+needle+"%", "%"+needle+"%").Scan(&n)
		if n > 0 {
			t.Errorf("audit log holds %q in %d entries", needle, n)
		}
	}
}

// seedIssued records a reserve card as handed out at issued to pnr.
func (c *counter) seedIssued(serial, pnr string, issued time.Time, days int) {
	c.t.Helper()
	ctx := context.Background()
	from, until := issued.UTC().Format(time.RFC3339), issued.AddDate(0, 0, days).UTC().Format(time.RFC3339)
	digits := strings.ReplaceAll(pnr, "-", "")
	err := c.st.Write(ctx, func(tx *sql.Tx) error {
		for _, q := range []struct {
			q    string
			args []any
		}{
			{`INSERT OR IGNORE INTO operator_sessions (id, operator, card_serial, started_at) VALUES ('old', 'SE2321000131-P000000000011', 'x', ?)`, []any{from}},
			{`INSERT INTO persons (personal_number, name, created_at) VALUES (?, 'Lars Sen', ?)`, []any{digits, from}},
			{`UPDATE cards SET state = 'handed_out', holder = (SELECT id FROM persons WHERE personal_number = ?), valid_from = ?, valid_until = ? WHERE serial = ?`, []any{digits, from, until, serial}},
			{`INSERT INTO issuances (id, kind, card_serial, person_id, session_id, reason, valid_from, valid_until, created_at, clock_source)
				VALUES (?, 'reserve', ?, (SELECT id FROM persons WHERE personal_number = ?), 'old', 'lost', ?, ?, ?, 'ntp')`, []any{"iss-" + serial, serial, digits, from, until, from}},
			{`INSERT INTO ref_card_status (serial, state, receipt_received, updated_at) VALUES (?, 'activated', 1, ?)`, []any{serial, from}},
		} {
			if _, err := tx.Exec(q.q, q.args...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		c.t.Fatal(err)
	}
}

func TestExtensionRC5After7MonthsIsRefused(t *testing.T) {
	c := newCounter(t)
	c.seedIssued(devseed.ReserveInStock[1], devseed.Lost, tuesday.AddDate(0, -7, -2), 30)
	c.login()
	_ = c.call("flow.start", map[string]Kind{"kind": KindExtend})
	c.insert(1, devseed.ReserveInStock[1])
	v := c.waitView(func(v View) bool { return v.Flow != nil && len(v.Flow.Errors) > 0 })
	if v.Flow.Errors[0].Rule != "RC-5" || v.Flow.Step != "insert" {
		t.Fatalf("flow = %+v, want RC-5 at insert", v.Flow)
	}
}

func TestExtensionRC5Within7MonthsReachesIdentity(t *testing.T) {
	c := newCounter(t)
	c.seedIssued(devseed.ReserveInStock[1], devseed.Lost, tuesday.AddDate(0, -6, 0), 30)
	c.login()
	_ = c.call("flow.start", map[string]Kind{"kind": KindExtend})
	c.insert(1, devseed.ReserveInStock[1])
	c.waitView(func(v View) bool { return v.Flow != nil && v.Flow.Step == "identity" })
}

func TestBlockBL1NeedsAReason(t *testing.T) {
	c := newCounter(t)
	c.seedIssued(devseed.ReserveInStock[1], devseed.Lost, tuesday.AddDate(0, 0, -3), 30)
	c.login()
	_ = c.call("flow.start", map[string]Kind{"kind": KindBlock})
	if err := c.step("request", map[string]string{"serial": devseed.ReserveInStock[1], "reason": "bored"}); !strings.Contains(rulesOf(err), "BL-1") {
		t.Fatalf("block without a BL-1 reason: %v", err)
	}
	if err := c.step("request", map[string]string{"serial": devseed.ReserveInStock[1], "reason": "lost"}); err != nil {
		t.Fatal(err)
	}
	var n int
	c.st.Reader().QueryRow(`SELECT count(*) FROM outbox WHERE kind = 'block_request'`).Scan(&n)
	if n != 1 {
		t.Errorf("outbox block_request = %d, want 1", n)
	}
}

func TestVoidRC8OnlyCutCardsThatMayBeVoided(t *testing.T) {
	c := newCounter(t)
	c.seedIssued(devseed.ReserveInStock[1], devseed.Lost, tuesday.AddDate(0, 0, -3), 30)
	c.login()
	_ = c.call("flow.start", map[string]Kind{"kind": KindStockVoid})
	// An activated card with its holder is not cut before its
	// certificates are blocked (BL-2 forbids activated → voided).
	if err := c.step("void", map[string]string{"serial": devseed.ReserveInStock[1]}); err == nil {
		t.Fatal("an activated card was voided")
	}
	if err := c.step("void", map[string]string{"serial": devseed.ReserveInStock[2]}); err != nil {
		t.Fatalf("voiding a stock card: %v", err)
	}
}

// TestIssuingRefusedOnStaleRegistryData: past the sync policy's maximum
// age (blocked cards: 96 hours, README "Days offline") an issuance does not
// start, and says which data is how old.
func TestIssuingRefusedOnStaleRegistryData(t *testing.T) {
	c := newCounter(t)
	c.login()
	c.clock.Advance(97 * time.Hour)
	c.waitView(func(v View) bool { return v.State == "locked" }) // idle, four days later
	c.remove(0)
	c.login()
	err := c.call("flow.start", map[string]Kind{"kind": KindIssue})
	var r *Refusal
	if !errors.As(err, &r) || !strings.Contains(r.Error(), "blocked cards are 97 hours old (at most 96)") {
		t.Fatalf("stale data: %v", err)
	}
	if err := c.call("flow.start", map[string]Kind{"kind": KindReturn}); err != nil {
		t.Fatalf("a return does not depend on the stale data: %v", err)
	}
}

// TestRefusalsAreAuditedWithTheirRules: the screen says what is wrong and
// what to do; the rule that refused goes to the audit log (with the step),
// without personal data.
func TestRefusalsAreAuditedWithTheirRules(t *testing.T) {
	c := newCounter(t)
	c.login()
	_ = c.call("flow.start", map[string]Kind{"kind": KindIssue})
	_ = c.step("reason", map[string]string{"reason": "lost"})
	if err := c.step("recipient", RecipientInput{PersonalNumber: "19121212-1213", Name: "Tolvan Tolvansson"}); rulesOf(err) != "ID-5" {
		t.Fatalf("wrong Luhn digit: %v, want ID-5", err)
	}
	var detail string
	if err := c.st.Reader().QueryRow(`SELECT detail FROM audit_log WHERE kind = 'counter.refused' ORDER BY seq DESC LIMIT 1`).Scan(&detail); err != nil {
		t.Fatalf("no audited refusal: %v", err)
	}
	if !strings.Contains(detail, `"ID-5"`) || !strings.Contains(detail, `"recipient"`) {
		t.Errorf("audited refusal %s, want rule ID-5 at the recipient step", detail)
	}
	if strings.Contains(detail, "1212") || strings.Contains(detail, "Tolvan") {
		t.Errorf("audited refusal carries personal data: %s", detail)
	}
}
