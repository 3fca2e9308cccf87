package vcard

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"time"

	"github.com/kortstation/kortstation/hw/cardreader"
)

// KeyAlgorithm is the kind of key a card holds.
type KeyAlgorithm int

// Card key algorithms. The zero value is ECDSA P-256 (fast to generate);
// SITHS cards in the field mostly hold RSA 2048.
const (
	ECDSAP256 KeyAlgorithm = iota
	RSA2048
)

// String names the algorithm.
func (a KeyAlgorithm) String() string {
	switch a {
	case ECDSAP256:
		return "ECDSA P-256"
	case RSA2048:
		return "RSA 2048"
	default:
		return fmt.Sprintf("KeyAlgorithm(%d)", int(a))
	}
}

// GenerateKey makes a fresh key of algorithm a.
func GenerateKey(a KeyAlgorithm) (crypto.Signer, error) {
	switch a {
	case ECDSAP256:
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("vcard: generate ECDSA key: %w", err)
		}
		return k, nil
	case RSA2048:
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, fmt.Errorf("vcard: generate RSA key: %w", err)
		}
		return k, nil
	default:
		return nil, fmt.Errorf("vcard: unknown key algorithm %v", a)
	}
}

// Profile describes a test or development card.
type Profile struct {
	// Serial is the card number on the chip (and printed on the card).
	Serial string
	// HSAID is the holder's HSA-ID, put in the certificate subject's
	// serialNumber. Empty: a blank reserve card without a certificate or
	// key.
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
	// NotBefore is when the certificate becomes valid (TestEpoch if zero).
	NotBefore time.Time
	// PersonalNumber, if set, puts a second certificate on the card, of
	// the holder's personal number (subject serialNumber YYYYMMDDNNNN),
	// as some SITHS cards carry.
	PersonalNumber string
	// Key is the algorithm of the card's key (ECDSA P-256 if zero).
	Key KeyAlgorithm
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
		NotBefore:             TestEpoch,
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

// TestEpoch is when test and development certificates become valid: a
// fixed date in the past, so that stations whose clock a test sets back
// (to a chosen working day) still find them valid.
var TestEpoch = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

// CertificatePEM is the CA certificate in PEM, as a station's trust
// anchors are configured.
func (ca *CA) CertificatePEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw})
}

// CRL issues the CA's certificate revocation list number, valid from
// thisUpdate to nextUpdate, revoking the certificates with the given
// serial numbers, in DER.
func (ca *CA) CRL(number int64, thisUpdate, nextUpdate time.Time, revoked ...*big.Int) ([]byte, error) {
	tmpl := &x509.RevocationList{Number: big.NewInt(number), ThisUpdate: thisUpdate, NextUpdate: nextUpdate}
	for _, s := range revoked {
		tmpl.RevokedCertificateEntries = append(tmpl.RevokedCertificateEntries, x509.RevocationListEntry{SerialNumber: s, RevocationTime: thisUpdate})
	}
	der, err := x509.CreateRevocationList(rand.Reader, tmpl, ca.cert, ca.key)
	if err != nil {
		return nil, fmt.Errorf("vcard: issue CRL: %w", err)
	}
	return der, nil
}

