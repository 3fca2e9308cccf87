package app

import (
	"context"
	"database/sql"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/kortstation/kortstation/kiosk/config"
	"github.com/kortstation/kortstation/kiosk/problem"
	"github.com/kortstation/kortstation/kiosk/web"
	"github.com/kortstation/kortstation/sync/client/enrol"
	"github.com/kortstation/kortstation/sync/client/refdata"
	"github.com/kortstation/kortstation/sync/registrytest"
)

type wsClient struct {
	t    *testing.T
	c    *websocket.Conn
	next int
}

// request sends typ and returns the reply's payload, or the error problem.
func (w *wsClient) request(typ string, payload any) (json.RawMessage, *problem.Problem) {
	w.t.Helper()
	w.next++
	id := "q" + string(rune('a'+w.next%26)) + time.Now().Format("150405.000000")
	var raw json.RawMessage
	if payload != nil {
		raw, _ = json.Marshal(payload)
	}
	if err := w.c.WriteJSON(web.Envelope{V: 1, Type: typ, ID: id, Payload: raw}); err != nil {
		w.t.Fatal(err)
	}
	for {
		e := readEnvelope(w.t, w.c)
		if e.ID != id {
			continue
		}
		if e.Type == web.TypeError {
			var p problem.Problem
			json.Unmarshal(e.Payload, &p)
			return nil, &p
		}
		return e.Payload, nil
	}
}

type syncSnapshot struct {
	Outbox       int64 `json:"outbox"`
	RemoteLocked bool  `json:"remote_locked"`
	Sync         struct {
		LastSuccess time.Time        `json:"last_success"`
		Connected   bool             `json:"connected"`
		AdminURL    string           `json:"admin_url"`
		DataAges    map[string]int64 `json:"data_age_seconds"`
	} `json:"sync"`
}

func (w *wsClient) status() syncSnapshot {
	w.t.Helper()
	raw, p := w.request("status.get", nil)
	if p != nil {
		w.t.Fatalf("status.get: %v", p)
	}
	var s syncSnapshot
	if err := json.Unmarshal(raw, &s); err != nil {
		w.t.Fatal(err)
	}
	return s
}

