package consolebrowser_test

import (
	"context"
	"crypto/x509"
	"database/sql"
	"encoding/json"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kortstation/kortstation/kiosk/trust/trusttest"
	"github.com/kortstation/kortstation/sync/registry"
	"github.com/kortstation/kortstation/sync/registry/consolebrowser"
	"github.com/kortstation/kortstation/sync/registrytest"
)

// The central admins of these tests, one per role, and one whose
// certificate is revoked.
const (
	viewerID   = "SE2321000016-V001"
	caseID     = "SE2321000016-C001"
	managerID  = "SE2321000016-M001"
	securityID = "SE2321000016-S001"
	revokedID  = "SE2321000016-R001"
)

type fixture struct {
	t        *testing.T
	ctx      context.Context
	srv      *registry.Server
	dir      string
	origin   string
	serverCA *x509.Certificate
}

func (f *fixture) browser(c *consolebrowser.Client) *consolebrowser.Browser {
	return consolebrowser.New(f.t, consolebrowser.Options{ServerCA: f.serverCA, Client: c, Origin: f.origin})
}

// count counts the rows of a table of the registry's database.
func (f *fixture) count(table string) int {
	f.t.Helper()
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(f.dir, "registry.db")+"?_query_only=true")
	if err != nil {
		f.t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
		f.t.Fatal(err)
	}
	return n
}

func (f *fixture) blocked() int  { return f.count("blocked_cards") }
func (f *fixture) commands() int { return f.count("commands") }
func (f *fixture) codes() int    { return f.count("enrol_codes") }

func (f *fixture) locked() bool {
	f.t.Helper()
	st, err := f.srv.Stations(f.ctx)
	if err != nil || len(st) != 1 {
		f.t.Fatalf("stations: %v %v", st, err)
	}
	return st[0].Locked
}

// audited reports whether the trail has an entry of kind by actor whose
// outcome starts with outcome.
func (f *fixture) audited(kind, actor, outcome string) bool {
	f.t.Helper()
	return registrytest.AuditHas(f.t, f.ctx, f.srv, kind, actor, outcome)
}

