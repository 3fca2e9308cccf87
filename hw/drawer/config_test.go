package drawer_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kortstation/kortstation/hw/drawer"
	"periph.io/x/conn/v3/gpio/gpiotest"
)

func validConfig() drawer.Config {
	cfg := drawer.DefaultConfig()
	cfg.Pin = "GPIO17"
	return cfg
}

func TestDefaultConfigNeedsOnlyAPin(t *testing.T) {
	if err := validConfig().Validate(); err != nil {
		t.Fatalf("DefaultConfig with a pin: %v", err)
	}
	err := drawer.DefaultConfig().Validate()
	var ce *drawer.ConfigError
	if !errors.As(err, &ce) || ce.Key != "pin" {
		t.Fatalf("DefaultConfig without a pin = %v, want a ConfigError for key pin", err)
	}
}

func TestConfigValidation(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*drawer.Config)
		key    string
	}{
		{"empty pin", func(c *drawer.Config) { c.Pin = "" }, "pin"},
		{"pin with a space", func(c *drawer.Config) { c.Pin = "GPIO 17" }, "pin"},
		{"pin with a path", func(c *drawer.Config) { c.Pin = "/dev/gpiochip0" }, "pin"},
		{"pin too long", func(c *drawer.Config) { c.Pin = strings.Repeat("G", 33) }, "pin"},
		{"unknown pull", func(c *drawer.Config) { c.Pull = "sideways" }, "pull"},
		{"empty pull", func(c *drawer.Config) { c.Pull = "" }, "pull"},
		{"unknown active level", func(c *drawer.Config) { c.ActiveLevel = "1" }, "active_level"},
		{"empty active level", func(c *drawer.Config) { c.ActiveLevel = "" }, "active_level"},
		{"negative debounce", func(c *drawer.Config) { c.Debounce = -time.Millisecond }, "debounce"},
		{"debounce as long as the flap window", func(c *drawer.Config) { c.Debounce = c.FlapWindow }, "debounce"},
		{"zero flap count", func(c *drawer.Config) { c.FlapCount = 0 }, "flap_count"},
		{"zero flap window", func(c *drawer.Config) { c.FlapWindow = 0 }, "flap_window"},
		{"resync too short", func(c *drawer.Config) { c.Resync = time.Millisecond }, "resync"},
		{"zero retry", func(c *drawer.Config) { c.RetryMin = 0 }, "retry_min"},
		{"retry max below min", func(c *drawer.Config) { c.RetryMax = c.RetryMin / 2 }, "retry_max"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := validConfig()
			tc.change(&cfg)
			err := cfg.Validate()
			var ce *drawer.ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("Validate = %v, want a *ConfigError", err)
			}
			if ce.Key != tc.key {
				t.Errorf("key = %q, want %q (%v)", ce.Key, tc.key, err)
			}
			if !errors.Is(err, drawer.ErrInvalidConfig) {
				t.Errorf("%v does not wrap ErrInvalidConfig", err)
			}
			if !strings.Contains(err.Error(), tc.key) {
				t.Errorf("message %q does not name the key %q", err, tc.key)
			}
			// New refuses it too, and so does Open before touching the host.
			if _, err := drawer.New(&gpiotest.Pin{N: "GPIO17"}, cfg); !errors.As(err, &ce) {
				t.Errorf("New = %v, want the ConfigError", err)
			}
			if _, err := drawer.Open(cfg); !errors.As(err, &ce) || ce.Key != tc.key {
				t.Errorf("Open = %v, want the ConfigError for %q", err, tc.key)
			}
		})
	}
}

func TestValidConfigs(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*drawer.Config)
	}{
		{"board position", func(c *drawer.Config) { c.Pin = "P1_11" }},
		{"number", func(c *drawer.Config) { c.Pin = "17" }},
		{"no debounce", func(c *drawer.Config) { c.Debounce = 0 }},
		{"no pull, active low", func(c *drawer.Config) { c.Pull, c.ActiveLevel = drawer.PullNone, drawer.ActiveLow }},
		{"pull down", func(c *drawer.Config) { c.Pull = drawer.PullDown }},
		{"flap count 1", func(c *drawer.Config) { c.FlapCount = 1 }},
		{"fixed retry", func(c *drawer.Config) { c.RetryMax = c.RetryMin }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := validConfig()
			tc.change(&cfg)
			if err := cfg.Validate(); err != nil {
				t.Errorf("Validate = %v, want nil", err)
			}
		})
	}
}

func TestConfigPrintsItsKeys(t *testing.T) {
	got := validConfig().String()
	for _, want := range []string{`pin="GPIO17"`, "pull=up", "active_level=high", "debounce=50ms", "flap_count=10", "flap_window=10s", "resync=500ms", "retry_min=500ms", "retry_max=30s"} {
		if !strings.Contains(got, want) {
			t.Errorf("String() = %q, missing %q", got, want)
		}
	}
}

func TestNewNeedsAPin(t *testing.T) {
	if _, err := drawer.New(nil, validConfig()); err == nil {
		t.Error("New(nil pin) = nil error")
	}
}

func TestOpenUnknownPinIsAConfigError(t *testing.T) {
	// This machine is no Raspberry Pi: host.Init loads no board, so the
	// pin does not exist. That is a configuration error, not a panic.
	cfg := validConfig()
	cfg.Pin = "GPIO_NOT_ON_THIS_HOST"
	d, err := drawer.Open(cfg)
	if d != nil {
		t.Error("Open returned a driver for a missing pin")
	}
	var ce *drawer.ConfigError
	if !errors.As(err, &ce) || ce.Key != "pin" {
		t.Fatalf("Open = %v, want a ConfigError for key pin", err)
	}
	if !errors.Is(err, drawer.ErrNoSuchPin) {
		t.Errorf("%v does not wrap ErrNoSuchPin", err)
	}
	if !strings.Contains(err.Error(), cfg.Pin) {
		t.Errorf("message %q does not name the pin", err)
	}
}

func TestStringsForPayloads(t *testing.T) {
	for _, tc := range []struct {
		got  interface{ MarshalText() ([]byte, error) }
		want string
	}{
		{drawer.StateUnknown, "unknown"}, {drawer.StateClosed, "closed"}, {drawer.StateOpen, "open"},
		{drawer.EventOpened, "opened"}, {drawer.EventClosed, "closed"}, {drawer.EventFlapping, "flapping"},
		{drawer.EventFault, "fault"}, {drawer.EventRecovered, "recovered"},
	} {
		b, err := tc.got.MarshalText()
		if err != nil || string(b) != tc.want {
			t.Errorf("MarshalText = %q, %v; want %q", b, err, tc.want)
		}
	}
}
