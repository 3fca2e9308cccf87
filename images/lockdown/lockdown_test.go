package lockdown

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

func repoFile(t *testing.T, rel string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", rel))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func read(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(repoFile(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// uiAddr is where kioskd serves the UI on a station (images/deb/kioskd.json).
const uiAddr = "127.0.0.2:8080"

func policy(t *testing.T) map[string]any {
	t.Helper()
	var p map[string]any
	if err := json.Unmarshal([]byte(read(t, "systemd/chromium-policy.json")), &p); err != nil {
		t.Fatalf("chromium-policy.json: %v", err)
	}
	return p
}

// TestPolicyValues: the values the issue asks for, as Chromium reads them.
func TestPolicyValues(t *testing.T) {
	p := policy(t)
	for k, want := range map[string]any{
		"DeveloperToolsAvailability": 2.0,   // developer tools off
		"DownloadRestrictions":       3.0,   // no downloads
		"PrintingEnabled":            false, // no printing dialog
		"AllowFileSelectionDialogs":  false,
		"IncognitoModeAvailability":  1.0,
		"BrowserGuestModeEnabled":    false,
	} {
		if got := p[k]; got != want {
			t.Errorf("%s = %v, want %v", k, got, want)
		}
	}
	list := func(k string) []string {
		var out []string
		for _, v := range p[k].([]any) {
			out = append(out, v.(string))
		}
		return out
	}
	// "*" does not cover Chromium's own pages: they are listed.
	if got := list("URLBlocklist"); !slices.Equal(got, []string{"*", "chrome://*", "chrome-untrusted://*", "devtools://*", "view-source:*"}) {
		t.Errorf("URLBlocklist %v", got)
	}
	if got := list("ExtensionInstallBlocklist"); !slices.Equal(got, []string{"*"}) {
		t.Errorf("ExtensionInstallBlocklist %v, want [*]", got)
	}
	// The UI's origin and the one start page kiosk-browser writes; no
	// other file:// URL.
	if got := list("URLAllowlist"); !slices.Equal(got, []string{"http://" + uiAddr, "file:///run/kortstation-ui/start.html"}) {
		t.Errorf("URLAllowlist %v", got)
	}
}

// TestOneUIAddress: the browser's unit, script and policy and the daemons'
// listen addresses agree: the UI (kioskd, or the provisioning form before
// it) on 127.0.0.2:8080, which is all the display unit's cgroup may reach;
// CUPS (localhost:631, as kioskd reaches it) is not in that allow-list.
func TestOneUIAddress(t *testing.T) {
	unit := read(t, "systemd/kortstation-display.service")
	var allow, deny []string
	for _, line := range strings.Split(unit, "\n") {
		if v, ok := strings.CutPrefix(line, "IPAddressAllow="); ok {
			allow = append(allow, strings.Fields(v)...)
		}
		if v, ok := strings.CutPrefix(line, "IPAddressDeny="); ok {
			deny = append(deny, strings.Fields(v)...)
		}
	}
	if !slices.Equal(deny, []string{"any"}) || !slices.Equal(allow, []string{"127.0.0.2/32"}) {
		t.Errorf("display unit IPAddressDeny=%v IPAddressAllow=%v, want any and 127.0.0.2/32 only", deny, allow)
	}
	_, allowed, _ := net.ParseCIDR(allow[0])
	var kioskd struct {
		Listen     string `json:"listen"`
		PrinterURL string `json:"printer-url"`
	}
	if err := json.Unmarshal([]byte(read(t, "images/deb/kioskd.json")), &kioskd); err != nil {
		t.Fatal(err)
	}
	if kioskd.Listen != uiAddr {
		t.Errorf("kioskd.json listen %q, want %s", kioskd.Listen, uiAddr)
	}
	for _, cups := range []string{"127.0.0.1", "::1"} { // localhost:631
		if allowed.Contains(net.ParseIP(cups)) {
			t.Errorf("the browser may reach %s, where CUPS listens", cups)
		}
	}
	if !strings.Contains(kioskd.PrinterURL, "localhost:631") {
		t.Errorf("kioskd reaches CUPS at %q; the allow-list check assumes localhost:631", kioskd.PrinterURL)
	}
	if !strings.Contains(read(t, "systemd/kiosk-browser"), "url=http://"+uiAddr+"/") {
		t.Error("kiosk-browser does not open http://" + uiAddr + "/")
	}
	if !strings.Contains(read(t, "systemd/kortstation-provision.service"), "-listen "+uiAddr) {
		t.Error("the provisioning form does not listen on " + uiAddr)
	}
	// cage -s would allow switching virtual terminals from the keyboard.
	for _, line := range strings.Split(unit, "\n") {
		if strings.HasPrefix(line, "ExecStart=") && strings.Contains(line, " -s") {
			t.Errorf("cage started with VT switching: %s", line)
		}
	}
}

// TestUSBAuthorize runs the udev helper on a fake sysfs: only devices all
// of whose interfaces are hub, HID, smart card or printer are authorized.
func TestUSBAuthorize(t *testing.T) {
	sysfs := t.TempDir()
	for _, c := range []struct {
		name, ifs string
		ok        bool
	}{
		{"keyboard", ":030101:", true},
		{"touchscreen", ":030000:", true},
		{"CCID reader", ":0b0000:", true},
		{"printer", ":070102:", true},
		{"hub", ":090000:", true},
		{"keyboard with hub", ":090000:030101:030102:", true},
		{"USB stick", ":080650:", false},
		{"BadUSB: keyboard plus storage", ":030101:080650:", false},
		{"network adapter", ":020600:0a0000:", false},
		{"vendor-specific", ":ff0000:", false},
		{"serial", ":020201:0a0000:", false},
		{"no interfaces reported", "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			devpath := "/devices/platform/usb1/1-1"
			dir := filepath.Join(sysfs, devpath)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(repoFile(t, "images/deb/usb-authorize"))
			cmd.Env = append(os.Environ(), "KS_SYSFS="+sysfs, "DEVPATH="+devpath, "ID_USB_INTERFACES="+c.ifs)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("usb-authorize: %v\n%s", err, out)
			}
			b, err := os.ReadFile(filepath.Join(dir, "authorized"))
			if err != nil {
				t.Fatal(err)
			}
			if got, want := strings.TrimSpace(string(b)), map[bool]string{true: "1", false: "0"}[c.ok]; got != want {
				t.Errorf("interfaces %q: authorized=%s, want %s", c.ifs, got, want)
			}
		})
	}
	rule := read(t, "images/deb/70-kortstation-usb.rules")
	for _, want := range []string{`ACTION=="add"`, `ENV{DEVTYPE}=="usb_device"`, `IMPORT{builtin}="usb_id"`, `RUN+="/usr/lib/kortstation/usb-authorize"`} {
		if !strings.Contains(rule, want) {
			t.Errorf("70-kortstation-usb.rules lacks %s", want)
		}
	}
}

