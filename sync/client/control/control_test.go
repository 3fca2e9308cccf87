package control_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/kortstation/kortstation/kiosk/clock"
	"github.com/kortstation/kortstation/kiosk/store"
	"github.com/kortstation/kortstation/sync/client/control"
	"github.com/kortstation/kortstation/sync/client/reconcile"
	"github.com/kortstation/kortstation/sync/client/schedule"
	"github.com/kortstation/kortstation/sync/protocol"
	"github.com/kortstation/kortstation/sync/registrytest"
)

type cmdLog struct {
	mu   sync.Mutex
	seen []string
	fail int
}

func (l *cmdLog) add(s string) func(context.Context) error {
	return func(context.Context) error {
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.fail > 0 {
			l.fail--
			return errors.New("display busy")
		}
		l.seen = append(l.seen, s)
		return nil
	}
}

func (l *cmdLog) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.seen...)
}

func waitFor(t *testing.T, what string, within time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestCommandsArriveWithinSeconds: sync-now, lock and unlock sent by a
// central admin reach the station's handlers in order, within seconds; a
// command whose handler failed is delivered again; acknowledged commands
// are not delivered again after a restart.
func TestCommandsArriveWithinSeconds(t *testing.T) {
	ctx := context.Background()
	reg := registrytest.Start(t)
	id := reg.Identity(t, "ST-CTL")
	l := &cmdLog{fail: 1}
	start := func() context.CancelFunc {
		c, err := control.New(control.Config{Identity: id, Wait: 2 * time.Second, Logger: registrytest.Logger(t)},
			control.Handlers{SyncNow: l.add("sync"), Lock: l.add("lock"), Unlock: l.add("unlock")})
		if err != nil {
			t.Fatal(err)
		}
		cctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); _ = c.Run(cctx) }()
		waitFor(t, "control channel connects", 5*time.Second, func() bool { return c.State().Connected })
		return func() { cancel(); <-done }
	}
	stop := start()
	time.Sleep(200 * time.Millisecond) // the poll is now waiting at the registry
	sent := time.Now()
	for _, k := range []string{protocol.CmdLock, protocol.CmdUnlock, protocol.CmdSyncNow} {
		if _, err := reg.Server.SendCommand(ctx, "ST-CTL", k); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "three commands handled", 5*time.Second, func() bool { return len(l.get()) == 3 })
	if d := time.Since(sent); d > 3*time.Second {
		t.Errorf("commands took %s, want within seconds", d)
	}
	if got := l.get(); got[0] != "lock" || got[1] != "unlock" || got[2] != "sync" {
		t.Errorf("handled %v, want lock, unlock, sync (the first lock failed once and was redelivered)", got)
	}
	waitFor(t, "acknowledged at the registry", 5*time.Second, func() bool {
		st, _ := reg.Server.Stations(ctx)
		return len(st) == 1 && st[0].PendingCommand == 0 && !st[0].ControlSeen.IsZero()
	})
	stop()
	stop = start()
	time.Sleep(500 * time.Millisecond)
	if n := len(l.get()); n != 3 {
		t.Errorf("after a restart %d commands handled, want the same 3 (no redelivery)", n)
	}
	stop()
	if _, err := reg.Server.SendCommand(ctx, "nope", protocol.CmdLock); err == nil {
		t.Error("command to an unknown station accepted")
	}
}

// TestSyncNowEndToEnd: an admin's "sync now" reaches the station over the
// control channel and makes the scheduler run the real reconcile at once,
// though the regular interval is an hour away.
func TestSyncNowEndToEnd(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reg := registrytest.Start(t)
	if err := reg.Server.Seed(ctx, "ST-NOW"); err != nil {
		t.Fatal(err)
	}
	id := reg.Identity(t, "ST-NOW")
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "s.db"), store.Options{Logger: registrytest.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rc, err := reconcile.New(reconcile.Config{Identity: id}, st, clock.System{}, registrytest.Logger(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	runner, err := schedule.New(schedule.Config{Interval: time.Hour}, rc.Once)
	if err != nil {
		t.Fatal(err)
	}
	if err := runner.Start(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "first sync", 10*time.Second, func() bool { return !runner.Last().At.IsZero() })
	if err := reg.Server.Ship(ctx, "ST-NOW", "SHIP-0002", "reserve", "RK-NEW-1"); err != nil {
		t.Fatal(err)
	}
	cc, err := control.New(control.Config{Identity: id, Wait: 2 * time.Second, Logger: registrytest.Logger(t)},
		control.Handlers{SyncNow: func(context.Context) error { return runner.SyncNow() }})
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = cc.Run(ctx) }()
	waitFor(t, "control channel connects", 5*time.Second, func() bool { return cc.State().Connected })
	if _, err := reg.Server.SendCommand(ctx, "ST-NOW", protocol.CmdSyncNow); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the new shipment reaches the station", 5*time.Second, func() bool {
		var n int
		_ = st.Reader().QueryRow(`SELECT count(*) FROM ref_shipments WHERE serial = 'RK-NEW-1'`).Scan(&n)
		return n == 1
	})
}
