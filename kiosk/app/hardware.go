package app

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"

	"github.com/kortstation/kortstation/hw/cardreader"
	"github.com/kortstation/kortstation/hw/cardreader/p11"
	"github.com/kortstation/kortstation/hw/cardreader/pcsc"
	readersim "github.com/kortstation/kortstation/hw/cardreader/sim"
	"github.com/kortstation/kortstation/hw/drawer"
	drawersim "github.com/kortstation/kortstation/hw/drawer/sim"
	"github.com/kortstation/kortstation/hw/printer"
	"github.com/kortstation/kortstation/hw/printer/ipp"
	printersim "github.com/kortstation/kortstation/hw/printer/sim"
	"github.com/kortstation/kortstation/kiosk/config"
	"github.com/kortstation/kortstation/kiosk/counter"
	"github.com/kortstation/kortstation/kiosk/problem"
)

// devices are the station's hardware, real or simulated.
type devices struct {
	Reader  cardreader.Reader
	Drawer  drawer.Sensor
	Printer printer.Printer
}

// hardware is the station's devices and, in simulation, their control
// knobs for the dev panel.
type hardware struct {
	devices    devices
	readerSim  *readersim.Reader
	devCards   *devCards
	drawerSim  *drawersim.Sensor
	printerSim *printersim.Printer
	p11Reader  *p11.Reader
	p11Module  *p11.Module
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
	case "pkcs11":
		// Card events from pcscd, the card itself through the module.
		mod, err := p11.Open(cfg.PKCS11Module)
		if err != nil {
			return nil, &config.KeyError{Key: "pkcs11-module", Reason: err.Error()}
		}
		r, err := p11.New(p11.Config{
			Module:     mod,
			Inner:      pcsc.New(pcsc.Config{Logger: log.With("component", "reader")}),
			Slot:       p11.Match(cfg.PKCS11SlotMatch == "prefix", cfg.PKCS11TokenLabel),
			PINRetries: int(cfg.PKCS11PINRetries),
			Logger:     log.With("component", "reader"),
		})
		if err != nil {
			mod.Close()
			return nil, fmt.Errorf("card reader: %w", err)
		}
		h.p11Reader, h.p11Module, h.devices.Reader = r, mod, r
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
	if h.p11Reader != nil {
		errs = append(errs, h.p11Reader.Close(), h.p11Module.Close())
	}
	return errors.Join(errs...)
}

// devPanel drives the simulators for the dev panel (simulation only).
type devPanel struct{ h *hardware }

var _ counter.DevPanel = devPanel{}

// devPanel returns the dev panel over the simulators, or nil when the
// station has none.
func (h *hardware) devPanel() counter.DevPanel {
	if h.readerSim == nil && h.drawerSim == nil && h.printerSim == nil {
		return nil
	}
	return devPanel{h}
}

func devProblem(key, sv, en string) error { return problem.Errorf(key, sv, en) }

var errNoSim = problem.Errorf("no_simulator", "Den här enheten är inte simulerad.", "This device is not simulated.")

func (d devPanel) Cards() any {
	if d.h.readerSim == nil {
		return map[string]any{"readers": []string{}, "cards": []DevCard{}}
	}
	return map[string]any{"readers": d.h.readerSim.Readers(), "cards": d.h.devCards.list()}
}

func (d devPanel) InsertCard(reader, serial string) error {
	if d.h.readerSim == nil {
		return errNoSim
	}
	card, ok := d.h.devCards.get(serial)
	if !ok {
		return devProblem("unknown_card", "Okänt testkort.", "Unknown test card.")
	}
	if err := d.h.readerSim.Insert(reader, card); err != nil {
		return devProblem("reader", "Kortet kunde inte sättas i: "+err.Error(), "The card could not be inserted: "+err.Error())
	}
	return nil
}

func (d devPanel) RemoveCard(reader string) error {
	if d.h.readerSim == nil {
		return errNoSim
	}
	if err := d.h.readerSim.Remove(reader); err != nil {
		return devProblem("reader", "Kortet kunde inte tas ut: "+err.Error(), "The card could not be removed: "+err.Error())
	}
	return nil
}

func (d devPanel) Drawer(a counter.DrawerAction) error {
	s := d.h.drawerSim
	if s == nil {
		return errNoSim
	}
	switch a {
	case counter.DrawerOpen:
		s.Open()
	case counter.DrawerClose:
		s.Close()
	case counter.DrawerFail:
		s.Fail("simulated sensor fault")
	case counter.DrawerRepair:
		s.Repair()
	}
	return nil
}

func (d devPanel) Printer(c counter.PrinterCondition, on bool) error {
	p := d.h.printerSim
	if p == nil {
		return errNoSim
	}
	switch c {
	case counter.PrinterPaused:
		p.SetPaused(on)
	case counter.PrinterOffline:
		p.SetOffline(on)
	case counter.PrinterOutOfPaper:
		p.SetOutOfPaper(on)
	}
	return nil
}

var _ printer.Printer = (*printersim.Printer)(nil)
