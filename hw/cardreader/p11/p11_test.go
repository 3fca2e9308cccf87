package p11_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/kortstation/kortstation/hw/cardreader"
	"github.com/kortstation/kortstation/hw/cardreader/p11"
	"github.com/kortstation/kortstation/hw/cardreader/p11/p11test"
	"github.com/kortstation/kortstation/hw/cardreader/vcard"
	"github.com/kortstation/kortstation/kiosk/trust/trusttest"
)

const r0, r1 = "Simulated Reader 00", "Simulated Reader 01"

func station(t *testing.T) (*p11test.Station, *p11.Reader) {
	t.Helper()
	st := hsm.NewStation()
	r, err := st.NewReader(p11.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		r.Close()
		for _, name := range []string{r0, r1} {
			st.Remove(name)
		}
	})
	return st, r
}

func insert(t *testing.T, st *p11test.Station, reader string, tok *p11test.Token) {
	t.Helper()
	if err := st.Insert(reader, tok); err != nil {
		t.Fatal(err)
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	t.Cleanup(cancel)
	return c
}

// TestReadCard reads tokens whose certificates a test CA issued now.
func TestReadCard(t *testing.T) {
	ca := trusttest.NewRoot(t, "p11 test CA", trusttest.ECDSA)
	for _, tt := range []struct {
		name, serial string
		key          vcard.KeyAlgorithm
		alg          x509.SignatureAlgorithm
	}{
		{"RSA 2048", "9752269900120011", vcard.RSA2048, x509.SHA256WithRSA},
		{"ECDSA P-256", "9752269900130011", vcard.ECDSAP256, x509.ECDSAWithSHA256},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := hsm.Issue(ca.Cert, ca.Key, vcard.Profile{Serial: tt.serial, HSAID: "SE2321000131-P000000000011",
				CommonName: "Test Operatör", PIN: "1234", Key: tt.key})
			if err != nil {
				t.Fatal(err)
			}
			st, r := station(t)
			events := make(chan cardreader.Event, 16)
			runCtx, stop := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- r.Run(runCtx, events) }()
			t.Cleanup(func() { stop(); <-done })
			insert(t, st, r0, tok)
			for ev := range events {
				if ev.Kind == cardreader.CardInserted && ev.Reader == r0 {
					break
				}
			}
			card, err := r.ReadCard(ctx(t), r0)
			if err != nil {
				t.Fatalf("ReadCard: %v", err)
			}
			if card.Serial != tt.serial || card.Serial != tok.Serial {
				t.Errorf("Serial: got %q, want %q", card.Serial, tok.Serial)
			}
			if !bytes.Equal(card.CertificateDER, tok.CertificateDER) {
				t.Errorf("certificate: got %d bytes, want the token's %d", len(card.CertificateDER), len(tok.CertificateDER))
			}
			if err := card.Certificate.CheckSignatureFrom(ca.Cert); err != nil {
				t.Errorf("certificate not the CA's: %v", err)
			}
			if card.HSAID != "SE2321000131-P000000000011" {
				t.Errorf("HSAID: got %q, want %q", card.HSAID, "SE2321000131-P000000000011")
			}
			if card.PINRetries != 3 {
				t.Errorf("PINRetries: got %v, want 3", card.PINRetries)
			}
			if !bytes.Equal(card.ATR, vcard.ATR()) {
				t.Errorf("ATR: got % X, want % X (from the event)", card.ATR, vcard.ATR())
			}
			if err := r.VerifyPIN(ctx(t), r0, []byte("1234")); err != nil {
				t.Fatalf("VerifyPIN: %v", err)
			}
			challenge := []byte("p11 challenge")
			sig, err := r.Sign(ctx(t), r0, challenge)
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			if sig.Algorithm != tt.alg {
				t.Errorf("Algorithm: got %v, want %v", sig.Algorithm, tt.alg)
			}
			if err := sig.Verify(card.Certificate, challenge); err != nil {
				t.Errorf("Verify: %v", err)
			}
			// Removal (the event, through Run) ends the PIN's validity.
			if err := st.Remove(r0); err != nil {
				t.Fatal(err)
			}
			if _, err := r.Sign(ctx(t), r0, challenge); !errors.Is(err, cardreader.ErrCardRemoved) {
				t.Errorf("Sign after removal: got %v, want ErrCardRemoved", err)
			}
		})
	}
}

