package registry_test

import (
	"bytes"
	"context"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kortstation/kortstation/kiosk/trust/trusttest"
	"github.com/kortstation/kortstation/sync/client/enrol"
	"github.com/kortstation/kortstation/sync/pki"
	"github.com/kortstation/kortstation/sync/protocol"
	"github.com/kortstation/kortstation/sync/registry"
	"github.com/kortstation/kortstation/sync/registrytest"
)

// TestOpenRefusesBadTrustAnchors: the SITHS roots a registry hands out
// must each be a CA certificate; a card's certificate or a non-PEM file
// keeps the registry from opening.
func TestOpenRefusesBadTrustAnchors(t *testing.T) {
	root := trusttest.NewRoot(t, "SITHS e-id Root CA v2", trusttest.ECDSA)
	leaf, _ := root.Issue(trusttest.Leaf{HSAID: "SE2321000016-A12B"})
	for name, anchors := range map[string][]byte{
		"a card certificate": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Raw}),
		"a root and a card":  append(root.PEM(), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Raw})...),
		"not PEM":            []byte("SITHS e-id Root CA v2"),
	} {
		dir := t.TempDir()
		_, err := registry.Open(context.Background(), registrytest.On(t, registry.Config{DataDir: dir, Logger: registrytest.Logger(t), TrustAnchors: anchors}))
		if !errors.Is(err, pki.ErrBadTrustAnchor) {
			t.Errorf("%s: Open = %v, want ErrBadTrustAnchor", name, err)
		}
	}
}

// TestEnrolNeedsTrustAnchors: a registry without SITHS roots refuses to
// enrol — the station would be unable to trust any card — with 503
// no_trust_anchors, storing nothing on the station and leaving the code
// unspent; configured with roots, the same code enrols the station and it
// gets exactly those roots.
func TestEnrolNeedsTrustAnchors(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	bare := registrytest.NewWith(t, dir, func(c *registry.Config) { c.TrustAnchors = nil })
	code, err := bare.Server.NewEnrolCode(ctx, "ST-ROOTS", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	bare.Serve(t)
	stationDir := t.TempDir()
	_, err = enrol.Enrol(ctx, bare.URL, code, bare.Server.CA().Fingerprint(), stationDir)
	var pe *protocol.Error
	if !errors.As(err, &pe) || pe.Code != protocol.CodeNoTrustAnchors || pe.Status != 503 {
		t.Fatalf("enrol at a registry without roots: %v, want 503 %s", err, protocol.CodeNoTrustAnchors)
	}
	if entries, _ := os.ReadDir(stationDir); len(entries) != 0 {
		t.Errorf("the station stored %d files after a refused enrolment", len(entries))
	}
	if _, err := bare.Server.Enrol(ctx, code, nil); !errors.Is(err, registry.ErrNoTrustAnchors) {
		t.Errorf("Server.Enrol without roots: %v, want ErrNoTrustAnchors", err)
	}

	// A registry on the same database, now with roots (its own data
	// directory and CA): the code was not spent.
	bare.Stop()
	root := trusttest.NewRoot(t, "SITHS e-id Root CA v2", trusttest.ECDSA)
	withRoots := registrytest.NewWith(t, t.TempDir(), func(c *registry.Config) {
		c.TrustAnchors = root.PEM()
		c.Database = bare.Database
		if c.Database == "" {
			c.Database = filepath.Join(dir, "registry.db") // the same SQLite file
		}
	})
	withRoots.Serve(t)
	id, err := enrol.Enrol(ctx, withRoots.URL, code, withRoots.Server.CA().Fingerprint(), stationDir)
	if err != nil {
		t.Fatalf("enrol with the unspent code once the registry has roots: %v", err)
	}
	if id.StationID != "ST-ROOTS" {
		t.Errorf("enrolled as %q", id.StationID)
	}
	got, err := os.ReadFile(enrol.TrustAnchorsFile(stationDir))
	if err != nil || !bytes.Equal(got, root.PEM()) {
		t.Fatalf("station's roots: %v, want the registry's", err)
	}
	certs, err := pki.ParseTrustAnchors(got)
	if err != nil || len(certs) != 1 || !certs[0].Equal(root.Cert) {
		t.Errorf("stored roots do not parse back to the root: %v", err)
	}
}
