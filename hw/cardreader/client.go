package cardreader

import (
	"crypto/x509"
	"errors"
	"fmt"
)

// Transport sends one command APDU to the card and returns the response
// APDU (data followed by SW1 SW2). It must not keep apdu after it returns:
// the caller zeroes it when it holds a PIN.
type Transport interface {
	Transmit(apdu []byte) ([]byte, error)
}

// TransportFunc adapts a function to Transport.
type TransportFunc func(apdu []byte) ([]byte, error)

// Transmit calls f.
func (f TransportFunc) Transmit(apdu []byte) ([]byte, error) { return f(apdu) }

// aid is the application identifier; see AID.
const aid = "\xF0KSTN\x01"

// AID returns the application identifier of the station's card
// application: a proprietary, unregistered RID F0 followed by "KSTN" and
// version 01 (F0 4B 53 54 4E 01).
func AID() []byte { return []byte(aid) }

// Instruction bytes, parameters and sizes of the card application.
const (
	InsSelect     = 0xA4
	InsGetData    = 0xCA
	InsReadBinary = 0xB0
	InsVerify     = 0x20

	// SelectByAID and SelectByFileID are SELECT's P1.
	SelectByAID    = 0x04
	SelectByFileID = 0x02
	// SelectNoResponse is SELECT's P2 when no FCI is wanted.
	SelectNoResponse = 0x0C

	// TagSerial is the GET DATA tag (P1 P2) of the serial number.
	TagSerial = 0x005A
	// CertificateFileID is the elementary file holding the certificate.
	CertificateFileID = 0xC101
	// PINReference is VERIFY's P2.
	PINReference = 0x81
	// PINBlockLength is the length of the padded PIN in VERIFY.
	PINBlockLength = 8
	// PINPad pads the PIN to PINBlockLength.
	PINPad = 0xFF
	// MinPINLength and MaxPINLength bound the PIN's digits.
	MinPINLength = 4
	MaxPINLength = 8
	// ChunkSize is the largest READ BINARY the client asks for.
	ChunkSize = 0xF0
	// MaxFileSize is the largest file READ BINARY can address (15-bit
	// offset).
	MaxFileSize = 0x7FFF
)

// Status words used by the card application.
const (
	SWOK               uint16 = 0x9000
	SWEndOfFile        uint16 = 0x6282
	SWWrongPINBase     uint16 = 0x63C0 // low nibble: attempts left
	SWWrongLength      uint16 = 0x6700
	SWSecurityStatus   uint16 = 0x6982
	SWPINBlocked       uint16 = 0x6983
	SWConditions       uint16 = 0x6985
	SWFileNotFound     uint16 = 0x6A82
	SWWrongP1P2        uint16 = 0x6A86
	SWDataNotFound     uint16 = 0x6A88
	SWOffsetBeyondEnd  uint16 = 0x6B00
	SWInsNotSupported  uint16 = 0x6D00
	SWClassUnsupported uint16 = 0x6E00
)

// Client speaks the card application protocol over a Transport. It is the
// one implementation of the protocol, used by every driver. A Client is
// not safe for concurrent use (one card session at a time).
type Client struct {
	t Transport
}

// NewClient returns a Client that sends its APDUs over t.
func NewClient(t Transport) *Client { return &Client{t: t} }

// transmit sends apdu and splits the response into data and status word.
func (c *Client) transmit(command string, apdu []byte) ([]byte, uint16, error) {
	rsp, err := c.t.Transmit(apdu)
	if err != nil {
		return nil, 0, fmt.Errorf("cardreader: %s: %w", command, err)
	}
	if len(rsp) < 2 {
		return nil, 0, fmt.Errorf("cardreader: %s: %w (%d bytes)", command, ErrNoResponse, len(rsp))
	}
	n := len(rsp) - 2
	return rsp[:n], uint16(rsp[n])<<8 | uint16(rsp[n+1]), nil
}

