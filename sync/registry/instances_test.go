package registry_test

import (
	"context"
	"crypto/tls"
	"database/sql"
	"encoding/json"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jonboulle/clockwork"

	"github.com/kortstation/kortstation/kiosk/audit"
	"github.com/kortstation/kortstation/sync/client/reconcile"
	"github.com/kortstation/kortstation/sync/protocol"
	"github.com/kortstation/kortstation/sync/registry"
	"github.com/kortstation/kortstation/sync/registrytest"
)

// Issue 17 item 2: several registry instances on one PostgreSQL database
// (always PostgreSQL here, whatever the tests' backend).

// twoInstances serves two instances of one registry on one PostgreSQL
// database.
func twoInstances(t *testing.T, mod func(*registry.Config)) (a, b *registrytest.Registry) {
	t.Helper()
	dsn := registrytest.Postgres(t)
	a = registrytest.NewWith(t, t.TempDir(), func(c *registry.Config) {
		c.Database = dsn
		if mod != nil {
			mod(c)
		}
	})
	b = registrytest.Peer(t, a, mod)
	a.Serve(t)
	b.Serve(t)
	return a, b
}

// station is a simulated station with its TLS configuration.
type station struct {
	*simStation
	tls *tls.Config
}

func stationClient(t *testing.T, r *registrytest.Registry, id string) station {
	t.Helper()
	tc, err := r.Identity(t, id).TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	st := &simStation{id: id, hc: reconcile.NewHTTPClient(tc, 30*time.Second, nil), cursors: map[string]string{}}
	for _, k := range protocol.RefKinds {
		st.cursors[k] = ""
	}
	t.Cleanup(st.hc.CloseIdleConnections)
	return station{st, tc}
}

// TestInstancesPushExactlyOnce: the same batch pushed to two instances at
// the same moment is stored once; both instances acknowledge every event
// (same seq and ID, in order), exactly one of them as stored and the
// other as a duplicate, and both then hold the same gapless sequence.
func TestInstancesPushExactlyOnce(t *testing.T) {
	ctx := context.Background()
	a, b := twoInstances(t, nil)
	st := stationClient(t, a, "ST-2I")
	const rounds, batch = 10, 100
	for r := range rounds {
		req := protocol.PushRequest{StationID: st.id}
		for range batch {
			st.seq++
			req.Events = append(req.Events, protocol.Event{Seq: st.seq, ID: uuid.NewString(), Kind: protocol.KindStockMovement,
				Payload: []byte(`{"card_serial":"RK-1","movement":"counted"}`), CreatedAt: time.Now(), ClockSource: "ntp"})
		}
		var resp [2]protocol.PushResponse
		var errs [2]error
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, url := range []string{a.URL, b.URL} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				errs[i] = protocol.Post(ctx, st.hc, url+protocol.PathPush, req, &resp[i])
			}()
		}
		close(start)
		wg.Wait()
		stored := map[int64]int{}
		for i := range resp {
			if errs[i] != nil {
				t.Fatalf("round %d, instance %d: %v", r, i, errs[i])
			}
			if len(resp[i].Acks) != batch {
				t.Fatalf("round %d, instance %d: %d acks for %d events", r, i, len(resp[i].Acks), batch)
			}
			for j, ack := range resp[i].Acks {
				if ack.Seq != req.Events[j].Seq || ack.ID != req.Events[j].ID {
					t.Fatalf("round %d, instance %d: ack %d is %+v, want seq %d", r, i, j, ack, req.Events[j].Seq)
				}
				switch ack.Result {
				case protocol.AckStored:
					stored[ack.Seq]++
				case protocol.AckDuplicate:
				default:
					t.Fatalf("round %d, instance %d: ack %+v", r, i, ack)
				}
			}
		}
		for _, ev := range req.Events {
			if stored[ev.Seq] != 1 {
				t.Fatalf("round %d: event %d stored %d times across the instances, want once", r, ev.Seq, stored[ev.Seq])
			}
		}
	}
	for _, r := range []*registrytest.Registry{a, b} {
		evs, err := r.Server.Events(ctx, st.id)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != rounds*batch {
			t.Fatalf("%d events at an instance, want %d", len(evs), rounds*batch)
		}
		for i, ev := range evs {
			if ev.Seq != int64(i+1) {
				t.Fatalf("event %d has seq %d: a gap or a duplicate", i, ev.Seq)
			}
		}
	}
}

