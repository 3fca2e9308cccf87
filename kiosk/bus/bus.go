// Package bus carries the station's events — hardware (card in/out, drawer
// open/closed, printer state) and state changes — to every subscriber, such
// as each connected UI.
//
// Publishing never blocks: each subscriber has a bounded queue, and a
// subscriber that falls behind is dropped (its channel closed), so one slow
// browser cannot stall the card reader. A dropped UI reconnects and resumes
// from a fresh state snapshot.
package bus

import (
	"sync"
	"sync/atomic"
	"time"
)

// Event is one thing that happened.
type Event struct {
	Seq   uint64    // per-bus sequence number, from 1
	Topic string    // e.g. "card.inserted", "drawer.opened", "printer.state", "session.state"
	At    time.Time // when the source saw it (for a card event: when GetStatusChange returned)
	Data  any       // a JSON-encodable, non-personal payload
}

// Bus fans events out to subscribers.
type Bus struct {
	mu      sync.Mutex
	subs    map[*Subscription]struct{}
	seq     atomic.Uint64
	dropped atomic.Uint64
}

// New returns an empty bus.
func New() *Bus { return &Bus{subs: make(map[*Subscription]struct{})} }

// Subscription is one subscriber's queue.
type Subscription struct {
	C    <-chan Event // closed when the subscription ends or is dropped
	c    chan Event
	bus  *Bus
	once sync.Once
	lost atomic.Bool
}

// Subscribe returns a subscription with a queue of size buffer.
func (b *Bus) Subscribe(buffer int) *Subscription {
	if buffer < 1 {
		buffer = 1
	}
	c := make(chan Event, buffer)
	s := &Subscription{C: c, c: c, bus: b}
	b.mu.Lock()
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	return s
}

// Close ends the subscription; C is closed.
func (s *Subscription) Close() {
	s.bus.mu.Lock()
	delete(s.bus.subs, s)
	s.bus.mu.Unlock()
	s.once.Do(func() { close(s.c) })
}

// Dropped reports whether the bus dropped this subscriber for falling behind.
func (s *Subscription) Dropped() bool { return s.lost.Load() }

// Publish sends an event to every subscriber and returns it with its
// sequence number. It never blocks.
func (b *Bus) Publish(topic string, at time.Time, data any) Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	ev := Event{Seq: b.seq.Add(1), Topic: topic, At: at, Data: data}
	for s := range b.subs {
		select {
		case s.c <- ev:
		default:
			s.lost.Store(true)
			delete(b.subs, s)
			s.once.Do(func() { close(s.c) })
			b.dropped.Add(1)
		}
	}
	return ev
}

// Subscribers is the number of live subscriptions.
func (b *Bus) Subscribers() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs)
}

// DroppedTotal counts subscribers dropped for falling behind.
func (b *Bus) DroppedTotal() uint64 { return b.dropped.Load() }

// Published is the number of events published so far.
func (b *Bus) Published() uint64 { return b.seq.Load() }
