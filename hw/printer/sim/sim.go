// Package sim is a simulated printer for `make run` and UI tests. It keeps
// printed documents in memory (and optionally writes them to a directory),
// prints one job at a time with a configurable delay, and can be switched
// paused, offline, out of paper, rejecting or unreachable from a dev panel
// through its exported methods. It passes the same contract tests as the
// CUPS driver (see printertest).
package sim

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/kortstation/kortstation/hw/printer"
)

// Options configure a simulated printer.
type Options struct {
	// PrintTime is how long one job takes; default 50 ms.
	PrintTime time.Duration
	// PollInterval is how often Wait looks at the job; default 10 ms.
	PollInterval time.Duration
	// Dir, if set, receives every printed document as job-NNNNNN.pdf.
	Dir string
	// Logger; default slog.Default().
	Logger *slog.Logger
}

// Printout is a document the simulator has printed.
type Printout struct {
	Job  printer.JobID
	Name string
	PDF  []byte
	At   time.Time
}

type job struct {
	printer.Job
	doc printer.Document
}

// Printer is the simulated printer. Its zero value is not usable; call New.
type Printer struct {
	opts Options
	log  *slog.Logger

	mu          sync.Mutex
	jobs        map[printer.JobID]*job
	queue       []printer.JobID // pending jobs in order
	current     *job            // the job being printed
	timer       *time.Timer     // finishes current
	nextID      printer.JobID
	paused      bool
	offline     bool
	outOfPaper  bool
	rejecting   bool
	unreachable bool
	abortNext   string
	printed     []Printout
	closed      bool
}

var _ printer.Printer = (*Printer)(nil)

