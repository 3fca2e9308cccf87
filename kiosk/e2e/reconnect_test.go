package e2e

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kortstation/kortstation/kiosk/app"
	"github.com/kortstation/kortstation/kiosk/e2e/browsertest"
)

// station runs kioskd in-process on addr with its data in dataDir until the
// returned stop function is called.
func station(t *testing.T, addr, dataDir string) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- app.Main(ctx, app.Env{
			Args:   append([]string{"-listen", addr, "-data-dir", dataDir, "-log-level", "warn", "-registry", "embedded"}, devArgs...),
			Stdout: io.Discard, Stderr: io.Discard, Ready: func(a string) { ready <- a },
		})
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("station did not start: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("station did not start in 10 s")
	}
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("station stopped with %v", err)
		}
	}
}

func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestUIReconnectsAndResumesAfterDrop: the station goes away under the
// browser and comes back; the page, never reloaded, reconnects by itself and
// shows the station's state again.
func TestUIReconnectsAndResumesAfterDrop(t *testing.T) {
	for _, size := range browsertest.Sizes {
		t.Run(size.Name, func(t *testing.T) {
			addr, dir := freeAddr(t), t.TempDir()
			stop := station(t, addr, dir)
			b := browsertest.New(t, size)
			b.Run("open UI", chromedp.Navigate(kioskURL(t, addr, dir)))
			b.WaitText("#conn", "Ansluten")
			b.WaitText("#station-name", "Kortstation (utveckling)")
			b.WaitText("#st-drawer", "stängd")
			b.WaitText("#st-printer", "redo")
			b.Shot("connected")

			stop()
			b.WaitText("#conn", "Frånkopplad")
			b.Shot("dropped")

			stop = station(t, addr, dir)
			defer stop()
			b.WaitText("#conn", "Ansluten")
			b.WaitText("#station-name", "Kortstation (utveckling)")
			b.Shot("resumed")

			// The language toggle is local to the UI and survives too.
			b.Tap("#lang")
			b.WaitText("#conn", "Connected")
			b.WaitText("#status-title", "Station status")
			b.Shot("english")
		})
	}
}

// TestDevPanelDrivesSimulatedHardware: in simulation the dev panel opens the
// drawer; with nobody logged in that is an RC-7 alarm, shown on the status
// screen of every connected browser.
func TestDevPanelDrivesSimulatedHardware(t *testing.T) {
	addr, dir := freeAddr(t), t.TempDir()
	stop := station(t, addr, dir)
	defer stop()
	a := browsertest.New(t, browsertest.Sizes[0])
	b := browsertest.New(t, browsertest.Sizes[1])
	for _, br := range []*browsertest.Browser{a, b} {
		br.Run("open UI", chromedp.Navigate(kioskURL(t, addr, dir)))
		br.WaitText("#st-drawer", "stängd")
	}
	a.Tap("#dev-drawer-open")
	for _, br := range []*browsertest.Browser{a, b} {
		br.WaitText("#st-drawer", "LARM")
		br.Shot("drawer-alarm")
	}
	a.Tap("#dev-printer-paused")
	b.WaitText("#st-printer", "pausad")
	a.Tap("#dev-drawer-close")
	b.WaitText("#st-drawer", "stängd")
	b.Shot("closed")
}
