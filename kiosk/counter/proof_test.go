package counter

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kortstation/kortstation/hw/cardreader"
	"github.com/kortstation/kortstation/hw/cardreader/pcsc"
	"github.com/kortstation/kortstation/hw/cardreader/pcsctest"
	readersim "github.com/kortstation/kortstation/hw/cardreader/sim"
	"github.com/kortstation/kortstation/hw/cardreader/vcard"
	"github.com/kortstation/kortstation/kiosk/bus"
	"github.com/kortstation/kortstation/kiosk/devseed"
	"github.com/kortstation/kortstation/kiosk/store"
	"github.com/kortstation/kortstation/kiosk/trust"
)

// The operator's card must prove who holds it (issue 11): after the PIN,
// the card signs a fresh challenge with the key of a certificate that
// chains to the SITHS root, is valid, may authenticate and is not revoked.
// These tests play the attacker's cards at the counter, on the simulated
// reader and on a real pcscd with the vpcd driver.

const adminHSAID = "SE2321000131-P000000000011" // Test Operatör Ett, an authorised administrator in devseed

// slots puts virtual cards into the counter's two readers.
type slots interface {
	insert(t testing.TB, reader int, c *vcard.Card)
	remove(t testing.TB, reader int)
}

type simSlots struct{ r *readersim.Reader }

func (s simSlots) insert(t testing.TB, reader int, c *vcard.Card) {
	t.Helper()
	if err := s.r.Insert(readersim.DefaultReaders()[reader], c); err != nil {
		t.Fatal(err)
	}
}

func (s simSlots) remove(t testing.TB, reader int) {
	t.Helper()
	if err := s.r.Remove(readersim.DefaultReaders()[reader]); err != nil {
		t.Fatal(err)
	}
}

// pcscSlots inserts cards by dialling a real pcscd's vpcd readers.
type pcscSlots struct {
	d      *pcsctest.Daemon
	reader cardreader.Reader // to see a card gone before the next goes in
	mu     sync.Mutex
	conns  map[int]*vcard.Conn
}

func (s *pcscSlots) insert(t testing.TB, reader int, c *vcard.Card) {
	t.Helper()
	conn, err := c.Insert(context.Background(), s.d.CardAddr(reader))
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	s.conns[reader] = conn
	s.mu.Unlock()
}

func (s *pcscSlots) remove(t testing.TB, reader int) {
	t.Helper()
	s.mu.Lock()
	conn := s.conns[reader]
	delete(s.conns, reader)
	s.mu.Unlock()
	if conn == nil {
		return
	}
	if err := conn.Remove(); err != nil {
		t.Fatal(err)
	}
	<-conn.Done()
	// vpcd serves one card per reader: the next may go in only once pcscd
	// has seen this one leave.
	name := s.d.ReaderNames()[reader]
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := s.reader.ReadCard(context.Background(), name); errors.Is(err, cardreader.ErrNoCard) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the card never left %s", name)
		}
	}
}

var (
	pcscOnce   sync.Once
	pcscDaemon *pcsctest.Daemon
	pcscErr    error
)

// sharedPCSCD starts one real pcscd with vpcd for this package's tests;
// libpcsclite reads its socket from the environment at the first call.
func sharedPCSCD(t testing.TB) *pcsctest.Daemon {
	t.Helper()
	pcscOnce.Do(func() {
		pcscDaemon, pcscErr = pcsctest.Start()
		if pcscErr == nil {
			pcscErr = os.Setenv("PCSCLITE_CSOCK_NAME", pcscDaemon.SocketPath())
		}
	})
	if pcscErr != nil {
		t.Fatalf("the login tests over PC/SC need a real pcscd with the vpcd driver: %v", pcscErr)
	}
	return pcscDaemon
}

// proofRig is a counter whose cards are minted by a test CA, the SITHS
// root of the test; attackers mint their own.
type proofRig struct {
	t      testing.TB
	m      *Counter
	st     *store.Store
	ca     *vcard.CA
	clock  *safeClock
	slots  slots
	crl    *x509.RevocationList
	crlMu  sync.Mutex
	logs   *syncBuffer
	reader cardreader.Reader
}

// replayer is a card (or middleware) that answers every challenge with a
// signature recorded earlier.
type replayer struct {
	cardreader.Reader
	mu     sync.Mutex
	record bool
	last   cardreader.Signature
}

func (r *replayer) Sign(ctx context.Context, reader string, challenge []byte) (cardreader.Signature, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.record {
		s, err := r.Reader.Sign(ctx, reader, challenge)
		r.last = s
		return s, err
	}
	return r.last, nil
}