// Select selects the card application. A card without it gives
// ErrUnsupportedCard.
func (c *Client) Select() error {
	apdu := append([]byte{0x00, InsSelect, SelectByAID, 0x00, byte(len(aid))}, aid...)
	apdu = append(apdu, 0x00)
	_, sw, err := c.transmit("SELECT application", apdu)
	if err != nil {
		return err
	}
	switch sw {
	case SWOK:
		return nil
	case SWFileNotFound:
		return ErrUnsupportedCard
	default:
		return &StatusError{Command: "SELECT application", SW: sw}
	}
}

// Serial reads the card's serial number (GET DATA). The application must
// be selected.
func (c *Client) Serial() (string, error) {
	data, sw, err := c.transmit("GET DATA serial", []byte{0x00, InsGetData, TagSerial >> 8, TagSerial & 0xFF, 0x00})
	if err != nil {
		return "", err
	}
	switch sw {
	case SWOK:
	case SWDataNotFound:
		return "", ErrNoSerial
	default:
		return "", &StatusError{Command: "GET DATA serial", SW: sw}
	}
	if len(data) == 0 {
		return "", ErrNoSerial
	}
	for _, b := range data {
		if b < 0x21 || b > 0x7E {
			return "", fmt.Errorf("cardreader: GET DATA serial: serial number is not printable ASCII")
		}
	}
	return string(data), nil
}

// Certificate reads the holder certificate (DER). A card without one gives
// ErrNoCertificate. The application must be selected.
func (c *Client) Certificate() ([]byte, error) {
	_, sw, err := c.transmit("SELECT certificate", []byte{0x00, InsSelect, SelectByFileID, SelectNoResponse, 0x02,
		CertificateFileID >> 8, CertificateFileID & 0xFF})
	if err != nil {
		return nil, err
	}
	switch sw {
	case SWOK:
	case SWFileNotFound:
		return nil, ErrNoCertificate
	default:
		return nil, &StatusError{Command: "SELECT certificate", SW: sw}
	}

	first, eof, err := c.readBinary(0, ChunkSize)
	if err != nil {
		return nil, err
	}
	total, err := derLength(first)
	if err != nil {
		return nil, err
	}
	if total > MaxFileSize {
		return nil, fmt.Errorf("cardreader: READ BINARY: certificate of %d bytes is larger than the file can be", total)
	}
	der := make([]byte, 0, total)
	der = append(der, first[:min(len(first), total)]...)
	for len(der) < total {
		if eof {
			return nil, fmt.Errorf("cardreader: READ BINARY: certificate file ends after %d of %d bytes", len(der), total)
		}
		var chunk []byte
		chunk, eof, err = c.readBinary(len(der), min(ChunkSize, total-len(der)))
		if err != nil {
			return nil, err
		}
		if len(chunk) == 0 {
			return nil, fmt.Errorf("cardreader: READ BINARY: certificate file ends after %d of %d bytes", len(der), total)
		}
		der = append(der, chunk[:min(len(chunk), total-len(der))]...)
	}
	return der, nil
}

// readBinary reads up to n bytes at offset. eof reports that the card said
// the file ended (6282) or that offset is past its end (6B00).
func (c *Client) readBinary(offset, n int) (data []byte, eof bool, err error) {
	data, sw, err := c.transmit("READ BINARY", []byte{0x00, InsReadBinary, byte(offset >> 8), byte(offset), byte(n)})
	if err != nil {
		return nil, false, err
	}
	switch sw {
	case SWOK:
		return data, false, nil
	case SWEndOfFile:
		return data, true, nil
	case SWOffsetBeyondEnd:
		return nil, true, nil
	default:
		return nil, false, &StatusError{Command: "READ BINARY", SW: sw}
	}
}

