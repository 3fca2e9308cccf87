package schedule_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kortstation/kortstation/sync/client/schedule"
)

type recorder struct {
	mu       sync.Mutex
	times    []time.Time
	inflight atomic.Int32
	maxSeen  atomic.Int32
	fail     atomic.Int32 // fail this many more attempts
	hold     time.Duration
}

func (r *recorder) attempt(ctx context.Context) error {
	n := r.inflight.Add(1)
	defer r.inflight.Add(-1)
	for {
		m := r.maxSeen.Load()
		if n <= m || r.maxSeen.CompareAndSwap(m, n) {
			break
		}
	}
	r.mu.Lock()
	r.times = append(r.times, time.Now())
	r.mu.Unlock()
	if r.hold > 0 {
		select {
		case <-time.After(r.hold):
		case <-ctx.Done():
		}
	}
	if r.fail.Add(-1) >= 0 {
		return errors.New("registry unreachable")
	}
	return nil
}

func (r *recorder) calls() []time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Time(nil), r.times...)
}

func waitCalls(t *testing.T, r *recorder, n int, within time.Duration) []time.Time {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if c := r.calls(); len(c) >= n {
			return c
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("got %d attempts within %s, want %d", len(r.calls()), within, n)
	return nil
}

func TestBackoffGrowsAndResets(t *testing.T) {
	rec := &recorder{}
	rec.fail.Store(4)
	r, err := schedule.New(schedule.Config{Interval: 50 * time.Millisecond, Jitter: 5 * time.Millisecond, MaxBackoff: 2 * time.Second}, rec.attempt)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	c := waitCalls(t, rec, 6, 10*time.Second)
	g1, g4 := c[1].Sub(c[0]), c[4].Sub(c[3])
	if g4 < 3*g1 {
		t.Errorf("gap after 1 failure %s, after 4 failures %s: want exponential growth", g1, g4)
	}
	if g := c[5].Sub(c[4]); g > 200*time.Millisecond {
		t.Errorf("after a success the next attempt came %s later, want about one interval", g)
	}
	if last := r.Last(); last.Err != nil || last.Failures != 0 {
		t.Errorf("last = %+v, want a success with no failures", last)
	}
}

func TestSingletonAndSyncNow(t *testing.T) {
	rec := &recorder{hold: 120 * time.Millisecond}
	rec.fail.Store(1)
	r, err := schedule.New(schedule.Config{Interval: 10 * time.Second, MaxBackoff: time.Minute}, rec.attempt)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	waitCalls(t, rec, 1, 5*time.Second) // the first attempt, which fails: backoff ≥ 7.5 s
	for i := 0; i < 20; i++ {
		if err := r.SyncNow(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	c := waitCalls(t, rec, 2, 2*time.Second) // sync now ignores the backoff
	if c[1].Sub(c[0]) > time.Second {
		t.Errorf("sync now came %s after the failure, want at once", c[1].Sub(c[0]))
	}
	time.Sleep(400 * time.Millisecond)
	if m := rec.maxSeen.Load(); m != 1 {
		t.Errorf("%d attempts ran at once, want 1", m)
	}
	if n := len(rec.calls()); n > 4 {
		t.Errorf("20 sync-now presses gave %d attempts; want them coalesced", n)
	}
	cancel()
	time.Sleep(100 * time.Millisecond)
	n := len(rec.calls())
	_ = r.SyncNow()
	time.Sleep(300 * time.Millisecond)
	if got := len(rec.calls()); got != n {
		t.Errorf("attempts after stop: %d, want none", got-n)
	}
}
