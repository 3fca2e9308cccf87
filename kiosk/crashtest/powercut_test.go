package crashtest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// run runs a command and fails the test with its output.
func run(t testing.TB, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
}

// partition is an ext4 file system on a loop-mounted image: the station's
// data partition. commit=60 keeps ext4's journal from writing on its own
// timer during a run (the kernel's dirty-page writeback waits 30 s too), so
// what reaches the image is what fsync (and fsync's journal commits) put
// there.
type partition struct {
	img, mnt string
}

func newPartition(t testing.TB, base, name string) *partition {
	t.Helper()
	p := &partition{img: filepath.Join(base, name+".img"), mnt: filepath.Join(base, name)}
	if err := os.Mkdir(p.mnt, 0o700); err != nil {
		t.Fatal(err)
	}
	run(t, "truncate", "-s", "256M", p.img)
	run(t, "mkfs.ext4", "-q", "-F", p.img)
	p.mount(t)
	t.Cleanup(func() { _ = exec.Command("umount", p.mnt).Run() })
	return p
}

func (p *partition) mount(t testing.TB) {
	t.Helper()
	run(t, "mount", "-o", "loop,commit=60,errors=remount-ro", p.img, p.mnt)
}

func (p *partition) umount(t testing.TB) {
	t.Helper()
	run(t, "umount", p.mnt)
}

// cut is the power cut: the image as the block device has it at this
// instant — without whatever the file system still held in memory — is
// copied to a new partition's image, mounted (ext4 replays its journal, as
// after a reboot) and returned. The live mount is then unmounted (its
// unsynced data reaches only the old image, which is thrown away).
func (p *partition) cut(t testing.TB, base, name string) *partition {
	t.Helper()
	after := &partition{img: filepath.Join(base, name+".img"), mnt: filepath.Join(base, name)}
	run(t, "cp", "--sparse=always", p.img, after.img)
	p.umount(t)
	if err := os.Remove(p.img); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(after.mnt, 0o700); err != nil {
		t.Fatal(err)
	}
	after.mount(t)
	t.Cleanup(func() { _ = exec.Command("umount", after.mnt).Run() })
	return after
}

// fileHashes are the SHA-256 of the databases and their logs in a data
// directory (the shared-memory index is rebuilt at open and not compared).
func fileHashes(dir string) map[string]string {
	out := map[string]string{}
	for _, f := range []string{"station.db", "station.db-wal", "registry/registry.db", "registry/registry.db-wal"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			out[f] = "absent"
			continue
		}
		sum := sha256.Sum256(b)
		out[f] = hex.EncodeToString(sum[:])
	}
	return out
}

// TestPowerCutDropsUnsyncedWrites checks the power cut itself: a file
// written and fsynced survives it, one written without fsync does not.
func TestPowerCutDropsUnsyncedWrites(t *testing.T) {
	base := t.TempDir()
	p := newPartition(t, base, "p")
	synced, unsynced := []byte(strings.Repeat("synced ", 1000)), []byte(strings.Repeat("unsynced ", 1000))
	f, err := os.Create(filepath.Join(p.mnt, "synced"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(synced); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	run(t, "sync", "-f", p.mnt) // the directory entry too
	if err := os.WriteFile(filepath.Join(p.mnt, "unsynced"), unsynced, 0o600); err != nil {
		t.Fatal(err)
	}
	after := p.cut(t, base, "q")
	if got, err := os.ReadFile(filepath.Join(after.mnt, "synced")); err != nil || string(got) != string(synced) {
		t.Errorf("the fsynced file after the cut: %d bytes, %v", len(got), err)
	}
	if got, err := os.ReadFile(filepath.Join(after.mnt, "unsynced")); err == nil && len(got) > 0 {
		t.Errorf("the unsynced file survived the cut (%d bytes): the cut drops nothing", len(got))
	}
	after.umount(t)
}

// TestPowerCutCampaign is the kill -9 campaign with a power cut instead of
// a process death: the station runs with its data (and the embedded
// registry's) on an ext4 loop image; at a random instant of the script the
// process is killed and the image is taken as the disk has it, dropping
// every write the kernel had not yet been made to put on the device (no
// fsync). The image is mounted again (journal replay) and the same checks
// run as after a kill -9. KORT_POWERCUT_RUNS runs (default 4; make soak
// runs more).
func TestPowerCutCampaign(t *testing.T) {
	runs := envRuns(t, "KORT_POWERCUT_RUNS", 4)
	base := t.TempDir()
	template := filepath.Join(base, "template")
	prepareTemplate(t, template, "-min-free-mb", "8")

	length := 800 * time.Millisecond // narrowed to the script's real length by runs that finish
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 16))
	sum := newTally()
	dropped := 0
	for i := range runs {
		part := newPartition(t, base, fmt.Sprintf("p%03d", i))
		dir := filepath.Join(part.mnt, "data")
		run(t, "cp", "-a", template, dir)
		run(t, "sync", "-f", dir) // the station as installed: on the disk
		s := startStation(t, dir, "-min-free-mb", "8")
		c, err := s.dial()
		if err != nil {
			t.Fatal(err)
		}
		delay := time.Duration(rng.Int64N(int64(length)))
		var after *partition
		k := runAndKill(s, c, delay, func() {
			live := fileHashes(dir)
			after = part.cut(t, base, fmt.Sprintf("q%03d", i))
			if !maps.Equal(live, fileHashes(filepath.Join(after.mnt, "data"))) {
				dropped++ // the cut took writes the file system had not put on the disk
			}
		})
		if k.err == nil && k.took < length {
			length = k.took
		}
		sum.killed(k)

		dir = filepath.Join(after.mnt, "data")
		findings := checkAtRest(t, dir, k.completed)
		findings = append(findings, checkRestarted(t, dir, k.completed, "-min-free-mb", "8")...)
		sum.report(t, i, "power cut", delay, k, findings)
		after.umount(t)
		os.Remove(after.img)
	}
	t.Logf("power-cut campaign: runs %d, operations confirmed before the cut %d, scripts finished before the cut %d, cuts that dropped unsynced writes %d, %s; cut in: %s",
		runs, sum.completedOps, sum.finished, dropped, sum.findingsLine(), sum.phaseLine())
}
