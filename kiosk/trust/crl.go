package trust

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"math/big"
	"time"
)

// issuerKey names one CA certificate exactly: its subject and its key. A
// CRL is indexed under the key of the certificate whose signature on it
// verified, and looked up under the key of the certificate that issued the
// card's certificate in the verified chain, so a CRL signed by another
// key with the same name is never consulted.
type issuerKey [sha256.Size]byte

func keyOf(c *x509.Certificate) issuerKey {
	h := sha256.New()
	h.Write(c.RawSubject)
	h.Write([]byte{0})
	h.Write(c.RawSubjectPublicKeyInfo)
	var k issuerKey
	h.Sum(k[:0])
	return k
}

// crlIndex is one CA's revocation list, its serials in a set.
type crlIndex struct {
	thisUpdate, nextUpdate time.Time
	number                 *big.Int
	revoked                map[string]struct{}
}

func (ix *crlIndex) isRevoked(serial *big.Int) bool {
	_, ok := ix.revoked[string(serial.Bytes())]
	return ok
}

// newer reports whether ix supersedes other (a higher CRL number, or a
// later thisUpdate when the numbers do not say).
func (ix *crlIndex) newer(other *crlIndex) bool {
	if ix.number != nil && other.number != nil {
		if c := ix.number.Cmp(other.number); c != 0 {
			return c > 0
		}
	}
	return ix.thisUpdate.After(other.thisUpdate)
}

var oidDeltaCRLIndicator = asn1.ObjectIdentifier{2, 5, 29, 27}

func index(crl *x509.RevocationList) (*crlIndex, error) {
	for _, e := range crl.Extensions {
		if e.Id.Equal(oidDeltaCRLIndicator) {
			return nil, fmt.Errorf("delta CRLs are not supported")
		}
	}
	ix := &crlIndex{thisUpdate: crl.ThisUpdate, nextUpdate: crl.NextUpdate, number: crl.Number,
		revoked: make(map[string]struct{}, len(crl.RevokedCertificateEntries))}
	for _, e := range crl.RevokedCertificateEntries {
		if e.SerialNumber != nil {
			ix.revoked[string(e.SerialNumber.Bytes())] = struct{}{}
		}
	}
	return ix, nil
}

// CRLError says why a CRL was refused when the material was loaded.
type CRLError struct {
	Issuer string // the CA's name as the CRL gives it (no personal data)
	Reason string
}

func (e *CRLError) Error() string {
	return fmt.Sprintf("trust: CRL of %s refused: %s", e.Issuer, e.Reason)
}

// loadCRLs verifies each CRL's signature against the CA certificates
// (anchors and intermediates) named as its issuer, once, and indexes it
// under the certificate that signed it. A CRL that verifies against none
// is refused; its issuer's name is remembered, so a card of that CA is
// refused with ReasonCRLInvalid rather than ReasonCRLMissing.
func loadCRLs(cas []*x509.Certificate, crls []*x509.RevocationList) (map[issuerKey]*crlIndex, map[string]bool, []error) {
	out := map[issuerKey]*crlIndex{}
	refused := map[string]bool{}
	var errs []error
	for _, crl := range crls {
		if crl == nil {
			continue
		}
		var signer *x509.Certificate
		for _, ca := range cas {
			if bytes.Equal(ca.RawSubject, crl.RawIssuer) && crl.CheckSignatureFrom(ca) == nil {
				signer = ca
				break
			}
		}
		if signer == nil {
			refused[string(crl.RawIssuer)] = true
			errs = append(errs, &CRLError{Issuer: crl.Issuer.String(), Reason: "its signature does not verify against a known CA certificate of that name"})
			continue
		}
		ix, err := index(crl)
		if err != nil {
			refused[string(crl.RawIssuer)] = true
			errs = append(errs, &CRLError{Issuer: crl.Issuer.String(), Reason: err.Error()})
			continue
		}
		k := keyOf(signer)
		if prev, ok := out[k]; !ok || ix.newer(prev) {
			out[k] = ix
		}
	}
	return out, refused, errs
}
