package registry_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/kortstation/kortstation/kiosk/audit"
	"github.com/kortstation/kortstation/kiosk/trust/trusttest"
	"github.com/kortstation/kortstation/sync/protocol"
	"github.com/kortstation/kortstation/sync/registry"
	"github.com/kortstation/kortstation/sync/registrytest"
)

// The admins of these tests, one per role, and some who may not log in.
const (
	viewerID   = "SE2321000016-V001"
	caseID     = "SE2321000016-C001"
	managerID  = "SE2321000016-M001"
	securityID = "SE2321000016-S001"
	noRoleID   = "SE2321000016-N001"
	revokedID  = "SE2321000016-R001"
)

type consoleFixture struct {
	t    *testing.T
	ctx  context.Context
	srv  *registry.Server
	dir  string
	base string
	pool *x509.CertPool
}

// client is a browser with the admin's certificate (chain) and a cookie jar.
func (f *consoleFixture) client(cert *x509.Certificate, key crypto.Signer, chain ...*x509.Certificate) *http.Client {
	tc := &tls.Config{RootCAs: f.pool}
	if cert != nil {
		c := tls.Certificate{Certificate: [][]byte{cert.Raw}, PrivateKey: key}
		for _, x := range chain {
			c.Certificate = append(c.Certificate, x.Raw)
		}
		tc.Certificates = []tls.Certificate{c}
	}
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Transport: &http.Transport{TLSClientConfig: tc}, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (f *consoleFixture) get(c *http.Client, path string) (*http.Response, string) {
	f.t.Helper()
	res, err := c.Get(f.base + path)
	if err != nil {
		f.t.Fatalf("GET %s: %v", path, err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return res, string(b)
}

// csrf logs c in (GET /admin/api/session) and returns its CSRF token.
func (f *consoleFixture) csrf(c *http.Client) string {
	f.t.Helper()
	res, body := f.get(c, "/admin/api/session")
	var s struct{ CSRF string }
	if err := json.Unmarshal([]byte(body), &s); err != nil || res.StatusCode != http.StatusOK {
		f.t.Fatalf("session: %d %s", res.StatusCode, body)
	}
	return s.CSRF
}

// post posts form; mod adjusts the request (headers, Host).
func (f *consoleFixture) post(c *http.Client, path string, form url.Values, mod func(*http.Request)) int {
	f.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, f.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "text/plain")
	if mod != nil {
		mod(req)
	}
	res, err := c.Do(req)
	if err != nil {
		f.t.Fatalf("POST %s: %v", path, err)
	}
	res.Body.Close()
	return res.StatusCode
}

func (f *consoleFixture) blocked() int {
	f.t.Helper()
	var n int
	db := registrytest.RawDB(f.t, f.dir)
	if err := db.QueryRow(`SELECT count(*) FROM blocked_cards`).Scan(&n); err != nil {
		f.t.Fatal(err)
	}
	return n
}

func (f *consoleFixture) locked(station string) bool {
	f.t.Helper()
	st, err := f.srv.Stations(f.ctx)
	if err != nil {
		f.t.Fatal(err)
	}
	for _, s := range st {
		if s.ID == station {
			return s.Locked
		}
	}
	f.t.Fatalf("no station %s", station)
	return false
}

// auditHas reports whether the trail has an entry of kind by actor whose
// outcome starts with outcome.
func (f *consoleFixture) auditHas(kind, actor, outcome string) bool {
	f.t.Helper()
	return registrytest.AuditHas(f.t, f.ctx, f.srv, kind, actor, outcome)
}

// TestConsole drives the console over HTTPS with client certificates from
// a test SITHS hierarchy: who may log in, what each role may do, the web
// hygiene, and that the audit trail records it all.
func TestConsole(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	srv, err := registry.Open(ctx, registrytest.On(t, registry.Config{DataDir: dir, Logger: registrytest.Logger(t), Now: time.Now}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() }) // after the console stops
	if err := srv.AddStation(ctx, "ST-1", "Test station"); err != nil {
		t.Fatal(err)
	}
	root := trusttest.NewRoot(t, "SITHS e-id Root CA v2", trusttest.ECDSA)
	inter := root.Intermediate("SITHS e-id Person HSA-id 3 CA v1", trusttest.ECDSA)
	now := time.Now()
	type admin struct {
		cert *x509.Certificate
		key  crypto.Signer
	}
	admins := map[string]admin{}
	for _, id := range []string{viewerID, caseID, managerID, securityID, noRoleID, revokedID} {
		c, k := inter.Issue(trusttest.Leaf{HSAID: id})
		admins[id] = admin{c, k}
	}
	expired, expiredKey := inter.Issue(trusttest.Leaf{HSAID: viewerID, NotBefore: now.AddDate(-2, 0, 0), NotAfter: now.Add(-time.Hour)})
	foreignRoot := trusttest.NewRoot(t, "SITHS e-id Root CA v2", trusttest.ECDSA) // same name, other key
	foreignInter := foreignRoot.Intermediate("SITHS e-id Person HSA-id 3 CA v1", trusttest.ECDSA)
	foreign, foreignKey := foreignInter.Issue(trusttest.Leaf{HSAID: securityID})
	registrytest.TrustIntermediate(t, ctx, srv, inter, now.Add(-time.Hour), now.Add(23*time.Hour), admins[revokedID].cert.SerialNumber)
	base := registrytest.ServeConsole(t, ctx, srv, root.PEM(), `# the central admins
`+viewerID+` viewer
`+caseID+` case_officer
`+managerID+` station_manager
`+securityID+` security_officer
`+revokedID+` viewer,case_officer,station_manager,security_officer
`)
	f := &consoleFixture{t: t, ctx: ctx, srv: srv, dir: dir, base: base, pool: srv.CA().Pool()}
	as := func(id string) *http.Client { return f.client(admins[id].cert, admins[id].key) }

	t.Run("login refused", func(t *testing.T) {
		for _, c := range []struct {
			name   string
			client *http.Client
			actor  string
		}{
			{"no certificate", f.client(nil, nil), "unauthenticated"},
			{"expired", f.client(expired, expiredKey), "unauthenticated"},
			{"revoked (CRL)", as(revokedID), "unauthenticated"},
			{"unknown CA", f.client(foreign, foreignKey, foreignInter.Cert), "unauthenticated"},
			{"no role", as(noRoleID), noRoleID},
		} {
			t.Run(c.name, func(t *testing.T) {
				res, body := f.get(c.client, "/admin")
				if res.StatusCode != http.StatusForbidden || strings.Contains(body, "ST-1") {
					t.Errorf("GET /admin: %d, want 403 and no console", res.StatusCode)
				}
				if !f.auditHas("console.login_refused", c.actor, "refused") {
					t.Errorf("refused login of %s not audited", c.actor)
				}
			})
		}
	})

	t.Run("each role logs in", func(t *testing.T) {
		for _, id := range []string{viewerID, caseID, managerID, securityID} {
			res, body := f.get(as(id), "/admin")
			if res.StatusCode != http.StatusOK || !strings.Contains(body, id) || !strings.Contains(body, "ST-1") {
				t.Errorf("%s: GET /admin %d", id, res.StatusCode)
			}
			if strings.Contains(body, "Utvecklingsläge") {
				t.Errorf("%s: the TLS console says development mode", id)
			}
			if !f.auditHas("console.login", id, "") || !f.auditHas("console.view", id, "") {
				t.Errorf("%s: login or view not audited", id)
			}
			// Each role is offered its own actions only.
			offered := map[string]string{"/admin/block": caseID, "/admin/command": managerID, "/admin/enrol-code": managerID,
				"/admin/validity": managerID, "/admin/intermediate": securityID, "/admin/crl": securityID}
			for path, who := range offered {
				if has := strings.Contains(body, `action="`+path+`"`); has != (who == id) {
					t.Errorf("%s: form %s offered %v", id, path, has)
				}
			}
			if id == viewerID && strings.Contains(body, "<form") {
				t.Error("the viewer is offered a form")
			}
		}
	})

	interPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: root.Intermediate("SITHS e-id Function CA v1", trusttest.ECDSA).Cert.Raw})
	actions := []struct {
		name, path string
		form       url.Values
		role       string
		kind       string
		changed    func() bool
	}{
		{"block a card", "/admin/block", url.Values{"serial": {"RK-1"}, "reason": {"lost"}}, caseID, "card.block", func() bool { return f.blocked() == 1 }},
		{"lock a station", "/admin/command", url.Values{"station": {"ST-1"}, "kind": {"lock"}}, managerID, "station.command", func() bool { return f.locked("ST-1") }},
		{"add an intermediate", "/admin/intermediate", url.Values{"data": {base64.StdEncoding.EncodeToString(interPEM)}}, securityID, "trust.intermediate_add", func() bool {
			in, _, err := srv.TrustMaterial(ctx)
			return err == nil && len(in) == 2
		}},
	}
	t.Run("forbidden actions refused and audited, nothing changed", func(t *testing.T) {
		for _, a := range actions {
			for _, id := range []string{viewerID, caseID, managerID, securityID} {
				if id == a.role {
					continue
				}
				c := as(id)
				if got := f.post(c, a.path, withCSRF(a.form, f.csrf(c)), nil); got != http.StatusForbidden {
					t.Errorf("%s by %s: status %d, want 403", a.name, id, got)
				}
				if a.changed() {
					t.Fatalf("%s by %s: refused, but changed", a.name, id)
				}
				if !f.auditHas(a.kind, id, "refused") {
					t.Errorf("%s by %s: refusal not audited", a.name, id)
				}
			}
		}
		for _, id := range []string{viewerID, caseID, managerID} {
			if res, _ := f.get(as(id), "/admin/audit"); res.StatusCode != http.StatusForbidden {
				t.Errorf("audit trail viewed by %s: %d, want 403", id, res.StatusCode)
			}
			if !f.auditHas("console.view_refused", id, "refused") {
				t.Errorf("refused audit view by %s not audited", id)
			}
		}
	})

	t.Run("hygiene: Host, CSRF, cross-site", func(t *testing.T) {
		c := as(caseID)
		tok := f.csrf(c)
		block := url.Values{"serial": {"RK-X"}, "reason": {"stolen"}}
		for _, h := range []struct {
			name string
			form url.Values
			mod  func(*http.Request)
		}{
			{"no CSRF token", block, nil},
			{"wrong CSRF token", withCSRF(block, strings.Repeat("0", 64)), nil},
			{"another admin's token", withCSRF(block, f.csrf(as(managerID))), nil},
			{"foreign Host (DNS rebinding)", withCSRF(block, tok), func(r *http.Request) { r.Host = "evil.example"; r.Header.Set("Origin", "https://evil.example") }},
			{"cross-site form post", withCSRF(block, tok), func(r *http.Request) {
				r.Header.Set("Origin", "https://evil.example")
				r.Header.Set("Sec-Fetch-Site", "cross-site")
			}},
			{"cross-origin post", withCSRF(block, tok), func(r *http.Request) { r.Header.Set("Origin", "https://evil.example") }},
			{"plain-http origin", withCSRF(block, tok), func(r *http.Request) { r.Header.Set("Origin", "http://"+r.Host) }},
		} {
			if got := f.post(c, "/admin/block", h.form, h.mod); got != http.StatusForbidden {
				t.Errorf("%s: status %d, want 403", h.name, got)
			}
			if f.blocked() != 0 {
				t.Fatalf("%s: a card was blocked", h.name)
			}
		}
		req, _ := http.NewRequest(http.MethodGet, f.base+"/admin", nil)
		req.Host = "evil.example"
		if res, err := c.Do(req); err != nil || res.StatusCode != http.StatusForbidden {
			t.Errorf("GET with a foreign Host: %v, %v; want 403", res, err)
		}
		if !f.auditHas("console.csrf_refused", caseID, "refused") || !f.auditHas("console.host_refused", "unauthenticated", "refused") {
			t.Error("CSRF or Host refusals not audited")
		}
		// A reason is required to block, reject and revoke.
		for _, p := range []struct {
			path string
			form url.Values
			c    *http.Client
		}{
			{"/admin/block", url.Values{"serial": {"RK-X"}}, c},
			{"/admin/issuance", url.Values{"id": {"iss-1"}, "decision": {"reject"}}, c},
			{"/admin/revoke-station", url.Values{"station": {"ST-1"}}, as(managerID)},
		} {
			if got := f.post(p.c, p.path, withCSRF(p.form, f.csrf(p.c)), nil); got != http.StatusBadRequest {
				t.Errorf("%s without a reason: %d, want 400", p.path, got)
			}
		}
		res, body := f.get(c, "/admin")
		for h, want := range map[string]string{"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin", "Cache-Control": "no-store"} {
			if got := res.Header.Get(h); got != want {
				t.Errorf("%s: %q, want %q", h, got, want)
			}
		}
		csp := res.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("CSP %q", csp)
		}
		if strings.Contains(body, "<script") || strings.Contains(body, "style=") || strings.Contains(body, "<style") {
			t.Error("the page has inline script or style")
		}
		if n := strings.Count(body, "<form "); n == 0 || n != strings.Count(body, `name="csrf"`) {
			t.Errorf("%d forms, %d CSRF fields", n, strings.Count(body, `name="csrf"`))
		}
		fresh := as(viewerID)
		res, _ = f.get(fresh, "/admin")
		sc := res.Header.Get("Set-Cookie")
		for _, want := range []string{"__Host-", "Secure", "HttpOnly", "SameSite=Strict", "Path=/"} {
			if !strings.Contains(sc, want) {
				t.Errorf("session cookie %q lacks %s", sc, want)
			}
		}
	})

	t.Run("each role does its actions", func(t *testing.T) {
		for _, a := range actions {
			c := as(a.role)
			if got := f.post(c, a.path, withCSRF(a.form, f.csrf(c)), nil); got != http.StatusOK {
				t.Errorf("%s by %s: status %d", a.name, a.role, got)
			}
			if !a.changed() {
				t.Errorf("%s by %s: nothing changed", a.name, a.role)
			}
			if !f.auditHas(a.kind, a.role, "ok") {
				t.Errorf("%s by %s: not audited", a.name, a.role)
			}
		}
		res, body := f.get(as(securityID), "/admin/audit")
		if res.StatusCode != http.StatusOK || !strings.Contains(body, "Verifierad:") || !strings.Contains(body, "card.block") {
			t.Errorf("audit page for the security officer: %d", res.StatusCode)
		}
	})

	t.Run("central review: a case officer applies or rejects, with a reason", func(t *testing.T) {
		const op = "SE2321000131-P000000012345"
		if err := srv.SetOperator(ctx, op, "Anna Administratör", true); err != nil {
			t.Fatal(err)
		}
		if err := srv.Ship(ctx, "ST-2", "S-2", "reserve", "RK-B2", "RK-B3"); err != nil {
			t.Fatal(err)
		}
		// ST-1 asks to block two cards of ST-2: held for review, not applied.
		for i, serial := range []string{"RK-B2", "RK-B3"} {
			b, _ := json.Marshal(protocol.BlockRequestPayload{CardSerial: serial, Reason: "lost", Operator: op})
			acks, err := srv.Store(ctx, "ST-1", []protocol.Event{{Seq: int64(100 + i), ID: uuid.NewString(), Kind: protocol.KindBlockRequest, Payload: b, CreatedAt: time.Now()}})
			if err != nil || len(acks) != 1 || acks[0].Result != protocol.AckStored {
				t.Fatalf("store: %v %v", acks, err)
			}
		}
		before := f.blocked()
		items, err := srv.ReviewItems(ctx)
		if err != nil || len(items) != 2 || items[0].Reason != registry.ReviewCardOfAnotherStation {
			t.Fatalf("review items: %+v, %v", items, err)
		}
		ids := map[string]string{}
		for _, it := range items {
			ids[it.CardSerial] = strconv.FormatInt(it.ID, 10)
		}
		_, page := f.get(as(caseID), "/admin")
		if !strings.Contains(page, `action="/admin/review"`) {
			t.Error("the case officer's page offers no review decision")
		}
		for _, id := range []string{viewerID, managerID, securityID} {
			_, page := f.get(as(id), "/admin")
			if strings.Contains(page, `action="/admin/review"`) {
				t.Errorf("%s's page offers a review decision", id)
			}
			c := as(id)
			if got := f.post(c, "/admin/review", withCSRF(url.Values{"id": {ids["RK-B2"]}, "decision": {"apply"}, "reason": {"x"}}, f.csrf(c)), nil); got != http.StatusForbidden {
				t.Errorf("review decision by %s: %d, want 403", id, got)
			}
			if !f.auditHas("review.decide", id, "refused") {
				t.Errorf("review decision by %s: refusal not audited", id)
			}
		}
		c := as(caseID)
		tok := f.csrf(c)
		if got := f.post(c, "/admin/review", withCSRF(url.Values{"id": {ids["RK-B2"]}, "decision": {"apply"}}, tok), nil); got != http.StatusBadRequest {
			t.Errorf("apply without a reason: %d, want 400", got)
		}
		if f.blocked() != before {
			t.Fatal("a refused review decision blocked a card")
		}
		if got := f.post(c, "/admin/review", withCSRF(url.Values{"id": {ids["RK-B2"]}, "decision": {"apply"}, "reason": {"confirmed by phone with ST-2"}}, tok), nil); got != http.StatusOK {
			t.Errorf("apply: %d", got)
		}
		if f.blocked() != before+1 {
			t.Error("the applied block request blocked nothing")
		}
		if got := f.post(c, "/admin/review", withCSRF(url.Values{"id": {ids["RK-B3"]}, "decision": {"reject"}, "reason": {"not ST-1's card"}}, tok), nil); got != http.StatusOK {
			t.Errorf("reject: %d", got)
		}
		if got := f.post(c, "/admin/review", withCSRF(url.Values{"id": {ids["RK-B3"]}, "decision": {"apply"}, "reason": {"changed my mind"}}, tok), nil); got != http.StatusBadRequest {
			t.Errorf("a second decision: %d, want 400", got)
		}
		if f.blocked() != before+1 {
			t.Error("the rejected block request blocked a card")
		}
		items, _ = srv.ReviewItems(ctx)
		got := map[string]string{}
		for _, it := range items {
			got[it.CardSerial] = it.Decision + "/" + it.DecidedBy
		}
		if got["RK-B2"] != "applied/"+caseID || got["RK-B3"] != "rejected/"+caseID {
			t.Errorf("decisions: %v", got)
		}
		if !f.auditHas("review.decide", caseID, "ok") || !f.auditHas("review.decide", caseID, "invalid") {
			t.Error("review decisions not audited")
		}
	})

	t.Run("audit trail exported by the security officer only", func(t *testing.T) {
		for _, id := range []string{viewerID, caseID, managerID} {
			_, page := f.get(as(id), "/admin")
			if strings.Contains(page, "/admin/audit") {
				t.Errorf("%s's page links the audit trail", id)
			}
			for _, format := range []string{"csv", "json"} {
				res, body := f.get(as(id), "/admin/audit/export?format="+format)
				if res.StatusCode != http.StatusForbidden || strings.Contains(body, "console.login") {
					t.Errorf("export by %s: %d, want 403 and no trail", id, res.StatusCode)
				}
			}
			if !f.auditHas("console.view_refused", id, "refused") {
				t.Errorf("refused export by %s not audited", id)
			}
		}
		sec := as(securityID)
		_, page := f.get(sec, "/admin/audit")
		if !strings.Contains(page, "/admin/audit/export?format=csv") || !strings.Contains(page, "/admin/audit/export?format=json") {
			t.Error("the audit page offers no download")
		}
		res, body := f.get(sec, "/admin/audit/export?format=csv")
		if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") ||
			!strings.Contains(res.Header.Get("Content-Disposition"), "attachment") || res.Header.Get("X-Audit-Verified") != "true" {
			t.Fatalf("CSV export: %d %v", res.StatusCode, res.Header)
		}
		rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
		if err != nil || len(rows) < 2 || rows[0][0] != "seq" {
			t.Fatalf("CSV: %v, %d rows", err, len(rows))
		}
		// The export verifies on its own: the chain is in it.
		v := audit.NewVerifier()
		kinds := map[string]bool{}
		for _, r := range rows[1:] {
			seq, _ := strconv.ParseInt(r[0], 10, 64)
			at, _ := time.Parse(time.RFC3339Nano, r[1])
			rec := audit.Record{Seq: seq, At: at, ClockSource: r[2], Kind: r[3], Actor: r[4], Subject: r[5], Detail: r[6], PrevHash: r[7], Hash: r[8]}
			if err := v.Next(rec, r[1]); err != nil {
				t.Fatalf("exported entry %d does not verify: %v", seq, err)
			}
			kinds[rec.Kind] = true
		}
		for _, k := range []string{"console.login", "console.login_refused", "console.csrf_refused", "card.block", "review.decide", "audit.export"} {
			if !kinds[k] {
				t.Errorf("the export has no %s entry", k)
			}
		}
		res, body = f.get(sec, "/admin/audit/export?format=json")
		var doc struct {
			Entries []struct{ Seq int64 }
			Trail   struct{ Verified bool }
		}
		if err := json.Unmarshal([]byte(body), &doc); err != nil || res.StatusCode != http.StatusOK || !doc.Trail.Verified || len(doc.Entries) < len(rows)-1 {
			t.Errorf("JSON export: %d, %v, %d entries", res.StatusCode, err, len(doc.Entries))
		}
		if !f.auditHas("audit.export", securityID, "") {
			t.Error("the export is not audited")
		}
	})

	t.Run("Swedish by default, English on the toggle; no raw errors on screen", func(t *testing.T) {
		c := as(caseID)
		_, body := f.get(c, "/admin")
		if !strings.Contains(body, `<html lang="sv">`) || !strings.Contains(body, "Inloggad som") || !strings.Contains(body, "handläggare") || !strings.Contains(body, "Spärra kort") {
			t.Error("the console is not Swedish by default")
		}
		// A failed action: plain Swedish on the page, the error in the audit trail.
		req, _ := http.NewRequest(http.MethodPost, f.base+"/admin/block", strings.NewReader(withCSRF(url.Values{"serial": {"RK-Y"}}, f.csrf(c)).Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(string(page), "Inget ändrades: kontrollera fälten.") || strings.Contains(string(page), "registry:") {
			t.Errorf("failed block: %d, page without the plain message or with the raw error", res.StatusCode)
		}
		if !f.auditHas("card.block", caseID, "invalid") {
			t.Error("the failed block is not audited")
		}
		res, _ = f.get(c, "/admin?lang=en")
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/admin" {
			t.Fatalf("?lang=en: %d %q", res.StatusCode, res.Header.Get("Location"))
		}
		_, body = f.get(c, "/admin")
		if !strings.Contains(body, `<html lang="en">`) || !strings.Contains(body, "Signed in as") || !strings.Contains(body, "case officer") && !strings.Contains(body, "case_officer") {
			t.Error("no English after the toggle")
		}
		f.get(c, "/admin?lang=sv")
		if _, body = f.get(c, "/admin"); !strings.Contains(body, "Inloggad som") {
			t.Error("not Swedish again after the toggle back")
		}
		res, body = f.get(as(viewerID), "/admin/audit")
		if res.StatusCode != http.StatusForbidden || strings.TrimSpace(body) != "Åtkomst nekad: din roll får inte göra detta." {
			t.Errorf("a refusal on screen: %q", body)
		}
	})

	t.Run("audit trail detects an edited and a deleted entry", func(t *testing.T) {
		res, err := srv.VerifyAdminAudit(ctx)
		if err != nil || res.Entries < 20 {
			t.Fatalf("verify: %+v, %v", res, err)
		}
		db := registrytest.RawDB(t, dir)
		if _, err := db.Exec(`UPDATE admin_audit SET actor = 'x' WHERE seq = 3`); err == nil {
			t.Fatal("the trail let an entry be edited")
		}
		if _, err := db.Exec(`DELETE FROM admin_audit WHERE seq = 3`); err == nil {
			t.Fatal("the trail let an entry be deleted")
		}
		// Behind the triggers' back, as someone with the database file.
		drop := `DROP TRIGGER admin_audit_no_update; DROP TRIGGER admin_audit_no_delete`
		if registrytest.OnPostgres() {
			drop = `ALTER TABLE admin_audit DISABLE TRIGGER USER`
		}
		if _, err := db.Exec(drop); err != nil {
			t.Fatal(err)
		}
		last := res.Entries
		for _, c := range []struct {
			name         string
			tamper, undo string
			wantSeq      int64
		}{
			{"edited", `UPDATE admin_audit SET subject = 'RK-OTHER' WHERE seq = 5`, `UPDATE admin_audit SET subject = (SELECT subject FROM saved) WHERE seq = 5`, 5},
			{"deleted", `DELETE FROM admin_audit WHERE seq = 7`, `INSERT INTO admin_audit SELECT * FROM saved7`, 7},
			{"tail cut off", `DELETE FROM admin_audit WHERE seq = (SELECT max(seq) FROM admin_audit)`, `INSERT INTO admin_audit SELECT * FROM savedlast`, last},
		} {
			t.Run(c.name, func(t *testing.T) {
				if _, err := db.Exec(`CREATE TEMP TABLE IF NOT EXISTS saved AS SELECT * FROM admin_audit WHERE seq = 5;
					CREATE TEMP TABLE IF NOT EXISTS saved7 AS SELECT * FROM admin_audit WHERE seq = 7;
					CREATE TEMP TABLE IF NOT EXISTS savedlast AS SELECT * FROM admin_audit WHERE seq = (SELECT max(seq) FROM admin_audit)`); err != nil {
					t.Fatal(err)
				}
				if _, err := db.Exec(c.tamper); err != nil {
					t.Fatal(err)
				}
				_, err := srv.VerifyAdminAudit(ctx)
				var be *audit.BreakError
				if !errors.As(err, &be) || be.Seq != c.wantSeq {
					t.Errorf("verify: got %v, want a break at entry %d", err, c.wantSeq)
				}
				if _, err := db.Exec(c.undo); err != nil {
					t.Fatal(err)
				}
				if _, err := srv.VerifyAdminAudit(ctx); err != nil {
					t.Errorf("after undoing: %v", err)
				}
			})
		}
	})
}

