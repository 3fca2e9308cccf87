package sim_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/kortstation/kortstation/hw/cardreader"
	"github.com/kortstation/kortstation/hw/cardreader/readertest"
	"github.com/kortstation/kortstation/hw/cardreader/sim"
	"github.com/kortstation/kortstation/hw/cardreader/vcard"
)

// harness drives one simulator through the contract suite.
type harness struct {
	r *sim.Reader
}

func (h harness) New(*testing.T) cardreader.Reader { return h.r }
func (h harness) ReaderNames() []string            { return sim.DefaultReaders() }

func (h harness) Insert(t *testing.T, reader string, card *vcard.Card) {
	t.Helper()
	if err := h.r.Insert(reader, card); err != nil {
		t.Fatalf("insert: %v", err)
	}
	t.Cleanup(func() { h.Remove(t, reader) })
}

func (h harness) Remove(t *testing.T, reader string) {
	t.Helper()
	if err := h.r.Remove(reader); err != nil {
		t.Fatalf("remove: %v", err)
	}
}

func (h harness) RestartService(*testing.T) {
	h.r.StopService()
	h.r.StartService()
}

func TestContract(t *testing.T) {
	readertest.Run(t, harness{r: sim.New(slog.New(slog.DiscardHandler))})
}

func newCard(t *testing.T) *vcard.Card {
	t.Helper()
	ca, err := vcard.NewCA("sim test CA")
	if err != nil {
		t.Fatal(err)
	}
	c, err := ca.Issue(vcard.DevProfiles()[0])
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestInsertErrors(t *testing.T) {
	r := sim.New(nil)
	card := newCard(t)
	if err := r.Insert("nope", card); !errors.Is(err, cardreader.ErrNoReader) {
		t.Errorf("Insert into unknown reader: got %v, want ErrNoReader", err)
	}
	if err := r.Insert(sim.DefaultReaders()[0], card); err != nil {
		t.Fatal(err)
	}
	if err := r.Insert(sim.DefaultReaders()[0], card); !errors.Is(err, sim.ErrReaderBusy) {
		t.Errorf("Insert into a full reader: got %v, want ErrReaderBusy", err)
	}
	if err := r.Remove(sim.DefaultReaders()[0]); err != nil {
		t.Errorf("Remove: %v", err)
	}
	if err := r.Remove(sim.DefaultReaders()[0]); err != nil {
		t.Errorf("Remove from an empty reader: %v", err)
	}
}

// recv receives one event or fails.
func recv(t *testing.T, ch <-chan cardreader.Event) cardreader.Event {
	t.Helper()
	select {
	case ev := <-ch:
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5 s")
		return cardreader.Event{}
	}
}

func TestHotPlugAndOutage(t *testing.T) {
	r := sim.New(nil, "A")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := make(chan cardreader.Event)
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx, ch) }()

	want := func(kind cardreader.EventKind, reader string) {
		t.Helper()
		if ev := recv(t, ch); ev.Kind != kind || ev.Reader != reader {
			t.Fatalf("got event %v, want %v %q", ev, kind, reader)
		}
	}
	want(cardreader.ReaderAttached, "A")
	if err := r.Attach("B"); err != nil {
		t.Fatal(err)
	}
	want(cardreader.ReaderAttached, "B")
	if err := r.Insert("B", newCard(t)); err != nil {
		t.Fatal(err)
	}
	want(cardreader.CardInserted, "B")
	if err := r.Detach("B"); err != nil {
		t.Fatal(err)
	}
	want(cardreader.CardRemoved, "B")
	want(cardreader.ReaderDetached, "B")

	r.StopService()
	want(cardreader.ServiceUnavailable, "")
	want(cardreader.ReaderDetached, "A")
	if _, err := r.ReadCard(ctx, "A"); !errors.Is(err, cardreader.ErrServiceUnavailable) {
		t.Errorf("ReadCard during the outage: got %v, want ErrServiceUnavailable", err)
	}
	if got := r.Readers(); got != nil {
		t.Errorf("Readers during the outage = %v, want nil", got)
	}
	r.StartService()
	want(cardreader.ServiceRestored, "")
	want(cardreader.ReaderAttached, "A")

	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run: got %v, want context.Canceled", err)
	}
}
