package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kortstation/kortstation/images/provision"
)

// caFingerprint is the SHA-256 fingerprint of a throwaway CA, as openssl
// prints it (upper case, colons).
func caFingerprint(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "registry CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(der)
	var parts []string
	for _, b := range sum {
		parts = append(parts, strings.ToUpper(hex.EncodeToString([]byte{b})))
	}
	return strings.Join(parts, ":")
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestTechnicianFile: a technician's kortstation-provision.conf with the
// registry CA's fingerprint provisions the station and is deleted (it
// holds the one-time code).
func TestTechnicianFile(t *testing.T) {
	boot, state := t.TempDir(), t.TempDir()
	conf := filepath.Join(boot, "kortstation-provision.conf")
	fp := caFingerprint(t)
	if err := os.WriteFile(conf, []byte("registry-url=https://registry.example.se\nenrol-code=FILE-CODE-1\nstation-id=st-1\nregistry-ca-fingerprint="+fp+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if err := run(context.Background(), []string{"-state-dir", state, "-from-file", conf, "-listen", freeAddr(t)}, log); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(conf); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the provisioning file is still on the boot partition: %v", err)
	}
	env, err := os.ReadFile(filepath.Join(state, provision.EnvFile))
	if err != nil {
		t.Fatal(err)
	}
	want := "KIOSK_REGISTRY_CA_FINGERPRINT=" + strings.ToLower(strings.ReplaceAll(fp, ":", "")) + "\n"
	if !strings.Contains(string(env), want) {
		t.Errorf("provisioning.env lacks %q:\n%s", want, env)
	}
}

// TestTechnicianFileWithoutPin: a file with no registry-ca-file and no
// registry-ca-fingerprint provisions nothing; it is deleted (it holds the
// code) and the touchscreen form says why, in Swedish, instead of the
// service failing where nobody looks.
func TestTechnicianFileWithoutPin(t *testing.T) {
	boot, state := t.TempDir(), t.TempDir()
	conf := filepath.Join(boot, "kortstation-provision.conf")
	if err := os.WriteFile(conf, []byte("registry-url=https://registry.example.se\nenrol-code=FILE-CODE-2\nstation-id=st-2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs strings.Builder
	log := slog.New(slog.NewTextHandler(&logs, nil))
	errc := make(chan error, 1)
	go func() { errc <- run(ctx, []string{"-state-dir", state, "-from-file", conf, "-listen", addr}, log) }()

	var body string
	deadline := time.Now().Add(10 * time.Second)
	for {
		res, err := http.Get("http://" + addr + "/")
		if err == nil {
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			body = string(b)
			break
		}
		select {
		case err := <-errc:
			t.Fatalf("kortstation-provision ended instead of serving the form: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the form is not served: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, want := range []string{"kortstation-provision.conf", "CA-fingeravtryck saknas", "centrala administratören", `name="registry-ca-fingerprint"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the form lacks %q", want)
		}
	}
	if strings.Contains(body, "FILE-CODE-2") {
		t.Error("the form shows the enrolment code from the file")
	}
	if ents, _ := os.ReadDir(state); len(ents) != 0 {
		t.Errorf("a refused file left %d files in the state directory", len(ents))
	}
	if _, err := os.Stat(conf); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the refused file (with the code) is still on the boot partition: %v", err)
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("run after cancel: %v", err)
	}
	if strings.Contains(logs.String(), "FILE-CODE-2") {
		t.Errorf("the log holds the enrolment code:\n%s", logs.String())
	}
}
