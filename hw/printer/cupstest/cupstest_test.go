package cupstest

// These tests do not touch cupsd: the tests that do are in hw/printer/ipp.

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOutputDir(t *testing.T) {
	dir := t.TempDir()
	write := func(text string) string {
		name := filepath.Join(dir, "cups-pdf.conf")
		if err := os.WriteFile(name, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return name
	}
	conf := write("# comment\nOut ${HOME}/PDF\nGrp lpadmin\n")
	if got, err := OutputDir(conf, User); err != nil || got != defaultAnonDir {
		t.Errorf("anonymous user: %q, %v; want %q", got, err, defaultAnonDir)
	}
	if got, err := OutputDir(conf, "root"); err != nil || got != "/root/PDF" {
		t.Errorf("root: %q, %v; want /root/PDF", got, err)
	}
	conf = write("AnonDirName /srv/anon\nOut /srv/pdf/${USER}\n")
	if got, err := OutputDir(conf, User); err != nil || got != "/srv/anon" {
		t.Errorf("anonymous user with AnonDirName: %q, %v; want /srv/anon", got, err)
	}
	if got, err := OutputDir(conf, "root"); err != nil || got != "/srv/pdf/root" {
		t.Errorf("root with ${USER}: %q, %v; want /srv/pdf/root", got, err)
	}
	if _, err := OutputDir(filepath.Join(dir, "missing.conf"), User); err == nil || !strings.Contains(err.Error(), InstallHint) {
		t.Errorf("missing configuration: %v; want an error naming %q", err, InstallHint)
	}
}

func TestMissingToolNamesInstallCommand(t *testing.T) {
	_, err := lookPath("kortstation-no-such-cups-tool")
	if err == nil || !strings.Contains(err.Error(), "apt-get install -y cups printer-driver-cups-pdf poppler-utils") {
		t.Errorf("lookPath of a missing tool: %v; want the apt-get command", err)
	}
}
