package registrytest

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/kortstation/kortstation/kiosk/trust/trusttest"
	"github.com/kortstation/kortstation/sync/registry"
)

// TrustIntermediate makes srv trust inter, the test SITHS hierarchy's
// intermediate under the console's anchor, for central admins'
// certificates, with inter's CRL valid from thisUpdate to nextUpdate
// listing revoked. It returns the intermediate's fingerprint.
func TrustIntermediate(t testing.TB, ctx context.Context, srv *registry.Server, inter *trusttest.CA, thisUpdate, nextUpdate time.Time, revoked ...*big.Int) string {
	t.Helper()
	fp, err := srv.AddIntermediate(ctx, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: inter.Cert.Raw}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.AddCRL(ctx, trusttest.SignCRLDER(t, inter.Cert, inter.Key, thisUpdate, nextUpdate, revoked...)); err != nil {
		t.Fatal(err)
	}
	return fp
}

// ServeConsole serves srv's central console over TLS on a loopback port
// for the host 127.0.0.1: admins log in with certificates under anchors
// (PEM) and have the roles of the roles file text. It returns the
// console's base URL, https://127.0.0.1:port; the test's cleanup stops it.
func ServeConsole(t testing.TB, ctx context.Context, srv *registry.Server, anchors []byte, roles string) string {
	t.Helper()
	r, err := registry.ParseRoles([]byte(roles))
	if err != nil {
		t.Fatal(err)
	}
	console, err := srv.NewConsole(ctx, registry.ConsoleConfig{Anchors: anchors, Roles: r, Hosts: []string{"127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- console.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })
	return "https://" + ln.Addr().String()
}

// AuditHas reports whether srv's admin audit trail has an entry of kind
// by actor whose outcome starts with outcome.
func AuditHas(t testing.TB, ctx context.Context, srv *registry.Server, kind, actor, outcome string) bool {
	t.Helper()
	recs, err := srv.AdminAudit(ctx, 100000)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		var d map[string]any
		_ = json.Unmarshal([]byte(r.Detail), &d)
		o, _ := d["outcome"].(string)
		if r.Kind == kind && r.Actor == actor && strings.HasPrefix(o, outcome) {
			return true
		}
	}
	return false
}
