package trust_test

import (
	"crypto/x509"
	"errors"
	"testing"
	"time"

	"github.com/kortstation/kortstation/kiosk/clock"
	"github.com/kortstation/kortstation/kiosk/trust"
	"github.com/kortstation/kortstation/kiosk/trust/trusttest"
)

// TestForgedCRLBesideTheGenuine: a forged CRL (another key, the issuer's
// name, revoking nothing, newer) is refused at load; the genuine one still
// decides.
func TestForgedCRLBesideTheGenuine(t *testing.T) {
	p := newPKI(t)
	revoked := p.card(t, trusttest.Leaf{})
	forger := trusttest.NewRoot(t, "forger", trusttest.ECDSA)
	forged := trusttest.SignCRL(t, p.inter.Cert, forger.Key, p.now, p.now.Add(48*time.Hour))
	v := p.verifier(t, &clock.Fixed{T: p.now}, p.freshCRL(revoked.cert.SerialNumber), forged)
	var ce *trust.CRLError
	if r := v.Refused(); len(r) != 1 || !errors.As(r[0], &ce) {
		t.Errorf("got refused %v, want the forged CRL", r)
	}
	nonce, sig := answer(t, v, revoked)
	if _, err := v.Verify("reader-00", revoked.cert, nil, nonce, sig); !errors.Is(err, trust.ErrRevoked) {
		t.Errorf("got %v, want %v", err, trust.ErrRevoked)
	}
}

// TestLoadReplacesMaterialKeepingChallenges: a CRL arriving with a sync
// revokes at once; a challenge issued before the load still counts.
func TestLoadReplacesMaterialKeepingChallenges(t *testing.T) {
	p := newPKI(t)
	c := p.card(t, trusttest.Leaf{})
	v := p.verifier(t, &clock.Fixed{T: p.now}, p.freshCRL())
	nonce, sig := answer(t, v, c)
	if errs := v.Load(trust.Material{Intermediates: []*x509.Certificate{p.inter.Cert}, CRLs: []*x509.RevocationList{p.freshCRL(c.cert.SerialNumber)}}); len(errs) != 0 {
		t.Fatalf("load: %v", errs)
	}
	if _, err := v.Verify("reader-00", c.cert, nil, nonce, sig); !errors.Is(err, trust.ErrRevoked) {
		t.Errorf("got %v, want %v", err, trust.ErrRevoked)
	}
}

// TestIntermediateFromTheCard: a card may bring its intermediate; the
// registry's CRL of that intermediate still decides.
func TestIntermediateFromTheCard(t *testing.T) {
	p := newPKI(t)
	c := p.card(t, trusttest.Leaf{})
	c.fromCard = []*x509.Certificate{p.inter.Cert}
	v, err := trust.New(p.root.PEM(), trust.Material{CRLs: []*x509.RevocationList{p.freshCRL()}}, &clock.Fixed{T: p.now}, trust.Options{})
	if err != nil {
		t.Fatal(err)
	}
	nonce, sig := answer(t, v, c)
	if _, err := v.Verify("reader-00", c.cert, c.fromCard, nonce, sig); !errors.Is(err, trust.ErrCRLInvalid) {
		// The registry did not distribute the intermediate, so its CRL
		// cannot be verified at load: refused, and the card with it.
		t.Errorf("got %v, want %v", err, trust.ErrCRLInvalid)
	}
	v.Load(trust.Material{Intermediates: []*x509.Certificate{p.inter.Cert}, CRLs: []*x509.RevocationList{p.freshCRL()}})
	nonce, sig = answer(t, v, c)
	if _, err := v.Verify("reader-00", c.cert, c.fromCard, nonce, sig); err != nil {
		t.Errorf("got %v, want the identity proven", err)
	}
}

