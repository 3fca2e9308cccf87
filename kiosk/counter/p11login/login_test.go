package p11login_test

import (
	"context"
	"crypto"
	"crypto/x509"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kortstation/kortstation/hw/cardreader/p11"
	"github.com/kortstation/kortstation/hw/cardreader/p11/p11test"
	readersim "github.com/kortstation/kortstation/hw/cardreader/sim"
	"github.com/kortstation/kortstation/kiosk/bus"
	"github.com/kortstation/kortstation/kiosk/clock"
	"github.com/kortstation/kortstation/kiosk/counter"
	"github.com/kortstation/kortstation/kiosk/devseed"
	"github.com/kortstation/kortstation/kiosk/store"
	"github.com/kortstation/kortstation/kiosk/trust"
	"github.com/kortstation/kortstation/kiosk/trust/trusttest"
	"github.com/kortstation/kortstation/sync/protocol"
)

var hsm *p11test.HSM

func TestMain(m *testing.M) {
	h, err := p11test.Start()
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: the PKCS#11 login tests need SoftHSM2: %v\n", err)
		os.Exit(1)
	}
	hsm = h
	code := m.Run()
	h.Close()
	os.Exit(code)
}

const adminHSAID = "SE2321000131-P000000000011" // Test Operatör Ett, an authorised administrator in devseed

var serials atomic.Int64

// nextSerial is a token serial SoftHSM2 takes: 16 characters, the last 8
// unique and not small as hex.
func nextSerial() string { return fmt.Sprintf("97522699%08d", 100000+serials.Add(1)) }

// rig is a counter whose card reader is the PKCS#11 reader over SoftHSM2.
type rig struct {
	t       *testing.T
	m       *counter.Counter
	station *p11test.Station
	readers []string
	st      *store.Store
}

func newRig(t *testing.T, root *trusttest.CA, crl *x509.RevocationList, now time.Time) *rig {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "s.db"), store.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clk := &clock.Fixed{T: now}
	if _, err := devseed.Seed(context.Background(), st, clk); err != nil {
		t.Fatal(err)
	}
	// The registry's data counts as synced (issuing refuses stale data).
	if err := st.Write(context.Background(), func(tx *sql.Tx) error {
		for _, k := range protocol.RefKinds {
			at := now.UTC().Format(time.RFC3339Nano)
			if _, err := tx.Exec(`INSERT INTO ref_cursors (kind, cursor, updated_at, complete_at) VALUES (?, 'c', ?, ?)`, k, at, at); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	station := hsm.NewStation()
	reader, err := station.NewReader(p11.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reader.Close() })
	v, err := trust.New(root.PEM(), trust.Material{CRLs: []*x509.RevocationList{crl}}, clk, trust.Options{})
	if err != nil {
		t.Fatal(err)
	}
	names := readersim.DefaultReaders()
	m := counter.New(counter.Deps{Info: counter.Info{ID: "t"}, Store: st, Bus: bus.New(), Clock: clk,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Reader: reader, Trust: v},
		counter.Options{IdleTimeout: time.Hour, OperatorReader: names[0], CardReader: names[1]})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return &rig{t: t, m: m, station: station, readers: names, st: st}
}

// view is the counter as the kiosk's connection sees it.
func (r *rig) view() map[string]any {
	r.t.Helper()
	res, err := r.m.Handle(context.Background(), "kiosk", "session.get", nil)
	if err != nil {
		r.t.Fatal(err)
	}
	b, _ := json.Marshal(res)
	var s struct {
		View map[string]any `json:"view"`
	}
	json.Unmarshal(b, &s)
	return s.View
}

func (r *rig) waitFor(what string, ok func(v map[string]any) bool) map[string]any {
	r.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		v := r.view()
		if ok(v) {
			return v
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("never %s: %v", what, v)
		}
	}
}

func (r *rig) call(typ string, payload any) error {
	b, _ := json.Marshal(payload)
	_, err := r.m.Handle(context.Background(), "kiosk", typ, b)
	return err
}

// login puts tok into the operator's reader and types pin.
func (r *rig) login(tok *p11test.Token, pin string) error {
	r.t.Helper()
	if err := r.station.Insert(r.readers[0], tok); err != nil {
		r.t.Fatal(err)
	}
	v := r.waitFor("asked for the PIN or refused the card", func(v map[string]any) bool {
		login, _ := v["login"].(map[string]any)
		return v["state"] == "pin" || (login != nil && login["error"] != nil)
	})
	if v["state"] != "pin" {
		return fmt.Errorf("refused before the PIN: %v", v["login"])
	}
	return r.call("session.pin", map[string]string{"pin": pin})
}

