package crashtest

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	_ "github.com/mattn/go-sqlite3" // the test reads the databases at rest

	"github.com/kortstation/kortstation/kiosk/problem"
	"github.com/kortstation/kortstation/kiosk/web"
)

// kioskd is the binary under test, built once by TestMain.
var kioskd string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "crashtest-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	kioskd = filepath.Join(dir, "kioskd")
	build := exec.Command("go", "build", "-o", kioskd, "github.com/kortstation/kortstation/kiosk/cmd/kioskd")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build kioskd:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// lockedBuffer collects a process's output.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *lockedBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *lockedBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// station is a running kioskd process on make run's development settings
// (simulated hardware, embedded registry) with its data in dir.
type station struct {
	t    testing.TB
	cmd  *exec.Cmd
	dir  string
	addr string
	logs *lockedBuffer
	done chan error
}

func freePort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// devFlags are the Makefile's DEV_FLAGS.
var devFlags = []string{"-simulation=true", "-reader", "sim", "-printer", "sim", "-drawer", "sim",
	"-registry", "embedded", "-ui-auth", "none", "-require-clock-sync=false", "-log-format", "json"}

func startStation(t testing.TB, dir string, extra ...string) *station {
	t.Helper()
	for attempt := 0; ; attempt++ {
		s, busy := tryStart(t, dir, extra...)
		if s != nil {
			return s
		}
		if !busy || attempt == 4 {
			t.Fatalf("kioskd never served")
		}
		// Another process took the free port between its probe and
		// kioskd's listen: another port.
	}
}

// tryStart starts kioskd on a free port; nil and true when the port was
// taken meanwhile.
func tryStart(t testing.TB, dir string, extra ...string) (*station, bool) {
	t.Helper()
	addr := freePort(t)
	args := append(append([]string{"-listen", addr, "-allowed-hosts", addr, "-data-dir", dir}, devFlags...), extra...)
	s := &station{t: t, dir: dir, addr: addr, logs: &lockedBuffer{}, done: make(chan error, 1)}
	s.cmd = exec.Command(kioskd, args...)
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start kioskd: %v", err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		req, _ := http.NewRequest("GET", "http://"+addr+"/healthz", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, false
			}
		}
		select {
		case err := <-s.done:
			s.done <- err
			if strings.Contains(s.logs.String(), "address already in use") {
				return nil, true
			}
			t.Fatalf("kioskd exited before serving: %v\n%s", err, s.logs.String())
		default:
		}
		if time.Now().After(deadline) {
			s.kill()
			t.Fatalf("kioskd did not serve in 30 s\n%s", s.logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startAndKill starts kioskd on dir and kills it after delay, whether it
// serves yet or not: a crash during recovery and the first sync.
func startAndKill(t testing.TB, dir string, delay time.Duration) {
	t.Helper()
	addr := freePort(t)
	cmd := exec.Command(kioskd, append([]string{"-listen", addr, "-allowed-hosts", addr, "-data-dir", dir}, devFlags...)...)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start kioskd: %v", err)
	}
	time.Sleep(delay)
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
}

// kill sends SIGKILL and waits for the process to go.
func (s *station) kill() {
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	err := <-s.done
	s.done <- err
}

// stop sends SIGTERM and waits for a clean stop.
func (s *station) stop() {
	s.t.Helper()
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		s.done <- err
		if err != nil {
			s.t.Fatalf("kioskd stopped with %v\n%s", err, s.logs.String())
		}
	case <-time.After(30 * time.Second):
		s.kill()
		s.t.Fatalf("kioskd did not stop in 30 s\n%s", s.logs.String())
	}
}

// client is a UI connection, as the kiosk's browser holds it.
type client struct {
	c    *websocket.Conn
	next int
}

func (s *station) dial() (*client, error) {
	h := http.Header{}
	h.Set("Origin", "http://"+s.addr)
	h.Set("Sec-WebSocket-Protocol", web.Subprotocol)
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	c, _, err := d.Dial("ws://"+s.addr+"/ws", h)
	if err != nil {
		return nil, err
	}
	return &client{c: c}, nil
}

// errRefused wraps a refusal's problem.
type refusedError struct{ p problem.Problem }

func (e *refusedError) Error() string { return "refused: " + e.p.Key() }

