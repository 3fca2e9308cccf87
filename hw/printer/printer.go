// Package printer defines how the station prints receipts and hand-out
// letters: the Printer interface, its job and printer states, and typed
// errors. Drivers live in sub-packages: ipp (CUPS over IPP) and sim (an
// in-memory simulator for development and UI tests).
//
// A printer never owns a document. The caller stores the PDF with its record
// before printing, so nothing is lost when a job fails. Print queues the
// bytes; a job on a printer that is paused, offline or out of paper stays
// pending and prints when the printer is back. Wait follows a job to the end
// and reports the printer's state on the way, so the UI can say "printer out
// of paper". Reprinting is printing the same bytes again: Cancel the old job
// if it is still queued (Cancel says ErrJobCompleted if it printed after
// all), then Print.
package printer

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Printer prints PDF documents. Implementations are safe for concurrent use.
type Printer interface {
	// Print queues doc and returns the new job at once, without waiting for
	// it to print. It returns ErrInvalidDocument for a document that is not
	// a PDF, ErrNotAccepting when the printer refuses new jobs and
	// ErrUnreachable when the printer cannot be reached.
	Print(ctx context.Context, doc Document) (Job, error)
	// Job returns the job's current state, or ErrNoSuchJob.
	Job(ctx context.Context, id JobID) (Job, error)
	// Wait follows the job until it is done. It returns the job and nil when
	// it completed, a *JobError when it was aborted or canceled, and a
	// *WaitError when ctx ends first (the job stays queued). If update is
	// not nil it is called, from the calling goroutine, whenever the job's
	// or the printer's state changes.
	Wait(ctx context.Context, id JobID, update func(Progress)) (Job, error)
	// Cancel cancels a job that has not printed. Canceling a canceled or
	// aborted job is not an error; a completed job gives ErrJobCompleted.
	Cancel(ctx context.Context, id JobID) error
	// State returns the printer's state, or ErrUnreachable.
	State(ctx context.Context) (Status, error)
}

// Document is one PDF to print.
type Document struct {
	// Name is the job's name in the printer queue. It must not hold
	// personal data; use the record's ID, e.g. "receipt KV-2026-000123".
	Name string
	// PDF is the document.
	PDF []byte
}

// Validate returns ErrInvalidDocument unless the document is a named PDF.
func (d Document) Validate() error {
	switch {
	case strings.TrimSpace(d.Name) == "":
		return fmt.Errorf("%w: name is empty", ErrInvalidDocument)
	case len(d.PDF) == 0:
		return fmt.Errorf("%w: no bytes", ErrInvalidDocument)
	case !strings.HasPrefix(string(d.PDF[:min(len(d.PDF), 5)]), "%PDF-"):
		return fmt.Errorf("%w: does not start with %%PDF-", ErrInvalidDocument)
	}
	return nil
}

// JobID identifies a job on one printer.
type JobID int

// JobState is where a job is in its life.
type JobState int

// Job states. Completed, Aborted and Canceled are final.
const (
	JobUnknown    JobState = iota
	JobPending             // queued, or held
	JobProcessing          // being printed, or stopped while printing
	JobCompleted           // printed
	JobAborted             // the printer or the system gave up
	JobCanceled            // canceled by a user
)

var jobStateNames = [...]string{"unknown", "pending", "processing", "completed", "aborted", "canceled"}

func (s JobState) String() string {
	if s < 0 || int(s) >= len(jobStateNames) {
		return fmt.Sprintf("JobState(%d)", int(s))
	}
	return jobStateNames[s]
}

// Final reports whether the job can change no more.
func (s JobState) Final() bool {
	return s == JobCompleted || s == JobAborted || s == JobCanceled
}

// Job is a print job's state.
type Job struct {
	ID    JobID
	State JobState
	// Reasons are IPP job-state-reasons keywords, e.g. "job-printing",
	// "aborted-by-system", "job-canceled-by-user".
	Reasons []string
}

