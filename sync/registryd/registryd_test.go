package registryd_test

import (
	"bytes"
	"context"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
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

// TestServeEnrolAdmin runs `registryd serve`, enrols a station with a code
// from `registryd admin enrol-code`, syncs it, and drives the central
// admin operations through the CLI and the HTML page.
func TestServeEnrolAdmin(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	dir := t.TempDir()
	addr, adminAddr := freeAddr(t), freeAddr(t)
	done := make(chan error, 1)
	go func() {
		done <- registryd.Run(ctx, []string{"serve", "-data", dir, "-listen", addr, "-admin", adminAddr, "-seed", "ST-CLI"}, io.Discard, io.Discard)
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	adminURL := "http://" + adminAddr
	deadline := time.Now().Add(10 * time.Second)
	for {
		if res, err := http.Get(adminURL + "/admin"); err == nil {
			res.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("registryd serve did not come up")
		}
		time.Sleep(20 * time.Millisecond)
	}

	out := run(t, "admin", "-url", adminURL, "enrol-code", "ST-CLI")
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
	id, err := enrol.Enrol(ctx, url, code[1], fp[1], t.TempDir())
	if err != nil {
		t.Fatalf("enrol: %v", err)
	}
	if id.StationID != "ST-CLI" {
		t.Errorf("enrolled as %q, want ST-CLI", id.StationID)
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
	if out := run(t, "admin", "-url", adminURL, "stations"); !strings.Contains(out, "ST-CLI") || !strings.Contains(out, "1.2.3") {
		t.Errorf("stations listing lacks the synced station:\n%s", out)
	}
	run(t, "admin", "-url", adminURL, "approve", "iss-cli")
	run(t, "admin", "-url", adminURL, "block", "RK-LOST", "lost")
	run(t, "admin", "-url", adminURL, "stop-window", "order_stop", "2030-01-01T08:00", "2030-01-02T17:00", "year-end")
	run(t, "admin", "-url", adminURL, "validity", "forgotten", "30")
	if out := run(t, "admin", "-url", adminURL, "set-policy", "ST-CLI", "typed-attestors=true"); !strings.Contains(out, "typed-attestors=true") {
		t.Errorf("set-policy printed %q", out)
	}
	for _, bad := range [][]string{
		{"set-policy", "ST-CLI", "typed-attestors=yes"},
		{"set-policy", "ST-CLI", "walk-ins=true"},
		{"set-policy", "ST-CLI"},
	} {
		if err := registryd.Run(ctx, append([]string{"admin", "-url", adminURL}, bad...), io.Discard, io.Discard); !errors.Is(err, registryd.ErrUsage) {
			t.Errorf("%v: got %v, want ErrUsage", bad, err)
		}
	}
	if err := registryd.Run(ctx, []string{"admin", "-url", adminURL, "set-policy", "ST-NOWHERE", "typed-attestors=true"}, io.Discard, io.Discard); !isStatus(err, http.StatusNotFound) {
		t.Errorf("set-policy of an unknown station: got %v, want a 404 AdminError", err)
	}
	// SITHS trust material: an intermediate in PEM, a CRL in DER.
	root := trusttest.NewRoot(t, "SITHS e-id Root CA v2", trusttest.ECDSA)
	inter := root.Intermediate("SITHS e-id Person HSA-id 3 CA v1", trusttest.ECDSA)
	interFile, crlFile := filepath.Join(dir, "inter.pem"), filepath.Join(dir, "ca.crl")
	now := time.Now()
	if err := errors.Join(
		os.WriteFile(interFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: inter.Cert.Raw}), 0o600),
		os.WriteFile(crlFile, trusttest.SignCRLDER(t, inter.Cert, inter.Key, now.Add(-time.Hour), now.Add(23*time.Hour), big.NewInt(4711)), 0o600)); err != nil {
		t.Fatal(err)
	}
	if out := run(t, "admin", "-url", adminURL, "add-intermediate", interFile); !strings.Contains(out, "intermediate added") {
		t.Errorf("add-intermediate printed %q", out)
	}
	if out := run(t, "admin", "-url", adminURL, "add-crl", crlFile); !strings.Contains(out, "CRL added") {
		t.Errorf("add-crl printed %q", out)
	}
	if err := registryd.Run(ctx, []string{"admin", "-url", adminURL, "add-crl", interFile}, io.Discard, io.Discard); !isStatus(err, http.StatusBadRequest) {
		t.Errorf("a certificate as a CRL: got %v, want a 400 AdminError", err)
	}
	// A locked station pulls nothing; unlocked, it catches up.
	run(t, "admin", "-url", adminURL, "lock", "ST-CLI")
	if err := rc.Once(ctx); !errors.Is(err, reconcile.ErrStationLocked) {
		t.Errorf("sync of a locked station: got %v, want ErrStationLocked", err)
	}
	run(t, "admin", "-url", adminURL, "unlock", "ST-CLI")
	if err := rc.Once(ctx); err != nil {
		t.Fatalf("sync: %v", err)
	}
	for q, want := range map[string]int{
		`SELECT count(*) FROM ref_card_status WHERE serial LIKE 'RK-%-0001' AND state = 'approved'`:           1,
		`SELECT count(*) FROM ref_blocked_cards WHERE serial = 'RK-LOST'`:                                     1,
		`SELECT count(*) FROM ref_stop_windows WHERE kind = 'order_stop' AND starts = '2030-01-01T08:00:00Z'`: 1,
		`SELECT max_days FROM ref_validity WHERE reason = 'forgotten'`:                                        30,
		`SELECT count(*) FROM ref_shipments`:                                                                  10,
		`SELECT count(*) FROM ref_trust_intermediates WHERE subject LIKE '%Person HSA-id 3 CA v1%'`:           1,
		`SELECT count(*) FROM ref_crls WHERE issuer LIKE '%Person HSA-id 3 CA v1%'`:                           1,
		`SELECT typed_attestors FROM ref_station_policy`:                                                      1,
	} {
		var got int
		if err := st.Reader().QueryRow(q).Scan(&got); err != nil || got != want {
			t.Errorf("%s: got %d (%v), want %d", q, got, err, want)
		}
	}
	var errb bytes.Buffer
	err = registryd.Run(ctx, []string{"admin", "-url", adminURL, "validity", "forgotten", "0"}, io.Discard, &errb)
	var ae *registryd.AdminError
	if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest {
		t.Errorf("validity 0 days: got %v, want a 400 AdminError", err)
	}
	if err := registryd.Run(ctx, []string{"admin", "-url", adminURL, "frobnicate"}, io.Discard, io.Discard); !errors.Is(err, registryd.ErrUsage) {
		t.Errorf("unknown command: got %v, want ErrUsage", err)
	}

	res, err := http.Get(adminURL + "/admin")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{"ST-CLI", "1.2.3", "iss-cli", "approved", "RK-LOST", "year-end", "sync_now", "Person HSA-id 3 CA v1",
		"typed-in attestors: <strong>allowed</strong>", "Forbid typed-in attestors"} {
		if !bytes.Contains(page, []byte(want)) {
			t.Errorf("admin page lacks %q", want)
		}
	}
	// Re-enrolment needs --replace; revocation ends the station's access.
	if err := registryd.Run(ctx, []string{"admin", "-url", adminURL, "enrol-code", "ST-CLI"}, io.Discard, io.Discard); !isStatus(err, http.StatusBadRequest) {
		t.Errorf("enrol-code for an enrolled station without --replace: got %v, want a 400 AdminError", err)
	}
	if out := run(t, "admin", "-url", adminURL, "review"); !strings.Contains(out, "STATION") {
		t.Errorf("review printed %q", out)
	}
	if out := run(t, "admin", "-url", adminURL, "revoke-station", "ST-CLI"); !strings.Contains(out, "revoked") {
		t.Errorf("revoke-station printed %q", out)
	}
	rc.Close()
	if err := rc.Once(ctx); err == nil {
		t.Error("sync after revocation succeeded, want a refusal")
	}
	if out := run(t, "admin", "-url", adminURL, "enrol-code", "ST-CLI", "--replace"); !strings.Contains(out, "code:") {
		t.Errorf("enrol-code --replace printed %q", out)
	}
	req, _ := http.NewRequest(http.MethodPost, adminURL+"/admin/block", strings.NewReader("serial=X&reason=y"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("cross-origin admin post: status %d, want 403", res.StatusCode)
	}
}

func isStatus(err error, status int) bool {
	var ae *registryd.AdminError
	return errors.As(err, &ae) && ae.Status == status
}

func isCode(err error, code string) bool {
	var pe *protocol.Error
	return errors.As(err, &pe) && pe.Code == code
}
