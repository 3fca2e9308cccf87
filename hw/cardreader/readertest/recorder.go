package readertest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kortstation/kortstation/hw/cardreader"
)

// readerPhase is where a reader is in its event sequence.
type readerPhase int

const (
	stateAbsent readerPhase = iota
	stateAttached
	stateCard
)

// match selects an event by kind and reader.
type match struct {
	kind   cardreader.EventKind
	reader string
}

// recorder runs a Reader, records its events and checks that they form
// well-formed sequences (see the cardreader package documentation).
type recorder struct {
	mu         sync.Mutex
	events     []cardreader.Event
	next       int // first event expect may use
	phase      map[string]readerPhase
	serviceUp  bool
	violations []string
	changed    chan struct{}
}

// start runs r until the test ends; the cleanup checks that Run returns
// context.Canceled promptly and that the events were well formed.
func start(t *testing.T, r cardreader.Reader) *recorder {
	t.Helper()
	rec := &recorder{phase: map[string]readerPhase{}, serviceUp: true, changed: make(chan struct{}, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan cardreader.Event)
	runErr := make(chan error, 1)
	go func() { runErr <- r.Run(ctx, ch) }()
	consumed := make(chan struct{})
	go func() {
		defer close(consumed)
		for {
			select {
			case ev := <-ch:
				rec.add(ev, time.Now())
			case <-ctx.Done():
				return
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-runErr:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Run returned %v, want context.Canceled", err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("Run did not return within 5 s of its context being cancelled")
		}
		<-consumed
		rec.mu.Lock()
		defer rec.mu.Unlock()
		for _, v := range rec.violations {
			t.Errorf("event sequence: %s", v)
		}
		if t.Failed() {
			t.Logf("events:\n%s", rec.dumpLocked())
		}
	})
	return rec
}

func (r *recorder) add(ev cardreader.Event, received time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
	bad := func(format string, args ...any) {
		r.violations = append(r.violations, fmt.Sprintf("event %d (%v): ", len(r.events)-1, ev)+fmt.Sprintf(format, args...))
	}
	if ev.At.IsZero() || ev.At.After(received) {
		bad("At = %v, want a time before its receipt at %v", ev.At, received)
	}
	p := r.phase[ev.Reader]
	switch ev.Kind {
	case cardreader.ServiceUnavailable, cardreader.ServiceRestored:
		if ev.Reader != "" {
			bad("service event names a reader")
		}
		if up := ev.Kind == cardreader.ServiceRestored; up == r.serviceUp {
			bad("service already in that state")
		} else {
			r.serviceUp = up
		}
	case cardreader.ReaderAttached:
		if !r.serviceUp {
			bad("reader attached while the service is unavailable")
		}
		if p != stateAbsent {
			bad("reader attached twice")
		}
		r.phase[ev.Reader] = stateAttached
	case cardreader.CardInserted:
		if p != stateAttached {
			bad("card inserted into a reader in phase %d", p)
		}
		if len(ev.ATR) == 0 {
			bad("CardInserted without an ATR")
		}
		r.phase[ev.Reader] = stateCard
	case cardreader.CardRemoved:
		if p != stateCard {
			bad("card removed from a reader in phase %d", p)
		}
		r.phase[ev.Reader] = stateAttached
	case cardreader.ReaderDetached:
		if p == stateCard {
			bad("reader detached with its card still reported present")
		}
		if p == stateAbsent {
			bad("unknown reader detached")
		}
		r.phase[ev.Reader] = stateAbsent
	default:
		bad("unknown kind")
	}
	select {
	case r.changed <- struct{}{}:
	default:
	}
}

// expect waits until every match is met by a distinct event at or after
// the cursor, in any order, then moves the cursor past the last of them.
func (r *recorder) expect(t *testing.T, ms ...match) []cardreader.Event {
	t.Helper()
	deadline := time.After(EventTimeout)
	for {
		r.mu.Lock()
		found := make([]cardreader.Event, len(ms))
		used := map[int]bool{}
		last, all := -1, true
		for mi, m := range ms {
			ok := false
			for i := r.next; i < len(r.events); i++ {
				ev := r.events[i]
				if !used[i] && ev.Kind == m.kind && ev.Reader == m.reader {
					used[i], found[mi], ok = true, ev, true
					last = max(last, i)
					break
				}
			}
			all = all && ok
		}
		if all {
			r.next = last + 1
			r.mu.Unlock()
			return found
		}
		dump := r.dumpLocked()
		r.mu.Unlock()
		select {
		case <-r.changed:
		case <-deadline:
			t.Fatalf("timed out after %v waiting for %v; events so far:\n%s", EventTimeout, ms, dump)
		}
	}
}

// waitState waits until reader is in phase p.
func (r *recorder) waitState(t *testing.T, reader string, p readerPhase) {
	t.Helper()
	deadline := time.After(EventTimeout)
	for {
		r.mu.Lock()
		got := r.phase[reader]
		dump := r.dumpLocked()
		r.mu.Unlock()
		if got == p {
			return
		}
		select {
		case <-r.changed:
		case <-deadline:
			t.Fatalf("timed out waiting for reader %q to reach phase %d; events so far:\n%s", reader, p, dump)
		}
	}
}

// skip moves the cursor past every event recorded so far.
func (r *recorder) skip() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.next = len(r.events)
}

func (r *recorder) dumpLocked() string {
	var b strings.Builder
	for i, ev := range r.events {
		fmt.Fprintf(&b, "  %2d %s\n", i, ev)
	}
	return b.String()
}
