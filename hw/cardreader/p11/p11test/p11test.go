// Package p11test runs a real PKCS#11 module, SoftHSM2, for tests: tokens
// made at run time like the station's cards (a key imported with a
// CKA_ID, its certificate, a user PIN), and a station whose card reader
// is a p11.Reader over a simulator (package sim) that gives the card
// events. Inserting a token into a simulated reader is putting that card
// in; removing it closes the token's sessions, as a real card's removal
// does.
//
// # Use
//
// SoftHSM2 reads its configuration (SOFTHSM2_CONF) when the module is
// initialised, once per process: start one HSM per test binary, in
// TestMain, and close it at the end.
//
//	func TestMain(m *testing.M) {
//		hsm, err := p11test.Start()
//		if err != nil {
//			fmt.Fprintf(os.Stderr, "FAIL: %v\n", err)
//			os.Exit(1)
//		}
//		code := m.Run()
//		hsm.Close()
//		os.Exit(code)
//	}
//
// A test issues tokens from its own CA and runs the login through the
// PKCS#11 path:
//
//	tok, err := hsm.Issue(caCert, caKey, vcard.Profile{Serial: "9752269900120011",
//		HSAID: "SE2321000131-P000000000011", CommonName: "Test Operatör", PIN: "1234",
//		Key: vcard.RSA2048})
//	st := hsm.NewStation()               // readers sim.DefaultReaders()
//	reader, err := st.NewReader(p11.Config{}) // a cardreader.Reader
//	err = st.Insert(sim.DefaultReaders()[0], tok)
//	… counter.New(counter.Deps{Reader: reader, …}) …
//	err = st.Remove(sim.DefaultReaders()[0])
//
// Create every token a test needs before its first PIN: adding a token
// reinitialises the module (SoftHSM2 sees a token made by softhsm2-util
// only then), which ends every open session, like pcscd restarting.
//
// # What differs from a card
//
// A token's serial number has at most 16 characters (CK_TOKEN_INFO): a
// longer Profile.Serial (SITHS card numbers have 19 digits) is cut to its
// last 16, and Token.Serial is what ReadCard reports. SoftHSM2 makes
// slot numbers of a serial's last 8 characters read as hex: they must be
// unique in the HSM and not small (at least 0x10000): "9752269900120011"
// works, "9752269900000011" is refused. SoftHSM2 has no PIN
// retry counter; the HSM gives each token one in front of the module
// (Profile.MaxRetries, 3 by default): C_Login refuses with
// CKR_PIN_LOCKED once it is used up, and C_GetTokenInfo sets
// CKF_USER_PIN_COUNT_LOW, CKF_USER_PIN_FINAL_TRY and CKF_USER_PIN_LOCKED
// as a card's module would. Everything else (sessions, login, objects,
// signatures) is SoftHSM2's.
//
// Start fails, never skips, with the apt-get command to run when SoftHSM2
// is missing.
package p11test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/miekg/pkcs11"

	"github.com/kortstation/kortstation/hw/cardreader"
	"github.com/kortstation/kortstation/hw/cardreader/p11"
	"github.com/kortstation/kortstation/hw/cardreader/sim"
	"github.com/kortstation/kortstation/hw/cardreader/vcard"
)

// InstallHint is the command that installs SoftHSM2.
const InstallHint = "apt-get install -y softhsm2"

// ModulePaths are where distributions install SoftHSM2's module.
var ModulePaths = []string{
	"/usr/lib/softhsm/libsofthsm2.so",
	"/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
	"/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
	"/usr/local/lib/softhsm/libsofthsm2.so",
}

// soPIN is every token's security officer PIN.
const soPIN = "87654321"

// HSM is a running SoftHSM2 with its own configuration and token
// directory in a temporary directory.
type HSM struct {
	path string // the module
	util string // softhsm2-util
	dir  string
	ctx  *pkcs11.Ctx
	pins *pinCounter
	mod  *p11.Module

	mu      sync.Mutex // token creation
	tokens  int
	serials map[uint64]bool // slot numbers SoftHSM2 derived from the serials: unique
}

