// Package readertest is the contract suite every cardreader.Reader must
// pass: the real driver (pcscd + vpcd + a virtual card, in package pcsc's
// tests) and the simulator (package sim) run the same tests through a
// Harness. If the simulator passes what the real driver fails, the
// simulator is wrong.
package readertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/kortstation/kortstation/hw/cardreader"
	"github.com/kortstation/kortstation/hw/cardreader/vcard"
)

// Harness connects the suite to one Reader implementation and lets it act
// on the (real or simulated) readers.
type Harness interface {
	// New returns a Reader that is not running and sees ReaderNames (a new
	// one, or the harness's only one).
	New(t *testing.T) cardreader.Reader
	// ReaderNames returns the names of two readers the suite may use.
	ReaderNames() []string
	// Insert puts card into reader and returns once the reader service
	// can see it. The card is removed when the test ends.
	Insert(t *testing.T, reader string, card *vcard.Card)
	// Remove takes the card out of reader (nothing if it is empty) and
	// returns once the reader service has seen it go.
	Remove(t *testing.T, reader string)
	// RestartService stops the PC/SC service and starts it again.
	RestartService(t *testing.T)
}

// EventTimeout bounds the wait for an event. pcscd sees a vpcd card within
// about 400 ms; the margin is for a loaded machine.
const EventTimeout = 10 * time.Second

// opTimeout bounds ReadCard, VerifyPIN and Sign in the suite.
const opTimeout = 15 * time.Second

// pins of the suite's cards.
const (
	rightPIN = "1234"
	wrongPIN = "9999"
)

// fixture issues the suite's cards.
type fixture struct {
	ca *vcard.CA
}

func (f fixture) operator(t *testing.T, serial string) *vcard.Card {
	t.Helper()
	return f.operatorWith(t, serial, vcard.ECDSAP256)
}

func (f fixture) operatorWith(t *testing.T, serial string, alg vcard.KeyAlgorithm) *vcard.Card {
	t.Helper()
	c, err := f.ca.Issue(vcard.Profile{Serial: serial, HSAID: "SE2321000131-P0000000" + serial[len(serial)-5:], PIN: rightPIN, Key: alg})
	if err != nil {
		t.Fatalf("issue card: %v", err)
	}
	return c
}

func (f fixture) blank(t *testing.T, serial string) *vcard.Card {
	t.Helper()
	c, err := f.ca.Issue(vcard.Profile{Serial: serial, PIN: rightPIN})
	if err != nil {
		t.Fatalf("issue blank card: %v", err)
	}
	return c
}

// Run runs the contract suite against h.
func Run(t *testing.T, h Harness) { run(t, h, nil) }

// RunOnly runs the named tests of the suite (the subtest names, e.g.
// "right PIN" or "sign/ECDSA P-256") against h: for a Reader to which the
// others do not apply, such as one whose cards are PKCS#11 tokens rather
// than PKCS#15 cards answering APDUs. A name the suite does not have fails
// the test.
func RunOnly(t *testing.T, h Harness, names ...string) {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	ran := map[string]bool{}
	run(t, h, func(name string) bool {
		ran[name] = true
		return want[name]
	})
	for _, n := range names {
		if !ran[n] {
			t.Errorf("readertest.RunOnly: the suite has no test %q", n)
		}
	}
}

