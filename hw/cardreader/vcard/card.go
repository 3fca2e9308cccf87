// Package vcard is a virtual SITHS-like card in pure Go: an ISO/IEC
// 7816-15 (PKCS#15) card with EF.DIR, the PKCS#15 application (EF.ODF,
// EF.TokenInfo with the serial number, an AODF with the user PIN, a PrKDF
// with the authentication key, a CDF and the certificate file), a PIN with
// a retry counter that blocks at zero, and a real private key (RSA 2048 or
// ECDSA P-256, generated at run time) that signs through MSE:SET and PSO:
// COMPUTE DIGITAL SIGNATURE once the PIN is verified. It answers APDUs
// in-process and over a connection to the vsmartcard vpcd reader driver,
// so the same card can be inserted into a real pcscd (see Card.Insert).
//
// It backs the simulated reader (package sim) and the integration tests of
// the real driver. It is test and development tooling: production code
// never creates a vcard. No key is ever stored: every card's key and
// every CA is made when the card is.
package vcard

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/subtle"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"sync"

	"github.com/kortstation/kortstation/hw/cardreader"
	"github.com/kortstation/kortstation/hw/cardreader/internal/p15"
)

// DefaultMaxRetries is the PIN retry counter of a new card.
const DefaultMaxRetries = 3

// The card's file layout and references (the station's reading of it
// comes from EF.DIR, EF.ODF and the directory files, never from these).
const (
	fidApp      = 0x5015 // DF.PKCS15 under the MF
	fidAODF     = 0x4401
	fidPrKDF    = 0x4402
	fidCDF      = 0x4404
	fidCert     = 0x4331
	pinRef      = 0x81 // local PIN 1
	pinStored   = 8    // stored length, padded with FF
	pinPad      = 0xFF
	keyRef      = 0x01
	authID      = 0x01
	objectID    = 0x45 // the key's and the certificate's iD
	manufacture = "Kortstation vcard"
)

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
func ATR() []byte { return bytes.Clone(atr) }

func buildATR(historical string) []byte {
	atr := []byte{0x3B, 0x80 | byte(len(historical)), 0x81, 0x01}
	atr = append(atr, historical...)
	var tck byte
	for _, b := range atr[1:] {
		tck ^= b
	}
	return append(atr, tck)
}

// Options describe a card for NewCard.
type Options struct {
	// Serial is the card number, stored in EF.TokenInfo.
	Serial string
	// CertificateDER is the authentication certificate; nil for a blank
	// reserve card.
	CertificateDER []byte
	// Key is the authentication key (*rsa.PrivateKey or
	// *ecdsa.PrivateKey on P-256); nil for a blank card. It need not
	// match the certificate: an attacker's card holds someone else's
	// certificate with its own key.
	Key crypto.Signer
	// PIN is 4 to 8 digits.
	PIN string
	// MaxRetries is the PIN retry counter (DefaultMaxRetries if 0).
	MaxRetries int
	// OtherCertificates are more certificates on the card (DER), listed in
	// its CDF without a key: e.g. a personal-number certificate.
	OtherCertificates [][]byte
}

// Card is one virtual card. Its methods are safe for concurrent use.
type Card struct {
	serial string
	cert   []byte        // DER; nil for a blank card
	others [][]byte      // more certificates (DER), without a key
	key    crypto.Signer // nil for a blank card
	files  map[string][]byte
	dfs    map[string]bool // absolute paths (hex) of the DFs

	mu         sync.Mutex
	pinBlock   []byte // the PIN padded like VERIFY's data
	maxRetries int
	retries    int
	curDF      string // absolute path of the current DF, hex
	curEF      string // absolute path of the current EF, hex; "" none
	verified   bool
	seAlg      int // MSE:SET algorithm reference; -1 none
	pull       func(apdu []byte) bool
	stall      func(apdu []byte) bool
}