func (w *wsClient) waitStatus(what string, ok func(syncSnapshot) bool) syncSnapshot {
	w.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		s := w.status()
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("timed out waiting for %s; last status %+v", what, s)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestEmbeddedRegistrySyncAndRemoteControl: `make run`'s station syncs with
// its embedded reference registry over mTLS — a record (an RC-7 drawer
// alarm) reaches the registry and is acknowledged, reference data arrives —
// and a central admin's lock and unlock reach the station through the
// control channel.
func TestEmbeddedRegistrySyncAndRemoteControl(t *testing.T) {
	r := start(t, "-sync-interval", "1h")
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(r.logs.String())
		}
	})
	conn, _, err := r.dial(t, "http://127.0.0.1:0", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	readEnvelope(t, conn)
	w := &wsClient{t: t, c: conn}

	// The first sync runs when the schedule starts.
	s := w.waitStatus("the first sync", func(s syncSnapshot) bool { return s.Outbox == 0 && !s.Sync.LastSuccess.IsZero() })
	if s.Sync.AdminURL == "" {
		t.Fatal("no admin URL for the embedded registry")
	}
	// The dev station's operator cards are authorised administrators at the
	// embedded registry (AD-1), and its blank reserve cards are stock.
	var operators, shipped int
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(r.dataDir, "station.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.QueryRow(`SELECT count(*) FROM operators WHERE authorised = 1 AND hsa_id IN ('SE2321000131-P000000000011', 'SE2321000131-P000000000012')`).Scan(&operators)
	db.QueryRow(`SELECT count(*) FROM ref_shipments WHERE serial IN ('9752269900000000101', '9752269900000000102')`).Scan(&shipped)
	if operators != 2 || shipped != 2 {
		t.Errorf("dev operators authorised: %d, dev reserve cards shipped: %d; want 2 and 2", operators, shipped)
	}
	var attestorAdmin int
	db.QueryRow(`SELECT count(*) FROM operators WHERE authorised = 1 AND hsa_id = 'SE2321000131-P000000000021'`).Scan(&attestorAdmin)
	if attestorAdmin != 0 {
		t.Error("AT-1: the dev attestor is an authorised administrator")
	}
	for _, kind := range []string{"operators", "validity", "stop_windows", "person_facts", "shipments"} {
		if age, ok := s.Sync.DataAges[kind]; !ok || age < 0 {
			t.Errorf("reference data %s not pulled (age %d, present %v)", kind, age, ok)
		}
	}
	admin := strings.TrimSuffix(s.Sync.AdminURL, "/admin")
	var alarms int
	events := func() int {
		t.Helper()
		resp, err := http.Get(admin + "/admin/api/stations")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var stations []struct {
			ID     string `json:"id"`
			Events int    `json:"events"`
			Status struct {
				Alarms   int               `json:"alarms"`
				Hardware map[string]string `json:"hardware"`
			} `json:"status"`
		}
		json.NewDecoder(resp.Body).Decode(&stations)
		if len(stations) != 1 || stations[0].ID != "dev-station" {
			t.Fatalf("registry stations = %+v, want dev-station", stations)
		}
		alarms = stations[0].Status.Alarms
		return stations[0].Events
	}
	before := events()

	// An RC-7 alarm is recorded, queued, pushed on "sync now" and
	// acknowledged: it leaves the outbox only once the registry has it.
	if _, p := w.request("dev.drawer.open", nil); p != nil {
		t.Fatal(p)
	}
	// With an hour between scheduled syncs, only "sync now" sends it.
	w.waitStatus("the alarm in the outbox", func(s syncSnapshot) bool { return s.Outbox > 0 })
	if _, p := w.request("sync.now", nil); p != nil {
		t.Fatal(p)
	}
	w.waitStatus("the alarm at the registry and acknowledged", func(s syncSnapshot) bool {
		return s.Outbox == 0 && events() >= before+1
	})
	// The registry sees the station's health too (status sent with each sync).
	w.waitStatus("the alarm in the station status at the registry", func(syncSnapshot) bool {
		events()
		if alarms == 0 {
			w.request("sync.now", nil)
		}
		return alarms >= 1
	})

	command := func(kind string) {
		t.Helper()
		adminPost(t, admin, "/admin/command", url.Values{"station": {"dev-station"}, "kind": {kind}})
	}
	command("lock")
	w.waitStatus("the remote lock", func(s syncSnapshot) bool { return s.RemoteLocked })
	if _, p := w.request("flow.start", map[string]string{"kind": "status"}); p == nil || p.Key() != "station_locked" || p.Text("sv") == "" {
		t.Fatalf("request on a locked station: %+v, want station_locked", p)
	}
	command("unlock")
	w.waitStatus("the unlock", func(s syncSnapshot) bool { return !s.RemoteLocked })
	if _, p := w.request("flow.start", map[string]string{"kind": "status"}); p == nil || p.Key() == "station_locked" {
		t.Fatalf("request after unlock: %+v, want it no longer refused as locked", p)
	}
}

func TestFreshnessPolicyOverridesDefaults(t *testing.T) {
	cfg := config.Defaults()
	cfg.MaxDataAge = map[string]time.Duration{"operators": time.Hour}
	p, err := freshnessPolicy(cfg)
	if err != nil {
		t.Fatal(err)
	}
	def := refdata.DefaultPolicy()
	if p["operators"] != time.Hour || p["blocked_cards"] != def["blocked_cards"] || len(p) != len(def) {
		t.Errorf("policy = %v", p)
	}
	if def["operators"] == time.Hour {
		t.Fatal("test needs a default other than 1h")
	}
}

// TestProvisionedStationEnrolsAndSyncs: the appliance's first start — a
// registry address, a one-time code and the registry's CA file, as
// provisioning leaves them — enrols the station (pinning the CA by its
// fingerprint), stores its certificate and syncs over mTLS; the code cannot
// be used again.
func TestProvisionedStationEnrolsAndSyncs(t *testing.T) {
	reg := registrytest.Start(t)
	code, err := reg.Server.NewEnrolCode(context.Background(), "halmstad-1", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "registry-ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: reg.Server.CA().Cert.Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	r := start(t, "-registry", "remote", "-registry-url", reg.URL, "-registry-ca", caFile,
		"-enrol-code", code, "-station-id", "halmstad-1", "-sync-interval", "1h")
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(r.logs.String())
		}
	})
	conn, _, err := r.dial(t, "http://127.0.0.1:0", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	readEnvelope(t, conn)
	w := &wsClient{t: t, c: conn}
	w.waitStatus("the first sync after enrolment, everything sent", func(s syncSnapshot) bool {
		if !s.Sync.LastSuccess.IsZero() && s.Outbox > 0 {
			// The drawer's first state may be queued just after the first
			// sync; with an hour between syncs only "sync now" sends it.
			w.request("sync.now", nil)
		}
		return !s.Sync.LastSuccess.IsZero() && s.Outbox == 0
	})
	for _, f := range []string{"station.pem", "station-key.pem", "registry-ca.pem"} {
		if _, err := os.Stat(filepath.Join(r.dataDir, "station", f)); err != nil {
			t.Errorf("identity file %s: %v", f, err)
		}
	}
	if strings.Contains(r.logs.String(), code) {
		t.Error("the enrolment code is in the log")
	}
	// The code was used: a second station cannot enrol with it.
	var out strings.Builder
	err = Main(context.Background(), Env{Args: []string{"-data-dir", t.TempDir(), "-registry", "remote", "-registry-url", reg.URL,
		"-registry-ca", caFile, "-enrol-code", code, "enrol"}, Stdout: &out, Stderr: io.Discard})
	if err == nil {
		t.Fatalf("second enrolment with a used code succeeded: %s", out.String())
	}
}

