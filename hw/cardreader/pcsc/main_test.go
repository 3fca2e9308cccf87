package pcsc_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ebfe/scard"

	"github.com/kortstation/kortstation/hw/cardreader"
	"github.com/kortstation/kortstation/hw/cardreader/pcsc"
	"github.com/kortstation/kortstation/hw/cardreader/pcsctest"
	"github.com/kortstation/kortstation/hw/cardreader/vcard"
)

// daemon is the pcscd every test of this package talks to. Each package
// that needs pcscd (this one, kiosk/counter's login tests) starts its own,
// private one (pcsctest), so `go test ./...` may run them side by side.
var daemon *pcsctest.Daemon

func TestMain(m *testing.M) {
	d, err := pcsctest.Start()
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: the card reader tests need a real pcscd with the vpcd driver: %v\n", err)
		os.Exit(1)
	}
	// libpcsclite reads this once, at the first PC/SC call.
	if err := os.Setenv("PCSCLITE_CSOCK_NAME", d.SocketPath()); err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: %v\n", err)
		d.Close()
		os.Exit(1)
	}
	daemon = d
	code := m.Run()
	if err := d.Close(); err != nil {
		fmt.Fprintf(os.Stderr, "stop pcscd: %v\n", err)
	}
	os.Exit(code)
}

func testLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// harness connects the contract suite to the real driver: pcscd + vpcd +
// virtual cards dialling vpcd's ports.
type harness struct {
	d *pcsctest.Daemon

	mu    sync.Mutex
	conns map[string]*vcard.Conn
}

func newHarness(d *pcsctest.Daemon) *harness {
	return &harness{d: d, conns: map[string]*vcard.Conn{}}
}

func (h *harness) New(*testing.T) cardreader.Reader {
	return pcsc.New(pcsc.Config{Logger: testLogger()})
}

func (h *harness) ReaderNames() []string { return h.d.ReaderNames() }

func (h *harness) Insert(t testing.TB, reader string, card *vcard.Card) {
	t.Helper()
	i := slices.Index(h.d.ReaderNames(), reader)
	if i < 0 {
		t.Fatalf("insert: no vpcd reader %q", reader)
	}
	h.mu.Lock()
	if old := h.conns[reader]; old != nil {
		select {
		case <-old.Done():
		default:
			h.mu.Unlock()
			t.Fatalf("insert: reader %q already holds a card", reader)
		}
	}
	conn, err := card.Insert(context.Background(), h.d.CardAddr(i))
	if err != nil {
		h.mu.Unlock()
		t.Fatalf("insert: %v", err)
	}
	h.conns[reader] = conn
	h.mu.Unlock()
	waitPresent(t, reader, true)
	t.Cleanup(func() { h.Remove(t, reader) })
}

func (h *harness) Remove(t testing.TB, reader string) {
	t.Helper()
	h.mu.Lock()
	conn := h.conns[reader]
	delete(h.conns, reader)
	h.mu.Unlock()
	if conn != nil {
		if err := conn.Remove(); err != nil {
			t.Errorf("remove: %v", err)
		}
	}
	waitPresent(t, reader, false)
}

func (h *harness) RestartService(t testing.TB) {
	t.Helper()
	if err := h.d.Restart(); err != nil {
		t.Fatalf("restart pcscd: %v", err)
	}
	// pcscd's death disconnected the vpcd cards.
	h.mu.Lock()
	defer h.mu.Unlock()
	for reader, conn := range h.conns {
		select {
		case <-conn.Done():
		case <-time.After(5 * time.Second):
			t.Fatalf("card in %q still connected after pcscd stopped", reader)
		}
		delete(h.conns, reader)
	}
}

// waitPresent waits until pcscd reports a card in reader (want) or none.
func waitPresent(t testing.TB, reader string, want bool) {
	t.Helper()
	sc, err := scard.EstablishContext()
	if err != nil {
		t.Fatalf("establish PC/SC context: %v", err)
	}
	defer sc.Release()
	states := []scard.ReaderState{{Reader: reader, CurrentState: scard.StateUnaware}}
	deadline := time.Now().Add(10 * time.Second)
	timeout := time.Duration(0)
	for {
		err := sc.GetStatusChange(states, timeout)
		if err != nil && err != scard.ErrTimeout {
			t.Fatalf("GetStatusChange(%q): %v", reader, err)
		}
		if err == nil {
			ev := states[0].EventState
			if (ev&scard.StatePresent != 0) == want {
				return
			}
			states[0].CurrentState = ev &^ scard.StateChanged
		}
		if timeout = time.Until(deadline); timeout <= 0 {
			t.Fatalf("reader %q: card present = %v not reached within 10 s", reader, want)
		}
	}
}