// HolderTemplate is the certificate of p's holder, to be signed by an
// issuer (the CA here, or another test's issuer).
func HolderTemplate(p Profile) (*x509.Certificate, error) {
	if !cardreader.ValidHSAID(p.HSAID) {
		return nil, fmt.Errorf("vcard: %q is not an HSA-ID", p.HSAID)
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
	notBefore := p.NotBefore
	if notBefore.IsZero() {
		notBefore = TestEpoch
	}
	return &x509.Certificate{
		SerialNumber: serialNumber,
		Subject: pkix.Name{
			CommonName:   cn,
			SerialNumber: p.HSAID,
			Organization: []string{"Kortstation test"},
			Country:      []string{"SE"},
		},
		NotBefore:   notBefore,
		NotAfter:    notAfter,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, nil
}

// Issue mints the card described by p: a fresh key of p.Key, a holder
// certificate for it signed by the CA, and the card around them. A
// profile without an HSA-ID is a blank reserve card: no key, no
// certificate.
func (ca *CA) Issue(p Profile) (*Card, error) {
	o := Options{Serial: p.Serial, PIN: p.PIN, MaxRetries: p.MaxRetries}
	if p.HSAID != "" {
		tmpl, err := HolderTemplate(p)
		if err != nil {
			return nil, err
		}
		key, err := GenerateKey(p.Key)
		if err != nil {
			return nil, err
		}
		o.CertificateDER, err = x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
		if err != nil {
			return nil, fmt.Errorf("vcard: create card certificate: %w", err)
		}
		o.Key = key
		if p.PersonalNumber != "" {
			pt := *tmpl
			pt.SerialNumber = new(big.Int).Add(tmpl.SerialNumber, big.NewInt(1))
			pt.Subject.SerialNumber = p.PersonalNumber
			pk, err := GenerateKey(p.Key)
			if err != nil {
				return nil, err
			}
			der, err := x509.CreateCertificate(rand.Reader, &pt, ca.cert, pk.Public(), ca.key)
			if err != nil {
				return nil, fmt.Errorf("vcard: create personal-number certificate: %w", err)
			}
			o.OtherCertificates = append(o.OtherCertificates, der)
		}
	}
	return NewCard(o)
}

// CopyCertificate makes an attacker's card: victim's certificate (copied,
// as anyone can read it from the card) on a card with a fresh key of the
// same algorithm, serial number serial and PIN pin, answering 9000 to that
// PIN like a real card. Its signatures do not verify with the
// certificate's public key.
func CopyCertificate(victim *Card, serial, pin string) (*Card, error) {
	if victim.cert == nil {
		return nil, fmt.Errorf("vcard: copy certificate: the card has none")
	}
	cert, err := x509.ParseCertificate(victim.cert)
	if err != nil {
		return nil, fmt.Errorf("vcard: copy certificate: %w", err)
	}
	alg := ECDSAP256
	if _, ok := cert.PublicKey.(*rsa.PublicKey); ok {
		alg = RSA2048
	}
	key, err := GenerateKey(alg)
	if err != nil {
		return nil, err
	}
	return NewCard(Options{Serial: serial, CertificateDER: victim.cert, Key: key, PIN: pin})
}

// SelfSigned makes an attacker's card: a fresh key and a self-signed
// certificate naming p.HSAID (for example an administrator's). Its
// signatures verify with the certificate's public key; only a chain check
// against the real CA exposes it.
func SelfSigned(p Profile) (*Card, error) {
	tmpl, err := HolderTemplate(p)
	if err != nil {
		return nil, err
	}
	key, err := GenerateKey(p.Key)
	if err != nil {
		return nil, err
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("vcard: create self-signed certificate: %w", err)
	}
	return NewCard(Options{Serial: p.Serial, CertificateDER: der, Key: key, PIN: p.PIN, MaxRetries: p.MaxRetries})
}

// DevProfiles returns the made-up cards of the development station: two
// operator cards (one RSA 2048, one ECDSA P-256), an attestor card and two
// blank reserve cards. The PINs are public test values.
func DevProfiles() []Profile {
	return []Profile{
		{Serial: "9752269900000000011", HSAID: "SE2321000131-P000000000011", CommonName: "Test Operatör Ett", PIN: "1234", Key: RSA2048},
		{Serial: "9752269900000000012", HSAID: "SE2321000131-P000000000012", CommonName: "Test Operatör Två", PIN: "2345"},
		{Serial: "9752269900000000021", HSAID: "SE2321000131-P000000000021", CommonName: "Test Intygsgivare", PIN: "3456"},
		{Serial: "9752269900000000101", PIN: "0000"},
		{Serial: "9752269900000000102", PIN: "0000"},
	}
}