// State is the printer's condition, as the UI shows it.
type State int

// Printer states.
const (
	StateUnknown     State = iota
	StateReady             // idle, can print
	StatePrinting          // printing a job
	StatePaused            // stopped by an operator (cupsdisable, Pause-Printer)
	StateStopped           // stopped by the system, e.g. after a device error
	StateOffline           // the device is not connected or switched off
	StateOutOfPaper        // media-empty: load paper
	StateError             // another error condition, e.g. a paper jam
	StateUnreachable       // the print service does not answer
)

var stateNames = [...]string{"unknown", "ready", "printing", "paused", "stopped", "offline", "out-of-paper", "error", "unreachable"}

func (s State) String() string {
	if s < 0 || int(s) >= len(stateNames) {
		return fmt.Sprintf("State(%d)", int(s))
	}
	return stateNames[s]
}

// CanPrint reports whether queued jobs make progress in this state.
func (s State) CanPrint() bool { return s == StateReady || s == StatePrinting }

// Status is a snapshot of the printer.
type Status struct {
	State State
	// Accepting is false when the printer refuses new jobs (cupsreject).
	Accepting bool
	// Reasons are IPP printer-state-reasons keywords, e.g. "paused",
	// "media-empty-error"; never "none".
	Reasons []string
	// Message is the printer's own human-readable state message, if any.
	Message string
}

// Progress is what Wait reports on the way.
type Progress struct {
	Job     Job
	Printer Status
}

// Errors. Drivers wrap them with context; test with errors.Is.
var (
	// ErrInvalidDocument: the document is not a named PDF. Nothing was queued.
	ErrInvalidDocument = errors.New("printer: invalid document")
	// ErrNotAccepting: the printer refuses new jobs. Nothing was queued.
	ErrNotAccepting = errors.New("printer: not accepting jobs")
	// ErrUnreachable: the print service does not answer.
	ErrUnreachable = errors.New("printer: unreachable")
	// ErrPrinterStopped: the printer cannot print now (paused, stopped,
	// offline, out of paper, in error). Queued jobs wait for it.
	ErrPrinterStopped = errors.New("printer: stopped")
	// ErrNoSuchJob: the printer does not know the job.
	ErrNoSuchJob = errors.New("printer: no such job")
	// ErrNoSuchPrinter: the configured printer (queue) does not exist.
	ErrNoSuchPrinter = errors.New("printer: no such printer")
	// ErrJobCompleted: the job has already printed, so it cannot be canceled.
	ErrJobCompleted = errors.New("printer: job already completed")
)

// JobError says a job ended without printing: aborted or canceled. The
// document is not lost (the caller stored it); print it again to reprint.
type JobError struct {
	ID      JobID
	State   JobState
	Reasons []string
}

func (e *JobError) Error() string {
	if len(e.Reasons) == 0 {
		return fmt.Sprintf("printer: job %d %s", e.ID, e.State)
	}
	return fmt.Sprintf("printer: job %d %s (%s)", e.ID, e.State, strings.Join(e.Reasons, ", "))
}

// WaitError says Wait ended (its context ended) before the job was done.
// The job is still queued. It matches the context's error with errors.Is,
// and also ErrPrinterStopped or ErrUnreachable when the printer was in such
// a state, which is then why the job did not print.
type WaitError struct {
	Job     Job
	Printer Status
	Err     error
}

func (e *WaitError) Error() string {
	return fmt.Sprintf("printer: job %d still %s, printer %s: %v", e.Job.ID, e.Job.State, e.Printer.State, e.Err)
}

// Unwrap returns the context's error and the printer's condition.
func (e *WaitError) Unwrap() []error {
	errs := []error{e.Err}
	switch {
	case e.Printer.State == StateUnreachable:
		errs = append(errs, ErrUnreachable)
	case e.Printer.State != StateUnknown && !e.Printer.State.CanPrint():
		errs = append(errs, ErrPrinterStopped)
	}
	return errs
}