// TestPolicyInChromium loads the shipped policy into a real Chromium, in a
// private mount namespace whose /etc/chromium holds it (the machine's own
// is untouched). With the policy as shipped, developer tools are off: the
// DevTools protocol refuses to drive the page. With that one value
// relaxed (to drive the browser), the UI and the start page load; other
// file:// pages, other local services (CUPS's port stands for them), other
// names for the UI and Chromium's own pages are blocked.
func TestPolicyInChromium(t *testing.T) {
	// The UI, on the address a station serves it at.
	ln, err := net.Listen("tcp", uiAddr)
	if err != nil {
		t.Fatalf("listen on %s (the station UI's address): %v", uiAddr, err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html><title>Kortstation</title><p id="ui">station UI</p>`)
	}), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	// Another local service: what CUPS on localhost:631 would be.
	other, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	osrv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html><title>CUPS</title><p id="cups">printers</p>`)
	}), ReadHeaderTimeout: 5 * time.Second}
	go osrv.Serve(other)
	t.Cleanup(func() { osrv.Close() })

	shipped := policy(t)
	if _, err := chromiumWithPolicy(t, shipped); err == nil || !strings.Contains(err.Error(), "Not allowed") {
		t.Errorf("the DevTools protocol drove Chromium under DeveloperToolsAvailability=2 (err %v)", err)
	}

	relaxed := map[string]any{}
	for k, v := range shipped {
		relaxed[k] = v
	}
	relaxed["DeveloperToolsAvailability"] = 1
	ctx, err := chromiumWithPolicy(t, relaxed)
	if err != nil {
		t.Fatalf("start Chromium in its namespace: %v", err)
	}
	if text, err := visit(ctx, "http://"+uiAddr+"/"); err != nil || !strings.Contains(text, "station UI") {
		t.Fatalf("the station UI under the policy: %q, %v", text, err)
	}
	if text, err := visit(ctx, "file:///run/kortstation-ui/start.html"); err != nil || !strings.Contains(text, "start page") {
		t.Errorf("kiosk-browser's start page under the policy: %q, %v", text, err)
	}
	for _, url := range []string{
		"file:///run/kortstation-ui/other.html",
		"file:///etc/passwd",
		"http://" + other.Addr().String() + "/",
		"http://localhost:8080/",
		"chrome://settings/",
		"chrome://extensions/",
		"chrome://version/",
		"view-source:http://" + uiAddr + "/",
	} {
		text, err := visit(ctx, url)
		if err == nil && (strings.Contains(text, "secret") || strings.Contains(text, "printers") || strings.Contains(text, "root:")) {
			t.Errorf("%s was shown under the policy: %q", url, text)
			continue
		}
		if err == nil {
			t.Errorf("%s loaded under the policy (%q), want it blocked", url, text)
			continue
		}
		if !strings.Contains(err.Error(), "ERR_BLOCKED_BY_ADMINISTRATOR") {
			t.Errorf("%s: %v, want ERR_BLOCKED_BY_ADMINISTRATOR", url, err)
		}
	}
}

