package cardreader

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/kortstation/kortstation/hw/cardreader/internal/p15"
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

// PKCS15AID returns the application identifier of the ISO/IEC 7816-15
// (PKCS#15) application: A0 00 00 00 63 "PKCS-15".
func PKCS15AID() []byte { return bytes.Clone(p15.AID) }

// Instruction bytes and parameters (ISO/IEC 7816-4 and 7816-8).
const (
	InsSelect     = 0xA4
	InsReadBinary = 0xB0
	InsVerify     = 0x20
	InsMSE        = 0x22
	InsPSO        = 0x2A

	// SELECT's P1.
	SelectByFileID   = 0x00 // MF, DF or EF by file identifier
	SelectChildEF    = 0x02 // EF under the current DF
	SelectByAID      = 0x04 // DF by name (application identifier)
	SelectPathFromMF = 0x08 // path from the MF, without 3F00
	SelectPathFromDF = 0x09 // path from the current DF
	// SelectNoResponse is SELECT's P2 when no FCI is wanted.
	SelectNoResponse = 0x0C

	// MSE:SET for the digital signature template: P1 P2 = 41 B6.
	MSESetComputation = 0x41
	MSETemplateDST    = 0xB6
	// PSO: COMPUTE DIGITAL SIGNATURE: P1 P2 = 9E 9A.
	PSOSignatureOut = 0x9E
	PSOSignatureIn  = 0x9A

	// Control reference template tags of MSE:SET.
	TagAlgorithmRef = 0x80
	TagKeyRef       = 0x84

	// Algorithm references of the station's card profile (MSE:SET tag
	// 80): the card pads a DigestInfo with PKCS#1 v1.5 and signs it with
	// RSA, or signs a plain hash with ECDSA and returns r‖s.
	AlgRSAPKCS1DigestInfo = 0x02
	AlgECDSAPlainHash     = 0x04

	// MinPINLength and MaxPINLength bound the PIN's digits.
	MinPINLength = 4
	MaxPINLength = 8
	// ChunkSize is the largest READ BINARY the client asks for.
	ChunkSize = 0xF0
	// MaxFileSize is the largest file READ BINARY can address (15-bit
	// offset).
	MaxFileSize = 0x7FFF
)

// Status words.
const (
	SWOK               uint16 = 0x9000
	SWEndOfFile        uint16 = 0x6282
	SWWrongPINBase     uint16 = 0x63C0 // low nibble: attempts left
	SWWrongLength      uint16 = 0x6700
	SWSecurityStatus   uint16 = 0x6982
	SWPINBlocked       uint16 = 0x6983
	SWConditions       uint16 = 0x6985
	SWWrongData        uint16 = 0x6A80
	SWFileNotFound     uint16 = 0x6A82
	SWWrongP1P2        uint16 = 0x6A86
	SWDataNotFound     uint16 = 0x6A88
	SWOffsetBeyondEnd  uint16 = 0x6B00
	SWWrongLe          uint16 = 0x6C00 // low byte: the right Le
	SWInsNotSupported  uint16 = 0x6D00
	SWClassUnsupported uint16 = 0x6E00
)

// Client speaks ISO/IEC 7816-4/-8/-15 to a PKCS#15 card over a Transport.
// It is the one implementation of the card protocol, used by every
// driver. It discovers the card's layout once (EF.DIR, EF.ODF, the
// directory files) and keeps it for later calls. A Client is not safe for
// concurrent use (one card session at a time).
type Client struct {
	t Transport
	p *profile
}

// NewClient returns a Client that sends its APDUs over t.
func NewClient(t Transport) *Client { return &Client{t: t} }

// profile is what discovery learnt about the card.
type profile struct {
	// key is the holder's authentication key; nil on a blank card.
	key *p15.PrivateKey
	// cert is the certificate object matching key (by ID); nil if none.
	cert *p15.Certificate
	// certs are every certificate object of the CDF.
	certs []p15.Certificate
	// pin is the PIN that guards key (or the card's user PIN); nil if
	// the AODF has none.
	pin *p15.PIN
	// odf is the parsed object directory.
	odf map[int][]p15.Path
	// aid is the application's AID as EF.DIR gave it.
	aid []byte
}

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

