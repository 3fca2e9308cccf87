// Package vcard is a virtual SITHS-like card in pure Go: the card
// application of package cardreader (ATR, serial number, an X.509
// certificate with the HSA-ID in the subject serialNumber, a PIN with a
// retry counter that blocks at zero) as an APDU handler usable in-process,
// plus a connection to the vsmartcard vpcd reader driver so the same card
// can be inserted into a real pcscd (see Card.Insert).
//
// It backs the simulated reader (package sim) and the integration tests of
// the real driver. It is test and development tooling: production code
// never creates a vcard.
package vcard

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"sync"

	"github.com/kortstation/kortstation/hw/cardreader"
)

// DefaultMaxRetries is the PIN retry counter of a new card.
const DefaultMaxRetries = 3

// ErrPulled is returned by Card.Process when a pull set with PullOn fires:
// the card leaves the reader instead of answering.
var ErrPulled = errors.New("vcard: card pulled out of the reader")

// ErrStalled is returned by Card.Process when a stall set with StallOn
// fires: the card stops answering but stays in the reader, like a mute
// card; the transport waits until the card is removed.
var ErrStalled = errors.New("vcard: card stopped answering")

// atr is the answer to reset of every virtual card.
var atr = buildATR("KORTSTATION")

// ATR returns the answer to reset of every virtual card: T=1, historical
// bytes "KORTSTATION".
func ATR() []byte { return append([]byte(nil), atr...) }

func buildATR(historical string) []byte {
	atr := []byte{0x3B, 0x80 | byte(len(historical)), 0x81, 0x01}
	atr = append(atr, historical...)
	var tck byte
	for _, b := range atr[1:] {
		tck ^= b
	}
	return append(atr, tck)
}

// Card is one virtual card. Its methods are safe for concurrent use.
type Card struct {
	serial string
	cert   []byte // DER; nil for a blank card

	mu         sync.Mutex
	pinBlock   []byte // the PIN padded like VERIFY's data
	maxRetries int
	retries    int
	appOK      bool // application selected
	certOK     bool // certificate file selected
	verified   bool
	pull       func(apdu []byte) bool
	stall      func(apdu []byte) bool
}

// New returns a card with serial number serial, certificate certDER (nil
// for a blank reserve card), PIN pin (4 to 8 digits) and maxRetries PIN
// attempts (DefaultMaxRetries if 0).
func New(serial string, certDER []byte, pin string, maxRetries int) (*Card, error) {
	if serial == "" || len(serial) > 64 {
		return nil, fmt.Errorf("vcard: serial number must be 1 to 64 characters")
	}
	for _, r := range serial {
		if r < 0x21 || r > 0x7E {
			return nil, fmt.Errorf("vcard: serial number must be printable ASCII")
		}
	}
	if !cardreader.ValidPIN([]byte(pin)) {
		return nil, fmt.Errorf("vcard: %w", cardreader.ErrPINFormat)
	}
	if len(certDER) > cardreader.MaxFileSize {
		return nil, fmt.Errorf("vcard: certificate of %d bytes does not fit the file", len(certDER))
	}
	if maxRetries == 0 {
		maxRetries = DefaultMaxRetries
	}
	if maxRetries < 1 || maxRetries > 15 {
		return nil, fmt.Errorf("vcard: PIN retries must be 1 to 15, got %d", maxRetries)
	}
	return &Card{
		serial:     serial,
		cert:       append([]byte(nil), certDER...),
		pinBlock:   pinBlock([]byte(pin)),
		maxRetries: maxRetries,
		retries:    maxRetries,
	}, nil
}

func pinBlock(pin []byte) []byte {
	b := make([]byte, cardreader.PINBlockLength)
	for i := range b {
		b[i] = cardreader.PINPad
	}
	copy(b, pin)
	return b
}

// ATR returns the card's answer to reset.
func (c *Card) ATR() []byte { return ATR() }

// Serial returns the card's serial number.
func (c *Card) Serial() string { return c.serial }

// CertificateDER returns the card's certificate, nil for a blank card.
func (c *Card) CertificateDER() []byte { return append([]byte(nil), c.cert...) }

// PINRetries returns the PIN attempts left (0: blocked).
func (c *Card) PINRetries() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.retries
}

// PullOn arms a one-shot pull: the first later command APDU for which
// match returns true is not answered; Process returns ErrPulled instead and
// the transport (vpcd connection or simulator) takes the card out of the
// reader. Tests use it to pull the card mid-read deterministically.
func (c *Card) PullOn(match func(apdu []byte) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pull = match
}

// StallOn arms a one-shot stall: the first later command APDU for which
// match returns true is never answered (Process returns ErrStalled); the
// card stays in the reader until removed. Tests use it to prove that no
// operation hangs on a card that stops answering.
func (c *Card) StallOn(match func(apdu []byte) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stall = match
}

// Reset is a power cycle: the application and file selections and the
// PIN-verified state are lost; the retry counter is kept.
func (c *Card) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.appOK, c.certOK, c.verified = false, false, false
}

// Process handles one command APDU and returns the response APDU (data and
// status word). It returns an error only for an armed pull (ErrPulled) or
// stall (ErrStalled).
func (c *Card) Process(apdu []byte) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pull != nil && c.pull(apdu) {
		c.pull = nil
		return nil, ErrPulled
	}
	if c.stall != nil && c.stall(apdu) {
		c.stall = nil
		return nil, ErrStalled
	}
	return c.process(apdu), nil
}

