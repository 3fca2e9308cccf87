package registry_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/kortstation/kortstation/sync/pki"
	regmail "github.com/kortstation/kortstation/sync/registry/mail"
)

// smtpServer is a real SMTP server (github.com/emersion/go-smtp) on
// loopback with STARTTLS and AUTH PLAIN, recording what it accepts.
type smtpServer struct {
	t    testing.TB
	addr string
	pool *x509.CertPool

	mu       sync.Mutex
	msgs     []received
	failNext int // refuse the next DATA commands with 451
}

// received is one accepted message.
type received struct {
	From    string
	To      []string
	User    string
	TLS     bool
	Header  mail.Header
	Subject string
	Body    string
}

const (
	smtpUser = "registry"
	smtpPass = "s3cret"
)

func startSMTP(t testing.TB) *smtpServer {
	t.Helper()
	ca, err := pki.LoadOrCreateCA(filepath.Join(t.TempDir(), "ca"), "SMTP test CA")
	if err != nil {
		t.Fatal(err)
	}
	cp, kp, err := ca.IssueServer([]string{"127.0.0.1", "localhost"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(cp, kp)
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpServer{t: t, pool: ca.Pool()}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &smtpSession{s: s, c: c}, nil }))
	srv.Domain = "localhost"
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.MaxMessageBytes = 1 << 20
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close(); <-done })
	return s
}

// config is the registry's mail configuration for this server.
func (s *smtpServer) config() regmail.Config {
	return regmail.Config{Relay: s.addr, From: "registry@kortstation.example", RootCAs: s.pool, Username: smtpUser, Password: smtpPass, Timeout: 10 * time.Second}
}

func (s *smtpServer) messages() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.msgs...)
}

func (s *smtpServer) failNextData(n int) {
	s.mu.Lock()
	s.failNext = n
	s.mu.Unlock()
}

type smtpSession struct {
	s    *smtpServer
	c    *smtp.Conn
	from string
	to   []string
	user string
}

func (x *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (x *smtpSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		if user != smtpUser || pass != smtpPass {
			return errors.New("invalid credentials")
		}
		x.user = user
		return nil
	}), nil
}

func (x *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	if x.user == "" {
		return &smtp.SMTPError{Code: 530, Message: "authentication required"}
	}
	x.from = from
	return nil
}

func (x *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.to = append(x.to, to)
	return nil
}

func (x *smtpSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	x.s.mu.Lock()
	defer x.s.mu.Unlock()
	if x.s.failNext > 0 {
		x.s.failNext--
		return &smtp.SMTPError{Code: 451, Message: "try again later"}
	}
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return &smtp.SMTPError{Code: 554, Message: "not a message: " + err.Error()}
	}
	body, err := io.ReadAll(quotedprintable.NewReader(m.Body))
	if err != nil {
		return &smtp.SMTPError{Code: 554, Message: "body: " + err.Error()}
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		return &smtp.SMTPError{Code: 554, Message: "subject: " + err.Error()}
	}
	_, isTLS := x.c.TLSConnectionState()
	x.s.msgs = append(x.s.msgs, received{From: x.from, To: append([]string(nil), x.to...), User: x.user, TLS: isTLS,
		Header: m.Header, Subject: subject, Body: string(body)})
	return nil
}

func (x *smtpSession) Reset()        { x.from, x.to = "", nil }
func (x *smtpSession) Logout() error { return nil }
