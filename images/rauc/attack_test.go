package rauc

// The local station user (kioskd's uid) against root: everything in
// /var/lib/kortstation is the station user's, who may rename, replace or
// link anything there at any moment, also between two commands of a root
// script. These tests play that user; the races are made certain by
// wrapping the command after which the user would act (a stand-in in PATH
// that does what the real one does, then what the user would do).

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kortstation/kortstation/kiosk/update"
)

// TestRootUnitsTakeNoEnvironmentFromTheStationUser: a unit that runs as
// root must not read an EnvironmentFile= the station user can write
// (/var/lib/kortstation is the station user's): LD_PRELOAD=, PATH= or
// KS_AB_BACKEND= there would run the station user's code as root at the
// next boot. kortstation-health.service needs provisioning.env for the
// check only, which runs as the station user.
func TestRootUnitsTakeNoEnvironmentFromTheStationUser(t *testing.T) {
	units, err := filepath.Glob(filepath.Join(repo(t), "systemd", "*.service"))
	if err != nil || len(units) == 0 {
		t.Fatalf("no units: %v", err)
	}
	for _, u := range units {
		f, err := os.Open(u)
		if err != nil {
			t.Fatal(err)
		}
		var user string
		var envFiles []string
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if v, ok := strings.CutPrefix(line, "User="); ok {
				user = v
			}
			if v, ok := strings.CutPrefix(line, "EnvironmentFile="); ok {
				envFiles = append(envFiles, strings.TrimPrefix(v, "-"))
			}
		}
		f.Close()
		if user != "" && user != "root" {
			continue
		}
		for _, e := range envFiles {
			if strings.HasPrefix(e, "/var/lib/kortstation/") || strings.HasPrefix(e, "/run/kortstation") || strings.HasPrefix(e, "/tmp/") {
				t.Errorf("%s runs as root and reads EnvironmentFile=%s, which the station user can write", filepath.Base(u), e)
			}
		}
	}
}

