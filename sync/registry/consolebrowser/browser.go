// Package consolebrowser runs a real headless Chromium that logs in to the
// central console with a TLS client certificate, as a central admin's
// browser does with their SITHS card (issue 12's browser tests).
//
// Following the recipe "Chromium with a TLS client certificate" in the
// project's shared recipes: the client certificate with its key (PKCS #12)
// and the registry's CA go into an NSS database under a HOME of the
// test's own; the managed policy AutoSelectCertificateForUrls, which picks
// the certificate without a dialog, is bind-mounted over /etc/chromium
// inside a private mount namespace (unshare -m), so nothing on the host
// changes. Without that policy headless Chromium waits forever for a
// certificate choice, so every step runs with a timeout.
package consolebrowser

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kortstation/kortstation/internal/chromiumtest"
)

// ChromiumPath is where Debian installs Chromium; chromiumEtc is where it
// reads its managed policies (policies/managed/*.json).
const (
	ChromiumPath = chromiumtest.Path
	chromiumEtc  = "/etc/chromium"
)

// Client is the certificate a browser presents: the admin's leaf, its key
// and the intermediates up to (not including) the anchor.
type Client struct {
	Cert  *x509.Certificate
	Key   crypto.Signer
	Chain []*x509.Certificate
}

// Options configure a Browser.
type Options struct {
	// ServerCA is the CA of the console's server certificate; the browser
	// trusts it for TLS servers. nil: plain HTTP (development mode).
	ServerCA *x509.Certificate
	// Client is the certificate in the browser's NSS database; nil: none.
	Client *Client
	// Origin is the console's origin, e.g. https://127.0.0.1:8444; the
	// policy selects the certificate for it.
	Origin string
}

// Browser is one Chromium with one tab.
type Browser struct {
	Ctx context.Context
	t   testing.TB
}

// New starts Chromium with o's certificates and policy. It fails the test
// (never skips) when a tool is missing, naming the package to install.
func New(t testing.TB, o Options) *Browser {
	t.Helper()
	chromiumtest.Require(t)
	for tool, pkg := range map[string]string{"certutil": "libnss3-tools", "pk12util": "libnss3-tools", "openssl": "openssl", "unshare": "util-linux"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found: run `make test` (scripts/install-deps.sh test installs it) or `apt-get install -y %s`", tool, pkg)
		}
	}
	if os.Geteuid() != 0 {
		t.Fatalf("the console's browser tests bind-mount the certificate policy over %s in a private mount namespace (unshare -m), which needs root: run them as root, as `make test` does", chromiumEtc)
	}
	if fi, err := os.Stat(chromiumEtc); err != nil || !fi.IsDir() {
		t.Fatalf("%s missing: the Chromium package creates it (apt-get install -y chromium)", chromiumEtc)
	}
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	nssdb := "sql:" + filepath.Join(home, ".pki", "nssdb")
	if err := os.MkdirAll(filepath.Join(home, ".pki", "nssdb"), 0o700); err != nil {
		t.Fatal(err)
	}
	run(t, "certutil", "-N", "-d", nssdb, "--empty-password")
	if o.ServerCA != nil {
		caFile := filepath.Join(dir, "server-ca.pem")
		writePEM(t, caFile, "CERTIFICATE", o.ServerCA.Raw)
		run(t, "certutil", "-A", "-n", "console-server-ca", "-t", "C,,", "-i", caFile, "-d", nssdb)
	}
	issuerCN := ""
	if c := o.Client; c != nil {
		issuerCN = c.Cert.Issuer.CommonName
		keyDER, err := x509.MarshalPKCS8PrivateKey(c.Key)
		if err != nil {
			t.Fatal(err)
		}
		keyFile, certFile, chainFile, p12 := filepath.Join(dir, "key.pem"), filepath.Join(dir, "cert.pem"), filepath.Join(dir, "chain.pem"), filepath.Join(dir, "client.p12")
		writePEM(t, keyFile, "PRIVATE KEY", keyDER)
		writePEM(t, certFile, "CERTIFICATE", c.Cert.Raw)
		args := []string{"pkcs12", "-export", "-inkey", keyFile, "-in", certFile, "-out", p12, "-passout", "pass:", "-name", "admin"}
		if len(c.Chain) > 0 {
			var chain []byte
			for _, x := range c.Chain {
				chain = append(chain, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: x.Raw})...)
			}
			if err := os.WriteFile(chainFile, chain, 0o600); err != nil {
				t.Fatal(err)
			}
			args = append(args, "-certfile", chainFile)
		}
		run(t, "openssl", args...)
		run(t, "pk12util", "-i", p12, "-d", nssdb, "-W", "")
	}
	// The policy, in a copy of /etc/chromium mounted over it in Chromium's
	// own mount namespace.
	etc := filepath.Join(dir, "etc-chromium")
	run(t, "cp", "-a", chromiumEtc+"/.", etc)
	if err := os.MkdirAll(filepath.Join(etc, "policies", "managed"), 0o755); err != nil {
		t.Fatal(err)
	}
	rule, _ := json.Marshal(map[string]any{"pattern": o.Origin, "filter": map[string]any{"ISSUER": map[string]string{"CN": issuerCN}}})
	if issuerCN == "" {
		rule, _ = json.Marshal(map[string]any{"pattern": o.Origin, "filter": map[string]any{}})
	}
	policy, _ := json.Marshal(map[string]any{"AutoSelectCertificateForUrls": []string{string(rule)}})
	if err := os.WriteFile(filepath.Join(etc, "policies", "managed", "console-client-cert.json"), policy, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := chromiumtest.Start(t, "kortstation-console-chromium-", []chromedp.ExecAllocatorOption{
		chromedp.Env("HOME="+home, "KS_POLICY_ETC="+etc),
		chromedp.ModifyCmdFunc(func(cmd *exec.Cmd) {
			// unshare -m -- sh -c 'mount --bind … && exec chromium "$@"' sh <chromium's arguments>
			const script = `mount --bind "$KS_POLICY_ETC" ` + chromiumEtc + ` && exec ` + ChromiumPath + ` "$@"`
			cmd.Path = "/usr/bin/unshare"
			cmd.Args = append([]string{"unshare", "-m", "--", "sh", "-c", script, "sh"}, cmd.Args[1:]...)
		}),
	})
	return &Browser{Ctx: ctx, t: t}
}

