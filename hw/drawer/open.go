package drawer

import (
	"fmt"
	"strconv"

	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/host/v3"
)

// Open initialises periph.io's host drivers (host.Init, e.g. the Raspberry
// Pi's GPIO), finds the pin named cfg.Pin in the GPIO registry and returns a
// driver for it. On a machine without that pin (any non-Pi machine for
// "GPIO17") it returns a *ConfigError for key "pin" wrapping ErrNoSuchPin.
func Open(cfg Config, opts ...Option) (*Driver, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if _, err := host.Init(); err != nil {
		return nil, fmt.Errorf("drawer: initialise GPIO host drivers: %w", err)
	}
	p := gpioreg.ByName(cfg.Pin)
	if p == nil {
		return nil, &ConfigError{
			Key:    "pin",
			Value:  strconv.Quote(cfg.Pin),
			Reason: "no GPIO pin of that name on this host (not a Raspberry Pi, or a wrong name)",
			Err:    ErrNoSuchPin,
		}
	}
	return New(p, cfg, opts...)
}
