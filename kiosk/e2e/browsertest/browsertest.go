// Package browsertest drives the station's UI in a real headless Chromium
// (Debian's /usr/bin/chromium) through the DevTools protocol, and saves a
// screenshot of each step into the test-artifacts folder, at the two screen
// sizes the station supports.
package browsertest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/kortstation/kortstation/internal/chromiumtest"
)

// Size is a screen size the UI must work at.
type Size struct {
	Name          string
	Width, Height int64
}

// Sizes are the station's screens: a 7" landscape panel and a portrait one.
var Sizes = []Size{{"800x480", 800, 480}, {"720x1280", 720, 1280}}

// ChromiumPath is where Debian installs Chromium.
const ChromiumPath = chromiumtest.Path

// Browser is one Chromium with one tab.
type Browser struct {
	t      testing.TB
	Ctx    context.Context
	size   Size
	step   int
	artDir string
	taps   tapCount // taps.go
}

// New starts Chromium at size. It fails the test (never skips) when
// Chromium is missing, with the command that installs it.
func New(t testing.TB, size Size) *Browser {
	t.Helper()
	b := &Browser{t: t, size: size}
	b.artDir = filepath.Join(artifactsRoot(), sanitize(t.Name()), size.Name)
	if err := os.MkdirAll(b.artDir, 0o755); err != nil {
		t.Fatal(err)
	}
	b.Ctx = chromiumtest.Start(t, "kortstation-chromium-",
		[]chromedp.ExecAllocatorOption{
			chromedp.Flag("touch-events", "enabled"),
			chromedp.WindowSize(int(size.Width), int(size.Height)),
		},
		emulation.SetDeviceMetricsOverride(size.Width, size.Height, 1, false),
		emulation.SetTouchEmulationEnabled(true))
	return b
}

// artifactsRoot is $KIOSK_TEST_ARTIFACTS or test-artifacts/ at the module root.
func artifactsRoot() string {
	if d := os.Getenv("KIOSK_TEST_ARTIFACTS"); d != "" {
		return d
	}
	dir, _ := os.Getwd()
	for d := dir; d != "/"; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(d, "test-artifacts", "screenshots")
		}
	}
	return filepath.Join(os.TempDir(), "kortstation-test-artifacts")
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func sanitize(s string) string { return unsafeChars.ReplaceAllString(s, "_") }

// Run runs actions with a timeout, failing the test on error with a final
// screenshot.
func (b *Browser) Run(what string, actions ...chromedp.Action) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, 15*time.Second)
	defer cancel()
	if err := chromedp.Run(ctx, actions...); err != nil {
		b.Shot("FAILED-" + what)
		b.t.Fatalf("%s: %v", what, err)
	}
}

// Shot saves a screenshot named for the step.
func (b *Browser) Shot(name string) {
	b.t.Helper()
	b.step++
	var png []byte
	ctx, cancel := context.WithTimeout(b.Ctx, 10*time.Second)
	defer cancel()
	if err := chromedp.Run(ctx, chromedp.CaptureScreenshot(&png)); err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	path := filepath.Join(b.artDir, fmt.Sprintf("%02d-%s.png", b.step, sanitize(name)))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Logf("save screenshot: %v", err)
	}
}

// ShotBoth saves a screenshot named for the step at the browser's size
// and at every other size in Sizes: the page is laid out again at each
// size, captured, and put back. The walk itself happens at one size.
func (b *Browser) ShotBoth(name string) {
	b.t.Helper()
	b.Shot(name)
	for _, other := range Sizes {
		if other == b.size {
			continue
		}
		var png []byte
		ctx, cancel := context.WithTimeout(b.Ctx, 10*time.Second)
		err := chromedp.Run(ctx,
			emulation.SetDeviceMetricsOverride(other.Width, other.Height, 1, false),
			chromedp.Sleep(50*time.Millisecond), // a layout and a paint at the new size
			chromedp.CaptureScreenshot(&png),
			emulation.SetDeviceMetricsOverride(b.size.Width, b.size.Height, 1, false))
		cancel()
		if err != nil {
			b.t.Logf("screenshot %s at %s: %v", name, other.Name, err)
			continue
		}
		dir := filepath.Join(filepath.Dir(b.artDir), other.Name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.t.Logf("save screenshot: %v", err)
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%02d-%s.png", b.step, sanitize(name))), png, 0o644); err != nil {
			b.t.Logf("save screenshot: %v", err)
		}
	}
}

// WaitText waits until the element matching sel contains want.
func (b *Browser) WaitText(sel, want string) {
	b.t.Helper()
	b.Run(fmt.Sprintf("wait for %q in %s", want, sel),
		chromedp.Poll(fmt.Sprintf(`(() => { const e = document.querySelector(%q); return !!e && e.textContent.includes(%q); })()`, sel, want), nil,
			chromedp.WithPollingInterval(10*time.Millisecond)))
}

// Text returns the text content of the element matching sel.
func (b *Browser) Text(sel string) string {
	b.t.Helper()
	var s string
	b.Run("read "+sel, chromedp.TextContent(sel, &s, chromedp.ByQuery))
	return strings.TrimSpace(s)
}

// Tap dispatches a touch tap on the centre of the element matching sel.
func (b *Browser) Tap(sel string) {
	b.t.Helper()
	b.taps.add(sel)
	b.Run("tap "+sel, chromedp.WaitVisible(sel, chromedp.ByQuery), chromedp.Click(sel, chromedp.ByQuery))
}

// T is the test the browser belongs to.
func (b *Browser) T() testing.TB { return b.t }
