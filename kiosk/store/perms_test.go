package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestPlantedFilesInTheDataDirAreRefused plays a local user who could
// write into the data directory before the station narrowed it (it was
// left open to others) and planted a symlink or a FIFO where the database,
// its WAL or its shared memory goes. The station refuses to open: it
// writes no personal data through the link, changes no mode where it
// points and does not hang.
func TestPlantedFilesInTheDataDirAreRefused(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		plant func(t *testing.T, path, outside string) error
	}{
		{"station.db a dangling symlink out of the data dir", func(_ *testing.T, path, outside string) error {
			return os.Symlink(outside, path)
		}},
		{"station.db a symlink to an existing station database", func(t *testing.T, path, outside string) error {
			s, err := Open(ctx, outside, Options{})
			if err != nil {
				t.Fatal(err)
			}
			s.Close()
			if err := os.Chmod(outside, 0o644); err != nil {
				t.Fatal(err)
			}
			return os.Symlink(outside, path)
		}},
		{"station.db-wal a symlink out of the data dir", func(_ *testing.T, path, outside string) error {
			return os.Symlink(outside, path+"-wal")
		}},
		{"station.db-shm a symlink out of the data dir", func(_ *testing.T, path, outside string) error {
			return os.Symlink(outside, path+"-shm")
		}},
		{"station.db a FIFO", func(_ *testing.T, path, _ string) error { return syscall.Mkfifo(path, 0o600) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			if err := os.Mkdir(dir, 0o777); err != nil {
				t.Fatal(err)
			}
			os.Chmod(dir, 0o777) // left open to everyone
			path := filepath.Join(dir, "station.db")
			outside := filepath.Join(t.TempDir(), "attacker.db")
			if err := tc.plant(t, path, outside); err != nil {
				t.Fatal(err)
			}
			var before os.FileInfo
			if fi, err := os.Stat(outside); err == nil {
				before = fi
			}
			s, err := Open(ctx, path, Options{})
			if err == nil {
				s.Close()
				t.Fatal("opened a store through a planted file")
			}
			if !errors.Is(err, ErrNotDatabase) {
				t.Errorf("err = %v, want ErrNotDatabase", err)
			}
			fi, err := os.Stat(outside)
			switch {
			case before == nil && err == nil:
				t.Error("the station created a file where the link points")
			case before != nil && (err != nil || fi.Mode() != before.Mode() || fi.Size() != before.Size() || !fi.ModTime().Equal(before.ModTime())):
				t.Errorf("the file the link points to changed: %v → %v", before.Mode(), fi)
			}
		})
	}
}