// Start finds SoftHSM2, points SOFTHSM2_CONF at a fresh configuration
// (process-wide: one HSM per process) and initialises the module.
func Start() (*HSM, error) {
	path := ""
	for _, p := range ModulePaths {
		if _, err := os.Stat(p); err == nil {
			path = p
			break
		}
	}
	util, err := exec.LookPath("softhsm2-util")
	if path == "" || err != nil {
		return nil, fmt.Errorf("p11test: SoftHSM2 not found (module looked for at %v, softhsm2-util in PATH): install it with: %s", ModulePaths, InstallHint)
	}
	dir, err := os.MkdirTemp("", "kortstation-softhsm-")
	if err != nil {
		return nil, fmt.Errorf("p11test: %w", err)
	}
	tokens := filepath.Join(dir, "tokens")
	conf := filepath.Join(dir, "softhsm2.conf")
	if err := os.Mkdir(tokens, 0o700); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("p11test: %w", err)
	}
	text := fmt.Sprintf("directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n", tokens)
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("p11test: %w", err)
	}
	if err := os.Setenv("SOFTHSM2_CONF", conf); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("p11test: %w", err)
	}
	ctx := pkcs11.New(path)
	if ctx == nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("p11test: cannot load %s (install with: %s)", path, InstallHint)
	}
	if err := ctx.Initialize(); err != nil {
		ctx.Destroy()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("p11test: C_Initialize of %s: %w", path, err)
	}
	pins := &pinCounter{PKCS11: ctx, max: map[string]int{}, left: map[string]int{}}
	return &HSM{path: path, util: util, dir: dir, ctx: ctx, pins: pins, mod: p11.NewModule(pins), serials: map[uint64]bool{}}, nil
}

// ModulePath is the SoftHSM2 module's path (for p11.Open in another
// process: set SOFTHSM2_CONF to ConfPath there).
func (h *HSM) ModulePath() string { return h.path }

// ConfPath is the HSM's SOFTHSM2_CONF.
func (h *HSM) ConfPath() string { return filepath.Join(h.dir, "softhsm2.conf") }

// Module is the initialised module (with the tokens' PIN counters), for
// p11.Config.Module.
func (h *HSM) Module() *p11.Module { return h.mod }

// Close finalises the module and removes the temporary directory.
func (h *HSM) Close() error {
	err := h.ctx.Finalize()
	h.ctx.Destroy()
	if rmErr := os.RemoveAll(h.dir); err == nil {
		err = rmErr
	}
	return err
}

// Token is a card made a token in the HSM.
type Token struct {
	// Label is the token's label (unique in the HSM).
	Label string
	// Serial is the token's serial number, what ReadCard reports.
	Serial string
	// CertificateDER is its certificate; nil for a blank card.
	CertificateDER []byte
	// presence is the blank virtual card that stands for the token in the
	// simulator: events and ATR.
	presence *vcard.Card
}

// Spec describes a token.
type Spec struct {
	// Serial is the card number; its last 16 characters become the token
	// serial, which must be unique in the HSM.
	Serial string
	// CertificateDER is the holder certificate; nil for a blank card.
	CertificateDER []byte
	// Key is the private key (*rsa.PrivateKey, or *ecdsa.PrivateKey on
	// P-256), imported with the certificate's CKA_ID; nil for a blank
	// card. It need not match the certificate (an attacker's card).
	Key crypto.Signer
	// PIN is the user PIN, 4 to 8 digits.
	PIN string
	// MaxRetries is the PIN's attempts (vcard.DefaultMaxRetries if 0).
	MaxRetries int
}

// objectID is the CKA_ID of every token's key and certificate.
var objectID = []byte{0x45}

