package registry_test

import (
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/kortstation/kortstation/kiosk/rules"
	"github.com/kortstation/kortstation/kiosk/rules/calendar"
	"github.com/kortstation/kortstation/kiosk/rules/ident"
	"github.com/kortstation/kortstation/kiosk/trust/trusttest"
	"github.com/kortstation/kortstation/sync/protocol"
	"github.com/kortstation/kortstation/sync/registry"
	"github.com/kortstation/kortstation/sync/registrytest"
)

// Issue 14, items 1, 5, 7 and 8 at the central console: approval with
// evidence (CP-1), stop windows in Swedish time (CP-3), search with every
// look-up audited, reports with CSV and SVG charts.

// roleConsole is a registry with its console over TLS, one admin per
// role (console_test.go's IDs), the Seed's operators and reserve cards
// RK-1..RK-9 shipped to ST-1 and RK-20..RK-29 to ST-2.
type roleConsole struct {
	*consoleFixture
	clients map[string]*http.Client
	seq     map[string]int64
	now     time.Time
}

func newRoleConsole(t *testing.T, now time.Time) *roleConsole {
	t.Helper()
	return openRoleConsole(t, now, func(c registry.Config) registry.Config { return c }, func(ctx context.Context, srv *registry.Server) error {
		for st, serials := range map[string][]string{"ST-1": {"RK-1", "RK-2", "RK-3", "RK-4", "RK-5", "RK-6", "RK-7", "RK-8", "RK-9"}, "ST-2": {"RK-20", "RK-21", "RK-22", "RK-23"}} {
			if err := srv.AddStation(ctx, st, ""); err != nil {
				return err
			}
			if err := srv.Ship(ctx, st, "SHIP-"+st, "reserve", serials...); err != nil {
				return err
			}
		}
		return nil
	})
}