func keyOf(err error) string {
	if k, ok := err.(interface{ Key() string }); ok {
		return k.Key()
	}
	return ""
}

// token makes a SoftHSM2 token for a certificate and key (which need not
// belong together: an attacker's card).
func token(t *testing.T, cert *x509.Certificate, key crypto.Signer, pin string, retries int) *p11test.Token {
	t.Helper()
	tok, err := hsm.NewToken(p11test.Spec{Serial: nextSerial(), CertificateDER: cert.Raw, Key: key, PIN: pin, MaxRetries: retries})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestLoginProvesTheCardThroughPKCS11 is the counter's login test
// (kiosk/counter's TestLoginProvesTheCardOverPCSC) through a PKCS#11
// module: a genuine token logs in; every attacker's token is refused with
// its own reason.
func TestLoginProvesTheCardThroughPKCS11(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	root := trusttest.NewRoot(t, "SITHS e-id Root CA (test)", trusttest.ECDSA)
	other := trusttest.NewRoot(t, "SITHS e-id Root CA (test)", trusttest.ECDSA) // same name, the attacker's key
	admin := trusttest.Leaf{HSAID: adminHSAID, Name: "Test Operatör Ett", NotBefore: now.AddDate(-1, 0, 0), NotAfter: now.AddDate(1, 0, 0)}
	fresh := func(revoked ...*big.Int) *x509.RevocationList {
		return root.CRL(now.Add(-time.Hour), now.AddDate(0, 0, 7), revoked...)
	}
	tests := []struct {
		name    string
		make    func(t *testing.T) (*p11test.Token, string, *x509.RevocationList)
		wantKey string
	}{
		{"genuine ECDSA token", func(t *testing.T) (*p11test.Token, string, *x509.RevocationList) {
			c, k := root.Issue(admin)
			return token(t, c, k, "1234", 3), "1234", fresh()
		}, ""},
		{"genuine RSA token", func(t *testing.T) (*p11test.Token, string, *x509.RevocationList) {
			l := admin
			l.Alg = trusttest.RSA
			c, k := root.Issue(l)
			return token(t, c, k, "1234", 3), "1234", fresh()
		}, ""},
		{"self-signed certificate with an administrator's HSA-ID", func(t *testing.T) (*p11test.Token, string, *x509.RevocationList) {
			c, k := trusttest.SelfSigned(t, admin)
			return token(t, c, k, "1234", 3), "1234", fresh()
		}, "trust.untrusted"},
		{"certificate from an unknown CA", func(t *testing.T) (*p11test.Token, string, *x509.RevocationList) {
			c, k := other.Issue(admin)
			return token(t, c, k, "1234", 3), "1234", fresh()
		}, "trust.untrusted"},
		{"expired certificate", func(t *testing.T) (*p11test.Token, string, *x509.RevocationList) {
			l := admin
			l.NotAfter = now.Add(-time.Hour)
			c, k := root.Issue(l)
			return token(t, c, k, "1234", 3), "1234", fresh()
		}, "trust.expired"},
		{"revoked certificate", func(t *testing.T) (*p11test.Token, string, *x509.RevocationList) {
			c, k := root.Issue(admin)
			return token(t, c, k, "1234", 3), "1234", fresh(c.SerialNumber)
		}, "trust.revoked"},
		{"stale CRL", func(t *testing.T) (*p11test.Token, string, *x509.RevocationList) {
			c, k := root.Issue(admin)
			return token(t, c, k, "1234", 3), "1234", root.CRL(now.AddDate(0, 0, -8), now.AddDate(0, 0, -1))
		}, "trust.crl_stale"},
		{"valid certificate copied onto another token", func(t *testing.T) (*p11test.Token, string, *x509.RevocationList) {
			c, _ := root.Issue(admin)
			return token(t, c, trusttest.NewKey(t, trusttest.ECDSA), "0000", 3), "0000", fresh()
		}, "trust.bad_signature"},
		{"wrong PIN", func(t *testing.T) (*p11test.Token, string, *x509.RevocationList) {
			c, k := root.Issue(admin)
			return token(t, c, k, "1234", 3), "9999", fresh()
		}, "pin_wrong"},
		{"blocked PIN", func(t *testing.T) (*p11test.Token, string, *x509.RevocationList) {
			c, k := root.Issue(admin)
			return token(t, c, k, "1234", 1), "9999", fresh()
		}, "pin_blocked"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok, pin, crl := tc.make(t) // tokens before the first PIN (SoftHSM2 reinitialises)
			r := newRig(t, root, crl, now)
			err := r.login(tok, pin)
			if tc.wantKey == "" {
				if err != nil {
					t.Fatalf("genuine token refused: %v", err)
				}
				if op, ok := r.m.Operator(); !ok || op.HSAID != adminHSAID {
					t.Fatalf("operator = %+v, %v; want %s", op, ok, adminHSAID)
				}
				return
			}
			if keyOf(err) != tc.wantKey {
				t.Fatalf("got %v (%s), want refused with %s", err, keyOf(err), tc.wantKey)
			}
			if _, ok := r.m.Operator(); ok {
				t.Fatal("an operator is logged in")
			}
			if tc.wantKey == "pin_wrong" && !strings.Contains(err.Error(), "attempts left") {
				t.Errorf("wrong PIN: %q does not say how many attempts are left", err)
			}
		})
	}
}

