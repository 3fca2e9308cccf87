package registryd_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestDebianPackage (issue 17, packaging for central IT): the package
// holds the binary, the hardened unit, its settings as a conffile and the
// operations guide; the unit's exposure is measured by systemd-analyze;
// and the shipped settings are flags registryd understands (it refuses to
// start only for want of the admins' anchors and roles, as the guide says).
func TestDebianPackage(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	// -race: the packages are in the build cache from this test run.
	build := exec.Command("go", "build", "-race", "-o", filepath.Join(bin, "registryd"), "github.com/kortstation/kortstation/sync/cmd/registryd")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command("./deb/build-deb.sh", "-a", "amd64", "-v", "0~test", "-b", bin, "-o", filepath.Join(dir, "deb")).CombinedOutput()
	if err != nil {
		t.Fatalf("build-deb.sh: %v\n%s", err, out)
	}
	deb := strings.TrimSpace(string(out))
	contents, err := exec.Command("dpkg-deb", "-c", deb).CombinedOutput()
	if err != nil {
		t.Fatalf("dpkg-deb -c: %v\n%s", err, contents)
	}
	for _, want := range []string{"./usr/bin/registryd", "./lib/systemd/system/registryd.service", "./etc/registryd/registryd.env", "./usr/share/doc/registryd/registry-operations.md"} {
		if !strings.Contains(string(contents), want) {
			t.Errorf("the package lacks %s:\n%s", want, contents)
		}
	}
	x := filepath.Join(dir, "x")
	if out, err := exec.Command("dpkg-deb", "-R", deb, x).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb -R: %v\n%s", err, out)
	}
	if b, _ := os.ReadFile(filepath.Join(x, "DEBIAN", "conffiles")); strings.TrimSpace(string(b)) != "/etc/registryd/registryd.env" {
		t.Errorf("conffiles = %q", b)
	}

	// The unit's exposure, as docs/registry-operations.md quotes it.
	sec, _ := exec.Command("systemd-analyze", "security", "--offline=yes", filepath.Join(x, "lib/systemd/system/registryd.service")).CombinedOutput()
	m := regexp.MustCompile(`Overall exposure level for registryd.service: ([0-9.]+)`).FindSubmatch(sec)
	if m == nil {
		t.Fatalf("systemd-analyze security: no exposure level in:\n%s", sec)
	}
	if level, _ := strconv.ParseFloat(string(m[1]), 64); level > 1.5 {
		t.Errorf("registryd.service exposure %.1f, want at most 1.5 (the guide says 1.1)", level)
	}

	// The shipped settings parse; serve stops at the missing admins' files.
	env, err := os.ReadFile(filepath.Join(x, "etc/registryd/registryd.env"))
	if err != nil {
		t.Fatal(err)
	}
	opts := regexp.MustCompile(`(?m)^REGISTRYD_OPTS=(.*)$`).FindSubmatch(env)
	if opts == nil {
		t.Fatal("registryd.env sets no REGISTRYD_OPTS")
	}
	args := append([]string{"serve", "-data", filepath.Join(dir, "data")}, strings.Fields(string(opts[1]))...)
	run, _ := exec.Command(filepath.Join(x, "usr/bin/registryd"), args...).CombinedOutput()
	if !strings.Contains(string(run), "console-anchors") || strings.Contains(string(run), "flag provided but not defined") {
		t.Errorf("registryd with the shipped settings: want a refusal naming the admins' anchors file, got:\n%s", run)
	}
}
