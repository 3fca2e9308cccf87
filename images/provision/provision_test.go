package provision_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kortstation/kortstation/images/provision"
)

func selfSignedPEM(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test registry CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func TestValidate(t *testing.T) {
	good := provision.Request{RegistryURL: "https://registry.example.se", EnrolCode: "ABCD-1234"}
	cases := []struct {
		name  string
		edit  func(*provision.Request)
		field string // "" = valid
	}{
		{"valid", func(*provision.Request) {}, ""},
		{"valid with port and path", func(r *provision.Request) { r.RegistryURL = "https://10.0.0.5:8443/kort" }, ""},
		{"http is refused", func(r *provision.Request) { r.RegistryURL = "http://registry.example.se" }, "registry-url"},
		{"no host", func(r *provision.Request) { r.RegistryURL = "https://" }, "registry-url"},
		{"credentials in url", func(r *provision.Request) { r.RegistryURL = "https://a:b@registry.example.se" }, "registry-url"},
		{"not a url", func(r *provision.Request) { r.RegistryURL = "registry" }, "registry-url"},
		{"short code", func(r *provision.Request) { r.EnrolCode = "12345" }, "enrol-code"},
		{"code with a newline", func(r *provision.Request) { r.EnrolCode = "ABCD\nKIOSK_X=1" }, "enrol-code"},
		{"station id with a space", func(r *provision.Request) { r.StationID = "a b" }, "station-id"},
		{"station id with $", func(r *provision.Request) { r.StationID = "a$b" }, "station-id"},
		{"CA not PEM", func(r *provision.Request) { r.RegistryCA = []byte("hello") }, "registry-ca"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := good
			c.edit(&r)
			err := r.Validate()
			var fe *provision.FieldError
			switch {
			case c.field == "" && err != nil:
				t.Fatalf("got %v, want valid", err)
			case c.field != "" && !errors.As(err, &fe):
				t.Fatalf("got %v, want a *FieldError for %s", err, c.field)
			case c.field != "" && fe.Field != c.field:
				t.Fatalf("got field %q, want %q", fe.Field, c.field)
			case c.field != "" && !errors.Is(err, provision.ErrInvalid):
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			case c.field != "" && strings.Contains(err.Error(), "ABCD"):
				t.Fatalf("error %q shows the enrolment code", err)
			}
		})
	}
}

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	w := provision.Writer{Dir: dir, UID: -1, GID: -1}
	ca := selfSignedPEM(t)
	if err := w.Write(provision.Request{RegistryURL: "https://registry.example.se", EnrolCode: "ABCD-1234", StationID: "st-7", RegistryCA: ca}); err != nil {
		t.Fatal(err)
	}
	if !provision.Provisioned(dir) {
		t.Fatal("Provisioned = false after Write")
	}
	env, err := os.ReadFile(filepath.Join(dir, provision.EnvFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"KIOSK_REGISTRY=remote\n",
		"KIOSK_REGISTRY_URL=https://registry.example.se\n",
		"KIOSK_ENROL_CODE_FILE=" + filepath.Join(dir, provision.EnrolCodeFile) + "\n",
		"KIOSK_STATION_ID=st-7\n",
		"KIOSK_REGISTRY_CA=" + filepath.Join(dir, provision.RegistryCAFile) + "\n",
	} {
		if !strings.Contains(string(env), want) {
			t.Errorf("provisioning.env lacks %q:\n%s", want, env)
		}
	}
	if strings.Contains(string(env), "ABCD-1234") {
		t.Error("provisioning.env holds the enrolment code itself; it belongs in enrol-code only")
	}
	code, _ := os.ReadFile(filepath.Join(dir, provision.EnrolCodeFile))
	if string(code) != "ABCD-1234\n" {
		t.Errorf("enrol-code = %q", code)
	}
	for name, want := range map[string]os.FileMode{provision.EnvFile: 0o600, provision.EnrolCodeFile: 0o600, provision.RegistryCAFile: 0o644} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s mode %v, want %v", name, got, want)
		}
	}
	// A second provisioning must not overwrite the first.
	if err := w.Write(provision.Request{RegistryURL: "https://evil.example", EnrolCode: "ZZZZZZ"}); err == nil {
		t.Fatal("second Write succeeded, want a refusal")
	}
	env2, _ := os.ReadFile(filepath.Join(dir, provision.EnvFile))
	if string(env2) != string(env) {
		t.Error("refused Write changed provisioning.env")
	}
}

func TestWriteBadInputChangesNothing(t *testing.T) {
	dir := t.TempDir()
	w := provision.Writer{Dir: dir, UID: -1, GID: -1}
	if err := w.Write(provision.Request{RegistryURL: "http://plain.example", EnrolCode: "ABCD-1234"}); err == nil {
		t.Fatal("Write of an http:// URL succeeded")
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 0 {
		t.Fatalf("rejected input left %d files behind", len(ents))
	}
}

func TestParseFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), selfSignedPEM(t), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := provision.ParseFile([]byte("# from the technician\nregistry-url = https://registry.example.se\nenrol-code=\"ABCD-1234\"\nregistry-ca-file=ca.pem\n"), dir)
	if err != nil {
		t.Fatal(err)
	}
	if r.RegistryURL != "https://registry.example.se" || r.EnrolCode != "ABCD-1234" || len(r.RegistryCA) == 0 {
		t.Fatalf("got %+v", r)
	}
	for _, bad := range []string{"registry-url https://x", "colour=blue\n", "registry-url=https://registry.example.se\n"} {
		if _, err := provision.ParseFile([]byte(bad), dir); err == nil {
			t.Errorf("ParseFile(%q) succeeded, want an error", bad)
		}
	}
}

func TestForm(t *testing.T) {
	dir := t.TempDir()
	done := make(chan struct{})
	f := &provision.Form{Writer: provision.Writer{Dir: dir, UID: -1, GID: -1}, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Done: func() { close(done) }}
	srv := httptest.NewServer(f)
	defer srv.Close()

	res, err := http.Get(srv.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("/healthz during provisioning: got %d, want 503", res.StatusCode)
	}

	post := func(v url.Values) (int, string) {
		t.Helper()
		res, err := http.PostForm(srv.URL+"/", v)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	code, body := post(url.Values{"registry-url": {"http://registry.example.se"}, "enrol-code": {"SECRET-CODE-1"}})
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, "https://") {
		t.Fatalf("bad URL: got %d, want 422 with a reason", code)
	}
	if strings.Contains(body, "SECRET-CODE-1") {
		t.Fatal("the rejected page shows the enrolment code")
	}
	if provision.Provisioned(dir) {
		t.Fatal("a rejected form provisioned the station")
	}
	select {
	case <-done:
		t.Fatal("Done called after a rejected form")
	default:
	}

	code, body = post(url.Values{"registry-url": {"https://registry.example.se"}, "enrol-code": {"SECRET-CODE-1"}})
	if code != http.StatusOK || !strings.Contains(body, `id="done"`) {
		t.Fatalf("good form: got %d, want 200 and the starting page", code)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Done not called after a successful form")
	}
	if !provision.Provisioned(dir) {
		t.Fatal("not provisioned after a successful form")
	}
}
