package mail

import (
	"bytes"
	"context"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"
	"time"
)

// TestComposeRoundTrip: a Swedish message survives encoding (UTF-8 subject
// and body, quoted-printable), with its headers (RE-5).
func TestComposeRoundTrip(t *testing.T) {
	subject, body := Render(Notice{Event: "expiry", Lang: "sv", CardSerial: "RK-1", Text: "Reservkort RK-1 slutar gälla om 7 dagar."})
	if subject != "Påminnelse: reservkort RK-1 slutar snart gälla" || !strings.HasPrefix(body, "Hej!\n\nReservkort RK-1 slutar gälla om 7 dagar.") {
		t.Fatalf("Swedish rendering: %q\n%s", subject, body)
	}
	raw := Compose("registry@example.org", Message{To: "a@example.org", Subject: subject, Body: body, Lang: "sv", MessageID: "x@y", Date: time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)})
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	b, _ := io.ReadAll(quotedprintable.NewReader(m.Body))
	if got != subject || strings.ReplaceAll(string(b), "\r\n", "\n") != body {
		t.Errorf("round trip: %q\n%q", got, b)
	}
	if m.Header.Get("Message-ID") != "<x@y>" || m.Header.Get("Content-Language") != "sv" || m.Header.Get("To") != "a@example.org" {
		t.Errorf("headers %v", m.Header)
	}
	if s, _ := Render(Notice{Event: "approved", Lang: "en", CardSerial: "RK-1"}); s != "Reserve card RK-1 can be activated" {
		t.Errorf("English subject %q", s)
	}
}

// TestSendRefusesHeaderInjection: an address with a line break or angle
// brackets is refused before any connection, permanently.
func TestSendRefusesHeaderInjection(t *testing.T) {
	s, err := New(Config{Relay: "127.0.0.1:1", From: "r@example.org"})
	if err != nil {
		t.Fatal(err)
	}
	for _, to := range []string{"a@example.org\r\nBcc: b@example.org", "<a@example.org>", "nobody"} {
		if err := s.Send(context.Background(), Message{To: to, Subject: "x", Body: "y"}); !IsPermanent(err) {
			t.Errorf("to %q: %v, want a permanent refusal", to, err)
		}
	}
	if s, err := New(Config{}); s != nil || err != nil {
		t.Errorf("no relay: %v, %v; want nil (log only)", s, err)
	}
}
