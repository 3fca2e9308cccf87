package counter

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kortstation/kortstation/kiosk/bus"
	"github.com/kortstation/kortstation/kiosk/devseed"
)

// The attacks on the session's trust decisions: who holds the session,
// who may send PINs, what a resume secret is worth, what a locked or a
// production station serves. Each test plays the attacker and checks the
// station held; noLeaks checks that nothing personal reached the log.

// Distinctive wrong PINs the attackers send: easy to find in a log.
const attackerPIN = "86420"

func keyOf(err error) string {
	var r *Refusal
	if errors.As(err, &r) && len(r.Messages) > 0 {
		return r.Messages[0].Key
	}
	return ""
}

// loginAs logs the operator in from client and returns the resume secret.
func (c *counter) loginAs(client string) string {
	c.t.Helper()
	c.insert(0, "9752269900000000011")
	c.waitView(func(v View) bool { return v.State == StatePIN })
	raw, err := c.callAs(client, "session.pin", map[string]string{"pin": "1234"})
	if err != nil {
		c.t.Fatalf("login as %s: %v", client, err)
	}
	return resumeOf(c.t, raw)
}

func resumeOf(t testing.TB, raw json.RawMessage) string {
	t.Helper()
	var reply struct {
		Resume string `json:"resume"`
	}
	if err := json.Unmarshal(raw, &reply); err != nil || len(reply.Resume) < 20 {
		t.Fatalf("reply %s: want a resume secret", raw)
	}
	return reply.Resume
}

