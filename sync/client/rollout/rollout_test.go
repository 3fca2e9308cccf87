package rollout_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kortstation/kortstation/sync/client/rollout"
	"github.com/kortstation/kortstation/sync/client/rollout/rollouttest"
	"github.com/kortstation/kortstation/sync/protocol"
	"github.com/kortstation/kortstation/sync/registry"
	"github.com/kortstation/kortstation/sync/registrytest"
)

func TestMain(m *testing.M) { registrytest.Main(m) }

// station is a rollout client of ST-1 towards the real registry over real
// mutual TLS, optionally behind a fault-injecting proxy.
type station struct {
	reg *registrytest.Registry
	c   *rollout.Client
	p   *registrytest.Proxy
}

func newStation(t *testing.T, proxy bool) *station {
	t.Helper()
	s := &station{reg: registrytest.Start(t)}
	if err := s.reg.Server.Seed(context.Background(), "ST-1"); err != nil {
		t.Fatal(err)
	}
	id := s.reg.Identity(t, "ST-1")
	if proxy {
		s.p = registrytest.NewProxy(t, s.reg.Addr)
		id.URL = s.p.URL()
	}
	c, err := rollout.New(rollout.Config{Identity: id, ReadTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	s.c = c
	return s
}

// release adds a bundle to the registry and makes it the target of the
// pilot group, with ST-1 in it.
func (s *station) release(t *testing.T, version string, b []byte) registry.Release {
	t.Helper()
	ctx := context.Background()
	rel, err := s.reg.Server.AddRelease(ctx, version, bytes.NewReader(b), "release-owner")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.reg.Server.SetStationGroup(ctx, "ST-1", registry.GroupPilot); err != nil {
		t.Fatal(err)
	}
	if err := s.reg.Server.SetGroupTarget(ctx, registry.GroupPilot, version, "station-manager"); err != nil {
		t.Fatal(err)
	}
	return rel
}

func (s *station) offer(t *testing.T, running string) protocol.UpdateOffer {
	t.Helper()
	o, err := s.c.Check(context.Background(), running, "A")
	if err != nil || o == nil {
		t.Fatalf("offer %+v, %v", o, err)
	}
	return *o
}

func bundle(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCheckAndDownload(t *testing.T) {
	ctx := context.Background()
	s := newStation(t, false)
	offer, err := s.c.Check(ctx, "1.0.0", "A")
	if err != nil || offer != nil {
		t.Fatalf("no release: offer %+v, %v; want none", offer, err)
	}
	b := bundle(t, 300<<10)
	s.release(t, "1.1.0", b)
	offer, err = s.c.Check(ctx, "1.0.0", "A")
	if err != nil || offer == nil || offer.Version != "1.1.0" || offer.Size != int64(len(b)) || offer.Group != registry.GroupPilot {
		t.Fatalf("offer %+v, %v; want 1.1.0 of %d bytes for the pilot group", offer, err, len(b))
	}
	ups, err := s.reg.Server.StationUpdates(ctx)
	if err != nil || ups["ST-1"].Version != "1.0.0" || ups["ST-1"].Slot != "A" {
		t.Errorf("the registry was told %+v (%v), want 1.0.0 in slot A", ups["ST-1"], err)
	}
	path := filepath.Join(t.TempDir(), "kortstation-1.1.0.raucb")
	if err := s.c.Download(ctx, *offer, path); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, b) {
		t.Fatalf("downloaded %d bytes (%v), want the bundle", len(got), err)
	}
	if _, err := os.Stat(path + rollout.PartSuffix); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("partial file left behind: %v", err)
	}
	// Asked again with the file in place: kept without a request (the
	// registry is stopped, so any request would fail).
	s.reg.Stop()
	if err := s.c.Download(ctx, *offer, path); err != nil {
		t.Errorf("second download: %v, want the file kept without a request", err)
	}
	s.reg.Serve(t)
	// The registry restarted: the pooled connection to the old process is
	// dead, and a POST is not retried on it. A station's next check opens
	// a new one; so does this test.
	s.c.Close()
	// The station runs the target: no offer.
	if offer, err := s.c.Check(ctx, "1.1.0", "B"); err != nil || offer != nil {
		t.Errorf("running the target: offer %+v, %v", offer, err)
	}
}

// A cut connection leaves the partial file; the next attempt resumes from
// its size and the result is the whole bundle.
func TestDownloadResumes(t *testing.T) {
	ctx := context.Background()
	s := newStation(t, true)
	b := bundle(t, 2<<20)
	s.release(t, "2.0.0", b)
	offer := s.offer(t, "1.0.0")
	path := filepath.Join(t.TempDir(), "b.raucb")
	s.p.Set(false, 0, 0, 700<<10) // cut each connection after 700 KiB towards the station
	var err error
	attempts := 0
	for attempts = 1; attempts <= 10; attempts++ {
		if err = s.c.Download(ctx, offer, path); err == nil {
			break
		}
		var de *rollout.DownloadError
		if errors.As(err, &de) {
			t.Fatalf("a cut connection is not a refused bundle: %v", err)
		}
		s.c.Close() // a new connection for the next attempt
	}
	if err != nil {
		t.Fatalf("download did not finish: %v", err)
	}
	got, _ := os.ReadFile(path)
	if !bytes.Equal(got, b) {
		t.Fatal("resumed download is not the bundle")
	}
	if attempts < 3 {
		t.Errorf("finished in %d attempts through a proxy cutting every 700 KiB: not resumed", attempts)
	}
	// Finishing at all proves the resumption: no connection carries more
	// than 700 KiB of a 2 MiB bundle, so a download that started over
	// would never end. (What came down may exceed the bundle by what sat
	// in socket buffers when a connection was cut; not bounded under load,
	// so not asserted.)
}

// Attacker's side: the bytes the registry (or anyone on its path) serves
// are only kept when they are exactly the offered size and hash.
func TestDownloadRefusesTampered(t *testing.T) {
	ctx := context.Background()
	b := bundle(t, 100<<10)
	dir := t.TempDir()
	path := filepath.Join(dir, "b.raucb")

	// The real registry serving bytes changed on its disk (same size).
	s := newStation(t, false)
	rel := s.release(t, "3.0.0", b)
	offer := s.offer(t, "1.0.0")
	bad := append([]byte(nil), b...)
	bad[len(bad)/2] ^= 1
	if err := os.WriteFile(filepath.Join(s.reg.Dir, "releases", rel.SHA256+".raucb"), bad, 0o644); err != nil {
		t.Fatal(err)
	}
	err := s.c.Download(ctx, offer, path)
	var de *rollout.DownloadError
	if !errors.As(err, &de) || de.Version != "3.0.0" {
		t.Fatalf("altered bundle: %v, want a DownloadError", err)
	}
	assertEmpty(t, dir)

	// A partial file longer than the offer (left by another offer of the
	// same version) is refused and removed, not sent as an offset.
	if err := os.WriteFile(path+rollout.PartSuffix, bundle(t, int(offer.Size)+1), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.c.Download(ctx, offer, path); !errors.As(err, &de) {
		t.Fatalf("oversized partial file: %v", err)
	}
	assertEmpty(t, dir)

	// A bundle file at the path that is not the offer's is replaced.
	if err := os.WriteFile(filepath.Join(s.reg.Dir, "releases", rel.SHA256+".raucb"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.c.Download(ctx, offer, path); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, b) {
		t.Error("a stale bundle at the path was kept")
	}

	// Offers that are not well formed are refused before a byte is asked.
	for name, o := range map[string]protocol.UpdateOffer{
		"path in version": {Version: "../../etc/x", SHA256: offer.SHA256, Size: 10},
		"short hash":      {Version: "3.0.1", SHA256: "abc", Size: 10},
		"no size":         {Version: "3.0.1", SHA256: offer.SHA256},
		"huge":            {Version: "3.0.1", SHA256: offer.SHA256, Size: 1 << 40},
	} {
		if err := s.c.Download(ctx, o, filepath.Join(dir, "x")); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// Attacker's side: a registry that sends more bytes than it offered. The
// real registry never does (it refuses to serve a file whose size is not
// the release's), so rollouttest stands in for it, behind the real
// registry's TLS.
func TestDownloadRefusesLonger(t *testing.T) {
	ctx := context.Background()
	reg := registrytest.New(t, t.TempDir())
	up := rollouttest.New()
	reg.Wrap = up.Wrap
	reg.Serve(t)
	if err := reg.Server.Seed(ctx, "ST-1"); err != nil {
		t.Fatal(err)
	}
	c, err := rollout.New(rollout.Config{Identity: reg.Identity(t, "ST-1")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	b := bundle(t, 50<<10)
	offer := up.Release("3.0.0", b)
	up.Tamper("3.0.0", append(append([]byte(nil), b...), 'x'))
	dir := t.TempDir()
	var de *rollout.DownloadError
	if err := c.Download(ctx, offer, filepath.Join(dir, "b.raucb")); !errors.As(err, &de) {
		t.Fatalf("longer bundle: %v, want a DownloadError", err)
	}
	assertEmpty(t, dir)
}

// A version the registry does not offer (withdrawn, or made up): the
// partial download goes.
func TestDownloadNotOffered(t *testing.T) {
	ctx := context.Background()
	s := newStation(t, false)
	s.release(t, "4.0.0", bundle(t, 1000))
	made := s.offer(t, "1.0.0")
	made.Version = "4.0.1"
	dir := t.TempDir()
	path := filepath.Join(dir, "b.raucb")
	if err := os.WriteFile(path+rollout.PartSuffix, []byte("abc"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.c.Download(ctx, made, path); !errors.Is(err, rollout.ErrNotOffered) {
		t.Fatalf("not offered: %v, want ErrNotOffered", err)
	}
	assertEmpty(t, dir)
}

func assertEmpty(t *testing.T, dir string) {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		t.Errorf("left behind: %s", e.Name())
	}
}

// TestDownloadAfterPowerCut: a power cut during a download can leave the
// partial file with the right length but wrong bytes (blocks the file
// system had not written: zeros). The resumed download hashes the bytes
// already there with the rest, so it never passes: it is refused and
// removed (a download_error), and the next attempt starts over and gets
// the bundle.
func TestDownloadAfterPowerCut(t *testing.T) {
	ctx := context.Background()
	b := bundle(t, 256<<10)
	dir := t.TempDir()
	path := filepath.Join(dir, "kortstation-4.0.0.raucb")
	s := newStation(t, false)
	s.release(t, "4.0.0", b)
	offer := s.offer(t, "1.0.0")
	part := append([]byte(nil), b[:100<<10]...)
	clear(part[60<<10 : 64<<10]) // a block lost in the cut
	if err := os.WriteFile(path+rollout.PartSuffix, part, 0o600); err != nil {
		t.Fatal(err)
	}
	var de *rollout.DownloadError
	if err := s.c.Download(ctx, offer, path); !errors.As(err, &de) {
		t.Fatalf("resumed over a damaged partial file: %v, want a DownloadError", err)
	}
	assertEmpty(t, dir)
	if err := s.c.Download(ctx, offer, path); err != nil {
		t.Fatalf("the next attempt: %v", err)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, b) {
		t.Error("the bundle after the power cut is not the release's")
	}
}
