// Package registrytest runs the real reference registry for tests: on a
// real TLS listener on loopback, with helpers to issue station identities,
// stop and restart it on the same address, and a fault-injecting TCP proxy
// to put between a station and the registry.
//
// The registries run on SQLite in the data directory, or, with
// KORTSTATION_TEST_REGISTRY_DB=postgres in the environment, each on a
// fresh database of a real PostgreSQL server the test binary starts
// (pgtest); a package that uses them calls Main from its TestMain so the
// server is stopped at the end.
package registrytest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // RawDB on PostgreSQL

	"github.com/kortstation/kortstation/sync/client/enrol"
	"github.com/kortstation/kortstation/sync/pki"
	"github.com/kortstation/kortstation/sync/registry"
	"github.com/kortstation/kortstation/sync/registrytest/pgtest"
)

// BackendEnv names the environment variable that selects the tests'
// registry database: "postgres", or empty for SQLite.
const BackendEnv = "KORTSTATION_TEST_REGISTRY_DB"

// pg is the test binary's PostgreSQL server, started on first use.
var pg pgtest.Shared

// Main runs the tests and stops the PostgreSQL server if one was started;
// call it from TestMain.
func Main(m *testing.M, cleanup ...func()) {
	code := m.Run()
	for _, c := range cleanup {
		c()
	}
	pg.Stop()
	os.Exit(code)
}

// OnPostgres reports whether the tests' registries run on PostgreSQL.
func OnPostgres() bool { return os.Getenv(BackendEnv) == "postgres" }

// Postgres is the URL of a fresh database on the test binary's
// PostgreSQL server, whatever the backend setting.
func Postgres(tb testing.TB) string {
	tb.Helper()
	return pg.Database(tb)
}

// Database is the Config.Database of a test registry in dir: "" (SQLite
// in dir) or, on PostgreSQL, a fresh database the first time for dir and
// the same one again for a registry reopened in dir.
func Database(tb testing.TB, dir string) string {
	tb.Helper()
	if !OnPostgres() {
		return ""
	}
	marker := filepath.Join(dir, "test-database.url")
	if b, err := os.ReadFile(marker); err == nil {
		return string(b)
	}
	dsn := Postgres(tb)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(marker, []byte(dsn), 0o600); err != nil {
		tb.Fatal(err)
	}
	return dsn
}

