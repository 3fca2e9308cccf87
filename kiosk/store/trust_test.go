package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/kortstation/kortstation/kiosk/clock"
	"github.com/kortstation/kortstation/kiosk/store"
	"github.com/kortstation/kortstation/kiosk/trust"
	"github.com/kortstation/kortstation/kiosk/trust/trusttest"
	"github.com/kortstation/kortstation/sync/protocol"
)

// TestTrustMaterialRoundTrip: the registry's intermediates and CRLs, as
// applied from a pull, come back parsed and good for kiosk/trust; a new
// snapshot replaces them; one that does not parse is refused and changes
// nothing.
func TestTrustMaterialRoundTrip(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	clk := &clock.Fixed{T: trusttest.Epoch}
	root := trusttest.NewRoot(t, "root", trusttest.ECDSA)
	inter := root.Intermediate("inter", trusttest.ECDSA)
	card, key := inter.Issue(trusttest.Leaf{HSAID: "SE2321000016-A12B"})
	crlDER := trusttest.SignCRLDER(t, inter.Cert, inter.Key, clk.T.Add(-time.Hour), clk.T.Add(time.Hour), card.SerialNumber)
	put := func(inters []protocol.TrustIntermediate, crls []protocol.CRL) error {
		return st.Update(ctx, clk, func(tx *store.Tx) error {
			if err := tx.ReplaceTrustIntermediates(ctx, inters); err != nil {
				return err
			}
			return tx.ReplaceCRLs(ctx, crls)
		})
	}
	if err := put([]protocol.TrustIntermediate{{DER: inter.Cert.Raw}}, []protocol.CRL{{DER: crlDER}}); err != nil {
		t.Fatal(err)
	}
	m, err := st.TrustMaterial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Intermediates) != 1 || !m.Intermediates[0].Equal(inter.Cert) || len(m.CRLs) != 1 || len(m.CRLs[0].RevokedCertificateEntries) != 1 {
		t.Fatalf("got %d intermediates and %d CRLs, want the one of each put", len(m.Intermediates), len(m.CRLs))
	}
	v, err := trust.New(root.PEM(), m, clk, trust.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ch, err := v.Challenge("reader-00")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify("reader-00", card, nil, ch.Nonce[:], trusttest.Sign(t, key, ch.Nonce[:])); !errors.Is(err, trust.ErrRevoked) {
		t.Errorf("got %v, want %v", err, trust.ErrRevoked)
	}

	if err := put(nil, []protocol.CRL{{DER: []byte("not a CRL")}}); !errors.Is(err, store.ErrBadTrustMaterial) {
		t.Errorf("got %v, want %v", err, store.ErrBadTrustMaterial)
	}
	if err := put(nil, nil); err != nil {
		t.Fatal(err)
	}
	if m, err := st.TrustMaterial(ctx); err != nil || len(m.Intermediates) != 0 || len(m.CRLs) != 0 {
		t.Errorf("after an empty snapshot: got %d intermediates, %d CRLs, %v; want none", len(m.Intermediates), len(m.CRLs), err)
	}
}
