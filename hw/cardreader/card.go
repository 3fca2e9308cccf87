package cardreader

import (
	"crypto/x509"
	"fmt"
	"regexp"
)

// Card is what the station reads from a card. It holds personal data (the
// HSA-ID and the certificate): do not log it.
type Card struct {
	// ATR is the card's answer to reset.
	ATR []byte
	// Serial is the card number from the chip; for a reserve card it must
	// match the number printed on the card (RC-9).
	Serial string
	// CertificateDER is the holder certificate in DER; nil for a blank card
	// that has not been personalised yet.
	CertificateDER []byte
	// Certificate is CertificateDER parsed; nil when there is none.
	Certificate *x509.Certificate
	// HSAID is the holder's HSA-ID from the certificate subject's
	// serialNumber, e.g. "SE2321000131-P000000012345"; empty when there is
	// no certificate.
	HSAID string
	// Others are the card's other certificates, e.g. one of the holder's
	// personal number; read as they are, proven by nothing.
	Others []*x509.Certificate
	// PINRetries is the number of PIN attempts left; 0 means the PIN is
	// blocked; -1 means the card did not say (the PIN was already verified
	// in this card session).
	PINRetries int
}

// PINBlocked reports whether the card said its PIN is blocked.
func (c Card) PINBlocked() bool { return c.PINRetries == 0 }

var hsaIDPattern = regexp.MustCompile(`^SE[0-9]{10}-[A-Za-z0-9]{1,31}$`)

// ValidHSAID reports whether s has the form of an HSA-ID: "SE", a
// ten-digit organisation number, a dash and an alphanumeric local part, e.g.
// "SE2321000131-P000000012345".
func ValidHSAID(s string) bool { return hsaIDPattern.MatchString(s) }

// HSAIDFromCertificate returns the HSA-ID in the subject serialNumber of
// cert. It fails if there is none or it does not look like an HSA-ID.
func HSAIDFromCertificate(cert *x509.Certificate) (string, error) {
	id := cert.Subject.SerialNumber
	if id == "" {
		return "", fmt.Errorf("cardreader: certificate subject has no serialNumber (HSA-ID)")
	}
	if !ValidHSAID(id) {
		return "", fmt.Errorf("cardreader: certificate subject serialNumber is not an HSA-ID")
	}
	return id, nil
}
