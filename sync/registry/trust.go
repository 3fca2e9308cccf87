package registry

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"database/sql"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"time"
)

// The SITHS trust material the registry distributes to stations as
// reference data (kinds trust_intermediates and crls): intermediate CA
// certificates and the CAs' revocation lists. The registry checks their
// form; each station verifies every CRL's signature itself.

// derOf returns the DER of a PEM block of type typ in data, or data itself
// when it is not PEM.
func derOf(data []byte, typ string) ([]byte, error) {
	if !bytes.Contains(data, []byte("-----BEGIN")) {
		return data, nil
	}
	for rest := data; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			return nil, fmt.Errorf("%w: no PEM block of type %s", ErrInvalid, typ)
		}
		if blk.Type == typ {
			return blk.Bytes, nil
		}
	}
}

func fingerprint(der []byte) string {
	s := sha256.Sum256(der)
	return hex.EncodeToString(s[:])
}

// AddIntermediate adds an intermediate CA certificate (DER or PEM) for the
// stations and returns its fingerprint (hex SHA-256 of the DER); adding it
// again changes nothing.
func (s *Server) AddIntermediate(ctx context.Context, data []byte) (string, error) {
	der, err := derOf(data, "CERTIFICATE")
	if err != nil {
		return "", fmt.Errorf("registry: intermediate: %w", err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return "", fmt.Errorf("registry: intermediate: %w: %w", ErrInvalid, err)
	}
	if !c.BasicConstraintsValid || !c.IsCA {
		return "", fmt.Errorf("registry: intermediate %s: %w: not a CA certificate", c.Subject, ErrInvalid)
	}
	fp := fingerprint(der)
	return fp, s.changeRef(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO trust_intermediates (fingerprint, subject, not_after, der, added_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (fingerprint) DO NOTHING`,
			fp, c.Subject.String(), c.NotAfter.UTC().Format(time.RFC3339), der, s.now().UTC().Format(time.RFC3339))
		return err
	})
}

// RemoveIntermediate withdraws an intermediate by its fingerprint.
func (s *Server) RemoveIntermediate(ctx context.Context, fp string) error {
	return s.changeRef(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM trust_intermediates WHERE fingerprint = ?`, fp)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("registry: intermediate %q: %w", fp, ErrNotFound)
		}
		return nil
	})
}

// ErrOlderCRL: the CRL is older than the one the registry holds for its
// CA.
var ErrOlderCRL = errors.New("older than the CRL held for that CA")

// AddCRL adds a CA's revocation list (DER or PEM); it replaces the CA's
// earlier one, and is refused (ErrInvalid, ErrOlderCRL) when older. It
// returns the CRL's fingerprint.
func (s *Server) AddCRL(ctx context.Context, data []byte) (string, error) {
	der, err := derOf(data, "X509 CRL")
	if err != nil {
		return "", fmt.Errorf("registry: CRL: %w", err)
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		return "", fmt.Errorf("registry: CRL: %w: %w", ErrInvalid, err)
	}
	if crl.NextUpdate.IsZero() || !crl.NextUpdate.After(crl.ThisUpdate) {
		return "", fmt.Errorf("registry: CRL of %s: %w: no usable nextUpdate", crl.Issuer, ErrInvalid)
	}
	k := sha256.New()
	k.Write(crl.RawIssuer)
	k.Write([]byte{0})
	k.Write(crl.AuthorityKeyId)
	issuerKey := hex.EncodeToString(k.Sum(nil))
	number := ""
	if crl.Number != nil {
		number = crl.Number.String()
	}
	fp := fingerprint(der)
	return fp, s.changeRef(ctx, func(tx *sql.Tx) error {
		var oldNumber, oldThis string
		err := tx.QueryRowContext(ctx, `SELECT number, this_update FROM crls WHERE issuer_key = ?`, issuerKey).Scan(&oldNumber, &oldThis)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		default:
			prevThis, _ := time.Parse(time.RFC3339, oldThis)
			if crl.ThisUpdate.Before(prevThis) || (crl.ThisUpdate.Equal(prevThis) && numberLess(number, oldNumber)) {
				return fmt.Errorf("registry: CRL of %s: %w: %w", crl.Issuer, ErrInvalid, ErrOlderCRL)
			}
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO crls (issuer_key, issuer, number, this_update, next_update, entries, fingerprint, der, added_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (issuer_key) DO UPDATE SET issuer = excluded.issuer, number = excluded.number, this_update = excluded.this_update,
			next_update = excluded.next_update, entries = excluded.entries, fingerprint = excluded.fingerprint, der = excluded.der, added_at = excluded.added_at`,
			issuerKey, crl.Issuer.String(), number, crl.ThisUpdate.UTC().Format(time.RFC3339), crl.NextUpdate.UTC().Format(time.RFC3339),
			len(crl.RevokedCertificateEntries), fp, der, s.now().UTC().Format(time.RFC3339))
		return err
	})
}

// numberLess compares two decimal CRL numbers ("" is the least).
func numberLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// IntermediateInfo is an intermediate as the admin page shows it.
type IntermediateInfo struct {
	Fingerprint string
	Subject     string
	NotAfter    time.Time
}

// CRLInfo is a CRL as the admin page shows it.
type CRLInfo struct {
	Issuer                 string
	Number                 string
	ThisUpdate, NextUpdate time.Time
	Entries                int
	Fingerprint            string
}

// TrustMaterial lists the intermediates and CRLs the registry distributes.
func (s *Server) TrustMaterial(ctx context.Context) ([]IntermediateInfo, []CRLInfo, error) {
	tx, err := s.db.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, nil, fmt.Errorf("registry: trust material: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	inter, err := collect(ctx, tx, `SELECT fingerprint, subject, not_after FROM trust_intermediates ORDER BY subject, fingerprint`, func(r *sql.Rows) (IntermediateInfo, error) {
		var i IntermediateInfo
		var na string
		err := r.Scan(&i.Fingerprint, &i.Subject, &na)
		i.NotAfter, _ = time.Parse(time.RFC3339, na)
		return i, err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("registry: intermediates: %w", err)
	}
	crls, err := collect(ctx, tx, `SELECT issuer, number, this_update, next_update, entries, fingerprint FROM crls ORDER BY issuer, issuer_key`, func(r *sql.Rows) (CRLInfo, error) {
		var c CRLInfo
		var tu, nu string
		err := r.Scan(&c.Issuer, &c.Number, &tu, &nu, &c.Entries, &c.Fingerprint)
		c.ThisUpdate, _ = time.Parse(time.RFC3339, tu)
		c.NextUpdate, _ = time.Parse(time.RFC3339, nu)
		return c, err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("registry: CRLs: %w", err)
	}
	return inter, crls, nil
}
