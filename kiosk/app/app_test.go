package app

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/kortstation/kortstation/kiosk/clock"
	"github.com/kortstation/kortstation/kiosk/config"
	"github.com/kortstation/kortstation/kiosk/problem"
	"github.com/kortstation/kortstation/kiosk/web"
)

type running struct {
	addr    string
	dataDir string
	cancel  context.CancelFunc
	done    chan error
	logs    *syncBuffer
}

type syncBuffer struct {
	mu chan struct{}
	b  bytes.Buffer
}

func newSyncBuffer() *syncBuffer { s := &syncBuffer{mu: make(chan struct{}, 1)}; return s }
func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu <- struct{}{}
	defer func() { <-s.mu }()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string {
	s.mu <- struct{}{}
	defer func() { <-s.mu }()
	return s.b.String()
}

// devArgs are make run's development settings but for the UI channel,
// which keeps the production default: the kiosk's token.
var devArgs = []string{"-simulation=true", "-reader", "sim", "-printer", "sim", "-drawer", "sim", "-registry", "embedded", "-require-clock-sync=false"}

// start runs kioskd in-process on a free port with its data in a temp dir.
func start(t *testing.T, extra ...string) *running {
	t.Helper()
	return startIn(t, t.TempDir(), extra...)
}

// startIn runs kioskd in-process with its data in dataDir.
func startIn(t *testing.T, dataDir string, extra ...string) *running {
	t.Helper()
	return startInClock(t, dataDir, nil, extra...)
}

// startInClock is startIn with the station's clock (nil: the system's).
func startInClock(t *testing.T, dataDir string, clk clock.Clock, extra ...string) *running {
	t.Helper()
	r := &running{dataDir: dataDir, done: make(chan error, 1), logs: newSyncBuffer()}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	ready := make(chan string, 1)
	args := append(append([]string{"-listen", "127.0.0.1:0", "-allowed-hosts", "127.0.0.1:0", "-data-dir", r.dataDir, "-log-format", "json"}, devArgs...), extra...)
	go func() {
		r.done <- Main(ctx, Env{Args: args, Stdout: io.Discard, Stderr: r.logs, Getenv: func(string) string { return "" },
			Ready: func(a string) { ready <- a }, Clock: clk})
	}()
	select {
	case r.addr = <-ready:
	case err := <-r.done:
		t.Fatalf("kioskd exited before serving: %v\n%s", err, r.logs.String())
	case <-time.After(10 * time.Second):
		t.Fatal("kioskd did not start in 10 s")
	}
	t.Cleanup(func() { r.stop(t) })
	return r
}

func (r *running) stop(t *testing.T) error {
	t.Helper()
	r.cancel()
	select {
	case err := <-r.done:
		r.done <- err
		return err
	case <-time.After(15 * time.Second):
		t.Fatal("kioskd did not stop in 15 s")
		return nil
	}
}

// The allowed host must match the port we got; the tests listen on :0, so
// they ask with Host 127.0.0.1:0 — the configured one.
func (r *running) get(t *testing.T, path string, hdr map[string]string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+r.addr+path, nil)
	req.Host = "127.0.0.1:0"
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// dial opens the UI websocket as the kiosk browser does, with the
// per-boot token kioskd left in its data directory.
func (r *running) dial(t *testing.T, origin, host string) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	return r.dialToken(t, origin, host, strings.TrimSpace(readFile(t, filepath.Join(r.dataDir, "ui-token"))))
}

// dialToken opens the UI websocket presenting token ("" for none).
func (r *running) dialToken(t *testing.T, origin, host, token string) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	h := http.Header{}
	h.Set("Origin", origin)
	h.Set("Host", host)
	protos := []string{web.Subprotocol}
	if token != "" {
		protos = append(protos, web.TokenPrefix+token)
	}
	h.Set("Sec-WebSocket-Protocol", strings.Join(protos, ", "))
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	return d.Dial("ws://"+r.addr+"/ws", h)
}

// readEnvelope returns the next message that is not a bus event (device
// events arrive whenever the simulated hardware reports).
func readEnvelope(t *testing.T, c *websocket.Conn) web.Envelope {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		var e web.Envelope
		if err := c.ReadJSON(&e); err != nil {
			t.Fatalf("read: %v", err)
		}
		if e.Type != web.TypeEvent {
			return e
		}
	}
}

// readUntilError reads and discards messages until the connection fails.
func readUntilError(c *websocket.Conn) error {
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		if _, _, err := c.ReadMessage(); err != nil {
			return err
		}
	}
}