// New returns a card without a private key: serial number serial,
// certificate certDER (nil for a blank reserve card), PIN pin (4 to 8
// digits) and maxRetries PIN attempts (DefaultMaxRetries if 0).
func New(serial string, certDER []byte, pin string, maxRetries int) (*Card, error) {
	return NewCard(Options{Serial: serial, CertificateDER: certDER, PIN: pin, MaxRetries: maxRetries})
}

// NewCard returns the card o describes.
func NewCard(o Options) (*Card, error) {
	if o.Serial == "" || len(o.Serial) > 64 {
		return nil, fmt.Errorf("vcard: serial number must be 1 to 64 characters")
	}
	for _, r := range o.Serial {
		if r < 0x21 || r > 0x7E {
			return nil, fmt.Errorf("vcard: serial number must be printable ASCII")
		}
	}
	if !cardreader.ValidPIN([]byte(o.PIN)) {
		return nil, fmt.Errorf("vcard: %w", cardreader.ErrPINFormat)
	}
	if len(o.CertificateDER) > cardreader.MaxFileSize {
		return nil, fmt.Errorf("vcard: certificate of %d bytes does not fit the file", len(o.CertificateDER))
	}
	if o.MaxRetries == 0 {
		o.MaxRetries = DefaultMaxRetries
	}
	if o.MaxRetries < 1 || o.MaxRetries > 15 {
		return nil, fmt.Errorf("vcard: PIN retries must be 1 to 15, got %d", o.MaxRetries)
	}
	c := &Card{
		serial:     o.Serial,
		cert:       bytes.Clone(o.CertificateDER),
		others:     o.OtherCertificates,
		key:        o.Key,
		pinBlock:   pinBlock([]byte(o.PIN)),
		maxRetries: o.MaxRetries,
		retries:    o.MaxRetries,
		seAlg:      -1,
	}
	if err := c.buildFiles(); err != nil {
		return nil, err
	}
	c.resetLocked()
	return c, nil
}

func pinBlock(pin []byte) []byte {
	b := bytes.Repeat([]byte{pinPad}, pinStored)
	copy(b, pin)
	return b
}

func hexPath(fids ...uint16) string {
	var b []byte
	for _, f := range fids {
		b = append(b, byte(f>>8), byte(f))
	}
	return hex.EncodeToString(b)
}

func abs(fids ...uint16) []byte {
	var b []byte
	for _, f := range fids {
		b = append(b, byte(f>>8), byte(f))
	}
	return b
}

