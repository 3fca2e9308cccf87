package registryd_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kortstation/kortstation/kiosk/clock"
	"github.com/kortstation/kortstation/kiosk/store"
	"github.com/kortstation/kortstation/kiosk/trust/trusttest"
	"github.com/kortstation/kortstation/sync/client/enrol"
	"github.com/kortstation/kortstation/sync/client/reconcile"
	"github.com/kortstation/kortstation/sync/protocol"
	"github.com/kortstation/kortstation/sync/registryd"
	"github.com/kortstation/kortstation/sync/registrytest"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func run(t *testing.T, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	if err := registryd.Run(context.Background(), args, &out, &errb); err != nil {
		t.Fatalf("registryd %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return out.String()
}

// adminHSAID is the central admin who drives the console in these tests.
const adminHSAID = "SE2321000016-A12B"

// adminPKI is a SITHS-like hierarchy with a central admin's certificate,
// written as the files registryd takes: anchors, the admin's certificate
// (with its intermediate) and key, the intermediate and its CRL.
type adminPKI struct {
	root, inter                            *trusttest.CA
	anchors, cert, key, interFile, crlFile string
}

func newAdminPKI(t *testing.T, dir string) *adminPKI {
	t.Helper()
	root := trusttest.NewRoot(t, "SITHS e-id Root CA v2", trusttest.ECDSA)
	inter := root.Intermediate("SITHS e-id Person HSA-id 3 CA v1", trusttest.ECDSA)
	cert, key := inter.Issue(trusttest.Leaf{HSAID: adminHSAID})
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	p := &adminPKI{root: root, inter: inter, anchors: filepath.Join(dir, "anchors.pem"), cert: filepath.Join(dir, "admin.pem"),
		key: filepath.Join(dir, "admin-key.pem"), interFile: filepath.Join(dir, "inter.pem"), crlFile: filepath.Join(dir, "ca.crl")}
	now := time.Now()
	interPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: inter.Cert.Raw})
	if err := errors.Join(
		os.WriteFile(p.anchors, root.PEM(), 0o600),
		os.WriteFile(p.cert, append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), interPEM...), 0o600),
		os.WriteFile(p.key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600),
		os.WriteFile(p.interFile, interPEM, 0o600),
		os.WriteFile(p.crlFile, trusttest.SignCRLDER(t, inter.Cert, inter.Key, now.Add(-time.Hour), now.Add(23*time.Hour), big.NewInt(4711)), 0o600)); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestServeEnrolAdmin runs `registryd serve` with its console on HTTPS