// selectFile sends SELECT with P1 p1 and data, no response data wanted.
// 6A82 gives errNotFound.
func (c *Client) selectFile(what string, p1 byte, data []byte) error {
	apdu := append([]byte{0x00, InsSelect, p1, SelectNoResponse, byte(len(data))}, data...)
	_, sw, err := c.transmit("SELECT "+what, apdu)
	if err != nil {
		return err
	}
	switch sw {
	case SWOK:
		return nil
	case SWFileNotFound:
		return fmt.Errorf("cardreader: SELECT %s: %w", what, errNotFound)
	default:
		return &StatusError{Command: "SELECT " + what, SW: sw}
	}
}

// errNotFound is a file the card does not have (6A82).
var errNotFound = errors.New("file not found")

func fid(id uint16) []byte { return []byte{byte(id >> 8), byte(id)} }

// selectPath selects the file at a PKCS#15 path: a two-byte file ID
// under the current DF, an absolute path from 3F00, or a longer path from
// the current DF.
func (c *Client) selectPath(what string, path []byte) error {
	switch {
	case len(path) < 2 || len(path)%2 != 0:
		return fmt.Errorf("cardreader: SELECT %s: bad path % X", what, path)
	case len(path) == 2:
		return c.selectFile(what, SelectChildEF, path)
	case path[0] == 0x3F && path[1] == 0x00:
		return c.selectFile(what, SelectPathFromMF, path[2:])
	default:
		return c.selectFile(what, SelectPathFromDF, path)
	}
}

// readBinary reads up to n bytes at offset. eof reports that the card said
// the file ended (6282) or that offset is past its end (6B00).
func (c *Client) readBinary(offset, n int) (data []byte, eof bool, err error) {
	for range 2 {
		data, sw, err := c.transmit("READ BINARY", []byte{0x00, InsReadBinary, byte(offset >> 8), byte(offset), byte(n)})
		if err != nil {
			return nil, false, err
		}
		switch {
		case sw == SWOK:
			return data, false, nil
		case sw == SWEndOfFile:
			return data, true, nil
		case sw == SWOffsetBeyondEnd:
			return nil, true, nil
		case sw&0xFF00 == SWWrongLe && sw&0xFF != 0:
			n = int(sw & 0xFF) // fewer bytes left: ask for exactly those
			continue
		default:
			return nil, false, &StatusError{Command: "READ BINARY", SW: sw}
		}
	}
	return nil, false, errors.New("cardreader: READ BINARY: card keeps asking for another length")
}

// readFile reads the selected transparent file to its end, from offset.
func (c *Client) readFile(what string) ([]byte, error) {
	var out []byte
	for {
		chunk, eof, err := c.readBinary(len(out), ChunkSize)
		if err != nil {
			return nil, err
		}
		out = append(out, chunk...)
		if eof || len(chunk) < ChunkSize {
			return out, nil
		}
		if len(out) > MaxFileSize {
			return nil, fmt.Errorf("cardreader: READ BINARY: %s is larger than %d bytes", what, MaxFileSize)
		}
	}
}

