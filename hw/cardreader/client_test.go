package cardreader_test

import (
	"bytes"
	"crypto/x509"
	"errors"
	"strings"
	"testing"

	"github.com/kortstation/kortstation/hw/cardreader"
	"github.com/kortstation/kortstation/hw/cardreader/vcard"
)

// script answers APDUs by instruction byte; unknown instructions get 6D00.
type script map[byte]func(apdu []byte) ([]byte, error)

func (s script) Transmit(apdu []byte) ([]byte, error) {
	if f, ok := s[apdu[1]]; ok {
		return f(apdu)
	}
	return []byte{0x6D, 0x00}, nil
}

func reply(b ...byte) func([]byte) ([]byte, error) {
	return func([]byte) ([]byte, error) { return b, nil }
}

// over answers APDUs with card, except the instructions the script has an
// answer for: a real PKCS#15 card with one command changed.
func over(card *vcard.Card, s script) cardreader.Transport {
	return cardreader.TransportFunc(func(apdu []byte) ([]byte, error) {
		if f, ok := s[apdu[1]]; ok {
			return f(apdu)
		}
		return card.Process(apdu)
	})
}

func issue(t *testing.T, p vcard.Profile) (*vcard.CA, *vcard.Card) {
	t.Helper()
	ca, err := vcard.NewCA("client test CA")
	if err != nil {
		t.Fatal(err)
	}
	card, err := ca.Issue(p)
	if err != nil {
		t.Fatal(err)
	}
	return ca, card
}

func TestClientWithVirtualCard(t *testing.T) {
	for _, alg := range []vcard.KeyAlgorithm{vcard.ECDSAP256, vcard.RSA2048} {
		t.Run(alg.String(), func(t *testing.T) {
			_, card := issue(t, vcard.Profile{Serial: "5555", HSAID: "SE2321000131-P000000000555", PIN: "123456", Key: alg})
			c := cardreader.NewClient(cardreader.TransportFunc(card.Process))
			got, err := c.ReadCard(card.ATR())
			if err != nil {
				t.Fatalf("ReadCard: %v", err)
			}
			if got.Serial != "5555" || got.HSAID != "SE2321000131-P000000000555" || got.PINRetries != 3 {
				t.Errorf("got serial %q, HSA-ID %q, retries %d; want 5555, SE2321000131-P000000000555, 3", got.Serial, got.HSAID, got.PINRetries)
			}
			if !bytes.Equal(got.CertificateDER, card.CertificateDER()) {
				t.Error("certificate differs from the card's")
			}
			if _, err := c.Sign([]byte("challenge")); !errors.Is(err, cardreader.ErrSecurityStatus) {
				t.Errorf("Sign before the PIN: got %v, want ErrSecurityStatus", err)
			}
			if err := c.VerifyPIN([]byte("123456")); err != nil {
				t.Fatalf("VerifyPIN: %v", err)
			}
			challenge := []byte("challenge 1")
			sig, err := c.Sign(challenge)
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			want := map[vcard.KeyAlgorithm]x509.SignatureAlgorithm{vcard.ECDSAP256: x509.ECDSAWithSHA256, vcard.RSA2048: x509.SHA256WithRSA}[alg]
			if sig.Algorithm != want {
				t.Errorf("Algorithm = %v, want %v", sig.Algorithm, want)
			}
			if err := sig.Verify(got.Certificate, challenge); err != nil {
				t.Errorf("Verify: %v", err)
			}
			if err := sig.Verify(got.Certificate, []byte("challenge 2")); err == nil {
				t.Error("Verify against another challenge: got nil, want an error")
			}
			// A new session (Client) on the same powered card still signs.
			if _, err := cardreader.NewClient(cardreader.TransportFunc(card.Process)).Sign(challenge); err != nil {
				t.Errorf("Sign in a later session: %v", err)
			}
			card.Reset()
			if _, err := c.Sign(challenge); !errors.Is(err, cardreader.ErrSecurityStatus) {
				t.Errorf("Sign after a reset: got %v, want ErrSecurityStatus", err)
			}
		})
	}
}

