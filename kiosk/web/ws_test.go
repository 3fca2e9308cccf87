package web

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/kortstation/kortstation/kiosk/bus"
)

// station is a Station that counts what reached it.
type station struct{ snapshots, requests atomic.Int64 }

func (s *station) Snapshot(context.Context, string) any {
	s.snapshots.Add(1)
	return map[string]string{"ok": "yes"}
}
func (s *station) Handle(context.Context, string, string, json.RawMessage) (any, error) {
	s.requests.Add(1)
	return nil, nil
}
func (s *station) Health(context.Context) (bool, any) { return true, nil }

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

const host = "127.0.0.1:8080"

// serve runs a Server with token ("" for ui-auth=none) on a test listener.
func serve(t *testing.T, token string) (*httptest.Server, *station, *lockedBuffer) {
	t.Helper()
	st := &station{}
	logs := &lockedBuffer{}
	s := New(Config{AllowedHosts: []string{host}, AllowedOrigins: []string{"http://" + host}, MaxMessage: 4096,
		PingInterval: time.Minute, Token: token}, st, bus.New(), slog.New(slog.NewTextHandler(logs, nil)), nil)
	ts := httptest.NewServer(s.Handler(nil))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx, "test over")
		ts.Close()
	})
	return ts, st, logs
}

// dial opens the websocket with these Sec-WebSocket-Protocol header values
// (each its own header line) and an optional query.
func dial(ts *httptest.Server, query string, protocols ...string) (*websocket.Conn, *http.Response, error) {
	h := http.Header{}
	h.Set("Origin", "http://"+host)
	h.Set("Host", host)
	for _, p := range protocols {
		h.Add("Sec-WebSocket-Protocol", p)
	}
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	return d.Dial("ws"+strings.TrimPrefix(ts.URL, "http")+"/ws"+query, h)
}

// TestTokenIsTheOnlyKeyToTheUIChannel plays a local process that reaches
// the UI port with the right Host and Origin (a curl, not a browser) and
// tries every way of presenting something that is not the kiosk's token.
// None gets a websocket, none reaches the station, and neither the token
// nor the guesses land in the log or in the handshake's answer.
func TestTokenIsTheOnlyKeyToTheUIChannel(t *testing.T) {
	token := strings.Repeat("a1", 32)
	other := strings.Repeat("b2", 32)
	ts, st, logs := serve(t, token)
	for _, tc := range []struct {
		name      string
		query     string
		protocols []string
	}{
		{"no subprotocol", "", nil},
		{"only the UI subprotocol", "", []string{Subprotocol}},
		{"a stale token (the last boot's)", "", []string{Subprotocol + ", " + TokenPrefix + other}},
		{"the token upper-cased", "", []string{Subprotocol + ", " + TokenPrefix + strings.ToUpper(token)}},
		{"the token with a suffix", "", []string{Subprotocol + ", " + TokenPrefix + token + "0"}},
		{"the token truncated", "", []string{Subprotocol + ", " + TokenPrefix + token[:63]}},
		{"the token without its prefix", "", []string{Subprotocol + ", " + token}},
		{"the bare prefix", "", []string{Subprotocol + ", " + TokenPrefix}},
		{"the token in the query", "?k=" + token + "&token=" + token, []string{Subprotocol}},
		{"the token in a second header line", "", []string{Subprotocol, TokenPrefix + token}},
	} {
		c, resp, err := dial(ts, tc.query, tc.protocols...)
		if err == nil {
			c.Close()
			t.Errorf("%s: websocket opened", tc.name)
			continue
		}
		if resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: %v, want 403", tc.name, err)
		}
	}
	if n := st.snapshots.Load() + st.requests.Load(); n != 0 {
		t.Errorf("refused connections reached the station %d times", n)
	}

	// The kiosk gets in, with its token in either order, and the server
	// answers with the UI subprotocol only: the token is not echoed.
	for _, protos := range [][]string{
		{Subprotocol + ", " + TokenPrefix + token},
		{TokenPrefix + token + ", " + Subprotocol},
	} {
		c, resp, err := dial(ts, "", protos...)
		if err != nil {
			t.Fatalf("the kiosk with its token %v: %v", protos, err)
		}
		if got := resp.Header.Get("Sec-WebSocket-Protocol"); got != Subprotocol {
			t.Errorf("chosen subprotocol %q, want %q", got, Subprotocol)
		}
		c.Close()
	}
	for _, secret := range []string{token, other, strings.ToUpper(token)} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("log holds a token:\n%s", logs.String())
		}
	}
}

// TestNoTokenAskedOnlyWhenNoneIsSet: ui-auth=none (simulation only; config
// refuses it otherwise) is a server with no token, which opens for any
// local process; a server with a token never falls back to that.
func TestNoTokenAskedOnlyWhenNoneIsSet(t *testing.T) {
	open, _, _ := serve(t, "")
	c, _, err := dial(open, "", Subprotocol)
	if err != nil {
		t.Fatalf("ui-auth=none refused: %v", err)
	}
	c.Close()
	closed, _, _ := serve(t, strings.Repeat("c3", 32))
	for _, p := range []string{TokenPrefix, TokenPrefix + " ", Subprotocol + ", " + TokenPrefix + ", "} {
		if c, _, err := dial(closed, "", p); err == nil {
			c.Close()
			t.Errorf("an empty token %q opened a server that has one", p)
		}
	}
}
