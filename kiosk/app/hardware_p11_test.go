package app

import (
	"errors"
	"log/slog"
	"testing"

	"github.com/kortstation/kortstation/kiosk/config"
)

// A PKCS#11 module that cannot be loaded stops the station with the key.
func TestOpenHardwarePKCS11ModuleMissing(t *testing.T) {
	cfg := config.Defaults()
	cfg.Reader, cfg.PKCS11Module = "pkcs11", "/nonexistent/libvendor-pkcs11.so"
	_, err := openHardware(cfg, slog.New(slog.DiscardHandler))
	var ke *config.KeyError
	if !errors.As(err, &ke) || ke.Key != "pkcs11-module" {
		t.Errorf("got %v, want a *config.KeyError for pkcs11-module", err)
	}
}
