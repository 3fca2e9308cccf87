package pcsc

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/ebfe/scard"

	"github.com/kortstation/kortstation/hw/cardreader"
)

// collect runs f with a monitor whose events are gathered.
func collect(t *testing.T, m *monitor, f func()) []string {
	t.Helper()
	ch := make(chan cardreader.Event, 32)
	m.events = ch
	f()
	close(ch)
	var got []string
	for ev := range ch {
		got = append(got, ev.String())
	}
	return got
}

// TestReaderHotPlug checks the bookkeeping behind reader hot-plug (the
// PnP notification leads to syncReaders): readers that appear are
// attached, readers that vanish lose their card and are detached.
// Unplugging a real reader needs USB, which the vpcd test rig cannot do.
func TestReaderHotPlug(t *testing.T) {
	d := New(Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	m := &monitor{d: d, known: map[string]*readerState{}}
	ctx := context.Background()
	at := time.Now()

	got := collect(t, m, func() { m.syncReaders(ctx, []string{"B", "A"}, at) })
	want := []string{`reader attached: "A"`, `reader attached: "B"`}
	if !slices.Equal(got, want) {
		t.Errorf("plug A and B: got %q, want %q", got, want)
	}
	got = collect(t, m, func() {
		m.cardState(ctx, "B", scard.StatePresent|scard.StateChanged|1<<16, []byte{0x3B}, at)
	})
	if want := []string{`card inserted: "B" ATR 3B`}; !slices.Equal(got, want) {
		t.Errorf("insert into B: got %q, want %q", got, want)
	}
	got = collect(t, m, func() {
		// Pulled and put back between two GetStatusChange calls: the
		// event counter moved.
		m.cardState(ctx, "B", scard.StatePresent|scard.StateChanged|3<<16, []byte{0x3B}, at)
	})
	if want := []string{`card removed: "B"`, `card inserted: "B" ATR 3B`}; !slices.Equal(got, want) {
		t.Errorf("swap in B: got %q, want %q", got, want)
	}
	got = collect(t, m, func() { m.syncReaders(ctx, []string{"A", "C"}, at) })
	want = []string{`card removed: "B"`, `reader detached: "B"`, `reader attached: "C"`}
	if !slices.Equal(got, want) {
		t.Errorf("unplug B, plug C: got %q, want %q", got, want)
	}
	if got := d.Readers(); !slices.Equal(got, []string{"A", "C"}) {
		t.Errorf("Readers() = %q, want [A C]", got)
	}
	got = collect(t, m, func() { m.serviceLost(ctx, at) })
	want = []string{"service unavailable", `reader detached: "A"`, `reader detached: "C"`}
	if !slices.Equal(got, want) {
		t.Errorf("service lost: got %q, want %q", got, want)
	}
	if got := d.Readers(); got != nil {
		t.Errorf("Readers() after the loss = %q, want nil", got)
	}
}

func TestRebuildStatesKeepsKnownReaders(t *testing.T) {
	old := []scard.ReaderState{
		{Reader: pnpReader, CurrentState: 2 << 16},
		{Reader: "A", CurrentState: scard.StatePresent},
		{Reader: "B", CurrentState: scard.StateEmpty},
	}
	got := rebuildStates(old, []string{"B", "C"})
	if len(got) != 3 || got[0].Reader != pnpReader || got[0].CurrentState != 2<<16 ||
		got[1].Reader != "B" || got[1].CurrentState != scard.StateEmpty ||
		got[2].Reader != "C" || got[2].CurrentState != scard.StateUnaware {
		t.Errorf("rebuildStates = %+v", got)
	}
}
