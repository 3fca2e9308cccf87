package reconcile_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kortstation/kortstation/sync/client/enrol"
	"github.com/kortstation/kortstation/sync/client/reconcile"
	"github.com/kortstation/kortstation/sync/client/refdata"
	"github.com/kortstation/kortstation/sync/pki"
	"github.com/kortstation/kortstation/sync/protocol"
	"github.com/kortstation/kortstation/sync/registry"
	"github.com/kortstation/kortstation/sync/registrytest"
)

func eventCount(t testing.TB, reg *registrytest.Registry, station string) int {
	t.Helper()
	evs, err := reg.Server.Events(context.Background(), station)
	if err != nil {
		t.Fatal(err)
	}
	return len(evs)
}

func TestFaultRegistryDown(t *testing.T) {
	reg := registrytest.Start(t)
	s := newStation(t, reg.Identity(t, "ST-DOWN"), reg.URL, nil)
	s.enqueueN(50, 200)
	reg.Stop()
	if err := s.cli.Once(context.Background()); err == nil {
		t.Fatal("Once with the registry down: got nil, want an error")
	}
	if d := s.depth(); d != 50 {
		t.Errorf("outbox depth while down = %d, want 50 (nothing acknowledged)", d)
	}
	st, _ := s.cli.Status(context.Background())
	if st.LastError == "" {
		t.Error("status does not show the failed attempt")
	}
	reg.Serve(t)
	mustOnce(t, s)
	assertExactlyOnce(t, reg, s)
}

func TestFaultRegistrySlow(t *testing.T) {
	reg := registrytest.Start(t)
	p := registrytest.NewProxy(t, reg.Addr)
	s := newStation(t, reg.Identity(t, "ST-SLOW"), p.URL(), func(c *reconcile.Config) { c.RequestTimeout = 400 * time.Millisecond; c.BatchSize = 100 })
	s.enqueueN(300, 1000)
	p.Set(false, 60*time.Millisecond, 0, 0)
	if err := s.cli.Once(context.Background()); err == nil {
		t.Fatal("Once through a very slow link: got nil, want a timeout")
	}
	p.Clear()
	s.cfg.RequestTimeout = 10 * time.Second // the link is healthy again; do not depend on machine load
	s.client()
	mustOnce(t, s)
	assertExactlyOnce(t, reg, s)
}

func TestFault5xx(t *testing.T) {
	var failures atomic.Int32
	failures.Store(3)
	reg := registrytest.New(t, t.TempDir())
	reg.Wrap = func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == protocol.PathPush && failures.Add(-1) >= 0 {
				protocol.WriteError(w, http.StatusServiceUnavailable, protocol.CodeInternal, "overloaded")
				return
			}
			h.ServeHTTP(w, r)
		})
	}
	reg.Serve(t)
	s := newStation(t, reg.Identity(t, "ST-5XX"), reg.URL, func(c *reconcile.Config) { c.BatchSize = 10 })
	s.enqueueN(40, 100)
	for i := 0; i < 3; i++ {
		err := s.cli.Once(context.Background())
		var pe *protocol.Error
		if !errors.As(err, &pe) || !pe.Temporary() || pe.Status != 503 {
			t.Fatalf("attempt %d: got %v, want a temporary *protocol.Error 503", i, err)
		}
	}
	mustOnce(t, s)
	assertExactlyOnce(t, reg, s)
}

func TestFaultConnectionDroppedMidBatch(t *testing.T) {
	reg := registrytest.Start(t)
	p := registrytest.NewProxy(t, reg.Addr)
	s := newStation(t, reg.Identity(t, "ST-DROP"), p.URL(), func(c *reconcile.Config) { c.BatchSize = 300 })
	s.enqueueN(600, 1000)
	p.Set(false, 0, 40_000, 0) // cut each connection 40 kB into the upload: inside the first batch
	for i := 0; i < 2; i++ {
		if err := s.cli.Once(context.Background()); err == nil {
			t.Fatal("Once with the connection cut mid-batch: got nil, want an error")
		}
	}
	if n := eventCount(t, reg, "ST-DROP"); n != 0 {
		t.Errorf("registry stored %d events of a batch that never fully arrived, want 0", n)
	}
	p.Clear()
	mustOnce(t, s)
	assertExactlyOnce(t, reg, s)
}