// request sends typ and waits for its reply; a refusal is a *refusedError,
// a broken connection any other error.
func (c *client) request(typ string, payload any) (json.RawMessage, error) {
	c.next++
	id := "r" + strconv.Itoa(c.next)
	var raw json.RawMessage
	if payload != nil {
		raw, _ = json.Marshal(payload)
	}
	_ = c.c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if err := c.c.WriteJSON(web.Envelope{V: web.ProtocolVersion, Type: typ, ID: id, Payload: raw}); err != nil {
		return nil, err
	}
	for {
		_ = c.c.SetReadDeadline(time.Now().Add(10 * time.Second))
		var e web.Envelope
		if err := c.c.ReadJSON(&e); err != nil {
			return nil, err
		}
		if e.ID != id {
			continue
		}
		if e.Type == web.TypeError {
			var p problem.Problem
			_ = json.Unmarshal(e.Payload, &p)
			return nil, &refusedError{p}
		}
		return e.Payload, nil
	}
}

// view is the part of the counter's view the driver reads.
type view struct {
	State string `json:"state"`
	Flow  *struct {
		Kind   string         `json:"kind"`
		Step   string         `json:"step"`
		Errors []any          `json:"errors"`
		Data   map[string]any `json:"data"`
	} `json:"flow"`
	Reprints []struct {
		ReceiptID string `json:"receipt_id"`
	} `json:"reprints"`
}

func (c *client) view() (view, error) {
	raw, err := c.request("session.get", nil)
	if err != nil {
		return view{}, err
	}
	var s struct {
		View view `json:"view"`
	}
	err = json.Unmarshal(raw, &s)
	return s.View, err
}

// waitView polls the view until ok; the connection's error ends it.
func (c *client) waitView(what string, ok func(view) bool) (view, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		v, err := c.view()
		if err != nil {
			return v, err
		}
		if ok(v) {
			return v, nil
		}
		if time.Now().After(deadline) {
			b, _ := json.Marshal(v.Flow)
			return v, fmt.Errorf("view never reached %s: state %s, flow %s", what, v.State, b)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type status struct {
	Outbox int64 `json:"outbox"`
	Sync   struct {
		LastSuccess time.Time `json:"last_success"`
	} `json:"sync"`
}

func (c *client) status() (status, error) {
	raw, err := c.request("status.get", nil)
	if err != nil {
		return status{}, err
	}
	var s status
	err = json.Unmarshal(raw, &s)
	return s, err
}

// openDB opens a database file at rest, read-only.
func openDB(t testing.TB, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	return db // the caller closes it
}

func integrity(db *sql.DB) error {
	var res string
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&res); err != nil {
		return err
	}
	if res != "ok" {
		return errors.New("integrity_check: " + res)
	}
	return nil
}

// auditVerify runs `kioskd audit verify` on dir.
func auditVerify(dir string) error {
	out, err := exec.CommandContext(context.Background(), kioskd, "-data-dir", dir, "-log-format", "json", "audit", "verify").CombinedOutput()
	if err != nil {
		return fmt.Errorf("kioskd audit verify: %w: %s", err, out)
	}
	return nil
}

// copyDir copies a data directory at rest (the template station).
func copyDir(t testing.TB, from, to string) {
	t.Helper()
	if out, err := exec.Command("cp", "-a", from, to).CombinedOutput(); err != nil {
		t.Fatalf("copy %s: %v: %s", from, err, out)
	}
}

var (
	csrfField  = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	pendingIss = regexp.MustCompile(`action="/admin/issuance"><input type="hidden" name="csrf" value="[^"]+"><input type="hidden" name="id" value="([^"]+)"`)
)

// approve approves the pending issuance at the embedded registry's
// development console (CP-1), as a case officer would.
func approve(c *client) error {
	raw, err := c.request("status.get", nil)
	if err != nil {
		return err
	}
	var st struct {
		Sync struct {
			AdminURL string `json:"admin_url"`
		} `json:"sync"`
	}
	if err := json.Unmarshal(raw, &st); err != nil || st.Sync.AdminURL == "" {
		return fmt.Errorf("no console address in the status (%v)", err)
	}
	u, err := url.Parse(st.Sync.AdminURL)
	if err != nil {
		return err
	}
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	resp, err := hc.Get(u.String())
	if err != nil {
		return err
	}
	page, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	csrf, id := csrfField.FindSubmatch(page), pendingIss.FindSubmatch(page)
	if csrf == nil || id == nil {
		return fmt.Errorf("console page without a pending issuance (status %d)", resp.StatusCode)
	}
	form := url.Values{"csrf": {string(csrf[1])}, "id": {string(id[1])}, "decision": {"approve"}}
	req, _ := http.NewRequest("POST", u.Scheme+"://"+u.Host+"/admin/issuance", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", u.Scheme+"://"+u.Host)
	resp, err = hc.Do(req)
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode >= 400 {
		return fmt.Errorf("approve: %d %s", resp.StatusCode, body)
	}
	return nil
}
