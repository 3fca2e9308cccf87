package drawer_test

import (
	"fmt"
	"hash/fnv"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/kortstation/kortstation/hw/drawer"
	"github.com/kortstation/kortstation/hw/drawer/drawertest"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/conn/v3/gpio/gpiotest"
)

// TestContract runs the Sensor contract against the real driver, opened by
// name through periph's host initialisation and GPIO registry, on gpiotest
// pins with real time, for each wiring.
func TestContract(t *testing.T) {
	for _, w := range []struct {
		name   string
		pull   drawer.Pull
		active drawer.ActiveLevel
		preset gpio.Level // the level before In (matters without a pull)
	}{
		{"active-high pull-down", drawer.PullDown, drawer.ActiveHigh, gpio.High},
		{"active-low pull-up", drawer.PullUp, drawer.ActiveLow, gpio.Low},
		{"active-high no pull", drawer.PullNone, drawer.ActiveHigh, gpio.Low},
		{"active-low no pull", drawer.PullNone, drawer.ActiveLow, gpio.High},
	} {
		t.Run(w.name, func(t *testing.T) {
			t.Parallel()
			drawertest.RunContract(t, func(t *testing.T) drawertest.Harness {
				name := registeredPinName(t)
				p := &gpiotest.Pin{N: name, L: w.preset, EdgesChan: make(chan gpio.Level), Clock: clockwork.NewRealClock()}
				if err := gpioreg.Register(p); err != nil {
					t.Fatalf("register %s: %v", name, err)
				}
				t.Cleanup(func() {
					if err := gpioreg.Unregister(name); err != nil {
						t.Errorf("unregister %s: %v", name, err)
					}
				})
				cfg := drawer.DefaultConfig()
				cfg.Pin = name
				cfg.Pull = w.pull
				cfg.ActiveLevel = w.active
				cfg.Debounce = 0
				cfg.Resync = 20 * time.Millisecond
				d, err := drawer.Open(cfg)
				if err != nil {
					t.Fatalf("Open(%q): %v", name, err)
				}
				open := gpio.High
				if w.active == drawer.ActiveLow {
					open = gpio.Low
				}
				edge := func(l gpio.Level) {
					select {
					case p.EdgesChan <- l:
					case <-time.After(2 * time.Second):
						t.Fatalf("the driver did not take edge %v", l)
					}
				}
				return drawertest.Harness{
					Sensor: d,
					Open:   func() { edge(open) },
					Close:  func() { edge(!open) },
					Resync: cfg.Resync,
				}
			})
		})
	}
}

// registeredPinName is a GPIO registry name unique to the test.
func registeredPinName(t *testing.T) string {
	h := fnv.New32a()
	h.Write([]byte(t.Name()))
	return fmt.Sprintf("DRAWERTEST_%08x", h.Sum32())
}
