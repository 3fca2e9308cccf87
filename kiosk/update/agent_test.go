package update_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/kortstation/kortstation/kiosk/clock"
	"github.com/kortstation/kortstation/kiosk/store"
	"github.com/kortstation/kortstation/kiosk/update"
	"github.com/kortstation/kortstation/kiosk/update/window"
	"github.com/kortstation/kortstation/sync/client/rollout"
	"github.com/kortstation/kortstation/sync/client/rollout/rollouttest"
	"github.com/kortstation/kortstation/sync/protocol"
	"github.com/kortstation/kortstation/sync/registrytest"
)

func TestMain(m *testing.M) { registrytest.Main(m) }

// testClock is a settable clock safe for concurrent use.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Source() string  { return clock.SourceFixed }
func (c *testClock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// counterState stands in for the counter's hold (HoldForUpdate is tested
// on the real counter in kiosk/counter): busy says why it is not quiet.
type counterState struct {
	mu    sync.Mutex
	busy  error
	held  bool
	holds int
	// onHold runs as the hold is asked for: what happened at the counter
	// just before it (a session ending with a record).
	onHold func()
}

func (c *counterState) HoldForUpdate(string) (func(), error) {
	if c.onHold != nil {
		c.onHold()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.busy != nil {
		return nil, c.busy
	}
	if c.held {
		return nil, errors.New("held")
	}
	c.held = true
	c.holds++
	return func() { c.mu.Lock(); c.held = false; c.mu.Unlock() }, nil
}

type agentEnv struct {
	up      *rollouttest.Registry
	st      *store.Store
	clk     *testClock
	ctr     *counterState
	agent   *update.Agent
	spool   string
	dataDir string
}

// night is 02:00 in Stockholm, inside the default window.
var night = time.Date(2026, 12, 1, 1, 0, 0, 0, time.UTC)

// newAgent runs the real registry over real mutual TLS with the update
// endpoints answered by rollouttest (so that the test can count what the
// agent asks for; e2e_test.go runs against the registry's own endpoints)
// and an agent with the real spool installer.
func newAgent(t *testing.T) *agentEnv {
	t.Helper()
	reg := registrytest.New(t, t.TempDir())
	e := &agentEnv{up: rollouttest.New(), clk: &testClock{t: night}, ctr: &counterState{}, dataDir: t.TempDir()}
	reg.Wrap = e.up.Wrap
	reg.Serve(t)
	if err := reg.Server.Seed(context.Background(), "ST-1"); err != nil {
		t.Fatal(err)
	}
	client, err := rollout.New(rollout.Config{Identity: reg.Identity(t, "ST-1")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.Close)
	e.st, err = store.Open(context.Background(), filepath.Join(e.dataDir, "station.db"), store.Options{Logger: registrytest.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.st.Close() })
	e.spool = filepath.Join(e.dataDir, "update-spool")
	if err := os.MkdirAll(e.spool, 0o755); err != nil {
		t.Fatal(err)
	}
	win, err := window.Parse("01:00-05:00", "Europe/Stockholm")
	if err != nil {
		t.Fatal(err)
	}
	e.agent, err = update.NewAgent(update.AgentConfig{
		Registry: client, Installer: update.Spool{Dir: e.spool}, Counter: e.ctr, Store: e.st, Clock: e.clk,
		Log: registrytest.Logger(t), StationID: "ST-1", Version: "1.0.0", Slot: "A",
		Dir: filepath.Join(e.dataDir, "update"), OutcomeFile: filepath.Join(e.dataDir, "update-result"), Window: win,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.agent.Close)
	return e
}

func (e *agentEnv) once(t *testing.T) {
	t.Helper()
	if err := e.agent.Once(context.Background()); err != nil {
		t.Fatalf("Once: %v", err)
	}
}

func (e *agentEnv) spooled() []byte {
	b, _ := os.ReadFile(filepath.Join(e.spool, update.SpoolName))
	return b
}

func (e *agentEnv) state(t *testing.T) protocol.UpdateState {
	t.Helper()
	s, err := update.ReadState(context.Background(), e.st)
	if err != nil || s == nil {
		t.Fatalf("state: %v, %v", s, err)
	}
	return *s
}

func (e *agentEnv) results(t *testing.T) []protocol.UpdateResultPayload {
	t.Helper()
	evs, err := e.st.PendingEvents(context.Background(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []protocol.UpdateResultPayload
	for _, ev := range evs {
		if ev.Kind == protocol.KindUpdateResult {
			var p protocol.UpdateResultPayload
			if err := json.Unmarshal(ev.Payload, &p); err != nil {
				t.Fatal(err)
			}
			out = append(out, p)
		}
	}
	return out
}

func randomBundle(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// The agent downloads what is offered, waits for the quiet window and a
// quiet counter, then spools the verified bundle for root's installer.
func TestAgentDownloadsAndSpoolsInQuietWindow(t *testing.T) {
	e := newAgent(t)
	e.once(t)
	if len(e.up.Checks()) != 1 || e.up.Checks()[0].Slot != "A" || e.up.Checks()[0].Version != "1.0.0" {
		t.Fatalf("checks %+v", e.up.Checks())
	}
	b := randomBundle(t, 200<<10)
	e.up.Release("1.1.0", b)

	// Midday: downloaded, not spooled.
	e.clk.Set(time.Date(2026, 12, 1, 11, 0, 0, 0, time.UTC))
	e.once(t)
	if s := e.state(t); s.State != protocol.UpdateDownloaded || s.Version != "1.1.0" {
		t.Errorf("state %+v, want downloaded 1.1.0", s)
	}
	if e.spooled() != nil {
		t.Fatal("spooled outside the install window")
	}
	// Night, but an operator is at the counter: still nothing.
	e.clk.Set(night)
	e.ctr.busy = errors.New("an operator is logged in")
	e.once(t)
	if e.spooled() != nil {
		t.Fatal("spooled during an operator session")
	}
	// Night, an issuance not yet at the registry: nothing.
	e.ctr.busy = nil
	err := e.st.Update(context.Background(), e.clk, func(tx *store.Tx) error {
		_, err := tx.Enqueue(context.Background(), protocol.IssuancePayload{IssuanceID: "iss-1", CardSerial: "RK-1"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	e.once(t)
	if e.spooled() != nil {
		t.Fatal("spooled with an issuance in the outbox")
	}
	evs, _ := e.st.PendingEvents(context.Background(), 0, 10)
	if err := e.st.Update(context.Background(), e.clk, func(tx *store.Tx) error { return tx.Ack(context.Background(), e.clk.Now(), evs[0].Seq) }); err != nil {
		t.Fatal(err)
	}
	// Quiet: spooled, the counter held, the download directory empty.
	e.once(t)
	if !bytes.Equal(e.spooled(), b) {
		t.Fatal("the bundle is not in the spool")
	}
	if s := e.state(t); s.State != protocol.UpdateInstalling {
		t.Errorf("state %+v, want installing", s)
	}
	if !e.ctr.held {
		t.Error("the counter is not held while the installer runs")
	}
	ents, _ := os.ReadDir(filepath.Join(e.dataDir, "update"))
	if len(ents) != 0 {
		t.Errorf("download directory holds %d files", len(ents))
	}
	// The same offer is not handed over twice.
	if err := os.Remove(filepath.Join(e.spool, update.SpoolName)); err != nil {
		t.Fatal(err)
	}
	n := len(e.up.Offsets())
	e.once(t)
	if e.spooled() != nil || len(e.up.Offsets()) != n {
		t.Error("an offer already handed over was fetched or spooled again")
	}

	// The installer refuses it (signature): its outcome is recorded once,
	// with the version the agent handed over, and the counter opens.
	writeOutcome(t, filepath.Join(e.dataDir, "update-result"), "result=install_error\nreason=rauc refused the bundle\nat=2026-12-01T01:05:00Z\n")
	e.once(t)
	e.once(t)
	res := e.results(t)
	if len(res) != 1 || res[0].Result != protocol.UpdateInstallError || res[0].Version != "1.1.0" {
		t.Errorf("update results %+v, want one install_error for 1.1.0", res)
	}
	if e.ctr.held {
		t.Error("the counter is still held after the installer refused")
	}
}

// Attacker's side: a bundle whose bytes are not the offer's is refused,
// reported once and not fetched again soon; nothing reaches the spool.
func TestAgentRefusesTamperedBundle(t *testing.T) {
	e := newAgent(t)
	b := randomBundle(t, 64<<10)
	e.up.Release("2.0.0", b)
	bad := append([]byte(nil), b...)
	bad[100] ^= 0xff
	e.up.Tamper("2.0.0", bad)
	if err := e.agent.Once(context.Background()); err != nil {
		t.Fatalf("a refused download is recorded, not an error of the attempt: %v", err)
	}
	if e.spooled() != nil {
		t.Fatal("a tampered bundle reached the spool")
	}
	if s := e.state(t); s.State != protocol.UpdateDownloadError {
		t.Errorf("state %+v, want download_error", s)
	}
	n := len(e.up.Offsets())
	e.once(t)
	if len(e.up.Offsets()) != n {
		t.Error("a refused bundle was fetched again at once")
	}
	if res := e.results(t); len(res) != 1 || res[0].Result != protocol.UpdateDownloadError || res[0].Version != "2.0.0" {
		t.Errorf("results %+v, want one download_error", res)
	}
	// A bundle altered on disk after its download is not spooled: it is
	// fetched again, and only the offer's bytes reach the spool.
	e.up.Tamper("2.0.0", b)
	e.clk.Set(night.Add(7 * time.Hour)) // past the retry wait, outside the window
	e.once(t)
	path := filepath.Join(e.dataDir, "update", "kortstation-2.0.0.raucb")
	if err := os.WriteFile(path, bad, 0o600); err != nil {
		t.Fatal(err)
	}
	e.clk.Set(night.Add(24 * time.Hour))
	e.once(t)
	if !bytes.Equal(e.spooled(), b) {
		t.Fatal("the spool does not hold the offered bytes")
	}
}

// The committed outcome kortstation-health leaves is recorded exactly once
// (kioskd serving and `kioskd health` may both read it).
func TestOutcomeRecordedOnce(t *testing.T) {
	e := newAgent(t)
	p := filepath.Join(e.dataDir, "update-result")
	content := "result=committed\nslot=B\nversion=1.1.0\nreason=health check passed\nat=2026-12-01T01:10:00Z\n"
	writeOutcome(t, p, content)
	e.once(t)
	// The file back again (its removal lost in a crash): not recorded twice.
	writeOutcome(t, p, content)
	if _, ok, err := update.RecordOutcome(context.Background(), e.st, e.clk, "ST-1", p, ""); err != nil || ok {
		t.Errorf("second read: recorded %v, %v; want not again", ok, err)
	}
	res := e.results(t)
	if len(res) != 1 || res[0].Result != protocol.UpdateCommitted || res[0].Slot != "B" || !res[0].At.Equal(time.Date(2026, 12, 1, 1, 10, 0, 0, time.UTC)) {
		t.Errorf("results %+v, want one committed slot B", res)
	}
	if s := e.state(t); s.State != protocol.UpdateCommitted || s.Version != "1.1.0" {
		t.Errorf("state %+v", s)
	}
}

func writeOutcome(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestAgentRechecksOutboxUnderTheHold: the outbox is looked at before
// the counter is held; an operator who finishes an issuance and logs out
// between that look and the hold leaves a record not yet at the registry.
// The agent looks again once it holds the counter (no new record can
// come then) and hands nothing over while one waits.
func TestAgentRechecksOutboxUnderTheHold(t *testing.T) {
	e := newAgent(t)
	b := randomBundle(t, 64<<10)
	e.up.Release("1.1.0", b)
	e.ctr.onHold = func() {
		err := e.st.Update(context.Background(), e.clk, func(tx *store.Tx) error {
			_, err := tx.Enqueue(context.Background(), protocol.IssuancePayload{IssuanceID: "iss-late", CardSerial: "RK-9"})
			return err
		})
		if err != nil {
			t.Error(err)
		}
	}
	e.once(t)
	if e.spooled() != nil {
		t.Fatal("spooled with an issuance that reached the outbox just before the hold")
	}
	if e.ctr.held {
		t.Error("the counter is still held after the install was put off")
	}
	e.ctr.onHold = nil
	evs, _ := e.st.PendingEvents(context.Background(), 0, 10)
	for _, ev := range evs {
		if err := e.st.Update(context.Background(), e.clk, func(tx *store.Tx) error { return tx.Ack(context.Background(), e.clk.Now(), ev.Seq) }); err != nil {
			t.Fatal(err)
		}
	}
	e.once(t)
	if !bytes.Equal(e.spooled(), b) {
		t.Fatal("not spooled once the record reached the registry")
	}
}
