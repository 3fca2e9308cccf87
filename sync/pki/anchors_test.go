package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"testing"
	"time"
)

func certPEM(t *testing.T, tmpl *x509.Certificate) []byte {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl.SerialNumber = big.NewInt(1)
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// TestParseTrustAnchors: only CA certificates that may sign certificates
// are SITHS roots; anything else refuses the whole file.
func TestParseTrustAnchors(t *testing.T) {
	ca, _, err := NewCA("root A", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ca2, _, err := NewCA("root B", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	leaf := certPEM(t, &x509.Certificate{Subject: pkix.Name{CommonName: "leaf"}, KeyUsage: x509.KeyUsageDigitalSignature})
	caNoSign := certPEM(t, &x509.Certificate{Subject: pkix.Name{CommonName: "ca without certSign"}, BasicConstraintsValid: true, IsCA: true,
		KeyUsage: x509.KeyUsageDigitalSignature})
	key := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1}})
	broken := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{0x30, 0x01}})

	got, err := ParseTrustAnchors(append(append([]byte{}, ca.CertPEM...), ca2.CertPEM...))
	if err != nil || len(got) != 2 {
		t.Fatalf("two roots: %d, %v", len(got), err)
	}
	for name, b := range map[string][]byte{
		"empty":               nil,
		"whitespace":          []byte("\n  \n"),
		"not PEM":             []byte("hello"),
		"a leaf":              leaf,
		"a root and a leaf":   append(append([]byte{}, ca.CertPEM...), leaf...),
		"CA without certSign": caNoSign,
		"a key block":         append(append([]byte{}, ca.CertPEM...), key...),
		"unparsable":          broken,
		"trailing garbage":    append(append([]byte{}, ca.CertPEM...), []byte("junk")...),
	} {
		if _, err := ParseTrustAnchors(b); !errors.Is(err, ErrBadTrustAnchor) {
			t.Errorf("%s: err = %v, want ErrBadTrustAnchor", name, err)
		}
	}
}