// restart stops the counter and starts a new one on the same store and
// hardware: kioskd restarted.
func (c *counter) restart() {
	c.t.Helper()
	c.stop()
	log := slog.New(slog.NewTextHandler(c.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	d := c.deps
	d.Bus, d.Log = bus.New(), log
	c.m = New(d, c.opts)
	c.run()
	c.waitView(func(View) bool { return len(c.reader.Readers()) == 2 })
}

func (c *counter) auditCount(kind, actor string) int {
	var n int
	c.st.Reader().QueryRow(`SELECT count(*) FROM audit_log WHERE kind = ? AND actor = ?`, kind, actor).Scan(&n)
	return n
}

// noLeaks fails if the log holds a personal number, a name or a PIN the
// test used.
func (c *counter) noLeaks() {
	c.t.Helper()
	logs := c.logs.String()
	for _, needle := range []string{devseed.Lost, strings.ReplaceAll(devseed.Lost, "-", "")[2:], "Eva Ek", "Test Operatör", attackerPIN} {
		if strings.Contains(logs, needle) {
			c.t.Errorf("log holds %q", needle)
		}
	}
}

// TestResumeSecretReplay plays a copy of the resume secret (read from the
// kiosk tab, or sniffed from a reply) replayed later: once it was used,
// after the session ended in each way, after a restart, and mangled.
// Only the one connection that presents the current secret of the
// current session takes it.
func TestResumeSecretReplay(t *testing.T) {
	for _, tc := range []struct {
		name string
		// between runs between the login and the replay; it returns who
		// holds the session after it ("" for nobody).
		between func(c *counter, secret string) (owner string)
		// replay is what the attacker presents.
		replay  func(secret string) string
		wantKey string
	}{
		{
			name: "after the kiosk reloaded with it",
			between: func(c *counter, secret string) string {
				raw, err := c.callAs("reloaded", "session.resume", map[string]string{"secret": secret})
				if err != nil {
					c.t.Fatalf("the kiosk's own resume: %v", err)
				}
				if next := resumeOf(c.t, raw); next == secret {
					c.t.Fatal("resume handed back the same secret")
				}
				return "reloaded"
			},
			wantKey: "elsewhere",
		},
		{
			name: "after logout",
			between: func(c *counter, _ string) string {
				if _, err := c.callAs("test", "session.logout", nil); err != nil {
					c.t.Fatal(err)
				}
				return ""
			},
			wantKey: "locked",
		},
		{
			name: "after the card was removed",
			between: func(c *counter, _ string) string {
				c.remove(0)
				c.waitView(func(v View) bool { return v.State == StateLocked })
				return ""
			},
			wantKey: "locked",
		},
		{
			name: "after the idle lock",
			between: func(c *counter, _ string) string {
				c.clock.Advance(2 * time.Minute)
				c.waitView(func(v View) bool { return v.State == StateLocked && v.Notice != nil && v.Notice.Key == "idle" })
				return ""
			},
			wantKey: "locked",
		},
		{
			name: "after the idle lock and a new login",
			between: func(c *counter, _ string) string {
				c.clock.Advance(2 * time.Minute)
				c.waitView(func(v View) bool { return v.State == StateLocked && v.Notice != nil && v.Notice.Key == "idle" })
				c.remove(0)
				c.loginAs("test")
				return "test"
			},
			wantKey: "elsewhere",
		},
		{
			name: "after a restart",
			between: func(c *counter, _ string) string {
				c.restart()
				return ""
			},
			wantKey: "locked",
		},
		{
			name: "after a restart and a new login",
			between: func(c *counter, _ string) string {
				c.restart()
				c.remove(0)
				c.waitView(func(v View) bool { return v.State == StateLocked && v.Login == nil })
				c.loginAs("test")
				return "test"
			},
			wantKey: "elsewhere",
		},
		{name: "empty", replay: func(string) string { return "" }, wantKey: "elsewhere"},
		{name: "lower-cased", replay: strings.ToLower, wantKey: "elsewhere"},
		{name: "with a suffix", replay: func(s string) string { return s + "A" }, wantKey: "elsewhere"},
		{name: "truncated", replay: func(s string) string { return s[:len(s)-1] }, wantKey: "elsewhere"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCounter(t)
			c.t = t
			secret := c.loginAs("test")
			owner := "test"
			if tc.between != nil {
				owner = tc.between(c, secret)
			}
			replayed := secret
			if tc.replay != nil {
				replayed = tc.replay(secret)
			}
			_, err := c.callAs("mallory", "session.resume", map[string]string{"secret": replayed})
			if keyOf(err) != tc.wantKey {
				t.Fatalf("replayed secret: got %v, want refused as %s", err, tc.wantKey)
			}
			if v := c.viewAs("mallory"); v.Operator != nil || v.State == StateReady {
				t.Fatalf("the replaying connection sees the session: %+v", v)
			}
			if owner != "" {
				if v := c.viewAs(owner); v.State != StateReady {
					t.Fatalf("the session's connection %s lost it to a replay: %+v", owner, v)
				}
				if n := c.auditCount("session.resume_refused", "ui:mallory"); n != 1 {
					t.Errorf("audited refused resumes = %d, want 1", n)
				}
			}
			c.noLeaks()
		})
	}
}

// TestPINRaceOnlyTheFirstConnectionReachesTheCard: several connections
// send PINs for one waiting login at the same instant. One claims the
// login; every other PIN is refused before the card, so the card loses at
// most one attempt, and the others see nothing of the login.
func TestPINRaceOnlyTheFirstConnectionReachesTheCard(t *testing.T) {
	c := newCounter(t)
	c.insert(0, "9752269900000000011")
	c.waitView(func(v View) bool { return v.State == StatePIN })

	const racers = 8
	var wg sync.WaitGroup
	start := make(chan struct{})
	keys := make([]string, racers)
	for i := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			b, _ := json.Marshal(map[string]string{"pin": attackerPIN})
			_, err := c.m.Handle(context.Background(), "racer-"+string(rune('a'+i)), "session.pin", b)
			keys[i] = keyOf(err)
		}()
	}
	close(start)
	wg.Wait()
	var winner string
	wrong, elsewhere := 0, 0
	for i, k := range keys {
		switch k {
		case "pin_wrong":
			wrong++
			winner = "racer-" + string(rune('a'+i))
		case "elsewhere":
			elsewhere++
		default:
			t.Errorf("racer %d: %q", i, k)
		}
	}
	if wrong != 1 || elsewhere != racers-1 {
		t.Fatalf("PINs that reached the card: %d, refused: %d; want 1 and %d", wrong, elsewhere, racers-1)
	}
	if v := c.viewAs(winner); v.State != StatePIN || v.Login == nil || v.Login.Retries != 2 {
		t.Fatalf("the claiming connection's view %+v, want the PIN step with 2 attempts left", v.Login)
	}
	for i := range racers {
		if id := "racer-" + string(rune('a'+i)); id != winner {
			if v := c.viewAs(id); v.State != StateElsewhere || v.Login != nil {
				t.Errorf("%s sees the claimed login: %+v", id, v)
			}
		}
	}
	var audited int
	c.st.Reader().QueryRow(`SELECT count(*) FROM audit_log WHERE kind = 'session.pin_refused' AND actor LIKE 'ui:racer-%'`).Scan(&audited)
	if audited != racers-1 {
		t.Errorf("audited refused PINs = %d, want %d", audited, racers-1)
	}
	c.noLeaks()
}