// run runs the tests that selected accepts (all if nil).
func run(t *testing.T, h Harness, selected func(name string) bool) {
	sub := func(name string, fn func(t *testing.T)) {
		if selected == nil || selected(name) {
			t.Run(name, fn)
		}
	}
	ca, err := vcard.NewCA("readertest CA")
	if err != nil {
		t.Fatalf("new CA: %v", err)
	}
	f := fixture{ca: ca}
	names := h.ReaderNames()
	if len(names) < 2 {
		t.Fatalf("harness gives %d readers, want 2", len(names))
	}
	r0, r1 := names[0], names[1]

	sub("readers attached at start", func(t *testing.T) {
		r := h.New(t)
		rec := start(t, r)
		rec.expect(t, match{cardreader.ReaderAttached, r0}, match{cardreader.ReaderAttached, r1})
		waitFor(t, "Readers() lists both readers", func() bool {
			got := r.Readers()
			return slices.Contains(got, r0) && slices.Contains(got, r1) && slices.IsSorted(got)
		})
	})

	sub("second Run is refused", func(t *testing.T) {
		r := h.New(t)
		rec := start(t, r)
		rec.expect(t, match{cardreader.ReaderAttached, r0})
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := r.Run(ctx, make(chan cardreader.Event)); !errors.Is(err, cardreader.ErrAlreadyRunning) {
			t.Errorf("second Run: got %v, want ErrAlreadyRunning", err)
		}
	})

	sub("insert and remove", func(t *testing.T) {
		r := h.New(t)
		rec := start(t, r)
		rec.expect(t, match{cardreader.ReaderAttached, r0})
		h.Insert(t, r0, f.operator(t, "1000000000000000001"))
		ev := rec.expect(t, match{cardreader.CardInserted, r0})[0]
		if !bytes.Equal(ev.ATR, vcard.ATR()) {
			t.Errorf("CardInserted ATR = % X, want % X", ev.ATR, vcard.ATR())
		}
		h.Remove(t, r0)
		rec.expect(t, match{cardreader.CardRemoved, r0})
	})

	sub("card already in the reader when Run starts", func(t *testing.T) {
		h.Insert(t, r0, f.operator(t, "1000000000000000002"))
		r := h.New(t)
		rec := start(t, r)
		rec.expect(t, match{cardreader.ReaderAttached, r0})
		rec.expect(t, match{cardreader.CardInserted, r0})
	})

	sub("RC-9/read serial, certificate and HSA-ID", func(t *testing.T) {
		r := h.New(t)
		card := f.operator(t, "1000000000000000003")
		h.Insert(t, r0, card)
		got := readCard(t, r, r0)
		if got.Serial != card.Serial() {
			t.Errorf("Serial = %q, want %q", got.Serial, card.Serial())
		}
		if !bytes.Equal(got.ATR, vcard.ATR()) {
			t.Errorf("ATR = % X, want % X", got.ATR, vcard.ATR())
		}
		if !bytes.Equal(got.CertificateDER, card.CertificateDER()) {
			t.Errorf("certificate: got %d bytes, want the card's %d", len(got.CertificateDER), len(card.CertificateDER()))
		}
		if got.Certificate == nil {
			t.Fatal("Certificate not parsed")
		}
		if err := got.Certificate.CheckSignatureFrom(ca.Certificate()); err != nil {
			t.Errorf("certificate not signed by the CA: %v", err)
		}
		if want := "SE2321000131-P000000000003"; got.HSAID != want {
			t.Errorf("HSAID = %q, want %q", got.HSAID, want)
		}
		if got.PINRetries != vcard.DefaultMaxRetries {
			t.Errorf("PINRetries = %d, want %d", got.PINRetries, vcard.DefaultMaxRetries)
		}
	})

	sub("RC-9/blank reserve card has a serial and no certificate", func(t *testing.T) {
		r := h.New(t)
		card := f.blank(t, "2000000000000000001")
		h.Insert(t, r0, card)
		got := readCard(t, r, r0)
		if got.Serial != card.Serial() {
			t.Errorf("Serial = %q, want %q", got.Serial, card.Serial())
		}
		if got.CertificateDER != nil || got.Certificate != nil || got.HSAID != "" {
			t.Errorf("blank card: got certificate %d bytes, HSAID %q; want none", len(got.CertificateDER), got.HSAID)
		}
	})

	sub("right PIN", func(t *testing.T) {
		r := h.New(t)
		card := f.operator(t, "1000000000000000004")
		h.Insert(t, r0, card)
		pin := []byte(rightPIN)
		if err := verify(r, r0, pin); err != nil {
			t.Fatalf("VerifyPIN(right PIN): %v", err)
		}
		assertZeroed(t, pin)
		if got := card.PINRetries(); got != vcard.DefaultMaxRetries {
			t.Errorf("card retry counter = %d, want %d", got, vcard.DefaultMaxRetries)
		}
	})

	sub("wrong PIN counts down to blocked", func(t *testing.T) {
		r := h.New(t)
		card := f.operator(t, "1000000000000000005")
		h.Insert(t, r0, card)
		for _, want := range []int{2, 1} {
			pin := []byte(wrongPIN)
			err := verify(r, r0, pin)
			assertZeroed(t, pin)
			var pe *cardreader.PINError
			if !errors.As(err, &pe) {
				t.Fatalf("VerifyPIN(wrong PIN): got %v, want *PINError", err)
			}
			if pe.Retries != want {
				t.Errorf("Retries = %d, want %d", pe.Retries, want)
			}
			msg := fmt.Sprintf("%d attempts left", want)
			if want == 1 {
				msg = "1 attempt left"
			}
			if !bytes.Contains([]byte(pe.Error()), []byte(msg)) {
				t.Errorf("PINError message %q does not say %q", pe.Error(), msg)
			}
		}
		if err := verify(r, r0, []byte(wrongPIN)); !errors.Is(err, cardreader.ErrPINBlocked) {
			t.Fatalf("last wrong PIN: got %v, want ErrPINBlocked", err)
		}
		if err := verify(r, r0, []byte(rightPIN)); !errors.Is(err, cardreader.ErrPINBlocked) {
			t.Errorf("right PIN on a blocked card: got %v, want ErrPINBlocked", err)
		}
		got := readCard(t, r, r0)
		if got.PINRetries != 0 || !got.PINBlocked() {
			t.Errorf("PINRetries = %d, want 0 (blocked)", got.PINRetries)
		}
	})

	sub("right PIN resets the retry counter", func(t *testing.T) {
		r := h.New(t)
		card := f.operator(t, "1000000000000000006")
		h.Insert(t, r0, card)
		var pe *cardreader.PINError
		if err := verify(r, r0, []byte(wrongPIN)); !errors.As(err, &pe) || pe.Retries != 2 {
			t.Fatalf("wrong PIN: got %v, want 2 attempts left", err)
		}
		if err := verify(r, r0, []byte(rightPIN)); err != nil {
			t.Fatalf("right PIN: %v", err)
		}
		if got := card.PINRetries(); got != vcard.DefaultMaxRetries {
			t.Errorf("card retry counter after the right PIN = %d, want %d", got, vcard.DefaultMaxRetries)
		}
		// The PIN stays verified for the card session: ReadCard says so.
		if got := readCard(t, r, r0).PINRetries; got != -1 {
			t.Errorf("PINRetries after the right PIN = %d, want -1 (verified)", got)
		}
	})

	sub("malformed PIN is refused without using an attempt", func(t *testing.T) {
		r := h.New(t)
		card := f.operator(t, "1000000000000000007")
		h.Insert(t, r0, card)
		for _, bad := range []string{"", "123", "123456789", "12a4", "12 4"} {
			pin := []byte(bad)
			if err := verify(r, r0, pin); !errors.Is(err, cardreader.ErrPINFormat) {
				t.Errorf("VerifyPIN(%d bad bytes): got %v, want ErrPINFormat", len(bad), err)
			}
			assertZeroed(t, pin)
		}
		if got := card.PINRetries(); got != vcard.DefaultMaxRetries {
			t.Errorf("card retry counter = %d, want %d (untouched)", got, vcard.DefaultMaxRetries)
		}
	})

	sub("empty reader", func(t *testing.T) {
		r := h.New(t)
		h.Remove(t, r0)
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		if _, err := r.ReadCard(ctx, r0); !errors.Is(err, cardreader.ErrNoCard) {
			t.Errorf("ReadCard: got %v, want ErrNoCard", err)
		}
		if err := r.VerifyPIN(ctx, r0, []byte(rightPIN)); !errors.Is(err, cardreader.ErrNoCard) {
			t.Errorf("VerifyPIN: got %v, want ErrNoCard", err)
		}
		if _, err := r.Sign(ctx, r0, []byte("challenge")); !errors.Is(err, cardreader.ErrNoCard) {
			t.Errorf("Sign: got %v, want ErrNoCard", err)
		}
	})

	sub("unknown reader", func(t *testing.T) {
		r := h.New(t)
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		if _, err := r.ReadCard(ctx, "No Such Reader 99 99"); !errors.Is(err, cardreader.ErrNoReader) {
			t.Errorf("ReadCard: got %v, want ErrNoReader", err)
		}
	})

	sub("card pulled mid-read", func(t *testing.T) {
		r := h.New(t)
		rec := start(t, r)
		card := f.operator(t, "1000000000000000008")
		h.Insert(t, r0, card)
		rec.expect(t, match{cardreader.CardInserted, r0})
		reads := 0
		card.PullOn(func(apdu []byte) bool {
			if len(apdu) > 1 && apdu[1] == cardreader.InsReadBinary {
				reads++
			}
			return reads == 2
		})
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		began := time.Now()
		_, err := r.ReadCard(ctx, r0)
		if !errors.Is(err, cardreader.ErrCardRemoved) {
			t.Errorf("ReadCard with the card pulled: got %v, want ErrCardRemoved", err)
		}
		if d := time.Since(began); d > 5*time.Second {
			t.Errorf("ReadCard took %v after the pull, want a prompt error", d)
		}
		rec.expect(t, match{cardreader.CardRemoved, r0})
		h.Remove(t, r0)

		// The reader works again.
		h.Insert(t, r0, card)
		rec.expect(t, match{cardreader.CardInserted, r0})
		if got := readCard(t, r, r0); got.Serial != card.Serial() {
			t.Errorf("after the pull: Serial = %q, want %q", got.Serial, card.Serial())
		}
	})

	sub("card that stops answering does not hang", func(t *testing.T) {
		r := h.New(t)
		rec := start(t, r)
		card := f.operator(t, "1000000000000000011")
		h.Insert(t, r0, card)
		rec.expect(t, match{cardreader.CardInserted, r0})
		card.StallOn(func(apdu []byte) bool { return len(apdu) > 1 && apdu[1] == cardreader.InsReadBinary })
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		began := time.Now()
		_, err := r.ReadCard(ctx, r0)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("ReadCard on a mute card: got %v, want context.DeadlineExceeded", err)
		}
		if d := time.Since(began); d > 4*time.Second {
			t.Errorf("ReadCard returned after %v, want about its 2 s deadline", d)
		}
		h.Remove(t, r0)
		rec.expect(t, match{cardreader.CardRemoved, r0})

		// The reader works again.
		h.Insert(t, r0, card)
		rec.expect(t, match{cardreader.CardInserted, r0})
		if got := readCard(t, r, r0); got.Serial != card.Serial() {
			t.Errorf("after the stall: Serial = %q, want %q", got.Serial, card.Serial())
		}
	})

	sub("second reader", func(t *testing.T) {
		r := h.New(t)
		rec := start(t, r)
		a, b := f.operator(t, "1000000000000000009"), f.blank(t, "2000000000000000002")
		h.Insert(t, r0, a)
		h.Insert(t, r1, b)
		rec.expect(t, match{cardreader.CardInserted, r0}, match{cardreader.CardInserted, r1})
		var wg sync.WaitGroup
		got := make([]cardreader.Card, 2)
		errs := make([]error, 2)
		for i, name := range []string{r0, r1} {
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
				defer cancel()
				got[i], errs[i] = r.ReadCard(ctx, name)
			})
		}
		wg.Wait()
		for i, want := range []*vcard.Card{a, b} {
			if errs[i] != nil {
				t.Errorf("ReadCard(reader %d): %v", i, errs[i])
			} else if got[i].Serial != want.Serial() {
				t.Errorf("ReadCard(reader %d): Serial = %q, want %q", i, got[i].Serial, want.Serial())
			}
		}
		h.Remove(t, r1)
		rec.expect(t, match{cardreader.CardRemoved, r1})
	})

	for i, alg := range []vcard.KeyAlgorithm{vcard.ECDSAP256, vcard.RSA2048} {
		sub("sign/"+alg.String(), func(t *testing.T) {
			r := h.New(t)
			card := f.operatorWith(t, fmt.Sprintf("300000000000000000%d", i), alg)
			h.Insert(t, r0, card)
			got := readCard(t, r, r0)
			ch1, ch2 := []byte("challenge one"), []byte("challenge two")
			if _, err := sign(r, r0, ch1); !errors.Is(err, cardreader.ErrSecurityStatus) {
				t.Errorf("Sign before the PIN: got %v, want ErrSecurityStatus", err)
			}
			if err := verify(r, r0, []byte(rightPIN)); err != nil {
				t.Fatalf("VerifyPIN: %v", err)
			}
			sig1, err := sign(r, r0, ch1)
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			sig2, err := sign(r, r0, ch2)
			if err != nil {
				t.Fatalf("second Sign: %v", err)
			}
			for _, tt := range []struct {
				name      string
				sig       cardreader.Signature
				challenge []byte
				ok        bool
			}{
				{"first signature, first challenge", sig1, ch1, true},
				{"first signature, second challenge", sig1, ch2, false},
				{"second signature, second challenge", sig2, ch2, true},
				{"second signature, first challenge", sig2, ch1, false},
			} {
				if err := tt.sig.Verify(got.Certificate, tt.challenge); (err == nil) != tt.ok {
					t.Errorf("%s: got %v, want verified = %v", tt.name, err, tt.ok)
				}
			}
			if bytes.Equal(sig1.Value, sig2.Value) {
				t.Error("two challenges gave the same signature")
			}
		})
	}

	sub("sign/PIN still verified a while later", func(t *testing.T) {
		// pcscd powers an unused card down within a second, resetting it:
		// the PIN must survive the pause between VerifyPIN and Sign.
		r := h.New(t)
		card := f.operator(t, "3000000000000000012")
		h.Insert(t, r0, card)
		got := readCard(t, r, r0)
		if err := verify(r, r0, []byte(rightPIN)); err != nil {
			t.Fatalf("VerifyPIN: %v", err)
		}
		time.Sleep(2 * time.Second)
		sig, err := sign(r, r0, []byte("later"))
		if err != nil {
			t.Fatalf("Sign 2 s after the PIN: %v", err)
		}
		if err := sig.Verify(got.Certificate, []byte("later")); err != nil {
			t.Errorf("Verify: %v", err)
		}
	})

	sub("sign/copied certificate does not verify", func(t *testing.T) {
		r := h.New(t)
		victim := f.operator(t, "3000000000000000010")
		thief, err := vcard.CopyCertificate(victim, "6660000000000000001", rightPIN)
		if err != nil {
			t.Fatal(err)
		}
		h.Insert(t, r0, thief)
		got := readCard(t, r, r0)
		if want := "SE2321000131-P000000000010"; got.HSAID != want {
			t.Errorf("HSAID = %q, want the victim's %q", got.HSAID, want)
		}
		if err := got.Certificate.CheckSignatureFrom(ca.Certificate()); err != nil {
			t.Errorf("copied certificate is the CA's and should check: %v", err)
		}
		if err := verify(r, r0, []byte(rightPIN)); err != nil {
			t.Fatalf("VerifyPIN: %v", err)
		}
		challenge := []byte("prove it")
		sig, err := sign(r, r0, challenge)
		if err != nil {
			t.Fatalf("Sign: %v", err)
		}
		if err := sig.Verify(got.Certificate, challenge); err == nil {
			t.Error("Verify of the thief's signature: got nil, want an error")
		}
	})

	sub("sign/self-signed certificate verifies but is not the CA's", func(t *testing.T) {
		r := h.New(t)
		forger, err := vcard.SelfSigned(vcard.Profile{Serial: "6660000000000000002", HSAID: "SE2321000131-P000000012345", PIN: rightPIN})
		if err != nil {
			t.Fatal(err)
		}
		h.Insert(t, r0, forger)
		got := readCard(t, r, r0)
		if err := verify(r, r0, []byte(rightPIN)); err != nil {
			t.Fatalf("VerifyPIN: %v", err)
		}
		sig, err := sign(r, r0, []byte("prove it"))
		if err != nil {
			t.Fatalf("Sign: %v", err)
		}
		if err := sig.Verify(got.Certificate, []byte("prove it")); err != nil {
			t.Errorf("Verify: %v (the forger holds its own key)", err)
		}
		if err := got.Certificate.CheckSignatureFrom(ca.Certificate()); err == nil {
			t.Error("self-signed certificate checks against the CA: got nil, want an error")
		}
	})

	sub("sign/blank card has no key", func(t *testing.T) {
		r := h.New(t)
		h.Insert(t, r0, f.blank(t, "2000000000000000003"))
		if err := verify(r, r0, []byte(rightPIN)); err != nil {
			t.Fatalf("VerifyPIN: %v", err)
		}
		if _, err := sign(r, r0, []byte("x")); !errors.Is(err, cardreader.ErrNoKey) {
			t.Errorf("Sign: got %v, want ErrNoKey", err)
		}
	})

	sub("sign/card removed between PIN and Sign", func(t *testing.T) {
		r := h.New(t)
		card := f.operator(t, "3000000000000000011")
		h.Insert(t, r0, card)
		if err := verify(r, r0, []byte(rightPIN)); err != nil {
			t.Fatalf("VerifyPIN: %v", err)
		}
		h.Remove(t, r0)
		if _, err := sign(r, r0, []byte("x")); !errors.Is(err, cardreader.ErrCardRemoved) {
			t.Errorf("Sign with the card out: got %v, want ErrCardRemoved", err)
		}
		h.Insert(t, r0, card)
		if _, err := sign(r, r0, []byte("x")); !errors.Is(err, cardreader.ErrCardRemoved) {
			t.Errorf("Sign with the card put back: got %v, want ErrCardRemoved", err)
		}
		// A new PIN makes it sign again.
		if err := verify(r, r0, []byte(rightPIN)); err != nil {
			t.Fatalf("VerifyPIN again: %v", err)
		}
		if _, err := sign(r, r0, []byte("x")); err != nil {
			t.Errorf("Sign after a new PIN: %v", err)
		}
	})

	sub("service restart", func(t *testing.T) {
		r := h.New(t)
		rec := start(t, r)
		card := f.operator(t, "1000000000000000010")
		h.Insert(t, r0, card)
		rec.expect(t, match{cardreader.CardInserted, r0})

		h.RestartService(t)
		rec.expect(t, match{cardreader.ServiceUnavailable, ""})
		rec.expect(t, match{cardreader.ReaderDetached, r0}, match{cardreader.ReaderDetached, r1})
		rec.expect(t, match{cardreader.ServiceRestored, ""})
		rec.expect(t, match{cardreader.ReaderAttached, r0}, match{cardreader.ReaderAttached, r1})
		waitFor(t, "Readers() lists both readers after the restart", func() bool {
			got := r.Readers()
			return slices.Contains(got, r0) && slices.Contains(got, r1)
		})

		// Whether the card survived the restart depends on the reader (a
		// vpcd card is disconnected, a card in a USB reader is not): take it
		// out, then insertion must work as before.
		h.Remove(t, r0)
		rec.waitState(t, r0, stateAttached)
		rec.skip()
		h.Insert(t, r0, card)
		rec.expect(t, match{cardreader.CardInserted, r0})
		if got := readCard(t, r, r0); got.Serial != card.Serial() {
			t.Errorf("after the restart: Serial = %q, want %q", got.Serial, card.Serial())
		}
	})
}

func readCard(t *testing.T, r cardreader.Reader, reader string) cardreader.Card {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	c, err := r.ReadCard(ctx, reader)
	if err != nil {
		t.Fatalf("ReadCard(%q): %v", reader, err)
	}
	return c
}

func verify(r cardreader.Reader, reader string, pin []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	return r.VerifyPIN(ctx, reader, pin)
}

func sign(r cardreader.Reader, reader string, challenge []byte) (cardreader.Signature, error) {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	return r.Sign(ctx, reader, challenge)
}

func assertZeroed(t *testing.T, pin []byte) {
	t.Helper()
	for _, b := range pin {
		if b != 0 {
			t.Errorf("PIN buffer not zeroed after VerifyPIN")
			return
		}
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(EventTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for: %s", EventTimeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
