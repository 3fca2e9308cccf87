package update_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kortstation/kortstation/kiosk/store"
	"github.com/kortstation/kortstation/kiosk/update"
	"github.com/kortstation/kortstation/kiosk/update/window"
	"github.com/kortstation/kortstation/sync/client/reconcile"
	"github.com/kortstation/kortstation/sync/client/rollout"
	"github.com/kortstation/kortstation/sync/protocol"
	"github.com/kortstation/kortstation/sync/registry"
	"github.com/kortstation/kortstation/sync/registrytest"
)

// realStation is a station with its store, its update agent and its sync
// client, against the real registry over real mutual TLS.
type realStation struct {
	reg     *registrytest.Registry
	st      *store.Store
	clk     *testClock
	ctr     *counterState
	agent   *update.Agent
	sync    *reconcile.Client
	spool   string
	dataDir string
}

func newRealStation(t *testing.T, version string) *realStation {
	t.Helper()
	ctx := context.Background()
	s := &realStation{reg: registrytest.Start(t), clk: &testClock{t: night}, ctr: &counterState{}, dataDir: t.TempDir()}
	if err := s.reg.Server.Seed(ctx, "ST-1"); err != nil {
		t.Fatal(err)
	}
	id := s.reg.Identity(t, "ST-1")
	client, err := rollout.New(rollout.Config{Identity: id})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.Close)
	s.st, err = store.Open(ctx, filepath.Join(s.dataDir, "station.db"), store.Options{Logger: registrytest.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.st.Close() })
	s.sync, err = reconcile.New(reconcile.Config{Identity: id, Version: version, RequestTimeout: 10 * time.Second}, s.st, s.clk, registrytest.Logger(t),
		func(ctx context.Context) protocol.StationStatus {
			u, _ := update.ReadState(ctx, s.st)
			return protocol.StationStatus{Slot: "A", Update: u}
		})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.sync.Close)
	s.spool = filepath.Join(s.dataDir, "update-spool")
	if err := os.MkdirAll(s.spool, 0o755); err != nil {
		t.Fatal(err)
	}
	win, err := window.Parse("01:00-05:00", "Europe/Stockholm")
	if err != nil {
		t.Fatal(err)
	}
	s.agent, err = update.NewAgent(update.AgentConfig{
		Registry: client, Installer: update.Spool{Dir: s.spool}, Counter: s.ctr, Store: s.st, Clock: s.clk,
		Log: registrytest.Logger(t), StationID: "ST-1", Version: version, Slot: "A",
		Dir: filepath.Join(s.dataDir, "update"), OutcomeFile: filepath.Join(s.dataDir, "update-result"), Window: win,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.agent.Close)
	return s
}

func (s *realStation) once(t *testing.T) {
	t.Helper()
	if err := s.agent.Once(context.Background()); err != nil {
		t.Fatalf("agent: %v", err)
	}
}

func (s *realStation) syncOnce(t *testing.T) {
	t.Helper()
	if err := s.sync.Once(context.Background()); err != nil {
		t.Fatalf("sync: %v", err)
	}
}

func (s *realStation) spooled() []byte {
	b, _ := os.ReadFile(filepath.Join(s.spool, update.SpoolName))
	return b
}

// release adds a bundle to the registry as version and makes it the
// pilot group's target, with ST-1 in the pilot group.
func (s *realStation) release(t *testing.T, version string, b []byte) registry.Release {
	t.Helper()
	ctx := context.Background()
	rel, err := s.reg.Server.AddRelease(ctx, version, bytes.NewReader(b), "release-owner")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.reg.Server.SetStationGroup(ctx, "ST-1", registry.GroupPilot); err != nil {
		t.Fatal(err)
	}
	if err := s.reg.Server.SetGroupTarget(ctx, registry.GroupPilot, version, "station-manager"); err != nil {
		t.Fatal(err)
	}
	return rel
}

