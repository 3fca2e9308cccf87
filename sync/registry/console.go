package registry

// The central console (issue 12): the admin page and its API, served over
// HTTPS with client-certificate authentication. A central admin logs in
// with a SITHS card in their own browser: the TLS handshake proves the key
// (CertificateVerify), kiosk/trust verifies the certificate's chain to the
// configured anchors, its validity, usage and revocation (the registry's
// own SITHS intermediates and CRLs), and the HSA-ID in it is who acts. A
// roles file gives each HSA-ID its roles; every action is checked against
// them here, on the server, and every action, refusal, login and view of
// personal data is appended to the admin audit trail (adminaudit.go).
//
// Development mode (make run's embedded registry) serves plain HTTP on
// loopback only, with no login; the page says so. Both modes allow only
// their Host names (DNS rebinding), need a per-session CSRF token in every
// POST, and send strict security headers.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kortstation/kortstation/kiosk/audit"
	"github.com/kortstation/kortstation/kiosk/rules/ident"
	"github.com/kortstation/kortstation/kiosk/trust"
)

// Role is what a central admin may do at the console. Every role may view.
type Role string

// The console's roles.
const (
	RoleViewer          Role = "viewer"           // sees the console
	RoleCaseOfficer     Role = "case_officer"     // approves and rejects issuances (CP-1), blocks cards (BL-1)
	RoleStationManager  Role = "station_manager"  // enrolment codes, lock/unlock/sync-now, revocation, station policy, stop windows, validity
	RoleSecurityOfficer Role = "security_officer" // SITHS intermediates and CRLs, the audit trail
)

// Roles maps an HSA-ID to its roles.
type Roles map[string][]Role

// ErrRoles: the roles file is malformed.
var ErrRoles = errors.New("registry: roles file")