func TestServesUIHealthMetrics(t *testing.T) {
	r := start(t)
	resp := r.get(t, "/", nil)
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(body), "Kortstation") || !strings.Contains(string(body), `lang="sv"`) {
		t.Errorf("/ = %d %q", resp.StatusCode, body)
	}
	if resp.Header.Get("Content-Security-Policy") == "" {
		t.Error("no Content-Security-Policy header")
	}
	resp = r.get(t, "/healthz", nil)
	var health struct {
		OK     bool           `json:"ok"`
		Detail map[string]any `json:"detail"`
	}
	json.NewDecoder(resp.Body).Decode(&health)
	if resp.StatusCode != 200 || !health.OK || health.Detail["store"] != "ok" {
		t.Errorf("/healthz = %d %+v", resp.StatusCode, health)
	}
	resp = r.get(t, "/metrics", nil)
	body, _ = io.ReadAll(resp.Body)
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain; version=0.0.4") ||
		!strings.Contains(string(body), "# TYPE kiosk_outbox_depth gauge") || !strings.Contains(string(body), fmt.Sprintf("kiosk_store_schema_version %d", latestSchema(t))) {
		t.Errorf("/metrics:\n%s", body)
	}
}

func TestForeignHostRefused(t *testing.T) {
	r := start(t)
	for _, path := range []string{"/", "/healthz", "/metrics", "/ws"} {
		if resp := r.get(t, path, map[string]string{"Host": "attacker.example:8080"}); resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s with foreign Host: %d, want 403", path, resp.StatusCode)
		}
	}
	_, resp, err := r.dial(t, "http://127.0.0.1:0", "rebind.attacker.example")
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("websocket with foreign Host: err=%v resp=%v, want 403", err, resp)
	}
}