// TestOtherConnectionsCannotHoldAnIdleSessionOpen: the operator walks away
// from a flow with personal data on the screen. A second connection's
// refused requests (wrong resume secrets, PINs, reads) must not count as
// the operator's activity: the idle lock still ends the session.
func TestOtherConnectionsCannotHoldAnIdleSessionOpen(t *testing.T) {
	c := newCounter(t)
	c.loginAs("test")
	c.issueUpToCard(devseed.Lost)
	for range 3 {
		c.clock.Advance(25 * time.Second)
		c.callAs("mallory", "session.resume", map[string]string{"secret": "guess"})
		c.callAs("mallory", "session.pin", map[string]string{"pin": attackerPIN})
		c.callAs("mallory", "session.touch", nil)
		c.callAs("mallory", "session.get", nil)
		c.callAs("mallory", "status.get", nil)
	}
	v := c.waitView(func(v View) bool { return v.State == StateLocked })
	if v.Flow != nil || v.Notice == nil || v.Notice.Key != "idle" {
		t.Fatalf("view after the idle timeout: %+v, want locked for idleness with no flow", v)
	}
	c.noLeaks()
}

// fakeDev is a dev panel that records what reached it.
type fakeDev struct {
	mu    sync.Mutex
	calls []string
}

func (f *fakeDev) record(s string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, s)
	return nil
}
func (f *fakeDev) Cards() any                           { f.record("cards"); return nil }
func (f *fakeDev) InsertCard(string, string) error      { return f.record("insert") }
func (f *fakeDev) RemoveCard(string) error              { return f.record("remove") }
func (f *fakeDev) Drawer(DrawerAction) error            { return f.record("drawer") }
func (f *fakeDev) Printer(PrinterCondition, bool) error { return f.record("printer") }
func (f *fakeDev) count() int                           { f.mu.Lock(); defer f.mu.Unlock(); return len(f.calls) }

// simRoutes returns the dev panel's request types and all the others.
func (c *counter) simRoutes() (with, without []string) {
	for typ, r := range c.m.routes {
		if r.access == simulation {
			with = append(with, typ)
		} else {
			without = append(without, typ)
		}
	}
	sort.Strings(with)
	sort.Strings(without)
	return with, without
}

// TestDevRequestsOnlyInSimulation: on a production configuration the dev
// panel's requests (put a card in, open the drawer, take the printer
// offline) are unknown requests, whoever sends them, even with a dev panel
// wired in by mistake; in simulation they reach the panel.
func TestDevRequestsOnlyInSimulation(t *testing.T) {
	c := newCounter(t)
	devRoutes, _ := c.simRoutes()
	if len(devRoutes) < 10 || !strings.HasPrefix(devRoutes[0], "dev.") {
		t.Fatalf("dev routes %v", devRoutes)
	}
	payload := json.RawMessage(`{"reader":"Simulated Reader 00","serial":"9752269900000000011","on":true}`)
	for _, tc := range []struct {
		name       string
		simulation bool
		dev        bool
		wantServed bool
	}{
		{"production with a dev panel wired in", false, true, false},
		{"production", false, false, false},
		{"simulation without a dev panel", true, false, false},
		{"simulation", true, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fd := &fakeDev{}
			var dev DevPanel
			if tc.dev {
				dev = fd
			}
			m := New(Deps{Store: c.st, Bus: bus.New(), Clock: c.clock, Log: slog.New(slog.NewTextHandler(c.logs, nil)), Dev: dev},
				Options{Simulation: tc.simulation})
			for _, typ := range devRoutes {
				_, err := m.Handle(context.Background(), "kiosk", typ, payload)
				if tc.wantServed && err != nil {
					t.Errorf("%s in simulation: %v", typ, err)
				}
				if !tc.wantServed && keyOf(err) != "unknown_request" {
					t.Errorf("%s: got %v, want unknown_request", typ, err)
				}
			}
			if served := fd.count(); tc.wantServed != (served == len(devRoutes)) || (!tc.wantServed && served != 0) {
				t.Errorf("dev panel calls = %d (want %v for all %d)", served, tc.wantServed, len(devRoutes))
			}
		})
	}
}

