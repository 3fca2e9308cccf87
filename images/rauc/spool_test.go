package rauc

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kortstation/kortstation/kiosk/update"
)

// TestSpoolHandOff: the path from kioskd's spool to RAUC, as
// kortstation-update.service runs it (kortstation-update-spool, then the
// real kortstation-update and rauc service). A wrongly signed bundle in the
// spool is refused by RAUC with nothing written, leaves an install_error
// outcome kioskd accepts (update.ReadOutcome), and is gone from the spool
// and the work directory; a good one is installed into the other slot and
// the station reboots into it on trial. A symlink in the spool is not
// followed.
func TestSpoolHandOff(t *testing.T) {
	dir := t.TempDir()
	k := keys(t, dir, "Kortstation test")
	evil := keys(t, dir, "Someone else")
	good := makeBundle(t, dir, "2.0.0", "plain", k)
	wrong := makeBundle(t, t.TempDir(), "2.0.0", "plain", evil)
	s := newStation(t, filepath.Join(k, "ca.cert.pem"))
	s.boot("A", "1.0.0")
	spool := filepath.Join(dir, "update-spool")
	work := filepath.Join(dir, "update-work")
	if err := os.MkdirAll(spool, 0o755); err != nil {
		t.Fatal(err)
	}
	ready := filepath.Join(spool, update.SpoolName)
	env := append(append([]string(nil), s.env...), "KS_UPDATE_WORK="+work, "KS_UPDATE_CMD="+script(t, "kortstation-update"))
	handOff := func(bundle string) (string, error) {
		t.Helper()
		sh(t, nil, "cp", bundle, ready)
		return shErr(env, script(t, "kortstation-update-spool"), ready)
	}
	gone := func(what string) {
		t.Helper()
		for _, p := range []string{ready, filepath.Join(work, "update.raucb")} {
			if _, err := os.Lstat(p); !os.IsNotExist(err) {
				t.Errorf("%s: %s is still there (%v)", what, p, err)
			}
		}
	}

	// Attacker's side: signed by someone else; and the station user has
	// pointed the outcome file at a file of root's.
	victim := filepath.Join(dir, "root-owned")
	write(t, victim, "root's\n")
	if err := os.Symlink(victim, s.result); err != nil {
		t.Fatal(err)
	}
	out, err := handOff(wrong)
	if err == nil {
		t.Fatalf("a wrongly signed bundle was installed from the spool:\n%s", out)
	}
	gone("refused bundle")
	if got := read(t, victim); got != "root's\n" {
		t.Errorf("root wrote through the station user's symlink: %q", got)
	}
	if fi, err := os.Lstat(s.result); err != nil || fi.Mode()&os.ModeSymlink != 0 || fi.Mode().Perm() != 0o644 {
		t.Errorf("outcome file: %v, %v; want a regular file, 0644 (kioskd reads it as the station user)", fi, err)
	}
	o, err := update.ReadOutcome(s.result)
	if err != nil || o.Result != "install_error" || o.Slot != "" || !strings.Contains(o.Reason, "rauc refused") {
		t.Errorf("outcome of the refusal: %+v, %v", o, err)
	}
	if err := os.Remove(s.result); err != nil {
		t.Fatal(err)
	}
	if l := s.takeLog(); strings.Contains(l, "set-primary") {
		t.Errorf("the backend was asked to change the boot:\n%s", l)
	}
	s.wantAutoboot("2", "3")
	if got := s.reboots(); got != "" {
		t.Errorf("rebooted after a refusal: %q", got)
	}

	// A symlink in the spool (the station user pointing root elsewhere).
	if err := os.Symlink(good, ready); err != nil {
		t.Fatal(err)
	}
	if out, err := shErr(env, script(t, "kortstation-update-spool"), ready); err == nil {
		t.Fatalf("a symlink in the spool was followed:\n%s", out)
	}
	gone("symlink")
	if o, err := update.ReadOutcome(s.result); err != nil || o.Result != "install_error" {
		t.Errorf("outcome of the symlink: %+v, %v", o, err)
	}
	_ = os.Remove(s.result)

	// The good bundle: installed into B, tryboot reboot, spool empty.
	if out, err := handOff(good); err != nil {
		t.Fatalf("good bundle from the spool: %v\n%s\nservice:\n%s", err, out, s.svcLog)
	}
	gone("installed bundle")
	contains(t, "backend decisions", s.takeLog(), "set-primary B: trial")
	s.wantAutoboot("2", "3")
	if got := s.reboots(); got != "reboot 0 tryboot" {
		t.Errorf("reboot %q, want a tryboot reboot", got)
	}
	if !s.slotHolds("rootfs.1", filepath.Join(dir, "root-2.0.0.ext4")) {
		t.Error("slot rootfs.1 does not hold the bundle's root file system")
	}
	if _, err := os.Stat(s.result); !os.IsNotExist(err) {
		t.Errorf("an outcome was written for a good install: %v", err)
	}
	// Nothing spooled: nothing happens.
	if out, err := shErr(env, script(t, "kortstation-update-spool"), ready); err != nil {
		t.Errorf("empty spool: %v\n%s", err, out)
	}
}
