// Package config is the station daemon's configuration: typed, defaulted so
// that `make run` works with nothing set, loaded from an optional JSON file,
// then the environment (KIOSK_*), then flags, validated, and printable with
// secrets redacted.
package config

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kortstation/kortstation/kiosk/update/window"
)

// Config is everything kioskd can be told.
type Config struct {
	Listen                string                   // HTTP listen address
	AllowedHosts          []string                 // Host headers the UI may use (DNS-rebinding guard)
	AllowedOrigins        []string                 // websocket Origins accepted
	DataDir               string                   // the SQLite file and station state live here
	StationID             string                   // this station's ID at the registry
	StationName           string                   // shown on receipts and the status screen
	Location              string                   // the photo/pickup location (RE-4 "place")
	LogLevel              string                   // debug, info, warn, error
	LogFormat             string                   // auto (JSON unless a terminal), json, text
	WSMaxMessage          int64                    // largest websocket message accepted, bytes
	WSPing                time.Duration            // websocket ping interval
	IdleTimeout           time.Duration            // operator session idle logout
	MinFreeMB             int64                    // data partition reserve: new records refused below it
	Retention             time.Duration            // personal data kept after the registry archived the record
	Reader                string                   // sim, pcsc or pkcs11
	PKCS11Module          string                   // path of the PKCS#11 module (.so), for reader=pkcs11
	PKCS11SlotMatch       string                   // exact or prefix: how a slot description names its PC/SC reader
	PKCS11TokenLabel      string                   // only tokens whose label contains this (one slot per PIN)
	PKCS11PINRetries      int64                    // attempts of a fresh PIN, shown until the token's flags say more
	Printer               string                   // sim or ipp
	PrinterURL            string                   // IPP server (CUPS) URL, for printer=ipp
	PrinterQueue          string                   // CUPS queue name
	Drawer                string                   // sim or gpio
	DrawerPin             string                   // GPIO pin name, for drawer=gpio
	DrawerPull            string                   // none, up, down
	DrawerActive          string                   // the level that means open: high or low
	DrawerDebounce        time.Duration            // how long a level must hold to count
	Registry              string                   // embedded or remote
	RegistryURL           string                   // remote registry base URL
	RegistryCA            string                   // PEM file of the registry CA (pinned)
	RegistryCAFingerprint string                   // SHA-256 of the registry CA, pinned at enrolment
	StationCert           string                   // PEM file of this station's client certificate
	StationKey            string                   // PEM file of its private key (a secret)
	EnrolCode             string                   // one-time enrolment code (a secret)
	SyncInterval          time.Duration            // reconcile interval
	MaxDataAge            map[string]time.Duration // per reference-data kind: past this age, issuing that depends on it is refused
	Simulation            bool                     // expose the dev panel for simulated hardware
	RequireClock          bool                     // refuse issuing until the clock is synchronised
	UIAuth                string                   // token (the kiosk browser presents a per-boot token) or none (development)
	UITokenFile           string                   // where the per-boot UI token is kept for the kiosk browser
	TrustAnchors          string                   // PEM file of the SITHS root certificates cards must chain to
	CRLGrace              time.Duration            // how long past its nextUpdate a CRL is still relied on
	UpdateSpool           string                   // spool directory root's kortstation-update.path watches; empty: no updates (but simulated ones)
	UpdateWindow          string                   // local time span updates may install in, HH:MM-HH:MM
	UpdateTimezone        string                   // IANA zone of UpdateWindow
	UpdateCheckInterval   time.Duration            // how often to ask the registry for an update
}

// The UI channel's authentication (ui-auth).
const (
	UIAuthToken = "token" // every websocket presents the per-boot token
	UIAuthNone  = "none"  // any local process may connect (simulation only)
)

