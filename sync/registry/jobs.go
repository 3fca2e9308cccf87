package registry

// The registry's scheduled jobs (issue 14): the deadline jobs (RE-2, RC-6,
// RE-5 reminders: RunDeadlines) and the e-mail outbox (DeliverMail), on
// gocron. Each job is a one-attempt function the schedule only calls:
// singleton (a run never overlaps the previous one), the first run at
// start (a registry that was down catches up), driven by Config.Clock so
// tests run in fake time. The jobs are restart-safe because their effects
// are recorded where they are made (deadlines.go, notify.go), never in
// the scheduler.

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/go-co-op/gocron/v2"

	"github.com/kortstation/kortstation/kiosk/rules/calendar"
)

// Default intervals.
const (
	defaultJobEvery  = 15 * time.Minute
	defaultMailEvery = 30 * time.Second
)

// Jobs are the running scheduled jobs.
type Jobs struct {
	sched  gocron.Scheduler
	leader *pgLeader // PostgreSQL: this instance's claim to run the jobs
	once   sync.Once
	err    error
}

// StartJobs schedules the deadline jobs and the outbox until ctx ends or
// Stop is called; both run once at once.
func (s *Server) StartJobs(ctx context.Context) (*Jobs, error) {
	opts := []gocron.SchedulerOption{gocron.WithLocation(calendar.Stockholm())}
	if s.cfg.Clock != nil {
		opts = append(opts, gocron.WithClock(s.cfg.Clock))
	}
	var leader *pgLeader
	if s.db.dialect == postgres {
		// Several instances: only the leader runs the jobs (peers.go).
		leader = &pgLeader{cfg: s.db.pgcfg}
		opts = append(opts, gocron.WithDistributedElector(leader))
	}
	sched, err := gocron.NewScheduler(opts...)
	if err != nil {
		return nil, fmt.Errorf("registry: jobs: %w", err)
	}
	every := func(d, def time.Duration) time.Duration {
		if d <= 0 {
			return def
		}
		return d
	}
	for _, j := range []struct {
		name  string
		every time.Duration
		run   func(ctx context.Context)
	}{
		{"deadlines", every(s.cfg.JobEvery, defaultJobEvery), func(ctx context.Context) {
			if r, err := s.RunDeadlines(ctx); err != nil {
				s.log.Error("deadline jobs", "err", err)
			} else if r != (JobResult{}) {
				s.log.Info("deadline jobs", "re2_blocked", r.Blocked, "rc6_deviations", r.Deviations, "re5_reminders", r.Reminders)
			}
		}},
		{"mail", every(s.cfg.MailEvery, defaultMailEvery), func(ctx context.Context) {
			if _, err := s.DeliverMail(ctx, s.mailer); err != nil {
				s.log.Error("e-mail outbox", "err", err)
			}
		}},
	} {
		_, err := sched.NewJob(gocron.DurationJob(j.every), gocron.NewTask(j.run),
			gocron.WithName(j.name),
			gocron.WithSingletonMode(gocron.LimitModeReschedule),
			gocron.WithContext(ctx),
			gocron.WithStartAt(gocron.WithStartImmediately()))
		if err != nil {
			_ = sched.Shutdown()
			return nil, fmt.Errorf("registry: job %s: %w", j.name, err)
		}
	}
	sched.Start()
	jb := &Jobs{sched: sched, leader: leader}
	go func() {
		<-ctx.Done()
		_ = jb.Stop()
	}()
	return jb, nil
}

// Stop stops the schedule and waits for a running job to end.
func (j *Jobs) Stop() error {
	j.once.Do(func() {
		if err := j.sched.Shutdown(); err != nil {
			j.err = fmt.Errorf("registry: stop jobs: %w", err)
		}
		if j.leader != nil {
			j.leader.resign()
		}
	})
	return j.err
}

// JobRun is a job's latest run, for the console.
type JobRun struct {
	Job       string
	Runs      int64
	LastRun   time.Time
	LastError string
	Effects   int64
}

// JobRuns lists the jobs' runs.
func (s *Server) JobRuns(ctx context.Context) ([]JobRun, error) {
	rows, err := s.db.reader.QueryContext(ctx, `SELECT job, runs, last_run, last_error, effects FROM job_runs ORDER BY job`)
	if err != nil {
		return nil, fmt.Errorf("registry: job runs: %w", err)
	}
	defer rows.Close()
	var out []JobRun
	for rows.Next() {
		var r JobRun
		var last string
		if err := rows.Scan(&r.Job, &r.Runs, &last, &r.LastError, &r.Effects); err != nil {
			return nil, fmt.Errorf("registry: job runs: %w", err)
		}
		r.LastRun = parseTS(last)
		out = append(out, r)
	}
	return out, rows.Err()
}
