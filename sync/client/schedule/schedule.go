// Package schedule runs the station's one-attempt sync on an interval with
// gocron: jittered interval, exponential backoff after failures, never two
// attempts at once (singleton), an immediate "sync now" that skips the
// backoff, and a clean stop with its context. The schedule adds no sync
// logic of its own: it calls the same function as `kioskd sync --once`.
package schedule

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/go-co-op/gocron/v2"
)

// Config tunes a Runner. The zero value syncs every minute ± 10 s and
// backs off up to 30 minutes.
type Config struct {
	Interval   time.Duration // default 1 min
	Jitter     time.Duration // ± around Interval; default Interval/6
	MaxBackoff time.Duration // longest wait after failures; default 30 min
	Logger     *slog.Logger
	Now        func() time.Time // default time.Now (monotonic)
	// Name names the job in the log; default "sync" (the station's
	// retention job runs on a Runner too).
	Name string
}

// Runner runs an attempt function on the schedule.
type Runner struct {
	cfg     Config
	attempt func(ctx context.Context) error
	log     *slog.Logger

	sched gocron.Scheduler
	job   gocron.Job

	mu        sync.Mutex
	failures  int
	notBefore time.Time
	forced    bool // a SyncNow is waiting
	running   bool
	last      Result
}

// Result is the outcome of the latest attempt.
type Result struct {
	At       time.Time
	Err      error
	Failures int           // consecutive failures, 0 after a success
	Backoff  time.Duration // wait before the next scheduled attempt
}

// New prepares a Runner; Start starts it.
func New(cfg Config, attempt func(ctx context.Context) error) (*Runner, error) {
	if attempt == nil {
		return nil, errors.New("schedule: attempt function is nil")
	}
	if cfg.Interval <= 0 {
		cfg.Interval = time.Minute
	}
	if cfg.Jitter < 0 || cfg.Jitter >= cfg.Interval {
		return nil, fmt.Errorf("schedule: jitter %s must be less than the interval %s", cfg.Jitter, cfg.Interval)
	}
	if cfg.Jitter == 0 {
		cfg.Jitter = cfg.Interval / 6
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 30 * time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Name == "" {
		cfg.Name = "sync"
	}
	return &Runner{cfg: cfg, attempt: attempt, log: cfg.Logger.With("component", "schedule")}, nil
}

// Start schedules attempts (the first one at once) until ctx ends or Stop
// is called.
func (r *Runner) Start(ctx context.Context) error {
	s, err := gocron.NewScheduler()
	if err != nil {
		return fmt.Errorf("schedule: %w", err)
	}
	j, err := s.NewJob(
		gocron.DurationRandomJob(r.cfg.Interval-r.cfg.Jitter, r.cfg.Interval+r.cfg.Jitter),
		gocron.NewTask(r.run),
		gocron.WithName(r.cfg.Name),
		gocron.WithSingletonMode(gocron.LimitModeReschedule),
		gocron.WithContext(ctx),
		gocron.WithStartAt(gocron.WithStartImmediately()),
	)
	if err != nil {
		_ = s.Shutdown()
		return fmt.Errorf("schedule: %w", err)
	}
	r.mu.Lock()
	r.sched, r.job = s, j
	r.mu.Unlock()
	s.Start()
	go func() {
		<-ctx.Done()
		_ = r.Stop()
	}()
	return nil
}

// Stop stops scheduling and waits for a running attempt to end.
func (r *Runner) Stop() error {
	r.mu.Lock()
	s := r.sched
	r.sched = nil
	r.mu.Unlock()
	if s == nil {
		return nil
	}
	if err := s.Shutdown(); err != nil {
		return fmt.Errorf("schedule: stop: %w", err)
	}
	return nil
}

// SyncNow asks for an attempt now, ignoring any backoff. If an attempt is
// running, another one follows it at once; never two run together.
func (r *Runner) SyncNow() error {
	r.mu.Lock()
	r.forced = true
	running, j := r.running, r.job
	r.mu.Unlock()
	if running || j == nil {
		return nil
	}
	if err := j.RunNow(); err != nil {
		return fmt.Errorf("schedule: sync now: %w", err)
	}
	return nil
}

// Last returns the latest attempt's result.
func (r *Runner) Last() Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

// run is the gocron task: one attempt unless backing off, repeated while
// a SyncNow arrived during it.
func (r *Runner) run(ctx context.Context) {
	for {
		r.mu.Lock()
		if r.running {
			r.mu.Unlock()
			return
		}
		forced := r.forced
		if !forced && r.cfg.Now().Add(r.cfg.Jitter).Before(r.notBefore) {
			r.mu.Unlock()
			return
		}
		r.forced, r.running = false, true
		r.mu.Unlock()

		err := r.attempt(ctx)

		r.mu.Lock()
		r.running = false
		now := r.cfg.Now()
		if err != nil {
			r.failures++
			r.notBefore = now.Add(r.backoff(r.failures))
		} else {
			r.failures, r.notBefore = 0, time.Time{}
		}
		r.last = Result{At: now, Err: err, Failures: r.failures, Backoff: r.notBefore.Sub(now)}
		if r.last.Backoff < 0 {
			r.last.Backoff = 0
		}
		again := r.forced && ctx.Err() == nil
		r.mu.Unlock()
		if err != nil {
			r.log.Warn(r.cfg.Name+" attempt failed", "failures", r.last.Failures, "backoff", r.last.Backoff.Round(time.Second), "err", err)
		}
		if !again {
			return
		}
	}
}

// backoff after n consecutive failures: interval·2^(n-1) with ±25 % jitter,
// at most MaxBackoff.
func (r *Runner) backoff(n int) time.Duration {
	d := r.cfg.Interval
	for i := 1; i < n && d < r.cfg.MaxBackoff; i++ {
		d *= 2
	}
	d = time.Duration(float64(d) * (0.75 + rand.Float64()/2))
	return min(d, r.cfg.MaxBackoff)
}
