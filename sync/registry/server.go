// Package registry is the reference central registry: it implements the
// whole sync protocol (docs/sync-protocol.md) over HTTPS with mutual TLS,
// stores what stations push in its SQLite or PostgreSQL database (dialect.go,
// several instances on one PostgreSQL: peers.go), serves reference data with
// cursors, delivers remote commands over a long poll, issues station
// certificates at enrolment and offers central admins an HTML page and a
// small HTTP API (used by `registryd admin`).
//
// The station API and the central console are separate handlers on
// separate listeners: stations reach the first with their certificate,
// central admins the second with their SITHS card (console.go).
package registry

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/kortstation/kortstation/kiosk/clock"
	"github.com/kortstation/kortstation/sync/pki"
	"github.com/kortstation/kortstation/sync/protocol"
	"github.com/kortstation/kortstation/sync/registry/mail"
)

// Config configures a Server. The zero value (plus DataDir) works.
type Config struct {
	// DataDir holds registry.db, the CA and the server certificate.
	DataDir string
	// Database is where the registry's data lives: a PostgreSQL URL
	// (postgres://…; several instances may share it) or a SQLite file;
	// default registry.db in DataDir.
	Database string
	// Hosts are the names and IPs in the server certificate; default
	// localhost and 127.0.0.1.
	Hosts []string
	// Logger receives log lines; default slog.Default().
	Logger *slog.Logger
	// Now is the registry's clock; default time.Now.
	Now func() time.Time
	// MaxWait caps a control long poll; default 25 s.
	MaxWait time.Duration
	// PageLimit caps items per delta page; default 1000.
	PageLimit int
	// Clock drives the scheduled jobs (jobs.go) and, when Now is nil, is
	// the registry's clock; default the real clock (tests: a fake).
	Clock clockwork.Clock
	// Mail is the SMTP relay of the notifications (RE-5, notify.go); no
	// relay: each message is logged only.
	Mail mail.Config
	// JobEvery is how often the deadline jobs run (default 15 min),
	// MailEvery how often the outbox is sent (default 30 s).
	JobEvery, MailEvery time.Duration
	// TrustAnchors are the SITHS root certificates (PEM) handed to each
	// station at enrolment: the roots its operators' and attestors' cards
	// must chain to. Each must be a CA certificate (pki.ParseTrustAnchors);
	// Open refuses bad ones. Without them the registry refuses to enrol
	// (ErrNoTrustAnchors): a station must never be left without roots.
	TrustAnchors []byte
}

// Server is the registry.
type Server struct {
	cfg  Config
	db   *db
	ca   *pki.CA
	log  *slog.Logger
	now  func() time.Time
	cert tls.Certificate
	hub  *hub
	clk  clock.Clock // now with its source, for the console's trust checks and audit

	snapMu    sync.Mutex
	snapRev   int64
	snapCache map[string]protocol.Page

	liveMu sync.Mutex
	live   map[string]time.Time  // station → when its control poll last arrived
	recent map[string]seenStatus // station → its latest status, persisted at most every statusPersistEvery

	mailer mail.Sender // nil: notifications are logged only

	revMu   sync.RWMutex
	revoked map[string]bool // revoked station certificate serials (hex), refused in the TLS handshake

	obs *observer // request metrics (metrics.go)

	peers *peerListener // PostgreSQL: the other instances' notifications (peers.go)
}

