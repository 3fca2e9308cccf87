package registry_test

import (
	"errors"
	"os/exec"
	"testing"

	"github.com/kortstation/kortstation/sync/registry"
)

// versionPairs are compared by CompareVersions and by dpkg itself.
var versionPairs = [][2]string{
	{"1.0", "1.0"}, {"1.0", "1.1"}, {"1.10", "1.9"}, {"1.0~rc1", "1.0"}, {"1.0~rc1", "1.0~rc2"}, {"1.0~~", "1.0~"},
	{"1.0-1", "1.0-2"}, {"1.0-1", "1.0"}, {"1:0.9", "1.0"}, {"0:1.0", "1.0"}, {"2.0a", "2.0"}, {"2.0a", "2.0b"},
	{"2.0+1", "2.0a"}, {"1.001", "1.1"}, {"1.0.1", "1.0"}, {"1.0-1ubuntu1", "1.0-1"}, {"1.2.3-4+deb12u1", "1.2.3-4"},
	{"0.0.0~git20261130.abc-1", "0.0.0-1"}, {"10", "9"}, {"1.0-0", "1.0"}, {"2026.11.30-1", "2026.12.1-1"},
	{"1.0+b1", "1.0"}, {"1.0.", "1.0"}, {"1.0-a.b", "1.0-a+b"},
}

// TestCompareVersionsAgreesWithDpkg: the registry orders releases as the
// station's installer does (dpkg --compare-versions), so "never a
// downgrade" means the same on both sides.
func TestCompareVersionsAgreesWithDpkg(t *testing.T) {
	dpkg, err := exec.LookPath("dpkg")
	if err != nil {
		t.Fatal("dpkg is needed to check the comparison against the real one:", err)
	}
	for _, p := range versionPairs {
		for _, pair := range [][2]string{p, {p[1], p[0]}} {
			got := registry.CompareVersions(pair[0], pair[1])
			want := 0
			for _, op := range []struct {
				op string
				v  int
			}{{"lt", -1}, {"gt", 1}} {
				if exec.Command(dpkg, "--compare-versions", pair[0], op.op, pair[1]).Run() == nil {
					want = op.v
				}
			}
			if got != want {
				t.Errorf("CompareVersions(%q, %q) = %d, dpkg says %d", pair[0], pair[1], got, want)
			}
		}
	}
}

func TestValidVersion(t *testing.T) {
	for _, v := range []string{"1.0", "1:2.3-4", "1.0~rc1+git2026", "2026.11.30-1", "0.1-1-2"} {
		if err := registry.ValidVersion(v); err != nil {
			t.Errorf("ValidVersion(%q): %v", v, err)
		}
	}
	for _, v := range []string{"", "v1.0", "a:1.0", "1.0/../x", "1.0 ", "1.0-", "1.0_1", "../etc", "1.0-1:2", string(make([]byte, 200))} {
		if err := registry.ValidVersion(v); !errors.Is(err, registry.ErrVersion) {
			t.Errorf("ValidVersion(%q) = %v, want ErrVersion", v, err)
		}
	}
}