// Registry is a running registry.
type Registry struct {
	Server   *registry.Server
	Dir      string
	Database string // Config.Database: "" (SQLite in Dir) or a PostgreSQL URL
	Addr     string // host:port of the TLS listener
	URL      string // https://Addr
	Log      *slog.Logger
	// TrustAnchors are the SITHS roots (PEM) the registry hands out at
	// enrolment: by default a throwaway root CA made for the test (whose
	// key is discarded); NewWith's mod may set others.
	TrustAnchors []byte
	// Wrap, when set before Start, wraps the station handler (fault
	// injection at the HTTP level, still behind real TLS).
	Wrap func(http.Handler) http.Handler

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

// Logger is a test logger that writes warnings and errors to t.Log.
func Logger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(b []byte) (int, error) { w.t.Log(string(b)); return len(b), nil }

// On is cfg with its Database set for the tests' backend (Database of
// cfg.DataDir).
func On(tb testing.TB, cfg registry.Config) registry.Config {
	tb.Helper()
	if cfg.Database == "" {
		cfg.Database = Database(tb, cfg.DataDir)
	}
	return cfg
}

// RawDB opens the database of the test registry in dir directly, behind
// the registry's back (one connection: temporary tables stay). Queries
// are the dialect's own (OnPostgres).
func RawDB(tb testing.TB, dir string) *sql.DB {
	tb.Helper()
	driver, dsn := "sqlite3", "file:"+filepath.Join(dir, "registry.db")
	if OnPostgres() {
		driver, dsn = "pgx", Database(tb, dir)
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		tb.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	tb.Cleanup(func() { db.Close() })
	return db
}

// testRoot is a throwaway root CA certificate (PEM) for a test
// registry's trust anchors.
func testRoot(t testing.TB) []byte {
	t.Helper()
	ca, _, err := pki.NewCA("Registrytest SITHS root (test)", 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return ca.CertPEM
}

// Start opens a registry in a temporary directory and serves it on a free
// loopback port; it is stopped at the end of the test.
func Start(t testing.TB) *Registry {
	t.Helper()
	r := New(t, t.TempDir())
	r.Serve(t)
	return r
}

// New opens a registry in dir without serving it.
func New(t testing.TB, dir string) *Registry {
	t.Helper()
	return NewWith(t, dir, nil)
}

// NewWith is New with the configuration adjusted by mod (a fake clock,
// a mail relay), when not nil.
func NewWith(t testing.TB, dir string, mod func(*registry.Config)) *Registry {
	t.Helper()
	log := Logger(t)
	cfg := registry.Config{DataDir: dir, Database: Database(t, dir), Logger: log, MaxWait: 5 * time.Second, TrustAnchors: testRoot(t)}
	if mod != nil {
		mod(&cfg)
	}
	srv, err := registry.Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("open registry: %v", err)
	}
	r := &Registry{Server: srv, Dir: dir, Database: cfg.Database, Log: log, TrustAnchors: cfg.TrustAnchors}
	t.Cleanup(func() {
		r.Stop()
		srv.Close()
	})
	return r
}

// Peer opens another instance of r's registry: its own data directory
// with a copy of r's CA, the same PostgreSQL database (several instances,
// one database). mod adjusts its configuration when not nil.
func Peer(t testing.TB, r *Registry, mod func(*registry.Config)) *Registry {
	t.Helper()
	if !registry.IsPostgresURL(r.Database) {
		t.Fatal("registrytest: instances share a PostgreSQL database; this registry is on SQLite")
	}
	dir := t.TempDir()
	if err := os.CopyFS(filepath.Join(dir, "ca"), os.DirFS(filepath.Join(r.Dir, "ca"))); err != nil {
		t.Fatal(err)
	}
	return NewWith(t, dir, func(c *registry.Config) {
		c.Database = r.Database
		if mod != nil {
			mod(c)
		}
	})
}

// Serve starts serving, on the same address as before if there was one.
func (r *Registry) Serve(t testing.TB) {
	t.Helper()
	addr := r.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ { // the old listener's port may take a moment
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("listen %s: %v", addr, err)
	}
	r.Addr = ln.Addr().String()
	r.URL = "https://" + r.Addr
	h := r.Server.StationHandler()
	if r.Wrap != nil {
		h = r.Wrap(h)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(r.Log.Handler(), slog.LevelDebug)}
	go func() {
		defer close(done)
		go func() { <-ctx.Done(); srv.Close() }()
		_ = srv.Serve(tls.NewListener(ln, r.Server.TLSConfig()))
	}()
	r.mu.Lock()
	r.cancel, r.done = cancel, done
	r.mu.Unlock()
}

// Stop stops serving (the registry is "down"); connections in flight are
// cut.
func (r *Registry) Stop() {
	r.mu.Lock()
	cancel, done := r.cancel, r.done
	r.cancel, r.done = nil, nil
	r.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// Identity issues a certificate for station valid for a year and writes
// the identity files to a temporary directory.
func (r *Registry) Identity(t testing.TB, station string) enrol.Identity {
	t.Helper()
	now := time.Now()
	return r.IdentityValid(t, station, now.Add(-time.Hour), now.Add(365*24*time.Hour))
}

// IdentityValid is Identity with explicit validity.
func (r *Registry) IdentityValid(t testing.TB, station string, notBefore, notAfter time.Time) enrol.Identity {
	t.Helper()
	certPEM, keyPEM, err := r.Server.IssueStationCert(context.Background(), station, notBefore, notAfter)
	if err != nil {
		t.Fatalf("issue certificate for %s: %v", station, err)
	}
	dir := t.TempDir()
	id := enrol.InDir(dir, station, r.URL)
	for path, b := range map[string][]byte{id.CAFile: r.Server.CA().CertPEM, id.CertFile: certPEM, id.KeyFile: keyPEM} {
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return id
}

// Pool is a pool holding the registry CA.
func (r *Registry) Pool() *x509.CertPool { return r.Server.CA().Pool() }

// ForeignIdentity is a station identity whose certificate was issued by a
// different CA (but which trusts the real registry CA).
func ForeignIdentity(t testing.TB, r *Registry, station string) enrol.Identity {
	t.Helper()
	ca, _, err := pki.NewCA("foreign CA", time.Hour*24)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := ca.IssueStation(station, time.Now().Add(-time.Hour), time.Now().Add(time.Hour*24))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	id := enrol.InDir(dir, station, r.URL)
	for path, b := range map[string][]byte{id.CAFile: r.Server.CA().CertPEM, id.CertFile: certPEM, id.KeyFile: keyPEM} {
		if err := os.WriteFile(filepath.Clean(path), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return id
}

// Proxy is a fault-injecting TCP proxy. Its knobs may be changed while it
// runs; they apply to new data.
type Proxy struct {
	Addr string // listen address; point the station at "https://"+Addr

	target string
	ln     net.Listener

	mu       sync.Mutex
	refuse   bool          // close new connections at once
	delay    time.Duration // before forwarding each chunk
	cutUp    int64         // cut a connection after this many client→registry bytes (0: never)
	cutDown  int64         // cut a connection after this many registry→client bytes (0: never)
	conns    map[net.Conn]struct{}
	up, down int64 // bytes forwarded in total
}

// NewProxy proxies a loopback port to target until the test ends.
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{Addr: ln.Addr().String(), target: target, ln: ln, conns: map[net.Conn]struct{}{}}
	go p.accept()
	t.Cleanup(func() { ln.Close(); p.CloseAll() })
	return p
}

// URL is the proxy's https URL.
func (p *Proxy) URL() string { return "https://" + p.Addr }

// Set changes the faults: refuse new connections, delay each chunk, and
// cut each connection after so many bytes up or down (0: never).
func (p *Proxy) Set(refuse bool, delay time.Duration, cutUp, cutDown int64) {
	p.mu.Lock()
	p.refuse, p.delay, p.cutUp, p.cutDown = refuse, delay, cutUp, cutDown
	p.mu.Unlock()
}

// Clear removes every fault.
func (p *Proxy) Clear() { p.Set(false, 0, 0, 0) }

// Bytes returns the bytes forwarded so far in each direction.
func (p *Proxy) Bytes() (up, down int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.up, p.down
}

// CloseAll cuts every open connection.
func (p *Proxy) CloseAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
	}
}

func (p *Proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.handle(c)
	}
}

func (p *Proxy) handle(c net.Conn) {
	p.mu.Lock()
	refuse := p.refuse
	p.mu.Unlock()
	if refuse {
		c.Close()
		return
	}
	s, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	p.conns[c], p.conns[s] = struct{}{}, struct{}{}
	p.mu.Unlock()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); p.pipe(s, c, true) }()
	go func() { defer wg.Done(); p.pipe(c, s, false) }()
	wg.Wait()
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, s)
	p.mu.Unlock()
}

func (p *Proxy) pipe(dst, src net.Conn, up bool) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 4096)
	var sent int64
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			delay, limit := p.delay, p.cutDown
			if up {
				limit = p.cutUp
			}
			p.mu.Unlock()
			if delay > 0 {
				time.Sleep(delay)
			}
			chunk := buf[:n]
			cut := false
			if limit > 0 && sent+int64(n) >= limit {
				chunk, cut = buf[:max(0, limit-sent)], true
			}
			if _, werr := dst.Write(chunk); werr != nil {
				return
			}
			sent += int64(len(chunk))
			p.mu.Lock()
			if up {
				p.up += int64(len(chunk))
			} else {
				p.down += int64(len(chunk))
			}
			p.mu.Unlock()
			if cut {
				return
			}
		}
		if err != nil { // EOF or a cut: close both sides
			return
		}
	}
}
