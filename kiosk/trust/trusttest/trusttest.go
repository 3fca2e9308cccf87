// Package trusttest makes SITHS-like certificate hierarchies for tests:
// roots, intermediates, card certificates carrying an HSA-ID, CRLs and
// card signatures over challenges. Every key is generated in memory when
// the test runs; none is stored.
package trusttest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kortstation/kortstation/kiosk/trust"
)

// KeyAlg is the kind of key to generate.
type KeyAlg int

// Key kinds.
const (
	ECDSA KeyAlg = iota // P-256
	RSA                 // 2048 bits
)

// NewKey generates a key of alg.
func NewKey(t testing.TB, alg KeyAlg) crypto.Signer {
	t.Helper()
	var k crypto.Signer
	var err error
	switch alg {
	case RSA:
		k, err = rsa.GenerateKey(rand.Reader, 2048)
	default:
		k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	if err != nil {
		t.Fatalf("generate key: %v", err)
	}
	return k
}

var serials atomic.Int64

func nextSerial() *big.Int {
	// Large, positive and distinct, as a CA's serials are.
	return new(big.Int).Add(new(big.Int).Lsh(big.NewInt(1), 100), big.NewInt(serials.Add(1)))
}

// CA is a certificate authority.
type CA struct {
	Cert *x509.Certificate
	Key  crypto.Signer
	t    testing.TB
}

// PEM is the CA certificate in PEM.
func (ca *CA) PEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw})
}

// Epoch is the moment test hierarchies are valid around: roots and
// intermediates from Epoch-10y to Epoch+10y.
var Epoch = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func create(t testing.TB, tmpl, parent *x509.Certificate, pub crypto.PublicKey, signer crypto.Signer) *x509.Certificate {
	t.Helper()
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		t.Fatalf("create certificate: %v", err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("parse certificate: %v", err)
	}
	return c
}

