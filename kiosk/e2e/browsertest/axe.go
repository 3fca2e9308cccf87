package browsertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// axe-core (the accessibility engine, MPL-2.0) comes from the npm
// registry into a cache folder by scripts/axe-core.sh, which `make test`
// runs (scripts/install-deps.sh test); the tests run it again when it is
// missing, so `go test` alone works where npm is installed.
var axeSource = sync.OnceValues(func() (string, error) {
	root := moduleRoot()
	if root == "" {
		return "", fmt.Errorf("axe-core: module root not found from the working directory")
	}
	out, err := exec.Command(filepath.Join(root, "scripts", "axe-core.sh")).Output()
	if err != nil {
		msg := err.Error()
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		return "", fmt.Errorf("axe-core: scripts/axe-core.sh: %s", strings.TrimSpace(msg))
	}
	b, err := os.ReadFile(strings.TrimSpace(string(out)))
	if err != nil {
		return "", fmt.Errorf("axe-core: %w", err)
	}
	return string(b), nil
})

func moduleRoot() string {
	dir, _ := os.Getwd()
	for d := dir; d != "/"; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
	}
	return ""
}

// AxeTags are the rules the station's screens must pass: WCAG 2.1 levels A
// and AA.
var AxeTags = []string{"wcag2a", "wcag2aa", "wcag21a", "wcag21aa"}

// AxeViolation is one rule axe-core found broken, with the elements.
type AxeViolation struct {
	ID    string   `json:"id"`
	Help  string   `json:"help"`
	Nodes []string `json:"nodes"`
}

// Axe runs axe-core on the page as it is (WCAG 2.1 A and AA) and returns
// the violations. The engine is injected once per page.
func (b *Browser) Axe() []AxeViolation {
	b.t.Helper()
	src, err := axeSource()
	if err != nil {
		b.t.Fatalf("%v", err)
	}
	var loaded bool
	b.Run("axe loaded?", chromedp.Evaluate(`typeof window.axe === "object"`, &loaded))
	if !loaded {
		b.Run("inject axe-core", chromedp.Evaluate(src+"\n;true", nil))
	}
	tags, _ := jsonString(AxeTags)
	js := fmt.Sprintf(`axe.run(document, {runOnly: {type: "tag", values: %s}, resultTypes: ["violations"]}).then((r) =>
		r.violations.map((v) => ({id: v.id, help: v.help, nodes: v.nodes.map((n) => n.target.join(" ") + " – " + (n.failureSummary || "").replace(/\s+/g, " "))})))`, tags)
	var out []AxeViolation
	ctx, cancel := context.WithTimeout(b.Ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Run(ctx, chromedp.Evaluate(js, &out, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) })); err != nil {
		b.t.Fatalf("axe-core: %v", err)
	}
	return out
}

// CheckAxe fails the test (without stopping it) for every WCAG 2.1 A/AA
// violation axe-core finds on the page, naming the screen and the size.
func (b *Browser) CheckAxe(screen string) {
	b.t.Helper()
	for _, v := range b.Axe() {
		b.t.Errorf("axe %s at %s: %s (%s): %s", screen, b.size.Name, v.ID, v.Help, strings.Join(v.Nodes, "; "))
	}
}

// CheckAxeBoth is CheckAxe at the browser's size and at every other size
// in Sizes: the page is laid out again at each size, checked, and put
// back (as ShotBoth does for screenshots).
func (b *Browser) CheckAxeBoth(screen string) {
	b.t.Helper()
	b.CheckAxe(screen)
	for _, other := range Sizes {
		if other == b.size {
			continue
		}
		b.Run("resize to "+other.Name, emulation.SetDeviceMetricsOverride(other.Width, other.Height, 1, false), chromedp.Sleep(50*time.Millisecond))
		for _, v := range b.Axe() {
			b.t.Errorf("axe %s at %s: %s (%s): %s", screen, other.Name, v.ID, v.Help, strings.Join(v.Nodes, "; "))
		}
		b.Run("resize back", emulation.SetDeviceMetricsOverride(b.size.Width, b.size.Height, 1, false))
	}
}