// buildFiles lays out the PKCS#15 file system.
func (c *Card) buildFiles() error {
	mf, app := hexPath(p15.FIDMaster), hexPath(p15.FIDMaster, fidApp)
	c.dfs = map[string]bool{mf: true, app: true}
	c.files = map[string][]byte{}
	c.files[hexPath(p15.FIDMaster, p15.FIDDir)] = p15.EncodeDir(p15.Application{
		AID: p15.AID, Label: "Kortstation PKCS#15", Path: abs(p15.FIDMaster, fidApp)})
	c.files[hexPath(p15.FIDMaster, fidApp, p15.FIDTokenInfo)] = p15.EncodeTokenInfo([]byte(c.serial), manufacture)

	// Directory files at absolute paths (SELECT by path from the MF); the
	// certificate at a path relative to the application (SELECT child EF).
	odf := []p15.ODFEntry{{Tag: p15.ODFAuthObjects, Path: p15.Path{Path: abs(p15.FIDMaster, fidApp, fidAODF)}}}
	c.files[hexPath(p15.FIDMaster, fidApp, fidAODF)] = p15.EncodePIN(p15.PIN{
		Common: p15.CommonObjectAttributes{Label: "PIN", Flags: p15.Flags(0)},
		Auth:   p15.CommonAuthenticationObjectAttributes{AuthID: []byte{authID}},
		Attrs: p15.PINAttributes{
			Flags:        p15.Flags(p15.PINLocal, p15.PINInitialized, p15.PINNeedsPadding),
			Type:         p15.PINTypeASCIINumeric,
			MinLength:    cardreader.MinPINLength,
			StoredLength: pinStored,
			MaxLength:    cardreader.MaxPINLength,
			Reference:    pinRef,
			PadChar:      []byte{pinPad},
		},
	})
	if c.key != nil {
		k := p15.PrivateKey{
			Common: p15.CommonObjectAttributes{Label: "Legitimering", Flags: p15.Flags(0), AuthID: []byte{authID}},
			Key: p15.CommonKeyAttributes{ID: []byte{objectID}, Usage: p15.Flags(p15.UsageSign),
				KeyReference: keyRef},
			Path: p15.Path{Path: abs(p15.FIDMaster, fidApp, 0x4B01)},
		}
		switch pub := c.key.Public().(type) {
		case *rsa.PublicKey:
			k.Type, k.ModulusLength = p15.KeyRSA, pub.N.BitLen()
		case *ecdsa.PublicKey:
			if pub.Curve != elliptic.P256() {
				return errors.New("vcard: ECDSA keys must be on P-256")
			}
			k.Type = p15.KeyEC
		default:
			return fmt.Errorf("vcard: unsupported key type %T", pub)
		}
		c.files[hexPath(p15.FIDMaster, fidApp, fidPrKDF)] = p15.EncodePrivateKey(k)
		odf = append(odf, p15.ODFEntry{Tag: p15.ODFPrivateKeys, Path: p15.Path{Path: abs(p15.FIDMaster, fidApp, fidPrKDF)}})
	}
	if c.cert != nil {
		cdf := p15.EncodeCertificate(p15.Certificate{
			Common: p15.CommonObjectAttributes{Label: "Legitimering"},
			Cert:   p15.CommonCertificateAttributes{ID: []byte{objectID}},
			Path:   p15.Path{Path: abs(fidCert)},
		})
		c.files[hexPath(p15.FIDMaster, fidApp, fidCert)] = c.cert
		for i, der := range c.others {
			fid := uint16(fidCert + 1 + i)
			cdf = append(cdf, p15.EncodeCertificate(p15.Certificate{
				Common: p15.CommonObjectAttributes{Label: fmt.Sprintf("Certifikat %d", i+2)},
				Cert:   p15.CommonCertificateAttributes{ID: []byte{objectID + byte(1+i)}},
				Path:   p15.Path{Path: abs(fid)},
			})...)
			c.files[hexPath(p15.FIDMaster, fidApp, fid)] = der
		}
		c.files[hexPath(p15.FIDMaster, fidApp, fidCDF)] = cdf
		odf = append(odf, p15.ODFEntry{Tag: p15.ODFCertificates, Path: p15.Path{Path: abs(p15.FIDMaster, fidApp, fidCDF)}})
	}
	c.files[hexPath(p15.FIDMaster, fidApp, p15.FIDODF)] = p15.EncodeODF(odf...)
	return nil
}

// ATR returns the card's answer to reset.
func (c *Card) ATR() []byte { return ATR() }

// Serial returns the card's serial number.
func (c *Card) Serial() string { return c.serial }

// CertificateDER returns the card's certificate, nil for a blank card.
func (c *Card) CertificateDER() []byte { return bytes.Clone(c.cert) }

// PublicKey returns the public half of the card's key, nil for a card
// without one. For an attacker's card it differs from the certificate's.
func (c *Card) PublicKey() crypto.PublicKey {
	if c.key == nil {
		return nil
	}
	return c.key.Public()
}

