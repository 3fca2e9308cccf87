package station

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/kortstation/kortstation/hw/cardreader"
)

// ReaderEvent is a card reader event as it goes on the bus. It carries no
// personal data: the card's content is read only when a flow asks for it.
type ReaderEvent struct {
	Kind   string `json:"kind"` // reader_attached, reader_detached, card_inserted, card_removed, service_unavailable, service_restored
	Reader string `json:"reader,omitempty"`
}

var readerTopics = map[cardreader.EventKind]string{
	cardreader.ReaderAttached:     "reader_attached",
	cardreader.ReaderDetached:     "reader_detached",
	cardreader.CardInserted:       "card_inserted",
	cardreader.CardRemoved:        "card_removed",
	cardreader.ServiceUnavailable: "service_unavailable",
	cardreader.ServiceRestored:    "service_restored",
}

// RunReader relays the card reader's events to the bus and keeps the
// reader's state on the status screen until ctx ends. Topics are
// "card.<kind>", e.g. "card.card_inserted"; At is when GetStatusChange
// returned, so latency is measured from there.
func (s *Station) RunReader(ctx context.Context, r cardreader.Reader) error {
	events := make(chan cardreader.Event, 16)
	errc := make(chan error, 1)
	go func() { errc <- r.Run(ctx, events) }()
	slots := map[string]bool{} // reader → card present
	down := false
	for {
		select {
		case ev := <-events:
			kind, ok := readerTopics[ev.Kind]
			if !ok {
				s.log.Warn("unknown card reader event", "event", ev.String())
				continue
			}
			switch ev.Kind {
			case cardreader.ReaderAttached, cardreader.CardRemoved:
				slots[ev.Reader] = false
			case cardreader.ReaderDetached:
				delete(slots, ev.Reader)
			case cardreader.CardInserted:
				slots[ev.Reader] = true
			case cardreader.ServiceUnavailable:
				down = true
			case cardreader.ServiceRestored:
				down = false
			}
			s.bus.Publish("card."+kind, ev.At, ReaderEvent{Kind: kind, Reader: ev.Reader})
			s.SetDevice("reader", readerState(down, slots), readerDetail(slots), ev.At)
			s.onReaderEvent(ctx, ev)
		case err := <-errc:
			if err == nil || errors.Is(err, context.Canceled) {
				return nil
			}
			return fmt.Errorf("card reader: %w", err)
		}
	}
}

func readerState(down bool, slots map[string]bool) string {
	switch {
	case down:
		return "unavailable"
	case len(slots) == 0:
		return "no_reader"
	}
	for _, card := range slots {
		if card {
			return "card_present"
		}
	}
	return "ready"
}

func readerDetail(slots map[string]bool) string {
	names := make([]string, 0, len(slots))
	for n, card := range slots {
		if card {
			n += " (card)"
		}
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// onReaderEvent is where the session logic reacts to cards; the flows hook
// in here.
func (s *Station) onReaderEvent(ctx context.Context, ev cardreader.Event) {
	s.mu.Lock()
	hooks := append([]func(context.Context, cardreader.Event){}, s.readerHooks...)
	s.mu.Unlock()
	for _, h := range hooks {
		h(ctx, ev)
	}
}

// OnReaderEvent registers f to be called, in order, for every reader event
// after it is on the bus.
func (s *Station) OnReaderEvent(f func(context.Context, cardreader.Event)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.readerHooks = append(s.readerHooks, f)
}