// Issue makes the token p describes: a fresh key of p.Key and a holder
// certificate for it (subject CN, serialNumber = HSA-ID, O, C=SE) signed
// by issuer with issuerKey. A profile without an HSA-ID is a blank card.
func (h *HSM) Issue(issuer *x509.Certificate, issuerKey crypto.Signer, p vcard.Profile) (*Token, error) {
	s := Spec{Serial: p.Serial, PIN: p.PIN, MaxRetries: p.MaxRetries}
	if p.HSAID != "" {
		tmpl, err := vcard.HolderTemplate(p)
		if err != nil {
			return nil, fmt.Errorf("p11test: %w", err)
		}
		key, err := vcard.GenerateKey(p.Key)
		if err != nil {
			return nil, err
		}
		if s.CertificateDER, err = x509.CreateCertificate(rand.Reader, tmpl, issuer, key.Public(), issuerKey); err != nil {
			return nil, fmt.Errorf("p11test: issue certificate: %w", err)
		}
		s.Key = key
	}
	return h.NewToken(s)
}

// FromCard makes a token with what card holds: its certificate, key, PIN
// and retries (the contract suite's cards on the PKCS#11 path).
func (h *HSM) FromCard(card *vcard.Card) (*Token, error) {
	o := card.Contents()
	return h.NewToken(Spec{Serial: o.Serial, CertificateDER: o.CertificateDER, Key: o.Key, PIN: o.PIN, MaxRetries: o.MaxRetries})
}

// NewToken initialises a token as s describes (softhsm2-util
// --init-token, then the module reinitialised: every open session ends)
// and imports its key and certificate with C_CreateObject.
func (h *HSM) NewToken(s Spec) (*Token, error) {
	if !cardreader.ValidPIN([]byte(s.PIN)) {
		return nil, fmt.Errorf("p11test: %w", cardreader.ErrPINFormat)
	}
	if s.Serial == "" {
		return nil, errors.New("p11test: no serial number")
	}
	if (s.Key == nil) != (s.CertificateDER == nil) {
		return nil, errors.New("p11test: a token has both a key and a certificate, or neither")
	}
	if s.MaxRetries == 0 {
		s.MaxRetries = vcard.DefaultMaxRetries
	}
	serial := s.Serial
	if len(serial) > 16 {
		serial = serial[len(serial)-16:]
	}
	presence, err := vcard.New(s.Serial, nil, s.PIN, s.MaxRetries)
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	// SoftHSM2 numbers a token's slot by its serial's last 8 characters
	// read as hex, and the free slot by the count of tokens: a small
	// number there collides and aborts the process.
	n, _ := strconv.ParseUint(hexPrefix(serial[max(0, len(serial)-8):]), 16, 64)
	if n < 1<<16 {
		return nil, fmt.Errorf("p11test: SoftHSM2 cannot take serial %q: its last 8 characters read as hex must be at least 10000 (it makes slot numbers of them)", serial)
	}
	if h.serials[n] {
		return nil, fmt.Errorf("p11test: the HSM already has a token whose serial ends like %q (SoftHSM2's slot numbers)", serial)
	}
	h.serials[n] = true
	h.tokens++
	tok := &Token{Label: fmt.Sprintf("kortstation-%d", h.tokens), Serial: serial, CertificateDER: bytes.Clone(s.CertificateDER), presence: presence}

	if err := h.ctx.Finalize(); err != nil {
		return nil, fmt.Errorf("p11test: C_Finalize: %w", err)
	}
	out, err := exec.Command(h.util, "--init-token", "--free", "--label", tok.Label,
		"--pin", s.PIN, "--so-pin", soPIN).CombinedOutput()
	if ierr := h.ctx.Initialize(); ierr != nil {
		return nil, fmt.Errorf("p11test: C_Initialize: %w", ierr)
	}
	if err != nil {
		return nil, fmt.Errorf("p11test: softhsm2-util --init-token: %w: %s", err, out)
	}
	slot, err := h.setSerial(tok.Label, serial)
	if err != nil {
		return nil, err
	}
	h.pins.set(tok.Label, s.MaxRetries)
	if s.Key == nil {
		return tok, nil
	}
	keyAttrs, err := privateKeyAttributes(s.Key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(s.CertificateDER)
	if err != nil {
		return nil, fmt.Errorf("p11test: parse certificate: %w", err)
	}
	sh, err := h.ctx.OpenSession(slot, pkcs11.CKF_SERIAL_SESSION|pkcs11.CKF_RW_SESSION)
	if err != nil {
		return nil, fmt.Errorf("p11test: C_OpenSession: %w", err)
	}
	defer h.ctx.CloseSession(sh)
	if err := h.ctx.Login(sh, pkcs11.CKU_USER, s.PIN); err != nil {
		return nil, fmt.Errorf("p11test: C_Login: %w", err)
	}
	defer h.ctx.Logout(sh)
	if _, err := h.ctx.CreateObject(sh, append(keyAttrs,
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PRIVATE_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true),
		pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, true),
		pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, true),
		pkcs11.NewAttribute(pkcs11.CKA_SIGN, true),
		pkcs11.NewAttribute(pkcs11.CKA_ID, objectID),
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, "Legitimering"),
	)); err != nil {
		return nil, fmt.Errorf("p11test: import key: %w", err)
	}
	if _, err := h.ctx.CreateObject(sh, []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_CERTIFICATE),
		pkcs11.NewAttribute(pkcs11.CKA_CERTIFICATE_TYPE, pkcs11.CKC_X_509),
		pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true),
		pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, false),
		pkcs11.NewAttribute(pkcs11.CKA_ID, objectID),
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, "Legitimering"),
		pkcs11.NewAttribute(pkcs11.CKA_SUBJECT, cert.RawSubject),
		pkcs11.NewAttribute(pkcs11.CKA_ISSUER, cert.RawIssuer),
		pkcs11.NewAttribute(pkcs11.CKA_VALUE, s.CertificateDER),
	}); err != nil {
		return nil, fmt.Errorf("p11test: import certificate: %w", err)
	}
	return tok, nil
}