func TestClientErrors(t *testing.T) {
	boom := errors.New("transport broke")
	_, card := issue(t, vcard.Profile{Serial: "1", HSAID: "SE2321000131-P1", PIN: "1234"})
	_, blank := issue(t, vcard.Profile{Serial: "2", PIN: "1234"})
	otherApp := append([]byte{0x61, 0x07, 0x4F, 0x05, 0xA0, 0x00, 0x00, 0x00, 0x01}, 0x90, 0x00)
	tests := []struct {
		name   string
		t      cardreader.Transport
		op     string // read, verify, sign
		is     error
		sw     uint16
		substr string
	}{
		{name: "no EF.DIR, no application", t: script{cardreader.InsSelect: reply(0x6A, 0x82)}, op: "read", is: cardreader.ErrUnsupportedCard},
		{name: "EF.DIR without PKCS#15", t: script{cardreader.InsSelect: reply(0x90, 0x00), cardreader.InsReadBinary: reply(otherApp...)}, op: "read", is: cardreader.ErrUnsupportedCard},
		{name: "SELECT other status", t: script{cardreader.InsSelect: reply(0x6F, 0x00)}, op: "read", sw: 0x6F00},
		{name: "response without status word", t: script{cardreader.InsSelect: reply(0x90)}, op: "read", is: cardreader.ErrNoResponse},
		{name: "transport error", t: script{cardreader.InsSelect: func([]byte) ([]byte, error) { return nil, boom }}, op: "read", is: boom},
		{name: "wrong PIN 2 left", t: over(card, script{cardreader.InsVerify: reply(0x63, 0xC2)}), op: "verify", substr: "2 attempts left"},
		{name: "wrong PIN 1 left", t: over(card, script{cardreader.InsVerify: reply(0x63, 0xC1)}), op: "verify", substr: "1 attempt left"},
		{name: "63C0 is blocked", t: over(card, script{cardreader.InsVerify: reply(0x63, 0xC0)}), op: "verify", is: cardreader.ErrPINBlocked},
		{name: "6983 is blocked", t: over(card, script{cardreader.InsVerify: reply(0x69, 0x83)}), op: "verify", is: cardreader.ErrPINBlocked},
		{name: "VERIFY other status", t: over(card, script{cardreader.InsVerify: reply(0x67, 0x00)}), op: "verify", sw: 0x6700},
		{name: "sign without PIN", t: over(card, nil), op: "sign", is: cardreader.ErrSecurityStatus},
		{name: "sign on a blank card", t: over(blank, nil), op: "sign", is: cardreader.ErrNoKey},
		{name: "MSE key not found", t: over(card, script{cardreader.InsMSE: reply(0x6A, 0x88)}), op: "sign", is: cardreader.ErrNoKey},
		{name: "PSO other status", t: over(card, script{cardreader.InsPSO: reply(0x6A, 0x80)}), op: "sign", sw: 0x6A80},
		{name: "PSO short ECDSA answer", t: over(card, script{cardreader.InsPSO: reply(0x01, 0x90, 0x00)}), op: "sign", substr: "r‖s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			card.Reset()
			c := cardreader.NewClient(tt.t)
			var err error
			switch tt.op {
			case "read":
				_, err = c.ReadCard(nil)
			case "verify":
				err = c.VerifyPIN([]byte("1234"))
			case "sign":
				_, err = c.Sign([]byte("x"))
			}
			if err == nil {
				t.Fatal("got no error")
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("got %v, want errors.Is %v", err, tt.is)
			}
			if tt.sw != 0 {
				var se *cardreader.StatusError
				if !errors.As(err, &se) || se.SW != tt.sw {
					t.Errorf("got %v, want *StatusError with SW %04X", err, tt.sw)
				}
			}
			if tt.substr != "" && !strings.Contains(err.Error(), tt.substr) {
				t.Errorf("got %q, want it to contain %q", err, tt.substr)
			}
		})
	}
}

func TestBlankCard(t *testing.T) {
	_, blank := issue(t, vcard.Profile{Serial: "9752269900000000101", PIN: "0000"})
	got, err := cardreader.NewClient(cardreader.TransportFunc(blank.Process)).ReadCard(nil)
	if err != nil {
		t.Fatalf("ReadCard: %v", err)
	}
	if got.Serial != "9752269900000000101" || got.CertificateDER != nil || got.HSAID != "" || got.PINRetries != 3 {
		t.Errorf("got %+v, want the serial, no certificate, 3 retries", got)
	}
}

func TestVerifyPINLeavesNoCopy(t *testing.T) {
	_, card := issue(t, vcard.Profile{Serial: "1", HSAID: "SE2321000131-P1", PIN: "1234"})
	var sent [][]byte
	s := over(card, script{
		cardreader.InsVerify: func(apdu []byte) ([]byte, error) {
			sent = append(sent, apdu) // keep the caller's buffer to inspect it afterwards
			if got, want := apdu[:5], []byte{0x00, 0x20, 0x00, 0x81, 0x08}; !bytes.Equal(got, want) {
				t.Errorf("VERIFY header = % X, want % X (the AODF's reference and stored length)", got, want)
			}
			if got, want := apdu[5:], []byte{'4', '3', '2', '1', 0xFF, 0xFF, 0xFF, 0xFF}; !bytes.Equal(got, want) {
				t.Errorf("VERIFY data = % X, want % X (padded with the AODF's pad character)", got, want)
			}
			return []byte{0x63, 0xC2}, nil
		},
	})
	pin := []byte("4321")
	err := cardreader.NewClient(s).VerifyPIN(pin)
	var pe *cardreader.PINError
	if !errors.As(err, &pe) || pe.Retries != 2 {
		t.Fatalf("got %v, want *PINError{2}", err)
	}
	if !bytes.Equal(pin, make([]byte, 4)) {
		t.Error("caller's PIN not zeroed")
	}
	if len(sent) != 1 || !bytes.Equal(sent[0][5:], make([]byte, 8)) {
		t.Error("APDU buffer that held the PIN not zeroed")
	}

	bad := []byte("12x4")
	if err := cardreader.NewClient(s).VerifyPIN(bad); !errors.Is(err, cardreader.ErrPINFormat) {
		t.Errorf("malformed PIN: got %v, want ErrPINFormat", err)
	}
	if !bytes.Equal(bad, make([]byte, 4)) {
		t.Error("malformed PIN not zeroed")
	}
	if len(sent) != 1 {
		t.Error("malformed PIN was sent to the card")
	}
}

