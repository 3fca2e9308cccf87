package trust_test

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/kortstation/kortstation/kiosk/clock"
	"github.com/kortstation/kortstation/kiosk/problem"
	"github.com/kortstation/kortstation/kiosk/trust"
	"github.com/kortstation/kortstation/kiosk/trust/trusttest"
)

// adminHSAID is an administrator on the registry's list: the attacker's
// target.
const adminHSAID = "SE2321000016-A12B"

// pki is a SITHS-like hierarchy: root → intermediate → cards.
type pki struct {
	root, inter *trusttest.CA
	now         time.Time
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	root := trusttest.NewRoot(t, "SITHS e-id Root CA v2", trusttest.ECDSA)
	return &pki{root: root, inter: root.Intermediate("SITHS e-id Person HSA-id 3 CA v1", trusttest.ECDSA), now: trusttest.Epoch}
}

// unsynced is a station clock NTP has not synchronised yet.
type unsynced struct{ t time.Time }

func (u unsynced) Now() time.Time { return u.t }
func (u unsynced) Source() string { return clock.SourceUnsynced }

func (p *pki) freshCRL(revoked ...*big.Int) *x509.RevocationList {
	return p.inter.CRL(p.now.Add(-time.Hour), p.now.Add(23*time.Hour), revoked...)
}

