// Package trust decides whether a card's identity is proven: that the
// certificate an operator's or attestor's card presents was issued under a
// SITHS trust anchor, is valid now by a synchronised clock, may be used to
// sign in, is not revoked by its CA, and that the card holds its private
// key (it signed a fresh challenge this station issued for that reader).
// Only then does the HSA-ID in the certificate count.
//
// The package is pure: it is given the trust anchors (PEM, pinned in the
// station's configuration), the intermediates and CRLs (reference data
// from the registry, read by kiosk/store's TrustMaterial), a clock and a
// CRL grace period, and does no I/O of its own.
//
// Every refusal is an *Error with a stable Reason and its text in Swedish
// and English (kiosk/problem); errors.Is matches the sentinels (ErrRevoked,
// …). Nothing here logs, and no error text carries personal data.
package trust

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/kortstation/kortstation/kiosk/clock"
	"github.com/kortstation/kortstation/kiosk/rules/ident"
)

// Material is the trust material distributed by the registry as reference
// data: intermediate CA certificates and the CAs' revocation lists.
type Material struct {
	Intermediates []*x509.Certificate
	CRLs          []*x509.RevocationList
}

// Options tune a Verifier; the zero value is the station's.
type Options struct {
	// CRLGrace is how long past its NextUpdate a CRL is still relied on
	// (the registry may be briefly unreachable). Zero: not at all.
	CRLGrace time.Duration
	// ChallengeTTL is how long a challenge may be answered; default
	// DefaultChallengeTTL.
	ChallengeTTL time.Duration
	// Rand is the source of challenges; default crypto/rand.
	Rand io.Reader
	// CheckSignature verifies the card's signature; default
	// VerifySignature.
	CheckSignature SignatureCheck
	// AllowUnsyncedClock checks validity dates by a clock not known to be
	// synchronised. Development only (a station without NTP: make run,
	// containers); a station that requires its clock synchronised
	// (require-clock-sync, the appliance's setting) never sets it.
	AllowUnsyncedClock bool
}

// Verifier checks card identities. It is safe for concurrent use; Load
// replaces its material (after a sync) without losing the challenges it
// has issued.
type Verifier struct {
	anchors []*x509.Certificate
	roots   *x509.CertPool
	clk     clock.Clock
	opt     Options
	ch      *challenges
	mat     atomic.Pointer[material]
}

// material is Material made ready for Verify.
type material struct {
	intermediates *x509.CertPool
	crls          map[issuerKey]*crlIndex
	refusedCRL    map[string]bool // raw issuer names whose only CRLs were refused
	refused       []error
}

// ErrNoAnchors: the configuration names no trust anchor.
var ErrNoAnchors = errors.New("trust: no trust anchors configured")

// ParseCertificatesPEM parses every CERTIFICATE block of b.
func ParseCertificatesPEM(b []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("trust: parse certificate %d: %w", len(out)+1, err)
		}
		out = append(out, c)
	}
	return out, nil
}

// New makes a verifier that trusts the anchors in anchorsPEM (the SITHS
// e-id roots in production), with the registry's material m and the
// station clock clk. CRLs and certificates of m that cannot be used are
// left out and listed by Refused; they never make a card pass.
func New(anchorsPEM []byte, m Material, clk clock.Clock, opt Options) (*Verifier, error) {
	anchors, err := ParseCertificatesPEM(anchorsPEM)
	if err != nil {
		return nil, err
	}
	if len(anchors) == 0 {
		return nil, ErrNoAnchors
	}
	if clk == nil {
		return nil, errors.New("trust: no clock")
	}
	if opt.ChallengeTTL <= 0 {
		opt.ChallengeTTL = DefaultChallengeTTL
	}
	if opt.CRLGrace < 0 {
		opt.CRLGrace = 0
	}
	if opt.Rand == nil {
		opt.Rand = rand.Reader
	}
	if opt.CheckSignature == nil {
		opt.CheckSignature = VerifySignature
	}
	v := &Verifier{anchors: anchors, roots: x509.NewCertPool(), clk: clk, opt: opt, ch: newChallenges(opt.ChallengeTTL, opt.Rand)}
	for _, a := range anchors {
		v.roots.AddCert(a)
	}
	v.Load(m)
	return v, nil
}

