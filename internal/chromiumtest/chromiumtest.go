// Package chromiumtest starts Debian's headless Chromium for the browser
// tests: the station's UI (kiosk/e2e/browsertest) and the central console
// (sync/registry/consolebrowser). It owns what a launch has in common —
// the flags, a throwaway profile (user-data dir) and the DevTools
// connection chromedp drives — so both start the browser one way; each
// adds its own options (a window size, a HOME with certificates, a
// wrapper command).
package chromiumtest

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Path is where Debian installs Chromium.
const Path = "/usr/bin/chromium"

// startTimeout bounds the browser's start: the first run, which launches
// Chromium and attaches to its DevTools endpoint.
const startTimeout = 30 * time.Second

// Require fails the test (never skips) when Chromium is missing, with the
// command that installs it.
func Require(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath(Path); err != nil {
		t.Fatalf("Chromium not found at %s: run `make test` (it installs it) or `apt-get install -y chromium`", Path)
	}
}

// Start launches Chromium headless with a fresh profile (a temporary
// directory named after profilePrefix) and extra, opens one tab and runs
// first in it, which starts the browser and attaches to its DevTools
// endpoint, within 30 seconds. It returns the tab's context. The test's
// cleanup closes the browser, waits for it and removes the profile.
func Start(t testing.TB, profilePrefix string, extra []chromedp.ExecAllocatorOption, first ...chromedp.Action) context.Context {
	t.Helper()
	Require(t)
	profile, err := os.MkdirTemp("", profilePrefix)
	if err != nil {
		t.Fatal(err)
	}
	opts := append([]chromedp.ExecAllocatorOption{
		chromedp.ExecPath(Path),
		chromedp.UserDataDir(profile),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-dev-shm-usage", true),
	}, extra...)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(func() {
		_ = chromedp.Cancel(ctx) // closes the browser and waits for it
		cancelCtx()
		cancelAlloc()
		for i := 0; i < 20 && os.RemoveAll(profile) != nil; i++ { // helpers may still be writing as they exit
			time.Sleep(100 * time.Millisecond)
		}
	})
	// The first Run starts Chromium and binds it to its context, so it
	// runs on ctx itself; a timer bounds it.
	stop := time.AfterFunc(startTimeout, cancelCtx)
	err = chromedp.Run(ctx, first...)
	stop.Stop()
	if err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx
}
