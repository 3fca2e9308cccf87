package provision_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
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
	"sync"
	"testing"
	"time"

	"github.com/kortstation/kortstation/images/provision"
	"github.com/kortstation/kortstation/sync/pki"
)

func selfSignedPEM(t *testing.T) []byte {
	t.Helper()
	return selfSigned(t, true)
}

// selfSigned is a self-signed certificate, a CA's when isCA.
func selfSigned(t *testing.T, isCA bool) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test registry CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: isCA, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// fingerprintOf is the SHA-256 fingerprint of the first certificate in
// pemBytes as kioskd pins it (lower-case hex).
func fingerprintOf(t *testing.T, pemBytes []byte) string {
	t.Helper()
	blk, _ := pem.Decode(pemBytes)
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return pki.Fingerprint(c)
}

// grouped writes fp as openssl does (upper case, colon between bytes), or
// with sep between groups of n digits.
func grouped(fp, sep string, n int, upper bool) string {
	var parts []string
	for i := 0; i < len(fp); i += n {
		parts = append(parts, fp[i:i+n])
	}
	s := strings.Join(parts, sep)
	if upper {
		s = strings.ToUpper(s)
	}
	return s
}

func TestValidate(t *testing.T) {
	fp := strings.Repeat("0123456789abcdef", 4)
	ca, other, leaf := selfSignedPEM(t), selfSignedPEM(t), selfSigned(t, false)
	caFP, otherFP := grouped(fingerprintOf(t, ca), ":", 2, true), fingerprintOf(t, other)
	good := provision.Request{RegistryURL: "https://registry.example.se", EnrolCode: "ABCD-1234", StationID: "st-1", RegistryCAFingerprint: fp}
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
		// kioskd would enrol as its default station, spend the code and
		// then refuse the certificate made for the real one.
		{"no station id", func(r *provision.Request) { r.StationID = "" }, "station-id"},
		{"station id of blanks", func(r *provision.Request) { r.StationID = "  " }, "station-id"},
		{"CA not PEM", func(r *provision.Request) { r.RegistryCA = []byte("hello") }, "registry-ca"},
		// The registry CA must be pinned: without it kioskd never enrols.
		{"neither CA nor fingerprint", func(r *provision.Request) { r.RegistryCAFingerprint = "" }, "registry-ca-fingerprint"},
		{"fingerprint of blanks only", func(r *provision.Request) { r.RegistryCAFingerprint = "   " }, "registry-ca-fingerprint"},
		{"CA file only", func(r *provision.Request) { r.RegistryCAFingerprint, r.RegistryCA = "", ca }, ""},
		{"CA file and its fingerprint", func(r *provision.Request) { r.RegistryCA, r.RegistryCAFingerprint = ca, caFP }, ""},
		// An attacker's (or a mistyped) fingerprint next to the real CA.
		{"fingerprint of another CA than the file", func(r *provision.Request) { r.RegistryCA, r.RegistryCAFingerprint = ca, otherFP }, "registry-ca-fingerprint"},
		{"CA file with a leaf certificate only", func(r *provision.Request) { r.RegistryCAFingerprint, r.RegistryCA = "", leaf }, "registry-ca"},
		{"fingerprint 63 digits", func(r *provision.Request) { r.RegistryCAFingerprint = fp[:63] }, "registry-ca-fingerprint"},
		{"fingerprint 65 digits", func(r *provision.Request) { r.RegistryCAFingerprint = fp + "0" }, "registry-ca-fingerprint"},
		{"fingerprint SHA-1 length", func(r *provision.Request) { r.RegistryCAFingerprint = fp[:40] }, "registry-ca-fingerprint"},
		{"fingerprint not hex", func(r *provision.Request) { r.RegistryCAFingerprint = "g" + fp[1:] }, "registry-ca-fingerprint"},
		{"fingerprint with a newline", func(r *provision.Request) { r.RegistryCAFingerprint = fp[:32] + "\nKIOSK_X=1" + fp[32:] }, "registry-ca-fingerprint"},
		{"fingerprint with double colon", func(r *provision.Request) { r.RegistryCAFingerprint = fp[:2] + "::" + fp[2:] }, "registry-ca-fingerprint"},
		{"fingerprint with a leading colon", func(r *provision.Request) { r.RegistryCAFingerprint = ":" + fp }, "registry-ca-fingerprint"},
		{"fingerprint with a trailing colon", func(r *provision.Request) { r.RegistryCAFingerprint = fp + ":" }, "registry-ca-fingerprint"},
		{"fingerprint with a prefix", func(r *provision.Request) { r.RegistryCAFingerprint = "sha256:" + fp }, "registry-ca-fingerprint"},
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
			case c.field != "" && fe.Sv == "":
				t.Fatalf("error %v has no Swedish text for the form", err)
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
	if strings.Contains(string(env), "KIOSK_REGISTRY_CA_FINGERPRINT") {
		t.Error("provisioning.env names a fingerprint though only the CA file was given")
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
	ca, other := selfSignedPEM(t), selfSignedPEM(t)
	for name, r := range map[string]provision.Request{
		"http URL":                     {RegistryURL: "http://plain.example", EnrolCode: "ABCD-1234", StationID: "st-1", RegistryCA: ca},
		"no station id":                {RegistryURL: "https://registry.example.se", EnrolCode: "ABCD-1234", RegistryCA: ca},
		"no CA and no fingerprint":     {RegistryURL: "https://registry.example.se", EnrolCode: "ABCD-1234", StationID: "st-1"},
		"malformed fingerprint":        {RegistryURL: "https://registry.example.se", EnrolCode: "ABCD-1234", StationID: "st-1", RegistryCAFingerprint: "AB:CD:EF"},
		"fingerprint of another CA":    {RegistryURL: "https://registry.example.se", EnrolCode: "ABCD-1234", StationID: "st-1", RegistryCA: ca, RegistryCAFingerprint: fingerprintOf(t, other)},
		"CA file without a CA in it":   {RegistryURL: "https://registry.example.se", EnrolCode: "ABCD-1234", StationID: "st-1", RegistryCA: selfSigned(t, false)},
		"good fingerprint but bad URL": {RegistryURL: "https://", EnrolCode: "ABCD-1234", StationID: "st-1", RegistryCAFingerprint: fingerprintOf(t, ca)},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			w := provision.Writer{Dir: dir, UID: -1, GID: -1}
			err := w.Write(r)
			if !errors.Is(err, provision.ErrInvalid) {
				t.Fatalf("Write = %v, want a refusal wrapping ErrInvalid", err)
			}
			if strings.Contains(err.Error(), "ABCD-1234") {
				t.Errorf("error %q shows the enrolment code", err)
			}
			ents, _ := os.ReadDir(dir)
			if len(ents) != 0 {
				t.Fatalf("rejected input left %d files behind", len(ents))
			}
		})
	}
}

