package app

import (
	"database/sql"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestDiskAlarmReachesTheRegistry: a station whose data partition (a
// tmpfs mounted by the test; the tests run as root) has less free space
// than its reserve tells the registry with its status (hardware "disk":
// "full"), and "ok" again once it has room.
func TestDiskAlarmReachesTheRegistry(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64m,mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount a tmpfs data partition: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount: %v: %s", err, out)
		}
	})
	diskAtRegistry := func(want string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		var got sql.NullString
		for time.Now().Before(deadline) {
			db, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, "registry", "registry.db")+"?mode=ro&_busy_timeout=5000")
			if err != nil {
				t.Fatal(err)
			}
			err = db.QueryRow(`SELECT json_extract(status, '$.hardware.disk') FROM stations WHERE id = 'dev-station'`).Scan(&got)
			db.Close()
			if err == nil && got.String == want {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("the registry's status of the station's disk: %q, want %q", got.String, want)
	}
	r := startIn(t, dir, "-min-free-mb", "100000", "-sync-interval", "1h")
	diskAtRegistry("full")
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	startIn(t, dir, "-min-free-mb", "1", "-sync-interval", "1h")
	diskAtRegistry("ok")
}
