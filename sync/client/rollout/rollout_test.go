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
	"github.com/kortstation/kortstation/sync/registrytest"
)

func TestMain(m *testing.M) { registrytest.Main(m) }

// setup runs the real registry over real mutual TLS with the update
// endpoints answered by rollouttest (written from the contract in
// sync/protocol until the registry serves them), optionally behind a
// fault-injecting proxy.
func setup(t *testing.T, proxy bool) (*rollouttest.Registry, *rollout.Client, *registrytest.Proxy) {
	t.Helper()
	reg := registrytest.New(t, t.TempDir())
	up := rollouttest.New()
	reg.Wrap = up.Wrap
	reg.Serve(t)
	if err := reg.Server.Seed(context.Background(), "ST-1"); err != nil {
		t.Fatal(err)
	}
	id := reg.Identity(t, "ST-1")
	var p *registrytest.Proxy
	if proxy {
		p = registrytest.NewProxy(t, reg.Addr)
		id.URL = p.URL()
	}
	c, err := rollout.New(rollout.Config{Identity: id, ReadTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return up, c, p
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
	up, c, _ := setup(t, false)
	offer, err := c.Check(ctx, "1.0.0", "A")
	if err != nil || offer != nil {
		t.Fatalf("no release: offer %+v, %v; want none", offer, err)
	}
	b := bundle(t, 300<<10)
	up.Release("1.1.0", b)
	offer, err = c.Check(ctx, "1.0.0", "A")
	if err != nil || offer == nil || offer.Version != "1.1.0" || offer.Size != int64(len(b)) {
		t.Fatalf("offer %+v, %v; want 1.1.0 of %d bytes", offer, err, len(b))
	}
	if got := up.Checks(); got[len(got)-1] != (protocol.UpdateCheckRequest{StationID: "ST-1", Version: "1.0.0", Slot: "A"}) {
		t.Errorf("the registry was told %+v", got[len(got)-1])
	}
	path := filepath.Join(t.TempDir(), "kortstation-1.1.0.raucb")
	if err := c.Download(ctx, *offer, path); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, b) {
		t.Fatalf("downloaded %d bytes (%v), want the bundle", len(got), err)
	}
	if _, err := os.Stat(path + rollout.PartSuffix); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("partial file left behind: %v", err)
	}
	// Asked again with the file in place: nothing is fetched.
	n := len(up.Offsets())
	if err := c.Download(ctx, *offer, path); err != nil || len(up.Offsets()) != n {
		t.Errorf("second download: %v, %d requests; want none", err, len(up.Offsets())-n)
	}
	// The station runs the target: no offer.
	if offer, err := c.Check(ctx, "1.1.0", "B"); err != nil || offer != nil {
		t.Errorf("running the target: offer %+v, %v", offer, err)
	}
}

// A cut connection leaves the partial file; the next attempt resumes from
// its size and the result is the whole bundle.
func TestDownloadResumes(t *testing.T) {
	ctx := context.Background()
	up, c, p := setup(t, true)
	b := bundle(t, 2<<20)
	offer := up.Release("2.0.0", b)
	path := filepath.Join(t.TempDir(), "b.raucb")
	p.Set(false, 0, 0, 700<<10) // cut each connection after 700 KiB towards the station
	var err error
	for i := 0; i < 10; i++ {
		if err = c.Download(ctx, offer, path); err == nil {
			break
		}
		var de *rollout.DownloadError
		if errors.As(err, &de) {
			t.Fatalf("a cut connection is not a refused bundle: %v", err)
		}
		c.Close() // a new connection for the next attempt
	}
	if err != nil {
		t.Fatalf("download did not finish: %v", err)
	}
	got, _ := os.ReadFile(path)
	if !bytes.Equal(got, b) {
		t.Fatal("resumed download is not the bundle")
	}
	offs := up.Offsets()
	if len(offs) < 3 || offs[0] != 0 || offs[1] == 0 {
		t.Errorf("offsets %v: want a resumed download (0, then the partial size, …)", offs)
	}
}

// Attacker's side: the bytes the registry (or anyone on its path) serves
// are only kept when they are exactly the offered size and hash.
func TestDownloadRefusesTampered(t *testing.T) {
	ctx := context.Background()
	up, c, _ := setup(t, false)
	b := bundle(t, 100<<10)
	offer := up.Release("3.0.0", b)
	dir := t.TempDir()
	path := filepath.Join(dir, "b.raucb")

	bad := append([]byte(nil), b...)
	bad[len(bad)/2] ^= 1
	up.Tamper("3.0.0", bad)
	err := c.Download(ctx, offer, path)
	var de *rollout.DownloadError
	if !errors.As(err, &de) || de.Version != "3.0.0" {
		t.Fatalf("altered bundle: %v, want a DownloadError", err)
	}
	assertEmpty(t, dir)

	up.Tamper("3.0.0", append(append([]byte(nil), b...), 'x'))
	if err := c.Download(ctx, offer, path); !errors.As(err, &de) {
		t.Fatalf("longer bundle: %v, want a DownloadError", err)
	}
	assertEmpty(t, dir)

	// A partial file longer than the offer (left by another offer of the
	// same version) is refused and removed, not sent as an offset.
	if err := os.WriteFile(path+rollout.PartSuffix, bundle(t, int(offer.Size)+1), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := c.Download(ctx, offer, path); !errors.As(err, &de) {
		t.Fatalf("oversized partial file: %v", err)
	}
	assertEmpty(t, dir)

	// A bundle file at the path that is not the offer's is replaced.
	up.Tamper("3.0.0", b)
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := c.Download(ctx, offer, path); err != nil {
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
		if err := c.Download(ctx, o, filepath.Join(dir, "x")); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// A version the registry no longer offers: the partial download goes.
func TestDownloadNotOffered(t *testing.T) {
	ctx := context.Background()
	up, c, _ := setup(t, false)
	offer := up.Release("4.0.0", bundle(t, 1000))
	up.Withdraw()
	dir := t.TempDir()
	path := filepath.Join(dir, "b.raucb")
	if err := os.WriteFile(path+rollout.PartSuffix, []byte("abc"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := c.Download(ctx, offer, path); !errors.Is(err, rollout.ErrNotOffered) {
		t.Fatalf("withdrawn: %v, want ErrNotOffered", err)
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