// openRoleConsole opens a registry (its configuration through cfg) at
// now, seeded, stocks it, and serves its console over TLS with one admin
// per role, each with a client of their own.
func openRoleConsole(t *testing.T, now time.Time, cfg func(registry.Config) registry.Config, stock func(context.Context, *registry.Server) error) *roleConsole {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	dir := t.TempDir()
	rc := &roleConsole{clients: map[string]*http.Client{}, seq: map[string]int64{}, now: now}
	srv, err := registry.Open(ctx, cfg(registry.Config{DataDir: dir, Logger: registrytest.Logger(t), Now: func() time.Time { return rc.now }}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	if err := srv.Seed(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if err := stock(ctx, srv); err != nil {
		t.Fatal(err)
	}
	root := trusttest.NewRoot(t, "SITHS e-id Root CA v2", trusttest.ECDSA)
	inter := root.Intermediate("SITHS e-id Person HSA-id 3 CA v1", trusttest.ECDSA)
	registrytest.TrustIntermediate(t, ctx, srv, inter, now.Add(-time.Hour), now.AddDate(0, 1, 0))
	base := registrytest.ServeConsole(t, ctx, srv, root.PEM(), viewerID+" viewer\n"+caseID+" case_officer\n"+managerID+" station_manager\n"+securityID+" security_officer\n")
	rc.consoleFixture = &consoleFixture{t: t, ctx: ctx, srv: srv, dir: dir, base: base, pool: srv.CA().Pool()}
	for _, id := range []string{viewerID, caseID, managerID, securityID} {
		c, k := inter.Issue(trusttest.Leaf{HSAID: id})
		rc.clients[id] = rc.client(c, k)
	}
	return rc
}

// push stores p as station's next event, made at at; it must be applied
// (not held for review).
func (rc *roleConsole) push(station string, p protocol.Payload, at time.Time) {
	rc.t.Helper()
	b, err := json.Marshal(p)
	if err != nil {
		rc.t.Fatal(err)
	}
	rc.seq[station]++
	acks, err := rc.srv.Store(rc.ctx, station, []protocol.Event{{Seq: rc.seq[station], ID: uuid.NewString(), Kind: p.EventKind(), Payload: b, CreatedAt: at, ClockSource: "ntp"}})
	if err != nil || len(acks) != 1 || acks[0].Result != protocol.AckStored {
		rc.t.Fatalf("store %s: %+v, %v", p.EventKind(), acks, err)
	}
	if items, err := rc.srv.ReviewItems(rc.ctx); err != nil || len(items) != 0 {
		rc.t.Fatalf("event held for review: %+v, %v", items, err)
	}
}

// postForm posts form with the client's CSRF token as a browser would and
// returns the status and body.
func (rc *roleConsole) postForm(id, path string, form url.Values) (int, string) {
	rc.t.Helper()
	c := rc.clients[id]
	if form.Get("csrf") == "" {
		form.Set("csrf", rc.csrf(c))
	}
	req, _ := http.NewRequest(http.MethodPost, rc.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", rc.base)
	res, err := c.Do(req)
	if err != nil {
		rc.t.Fatalf("POST %s: %v", path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// auditEntries are the admin audit entries of kind, oldest first.
func (rc *roleConsole) auditEntries(kind string) []map[string]any {
	rc.t.Helper()
	recs, err := rc.srv.AdminAudit(rc.ctx, 100000)
	if err != nil {
		rc.t.Fatal(err)
	}
	var out []map[string]any
	for i := len(recs) - 1; i >= 0; i-- {
		r := recs[i]
		if r.Kind != kind {
			continue
		}
		d := map[string]any{}
		_ = json.Unmarshal([]byte(r.Detail), &d)
		d["actor"], d["subject"] = r.Actor, r.Subject
		out = append(out, d)
	}
	return out
}

// auditText is the whole admin audit trail as text.
func (rc *roleConsole) auditText() string {
	rc.t.Helper()
	recs, err := rc.srv.AdminAudit(rc.ctx, 100000)
	if err != nil {
		rc.t.Fatal(err)
	}
	b, _ := json.Marshal(recs)
	return string(b)
}

// issuance is a reserve-card issuance as a station records it: the
// issuance event and its sealed receipt with the PDF.
type issuance struct {
	id, receiptID, serial, pnr, name, reason string
	at                                       time.Time
	days                                     int
	tamper                                   bool // the receipt no longer matches its seal (RE-3)
}

func (rc *roleConsole) issue(station string, in issuance) {
	rc.t.Helper()
	if in.reason == "" {
		in.reason = string(rules.ReasonForgotten)
	}
	if in.days == 0 {
		in.days = 7
	}
	from := in.at
	until := calendar.DateOf(from).AddDays(in.days).Start()
	pn, err := ident.ParsePersonalNumber(in.pnr)
	if err != nil {
		rc.t.Fatal(err)
	}
	op, _ := ident.ParseHSAID(jobOp)
	r := rules.Receipt{ID: in.receiptID, Kind: rules.ReceiptReserveIssuance, Recipient: rules.Person{PersonalNumber: pn}, RecipientName: in.name,
		CardNumber: in.serial, CardType: rules.CardReserve, ValidFrom: from, ValidUntil: until, Reason: rules.Reason(in.reason),
		Document: &rules.IDDocument{Type: rules.DocSwedishPassport, Number: "AA1234567", Expiry: calendar.NewDate(2030, 1, 1)},
		Operator: rules.Person{HSAID: op}, OperatorName: "Olle Operatör", At: in.at, Place: station, SignedAt: in.at.Add(time.Minute)}
	sealed, err := rules.Seal(r, nil)
	if err != nil {
		rc.t.Fatalf("seal: %v", err)
	}
	if in.tamper {
		sealed.Receipt.Reason = rules.ReasonTemporaryAssignment
	}
	content, _ := json.Marshal(sealed)
	rc.push(station, protocol.IssuancePayload{IssuanceID: in.id, CardSerial: in.serial, CardType: "reserve", PersonalNumber: in.pnr, Reason: in.reason,
		ValidFrom: from, ValidUntil: until, Operator: jobOp}, in.at)
	rc.push(station, protocol.ReceiptPayload{ReceiptID: in.receiptID, IssuanceID: in.id, CardSerial: in.serial, Content: content,
		PDF: []byte("%PDF-1.4 receipt " + in.receiptID), SignedAt: in.at.Add(time.Minute)}, in.at.Add(time.Minute))
}

// cardState is the state of serial as station pulls it.
func (rc *roleConsole) cardState(station, serial string) string {
	rc.t.Helper()
	resp, err := rc.srv.Pull(rc.ctx, station, map[string]string{protocol.RefCardStatus: ""}, 0)
	if err != nil {
		rc.t.Fatal(err)
	}
	var items []protocol.CardStatus
	if err := json.Unmarshal(resp.Pages[protocol.RefCardStatus].Items, &items); err != nil {
		rc.t.Fatal(err)
	}
	for _, it := range items {
		if it.Serial == serial {
			return it.State
		}
	}
	rc.t.Fatalf("card %s not in %s's card status", serial, station)
	return ""
}

var (
	pnrA = registry.TestPersonalNumber("19850505", 321)
	pnrB = registry.TestPersonalNumber("19900101", 123)
)

// TestCP1ApprovalWithEvidence: the approval queue shows each issuance's
// operator and central review (CP-1), the evidence page its receipt, ID
// document and findings; the receipt PDF is served by the receipt's ID to
// case officers only, each view audited; a reject needs a reason; the
// decisions reach the station as the card's state and an approval the
// recipient's "ready to activate" notice (RE-5).
func TestCP1ApprovalWithEvidence(t *testing.T) {
	now := calendar.NewDate(2026, 11, 30).At(10, 0)
	rc := newRoleConsole(t, now)
	if err := rc.srv.SetPersonFactsDoc(rc.ctx, pnrA, protocol.PersonFactsDoc{RegularCards: []protocol.RegularCardFact{{Serial: "SIS-A"}}}); err != nil {
		t.Fatal(err)
	}
	good := issuance{id: "iss-good", receiptID: "rcpt-good", serial: "RK-1", pnr: pnrA, name: "Anna Svensson", at: now.Add(-time.Hour)}
	bad := issuance{id: "iss-bad", receiptID: "rcpt-bad", serial: "RK-2", pnr: pnrB, name: "Bo Berg", at: now.Add(-time.Hour), tamper: true}
	rc.issue("ST-1", good)
	rc.issue("ST-1", bad)

	ev, err := rc.srv.IssuanceEvidence(rc.ctx, "iss-good")
	if err != nil || ev.ReviewError != "" || len(ev.Findings) != 0 || ev.Receipt == nil || !ev.ReceiptHasPDF || ev.Issuance.Operator != jobOp {
		t.Fatalf("CP-1 evidence of a correct issuance: %+v, %v", ev, err)
	}
	ev, err = rc.srv.IssuanceEvidence(rc.ctx, "iss-bad")
	if err != nil || !ev.Findings.Has("RE-3") || !ev.Findings.Has("CP-1") {
		t.Fatalf("CP-1 central review of a tampered receipt: findings %v, %v", ev.Findings.Rules(), err)
	}

	t.Run("the queue shows operator, review and evidence links", func(t *testing.T) {
		_, page := rc.get(rc.clients[caseID], "/admin")
		for _, want := range []string{jobOp, `href="/admin/issuance/iss-good"`, `href="/admin/receipt/rcpt-good"`, "inga anmärkningar", "RE-3"} {
			if !strings.Contains(page, want) {
				t.Errorf("CP-1 queue lacks %q", want)
			}
		}
		if strings.Contains(page, pnrA) || strings.Contains(page, "Anna Svensson") {
			t.Error("the console's overview shows a personal number or name")
		}
		_, page = rc.get(rc.clients[viewerID], "/admin")
		if strings.Contains(page, "/admin/receipt/") || strings.Contains(page, "/admin/issuance/") {
			t.Error("a viewer is offered the evidence")
		}
	})

	t.Run("evidence page", func(t *testing.T) {
		res, page := rc.get(rc.clients[caseID], "/admin/issuance/iss-good")
		if res.StatusCode != http.StatusOK {
			t.Fatalf("evidence: %d", res.StatusCode)
		}
		for _, want := range []string{"Anna Svensson", pnrA[:8] + "-" + pnrA[8:], "passport", "AA1234567", "ST-1", jobOp, "Inga anmärkningar", `href="/admin/receipt/rcpt-good"`, `action="/admin/issuance"`} {
			if !strings.Contains(page, want) {
				t.Errorf("CP-1 evidence page lacks %q", want)
			}
		}
		_, page = rc.get(rc.clients[caseID], "/admin/issuance/iss-bad")
		if !strings.Contains(page, `class="finding"`) || !strings.Contains(page, "(RE-3)") {
			t.Errorf("CP-1 evidence page of the tampered receipt shows no RE-3 finding:\n%s", page)
		}
		if n := len(rc.auditEntries("personal_data.view")); n != 2 {
			t.Errorf("evidence views audited %d times, want 2", n)
		}
	})

	t.Run("receipt PDF: case officers only, audited, no personal number in the URL", func(t *testing.T) {
		res, body := rc.get(rc.clients[caseID], "/admin/receipt/rcpt-good")
		if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "application/pdf" || body != "%PDF-1.4 receipt rcpt-good" {
			t.Fatalf("receipt PDF: %d %s %q", res.StatusCode, res.Header.Get("Content-Type"), body)
		}
		views := rc.auditEntries("personal_data.view")
		if last := views[len(views)-1]; last["subject"] != "receipt rcpt-good" || last["actor"] != caseID {
			t.Errorf("the PDF view audited as %v", last)
		}
		// Attacker: a viewer opens the PDF and the evidence by URL.
		for _, path := range []string{"/admin/receipt/rcpt-good", "/admin/issuance/iss-good"} {
			res, body := rc.get(rc.clients[viewerID], path)
			if res.StatusCode != http.StatusForbidden || strings.Contains(body, "PDF") || strings.Contains(body, "Anna") {
				t.Errorf("viewer GET %s: %d %.100q, want 403 and nothing shown", path, res.StatusCode, body)
			}
		}
		if !rc.auditHas("console.view_refused", viewerID, "refused") {
			t.Error("the viewer's refused PDF view is not audited")
		}
		if res, _ := rc.get(rc.clients[caseID], "/admin/receipt/"+pnrA); res.StatusCode != http.StatusNotFound {
			t.Errorf("a receipt by personal number: %d, want 404", res.StatusCode)
		}
	})

	t.Run("reject needs a reason; the decision reaches the station", func(t *testing.T) {
		code, _ := rc.postForm(caseID, "/admin/issuance", url.Values{"id": {"iss-bad"}, "decision": {"reject"}})
		if code != http.StatusBadRequest || rc.cardState("ST-1", "RK-2") != protocol.CardPending {
			t.Fatalf("CP-1 reject without a reason: %d, card %s", code, rc.cardState("ST-1", "RK-2"))
		}
		// Attacker: a viewer's decision with a valid CSRF token.
		if code, _ := rc.postForm(viewerID, "/admin/issuance", url.Values{"id": {"iss-bad"}, "decision": {"approve"}}); code != http.StatusForbidden {
			t.Errorf("viewer's approval: %d, want 403", code)
		}
		// Attacker: no CSRF token.
		if code, _ := rc.postForm(caseID, "/admin/issuance", url.Values{"id": {"iss-bad"}, "decision": {"approve"}, "csrf": {"x"}}); code != http.StatusForbidden {
			t.Errorf("approval with a wrong CSRF token: %d, want 403", code)
		}
		code, _ = rc.postForm(caseID, "/admin/issuance", url.Values{"id": {"iss-bad"}, "decision": {"reject"}, "reason": {"the receipt was changed after signing"}})
		if code != http.StatusSeeOther {
			t.Fatalf("CP-1 reject: %d", code)
		}
		if s := rc.cardState("ST-1", "RK-2"); s != protocol.CardRejected {
			t.Errorf("CP-1: the station pulls %s as %q, want rejected", "RK-2", s)
		}
		ev, _ := rc.srv.IssuanceEvidence(rc.ctx, "iss-bad")
		if ev.Issuance.Decision != "rejected" || ev.Issuance.DecisionReason != "the receipt was changed after signing" || ev.DecidedBy != caseID {
			t.Errorf("CP-1 rejection kept as %q %q by %q", ev.Issuance.Decision, ev.Issuance.DecisionReason, ev.DecidedBy)
		}
	})

	t.Run("approve: the station and RE-5", func(t *testing.T) {
		if code, _ := rc.postForm(caseID, "/admin/issuance", url.Values{"id": {"iss-good"}, "decision": {"approve"}}); code != http.StatusSeeOther {
			t.Fatalf("CP-1 approve: %d", code)
		}
		if s := rc.cardState("ST-1", "RK-1"); s != protocol.CardApproved {
			t.Errorf("CP-1: the station pulls RK-1 as %q, want approved", s)
		}
		mails, err := rc.srv.Outbox(rc.ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		ready := 0
		for _, m := range mails {
			if m.Event == "approved" && m.CardSerial == "RK-1" && m.Role == "recipient" {
				ready++
			}
		}
		if ready != 1 {
			t.Errorf("RE-5: %d ready-to-activate notices to the recipient, want 1: %+v", ready, mails)
		}
		if !rc.auditHas("issuance.decide", caseID, "ok") {
			t.Error("the approval is not audited")
		}
	})
}

// TestCP3NoApprovalInTotalStop: the central service approves no
// certificates during a total stop (CP-3); after it, it does.
func TestCP3NoApprovalInTotalStop(t *testing.T) {
	now := calendar.NewDate(2026, 11, 30).At(10, 0)
	rc := newRoleConsole(t, now)
	rc.issue("ST-1", issuance{id: "iss-1", receiptID: "r-1", serial: "RK-1", pnr: pnrA, name: "Anna Svensson", at: now.Add(-time.Hour)})
	if _, err := rc.srv.AddStopWindow(rc.ctx, protocol.TotalStop, now.Add(-time.Hour), now.Add(time.Hour), "upgrade"); err != nil {
		t.Fatal(err)
	}
	if err := rc.srv.DecideIssuance(rc.ctx, "iss-1", true, caseID, ""); !errors.Is(err, registry.ErrTotalStop) {
		t.Fatalf("CP-3: approval in a total stop: %v, want ErrTotalStop", err)
	}
	code, body := rc.postForm(caseID, "/admin/issuance", url.Values{"id": {"iss-1"}, "decision": {"approve"}})
	if code != http.StatusBadRequest || !strings.Contains(body, "Inga certifikat godkänns under ett totalstopp") {
		t.Errorf("CP-3 at the console: %d %.300s", code, body)
	}
	if s := rc.cardState("ST-1", "RK-1"); s != protocol.CardPending {
		t.Errorf("CP-3: card %q after a refused approval, want pending", s)
	}
	// A rejection is no certificate: allowed in a total stop.
	rc.now = now.Add(2 * time.Hour)
	if err := rc.srv.DecideIssuance(rc.ctx, "iss-1", true, caseID, ""); err != nil {
		t.Errorf("CP-3: approval after the total stop: %v", err)
	}
}

// TestCP3StopWindowsInSwedishTime: the console's stop-window form takes
// Europe/Stockholm wall-clock times, summer and winter; a time skipped
// when the clocks go forward is refused; one that occurs twice covers
// both; the window is published to the stations at once.
func TestCP3StopWindowsInSwedishTime(t *testing.T) {
	now := calendar.NewDate(2026, 1, 10).At(10, 0)
	rc := newRoleConsole(t, now)
	windows := func() map[string]protocol.StopWindow {
		resp, err := rc.srv.Pull(rc.ctx, "ST-1", map[string]string{protocol.RefStopWindows: ""}, 0)
		if err != nil {
			t.Fatal(err)
		}
		var ws []protocol.StopWindow
		if err := json.Unmarshal(resp.Pages[protocol.RefStopWindows].Items, &ws); err != nil {
			t.Fatal(err)
		}
		out := map[string]protocol.StopWindow{}
		for _, w := range ws {
			out[w.Note] = w
		}
		return out
	}
	for _, c := range []struct {
		name, starts, ends string
		wantStart, wantEnd string // UTC
	}{
		{"winter (CET)", "2026-02-02T08:00", "2026-02-02T17:00", "2026-02-02T07:00:00Z", "2026-02-02T16:00:00Z"},
		{"summer (CEST)", "2026-07-01T10:00", "2026-07-02T10:00", "2026-07-01T08:00:00Z", "2026-07-02T08:00:00Z"},
		{"across the change to summer time", "2026-03-28T12:00", "2026-03-29T12:00", "2026-03-28T11:00:00Z", "2026-03-29T10:00:00Z"},
		{"ambiguous hour in October", "2026-10-25T02:30", "2026-10-25T02:45", "2026-10-25T00:30:00Z", "2026-10-25T01:45:00Z"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, body := rc.postForm(managerID, "/admin/stop-window", url.Values{"kind": {"total_stop"}, "starts": {c.starts}, "ends": {c.ends}, "note": {c.name}})
			if code != http.StatusSeeOther {
				t.Fatalf("CP-3 stop window %s: %d %.200s", c.name, code, body)
			}
			w, ok := windows()[c.name]
			if !ok || w.Starts.UTC().Format(time.RFC3339) != c.wantStart || w.Ends.UTC().Format(time.RFC3339) != c.wantEnd {
				t.Errorf("CP-3 %s: published %v–%v, want %s–%s", c.name, w.Starts.UTC(), w.Ends.UTC(), c.wantStart, c.wantEnd)
			}
		})
	}
	n := len(windows())
	code, body := rc.postForm(managerID, "/admin/stop-window", url.Values{"kind": {"order_stop"}, "starts": {"2026-03-29T02:30"}, "ends": {"2026-03-29T05:00"}, "note": {"gap"}})
	if code != http.StatusBadRequest || !strings.Contains(body, "Den tiden finns inte i Sverige") || len(windows()) != n {
		t.Errorf("CP-3: a start in the skipped hour: %d, %d windows: %.300s", code, len(windows()), body)
	}
	code, _ = rc.postForm(managerID, "/admin/stop-window", url.Values{"kind": {"order_stop"}, "starts": {"2025-12-01T00:00"}, "ends": {"2025-12-24T00:00"}, "note": {"over"}})
	if code != http.StatusBadRequest || len(windows()) != n {
		t.Errorf("CP-3: a window already over: %d, want 400", code)
	}
	// Attacker: a case officer adds a stop window.
	if code, _ := rc.postForm(caseID, "/admin/stop-window", url.Values{"kind": {"total_stop"}, "starts": {"2026-05-01T00:00"}, "ends": {"2026-05-02T00:00"}}); code != http.StatusForbidden || len(windows()) != n {
		t.Errorf("a case officer's stop window: %d", code)
	}
	_, page := rc.get(rc.clients[viewerID], "/admin")
	if !strings.Contains(page, "2026-07-01 10:00") || strings.Contains(page, "(UTC)") {
		t.Errorf("the console does not show the windows in Swedish time")
	}
}

// TestSearchAudited: a case officer finds issuances by personal number
// (any written form), name (from any word), HSA-ID, card serial and
// station; every search is audited with the number of results and the
// term only as a keyed hash; a viewer may not search; the term is never
// in a URL.
func TestSearchAudited(t *testing.T) {
	now := calendar.NewDate(2026, 11, 30).At(10, 0)
	rc := newRoleConsole(t, now)
	rc.issue("ST-1", issuance{id: "iss-a1", receiptID: "r-a1", serial: "RK-1", pnr: pnrA, name: "Anna Maria Svensson", at: now.Add(-48 * time.Hour)})
	rc.issue("ST-2", issuance{id: "iss-a2", receiptID: "r-a2", serial: "RK-20", pnr: pnrA, name: "Anna Maria Svensson", at: now.Add(-24 * time.Hour)})
	rc.issue("ST-1", issuance{id: "iss-b1", receiptID: "r-b1", serial: "RK-2", pnr: pnrB, name: "Bo Berg", at: now.Add(-time.Hour)})

	for _, c := range []struct {
		by, term string
		want     []string
	}{
		{registry.SearchPersonalNumber, pnrA[:8] + "-" + pnrA[8:], []string{"iss-a2", "iss-a1"}},
		{registry.SearchPersonalNumber, pnrA[2:8] + "-" + pnrA[8:], []string{"iss-a2", "iss-a1"}},
		{registry.SearchName, "svens", []string{"iss-a2", "iss-a1"}},
		{registry.SearchName, "MARIA  s", []string{"iss-a2", "iss-a1"}},
		{registry.SearchName, "bo", []string{"iss-b1"}},
		{registry.SearchHSAID, jobOp, []string{"iss-b1", "iss-a2", "iss-a1"}},
		{registry.SearchSerial, "RK-20", []string{"iss-a2"}},
		{registry.SearchStation, "ST-1", []string{"iss-b1", "iss-a1"}},
		{registry.SearchName, "zz", nil},
	} {
		res, err := rc.srv.Search(rc.ctx, c.by, c.term)
		var got []string
		for _, h := range res.Hits {
			got = append(got, h.IssuanceID)
		}
		if err != nil || strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("search %s %q: %v, %v; want %v", c.by, c.term, got, err, c.want)
		}
	}

	t.Run("at the console, audited", func(t *testing.T) {
		code, page := rc.postForm(caseID, "/admin/search", url.Values{"by": {registry.SearchPersonalNumber}, "q": {pnrA}})
		if code != http.StatusOK || strings.Count(page, `class="hit"`) != 2 || !strings.Contains(page, "Anna Maria Svensson") || !strings.Contains(page, "RK-20") ||
			!strings.Contains(page, `<tr class="fact"><td>RK-1</td>`) { // the person's reserve cards from the facts
			t.Fatalf("search page: %d\n%s", code, page)
		}
		es := rc.auditEntries("search.personal_data")
		if len(es) != 1 {
			t.Fatalf("%d searches audited, want 1", len(es))
		}
		want, _ := rc.srv.SearchTermHash(rc.ctx, registry.SearchPersonalNumber, pnrA[:8]+"-"+pnrA[8:]) // another written form, the same hash
		if e := es[0]; e["actor"] != caseID || e["results"] != float64(2) || e["by"] != registry.SearchPersonalNumber || e["term_hmac"] != want || e["outcome"] != "ok" {
			t.Errorf("search audited as %v, want 2 results and term_hmac %s", e, want)
		}
		if a := rc.auditText(); strings.Contains(a, pnrA) || strings.Contains(a, pnrA[2:]) || strings.Contains(a, "Svensson") {
			t.Error("the audit trail holds a searched personal number or name")
		}
		code, page = rc.postForm(caseID, "/admin/search", url.Values{"by": {registry.SearchPersonalNumber}, "q": {"19850505-0000"}})
		if code != http.StatusBadRequest || !strings.Contains(page, "Kontrollera sökordet") {
			t.Errorf("an invalid personal number: %d", code)
		}
		if es := rc.auditEntries("search.personal_data"); len(es) != 2 || es[1]["outcome"] != "invalid" {
			t.Errorf("the invalid search is not audited: %v", es)
		}
		// A search term in a GET query does nothing.
		_, page = rc.get(rc.clients[caseID], "/admin/search?by=personal_number&q="+pnrA)
		if strings.Contains(page, `class="hit"`) {
			t.Error("GET with a term in the URL searched")
		}
	})

	t.Run("attacker: a viewer may not search; CSRF", func(t *testing.T) {
		before := len(rc.auditEntries("search.personal_data"))
		code, body := rc.postForm(viewerID, "/admin/search", url.Values{"by": {registry.SearchPersonalNumber}, "q": {pnrA}})
		if code != http.StatusForbidden || strings.Contains(body, "Svensson") || strings.Contains(body, "RK-1") {
			t.Errorf("viewer search: %d %.200q", code, body)
		}
		es := rc.auditEntries("search.personal_data")
		if len(es) != before+1 || es[len(es)-1]["outcome"] != "refused" || es[len(es)-1]["actor"] != viewerID {
			t.Errorf("the viewer's search is not audited as refused: %v", es)
		}
		if res, _ := rc.get(rc.clients[viewerID], "/admin/search"); res.StatusCode != http.StatusForbidden {
			t.Errorf("viewer's search page: %d", res.StatusCode)
		}
		code, body = rc.postForm(caseID, "/admin/search", url.Values{"by": {registry.SearchPersonalNumber}, "q": {pnrA}, "csrf": {"forged"}})
		if code != http.StatusForbidden || strings.Contains(body, "Svensson") {
			t.Errorf("search with a forged CSRF token: %d", code)
		}
	})
}

// TestSearchIndexBackfilled: a registry whose events were stored before
// the index (migration 4) gets it filled from the stored events at start.
func TestSearchIndexBackfilled(t *testing.T) {
	now := calendar.NewDate(2026, 11, 30).At(10, 0)
	dir := t.TempDir()
	ctx := context.Background()
	srv, err := registry.Open(ctx, registry.Config{DataDir: dir, Logger: registrytest.Logger(t), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	rc := &roleConsole{consoleFixture: &consoleFixture{t: t, ctx: ctx, srv: srv, dir: dir}, seq: map[string]int64{}, now: now}
	if err := srv.Seed(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if err := srv.AddStation(ctx, "ST-1", ""); err != nil {
		t.Fatal(err)
	}
	if err := srv.Ship(ctx, "ST-1", "S", "reserve", "RK-1"); err != nil {
		t.Fatal(err)
	}
	rc.issue("ST-1", issuance{id: "iss-1", receiptID: "r-1", serial: "RK-1", pnr: pnrA, name: "Anna Svensson", at: now.Add(-time.Hour)})
	rc.push("ST-1", protocol.ReturnPayload{IssuanceID: "ret-1", CardSerial: "RK-1", RefersTo: "iss-1", Operator: jobOp}, now)
	year := registry.Period{From: "2026-01", To: "2026-12"}
	before, err := srv.IssuanceReport(ctx, year)
	if err != nil || len(before.Rows) != 1 {
		t.Fatalf("report before: %v %v", before.Rows, err)
	}
	srv.Close()
	// The index as an older registry has it: empty.
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, "registry.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE issuances SET personal_number = '', operator = '', issued_month = '', returned_at = '';
		DELETE FROM report_counts;
		DELETE FROM receipt_names; DELETE FROM receipt_index; DELETE FROM meta WHERE key = 'index_backfilled'`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	srv, err = registry.Open(ctx, registry.Config{DataDir: dir, Logger: registrytest.Logger(t), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if after, err := srv.IssuanceReport(ctx, year); err != nil || mustJSON(after.Rows) != mustJSON(before.Rows) {
		t.Errorf("report after the backfill: %v, before %v (%v)", after.Rows, before.Rows, err)
	}
	for by, term := range map[string]string{registry.SearchPersonalNumber: pnrA, registry.SearchName: "svensson", registry.SearchHSAID: jobOp} {
		if res, err := srv.Search(ctx, by, term); err != nil || len(res.Hits) != 1 || res.Hits[0].ReceiptID != "r-1" {
			t.Errorf("after the backfill, search %s: %+v, %v", by, res, err)
		}
	}
}

// TestReports: issued, returned, outstanding, overdue and voided per
// station, reason and month; stock; deviations; each page table is the
// CSV; the charts are SVG with no script and no style.
func TestReports(t *testing.T) {
	now := calendar.NewDate(2026, 11, 30).At(10, 0)
	rc := newRoleConsole(t, now)
	oct := calendar.NewDate(2026, 10, 5).At(9, 0)
	nov := calendar.NewDate(2026, 11, 2).At(9, 0)
	rc.issue("ST-1", issuance{id: "i1", receiptID: "r1", serial: "RK-1", pnr: pnrA, name: "A", at: oct})                                     // overdue (ended 19 Oct)
	rc.issue("ST-1", issuance{id: "i2", receiptID: "r2", serial: "RK-2", pnr: pnrB, name: "B", at: oct})                                     // returned
	rc.issue("ST-1", issuance{id: "i3", receiptID: "r3", serial: "RK-3", pnr: pnrB, name: "B", at: nov, days: 60})                           // outstanding
	rc.issue("ST-2", issuance{id: "i4", receiptID: "r4", serial: "RK-20", pnr: pnrA, name: "A", at: nov, days: 60})                          // voided
	rc.issue("ST-1", issuance{id: "i5", receiptID: "r5", serial: "RK-4", pnr: pnrA, name: "A", at: calendar.NewDate(2026, 11, 1).At(0, 30)}) // 31 Oct 23:30 UTC: November in Sweden
	rc.push("ST-1", protocol.ReturnPayload{IssuanceID: "ret-2", CardSerial: "RK-2", RefersTo: "i2", Operator: jobOp}, oct.AddDate(0, 0, 3))
	rc.push("ST-2", protocol.StockMovementPayload{CardSerial: "RK-20", Movement: "voided"}, nov.AddDate(0, 0, 1))

	if _, err := rc.srv.RunDeadlines(rc.ctx); err != nil { // RC-6: RK-1 and RK-4 are deviations
		t.Fatal(err)
	}
	dev, err := rc.srv.DeviationReport(rc.ctx, registry.Period{From: "2026-11", To: "2026-11"})
	if err != nil || len(dev.Rows) != 1 || strings.Join(dev.Rows[0], ",") != "ST-1,RC-6,2026-11,2,2,2" {
		t.Errorf("deviation report: %v, %v", dev.Rows, err)
	}
	rep, err := rc.srv.IssuanceReport(rc.ctx, registry.Period{From: "2026-01", To: "2026-12"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range rep.Rows {
		got[strings.Join(r[:3], "/")] = strings.Join(r[3:], ",")
	}
	want := map[string]string{ // issued, returned, voided, outstanding, overdue
		"ST-1/forgotten/2026-10": "2,1,0,1,1",
		"ST-1/forgotten/2026-11": "2,0,0,2,1", // RK-4's 7 days ended on 8 November
		"ST-2/forgotten/2026-11": "1,0,1,0,0",
	}
	if len(got) != len(want) {
		t.Errorf("issuance report rows %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("issuance report %s: %q, want %q", k, got[k], v)
		}
	}
	if rep, _ := rc.srv.IssuanceReport(rc.ctx, registry.Period{From: "2026-11", To: "2026-11"}); len(rep.Rows) != 2 {
		t.Errorf("November only: %v", rep.Rows)
	}

	// Each report's table on the page is its CSV.
	_, page := rc.get(rc.clients[viewerID], "/admin/reports?from=2026-01&to=2026-12")
	if strings.Contains(page, "<script") || strings.Contains(page, "style=") || strings.Count(page, "<svg") != 3 || !strings.Contains(page, `<rect class="bar"`) {
		t.Errorf("the reports page has script or style, or not 3 charts")
	}
	for _, name := range []string{registry.ReportIssuances, registry.ReportStock, registry.ReportDeviations} {
		table := tableRows(t, page, name)
		res, body := rc.get(rc.clients[viewerID], "/admin/reports/"+name+".csv?from=2026-01&to=2026-12")
		if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") {
			t.Fatalf("%s CSV: %d", name, res.StatusCode)
		}
		recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(table) == 0 && len(recs) == 1 {
			continue // no rows: the page says so, the CSV has its heading
		}
		if a, b := mustJSON(table), mustJSON(recs); a != b {
			t.Errorf("%s: the table\n%s\nis not the CSV\n%s", name, a, b)
		}
	}
	if res, _ := rc.get(rc.clients[viewerID], "/admin/reports?from=2026-13"); res.StatusCode != http.StatusBadRequest {
		t.Errorf("a bad period: %d", res.StatusCode)
	}
}

var (
	sectionRE = regexp.MustCompile(`(?s)<section class="report" id="report-([a-z]+)">(.*?)</section>`)
	rowRE     = regexp.MustCompile(`(?s)<tr>(.*?)</tr>`)
	cellRE    = regexp.MustCompile(`(?s)<t[hd]>(.*?)</t[hd]>`)
)

// tableRows are the heading and rows of report name's table on page.
func tableRows(t *testing.T, page, name string) [][]string {
	t.Helper()
	for _, m := range sectionRE.FindAllStringSubmatch(page, -1) {
		if m[1] != name {
			continue
		}
		var out [][]string
		for _, r := range rowRE.FindAllStringSubmatch(m[2], -1) {
			var row []string
			for _, c := range cellRE.FindAllStringSubmatch(r[1], -1) {
				row = append(row, c[1])
			}
			out = append(out, row)
		}
		return out
	}
	t.Fatalf("no report %s on the page", name)
	return nil
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestDevConsoleReachesIssue14Pages: make run's development console links
// and serves the reports, the search (the developer acts as every role)
// and the evidence, in Swedish and in English.
func TestDevConsoleReachesIssue14Pages(t *testing.T) {
	now := calendar.NewDate(2026, 11, 30).At(10, 0)
	rc := newRoleConsole(t, now)
	rc.issue("ST-1", issuance{id: "iss-1", receiptID: "r-1", serial: "RK-1", pnr: pnrA, name: "Anna Svensson", at: now.Add(-time.Hour)})
	base, cl, csrf := devConsole(t, rc.srv)
	page := getPage(t, cl, base+"/admin")
	for _, want := range []string{`href="/admin/reports"`, `href="/admin/search"`, `href="/admin/issuance/iss-1"`, "svensk tid"} {
		if !strings.Contains(page, want) {
			t.Errorf("the development console lacks %q", want)
		}
	}
	if !strings.Contains(getPage(t, cl, base+"/admin/reports"), "Reservkort per station, anledning och månad") {
		t.Error("reports page")
	}
	if !strings.Contains(getPage(t, cl, base+"/admin/issuance/iss-1"), "Anna Svensson") {
		t.Error("evidence page")
	}
	res, err := cl.PostForm(base+"/admin/search", url.Values{"csrf": {csrf}, "by": {registry.SearchName}, "q": {"anna"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(b), "RK-1") {
		t.Errorf("search on the development console: %d", res.StatusCode)
	}
	setLang(t, cl, base+"/admin/reports", "en")
	if p := getPage(t, cl, base+"/admin/reports"); !strings.Contains(p, "Reserve cards per station, reason and month") || !strings.Contains(p, "Outstanding") {
		t.Error("reports in English")
	}
}
