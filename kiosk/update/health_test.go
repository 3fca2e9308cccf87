package update

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRunRetriesUntilReady(t *testing.T) {
	n := 0
	rep := Run(context.Background(), 5*time.Millisecond, []Check{{
		Name: "ready", Wait: time.Second,
		Run: func(context.Context) error {
			n++
			if n < 3 {
				return errors.New("not yet")
			}
			return nil
		},
	}})
	if !rep.OK() || rep.Results[0].Attempts != 3 {
		t.Errorf("got %+v, want ok after 3 attempts", rep.Results)
	}
}

func TestRunFailsAndStops(t *testing.T) {
	later := false
	rep := Run(context.Background(), 5*time.Millisecond, []Check{
		{Name: "store", Wait: 20 * time.Millisecond, Run: func(context.Context) error { return errors.New("disk I/O error") }},
		{Name: "audit", Run: func(context.Context) error { later = true; return nil }},
	})
	if rep.OK() {
		t.Fatal("a failing store check passed")
	}
	if later {
		t.Error("the audit check ran after the store failed")
	}
	if r := rep.Results[0]; r.Attempts < 2 || r.Took < 15*time.Millisecond {
		t.Errorf("store check: %d attempts in %s, want retries for its wait", r.Attempts, r.Took)
	}
	if err := rep.Err(); err == nil || !strings.Contains(err.Error(), "store: disk I/O error") {
		t.Errorf("Err() = %v", err)
	}
}

// An offline station waits a bounded time for the registry, then passes.
func TestRunWaivesOfflineRegistry(t *testing.T) {
	start := time.Now()
	rep := Run(context.Background(), 5*time.Millisecond, []Check{
		{Name: "registry answers", Wait: 30 * time.Millisecond, Waivable: true, Run: func(context.Context) error { return errors.New("no sync yet") }},
	})
	if !rep.OK() || !rep.Results[0].Waived {
		t.Errorf("got %+v, want the registry check waived", rep.Results)
	}
	if d := time.Since(start); d < 25*time.Millisecond || d > 2*time.Second {
		t.Errorf("waited %s, want about the bound (30ms)", d)
	}
	var b strings.Builder
	rep.Print(&b)
	if !strings.Contains(b.String(), "waived  registry answers") || !strings.HasSuffix(b.String(), "healthy\n") {
		t.Errorf("report:\n%s", b.String())
	}
}

func TestRunStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	rep := Run(ctx, 5*time.Millisecond, []Check{
		{Name: "registry answers", Wait: time.Hour, Waivable: true, Run: func(context.Context) error { return errors.New("no sync yet") }},
	})
	if rep.OK() {
		t.Error("a cancelled health check passed (a check cut short is not waived)")
	}
}

func TestReadOutcome(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "update-result")
	if _, err := ReadOutcome(p); !errors.Is(err, ErrNoOutcome) {
		t.Errorf("no file: %v, want ErrNoOutcome", err)
	}
	good := "result=rolled_back\nslot=A\nversion=3.0.0\nreason=health check failed\nat=2026-11-30T12:00:00Z\n"
	if err := os.WriteFile(p, []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	o, err := ReadOutcome(p)
	if err != nil {
		t.Fatal(err)
	}
	want := Outcome{Result: "rolled_back", Slot: "A", Version: "3.0.0", Reason: "health check failed", At: "2026-11-30T12:00:00Z"}
	if o != want {
		t.Errorf("got %+v, want %+v", o, want)
	}
	// The installer's refusal names no slot: nothing was written to one.
	if err := os.WriteFile(p, []byte("result=install_error\nreason=rauc refused the bundle\nat=2026-11-30T12:00:00Z\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if o, err := ReadOutcome(p); err != nil || o.Result != "install_error" || o.Slot != "" {
		t.Errorf("install_error: %+v, %v", o, err)
	}
	// Attacker's side: the file is written by root but read into the audit
	// log; anything unexpected is refused, not copied.
	for name, bad := range map[string]string{
		"unknown result":  "result=installed\nslot=A\n",
		"unknown slot":    "result=committed\nslot=C\n",
		"no slot":         "result=rolled_back\n",
		"markup":          "result=committed\nslot=A\nreason=<script>\n",
		"newline smuggle": "result=committed\nslot=A\nversion=1\x1b[2J\n",
		"too long":        "result=committed\nslot=A\nreason=" + strings.Repeat("x", 5000) + "\n",
	} {
		if err := os.WriteFile(p, []byte(bad), 0o644); err != nil {
			t.Fatal(err)
		}
		if o, err := ReadOutcome(p); err == nil {
			t.Errorf("%s: accepted %+v", name, o)
		}
	}
}