// TestInstancesCursorPullsExactlyOnce: reference data changed on both
// instances while the station pulls from one and then the other, with the
// same cursors: every shipped card arrives exactly once, none is missed.
func TestInstancesCursorPullsExactlyOnce(t *testing.T) {
	ctx := context.Background()
	a, b := twoInstances(t, nil)
	st := stationClient(t, a, "ST-2C")
	const cards = 200
	got := map[string]int{}
	pull := func(url string) {
		for more := true; more; {
			var resp protocol.PullResponse
			if err := protocol.Post(ctx, st.hc, url+protocol.PathPull, protocol.PullRequest{StationID: st.id, Cursors: st.cursors}, &resp); err != nil {
				t.Error(err)
				return
			}
			more = false
			for k, p := range resp.Pages {
				st.cursors[k] = p.Cursor
				if p.Mode == protocol.ModeUnchanged {
					st.cursors[k] = p.ContentHash
				}
				more = more || p.More
				if k == protocol.RefShipments && len(p.Items) > 0 {
					var items []protocol.Shipment
					if err := json.Unmarshal(p.Items, &items); err != nil {
						t.Fatalf("shipments page: %v", err)
					}
					for _, it := range items {
						got[it.Serial]++
					}
				}
			}
		}
	}
	var wg sync.WaitGroup
	wg.Add(2)
	for i, r := range []*registrytest.Registry{a, b} {
		go func() {
			defer wg.Done()
			for n := i; n < cards; n += 2 {
				if err := r.Server.Ship(ctx, st.id, fmt.Sprintf("SHIP-%d", n), "reserve", fmt.Sprintf("RK-%04d", n)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for i := 0; ; i++ {
		select {
		case <-done:
			pull(a.URL)
			pull(b.URL)
			if len(got) != cards {
				t.Fatalf("the station received %d of %d cards", len(got), cards)
			}
			for serial, n := range got {
				if n != 1 {
					t.Errorf("%s received %d times, want once", serial, n)
				}
			}
			return
		default:
			pull([]string{a.URL, b.URL}[i%2])
		}
	}
}

// TestInstancesControlReachesTheOtherInstance: a command queued on one
// instance reaches the station whose long poll another instance holds,
// at once (LISTEN/NOTIFY), not at the poll's end; a revocation on one
// instance is refused in the other's TLS handshake.
func TestInstancesControlReachesTheOtherInstance(t *testing.T) {
	ctx := context.Background()
	a, b := twoInstances(t, func(c *registry.Config) { c.MaxWait = 20 * time.Second })
	st := stationClient(t, a, "ST-2K")
	type result struct {
		cmds []protocol.Command
		err  error
		took time.Duration
	}
	res := make(chan result, 1)
	go func() {
		var resp protocol.ControlResponse
		t0 := time.Now()
		err := protocol.Post(ctx, st.hc, b.URL+protocol.PathControl, protocol.ControlRequest{StationID: st.id, WaitSeconds: 20}, &resp)
		res <- result{resp.Commands, err, time.Since(t0)}
	}()
	time.Sleep(300 * time.Millisecond) // the poll waits at b
	id, err := a.Server.SendCommand(ctx, st.id, protocol.CmdSyncNow)
	if err != nil {
		t.Fatal(err)
	}
	r := <-res
	if r.err != nil {
		t.Fatal(r.err)
	}
	if len(r.cmds) != 1 || r.cmds[0].ID != id || r.cmds[0].Kind != protocol.CmdSyncNow {
		t.Fatalf("commands at the other instance: %+v, want sync_now %d", r.cmds, id)
	}
	if r.took > 5*time.Second {
		t.Errorf("the command took %s to reach the poll at the other instance", r.took)
	}

	if err := a.Server.RevokeStation(ctx, st.id); err != nil {
		t.Fatal(err)
	}
	if !refusedInHandshake(t, b.Addr, st.tls) {
		t.Error("the other instance still accepts the revoked certificate in the TLS handshake")
	}
}

// refusedInHandshake reports whether the server at addr refuses the
// client certificate of tc in the TLS handshake (TLS 1.3: the refusal
// arrives as an alert on the first read; an accepted connection just has
// nothing to read).
func refusedInHandshake(t *testing.T, addr string, tc *tls.Config) bool {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		c := tc.Clone()
		c.NextProtos = []string{"http/1.1"}
		conn, err := tls.Dial("tcp", addr, c)
		if err != nil {
			return true
		}
		_ = conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		_, err = conn.Read(make([]byte, 1))
		conn.Close()
		if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
			return true
		}
	}
	return false
}

// TestInstancesJobsRunOnce: two instances schedule the same jobs; each
// tick runs them once (the leader holds a PostgreSQL advisory lock); when
// the leader stops, the other instance takes over, and a leader whose
// connection is cut takes the lock again.
func TestInstancesJobsRunOnce(t *testing.T) {
	ctx := context.Background()
	const every = 10 * time.Minute
	start := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	clocks := []*clockwork.FakeClock{clockwork.NewFakeClockAt(start), clockwork.NewFakeClockAt(start)}
	dsn := registrytest.Postgres(t)
	var srvs []*registry.Server
	var jobs []*registry.Jobs
	for _, fc := range clocks {
		srv, err := registry.Open(ctx, registry.Config{DataDir: t.TempDir(), Database: dsn, Logger: registrytest.Logger(t), Clock: fc, JobEvery: every, MailEvery: every})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { srv.Close() })
		srvs = append(srvs, srv)
	}
	for i, srv := range srvs {
		j, err := srv.StartJobs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { j.Stop() })
		jobs = append(jobs, j)
		if i == 0 {
			time.Sleep(300 * time.Millisecond) // the first instance leads
		}
	}
	runs := func() int64 {
		t.Helper()
		rs, err := srvs[1].JobRuns(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			if r.Job == "deadlines" {
				return r.Runs
			}
		}
		return 0
	}
	// waitRuns waits for want runs, then a moment more for any extra one.
	waitRuns := func(want int64) {
		t.Helper()
		until := time.Now().Add(10 * time.Second)
		for runs() < want && time.Now().Before(until) {
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(300 * time.Millisecond)
		if got := runs(); got != want {
			t.Fatalf("deadline job ran %d times, want %d (once per tick across both instances)", got, want)
		}
	}
	waitRuns(1) // the first run at start: once, not once per instance
	for n := int64(2); n <= 4; n++ {
		for _, fc := range clocks {
			fc.Advance(every)
		}
		waitRuns(n)
	}
	// The leader stops; the other instance runs the next tick.
	if err := jobs[0].Stop(); err != nil {
		t.Fatal(err)
	}
	clocks[1].Advance(every)
	waitRuns(5)
	// The leader's connection is cut (its lock goes with it): at the next
	// tick it takes the lock again on a new connection.
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var cut int
	if err := db.QueryRow(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'registryd-jobs'`).Scan(&cut); err != nil || cut != 1 {
		t.Fatalf("cut %d leader connections, want 1: %v", cut, err)
	}
	time.Sleep(200 * time.Millisecond)
	clocks[1].Advance(every)
	waitRuns(6)
}

// TestInstancesAuditChainOneWriterAtATime: console actions on two
// instances at once all land in the one hash-chained audit trail (a
// reader of its head and an appender never interleave across instances:
// db.write's advisory lock), and the trail verifies.
func TestInstancesAuditChainOneWriterAtATime(t *testing.T) {
	ctx := context.Background()
	a, b := twoInstances(t, nil)
	const each = 50
	before, err := a.Server.VerifyAdminAudit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i, r := range []*registrytest.Registry{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range each {
				e := audit.Entry{Kind: "station.command", Actor: "SE2321000016-M001", Subject: fmt.Sprintf("ST-%d-%d", i, n), Detail: map[string]any{"outcome": "ok"}}
				if err := r.Server.AppendAdminAudit(ctx, e); err != nil {
					t.Errorf("instance %d: %v", i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	res, err := b.Server.VerifyAdminAudit(ctx)
	if err != nil {
		t.Fatalf("the trail after two instances wrote it: %v", err)
	}
	if res.Entries != before.Entries+2*each {
		t.Errorf("%d entries, want %d", res.Entries, before.Entries+2*each)
	}
}

// TestInstancesListenerReconnects: when an instance's listening
// connection is cut (a database restart, a failover), it reconnects and
// a command queued elsewhere meanwhile still reaches the long poll it
// holds.
func TestInstancesListenerReconnects(t *testing.T) {
	ctx := context.Background()
	a, b := twoInstances(t, func(c *registry.Config) { c.MaxWait = 20 * time.Second })
	st := stationClient(t, a, "ST-2L")
	db, err := sql.Open("pgx", a.Database)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var cut int
	if err := db.QueryRow(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'registryd-listen'`).Scan(&cut); err != nil || cut != 2 {
		t.Fatalf("cut %d listening connections, want both instances': %v", cut, err)
	}
	res := make(chan []protocol.Command, 1)
	go func() {
		var resp protocol.ControlResponse
		if err := protocol.Post(ctx, st.hc, b.URL+protocol.PathControl, protocol.ControlRequest{StationID: st.id, WaitSeconds: 20}, &resp); err != nil {
			t.Error(err)
		}
		res <- resp.Commands
	}()
	time.Sleep(200 * time.Millisecond) // the poll waits at b, whose listener is down
	id, err := a.Server.SendCommand(ctx, st.id, protocol.CmdLock)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case cmds := <-res:
		if len(cmds) != 1 || cmds[0].ID != id {
			t.Fatalf("commands: %+v, want lock %d", cmds, id)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the command did not reach the poll at the instance whose listener was cut")
	}
}
