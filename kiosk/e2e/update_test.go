package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kortstation/kortstation/kiosk/app"
	"github.com/kortstation/kortstation/sync/registry"
)

// TestStatusShowsPendingUpdate: an update the embedded registry offers is
// downloaded at once but waits for the night's window; the status screen
// says so in one quiet line, in Swedish and on the toggle in English.
func TestStatusShowsPendingUpdate(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	// A first start makes the embedded registry and the station in it.
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- app.Main(runCtx, app.Env{Args: append([]string{"-listen", freeAddr(t), "-data-dir", dir, "-log-level", "warn", "-registry", "embedded"}, devArgs...),
			Stdout: io.Discard, Stderr: stderr()})
	}()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if _, err := os.Stat(filepath.Join(dir, "update")); err == nil { // the agent runs: the registry knows the station
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the update agent did not start")
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	srv, err := registry.Open(ctx, registry.Config{DataDir: filepath.Join(dir, "registry")})
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 16<<10)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.AddRelease(ctx, "0.9", bytes.NewReader(b), "release-owner"); err != nil {
		t.Fatal(err)
	}
	if err := srv.SetStationGroup(ctx, "dev-station", registry.GroupPilot); err != nil {
		t.Fatal(err)
	}
	if err := srv.SetGroupTarget(ctx, registry.GroupPilot, "0.9", "station-manager"); err != nil {
		t.Fatal(err)
	}
	srv.Close()

	// The install window is an hour that starts half a day from now.
	start := time.Now().Add(12 * time.Hour).UTC()
	window := fmt.Sprintf("%02d:00-%02d:00", start.Hour(), (start.Hour()+1)%24)
	br := devStation(t, dir, "-update-window", window, "-update-timezone", "UTC")
	br.Tap(`#menu button[data-flow="status"]`)
	br.WaitText("#ss-registry", "nåbart")
	br.WaitText("#ss-update", "Uppdatering till version 0.9 installeras i natt")
	noRawText(br, "#ss-update")
	br.Tap("#lang")
	br.WaitText("#ss-update", "Update to version 0.9 will be installed tonight")
	br.Tap("#lang")
}
