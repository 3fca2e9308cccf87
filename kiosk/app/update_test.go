package app

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kortstation/kortstation/kiosk/config"
	"github.com/kortstation/kortstation/kiosk/update/updatesim"
	"github.com/kortstation/kortstation/sync/client/enrol"
	"github.com/kortstation/kortstation/sync/protocol"
	"github.com/kortstation/kortstation/sync/registry"
)

// TestUpdateOnMakeRun: what a developer sees on `make run`: a release made
// the target of the station's group in the embedded registry is
// downloaded, checked and "installed" by the simulated installer (its log
// in the data directory), and the registry hears the outcome.
func TestUpdateOnMakeRun(t *testing.T) {
	dataDir := t.TempDir()
	r := startIn(t, dataDir, "-update-window", "00:00-24:00")
	// The embedded registry (and the station in it) exists once sync runs.
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(r.logs.String(), "update agent running"); {
		if time.Now().After(deadline) {
			t.Fatalf("the update agent did not start:\n%s", r.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := r.stop(t); err != nil {
		t.Fatalf("first start: %v\n%s", err, r.logs.String())
	}
	ctx := context.Background()
	b := make([]byte, 64<<10)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	srv, err := registry.Open(ctx, registry.Config{DataDir: filepath.Join(dataDir, "registry")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.AddRelease(ctx, "0.1", bytes.NewReader(b), "release-owner"); err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{
		srv.SetStationGroup(ctx, "dev-station", registry.GroupPilot),
		srv.SetGroupTarget(ctx, registry.GroupPilot, "0.1", "station-manager"),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	srv.Close()

	r = startIn(t, dataDir, "-update-window", "00:00-24:00", "-sync-interval", "5s")
	logPath := filepath.Join(dataDir, "update-sim.log")
	deadline := time.Now().Add(20 * time.Second)
	var rec updatesim.Install
	for {
		if b, err := os.ReadFile(logPath); err == nil && len(b) > 0 {
			if err := json.Unmarshal(bytes.SplitN(b, []byte("\n"), 2)[0], &rec); err != nil {
				t.Fatal(err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no simulated install in 20 s:\n%s", r.logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if rec.Version != "0.1" || rec.Size != int64(len(b)) {
		t.Errorf("simulated install %+v, want 0.1 of %d bytes", rec, len(b))
	}
	// The outcome the simulation left is recorded and pushed: the
	// registry has it, once.
	deadline = time.Now().Add(30 * time.Second)
	for outboxAcked(t, dataDir, protocol.KindUpdateResult) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the update_result was not pushed in 30 s:\n%s", r.logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err := r.stop(t); err != nil {
		t.Fatalf("second start: %v", err)
	}
	srv, err = registry.Open(ctx, registry.Config{DataDir: filepath.Join(dataDir, "registry")})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ups, err := srv.StationUpdates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if u := ups["dev-station"]; u.Result != protocol.UpdateCommitted || u.ResultVersion != "0.1" || u.Version != "0~dev" {
		t.Errorf("the registry's view of dev-station: %+v, want committed 0.1, running 0~dev", u)
	}
	evs, err := srv.Events(ctx, "dev-station")
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
		t.Errorf("%d update_result events at the registry, want 1", n)
	}
}

// outboxAcked counts the station's acknowledged outbox events of kind.
func outboxAcked(t *testing.T, dataDir, kind string) int {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(dataDir, "station.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM outbox WHERE kind = ? AND acked_at IS NOT NULL`, kind).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Production defaults fail closed: no update-spool and no simulation, no
// agent, and the log says why.
func TestUpdatesOffWithoutSpool(t *testing.T) {
	var logs bytes.Buffer
	cfg := config.Defaults()
	u, err := startUpdater(context.Background(), cfg, enrol.Identity{}, nil, nil, slog.New(slog.NewTextHandler(&logs, nil)), nil)
	if err != nil || u != nil {
		t.Fatalf("no spool: agent %v, %v; want none", u, err)
	}
	if !strings.Contains(logs.String(), "updates are off: no update-spool configured") {
		t.Errorf("log: %s", logs.String())
	}
}
