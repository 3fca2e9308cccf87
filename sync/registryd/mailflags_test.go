package registryd_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kortstation/kortstation/sync/registryd"
)

// TestServeRefusesBadMailConfig: a relay without a sender, an unknown
// STARTTLS mode, a password without TLS or a user without a password is a
// usage error before anything is opened (RE-5 notifications).
func TestServeRefusesBadMailConfig(t *testing.T) {
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, want string
		args       []string
	}{
		{"relay without sender", "sender", []string{"-smtp-relay", "127.0.0.1:25"}},
		{"relay not host:port", "host:port", []string{"-smtp-relay", "mail", "-smtp-from", "a@b.example"}},
		{"unknown starttls", "starttls", []string{"-smtp-relay", "127.0.0.1:25", "-smtp-from", "a@b.example", "-smtp-starttls", "maybe"}},
		{"password without TLS", "without TLS", []string{"-smtp-relay", "127.0.0.1:25", "-smtp-from", "a@b.example", "-smtp-starttls", "none", "-smtp-user", "u", "-smtp-password-file", pw}},
		{"user without password", "go together", []string{"-smtp-relay", "127.0.0.1:25", "-smtp-from", "a@b.example", "-smtp-user", "u"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			args := append([]string{"serve", "-data", dir, "-listen", freeAddr(t), "-admin", "-"}, c.args...)
			err := registryd.Run(ctx, args, io.Discard, io.Discard)
			if !errors.Is(err, registryd.ErrUsage) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want a usage error saying %q", err, c.want)
			}
			if _, statErr := os.Stat(filepath.Join(dir, "registry.db")); statErr == nil {
				t.Error("the registry was opened with a bad mail configuration")
			}
		})
	}
}

// TestContactsCommand loads notification addresses from a file, never
// printing the personal numbers in it; a bad line changes nothing.
func TestContactsCommand(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(t.TempDir(), "contacts")
	const pnr = "198505053216"
	if err := os.WriteFile(file, []byte("# from the HSA catalogue\nSE2321000131-P000000000021 attestor@region.example en\n"+pnr+" holder@region.example\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb strings.Builder
	if err := registryd.Run(context.Background(), []string{"contacts", "-data", dir, file}, &out, &errb); err != nil {
		t.Fatalf("contacts: %v (%s)", err, errb.String())
	}
	if out.String() != "2 contacts set\n" || strings.Contains(out.String()+errb.String(), pnr) {
		t.Errorf("contacts printed %q / %q", out.String(), errb.String())
	}
	if err := os.WriteFile(file, []byte("just-one-field\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := registryd.Run(context.Background(), []string{"contacts", "-data", dir, file}, io.Discard, io.Discard); !errors.Is(err, registryd.ErrUsage) {
		t.Errorf("bad line: %v, want a usage error", err)
	}
}