// Contents returns what the card was made from, so that the same card can
// be put on another medium (package p11test makes it a PKCS#11 token). The
// key is the card's own: test tooling only, like the card.
func (c *Card) Contents() Options {
	c.mu.Lock()
	defer c.mu.Unlock()
	return Options{
		Serial:            c.serial,
		CertificateDER:    bytes.Clone(c.cert),
		Key:               c.key,
		PIN:               string(bytes.TrimRight(c.pinBlock, string([]byte{pinPad}))),
		MaxRetries:        c.maxRetries,
		OtherCertificates: c.others,
	}
}

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

// Reset is a power cycle (also what removal from the reader amounts to):
// the file selections, the PIN-verified state and the security
// environment are lost; the retry counter is kept.
func (c *Card) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.resetLocked()
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

// resetLocked is the state after power-on: the MF selected, no EF, the
// PIN not verified, no security environment.
func (c *Card) resetLocked() {
	c.curDF, c.curEF = hexPath(p15.FIDMaster), ""
	c.verified, c.seAlg = false, -1
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
	case cardreader.InsReadBinary:
		return c.readBinary(cmd)
	case cardreader.InsVerify:
		return c.verify(cmd)
	case cardreader.InsMSE:
		return c.mse(cmd)
	case cardreader.InsPSO:
		return c.pso(cmd)
	default:
		return sw(cardreader.SWInsNotSupported)
	}
}

// enter makes the file at path (hex, absolute) current: a DF becomes the
// current DF, an EF the current EF (its parent the current DF).
func (c *Card) enter(path string) []byte {
	switch {
	case c.dfs[path]:
		c.curDF, c.curEF = path, ""
	case c.files[path] != nil:
		c.curDF, c.curEF = path[:len(path)-4], path
	default:
		return sw(cardreader.SWFileNotFound)
	}
	return sw(cardreader.SWOK)
}

func (c *Card) selectFile(cmd command) []byte {
	switch cmd.p2 {
	case 0x00, 0x04, cardreader.SelectNoResponse:
	default:
		return sw(cardreader.SWWrongP1P2)
	}
	mf := hexPath(p15.FIDMaster)
	data := hex.EncodeToString(cmd.data)
	switch cmd.p1 {
	case cardreader.SelectByAID:
		if subtle.ConstantTimeCompare(cmd.data, p15.AID) != 1 {
			return sw(cardreader.SWFileNotFound)
		}
		return c.enter(hexPath(p15.FIDMaster, fidApp))
	case cardreader.SelectByFileID, cardreader.SelectChildEF:
		if len(cmd.data) != 2 {
			return sw(cardreader.SWWrongLength)
		}
		if data == mf && cmd.p1 == cardreader.SelectByFileID {
			return c.enter(mf)
		}
		if cmd.p1 == cardreader.SelectChildEF && c.dfs[c.curDF+data] {
			return sw(cardreader.SWFileNotFound) // a DF is not an EF
		}
		return c.enter(c.curDF + data)
	case cardreader.SelectPathFromMF:
		if len(cmd.data) == 0 || len(cmd.data)%2 != 0 {
			return sw(cardreader.SWWrongLength)
		}
		return c.enter(mf + data)
	case cardreader.SelectPathFromDF:
		if len(cmd.data) == 0 || len(cmd.data)%2 != 0 {
			return sw(cardreader.SWWrongLength)
		}
		return c.enter(c.curDF + data)
	default:
		return sw(cardreader.SWWrongP1P2)
	}
}

func (c *Card) readBinary(cmd command) []byte {
	if c.curEF == "" {
		return sw(cardreader.SWConditions)
	}
	if cmd.p1&0x80 != 0 {
		return sw(cardreader.SWWrongP1P2)
	}
	if cmd.le < 0 || len(cmd.data) != 0 {
		return sw(cardreader.SWWrongLength)
	}
	file := c.files[c.curEF]
	off := int(cmd.p1)<<8 | int(cmd.p2)
	if off >= len(file) {
		return sw(cardreader.SWOffsetBeyondEnd)
	}
	end := off + cmd.le
	if end > len(file) {
		return withSW(file[off:], cardreader.SWEndOfFile)
	}
	return withSW(file[off:end], cardreader.SWOK)
}