// TestCopiedCertificateToken puts one token's certificate on another
// token with a different key: it reads as the victim, but its signature
// does not verify against the certificate.
func TestCopiedCertificateToken(t *testing.T) {
	ca := trusttest.NewRoot(t, "p11 test CA", trusttest.RSA)
	for i, key := range []vcard.KeyAlgorithm{vcard.ECDSAP256, vcard.RSA2048} {
		t.Run(key.String(), func(t *testing.T) {
			victimSerial, thiefSerial := fmt.Sprintf("10000000001%d0021", i+2), fmt.Sprintf("66600000001%d0029", i+2)
			victim, err := hsm.Issue(ca.Cert, ca.Key, vcard.Profile{Serial: victimSerial, HSAID: "SE2321000131-P000000000021", PIN: "1234", Key: key})
			if err != nil {
				t.Fatal(err)
			}
			other, err := vcard.GenerateKey(key)
			if err != nil {
				t.Fatal(err)
			}
			thief, err := hsm.NewToken(p11test.Spec{Serial: thiefSerial, CertificateDER: victim.CertificateDER, Key: other, PIN: "1234"})
			if err != nil {
				t.Fatal(err)
			}
			st, r := station(t)
			insert(t, st, r0, thief)
			card, err := r.ReadCard(ctx(t), r0)
			if err != nil {
				t.Fatal(err)
			}
			if card.HSAID != "SE2321000131-P000000000021" || card.Serial != thiefSerial {
				t.Errorf("got HSA-ID %q serial %q, want the victim's HSA-ID on the thief's serial", card.HSAID, card.Serial)
			}
			if err := r.VerifyPIN(ctx(t), r0, []byte("1234")); err != nil {
				t.Fatal(err)
			}
			sig, err := r.Sign(ctx(t), r0, []byte("prove it"))
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			if err := sig.Verify(card.Certificate, []byte("prove it")); err == nil {
				t.Error("the thief's signature verifies against the copied certificate: got nil, want an error")
			}
		})
	}
}

// TestTwoReaders reads a token in each reader at once and a blank one.
func TestTwoReaders(t *testing.T) {
	ca := trusttest.NewRoot(t, "p11 test CA", trusttest.ECDSA)
	a, err := hsm.Issue(ca.Cert, ca.Key, vcard.Profile{Serial: "1000000000120031", HSAID: "SE2321000131-P000000000031", PIN: "1234"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := hsm.Issue(ca.Cert, ca.Key, vcard.Profile{Serial: "9752269900120101", PIN: "0000"})
	if err != nil {
		t.Fatal(err)
	}
	st, r := station(t)
	insert(t, st, r0, a)
	insert(t, st, r1, b)
	type got struct {
		card cardreader.Card
		err  error
	}
	res := make(chan got, 2)
	for _, name := range []string{r0, r1} {
		go func() {
			c, err := r.ReadCard(ctx(t), name)
			res <- got{c, err}
		}()
	}
	serials := map[string]cardreader.Card{}
	for range 2 {
		g := <-res
		if g.err != nil {
			t.Fatalf("ReadCard: %v", g.err)
		}
		serials[g.card.Serial] = g.card
	}
	if c, ok := serials[a.Serial]; !ok || c.HSAID != "SE2321000131-P000000000031" {
		t.Errorf("reader 0: got %+v, want token a with its HSA-ID", serials)
	}
	if c, ok := serials[b.Serial]; !ok || c.Certificate != nil || c.HSAID != "" {
		t.Errorf("reader 1: got %+v, want the blank token b", serials)
	}
}

func TestOpenBadModule(t *testing.T) {
	for _, path := range []string{"", "/nonexistent/libnothing.so"} {
		if _, err := p11.Open(path); !errors.Is(err, p11.ErrModule) {
			t.Errorf("Open(%q): got %v, want ErrModule", path, err)
		}
	}
}

func TestNewNeedsModuleAndInner(t *testing.T) {
	st := hsm.NewStation()
	for _, tt := range []struct {
		name string
		cfg  p11.Config
	}{
		{"no module", p11.Config{Inner: st.Sim}},
		{"no inner reader", p11.Config{Module: hsm.Module()}},
	} {
		if _, err := p11.New(tt.cfg); err == nil {
			t.Errorf("%s: got nil, want an error", tt.name)
		}
	}
}
