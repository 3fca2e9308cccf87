package e2e

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kortstation/kortstation/kiosk/app"
	"github.com/kortstation/kortstation/kiosk/e2e/browsertest"
)

// devStation starts kioskd on its `make run` defaults (simulated hardware,
// the embedded reference registry) in dir, opens the UI at 800×480 and
// logs in as the registry's administrator Anna once the first sync has
// brought the registry's list (AD-1). The station stops at the end of the
// test.
func devStation(t *testing.T, dir string, extra ...string) *browsertest.Browser {
	t.Helper()
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- app.Main(ctx, app.Env{Args: append(append([]string{"-listen", addr, "-data-dir", dir, "-log-level", "warn", "-registry", "embedded"}, devArgs...), extra...),
			Stdout: io.Discard, Stderr: stderr(), Ready: func(a string) { ready <- a }})
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("station did not start: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("station did not start in 20 s")
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("station stopped with %v", err)
		}
	})
	b := browsertest.New(t, browsertest.Sizes[0])
	b.Run("open UI", chromedp.Navigate(kioskURL(t, addr, dir)))
	b.WaitText("#conn", "Ansluten")

	deadline := time.Now().Add(30 * time.Second)
	for {
		insert(b, reader0, "9752269900000000051")
		var state string
		b.Run("login state", chromedp.Poll(`(() => { const s = document.getElementById("screen").dataset.state;
			return (s === "pin" || document.getElementById("login-error")) ? (s === "pin" ? "pin" : "refused") : false; })()`, &state,
			chromedp.WithPollingInterval(20*time.Millisecond)))
		if state == "pin" {
			break
		}
		remove(b, reader0)
		if time.Now().After(deadline) {
			t.Fatal("the registry's administrators never arrived")
		}
		time.Sleep(300 * time.Millisecond)
	}
	pinPad(b, "1234")
	b.WaitText("#operator", "Anna Administratör")
	return b
}