func sw(w uint16) []byte { return []byte{byte(w >> 8), byte(w)} }

func withSW(data []byte, w uint16) []byte {
	return append(append(make([]byte, 0, len(data)+2), data...), sw(w)...)
}

// command is a parsed short APDU.
type command struct {
	cla, ins, p1, p2 byte
	data             []byte
	le               int // -1: absent; 0 in the APDU means 256
}

func parse(apdu []byte) (command, bool) {
	if len(apdu) < 4 {
		return command{}, false
	}
	cmd := command{cla: apdu[0], ins: apdu[1], p1: apdu[2], p2: apdu[3], le: -1}
	body := apdu[4:]
	switch {
	case len(body) == 0:
	case len(body) == 1:
		cmd.le = int(body[0])
	default:
		lc := int(body[0])
		if lc == 0 {
			return command{}, false // extended length is not supported
		}
		switch len(body) {
		case 1 + lc:
		case 2 + lc:
			cmd.le = int(body[1+lc])
		default:
			return command{}, false
		}
		cmd.data = body[1 : 1+lc]
	}
	if cmd.le == 0 {
		cmd.le = 256
	}
	return cmd, true
}

func (c *Card) process(apdu []byte) []byte {
	cmd, ok := parse(apdu)
	if !ok {
		return sw(cardreader.SWWrongLength)
	}
	if cmd.cla != 0x00 {
		return sw(cardreader.SWClassUnsupported)
	}
	switch cmd.ins {
	case cardreader.InsSelect:
		return c.selectFile(cmd)
	case cardreader.InsGetData:
		return c.getData(cmd)
	case cardreader.InsReadBinary:
		return c.readBinary(cmd)
	case cardreader.InsVerify:
		return c.verify(cmd)
	default:
		return sw(cardreader.SWInsNotSupported)
	}
}

func (c *Card) selectFile(cmd command) []byte {
	switch cmd.p1 {
	case cardreader.SelectByAID:
		c.appOK, c.certOK, c.verified = false, false, false
		if subtle.ConstantTimeCompare(cmd.data, cardreader.AID()) != 1 {
			return sw(cardreader.SWFileNotFound)
		}
		c.appOK = true
		return sw(cardreader.SWOK)
	case cardreader.SelectByFileID:
		if !c.appOK {
			return sw(cardreader.SWConditions)
		}
		c.certOK = false
		if len(cmd.data) != 2 {
			return sw(cardreader.SWWrongLength)
		}
		fid := uint16(cmd.data[0])<<8 | uint16(cmd.data[1])
		if fid != cardreader.CertificateFileID || len(c.cert) == 0 {
			return sw(cardreader.SWFileNotFound)
		}
		c.certOK = true
		return sw(cardreader.SWOK)
	default:
		return sw(cardreader.SWWrongP1P2)
	}
}

func (c *Card) getData(cmd command) []byte {
	if !c.appOK {
		return sw(cardreader.SWConditions)
	}
	if uint16(cmd.p1)<<8|uint16(cmd.p2) != cardreader.TagSerial {
		return sw(cardreader.SWDataNotFound)
	}
	return withSW([]byte(c.serial), cardreader.SWOK)
}

func (c *Card) readBinary(cmd command) []byte {
	if !c.certOK {
		return sw(cardreader.SWConditions)
	}
	if cmd.p1&0x80 != 0 {
		return sw(cardreader.SWWrongP1P2)
	}
	if cmd.le < 0 || len(cmd.data) != 0 {
		return sw(cardreader.SWWrongLength)
	}
	off := int(cmd.p1)<<8 | int(cmd.p2)
	if off >= len(c.cert) {
		return sw(cardreader.SWOffsetBeyondEnd)
	}
	end := off + cmd.le
	if end > len(c.cert) {
		return withSW(c.cert[off:], cardreader.SWEndOfFile)
	}
	return withSW(c.cert[off:end], cardreader.SWOK)
}

func (c *Card) verify(cmd command) []byte {
	if !c.appOK {
		return sw(cardreader.SWConditions)
	}
	if cmd.p1 != 0x00 || cmd.p2 != cardreader.PINReference {
		return sw(cardreader.SWWrongP1P2)
	}
	if len(cmd.data) == 0 { // status query
		switch {
		case c.retries == 0:
			return sw(cardreader.SWPINBlocked)
		case c.verified:
			return sw(cardreader.SWOK)
		default:
			return sw(cardreader.SWWrongPINBase | uint16(c.retries))
		}
	}
	if len(cmd.data) != cardreader.PINBlockLength {
		return sw(cardreader.SWWrongLength)
	}
	if c.retries == 0 {
		return sw(cardreader.SWPINBlocked)
	}
	if subtle.ConstantTimeCompare(cmd.data, c.pinBlock) == 1 {
		c.retries = c.maxRetries
		c.verified = true
		return sw(cardreader.SWOK)
	}
	c.verified = false
	c.retries--
	if c.retries == 0 {
		return sw(cardreader.SWPINBlocked)
	}
	return sw(cardreader.SWWrongPINBase | uint16(c.retries))
}
