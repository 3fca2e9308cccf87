package registry_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/kortstation/kortstation/sync/client/reconcile"
	"github.com/kortstation/kortstation/sync/protocol"
	"github.com/kortstation/kortstation/sync/registrytest"
)

// simStation is a simulated station: its own certificate and TLS
// connection, an in-memory outbox sequence and cursors.
type simStation struct {
	id      string
	hc      *http.Client
	seq     int64
	cursors map[string]string
}

func (s *simStation) sync(ctx context.Context, url string, events int) error {
	req := protocol.PushRequest{StationID: s.id}
	for i := 0; i < events; i++ {
		s.seq++
		req.Events = append(req.Events, protocol.Event{Seq: s.seq, ID: uuid.NewString(), Kind: protocol.KindStockMovement,
			Payload: []byte(`{"card_serial":"RK-1","movement":"counted"}`), CreatedAt: time.Now(), ClockSource: "ntp"})
	}
	if events > 0 {
		var resp protocol.PushResponse
		if err := protocol.Post(ctx, s.hc, url+protocol.PathPush, req, &resp); err != nil {
			return err
		}
		if len(resp.Acks) != events {
			return fmt.Errorf("%d acks for %d events", len(resp.Acks), events)
		}
	}
	for more := true; more; {
		var resp protocol.PullResponse
		status := &protocol.StationStatus{Version: "sim", OutboxDepth: 0, Drawer: "closed"}
		if err := protocol.Post(ctx, s.hc, url+protocol.PathPull, protocol.PullRequest{StationID: s.id, Cursors: s.cursors, Status: status}, &resp); err != nil {
			return err
		}
		more = false
		for k, p := range resp.Pages {
			s.cursors[k] = p.Cursor
			if p.Mode == protocol.ModeUnchanged {
				s.cursors[k] = p.ContentHash
			}
			more = more || p.More
		}
	}
	return nil
}

// BenchmarkRegistry1000Stations: 1,000 stations, each with its own
// certificate and connection, sync (push 5 events, then an incremental
// pull) spread evenly over a window 6× shorter than the one-minute
// schedule (1,000 syncs in 10 s). Reported: p50/p99 latency of a whole
// sync and of single requests.
func BenchmarkRegistry1000Stations(b *testing.B) {
	const stations = 1000
	const window = 10 * time.Second
	ctx := context.Background()
	reg := registrytest.Start(b)
	if err := reg.Server.Seed(ctx, ""); err != nil {
		b.Fatal(err)
	}
	sims := make([]*simStation, stations)
	for i := range sims {
		id := fmt.Sprintf("SIM-%04d", i)
		ident := reg.Identity(b, id)
		tc, err := ident.TLSConfig()
		if err != nil {
			b.Fatal(err)
		}
		sims[i] = &simStation{id: id, hc: reconcile.NewHTTPClient(tc, 30*time.Second, nil), cursors: map[string]string{}}
		for _, k := range protocol.RefKinds {
			sims[i].cursors[k] = ""
		}
		defer sims[i].hc.CloseIdleConnections()
	}
	var wg sync.WaitGroup
	for _, s := range sims { // initial sync: handshakes and full pulls, not measured
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.sync(ctx, reg.URL, 0); err != nil {
				b.Error(err)
			}
		}()
	}
	wg.Wait()
	_ = tls.VersionTLS13
	b.ResetTimer()
	var all []time.Duration
	for n := 0; n < b.N; n++ {
		lat := make([]time.Duration, stations)
		start := time.Now()
		for i, s := range sims {
			wg.Add(1)
			go func() {
				defer wg.Done()
				time.Sleep(time.Until(start.Add(window * time.Duration(i) / stations)))
				t0 := time.Now()
				if err := s.sync(ctx, reg.URL, 5); err != nil {
					b.Error(err)
				}
				lat[i] = time.Since(t0)
			}()
		}
		wg.Wait()
		all = append(all, lat...)
	}
	b.StopTimer()
	slices.Sort(all)
	b.ReportMetric(float64(all[len(all)/2].Microseconds())/1000, "p50-sync-ms")
	b.ReportMetric(float64(all[len(all)*99/100].Microseconds())/1000, "p99-sync-ms")
	b.ReportMetric(float64(all[len(all)-1].Microseconds())/1000, "max-sync-ms")
	evs, _ := reg.Server.Events(ctx, "SIM-0000")
	if len(evs) != 5*b.N {
		b.Errorf("SIM-0000 has %d events at the registry, want %d", len(evs), 5*b.N)
	}
}
