package registryd

import (
	"context"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/kortstation/kortstation/sync/registry"
	"github.com/kortstation/kortstation/sync/registry/mail"
)

// mailFlags are serve's flags for the notifications' SMTP relay (RE-5).
// Without -smtp-relay nothing is sent: each message is logged only and
// listed as such on the console.
type mailFlags struct {
	relay, from, startTLS, user, passwordFile, caFile, helo *string
}

func (m *mailFlags) register(fs *flag.FlagSet) {
	m.relay = fs.String("smtp-relay", "", "SMTP relay host:port for notifications (RE-5); empty: log only, send nothing")
	m.from = fs.String("smtp-from", "", "sender address of notifications (required with -smtp-relay)")
	m.startTLS = fs.String("smtp-starttls", mail.StartTLSRequired, "STARTTLS: required, opportunistic or none")
	m.user = fs.String("smtp-user", "", "SMTP user (AUTH PLAIN, over TLS only)")
	m.passwordFile = fs.String("smtp-password-file", "", "file holding the SMTP password")
	m.caFile = fs.String("smtp-ca", "", "PEM CA certificates to verify the relay; default the system's roots")
	m.helo = fs.String("smtp-helo", "", "name given in EHLO; default localhost")
}

// config is the mail configuration the flags give, validated.
func (m *mailFlags) config() (mail.Config, error) {
	cfg := mail.Config{Relay: *m.relay, From: *m.from, StartTLS: *m.startTLS, Username: *m.user, HeloName: *m.helo}
	if *m.passwordFile != "" {
		b, err := os.ReadFile(*m.passwordFile)
		if err != nil {
			return cfg, fmt.Errorf("-smtp-password-file: %w", err)
		}
		cfg.Password = strings.TrimRight(string(b), "\r\n")
	}
	if (cfg.Username == "") != (cfg.Password == "") {
		return cfg, fmt.Errorf("%w: -smtp-user and -smtp-password-file go together", ErrUsage)
	}
	if *m.caFile != "" {
		b, err := os.ReadFile(*m.caFile)
		if err != nil {
			return cfg, fmt.Errorf("-smtp-ca: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(b) {
			return cfg, errors.New("-smtp-ca: no PEM certificate in " + *m.caFile)
		}
	}
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("%w: %w", ErrUsage, err)
	}
	return cfg, nil
}

// contactsCmd loads notification addresses from a file (an export of the
// HSA catalogue): one addressee a line, "HSA-ID-OR-PERSONAL-NUMBER EMAIL
// [sv|en]", # comments. The file keeps personal numbers off the command
// line; they are never printed.
func contactsCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("contacts", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "/var/lib/registryd", "data directory")
	database := databaseFlag(fs)
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %w", ErrUsage, err)
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: contacts needs a FILE", ErrUsage)
	}
	b, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return fmt.Errorf("contacts: %w", err)
	}
	type contact struct{ who, email, lang string }
	var cs []contact
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 2 || len(f) > 3 {
			return fmt.Errorf("%w: contacts line %d: want ADDRESSEE EMAIL [sv|en]", ErrUsage, i+1)
		}
		c := contact{who: f[0], email: f[1], lang: "sv"}
		if len(f) == 3 {
			c.lang = f[2]
		}
		cs = append(cs, c)
	}
	srv, err := registry.Open(ctx, registry.Config{DataDir: *data, Database: *database, Logger: slog.New(slog.NewTextHandler(stderr, nil))})
	if err != nil {
		return err
	}
	defer srv.Close()
	for i, c := range cs {
		if err := srv.SetContact(ctx, c.who, c.email, c.lang); err != nil {
			return fmt.Errorf("contacts entry %d: %w", i+1, err)
		}
	}
	fmt.Fprintf(stdout, "%d contacts set\n", len(cs))
	return nil
}