// TestFaultAckLostMidResponse: the registry commits, then the connection
// is cut while its answer is on the way.
func TestFaultAckLostMidResponse(t *testing.T) {
	reg := registrytest.Start(t)
	p := registrytest.NewProxy(t, reg.Addr)
	s := newStation(t, reg.Identity(t, "ST-MIDRESP"), p.URL(), func(c *reconcile.Config) { c.BatchSize = 1000 })
	s.enqueueN(1000, 100)
	_, down0 := p.Bytes()
	p.Set(false, 0, 0, 9_000) // the handshake fits; the ~40 kB of acks do not
	err := s.cli.Once(context.Background())
	if err == nil {
		t.Fatal("Once with the answer cut: got nil, want an error")
	}
	if _, down := p.Bytes(); down-down0 < 9_000 {
		t.Fatalf("the cut came before the answer (%d bytes down): the test does not exercise a lost ack", down-down0)
	}
	if n := eventCount(t, reg, "ST-MIDRESP"); n != 1000 {
		t.Fatalf("registry holds %d events, want 1000 committed before the answer was lost", n)
	}
	if d := s.depth(); d != 1000 {
		t.Errorf("station depth = %d, want 1000 (no ack arrived)", d)
	}
	p.Clear()
	mustOnce(t, s)
	assertExactlyOnce(t, reg, s)
}

// TestFaultAckLostAfterCommit: the registry commits and the handler then
// aborts the exchange, so the station never sees the acknowledgement.
func TestFaultAckLostAfterCommit(t *testing.T) {
	var drop atomic.Bool
	drop.Store(true)
	reg := registrytest.New(t, t.TempDir())
	reg.Wrap = func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == protocol.PathPush && drop.Load() {
				h.ServeHTTP(httptest.NewRecorder(), r) // committed
				panic(http.ErrAbortHandler)            // and the answer is lost
			}
			h.ServeHTTP(w, r)
		})
	}
	reg.Serve(t)
	s := newStation(t, reg.Identity(t, "ST-ACK"), reg.URL, nil)
	s.enqueueN(100, 100)
	if err := s.cli.Once(context.Background()); err == nil {
		t.Fatal("got nil, want an error when the acknowledgement is lost")
	}
	if n := eventCount(t, reg, "ST-ACK"); n != 100 || s.depth() != 100 {
		t.Fatalf("registry %d events, station depth %d; want 100 and 100", n, s.depth())
	}
	drop.Store(false)
	mustOnce(t, s)
	assertExactlyOnce(t, reg, s)
}

// TestFaultTruncatedResponse: the answer's body is cut short (and, in a
// second case, corrupted); nothing of it is applied.
func TestFaultTruncatedResponse(t *testing.T) {
	var mode atomic.Int32 // 0 pass, 1 truncate pull, 2 corrupt snapshot
	reg := registrytest.New(t, t.TempDir())
	reg.Wrap = func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			m := mode.Load()
			if r.URL.Path != protocol.PathPull || m == 0 {
				h.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			body := rec.Body.Bytes()
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			if m == 1 {
				w.WriteHeader(rec.Code)
				_, _ = w.Write(body[:len(body)/2])
				panic(http.ErrAbortHandler)
			}
			var resp protocol.PullResponse
			if err := protocol.Decode(bytes.NewReader(body), true, &resp); err != nil {
				panic(err)
			}
			p := resp.Pages[protocol.RefValidity]
			p.Items = json.RawMessage(strings.Replace(string(p.Items), `"max_days":10`, `"max_days":99`, 1))
			resp.Pages[protocol.RefValidity] = p
			w.Header().Del("Content-Length")
			_ = protocol.WriteJSON(w, rec.Code, resp)
		})
	}
	reg.Serve(t)
	if err := reg.Server.Seed(context.Background(), "ST-TRUNC"); err != nil {
		t.Fatal(err)
	}
	s := newStation(t, reg.Identity(t, "ST-TRUNC"), reg.URL, nil)
	for _, m := range []int32{1, 2} {
		mode.Store(m)
		err := s.cli.Once(context.Background())
		if err == nil {
			t.Fatalf("mode %d: got nil, want an error", m)
		}
		if m == 2 && !errors.Is(err, protocol.ErrBadResponse) {
			t.Errorf("corrupted snapshot: got %v, want ErrBadResponse", err)
		}
		if n := s.count(`SELECT count(*) FROM ref_cursors`) + s.count(`SELECT count(*) FROM ref_validity`) + s.count(`SELECT count(*) FROM ref_person_facts`); n != 0 {
			t.Errorf("mode %d: %d rows applied from a bad answer, want 0", m, n)
		}
	}
	mode.Store(0)
	mustOnce(t, s)
	if got := s.count(`SELECT max_days FROM ref_validity WHERE reason = 'forgotten'`); got != 10 {
		t.Errorf("RC-1: forgotten = %d days, want 10", got)
	}
}

