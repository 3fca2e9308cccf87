package p11

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"slices"
	"sync"
	"time"
	"unsafe"

	"github.com/miekg/pkcs11"

	"github.com/kortstation/kortstation/hw/cardreader"
)

// Config configures a Reader.
type Config struct {
	// Module is the PKCS#11 module (required).
	Module *Module
	// Inner is the reader whose events (readers, card presence) this one
	// passes on: the PC/SC driver on a station, the simulator in tests
	// (required). Its ReadCard, VerifyPIN and Sign are never called.
	Inner cardreader.Reader
	// Slot chooses a reader's slot; Match(false, "") if nil.
	Slot SlotFunc
	// PINRetries is what ReadCard reports as the attempts left when the
	// token's flags say no wrong PIN was entered: the attempts a fresh
	// PIN has (SITHS: 3). 0 reports -1 (the card did not say).
	PINRetries int
	// OpTimeout bounds ReadCard, VerifyPIN and Sign when their context has
	// no earlier deadline (10 s if 0). A call into the module cannot be
	// interrupted: after a timeout the next operation on the same reader
	// waits for it to return.
	OpTimeout time.Duration
	// Logger receives no personal data; slog.Default() if nil.
	Logger *slog.Logger
}

// Reader is a cardreader.Reader whose cards are read, verified and
// signed with through a PKCS#11 module; events and the list of readers
// come from Config.Inner. Safe for concurrent use.
type Reader struct {
	cfg Config
	api PKCS11
	log *slog.Logger

	mu    sync.Mutex
	locks map[string]chan struct{} // one operation per reader at a time
	held  map[string]*login        // the logged-in session per reader
	atr   map[string][]byte        // from CardInserted events
}

// login is the session in which the user PIN was verified for a reader's
// card. PKCS#11 keeps a token logged in while one of the application's
// sessions on it is open.
type login struct {
	slot uint
	sh   pkcs11.SessionHandle
	// lost: the card left the reader (or another took its place) since;
	// Sign gives ErrCardRemoved until ReadCard reads a card there or
	// VerifyPIN succeeds.
	lost bool
}

var _ cardreader.Reader = (*Reader)(nil)