func TestAttackerCards(t *testing.T) {
	for _, alg := range []vcard.KeyAlgorithm{vcard.ECDSAP256, vcard.RSA2048} {
		t.Run(alg.String(), func(t *testing.T) {
			ca, victim := issue(t, vcard.Profile{Serial: "1", HSAID: "SE2321000131-P000000012345", PIN: "1234", Key: alg})
			copied, err := vcard.CopyCertificate(victim, "666", "0000")
			if err != nil {
				t.Fatal(err)
			}
			self, err := vcard.SelfSigned(vcard.Profile{Serial: "667", HSAID: "SE2321000131-P000000012345", PIN: "0000", Key: alg})
			if err != nil {
				t.Fatal(err)
			}
			for _, tt := range []struct {
				name       string
				card       *vcard.Card
				sigOK      bool
				fromCA     bool
				sameHolder bool
			}{
				{"copied certificate", copied, false, true, true},
				{"self-signed certificate", self, true, false, true},
			} {
				c := cardreader.NewClient(cardreader.TransportFunc(tt.card.Process))
				got, err := c.ReadCard(nil)
				if err != nil {
					t.Fatalf("%s: ReadCard: %v", tt.name, err)
				}
				if got.HSAID != "SE2321000131-P000000012345" {
					t.Errorf("%s: HSAID = %q, want the victim's", tt.name, got.HSAID)
				}
				if err := c.VerifyPIN([]byte("0000")); err != nil {
					t.Fatalf("%s: VerifyPIN: %v", tt.name, err)
				}
				sig, err := c.Sign([]byte("nonce"))
				if err != nil {
					t.Fatalf("%s: Sign: %v", tt.name, err)
				}
				if err := sig.Verify(got.Certificate, []byte("nonce")); (err == nil) != tt.sigOK {
					t.Errorf("%s: Verify = %v, want ok = %v", tt.name, err, tt.sigOK)
				}
				if err := got.Certificate.CheckSignatureFrom(ca.Certificate()); (err == nil) != tt.fromCA {
					t.Errorf("%s: certificate from the CA: %v, want ok = %v", tt.name, err, tt.fromCA)
				}
			}
		})
	}
}

func TestValidHSAID(t *testing.T) {
	for s, want := range map[string]bool{
		"SE2321000131-P000000012345": true,
		"SE2321000016-ABC1":          true,
		"SE232100013-P1":             false,
		"SE2321000131P000000012345":  false,
		"se2321000131-P1":            false,
		"SE2321000131-":              false,
		"SE2321000131-P 1":           false,
		"":                           false,
	} {
		if got := cardreader.ValidHSAID(s); got != want {
			t.Errorf("ValidHSAID(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestEventStringHasNoCardData(t *testing.T) {
	ev := cardreader.Event{Kind: cardreader.CardInserted, Reader: "R", ATR: []byte{0x3B, 0x00}}
	if got, want := ev.String(), `card inserted: "R" ATR 3B 00`; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if got := cardreader.EventKind(99).String(); got != "EventKind(99)" {
		t.Errorf("unknown kind String() = %q", got)
	}
}

// TestOtherCertificates: a card's certificates besides the authentication
// certificate (a personal-number certificate) are read with the card, the
// authentication certificate still the one that goes with the key.
func TestOtherCertificates(t *testing.T) {
	_, card := issue(t, vcard.Profile{Serial: "5556", HSAID: "SE2321000131-P000000000556", PIN: "123456", PersonalNumber: "198001012346"})
	c := cardreader.NewClient(cardreader.TransportFunc(card.Process))
	got, err := c.ReadCard(card.ATR())
	if err != nil {
		t.Fatalf("ReadCard: %v", err)
	}
	if got.HSAID != "SE2321000131-P000000000556" {
		t.Errorf("got HSA-ID %q, want the authentication certificate's", got.HSAID)
	}
	if len(got.Others) != 1 || got.Others[0].Subject.SerialNumber != "198001012346" {
		t.Fatalf("got %d other certificates (%v), want the personal-number certificate", len(got.Others), got.Others)
	}
	_, plain := issue(t, vcard.Profile{Serial: "5557", HSAID: "SE2321000131-P000000000557", PIN: "123456"})
	if got, err := cardreader.NewClient(cardreader.TransportFunc(plain.Process)).ReadCard(plain.ATR()); err != nil || len(got.Others) != 0 {
		t.Errorf("a card with one certificate: others %v, %v; want none", got.Others, err)
	}
}