// Open opens (creating on first start) the registry in cfg.DataDir: the
// database, the CA and the server certificate.
func Open(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("registry: DataDir is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	var clk clock.Clock = clock.System{}
	if cfg.Now == nil && cfg.Clock != nil {
		cfg.Now = cfg.Clock.Now
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	} else {
		clk = funcClock(cfg.Now)
	}
	if len(bytes.TrimSpace(cfg.TrustAnchors)) != 0 {
		if _, err := pki.ParseTrustAnchors(cfg.TrustAnchors); err != nil {
			return nil, fmt.Errorf("registry: trust anchors: %w", err)
		}
	}
	if cfg.MaxWait <= 0 {
		cfg.MaxWait = 25 * time.Second
	}
	if cfg.PageLimit <= 0 {
		cfg.PageLimit = 1000
	}
	sender, err := mail.New(cfg.Mail)
	if err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	if len(cfg.Hosts) == 0 {
		cfg.Hosts = []string{"localhost", "127.0.0.1", "::1"}
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("registry: data dir: %w", err)
	}
	ca, err := pki.LoadOrCreateCA(filepath.Join(cfg.DataDir, "ca"), "Kortstation registry CA")
	if err != nil {
		return nil, err
	}
	cert, err := loadOrCreateServerCert(cfg.DataDir, ca, cfg.Hosts)
	if err != nil {
		return nil, err
	}
	d, err := openDatabase(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := initBoundaries(ctx, d); err != nil {
		d.close()
		return nil, err
	}
	s := &Server{
		cfg: cfg, db: d, ca: ca, cert: cert, now: cfg.Now, clk: clk,
		log:    cfg.Logger.With("component", "registry"),
		hub:    newHub(),
		live:   map[string]time.Time{},
		recent: map[string]seenStatus{},
	}
	s.obs = newObserver(s)
	if sender != nil {
		s.mailer = sender
	}
	if err := s.loadRevoked(ctx); err != nil {
		d.close()
		return nil, err
	}
	if err := s.backfillIndex(ctx); err != nil { // issue 14: search and reports over events stored before (index.go)
		d.close()
		return nil, err
	}
	if d.dialect == postgres {
		if s.peers, err = s.listenPeers(ctx); err != nil {
			d.close()
			return nil, err
		}
	}
	return s, nil
}

func loadOrCreateServerCert(dir string, ca *pki.CA, hosts []string) (tls.Certificate, error) {
	certPath, keyPath := filepath.Join(dir, "server.pem"), filepath.Join(dir, "server-key.pem")
	// Reuse the certificate on disk while it is ours, covers the hosts and
	// has a month left; otherwise issue a new one.
	if c, err := tls.LoadX509KeyPair(certPath, keyPath); err == nil && len(c.Certificate) > 0 {
		if leaf, perr := x509.ParseCertificate(c.Certificate[0]); perr == nil && leaf.CheckSignatureFrom(ca.Cert) == nil &&
			time.Until(leaf.NotAfter) > 30*24*time.Hour && coversHosts(leaf.DNSNames, leaf.IPAddresses, hosts) {
			return c, nil
		}
	}
	cp, kp, err := ca.IssueServer(hosts, 2*365*24*time.Hour)
	if err != nil {
		return tls.Certificate{}, err
	}
	if err := pki.WriteFileAtomic(keyPath, kp, 0o600); err != nil {
		return tls.Certificate{}, err
	}
	if err := pki.WriteFileAtomic(certPath, cp, 0o644); err != nil {
		return tls.Certificate{}, err
	}
	c, err := tls.X509KeyPair(cp, kp)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("registry: server certificate: %w", err)
	}
	return c, nil
}

func coversHosts(dns []string, ips []net.IP, hosts []string) bool {
	for _, h := range hosts {
		found := false
		if ip := net.ParseIP(h); ip != nil {
			for _, x := range ips {
				found = found || x.Equal(ip)
			}
		} else {
			for _, x := range dns {
				found = found || x == h
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// CA is the registry's certificate authority; stations pin its certificate.
func (s *Server) CA() *pki.CA { return s.ca }

// Close closes the database.
func (s *Server) Close() error {
	s.peers.stop()
	return s.db.close()
}

// TLSConfig is the station listener's TLS configuration: the server
// certificate, and client certificates verified against the registry's CA
// when given (only enrolment may come without one) and refused when
// revoked (RevokeStation).
func (s *Server) TLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion:       tls.VersionTLS13,
		Certificates:     []tls.Certificate{s.cert},
		ClientAuth:       tls.VerifyClientCertIfGiven,
		ClientCAs:        s.ca.Pool(),
		NextProtos:       []string{"h2", "http/1.1"},
		VerifyConnection: s.verifyConnection,
	}
}

// StationHandler serves the station API (push, pull, control, enrol).
func (s *Server) StationHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("POST "+protocol.PathEnrol, s.obs.instrument("enrol", http.HandlerFunc(s.handleEnrol)))
	mux.Handle("POST "+protocol.PathPush, s.obs.instrument("push", s.authenticated(s.handlePush)))
	mux.Handle("POST "+protocol.PathPull, s.obs.instrument("pull", s.authenticated(s.handlePull)))
	mux.Handle("POST "+protocol.PathPerson, s.obs.instrument("person", s.authenticated(s.handlePerson)))
	mux.Handle("POST "+protocol.PathControl, s.obs.instrument("control", s.authenticated(s.handleControl)))
	mux.Handle("POST "+protocol.PathUpdate, s.obs.instrument("update", s.authenticated(s.handleUpdate))) // issue 16: staged rollout (rollout.go)
	mux.Handle("POST "+protocol.PathBundle, s.obs.instrument("bundle", s.authenticated(s.handleBundle)))
	mux.HandleFunc("GET "+protocol.PathHealth, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET "+PathReady, s.handleReady)
	return mux
}

// Serve serves the station API with TLS on ln until ctx ends, and expires
// reserve cards every hour and runs the scheduled jobs (jobs.go)
// meanwhile.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	go s.maintain(ctx, time.Hour)
	jobs, err := s.StartJobs(ctx)
	if err != nil {
		return err
	}
	defer jobs.Stop()
	return serveHTTP(ctx, tls.NewListener(ln, s.TLSConfig()), s.StationHandler(), s.log)
}

func serveHTTP(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("registry: serve: %w", err)
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		<-errc
		return nil
	}
}

type stationKey struct{}

type serialKey struct{}

// stationFrom is the authenticated station ID of a request.
func stationFrom(ctx context.Context) string { s, _ := ctx.Value(stationKey{}).(string); return s }

// serialFrom is the serial (hex) of the request's station certificate.
func serialFrom(ctx context.Context) string { s, _ := ctx.Value(serialKey{}).(string); return s }

// authenticated requires a client certificate issued by the registry's CA
// (verified by TLS) that is the station's current certificate.
func (s *Server) authenticated(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if v := r.Header.Get(protocol.HeaderProtocol); v != "" && v != protocol.Version {
			protocol.WriteError(w, http.StatusBadRequest, protocol.CodeUnsupported, "unsupported protocol version "+v)
			return
		}
		if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
			protocol.WriteError(w, http.StatusUnauthorized, protocol.CodeUnauthenticated, "a station certificate is required")
			return
		}
		leaf := r.TLS.VerifiedChains[0][0]
		id := leaf.Subject.CommonName
		serial := leaf.SerialNumber.Text(16)
		if s.isRevoked(serial) { // a connection opened before the revocation
			w.Header().Set("Connection", "close")
			protocol.WriteError(w, http.StatusForbidden, protocol.CodeRevoked, "station certificate revoked")
			return
		}
		var current string
		err := s.db.reader.QueryRowContext(r.Context(), `SELECT coalesce(cert_serial, '') FROM stations WHERE id = ?`, id).Scan(&current)
		if err != nil {
			s.log.Warn("certificate of an unknown station", "station", id)
			protocol.WriteError(w, http.StatusForbidden, protocol.CodeUnknownStation, "unknown station")
			return
		}
		if current != serial {
			s.log.Warn("station presented a certificate that is not its current one", "station", id)
			protocol.WriteError(w, http.StatusForbidden, protocol.CodeIdentityMismatch, "certificate is not this station's current certificate")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, protocol.MaxBody)
		ctx := context.WithValue(context.WithValue(r.Context(), stationKey{}, id), serialKey{}, serial)
		ctx = context.WithValue(ctx, stationCertKey{}, leaf)
		h(w, r.WithContext(ctx))
	})
}

// checkBodyStation refuses a body whose station ID differs from the
// certificate's.
func checkBodyStation(w http.ResponseWriter, r *http.Request, bodyID string) bool {
	if bodyID != stationFrom(r.Context()) {
		protocol.WriteError(w, http.StatusForbidden, protocol.CodeIdentityMismatch, "station_id in the body does not match the certificate")
		return false
	}
	return true
}

// hub wakes long polls when a station has a new command. It is a field of
// Server, never global.
type hub struct {
	mu sync.Mutex
	ch map[string]chan struct{}
}

func newHub() *hub { return &hub{ch: map[string]chan struct{}{}} }

// wait returns a channel closed at the next notify for station.
func (h *hub) wait(station string) <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	c, ok := h.ch[station]
	if !ok {
		c = make(chan struct{})
		h.ch[station] = c
	}
	return c
}

// notifyAll wakes every waiting long poll.
func (h *hub) notifyAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for st, c := range h.ch {
		close(c)
		delete(h.ch, st)
	}
}

func (h *hub) notify(station string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if c, ok := h.ch[station]; ok {
		close(c)
		delete(h.ch, station)
	}
}