// Defaults is the configuration of a production station, and it fails
// closed: real hardware, no simulation, the UI channel only for the kiosk
// browser that holds the per-boot token, and no registry until one is
// chosen (serve refuses to start without). `make run` passes its
// development settings explicitly (Makefile).
func Defaults() Config {
	return Config{
		Listen:              "127.0.0.1:8080",
		DataDir:             "/var/lib/kortstation",
		StationID:           "dev-station",
		StationName:         "Kortstation (utveckling)",
		Location:            "Utvecklingsmiljö",
		LogLevel:            "info",
		LogFormat:           "auto",
		WSMaxMessage:        256 << 10,
		WSPing:              20 * time.Second,
		IdleTimeout:         5 * time.Minute,
		MinFreeMB:           64,
		Retention:           30 * 24 * time.Hour,
		Reader:              "pcsc",
		PKCS11SlotMatch:     "exact",
		PKCS11PINRetries:    3,
		Printer:             "ipp",
		PrinterURL:          "http://localhost:631",
		PrinterQueue:        "PDF",
		Drawer:              "gpio",
		DrawerPin:           "GPIO17",
		DrawerPull:          "up",
		DrawerActive:        "high",
		DrawerDebounce:      30 * time.Millisecond,
		SyncInterval:        time.Minute,
		UIAuth:              UIAuthToken,
		RequireClock:        true,
		CRLGrace:            48 * time.Hour, // README "Days offline": with a CRL valid for a day, three days without the registry
		UpdateWindow:        "01:00-05:00",
		UpdateTimezone:      "Europe/Stockholm",
		UpdateCheckInterval: 15 * time.Minute,
	}
}

// field binds one configuration key to its place in Config.
type field struct {
	key    string
	help   string
	secret bool
	get    func(*Config) string
	set    func(*Config, string) error
}

func str(p func(*Config) *string) (func(*Config) string, func(*Config, string) error) {
	return func(c *Config) string { return *p(c) },
		func(c *Config, v string) error { *p(c) = v; return nil }
}

func list(p func(*Config) *[]string) (func(*Config) string, func(*Config, string) error) {
	return func(c *Config) string { return strings.Join(*p(c), ",") },
		func(c *Config, v string) error {
			var out []string
			for _, s := range strings.Split(v, ",") {
				if s = strings.TrimSpace(s); s != "" {
					out = append(out, s)
				}
			}
			*p(c) = out
			return nil
		}
}

func dur(p func(*Config) *time.Duration) (func(*Config) string, func(*Config, string) error) {
	return func(c *Config) string { return p(c).String() },
		func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil {
				return fmt.Errorf("not a duration (like 30s or 5m): %q", v)
			}
			*p(c) = d
			return nil
		}
}

func durationMap(p func(*Config) *map[string]time.Duration) (func(*Config) string, func(*Config, string) error) {
	return func(c *Config) string {
			m := *p(c)
			keys := make([]string, 0, len(m))
			for k := range m {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			parts := make([]string, 0, len(keys))
			for _, k := range keys {
				parts = append(parts, k+"="+m[k].String())
			}
			return strings.Join(parts, ",")
		},
		func(c *Config, v string) error {
			m := map[string]time.Duration{}
			for _, part := range strings.Split(v, ",") {
				if part = strings.TrimSpace(part); part == "" {
					continue
				}
				k, d, ok := strings.Cut(part, "=")
				dur, err := time.ParseDuration(strings.TrimSpace(d))
				if !ok || strings.TrimSpace(k) == "" || err != nil || dur <= 0 {
					return fmt.Errorf("%q is not kind=duration (like operators=72h)", part)
				}
				m[strings.TrimSpace(k)] = dur
			}
			*p(c) = m
			return nil
		}
}

func integer(p func(*Config) *int64) (func(*Config) string, func(*Config, string) error) {
	return func(c *Config) string { return strconv.FormatInt(*p(c), 10) },
		func(c *Config, v string) error {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return fmt.Errorf("not a whole number: %q", v)
			}
			*p(c) = n
			return nil
		}
}

func boolean(p func(*Config) *bool) (func(*Config) string, func(*Config, string) error) {
	return func(c *Config) string { return strconv.FormatBool(*p(c)) },
		func(c *Config, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("not true or false: %q", v)
			}
			*p(c) = b
			return nil
		}
}

