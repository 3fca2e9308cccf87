package config

import (
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaultsAreValidAndDerived(t *testing.T) {
	c, rest, err := Load(nil, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(rest) != 0 {
		t.Errorf("rest = %v", rest)
	}
	// Production defaults fail closed: real hardware, no simulation, the
	// UI only with the kiosk's token, no registry until one is chosen.
	if c.Listen != "127.0.0.1:8080" || c.Reader != "pcsc" || c.Printer != "ipp" || c.Drawer != "gpio" ||
		c.Registry != "" || c.Simulation || c.UIAuth != UIAuthToken {
		t.Errorf("defaults: %+v", c)
	}
	if err := c.ValidateServe(); err == nil || err.(*KeyError).Key != "registry" {
		t.Errorf("serving without a registry: got %v, want a registry key error", err)
	}
	if !c.RequireClock {
		t.Error("a production station does not require its clock synchronised")
	}
	// Nor without the SITHS roots its cards must chain to, unless a
	// remote registry gives them at enrolment (kiosk/app then insists on
	// the enrolled roots).
	c2, _, err := Load([]string{"-registry", "embedded"}, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := c2.ValidateServe(); err == nil || err.(*KeyError).Key != "trust-anchors" {
		t.Errorf("serving without trust anchors: got %v, want a trust-anchors key error", err)
	}
	c3, _, err := Load([]string{"-registry", "remote", "-registry-url", "https://registry.example.se"}, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := c3.ValidateServe(); err != nil {
		t.Errorf("a remote-registry station without trust-anchors (roots from enrolment): %v", err)
	}
	wantHosts := "127.0.0.1:8080,localhost:8080,[::1]:8080"
	if got := strings.Join(c.AllowedHosts, ","); got != wantHosts {
		t.Errorf("AllowedHosts = %s, want %s", got, wantHosts)
	}
	if c.AllowedOrigins[0] != "http://127.0.0.1:8080" {
		t.Errorf("AllowedOrigins = %v", c.AllowedOrigins)
	}
}

// TestDevelopmentSettingsOnlyWithSimulation: simulated hardware and an
// unauthenticated UI channel are development settings; without
// simulation=true they are refused, naming the key.
func TestDevelopmentSettingsOnlyWithSimulation(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		wantKey string
	}{
		{[]string{"-reader", "sim"}, "reader"},
		{[]string{"-printer", "sim"}, "printer"},
		{[]string{"-drawer", "sim"}, "drawer"},
		{[]string{"-ui-auth", "none"}, "ui-auth"},
		{[]string{"-ui-auth", "maybe", "-simulation=true"}, "ui-auth"},
		{[]string{"-registry", "cloud"}, "registry"},
	} {
		_, _, err := Load(tc.args, env(nil), io.Discard)
		var ke *KeyError
		if !errors.As(err, &ke) || ke.Key != tc.wantKey {
			t.Errorf("%v: got %v, want a %s key error", tc.args, err, tc.wantKey)
		}
	}
	c, _, err := Load([]string{"-simulation=true", "-reader", "sim", "-printer", "sim", "-drawer", "sim", "-ui-auth", "none", "-registry", "embedded"}, env(nil), io.Discard)
	if err != nil {
		t.Fatalf("make run's settings refused: %v", err)
	}
	if err := c.ValidateServe(); err != nil {
		t.Errorf("make run's settings cannot serve: %v", err)
	}
}

func TestPrecedenceFileEnvFlag(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "kiosk.json")
	os.WriteFile(file, []byte(`{"station-id": "from-file", "location": "Halmstad", "ws-ping": "7s"}`), 0o600)
	c, rest, err := Load([]string{"-config", file, "-station-id", "from-flag", "serve"},
		env(map[string]string{"KIOSK_STATION_ID": "from-env", "KIOSK_LOCATION": "Växjö"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.StationID != "from-flag" || c.Location != "Växjö" || c.WSPing != 7*time.Second {
		t.Errorf("got id=%s location=%s ping=%s", c.StationID, c.Location, c.WSPing)
	}
	if len(rest) != 1 || rest[0] != "serve" {
		t.Errorf("rest = %v, want [serve]", rest)
	}
}

func TestBadValuesNameTheKey(t *testing.T) {
	cases := []struct {
		args    []string
		env     map[string]string
		file    string
		wantKey string
	}{
		{args: []string{"-listen", "nonsense"}, wantKey: "listen"},
		{args: []string{"-listen", "127.0.0.1:99999"}, wantKey: "listen"},
		{args: []string{"-reader", "usb"}, wantKey: "reader"},
		{args: []string{"-reader", "pkcs11"}, wantKey: "pkcs11-module"},
		{env: map[string]string{"KIOSK_READER": "pkcs11", "KIOSK_PKCS11_MODULE": "libvendor.so"}, wantKey: "pkcs11-module"},
		{args: []string{"-reader", "pkcs11", "-pkcs11-module", "/usr/lib/x.so", "-pkcs11-slot-match", "fuzzy"}, wantKey: "pkcs11-slot-match"},
		{args: []string{"-pkcs11-pin-retries", "-1"}, wantKey: "pkcs11-pin-retries"},
		{env: map[string]string{"KIOSK_WS_PING": "often"}, wantKey: "ws-ping"},
		{env: map[string]string{"KIOSK_WS_MAX_MESSAGE": "10"}, wantKey: "ws-max-message"},
		{args: []string{"-allowed-origins", "evil"}, wantKey: "allowed-origins"},
		{args: []string{"-registry", "remote"}, wantKey: "registry-url"},
		{args: []string{"-registry", "remote", "-registry-url", "http://plain"}, wantKey: "registry-url"},
		{args: []string{"-station-id", "has space"}, wantKey: "station-id"},
		{args: []string{"-drawer-debounce", "10s"}, wantKey: "drawer-debounce"},
		{args: []string{"-max-data-age", "operators=soon"}, wantKey: "max-data-age"},
		{args: []string{"-max-data-age", "operators"}, wantKey: "max-data-age"},
		{env: map[string]string{"KIOSK_MAX_DATA_AGE": "operators=-1h"}, wantKey: "max-data-age"},
		{file: `{"no-such-key": "x"}`, wantKey: "no-such-key"},
		{file: `not json`, wantKey: "config"},
		{args: []string{"-enrol-code-file", "/nonexistent/code"}, wantKey: "enrol-code-file"},
	}
	for _, c := range cases {
		args := c.args
		if c.file != "" {
			f := filepath.Join(t.TempDir(), "c.json")
			os.WriteFile(f, []byte(c.file), 0o600)
			args = append([]string{"-config", f}, args...)
		}
		_, _, err := Load(args, env(c.env), io.Discard)
		var ke *KeyError
		if !errors.As(err, &ke) {
			t.Errorf("%v %v %q: err = %v, want *KeyError", c.args, c.env, c.file, err)
			continue
		}
		if ke.Key != c.wantKey {
			t.Errorf("%v %v %q: key = %s, want %s (%v)", c.args, c.env, c.file, ke.Key, c.wantKey, err)
		}
	}
}

func TestSecretsFromFileAreRedacted(t *testing.T) {
	f := filepath.Join(t.TempDir(), "code")
	os.WriteFile(f, []byte("ABCD-1234\n"), 0o600)
	c, _, err := Load([]string{"-enrol-code-file", f}, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.EnrolCode != "ABCD-1234" {
		t.Errorf("EnrolCode = %q", c.EnrolCode)
	}
	var b strings.Builder
	c.Print(&b)
	if strings.Contains(b.String(), "ABCD-1234") || !strings.Contains(b.String(), "enrol-code = <redacted>") {
		t.Errorf("Print leaks or lacks the secret:\n%s", b.String())
	}
	if !strings.Contains(b.String(), "listen = 127.0.0.1:8080") {
		t.Errorf("Print lacks listen:\n%s", b.String())
	}
}

func TestHelpListsEveryKey(t *testing.T) {
	var b strings.Builder
	_, _, err := Load([]string{"-help"}, env(nil), &b)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("err = %v, want ErrHelp", err)
	}
	for _, f := range fields() {
		if !strings.Contains(b.String(), "-"+f.key) || !strings.Contains(b.String(), EnvName(f.key)) {
			t.Errorf("help does not document %s / %s", f.key, EnvName(f.key))
		}
	}
}

func TestMaxDataAge(t *testing.T) {
	c, _, err := Load([]string{"-max-data-age", "operators=1h, blocked_cards=30m"}, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.MaxDataAge["operators"] != time.Hour || c.MaxDataAge["blocked_cards"] != 30*time.Minute || len(c.MaxDataAge) != 2 {
		t.Errorf("MaxDataAge = %v", c.MaxDataAge)
	}
	var b strings.Builder
	c.Print(&b)
	if !strings.Contains(b.String(), "max-data-age = blocked_cards=30m0s,operators=1h0m0s") {
		t.Errorf("Print:\n%s", b.String())
	}
}

func TestPKCS11Reader(t *testing.T) {
	for _, tt := range []struct {
		name      string
		args      []string
		wantMatch string
		wantLabel string
	}{
		{"defaults", []string{"-reader", "pkcs11", "-pkcs11-module", "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so"}, "exact", ""},
		{"prefix and label", []string{"-reader", "pkcs11", "-pkcs11-module", "/usr/lib/vendor.so", "-pkcs11-slot-match", "prefix", "-pkcs11-token-label", "PIN1"}, "prefix", "PIN1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, _, err := Load(append(tt.args, "-printer", "ipp"), env(nil), io.Discard)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if c.Reader != "pkcs11" || c.PKCS11SlotMatch != tt.wantMatch || c.PKCS11TokenLabel != tt.wantLabel || c.PKCS11PINRetries != 3 {
				t.Errorf("got reader %q match %q label %q retries %d, want pkcs11 %q %q 3", c.Reader, c.PKCS11SlotMatch, c.PKCS11TokenLabel, c.PKCS11PINRetries, tt.wantMatch, tt.wantLabel)
			}
		})
	}
}
