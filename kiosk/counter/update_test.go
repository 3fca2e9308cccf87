package counter

import (
	"errors"
	"testing"

	"github.com/kortstation/kortstation/hw/drawer"
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
