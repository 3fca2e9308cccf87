package app

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestUITokenPlantedFilesAreNotTrusted plays a local user who plants
// something at the token's path before kioskd starts, hoping kioskd adopts
// a token they know, or writes its token where they can read it. kioskd
// reuses only its own private, well-formed file; anything else is replaced
// by a new token in a fresh 0640 regular file, and nothing outside the
// path is read through or written.
func TestUITokenPlantedFilesAreNotTrusted(t *testing.T) {
	known := strings.Repeat("ab", 32) // the attacker knows this token
	for _, tc := range []struct {
		name  string
		plant func(t *testing.T, path, outside string)
		reuse bool
	}{
		{"kioskd's own file (a restart in the same boot)", func(t *testing.T, path, _ string) {
			writeFile(t, path, known+"\n")
			os.Chmod(path, 0o640)
		}, true},
		{"a symlink to a file the attacker wrote", func(t *testing.T, path, outside string) {
			writeFile(t, outside, known+"\n")
			must(t, os.Symlink(outside, path))
		}, false},
		{"a dangling symlink where the attacker would read", func(t *testing.T, path, outside string) {
			must(t, os.Symlink(outside, path))
		}, false},
		{"a file owned by another user", func(t *testing.T, path, _ string) {
			writeFile(t, path, known+"\n")
			must(t, os.Chmod(path, 0o640))
			// The tests run as root (make test); chown needs it.
			must(t, os.Lchown(path, 65534, 65534))
		}, false},
		{"a world-readable file", func(t *testing.T, path, _ string) {
			writeFile(t, path, known+"\n")
			must(t, os.Chmod(path, 0o644))
		}, false},
		{"a group-writable file", func(t *testing.T, path, _ string) {
			writeFile(t, path, known+"\n")
			must(t, os.Chmod(path, 0o660))
		}, false},
		{"a short token", func(t *testing.T, path, _ string) { writeFile(t, path, known[:32]+"\n") }, false},
		{"a token that is not hex", func(t *testing.T, path, _ string) { writeFile(t, path, strings.Repeat("zz", 32)) }, false},
		{"a FIFO (a read would block)", func(t *testing.T, path, _ string) { must(t, syscall.Mkfifo(path, 0o600)) }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "ui-token")
			outside := filepath.Join(t.TempDir(), "attacker-reads-here")
			tc.plant(t, path, outside)
			tok, err := uiToken(path)
			if err != nil {
				t.Fatal(err)
			}
			if tc.reuse != (tok == known) {
				t.Fatalf("token %q: reused = %v, want %v", tok, tok == known, tc.reuse)
			}
			fi, err := os.Lstat(path)
			if err != nil {
				t.Fatal(err)
			}
			st := fi.Sys().(*syscall.Stat_t)
			if !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o640 || int(st.Uid) != os.Getuid() {
				t.Errorf("token file %v uid %d, want a regular 0640 file of ours", fi.Mode(), st.Uid)
			}
			if got := strings.TrimSpace(readFile(t, path)); got != tok {
				t.Errorf("file holds %q, kioskd uses %q", got, tok)
			}
			if b, err := os.ReadFile(outside); err == nil && strings.Contains(string(b), tok) {
				t.Error("the token was written through the symlink")
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestStaleTokenAfterANewBoot: the token file lives on /run, so a reboot
// removes it; kioskd then makes a new token and the one a process kept
// from the last boot opens nothing.
func TestStaleTokenAfterANewBoot(t *testing.T) {
	dir := t.TempDir()
	r := startIn(t, dir, "-sync-interval", "1h")
	stale := strings.TrimSpace(readFile(t, filepath.Join(dir, "ui-token")))
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	must(t, os.Remove(filepath.Join(dir, "ui-token"))) // the reboot
	r2 := startIn(t, dir, "-sync-interval", "1h")
	if _, resp, err := r2.dialToken(t, "http://127.0.0.1:0", "127.0.0.1:0", stale); err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("the last boot's token: err=%v, want 403", err)
	}
	c, _, err := r2.dial(t, "http://127.0.0.1:0", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("this boot's token: %v", err)
	}
	c.Close()
	if strings.Contains(r.logs.String()+r2.logs.String(), stale) {
		t.Error("a token reached the log")
	}
}