// TestWriteFingerprintOnly: the form's case — no CA file, its fingerprint
// as people copy it (spaces or colons, any case) — writes the normalised
// fingerprint for kioskd and names no CA file that does not exist.
func TestWriteFingerprintOnly(t *testing.T) {
	ca := selfSignedPEM(t)
	want := fingerprintOf(t, ca)
	for name, typed := range map[string]string{
		"openssl style":            grouped(want, ":", 2, true),
		"lower case, colons":       grouped(want, ":", 2, false),
		"groups of four, spaces":   grouped(want, " ", 4, true),
		"plain, surrounding blank": "  " + strings.ToUpper(want) + "\t",
		"plain lower case":         want,
		"mixed case, mixed groups": strings.ToUpper(want[:20]) + ":" + want[20:40] + " " + want[40:],
	} {
		t.Run(name, func(t *testing.T) {
			got, err := provision.NormaliseFingerprint(typed)
			if err != nil || got != want {
				t.Fatalf("NormaliseFingerprint(%q) = %q, %v; want %q", typed, got, err, want)
			}
			dir := t.TempDir()
			w := provision.Writer{Dir: dir, UID: -1, GID: -1}
			if err := w.Write(provision.Request{RegistryURL: "https://registry.example.se", EnrolCode: "ABCD-1234", StationID: "st-1", RegistryCAFingerprint: typed}); err != nil {
				t.Fatal(err)
			}
			env, err := os.ReadFile(filepath.Join(dir, provision.EnvFile))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(env), "\nKIOSK_REGISTRY_CA_FINGERPRINT="+want+"\n") {
				t.Errorf("provisioning.env lacks the normalised fingerprint:\n%s", env)
			}
			if strings.Contains(string(env), "KIOSK_REGISTRY_CA=") {
				t.Errorf("provisioning.env names a CA file though none was given:\n%s", env)
			}
			if _, err := os.Stat(filepath.Join(dir, provision.RegistryCAFile)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s written without a CA: %v", provision.RegistryCAFile, err)
			}
		})
	}
}

// TestShippedKioskdConfigNamesNoCA: the image's kioskd.json must not name
// a registry CA file (provisioning writes one only when the technician
// gave it; a named file that does not exist stops enrolment) nor a
// fingerprint of its own (the pin comes from provisioning, never the image).
func TestShippedKioskdConfigNamesNoCA(t *testing.T) {
	b, err := os.ReadFile("../deb/kioskd.json")
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]string
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"registry-ca", "registry-ca-fingerprint"} {
		if v, ok := cfg[k]; ok {
			t.Errorf("kioskd.json sets %s = %q; provisioning.env sets it when provisioning had it", k, v)
		}
	}
}

func TestParseFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), selfSignedPEM(t), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := provision.ParseFile([]byte("# from the technician\nregistry-url = https://registry.example.se\nenrol-code=\"ABCD-1234\"\nstation-id=st-1\nregistry-ca-file=ca.pem\n"), dir)
	if err != nil {
		t.Fatal(err)
	}
	if r.RegistryURL != "https://registry.example.se" || r.EnrolCode != "ABCD-1234" || len(r.RegistryCA) == 0 {
		t.Fatalf("got %+v", r)
	}
	fp := grouped(fingerprintOf(t, selfSignedPEM(t)), ":", 2, true)
	r, err = provision.ParseFile([]byte("registry-url=https://registry.example.se\nenrol-code=ABCD-1234\nstation-id=st-1\nregistry-ca-fingerprint = \""+fp+"\"\n"), dir)
	if err != nil {
		t.Fatal(err)
	}
	if r.RegistryCAFingerprint != fp || len(r.RegistryCA) != 0 {
		t.Fatalf("fingerprint-only file: got %+v", r)
	}
	// A technician's file without any pin of the registry's CA is refused:
	// the station would never enrol.
	_, err = provision.ParseFile([]byte("registry-url=https://registry.example.se\nenrol-code=ABCD-1234\nstation-id=st-1\n"), dir)
	var fe *provision.FieldError
	if !errors.As(err, &fe) || fe.Field != "registry-ca-fingerprint" || !strings.Contains(fe.Reason, "registry-ca-file") {
		t.Errorf("file without registry-ca-file or registry-ca-fingerprint: %v, want a refusal naming both", err)
	}
	for _, bad := range []string{"registry-url https://x", "colour=blue\n", "registry-url=https://registry.example.se\n",
		"registry-url=https://registry.example.se\nenrol-code=ABCD-1234\nstation-id=st-1\nregistry-ca-fingerprint=" + fp[:len(fp)-3] + "\n"} {
		if _, err := provision.ParseFile([]byte(bad), dir); err == nil {
			t.Errorf("ParseFile(%q) succeeded, want an error", bad)
		}
	}
}

func TestForm(t *testing.T) {
	dir := t.TempDir()
	done := make(chan struct{})
	var logs syncBuffer
	f := &provision.Form{Writer: provision.Writer{Dir: dir, UID: -1, GID: -1}, Log: slog.New(slog.NewTextHandler(&logs, nil)), Done: func() { close(done) }}
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

	nothingWritten := func(what string) {
		t.Helper()
		if ents, _ := os.ReadDir(dir); len(ents) != 0 {
			t.Fatalf("%s left %d files in the state directory", what, len(ents))
		}
		select {
		case <-done:
			t.Fatalf("Done called after %s", what)
		default:
		}
	}
	nothingWritten("a bad URL")

	// No CA fingerprint (the form has no CA file): refused in plain Swedish,
	// saying what is missing and who gives it; nothing written.
	code, body = post(url.Values{"registry-url": {"https://registry.example.se"}, "enrol-code": {"SECRET-CODE-1"}, "station-id": {"st-9"}})
	if code != http.StatusUnprocessableEntity {
		t.Fatalf("no fingerprint: got %d, want 422", code)
	}
	for _, want := range []string{"CA-fingeravtryck saknas", "centrala administratören", "engångskoden", `value="https://registry.example.se"`, `value="st-9"`} {
		if !strings.Contains(body, want) {
			t.Errorf("no fingerprint: the page lacks %q", want)
		}
	}
	if strings.Contains(body, "SECRET-CODE-1") {
		t.Fatal("the refused page shows the enrolment code")
	}
	nothingWritten("a form without a fingerprint")

	// A malformed fingerprint: refused, shown again for correction.
	code, body = post(url.Values{"registry-url": {"https://registry.example.se"}, "enrol-code": {"SECRET-CODE-1"}, "station-id": {"st-9"}, "registry-ca-fingerprint": {"AB:CD:EF:01"}})
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, "64 tecken") || !strings.Contains(body, `value="AB:CD:EF:01"`) {
		t.Fatalf("malformed fingerprint: got %d, want 422 saying 64 characters, with the value shown again", code)
	}
	if strings.Contains(body, "SECRET-CODE-1") {
		t.Fatal("the refused page shows the enrolment code")
	}
	nothingWritten("a malformed fingerprint")

	fp := grouped(fingerprintOf(t, selfSignedPEM(t)), " ", 4, true)
	// No station ID: refused, saying who gives it.
	code, body = post(url.Values{"registry-url": {"https://registry.example.se"}, "enrol-code": {"SECRET-CODE-1"}, "registry-ca-fingerprint": {fp}})
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, "Stations-ID saknas") || strings.Contains(body, "SECRET-CODE-1") {
		t.Fatalf("no station ID: got %d, want 422 saying it is missing, without the code", code)
	}
	nothingWritten("a form without a station ID")

	code, body = post(url.Values{"registry-url": {"https://registry.example.se"}, "enrol-code": {"SECRET-CODE-1"}, "station-id": {"st-9"}, "registry-ca-fingerprint": {fp}})
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
	env, err := os.ReadFile(filepath.Join(dir, provision.EnvFile))
	if err != nil {
		t.Fatal(err)
	}
	if want := "KIOSK_REGISTRY_CA_FINGERPRINT=" + strings.ToLower(strings.ReplaceAll(fp, " ", "")) + "\n"; !strings.Contains(string(env), want) {
		t.Errorf("provisioning.env lacks %q:\n%s", want, env)
	}
	if strings.Contains(logs.String(), "SECRET-CODE-1") {
		t.Errorf("the log holds the enrolment code:\n%s", logs.String())
	}
}

// syncBuffer is a bytes.Buffer safe for the server's and the test's
// goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
