package protocol

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// checkpointDomain separates a checkpoint signature from anything else the
// station key signs (the TLS handshake signs its own context strings).
const checkpointDomain = "kortstation audit checkpoint v1"

// SignedBytes is what a checkpoint's signature covers: the domain, the
// station, the chain's seq and hash and the time, NUL-separated.
func (p AuditCheckpointPayload) SignedBytes() []byte {
	b := []byte(checkpointDomain)
	for _, f := range []string{p.Station, strconv.FormatInt(p.Seq, 10), p.Hash, p.At.UTC().Format(time.RFC3339Nano)} {
		b = append(b, 0)
		b = append(b, f...)
	}
	return b
}

// Errors of checkpoint signatures.
var (
	ErrCheckpointUnsigned = errors.New("audit checkpoint is not signed")
	ErrCheckpointBadSig   = errors.New("audit checkpoint signature does not verify")
)

// sigAlgorithm is the signature algorithm used with a public key:
// ECDSA and RSA (PKCS #1 v1.5) over SHA-256, or Ed25519.
func sigAlgorithm(pub crypto.PublicKey) (x509.SignatureAlgorithm, crypto.Hash, error) {
	switch pub.(type) {
	case *ecdsa.PublicKey:
		return x509.ECDSAWithSHA256, crypto.SHA256, nil
	case *rsa.PublicKey:
		return x509.SHA256WithRSA, crypto.SHA256, nil
	case ed25519.PublicKey:
		return x509.PureEd25519, 0, nil
	}
	return 0, 0, fmt.Errorf("protocol: checkpoint: unsupported key type %T", pub)
}

// SignCheckpoint sets the checkpoint's station and time and signs it with
// the station's key (the private key of its mutual-TLS certificate).
func SignCheckpoint(p *AuditCheckpointPayload, station string, at time.Time, key crypto.Signer) error {
	if key == nil {
		return fmt.Errorf("protocol: checkpoint: no station key")
	}
	_, h, err := sigAlgorithm(key.Public())
	if err != nil {
		return err
	}
	p.Station, p.At = station, at.UTC()
	msg := p.SignedBytes()
	if h != 0 {
		d := sha256.Sum256(msg)
		msg = d[:]
	}
	sig, err := key.Sign(rand.Reader, msg, h)
	if err != nil {
		return fmt.Errorf("protocol: sign checkpoint: %w", err)
	}
	p.Signature = base64.StdEncoding.EncodeToString(sig)
	return nil
}

// VerifyCheckpoint checks that the checkpoint is station's and signed by
// the key of cert (the certificate the station authenticated with).
func VerifyCheckpoint(p AuditCheckpointPayload, station string, cert *x509.Certificate) error {
	if p.Signature == "" {
		return ErrCheckpointUnsigned
	}
	if p.Station != station {
		return fmt.Errorf("%w: signed for station %q", ErrCheckpointBadSig, p.Station)
	}
	if cert == nil {
		return fmt.Errorf("%w: no certificate of the station to verify it with", ErrCheckpointBadSig)
	}
	sig, err := base64.StdEncoding.DecodeString(p.Signature)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCheckpointBadSig, err)
	}
	alg, _, err := sigAlgorithm(cert.PublicKey)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCheckpointBadSig, err)
	}
	if err := cert.CheckSignature(alg, p.SignedBytes(), sig); err != nil {
		return fmt.Errorf("%w: %w", ErrCheckpointBadSig, err)
	}
	return nil
}