// setSerial gives the token labelled label the serial number serial (at
// most 16 characters). Neither PKCS#11 nor softhsm2-util sets a token's
// serial: SoftHSM2 draws one at C_InitToken and keeps it, as 16 ASCII
// characters, in the token's token.object; the module is finalised, that
// file patched and the module initialised again. It returns the token's
// slot.
func (h *HSM) setSerial(label, serial string) (uint, error) {
	slot, err := h.slotOf(label)
	if err != nil {
		return 0, err
	}
	ti, err := h.ctx.GetTokenInfo(slot)
	if err != nil {
		return 0, fmt.Errorf("p11test: C_GetTokenInfo: %w", err)
	}
	drawn := []byte(ti.SerialNumber)
	if len(drawn) != 16 {
		return 0, fmt.Errorf("p11test: SoftHSM2 drew a serial of %d characters, want 16", len(drawn))
	}
	want := []byte(fmt.Sprintf("%-16s", serial))
	files, err := filepath.Glob(filepath.Join(h.dir, "tokens", "*", "token.object"))
	if err != nil {
		return 0, fmt.Errorf("p11test: %w", err)
	}
	if err := h.ctx.Finalize(); err != nil {
		return 0, fmt.Errorf("p11test: C_Finalize: %w", err)
	}
	patched := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil || bytes.Count(b, drawn) != 1 {
			continue
		}
		if err := os.WriteFile(f, bytes.Replace(b, drawn, want, 1), 0o600); err != nil {
			return 0, fmt.Errorf("p11test: %w", err)
		}
		patched++
	}
	if err := h.ctx.Initialize(); err != nil {
		return 0, fmt.Errorf("p11test: C_Initialize: %w", err)
	}
	if patched != 1 {
		return 0, fmt.Errorf("p11test: found the token's serial in %d token files, want 1", patched)
	}
	return h.slotOf(label)
}

// hexPrefix is the leading hex digits of s, as strtoul reads them.
func hexPrefix(s string) string {
	for i, c := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return s[:i]
		}
	}
	return s
}

// oidP256 is the DER OID of the P-256 curve, CKA_EC_PARAMS.
var oidP256 = []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07}

