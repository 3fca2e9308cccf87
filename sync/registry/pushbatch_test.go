package registry_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/kortstation/kortstation/sync/protocol"
	"github.com/kortstation/kortstation/sync/registry"
	"github.com/kortstation/kortstation/sync/registrytest"
)

// Issue 17: a push is stored in bulk (a few statements per batch, not one
// per event). These tests pin what bulk storing must not change: each
// event's acknowledgement, exactly as when events were stored one by one,
// and what a projection sees of the events stored before it.

func openPushRegistry(t testing.TB) *registry.Server {
	t.Helper()
	srv, err := registry.Open(context.Background(), registrytest.On(t, registry.Config{DataDir: t.TempDir()}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

func counted(seq int64, id string) protocol.Event {
	return protocol.Event{Seq: seq, ID: id, Kind: protocol.KindStockMovement,
		Payload: []byte(`{"card_serial":"RK-1","movement":"counted"}`), CreatedAt: time.Now(), ClockSource: "ntp"}
}

func receiptEvent(seq int64, id string) protocol.Event {
	return protocol.Event{Seq: seq, ID: id, Kind: protocol.KindReceipt,
		Payload: []byte(`{"receipt_id":"KV-` + id[:8] + `","card_serial":"RK-NONE"}`), CreatedAt: time.Now(), ClockSource: "ntp"}
}

type wantAck struct {
	result   string
	archived bool
}

func checkAcks(t *testing.T, what string, evs []protocol.Event, acks []protocol.Ack, want []wantAck) {
	t.Helper()
	if len(acks) != len(evs) {
		t.Fatalf("%s: %d acks for %d events", what, len(acks), len(evs))
	}
	for i, a := range acks {
		if a.Seq != evs[i].Seq || a.ID != evs[i].ID {
			t.Errorf("%s: ack %d is for seq %d id %s, want seq %d id %s (acks in the batch's order)", what, i, a.Seq, a.ID, evs[i].Seq, evs[i].ID)
		}
		if a.Result != want[i].result || a.Archived != want[i].archived {
			t.Errorf("%s: event %d (seq %d): ack %s archived=%v, want %s archived=%v", what, i, evs[i].Seq, a.Result, a.Archived, want[i].result, want[i].archived)
		}
	}
}

// TestPushMixedBatchAcksPerEvent: one batch mixing new events, duplicates
// of earlier pushes, conflicts (a stored seq with another ID, a stored ID
// with another seq), repeats within the batch and receipts gets, event by
// event and in order, the acknowledgement the events got when they were
// stored one at a time: stored, duplicate (same ID and seq stored before,
// also earlier in the same batch) or conflict (nothing stored); receipts
// that are stored or duplicates are archived, conflicting ones are not.
// The same batch again: what was stored is now a duplicate, conflicts stay
// conflicts. Only the stored events are at the registry.
func TestPushMixedBatchAcksPerEvent(t *testing.T) {
	ctx := context.Background()
	srv := openPushRegistry(t)
	const st = "ST-MIX"
	id := func(c byte) string {
		return fmt.Sprintf("%c%c%c%c%c%c%c%c-0000-4000-8000-000000000000", c, c, c, c, c, c, c, c)
	}
	first := []protocol.Event{counted(1, id('a')), counted(2, id('b')), counted(3, id('c'))}
	acks, err := srv.Store(ctx, st, first)
	if err != nil {
		t.Fatal(err)
	}
	checkAcks(t, "first push", first, acks, []wantAck{{protocol.AckStored, false}, {protocol.AckStored, false}, {protocol.AckStored, false}})

	mixed := []protocol.Event{
		counted(4, id('d')),       // new
		counted(2, id('b')),       // duplicate of the first push
		counted(3, id('e')),       // seq 3 belongs to c: conflict
		counted(5, id('a')),       // a has seq 1: conflict
		counted(6, id('f')),       // new
		counted(6, id('f')),       // repeat within the batch: duplicate
		counted(7, id('d')),       // d stored above with seq 4: conflict
		counted(4, id('9')),       // seq 4 stored above with d: conflict
		counted(8, id('e')),       // e was refused above, so it is new here
		receiptEvent(9, id('7')),  // new receipt: archived
		receiptEvent(9, id('7')),  // its repeat: a duplicate, archived too
		receiptEvent(1, id('8')),  // seq 1 belongs to a: conflict, not archived
		receiptEvent(10, id('b')), // b has seq 2: conflict, not archived
		counted(11, id('6')),      // new, after all that
	}
	want := []wantAck{
		{protocol.AckStored, false}, {protocol.AckDuplicate, false}, {protocol.AckConflict, false}, {protocol.AckConflict, false},
		{protocol.AckStored, false}, {protocol.AckDuplicate, false}, {protocol.AckConflict, false}, {protocol.AckConflict, false},
		{protocol.AckStored, false}, {protocol.AckStored, true}, {protocol.AckDuplicate, true}, {protocol.AckConflict, false},
		{protocol.AckConflict, false}, {protocol.AckStored, false},
	}
	acks, err = srv.Store(ctx, st, mixed)
	if err != nil {
		t.Fatal(err)
	}
	checkAcks(t, "mixed batch", mixed, acks, want)

	again := make([]wantAck, len(want))
	for i, w := range want {
		again[i] = w
		if w.result == protocol.AckStored {
			again[i].result = protocol.AckDuplicate
		}
	}
	acks, err = srv.Store(ctx, st, mixed)
	if err != nil {
		t.Fatal(err)
	}
	checkAcks(t, "the same batch again", mixed, acks, again)

	evs, err := srv.Events(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	wantIDs := []string{id('a'), id('b'), id('c'), id('d'), id('f'), id('e'), id('7'), id('6')}
	wantSeqs := []int64{1, 2, 3, 4, 6, 8, 9, 11}
	if len(evs) != len(wantIDs) {
		t.Fatalf("%d events stored, want %d: %+v", len(evs), len(wantIDs), evs)
	}
	for i, ev := range evs {
		if ev.Seq != wantSeqs[i] || ev.ID != wantIDs[i] {
			t.Errorf("stored event %d is seq %d id %s, want seq %d id %s", i, ev.Seq, ev.ID, wantSeqs[i], wantIDs[i])
		}
	}
}

// TestPushLargeBatchAcrossChunks: a batch of MaxBatch events that
// overlaps an earlier push (its first part duplicates, one conflict in the
// middle, a repeat at the very end) is acknowledged event by event across
// however many statements it is stored in, and leaves a gapless sequence.
func TestPushLargeBatchAcrossChunks(t *testing.T) {
	ctx := context.Background()
	srv := openPushRegistry(t)
	const st = "ST-BIG"
	ids := make([]string, registry.MaxBatch+1500)
	for i := range ids {
		ids[i] = uuid.NewString()
	}
	var early []protocol.Event
	for i := range 1500 {
		early = append(early, counted(int64(i+1), ids[i]))
	}
	if _, err := srv.Store(ctx, st, early); err != nil {
		t.Fatal(err)
	}
	var batch []protocol.Event
	var want []wantAck
	for i := 1000; len(batch) < registry.MaxBatch-1; i++ {
		ev := counted(int64(i+1), ids[i])
		w := wantAck{protocol.AckStored, false}
		switch {
		case i < 1500:
			w.result = protocol.AckDuplicate
		case i == 3000:
			ev.ID = ids[5] // seq 6's ID: a conflict; seq 3001 stays free
			w.result = protocol.AckConflict
		}
		batch = append(batch, ev)
		want = append(want, w)
	}
	batch = append(batch, batch[len(batch)-1])
	want = append(want, wantAck{protocol.AckDuplicate, false})
	acks, err := srv.Store(ctx, st, batch)
	if err != nil {
		t.Fatal(err)
	}
	checkAcks(t, "large batch", batch, acks, want)
	evs, err := srv.Events(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	if n := 1000 + registry.MaxBatch - 1 - 1; len(evs) != n {
		t.Fatalf("%d events stored, want %d", len(evs), n)
	}
	next := int64(1)
	for _, ev := range evs {
		if ev.Seq == 3001 {
			t.Fatalf("seq 3001 stored, though its event conflicted")
		}
		if next == 3001 {
			next++
		}
		if ev.Seq != next {
			t.Fatalf("stored seq %d, want %d", ev.Seq, next)
		}
		next++
	}
}

// TestPushCorrectionInBatchSeesOnlyEarlierEvents (RE-3): within one
// batch, a receipt correction sees the receipts stored before it (earlier
// pushes, earlier in the batch) and not those later in the batch, as when
// events were stored one at a time: a correction ahead of the receipt it
// corrects is held for review, one after it is applied.
func TestPushCorrectionInBatchSeesOnlyEarlierEvents(t *testing.T) {
	ctx := context.Background()
	srv := openPushRegistry(t)
	if err := srv.Ship(ctx, "ST", "S1", "reserve", "RK-1"); err != nil {
		t.Fatal(err)
	}
	var batch []protocol.Event
	for i, p := range []protocol.ReceiptPayload{
		{ReceiptID: "KV-1B", IssuanceID: "i-1", CardSerial: "RK-1", Corrects: "KV-1"}, // before KV-1: held
		{ReceiptID: "KV-1", IssuanceID: "i-1", CardSerial: "RK-1"},
		{ReceiptID: "KV-1C", IssuanceID: "i-1", CardSerial: "RK-1", Corrects: "KV-1"}, // after it: applied
	} {
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		batch = append(batch, protocol.Event{Seq: int64(i + 1), ID: uuid.NewString(), Kind: protocol.KindReceipt, Payload: b, CreatedAt: time.Now()})
	}
	acks, err := srv.Store(ctx, "ST", batch)
	if err != nil {
		t.Fatal(err)
	}
	checkAcks(t, "receipts", batch, acks, []wantAck{{protocol.AckStored, true}, {protocol.AckStored, true}, {protocol.AckStored, true}})
	items, err := srv.ReviewItems(ctx)
	if err != nil {
		t.Fatal(err)
	}
	held := map[int64]string{}
	for _, it := range items {
		held[it.Seq] = it.Reason
	}
	if held[1] != registry.ReviewCorrectionUnknown || len(held) != 1 {
		t.Errorf("held for review: %v, want only seq 1 as %s", held, registry.ReviewCorrectionUnknown)
	}
}
