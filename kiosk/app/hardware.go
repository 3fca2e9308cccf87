package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"

	"github.com/kortstation/kortstation/hw/cardreader/pcsc"
	readersim "github.com/kortstation/kortstation/hw/cardreader/sim"
	"github.com/kortstation/kortstation/hw/drawer"
	drawersim "github.com/kortstation/kortstation/hw/drawer/sim"
	"github.com/kortstation/kortstation/hw/printer"
	"github.com/kortstation/kortstation/hw/printer/ipp"
	printersim "github.com/kortstation/kortstation/hw/printer/sim"
	"github.com/kortstation/kortstation/kiosk/config"
	"github.com/kortstation/kortstation/kiosk/problem"
	"github.com/kortstation/kortstation/kiosk/station"
)

// hardware is the station's devices and, in simulation, their control
// knobs for the dev panel.
type hardware struct {
	devices    station.Devices
	readerSim  *readersim.Reader
	devCards   *devCards
	drawerSim  *drawersim.Sensor
	printerSim *printersim.Printer
}

// openHardware builds the configured drivers: simulators for `make run`,
// the real drivers on a station.
func openHardware(cfg config.Config, log *slog.Logger) (*hardware, error) {
	h := &hardware{}
	switch cfg.Reader {
	case "sim":
		h.readerSim = readersim.New(log.With("component", "reader"), readersim.DefaultReaders()...)
		h.devices.Reader = h.readerSim
		cards, err := newDevCards()
		if err != nil {
			return nil, err
		}
		h.devCards = cards
	case "pcsc":
		h.devices.Reader = pcsc.New(pcsc.Config{Logger: log.With("component", "reader")})
	}
	switch cfg.Drawer {
	case "sim":
		dc := drawersim.DefaultConfig()
		dc.Debounce = cfg.DrawerDebounce
		s, err := drawersim.New(dc, log.With("component", "drawer"))
		if err != nil {
			return nil, fmt.Errorf("drawer simulator: %w", err)
		}
		h.drawerSim, h.devices.Drawer = s, s
	case "gpio":
		dc := drawer.DefaultConfig()
		dc.Pin = cfg.DrawerPin
		dc.Pull = drawer.Pull(cfg.DrawerPull)
		dc.ActiveLevel = drawer.ActiveLevel(cfg.DrawerActive)
		dc.Debounce = cfg.DrawerDebounce
		d, err := drawer.Open(dc, drawer.WithLogger(log.With("component", "drawer")))
		if err != nil {
			return nil, fmt.Errorf("drawer sensor (config drawer-pin %q): %w", cfg.DrawerPin, err)
		}
		h.devices.Drawer = d
	}
	switch cfg.Printer {
	case "sim":
		dir := filepath.Join(cfg.DataDir, "printed")
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("printer simulator: %w", err)
		}
		h.printerSim = printersim.New(printersim.Options{Dir: dir, Logger: log.With("component", "printer")})
		h.devices.Printer = h.printerSim
	case "ipp":
		u, err := url.Parse(cfg.PrinterURL)
		if err != nil {
			return nil, &config.KeyError{Key: "printer-url", Reason: err.Error()}
		}
		port, _ := strconv.Atoi(u.Port())
		p, err := ipp.New(ipp.Config{Host: u.Hostname(), Port: port, Queue: cfg.PrinterQueue, Logger: log.With("component", "printer")})
		if err != nil {
			return nil, fmt.Errorf("printer: %w", err)
		}
		h.devices.Printer = p
	}
	return h, nil
}

func (h *hardware) close() error {
	var errs []error
	if h.printerSim != nil {
		errs = append(errs, h.printerSim.Close())
	}
	return errors.Join(errs...)
}

// registerDev adds the dev panel's requests, which drive the simulators.
// The station serves dev.* requests only in simulation.
func (h *hardware) registerDev(s *station.Station) {
	type toggle struct {
		On bool `json:"on"`
	}
	simple := func(f func()) station.Handler {
		return func(context.Context, string, json.RawMessage) (any, error) {
			f()
			return map[string]bool{"ok": true}, nil
		}
	}
	withToggle := func(f func(bool)) station.Handler {
		return func(_ context.Context, _ string, payload json.RawMessage) (any, error) {
			var t toggle
			if err := json.Unmarshal(payload, &t); err != nil {
				return nil, problem.Errorf("malformed", "Felaktig begäran.", "Malformed request: "+err.Error())
			}
			f(t.On)
			return map[string]bool{"ok": true}, nil
		}
	}
	if r := h.readerSim; r != nil {
		type cardReq struct {
			Reader string `json:"reader"`
			Serial string `json:"serial"`
		}
		decode := func(payload json.RawMessage) (cardReq, error) {
			var req cardReq
			if err := json.Unmarshal(payload, &req); err != nil {
				return req, problem.Errorf("malformed", "Felaktig begäran.", "Malformed request: "+err.Error())
			}
			return req, nil
		}
		s.HandleFunc("dev.cards", func(context.Context, string, json.RawMessage) (any, error) {
			return map[string]any{"readers": r.Readers(), "cards": h.devCards.list()}, nil
		})
		s.HandleFunc("dev.card.insert", func(_ context.Context, _ string, payload json.RawMessage) (any, error) {
			req, err := decode(payload)
			if err != nil {
				return nil, err
			}
			card, ok := h.devCards.get(req.Serial)
			if !ok {
				return nil, problem.Errorf("unknown_card", "Okänt testkort.", "Unknown test card.")
			}
			if err := r.Insert(req.Reader, card); err != nil {
				return nil, problem.Errorf("reader", "Kortet kunde inte sättas i: "+err.Error(), "The card could not be inserted: "+err.Error())
			}
			return map[string]bool{"ok": true}, nil
		})
		s.HandleFunc("dev.card.remove", func(_ context.Context, _ string, payload json.RawMessage) (any, error) {
			req, err := decode(payload)
			if err != nil {
				return nil, err
			}
			if err := r.Remove(req.Reader); err != nil {
				return nil, problem.Errorf("reader", "Kortet kunde inte tas ut: "+err.Error(), "The card could not be removed: "+err.Error())
			}
			return map[string]bool{"ok": true}, nil
		})
	}
	if d := h.drawerSim; d != nil {
		s.HandleFunc("dev.drawer.open", simple(d.Open))
		s.HandleFunc("dev.drawer.close", simple(d.Close))
		s.HandleFunc("dev.drawer.fail", simple(func() { d.Fail("simulated sensor fault") }))
		s.HandleFunc("dev.drawer.repair", simple(d.Repair))
	}
	if p := h.printerSim; p != nil {
		s.HandleFunc("dev.printer.paused", withToggle(p.SetPaused))
		s.HandleFunc("dev.printer.offline", withToggle(p.SetOffline))
		s.HandleFunc("dev.printer.out_of_paper", withToggle(p.SetOutOfPaper))
	}
}

var _ printer.Printer = (*printersim.Printer)(nil)