// raceMktemp puts a stand-in for mktemp first in PATH that runs the real
// one and then, once, does what the station user can do to the name it
// returned in the station user's directory: replace it with a symlink to
// victim (for mktemp -u, plant the symlink at the name before root uses
// it — more than a real attacker can, who does not know the name).
func raceMktemp(t *testing.T, victim string) (bin string) {
	t.Helper()
	bin = t.TempDir()
	once := filepath.Join(t.TempDir(), "done")
	write(t, filepath.Join(bin, "mktemp"), `#!/bin/sh
name=$(/usr/bin/mktemp "$@") || exit 1
if [ ! -e '`+once+`' ]; then
	: > '`+once+`'
	rm -f "$name"
	ln -s '`+victim+`' "$name"
fi
echo "$name"
`)
	if err := os.Chmod(filepath.Join(bin, "mktemp"), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

// rootSecret is a root-only file the station user must neither change
// nor get to read.
func rootSecret(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(p, []byte("root's secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func wantUntouched(t *testing.T, what, secret string) {
	t.Helper()
	fi, err := os.Stat(secret)
	if err != nil {
		t.Fatal(err)
	}
	if got := read(t, secret); got != "root's secret\n" || fi.Mode().Perm() != 0o600 {
		t.Errorf("%s: root wrote through the station user's symlink: %q, mode %v (want unchanged, 0600)", what, got, fi.Mode().Perm())
	}
}

// wantOutcome: the outcome file is a regular file, 0644, that kioskd
// accepts, with result.
func wantOutcome(t *testing.T, what, path, result string) {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o644 {
		t.Errorf("%s: outcome file %v, %v; want a regular file, 0644", what, fi, err)
		return
	}
	if o, err := update.ReadOutcome(path); err != nil || o.Result != result {
		t.Errorf("%s: outcome %+v, %v; want %s", what, o, err, result)
	}
}

// fakeHealthEnv is the environment for kortstation-health on a trial
// boot of slot B (committed A) with a stand-in rauc and backend, which
// need no RAUC service: only the outcome file matters here.
func fakeHealthEnv(t *testing.T, dir, result string) []string {
	t.Helper()
	bin := filepath.Join(dir, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(bin, "backend"), "#!/bin/sh\ncase $1 in get-current|get-trial) echo B;; get-committed) echo A;; esac\n")
	write(t, filepath.Join(bin, "rauc"), "#!/bin/sh\nexit 0\n")
	for _, f := range []string{"backend", "rauc"} {
		if err := os.Chmod(filepath.Join(bin, f), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	release := filepath.Join(dir, "release")
	write(t, release, "VERSION=2.0.0\n")
	return []string{"KS_AB_BACKEND=" + filepath.Join(bin, "backend"), "KS_UPDATE_RESULT=" + result,
		"KS_RELEASE_FILE=" + release, "KS_REBOOT=true", "KS_AB_BOOT_ID=" + release, "PATH=" + bin + ":" + os.Getenv("PATH")}
}

// TestOutcomeWriteFollowsNothing: root writes the update outcome into the
// station user's directory. The station user swaps the temporary file
// root just made for a symlink to a root-only file, between mktemp and
// root's write (a race it can win with inotify): root must neither write
// into that file nor make it readable (chmod 0644). And a symlink at the
// outcome name pointing at a directory of root's must not make root put
// a file in there (mv without -T moves into a directory).
func TestOutcomeWriteFollowsNothing(t *testing.T) {
	t.Run("kortstation-health", func(t *testing.T) {
		dir := t.TempDir()
		result := filepath.Join(dir, "update-result")
		secret := rootSecret(t)
		env := fakeHealthEnv(t, dir, result)
		env[len(env)-1] = strings.Replace(env[len(env)-1], "PATH=", "PATH="+raceMktemp(t, secret)+":", 1)
		out, err := shErr(env, script(t, "kortstation-health"), "true")
		if err != nil {
			t.Fatalf("kortstation-health: %v\n%s", err, out)
		}
		wantUntouched(t, "kortstation-health", secret)
		wantOutcome(t, "kortstation-health", result, "committed")
	})
	t.Run("kortstation-update-spool", func(t *testing.T) {
		dir := t.TempDir()
		result := filepath.Join(dir, "update-result")
		secret := rootSecret(t)
		ready := filepath.Join(dir, "ready.raucb")
		if err := os.Mkdir(ready, 0o755); err != nil { // not a regular file: refused
			t.Fatal(err)
		}
		env := []string{"KS_UPDATE_RESULT=" + result, "KS_UPDATE_WORK=" + filepath.Join(dir, "work"), "KS_UPDATE_CMD=false", "PATH=" + raceMktemp(t, secret) + ":" + os.Getenv("PATH")}
		if out, err := shErr(env, script(t, "kortstation-update-spool"), ready); err == nil {
			t.Fatalf("a directory in the spool was not refused:\n%s", out)
		}
		wantUntouched(t, "kortstation-update-spool", secret)
		wantOutcome(t, "kortstation-update-spool", result, "install_error")
	})
	t.Run("symlink to a directory", func(t *testing.T) {
		dir := t.TempDir()
		result := filepath.Join(dir, "update-result")
		rootDir := t.TempDir()
		if err := os.Symlink(rootDir, result); err != nil {
			t.Fatal(err)
		}
		out, err := shErr(fakeHealthEnv(t, dir, result), script(t, "kortstation-health"), "true")
		if err != nil {
			t.Fatalf("kortstation-health: %v\n%s", err, out)
		}
		if ents, _ := os.ReadDir(rootDir); len(ents) != 0 {
			t.Errorf("root put %s into the directory the station user's symlink points at", ents[0].Name())
		}
		wantOutcome(t, "symlink to a directory", result, "committed")
	})
}

// TestSpoolCopyFollowsNoLinkSwappedIn: the station user replaces the
// spooled bundle with a symlink to a root-only file after the script
// looked at it and before it copies it: root must not copy the file it
// points at (nor read /dev/zero without end, filling the disk as root).
// The stand-in for the copy's command swaps the link in just before it
// runs; the stand-in installer records what root would hand to RAUC.
func TestSpoolCopyFollowsNoLinkSwappedIn(t *testing.T) {
	dir := t.TempDir()
	secret := rootSecret(t)
	spool := filepath.Join(dir, "spool")
	if err := os.Mkdir(spool, 0o755); err != nil {
		t.Fatal(err)
	}
	ready := filepath.Join(spool, update.SpoolName)
	bin := t.TempDir()
	for _, tool := range []string{"cp", "dd", "cat"} {
		write(t, filepath.Join(bin, tool), `#!/bin/sh
rm -f '`+ready+`' && ln -s '`+secret+`' '`+ready+`'
exec /usr/bin/`+tool+` "$@"
`)
		if err := os.Chmod(filepath.Join(bin, tool), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	handed := filepath.Join(dir, "handed")
	install := filepath.Join(dir, "install")
	write(t, install, "#!/bin/sh\n/usr/bin/cp \"$1\" '"+handed+"'\nexit 1\n")
	if err := os.Chmod(install, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, ready, "a bundle\n")
	result := filepath.Join(dir, "update-result")
	env := []string{"PATH=" + bin + ":" + os.Getenv("PATH"), "KS_UPDATE_RESULT=" + result,
		"KS_UPDATE_WORK=" + filepath.Join(dir, "work"), "KS_UPDATE_CMD=" + install}
	out, err := shErr(env, script(t, "kortstation-update-spool"), ready)
	if err == nil {
		t.Fatalf("spool: no refusal\n%s", out)
	}
	if b, err := os.ReadFile(handed); err == nil && strings.Contains(string(b), "secret") {
		t.Errorf("root copied the file the station user's symlink points at and handed it to the installer: %q", b)
	}
	wantUntouched(t, "spool", secret)
	if _, err := os.Lstat(ready); !os.IsNotExist(err) {
		t.Errorf("the spool still holds %s (%v)", ready, err)
	}
	wantOutcome(t, "spool", result, "install_error")
}
