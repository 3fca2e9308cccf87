package reconcile_test

import (
	"context"
	"encoding/pem"
	"errors"
	"testing"
	"time"

	"github.com/kortstation/kortstation/kiosk/trust"
	"github.com/kortstation/kortstation/kiosk/trust/trusttest"
	"github.com/kortstation/kortstation/sync/registry"
	"github.com/kortstation/kortstation/sync/registrytest"
)

// TestCRLReachesTheStation: an intermediate and a CRL added at the real
// registry reach the station's store over mutual TLS, and kiosk/trust,
// built from the store's material, refuses the certificate the CRL
// revokes and accepts another; a newer CRL replaces the older at the
// registry and on the station, and an older one is refused.
func TestCRLReachesTheStation(t *testing.T) {
	ctx := context.Background()
	reg := registrytest.Start(t)
	s := newStation(t, reg.Identity(t, "ST-1"), reg.URL, nil)
	now := s.clk.Now()

	root := trusttest.NewRoot(t, "SITHS e-id Root CA v2", trusttest.RSA)
	inter := root.Intermediate("SITHS e-id Person HSA-id 3 CA v1", trusttest.RSA)
	leaf := trusttest.Leaf{HSAID: "SE2321000016-A12B", NotBefore: now.AddDate(-1, 0, 0), NotAfter: now.AddDate(1, 0, 0)}
	revoked, revokedKey := inter.Issue(leaf)
	leaf.HSAID = "SE2321000016-B34C"
	good, goodKey := inter.Issue(leaf)

	// PEM for the intermediate, DER for the CRLs, as an admin has them.
	if _, err := reg.Server.AddIntermediate(ctx, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: inter.Cert.Raw})); err != nil {
		t.Fatal(err)
	}
	first := trusttest.SignCRLDER(t, inter.Cert, inter.Key, now.Add(-2*time.Hour), now.Add(22*time.Hour))
	if _, err := reg.Server.AddCRL(ctx, first); err != nil {
		t.Fatal(err)
	}
	mustOnce(t, s)
	if n := s.count(`SELECT count(*) FROM ref_crls`); n != 1 {
		t.Fatalf("station holds %d CRLs, want 1", n)
	}
	m, err := s.st.TrustMaterial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	v, err := trust.New(root.PEM(), m, s.clk, trust.Options{CRLGrace: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	check := func(name string, certOK bool, want error) {
		t.Helper()
		cert, key := good, goodKey
		if !certOK {
			cert, key = revoked, revokedKey
		}
		ch, err := v.Challenge("reader-00")
		if err != nil {
			t.Fatal(err)
		}
		id, err := v.Verify("reader-00", cert, nil, ch.Nonce[:], trusttest.Sign(t, key, ch.Nonce[:]))
		if !errors.Is(err, want) && (err != nil || want != nil) {
			t.Errorf("%s: got %v, want %v", name, err, want)
		}
		if want == nil && id.HSAID.String() != cert.Subject.SerialNumber {
			t.Errorf("%s: got HSA-ID %q, want the certificate's", name, id.HSAID)
		}
	}
	check("before revocation", false, nil)

	second := trusttest.SignCRLDER(t, inter.Cert, inter.Key, now.Add(-time.Hour), now.Add(23*time.Hour), revoked.SerialNumber)
	if _, err := reg.Server.AddCRL(ctx, pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: second})); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Server.AddCRL(ctx, first); !errors.Is(err, registry.ErrOlderCRL) {
		t.Errorf("an older CRL: got %v, want %v", err, registry.ErrOlderCRL)
	}
	mustOnce(t, s)
	if m, err = s.st.TrustMaterial(ctx); err != nil || len(m.CRLs) != 1 || len(m.Intermediates) != 1 {
		t.Fatalf("station material: %d CRLs, %d intermediates, %v; want 1 and 1", len(m.CRLs), len(m.Intermediates), err)
	}
	if errs := v.Load(m); len(errs) != 0 {
		t.Fatalf("load: %v", errs)
	}
	check("revoked", false, trust.ErrRevoked)
	check("another card of the CA", true, nil)

	// A day and a half without a newer CRL: past NextUpdate and the grace.
	s.clk.Set(now.Add(36 * time.Hour))
	check("stale CRL", true, trust.ErrCRLStale)
}
