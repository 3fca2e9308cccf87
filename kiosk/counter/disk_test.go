package counter

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/kortstation/kortstation/kiosk/devseed"
	"github.com/kortstation/kortstation/kiosk/problem"
	"github.com/kortstation/kortstation/kiosk/store"
)

// mountData mounts a small tmpfs of size (e.g. "24m") as a data
// partition and returns its directory; it is unmounted after the test's
// other cleanups (the store is closed first). The tests run as root (make
// test does).
func mountData(t *testing.T, size string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount a tmpfs data partition (the tests run as root): %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

func remount(t *testing.T, dir, mode string) {
	t.Helper()
	if out, err := exec.Command("mount", "-o", "remount,"+mode, dir).CombinedOutput(); err != nil {
		t.Fatalf("remount %s %s: %v: %s", dir, mode, err, out)
	}
}

// fill allocates a file that leaves about leave bytes free on the
// partition and returns its path.
func fill(t *testing.T, c *counter, dir string, leave uint64) string {
	t.Helper()
	sp, err := c.st.Space()
	if err != nil {
		t.Fatal(err)
	}
	if sp.Free <= leave {
		t.Fatalf("only %d bytes free before filling", sp.Free)
	}
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Fallocate(int(f.Fd()), 0, 0, int64(sp.Free-leave)); err != nil {
		t.Fatalf("fill the partition: %v", err)
	}
	return path
}

// restartWithReserve builds the counter again with minFree bytes kept in
// reserve.
func (c *counter) restartWithReserve(minFree uint64) {
	c.t.Helper()
	c.stop()
	c.opts.MinFreeSpace = minFree
	c.m = New(c.deps, c.opts)
	c.run()
	c.remove(0)
	c.waitView(func(View) bool { return len(c.reader.Readers()) == 2 })
}

func (c *counter) integrity() {
	c.t.Helper()
	var res string
	if err := c.st.Reader().QueryRow(`PRAGMA integrity_check`).Scan(&res); err != nil || res != "ok" {
		c.t.Errorf("integrity_check: %q, %v", res, err)
	}
	if _, err := c.st.VerifyAudit(context.Background()); err != nil {
		c.t.Errorf("audit chain: %v", err)
	}
}

// signed takes an issuance from its start to the last signature.
func (c *counter) signed(pnr string) {
	c.t.Helper()
	c.issueUpToCard(pnr)
	c.insert(1, devseed.ReserveInStock[0])
	c.waitView(func(v View) bool { return v.Flow != nil && v.Flow.Step == "preview" })
	if err := c.step("confirm", nil); err != nil {
		c.t.Fatal(err)
	}
	sig := SignatureInput{AspectRatio: 3, Strokes: [][]receiptPoint{{{X: .1, Y: .1}, {X: .2, Y: .5}, {X: .3, Y: .2}, {X: .4, Y: .6}, {X: .5, Y: .3}}}}
	for _, k := range []string{"recipient", "administrator"} {
		sig.Key = k
		if err := c.step("sign", sig); err != nil {
			c.t.Fatal(err)
		}
	}
}

// TestDiskFullRefusesIssuanceBeforeWritingAndRecovers: a data partition
// that fills up while a receipt is being signed refuses the issuance with
// a plain Swedish message before anything is written (no record, no
// receipt, no outbox event, nothing printed); the disk shows as full on
// the status (the state the registry is sent); with space freed the same
// issuance completes, and the database and the audit chain are intact.
func TestDiskFullRefusesIssuanceBeforeWritingAndRecovers(t *testing.T) {
	dir := mountData(t, "32m")
	c := newCounterAt(t, filepath.Join(dir, "s.db"))
	c.restartWithReserve(8 << 20)
	c.login()
	c.signed(devseed.Lost)

	filler := fill(t, c, dir, 4<<20)
	before := c.dbState(devseed.ReserveInStock[0])
	err := c.step("complete", nil)
	if keyOf(err) != "disk.full" {
		t.Fatalf("complete on a full disk: %v, want disk.full", err)
	}
	var p *problem.Problem
	if errors.As(err, &p) && p.Text("sv") == "" {
		t.Error("the refusal has no Swedish text")
	}
	if after := c.dbState(devseed.ReserveInStock[0]); after != before {
		t.Errorf("a refused issuance on a full disk changed the database:\n got %s\nwant %s", after, before)
	}
	if n := len(c.printedReceipts()); n != 0 {
		t.Errorf("%d receipts printed", n)
	}
	if st := c.m.devices()["disk"].State; st != "full" {
		t.Errorf("disk state %q, want full", st)
	}
	// Space freed, the same issuance completes: the refusal kept the
	// flow where it was.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if err := c.step("complete", nil); err != nil {
		t.Fatalf("complete with space freed: %v", err)
	}
	if st := c.m.devices()["disk"].State; st != "ok" {
		t.Errorf("disk state %q after freeing space, want ok", st)
	}
	var n int
	if err := c.st.Reader().QueryRow(`SELECT count(*) FROM receipts`).Scan(&n); err != nil || n != 1 {
		t.Errorf("receipts = %d (%v), want 1", n, err)
	}
	c.integrity()
}