func TestCRLGrace(t *testing.T) {
	p := newPKI(t)
	c := p.card(t, trusttest.Leaf{})
	crl := p.inter.CRL(p.now.Add(-25*time.Hour), p.now.Add(-time.Hour)) // an hour past NextUpdate
	for _, tt := range []struct {
		grace time.Duration
		want  error
	}{{0, trust.ErrCRLStale}, {59 * time.Minute, trust.ErrCRLStale}, {2 * time.Hour, nil}} {
		v, err := trust.New(p.root.PEM(), trust.Material{Intermediates: []*x509.Certificate{p.inter.Cert}, CRLs: []*x509.RevocationList{crl}}, &clock.Fixed{T: p.now}, trust.Options{CRLGrace: tt.grace})
		if err != nil {
			t.Fatal(err)
		}
		nonce, sig := answer(t, v, c)
		if _, err := v.Verify("reader-00", c.cert, nil, nonce, sig); !errors.Is(err, tt.want) && (err != nil || tt.want != nil) {
			t.Errorf("grace %s: got %v, want %v", tt.grace, err, tt.want)
		}
	}
}

func TestChallengesAreFresh(t *testing.T) {
	p := newPKI(t)
	clk := &clock.Fixed{T: p.now}
	v := p.verifier(t, clk)
	seen := map[[trust.ChallengeSize]byte]bool{}
	for i := 0; i < 100; i++ {
		ch, err := v.Challenge("reader-00")
		if err != nil {
			t.Fatal(err)
		}
		if seen[ch.Nonce] {
			t.Fatalf("challenge %d repeats an earlier one", i)
		}
		seen[ch.Nonce] = true
		if ch.Binding != "reader-00" || !ch.Expires.Equal(p.now.Add(trust.DefaultChallengeTTL)) {
			t.Errorf("got %s expiring %s, want reader-00 expiring %s", ch.Binding, ch.Expires, p.now.Add(trust.DefaultChallengeTTL))
		}
	}
	if _, err := v.Challenge(""); err == nil {
		t.Errorf("got a challenge bound to nothing, want an error")
	}
}

func TestNewNeedsAnchors(t *testing.T) {
	if _, err := trust.New(nil, trust.Material{}, &clock.Fixed{}, trust.Options{}); !errors.Is(err, trust.ErrNoAnchors) {
		t.Errorf("got %v, want %v", err, trust.ErrNoAnchors)
	}
}

func TestReasonsWorded(t *testing.T) {
	keys := map[string]bool{}
	for _, r := range trust.Reasons() {
		m := r.Message()
		if keys[m.Key] {
			t.Errorf("key %s twice", m.Key)
		}
		keys[m.Key] = true
		if m.Text["sv"] == "" || m.Text["en"] == "" || m.Text["sv"] == m.Text["en"] {
			t.Errorf("%s: got %v, want distinct Swedish and English", r, m.Text)
		}
		if !errors.Is(&trust.Error{Reason: r, Detail: "x"}, &trust.Error{Reason: r}) || errors.Is(&trust.Error{Reason: r}, &trust.Error{Reason: "other"}) {
			t.Errorf("%s: errors.Is does not match by reason", r)
		}
	}
}

// TestConcurrentSignInsAndLoads: readers sign in while a sync loads new
// material (run with -race).
func TestConcurrentSignInsAndLoads(t *testing.T) {
	p := newPKI(t)
	c := p.card(t, trusttest.Leaf{})
	crl := p.freshCRL()
	v := p.verifier(t, &clock.Fixed{T: p.now}, crl)
	m := trust.Material{Intermediates: []*x509.Certificate{p.inter.Cert}, CRLs: []*x509.RevocationList{crl}}
	done := make(chan error, 4)
	for r := 0; r < 4; r++ {
		go func() {
			binding := "reader-0" + string(rune('0'+r))
			for i := 0; i < 20; i++ {
				ch, err := v.Challenge(binding)
				if err != nil {
					done <- err
					return
				}
				if _, err := v.Verify(binding, c.cert, nil, ch.Nonce[:], trusttest.Sign(t, c.key, ch.Nonce[:])); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for i := 0; i < 20; i++ {
		v.Load(m)
	}
	for r := 0; r < 4; r++ {
		if err := <-done; err != nil {
			t.Errorf("got %v, want every sign-in proven", err)
		}
	}
}