// TestEndToEndRollout: the registry (the real one, over mutual TLS) has a
// release for the station's group; the agent downloads it, checks it,
// waits outside the quiet window and during an operator session, then
// spools it for root; the committed outcome reaches the registry once.
func TestEndToEndRollout(t *testing.T) {
	ctx := context.Background()
	s := newRealStation(t, "1.0.0")
	b := randomBundle(t, 300<<10)
	s.release(t, "1.1.0", b)

	// Outside the window: downloaded and checked, nothing spooled.
	s.clk.Set(time.Date(2026, 12, 1, 14, 0, 0, 0, time.UTC))
	s.once(t)
	if s.spooled() != nil {
		t.Fatal("spooled outside the quiet window")
	}
	got, err := os.ReadFile(filepath.Join(s.dataDir, "update", "kortstation-1.1.0.raucb"))
	if err != nil || !bytes.Equal(got, b) {
		t.Fatalf("downloaded bundle: %d bytes, %v", len(got), err)
	}
	// The registry sees the state in the next pull's status.
	s.syncOnce(t)
	ups, err := s.reg.Server.StationUpdates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if u := ups["ST-1"]; u.State != protocol.UpdateDownloaded || u.StateVersion != "1.1.0" || u.Slot != "A" {
		t.Errorf("registry's view of ST-1: %+v, want downloaded 1.1.0 in slot A", u)
	}

	// In the window, during an operator session: nothing spooled.
	s.clk.Set(night)
	s.ctr.busy = errors.New("an operator is logged in")
	s.once(t)
	if s.spooled() != nil {
		t.Fatal("spooled during an operator session")
	}
	// Quiet: spooled, the bytes the registry released.
	s.ctr.busy = nil
	s.once(t)
	if !bytes.Equal(s.spooled(), b) {
		t.Fatal("the release is not in the spool")
	}

	// After the trial boot, kortstation-health leaves "committed"; the
	// agent records it, sync pushes it; read again, it is not sent twice.
	outcome := "result=committed\nslot=B\nversion=1.1.0\nreason=health check passed\nat=2026-12-01T01:20:00Z\n"
	writeOutcome(t, filepath.Join(s.dataDir, "update-result"), outcome)
	s.once(t)
	s.syncOnce(t)
	writeOutcome(t, filepath.Join(s.dataDir, "update-result"), outcome)
	s.once(t)
	s.syncOnce(t)
	evs, err := s.reg.Server.Events(ctx, "ST-1")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range evs {
		if e.Kind == protocol.KindUpdateResult {
			n++
		}
	}
	if n != 1 {
		t.Errorf("registry holds %d update_result events, want 1", n)
	}
	ups, _ = s.reg.Server.StationUpdates(ctx)
	if u := ups["ST-1"]; u.Result != protocol.UpdateCommitted || u.ResultVersion != "1.1.0" {
		t.Errorf("registry's last result for ST-1: %+v, want committed 1.1.0", u)
	}
	rels, err := s.reg.Server.Releases(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rels {
		if r.Version == "1.1.0" && r.Tally[registry.GroupPilot][protocol.UpdateCommitted] != 1 {
			t.Errorf("tally of 1.1.0: %v, want one committed in pilot", r.Tally)
		}
	}
}

// Attacker's side, end to end: the bytes the registry serves were changed
// on its disk (same size, another hash). The station refuses them, nothing
// reaches the spool, and the registry hears of the download_error.
func TestEndToEndTamperedBundleRefused(t *testing.T) {
	ctx := context.Background()
	s := newRealStation(t, "1.0.0")
	b := randomBundle(t, 128<<10)
	rel := s.release(t, "1.2.0", b)
	sum := sha256.Sum256(b)
	if rel.SHA256 != hex.EncodeToString(sum[:]) {
		t.Fatalf("release hash %s", rel.SHA256)
	}
	bad := append([]byte(nil), b...)
	bad[len(bad)/2] ^= 0x80
	if err := os.WriteFile(filepath.Join(s.reg.Dir, "releases", rel.SHA256+".raucb"), bad, 0o644); err != nil {
		t.Fatal(err)
	}
	s.once(t)
	if s.spooled() != nil {
		t.Fatal("a tampered bundle reached the spool")
	}
	ents, _ := os.ReadDir(filepath.Join(s.dataDir, "update"))
	if len(ents) != 0 {
		t.Errorf("the refused download left %d files", len(ents))
	}
	s.syncOnce(t)
	ups, _ := s.reg.Server.StationUpdates(ctx)
	if u := ups["ST-1"]; u.Result != protocol.UpdateDownloadError || u.ResultVersion != "1.2.0" {
		t.Errorf("registry's last result for ST-1: %+v, want download_error 1.2.0", u)
	}
}