// TestAttestorProvesWhoTheyAreThroughPKCS11: an attestor's token in the
// card reader and their PIN make them a proven attestor, with the name of
// their certificate (AT-1); a token whose certificate is copied is
// refused.
func TestAttestorProvesWhoTheyAreThroughPKCS11(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	root := trusttest.NewRoot(t, "SITHS e-id Root CA (test)", trusttest.ECDSA)
	valid := func(hsa, name string) trusttest.Leaf {
		return trusttest.Leaf{HSAID: hsa, Name: name, NotBefore: now.AddDate(-1, 0, 0), NotAfter: now.AddDate(1, 0, 0)}
	}
	oc, ok := root.Issue(valid(adminHSAID, "Test Operatör Ett"))
	ac, ak := root.Issue(valid("SE2321000131-P000000000021", "Test Intygsgivare"))
	operator := token(t, oc, ok, "1234", 3)
	attestor := token(t, ac, ak, "3456", 3)
	copied := token(t, ac, trusttest.NewKey(t, trusttest.ECDSA), "0000", 3)
	r := newRig(t, root, root.CRL(now.Add(-time.Hour), now.AddDate(0, 0, 7)), now)
	if err := r.login(operator, "1234"); err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		typ  string
		data any
	}{
		{"flow.start", map[string]string{"kind": "issue"}},
		{"flow.step", map[string]any{"step": "reason", "data": map[string]string{"reason": "lost"}}},
		{"flow.step", map[string]any{"step": "recipient", "data": map[string]string{"personal_number": devseed.Lost, "name": "Eva Ek"}}},
	} {
		if err := r.call(step.typ, step.data); err != nil {
			t.Fatal(err)
		}
	}
	attest := func(tok *p11test.Token, pin string) error {
		if err := r.station.Insert(r.readers[1], tok); err != nil {
			t.Fatal(err)
		}
		defer r.station.Remove(r.readers[1])
		r.waitFor("asked for the attestor's PIN", func(v map[string]any) bool {
			f, _ := v["flow"].(map[string]any)
			d, _ := f["data"].(map[string]any)
			return d != nil && d["attestor_login"] != nil
		})
		err := r.call("flow.step", map[string]any{"step": "attestor_pin", "data": map[string]string{"pin": pin}})
		r.waitFor("the card out", func(v map[string]any) bool {
			f, _ := v["flow"].(map[string]any)
			d, _ := f["data"].(map[string]any)
			return d != nil && d["attestor_login"] == nil
		})
		return err
	}
	if err := attest(copied, "0000"); keyOf(err) != "trust.bad_signature" {
		t.Fatalf("copied attestor token: got %v, want trust.bad_signature", err)
	}
	if err := attest(attestor, "3456"); err != nil {
		t.Fatalf("genuine attestor token: %v", err)
	}
	v := r.view()
	f, _ := v["flow"].(map[string]any)
	d, _ := f["data"].(map[string]any)
	cards, _ := d["attestor_cards"].([]any)
	if len(cards) != 1 || !strings.Contains(fmt.Sprint(cards[0]), "Test Intygsgivare") {
		t.Fatalf("proven attestors = %v, want Test Intygsgivare only", cards)
	}
}