// ParseRoles reads a roles file: one HSA-ID a line, then its roles
// separated by commas or spaces; blank lines and # comments are ignored.
//
//	# central admins
//	SE2321000016-A12B  case_officer,station_manager
//	SE2321000016-C34D  security_officer
func ParseRoles(b []byte) (Roles, error) {
	out := Roles{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		f := strings.FieldsFunc(line, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
		if len(f) == 0 {
			continue
		}
		h, err := ident.ParseHSAID(f[0])
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: %q is no HSA-ID", ErrRoles, n, f[0])
		}
		if len(f) == 1 {
			return nil, fmt.Errorf("%w: line %d: %s has no role", ErrRoles, n, f[0])
		}
		for _, r := range f[1:] {
			switch Role(r) {
			case RoleViewer, RoleCaseOfficer, RoleStationManager, RoleSecurityOfficer:
			default:
				return nil, fmt.Errorf("%w: line %d: unknown role %q (viewer, case_officer, station_manager, security_officer)", ErrRoles, n, r)
			}
			if !slices.Contains(out[h.String()], Role(r)) {
				out[h.String()] = append(out[h.String()], Role(r))
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRoles, err)
	}
	return out, nil
}

// ConsoleConfig configures the console.
type ConsoleConfig struct {
	// Dev serves plain HTTP on loopback with no login: make run's
	// embedded registry only. Every action is recorded as DevActor.
	Dev bool
	// Anchors are the trust anchors (PEM) of the admins' SITHS
	// certificates; intermediates and CRLs are the registry's own.
	Anchors []byte
	// Roles gives each admin's HSA-ID its roles.
	Roles Roles
	// Hosts are the Host names the console answers to; default the
	// registry's certificate hosts (loopback names in development mode).
	Hosts []string
	// CRLGrace is how long past its NextUpdate a CRL is relied on.
	CRLGrace time.Duration
	// Certificate is the console's server certificate; default the
	// registry's own (issued by its CA for Config.Hosts).
	Certificate *tls.Certificate
	// AllowUnsyncedClock checks certificate validity by a clock not known
	// to be synchronised (a host without NTP status: containers, tests).
	AllowUnsyncedClock bool
}

// DevActor is who acts at a development-mode console.
const DevActor = "dev:loopback-no-login"

// ErrConsoleInsecure: a console without TLS and client authentication
// outside development mode on loopback.
var ErrConsoleInsecure = errors.New("registry: the console needs TLS with client certificates (trust anchors and a roles file); plain HTTP only in development mode on loopback")

// Console is the central console of one Server.
type Console struct {
	s        *Server
	cfg      ConsoleConfig
	hosts    map[string]bool
	verifier *trust.Verifier // nil in development mode
	sessions *sessions

	matMu     sync.Mutex
	matLoaded time.Time
	clientCAs *x509.CertPool // anchors and intermediates: the certificates a browser is asked for
}

// materialTTL is how long the console relies on the trust material it
// read; changes made at the console reload it at once.
const materialTTL = time.Minute

// NewConsole makes the console.
func (s *Server) NewConsole(ctx context.Context, cfg ConsoleConfig) (*Console, error) {
	if !cfg.Dev && (len(cfg.Anchors) == 0 || len(cfg.Roles) == 0) {
		return nil, ErrConsoleInsecure
	}
	if len(cfg.Hosts) == 0 {
		cfg.Hosts = s.cfg.Hosts
		if cfg.Dev {
			cfg.Hosts = []string{"localhost", "127.0.0.1", "::1"}
		}
	}
	c := &Console{s: s, cfg: cfg, hosts: map[string]bool{}, sessions: &sessions{m: map[string]*session{}}}
	for _, h := range cfg.Hosts {
		c.hosts[strings.ToLower(strings.Trim(h, "[]"))] = true
	}
	if !cfg.Dev {
		v, err := trust.New(cfg.Anchors, trust.Material{}, s.clk, trust.Options{CRLGrace: cfg.CRLGrace, AllowUnsyncedClock: cfg.AllowUnsyncedClock})
		if err != nil {
			return nil, fmt.Errorf("registry: console trust anchors: %w", err)
		}
		c.verifier = v
		if err := c.reload(ctx); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// reload gives the verifier the registry's current intermediates and CRLs.
func (c *Console) reload(ctx context.Context) error {
	if c.verifier == nil {
		return nil
	}
	var m trust.Material
	tx, err := c.s.db.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("registry: console trust material: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	for _, q := range []string{`SELECT der FROM trust_intermediates`, `SELECT der FROM crls`} {
		ders, err := collect(ctx, tx, q, func(r *sql.Rows) ([]byte, error) { var b []byte; return b, r.Scan(&b) })
		if err != nil {
			return fmt.Errorf("registry: console trust material: %w", err)
		}
		for _, der := range ders {
			if strings.Contains(q, "crls") {
				if crl, err := x509.ParseRevocationList(der); err == nil {
					m.CRLs = append(m.CRLs, crl)
				}
			} else if cert, err := x509.ParseCertificate(der); err == nil {
				m.Intermediates = append(m.Intermediates, cert)
			}
		}
	}
	for _, err := range c.verifier.Load(m) {
		c.s.log.Warn("console trust material refused", "err", err)
	}
	cas := x509.NewCertPool()
	if anchors, err := trust.ParseCertificatesPEM(c.cfg.Anchors); err == nil {
		for _, a := range anchors {
			cas.AddCert(a)
		}
	}
	for _, i := range m.Intermediates {
		cas.AddCert(i)
	}
	c.matMu.Lock()
	c.matLoaded = time.Now()
	c.clientCAs = cas
	c.matMu.Unlock()
	return nil
}

func (c *Console) fresh(ctx context.Context) error {
	c.matMu.Lock()
	stale := time.Since(c.matLoaded) > materialTTL
	c.matMu.Unlock()
	if stale {
		return c.reload(ctx)
	}
	return nil
}

// TLSConfig is the console's TLS configuration: the server certificate and
// a request for the admin's client certificate, verified per request by
// kiosk/trust (so a refusal can be explained and audited). TLS 1.2 is
// allowed: SITHS cards with RSA keys may not sign RSA-PSS, which TLS 1.3
// requires. nil in development mode.
func (c *Console) TLSConfig() *tls.Config {
	if c.cfg.Dev {
		return nil
	}
	cert := c.s.cert
	if c.cfg.Certificate != nil {
		cert = *c.cfg.Certificate
	}
	base := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequestClientCert,
		NextProtos:   []string{"h2", "http/1.1"},
	}
	base.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
		cfg := base.Clone()
		cfg.GetConfigForClient = nil
		c.matMu.Lock()
		cfg.ClientCAs = c.clientCAs // tells the browser which certificates to offer
		c.matMu.Unlock()
		return cfg, nil
	}
	return base
}

// Serve serves the console on ln until ctx ends: with TLS, or in
// development mode plain HTTP, which it refuses on anything but loopback.
func (c *Console) Serve(ctx context.Context, ln net.Listener) error {
	if c.cfg.Dev {
		if a, ok := ln.Addr().(*net.TCPAddr); !ok || !a.IP.IsLoopback() {
			return fmt.Errorf("%w: development mode on %s", ErrConsoleInsecure, ln.Addr())
		}
		return serveHTTP(ctx, ln, c.Handler(), c.s.log)
	}
	return serveHTTP(ctx, tls.NewListener(ln, c.TLSConfig()), c.Handler(), c.s.log)
}

// principal is who a request acts for.
type principal struct {
	actor string // HSA-ID, or DevActor
	roles []Role
	dev   bool
	sess  *session
	lang  string // the console's language for this request
}

func (p *principal) can(r Role) bool {
	if p.dev {
		return true
	}
	return len(p.roles) > 0 && (r == RoleViewer || slices.Contains(p.roles, r))
}

type principalKey struct{}

func principalFrom(ctx context.Context) *principal {
	p, _ := ctx.Value(principalKey{}).(*principal)
	return p
}

// session is a console login: a random ID in a SameSite=Strict cookie,
// bound to the HSA-ID that logged in, with its CSRF token.
type session struct {
	id, actor, csrf string
	expires         time.Time
}

// sessionTTL bounds a console session; maxSessions bounds the table.
const (
	sessionTTL  = 8 * time.Hour
	maxSessions = 4096
)

type sessions struct {
	mu sync.Mutex
	m  map[string]*session
}

func randomToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("registry: session: %w", err)
	}
	return hex.EncodeToString(b), nil
}