// TestEnrolRefusesAForeignCA: a CA file that is not the registry's makes
// enrolment fail before any code is sent to it (the fingerprint does not
// match), and nothing is stored.
func TestEnrolRefusesAForeignCA(t *testing.T) {
	reg := registrytest.Start(t)
	code, err := reg.Server.NewEnrolCode(context.Background(), "st-2", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	err = Main(context.Background(), Env{Args: []string{"-data-dir", dir, "-registry", "remote", "-registry-url", reg.URL,
		"-registry-ca-fingerprint", strings.Repeat("ab", 32), "-enrol-code", code, "enrol"}, Stdout: io.Discard, Stderr: io.Discard})
	if !errors.Is(err, enrol.ErrFingerprint) {
		t.Fatalf("err = %v, want ErrFingerprint", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "station", "station.pem")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a certificate was stored after a refused enrolment: %v", err)
	}
}

// adminPost posts form to the embedded registry's console (development
// mode: loopback, no login, but a session's CSRF token in every POST), as
// its page's forms do.
func adminPost(t *testing.T, admin, path string, form url.Values) {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Jar: jar}
	resp, err := hc.Get(admin + "/admin/api/session")
	if err != nil {
		t.Fatal(err)
	}
	var sess struct{ CSRF string }
	err = json.NewDecoder(resp.Body).Decode(&sess)
	resp.Body.Close()
	if err != nil || sess.CSRF == "" {
		t.Fatalf("console session: %v (%s)", err, resp.Status)
	}
	form.Set("csrf", sess.CSRF)
	resp, err = hc.PostForm(admin+path, form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		t.Fatalf("console %s: %s", path, resp.Status)
	}
}

// TestEmbeddedRegistryLookupOfAPersonFromElsewhere: on `make run`, a
// person whose reserve card was issued at another station is not in the
// station's data; looking them up at the counter asks the embedded
// registry over mutual TLS, shows the card and refuses by RC-4 at the
// look-up, and the registry's audit page lists the look-up for the
// operator logged in, without the personal number.
func TestEmbeddedRegistryLookupOfAPersonFromElsewhere(t *testing.T) {
	r := start(t, "-sync-interval", "1h")
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(r.logs.String())
		}
	})
	conn, _, err := r.dial(t, "http://127.0.0.1:0", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	readEnvelope(t, conn)
	w := &wsClient{t: t, c: conn}
	s := w.waitStatus("the first sync", func(s syncSnapshot) bool { return !s.Sync.LastSuccess.IsZero() })
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(r.dataDir, "station.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var held int
	db.QueryRow(`SELECT count(*) FROM ref_person_facts WHERE personal_number = ?`, DevElsewherePerson).Scan(&held)
	if held != 0 {
		t.Fatal("the station pulled the facts of a person who is not its own")
	}
	w.must("dev.card.insert", map[string]string{"reader": "Simulated Reader 00", "serial": "9752269900000000011"})
	waitState(t, w, "pin")
	w.must("session.pin", map[string]string{"pin": "1234"})
	w.must("flow.start", map[string]string{"kind": "issue"})
	w.step("reason", map[string]string{"reason": "forgotten"})
	if _, p := w.request("flow.step", map[string]any{"step": "find", "data": map[string]string{"query": DevElsewherePerson}}); p == nil {
		t.Fatal("the look-up of a person with a reserve card elsewhere was not refused")
	}
	view := string(w.must("session.get", nil))
	for _, want := range []string{`"registry":"found"`, "9752269900000000858", `"step":"recipient"`} {
		if !strings.Contains(view, want) {
			t.Errorf("the look-up's view lacks %s: %s", want, view)
		}
	}
	if !strings.Contains(view, "RC-4") && !strings.Contains(view, "reserv") {
		t.Errorf("no RC-4 refusal in the view: %s", view)
	}
	db.QueryRow(`SELECT count(*) FROM ref_person_facts WHERE personal_number = ?`, DevElsewherePerson).Scan(&held)
	if held != 0 {
		t.Error("the looked-up facts were stored at the station")
	}
	admin := strings.TrimSuffix(s.Sync.AdminURL, "/admin")
	res, err := http.Get(admin + "/admin/audit")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	page := string(b)
	if !strings.Contains(page, "Personslagningar från stationer") || !strings.Contains(page, "SE2321000131-P000000000011") || !strings.Contains(page, "hittad") {
		t.Errorf("the console's audit page does not list the look-up: %d", res.StatusCode)
	}
	if strings.Contains(page, DevElsewherePerson) || strings.Contains(page, DevElsewherePerson[2:]) {
		t.Error("the audit page shows the personal number")
	}
}