// Load replaces the intermediates and CRLs (after a sync). Each CRL's
// signature is verified here, once, against the anchors and intermediates;
// one that does not verify is refused. It returns what it refused, for
// the log.
func (v *Verifier) Load(m Material) []error {
	mt := &material{intermediates: x509.NewCertPool()}
	cas := append([]*x509.Certificate{}, v.anchors...)
	for _, c := range m.Intermediates {
		if c == nil {
			continue
		}
		if !c.IsCA || !c.BasicConstraintsValid {
			mt.refused = append(mt.refused, fmt.Errorf("trust: intermediate %s refused: not a CA certificate", c.Subject))
			continue
		}
		mt.intermediates.AddCert(c)
		cas = append(cas, c)
	}
	var errs []error
	mt.crls, mt.refusedCRL, errs = loadCRLs(cas, m.CRLs)
	mt.refused = append(mt.refused, errs...)
	v.mat.Store(mt)
	return mt.refused
}

// RevocationUntil is when the first loaded CRL stops being relied on
// (its NextUpdate plus the grace): past it, cards of that issuer cannot
// prove themselves until a newer CRL arrives. ok is false when no CRL is
// loaded.
func (v *Verifier) RevocationUntil() (until time.Time, ok bool) {
	for _, ix := range v.mat.Load().crls {
		t := ix.nextUpdate.Add(v.opt.CRLGrace)
		if !ok || t.Before(until) {
			until, ok = t, true
		}
	}
	return until, ok
}

// Refused lists the certificates and CRLs the last Load left out.
func (v *Verifier) Refused() []error { return v.mat.Load().refused }

// Challenge issues a fresh challenge for binding (the reader or session
// the card is in). It can be answered once, within the challenge TTL, on
// the same binding; a newer challenge for the binding withdraws it.
func (v *Verifier) Challenge(binding string) (Challenge, error) {
	return v.ch.issue(binding, v.clk.Now())
}

// Identity is a proven card identity.
type Identity struct {
	HSAID ident.HSAID
	// Certificate is the card's certificate and Chain the verified chain
	// from it to the anchor. They hold personal data: do not log them.
	Certificate *x509.Certificate
	Chain       []*x509.Certificate
}

// Verify decides whether the card in binding proved its identity: cert and
// fromCard (intermediates the card holds, may be nil) as read from the
// card, nonce the challenge it signed, sig its signature. The challenge is
// spent by this call whatever the outcome. The checks, in order:
//
//	(a) the certificate chains to a trust anchor;
//	(b) the clock is synchronised and every certificate of the chain is
//	    valid now;
//	(c) it may sign in: key usage digitalSignature, extended key usage (when
//	    present) clientAuth or any, and it is no CA certificate;
//	(d) its issuer's CRL is present, verified, fresh (NextUpdate + grace)
//	    and does not list it; CRLs of the CAs above are checked when
//	    present;
//	(e) the challenge was issued by this station for binding, unspent and
//	    unexpired, and sig verifies over it with the certificate's key;
//
// and last, the subject serialNumber is an HSA-ID.
func (v *Verifier) Verify(binding string, cert *x509.Certificate, fromCard []*x509.Certificate, nonce []byte, sig Signature) (Identity, error) {
	now := v.clk.Now()
	chErr := v.ch.take(binding, nonce, now)
	chain, err := v.verifyCert(cert, fromCard, now)
	if err != nil {
		return Identity{}, err
	}

	// (e) Possession of the key.
	if chErr != nil {
		return Identity{}, chErr
	}
	if err := v.opt.CheckSignature(cert.PublicKey, nonce, sig); err != nil {
		return Identity{}, refuse(ReasonBadSignature, err.Error())
	}
	return identityOf(cert, chain)
}

// VerifyCertificate decides whether cert (with intermediates the peer
// sent, may be nil) is a valid SITHS identity: checks (a) to (d) of Verify
// and the HSA-ID, but no challenge. It is for a certificate whose key
// possession was proven by other means: a TLS client certificate, where the
// handshake's CertificateVerify message is the signature over fresh data.
// Never use it for a card in a reader: that is Verify, with a challenge.
func (v *Verifier) VerifyCertificate(cert *x509.Certificate, intermediates []*x509.Certificate) (Identity, error) {
	chain, err := v.verifyCert(cert, intermediates, v.clk.Now())
	if err != nil {
		return Identity{}, err
	}
	return identityOf(cert, chain)
}

