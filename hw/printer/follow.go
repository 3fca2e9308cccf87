package printer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Poller is the part of a Printer that Follow needs.
type Poller interface {
	Job(ctx context.Context, id JobID) (Job, error)
	State(ctx context.Context) (Status, error)
}

// Follow implements Printer.Wait by asking p for the job's and the
// printer's state every interval. A printer that is briefly unreachable does
// not end the wait: it is reported as StateUnreachable and asked again.
func Follow(ctx context.Context, p Poller, id JobID, interval time.Duration, update func(Progress)) (Job, error) {
	if interval <= 0 {
		return Job{}, fmt.Errorf("printer: follow job %d: interval %v must be positive", id, interval)
	}
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	last := Progress{Job: Job{ID: id}}
	reported := false
	report := func(cur Progress) {
		if update != nil && (!reported || changed(last, cur)) {
			update(cur)
		}
		last, reported = cur, true
	}
	for {
		cur, err := poll(ctx, p, id, last)
		switch {
		case err == nil:
		case ctx.Err() != nil:
			return cur.Job, &WaitError{Job: cur.Job, Printer: cur.Printer, Err: ctx.Err()}
		default:
			return cur.Job, fmt.Errorf("printer: follow job %d: %w", id, err)
		}
		report(cur)
		if cur.Job.State.Final() {
			if cur.Job.State == JobCompleted {
				return cur.Job, nil
			}
			return cur.Job, &JobError{ID: cur.Job.ID, State: cur.Job.State, Reasons: cur.Job.Reasons}
		}
		select {
		case <-ctx.Done():
			return cur.Job, &WaitError{Job: cur.Job, Printer: cur.Printer, Err: ctx.Err()}
		case <-ticker.C:
		}
	}
}

func changed(a, b Progress) bool {
	return a.Job.State != b.Job.State || !slices.Equal(a.Job.Reasons, b.Job.Reasons) ||
		a.Printer.State != b.Printer.State || a.Printer.Accepting != b.Printer.Accepting ||
		!slices.Equal(a.Printer.Reasons, b.Printer.Reasons)
}

// poll asks for the job and, unless it is done, the printer. An unreachable
// printer is not an error here: it keeps the last known job and reports the
// printer as StateUnreachable. On an error it still returns the best known
// progress.
func poll(ctx context.Context, p Poller, id JobID, last Progress) (Progress, error) {
	unreachable := Progress{Job: last.Job, Printer: Status{State: StateUnreachable}}
	job, err := p.Job(ctx, id)
	switch {
	case err == nil:
	case ctx.Err() == nil && errors.Is(err, ErrUnreachable):
		return unreachable, nil
	default:
		return last, err
	}
	if job.State.Final() {
		return Progress{Job: job, Printer: last.Printer}, nil
	}
	st, err := p.State(ctx)
	switch {
	case err == nil:
	case ctx.Err() == nil && errors.Is(err, ErrUnreachable):
		unreachable.Job = job
		return unreachable, nil
	default:
		return Progress{Job: job, Printer: last.Printer}, err
	}
	return Progress{Job: job, Printer: st}, nil
}