func mk(key, help string, secret bool, gs func() (func(*Config) string, func(*Config, string) error)) field {
	g, s := gs()
	return field{key: key, help: help, secret: secret, get: g, set: s}
}

func fields() []field {
	return []field{
		mk("listen", "HTTP listen address (host:port)", false, func() (func(*Config) string, func(*Config, string) error) {
			return str(func(c *Config) *string { return &c.Listen })
		}),
		mk("allowed-hosts", "comma-separated Host headers accepted (default: derived from listen)", false, func() (func(*Config) string, func(*Config, string) error) {
			return list(func(c *Config) *[]string { return &c.AllowedHosts })
		}),
		mk("allowed-origins", "comma-separated websocket Origins accepted (default: http://<each allowed host>)", false, func() (func(*Config) string, func(*Config, string) error) {
			return list(func(c *Config) *[]string { return &c.AllowedOrigins })
		}),
		mk("data-dir", "directory for the SQLite store and station state", false, func() (func(*Config) string, func(*Config, string) error) {
			return str(func(c *Config) *string { return &c.DataDir })
		}),
		mk("station-id", "this station's ID at the registry", false, func() (func(*Config) string, func(*Config, string) error) {
			return str(func(c *Config) *string { return &c.StationID })
		}),
		mk("station-name", "station name shown on receipts and status", false, func() (func(*Config) string, func(*Config, string) error) {
			return str(func(c *Config) *string { return &c.StationName })
		}),
		mk("location", "the pickup location, printed on receipts", false, func() (func(*Config) string, func(*Config, string) error) {
			return str(func(c *Config) *string { return &c.Location })
		}),
		mk("log-level", "debug, info, warn or error", false, func() (func(*Config) string, func(*Config, string) error) {
			return str(func(c *Config) *string { return &c.LogLevel })
		}),
		mk("log-format", "auto (JSON unless stderr is a terminal), json or text", false, func() (func(*Config) string, func(*Config, string) error) {
			return str(func(c *Config) *string { return &c.LogFormat })
		}),
		mk("ws-max-message", "largest websocket message accepted, in bytes", false, func() (func(*Config) string, func(*Config, string) error) {
			return integer(func(c *Config) *int64 { return &c.WSMaxMessage })
		}),
		mk("ws-ping", "websocket ping interval", false, func() (func(*Config) string, func(*Config, string) error) {
			return dur(func(c *Config) *time.Duration { return &c.WSPing })
		}),
		mk("idle-timeout", "operator session idle logout", false, func() (func(*Config) string, func(*Config, string) error) {
			return dur(func(c *Config) *time.Duration { return &c.IdleTimeout })
		}),
		mk("min-free-mb", "free space (MiB) kept in reserve on the data partition: issuing is refused below it", false, func() (func(*Config) string, func(*Config, string) error) {
			return integer(func(c *Config) *int64 { return &c.MinFreeMB })
		}),
		mk("retention", "how long personal data stays on the station after the registry confirmed it archived the record", false, func() (func(*Config) string, func(*Config, string) error) {
			return dur(func(c *Config) *time.Duration { return &c.Retention })
		}),
		mk("reader", "card reader: sim (simulated), pcsc (pcscd) or pkcs11 (pcscd's events, the card through pkcs11-module)", false, func() (func(*Config) string, func(*Config, string) error) {
			return str(func(c *Config) *string { return &c.Reader })
		}),
		mk("pkcs11-module", "path of the card vendor's (or OpenSC's) PKCS#11 module, required with reader=pkcs11", false, func() (func(*Config) string, func(*Config, string) error) {
			return str(func(c *Config) *string { return &c.PKCS11Module })
		}),
		mk("pkcs11-slot-match", "reader=pkcs11: exact (a slot belongs to the PC/SC reader its description names) or prefix (the description begins with the reader name)", false, func() (func(*Config) string, func(*Config, string) error) {
			return str(func(c *Config) *string { return &c.PKCS11SlotMatch })
		}),
		mk("pkcs11-token-label", "reader=pkcs11: use only tokens whose label contains this (a module with one slot per PIN: the authentication PIN's)", false, func() (func(*Config) string, func(*Config, string) error) {
			return str(func(c *Config) *string { return &c.PKCS11TokenLabel })
		}),
		mk("pkcs11-pin-retries", "reader=pkcs11: the attempts of a fresh card PIN, shown until the token's flags report a wrong PIN (0: not shown)", false, func() (func(*Config) string, func(*Config, string) error) {
			return integer(func(c *Config) *int64 { return &c.PKCS11PINRetries })
		}),
		mk("printer", "printer: sim (simulated) or ipp (CUPS over IPP)", false, func() (func(*Config) string, func(*Config, string) error) {
			return str(func(c *Config) *string { return &c.Printer })
		}),
		mk("printer-url", "IPP server URL for printer=ipp", false, func() (func(*Config) string, func(*Config, string) error) {
			return str(func(c *Config) *string { return &c.PrinterURL })
		}),
		mk("printer-queue", "CUPS queue name for printer=ipp", false, func() (func(*Config) string, func(*Config, string) error) {
			return str(func(c *Config) *string { return &c.PrinterQueue })
		}),
		mk("drawer", "drawer sensor: sim (simulated) or gpio", false, func() (func(*Config) string, func(*Config, string) error) {
			return str(func(c *Config) *string { return &c.Drawer })
		}),
		mk("drawer-pin", "GPIO pin name of the drawer sensor, for drawer=gpio", false, func() (func(*Config) string, func(*Config, string) error) {
			return str(func(c *Config) *string { return &c.DrawerPin })
		}),
		mk("drawer-pull", "drawer pin pull: none, up or down", false, func() (func(*Config) string, func(*Config, string) error) {
			return str(func(c *Config) *string { return &c.DrawerPull })
		}),
		mk("drawer-active", "drawer pin level that means open: high or low", false, func() (func(*Config) string, func(*Config, string) error) {
			return str(func(c *Config) *string { return &c.DrawerActive })
		}),
		mk("drawer-debounce", "how long the drawer level must hold to count", false, func() (func(*Config) string, func(*Config, string) error) {
			return dur(func(c *Config) *time.Duration { return &c.DrawerDebounce })
		}),
		mk("registry", "central registry: embedded (reference registry in-process) or remote", false, func() (func(*Config) string, func(*Config, string) error) {
			return str(func(c *Config) *string { return &c.Registry })
		}),
		mk("registry-url", "remote registry base URL (https://…)", false, func() (func(*Config) string, func(*Config, string) error) {
			return str(func(c *Config) *string { return &c.RegistryURL })
		}),
		mk("registry-ca", "PEM file with the registry CA certificate (pinned; default <data-dir>/station/registry-ca.pem from enrolment)", false, func() (func(*Config) string, func(*Config, string) error) {
			return str(func(c *Config) *string { return &c.RegistryCA })
		}),
		mk("registry-ca-fingerprint", "SHA-256 fingerprint of the registry CA certificate, pinned at enrolment", false, func() (func(*Config) string, func(*Config, string) error) {
			return str(func(c *Config) *string { return &c.RegistryCAFingerprint })
		}),
		mk("station-cert", "PEM file with this station's client certificate (default <data-dir>/station/station.pem)", false, func() (func(*Config) string, func(*Config, string) error) {
			return str(func(c *Config) *string { return &c.StationCert })
		}),
		mk("station-key", "PEM file with this station's private key (default <data-dir>/station/station-key.pem)", false, func() (func(*Config) string, func(*Config, string) error) {
			return str(func(c *Config) *string { return &c.StationKey })
		}),
		mk("enrol-code", "one-time enrolment code (secret; or enrol-code-file)", true, func() (func(*Config) string, func(*Config, string) error) {
			return str(func(c *Config) *string { return &c.EnrolCode })
		}),
		mk("sync-interval", "how often to reconcile with the registry", false, func() (func(*Config) string, func(*Config, string) error) {
			return dur(func(c *Config) *time.Duration { return &c.SyncInterval })
		}),
		mk("max-data-age", "per-kind maximum age of registry reference data, e.g. operators=72h,blocked_cards=24h (unset kinds keep their defaults)", false, func() (func(*Config) string, func(*Config, string) error) {
			return durationMap(func(c *Config) *map[string]time.Duration { return &c.MaxDataAge })
		}),
		mk("require-clock-sync", "refuse issuing until the system clock is NTP-synchronised (the appliance sets this)", false, func() (func(*Config) string, func(*Config, string) error) {
			return boolean(func(c *Config) *bool { return &c.RequireClock })
		}),
		mk("simulation", "development: simulated hardware driven from the dev panel, demo data (make run sets it)", false, func() (func(*Config) string, func(*Config, string) error) {
			return boolean(func(c *Config) *bool { return &c.Simulation })
		}),
		mk("trust-anchors", "PEM file with the SITHS root certificates (e-id roots) every card certificate must chain to; intermediates and CRLs come from the registry. Empty: with registry=remote the roots the registry gave at enrolment (data-dir/station/trust-anchors.pem); simulation trusts its own development CA", false, func() (func(*Config) string, func(*Config, string) error) {
			return str(func(c *Config) *string { return &c.TrustAnchors })
		}),
		mk("crl-grace", "how long past its nextUpdate a CRL from the registry is still relied on; after that, logins wait for a fresh CRL", false, func() (func(*Config) string, func(*Config, string) error) {
			return dur(func(c *Config) *time.Duration { return &c.CRLGrace })
		}),
		mk("update-spool", "directory the verified update bundle is moved into for root's kortstation-update.path (the package sets /var/lib/kortstation/update-spool); empty: updates are off (simulation records them instead)", false, func() (func(*Config) string, func(*Config, string) error) {
			return str(func(c *Config) *string { return &c.UpdateSpool })
		}),
		mk("update-window", "local time span an update may install in when nobody is at the counter, HH:MM-HH:MM (may wrap past midnight; 00:00-24:00 is always)", false, func() (func(*Config) string, func(*Config, string) error) {
			return str(func(c *Config) *string { return &c.UpdateWindow })
		}),
		mk("update-timezone", "IANA time zone of update-window", false, func() (func(*Config) string, func(*Config, string) error) {
			return str(func(c *Config) *string { return &c.UpdateTimezone })
		}),
		mk("update-check-interval", "how often to ask the registry for an update (and after every sync now)", false, func() (func(*Config) string, func(*Config, string) error) {
			return dur(func(c *Config) *time.Duration { return &c.UpdateCheckInterval })
		}),
		mk("ui-auth", "who may use the UI websocket: token (the kiosk browser, with the per-boot token) or none (simulation only)", false, func() (func(*Config) string, func(*Config, string) error) {
			return str(func(c *Config) *string { return &c.UIAuth })
		}),
		mk("ui-token-file", "file holding the per-boot UI token for the kiosk browser; reused while it exists, so put it on a tmpfs (default <data-dir>/ui-token)", false, func() (func(*Config) string, func(*Config, string) error) {
			return str(func(c *Config) *string { return &c.UITokenFile })
		}),
	}
}