func TestWebsocketOriginSizeAndMalformed(t *testing.T) {
	r := start(t, "-ws-max-message", "2048")
	for _, origin := range []string{"http://evil.example", "null", "", "http://127.0.0.1:0.evil.example"} {
		_, resp, err := r.dial(t, origin, "127.0.0.1:0")
		if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Errorf("Origin %q: err=%v, want 403", origin, err)
		}
	}
	c, _, err := r.dial(t, "http://127.0.0.1:0", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if e := readEnvelope(t, c); e.Type != web.TypeHello || e.V != web.ProtocolVersion {
		t.Fatalf("first message %+v, want hello", e)
	}
	// A request gets its reply with the same ID.
	c.WriteJSON(web.Envelope{V: 1, Type: "status.get", ID: "r1"})
	if e := readEnvelope(t, c); e.Type != web.TypeReply || e.ID != "r1" {
		t.Errorf("reply %+v", e)
	}
	// Malformed, wrong version, unknown type: an error, the connection stays.
	for _, m := range []string{`{not json`, `{"v":99,"type":"status.get","id":"x"}`, `{"v":1,"type":"no.such","id":"u1"}`} {
		c.WriteMessage(websocket.TextMessage, []byte(m))
		e := readEnvelope(t, c)
		var p problem.Problem
		json.Unmarshal(e.Payload, &p)
		if e.Type != web.TypeError || p.Text("sv") == "" || p.Text("en") == "" {
			t.Errorf("%s: got %+v / %+v, want an error with sv and en text", m, e, p)
		}
	}
	// Oversize: the server closes with 1009.
	c.WriteMessage(websocket.TextMessage, []byte(`{"v":1,"type":"status.get","payload":"`+strings.Repeat("x", 4096)+`"}`))
	err = readUntilError(c)
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.CloseMessageTooBig {
		t.Errorf("after oversize message: %v, want close 1009", err)
	}
	// gorilla sends the 1009 itself before our read loop logs: wait for it.
	for deadline := time.Now().Add(3 * time.Second); !strings.Contains(r.logs.String(), "over the size limit"); {
		if time.Now().After(deadline) {
			t.Fatal("oversize message not logged")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestCleanShutdownClosesWebsocketAndRecordsStop(t *testing.T) {
	r := start(t)
	c, _, err := r.dial(t, "http://127.0.0.1:0", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	readEnvelope(t, c)
	if err := r.stop(t); err != nil {
		t.Fatalf("Main returned %v on shutdown", err)
	}
	err = readUntilError(c)
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.CloseGoingAway || !strings.Contains(ce.Text, "shutting down") {
		t.Errorf("websocket ended with %v, want 1001 with a reason", err)
	}
	// The stop was committed: the chain has start and stop and verifies.
	var out bytes.Buffer
	err = Main(context.Background(), Env{Args: []string{"-data-dir", r.dataDir, "audit", "verify"}, Stdout: &out, Stderr: io.Discard})
	if err != nil || !strings.Contains(out.String(), "audit chain intact") {
		t.Errorf("audit verify after shutdown: %v %q", err, out.String())
	}
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(r.dataDir, "station.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var last string
	if err := db.QueryRow("SELECT kind FROM audit_log ORDER BY seq DESC LIMIT 1").Scan(&last); err != nil || last != "station.stopped" {
		t.Errorf("last audit entry %q (%v), want station.stopped", last, err)
	}
}

func TestCommands(t *testing.T) {
	dir := t.TempDir()
	run := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := Main(context.Background(), Env{Args: append([]string{"-data-dir", dir}, args...), Stdout: &out, Stderr: io.Discard})
		return out.String(), err
	}
	if out, err := run("--version"); err != nil || !strings.HasPrefix(out, "kioskd ") {
		t.Errorf("--version: %q %v", out, err)
	}
	if out, err := run("-enrol-code", "SECRET-1", "config"); err != nil || strings.Contains(out, "SECRET-1") || !strings.Contains(out, "data-dir = "+dir) {
		t.Errorf("config: %q %v", out, err)
	}
	if out, err := run("selftest"); err != nil || !strings.Contains(out, "selftest ok") || !strings.Contains(out, fmt.Sprintf("schema version %d", latestSchema(t))) {
		t.Errorf("selftest: %q %v", out, err)
	}
	if _, err := run("frobnicate"); err == nil || !strings.Contains(err.Error(), "frobnicate") {
		t.Errorf("unknown command: %v", err)
	}
	var ke *config.KeyError
	if _, err := run("-printer", "laser"); !errors.As(err, &ke) || ke.Key != "printer" {
		t.Errorf("bad config: %v, want KeyError for printer", err)
	}
	// Fail closed: a station with no registry chosen does not start.
	if _, err := run("-listen", "127.0.0.1:0"); !errors.As(err, &ke) || ke.Key != "registry" {
		t.Errorf("serve with no registry: %v, want KeyError for registry", err)
	}
	if _, err := run(append([]string{"-listen", "127.0.0.1:0", "-max-data-age", "horoscopes=1h"}, devArgs...)...); !errors.As(err, &ke) || ke.Key != "max-data-age" {
		t.Errorf("unknown data kind: %v, want KeyError for max-data-age", err)
	}
	if out, err := run("--help"); !errors.Is(err, flagErrHelp()) || !strings.Contains(out, "audit verify") {
		t.Errorf("--help: %v %q", err, out)
	}
}

func TestRefusesCorruptStore(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "station.db")
	writeFile(t, path, "garbage that is not sqlite")
	err := Main(context.Background(), Env{Args: append([]string{"-data-dir", dir, "-listen", "127.0.0.1:0"}, devArgs...), Stdout: io.Discard, Stderr: io.Discard})
	if err == nil || !strings.Contains(err.Error(), "not a Kortstation station database") {
		t.Fatalf("err = %v, want refusal", err)
	}
	if got := readFile(t, path); got != "garbage that is not sqlite" {
		t.Errorf("file changed to %q", got)
	}
}

type unsyncedClock struct{}

func (unsyncedClock) Now() time.Time { return time.Date(1970, 1, 1, 0, 0, 42, 0, time.UTC) }
func (unsyncedClock) Source() string { return "unsynced" }

// TestClockGate: with require-clock-sync an unsynchronised clock blocks
// issuing and the UI is told why; without it the station only reports it.
func TestClockGate(t *testing.T) {
	for _, require := range []bool{true, false} {
		dir := t.TempDir()
		ctx, cancel := context.WithCancel(context.Background())
		ready := make(chan string, 1)
		done := make(chan error, 1)
		go func() {
			done <- Main(ctx, Env{Args: append(append([]string{"-listen", "127.0.0.1:0", "-allowed-hosts", "127.0.0.1:0", "-data-dir", dir}, devArgs...),
				fmt.Sprintf("-require-clock-sync=%v", require)), Stdout: io.Discard, Stderr: io.Discard,
				Clock: unsyncedClock{}, Ready: func(a string) { ready <- a }})
		}()
		addr := <-ready
		r := &running{addr: addr, dataDir: dir}
		c, _, err := r.dial(t, "http://127.0.0.1:0", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		hello := readEnvelope(t, c)
		var snap struct {
			Clock struct {
				Synced, Blocking bool
				Source           string
			}
		}
		json.Unmarshal(hello.Payload, &snap)
		if snap.Clock.Synced || snap.Clock.Blocking != require || snap.Clock.Source != "unsynced" {
			t.Errorf("require=%v: clock %+v", require, snap.Clock)
		}
		c.Close()
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}
