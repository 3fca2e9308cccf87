package clock

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestSystemSourceFollowsSyncFile(t *testing.T) {
	if kernelSynced() {
		// The kernel already says synchronised: the file cannot change the answer.
		if got := (System{SyncFile: "/nonexistent"}).Source(); got != SourceNTP {
			t.Fatalf("kernel synced but Source = %q", got)
		}
		return
	}
	f := filepath.Join(t.TempDir(), "synchronized")
	s := System{SyncFile: f}
	if got := s.Source(); got != SourceUnsynced || Synced(s) {
		t.Fatalf("without the file: %q", got)
	}
	os.WriteFile(f, nil, 0o644)
	if got := s.Source(); got != SourceNTP || !Synced(s) {
		t.Fatalf("with the file: %q", got)
	}
}

func TestFixed(t *testing.T) {
	c := &Fixed{T: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	c.Advance(time.Hour)
	if c.Now().Hour() != 1 || c.Source() != SourceFixed || !Synced(c) {
		t.Fatalf("%v %s", c.Now(), c.Source())
	}
}