// TestConsoleInChromium: the central console in a real Chromium that
// presents the admin's certificate from its NSS database, picked by the
// managed policy AutoSelectCertificateForUrls (issue 12, "Done when" 1).
// Each role logs in and sees the console with only its own actions;
// each role's forbidden actions, tried with a hand-made form carrying a
// valid CSRF token, are refused, audited, and change nothing; no
// certificate, an expired, a revoked and an unknown CA's certificate
// are refused.
func TestConsoleInChromium(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	srv, err := registry.Open(ctx, registry.Config{DataDir: dir, Logger: registrytest.Logger(t), Hosts: []string{"127.0.0.1"}, Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() }) // after the console stops
	if err := srv.AddStation(ctx, "ST-1", "Test station"); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	root := trusttest.NewRoot(t, "SITHS e-id Root CA v2", trusttest.ECDSA)
	inter := root.Intermediate("SITHS e-id Person HSA-id 3 CA v1", trusttest.ECDSA)
	admin := func(id string) *consolebrowser.Client {
		c, k := inter.Issue(trusttest.Leaf{HSAID: id})
		return &consolebrowser.Client{Cert: c, Key: k, Chain: []*x509.Certificate{inter.Cert}}
	}
	admins := map[string]*consolebrowser.Client{}
	for _, id := range []string{viewerID, caseID, managerID, securityID, revokedID} {
		admins[id] = admin(id)
	}
	expCert, expKey := inter.Issue(trusttest.Leaf{HSAID: securityID, NotBefore: now.AddDate(-2, 0, 0), NotAfter: now.Add(-time.Hour)})
	foreignRoot := trusttest.NewRoot(t, "SITHS e-id Root CA v2", trusttest.ECDSA) // same names, another key
	foreignInter := foreignRoot.Intermediate("SITHS e-id Person HSA-id 3 CA v1", trusttest.ECDSA)
	forCert, forKey := foreignInter.Issue(trusttest.Leaf{HSAID: securityID})
	interFP := registrytest.TrustIntermediate(t, ctx, srv, inter, now.Add(-time.Hour), now.Add(23*time.Hour), admins[revokedID].Cert.SerialNumber)
	origin := registrytest.ServeConsole(t, ctx, srv, root.PEM(), viewerID+" viewer\n"+caseID+" case_officer\n"+managerID+" station_manager\n"+
		securityID+" security_officer\n"+revokedID+" viewer,case_officer,station_manager,security_officer\n")
	f := &fixture{t: t, ctx: ctx, srv: srv, dir: dir, origin: origin, serverCA: srv.CA().Cert}

	// The forms of the page, by the role that may use them.
	forms := map[string]string{
		"/admin/block": caseID, "/admin/command": managerID, "/admin/enrol-code": managerID,
		"/admin/validity": managerID, "/admin/stop-window": managerID, "/admin/intermediate": securityID, "/admin/crl": securityID,
	}
	// Forbidden actions tried by hand: what it posts, whose it is, and
	// what would have changed.
	type forbidden struct {
		action string
		fields map[string]string
		role   string
		kind   string
		state  func() any // what the action would change
	}
	trust := func() any { in, crls, _ := srv.TrustMaterial(ctx); return len(in)*1000 + len(crls) }
	tries := []forbidden{
		{"/admin/block", map[string]string{"serial": "RK-1", "reason": "lost"}, caseID, "card.block", func() any { return f.blocked() }},
		{"/admin/command", map[string]string{"station": "ST-1", "kind": "unlock"}, managerID, "station.command", func() any { return f.commands() }},
		{"/admin/enrol-code", map[string]string{"station": "ST-1", "replace": "1"}, managerID, "station.enrol_code", func() any { return f.codes() }},
		{"/admin/intermediate/delete", map[string]string{"fingerprint": interFP}, securityID, "trust.intermediate_remove", trust},
	}

	for _, id := range []string{viewerID, caseID, managerID, securityID} {
		t.Run("role "+id, func(t *testing.T) {
			f.t = t
			b := f.browser(admins[id])
			html, text := b.Open(f.origin + "/admin")
			if !strings.Contains(text, "Inloggad som "+id) || !strings.Contains(text, "ST-1") || strings.Contains(text, "Utvecklingsläge") {
				t.Fatalf("%s: the console page was not shown:\n%.400s", id, text)
			}
			for action, who := range forms {
				if has := strings.Contains(html, `action="`+action+`"`); has != (who == id) {
					t.Errorf("%s: form %s offered: %v", id, action, has)
				}
			}
			if has := strings.Contains(html, `href="/admin/audit"`); has != (id == securityID) {
				t.Errorf("%s: audit trail link offered: %v", id, has)
			}
			// The CSRF token of this session, as the console's own API gives it.
			_, sess := b.Open(f.origin + "/admin/api/session")
			var s struct{ CSRF, Actor string }
			if err := json.Unmarshal([]byte(sess), &s); err != nil || s.Actor != id || len(s.CSRF) != 64 {
				t.Fatalf("session: %v %q", err, sess)
			}
			b.Open(f.origin + "/admin")
			for _, try := range tries {
				if try.role == id {
					continue
				}
				fields := map[string]string{"csrf": s.CSRF}
				for k, v := range try.fields {
					fields[k] = v
				}
				before := try.state()
				_, text := b.Post(try.action, fields)
				if !strings.Contains(text, "Åtkomst nekad: din roll får inte göra detta.") {
					t.Errorf("%s: %s not refused: %.200s", id, try.action, text)
				}
				if try.state() != before {
					t.Fatalf("%s: %s refused, but changed", id, try.action)
				}
				if !f.audited(try.kind, id, "refused") {
					t.Errorf("%s: refused %s not audited", id, try.action)
				}
				b.Open(f.origin + "/admin")
			}
			if id != securityID {
				if _, text := b.Open(f.origin + "/admin/audit/export?format=csv"); !strings.Contains(text, "Åtkomst nekad: din roll får inte göra detta.") {
					t.Errorf("%s: audit export not refused: %.200s", id, text)
				}
			}
			// And each role does its own, with the page's own forms.
			b.Open(f.origin + "/admin")
			switch id {
			case caseID:
				_, text := b.Navigating("block a card", chromedp.Tasks{
					chromedp.SendKeys(`form[action="/admin/block"] input[name="serial"]`, "RK-7", chromedp.ByQuery),
					chromedp.SendKeys(`form[action="/admin/block"] input[name="reason"]`, "lost at the counter", chromedp.ByQuery),
					chromedp.Click(`form[action="/admin/block"] button`, chromedp.ByQuery),
				})
				if f.blocked() != 1 || !strings.Contains(text, "RK-7") || !f.audited("card.block", id, "ok") {
					t.Errorf("the case officer's block: %d blocked, audited %v", f.blocked(), f.audited("card.block", id, "ok"))
				}
			case managerID:
				b.Navigating("lock ST-1", chromedp.Click(`form[action="/admin/command"] button[value="lock"]`, chromedp.ByQuery))
				if !f.locked() || !f.audited("station.command", id, "ok") {
					t.Error("the station manager's lock did not lock ST-1, or was not audited")
				}
			case securityID:
				// The English toggle, and back.
				_, text := b.Navigating("switch to English", chromedp.Click(`a[href="?lang=en"]`, chromedp.ByQuery))
				if !strings.Contains(text, "Signed in as "+id) || !strings.Contains(text, "Stations") {
					t.Errorf("English: %.200s", text)
				}
				_, text = b.Navigating("switch to Swedish", chromedp.Click(`a[href="?lang=sv"]`, chromedp.ByQuery))
				if !strings.Contains(text, "Inloggad som "+id) {
					t.Errorf("Swedish again: %.200s", text)
				}
				_, text = b.Navigating("open the audit trail", chromedp.Click(`a[href="/admin/audit"]`, chromedp.ByQuery))
				if !strings.Contains(text, "Verifierad:") || !strings.Contains(text, "console.login") {
					t.Errorf("the audit trail page: %.300s", text)
				}
			}
		})
	}
	f.t = t

	for _, c := range []struct {
		name, why string
		alt       string // Chromium does not offer an expired certificate at all
		client    *consolebrowser.Client
	}{
		{"no certificate", "a SITHS client certificate is required", "", nil},
		{"expired certificate", "certificate refused: trust.expired", "a SITHS client certificate is required", &consolebrowser.Client{Cert: expCert, Key: expKey, Chain: []*x509.Certificate{inter.Cert}}},
		{"revoked certificate", "certificate refused: trust.revoked", "", admins[revokedID]},
		{"unknown CA", "certificate refused: trust.untrusted", "", &consolebrowser.Client{Cert: forCert, Key: forKey, Chain: []*x509.Certificate{foreignInter.Cert}}},
	} {
		t.Run("refused: "+c.name, func(t *testing.T) {
			f.t = t
			before := len(refusals(t, f))
			_, text := f.browser(c.client).Open(f.origin + "/admin")
			if !strings.HasPrefix(text, "Åtkomst nekad: ") || strings.Contains(text, "ST-1") || strings.Contains(text, "Inloggad") || strings.Contains(text, "trust.") {
				t.Errorf("the screen says %.300q, want a plain refusal", text)
			}
			whys := refusals(t, f)
			if len(whys) <= before {
				t.Fatal("the refused login was not audited")
			}
			if why := whys[0]; why != c.why && why != c.alt { // the audit keeps the reason
				t.Errorf("audited why %q, want %q", why, c.why)
			}
		})
	}
	f.t = t
	if _, err := srv.VerifyAdminAudit(ctx); err != nil {
		t.Errorf("the audit trail does not verify: %v", err)
	}
}