func privateKeyAttributes(key crypto.Signer) ([]*pkcs11.Attribute, error) {
	switch k := key.(type) {
	case *rsa.PrivateKey:
		k.Precompute()
		return []*pkcs11.Attribute{
			pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_RSA),
			pkcs11.NewAttribute(pkcs11.CKA_MODULUS, k.N.Bytes()),
			pkcs11.NewAttribute(pkcs11.CKA_PUBLIC_EXPONENT, big.NewInt(int64(k.E)).Bytes()),
			pkcs11.NewAttribute(pkcs11.CKA_PRIVATE_EXPONENT, k.D.Bytes()),
			pkcs11.NewAttribute(pkcs11.CKA_PRIME_1, k.Primes[0].Bytes()),
			pkcs11.NewAttribute(pkcs11.CKA_PRIME_2, k.Primes[1].Bytes()),
			pkcs11.NewAttribute(pkcs11.CKA_EXPONENT_1, k.Precomputed.Dp.Bytes()),
			pkcs11.NewAttribute(pkcs11.CKA_EXPONENT_2, k.Precomputed.Dq.Bytes()),
			pkcs11.NewAttribute(pkcs11.CKA_COEFFICIENT, k.Precomputed.Qinv.Bytes()),
		}, nil
	case *ecdsa.PrivateKey:
		if k.Curve != elliptic.P256() {
			return nil, errors.New("p11test: ECDSA keys must be on P-256")
		}
		d, err := k.Bytes()
		if err != nil {
			return nil, fmt.Errorf("p11test: %w", err)
		}
		return []*pkcs11.Attribute{
			pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_EC),
			pkcs11.NewAttribute(pkcs11.CKA_EC_PARAMS, oidP256),
			pkcs11.NewAttribute(pkcs11.CKA_VALUE, d),
		}, nil
	default:
		return nil, fmt.Errorf("p11test: unsupported key type %T", key)
	}
}

// slotOf finds the slot of the token labelled label.
func (h *HSM) slotOf(label string) (uint, error) {
	ids, err := h.ctx.GetSlotList(true)
	if err != nil {
		return 0, fmt.Errorf("p11test: C_GetSlotList: %w", err)
	}
	for _, id := range ids {
		ti, err := h.ctx.GetTokenInfo(id)
		if err == nil && trim(ti.Label) == label {
			return id, nil
		}
	}
	return 0, fmt.Errorf("p11test: no token labelled %q", label)
}

func trim(s string) string { return string(bytes.TrimRight([]byte(s), " \x00")) }

// Station is a set of simulated readers whose cards are the HSM's tokens.
type Station struct {
	// Sim gives the card events; its cards stand for the tokens.
	Sim *sim.Reader
	hsm *HSM

	mu      sync.Mutex
	readers []string
	in      map[string]*Token
}

// NewStation returns empty simulated readers (sim.DefaultReaders() if
// none are named).
func (h *HSM) NewStation(readers ...string) *Station {
	if len(readers) == 0 {
		readers = sim.DefaultReaders()
	}
	return &Station{Sim: sim.New(nil, readers...), hsm: h, readers: readers, in: map[string]*Token{}}
}

// NewReader returns a p11.Reader over the HSM and the station's
// simulator that finds a reader's token as the station placed it. cfg's
// Module, Inner and Slot are set; PINRetries defaults to 3.
func (s *Station) NewReader(cfg p11.Config) (*p11.Reader, error) {
	cfg.Module, cfg.Inner, cfg.Slot = s.hsm.mod, s.Sim, s.Slot
	if cfg.PINRetries == 0 {
		cfg.PINRetries = vcard.DefaultMaxRetries
	}
	return p11.New(cfg)
}

// Slot is the station's p11.SlotFunc: the slot of the token inserted
// into reader.
func (s *Station) Slot(reader string, slots []p11.Slot) (uint, error) {
	s.mu.Lock()
	known := false
	for _, r := range s.readers {
		known = known || r == reader
	}
	tok := s.in[reader]
	s.mu.Unlock()
	if !known {
		return 0, fmt.Errorf("p11test: %w", cardreader.ErrNoReader)
	}
	if tok == nil {
		return 0, fmt.Errorf("p11test: %w", cardreader.ErrNoCard)
	}
	for _, sl := range slots {
		if sl.TokenPresent && sl.TokenLabel == tok.Label {
			return sl.ID, nil
		}
	}
	return 0, fmt.Errorf("p11test: token %s not in the module: %w", tok.Label, cardreader.ErrNoCard)
}

