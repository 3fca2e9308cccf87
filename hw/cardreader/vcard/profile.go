package vcard

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"time"

	"github.com/kortstation/kortstation/hw/cardreader"
)

// Profile describes a test or development card.
type Profile struct {
	// Serial is the card number on the chip (and printed on the card).
	Serial string
	// HSAID is the holder's HSA-ID, put in the certificate subject's
	// serialNumber. Empty: a blank reserve card without a certificate.
	HSAID string
	// CommonName is the certificate subject's CN; a neutral default is used
	// when empty. Use made-up names only.
	CommonName string
	// PIN is 4 to 8 digits.
	PIN string
	// MaxRetries is the PIN retry counter (DefaultMaxRetries if 0).
	MaxRetries int
	// NotAfter is the certificate's expiry (one year from now if zero).
	NotAfter time.Time
}

// CA is a throwaway certificate authority that issues card certificates
// for tests and the development station. Never use it for anything real.
type CA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// NewCA creates a CA with a fresh P-256 key and a self-signed certificate
// named name.
func NewCA(name string) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("vcard: generate CA key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name, Organization: []string{"Kortstation test"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("vcard: create CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("vcard: parse CA certificate: %w", err)
	}
	return &CA{cert: cert, key: key}, nil
}

// Certificate returns the CA certificate, to build a verification pool.
func (ca *CA) Certificate() *x509.Certificate { return ca.cert }

// Issue mints the card described by p: a holder certificate signed by the
// CA (none if p.HSAID is empty) and the card around it.
func (ca *CA) Issue(p Profile) (*Card, error) {
	var der []byte
	if p.HSAID != "" {
		if !cardreader.ValidHSAID(p.HSAID) {
			return nil, fmt.Errorf("vcard: %q is not an HSA-ID", p.HSAID)
		}
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("vcard: generate card key: %w", err)
		}
		serialNumber, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
		if err != nil {
			return nil, fmt.Errorf("vcard: certificate serial number: %w", err)
		}
		cn := p.CommonName
		if cn == "" {
			cn = "Kortstation test card " + p.Serial
		}
		notAfter := p.NotAfter
		if notAfter.IsZero() {
			notAfter = time.Now().AddDate(1, 0, 0)
		}
		tmpl := &x509.Certificate{
			SerialNumber: serialNumber,
			Subject: pkix.Name{
				CommonName:   cn,
				SerialNumber: p.HSAID,
				Organization: []string{"Kortstation test"},
				Country:      []string{"SE"},
			},
			NotBefore:   time.Now().Add(-time.Hour),
			NotAfter:    notAfter,
			KeyUsage:    x509.KeyUsageDigitalSignature,
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		}
		der, err = x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
		if err != nil {
			return nil, fmt.Errorf("vcard: create card certificate: %w", err)
		}
	}
	return New(p.Serial, der, p.PIN, p.MaxRetries)
}

// DevProfiles returns the made-up cards of the development station: two
// operator cards, an attestor card and two blank reserve cards. The PINs
// are public test values.
func DevProfiles() []Profile {
	return []Profile{
		{Serial: "9752269900000000011", HSAID: "SE2321000131-P000000000011", CommonName: "Test Operatör Ett", PIN: "1234"},
		{Serial: "9752269900000000012", HSAID: "SE2321000131-P000000000012", CommonName: "Test Operatör Två", PIN: "2345"},
		{Serial: "9752269900000000021", HSAID: "SE2321000131-P000000000021", CommonName: "Test Intygsgivare", PIN: "3456"},
		{Serial: "9752269900000000101", PIN: "0000"},
		{Serial: "9752269900000000102", PIN: "0000"},
	}
}