// KeyError names the configuration key that is wrong and why.
type KeyError struct {
	Key    string
	Source string // "file", "env KIOSK_X", "flag"
	Reason string
}

func (e *KeyError) Error() string {
	if e.Source != "" {
		return fmt.Sprintf("config %s (from %s): %s", e.Key, e.Source, e.Reason)
	}
	return fmt.Sprintf("config %s: %s", e.Key, e.Reason)
}

// EnvName is the environment variable of a key: listen → KIOSK_LISTEN.
func EnvName(key string) string {
	return "KIOSK_" + strings.ToUpper(strings.ReplaceAll(key, "-", "_"))
}

// Load builds the configuration from defaults, the file named by -config or
// KIOSK_CONFIG (JSON object of key → string), the environment, then flags.
// A key ending in "-file" among secrets reads the secret from that file.
// It returns the arguments left after the flags (the command), and
// flag.ErrHelp after printing help to out.
func Load(args []string, getenv func(string) string, out io.Writer) (Config, []string, error) {
	c := Defaults()
	fs := flag.NewFlagSet("kioskd", flag.ContinueOnError)
	fs.SetOutput(out)
	configFile := fs.String("config", getenv("KIOSK_CONFIG"), "optional JSON configuration file (env KIOSK_CONFIG)")
	flagVals := map[string]*string{}
	all := fields()
	for _, f := range all {
		flagVals[f.key] = fs.String(f.key, "", fmt.Sprintf("%s (env %s, default %q)", f.help, EnvName(f.key), f.get(&c)))
		if f.secret {
			flagVals[f.key+"-file"] = fs.String(f.key+"-file", "", fmt.Sprintf("read %s from this file (env %s)", f.key, EnvName(f.key+"-file")))
		}
	}
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: kioskd [flags] [command]\n\nCommands:\n"+
			"  serve          run the station (default)\n"+
			"  config         print the effective configuration, secrets redacted\n"+
			"  audit verify   walk the audit chain and report the first broken entry\n"+
			"  sync --once    reconcile with the registry once and exit\n"+
			"  retention --once  remove personal data the registry archived longer ago than -retention, and exit\n"+
			"  enrol          obtain this station's certificate and SITHS roots with a one-time code\n"+
			"  trust verify CERT.pem  check a card certificate against the station's card trust (roots, intermediates, CRLs)\n"+
			"  selftest       open the store, run migrations, check the audit chain, exit\n"+
			"  health         after a boot: kioskd serves, store, audit chain, registry (kioskd health -h)\n"+
			"  version        print the version (also --version)\n\nFlags (each also settable from the environment and the config file):\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return c, nil, err
	}
	set := func(f field, v, source string) error {
		if err := f.set(&c, v); err != nil {
			return &KeyError{Key: f.key, Source: source, Reason: err.Error()}
		}
		return nil
	}
	if *configFile != "" {
		b, err := os.ReadFile(*configFile)
		if err != nil {
			return c, nil, &KeyError{Key: "config", Reason: err.Error()}
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			return c, nil, &KeyError{Key: "config", Reason: fmt.Sprintf("%s is not a JSON object: %v", *configFile, err)}
		}
		known := map[string]field{}
		for _, f := range all {
			known[f.key] = f
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			f, ok := known[k]
			if !ok {
				return c, nil, &KeyError{Key: k, Source: "file", Reason: "unknown key"}
			}
			if err := set(f, fmt.Sprint(m[k]), "file"); err != nil {
				return c, nil, err
			}
		}
	}
	for _, f := range all {
		if v := getenv(EnvName(f.key)); v != "" {
			if err := set(f, v, "env "+EnvName(f.key)); err != nil {
				return c, nil, err
			}
		}
		if f.secret {
			if p := getenv(EnvName(f.key + "-file")); p != "" {
				if err := setFromFile(&c, f, p, "env "+EnvName(f.key+"-file")); err != nil {
					return c, nil, err
				}
			}
		}
	}
	var ferr error
	fs.Visit(func(fl *flag.Flag) {
		if ferr != nil {
			return
		}
		for _, f := range all {
			switch fl.Name {
			case f.key:
				ferr = set(f, fl.Value.String(), "flag")
			case f.key + "-file":
				ferr = setFromFile(&c, f, fl.Value.String(), "flag")
			}
		}
	})
	if ferr != nil {
		return c, nil, ferr
	}
	c.derive()
	if err := c.Validate(); err != nil {
		return c, nil, err
	}
	return c, fs.Args(), nil
}

