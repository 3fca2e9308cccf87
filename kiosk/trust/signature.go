package trust

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/big"
)

// Algorithm names how the card signed the challenge.
type Algorithm string

// The algorithms a SITHS card signs with.
const (
	// RSAPKCS1v15SHA256 is RSASSA-PKCS1-v1_5 over SHA-256 of the challenge.
	RSAPKCS1v15SHA256 Algorithm = "rsa-pkcs1v15-sha256"
	// ECDSAP256SHA256 is ECDSA on P-256 over SHA-256 of the challenge; the
	// value is ASN.1 DER or the raw 64-byte r‖s that ISO 7816 cards return.
	ECDSAP256SHA256 Algorithm = "ecdsa-p256-sha256"
)

// Signature is the card's signature over a challenge.
type Signature struct {
	Algorithm Algorithm
	Value     []byte
}

// SignatureCheck verifies sig over message with pub; nil when it verifies.
// VerifySignature is the station's; Options.CheckSignature replaces it.
type SignatureCheck func(pub crypto.PublicKey, message []byte, sig Signature) error

var errWrongKey = errors.New("the certificate's key does not fit the algorithm")

// VerifySignature verifies an RSA PKCS#1 v1.5 SHA-256 or an ECDSA P-256
// SHA-256 signature over message with pub.
func VerifySignature(pub crypto.PublicKey, message []byte, sig Signature) error {
	digest := sha256.Sum256(message)
	switch sig.Algorithm {
	case RSAPKCS1v15SHA256:
		k, ok := pub.(*rsa.PublicKey)
		if !ok {
			return errWrongKey
		}
		return rsa.VerifyPKCS1v15(k, crypto.SHA256, digest[:], sig.Value)
	case ECDSAP256SHA256:
		k, ok := pub.(*ecdsa.PublicKey)
		if !ok || k.Curve != elliptic.P256() {
			return errWrongKey
		}
		if ecdsa.VerifyASN1(k, digest[:], sig.Value) {
			return nil
		}
		if len(sig.Value) == 64 {
			r, s := new(big.Int).SetBytes(sig.Value[:32]), new(big.Int).SetBytes(sig.Value[32:])
			if ecdsa.Verify(k, digest[:], r, s) {
				return nil
			}
		}
		return errors.New("ecdsa: signature does not verify")
	}
	return fmt.Errorf("unsupported signature algorithm %q", sig.Algorithm)
}
