package counter

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/kortstation/kortstation/hw/cardreader"
	"github.com/kortstation/kortstation/kiosk/audit"
	"github.com/kortstation/kortstation/kiosk/problem"
	"github.com/kortstation/kortstation/kiosk/store"
	"github.com/kortstation/kortstation/kiosk/trust"
)

// A card's holder is proven only when, after their PIN was verified on
// the card, the card signs a fresh challenge this station issued for that
// reader with the key of a certificate that chains to the SITHS roots, is
// valid now, may authenticate and is not revoked (kiosk/trust). Only then
// is the certificate's HSA-ID who is at the counter — the operator at
// login, an attestor at the identification step.

// errNoTrust: the station was built without a verifier (it fails closed).
var errNoTrust = problem.Errorf("trust.none", "Stationen kan inte kontrollera kort just nu. Kontakta supporten.",
	"The station cannot check cards right now. Contact support.")

// prove has the card in reader sign a fresh challenge and verifies the
// signature and the certificate. The caller verified the PIN just before.
func (m *Counter) prove(ctx context.Context, reader string, cert *x509.Certificate) (trust.Identity, error) {
	if m.trust == nil {
		return trust.Identity{}, errNoTrust
	}
	ch, err := m.trust.Challenge(reader)
	if err != nil {
		return trust.Identity{}, fmt.Errorf("challenge: %w", err)
	}
	sig, err := m.reader.Sign(ctx, reader, ch.Nonce[:])
	switch {
	case errors.Is(err, cardreader.ErrCardRemoved), errors.Is(err, cardreader.ErrNoCard):
		return trust.Identity{}, refuse(msg("card_removed", "Kortet togs ut. Sätt i det igen och försök på nytt.", "The card was removed. Insert it again and try again."))
	case errors.Is(err, cardreader.ErrNoKey), errors.Is(err, cardreader.ErrSecurityStatus):
		// A card that cannot sign with the key of its certificate proves
		// nothing.
		return trust.Identity{}, trust.ErrBadSignature
	case err != nil:
		return trust.Identity{}, fmt.Errorf("card signature: %w", err)
	}
	alg := trust.Algorithm("")
	switch sig.Algorithm {
	case x509.SHA256WithRSA:
		alg = trust.RSAPKCS1v15SHA256
	case x509.ECDSAWithSHA256:
		alg = trust.ECDSAP256SHA256
	}
	return m.trust.Verify(reader, cert, nil, ch.Nonce[:], trust.Signature{Algorithm: alg, Value: sig.Value})
}

// auditUnproven records a card the station did not trust: the reason's
// key and the card's serial, no name, no PIN.
func (m *Counter) auditUnproven(ctx context.Context, kind, serial string, err error) {
	why := "error"
	var te *trust.Error
	var p *problem.Problem
	switch {
	case errors.As(err, &te):
		why = string(te.Reason)
	case errors.As(err, &p):
		why = p.Key()
	}
	m.log.Warn("card not trusted", "kind", kind, "why", why)
	e := m.st.Update(ctx, m.clock, func(t *store.Tx) error {
		_, err := t.Audit(ctx, audit.Entry{Kind: kind, Actor: "station", Subject: serial, Detail: map[string]any{"why": why}})
		return err
	})
	if e != nil {
		m.log.Error("untrusted card not audited", "err", e)
	}
}