func caTemplate(name string) *x509.Certificate {
	return &x509.Certificate{
		SerialNumber:          nextSerial(),
		Subject:               pkix.Name{Country: []string{"SE"}, Organization: []string{"Inera AB"}, CommonName: name},
		NotBefore:             Epoch.AddDate(-10, 0, 0),
		NotAfter:              Epoch.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
}

// NewRoot makes a self-signed root CA.
func NewRoot(t testing.TB, name string, alg KeyAlg) *CA {
	t.Helper()
	k := NewKey(t, alg)
	tmpl := caTemplate(name)
	return &CA{Cert: create(t, tmpl, tmpl, k.Public(), k), Key: k, t: t}
}

// Intermediate makes a CA under ca.
func (ca *CA) Intermediate(name string, alg KeyAlg) *CA {
	ca.t.Helper()
	k := NewKey(ca.t, alg)
	return &CA{Cert: create(ca.t, caTemplate(name), ca.Cert, k.Public(), ca.Key), Key: k, t: ca.t}
}

// Leaf describes a card certificate. The zero value of each field but
// HSAID takes a SITHS-like default.
type Leaf struct {
	HSAID     string // the subject serialNumber
	Name      string // the subject common name; default "Test Testsson"
	NotBefore time.Time
	NotAfter  time.Time
	KeyUsage  x509.KeyUsage      // default digitalSignature
	ExtUsage  []x509.ExtKeyUsage // default clientAuth
	NoExtUse  bool               // no extended key usage at all
	Alg       KeyAlg
	Key       crypto.Signer // default a new key of Alg
	Serial    *big.Int      // default a fresh serial
}

// Issue makes a card certificate under ca; it returns the certificate
// and the card's private key.
func (ca *CA) Issue(l Leaf) (*x509.Certificate, crypto.Signer) {
	ca.t.Helper()
	return issue(ca.t, l, ca.Cert, ca.Key)
}

func issue(t testing.TB, l Leaf, parent *x509.Certificate, parentKey crypto.Signer) (*x509.Certificate, crypto.Signer) {
	t.Helper()
	tmpl := leafTemplate(l)
	k := l.Key
	if k == nil {
		k = NewKey(t, l.Alg)
	}
	if parent == nil {
		parent, parentKey = tmpl, k
	}
	return create(t, tmpl, parent, k.Public(), parentKey), k
}

func leafTemplate(l Leaf) *x509.Certificate {
	if l.Name == "" {
		l.Name = "Test Testsson"
	}
	if l.NotBefore.IsZero() {
		l.NotBefore = Epoch.AddDate(-1, 0, 0)
	}
	if l.NotAfter.IsZero() {
		l.NotAfter = Epoch.AddDate(4, 0, 0)
	}
	if l.KeyUsage == 0 {
		l.KeyUsage = x509.KeyUsageDigitalSignature
	}
	if l.ExtUsage == nil && !l.NoExtUse {
		l.ExtUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	if l.Serial == nil {
		l.Serial = nextSerial()
	}
	return &x509.Certificate{
		SerialNumber: l.Serial,
		Subject:      pkix.Name{Country: []string{"SE"}, CommonName: l.Name, SerialNumber: l.HSAID},
		NotBefore:    l.NotBefore,
		NotAfter:     l.NotAfter,
		KeyUsage:     l.KeyUsage,
		ExtKeyUsage:  l.ExtUsage,
	}
}

// SelfSigned makes a self-signed card certificate as an attacker would.
func SelfSigned(t testing.TB, l Leaf) (*x509.Certificate, crypto.Signer) {
	t.Helper()
	return issue(t, l, nil, nil)
}

// CRL makes ca's revocation list revoking serials, valid from thisUpdate
// to nextUpdate.
func (ca *CA) CRL(thisUpdate, nextUpdate time.Time, revoked ...*big.Int) *x509.RevocationList {
	ca.t.Helper()
	return SignCRL(ca.t, ca.Cert, ca.Key, thisUpdate, nextUpdate, revoked...)
}

var crlNumbers atomic.Int64

// SignCRL makes a CRL naming issuer, signed with key (which need not be
// issuer's: a forgery).
func SignCRL(t testing.TB, issuer *x509.Certificate, key crypto.Signer, thisUpdate, nextUpdate time.Time, revoked ...*big.Int) *x509.RevocationList {
	t.Helper()
	der := SignCRLDER(t, issuer, key, thisUpdate, nextUpdate, revoked...)
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatalf("parse CRL: %v", err)
	}
	return crl
}

// SignCRLDER is SignCRL in DER.
func SignCRLDER(t testing.TB, issuer *x509.Certificate, key crypto.Signer, thisUpdate, nextUpdate time.Time, revoked ...*big.Int) []byte {
	t.Helper()
	entries := make([]x509.RevocationListEntry, len(revoked))
	for i, s := range revoked {
		entries[i] = x509.RevocationListEntry{SerialNumber: s, RevocationTime: thisUpdate.Add(-time.Hour)}
	}
	tmpl := &x509.RevocationList{Number: big.NewInt(crlNumbers.Add(1)), ThisUpdate: thisUpdate, NextUpdate: nextUpdate, RevokedCertificateEntries: entries}
	// x509.CreateRevocationList checks that the signer's key is issuer's;
	// a forgery signs as an impostor of the same name and key ID.
	signer := issuer
	if !publicKeyEqual(issuer.PublicKey, key.Public()) {
		imp := *issuer
		imp.PublicKey = key.Public()
		signer = &imp
	}
	der, err := x509.CreateRevocationList(rand.Reader, tmpl, signer, key)
	if err != nil {
		t.Fatalf("create CRL: %v", err)
	}
	return der
}

func publicKeyEqual(a, b crypto.PublicKey) bool {
	ea, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && ea.Equal(b)
}

// RevokedSerials returns n distinct serials (none of which a test
// certificate gets), for large CRLs.
func RevokedSerials(n int) []*big.Int {
	out := make([]*big.Int, n)
	base := new(big.Int).Lsh(big.NewInt(1), 120)
	for i := range out {
		out[i] = new(big.Int).Add(base, big.NewInt(int64(i)))
	}
	return out
}

// Sign is the card's signature over message with key, in the algorithm
// that fits the key.
func Sign(t testing.TB, key crypto.Signer, message []byte) trust.Signature {
	t.Helper()
	d := sha256.Sum256(message)
	sig, err := key.Sign(rand.Reader, d[:], crypto.SHA256)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	alg := trust.ECDSAP256SHA256
	if _, ok := key.(*rsa.PrivateKey); ok {
		alg = trust.RSAPKCS1v15SHA256
	}
	return trust.Signature{Algorithm: alg, Value: sig}
}