// verifier trusts p's root, knows its intermediate and crls.
func (p *pki) verifier(t *testing.T, clk clock.Clock, crls ...*x509.RevocationList) *trust.Verifier {
	t.Helper()
	v, err := trust.New(p.root.PEM(), trust.Material{Intermediates: []*x509.Certificate{p.inter.Cert}, CRLs: crls}, clk, trust.Options{CRLGrace: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// card is what a card presents: its certificate, intermediates and key.
type card struct {
	cert     *x509.Certificate
	fromCard []*x509.Certificate
	key      crypto.Signer
}

func (p *pki) card(t *testing.T, l trusttest.Leaf) card {
	t.Helper()
	if l.HSAID == "" {
		l.HSAID = adminHSAID
	}
	c, k := p.inter.Issue(l)
	return card{cert: c, key: k}
}

// answer issues a challenge on reader 00 and lets c sign it.
func answer(t *testing.T, v *trust.Verifier, c card) ([]byte, trust.Signature) {
	t.Helper()
	ch, err := v.Challenge("reader-00")
	if err != nil {
		t.Fatal(err)
	}
	return ch.Nonce[:], trusttest.Sign(t, c.key, ch.Nonce[:])
}

func TestValidCardProvesItsHSAID(t *testing.T) {
	for _, alg := range []trusttest.KeyAlg{trusttest.ECDSA, trusttest.RSA} {
		p := newPKI(t)
		clk := &clock.Fixed{T: p.now}
		v := p.verifier(t, clk, p.freshCRL(trusttest.RevokedSerials(10)...))
		c := p.card(t, trusttest.Leaf{Alg: alg})
		nonce, sig := answer(t, v, c)
		id, err := v.Verify("reader-00", c.cert, nil, nonce, sig)
		if err != nil {
			t.Fatalf("alg %d: got %v, want the identity proven", alg, err)
		}
		if id.HSAID.String() != adminHSAID || len(id.Chain) != 3 {
			t.Errorf("alg %d: got %s with a chain of %d, want %s with root → intermediate → card", alg, id.HSAID, len(id.Chain), adminHSAID)
		}
	}
}

// TestAttacks plays the attacker against a station that trusts the SITHS
// root and holds a fresh CRL of the intermediate.
func TestAttacks(t *testing.T) {
	p := newPKI(t)
	revokedCard := p.card(t, trusttest.Leaf{})
	good := p.card(t, trusttest.Leaf{})
	otherRoot := trusttest.NewRoot(t, "SITHS e-id Root CA v2", trusttest.ECDSA) // same name, attacker's key
	otherInter := otherRoot.Intermediate("SITHS e-id Person HSA-id 3 CA v1", trusttest.ECDSA)
	fresh := p.freshCRL(revokedCard.cert.SerialNumber)

	type presented struct {
		binding  string
		cert     *x509.Certificate
		fromCard []*x509.Certificate
		nonce    []byte
		sig      trust.Signature
	}
	// honest is what the good card presents for a fresh challenge.
	honest := func(t *testing.T, v *trust.Verifier, c card) presented {
		nonce, sig := answer(t, v, c)
		return presented{"reader-00", c.cert, c.fromCard, nonce, sig}
	}
	tests := []struct {
		name  string
		clk   clock.Clock
		crls  []*x509.RevocationList
		setup func(t *testing.T, v *trust.Verifier, clk *clock.Fixed) presented
		want  *trust.Error
	}{
		{"self-signed certificate with an administrator's HSA-ID", nil, nil, func(t *testing.T, v *trust.Verifier, clk *clock.Fixed) presented {
			c, k := trusttest.SelfSigned(t, trusttest.Leaf{HSAID: adminHSAID})
			return honest(t, v, card{cert: c, key: k})
		}, trust.ErrUntrusted},
		{"certificate of an unknown CA with the same names", nil, nil, func(t *testing.T, v *trust.Verifier, clk *clock.Fixed) presented {
			c, k := otherInter.Issue(trusttest.Leaf{HSAID: adminHSAID})
			return honest(t, v, card{cert: c, key: k, fromCard: []*x509.Certificate{otherInter.Cert, otherRoot.Cert}})
		}, trust.ErrUntrusted},
		{"a CA certificate of the card does not make it trusted", nil, nil, func(t *testing.T, v *trust.Verifier, clk *clock.Fixed) presented {
			c, k := otherInter.Issue(trusttest.Leaf{HSAID: adminHSAID})
			return honest(t, v, card{cert: c, key: k, fromCard: []*x509.Certificate{otherInter.Cert}})
		}, trust.ErrUntrusted},
		{"expired", nil, nil, func(t *testing.T, v *trust.Verifier, clk *clock.Fixed) presented {
			return honest(t, v, p.card(t, trusttest.Leaf{NotBefore: p.now.AddDate(-4, 0, 0), NotAfter: p.now.Add(-time.Minute)}))
		}, trust.ErrExpired},
		{"not yet valid", nil, nil, func(t *testing.T, v *trust.Verifier, clk *clock.Fixed) presented {
			return honest(t, v, p.card(t, trusttest.Leaf{NotBefore: p.now.Add(time.Hour)}))
		}, trust.ErrNotYetValid},
		{"unsynchronised clock", unsynced{p.now}, nil, func(t *testing.T, v *trust.Verifier, clk *clock.Fixed) presented {
			return honest(t, v, good)
		}, trust.ErrClockUnsynced},
		{"key usage without digitalSignature", nil, nil, func(t *testing.T, v *trust.Verifier, clk *clock.Fixed) presented {
			return honest(t, v, p.card(t, trusttest.Leaf{KeyUsage: x509.KeyUsageKeyEncipherment}))
		}, trust.ErrKeyUsage},
		{"extended key usage serverAuth only", nil, nil, func(t *testing.T, v *trust.Verifier, clk *clock.Fixed) presented {
			return honest(t, v, p.card(t, trusttest.Leaf{ExtUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}))
		}, trust.ErrKeyUsage},
		{"revoked", nil, nil, func(t *testing.T, v *trust.Verifier, clk *clock.Fixed) presented {
			return honest(t, v, revokedCard)
		}, trust.ErrRevoked},
		{"CRL missing", nil, []*x509.RevocationList{}, func(t *testing.T, v *trust.Verifier, clk *clock.Fixed) presented {
			return honest(t, v, good)
		}, trust.ErrCRLMissing},
		{"CRL stale: past NextUpdate and the grace", nil, []*x509.RevocationList{p.inter.CRL(p.now.Add(-50*time.Hour), p.now.Add(-61*time.Minute))}, func(t *testing.T, v *trust.Verifier, clk *clock.Fixed) presented {
			return honest(t, v, good)
		}, trust.ErrCRLStale},
		{"CRL forged: signed by another key, revoking nothing", nil, []*x509.RevocationList{trusttest.SignCRL(t, p.inter.Cert, otherInter.Key, p.now.Add(-time.Hour), p.now.Add(time.Hour))}, func(t *testing.T, v *trust.Verifier, clk *clock.Fixed) presented {
			return honest(t, v, revokedCard)
		}, trust.ErrCRLInvalid},
		{"certificate copied onto another card: signed with another key", nil, nil, func(t *testing.T, v *trust.Verifier, clk *clock.Fixed) presented {
			thief := p.card(t, trusttest.Leaf{HSAID: "SE2321000016-T1"})
			nonce, sig := answer(t, v, thief)
			return presented{"reader-00", good.cert, nil, nonce, sig}
		}, trust.ErrBadSignature},
		{"signature of the wrong algorithm", nil, nil, func(t *testing.T, v *trust.Verifier, clk *clock.Fixed) presented {
			pr := honest(t, v, good)
			pr.sig.Algorithm = trust.RSAPKCS1v15SHA256
			return pr
		}, trust.ErrBadSignature},
		{"the same challenge used twice", nil, nil, func(t *testing.T, v *trust.Verifier, clk *clock.Fixed) presented {
			pr := honest(t, v, good)
			if _, err := v.Verify(pr.binding, pr.cert, nil, pr.nonce, pr.sig); err != nil {
				t.Fatalf("first use: %v", err)
			}
			return pr
		}, trust.ErrChallengeUsed},
		{"a challenge never issued", nil, nil, func(t *testing.T, v *trust.Verifier, clk *clock.Fixed) presented {
			nonce := bytes.Repeat([]byte{7}, trust.ChallengeSize)
			return presented{"reader-00", good.cert, nil, nonce, trusttest.Sign(t, good.key, nonce)}
		}, trust.ErrChallengeUnknown},
		{"a challenge of the wrong length", nil, nil, func(t *testing.T, v *trust.Verifier, clk *clock.Fixed) presented {
			nonce := []byte("short")
			return presented{"reader-00", good.cert, nil, nonce, trusttest.Sign(t, good.key, nonce)}
		}, trust.ErrChallengeUnknown},
		{"an expired challenge", nil, nil, func(t *testing.T, v *trust.Verifier, clk *clock.Fixed) presented {
			pr := honest(t, v, good)
			clk.Advance(trust.DefaultChallengeTTL + time.Second)
			return pr
		}, trust.ErrChallengeExpired},
		{"a challenge issued for another reader", nil, nil, func(t *testing.T, v *trust.Verifier, clk *clock.Fixed) presented {
			pr := honest(t, v, good)
			pr.binding = "reader-01"
			return pr
		}, trust.ErrChallengeBinding},
		{"a challenge withdrawn by a newer one for the reader", nil, nil, func(t *testing.T, v *trust.Verifier, clk *clock.Fixed) presented {
			pr := honest(t, v, good)
			if _, err := v.Challenge("reader-00"); err != nil {
				t.Fatal(err)
			}
			return pr
		}, trust.ErrChallengeUnknown},
		{"no HSA-ID in a valid certificate", nil, nil, func(t *testing.T, v *trust.Verifier, clk *clock.Fixed) presented {
			return honest(t, v, p.card(t, trusttest.Leaf{HSAID: "191212121212"}))
		}, trust.ErrNoHSAID},
		{"no certificate", nil, nil, func(t *testing.T, v *trust.Verifier, clk *clock.Fixed) presented {
			pr := honest(t, v, good)
			pr.cert = nil
			return pr
		}, trust.ErrNoCertificate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fixed := &clock.Fixed{T: p.now}
			var clk clock.Clock = fixed
			if tt.clk != nil {
				clk = tt.clk
			}
			crls := tt.crls
			if crls == nil {
				crls = []*x509.RevocationList{fresh}
			}
			v := p.verifier(t, clk, crls...)
			pr := tt.setup(t, v, fixed)
			id, err := v.Verify(pr.binding, pr.cert, pr.fromCard, pr.nonce, pr.sig)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if !id.HSAID.IsZero() {
				t.Errorf("got HSA-ID %s from a refused card, want none", id.HSAID)
			}
			var te *trust.Error
			if !errors.As(err, &te) || te.Reason != tt.want.Reason {
				t.Errorf("got %v, want a *trust.Error of %s", err, tt.want.Reason)
			}
			var pb *problem.Problem
			if !errors.As(problem.Of(err), &pb) || pb.Key() != string(tt.want.Reason) || pb.Text("sv") == "" || pb.Text("en") == "" {
				t.Errorf("got problem %v, want key %s in Swedish and English", pb, tt.want.Reason)
			}
			for _, personal := range []string{adminHSAID, "Test Testsson", "Testsson"} {
				if strings.Contains(err.Error(), personal) {
					t.Errorf("error text %q carries personal data %q", err, personal)
				}
			}
		})
	}
}

// TestUnsyncedClockOnlyWhereAllowed: a development station without NTP
// (AllowUnsyncedClock) checks dates by its unsynchronised clock; the
// default refuses (ErrClockUnsynced in TestAttacks).
func TestUnsyncedClockOnlyWhereAllowed(t *testing.T) {
	p := newPKI(t)
	good := p.card(t, trusttest.Leaf{})
	v, err := trust.New(p.root.PEM(), trust.Material{Intermediates: []*x509.Certificate{p.inter.Cert}, CRLs: []*x509.RevocationList{p.freshCRL()}},
		unsynced{p.now}, trust.Options{CRLGrace: time.Hour, AllowUnsyncedClock: true})
	if err != nil {
		t.Fatal(err)
	}
	nonce, sig := answer(t, v, good)
	if _, err := v.Verify("reader-00", good.cert, good.fromCard, nonce, sig); err != nil {
		t.Fatalf("got %v, want the card accepted by an allowed unsynchronised clock", err)
	}
}

// TestVerifyCertificate: a TLS client certificate (key possession proven
// by the handshake) is checked for chain, validity, usage, revocation and
// HSA-ID, with no challenge; a challenge issued meanwhile is untouched.
func TestVerifyCertificate(t *testing.T) {
	p := newPKI(t)
	clk := &clock.Fixed{T: p.now}
	revoked := p.card(t, trusttest.Leaf{})
	v := p.verifier(t, clk, p.freshCRL(revoked.cert.SerialNumber))
	foreign := trusttest.NewRoot(t, "Evil Root", trusttest.ECDSA)
	foreignCert, _ := foreign.Issue(trusttest.Leaf{HSAID: adminHSAID})
	for _, c := range []struct {
		name  string
		cert  *x509.Certificate
		inter []*x509.Certificate
		v     *trust.Verifier
		want  error
	}{
		{"valid", p.card(t, trusttest.Leaf{}).cert, nil, v, nil},
		{"intermediate sent by the peer", p.card(t, trusttest.Leaf{}).cert, []*x509.Certificate{p.inter.Cert}, v, nil},
		{"no certificate", nil, nil, v, trust.ErrNoCertificate},
		{"unknown CA", foreignCert, []*x509.Certificate{foreign.Cert}, v, trust.ErrUntrusted},
		{"self-signed", func() *x509.Certificate { c, _ := trusttest.SelfSigned(t, trusttest.Leaf{HSAID: adminHSAID}); return c }(), nil, v, trust.ErrUntrusted},
		{"expired", p.card(t, trusttest.Leaf{NotBefore: p.now.AddDate(-3, 0, 0), NotAfter: p.now.Add(-time.Hour)}).cert, nil, v, trust.ErrExpired},
		{"revoked", revoked.cert, nil, v, trust.ErrRevoked},
		{"no CRL", p.card(t, trusttest.Leaf{}).cert, nil, p.verifier(t, clk), trust.ErrCRLMissing},
		{"not for client authentication", p.card(t, trusttest.Leaf{ExtUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection}}).cert, nil, v, trust.ErrKeyUsage},
		{"no HSA-ID", p.card(t, trusttest.Leaf{HSAID: "19121212-1212"}).cert, nil, v, trust.ErrNoHSAID},
	} {
		t.Run(c.name, func(t *testing.T) {
			ch, err := c.v.Challenge("reader-00")
			if err != nil {
				t.Fatal(err)
			}
			id, err := c.v.VerifyCertificate(c.cert, c.inter)
			if c.want == nil {
				if err != nil || id.HSAID.String() != adminHSAID {
					t.Fatalf("got %v, %v; want %s", id.HSAID, err, adminHSAID)
				}
			} else if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			// The challenge path is untouched: the challenge is still
			// outstanding and still needs the card's signature.
			if c.want == nil {
				card := p.card(t, trusttest.Leaf{})
				if _, err := c.v.Verify("reader-00", card.cert, nil, ch.Nonce[:], trusttest.Sign(t, p.inter.Key, ch.Nonce[:])); !errors.Is(err, trust.ErrBadSignature) {
					t.Errorf("Verify with another key's signature: got %v, want ErrBadSignature", err)
				}
			}
		})
	}
}
