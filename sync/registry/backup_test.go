package registry_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kortstation/kortstation/sync/client/reconcile"
	"github.com/kortstation/kortstation/sync/protocol"
	"github.com/kortstation/kortstation/sync/registry"
	"github.com/kortstation/kortstation/sync/registrytest"
)

// TestBackupWhileServing (issue 17, backup and restore): a backup taken
// while a station pushes is one committed state — every event it holds is
// whole, none missing below its highest sequence — and the restored
// registry opens with the same CA and a verifying admin audit trail.
func TestBackupWhileServing(t *testing.T) {
	ctx := context.Background()
	// The SQLite backup API: on SQLite whatever the tests' backend
	// (PostgreSQL is backed up with pg_dump: TestBackupRefusedOnPostgres).
	data := t.TempDir()
	reg := registrytest.NewWith(t, data, func(c *registry.Config) { c.Database = filepath.Join(data, "registry.db") })
	reg.Serve(t)
	tc, err := reg.Identity(t, "ST-B").TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	st := &simStation{id: "ST-B", hc: reconcile.NewHTTPClient(tc, 10*time.Second, nil), cursors: map[string]string{}}
	for _, k := range protocol.RefKinds {
		st.cursors[k] = ""
	}
	defer st.hc.CloseIdleConnections()
	if err := st.sync(ctx, reg.URL, 50); err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	done := make(chan error, 1)
	go func() {
		for !stop.Load() {
			if err := st.sync(ctx, reg.URL, 20); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	time.Sleep(50 * time.Millisecond)
	dir := filepath.Join(t.TempDir(), "backup")
	if err := reg.Server.Backup(ctx, dir); err != nil {
		t.Fatal(err)
	}
	stop.Store(true)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := reg.Server.Backup(ctx, dir); err == nil {
		t.Error("a backup overwrote an existing one")
	}

	restored, err := registry.Open(ctx, registry.Config{DataDir: dir, Logger: registrytest.Logger(t)})
	if err != nil {
		t.Fatalf("open the restored registry: %v", err)
	}
	defer restored.Close()
	if restored.CA().Fingerprint() != reg.Server.CA().Fingerprint() {
		t.Error("the restored registry has another CA: every station would be locked out")
	}
	evs, err := restored.Events(ctx, "ST-B")
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) < 50 {
		t.Fatalf("the backup holds %d events, want at least the 50 pushed before it", len(evs))
	}
	for i, ev := range evs {
		if ev.Seq != int64(i+1) {
			t.Fatalf("event %d has seq %d: the backup is not one committed state", i, ev.Seq)
		}
	}
	if _, err := restored.VerifyAdminAudit(ctx); err != nil {
		t.Errorf("admin audit trail of the backup: %v", err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "ca")); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("backup's CA directory: %v %v, want 0700", fi.Mode(), err)
	}
}

// TestBackupRefusedOnPostgres: on PostgreSQL, Backup refuses with the way
// to back the database up (pg_dump, point-in-time recovery) instead of
// writing a backup without the data.
func TestBackupRefusedOnPostgres(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	srv, err := registry.Open(ctx, registry.Config{DataDir: data, Database: registrytest.Postgres(t), Logger: registrytest.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	dir := filepath.Join(t.TempDir(), "backup")
	err = srv.Backup(ctx, dir)
	if !errors.Is(err, registry.ErrBackupPostgres) {
		t.Fatalf("backup on PostgreSQL: %v, want ErrBackupPostgres", err)
	}
	if _, serr := os.Stat(dir); !os.IsNotExist(serr) {
		t.Errorf("a refused backup left %s behind", dir)
	}
}