// verifyCert runs checks (a) to (d) of Verify and returns the verified
// chain.
func (v *Verifier) verifyCert(cert *x509.Certificate, fromCard []*x509.Certificate, now time.Time) ([]*x509.Certificate, error) {
	if cert == nil {
		return nil, refuse(ReasonNoCertificate, "")
	}
	mt := v.mat.Load()

	// (a) The chain, built at a moment within the leaf's own validity so
	// that an expired certificate of a trusted CA is told apart from one
	// of no trusted CA.
	at := now
	if at.Before(cert.NotBefore) {
		at = cert.NotBefore
	}
	if at.After(cert.NotAfter) {
		at = cert.NotAfter
	}
	pool := mt.intermediates
	if len(fromCard) > 0 {
		pool = pool.Clone()
		for _, c := range fromCard {
			if c != nil {
				pool.AddCert(c)
			}
		}
	}
	chains, err := cert.Verify(x509.VerifyOptions{Roots: v.roots, Intermediates: pool, CurrentTime: at,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	if err != nil {
		return nil, refuse(ReasonUntrusted, chainDetail(err))
	}

	// (b) Time.
	if !clock.Synced(v.clk) && !v.opt.AllowUnsyncedClock {
		return nil, refuse(ReasonClockUnsynced, "clock source "+v.clk.Source())
	}
	chain, terr := validNow(chains, now)
	if terr != nil {
		return nil, terr
	}

	// (c) Usage.
	if err := usable(cert); err != nil {
		return nil, err
	}

	// (d) Revocation: the card's certificate by its issuer's CRL, always;
	// each CA certificate below the anchor by its issuer's, when present.
	for i := 0; i+1 < len(chain); i++ {
		if err := mt.checkRevocation(chain[i], chain[i+1], now, v.opt.CRLGrace, i == 0); err != nil {
			return nil, err
		}
	}
	return chain, nil
}

// identityOf is the identity of a verified certificate: its subject
// serialNumber must be an HSA-ID.
func identityOf(cert *x509.Certificate, chain []*x509.Certificate) (Identity, error) {
	h, err := ident.ParseHSAID(cert.Subject.SerialNumber)
	if err != nil || cert.Subject.SerialNumber == "" {
		return Identity{}, refuse(ReasonNoHSAID, "")
	}
	return Identity{HSAID: h, Certificate: cert, Chain: chain}, nil
}

// chainDetail words why a chain did not verify without naming anyone.
func chainDetail(err error) string {
	var ua x509.UnknownAuthorityError
	var ci x509.CertificateInvalidError
	switch {
	case errors.As(err, &ua):
		return "unknown or self-signed issuer"
	case errors.As(err, &ci):
		return fmt.Sprintf("invalid certificate in the chain (x509 reason %d)", ci.Reason)
	}
	return "chain does not verify"
}

// validNow returns the first chain every certificate of which is valid at
// now, or the refusal for the first chain's first certificate that is not.
func validNow(chains [][]*x509.Certificate, now time.Time) ([]*x509.Certificate, *Error) {
	var first *Error
	for _, ch := range chains {
		var bad *Error
		for i, c := range ch {
			who := "the card's certificate"
			if i > 0 {
				who = fmt.Sprintf("CA certificate %d of the chain", i)
			}
			switch {
			case now.Before(c.NotBefore):
				bad = refuse(ReasonNotYetValid, who)
			case now.After(c.NotAfter):
				bad = refuse(ReasonExpired, who)
			}
			if bad != nil {
				break
			}
		}
		if bad == nil {
			return ch, nil
		}
		if first == nil {
			first = bad
		}
	}
	return nil, first
}

func usable(c *x509.Certificate) *Error {
	if c.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
		return refuse(ReasonKeyUsage, "no digitalSignature key usage")
	}
	if c.BasicConstraintsValid && c.IsCA {
		return refuse(ReasonKeyUsage, "a CA certificate")
	}
	if len(c.ExtKeyUsage) == 0 && len(c.UnknownExtKeyUsage) == 0 {
		return nil
	}
	for _, u := range c.ExtKeyUsage {
		if u == x509.ExtKeyUsageClientAuth || u == x509.ExtKeyUsageAny {
			return nil
		}
	}
	return refuse(ReasonKeyUsage, "extended key usage without clientAuth")
}

// checkRevocation checks c against the CRL issuer signed. required: a
// missing CRL refuses (the card's certificate); otherwise only a present
// CRL is consulted (the CAs above it).
func (mt *material) checkRevocation(c, issuer *x509.Certificate, now time.Time, grace time.Duration, required bool) *Error {
	who := "the card's certificate"
	if !required {
		who = "a CA certificate of the chain"
	}
	ix, ok := mt.crls[keyOf(issuer)]
	if !ok {
		switch {
		case mt.refusedCRL[string(issuer.RawSubject)]:
			return refuse(ReasonCRLInvalid, "for "+who)
		case required:
			return refuse(ReasonCRLMissing, "for "+who)
		}
		return nil
	}
	if ix.nextUpdate.IsZero() || now.After(ix.nextUpdate.Add(grace)) {
		return refuse(ReasonCRLStale, fmt.Sprintf("for %s: next update %s, grace %s", who, ix.nextUpdate.UTC().Format(time.RFC3339), grace))
	}
	if ix.isRevoked(c.SerialNumber) {
		return refuse(ReasonRevoked, who)
	}
	return nil
}
