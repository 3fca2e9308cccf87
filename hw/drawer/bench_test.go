package drawer_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/kortstation/kortstation/hw/drawer"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"
)

// BenchmarkEdgeToEvent measures one edge on a gpiotest pin (from the send
// that WaitForEdge takes) to the event on the consumer's channel, with no
// debounce. It reports the median and p99 latency as extra metrics.
func BenchmarkEdgeToEvent(b *testing.B) {
	p := &gpiotest.Pin{N: "GPIO17", EdgesChan: make(chan gpio.Level), Clock: clockwork.NewRealClock()}
	cfg := drawer.DefaultConfig()
	cfg.Pin = p.N
	cfg.Pull = drawer.PullDown
	cfg.ActiveLevel = drawer.ActiveHigh
	cfg.Debounce = 0
	cfg.FlapWindow = time.Millisecond // never flaps at benchmark speed
	cfg.FlapCount = 1 << 20
	d, err := drawer.New(p, cfg)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	events := make(chan drawer.Event, 1)
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx, events) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			b.Error(err)
		}
	}()
	if ev := <-events; ev.Kind != drawer.EventClosed {
		b.Fatalf("initial event %s, want closed", ev.Kind)
	}

	lat := make([]time.Duration, 0, b.N)
	level := gpio.Low
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		level = !level
		start := time.Now()
		p.EdgesChan <- level
		ev := <-events
		lat = append(lat, time.Since(start))
		if (ev.State == drawer.StateOpen) != bool(level) {
			b.Fatalf("edge %v gave %s %v", level, ev.Kind, ev.State)
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
}