// derLength returns the total length (header included) of the DER element
// that starts b, which must be a SEQUENCE.
func derLength(b []byte) (int, error) {
	if len(b) < 2 || b[0] != 0x30 {
		return 0, errors.New("cardreader: READ BINARY: certificate file does not start with a DER SEQUENCE")
	}
	if b[1] < 0x80 {
		return 2 + int(b[1]), nil
	}
	n := int(b[1] & 0x7F)
	if n == 0 || n > 3 || len(b) < 2+n {
		return 0, errors.New("cardreader: READ BINARY: certificate file has a bad DER length")
	}
	l := 0
	for _, x := range b[2 : 2+n] {
		l = l<<8 | int(x)
	}
	return 2 + n + l, nil
}

// PINRetries asks the card how many PIN attempts are left (VERIFY without
// data). It returns 0 for a blocked PIN and -1 when the PIN is already
// verified in this session. The application must be selected.
func (c *Client) PINRetries() (int, error) {
	_, sw, err := c.transmit("VERIFY status", []byte{0x00, InsVerify, 0x00, PINReference})
	if err != nil {
		return 0, err
	}
	switch {
	case sw == SWOK:
		return -1, nil
	case sw == SWPINBlocked:
		return 0, nil
	case sw&0xFFF0 == SWWrongPINBase:
		return int(sw & 0x0F), nil
	default:
		return 0, &StatusError{Command: "VERIFY status", SW: sw}
	}
}

// ValidPIN reports whether pin is MinPINLength to MaxPINLength ASCII
// digits.
func ValidPIN(pin []byte) bool {
	if len(pin) < MinPINLength || len(pin) > MaxPINLength {
		return false
	}
	for _, b := range pin {
		if b < '0' || b > '9' {
			return false
		}
	}
	return true
}

// VerifyPIN selects the application and verifies pin. It zeroes pin and
// every buffer that held it before it returns. A malformed PIN gives
// ErrPINFormat without touching the card; a wrong one *PINError; a blocked
// one ErrPINBlocked.
func (c *Client) VerifyPIN(pin []byte) error {
	defer clear(pin)
	if !ValidPIN(pin) {
		return ErrPINFormat
	}
	if err := c.Select(); err != nil {
		return err
	}
	apdu := make([]byte, 5+PINBlockLength)
	defer clear(apdu)
	copy(apdu, []byte{0x00, InsVerify, 0x00, PINReference, PINBlockLength})
	block := apdu[5:]
	for i := range block {
		block[i] = PINPad
	}
	copy(block, pin)
	_, sw, err := c.transmit("VERIFY", apdu)
	if err != nil {
		return err
	}
	return verifyStatus(sw)
}

// verifyStatus maps VERIFY's status word to the typed PIN errors.
func verifyStatus(sw uint16) error {
	switch {
	case sw == SWOK:
		return nil
	case sw == SWPINBlocked, sw == SWWrongPINBase:
		return ErrPINBlocked
	case sw&0xFFF0 == SWWrongPINBase:
		return &PINError{Retries: int(sw & 0x0F)}
	default:
		return &StatusError{Command: "VERIFY", SW: sw}
	}
}

// ReadCard selects the application and reads everything the station needs:
// serial number, certificate (if any) with the HSA-ID, and the PIN attempts
// left. atr is copied into the result.
func (c *Client) ReadCard(atr []byte) (Card, error) {
	card := Card{ATR: append([]byte(nil), atr...)}
	if err := c.Select(); err != nil {
		return Card{}, err
	}
	serial, err := c.Serial()
	if err != nil {
		return Card{}, err
	}
	card.Serial = serial

	der, err := c.Certificate()
	switch {
	case errors.Is(err, ErrNoCertificate):
	case err != nil:
		return Card{}, err
	default:
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return Card{}, fmt.Errorf("cardreader: parse certificate: %w", err)
		}
		id, err := HSAIDFromCertificate(cert)
		if err != nil {
			return Card{}, err
		}
		card.CertificateDER, card.Certificate, card.HSAID = der, cert, id
	}

	if card.PINRetries, err = c.PINRetries(); err != nil {
		return Card{}, err
	}
	return card, nil
}