// Run runs actions with a timeout (a certificate prompt nobody answers
// would otherwise hang the test), failing the test on error.
func (b *Browser) Run(what string, actions ...chromedp.Action) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Run(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// Open navigates to url and returns the page's HTML and visible text.
func (b *Browser) Open(url string) (html, text string) {
	b.t.Helper()
	b.Run("open "+url, chromedp.Navigate(url), chromedp.OuterHTML("html", &html), chromedp.Text("body", &text, chromedp.ByQuery))
	return html, text
}

// Page returns the current page's HTML and visible text.
func (b *Browser) Page() (html, text string) {
	b.t.Helper()
	b.Run("read the page", chromedp.OuterHTML("html", &html), chromedp.Text("body", &text, chromedp.ByQuery))
	return html, text
}

// Navigating runs act, which leaves the page (a click on a form's
// button, a submit), waits for the next page and returns it.
func (b *Browser) Navigating(what string, act chromedp.Action) (html, text string) {
	b.t.Helper()
	var ok bool
	b.Run(what, chromedp.Evaluate(`window.__ksOld = true`, &ok), act)
	ctx, cancel := context.WithTimeout(b.Ctx, 20*time.Second)
	defer cancel()
	for {
		var fresh bool
		err := chromedp.Run(ctx, chromedp.Evaluate(`typeof window.__ksOld === "undefined" && document.readyState === "complete"`, &fresh))
		if err == nil && fresh {
			break
		}
		select {
		case <-ctx.Done():
			b.t.Fatalf("%s: no new page: %v", what, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
	return b.Page()
}

// Post submits a form the page does not offer (a hand-made form, as an
// admin trying an action of another role would) from the current page:
// method POST to action with fields, as a form navigation.
func (b *Browser) Post(action string, fields map[string]string) (html, text string) {
	b.t.Helper()
	f, _ := json.Marshal(fields)
	js := fmt.Sprintf(`(() => { const f = document.createElement("form"); f.method = "post"; f.action = %q;
		for (const [k, v] of Object.entries(%s)) { const i = document.createElement("input"); i.type = "hidden"; i.name = k; i.value = v; f.appendChild(i); }
		document.body.appendChild(f); setTimeout(() => f.submit(), 0); return true; })()`, action, f)
	var ok bool
	return b.Navigating("post "+action, chromedp.Evaluate(js, &ok))
}

func run(t testing.TB, name string, args ...string) {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

func writePEM(t testing.TB, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}