// New returns a Reader over cfg.Module and cfg.Inner.
func New(cfg Config) (*Reader, error) {
	if cfg.Module == nil {
		return nil, errors.New("p11: no PKCS#11 module")
	}
	if cfg.Inner == nil {
		return nil, errors.New("p11: no inner reader for the card events")
	}
	if cfg.Slot == nil {
		cfg.Slot = Match(false, "")
	}
	if cfg.OpTimeout <= 0 {
		cfg.OpTimeout = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Reader{
		cfg:   cfg,
		api:   cfg.Module.api,
		log:   cfg.Logger.With("component", "cardreader/p11"),
		locks: map[string]chan struct{}{},
		held:  map[string]*login{},
		atr:   map[string][]byte{},
	}, nil
}

// Close closes the sessions the reader holds (logging its tokens out). It
// does not close the module.
func (r *Reader) Close() error {
	r.mu.Lock()
	held := r.held
	r.held = map[string]*login{}
	r.mu.Unlock()
	for _, l := range held {
		_ = r.api.CloseSession(l.sh)
	}
	return nil
}

// Run passes on the inner reader's events until ctx is done. A card
// leaving a reader (or the service going away) ends the PIN's validity
// for Sign there.
func (r *Reader) Run(ctx context.Context, events chan<- cardreader.Event) error {
	if events == nil {
		return errors.New("p11: Run: nil events channel")
	}
	inner, cancel := context.WithCancel(ctx)
	defer cancel()
	mid := make(chan cardreader.Event)
	done := make(chan error, 1)
	go func() { done <- r.cfg.Inner.Run(inner, mid) }()
	for {
		select {
		case ev := <-mid:
			r.observe(ev)
			select {
			case events <- ev:
			case <-ctx.Done():
				cancel()
				<-done
				return ctx.Err()
			}
		case err := <-done:
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		case <-ctx.Done():
			cancel()
			<-done
			return ctx.Err()
		}
	}
}

func (r *Reader) observe(ev cardreader.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch ev.Kind {
	case cardreader.CardInserted:
		r.atr[ev.Reader] = bytes.Clone(ev.ATR)
		r.loseLocked(ev.Reader)
	case cardreader.CardRemoved, cardreader.ReaderDetached:
		delete(r.atr, ev.Reader)
		r.loseLocked(ev.Reader)
	case cardreader.ServiceUnavailable:
		clear(r.atr)
		for name := range r.held {
			r.loseLocked(name)
		}
	}
}

func (r *Reader) loseLocked(reader string) {
	if l := r.held[reader]; l != nil {
		l.lost = true
	}
}

// Readers returns the inner reader's readers.
func (r *Reader) Readers() []string { return r.cfg.Inner.Readers() }

// result is what an operation's goroutine hands back.
type result[T any] struct {
	v   T
	err error
}

// run runs fn for reader in its own goroutine, one at a time per reader,
// and returns when fn does or ctx (bounded by OpTimeout) is done.
func run[T any](ctx context.Context, r *Reader, reader, op string, fn func() (T, error)) (T, error) {
	var zero T
	wrap := func(err error) error { return fmt.Errorf("p11: %s in reader %q: %w", op, reader, err) }
	ctx, cancel := context.WithTimeout(ctx, r.cfg.OpTimeout)
	defer cancel()
	if err := ctx.Err(); err != nil {
		return zero, wrap(err)
	}
	r.mu.Lock()
	lock := r.locks[reader]
	if lock == nil {
		lock = make(chan struct{}, 1)
		r.locks[reader] = lock
	}
	r.mu.Unlock()
	select {
	case lock <- struct{}{}:
	case <-ctx.Done():
		return zero, wrap(ctx.Err())
	}
	done := make(chan result[T], 1)
	go func() {
		defer func() { <-lock }()
		v, err := fn()
		done <- result[T]{v, err}
	}()
	select {
	case res := <-done:
		if res.err != nil {
			return zero, wrap(res.err)
		}
		return res.v, nil
	case <-ctx.Done():
		return zero, wrap(ctx.Err())
	}
}

// slot finds the slot of reader's card.
func (r *Reader) slot(reader string) (uint, error) {
	ids, err := r.api.GetSlotList(false)
	if err != nil {
		return 0, fmt.Errorf("C_GetSlotList: %w", mapError(err))
	}
	slots := make([]Slot, 0, len(ids))
	for _, id := range ids {
		si, err := r.api.GetSlotInfo(id)
		if err != nil {
			continue // gone meanwhile
		}
		s := Slot{ID: id, Description: trim(si.SlotDescription), TokenPresent: si.Flags&pkcs11.CKF_TOKEN_PRESENT != 0}
		if s.TokenPresent {
			ti, err := r.api.GetTokenInfo(id)
			if err != nil {
				s.TokenPresent = false
			} else {
				s.TokenLabel, s.TokenSerial = trim(ti.Label), trim(ti.SerialNumber)
			}
		}
		slots = append(slots, s)
	}
	return r.cfg.Slot(reader, slots)
}

func trim(s string) string {
	return string(bytes.TrimRight([]byte(s), " \x00"))
}

// current returns the reader's login if it is still good for slot; a lost
// or broken one is closed and reported by the error (ErrCardRemoved; the
// login stays recorded as lost).
func (r *Reader) current(reader string, slot uint, slotErr error) (*login, error) {
	r.mu.Lock()
	l := r.held[reader]
	r.mu.Unlock()
	if l == nil {
		return nil, nil
	}
	if !l.lost && slotErr == nil && l.slot == slot {
		si, err := r.api.GetSessionInfo(l.sh)
		if err == nil {
			if si.State == pkcs11.CKS_RO_USER_FUNCTIONS || si.State == pkcs11.CKS_RW_USER_FUNCTIONS {
				return l, nil
			}
			return nil, fmt.Errorf("%w: the token logged out", cardreader.ErrSecurityStatus)
		}
	}
	r.mu.Lock()
	l.lost = true
	r.mu.Unlock()
	_ = r.api.CloseSession(l.sh)
	if errors.Is(slotErr, cardreader.ErrNoCard) {
		return nil, fmt.Errorf("%w since the PIN was verified (%w)", cardreader.ErrCardRemoved, cardreader.ErrNoCard)
	}
	return nil, fmt.Errorf("%w since the PIN was verified", cardreader.ErrCardRemoved)
}

// drop forgets reader's login and closes its session.
func (r *Reader) drop(reader string) {
	r.mu.Lock()
	l := r.held[reader]
	delete(r.held, reader)
	r.mu.Unlock()
	if l != nil {
		_ = r.api.CloseSession(l.sh)
	}
}

// ReadCard reads the token of the card in reader: serial number (the
// token's), certificate, HSA-ID and the PIN attempts left (from the
// token's flags; -1 once the PIN is verified). ATR is the one of the last
// CardInserted event Run passed on, nil without one.
func (r *Reader) ReadCard(ctx context.Context, reader string) (cardreader.Card, error) {
	return run(ctx, r, reader, "read card", func() (cardreader.Card, error) {
		slot, err := r.slot(reader)
		if err != nil {
			return cardreader.Card{}, err
		}
		l, err := r.current(reader, slot, nil)
		if err != nil {
			// A card read there now is a new card: forget the old PIN.
			r.drop(reader)
			l = nil
		}
		ti, err := r.api.GetTokenInfo(slot)
		if err != nil {
			return cardreader.Card{}, fmt.Errorf("C_GetTokenInfo: %w", mapError(err))
		}
		card := cardreader.Card{Serial: trim(ti.SerialNumber), PINRetries: retriesFromFlags(ti.Flags, r.cfg.PINRetries)}
		if card.Serial == "" {
			return cardreader.Card{}, cardreader.ErrNoSerial
		}
		r.mu.Lock()
		card.ATR = bytes.Clone(r.atr[reader])
		r.mu.Unlock()
		var sh pkcs11.SessionHandle
		if l != nil {
			sh, card.PINRetries = l.sh, -1
		} else {
			if sh, err = r.api.OpenSession(slot, pkcs11.CKF_SERIAL_SESSION); err != nil {
				return cardreader.Card{}, fmt.Errorf("C_OpenSession: %w", mapError(err))
			}
			defer r.api.CloseSession(sh)
		}
		c, err := r.certificate(sh)
		if err != nil || c == nil {
			return card, err
		}
		id, err := cardreader.HSAIDFromCertificate(c.cert)
		if err != nil {
			return cardreader.Card{}, err
		}
		card.CertificateDER, card.Certificate, card.HSAID = c.cert.Raw, c.cert, id
		return card, nil
	})
}

// VerifyPIN logs the user in on the token of the card in reader with pin
// (C_Login, CKU_USER) and zeroes pin. The session stays open, keeping the
// token logged in for Sign, until the card leaves or the next VerifyPIN.
func (r *Reader) VerifyPIN(ctx context.Context, reader string, pin []byte) error {
	defer clear(pin)
	if !cardreader.ValidPIN(pin) {
		return fmt.Errorf("p11: verify PIN in reader %q: %w", reader, cardreader.ErrPINFormat)
	}
	p := bytes.Clone(pin) // the goroutine's own copy: pin is zeroed on return
	clear(pin)
	_, err := run(ctx, r, reader, "verify PIN", func() (struct{}, error) {
		defer clear(p)
		slot, err := r.slot(reader)
		if err != nil {
			return struct{}{}, err
		}
		r.drop(reader)
		sh, err := r.api.OpenSession(slot, pkcs11.CKF_SERIAL_SESSION)
		if err != nil {
			return struct{}{}, fmt.Errorf("C_OpenSession: %w", mapError(err))
		}
		_ = r.api.Logout(sh) // verify anew, whatever the token's state
		// The module gets the PIN as a string: one that aliases p (no
		// copy on the Go heap), zeroed with p. The binding copies it to
		// the C heap and frees that copy without zeroing it.
		err = r.api.Login(sh, pkcs11.CKU_USER, unsafe.String(&p[0], len(p)))
		if err == nil {
			r.mu.Lock()
			r.held[reader] = &login{slot: slot, sh: sh}
			r.mu.Unlock()
			return struct{}{}, nil
		}
		_ = r.api.CloseSession(sh)
		var rv pkcs11.Error
		if errors.As(err, &rv) && uint(rv) == pkcs11.CKR_PIN_INCORRECT {
			ti, terr := r.api.GetTokenInfo(slot)
			if terr != nil {
				return struct{}{}, &cardreader.PINError{Retries: 2}
			}
			return struct{}{}, wrongPIN(ti.Flags)
		}
		return struct{}{}, fmt.Errorf("C_Login: %w", mapError(err))
	})
	return err
}

// Sign signs SHA-256 of challenge with the private key whose CKA_ID is the
// certificate's: CKM_RSA_PKCS over the DigestInfo, or CKM_ECDSA over the
// hash (the answer r‖s returned as ASN.1 DER).
func (r *Reader) Sign(ctx context.Context, reader string, challenge []byte) (cardreader.Signature, error) {
	return run(ctx, r, reader, "sign", func() (cardreader.Signature, error) {
		slot, slotErr := r.slot(reader)
		l, err := r.current(reader, slot, slotErr)
		if err != nil {
			return cardreader.Signature{}, err
		}
		if slotErr != nil {
			return cardreader.Signature{}, slotErr
		}
		if l == nil {
			return cardreader.Signature{}, fmt.Errorf("%w: no PIN verified for this card", cardreader.ErrSecurityStatus)
		}
		return r.sign(l.sh, challenge)
	})
}

// certObject is a certificate on the token with its CKA_ID.
type certObject struct {
	cert *x509.Certificate
	id   []byte
}

// certificate returns the holder's authentication certificate: of the
// token's X.509 certificates with a CKA_ID, the first for digital
// signature without non-repudiation, else the first; nil if none.
func (r *Reader) certificate(sh pkcs11.SessionHandle) (*certObject, error) {
	objs, err := r.find(sh, []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_CERTIFICATE),
		pkcs11.NewAttribute(pkcs11.CKA_CERTIFICATE_TYPE, pkcs11.CKC_X_509),
	})
	if err != nil {
		return nil, err
	}
	var certs []certObject
	for _, o := range objs {
		attrs, err := r.api.GetAttributeValue(sh, o, []*pkcs11.Attribute{
			pkcs11.NewAttribute(pkcs11.CKA_VALUE, nil),
			pkcs11.NewAttribute(pkcs11.CKA_ID, nil),
		})
		if err != nil {
			return nil, fmt.Errorf("read certificate: %w", mapError(err))
		}
		if len(attrs[1].Value) == 0 {
			continue
		}
		cert, err := x509.ParseCertificate(attrs[0].Value)
		if err != nil {
			return nil, fmt.Errorf("p11: parse certificate: %w", err)
		}
		certs = append(certs, certObject{cert: cert, id: attrs[1].Value})
	}
	if len(certs) == 0 {
		return nil, nil
	}
	if i := slices.IndexFunc(certs, func(c certObject) bool {
		ku := c.cert.KeyUsage
		return ku&x509.KeyUsageDigitalSignature != 0 && ku&x509.KeyUsageContentCommitment == 0
	}); i >= 0 {
		return &certs[i], nil
	}
	return &certs[0], nil
}

