package app

import (
	"context"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kortstation/kortstation/kiosk/clock"
	"github.com/kortstation/kortstation/kiosk/config"
	"github.com/kortstation/kortstation/kiosk/store"
	"github.com/kortstation/kortstation/kiosk/trust"
	"github.com/kortstation/kortstation/kiosk/trust/trusttest"
	"github.com/kortstation/kortstation/sync/client/enrol"
)

// TestCardTrustRoots: which SITHS roots a production station's card trust
// is built from. With registry=remote and no trust-anchors, the roots from
// enrolment; an explicit trust-anchors file wins over them; enrolled roots
// that are missing or not CA certificates (a file changed behind
// enrolment's back) stop the station with the trust-anchors key and the
// reason, never a verifier that trusts them.
func TestCardTrustRoots(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	enrolled := trusttest.NewRoot(t, "SITHS e-id Root CA v2", trusttest.ECDSA)
	explicit := trusttest.NewRoot(t, "Explicit Root", trusttest.ECDSA)
	leaf, _ := enrolled.Issue(trusttest.Leaf{HSAID: "SE2321000016-A12B"})
	explicitCard, _ := explicit.Issue(trusttest.Leaf{HSAID: "SE2321000016-A12B"})

	setup := func(t *testing.T, anchors []byte) (config.Config, *store.Store) {
		dir := t.TempDir()
		cfg := config.Config{DataDir: dir, Registry: "remote", RegistryURL: "https://registry.example"}
		if anchors != nil {
			if err := os.MkdirAll(identityDir(cfg), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(enrol.TrustAnchorsFile(identityDir(cfg)), anchors, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		st, err := store.Open(ctx, filepath.Join(dir, "station.db"), store.Options{Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return cfg, st
	}
	verify := func(t *testing.T, cfg config.Config, st *store.Store) *trust.Verifier {
		t.Helper()
		v, _, err := cardTrust(ctx, cfg, st, nil, clock.System{}, log)
		if err != nil {
			t.Fatalf("card trust: %v", err)
		}
		return v
	}

	t.Run("roots from enrolment", func(t *testing.T) {
		cfg, st := setup(t, enrolled.PEM())
		v := verify(t, cfg, st)
		// The chain reaches the enrolled root (the CRL check that follows
		// is the registry material's business, not this test's).
		if _, err := v.VerifyCertificate(leaf, nil); errors.Is(err, trust.ErrUntrusted) {
			t.Errorf("a card of the enrolled root is untrusted: %v", err)
		}
		if _, err := v.VerifyCertificate(explicitCard, nil); !errors.Is(err, trust.ErrUntrusted) {
			t.Errorf("a card of another root: %v, want untrusted", err)
		}
	})
	t.Run("explicit trust-anchors win", func(t *testing.T) {
		cfg, st := setup(t, enrolled.PEM())
		cfg.TrustAnchors = filepath.Join(t.TempDir(), "roots.pem")
		if err := os.WriteFile(cfg.TrustAnchors, explicit.PEM(), 0o644); err != nil {
			t.Fatal(err)
		}
		v := verify(t, cfg, st)
		if _, err := v.VerifyCertificate(leaf, nil); !errors.Is(err, trust.ErrUntrusted) {
			t.Errorf("a card of the enrolled root with explicit trust-anchors: %v, want untrusted", err)
		}
		if _, err := v.VerifyCertificate(explicitCard, nil); errors.Is(err, trust.ErrUntrusted) {
			t.Errorf("a card of the explicit root is untrusted: %v", err)
		}
	})
	for name, anchors := range map[string][]byte{
		"no enrolled roots":         nil,
		"a card certificate posing": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Raw}),
		"not PEM":                   []byte("roots"),
	} {
		t.Run(name, func(t *testing.T) {
			cfg, st := setup(t, anchors)
			_, _, err := cardTrust(ctx, cfg, st, nil, clock.System{}, log)
			var ke *config.KeyError
			if !errors.As(err, &ke) || ke.Key != "trust-anchors" || !strings.Contains(err.Error(), "enrol") {
				t.Fatalf("card trust: %v, want a trust-anchors key error about enrolment", err)
			}
		})
	}
}

// TestEnrolFirstSkips: the first-start enrolment has nothing to do with
// roots configured, in simulation, with the embedded registry, or without a
// code (card trust then says what is missing); none of these waits for a
// registry. (The retrying first start is
// images/provision.TestProvisionedStationFirstStartServes.)
func TestEnrolFirstSkips(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for name, cfg := range map[string]config.Config{
		"trust-anchors set": {Registry: "remote", TrustAnchors: "/x.pem", EnrolCode: "C", DataDir: t.TempDir()},
		"simulation":        {Registry: "remote", Simulation: true, EnrolCode: "C", DataDir: t.TempDir()},
		"embedded":          {Registry: "embedded", EnrolCode: "C", DataDir: t.TempDir()},
		"no code":           {Registry: "remote", DataDir: t.TempDir()},
	} {
		if err := enrolFirst(ctx, cfg, nil, log); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
