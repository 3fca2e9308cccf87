package cardreader

import (
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
)

// Signature is the card's signature over a challenge, in the form Go's
// crypto verifies: Algorithm is x509.SHA256WithRSA (Value is the PKCS#1
// v1.5 signature) or x509.ECDSAWithSHA256 (Value is the ASN.1 DER
// ECDSA-Sig-Value, as ecdsa.VerifyASN1 takes it). The signed message is
// the challenge itself: the card signed its SHA-256.
type Signature struct {
	Algorithm x509.SignatureAlgorithm
	Value     []byte
}

// Verify checks that s is a signature over challenge by the key of cert.
// It checks only the signature, not the certificate: the chain is the
// caller's to validate.
func (s Signature) Verify(cert *x509.Certificate, challenge []byte) error {
	if cert == nil {
		return errors.New("cardreader: verify signature: no certificate")
	}
	switch s.Algorithm {
	case x509.SHA256WithRSA, x509.ECDSAWithSHA256:
	default:
		return fmt.Errorf("cardreader: verify signature: unexpected algorithm %v", s.Algorithm)
	}
	if err := cert.CheckSignature(s.Algorithm, challenge, s.Value); err != nil {
		return fmt.Errorf("cardreader: verify signature: %w", err)
	}
	return nil
}

// ecdsaRawToASN1 turns the card's r‖s (two equal halves) into the DER
// ECDSA-Sig-Value.
func ecdsaRawToASN1(raw []byte) ([]byte, error) {
	if len(raw) == 0 || len(raw)%2 != 0 || len(raw) > 2*66 {
		return nil, fmt.Errorf("ECDSA signature of %d bytes is not r‖s", len(raw))
	}
	n := len(raw) / 2
	r, s := new(big.Int).SetBytes(raw[:n]), new(big.Int).SetBytes(raw[n:])
	if r.Sign() == 0 || s.Sign() == 0 {
		return nil, errors.New("ECDSA signature has a zero half")
	}
	return asn1.Marshal(struct{ R, S *big.Int }{r, s})
}