func newProofRig(t testing.TB, overPCSC bool, wrap func(cardreader.Reader) cardreader.Reader) *proofRig {
	t.Helper()
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "s.db"), store.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clk := &safeClock{t: tuesday}
	if _, err := devseed.Seed(context.Background(), st, clk); err != nil {
		t.Fatal(err)
	}
	ca, err := vcard.NewCA("SITHS e-id Root CA (test)")
	if err != nil {
		t.Fatal(err)
	}
	r := &proofRig{t: t, st: st, ca: ca, clock: clk, logs: logs}
	r.setCRL(tuesday.Add(-time.Hour), tuesday.AddDate(0, 0, 7))
	var reader cardreader.Reader
	var names []string
	if overPCSC {
		d := sharedPCSCD(t)
		reader = pcsc.New(pcsc.Config{Logger: log})
		r.slots = &pcscSlots{d: d, reader: reader, conns: map[int]*vcard.Conn{}}
		names = d.ReaderNames()
	} else {
		sim := readersim.New(log, readersim.DefaultReaders()...)
		reader, r.slots = sim, simSlots{sim}
		names = readersim.DefaultReaders()
	}
	if wrap != nil {
		reader = wrap(reader)
	}
	r.reader = reader
	material := func(context.Context) (trust.Material, error) {
		r.crlMu.Lock()
		defer r.crlMu.Unlock()
		return trust.Material{CRLs: []*x509.RevocationList{r.crl}}, nil
	}
	m0, _ := material(context.Background())
	v, err := trust.New(ca.CertificatePEM(), m0, clk, trust.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sorted := slices.Sorted(slices.Values(names))
	r.m = New(Deps{Info: Info{ID: "t"}, Store: st, Bus: bus.New(), Clock: clk, Log: log, Reader: reader, Trust: v, TrustMaterial: material},
		Options{IdleTimeout: time.Minute, OperatorReader: sorted[0], CardReader: sorted[1]})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.m.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return r
}

// setCRL has the registry distribute a new CRL of the test CA.
func (r *proofRig) setCRL(thisUpdate, nextUpdate time.Time, revoked ...*big.Int) {
	r.t.Helper()
	der, err := r.ca.CRL(thisUpdate.Unix(), thisUpdate, nextUpdate, revoked...)
	if err != nil {
		r.t.Fatal(err)
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		r.t.Fatal(err)
	}
	r.crlMu.Lock()
	r.crl = crl
	r.crlMu.Unlock()
	if r.m != nil {
		r.m.Changed(context.Background()) // as after a sync
	}
}

func (r *proofRig) view() View {
	r.m.mu.Lock()
	defer r.m.mu.Unlock()
	return r.m.view(context.Background(), "kiosk")
}

// login inserts card into the operator's reader and types pin; it returns
// the refusal, if any.
func (r *proofRig) login(card *vcard.Card, pin string) error {
	r.t.Helper()
	r.slots.insert(r.t, 0, card)
	deadline := time.Now().Add(10 * time.Second)
	for {
		v := r.view()
		if v.State == StatePIN {
			break
		}
		if v.Login != nil && v.Login.Error != nil {
			return fmt.Errorf("before the PIN: %s (log: %s)", v.Login.Error.Key, lastLines(r.logs.String(), 3))
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("the card never asked for its PIN: %+v", v)
		}
		time.Sleep(5 * time.Millisecond)
	}
	b, _ := json.Marshal(map[string]string{"pin": pin})
	_, err := r.m.Handle(context.Background(), "kiosk", "session.pin", b)
	return err
}

func (r *proofRig) issue(p vcard.Profile) *vcard.Card {
	r.t.Helper()
	c, err := r.ca.Issue(p)
	if err != nil {
		r.t.Fatal(err)
	}
	return c
}

func serialOf(t testing.TB, c *vcard.Card) *big.Int {
	t.Helper()
	cert, err := x509.ParseCertificate(c.CertificateDER())
	if err != nil {
		t.Fatal(err)
	}
	return cert.SerialNumber
}

