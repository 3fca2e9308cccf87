package pcsc_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/kortstation/kortstation/hw/cardreader"
	"github.com/kortstation/kortstation/hw/cardreader/pcsc"
	"github.com/kortstation/kortstation/hw/cardreader/vcard"
)

// recvKind receives events until one of kind arrives.
func recvKind(t *testing.T, ch <-chan cardreader.Event, kind cardreader.EventKind, reader string) cardreader.Event {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev := <-ch:
			if ev.Kind == kind && ev.Reader == reader {
				return ev
			}
		case <-timeout:
			t.Fatalf("no %v %q within 10 s", kind, reader)
		}
	}
}

// TestServiceDownAtStart: pcscd not running when the station starts, then
// started: ServiceUnavailable first, clear errors meanwhile, then
// ServiceRestored and the readers.
func TestServiceDownAtStart(t *testing.T) {
	if err := daemon.Stop(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := daemon.Start(); err != nil && err.Error() != "pcsctest: pcscd is already running" {
			t.Errorf("start pcscd again: %v", err)
		}
	})
	drv := pcsc.New(pcsc.Config{Logger: testLogger()})
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan cardreader.Event)
	done := make(chan error, 1)
	go func() { done <- drv.Run(ctx, ch) }()
	defer func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run: got %v, want context.Canceled", err)
		}
	}()

	select {
	case ev := <-ch:
		if ev.Kind != cardreader.ServiceUnavailable {
			t.Fatalf("first event %v, want ServiceUnavailable", ev)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10 s")
	}
	if got := drv.Readers(); got != nil {
		t.Errorf("Readers() = %v, want nil while pcscd is down", got)
	}
	reader := daemon.ReaderNames()[0]
	if _, err := drv.ReadCard(ctx, reader); !errors.Is(err, cardreader.ErrServiceUnavailable) {
		t.Errorf("ReadCard: got %v, want ErrServiceUnavailable", err)
	}
	pin := []byte("1234")
	if err := drv.VerifyPIN(ctx, reader, pin); !errors.Is(err, cardreader.ErrServiceUnavailable) {
		t.Errorf("VerifyPIN: got %v, want ErrServiceUnavailable", err)
	}
	if string(pin) != "\x00\x00\x00\x00" {
		t.Error("PIN not zeroed")
	}

	if err := daemon.Start(); err != nil {
		t.Fatal(err)
	}
	recvKind(t, ch, cardreader.ServiceRestored, "")
	recvKind(t, ch, cardreader.ReaderAttached, daemon.ReaderNames()[0])
}

// TestRunStopsPromptly: cancelling Run's context ends the blocking
// GetStatusChange at once (SCardCancel), repeatedly.
func TestRunStopsPromptly(t *testing.T) {
	drv := pcsc.New(pcsc.Config{Logger: testLogger()})
	for range 5 {
		ctx, cancel := context.WithCancel(context.Background())
		ch := make(chan cardreader.Event)
		done := make(chan error, 1)
		go func() { done <- drv.Run(ctx, ch) }()
		recvKind(t, ch, cardreader.ReaderAttached, daemon.ReaderNames()[1])
		began := time.Now()
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Run: got %v, want context.Canceled", err)
			}
			if d := time.Since(began); d > time.Second {
				t.Errorf("Run took %v to stop", d)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Run did not stop within 5 s")
		}
	}
}

// TestPINHoldExpires: the connection that keeps a verified card powered
// is released after Config.PINHold; pcscd then powers the card down and
// Sign finds the PIN no longer verified.
func TestPINHoldExpires(t *testing.T) {
	reader := daemon.ReaderNames()[1]
	h := newHarness(daemon)
	ca, err := vcard.NewCA("hold CA")
	if err != nil {
		t.Fatal(err)
	}
	card, err := ca.Issue(vcard.Profile{Serial: "4000000000000000001", HSAID: "SE2321000131-P000000040001", PIN: "1234"})
	if err != nil {
		t.Fatal(err)
	}
	h.Insert(t, reader, card)
	drv := pcsc.New(pcsc.Config{Logger: testLogger(), PINHold: 100 * time.Millisecond})
	ctx := context.Background()
	if err := drv.VerifyPIN(ctx, reader, []byte("1234")); err != nil {
		t.Fatal(err)
	}
	// pcsc-lite powers an unused card down within a second here.
	time.Sleep(2 * time.Second)
	if _, err := drv.Sign(ctx, reader, []byte("x")); !errors.Is(err, cardreader.ErrSecurityStatus) {
		t.Errorf("Sign 2 s after the PIN with a 100 ms hold: got %v, want ErrSecurityStatus", err)
	}
}
