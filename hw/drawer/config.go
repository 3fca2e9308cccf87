package drawer

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"periph.io/x/conn/v3/gpio"
)

// Pull is the input's pull resistor.
type Pull string

// Pull resistor settings.
const (
	PullNone Pull = "none" // floating: the circuit drives the level
	PullUp   Pull = "up"
	PullDown Pull = "down"
)

// ActiveLevel is the input level that means the drawer is OPEN.
type ActiveLevel string

// Active levels.
const (
	ActiveHigh ActiveLevel = "high" // high = open, low = closed
	ActiveLow  ActiveLevel = "low"  // low = open, high = closed
)

// Config configures the drawer sensor. Start from DefaultConfig and set at
// least Pin; Validate says what is wrong, naming the key.
type Config struct {
	// Pin is the periph.io name of the GPIO input, e.g. "GPIO17", "P1_11"
	// or "17".
	Pin string `json:"pin"`
	// Pull is the pull resistor: "none", "up" or "down".
	Pull Pull `json:"pull"`
	// ActiveLevel is the level that means OPEN: "high" or "low".
	ActiveLevel ActiveLevel `json:"active_level"`
	// Debounce is how long a level must be stable before it counts. Zero
	// turns debouncing off.
	Debounce time.Duration `json:"debounce"`
	// FlapCount and FlapWindow: more than FlapCount state changes within
	// FlapWindow (or no stable level for a whole FlapWindow) is flapping;
	// the sensor is trusted again after FlapWindow without an edge.
	FlapCount  int           `json:"flap_count"`
	FlapWindow time.Duration `json:"flap_window"`
	// Resync bounds each wait for an edge: after it the level is re-read to
	// catch a missed edge, and a cancelled context is noticed. It is the
	// longest Run takes to return after cancellation. At least 20ms.
	Resync time.Duration `json:"resync"`
	// RetryMin and RetryMax bound the exponential backoff between attempts
	// to re-arm a faulty pin.
	RetryMin time.Duration `json:"retry_min"`
	RetryMax time.Duration `json:"retry_max"`
}

// DefaultConfig returns a configuration for a reed switch to ground with the
// internal pull-up (open drawer = switch open = high). Pin is left empty:
// it depends on the wiring and must be set.
func DefaultConfig() Config {
	return Config{
		Pull:        PullUp,
		ActiveLevel: ActiveHigh,
		Debounce:    50 * time.Millisecond,
		FlapCount:   10,
		FlapWindow:  10 * time.Second,
		Resync:      500 * time.Millisecond,
		RetryMin:    500 * time.Millisecond,
		RetryMax:    30 * time.Second,
	}
}

// ErrInvalidConfig is wrapped by every *ConfigError.
var ErrInvalidConfig = errors.New("invalid drawer configuration")

// ErrNoSuchPin is wrapped by the *ConfigError that Open returns when the
// host has no GPIO pin of the configured name (e.g. not a Raspberry Pi).
var ErrNoSuchPin = errors.New("no such GPIO pin on this host")

// ConfigError is a configuration value that cannot be used.
type ConfigError struct {
	Key    string // the configuration key, e.g. "pin" or "active_level"
	Value  string // the offending value, quoted
	Reason string
	Err    error // ErrInvalidConfig or ErrNoSuchPin
}

// Error names the key, the value and the reason.
func (e *ConfigError) Error() string {
	return fmt.Sprintf("drawer config: %s = %s: %s", e.Key, e.Value, e.Reason)
}

// Unwrap returns ErrInvalidConfig or ErrNoSuchPin.
func (e *ConfigError) Unwrap() error { return e.Err }

func invalid(key, value, reason string) *ConfigError {
	return &ConfigError{Key: key, Value: value, Reason: reason, Err: ErrInvalidConfig}
}

// Validate returns a *ConfigError for the first unusable value, or nil.
func (c Config) Validate() error {
	if err := validatePinName(c.Pin); err != nil {
		return err
	}
	switch c.Pull {
	case PullNone, PullUp, PullDown:
	default:
		return invalid("pull", strconv.Quote(string(c.Pull)), `must be "none", "up" or "down"`)
	}
	switch c.ActiveLevel {
	case ActiveHigh, ActiveLow:
	default:
		return invalid("active_level", strconv.Quote(string(c.ActiveLevel)), `must be "high" or "low" (the level that means open)`)
	}
	if c.Debounce < 0 {
		return invalid("debounce", c.Debounce.String(), "must not be negative")
	}
	if c.FlapCount < 1 {
		return invalid("flap_count", strconv.Itoa(c.FlapCount), "must be at least 1")
	}
	if c.FlapWindow <= 0 {
		return invalid("flap_window", c.FlapWindow.String(), "must be positive")
	}
	if c.Debounce >= c.FlapWindow {
		return invalid("debounce", c.Debounce.String(), "must be shorter than flap_window ("+c.FlapWindow.String()+")")
	}
	if c.Resync < minCheckedWait {
		return invalid("resync", c.Resync.String(), "must be at least "+minCheckedWait.String())
	}
	if c.RetryMin <= 0 {
		return invalid("retry_min", c.RetryMin.String(), "must be positive")
	}
	if c.RetryMax < c.RetryMin {
		return invalid("retry_max", c.RetryMax.String(), "must not be shorter than retry_min ("+c.RetryMin.String()+")")
	}
	return nil
}

// String prints the configuration with its keys (it holds no secrets).
func (c Config) String() string {
	return fmt.Sprintf("pin=%q pull=%s active_level=%s debounce=%s flap_count=%d flap_window=%s resync=%s retry_min=%s retry_max=%s",
		c.Pin, c.Pull, c.ActiveLevel, c.Debounce, c.FlapCount, c.FlapWindow, c.Resync, c.RetryMin, c.RetryMax)
}

// validatePinName accepts the shapes periph.io uses for pin names and
// aliases: letters, digits, '_', '-' and '.', at most 32 characters.
func validatePinName(name string) error {
	if name == "" {
		return invalid("pin", `""`, `is required (a GPIO name such as "GPIO17")`)
	}
	if len(name) > 32 {
		return invalid("pin", strconv.Quote(name), "is longer than 32 characters")
	}
	for _, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.'
		if !ok {
			return invalid("pin", strconv.Quote(name), "may hold only letters, digits, '_', '-' and '.'")
		}
	}
	return nil
}

func (p Pull) gpio() gpio.Pull {
	switch p {
	case PullUp:
		return gpio.PullUp
	case PullDown:
		return gpio.PullDown
	}
	return gpio.Float
}

func (a ActiveLevel) openLevel() gpio.Level {
	if a == ActiveLow {
		return gpio.Low
	}
	return gpio.High
}