// inApp reports whether the PKCS#15 application is the current DF: its
// PIN and key are local to it.
func (c *Card) inApp() bool { return c.curDF == hexPath(p15.FIDMaster, fidApp) }

func (c *Card) verify(cmd command) []byte {
	if cmd.p1 != 0x00 {
		return sw(cardreader.SWWrongP1P2)
	}
	if cmd.p2 != pinRef || !c.inApp() {
		return sw(cardreader.SWDataNotFound)
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
	if len(cmd.data) != pinStored {
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

// mse handles MSE:SET for the digital signature template: 80 algorithm
// reference, 84 key reference.
func (c *Card) mse(cmd command) []byte {
	if cmd.p1 != cardreader.MSESetComputation || cmd.p2 != cardreader.MSETemplateDST {
		return sw(cardreader.SWWrongP1P2)
	}
	c.seAlg = -1
	alg, key := -1, -1
	for d := cmd.data; len(d) > 0; {
		if len(d) < 2 || len(d) < 2+int(d[1]) {
			return sw(cardreader.SWWrongData)
		}
		v := d[2 : 2+int(d[1])]
		switch d[0] {
		case cardreader.TagAlgorithmRef:
			if len(v) != 1 {
				return sw(cardreader.SWWrongData)
			}
			alg = int(v[0])
		case cardreader.TagKeyRef:
			if len(v) != 1 {
				return sw(cardreader.SWWrongData)
			}
			key = int(v[0])
		}
		d = d[2+int(d[1]):]
	}
	if c.key == nil || !c.inApp() || key != keyRef {
		return sw(cardreader.SWDataNotFound)
	}
	want := cardreader.AlgECDSAPlainHash
	if _, ok := c.key.Public().(*rsa.PublicKey); ok {
		want = cardreader.AlgRSAPKCS1DigestInfo
	}
	if alg != want {
		return sw(cardreader.SWWrongData)
	}
	c.seAlg = alg
	return sw(cardreader.SWOK)
}

// pso handles PSO: COMPUTE DIGITAL SIGNATURE with the environment MSE:SET
// set: RSA PKCS#1 v1.5 over a DigestInfo, or ECDSA over a 32-byte hash
// answered as r‖s.
func (c *Card) pso(cmd command) []byte {
	if cmd.p1 != cardreader.PSOSignatureOut || cmd.p2 != cardreader.PSOSignatureIn {
		return sw(cardreader.SWWrongP1P2)
	}
	if c.seAlg < 0 || !c.inApp() {
		return sw(cardreader.SWConditions)
	}
	if !c.verified {
		return sw(cardreader.SWSecurityStatus)
	}
	switch c.seAlg {
	case cardreader.AlgRSAPKCS1DigestInfo:
		if len(cmd.data) == 0 || len(cmd.data) > 64 {
			return sw(cardreader.SWWrongLength)
		}
		sig, err := c.key.Sign(rand.Reader, cmd.data, crypto.Hash(0))
		if err != nil {
			return sw(cardreader.SWWrongData)
		}
		return withSW(sig, cardreader.SWOK)
	case cardreader.AlgECDSAPlainHash:
		if len(cmd.data) != 32 {
			return sw(cardreader.SWWrongLength)
		}
		der, err := c.key.Sign(rand.Reader, cmd.data, crypto.SHA256)
		if err != nil {
			return sw(cardreader.SWWrongData)
		}
		var rs struct{ R, S *big.Int }
		if _, err := asn1.Unmarshal(der, &rs); err != nil {
			return sw(cardreader.SWWrongData)
		}
		out := make([]byte, 64)
		rs.R.FillBytes(out[:32])
		rs.S.FillBytes(out[32:])
		return withSW(out, cardreader.SWOK)
	default:
		return sw(cardreader.SWConditions)
	}
}
