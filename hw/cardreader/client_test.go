package cardreader_test

import (
	"bytes"
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

var ok = reply(0x90, 0x00)

func TestClientWithVirtualCard(t *testing.T) {
	ca, err := vcard.NewCA("client test CA")
	if err != nil {
		t.Fatal(err)
	}
	card, err := ca.Issue(vcard.Profile{Serial: "5555", HSAID: "SE2321000131-P000000000555", PIN: "123456"})
	if err != nil {
		t.Fatal(err)
	}
	c := cardreader.NewClient(cardreader.TransportFunc(card.Process))
	got, err := c.ReadCard(card.ATR())
	if err != nil {
		t.Fatalf("ReadCard: %v", err)
	}
	if got.Serial != "5555" || got.HSAID != "SE2321000131-P000000000555" || got.PINRetries != 3 {
		t.Errorf("got serial %q, HSA-ID %q, retries %d", got.Serial, got.HSAID, got.PINRetries)
	}
	if !bytes.Equal(got.CertificateDER, card.CertificateDER()) {
		t.Error("certificate differs from the card's")
	}
	if err := c.VerifyPIN([]byte("123456")); err != nil {
		t.Errorf("VerifyPIN: %v", err)
	}
}

func TestClientStatusWords(t *testing.T) {
	boom := errors.New("transport broke")
	tests := []struct {
		name   string
		s      script
		read   bool // ReadCard, else VerifyPIN("1234")
		is     error
		sw     uint16
		substr string
	}{
		{name: "not our card", s: script{cardreader.InsSelect: reply(0x6A, 0x82)}, read: true, is: cardreader.ErrUnsupportedCard},
		{name: "SELECT other status", s: script{cardreader.InsSelect: reply(0x6F, 0x00)}, read: true, sw: 0x6F00},
		{name: "no serial", s: script{cardreader.InsSelect: ok, cardreader.InsGetData: reply(0x6A, 0x88)}, read: true, is: cardreader.ErrNoSerial},
		{name: "serial not printable", s: script{cardreader.InsSelect: ok, cardreader.InsGetData: reply(0x01, 0x90, 0x00)}, read: true, substr: "printable"},
		{name: "response without status word", s: script{cardreader.InsSelect: reply(0x90)}, read: true, is: cardreader.ErrNoResponse},
		{name: "transport error", s: script{cardreader.InsSelect: func([]byte) ([]byte, error) { return nil, boom }}, read: true, is: boom},
		{name: "wrong PIN 2 left", s: script{cardreader.InsSelect: ok, cardreader.InsVerify: reply(0x63, 0xC2)}, substr: "2 attempts left"},
		{name: "wrong PIN 1 left", s: script{cardreader.InsSelect: ok, cardreader.InsVerify: reply(0x63, 0xC1)}, substr: "1 attempt left"},
		{name: "63C0 is blocked", s: script{cardreader.InsSelect: ok, cardreader.InsVerify: reply(0x63, 0xC0)}, is: cardreader.ErrPINBlocked},
		{name: "6983 is blocked", s: script{cardreader.InsSelect: ok, cardreader.InsVerify: reply(0x69, 0x83)}, is: cardreader.ErrPINBlocked},
		{name: "VERIFY other status", s: script{cardreader.InsSelect: ok, cardreader.InsVerify: reply(0x67, 0x00)}, sw: 0x6700},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := cardreader.NewClient(tt.s)
			var err error
			if tt.read {
				_, err = c.ReadCard(nil)
			} else {
				err = c.VerifyPIN([]byte("1234"))
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
				t.Errorf("error %q does not contain %q", err, tt.substr)
			}
		})
	}
}

// fileScript serves file through READ BINARY like the card application.
func fileScript(file []byte) script {
	return script{
		cardreader.InsSelect: ok,
		cardreader.InsReadBinary: func(apdu []byte) ([]byte, error) {
			off, n := int(apdu[2])<<8|int(apdu[3]), int(apdu[4])
			switch {
			case off >= len(file):
				return []byte{0x6B, 0x00}, nil
			case off+n > len(file):
				return append(append([]byte(nil), file[off:]...), 0x62, 0x82), nil
			default:
				return append(append([]byte(nil), file[off:off+n]...), 0x90, 0x00), nil
			}
		},
	}
}

func TestCertificateReading(t *testing.T) {
	der := make([]byte, 600)
	der[0], der[1], der[2], der[3] = 0x30, 0x82, 0x02, 0x54 // SEQUENCE of 596 bytes
	for i := 4; i < len(der); i++ {
		der[i] = byte(i)
	}
	t.Run("padded file stops at the DER length", func(t *testing.T) {
		file := append(append([]byte(nil), der...), bytes.Repeat([]byte{0xFF}, 300)...)
		got, err := cardreader.NewClient(fileScript(file)).Certificate()
		if err != nil || !bytes.Equal(got, der) {
			t.Fatalf("got %d bytes, %v; want the %d DER bytes", len(got), err, len(der))
		}
	})
	t.Run("truncated file", func(t *testing.T) {
		_, err := cardreader.NewClient(fileScript(der[:500])).Certificate()
		if err == nil || !strings.Contains(err.Error(), "ends after 500 of 600") {
			t.Fatalf("got %v, want a truncation error", err)
		}
	})
	t.Run("not DER", func(t *testing.T) {
		_, err := cardreader.NewClient(fileScript([]byte{0x04, 0x02, 0x01, 0x02})).Certificate()
		if err == nil || !strings.Contains(err.Error(), "DER") {
			t.Fatalf("got %v, want a DER error", err)
		}
	})
	t.Run("no certificate file", func(t *testing.T) {
		_, err := cardreader.NewClient(script{cardreader.InsSelect: reply(0x6A, 0x82)}).Certificate()
		if !errors.Is(err, cardreader.ErrNoCertificate) {
			t.Fatalf("got %v, want ErrNoCertificate", err)
		}
	})
}

func TestVerifyPINLeavesNoCopy(t *testing.T) {
	var sent [][]byte
	s := script{
		cardreader.InsSelect: ok,
		cardreader.InsVerify: func(apdu []byte) ([]byte, error) {
			sent = append(sent, apdu) // keep the caller's buffer to inspect it afterwards
			if !bytes.Equal(apdu[5:], []byte{'4', '3', '2', '1', 0xFF, 0xFF, 0xFF, 0xFF}) {
				t.Errorf("VERIFY data = % X, want the PIN padded with FF", apdu[5:])
			}
			return []byte{0x63, 0xC2}, nil
		},
	}
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