// readDER reads one DER element (a certificate) from the selected file at
// offset: the first chunk, the total length from its header, then the
// rest in chunks of ChunkSize bytes.
func (c *Client) readDER(offset int) ([]byte, error) {
	first, eof, err := c.readBinary(offset, ChunkSize)
	if err != nil {
		return nil, err
	}
	total, err := derLength(first)
	if err != nil {
		return nil, err
	}
	if offset+total > MaxFileSize {
		return nil, fmt.Errorf("cardreader: READ BINARY: certificate of %d bytes is larger than the file can be", total)
	}
	der := make([]byte, 0, total)
	der = append(der, first[:min(len(first), total)]...)
	for len(der) < total {
		if eof {
			return nil, fmt.Errorf("cardreader: READ BINARY: certificate file ends after %d of %d bytes", len(der), total)
		}
		var chunk []byte
		chunk, eof, err = c.readBinary(offset+len(der), min(ChunkSize, total-len(der)))
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

// SelectApplication finds the PKCS#15 application in EF.DIR and selects
// it by its AID. A card without EF.DIR is asked for the AID directly; a
// card without the application gives ErrUnsupportedCard.
func (c *Client) SelectApplication() error {
	_, err := c.selectApplication()
	return err
}

// enterApp selects the application again by its AID before a command
// that works on it (the PIN and the key are local to its DF): between two
// commands of the station another PC/SC client, or a reset, may have
// changed the current DF.
func (c *Client) enterApp(p *profile) error {
	return c.selectFile("PKCS#15 application", SelectByAID, p.aid)
}

func (c *Client) selectApplication() ([]byte, error) {
	aid := p15.AID
	err := c.selectFile("MF", SelectByFileID, fid(p15.FIDMaster))
	if err == nil {
		err = c.selectFile("EF.DIR", SelectChildEF, fid(p15.FIDDir))
	}
	switch {
	case errors.Is(err, errNotFound):
		// No EF.DIR: try the well-known AID.
	case err != nil:
		return nil, err
	default:
		dir, err := c.readFile("EF.DIR")
		if err != nil {
			return nil, err
		}
		apps, err := p15.ParseDir(dir)
		if err != nil {
			return nil, fmt.Errorf("cardreader: %w", err)
		}
		found := false
		for _, app := range apps {
			if bytes.Equal(app.AID, p15.AID) {
				aid, found = app.AID, true
				break
			}
		}
		if !found {
			return nil, fmt.Errorf("cardreader: EF.DIR lists no PKCS#15 application: %w", ErrUnsupportedCard)
		}
	}
	if err := c.selectFile("PKCS#15 application", SelectByAID, aid); err != nil {
		if errors.Is(err, errNotFound) {
			return nil, fmt.Errorf("cardreader: %w", ErrUnsupportedCard)
		}
		return nil, err
	}
	return aid, nil
}

// readEF selects the EF at path and reads it whole.
func (c *Client) readEF(what string, path []byte) ([]byte, error) {
	if err := c.selectPath(what, path); err != nil {
		return nil, err
	}
	return c.readFile(what)
}

// discover selects the application and reads the ODF and the PrKDF, CDF
// and AODF it points at, and picks the holder's authentication key, its
// certificate and its PIN. It runs once per Client.
func (c *Client) discover() (*profile, error) {
	if c.p != nil {
		return c.p, nil
	}
	aid, err := c.selectApplication()
	if err != nil {
		return nil, err
	}
	odfBytes, err := c.readEF("EF.ODF", fid(p15.FIDODF))
	if errors.Is(err, errNotFound) {
		return nil, fmt.Errorf("cardreader: PKCS#15 application without EF.ODF: %w", ErrUnsupportedCard)
	}
	if err != nil {
		return nil, err
	}
	odf, err := p15.ParseODF(odfBytes)
	if err != nil {
		return nil, fmt.Errorf("cardreader: %w", err)
	}
	p := &profile{odf: odf, aid: aid}

	var keys []p15.PrivateKey
	for _, path := range odf[p15.ODFPrivateKeys] {
		b, err := c.readEF("PrKDF", path.Path)
		if err != nil {
			return nil, err
		}
		ks, err := p15.ParsePrKDF(b)
		if err != nil {
			return nil, fmt.Errorf("cardreader: %w", err)
		}
		keys = append(keys, ks...)
	}
	var certs []p15.Certificate
	for _, path := range odf[p15.ODFCertificates] {
		b, err := c.readEF("CDF", path.Path)
		if err != nil {
			return nil, err
		}
		cs, err := p15.ParseCDF(b)
		if err != nil {
			return nil, fmt.Errorf("cardreader: %w", err)
		}
		certs = append(certs, cs...)
	}
	var pins []p15.PIN
	for _, path := range odf[p15.ODFAuthObjects] {
		b, err := c.readEF("AODF", path.Path)
		if err != nil {
			return nil, err
		}
		ps, err := p15.ParseAODF(b)
		if err != nil {
			return nil, fmt.Errorf("cardreader: %w", err)
		}
		pins = append(pins, ps...)
	}

	p.key = authenticationKey(keys)
	if p.key != nil {
		for i := range certs {
			if bytes.Equal(certs[i].Cert.ID, p.key.Key.ID) {
				p.cert = &certs[i]
				break
			}
		}
	}
	p.pin = userPIN(pins, p.key)
	p.certs = certs
	c.p = p
	return p, nil
}

// authenticationKey picks the holder's authentication key: one that may
// sign and is not a non-repudiation (qualified signature) key; else the
// first that may sign.
func authenticationKey(keys []p15.PrivateKey) *p15.PrivateKey {
	var signer *p15.PrivateKey
	for i := range keys {
		u := keys[i].Key.Usage
		if u.At(p15.UsageSign) == 0 && u.At(p15.UsageSignRecover) == 0 {
			continue
		}
		if u.At(p15.UsageNonRepudiation) == 0 {
			return &keys[i]
		}
		if signer == nil {
			signer = &keys[i]
		}
	}
	return signer
}

// userPIN picks the PIN that guards key (by authId), else the first PIN
// that is neither an SO PIN nor an unblocking PIN.
func userPIN(pins []p15.PIN, key *p15.PrivateKey) *p15.PIN {
	if key != nil && len(key.Common.AuthID) > 0 {
		for i := range pins {
			if bytes.Equal(pins[i].Auth.AuthID, key.Common.AuthID) {
				return &pins[i]
			}
		}
	}
	for i := range pins {
		f := pins[i].Attrs.Flags
		if f.At(p15.PINSO) == 0 && f.At(p15.PINUnblocking) == 0 {
			return &pins[i]
		}
	}
	return nil
}

// pinReference is VERIFY's P2 for pin: its reference, with the
// DF-specific bit set for a local PIN.
func pinReference(pin *p15.PIN) byte {
	ref := byte(pin.Attrs.Reference)
	if pin.Attrs.Flags.At(p15.PINLocal) == 1 {
		ref |= 0x80
	}
	return ref
}

// Serial reads the card's serial number from EF.TokenInfo. Printable
// ASCII is returned as it is; other bytes (BCD, binary) as upper-case hex,
// which for a BCD card number gives its digits. The application must be
// selected.
func (c *Client) Serial() (string, error) {
	b, err := c.readEF("EF.TokenInfo", fid(p15.FIDTokenInfo))
	if errors.Is(err, errNotFound) {
		return "", ErrNoSerial
	}
	if err != nil {
		return "", err
	}
	ti, err := p15.ParseTokenInfo(b)
	if err != nil {
		return "", fmt.Errorf("cardreader: %w", err)
	}
	if len(ti.SerialNumber) == 0 {
		return "", ErrNoSerial
	}
	printable := true
	for _, b := range ti.SerialNumber {
		if b < 0x21 || b > 0x7E {
			printable = false
			break
		}
	}
	if printable {
		return string(ti.SerialNumber), nil
	}
	return fmt.Sprintf("%X", ti.SerialNumber), nil
}

// Certificate reads the holder's authentication certificate (DER) from
// the path the CDF gives for the authentication key's ID. A card without
// one gives ErrNoCertificate.
func (c *Client) Certificate() ([]byte, error) {
	p, err := c.discover()
	if err != nil {
		return nil, err
	}
	if p.cert == nil {
		return nil, ErrNoCertificate
	}
	if p.cert.Direct != nil {
		return bytes.Clone(p.cert.Direct), nil
	}
	if err := c.selectPath("certificate", p.cert.Path.Path); err != nil {
		if errors.Is(err, errNotFound) {
			return nil, fmt.Errorf("cardreader: the CDF names a certificate file the card does not have: %w", ErrNoCertificate)
		}
		return nil, err
	}
	return c.readDER(p.cert.Path.Index)
}

// OtherCertificates reads the card's certificates other than the
// authentication certificate (DER), e.g. a personal-number certificate.
// They are not proven by any key the card signs with.
func (c *Client) OtherCertificates() ([][]byte, error) {
	p, err := c.discover()
	if err != nil {
		return nil, err
	}
	var out [][]byte
	for i := range p.certs {
		ce := &p.certs[i]
		if p.cert != nil && bytes.Equal(ce.Cert.ID, p.cert.Cert.ID) {
			continue
		}
		if ce.Direct != nil {
			out = append(out, bytes.Clone(ce.Direct))
			continue
		}
		if err := c.selectPath("certificate", ce.Path.Path); err != nil {
			if errors.Is(err, errNotFound) {
				continue
			}
			return nil, err
		}
		der, err := c.readDER(ce.Path.Index)
		if err != nil {
			return nil, err
		}
		out = append(out, der)
	}
	return out, nil
}

// PINRetries asks the card how many attempts are left on the user PIN
// (VERIFY without data). It returns 0 for a blocked PIN and -1 when the
// PIN is already verified in this card session.
func (c *Client) PINRetries() (int, error) {
	p, err := c.discover()
	if err != nil {
		return 0, err
	}
	if p.pin == nil {
		return 0, fmt.Errorf("cardreader: the AODF has no user PIN: %w", ErrUnsupportedCard)
	}
	if err := c.enterApp(p); err != nil {
		return 0, err
	}
	_, sw, err := c.transmit("VERIFY status", []byte{0x00, InsVerify, 0x00, pinReference(p.pin)})
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

// VerifyPIN verifies pin against the user PIN the AODF describes: its
// reference, and padded to its stored length with its pad character when
// the card wants padding. It zeroes pin and every buffer that held it
// before it returns. A malformed PIN gives ErrPINFormat without touching
// the card; a wrong one *PINError; a blocked one ErrPINBlocked.
func (c *Client) VerifyPIN(pin []byte) error {
	defer clear(pin)
	if !ValidPIN(pin) {
		return ErrPINFormat
	}
	p, err := c.discover()
	if err != nil {
		return err
	}
	if p.pin == nil {
		return fmt.Errorf("cardreader: the AODF has no user PIN: %w", ErrUnsupportedCard)
	}
	a := p.pin.Attrs
	switch a.Type {
	case p15.PINTypeASCIINumeric, p15.PINTypeUTF8:
	default:
		return fmt.Errorf("cardreader: PIN type %d is not supported: %w", a.Type, ErrUnsupportedCard)
	}
	if len(pin) < a.MinLength || (a.MaxLength > 0 && len(pin) > a.MaxLength) {
		return ErrPINFormat
	}
	n := len(pin)
	pad := a.Flags.At(p15.PINNeedsPadding) == 1 || len(a.PadChar) == 1
	if pad {
		if a.StoredLength < len(pin) || a.StoredLength > 0xFF {
			return ErrPINFormat
		}
		n = a.StoredLength
	}
	padChar := byte(0xFF)
	if len(a.PadChar) == 1 {
		padChar = a.PadChar[0]
	}
	if err := c.enterApp(p); err != nil {
		return err
	}
	apdu := make([]byte, 5+n)
	defer clear(apdu)
	copy(apdu, []byte{0x00, InsVerify, 0x00, pinReference(p.pin), byte(n)})
	block := apdu[5:]
	for i := range block {
		block[i] = padChar
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

// digestInfoSHA256 is the DER prefix of a PKCS#1 v1.5 DigestInfo for
// SHA-256 (RFC 8017, section 9.2, note 1).
var digestInfoSHA256 = []byte{0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20}

// Sign has the card sign SHA-256 of challenge with the holder's
// authentication key: MSE:SET (00 22 41 B6, key reference from the PrKDF,
// algorithm reference of the key's type), then PSO: COMPUTE DIGITAL
// SIGNATURE (00 2A 9E 9A) over the DigestInfo (RSA, PKCS#1 v1.5 padding by
// the card) or the plain hash (ECDSA, r‖s returned, converted to ASN.1).
// The PIN must have been verified in this card session, else
// ErrSecurityStatus. A card without a signing key gives ErrNoKey.
func (c *Client) Sign(challenge []byte) (Signature, error) {
	if len(challenge) == 0 {
		return Signature{}, errors.New("cardreader: sign: empty challenge")
	}
	p, err := c.discover()
	if err != nil {
		return Signature{}, err
	}
	if p.key == nil {
		return Signature{}, ErrNoKey
	}
	if p.key.Key.KeyReference < 0 || p.key.Key.KeyReference > 0xFF {
		return Signature{}, fmt.Errorf("cardreader: the PrKDF gives the key no usable reference: %w", ErrNoKey)
	}
	digest := sha256.Sum256(challenge)
	var (
		alg   byte
		input []byte
		sig   Signature
	)
	switch p.key.Type {
	case p15.KeyRSA:
		alg, sig.Algorithm = AlgRSAPKCS1DigestInfo, x509.SHA256WithRSA
		input = append(bytes.Clone(digestInfoSHA256), digest[:]...)
	case p15.KeyEC:
		alg, sig.Algorithm = AlgECDSAPlainHash, x509.ECDSAWithSHA256
		input = digest[:]
	default:
		return Signature{}, fmt.Errorf("cardreader: key type %d: %w", p.key.Type, ErrNoKey)
	}

	if err := c.enterApp(p); err != nil {
		return Signature{}, err
	}
	mse := []byte{0x00, InsMSE, MSESetComputation, MSETemplateDST, 6,
		TagAlgorithmRef, 1, alg, TagKeyRef, 1, byte(p.key.Key.KeyReference)}
	_, sw, err := c.transmit("MSE:SET", mse)
	if err != nil {
		return Signature{}, err
	}
	if err := signStatus("MSE:SET", sw); err != nil {
		return Signature{}, err
	}

	pso := append([]byte{0x00, InsPSO, PSOSignatureOut, PSOSignatureIn, byte(len(input))}, input...)
	pso = append(pso, 0x00) // Le: up to 256 bytes (an RSA 2048 signature)
	out, sw, err := c.transmit("PSO: COMPUTE DIGITAL SIGNATURE", pso)
	if err != nil {
		return Signature{}, err
	}
	if err := signStatus("PSO: COMPUTE DIGITAL SIGNATURE", sw); err != nil {
		return Signature{}, err
	}
	switch p.key.Type {
	case p15.KeyRSA:
		if p.key.ModulusLength > 0 && len(out) != (p.key.ModulusLength+7)/8 {
			return Signature{}, fmt.Errorf("cardreader: PSO: COMPUTE DIGITAL SIGNATURE: %d bytes for a %d-bit key", len(out), p.key.ModulusLength)
		}
		sig.Value = bytes.Clone(out)
	case p15.KeyEC:
		der, err := ecdsaRawToASN1(out)
		if err != nil {
			return Signature{}, fmt.Errorf("cardreader: PSO: COMPUTE DIGITAL SIGNATURE: %w", err)
		}
		sig.Value = der
	}
	return sig, nil
}

// signStatus maps the status word of MSE:SET and PSO.
func signStatus(command string, sw uint16) error {
	switch sw {
	case SWOK:
		return nil
	case SWSecurityStatus:
		return fmt.Errorf("cardreader: %s: %w", command, ErrSecurityStatus)
	case SWDataNotFound:
		return fmt.Errorf("cardreader: %s: %w (%w)", command, ErrNoKey, &StatusError{Command: command, SW: sw})
	default:
		return &StatusError{Command: command, SW: sw}
	}
}

// ReadCard selects the PKCS#15 application and reads everything the
// station needs: the serial number (EF.TokenInfo), the authentication
// certificate (if any) with the HSA-ID, and the PIN attempts left. atr is
// copied into the result.
func (c *Client) ReadCard(atr []byte) (Card, error) {
	card := Card{ATR: bytes.Clone(atr)}
	if _, err := c.discover(); err != nil {
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
		others, err := c.OtherCertificates()
		if err != nil {
			return Card{}, err
		}
		for _, o := range others {
			if oc, err := x509.ParseCertificate(o); err == nil {
				card.Others = append(card.Others, oc)
			}
		}
	}

	if card.PINRetries, err = c.PINRetries(); err != nil {
		return Card{}, err
	}
	return card, nil
}
