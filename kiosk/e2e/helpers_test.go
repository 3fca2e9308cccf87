package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/kortstation/kortstation/kiosk/app"
	"github.com/kortstation/kortstation/kiosk/clock"
	"github.com/kortstation/kortstation/kiosk/e2e/browsertest"
	"github.com/kortstation/kortstation/kiosk/store"
)

// Test cards of the dev station (kiosk/app/devcards.go).
const (
	opCard       = "9752269900000000011" // Test Operatör Ett, PIN 1234
	opHSAID      = "SE2321000131-P000000000011"
	op2Card      = "9752269900000000012" // Test Operatör Två, PIN 2345
	op2HSAID     = "SE2321000131-P000000000012"
	attestorCard = "9752269900000000021"
	reserveA     = "9752269900000000101"
	reserveB     = "9752269900000000102"
	reserveC     = "9752269900000000103"
	shippedD     = "9752269900000000104"
	shippedE     = "9752269900000000105"
	orderedCard  = "9752269900000000201"
	expiredCard  = "9752269900000000202"

	reader0 = "Simulated Reader 00"
	reader1 = "Simulated Reader 01"
)

// devArgs are make run's development settings but for the UI channel,
// which keeps the production default: only the kiosk browser, started with
// the per-boot token, may use it.
var devArgs = []string{"-simulation=true", "-reader", "sim", "-printer", "sim", "-drawer", "sim", "-require-clock-sync=false"}

// kioskURL is where the kiosk browser is started: the UI with the
// per-boot token kioskd left in dir in the address's fragment.
func kioskURL(t testing.TB, addr, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "ui-token"))
	if err != nil {
		t.Fatalf("the kiosk's token: %v", err)
	}
	return fmt.Sprintf("http://%s/#k=%s", addr, strings.TrimSpace(string(b)))
}

// testClock is the station's clock in a test: real time moving on from a
// chosen instant, which the test can move forward.
type testClock struct {
	mu     sync.Mutex
	base   time.Time
	start  time.Time
	offset time.Duration
}

func newClock(at time.Time) *testClock { return &testClock{base: at, start: time.Now()} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.base.Add(time.Since(c.start) + c.offset)
}

func (c *testClock) Source() string { return clock.SourceFixed }

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// rig is one station under test: kioskd in-process on real SQLite with
// simulated hardware, its data folder and clock.
type rig struct {
	t     testing.TB
	addr  string
	dir   string
	clock *testClock
	db    *sql.DB
	stop  func()
}

// newRig seeds the station's database with seed (if not nil) and starts
// the station at the given time.
func newRig(t testing.TB, at time.Time, seed func(tx *sql.Tx) error) *rig {
	t.Helper()
	return newRigArgs(t, at, seed)
}

// newRigArgs is newRig with more kioskd arguments (a policy under test).
func newRigArgs(t testing.TB, at time.Time, seed func(tx *sql.Tx) error, extra ...string) *rig {
	t.Helper()
	r := &rig{t: t, addr: freeAddr(t), dir: t.TempDir(), clock: newClock(at)}
	if seed != nil {
		st, err := store.Open(context.Background(), filepath.Join(r.dir, "station.db"), store.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Write(context.Background(), seed); err != nil {
			t.Fatalf("seed: %v", err)
		}
		st.Close()
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- app.Main(ctx, app.Env{
			// No registry: the test seeds the reference data it needs, and
			// an embedded registry would replace it with its own.
			Args: append([]string{"-listen", r.addr, "-data-dir", r.dir, "-log-level", "warn",
				"-registry", "remote", "-registry-url", "https://127.0.0.1:9/"}, append(devArgs, extra...)...),
			Stdout: io.Discard, Stderr: stderr(), Ready: func(a string) { ready <- a }, Clock: r.clock,
		})
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("station did not start: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("station did not start in 10 s")
	}
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(r.dir, "station.db")+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	r.db = db
	r.stop = func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("station stopped with %v", err)
		}
	}
	t.Cleanup(func() { db.Close(); r.stop() })
	return r
}

