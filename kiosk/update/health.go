// Package update is the station's side of software updates: the health
// check that decides, after booting a new root slot, whether the station
// keeps it (`kioskd health`, run by kortstation-health.service, which marks
// the RAUC slot good or bad), and the record of an update's outcome that
// the health check writes into the audit log. The A/B machinery itself
// (RAUC, the tryboot backend) is in images/rauc; docs/appliance.md
// describes the update flow and the rollback rules.
package update

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// Check is one condition of a healthy station.
type Check struct {
	Name string
	// Run reports nil when the condition holds.
	Run func(ctx context.Context) error
	// Wait is how long a failing Run is retried (every Poll) before the
	// check counts as failed; 0 runs it once.
	Wait time.Duration
	// Waivable: still failing after Wait, the check is waived rather than
	// failed. For the registry: a station that is offline at boot must not
	// roll back an update for that alone (the wait is the bound).
	Waivable bool
}

// Result is the outcome of one check.
type Result struct {
	Name     string
	Err      error // nil when the check passed
	Waived   bool  // failed for its whole Wait, and Waivable
	Attempts int
	Took     time.Duration
}

// Report is the outcome of all checks, in order.
type Report struct {
	Results []Result
}

// OK reports whether every check passed or was waived.
func (r Report) OK() bool {
	for _, res := range r.Results {
		if res.Err != nil && !res.Waived {
			return false
		}
	}
	return true
}

// Err is nil when the station is healthy, else an error naming the
// failed checks.
func (r Report) Err() error {
	var errs []error
	for _, res := range r.Results {
		if res.Err != nil && !res.Waived {
			errs = append(errs, fmt.Errorf("%s: %w", res.Name, res.Err))
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("station unhealthy: %w", errors.Join(errs...))
}

// Print writes one line per check.
func (r Report) Print(w io.Writer) {
	for _, res := range r.Results {
		switch {
		case res.Err == nil:
			fmt.Fprintf(w, "ok      %s (%s)\n", res.Name, res.Took.Round(time.Millisecond))
		case res.Waived:
			fmt.Fprintf(w, "waived  %s after %s: %v\n", res.Name, res.Took.Round(time.Second), res.Err)
		default:
			fmt.Fprintf(w, "FAILED  %s after %d attempts, %s: %v\n", res.Name, res.Attempts, res.Took.Round(time.Millisecond), res.Err)
		}
	}
	if r.OK() {
		fmt.Fprintln(w, "healthy")
	} else {
		fmt.Fprintln(w, "unhealthy")
	}
}

// Run runs the checks in order, each retried every poll for its Wait. A
// failed check that is not waivable stops the run: later checks depend on
// earlier ones (no audit chain without a store).
func Run(ctx context.Context, poll time.Duration, checks []Check) Report {
	if poll <= 0 {
		poll = time.Second
	}
	var rep Report
	for _, c := range checks {
		res := run1(ctx, poll, c)
		rep.Results = append(rep.Results, res)
		if res.Err != nil && !res.Waived {
			break
		}
	}
	return rep
}

func run1(ctx context.Context, poll time.Duration, c Check) Result {
	start := time.Now()
	res := Result{Name: c.Name}
	deadline := start.Add(c.Wait)
	for {
		res.Attempts++
		err := c.Run(ctx)
		res.Took = time.Since(start)
		if err == nil {
			res.Err = nil
			return res
		}
		res.Err = err
		if ctx.Err() != nil || !time.Now().Add(poll).Before(deadline.Add(time.Millisecond)) {
			break
		}
		t := time.NewTimer(poll)
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
		if ctx.Err() != nil {
			res.Err = fmt.Errorf("%w (%w)", err, ctx.Err())
			break
		}
	}
	res.Waived = c.Waivable && ctx.Err() == nil
	return res
}