func setFromFile(c *Config, f field, path, source string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return &KeyError{Key: f.key + "-file", Source: source, Reason: err.Error()}
	}
	return f.set(c, strings.TrimSpace(string(b)))
}

// ValidateServe checks what running a station (serve, sync) needs beyond
// Validate: a registry chosen explicitly.
func (c *Config) ValidateServe() error {
	if c.Registry == "" {
		return &KeyError{Key: "registry", Reason: "not set: a station needs registry=remote (with registry-url) or registry=embedded"}
	}
	// With registry=remote the roots come with enrolment (kiosk/app checks
	// that they are there, enrolling first when they are not).
	if c.TrustAnchors == "" && !c.Simulation && c.Registry != "remote" {
		return &KeyError{Key: "trust-anchors", Reason: "not set: a station needs the SITHS root certificates to know whose cards to trust (with registry=remote it gets them at enrolment)"}
	}
	return nil
}

// derive fills values that default from others.
func (c *Config) derive() {
	if c.UITokenFile == "" {
		c.UITokenFile = filepath.Join(c.DataDir, "ui-token")
	}
	if len(c.AllowedHosts) == 0 {
		c.AllowedHosts = []string{c.Listen}
		if host, port, err := net.SplitHostPort(c.Listen); err == nil && (host == "127.0.0.1" || host == "::1" || host == "localhost") {
			c.AllowedHosts = []string{net.JoinHostPort("127.0.0.1", port), net.JoinHostPort("localhost", port), net.JoinHostPort("::1", port)}
		}
	}
	if len(c.AllowedOrigins) == 0 {
		for _, h := range c.AllowedHosts {
			c.AllowedOrigins = append(c.AllowedOrigins, "http://"+h)
		}
	}
}

