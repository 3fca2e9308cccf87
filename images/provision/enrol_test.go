package provision_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/pem"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/conn/v3/gpio/gpiotest"

	"github.com/kortstation/kortstation/images/provision"
	"github.com/kortstation/kortstation/kiosk/app"
	"github.com/kortstation/kortstation/kiosk/trust"
	"github.com/kortstation/kortstation/kiosk/trust/trusttest"
	"github.com/kortstation/kortstation/sync/client/enrol"
	"github.com/kortstation/kortstation/sync/registry"
	"github.com/kortstation/kortstation/sync/registrytest"
)

func TestMain(m *testing.M) { registrytest.Main(m) }

// readEnvFile reads provisioning.env as kioskd.service's EnvironmentFile=
// does for these lines: KEY=VALUE, '#' comments, blank lines.
func readEnvFile(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s: line %q is not KEY=VALUE", path, line)
		}
		env[k] = v
	}
	return env
}

// kioskd runs the station's kioskd in-process as kioskd.service does on the
// appliance — the image's kioskd.json as shipped (no trust-anchors: the
// SITHS roots come with enrolment), provisioning.env as its environment —
// with the data directory moved to dir.
func kioskd(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	env := readEnvFile(t, filepath.Join(dir, provision.EnvFile))
	var out, logs bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := app.Main(ctx, app.Env{
		Args:   append([]string{"-config", "../deb/kioskd.json", "-data-dir", dir, "-log-format", "text"}, args...),
		Stdout: &out, Stderr: &logs,
		Getenv: func(k string) string { return env[k] },
	})
	t.Logf("kioskd %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), logs.String())
	return out.String() + logs.String(), err
}

// TestProvisionedStationEnrols proves the fix end to end with real parts:
// what provisioning writes (the touchscreen form's fingerprint only, a
// technician's CA file only, or both), read by kioskd as on the appliance
// (the image's kioskd.json with provisioning.env as its environment), makes
// the station enrol at a real registry over TLS with the one-time code and
// then sync over mTLS — on its first start and on the next one, when the
// code is spent and only the identity enrolment left under station/ counts.
// And pinning holds: a fingerprint of another CA makes kioskd refuse the
// registry before the code is sent (the code still works afterwards).
//
// The station gets its card trust from the same enrolment: the registry's
// SITHS roots land in station/trust-anchors.pem and kioskd, whose
// kioskd.json names no trust-anchors, builds card trust from them: a card
// of those roots verifies (`kioskd trust verify`), one of another root does
// not — not even when that root is pushed to the station as reference data
// (a trust_intermediates entry with its CRL), since only enrolment gives
// roots.
func TestProvisionedStationEnrols(t *testing.T) {
	root := trusttest.NewRoot(t, "SITHS e-id Root CA v2", trusttest.ECDSA)
	rogue := trusttest.NewRoot(t, "SITHS e-id Root CA v2", trusttest.ECDSA) // same name, another key
	reg := registrytest.NewWith(t, t.TempDir(), func(c *registry.Config) { c.TrustAnchors = root.PEM() })
	reg.Serve(t)
	now := time.Now()
	if _, err := reg.Server.AddCRL(context.Background(), trusttest.SignCRLDER(t, root.Cert, root.Key, now.Add(-time.Hour), now.Add(24*time.Hour))); err != nil {
		t.Fatal(err)
	}
	cards := t.TempDir()
	card := writeCard(t, filepath.Join(cards, "card.pem"), root)
	rogueCard := writeCard(t, filepath.Join(cards, "rogue-card.pem"), rogue)
	regCA := reg.Server.CA().CertPEM
	regFP := fingerprintOf(t, regCA)
	ctx := context.Background()

	for _, c := range []struct {
		name, station string
		req           func(*provision.Request)
	}{
		{"form: fingerprint only, as typed", "st-form", func(r *provision.Request) { r.RegistryCAFingerprint = grouped(regFP, " ", 4, true) }},
		{"technician: CA file only", "st-cafile", func(r *provision.Request) { r.RegistryCA = regCA }},
		{"technician: CA file and fingerprint", "st-both", func(r *provision.Request) {
			r.RegistryCA, r.RegistryCAFingerprint = regCA, grouped(regFP, ":", 2, true)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			station := c.station
			code, err := reg.Server.NewEnrolCode(ctx, station, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			req := provision.Request{RegistryURL: reg.URL, EnrolCode: code, StationID: station}
			c.req(&req)
			if err := (provision.Writer{Dir: dir, UID: -1, GID: -1}).Write(req); err != nil {
				t.Fatal(err)
			}
			out, err := kioskd(t, dir, "sync", "--once")
			if err != nil {
				t.Fatalf("first start after provisioning: enrol and sync: %v", err)
			}
			if !strings.Contains(out, "sync ok") {
				t.Fatalf("no sync: %s", out)
			}
			if strings.Contains(out, code) {
				t.Error("kioskd's output holds the enrolment code")
			}
			pinned, err := os.ReadFile(filepath.Join(dir, "station", enrol.CAFileName))
			if err != nil || fingerprintOf(t, pinned) != regFP {
				t.Fatalf("station/%s after enrolment: %v, want the registry's CA", enrol.CAFileName, err)
			}
			anchors, err := os.ReadFile(filepath.Join(dir, "station", enrol.TrustAnchorsFileName))
			if err != nil || !bytes.Equal(anchors, root.PEM()) {
				t.Fatalf("station/%s after enrolment: %v, want the registry's SITHS roots", enrol.TrustAnchorsFileName, err)
			}
			// The next start: the code is spent, the identity from
			// enrolment carries the station.
			if out, err := kioskd(t, dir, "sync", "--once"); err != nil || !strings.Contains(out, "sync ok") {
				t.Fatalf("second start: %v", err)
			}
			// Card trust from the enrolled roots, with the CRL from sync.
			if out, err := kioskd(t, dir, "-require-clock-sync=false", "trust", "verify", card); err != nil || !strings.Contains(out, "card certificate trusted") {
				t.Errorf("a card of the registry's SITHS root: %v, want trusted", err)
			}
			if _, err := kioskd(t, dir, "-require-clock-sync=false", "trust", "verify", rogueCard); !errors.Is(err, trust.ErrUntrusted) {
				t.Errorf("a card of another root: %v, want untrusted", err)
			}
		})
	}

	// Reference data cannot smuggle a root in: the other root, pushed to
	// every station as an intermediate with a CRL, does not make its card
	// trusted (the station enrolled above syncs it, then verifies).
	t.Run("a root pushed as reference data is not trusted", func(t *testing.T) {
		if _, err := reg.Server.AddIntermediate(ctx, rogue.PEM()); err != nil {
			t.Fatal(err)
		}
		if _, err := reg.Server.AddCRL(ctx, trusttest.SignCRLDER(t, rogue.Cert, rogue.Key, now.Add(-time.Hour), now.Add(24*time.Hour))); err != nil {
			t.Fatal(err)
		}
		code, err := reg.Server.NewEnrolCode(ctx, "st-smuggle", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		if err := (provision.Writer{Dir: dir, UID: -1, GID: -1}).Write(provision.Request{RegistryURL: reg.URL, EnrolCode: code, StationID: "st-smuggle",
			RegistryCAFingerprint: regFP}); err != nil {
			t.Fatal(err)
		}
		if out, err := kioskd(t, dir, "sync", "--once"); err != nil || !strings.Contains(out, "sync ok") {
			t.Fatalf("enrol and sync: %v", err)
		}
		if _, err := kioskd(t, dir, "-require-clock-sync=false", "trust", "verify", rogueCard); !errors.Is(err, trust.ErrUntrusted) {
			t.Errorf("a card of a root the registry sent as an intermediate: %v, want untrusted", err)
		}
		if _, err := kioskd(t, dir, "-require-clock-sync=false", "trust", "verify", card); err != nil {
			t.Errorf("a card of the enrolled root, after the push: %v", err)
		}
		if b, _ := os.ReadFile(filepath.Join(dir, "station", enrol.TrustAnchorsFileName)); !bytes.Equal(b, root.PEM()) {
			t.Error("sync changed the enrolled roots")
		}
	})

	t.Run("fingerprint of another CA is refused, the code not sent", func(t *testing.T) {
		code, err := reg.Server.NewEnrolCode(ctx, "st-pinned", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		w := provision.Writer{Dir: dir, UID: -1, GID: -1}
		if err := w.Write(provision.Request{RegistryURL: reg.URL, EnrolCode: code, StationID: "st-pinned",
			RegistryCAFingerprint: grouped(fingerprintOf(t, selfSignedPEM(t)), ":", 2, true)}); err != nil {
			t.Fatal(err)
		}
		_, err = kioskd(t, dir, "sync", "--once")
		if !errors.Is(err, enrol.ErrFingerprint) {
			t.Fatalf("enrolment against a registry whose CA is not the pinned one: %v, want ErrFingerprint", err)
		}
		if _, err := os.Stat(filepath.Join(dir, "station", enrol.CertFileName)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("a station certificate was stored after a refused enrolment: %v", err)
		}
		// The code never reached the registry: provisioned again with the
		// right fingerprint, the station enrols with it.
		dir2 := t.TempDir()
		if err := (provision.Writer{Dir: dir2, UID: -1, GID: -1}).Write(provision.Request{RegistryURL: reg.URL, EnrolCode: code, StationID: "st-pinned",
			RegistryCAFingerprint: regFP}); err != nil {
			t.Fatal(err)
		}
		if out, err := kioskd(t, dir2, "sync", "--once"); err != nil || !strings.Contains(out, "sync ok") {
			t.Fatalf("enrolment with the code after the refusal: %v", err)
		}
	})
}

// writeCard writes an operator card's certificate under ca to path (PEM)
// and returns path.
func writeCard(t *testing.T, path string, ca *trusttest.CA) string {
	t.Helper()
	c, _ := ca.Issue(trusttest.Leaf{HSAID: "SE2321000016-A12B"})
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestProvisionedStationFirstStartServes is the appliance's very first
// start, `kioskd serve` as kioskd.service runs it (the image's kioskd.json
// as shipped, provisioning.env; the drawer's GPIO pin a test pin, the
// reader and printer daemons absent): the SITHS roots come with enrolment,
// so kioskd enrols before it builds card trust. While the registry cannot
// be reached it neither crash-loops nor serves without trust: it logs why
// and retries; once the registry answers it enrols, builds card trust from
// the enrolled roots and serves.
func TestProvisionedStationFirstStartServes(t *testing.T) {
	if err := gpioreg.Register(&gpiotest.Pin{N: "GPIO17", EdgesChan: make(chan gpio.Level)}); err != nil {
		t.Fatal(err)
	}
	root := trusttest.NewRoot(t, "SITHS e-id Root CA v2", trusttest.ECDSA)
	reg := registrytest.NewWith(t, t.TempDir(), func(c *registry.Config) { c.TrustAnchors = root.PEM() })
	reg.Serve(t)
	reg.Stop() // down at the first start; the address stays
	code, err := reg.Server.NewEnrolCode(context.Background(), "st-first", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := (provision.Writer{Dir: dir, UID: -1, GID: -1}).Write(provision.Request{RegistryURL: reg.URL, EnrolCode: code, StationID: "st-first",
		RegistryCAFingerprint: fingerprintOf(t, reg.Server.CA().CertPEM)}); err != nil {
		t.Fatal(err)
	}
	env := readEnvFile(t, filepath.Join(dir, provision.EnvFile))
	logs := &syncBuffer{}
	ready := make(chan string, 1)
	done := make(chan error, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		done <- app.Main(ctx, app.Env{
			Args: []string{"-config", "../deb/kioskd.json", "-data-dir", dir, "-log-format", "text",
				"-listen", "127.0.0.1:0", "-allowed-hosts", "127.0.0.1:0", "-ui-token-file", filepath.Join(dir, "ui-token"),
				"-update-spool", filepath.Join(dir, "spool"), "-sync-interval", "1h"},
			Stdout: io.Discard, Stderr: logs,
			Getenv: func(k string) string { return env[k] },
			Ready:  func(a string) { ready <- a },
		})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("kioskd stopped with %v", err)
		}
		if t.Failed() {
			t.Log(logs.String())
		}
	}()
	deadline := time.After(30 * time.Second)
	for !strings.Contains(logs.String(), "enrolment failed") {
		select {
		case a := <-ready:
			t.Fatalf("kioskd serves on %s before it is enrolled", a)
		case err := <-done:
			done <- err
			t.Fatalf("kioskd exited while the registry was down: %v", err)
		case <-deadline:
			t.Fatal("no enrolment failure logged while the registry was down")
		case <-time.After(50 * time.Millisecond):
		}
	}
	if strings.Contains(logs.String(), code) {
		t.Error("the enrolment code is in the log")
	}
	reg.Serve(t) // the registry comes up: the next attempt enrols
	select {
	case <-ready:
	case err := <-done:
		done <- err
		t.Fatalf("kioskd exited: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("kioskd did not serve after the registry came up")
	}
	if b, err := os.ReadFile(filepath.Join(dir, "station", enrol.TrustAnchorsFileName)); err != nil || !bytes.Equal(b, root.PEM()) {
		t.Errorf("enrolled roots: %v", err)
	}
	if !strings.Contains(logs.String(), "cards are trusted by the SITHS roots from enrolment") {
		t.Error("card trust was not built from the enrolled roots")
	}
}
