// Package mail sends the registry's notifications (RE-5) as e-mail over
// SMTP: to a configured relay, upgraded with STARTTLS (required unless
// configured otherwise), authenticated when a user is given. One Send is
// one message on one connection; the registry's outbox (notify.go) retries
// with backoff, so this package never retries by itself.
package mail

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/smtp"
	"net/textproto"
	"strings"
	"time"
)

// StartTLS modes.
const (
	StartTLSRequired      = "required"      // refuse to send without it (default)
	StartTLSOpportunistic = "opportunistic" // use it when the relay offers it
	StartTLSNone          = "none"          // never (a relay on loopback)
)

// Config configures an SMTP sender.
type Config struct {
	// Relay is host:port of the SMTP relay; empty: nothing is sent (the
	// outbox records each message as logged only).
	Relay string
	// From is the envelope and header sender.
	From string
	// HeloName is the name this host gives in EHLO; default localhost.
	HeloName string
	// StartTLS is StartTLSRequired (default), StartTLSOpportunistic or
	// StartTLSNone.
	StartTLS string
	// RootCAs verify the relay's certificate; nil: the system's roots.
	RootCAs *x509.CertPool
	// Username and Password authenticate with AUTH PLAIN (over TLS only).
	Username, Password string
	// Timeout bounds one message; default 30 s.
	Timeout time.Duration
}

// Validate checks the configuration of a relay (an empty Relay is valid:
// log only).
func (c Config) Validate() error {
	if c.Relay == "" {
		return nil
	}
	if _, _, err := net.SplitHostPort(c.Relay); err != nil {
		return fmt.Errorf("mail: relay %q is not host:port: %w", c.Relay, err)
	}
	if !strings.Contains(c.From, "@") {
		return fmt.Errorf("mail: sender %q is not an e-mail address", c.From)
	}
	switch c.StartTLS {
	case "", StartTLSRequired, StartTLSOpportunistic, StartTLSNone:
	default:
		return fmt.Errorf("mail: starttls %q: want required, opportunistic or none", c.StartTLS)
	}
	if c.Username != "" && c.StartTLS == StartTLSNone {
		return errors.New("mail: a password is never sent without TLS: starttls none with a user")
	}
	return nil
}

// String describes the configuration with the password redacted.
func (c Config) String() string {
	if c.Relay == "" {
		return "mail: no relay (log only)"
	}
	pw := ""
	if c.Password != "" {
		pw = " password=[redacted]"
	}
	return fmt.Sprintf("mail: relay=%s from=%s starttls=%s user=%q%s", c.Relay, c.From, c.startTLS(), c.Username, pw)
}

func (c Config) startTLS() string {
	if c.StartTLS == "" {
		return StartTLSRequired
	}
	return c.StartTLS
}

// Message is one e-mail to one addressee.
type Message struct {
	To        string
	Subject   string
	Body      string // plain text
	Lang      string // sv or en: Content-Language
	MessageID string // stable per notification: a resend carries the same ID
	Date      time.Time
}

// Sender sends a message.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// PermanentError is a refusal the relay will repeat (an SMTP 5xx reply):
// retrying does not help.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return "mail: refused permanently: " + e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// IsPermanent reports whether err is a permanent refusal.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}

// SMTP sends through cfg's relay.
type SMTP struct{ cfg Config }

// New returns a sender for cfg, or nil (log only) when cfg has no relay.
func New(cfg Config) (*SMTP, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Relay == "" {
		return nil, nil
	}
	if cfg.HeloName == "" {
		cfg.HeloName = "localhost"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	return &SMTP{cfg: cfg}, nil
}

// Send delivers m to the relay: EHLO, STARTTLS, AUTH, MAIL, RCPT, DATA.
func (s *SMTP) Send(ctx context.Context, m Message) (err error) {
	if !strings.Contains(m.To, "@") || strings.ContainsAny(m.To, "\r\n<>") {
		return &PermanentError{Err: fmt.Errorf("not an e-mail address")}
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	host, _, _ := net.SplitHostPort(s.cfg.Relay)
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.cfg.Relay)
	if err != nil {
		return fmt.Errorf("mail: connect %s: %w", s.cfg.Relay, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return classify("greeting", err)
	}
	defer c.Close()
	if err := c.Hello(s.cfg.HeloName); err != nil {
		return classify("EHLO", err)
	}
	mode := s.cfg.startTLS()
	if ok, _ := c.Extension("STARTTLS"); ok && mode != StartTLSNone {
		if err := c.StartTLS(&tls.Config{ServerName: host, RootCAs: s.cfg.RootCAs, MinVersion: tls.VersionTLS12}); err != nil {
			return fmt.Errorf("mail: STARTTLS: %w", err)
		}
	} else if mode == StartTLSRequired {
		return fmt.Errorf("mail: the relay %s offers no STARTTLS, and it is required", s.cfg.Relay)
	}
	if s.cfg.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", s.cfg.Username, s.cfg.Password, host)); err != nil {
			return classify("AUTH", err)
		}
	}
	if err := c.Mail(s.cfg.From); err != nil {
		return classify("MAIL FROM", err)
	}
	if err := c.Rcpt(m.To); err != nil {
		return classify("RCPT TO", err)
	}
	w, err := c.Data()
	if err != nil {
		return classify("DATA", err)
	}
	if _, err := w.Write(Compose(s.cfg.From, m)); err != nil {
		return classify("DATA", err)
	}
	if err := w.Close(); err != nil {
		return classify("DATA", err)
	}
	if err := c.Quit(); err != nil {
		// The message was accepted at the end of DATA; a failed QUIT
		// does not undo that.
		return nil
	}
	return nil
}

// classify wraps an SMTP reply: 5xx is permanent.
func classify(step string, err error) error {
	var tp *textproto.Error
	if errors.As(err, &tp) && tp.Code >= 500 {
		return &PermanentError{Err: fmt.Errorf("%s: %w", step, err)}
	}
	return fmt.Errorf("mail: %s: %w", step, err)
}

// Compose renders m as an RFC 5322 message in UTF-8, quoted-printable.
func Compose(from string, m Message) []byte {
	var b bytes.Buffer
	h := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	h("From", from)
	h("To", m.To)
	h("Subject", mime.QEncoding.Encode("utf-8", m.Subject))
	date := m.Date
	if date.IsZero() {
		date = time.Now()
	}
	h("Date", date.Format(time.RFC1123Z))
	if m.MessageID != "" {
		h("Message-ID", "<"+m.MessageID+">")
	}
	if m.Lang != "" {
		h("Content-Language", m.Lang)
	}
	h("MIME-Version", "1.0")
	h("Content-Type", "text/plain; charset=utf-8")
	h("Content-Transfer-Encoding", "quoted-printable")
	h("Auto-Submitted", "auto-generated")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	_, _ = qp.Write([]byte(strings.ReplaceAll(strings.ReplaceAll(m.Body, "\r\n", "\n"), "\n", "\r\n")))
	_ = qp.Close()
	return b.Bytes()
}