// TestFaultPullCutMidResponse cuts a large pull answer on the wire.
func TestFaultPullCutMidResponse(t *testing.T) {
	ctx := context.Background()
	reg := registrytest.Start(t)
	for i := 0; i < 800; i++ {
		_ = reg.Server.SetPersonFacts(ctx, registry.TestPersonalNumber("19600101", i), json.RawMessage(`{"regular_cards":[{"serial":"`+randHex(10)+`","state":"active"}],"orders":[{"type":"regular","station":"ST-PULLCUT"}]}`))
	}
	p := registrytest.NewProxy(t, reg.Addr)
	s := newStation(t, reg.Identity(t, "ST-PULLCUT"), p.URL(), nil)
	p.Set(false, 0, 0, 12_000)
	if err := s.cli.Once(ctx); err == nil {
		t.Fatal("got nil, want an error")
	}
	if n := s.count(`SELECT count(*) FROM ref_person_facts`); n != 0 {
		t.Errorf("%d persons applied from a cut answer, want 0", n)
	}
	p.Clear()
	mustOnce(t, s)
	if n := s.count(`SELECT count(*) FROM ref_person_facts`); n != 800 {
		t.Errorf("%d persons, want 800", n)
	}
}

func TestFaultDuplicateDelivery(t *testing.T) {
	reg := registrytest.New(t, t.TempDir())
	reg.Wrap = func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != protocol.PathPush {
				h.ServeHTTP(w, r)
				return
			}
			body, _ := io.ReadAll(r.Body)
			r1 := r.Clone(r.Context())
			r1.Body = io.NopCloser(bytes.NewReader(body))
			h.ServeHTTP(httptest.NewRecorder(), r1) // delivered once...
			r.Body = io.NopCloser(bytes.NewReader(body))
			h.ServeHTTP(w, r) // ...and again
		})
	}
	reg.Serve(t)
	s := newStation(t, reg.Identity(t, "ST-DUP"), reg.URL, func(c *reconcile.Config) { c.BatchSize = 7 })
	s.enqueueN(30, 100)
	mustOnce(t, s)
	assertExactlyOnce(t, reg, s)
	// The station resends everything (as after restoring a backup taken
	// before the acknowledgements): all duplicates, nothing doubled.
	if err := s.st.Write(context.Background(), func(tx *sql.Tx) error {
		_, err := tx.Exec(`UPDATE outbox SET acked_at = NULL`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	mustOnce(t, s)
	assertExactlyOnce(t, reg, s)
}

// TestFaultClockJumps: the station clock jumps years back and forward
// between records; order comes from sequence numbers, times keep their
// source, nothing is lost or doubled, and data synced "in the future" is
// not trusted.
func TestFaultClockJumps(t *testing.T) {
	reg := registrytest.Start(t)
	s := newStation(t, reg.Identity(t, "ST-CLOCK"), reg.URL, nil)
	wall := s.clk.Now()
	s.enqueue(protocol.StockMovementPayload{CardSerial: "RK-1", Movement: "counted"})
	s.clk.Set(time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)) // boot without NTP
	s.enqueue(protocol.StockMovementPayload{CardSerial: "RK-2", Movement: "counted"})
	mustOnce(t, s)
	s.clk.Set(wall.AddDate(5, 0, 0)) // forward
	s.enqueue(protocol.StockMovementPayload{CardSerial: "RK-3", Movement: "counted"})
	mustOnce(t, s)
	s.clk.Set(wall) // and back
	s.enqueue(protocol.StockMovementPayload{CardSerial: "RK-4", Movement: "counted"})
	mustOnce(t, s)
	assertExactlyOnce(t, reg, s)
	evs, _ := reg.Server.Events(context.Background(), "ST-CLOCK")
	for i, e := range evs {
		var p protocol.StockMovementPayload
		_ = json.Unmarshal(e.Payload, &p)
		if want := fmt.Sprintf("RK-%d", i+1); p.CardSerial != want || e.ClockSource == "" {
			t.Errorf("event %d: card %s source %q; want %s in seq order with a clock source", i, p.CardSerial, e.ClockSource, want)
		}
	}
	if !evs[1].CreatedAt.Before(evs[0].CreatedAt) {
		t.Error("the backwards time was not recorded as the station had it")
	}
	// Synced at wall+5y, now back at wall: the data's age is negative.
	s.clk.Set(wall.AddDate(5, 0, 0))
	mustOnce(t, s)
	s.clk.Set(wall)
	var se *refdata.StaleError
	if err := refdata.Fresh(context.Background(), s.st, protocol.RefOperators, time.Hour, s.clk.Now()); !errors.As(err, &se) || !se.ClockBack {
		t.Errorf("freshness after the clock moved back: got %v, want StaleError with ClockBack", err)
	}
	mustOnce(t, s)
	if err := refdata.Fresh(context.Background(), s.st, protocol.RefOperators, time.Hour, s.clk.Now()); err != nil {
		t.Errorf("after a sync with the corrected clock: %v", err)
	}
}

func TestFaultWrongCA(t *testing.T) {
	reg := registrytest.Start(t)
	id := reg.Identity(t, "ST-WRONGCA")
	other, _, err := pki.NewCA("impostor", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tc, err := id.TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	tc.RootCAs = other.Pool()
	s := newStation(t, id, reg.URL, func(c *reconcile.Config) { c.TLS = tc })
	s.enqueueN(5, 10)
	err = s.cli.Once(context.Background())
	var ua x509.UnknownAuthorityError
	if !errors.As(err, &ua) {
		t.Errorf("registry with a CA the station does not pin: got %v, want x509.UnknownAuthorityError", err)
	}
	// A station whose certificate comes from another CA is refused in the
	// handshake.
	f := newStation(t, registrytest.ForeignIdentity(t, reg, "ST-WRONGCA"), reg.URL, nil)
	f.enqueueN(5, 10)
	// (The TLS client does not even offer a certificate the registry's CA
	// list does not cover, so the registry sees an anonymous client.)
	var pe *protocol.Error
	if err := f.cli.Once(context.Background()); !errors.As(err, &pe) || pe.Code != protocol.CodeUnauthenticated {
		t.Errorf("station certificate from a foreign CA: got %v, want 401 %s", err, protocol.CodeUnauthenticated)
	}
	if n := eventCount(t, reg, "ST-WRONGCA"); n != 0 || s.depth() != 5 || f.depth() != 5 {
		t.Errorf("registry stored %d events; depths %d %d; want 0, 5, 5", n, s.depth(), f.depth())
	}
}

func TestFaultExpiredCertificate(t *testing.T) {
	reg := registrytest.Start(t)
	now := time.Now()
	s := newStation(t, reg.IdentityValid(t, "ST-EXP", now.Add(-48*time.Hour), now.Add(-time.Hour)), reg.URL, nil)
	s.enqueueN(5, 10)
	if err := s.cli.Once(context.Background()); err == nil {
		t.Error("expired station certificate: got nil, want an error")
	}
	if err := handshake(t, s.id, reg.Addr); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("handshake with an expired certificate: got %v, want the registry's certificate alert", err)
	}
	if n := eventCount(t, reg, "ST-EXP"); n != 0 || s.depth() != 5 {
		t.Errorf("registry stored %d, station depth %d; want 0 and 5", n, s.depth())
	}
	if err := s.id.Validate(now); err == nil {
		t.Error("Identity.Validate accepted an expired certificate")
	}
}

func TestFaultAnotherStationsCertificate(t *testing.T) {
	reg := registrytest.Start(t)
	a := newStation(t, reg.Identity(t, "ST-A"), reg.URL, nil)
	a.enqueueN(3, 10)
	mustOnce(t, a)
	idB := reg.Identity(t, "ST-B")
	// Station B presents A's certificate but says it is B.
	stolen := idB
	stolen.CertFile, stolen.KeyFile = a.id.CertFile, a.id.KeyFile
	b := newStation(t, stolen, reg.URL, nil)
	b.enqueueN(4, 10)
	err := b.cli.Once(context.Background())
	var pe *protocol.Error
	if !errors.As(err, &pe) || pe.Code != protocol.CodeIdentityMismatch || pe.Status != http.StatusForbidden {
		t.Errorf("another station's certificate: got %v, want 403 %s", err, protocol.CodeIdentityMismatch)
	}
	// A copy of A (same certificate and ID, its own database): its events
	// collide with A's sequence numbers and are refused, not mixed in.
	clone := newStation(t, a.id, reg.URL, nil)
	clone.enqueueN(2, 10)
	var ce *reconcile.ConflictError
	if err := clone.cli.Once(context.Background()); !errors.As(err, &ce) || len(ce.Seqs) != 2 {
		t.Errorf("cloned station: got %v, want ConflictError for 2 events", err)
	}
	// A replaced certificate is no longer accepted.
	old := a.id
	_ = reg.Identity(t, "ST-A")
	stale := newStation(t, old, reg.URL, nil)
	if err := stale.cli.Once(context.Background()); !errors.As(err, &pe) || pe.Code != protocol.CodeIdentityMismatch {
		t.Errorf("superseded certificate: got %v, want %s", err, protocol.CodeIdentityMismatch)
	}
	if n := eventCount(t, reg, "ST-A"); n != 3 {
		t.Errorf("registry holds %d events for ST-A, want its own 3", n)
	}
	if n := eventCount(t, reg, "ST-B"); n != 0 {
		t.Errorf("registry holds %d events for ST-B, want 0", n)
	}
}

// TestFaultStationKilledMidSync kills a station process (SIGKILL) in the
// middle of pushing through a slow link, reopens its database and syncs.
func TestFaultStationKilledMidSync(t *testing.T) {
	reg := registrytest.Start(t)
	p := registrytest.NewProxy(t, reg.Addr)
	id := reg.Identity(t, "ST-KILL")
	s := newStation(t, id, p.URL(), nil)
	s.enqueueN(3000, 300)
	if err := s.st.Close(); err != nil {
		t.Fatal(err)
	}
	p.Set(false, 3*time.Millisecond, 0, 0)
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperStationProcess$", "-test.v")
	cmd.Env = append(os.Environ(), "KORT_HELPER_DB="+s.path, "KORT_HELPER_URL="+p.URL(), "KORT_HELPER_ID="+id.StationID,
		"KORT_HELPER_CA="+id.CAFile, "KORT_HELPER_CERT="+id.CertFile, "KORT_HELPER_KEY="+id.KeyFile)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start station process: %v", err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for eventCount(t, reg, "ST-KILL") < 500 {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("station process made no progress:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	atKill := eventCount(t, reg, "ST-KILL")
	if atKill >= 3000 {
		t.Fatalf("the station finished before it was killed (%d events): the test did not kill it mid-sync", atKill)
	}
	p.Clear()
	s.reopen()
	mustOnce(t, s)
	assertExactlyOnce(t, reg, s)
}

// TestHelperStationProcess is the station process of
// TestFaultStationKilledMidSync; without its environment it does nothing.
func TestHelperStationProcess(t *testing.T) {
	path := os.Getenv("KORT_HELPER_DB")
	if path == "" {
		return
	}
	st := openStore(t, path)
	id := enrol.Identity{StationID: os.Getenv("KORT_HELPER_ID"), URL: os.Getenv("KORT_HELPER_URL"),
		CAFile: os.Getenv("KORT_HELPER_CA"), CertFile: os.Getenv("KORT_HELPER_CERT"), KeyFile: os.Getenv("KORT_HELPER_KEY")}
	cli, err := reconcile.New(reconcile.Config{Identity: id, BatchSize: 100}, st, newClock(), registrytest.Logger(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		err := cli.Once(context.Background())
		t.Log("attempt " + strconv.Itoa(i) + ": " + errString(err))
	}
}

func errString(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}

// handshake opens a raw TLS connection with id's certificate and reads
// from it: in TLS 1.3 the server's verdict on the client certificate
// arrives after the client's side of the handshake, as an alert.
func handshake(t *testing.T, id enrol.Identity, addr string) error {
	t.Helper()
	tc, err := id.TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	tc.ServerName = "127.0.0.1"
	tc.NextProtos = []string{"http/1.1"}
	c, err := tls.Dial("tcp", addr, tc)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		return err
	}
	_, err = c.Read(make([]byte, 1))
	return err
}