// loginCases are the cards an attacker brings, each with the key of the
// refusal it must meet. Each runs on a fresh counter.
func loginCases() []struct {
	name    string
	card    func(r *proofRig) (*vcard.Card, string)
	setup   func(r *proofRig, c *vcard.Card)
	wantKey string
} {
	admin := vcard.Profile{Serial: "9752269900000000911", HSAID: adminHSAID, CommonName: "Test Operatör Ett", PIN: "1234"}
	return []struct {
		name    string
		card    func(r *proofRig) (*vcard.Card, string)
		setup   func(r *proofRig, c *vcard.Card)
		wantKey string
	}{
		{"genuine card", func(r *proofRig) (*vcard.Card, string) { return r.issue(admin), "1234" }, nil, ""},
		{"genuine RSA card", func(r *proofRig) (*vcard.Card, string) {
			p := admin
			p.Key = vcard.RSA2048
			return r.issue(p), "1234"
		}, nil, ""},
		{"self-signed certificate with an administrator's HSA-ID", func(r *proofRig) (*vcard.Card, string) {
			c, err := vcard.SelfSigned(admin)
			if err != nil {
				r.t.Fatal(err)
			}
			return c, "1234"
		}, nil, "trust.untrusted"},
		{"certificate from an unknown CA", func(r *proofRig) (*vcard.Card, string) {
			other, err := vcard.NewCA("SITHS e-id Root CA (test)") // same name, the attacker's key
			if err != nil {
				r.t.Fatal(err)
			}
			c, err := other.Issue(admin)
			if err != nil {
				r.t.Fatal(err)
			}
			return c, "1234"
		}, nil, "trust.untrusted"},
		{"expired certificate", func(r *proofRig) (*vcard.Card, string) {
			p := admin
			p.NotAfter = tuesday.AddDate(0, 0, -1)
			return r.issue(p), "1234"
		}, nil, "trust.expired"},
		{"revoked certificate (CRL from the registry)", func(r *proofRig) (*vcard.Card, string) { return r.issue(admin), "1234" },
			func(r *proofRig, c *vcard.Card) {
				r.setCRL(tuesday.Add(-time.Hour), tuesday.AddDate(0, 0, 7), serialOf(r.t, c))
			}, "trust.revoked"},
		{"stale CRL", func(r *proofRig) (*vcard.Card, string) { return r.issue(admin), "1234" },
			func(r *proofRig, c *vcard.Card) {
				r.setCRL(tuesday.AddDate(0, 0, -8), tuesday.AddDate(0, 0, -1))
			}, "trust.crl_stale"},
		{"valid certificate copied onto another card", func(r *proofRig) (*vcard.Card, string) {
			c, err := vcard.CopyCertificate(r.issue(admin), "9752269900000000912", "0000")
			if err != nil {
				r.t.Fatal(err)
			}
			return c, "0000"
		}, nil, "trust.bad_signature"},
		{"wrong PIN", func(r *proofRig) (*vcard.Card, string) { return r.issue(admin), "9999" }, nil, "pin_wrong"},
		{"blocked PIN", func(r *proofRig) (*vcard.Card, string) {
			p := admin
			p.MaxRetries = 1
			return r.issue(p), "9999"
		}, nil, "pin_blocked"},
	}
}

func runLoginCases(t *testing.T, overPCSC bool) {
	for _, tc := range loginCases() {
		t.Run(tc.name, func(t *testing.T) {
			r := newProofRig(t, overPCSC, nil)
			card, pin := tc.card(r)
			if tc.setup != nil {
				tc.setup(r, card)
			}
			err := r.login(card, pin)
			defer r.slots.remove(t, 0)
			if tc.wantKey == "" {
				if err != nil {
					t.Fatalf("genuine card refused: %v", err)
				}
				if op, ok := r.m.Operator(); !ok || op.HSAID != adminHSAID {
					t.Fatalf("operator = %+v, %v; want %s logged in", op, ok, adminHSAID)
				}
				return
			}
			p, _ := err.(interface{ Key() string })
			if err == nil || p == nil || p.Key() != tc.wantKey {
				t.Fatalf("got %v, want refused with %s", err, tc.wantKey)
			}
			if _, ok := r.m.Operator(); ok {
				t.Fatal("an operator is logged in")
			}
			if tc.wantKey == "pin_wrong" && !strings.Contains(err.Error(), "attempts left") {
				t.Errorf("wrong PIN: %q does not say how many attempts are left", err)
			}
			var why string
			if err := r.st.Reader().QueryRow(`SELECT json_extract(detail, '$.why') FROM audit_log WHERE kind = 'session.login_refused'`).Scan(&why); err != nil || why != tc.wantKey {
				t.Errorf("audit of the refusal: %q (%v), want why=%s", why, err, tc.wantKey)
			}
			if strings.Contains(r.logs.String(), "Test Operatör") {
				t.Error("the holder's name is in the log")
			}
		})
	}
}

// TestLoginProvesTheCardSimulated plays every attacker's card on the
// simulated reader.
func TestLoginProvesTheCardSimulated(t *testing.T) { runLoginCases(t, false) }

// TestLoginProvesTheCardOverPCSC plays every attacker's card over a real
// pcscd with the vpcd driver and virtual PKCS#15 cards.
func TestLoginProvesTheCardOverPCSC(t *testing.T) { runLoginCases(t, true) }

// TestReplayedSignatureIsRefused: a card (or middleware) that answers with
// a signature recorded at an earlier login proves nothing: each challenge
// is fresh and single-use.
func TestReplayedSignatureIsRefused(t *testing.T) {
	rep := &replayer{record: true}
	r := newProofRig(t, false, func(inner cardreader.Reader) cardreader.Reader { rep.Reader = inner; return rep })
	card := r.issue(vcard.Profile{Serial: "9752269900000000911", HSAID: adminHSAID, CommonName: "Test Operatör Ett", PIN: "1234"})
	if err := r.login(card, "1234"); err != nil {
		t.Fatalf("first login: %v", err)
	}
	r.slots.remove(t, 0)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if _, ok := r.m.Operator(); !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("still logged in after the card was removed")
		}
	}
	rep.mu.Lock()
	rep.record = false
	rep.mu.Unlock()
	err := r.login(card, "1234")
	p, _ := err.(interface{ Key() string })
	if p == nil || p.Key() != "trust.bad_signature" {
		t.Fatalf("replayed signature: got %v, want trust.bad_signature", err)
	}
	if _, ok := r.m.Operator(); ok {
		t.Fatal("logged in with a replayed signature")
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