// mountExt4 makes an ext4 image of 32 MiB mounted with
// errors=remount-ro (as the appliance mounts its data partition) and
// returns the image and the mount point, unmounted after the test.
func mountExt4(t *testing.T) (img, dir string) {
	t.Helper()
	base := t.TempDir()
	img, dir = filepath.Join(base, "data.img"), filepath.Join(base, "data")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range [][]string{
		{"truncate", "-s", "32M", img},
		{"mkfs.ext4", "-q", "-F", img},
		{"mount", "-o", "loop,errors=remount-ro", img, dir},
	} {
		if out, err := exec.Command(cmd[0], cmd[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v (the tests run as root): %v: %s", cmd, err, out)
		}
	}
	t.Cleanup(func() { _ = exec.Command("umount", dir).Run() })
	return img, dir
}

// TestReadOnlyDataPartitionRefusesAndRecovers: a data partition ext4
// stops writing to after an error (errors=remount-ro: what a worn SD
// card does) refuses issuing with a plain message and changes nothing;
// the disk shows as read-only. After the repair (the station stopped,
// fsck, mounted again) the station issues again, and the database and
// the audit chain are intact.
func TestReadOnlyDataPartitionRefusesAndRecovers(t *testing.T) {
	img, dir := mountExt4(t)
	c := newCounterAt(t, filepath.Join(dir, "s.db"))
	c.login()
	before := c.dbState(devseed.ReserveInStock[0])
	dev, err := exec.Command("findmnt", "-n", "-o", "SOURCE", dir).Output()
	if err != nil {
		t.Fatal(err)
	}
	trigger := filepath.Join("/sys/fs/ext4", filepath.Base(strings.TrimSpace(string(dev))), "trigger_fs_error")
	if err := os.WriteFile(trigger, []byte("test: the SD card fails"), 0o200); err != nil {
		t.Fatalf("make ext4 fail (%s): %v", trigger, err)
	}
	err = c.call("flow.start", map[string]Kind{"kind": KindIssue})
	if keyOf(err) != "disk.readonly" {
		t.Fatalf("issuing on a read-only partition: %v, want disk.readonly", err)
	}
	var p *problem.Problem
	if errors.As(err, &p) && p.Text("sv") == "" {
		t.Error("the refusal has no Swedish text")
	}
	if st := c.m.devices()["disk"].State; st != "read_only" {
		t.Errorf("disk state %q, want read_only", st)
	}
	if after := c.dbState(devseed.ReserveInStock[0]); after != before {
		t.Errorf("the read-only partition's refusal changed the database:\n got %s\nwant %s", after, before)
	}
	// A login cannot be recorded either: the operator is told why, not
	// "internal error".
	if err := c.call("session.logout", nil); err != nil {
		t.Fatal(err)
	}
	c.remove(0)
	c.waitView(func(v View) bool { return v.State == StateLocked })
	c.insert(0, "9752269900000000011")
	c.waitView(func(v View) bool { return v.State == StatePIN })
	if err := c.call("session.pin", map[string]string{"pin": "1234"}); keyOf(err) != "disk.readonly" {
		t.Errorf("login on a read-only partition: %v, want disk.readonly", err)
	}

	// The repair: the station stops, the partition is checked and
	// mounted again, the station starts.
	c.stop()
	if err := c.st.Close(); err != nil {
		t.Logf("close the store on the failed partition: %v", err)
	}
	for _, cmd := range [][]string{{"umount", dir}, {"e2fsck", "-fy", img}, {"mount", "-o", "loop,errors=remount-ro", img, dir}} {
		out, err := exec.Command(cmd[0], cmd[1:]...).CombinedOutput()
		var ee *exec.ExitError
		if err != nil && !(cmd[0] == "e2fsck" && errors.As(err, &ee) && ee.ExitCode() <= 2) { // 1, 2: errors corrected
			t.Fatalf("%v: %v: %s", cmd, err, out)
		}
	}
	st, err := store.Open(context.Background(), filepath.Join(dir, "s.db"), store.Options{Logger: c.deps.Log})
	if err != nil {
		t.Fatalf("reopen the store after the repair: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	c.st, c.deps.Store = st, st
	c.opts.MinFreeSpace = 4 << 20 // of the 32 MiB partition
	c.m = New(c.deps, c.opts)
	if _, err := c.m.Recover(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The card still in reader 0 from before the repair is taken out
	// before the station starts again: otherwise the restarted station
	// may see it, ask for its PIN and lock again on its removal while
	// the next login already waits for the PIN.
	c.remove(0)
	c.run()
	c.waitView(func(v View) bool { return v.State == StateLocked && len(c.reader.Readers()) == 2 })
	c.login()
	c.completeIssuance(devseed.Lost)
	c.waitPrintState("printed")
	if st := c.m.devices()["disk"].State; st != "ok" {
		t.Errorf("disk state %q after the repair, want ok", st)
	}
	c.integrity()
}
