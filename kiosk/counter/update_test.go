package counter

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/kortstation/kortstation/hw/drawer"
	"github.com/kortstation/kortstation/kiosk/update"
	"github.com/kortstation/kortstation/kiosk/update/window"
	"github.com/kortstation/kortstation/sync/client/rollout"
	"github.com/kortstation/kortstation/sync/registry"
	"github.com/kortstation/kortstation/sync/registrytest"
)

// HoldForUpdate: an update installs only when nobody is at the counter
// (no session, no login, no flow, the drawer closed), and while it
// installs nobody logs in.
func TestHoldForUpdate(t *testing.T) {
	c := newCounter(t)
	// During an operator's session: refused, nothing changes.
	c.login()
	c.waitView(func(v View) bool { return v.State == StateReady })
	if _, err := c.m.HoldForUpdate("9.9.9"); !errors.Is(err, ErrBusySession) {
		t.Fatalf("in a session: %v, want ErrBusySession", err)
	}
	if err := c.call("flow.start", map[string]string{"kind": "issue"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.m.HoldForUpdate("9.9.9"); !errors.Is(err, ErrBusySession) {
		t.Fatalf("in a flow: %v", err)
	}
	if err := c.call("session.logout", nil); err != nil {
		t.Fatal(err)
	}
	c.remove(0)
	c.waitView(func(v View) bool { return v.State == "locked" && v.Login == nil })

	// The drawer open: refused.
	c.drawer.Open()
	c.waitView(func(View) bool { return c.drawer.State() == drawer.StateOpen })
	if _, err := c.m.HoldForUpdate("9.9.9"); !errors.Is(err, ErrBusyDrawer) {
		t.Fatalf("drawer open: %v, want ErrBusyDrawer", err)
	}
	c.drawer.Close()
	c.waitView(func(View) bool { return c.drawer.State() == drawer.StateClosed })

	// Quiet: held; a login is refused with a plain message, no PIN asked.
	release, err := c.m.HoldForUpdate("9.9.9")
	if err != nil {
		t.Fatalf("quiet counter: %v", err)
	}
	if _, err := c.m.HoldForUpdate("9.9.9"); !errors.Is(err, ErrBusyHeld) {
		t.Errorf("second hold: %v", err)
	}
	c.insert(0, "9752269900000000011")
	v := c.waitView(func(v View) bool { return v.Login != nil && v.Login.Error != nil })
	if v.Login.Error.Key != "station_updating" || v.State == "pin" {
		t.Errorf("login during the install: %+v", v.Login)
	}
	c.remove(0)
	c.waitView(func(v View) bool { return v.Login == nil })
	// Released: logins work again.
	release()
	release()
	c.login()
	c.waitView(func(v View) bool { return v.State == StateReady })
}

// TestNoUpdateDuringSession: the update agent against the real registry
// over mutual TLS and this real counter. With a release waiting and the
// install window open all day, nothing is spooled while an operator is
// logged in; once they log out it is, and the next login is refused until
// the installer is done.
func TestNoUpdateDuringSession(t *testing.T) {
	ctx := context.Background()
	c := newCounter(t)
	reg := registrytest.Start(t)
	if err := reg.Server.Seed(ctx, "ST-1"); err != nil {
		t.Fatal(err)
	}
	client, err := rollout.New(rollout.Config{Identity: reg.Identity(t, "ST-1")}) // the registry knows the station from then on
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.Close)
	b := make([]byte, 32<<10)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Server.AddRelease(ctx, "1.1.0", bytes.NewReader(b), "release-owner"); err != nil {
		t.Fatal(err)
	}
	if err := reg.Server.SetStationGroup(ctx, "ST-1", registry.GroupPilot); err != nil {
		t.Fatal(err)
	}
	if err := reg.Server.SetGroupTarget(ctx, registry.GroupPilot, "1.1.0", "station-manager"); err != nil {
		t.Fatal(err)
	}
	always, err := window.Parse("00:00-24:00", "Europe/Stockholm")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	spool := filepath.Join(dir, "spool")
	if err := os.MkdirAll(spool, 0o755); err != nil {
		t.Fatal(err)
	}
	agent, err := update.NewAgent(update.AgentConfig{
		Registry: client, Installer: update.Spool{Dir: spool}, Counter: c.m, Store: c.st, Clock: c.clock,
		Log: c.deps.Log, StationID: "ST-1", Version: "1.0.0", Slot: "A",
		Dir: filepath.Join(dir, "update"), OutcomeFile: filepath.Join(dir, "update-result"), Window: always,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(agent.Close)
	spooled := func() bool {
		_, err := os.Stat(filepath.Join(spool, update.SpoolName))
		return err == nil
	}

	c.login()
	c.waitView(func(v View) bool { return v.State == StateReady })
	for i := 0; i < 2; i++ {
		if err := agent.Once(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if spooled() {
		t.Fatal("an update was spooled during an operator's session")
	}
	c.logout()
	c.remove(0)
	c.waitView(func(v View) bool { return v.State == "locked" && v.Login == nil })
	if err := agent.Once(ctx); err != nil {
		t.Fatal(err)
	}
	if !spooled() {
		t.Fatal("nobody at the counter, inside the window: not spooled")
	}
	c.insert(0, "9752269900000000011")
	v := c.waitView(func(v View) bool { return v.Login != nil && v.Login.Error != nil })
	if v.Login.Error.Key != "station_updating" {
		t.Errorf("login while the update installs: %+v", v.Login.Error)
	}
}