// find returns every object matching template.
func (r *Reader) find(sh pkcs11.SessionHandle, template []*pkcs11.Attribute) ([]pkcs11.ObjectHandle, error) {
	if err := r.api.FindObjectsInit(sh, template); err != nil {
		return nil, fmt.Errorf("C_FindObjectsInit: %w", mapError(err))
	}
	defer r.api.FindObjectsFinal(sh)
	var all []pkcs11.ObjectHandle
	for {
		objs, _, err := r.api.FindObjects(sh, 16)
		if err != nil {
			return nil, fmt.Errorf("C_FindObjects: %w", mapError(err))
		}
		if len(objs) == 0 {
			return all, nil
		}
		all = append(all, objs...)
	}
}

// digestInfoSHA256 is the DER DigestInfo prefix of a SHA-256 hash
// (RFC 8017, 9.2).
var digestInfoSHA256 = []byte{0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20}

func (r *Reader) sign(sh pkcs11.SessionHandle, challenge []byte) (cardreader.Signature, error) {
	c, err := r.certificate(sh)
	if err != nil {
		return cardreader.Signature{}, err
	}
	if c == nil {
		return cardreader.Signature{}, fmt.Errorf("%w: no certificate", cardreader.ErrNoKey)
	}
	keys, err := r.find(sh, []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PRIVATE_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_ID, c.id),
	})
	if err != nil {
		return cardreader.Signature{}, err
	}
	if len(keys) == 0 {
		return cardreader.Signature{}, fmt.Errorf("%w: no private key with the certificate's CKA_ID", cardreader.ErrNoKey)
	}
	digest := sha256.Sum256(challenge)
	var (
		mech *pkcs11.Mechanism
		data []byte
		alg  x509.SignatureAlgorithm
	)
	switch c.cert.PublicKey.(type) {
	case *rsa.PublicKey:
		mech, data, alg = pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS, nil), append(bytes.Clone(digestInfoSHA256), digest[:]...), x509.SHA256WithRSA
	case *ecdsa.PublicKey:
		mech, data, alg = pkcs11.NewMechanism(pkcs11.CKM_ECDSA, nil), digest[:], x509.ECDSAWithSHA256
	default:
		return cardreader.Signature{}, fmt.Errorf("%w: certificate key %T is neither RSA nor ECDSA", cardreader.ErrNoKey, c.cert.PublicKey)
	}
	if err := r.api.SignInit(sh, []*pkcs11.Mechanism{mech}, keys[0]); err != nil {
		return cardreader.Signature{}, fmt.Errorf("C_SignInit: %w", mapError(err))
	}
	sig, err := r.api.Sign(sh, data)
	if err != nil {
		return cardreader.Signature{}, fmt.Errorf("C_Sign: %w", mapError(err))
	}
	if alg == x509.ECDSAWithSHA256 {
		if sig, err = ecdsaRawToASN1(sig); err != nil {
			return cardreader.Signature{}, fmt.Errorf("p11: %w", err)
		}
	}
	return cardreader.Signature{Algorithm: alg, Value: sig}, nil
}

// ecdsaRawToASN1 turns PKCS#11's r‖s (two equal halves) into the DER
// ECDSA-Sig-Value.
func ecdsaRawToASN1(raw []byte) ([]byte, error) {
	if len(raw) == 0 || len(raw)%2 != 0 || len(raw) > 2*66 {
		return nil, fmt.Errorf("ECDSA signature of %d bytes is not r‖s", len(raw))
	}
	n := len(raw) / 2
	rr, s := new(big.Int).SetBytes(raw[:n]), new(big.Int).SetBytes(raw[n:])
	if rr.Sign() == 0 || s.Sign() == 0 {
		return nil, errors.New("ECDSA signature has a zero half")
	}
	return asn1.Marshal(struct{ R, S *big.Int }{rr, s})
}
