package pki

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
)

// ErrBadTrustAnchor is returned for SITHS root certificates (trust anchors)
// that cannot be used: a block that is not a certificate, one that does not
// parse, or one that is not a CA that may sign certificates.
var ErrBadTrustAnchor = errors.New("pki: unusable trust anchor")

// ParseTrustAnchors parses the SITHS roots the registry hands a station at
// enrolment (PEM). Every PEM block must be a CERTIFICATE that parses and is
// a CA allowed to sign certificates (basic constraints CA, and certSign in
// its key usage when it has one); there must be at least one, and nothing
// but whitespace between or around the blocks. Both ends check the same:
// registryd at start, the station before it stores anything.
func ParseTrustAnchors(b []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	rest := b
	for n := 1; ; n++ {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("%w: block %d is %q, not a CERTIFICATE", ErrBadTrustAnchor, n, blk.Type)
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: certificate %d: %w", ErrBadTrustAnchor, n, err)
		}
		if !c.BasicConstraintsValid || !c.IsCA {
			return nil, fmt.Errorf("%w: certificate %d (%s) is not a CA", ErrBadTrustAnchor, n, c.Subject)
		}
		if c.KeyUsage != 0 && c.KeyUsage&x509.KeyUsageCertSign == 0 {
			return nil, fmt.Errorf("%w: certificate %d (%s) may not sign certificates", ErrBadTrustAnchor, n, c.Subject)
		}
		out = append(out, c)
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, fmt.Errorf("%w: text that is not PEM after certificate %d", ErrBadTrustAnchor, len(out))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no certificate", ErrBadTrustAnchor)
	}
	return out, nil
}