func oneOf(key, v string, allowed ...string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return &KeyError{Key: key, Reason: fmt.Sprintf("%q is not one of %s", v, strings.Join(allowed, ", "))}
}

// Validate checks every value and returns a *KeyError for the first bad one.
func (c *Config) Validate() error {
	if _, port, err := net.SplitHostPort(c.Listen); err != nil {
		return &KeyError{Key: "listen", Reason: fmt.Sprintf("%q is not host:port: %v", c.Listen, err)}
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return &KeyError{Key: "listen", Reason: fmt.Sprintf("port %q is not a number from 0 to 65535", port)}
	}
	for _, o := range c.AllowedOrigins {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" {
			return &KeyError{Key: "allowed-origins", Reason: fmt.Sprintf("%q is not an origin like http://host:port", o)}
		}
	}
	if c.DataDir == "" {
		return &KeyError{Key: "data-dir", Reason: "must not be empty"}
	}
	if c.StationID == "" || strings.ContainsAny(c.StationID, " /\\") {
		return &KeyError{Key: "station-id", Reason: "must be non-empty without spaces or slashes"}
	}
	checks := []error{
		oneOf("log-level", c.LogLevel, "debug", "info", "warn", "error"),
		oneOf("log-format", c.LogFormat, "auto", "json", "text"),
		oneOf("reader", c.Reader, "sim", "pcsc", "pkcs11"),
		oneOf("pkcs11-slot-match", c.PKCS11SlotMatch, "exact", "prefix"),
		oneOf("printer", c.Printer, "sim", "ipp"),
		oneOf("drawer", c.Drawer, "sim", "gpio"),
		oneOf("drawer-pull", c.DrawerPull, "none", "up", "down"),
		oneOf("drawer-active", c.DrawerActive, "high", "low"),
		oneOf("ui-auth", c.UIAuth, UIAuthToken, UIAuthNone),
	}
	if c.Registry != "" {
		checks = append(checks, oneOf("registry", c.Registry, "embedded", "remote"))
	}
	for _, err := range checks {
		if err != nil {
			return err
		}
	}
	if c.WSMaxMessage < 1024 || c.WSMaxMessage > 16<<20 {
		return &KeyError{Key: "ws-max-message", Reason: "must be between 1024 and 16777216 bytes"}
	}
	if c.WSPing < time.Second {
		return &KeyError{Key: "ws-ping", Reason: "must be at least 1s"}
	}
	if c.IdleTimeout < 10*time.Second {
		return &KeyError{Key: "idle-timeout", Reason: "must be at least 10s"}
	}
	if c.MinFreeMB < 1 {
		return &KeyError{Key: "min-free-mb", Reason: "must be at least 1"}
	}
	if c.Retention < time.Hour {
		return &KeyError{Key: "retention", Reason: "must be at least 1h"}
	}
	if c.DrawerDebounce < 0 || c.DrawerDebounce > 2*time.Second {
		return &KeyError{Key: "drawer-debounce", Reason: "must be between 0 and 2s"}
	}
	if c.CRLGrace < 0 || c.CRLGrace > 7*24*time.Hour {
		return &KeyError{Key: "crl-grace", Reason: "must be between 0 and 168h"}
	}
	if _, err := window.Parse(c.UpdateWindow, c.UpdateTimezone); err != nil {
		return &KeyError{Key: "update-window", Reason: err.Error()}
	}
	if c.UpdateCheckInterval < 10*time.Second {
		return &KeyError{Key: "update-check-interval", Reason: "must be at least 10s"}
	}
	if c.UpdateSpool != "" && !filepath.IsAbs(c.UpdateSpool) {
		return &KeyError{Key: "update-spool", Reason: fmt.Sprintf("%q is not an absolute path", c.UpdateSpool)}
	}
	if c.SyncInterval < 5*time.Second {
		return &KeyError{Key: "sync-interval", Reason: "must be at least 5s"}
	}
	if c.Printer == "ipp" {
		if u, err := url.Parse(c.PrinterURL); err != nil || u.Host == "" {
			return &KeyError{Key: "printer-url", Reason: fmt.Sprintf("%q is not a URL like http://localhost:631", c.PrinterURL)}
		}
		if c.PrinterQueue == "" {
			return &KeyError{Key: "printer-queue", Reason: "must not be empty with printer=ipp"}
		}
	}
	if c.Reader == "pkcs11" {
		if c.PKCS11Module == "" {
			return &KeyError{Key: "pkcs11-module", Reason: "must name the PKCS#11 module (.so) with reader=pkcs11"}
		}
		if !filepath.IsAbs(c.PKCS11Module) {
			return &KeyError{Key: "pkcs11-module", Reason: fmt.Sprintf("%q is not an absolute path", c.PKCS11Module)}
		}
	}
	if c.PKCS11PINRetries < 0 || c.PKCS11PINRetries > 15 {
		return &KeyError{Key: "pkcs11-pin-retries", Reason: "must be between 0 and 15"}
	}
	if c.Drawer == "gpio" && c.DrawerPin == "" {
		return &KeyError{Key: "drawer-pin", Reason: "must not be empty with drawer=gpio"}
	}
	if !c.Simulation {
		for _, d := range []struct{ key, v string }{{"reader", c.Reader}, {"printer", c.Printer}, {"drawer", c.Drawer}} {
			if d.v == "sim" {
				return &KeyError{Key: d.key, Reason: "simulated hardware needs simulation=true (development only)"}
			}
		}
		if c.UIAuth == UIAuthNone {
			return &KeyError{Key: "ui-auth", Reason: "none lets any local process drive the counter; only with simulation=true (development)"}
		}
	}
	if c.Registry == "remote" {
		u, err := url.Parse(c.RegistryURL)
		if err != nil || u.Scheme != "https" || u.Host == "" {
			return &KeyError{Key: "registry-url", Reason: fmt.Sprintf("%q is not an https:// URL (required with registry=remote)", c.RegistryURL)}
		}
	}
	return nil
}

// StorePath is the SQLite file under DataDir.
func (c *Config) StorePath() string { return filepath.Join(c.DataDir, "station.db") }

// Print writes the effective configuration, one "key = value" line per key,
// with secrets redacted.
func (c *Config) Print(w io.Writer) error {
	for _, f := range fields() {
		v := f.get(c)
		if f.secret && v != "" {
			v = "<redacted>"
		}
		if _, err := fmt.Fprintf(w, "%s = %s\n", f.key, v); err != nil {
			return err
		}
	}
	return nil
}