// New returns a ready, accepting simulated printer with an empty queue.
func New(opts Options) *Printer {
	if opts.PrintTime <= 0 {
		opts.PrintTime = 50 * time.Millisecond
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 10 * time.Millisecond
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Printer{
		opts:   opts,
		log:    opts.Logger.With("component", "printer-sim"),
		jobs:   make(map[printer.JobID]*job),
		nextID: 1,
	}
}

// Print queues doc; see printer.Printer.
func (p *Printer) Print(ctx context.Context, doc printer.Document) (printer.Job, error) {
	if err := ctx.Err(); err != nil {
		return printer.Job{}, fmt.Errorf("sim: print: %w", err)
	}
	if err := doc.Validate(); err != nil {
		return printer.Job{}, fmt.Errorf("sim: print: %w", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.reachable(); err != nil {
		return printer.Job{}, fmt.Errorf("sim: print: %w", err)
	}
	if p.rejecting {
		return printer.Job{}, fmt.Errorf("sim: print %q: %w", doc.Name, printer.ErrNotAccepting)
	}
	j := &job{
		Job: printer.Job{ID: p.nextID, State: printer.JobPending},
		doc: printer.Document{Name: doc.Name, PDF: slices.Clone(doc.PDF)},
	}
	p.nextID++
	p.jobs[j.ID] = j
	p.queue = append(p.queue, j.ID)
	p.log.Info("job queued", "job", j.ID, "name", doc.Name, "bytes", len(doc.PDF))
	p.kick()
	return p.snapshot(j), nil
}

// Job returns the job's state; see printer.Printer.
func (p *Printer) Job(ctx context.Context, id printer.JobID) (printer.Job, error) {
	if err := ctx.Err(); err != nil {
		return printer.Job{}, fmt.Errorf("sim: job %d: %w", id, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.reachable(); err != nil {
		return printer.Job{}, fmt.Errorf("sim: job %d: %w", id, err)
	}
	j, ok := p.jobs[id]
	if !ok {
		return printer.Job{}, fmt.Errorf("sim: job %d: %w", id, printer.ErrNoSuchJob)
	}
	return p.snapshot(j), nil
}

// Wait follows the job to its end; see printer.Printer.
func (p *Printer) Wait(ctx context.Context, id printer.JobID, update func(printer.Progress)) (printer.Job, error) {
	return printer.Follow(ctx, p, id, p.opts.PollInterval, update)
}

// Cancel cancels a job that has not printed; see printer.Printer.
func (p *Printer) Cancel(ctx context.Context, id printer.JobID) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sim: cancel job %d: %w", id, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.reachable(); err != nil {
		return fmt.Errorf("sim: cancel job %d: %w", id, err)
	}
	j, ok := p.jobs[id]
	if !ok {
		return fmt.Errorf("sim: cancel job %d: %w", id, printer.ErrNoSuchJob)
	}
	switch j.State {
	case printer.JobCompleted:
		return fmt.Errorf("sim: cancel job %d: %w", id, printer.ErrJobCompleted)
	case printer.JobAborted, printer.JobCanceled:
		return nil
	}
	if p.current == j {
		p.timer.Stop()
		p.current, p.timer = nil, nil
	}
	p.queue = slices.DeleteFunc(p.queue, func(q printer.JobID) bool { return q == id })
	j.State, j.Reasons = printer.JobCanceled, []string{"job-canceled-by-user"}
	p.log.Info("job canceled", "job", id)
	p.kick()
	return nil
}

// State returns the simulated printer's state; see printer.Printer.
func (p *Printer) State(ctx context.Context) (printer.Status, error) {
	if err := ctx.Err(); err != nil {
		return printer.Status{}, fmt.Errorf("sim: state: %w", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.reachable(); err != nil {
		return printer.Status{}, fmt.Errorf("sim: state: %w", err)
	}
	return p.status(), nil
}

// SetPaused pauses or resumes the printer, like cupsdisable / cupsenable.
func (p *Printer) SetPaused(on bool) { p.set(&p.paused, on, "paused") }

// SetOffline disconnects or reconnects the simulated device.
func (p *Printer) SetOffline(on bool) { p.set(&p.offline, on, "offline") }

// SetOutOfPaper empties or refills the paper tray.
func (p *Printer) SetOutOfPaper(on bool) { p.set(&p.outOfPaper, on, "out-of-paper") }

// SetRejecting makes the printer refuse or accept new jobs, like cupsreject
// / cupsaccept.
func (p *Printer) SetRejecting(on bool) { p.set(&p.rejecting, on, "rejecting") }

// SetUnreachable makes every call fail with printer.ErrUnreachable, like a
// print service that is down. Queued jobs are kept.
func (p *Printer) SetUnreachable(on bool) { p.set(&p.unreachable, on, "unreachable") }

// AbortNext makes the next job that finishes printing end as aborted, with
// the given IPP job-state-reason (default "aborted-by-system").
func (p *Printer) AbortNext(reason string) {
	if reason == "" {
		reason = "aborted-by-system"
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.abortNext = reason
}

// Printed returns the documents printed so far, oldest first.
func (p *Printer) Printed() []Printout {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]Printout, len(p.printed))
	for i, po := range p.printed {
		po.PDF = slices.Clone(po.PDF)
		out[i] = po
	}
	return out
}

// Close stops the printer; the job being printed stays unfinished and
// every later call fails with printer.ErrUnreachable.
func (p *Printer) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.timer != nil {
		p.timer.Stop()
	}
	p.closed = true
	return nil
}

func (p *Printer) set(flag *bool, on bool, what string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if *flag == on {
		return
	}
	*flag = on
	p.log.Info("simulated printer changed", "condition", what, "on", on)
	if !p.canPrint() && p.current != nil {
		// The job stops and goes back to the head of the queue, as a
		// real printer retries it when it is back.
		p.timer.Stop()
		p.current.State, p.current.Reasons = printer.JobPending, []string{"printer-stopped"}
		p.queue = slices.Insert(p.queue, 0, p.current.ID)
		p.current, p.timer = nil, nil
	}
	p.kick()
}

func (p *Printer) reachable() error {
	if p.closed || p.unreachable {
		return printer.ErrUnreachable
	}
	return nil
}

func (p *Printer) canPrint() bool {
	return !p.paused && !p.offline && !p.outOfPaper && !p.unreachable && !p.closed
}

// kick starts the next job if the printer is idle and can print. p.mu held.
func (p *Printer) kick() {
	if p.current != nil || len(p.queue) == 0 || !p.canPrint() {
		return
	}
	j := p.jobs[p.queue[0]]
	p.queue = p.queue[1:]
	j.State, j.Reasons = printer.JobProcessing, []string{"job-printing"}
	p.current = j
	p.timer = time.AfterFunc(p.opts.PrintTime, func() { p.finish(j) })
}

// finish ends the job being printed, unless it was stopped meanwhile.
func (p *Printer) finish(j *job) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.current != j || p.closed {
		return
	}
	p.current, p.timer = nil, nil
	switch {
	case !bytes.Contains(j.doc.PDF, []byte("startxref")):
		// Like a print filter, give up on a PDF without a cross-reference.
		j.State, j.Reasons = printer.JobAborted, []string{"document-format-error"}
		p.log.Warn("job aborted: broken PDF", "job", j.ID)
	case p.abortNext != "":
		j.State, j.Reasons = printer.JobAborted, []string{p.abortNext}
		p.abortNext = ""
		p.log.Warn("job aborted", "job", j.ID, "reason", j.Reasons[0])
	default:
		if err := p.write(j); err != nil {
			j.State, j.Reasons = printer.JobAborted, []string{"document-access-error"}
			p.log.Error("writing printout", "job", j.ID, "err", err)
			break
		}
		j.State, j.Reasons = printer.JobCompleted, []string{"job-completed-successfully"}
		p.printed = append(p.printed, Printout{Job: j.ID, Name: j.doc.Name, PDF: j.doc.PDF, At: time.Now()})
		p.log.Info("job completed", "job", j.ID)
	}
	p.kick()
}

func (p *Printer) write(j *job) error {
	if p.opts.Dir == "" {
		return nil
	}
	name := filepath.Join(p.opts.Dir, fmt.Sprintf("job-%06d.pdf", j.ID))
	if err := os.WriteFile(name, j.doc.PDF, 0o600); err != nil {
		return fmt.Errorf("sim: write %s: %w", name, err)
	}
	return nil
}

func (p *Printer) status() printer.Status {
	st := printer.Status{State: printer.StateReady, Accepting: !p.rejecting}
	switch {
	case p.outOfPaper:
		st.State, st.Reasons = printer.StateOutOfPaper, []string{"media-empty-error"}
	case p.offline:
		st.State, st.Reasons = printer.StateOffline, []string{"offline-report"}
	case p.paused:
		st.State, st.Reasons = printer.StatePaused, []string{"paused"}
	case p.current != nil:
		st.State = printer.StatePrinting
	}
	return st
}

func (p *Printer) snapshot(j *job) printer.Job {
	out := j.Job
	out.Reasons = slices.Clone(j.Reasons)
	return out
}
