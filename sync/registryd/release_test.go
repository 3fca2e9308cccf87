package registryd_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kortstation/kortstation/sync/registryd"
	"github.com/kortstation/kortstation/sync/registrytest"
)

// TestReleaseAddAndList: central IT adds a release on the registry host
// (`registryd release add -version V FILE`); the bundle lands in the
// releases directory under its SHA-256, the list shows it; a version that
// is no Debian version is refused.
func TestReleaseAddAndList(t *testing.T) {
	dir := t.TempDir()
	db := registrytest.Database(t, dir)
	bundle := filepath.Join(t.TempDir(), "kortstation-1.4.0-1.raucb")
	b := bytes.Repeat([]byte("bundle bytes "), 10000)
	if err := os.WriteFile(bundle, b, 0o600); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	out := run(t, "release", "add", "-data", dir, "-database", db, "-version", "1.4.0-1", bundle)
	if !strings.Contains(out, "1.4.0-1") || !strings.Contains(out, hex.EncodeToString(sum[:])) {
		t.Errorf("release add printed %q", out)
	}
	stored, err := os.ReadFile(filepath.Join(dir, "releases", hex.EncodeToString(sum[:])+".raucb"))
	if err != nil || !bytes.Equal(stored, b) {
		t.Errorf("the stored bundle: %d bytes, %v", len(stored), err)
	}
	if out := run(t, "release", "list", "-data", dir, "-database", db); !strings.Contains(out, "1.4.0-1") || !strings.Contains(out, "host:registryd") {
		t.Errorf("release list printed %q", out)
	}
	err = registryd.Run(context.Background(), []string{"release", "add", "-data", dir, "-database", db, "-version", "latest", bundle}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "Debian version") {
		t.Errorf("version latest: %v", err)
	}
	if err := registryd.Run(context.Background(), []string{"release", "add", "-data", dir, bundle}, io.Discard, io.Discard); !errors.Is(err, registryd.ErrUsage) {
		t.Errorf("without -version: %v", err)
	}
}