// Insert puts tok into reader: the simulator reports the card.
func (s *Station) Insert(reader string, tok *Token) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for r, t := range s.in {
		if t == tok {
			return fmt.Errorf("p11test: the token is already in %q", r)
		}
	}
	if err := s.Sim.Insert(reader, tok.presence); err != nil {
		return fmt.Errorf("p11test: %w", err)
	}
	s.in[reader] = tok
	return nil
}

// Remove takes the card out of reader (nothing if empty): the simulator
// reports it and the token's sessions end (logging it out).
func (s *Station) Remove(reader string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.Sim.Remove(reader); err != nil {
		return fmt.Errorf("p11test: %w", err)
	}
	tok := s.in[reader]
	delete(s.in, reader)
	if tok == nil {
		return nil
	}
	slot, err := s.hsm.slotOf(tok.Label)
	if err != nil {
		return err
	}
	if err := s.hsm.ctx.CloseAllSessions(slot); err != nil {
		return fmt.Errorf("p11test: C_CloseAllSessions: %w", err)
	}
	return nil
}

// pinCounter gives SoftHSM2's tokens a card's PIN retry counter, by
// token label.
type pinCounter struct {
	p11.PKCS11

	mu   sync.Mutex
	max  map[string]int
	left map[string]int
}

func (c *pinCounter) set(label string, maxRetries int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.max[label], c.left[label] = maxRetries, maxRetries
}

func (c *pinCounter) labelOf(sh pkcs11.SessionHandle) string {
	si, err := c.PKCS11.GetSessionInfo(sh)
	if err != nil {
		return ""
	}
	ti, err := c.PKCS11.GetTokenInfo(si.SlotID)
	if err != nil {
		return ""
	}
	return trim(ti.Label)
}

// Login counts wrong user PINs and refuses any once the counter is used
// up; the right PIN resets it.
func (c *pinCounter) Login(sh pkcs11.SessionHandle, userType uint, pin string) error {
	if userType != pkcs11.CKU_USER {
		return c.PKCS11.Login(sh, userType, pin)
	}
	label := c.labelOf(sh)
	c.mu.Lock()
	_, counted := c.max[label]
	left := c.left[label]
	c.mu.Unlock()
	if !counted {
		return c.PKCS11.Login(sh, userType, pin)
	}
	if left == 0 {
		return pkcs11.Error(pkcs11.CKR_PIN_LOCKED)
	}
	err := c.PKCS11.Login(sh, userType, pin)
	var rv pkcs11.Error
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case err == nil:
		c.left[label] = c.max[label]
	case errors.As(err, &rv) && uint(rv) == pkcs11.CKR_PIN_INCORRECT:
		c.left[label]--
	}
	return err
}

// GetTokenInfo reports the counter in the PIN flags.
func (c *pinCounter) GetTokenInfo(slotID uint) (pkcs11.TokenInfo, error) {
	ti, err := c.PKCS11.GetTokenInfo(slotID)
	if err != nil {
		return ti, err
	}
	label := trim(ti.Label)
	c.mu.Lock()
	maxRetries, counted := c.max[label]
	left := c.left[label]
	c.mu.Unlock()
	if !counted {
		return ti, nil
	}
	ti.Flags &^= pkcs11.CKF_USER_PIN_COUNT_LOW | pkcs11.CKF_USER_PIN_FINAL_TRY | pkcs11.CKF_USER_PIN_LOCKED
	switch {
	case left == 0:
		ti.Flags |= pkcs11.CKF_USER_PIN_LOCKED
	case left == 1:
		ti.Flags |= pkcs11.CKF_USER_PIN_FINAL_TRY | pkcs11.CKF_USER_PIN_COUNT_LOW
	case left < maxRetries:
		ti.Flags |= pkcs11.CKF_USER_PIN_COUNT_LOW
	}
	return ti, nil
}
