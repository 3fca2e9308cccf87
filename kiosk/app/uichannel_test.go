package app

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kortstation/kortstation/kiosk/web"
)

// TestUIChannelIsTheKiosksAlone plays a local process that reaches the
// station's UI port while an operator serves a recipient. Without the
// kiosk's per-boot token it cannot open the websocket at all; even holding
// it (a second screen), its connection sees no personal data, cannot act in
// the operator's session and cannot send PINs to the operator's card.
func TestUIChannelIsTheKiosksAlone(t *testing.T) {
	r := start(t, "-sync-interval", "1h")
	tokenFile := filepath.Join(r.dataDir, "ui-token")
	fi, err := os.Stat(tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o640 {
		t.Errorf("token file mode %o, want 640 (the kiosk browser's group only)", fi.Mode().Perm())
	}
	token := strings.TrimSpace(readFile(t, tokenFile))
	for name, tok := range map[string]string{"no token": "", "a guessed token": strings.Repeat("0", len(token)), "a truncated token": token[:32]} {
		_, resp, err := r.dialToken(t, "http://127.0.0.1:0", "127.0.0.1:0", tok)
		if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Errorf("websocket with %s: err=%v, want 403", name, err)
		}
	}

	kc, _, err := r.dial(t, "http://127.0.0.1:0", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	readEnvelope(t, kc)
	kiosk := &wsClient{t: t, c: kc}
	must := func(typ string, payload any) json.RawMessage {
		t.Helper()
		raw, p := kiosk.request(typ, payload)
		if p != nil {
			t.Fatalf("kiosk %s: %+v", typ, p)
		}
		return raw
	}
	kiosk.waitStatus("the first sync", func(s syncSnapshot) bool { return !s.Sync.LastSuccess.IsZero() })
	must("dev.card.insert", map[string]string{"reader": "Simulated Reader 00", "serial": "9752269900000000011"})
	waitState(t, kiosk, "pin")

	// A second connection, opened while the login waits for its PIN.
	mc, _, err := r.dial(t, "http://127.0.0.1:0", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer mc.Close()
	readEnvelope(t, mc)
	mallory := &wsClient{t: t, c: mc}

	// The kiosk claims the login; the second connection's PINs never
	// reach the card.
	if _, p := kiosk.request("session.pin", map[string]string{"pin": "0000"}); p == nil || p.Key() != "pin_wrong" {
		t.Fatalf("wrong PIN: %+v", p)
	}
	for range 3 {
		if _, p := mallory.request("session.pin", map[string]string{"pin": "1111"}); p == nil || p.Key() != "elsewhere" {
			t.Fatalf("second connection's PIN: %+v, want refused as elsewhere", p)
		}
	}
	var login struct {
		Login struct{ Retries int } `json:"login"`
	}
	raw := must("session.get", nil)
	var ss struct {
		View json.RawMessage `json:"view"`
	}
	json.Unmarshal(raw, &ss)
	json.Unmarshal(ss.View, &login)
	if login.Login.Retries != 2 {
		t.Fatalf("PIN attempts left = %d after the second connection's tries, want 2", login.Login.Retries)
	}
	var reply struct{ Resume string }
	json.Unmarshal(must("session.pin", map[string]string{"pin": "1234"}), &reply)
	if reply.Resume == "" {
		t.Fatal("no resume secret in the login reply")
	}
	must("flow.start", map[string]string{"kind": "issue"})
	must("flow.step", map[string]any{"step": "reason", "data": map[string]string{"reason": "forgotten"}})
	must("flow.step", map[string]any{"step": "recipient", "data": map[string]string{"personal_number": "19121212-1212", "name": "Tolvan Tolvansson"}})

	// What the second connection reads: hello, status, session.
	third, _, err := r.dial(t, "http://127.0.0.1:0", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer third.Close()
	hello := readEnvelope(t, third)
	status, _ := mallory.request("status.get", nil)
	session, _ := mallory.request("session.get", nil)
	for what, b := range map[string][]byte{"hello": hello.Payload, "status.get": status, "session.get": session} {
		for _, personal := range []string{"19121212", "121212-1212", "Tolvan", "Test Operatör"} {
			if strings.Contains(string(b), personal) {
				t.Errorf("%s for a second connection holds %q: %s", what, personal, b)
			}
		}
		if !strings.Contains(string(b), `"elsewhere"`) {
			t.Errorf("%s for a second connection does not say the station is in use elsewhere: %s", what, b)
		}
	}
	// What it does: refused, nothing moves.
	for _, typ := range []string{"flow.cancel", "session.logout", "flow.step"} {
		if _, p := mallory.request(typ, map[string]any{"step": "close"}); p == nil || p.Key() != "elsewhere" {
			t.Errorf("%s from a second connection: %+v, want refused as elsewhere", typ, p)
		}
	}
	raw = must("session.get", nil)
	if !strings.Contains(string(raw), `"step":"identity"`) {
		t.Errorf("the kiosk's flow moved: %s", raw)
	}

	// A reloaded kiosk page takes the session back with its secret.
	if _, p := mallory.request("session.resume", map[string]string{"secret": "not-the-secret"}); p == nil {
		t.Error("resume with a wrong secret accepted")
	}
	reloaded := &wsClient{t: t, c: third}
	if _, p := reloaded.request("session.resume", map[string]string{"secret": reply.Resume}); p != nil {
		t.Fatalf("resume with the secret: %+v", p)
	}
	raw, _ = reloaded.request("session.get", nil)
	if !strings.Contains(string(raw), "Tolvan") {
		t.Errorf("the resumed connection does not see its flow: %s", raw)
	}
}

func waitState(t *testing.T, w *wsClient, state string) {
	t.Helper()
	for range 200 {
		raw, p := w.request("session.get", nil)
		if p != nil {
			t.Fatal(p)
		}
		if strings.Contains(string(raw), `"state":"`+state+`"`) {
			return
		}
	}
	t.Fatalf("session never reached %s", state)
}

// TestRemoteLockSurvivesRestart: a central admin's lock is kept across a
// restart of the station: the station comes back locked, before any sync.
func TestRemoteLockSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	r := startIn(t, dir, "-sync-interval", "1h")
	conn, _, err := r.dial(t, "http://127.0.0.1:0", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	readEnvelope(t, conn)
	w := &wsClient{t: t, c: conn}
	s := w.waitStatus("the first sync", func(s syncSnapshot) bool { return !s.Sync.LastSuccess.IsZero() })
	admin := strings.TrimSuffix(s.Sync.AdminURL, "/admin")
	adminPost(t, admin, "/admin/command", url.Values{"station": {"dev-station"}, "kind": {"lock"}})
	w.waitStatus("the remote lock", func(s syncSnapshot) bool { return s.RemoteLocked })
	conn.Close()
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}

	r2 := startIn(t, dir, "-sync-interval", "1h")
	conn2, _, err := r2.dial(t, "http://127.0.0.1:0", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn2.Close()
	hello := readEnvelope(t, conn2)
	var snap syncSnapshot
	json.Unmarshal(hello.Payload, &snap)
	if hello.Type != web.TypeHello || !snap.RemoteLocked {
		t.Fatalf("after restart: %s, want the station still locked", hello.Payload)
	}
	w2 := &wsClient{t: t, c: conn2}
	if _, p := w2.request("dev.card.insert", map[string]string{"reader": "Simulated Reader 00", "serial": "9752269900000000011"}); p != nil {
		t.Fatal(p)
	}
	if _, p := w2.request("session.pin", map[string]string{"pin": "1234"}); p == nil || p.Key() != "station_locked" {
		t.Fatalf("login on the restarted locked station: %+v, want station_locked", p)
	}
}
