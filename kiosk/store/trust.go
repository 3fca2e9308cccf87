package store

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/kortstation/kortstation/kiosk/trust"
	"github.com/kortstation/kortstation/sync/protocol"
)

// This file holds the SITHS trust material pulled from the registry: the
// intermediate CA certificates and the CAs' revocation lists (reference
// data kinds trust_intermediates and crls), and their one reader,
// TrustMaterial, for kiosk/trust.

// ErrBadTrustMaterial: a certificate or CRL from the registry does not
// parse; the page is not applied.
var ErrBadTrustMaterial = errors.New("trust material does not parse")

func fingerprintOf(der []byte) string {
	s := sha256.Sum256(der)
	return hex.EncodeToString(s[:])
}

// ReplaceTrustIntermediates applies a snapshot of the intermediate CA
// certificates; each must parse.
func (t *Tx) ReplaceTrustIntermediates(ctx context.Context, items []protocol.TrustIntermediate) error {
	if _, err := t.tx.ExecContext(ctx, `DELETE FROM ref_trust_intermediates`); err != nil {
		return fmt.Errorf("clear intermediates: %w", err)
	}
	for i, it := range items {
		c, err := x509.ParseCertificate(it.DER)
		if err != nil {
			return fmt.Errorf("intermediate %d: %w: %w", i, ErrBadTrustMaterial, err)
		}
		if _, err := t.tx.ExecContext(ctx, `INSERT INTO ref_trust_intermediates (fingerprint, subject, not_after, der) VALUES (?, ?, ?, ?)
			ON CONFLICT (fingerprint) DO NOTHING`, fingerprintOf(it.DER), c.Subject.String(), ts(c.NotAfter), it.DER); err != nil {
			return fmt.Errorf("put intermediate: %w", err)
		}
	}
	return nil
}

// ReplaceCRLs applies a snapshot of the CAs' revocation lists; each must
// parse (kiosk/trust verifies their signatures when it loads them).
func (t *Tx) ReplaceCRLs(ctx context.Context, items []protocol.CRL) error {
	if _, err := t.tx.ExecContext(ctx, `DELETE FROM ref_crls`); err != nil {
		return fmt.Errorf("clear CRLs: %w", err)
	}
	for i, it := range items {
		crl, err := x509.ParseRevocationList(it.DER)
		if err != nil {
			return fmt.Errorf("CRL %d: %w: %w", i, ErrBadTrustMaterial, err)
		}
		if _, err := t.tx.ExecContext(ctx, `INSERT INTO ref_crls (fingerprint, issuer, this_update, next_update, der) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (fingerprint) DO NOTHING`, fingerprintOf(it.DER), crl.Issuer.String(), ts(crl.ThisUpdate), ts(crl.NextUpdate), it.DER); err != nil {
			return fmt.Errorf("put CRL: %w", err)
		}
	}
	return nil
}

// TrustMaterial is the registry's trust material, parsed for
// kiosk/trust.New and Verifier.Load: intermediates by subject, CRLs by
// issuer, read in one statement (one snapshot of the database).
func (s *Store) TrustMaterial(ctx context.Context) (trust.Material, error) {
	var m trust.Material
	rows, err := s.reader.QueryContext(ctx, `SELECT 'intermediate', der, subject, fingerprint FROM ref_trust_intermediates
		UNION ALL SELECT 'crl', der, issuer, fingerprint FROM ref_crls ORDER BY 1, 3, 4`)
	if err != nil {
		return m, fmt.Errorf("read trust material: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var kind, name, fp string
		var der []byte
		if err := rows.Scan(&kind, &der, &name, &fp); err != nil {
			return trust.Material{}, fmt.Errorf("read trust material: %w", err)
		}
		switch kind {
		case "intermediate":
			c, err := x509.ParseCertificate(der)
			if err != nil {
				return trust.Material{}, fmt.Errorf("intermediate %s: %w: %w", fp, ErrBadTrustMaterial, err)
			}
			m.Intermediates = append(m.Intermediates, c)
		default:
			c, err := x509.ParseRevocationList(der)
			if err != nil {
				return trust.Material{}, fmt.Errorf("CRL %s: %w: %w", fp, ErrBadTrustMaterial, err)
			}
			m.CRLs = append(m.CRLs, c)
		}
	}
	if err := rows.Err(); err != nil {
		return trust.Material{}, fmt.Errorf("read trust material: %w", err)
	}
	return m, nil
}