// refusals are the reasons of the audited refused logins, newest first.
func refusals(t *testing.T, f *fixture) []string {
	t.Helper()
	recs, err := f.srv.AdminAudit(f.ctx, 100000)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range recs {
		if r.Kind == "console.login_refused" && r.Actor == "unauthenticated" {
			var d struct{ Why string }
			_ = json.Unmarshal([]byte(r.Detail), &d)
			out = append(out, d.Why)
		}
	}
	return out
}

// TestDevConsoleInChromium: make run's development console (plain HTTP on
// loopback, no login) works in a real browser: the page says it is
// development mode, and its own forms are accepted (their Origin is the
// console's: the Referrer-Policy must not make it "null").
func TestDevConsoleInChromium(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	srv, err := registry.Open(ctx, registry.Config{DataDir: dir, Logger: registrytest.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if err := srv.AddStation(ctx, "ST-1", "Test station"); err != nil {
		t.Fatal(err)
	}
	console, err := srv.NewConsole(ctx, registry.ConsoleConfig{Dev: true})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- console.Serve(ctx, ln) }()
	defer func() { cancel(); <-done }()
	f := &fixture{t: t, ctx: ctx, srv: srv, dir: dir, origin: "http://" + ln.Addr().String()}
	b := f.browser(nil)
	_, text := b.Open(f.origin + "/admin")
	if !strings.Contains(text, "Utvecklingsläge") || !strings.Contains(text, "ST-1") {
		t.Fatalf("the development console: %.300s", text)
	}
	_, text = b.Navigating("block a card", chromedp.Tasks{
		chromedp.SendKeys(`form[action="/admin/block"] input[name="serial"]`, "RK-9", chromedp.ByQuery),
		chromedp.SendKeys(`form[action="/admin/block"] input[name="reason"]`, "lost", chromedp.ByQuery),
		chromedp.Click(`form[action="/admin/block"] button`, chromedp.ByQuery),
	})
	if f.blocked() != 1 || !strings.Contains(text, "RK-9") || !f.audited("card.block", registry.DevActor, "ok") {
		t.Errorf("the development console's block: %d blocked: %.300s", f.blocked(), text)
	}
}
