package consolebrowser_test

import (
	"context"
	"crypto/x509"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/google/uuid"

	"github.com/kortstation/kortstation/kiosk/rules"
	"github.com/kortstation/kortstation/kiosk/rules/calendar"
	"github.com/kortstation/kortstation/kiosk/rules/ident"
	"github.com/kortstation/kortstation/kiosk/trust/trusttest"
	"github.com/kortstation/kortstation/sync/protocol"
	"github.com/kortstation/kortstation/sync/registry"
	"github.com/kortstation/kortstation/sync/registry/consolebrowser"
	"github.com/kortstation/kortstation/sync/registrytest"
)

// seedOperator is the Seed's authorised operator.
const seedOperator = "SE2321000131-P000000012345"

// issue14 is a console in Chromium with reserve-card issuances pushed by
// station ST-1: one whose receipt is intact, one whose receipt was changed
// after it was sealed (RE-3).
type issue14 struct {
	*fixture
	admins map[string]*consolebrowser.Client
	seq    int64
	pnr    string
}

func newIssue14(t *testing.T) *issue14 {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	dir := t.TempDir()
	srv, err := registry.Open(ctx, registry.Config{DataDir: dir, Logger: registrytest.Logger(t), Hosts: []string{"127.0.0.1"}, Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	if err := srv.Seed(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if err := srv.AddStation(ctx, "ST-1", "Test station"); err != nil {
		t.Fatal(err)
	}
	if err := srv.Ship(ctx, "ST-1", "SHIP-1", "reserve", "RK-1", "RK-2", "RK-3"); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	root := trusttest.NewRoot(t, "SITHS e-id Root CA v2", trusttest.ECDSA)
	inter := root.Intermediate("SITHS e-id Person HSA-id 3 CA v1", trusttest.ECDSA)
	registrytest.TrustIntermediate(t, ctx, srv, inter, now.Add(-time.Hour), now.Add(23*time.Hour))
	origin := registrytest.ServeConsole(t, ctx, srv, root.PEM(), viewerID+" viewer\n"+caseID+" case_officer\n")
	x := &issue14{fixture: &fixture{t: t, ctx: ctx, srv: srv, dir: dir, origin: origin, serverCA: srv.CA().Cert},
		admins: map[string]*consolebrowser.Client{}, pnr: registry.TestPersonalNumber("19850505", 321)}
	for _, id := range []string{viewerID, caseID} {
		c, k := inter.Issue(trusttest.Leaf{HSAID: id})
		x.admins[id] = &consolebrowser.Client{Cert: c, Key: k, Chain: []*x509.Certificate{inter.Cert}}
	}
	if err := srv.SetPersonFactsDoc(ctx, x.pnr, protocol.PersonFactsDoc{RegularCards: []protocol.RegularCardFact{{Serial: "SIS-A"}}}); err != nil {
		t.Fatal(err)
	}
	at := now.Add(-time.Hour)
	x.issue("iss-good", "rcpt-good", "RK-1", x.pnr, "Anna Svensson", at, false)
	x.issue("iss-bad", "rcpt-bad", "RK-2", registry.TestPersonalNumber("19900101", 123), "Bo Berg", at, true)
	return x
}

func (x *issue14) push(p protocol.Payload, at time.Time) {
	x.t.Helper()
	b, _ := json.Marshal(p)
	x.seq++
	acks, err := x.srv.Store(x.ctx, "ST-1", []protocol.Event{{Seq: x.seq, ID: uuid.NewString(), Kind: p.EventKind(), Payload: b, CreatedAt: at, ClockSource: "ntp"}})
	if err != nil || len(acks) != 1 || acks[0].Result != protocol.AckStored {
		x.t.Fatalf("store: %+v %v", acks, err)
	}
}

// issue pushes an issuance and its sealed receipt with a PDF, as the
// station does; tamper changes the receipt after sealing (RE-3).
func (x *issue14) issue(id, receiptID, serial, pnr, name string, at time.Time, tamper bool) {
	x.t.Helper()
	pn, err := ident.ParsePersonalNumber(pnr)
	if err != nil {
		x.t.Fatal(err)
	}
	op, _ := ident.ParseHSAID(seedOperator)
	until := calendar.DateOf(at).AddDays(7).Start()
	r := rules.Receipt{ID: receiptID, Kind: rules.ReceiptReserveIssuance, Recipient: rules.Person{PersonalNumber: pn}, RecipientName: name,
		CardNumber: serial, CardType: rules.CardReserve, ValidFrom: at, ValidUntil: until, Reason: rules.ReasonForgotten,
		Document: &rules.IDDocument{Type: rules.DocSwedishPassport, Number: "AA1234567", Expiry: calendar.NewDate(2030, 1, 1)},
		Operator: rules.Person{HSAID: op}, OperatorName: "Olle Operatör", At: at, Place: "ST-1", SignedAt: at.Add(time.Minute)}
	sealed, err := rules.Seal(r, nil)
	if err != nil {
		x.t.Fatal(err)
	}
	if tamper {
		sealed.Receipt.Reason = rules.ReasonTemporaryAssignment
	}
	content, _ := json.Marshal(sealed)
	x.push(protocol.IssuancePayload{IssuanceID: id, CardSerial: serial, CardType: "reserve", PersonalNumber: pnr, Reason: string(rules.ReasonForgotten),
		ValidFrom: at, ValidUntil: until, Operator: seedOperator}, at)
	x.push(protocol.ReceiptPayload{ReceiptID: receiptID, IssuanceID: id, CardSerial: serial, Content: content,
		PDF: []byte("%PDF-1.4 receipt " + receiptID), SignedAt: at.Add(time.Minute)}, at.Add(time.Minute))
}

// decision is the issuance's decision and its reason.
func (x *issue14) decision(id string) (string, string) {
	x.t.Helper()
	e, err := x.srv.IssuanceEvidence(x.ctx, id)
	if err != nil {
		x.t.Fatal(err)
	}
	return e.Issuance.Decision, e.Issuance.DecisionReason
}

// download clicks the link selector, which downloads a file, and returns
// the file Chromium saved as name.
func download(t *testing.T, b *consolebrowser.Browser, selector, name string) string {
	t.Helper()
	dir := t.TempDir()
	b.Run("download "+name, browser.SetDownloadBehavior(browser.SetDownloadBehaviorBehaviorAllow).WithDownloadPath(dir),
		chromedp.Click(selector, chromedp.ByQuery))
	deadline := time.Now().Add(20 * time.Second)
	// Chromium reserves the target name with an empty file and writes into
	// name.crdownload, renamed over it when complete: wait for that.
	for time.Now().Before(deadline) {
		b, err := os.ReadFile(filepath.Join(dir, name))
		_, partial := os.Stat(filepath.Join(dir, name+".crdownload"))
		if err == nil && len(b) > 0 && errors.Is(partial, os.ErrNotExist) {
			return string(b)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s was not downloaded", name)
	return ""
}

// TestCP1ApproveAndRejectWithEvidenceInChromium: a case officer opens an
// issuance's evidence from the approval queue (CP-1) — the receipt PDF,
// the ID document, central review's findings — approves the intact one,
// and rejects the tampered one, which needs a reason.
func TestCP1ApproveAndRejectWithEvidenceInChromium(t *testing.T) {
	x := newIssue14(t)
	b := x.browser(x.admins[caseID])
	html, _ := b.Open(x.origin + "/admin")
	if !strings.Contains(html, seedOperator) || !strings.Contains(html, "RE-3") || !strings.Contains(html, "inga anmärkningar") {
		t.Fatalf("CP-1: the queue does not show the operator and central review:\n%.2000s", html)
	}
	_, text := b.Navigating("open the evidence", chromedp.Click(`a.evidence[href="/admin/issuance/iss-good"]`, chromedp.ByQuery))
	for _, want := range []string{"Underlag för godkännande (CP-1)", "Anna Svensson", "passport AA1234567", "ST-1", seedOperator, "Inga anmärkningar: reglerna tillåter godkännande."} {
		if !strings.Contains(text, want) {
			t.Errorf("CP-1 evidence lacks %q:\n%s", want, text)
		}
	}
	var loc string
	b.Run("location", chromedp.Location(&loc))
	if strings.Contains(loc, x.pnr) || strings.Contains(loc, x.pnr[:8]) {
		t.Errorf("a personal number in the URL %s", loc)
	}
	if pdf := download(t, b, `a.receipt-pdf`, "receipt-rcpt-good.pdf"); pdf != "%PDF-1.4 receipt rcpt-good" {
		t.Errorf("the receipt PDF downloaded: %.40q", pdf)
	}
	b.Open(x.origin + "/admin/issuance/iss-good")
	if !x.audited("personal_data.view", caseID, "") {
		t.Error("the evidence and PDF views are not audited")
	}
	_, text = b.Navigating("approve", chromedp.Click(`form.decide button[value="approve"]`, chromedp.ByQuery))
	if d, _ := x.decision("iss-good"); d != "approved" || !strings.Contains(text, "Inloggad som "+caseID) {
		t.Errorf("CP-1 approve: %s", d)
	}
	if !x.audited("issuance.decide", caseID, "ok") {
		t.Error("the approval is not audited")
	}

	b.Open(x.origin + "/admin/issuance/iss-bad")
	_, text = b.Page()
	if !strings.Contains(text, "(RE-3)") {
		t.Errorf("CP-1: the tampered receipt's evidence shows no RE-3 finding:\n%s", text)
	}
	_, text = b.Navigating("reject without a reason", chromedp.Click(`form.decide button[value="reject"]`, chromedp.ByQuery))
	if d, _ := x.decision("iss-bad"); d != "pending" || !strings.Contains(text, "Inget ändrades") {
		t.Errorf("CP-1 reject without a reason: %s, page %.300s", d, text)
	}
	b.Open(x.origin + "/admin/issuance/iss-bad")
	b.Navigating("reject with a reason", chromedp.Tasks{
		chromedp.SendKeys(`form.decide input[name="reason"]`, "kvittensen ändrad efter underskrift", chromedp.ByQuery),
		chromedp.Click(`form.decide button[value="reject"]`, chromedp.ByQuery),
	})
	if d, why := x.decision("iss-bad"); d != "rejected" || why != "kvittensen ändrad efter underskrift" {
		t.Errorf("CP-1 reject: %s %q", d, why)
	}

	// Attacker: a viewer opens the PDF by its URL.
	v := x.browser(x.admins[viewerID])
	if _, text := v.Open(x.origin + "/admin/receipt/rcpt-good"); !strings.Contains(text, "Åtkomst nekad") || strings.Contains(text, "PDF") {
		t.Errorf("viewer's PDF: %.100q", text)
	}
}

// TestSearchAuditedInChromium: a case officer searches by personal number
// from the console's form; the term is in no URL; the search is in the
// audit trail with its number of results and no personal number.
func TestSearchAuditedInChromium(t *testing.T) {
	x := newIssue14(t)
	b := x.browser(x.admins[caseID])
	b.Open(x.origin + "/admin")
	b.Navigating("open search", chromedp.Click(`a[href="/admin/search"]`, chromedp.ByQuery))
	_, text := b.Navigating("search", chromedp.Tasks{
		chromedp.SendKeys(`input[name="q"]`, x.pnr[:8]+"-"+x.pnr[8:], chromedp.ByQuery),
		chromedp.Click(`form[action="/admin/search"] button`, chromedp.ByQuery),
	})
	if !strings.Contains(text, "Anna Svensson") || !strings.Contains(text, "RK-1") || strings.Contains(text, "Bo Berg") {
		t.Fatalf("search results:\n%s", text)
	}
	var loc string
	b.Run("location", chromedp.Location(&loc))
	if !strings.HasSuffix(loc, "/admin/search") {
		t.Errorf("the result page's URL %s carries more than the path", loc)
	}
	recs, err := x.srv.AdminAudit(x.ctx, 1000)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range recs {
		if r.Kind == "search.personal_data" && r.Actor == caseID {
			var d struct {
				Results  int
				TermHMAC string `json:"term_hmac"`
			}
			_ = json.Unmarshal([]byte(r.Detail), &d)
			found = d.Results == 1 && len(d.TermHMAC) == 64
		}
		if strings.Contains(r.Detail, x.pnr) || strings.Contains(r.Detail, x.pnr[2:]) || strings.Contains(r.Detail, "Svensson") {
			t.Errorf("the audit trail holds the searched person: %s", r.Detail)
		}
	}
	if !found {
		t.Error("the search is not in the audit trail with 1 result and the term's keyed hash")
	}
	// A viewer is not offered the search, and refused it.
	v := x.browser(x.admins[viewerID])
	html, _ := v.Open(x.origin + "/admin")
	if strings.Contains(html, `href="/admin/search"`) {
		t.Error("a viewer is offered the search")
	}
	if _, text := v.Open(x.origin + "/admin/search"); !strings.Contains(text, "Åtkomst nekad") {
		t.Errorf("viewer's search page: %.200s", text)
	}
}

// TestReportsCSVMatchTableInChromium: each report's table, as the browser
// shows it, is its CSV download, row for row; each has its SVG chart.
func TestReportsCSVMatchTableInChromium(t *testing.T) {
	x := newIssue14(t)
	x.push(protocol.ReturnPayload{IssuanceID: "ret-1", CardSerial: "RK-2", RefersTo: "iss-bad", Operator: seedOperator}, time.Now())
	if _, err := x.srv.RunDeadlines(x.ctx); err != nil {
		t.Fatal(err)
	}
	b := x.browser(x.admins[viewerID])
	b.Open(x.origin + "/admin")
	b.Navigating("open reports", chromedp.Click(`a[href="/admin/reports"]`, chromedp.ByQuery))
	for _, name := range []string{registry.ReportIssuances, registry.ReportStock, registry.ReportDeviations} {
		var table [][]string
		b.Run("read "+name, chromedp.Evaluate(`[...document.querySelectorAll("#report-`+name+` table tr")].map(tr => [...tr.children].map(c => c.textContent))`, &table))
		y := time.Now().Year()
		body := download(t, b, `#report-`+name+` a.csv`, fmt.Sprintf("%s-%d-01-%d-12.csv", name, y, y))
		recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if name == registry.ReportIssuances && len(recs) < 2 {
			t.Errorf("the issuance report is empty: %v", recs)
		}
		if len(table) == 0 && len(recs) <= 1 {
			continue
		}
		a, _ := json.Marshal(table)
		c, _ := json.Marshal(recs)
		if string(a) != string(c) {
			t.Errorf("%s: the table %s is not the CSV %s", name, a, c)
		}
		var bars int
		b.Run("chart", chromedp.Evaluate(`document.querySelectorAll("#report-`+name+` svg rect.bar").length`, &bars))
		if bars == 0 {
			t.Errorf("%s: no chart", name)
		}
	}
}