func (ss *sessions) get(id, actor string, now time.Time) *session {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s := ss.m[id]
	if s == nil || s.actor != actor || now.After(s.expires) {
		return nil
	}
	return s
}

func (ss *sessions) create(actor string, now time.Time) (*session, error) {
	id, err1 := randomToken()
	csrf, err2 := randomToken()
	if err := errors.Join(err1, err2); err != nil {
		return nil, err
	}
	s := &session{id: id, actor: actor, csrf: csrf, expires: now.Add(sessionTTL)}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for k, v := range ss.m {
		if now.After(v.expires) {
			delete(ss.m, k)
		}
	}
	if len(ss.m) >= maxSessions {
		return nil, errors.New("registry: too many console sessions")
	}
	ss.m[id] = s
	return s, nil
}

func (c *Console) cookieName() string {
	if c.cfg.Dev {
		return "kortstation-console" // plain HTTP: no Secure, so no __Host- prefix
	}
	return "__Host-kortstation-console"
}

// securityHeaders go on every console response.
func securityHeaders(h http.Header, tlsOn bool) {
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	// same-origin, not no-referrer: under no-referrer a browser sends
	// "Origin: null" with the console's own form posts, which crossSite
	// refuses (found by the Chromium tests). Nothing personal is in a URL.
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	if tlsOn {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
}

// hostAllowed reports whether the request's Host is one of the console's.
func (c *Console) hostAllowed(host string) bool {
	h, _, err := net.SplitHostPort(host)
	if err != nil {
		h = host
	}
	return c.hosts[strings.ToLower(strings.Trim(h, "[]"))]
}

// refuse answers 403 and audits the refusal; nothing was changed.
func (c *Console) refuse(w http.ResponseWriter, r *http.Request, actor, kind, subject, why string, detail map[string]any) {
	if detail == nil {
		detail = map[string]any{}
	}
	detail["from"] = r.RemoteAddr
	detail["outcome"] = "refused"
	detail["why"] = why
	detail["method"] = r.Method
	detail["path"] = r.URL.Path
	if err := c.s.AppendAdminAudit(r.Context(), audit.Entry{Kind: kind, Actor: actor, Subject: subject, Detail: detail}); err != nil {
		c.s.log.Error("console audit", "err", err)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusForbidden)
	fmt.Fprintln(w, refusalText(langOf(r), kind, why))
}

// unauthenticated is the actor of a refusal before anyone was identified.
const unauthenticated = "unauthenticated"

// Handler serves the console: the checks every request passes (Host,
// identity, session, CSRF), then the pages and actions (admin.go).
func (c *Console) Handler() http.Handler {
	inner := c.routes()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		securityHeaders(w.Header(), r.TLS != nil)
		if !c.hostAllowed(r.Host) {
			c.refuse(w, r, unauthenticated, "console.host_refused", "", "host not allowed", map[string]any{"host": r.Host})
			return
		}
		p, why := c.identify(r)
		if p == nil {
			c.refuse(w, r, unauthenticated, "console.login_refused", "", why, nil)
			return
		}
		if !p.can(RoleViewer) {
			c.refuse(w, r, p.actor, "console.login_refused", "", whyNoRole, nil)
			return
		}
		if switchLang(w, r, !c.cfg.Dev) {
			return
		}
		p.lang = langOf(r)
		now := c.s.now()
		if ck, err := r.Cookie(c.cookieName()); err == nil {
			p.sess = c.sessions.get(ck.Value, p.actor, now)
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, maxUpload+1<<20)
			if why := c.crossSite(r, p); why != "" {
				c.refuse(w, r, p.actor, "console.csrf_refused", "", why, nil)
				return
			}
		} else if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		} else if p.sess == nil {
			s, err := c.sessions.create(p.actor, now)
			if err != nil {
				c.s.log.Error("console session", "err", err)
				http.Error(w, "no session", http.StatusServiceUnavailable)
				return
			}
			if err := c.s.AppendAdminAudit(r.Context(), audit.Entry{Kind: "console.login", Actor: p.actor,
				Detail: map[string]any{"from": r.RemoteAddr, "roles": p.roleNames(), "dev": p.dev}}); err != nil {
				c.s.log.Error("console audit", "err", err)
				http.Error(w, "could not record the login", http.StatusInternalServerError)
				return
			}
			p.sess = s
			http.SetCookie(w, &http.Cookie{Name: c.cookieName(), Value: s.id, Path: "/", HttpOnly: true,
				Secure: !c.cfg.Dev, SameSite: http.SameSiteStrictMode, MaxAge: int(sessionTTL / time.Second)})
		}
		inner.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	})
}

