package update

import (
	"os"
	"path/filepath"
	"testing"
)

// The same rule as images/appliance.mk's DEB_VERSION (TestDebPackage
// checks the package's: v9.8.7-apptest is 9.8.7+apptest).
func TestDebianVersion(t *testing.T) {
	for in, want := range map[string]string{
		"v9.8.7-apptest":       "9.8.7+apptest",
		"v1.2.3":               "1.2.3",
		"1.2.3":                "1.2.3",
		"v1.2.3-4-gabc1234":    "1.2.3+4+gabc1234",
		"dev":                  "0~dev",
		"abc1234-dirty":        "0~abc1234+dirty",
		"v1.2.3_rc1":           "1.2.3+rc1",
		"version-without-nums": "0~version+without+nums",
	} {
		if got := DebianVersion(in); got != want {
			t.Errorf("DebianVersion(%q) = %q, want %q", in, got, want)
		}
	}
	dir := t.TempDir()
	rel := filepath.Join(dir, "kortstation-release")
	if got := RunningVersion(rel, "v1.0.0"); got != "1.0.0" {
		t.Errorf("no release file: %q", got)
	}
	if err := os.WriteFile(rel, []byte("VERSION=2.0.0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := RunningVersion(rel, "v1.0.0"); got != "2.0.0" {
		t.Errorf("release file: %q, want 2.0.0", got)
	}
}