func withCSRF(v url.Values, tok string) url.Values {
	out := url.Values{}
	for k, x := range v {
		out[k] = x
	}
	out.Set("csrf", tok)
	return out
}

// TestDevConsole: make run's console is plain HTTP on loopback only, says
// it is development mode, and still needs its CSRF token.
func TestDevConsole(t *testing.T) {
	ctx := context.Background()
	srv, err := registry.Open(ctx, registrytest.On(t, registry.Config{DataDir: t.TempDir(), Logger: registrytest.Logger(t)}))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if _, err := srv.NewConsole(ctx, registry.ConsoleConfig{}); !errors.Is(err, registry.ErrConsoleInsecure) {
		t.Errorf("console without anchors and roles: %v, want ErrConsoleInsecure", err)
	}
	c, err := srv.NewConsole(ctx, registry.ConsoleConfig{Dev: true})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Serve(ctx, ln); !errors.Is(err, registry.ErrConsoleInsecure) {
		t.Errorf("development mode on 0.0.0.0: %v, want ErrConsoleInsecure", err)
	}
	ln.Close()
	if err := srv.AddStation(ctx, "ST-1", ""); err != nil {
		t.Fatal(err)
	}
	h := c.Handler()
	do := func(req *http.Request) *http.Response {
		rec := &recorder{h: http.Header{}, code: http.StatusOK}
		h.ServeHTTP(rec, req)
		return &http.Response{StatusCode: rec.code, Header: rec.h, Body: io.NopCloser(&rec.b)}
	}
	req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:8444/admin", nil)
	res := do(req)
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK || !bytes.Contains(body, []byte("Utvecklingsläge")) {
		t.Errorf("dev console page: %d, marked %v", res.StatusCode, bytes.Contains(body, []byte("Utvecklingsläge")))
	}
	form := url.Values{"station": {"ST-1"}, "kind": {"lock"}}
	req, _ = http.NewRequest(http.MethodPost, "http://127.0.0.1:8444/admin/command", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if res := do(req); res.StatusCode != http.StatusForbidden {
		t.Errorf("dev console POST without a session and token: %d, want 403", res.StatusCode)
	}
	req, _ = http.NewRequest(http.MethodGet, "http://attacker.example:8444/admin", nil)
	if res := do(req); res.StatusCode != http.StatusForbidden {
		t.Errorf("dev console with a foreign Host: %d, want 403", res.StatusCode)
	}
}

type recorder struct {
	h    http.Header
	b    bytes.Buffer
	code int
}

func (r *recorder) Header() http.Header         { return r.h }
func (r *recorder) Write(b []byte) (int, error) { return r.b.Write(b) }
func (r *recorder) WriteHeader(c int)           { r.code = c }