// count runs a count(*) query.
func (r *rig) count(q string, args ...any) int {
	r.t.Helper()
	var n int
	if err := r.db.QueryRow(q, args...).Scan(&n); err != nil {
		r.t.Fatalf("%s: %v", q, err)
	}
	return n
}

func (r *rig) str(q string, args ...any) string {
	r.t.Helper()
	var s sql.NullString
	if err := r.db.QueryRow(q, args...).Scan(&s); err != nil {
		r.t.Fatalf("%s: %v", q, err)
	}
	return s.String
}

// open starts a browser at size on the station's UI.
func (r *rig) open(size browsertest.Size) *browsertest.Browser {
	b := browsertest.New(r.t, size)
	b.Run("open UI", chromedp.Navigate(kioskURL(r.t, r.addr, r.dir)))
	b.WaitText("#conn", "Ansluten")
	return b
}

// dev sends a dev-panel request: the simulated hardware (a card going
// into a reader, the drawer opening) as a person at the counter moves it.
func dev(b *browsertest.Browser, typ, payload string) {
	b.Run("dev "+typ, chromedp.Evaluate(fmt.Sprintf(`window.kortstation.conn.request(%q, %s)`, typ, payload), nil,
		func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
}

func insert(b *browsertest.Browser, reader, serial string) {
	dev(b, "dev.card.insert", fmt.Sprintf(`{"reader":%q,"serial":%q}`, reader, serial))
}

func remove(b *browsertest.Browser, reader string) {
	dev(b, "dev.card.remove", fmt.Sprintf(`{"reader":%q}`, reader))
}

// typeText taps field, then each character on the on-screen keyboard;
// then it asserts (issue 13) that the active field, its check, the step's
// next action and the keyboard are in view (shell_test.go: typing).
func typeText(b *browsertest.Browser, field, s string) {
	typeKeys(b, field, s)
	typingActive(b)
}

// typeKeys taps field, then each character on the on-screen keyboard.
func typeKeys(b *browsertest.Browser, field, s string) {
	b.Tap("#f-" + field)
	for _, ch := range strings.ToUpper(s) {
		key := string(ch)
		if ch == ' ' {
			key = "space"
		}
		b.Tap(fmt.Sprintf(`#kb button[data-key=%q]`, key))
	}
}

// typingActive checks the layout for the field now active, if any.
func typingActive(b *browsertest.Browser) {
	var active string
	b.Run("active field", chromedp.Evaluate(`(document.querySelector(".fieldrow.active") || {dataset: {}}).dataset.field || ""`, &active))
	if active != "" {
		typing(b, active, ".flowhead .actions > :last-child")
	}
}

// pinPad types pin on the PIN keypad and taps OK.
func pinPad(b *browsertest.Browser, pin string) {
	for _, d := range pin {
		b.Tap(fmt.Sprintf(`#keypad button[data-key=%q]`, string(d)))
	}
	b.Tap("#pin-ok")
}

// login inserts the operator card and types the PIN.
func login(b *browsertest.Browser) {
	insert(b, reader0, opCard)
	b.WaitText("#screen-pin h1", "PIN")
	pinPad(b, "1234")
	b.WaitText("#screen-home h1", "Vad vill du göra?")
}

// sign draws a signature on the pad with synthetic touch events along a
// path (a loop and a stroke), then saves it.
func sign(b *browsertest.Browser, signer string) {
	draw(b)
	b.Tap("#pad-save")
	b.WaitText(fmt.Sprintf(`button[data-signer=%q]`, signer), "")
	b.Run("signed "+signer, chromedp.Poll(fmt.Sprintf(`document.querySelector('button[data-signer=%q]').dataset.signed === "true"`, signer), nil, chromedp.WithPollingInterval(10*time.Millisecond)))
}

// strokes waits until the pad holds n strokes.
func strokes(b *browsertest.Browser, n int) {
	b.Run(fmt.Sprintf("%d strokes on the pad", n), chromedp.Poll(fmt.Sprintf(`document.querySelector("#pad").dataset.strokes === "%d"`, n), nil, chromedp.WithPollingInterval(10*time.Millisecond)))
}

// draw draws two strokes on the pad with synthetic touch events.
func draw(b *browsertest.Browser) {
	b.WaitText("#sign-who", "")
	var rect struct{ X, Y, W, H float64 }
	b.Run("pad rect", chromedp.Evaluate(`(() => { const r = document.querySelector("#pad").getBoundingClientRect(); return {X: r.left, Y: r.top, W: r.width, H: r.height}; })()`, &rect))
	stroke := func(pts [][2]float64) chromedp.Action {
		return chromedp.ActionFunc(func(ctx context.Context) error {
			at := func(p [2]float64) []*input.TouchPoint {
				return []*input.TouchPoint{{X: rect.X + p[0]*rect.W, Y: rect.Y + p[1]*rect.H, ID: 1}}
			}
			if err := input.DispatchTouchEvent(input.TouchStart, at(pts[0])).Do(ctx); err != nil {
				return err
			}
			for _, p := range pts[1:] {
				if err := input.DispatchTouchEvent(input.TouchMove, at(p)).Do(ctx); err != nil {
					return err
				}
			}
			return input.DispatchTouchEvent(input.TouchEnd, []*input.TouchPoint{}).Do(ctx)
		})
	}
	var loop, line [][2]float64
	for i := 0; i <= 24; i++ {
		a := float64(i) / 24 * 2 * math.Pi
		loop = append(loop, [2]float64{0.25 + 0.12*math.Cos(a), 0.5 + 0.3*math.Sin(a)})
	}
	for i := 0; i <= 10; i++ {
		line = append(line, [2]float64{0.45 + 0.04*float64(i), 0.7 - 0.04*float64(i)})
	}
	var before int
	b.Run("strokes before", chromedp.Evaluate(`Number(document.querySelector("#pad").dataset.strokes || 0)`, &before))
	b.Run("draw a signature", stroke(loop), stroke(line))
	strokes(b, before+2)
}

// pdfText is the text of a PDF, by pdftotext (poppler-utils).
func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "r.pdf")
	if err := os.WriteFile(f, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", "-layout", f, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext (apt-get install poppler-utils): %v", err)
	}
	return string(out)
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 10 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stderr is where the station under test logs: nowhere, unless
// KIOSK_E2E_LOG is set.
func stderr() io.Writer {
	if os.Getenv("KIOSK_E2E_LOG") != "" {
		return os.Stderr
	}
	return io.Discard
}

