package registry_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/kortstation/kortstation/sync/protocol"
	"github.com/kortstation/kortstation/sync/registry"
	"github.com/kortstation/kortstation/sync/registrytest"
)

// TestReceiptCorrectionRE3OnlyOfTheStationsOwnReceipt: a receipt
// correction (a receipt event with corrects, RE-3) of a receipt the station
// sent for the card is applied; one naming a receipt the station never
// sent, or another card's receipt, is stored but held for review.
func TestReceiptCorrectionRE3OnlyOfTheStationsOwnReceipt(t *testing.T) {
	ctx := context.Background()
	srv, err := registry.Open(ctx, registrytest.On(t, registry.Config{DataDir: t.TempDir()})) // both backends: the check reads JSON in SQL
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if err := srv.Ship(ctx, "ST", "S1", "reserve", "RK-1", "RK-2"); err != nil {
		t.Fatal(err)
	}
	if err := srv.Ship(ctx, "OTHER", "S2", "reserve", "RK-9"); err != nil {
		t.Fatal(err)
	}
	seq := map[string]int64{}
	push := func(station string, p protocol.Payload) {
		t.Helper()
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		seq[station]++
		acks, err := srv.Store(ctx, station, []protocol.Event{{Seq: seq[station], ID: uuid.NewString(), Kind: p.EventKind(), Payload: b, CreatedAt: time.Now()}})
		if err != nil || len(acks) != 1 || acks[0].Result != protocol.AckStored {
			t.Fatalf("store: %v %v", acks, err)
		}
	}
	push("ST", protocol.ReceiptPayload{ReceiptID: "KV-1", IssuanceID: "i-1", CardSerial: "RK-1"})
	push("OTHER", protocol.ReceiptPayload{ReceiptID: "KV-9", IssuanceID: "i-9", CardSerial: "RK-9"})
	push("ST", protocol.ReceiptPayload{ReceiptID: "KV-1B", IssuanceID: "i-1", CardSerial: "RK-1", Corrects: "KV-1"})
	push("ST", protocol.ReceiptPayload{ReceiptID: "KV-X", IssuanceID: "i-2", CardSerial: "RK-2", Corrects: "KV-NEVER-SENT"})
	push("ST", protocol.ReceiptPayload{ReceiptID: "KV-Y", IssuanceID: "i-2", CardSerial: "RK-2", Corrects: "KV-1"})
	push("ST", protocol.ReceiptPayload{ReceiptID: "KV-Z", IssuanceID: "i-2", CardSerial: "RK-2", Corrects: "KV-9"})
	items, err := srv.ReviewItems(ctx)
	if err != nil {
		t.Fatal(err)
	}
	held := map[int64]string{}
	for _, it := range items {
		held[it.Seq] = it.Reason
	}
	if _, ok := held[2]; ok {
		t.Errorf("the correction of the station's own receipt was held: %v", held)
	}
	for _, s := range []int64{3, 4, 5} {
		if held[s] != registry.ReviewCorrectionUnknown {
			t.Errorf("correction seq %d held as %q, want %s", s, held[s], registry.ReviewCorrectionUnknown)
		}
	}
}
