package p11_test

import (
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/kortstation/kortstation/hw/cardreader"
	"github.com/kortstation/kortstation/hw/cardreader/p11"
	"github.com/kortstation/kortstation/hw/cardreader/p11/p11test"
	"github.com/kortstation/kortstation/hw/cardreader/readertest"
	"github.com/kortstation/kortstation/hw/cardreader/vcard"
)

// hsm is the SoftHSM2 every test of this package uses (one per process:
// SOFTHSM2_CONF is read at C_Initialize).
var hsm *p11test.HSM

func TestMain(m *testing.M) {
	h, err := p11test.Start()
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: the PKCS#11 reader tests need SoftHSM2: %v\n", err)
		os.Exit(1)
	}
	hsm = h
	code := m.Run()
	if err := h.Close(); err != nil {
		fmt.Fprintf(os.Stderr, "close SoftHSM2: %v\n", err)
	}
	os.Exit(code)
}

// harness runs the contract suite's cards as SoftHSM2 tokens: each
// vcard.Card becomes a token with its certificate, key, PIN and retries
// the first time it is inserted. The token serial (16 characters at most,
// unique, and ending in a large hex number for SoftHSM2's slot numbers, see
// p11test) ends in "9", the card serial's first character and its last 6.
type harness struct {
	st *p11test.Station

	mu     sync.Mutex
	tokens map[*vcard.Card]*p11test.Token
}

func (h *harness) New(t *testing.T) cardreader.Reader {
	r, err := h.st.NewReader(p11.Config{})
	if err != nil {
		t.Fatalf("new reader: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func (h *harness) ReaderNames() []string {
	return []string{"Simulated Reader 00", "Simulated Reader 01"}
}

func (h *harness) Insert(t *testing.T, reader string, card *vcard.Card) {
	t.Helper()
	h.mu.Lock()
	tok := h.tokens[card]
	h.mu.Unlock()
	if tok == nil {
		var err error
		o := card.Contents()
		serial := "99999999" + "9" + o.Serial[:1] + o.Serial[len(o.Serial)-6:]
		if tok, err = hsm.NewToken(p11test.Spec{Serial: serial, CertificateDER: o.CertificateDER, Key: o.Key, PIN: o.PIN, MaxRetries: o.MaxRetries}); err != nil {
			t.Fatalf("make the card a token: %v", err)
		}
		h.mu.Lock()
		h.tokens[card] = tok
		h.mu.Unlock()
	}
	if err := h.st.Insert(reader, tok); err != nil {
		t.Fatalf("insert: %v", err)
	}
	t.Cleanup(func() { h.Remove(t, reader) })
}

func (h *harness) Remove(t *testing.T, reader string) {
	t.Helper()
	if err := h.st.Remove(reader); err != nil {
		t.Fatalf("remove: %v", err)
	}
}

func (h *harness) RestartService(*testing.T) {
	h.st.Sim.StopService()
	h.st.Sim.StartService()
}

// TestContract runs the contract suite's tests that apply to a PKCS#11
// token. Not run: the serial number tests (a token's serial has 16
// characters, the suite's cards 19: TestReadCard checks the serial), the
// pulled and mute card tests (they act on APDUs, which PKCS#11 hides),
// "second reader" (serials; TestTwoReaders) and "service restart" (it
// ends on the serial).
func TestContract(t *testing.T) {
	h := &harness{st: hsm.NewStation(), tokens: map[*vcard.Card]*p11test.Token{}}
	readertest.RunOnly(t, h,
		"readers attached at start",
		"second Run is refused",
		"insert and remove",
		"card already in the reader when Run starts",
		"right PIN",
		"wrong PIN counts down to blocked",
		"right PIN resets the retry counter",
		"malformed PIN is refused without using an attempt",
		"empty reader",
		"unknown reader",
		"sign/ECDSA P-256",
		"sign/RSA 2048",
		"sign/PIN still verified a while later",
		"sign/copied certificate does not verify",
		"sign/self-signed certificate verifies but is not the CA's",
		"sign/blank card has no key",
		"sign/card removed between PIN and Sign",
	)
}
