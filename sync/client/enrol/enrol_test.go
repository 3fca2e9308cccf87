package enrol_test

import (
	"bytes"
	"context"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/kortstation/kortstation/kiosk/trust/trusttest"
	"github.com/kortstation/kortstation/sync/client/enrol"
	"github.com/kortstation/kortstation/sync/pki"
	"github.com/kortstation/kortstation/sync/protocol"
	"github.com/kortstation/kortstation/sync/registry"
	"github.com/kortstation/kortstation/sync/registrytest"
)

func TestMain(m *testing.M) { registrytest.Main(m) }

// TestEnrolStoresTheRoots: enrolment leaves the registry's SITHS roots
// next to the station's identity, alongside its certificate.
func TestEnrolStoresTheRoots(t *testing.T) {
	root := trusttest.NewRoot(t, "SITHS e-id Root CA v2", trusttest.ECDSA)
	reg := registrytest.NewWith(t, t.TempDir(), func(c *registry.Config) { c.TrustAnchors = root.PEM() })
	reg.Serve(t)
	code, err := reg.Server.NewEnrolCode(context.Background(), "ST-1", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := enrol.Enrol(context.Background(), reg.URL, code, reg.Server.CA().Fingerprint(), dir); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(enrol.TrustAnchorsFile(dir))
	if err != nil || !bytes.Equal(got, root.PEM()) {
		t.Fatalf("%s: %v, want the registry's roots", enrol.TrustAnchorsFileName, err)
	}
}

// TestEnrolRefusesUnusableRoots is the attacker test of the station's side:
// an enrolment answer (over the pinned channel, but from a misconfigured
// or subverted registry) whose SITHS roots are not CA certificates, or are
// missing, makes the station store nothing — no roots, no certificate, no
// key — so it can neither trust a card by a leaf posing as a root nor
// start without roots.
func TestEnrolRefusesUnusableRoots(t *testing.T) {
	root := trusttest.NewRoot(t, "SITHS e-id Root CA v2", trusttest.ECDSA)
	leaf, _ := root.Issue(trusttest.Leaf{HSAID: "SE2321000016-A12B"})
	leafPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Raw})
	var replace []byte
	reg := registrytest.NewWith(t, t.TempDir(), func(c *registry.Config) { c.TrustAnchors = root.PEM() })
	reg.Wrap = func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != protocol.PathEnrol {
				next.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			var resp protocol.EnrolResponse
			if err := protocol.Decode(rec.Body, rec.Header().Get("Content-Encoding") == "gzip", &resp); err != nil {
				t.Errorf("enrol answer: %v", err)
			}
			resp.TrustAnchorsPEM = string(replace)
			_ = protocol.WriteJSON(w, rec.Code, resp)
		})
	}
	reg.Serve(t)
	for name, roots := range map[string][]byte{
		"a card certificate as the root": leafPEM,
		"a root and a card certificate":  append(root.PEM(), leafPEM...),
		"no roots":                       nil,
		"not PEM":                        []byte("trust me"),
	} {
		t.Run(name, func(t *testing.T) {
			replace = roots
			code, err := reg.Server.NewEnrolCode(context.Background(), "ST-"+time.Now().Format("150405.000000000"), time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			_, err = enrol.Enrol(context.Background(), reg.URL, code, reg.Server.CA().Fingerprint(), dir)
			if !errors.Is(err, pki.ErrBadTrustAnchor) {
				t.Fatalf("enrol = %v, want ErrBadTrustAnchor", err)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("the station stored %d files after refusing the roots", len(entries))
			}
		})
	}
}