// visit loads url in a new tab and returns the page's text.
func visit(ctx context.Context, url string) (string, error) {
	tab, closeTab := chromedp.NewContext(ctx)
	defer closeTab()
	c, cancel := context.WithTimeout(tab, 20*time.Second)
	defer cancel()
	var text string
	err := chromedp.Run(c, chromedp.Navigate(url), chromedp.Text("body", &text, chromedp.ByQuery))
	return text, err
}

// chromiumWithPolicy starts a headless Chromium whose /etc/chromium (in its
// own mount namespace) holds policy as the managed policy, and a /run with
// kiosk-browser's start page (and another file beside it).
func chromiumWithPolicy(t *testing.T, policy map[string]any) (context.Context, error) {
	t.Helper()
	dir, err := os.MkdirTemp("", "kortstation-policy-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	etc := filepath.Join(dir, "etc-chromium")
	if err := os.MkdirAll(filepath.Join(etc, "policies", "managed"), 0o755); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile("/etc/chromium/master_preferences"); err == nil {
		os.WriteFile(filepath.Join(etc, "master_preferences"), b, 0o644)
	}
	b, err := json.Marshal(policy)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(etc, "policies", "managed", "kortstation.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	start := `<!doctype html><title>start</title><p id="start">start page</p>`
	wrapper := filepath.Join(dir, "chromium-ns")
	script := "#!/bin/sh\nset -e\nmount --bind '" + etc + "' /etc/chromium\nmount -t tmpfs tmpfs /run\n" +
		"mkdir -p /run/kortstation-ui\nprintf '%s' '" + start + "' > /run/kortstation-ui/start.html\n" +
		"echo secret > /run/kortstation-ui/other.html\nexec /usr/bin/chromium \"$@\"\n"
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	launcher := filepath.Join(dir, "launch")
	if err := os.WriteFile(launcher, []byte("#!/bin/sh\nexec unshare -m '"+wrapper+"' \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(launcher), chromedp.UserDataDir(filepath.Join(dir, "profile")),
		chromedp.Flag("headless", true), chromedp.Flag("no-sandbox", true), chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("no-first-run", true), chromedp.Flag("disable-dev-shm-usage", true))
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// The browser lives as long as the first Run's context: this one.
	return ctx, chromedp.Run(ctx)
}
