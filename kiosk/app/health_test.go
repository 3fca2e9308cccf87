package app

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runHealth runs `kioskd health` in-process against the running station r.
func runHealth(t *testing.T, r *running, extra ...string) (string, error) {
	t.Helper()
	args := append([]string{"-listen", r.addr, "-allowed-hosts", "127.0.0.1:0", "-data-dir", r.dataDir, "-log-format", "json"}, devArgs...)
	args = append(args, "health", "-poll", "50ms", "-ready-wait", "2s")
	args = append(args, extra...)
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := Main(ctx, Env{Args: args, Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }})
	return out.String() + errb.String(), err
}

func auditKinds(t *testing.T, dataDir, kind string) []string {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(dataDir, "station.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT detail FROM audit_log WHERE kind = ? ORDER BY seq`, kind)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var d string
		rows.Scan(&d)
		out = append(out, d)
	}
	return out
}

// TestHealthAfterBoot: the health gate of an update (docs/appliance.md):
// a serving station whose store opens, whose audit chain verifies and
// which synced with the registry is healthy; the update outcome left by
// kortstation-health goes into the audit log once.
func TestHealthAfterBoot(t *testing.T) {
	before := time.Now().Add(-time.Second).UTC().Format(time.RFC3339Nano)
	r := start(t, "-sync-interval", "1h")
	writeFile(t, filepath.Join(r.dataDir, "update-result"),
		"result=rolled_back\nslot=B\nversion=3.0.0\nreason=health check failed\nat=2026-11-30T12:00:00Z\n")
	out, err := runHealth(t, r, "-registry-wait", "20s", "-synced-since", before)
	if err != nil {
		t.Fatalf("kioskd health on a healthy station: %v\n%s\n%s", err, out, r.logs.String())
	}
	for _, want := range []string{"ok      kioskd ready", "ok      store opens", "ok      audit chain verifies", "ok      registry answers", "healthy", "no other software has used this store"} {
		if !strings.Contains(out, want) {
			t.Errorf("health output lacks %q:\n%s", want, out)
		}
	}
	// Whoever reads the outcome first records it: `kioskd health`, or the
	// serving kioskd's update agent (its first attempt runs at start).
	if _, err := os.Stat(filepath.Join(r.dataDir, "update-result")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the outcome file is still there: %v", err)
	}
	got := auditKinds(t, r.dataDir, "station.update")
	if len(got) != 1 || !strings.Contains(got[0], `"result":"rolled_back"`) || !strings.Contains(got[0], `"slot":"B"`) {
		t.Errorf("audit station.update entries: %v, want one rolled_back slot B", got)
	}
	// Recorded once: the file is gone, a second run adds nothing.
	if out, err := runHealth(t, r, "-registry-wait", "1s", "-synced-since", before); err != nil {
		t.Fatalf("second run: %v\n%s", err, out)
	}
	if got := auditKinds(t, r.dataDir, "station.update"); len(got) != 1 {
		t.Errorf("after a second run: %d station.update entries, want 1", len(got))
	}
	if out, err := runHealth(t, r, "-registry-wait", "1s"); err != nil || strings.Contains(out, "FAILED") {
		t.Errorf("with the boot time as the bound: %v\n%s", err, out)
	}
}

// An offline station waits for the registry for a bounded time, then
// passes: the wait is the bound, not a reason to roll back.
func TestHealthOfflineRegistryWaived(t *testing.T) {
	r := start(t, "-sync-interval", "1h")
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339Nano)
	start := time.Now()
	out, err := runHealth(t, r, "-registry-wait", "300ms", "-synced-since", future)
	if err != nil {
		t.Fatalf("offline station: %v\n%s", err, out)
	}
	if !strings.Contains(out, "waived  registry answers") {
		t.Errorf("output lacks the waived registry check:\n%s", out)
	}
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Errorf("returned after %s, before the registry wait", d)
	}
}

// A station whose audit chain was altered is not healthy: an update that
// booted on it is rolled back (attacker's side: the chain is checked, not
// assumed).
func TestHealthFailsOnBrokenAuditChain(t *testing.T) {
	r := start(t, "-sync-interval", "1h")
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(r.dataDir, "station.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// As an attacker with the file would: past the append-only triggers.
	for _, q := range []string{"DROP TRIGGER IF EXISTS audit_no_update", `UPDATE audit_log SET detail = '{"version":"forged"}' WHERE seq = 1`} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	out, err := runHealth(t, r, "-registry-wait", "1s")
	if err == nil {
		t.Fatalf("health passed with a broken audit chain:\n%s", out)
	}
	if !strings.Contains(out, "FAILED  audit chain verifies") || strings.Contains(out, "registry answers") {
		t.Errorf("output:\n%s", out)
	}
}

// kioskd not serving (crashed, never READY) fails after the ready wait.
func TestHealthFailsWhenKioskdDoesNotServe(t *testing.T) {
	r := start(t, "-sync-interval", "1h")
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	out, err := runHealth(t, r, "-ready-wait", "300ms")
	if err == nil {
		t.Fatalf("health passed with kioskd stopped:\n%s", out)
	}
	if !strings.Contains(out, "FAILED  kioskd ready") {
		t.Errorf("output:\n%s", out)
	}
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Errorf("gave up after %s, before the ready wait", d)
	}
}