// pollText waits until sel's text contains want.
func pollText(sel, want string) chromedp.Action {
	return chromedp.Poll(fmt.Sprintf(`(() => { const e = document.querySelector(%q); return !!e && e.textContent.includes(%q); })()`, sel, want), nil,
		chromedp.WithPollingInterval(20*time.Millisecond))
}

// shot saves a screenshot of the step at both screen sizes, with the
// counter's screen scrolled into view, and checks the screen with
// axe-core (WCAG 2.1 A and AA) at both sizes (issue 13).
func shot(b *browsertest.Browser, name string) {
	b.Run("scroll to screen", chromedp.Evaluate(`document.getElementById("screen").scrollIntoView({block: "start"}); true`, nil))
	b.ShotBoth(name)
	b.CheckAxeBoth(name)
}

// waitRule waits for a message in sel that a rule refused. The screen says
// what is wrong and what to do, not the rule's ID (that goes to the audit
// log); the message carries it as data-rule, for tests and tools.
func waitRule(b *browsertest.Browser, sel, rule string) {
	b.Run("wait for "+rule+" in "+sel, chromedp.WaitVisible(sel+` [data-rule="`+rule+`"]`, chromedp.ByQuery))
	if txt := b.Text(sel); strings.Contains(txt, rule) {
		b.T().Fatalf("%s shows the rule ID %s on screen: %q", sel, rule, txt)
	}
}