func (p *principal) roleNames() []string {
	if p.dev {
		return []string{"all (development mode)"}
	}
	out := make([]string, len(p.roles))
	for i, r := range p.roles {
		out[i] = string(r)
	}
	return out
}

// identify is who the request acts for: the verified HSA-ID of its TLS
// client certificate with its roles, or the development actor. nil and
// why when refused.
func (c *Console) identify(r *http.Request) (*principal, string) {
	if c.cfg.Dev {
		return &principal{actor: DevActor, dev: true}, ""
	}
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return nil, whyNoCert
	}
	if err := c.fresh(r.Context()); err != nil {
		c.s.log.Error("console trust material", "err", err)
		return nil, "trust material unavailable"
	}
	id, err := c.verifier.VerifyCertificate(r.TLS.PeerCertificates[0], r.TLS.PeerCertificates[1:])
	if err != nil {
		var te *trust.Error
		if errors.As(err, &te) {
			return nil, "certificate refused: " + string(te.Reason)
		}
		return nil, "certificate refused"
	}
	return &principal{actor: id.HSAID.String(), roles: c.cfg.Roles[id.HSAID.String()]}, ""
}

// crossSite says why a POST is refused as cross-site, or "": it needs the
// session's CSRF token (form field csrf), and neither Sec-Fetch-Site nor
// Origin may name another site.
func (c *Console) crossSite(r *http.Request, p *principal) string {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return "cross-site request"
	}
	if o := r.Header.Get("Origin"); o != "" {
		scheme := "https"
		if r.TLS == nil {
			scheme = "http"
		}
		if u, err := url.Parse(o); err != nil || u.Scheme != scheme || u.Host != r.Host {
			return "cross-origin request"
		}
	}
	if p.sess == nil {
		return "no session (load the console first)"
	}
	tok := r.PostFormValue("csrf") // urlencoded or multipart
	if tok == "" || subtle.ConstantTimeCompare([]byte(tok), []byte(p.sess.csrf)) != 1 {
		return "missing or wrong CSRF token"
	}
	return ""
}