// with client certificates, enrols a station with a code from `registryd
// admin enrol-code`, syncs it, and drives the central admin operations
// through the CLI (with the admin's certificate) and the HTML page.
func TestServeEnrolAdmin(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	dir, keys := t.TempDir(), t.TempDir()
	addr, adminAddr, metricsAddr := freeAddr(t), freeAddr(t), freeAddr(t)
	if registrytest.OnPostgres() { // every command below takes it from the environment
		t.Setenv("REGISTRYD_DATABASE", registrytest.Database(t, dir))
		t.Cleanup(func() {
			if _, err := os.Stat(filepath.Join(dir, "registry.db")); err == nil {
				t.Error("registryd made a SQLite database although REGISTRYD_DATABASE names PostgreSQL")
			}
		})
	}
	p := newAdminPKI(t, keys)
	roles := filepath.Join(keys, "roles")
	if err := os.WriteFile(roles, []byte("# test admins\n"+adminHSAID+" case_officer,station_manager,security_officer\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The first SITHS material, on the registry host (no one could log in
	// to the console without the CRL of their CA).
	run(t, "trust", "add-intermediate", "-data", dir, p.interFile)
	run(t, "trust", "add-crl", "-data", dir, p.crlFile)
	done := make(chan error, 1)
	go func() {
		done <- registryd.Run(ctx, []string{"serve", "-data", dir, "-listen", addr, "-admin", adminAddr, "-seed", "ST-CLI",
			"-console-anchors", p.anchors, "-console-roles", roles, "-console-allow-unsynced-clock", "-metrics", metricsAddr,
			"-trust-anchors", p.anchors}, io.Discard, io.Discard)
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	adminURL := "https://" + adminAddr
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, err := net.Dial("tcp", adminAddr); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("registryd serve did not come up")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Operations: readiness and metrics on their own plain-HTTP listener.
	for path, want := range map[string]string{"/readyz": "ready", "/metrics": "registry_up 1"} {
		res, err := http.Get("http://" + metricsAddr + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || !strings.Contains(string(b), want) {
			t.Errorf("GET %s: %d, want %q in:\n%s", path, res.StatusCode, want, b)
		}
	}
	conn := []string{"admin", "-url", adminURL, "-cert", p.cert, "-key", p.key, "-ca", filepath.Join(dir, "ca", "ca.pem")}
	admin := func(args ...string) []string { return append(append([]string{}, conn...), args...) }
	// Without a certificate the console refuses.
	if err := registryd.Run(ctx, []string{"admin", "-url", adminURL, "-ca", filepath.Join(dir, "ca", "ca.pem"), "stations"}, io.Discard, io.Discard); !isStatus(err, http.StatusForbidden) {
		t.Errorf("admin without a client certificate: got %v, want a 403 AdminError", err)
	}

	out := run(t, admin("enrol-code", "ST-CLI")...)
	code := regexp.MustCompile(`code:\s+(\S+)`).FindStringSubmatch(out)
	fp := regexp.MustCompile(`CA fingerprint:\s+([0-9a-f]{64})`).FindStringSubmatch(out)
	if code == nil || fp == nil {
		t.Fatalf("enrol-code printed %q", out)
	}
	url := "https://" + addr
	if _, err := enrol.Enrol(ctx, url, code[1], strings.Repeat("ab", 32), t.TempDir()); !errors.Is(err, enrol.ErrFingerprint) {
		t.Errorf("enrolment against another CA fingerprint: got %v, want ErrFingerprint", err)
	}
	if _, err := enrol.Enrol(ctx, url, "AAAA-BBBB-CCCC-DDDD", fp[1], t.TempDir()); !isCode(err, protocol.CodeBadCode) {
		t.Errorf("enrolment with an unknown code: got %v, want %s", err, protocol.CodeBadCode)
	}
	idDir := t.TempDir()
	id, err := enrol.Enrol(ctx, url, code[1], fp[1], idDir)
	if err != nil {
		t.Fatalf("enrol: %v", err)
	}
	if id.StationID != "ST-CLI" {
		t.Errorf("enrolled as %q, want ST-CLI", id.StationID)
	}
	// The station got the SITHS roots registryd was given (-trust-anchors).
	if got, err := os.ReadFile(enrol.TrustAnchorsFile(idDir)); err != nil || !bytes.Equal(got, p.root.PEM()) {
		t.Errorf("station's trust anchors after enrolment: %v; want the roots of -trust-anchors", err)
	}
	if _, err := enrol.Enrol(ctx, url, code[1], fp[1], t.TempDir()); !isCode(err, protocol.CodeBadCode) {
		t.Errorf("a code used twice: got %v, want %s", err, protocol.CodeBadCode)
	}

	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "s.db"), store.Options{Logger: registrytest.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rc, err := reconcile.New(reconcile.Config{Identity: id, Version: "1.2.3"}, st, clock.System{}, registrytest.Logger(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if err := st.Update(ctx, clock.System{}, func(tx *store.Tx) error {
		_, err := tx.Enqueue(ctx, protocol.IssuancePayload{IssuanceID: "iss-cli", CardSerial: "RK-" + time.Now().Format("2006") + "-0001", Reason: "forgotten", Operator: "SE2321000131-P000000012345"})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := rc.Once(ctx); err != nil {
		t.Fatalf("sync: %v", err)
	}
	if out := run(t, admin("stations")...); !strings.Contains(out, "ST-CLI") || !strings.Contains(out, "1.2.3") {
		t.Errorf("stations listing lacks the synced station:\n%s", out)
	}
	run(t, admin("approve", "iss-cli")...)
	run(t, admin("block", "RK-LOST", "lost")...)
	run(t, admin("stop-window", "order_stop", "2030-01-01T08:00", "2030-01-02T17:00", "year-end")...)
	run(t, admin("validity", "forgotten", "30")...)
	if out := run(t, admin("set-policy", "ST-CLI", "typed-attestors=true")...); !strings.Contains(out, "typed-attestors=true") {
		t.Errorf("set-policy printed %q", out)
	}
	for _, bad := range [][]string{
		{"set-policy", "ST-CLI", "typed-attestors=yes"},
		{"set-policy", "ST-CLI", "walk-ins=true"},
		{"set-policy", "ST-CLI"},
	} {
		if err := registryd.Run(ctx, admin(bad...), io.Discard, io.Discard); !errors.Is(err, registryd.ErrUsage) {
			t.Errorf("%v: got %v, want ErrUsage", bad, err)
		}
	}
	if err := registryd.Run(ctx, admin("set-policy", "ST-NOWHERE", "typed-attestors=true"), io.Discard, io.Discard); !isStatus(err, http.StatusNotFound) {
		t.Errorf("set-policy of an unknown station: got %v, want a 404 AdminError", err)
	}
	// SITHS trust material: an intermediate in PEM, a CRL in DER.
	inter := p.inter.Intermediate("SITHS e-id Person HSA-id 3 CA v1", trusttest.ECDSA)
	interFile, crlFile := filepath.Join(keys, "inter2.pem"), filepath.Join(keys, "ca2.crl")
	now := time.Now()
	if err := errors.Join(
		os.WriteFile(interFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: inter.Cert.Raw}), 0o600),
		os.WriteFile(crlFile, trusttest.SignCRLDER(t, inter.Cert, inter.Key, now.Add(-time.Hour), now.Add(23*time.Hour), big.NewInt(4711)), 0o600)); err != nil {
		t.Fatal(err)
	}
	if out := run(t, admin("add-intermediate", interFile)...); !strings.Contains(out, "intermediate added") {
		t.Errorf("add-intermediate printed %q", out)
	}
	if out := run(t, admin("add-crl", crlFile)...); !strings.Contains(out, "CRL added") {
		t.Errorf("add-crl printed %q", out)
	}
	if err := registryd.Run(ctx, admin("add-crl", interFile), io.Discard, io.Discard); !isStatus(err, http.StatusBadRequest) {
		t.Errorf("a certificate as a CRL: got %v, want a 400 AdminError", err)
	}
	// A locked station pulls nothing; unlocked, it catches up.
	run(t, admin("lock", "ST-CLI")...)
	if err := rc.Once(ctx); !errors.Is(err, reconcile.ErrStationLocked) {
		t.Errorf("sync of a locked station: got %v, want ErrStationLocked", err)
	}
	run(t, admin("unlock", "ST-CLI")...)
	if err := rc.Once(ctx); err != nil {
		t.Fatalf("sync: %v", err)
	}
	for q, want := range map[string]int{
		`SELECT count(*) FROM ref_card_status WHERE serial LIKE 'RK-%-0001' AND state = 'approved'`: 1,
		`SELECT count(*) FROM ref_blocked_cards WHERE serial = 'RK-LOST'`:                           1,
		// 08:00 Swedish time (CET in January) is 07:00 UTC (CP-3, issue 14).
		`SELECT count(*) FROM ref_stop_windows WHERE kind = 'order_stop' AND starts = '2030-01-01T07:00:00Z'`: 1,
		`SELECT max_days FROM ref_validity WHERE reason = 'forgotten'`:                                        30,
		`SELECT count(*) FROM ref_shipments`:                                                                  10,
		`SELECT count(*) FROM ref_trust_intermediates WHERE subject LIKE '%Person HSA-id 3 CA v1%'`:           2, // the admin's CA and the one added
		`SELECT count(*) FROM ref_crls WHERE issuer LIKE '%Person HSA-id 3 CA v1%'`:                           2,
		`SELECT typed_attestors FROM ref_station_policy`:                                                      1,
	} {
		var got int
		if err := st.Reader().QueryRow(q).Scan(&got); err != nil || got != want {
			t.Errorf("%s: got %d (%v), want %d", q, got, err, want)
		}
	}
	var errb bytes.Buffer
	err = registryd.Run(ctx, admin("validity", "forgotten", "0"), io.Discard, &errb)
	var ae *registryd.AdminError
	if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest {
		t.Errorf("validity 0 days: got %v, want a 400 AdminError", err)
	}
	if err := registryd.Run(ctx, admin("frobnicate"), io.Discard, io.Discard); !errors.Is(err, registryd.ErrUsage) {
		t.Errorf("unknown command: got %v, want ErrUsage", err)
	}

	hc := consoleHTTP(t, p, filepath.Join(dir, "ca", "ca.pem"))
	res, err := hc.Get(adminURL + "/admin")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{"ST-CLI", "1.2.3", "iss-cli", "godkänd", "RK-LOST", "year-end", "sync_now", "Person HSA-id 3 CA v1",
		"inskrivna intygsgivare: <strong>tillåtna</strong>", "Förbjud inskrivna intygsgivare"} { // Swedish by default
		if !bytes.Contains(page, []byte(want)) {
			t.Errorf("admin page lacks %q", want)
		}
	}
	// Re-enrolment needs --replace; revocation ends the station's access.
	if err := registryd.Run(ctx, admin("enrol-code", "ST-CLI"), io.Discard, io.Discard); !isStatus(err, http.StatusBadRequest) {
		t.Errorf("enrol-code for an enrolled station without --replace: got %v, want a 400 AdminError", err)
	}
	if out := run(t, admin("review")...); !strings.Contains(out, "STATION") {
		t.Errorf("review printed %q", out)
	}
	if out := run(t, admin("revoke-station", "ST-CLI", "stolen from the site")...); !strings.Contains(out, "revoked") {
		t.Errorf("revoke-station printed %q", out)
	}
	rc.Close()
	if err := rc.Once(ctx); err == nil {
		t.Error("sync after revocation succeeded, want a refusal")
	}
	if out := run(t, admin("enrol-code", "ST-CLI", "--replace")...); !strings.Contains(out, "code:") {
		t.Errorf("enrol-code --replace printed %q", out)
	}
	req, _ := http.NewRequest(http.MethodPost, adminURL+"/admin/block", strings.NewReader("serial=X&reason=y"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	res, err = hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("cross-origin admin post: status %d, want 403", res.StatusCode)
	}
	// Everything above is in the console's audit trail, by the admin's
	// HSA-ID, and the trail verifies.
	out = run(t, admin("audit")...)
	for _, want := range []string{"verified:", "console.login", "issuance.decide", "card.block", "station.revoke", "stolen from the site",
		"trust.crl_add", "station.command", "console.csrf_refused", "console.login_refused", adminHSAID, registryd.HostActor} {
		if !strings.Contains(out, want) {
			t.Errorf("admin audit lacks %q", want)
		}
	}
	if out := run(t, "audit", "verify", "-data", dir); !strings.Contains(out, "verified") {
		t.Errorf("audit verify printed %q", out)
	}
}

// consoleHTTP is a browser-like HTTPS client with the admin's certificate.
func consoleHTTP(t *testing.T, p *adminPKI, caFile string) *http.Client {
	t.Helper()
	c, err := tls.LoadX509KeyPair(p.cert, p.key)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(b)
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Transport: &http.Transport{TLSClientConfig: &tls.Config{Certificates: []tls.Certificate{c}, RootCAs: pool}}}
}

// TestServeRefusesInsecureConsole: the console is never served without
// TLS and client authentication; the refusal names the flags.
func TestServeRefusesInsecureConsole(t *testing.T) {
	keys := t.TempDir()
	p := newAdminPKI(t, keys)
	roles := filepath.Join(keys, "roles")
	if err := os.WriteFile(roles, []byte(adminHSAID+" viewer\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		args  []string
		wants []string
	}{
		{"all interfaces, no TLS", []string{"-admin", "0.0.0.0:" + port(t)}, []string{"non-loopback address 0.0.0.0:", "-console-anchors", "-console-roles"}},
		{"loopback, no TLS", []string{"-admin", "127.0.0.1:" + port(t)}, []string{"on loopback", "-console-anchors"}},
		{"anchors without roles", []string{"-admin", "0.0.0.0:" + port(t), "-console-anchors", p.anchors}, []string{"-console-roles"}},
		{"roles without anchors", []string{"-admin", "0.0.0.0:" + port(t), "-console-roles", roles}, []string{"-console-anchors"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			args := append([]string{"serve", "-data", dir, "-listen", freeAddr(t)}, c.args...)
			err := registryd.Run(ctx, args, io.Discard, io.Discard)
			if !errors.Is(err, registryd.ErrInsecureConsole) {
				t.Fatalf("got %v, want ErrInsecureConsole", err)
			}
			for _, w := range c.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("message %q does not say %q", err, w)
				}
			}
			if _, statErr := os.Stat(filepath.Join(dir, "registry.db")); statErr == nil {
				t.Error("the registry was opened before the console was refused")
			}
		})
	}
}

func port(t *testing.T) string {
	t.Helper()
	_, p, _ := net.SplitHostPort(freeAddr(t))
	return p
}

func isStatus(err error, status int) bool {
	var ae *registryd.AdminError
	return errors.As(err, &ae) && ae.Status == status
}

func isCode(err error, code string) bool {
	var pe *protocol.Error
	return errors.As(err, &pe) && pe.Code == code
}

// TestServeRefusesWithoutTrustAnchors: registryd serve fails closed
// without usable SITHS roots for the stations (-trust-anchors): missing,
// a card's own certificate (not a CA), or a file that is not PEM. It stops
// before the registry is opened, and says which flag.
func TestServeRefusesWithoutTrustAnchors(t *testing.T) {
	keys := t.TempDir()
	p := newAdminPKI(t, keys)
	leaf := filepath.Join(keys, "leaf.pem")
	garbage := filepath.Join(keys, "garbage.pem")
	if err := errors.Join(
		os.WriteFile(leaf, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: readPEMCert(t, p.cert).Raw}), 0o600),
		os.WriteFile(garbage, []byte("not a certificate\n"), 0o600)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		args []string
	}{
		{"no -trust-anchors", nil},
		{"a file that does not exist", []string{"-trust-anchors", filepath.Join(keys, "missing.pem")}},
		{"a card certificate, not a CA", []string{"-trust-anchors", leaf}},
		{"not PEM", []string{"-trust-anchors", garbage}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			args := append([]string{"serve", "-data", dir, "-listen", freeAddr(t), "-admin", "-", "-metrics", "-"}, c.args...)
			err := registryd.Run(ctx, args, io.Discard, io.Discard)
			if !errors.Is(err, registryd.ErrNoTrustAnchors) || !strings.Contains(err.Error(), "-trust-anchors") {
				t.Fatalf("got %v, want ErrNoTrustAnchors naming -trust-anchors", err)
			}
			if _, statErr := os.Stat(filepath.Join(dir, "registry.db")); statErr == nil {
				t.Error("the registry was opened without usable trust anchors")
			}
		})
	}
}

func readPEMCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatalf("%s: no PEM", path)
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
