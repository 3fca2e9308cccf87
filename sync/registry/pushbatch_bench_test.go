package registry_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/uuid"

	"github.com/kortstation/kortstation/sync/protocol"
)

// BenchmarkStoreBatch stores batches of 2,000 new events (the station's
// push batch size) straight through Server.Store, without TLS or HTTP: the
// registry's share of a backlog push. Backend: registrytest.BackendEnv.
func BenchmarkStoreBatch(b *testing.B) {
	ctx := context.Background()
	srv := openPushRegistry(b)
	const batch = 2000
	seq := int64(0)
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		evs := make([]protocol.Event, batch)
		for i := range evs {
			seq++
			evs[i] = counted(seq, uuid.NewString())
			evs[i].Payload = []byte(fmt.Sprintf(`{"card_serial":"RK-%08d","movement":"counted","shipment_ref":"SHIP-0001","pad":"%064x"}`, seq, seq))
		}
		b.StartTimer()
		acks, err := srv.Store(ctx, "ST-BENCH", evs)
		if err != nil || len(acks) != batch || acks[batch-1].Result != protocol.AckStored {
			b.Fatalf("store: %v", err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "records/s")
}