// TestRemoteLockRefusesEverythingButStatus: a central admin locked the
// station while an operator is in a flow. Every request but the status
// and "sync now" is refused with station_locked — from the session's own
// connection and from any other — and nothing moves. The list of requests
// a locked station serves is pinned here, so a new route has to choose.
func TestRemoteLockRefusesEverythingButStatus(t *testing.T) {
	c := newCounter(t)
	secret := c.loginAs("test")
	c.issueUpToCard(devseed.Lost)
	if err := c.m.SetRemoteLock(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	before := c.viewAs("test")
	served := map[string]bool{"status.get": true, "session.get": true, "sync.now": true}
	devRoutes, others := c.simRoutes()
	payloads := map[string]any{
		"session.pin":    map[string]string{"pin": "1234"},
		"session.resume": map[string]string{"secret": secret},
		"flow.start":     map[string]Kind{"kind": KindStatus},
		"flow.step":      map[string]any{"step": "close"},
	}
	for _, client := range []string{"test", "mallory"} {
		for _, typ := range others {
			b, _ := json.Marshal(payloads[typ])
			_, err := c.m.Handle(context.Background(), client, typ, b)
			switch locked := keyOf(err) == "station_locked"; {
			case served[typ] && locked:
				t.Errorf("%s from %s refused while locked; the status must stay readable", typ, client)
			case !served[typ] && !locked:
				t.Errorf("%s from %s while locked: got %v, want station_locked", typ, client, err)
			}
		}
		for _, typ := range devRoutes {
			// No dev panel here: unknown; with one (simulation), the dev
			// panel drives the hardware, which the lock does not own.
			if _, err := c.m.Handle(context.Background(), client, typ, nil); keyOf(err) != "unknown_request" {
				t.Errorf("%s without a dev panel: %v", typ, err)
			}
		}
	}
	after := c.viewAs("test")
	if after.State != StateReady || after.Flow == nil || after.Flow.Step != before.Flow.Step || c.viewAs("mallory").State != StateElsewhere {
		t.Fatalf("a request moved the locked station: before %+v, after %+v", before.Flow, after.Flow)
	}
	c.noLeaks()
}

// TestMalformedRequestsSpendNoPINAttemptAndMoveNothing: PINs that are not
// 4 to 8 ASCII digits in every shape JSON allows, and flow steps that do
// not parse: refused, no attempt spent on the card, no session, the flow
// where it was.
func TestMalformedRequestsSpendNoPINAttemptAndMoveNothing(t *testing.T) {
	c := newCounter(t)
	c.insert(0, "9752269900000000011")
	c.waitView(func(v View) bool { return v.State == StatePIN })
	for _, p := range []string{
		``, `{}`, `null`, `[]`, `"1234"`, `{not json`, `{"pin":null}`, `{"pin":true}`, `{"pin":{"pin":"1234"}}`,
		`{"pin":["1","2","3","4"]}`, `{"pin":"123"}`, `{"pin":"123456789"}`, `{"pin":123456789}`,
		`{"pin":"\u0031\u0032\u0033\u0034"}`, `{"pin":"12 34"}`, `{"pin":"１２３４"}`, `{"pin":"1234\u0000"}`,
		`{"pin":"-1234"}`, `{"pin":1.234e3}`, `{"pin":"` + strings.Repeat("9", 100000) + `"}`,
	} {
		_, err := c.m.Handle(context.Background(), "test", "session.pin", json.RawMessage(p))
		if err == nil {
			t.Fatalf("PIN payload %.40q accepted", p)
		}
		if k := keyOf(err); k != "pin_format" && k != "malformed" {
			t.Errorf("PIN payload %.40q: %v, want pin_format or malformed", p, err)
		}
	}
	if v := c.viewAs("test"); v.State != StatePIN || v.Login == nil || v.Login.Retries != 3 {
		t.Fatalf("after malformed PINs: %+v, want the PIN step with 3 attempts left", v.Login)
	}
	if _, ok := c.m.Operator(); ok {
		t.Fatal("a malformed PIN logged in")
	}

	if err := c.call("session.pin", map[string]string{"pin": "1234"}); err != nil {
		t.Fatal(err)
	}
	c.issueUpToCard(devseed.Lost)
	before := c.viewAs("test")
	for _, tc := range []struct{ typ, payload string }{
		{"flow.step", `{"step":"recipient","data":"19121212-1212"}`},
		{"flow.step", `{"step":["close"]}`},
		{"flow.step", `[{"step":"close"}]`},
		{"flow.step", `{"step":"no-such-step"}`},
		{"flow.step", `{"step":"card","data":{"serial":{"$ne":""}}}`},
		{"flow.start", `{"kind":"issue\u0000"}`},
		{"flow.start", `{"kind":["issue"]}`},
		{"session.resume", `{"secret":["a","b"]}`},
	} {
		if _, err := c.m.Handle(context.Background(), "test", tc.typ, json.RawMessage(tc.payload)); err == nil {
			t.Errorf("%s %s accepted", tc.typ, tc.payload)
		}
	}
	after := c.viewAs("test")
	if after.State != StateReady || after.Flow == nil || after.Flow.Kind != before.Flow.Kind || after.Flow.Step != before.Flow.Step {
		t.Fatalf("malformed requests moved the flow: before %+v, after %+v", before.Flow, after.Flow)
	}
	c.noLeaks()
}
