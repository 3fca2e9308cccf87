// Package ipp is the printer driver for a CUPS queue, spoken to over IPP
// with github.com/phin1x/go-ipp (pure Go, no cgo). It prints a PDF with
// Print-Job, follows the job with Get-Job-Attributes and reads the queue's
// printer-state, printer-state-reasons and printer-is-accepting-jobs.
//
// Every request is bounded by Config.RequestTimeout and by the caller's
// context. go-ipp's client methods ignore their context, so this package
// builds the requests itself and sends them through the HTTP adapter's
// SendRequestContext.
package ipp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	goipp "github.com/phin1x/go-ipp"

	"github.com/kortstation/kortstation/hw/printer"
)

// Config configures the driver.
type Config struct {
	// Host and Port of the CUPS server; default localhost:631.
	Host string
	Port int
	// Queue is the CUPS queue (printer) name. Required.
	Queue string
	// User is the requesting-user-name of the jobs; default "kortstation".
	User string
	// RequestTimeout bounds one IPP request; default 5 s.
	RequestTimeout time.Duration
	// PollInterval is how often Wait asks for the job's state; default
	// 100 ms.
	PollInterval time.Duration
	// Logger; default slog.Default().
	Logger *slog.Logger
}

// Printer prints to one CUPS queue. It is safe for concurrent use.
type Printer struct {
	cfg        Config
	log        *slog.Logger
	adapter    *goipp.HttpAdapter
	printerURI string
	httpURL    string
	reqID      atomic.Int32
}

var _ printer.Printer = (*Printer)(nil)

// New returns a driver for cfg.Queue. It does not contact the server; State
// tells whether the queue is there.
func New(cfg Config) (*Printer, error) {
	if cfg.Host == "" {
		cfg.Host = "localhost"
	}
	if cfg.Port == 0 {
		cfg.Port = 631
	}
	if cfg.User == "" {
		cfg.User = "kortstation"
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 5 * time.Second
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 100 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	switch {
	case cfg.Queue == "":
		return nil, errors.New("ipp: config: queue name is required")
	case strings.ContainsAny(cfg.Queue, "/#? \t"):
		return nil, fmt.Errorf("ipp: config: queue name %q has a character not allowed in a CUPS queue name", cfg.Queue)
	case cfg.Port < 1 || cfg.Port > 65535:
		return nil, fmt.Errorf("ipp: config: port %d out of range", cfg.Port)
	}
	client := &http.Client{Timeout: cfg.RequestTimeout}
	adapter := goipp.NewHttpAdapter(cfg.Host, cfg.Port, "", "", false, goipp.WithHttpClient(client))
	hostPort := fmt.Sprintf("%s:%d", cfg.Host, cfg.Port)
	if strings.Contains(cfg.Host, ":") {
		hostPort = fmt.Sprintf("[%s]:%d", cfg.Host, cfg.Port)
	}
	return &Printer{
		cfg:        cfg,
		log:        cfg.Logger.With("component", "printer-ipp", "queue", cfg.Queue),
		adapter:    adapter,
		printerURI: (&url.URL{Scheme: "ipp", Host: hostPort, Path: "/printers/" + cfg.Queue}).String(),
		httpURL:    (&url.URL{Scheme: "http", Host: hostPort, Path: "/printers/" + cfg.Queue}).String(),
	}, nil
}

// Print submits doc with Print-Job; see printer.Printer.
func (p *Printer) Print(ctx context.Context, doc printer.Document) (printer.Job, error) {
	if err := doc.Validate(); err != nil {
		return printer.Job{}, fmt.Errorf("ipp: print: %w", err)
	}
	req := p.request(goipp.OperationPrintJob)
	req.OperationAttributes[goipp.AttributeJobName] = doc.Name
	req.OperationAttributes[goipp.AttributeDocumentFormat] = "application/pdf"
	req.File = bytes.NewReader(doc.PDF)
	req.FileSize = len(doc.PDF)
	resp, err := p.send(ctx, req)
	if err != nil {
		return printer.Job{}, fmt.Errorf("ipp: print %q on %s: %w", doc.Name, p.cfg.Queue, p.classify(ctx, err, printer.ErrNoSuchPrinter))
	}
	if len(resp.JobAttributes) == 0 {
		return printer.Job{}, fmt.Errorf("ipp: print %q on %s: the server returned no job", doc.Name, p.cfg.Queue)
	}
	job, err := jobFromAttributes(resp.JobAttributes[0])
	if err != nil {
		return printer.Job{}, fmt.Errorf("ipp: print %q on %s: %w", doc.Name, p.cfg.Queue, err)
	}
	p.log.Info("job submitted", "job", job.ID, "name", doc.Name, "bytes", len(doc.PDF))
	return job, nil
}

// Job reads the job's state with Get-Job-Attributes; see printer.Printer.
func (p *Printer) Job(ctx context.Context, id printer.JobID) (printer.Job, error) {
	req := p.request(goipp.OperationGetJobAttributes)
	req.OperationAttributes[goipp.AttributeJobID] = int(id)
	req.OperationAttributes[goipp.AttributeRequestedAttributes] = []string{
		goipp.AttributeJobID, goipp.AttributeJobState, goipp.AttributeJobStateReasons,
	}
	resp, err := p.send(ctx, req)
	if err != nil {
		return printer.Job{}, fmt.Errorf("ipp: job %d on %s: %w", id, p.cfg.Queue, p.classify(ctx, err, printer.ErrNoSuchJob))
	}
	if len(resp.JobAttributes) == 0 {
		return printer.Job{}, fmt.Errorf("ipp: job %d on %s: %w", id, p.cfg.Queue, printer.ErrNoSuchJob)
	}
	job, err := jobFromAttributes(resp.JobAttributes[0])
	if err != nil {
		return printer.Job{}, fmt.Errorf("ipp: job %d on %s: %w", id, p.cfg.Queue, err)
	}
	return job, nil
}

// Wait follows the job until it is done; see printer.Printer.
func (p *Printer) Wait(ctx context.Context, id printer.JobID, update func(printer.Progress)) (printer.Job, error) {
	return printer.Follow(ctx, p, id, p.cfg.PollInterval, update)
}

// Cancel cancels a job with Cancel-Job; see printer.Printer.
func (p *Printer) Cancel(ctx context.Context, id printer.JobID) error {
	req := p.request(goipp.OperationCancelJob)
	req.OperationAttributes[goipp.AttributeJobID] = int(id)
	_, err := p.send(ctx, req)
	if err == nil {
		p.log.Info("job canceled", "job", id)
		return nil
	}
	var ippErr goipp.IPPError
	if errors.As(err, &ippErr) && ippErr.Status == goipp.StatusErrorNotPossible {
		// The job is already done: say how.
		job, jerr := p.Job(ctx, id)
		switch {
		case jerr != nil:
			return fmt.Errorf("ipp: cancel job %d on %s: %w", id, p.cfg.Queue, jerr)
		case job.State == printer.JobCompleted:
			return fmt.Errorf("ipp: cancel job %d on %s: %w", id, p.cfg.Queue, printer.ErrJobCompleted)
		case job.State.Final():
			return nil
		}
	}
	return fmt.Errorf("ipp: cancel job %d on %s: %w", id, p.cfg.Queue, p.classify(ctx, err, printer.ErrNoSuchJob))
}

// State reads the queue's state with Get-Printer-Attributes; see
// printer.Printer.
func (p *Printer) State(ctx context.Context) (printer.Status, error) {
	req := p.request(goipp.OperationGetPrinterAttributes)
	req.OperationAttributes[goipp.AttributeRequestedAttributes] = []string{
		goipp.AttributePrinterState, goipp.AttributePrinterStateReasons,
		goipp.AttributePrinterIsAcceptingJobs, goipp.AttributePrinterStateMessage,
	}
	resp, err := p.send(ctx, req)
	if err != nil {
		err = p.classify(ctx, err, printer.ErrNoSuchPrinter)
		st := printer.Status{}
		if errors.Is(err, printer.ErrUnreachable) {
			st.State = printer.StateUnreachable
		}
		return st, fmt.Errorf("ipp: state of %s: %w", p.cfg.Queue, err)
	}
	if len(resp.PrinterAttributes) == 0 {
		return printer.Status{}, fmt.Errorf("ipp: state of %s: the server returned no printer attributes", p.cfg.Queue)
	}
	attrs := resp.PrinterAttributes[0]
	state, _ := intValue(attrs, goipp.AttributePrinterState)
	accepting, _ := boolValue(attrs, goipp.AttributePrinterIsAcceptingJobs)
	reasons := keywords(attrs, goipp.AttributePrinterStateReasons)
	msg, _ := stringValue(attrs, goipp.AttributePrinterStateMessage)
	return printer.Status{
		State:     MapPrinterState(state, reasons),
		Accepting: accepting,
		Reasons:   reasons,
		Message:   msg,
	}, nil
}

// request starts a request addressed to the queue.
func (p *Printer) request(op int16) *goipp.Request {
	req := goipp.NewRequest(op, p.reqID.Add(1))
	req.OperationAttributes[goipp.AttributePrinterURI] = p.printerURI
	req.OperationAttributes[goipp.AttributeRequestingUserName] = p.cfg.User
	return req
}

// send sends req within the request timeout and ctx.
func (p *Printer) send(ctx context.Context, req *goipp.Request) (*goipp.Response, error) {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.RequestTimeout)
	defer cancel()
	return p.adapter.SendRequestContext(ctx, p.httpURL, req, nil)
}

// classify maps an error from send to the printer package's errors.
// notFound is what an IPP not-found status means for the operation.
func (p *Printer) classify(ctx context.Context, err error, notFound error) error {
	var ippErr goipp.IPPError
	var httpErr goipp.HTTPError
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("%w (%w)", ctx.Err(), err)
	case errors.As(err, &ippErr):
		switch ippErr.Status {
		case goipp.StatusErrorNotAcceptingJobs:
			return fmt.Errorf("%w: %s", printer.ErrNotAccepting, ippErr.Message)
		case goipp.StatusErrorNotFound:
			return fmt.Errorf("%w: %s", notFound, ippErr.Message)
		case goipp.StatusErrorServiceUnavailable, goipp.StatusErrorBusy, goipp.StatusErrorTemporary:
			return fmt.Errorf("%w: %s (IPP status 0x%04x)", printer.ErrUnreachable, ippErr.Message, uint16(ippErr.Status))
		}
		return fmt.Errorf("IPP status 0x%04x: %s", uint16(ippErr.Status), ippErr.Message)
	case errors.As(err, &httpErr):
		if httpErr.Code == http.StatusNotFound {
			return fmt.Errorf("%w: HTTP %d", notFound, httpErr.Code)
		}
		if httpErr.Code >= 500 {
			return fmt.Errorf("%w: HTTP %d", printer.ErrUnreachable, httpErr.Code)
		}
		return fmt.Errorf("HTTP %d from the print server", httpErr.Code)
	}
	// Transport: refused, reset, timed out, or a reply that is not IPP.
	return fmt.Errorf("%w: %w", printer.ErrUnreachable, err)
}

// MapPrinterState turns IPP printer-state (3 idle, 4 processing, 5 stopped)
// and printer-state-reasons into the station's printer state. Paper and
// connection problems come first, as they tell the operator what to do.
func MapPrinterState(state int, reasons []string) printer.State {
	has := func(bases ...string) bool {
		for _, r := range reasons {
			base := r
			for _, suffix := range []string{"-error", "-warning", "-report"} {
				base = strings.TrimSuffix(base, suffix)
			}
			for _, b := range bases {
				if base == b && !strings.HasSuffix(r, "-warning") {
					return true
				}
			}
		}
		return false
	}
	hasError := func() bool {
		for _, r := range reasons {
			if strings.HasSuffix(r, "-error") {
				return true
			}
		}
		return false
	}
	switch {
	case has("media-empty", "media-needed"):
		return printer.StateOutOfPaper
	case has("offline", "shutdown"):
		return printer.StateOffline
	case state == int(goipp.PrinterStateStopped) && has("paused"):
		return printer.StatePaused
	case state == int(goipp.PrinterStateStopped):
		return printer.StateStopped
	case hasError():
		return printer.StateError
	case state == int(goipp.PrinterStateProcessing):
		return printer.StatePrinting
	case state == int(goipp.PrinterStateIdle):
		return printer.StateReady
	}
	return printer.StateUnknown
}

// MapJobState turns IPP job-state (3..9) and job-state-reasons into the
// station's job state. CUPS leaves a job whose filter failed (e.g. a broken
// PDF) in processing-stopped with "job-completed-with-errors" for good; that
// job will not print, so it counts as aborted.
func MapJobState(state int, reasons []string) printer.JobState {
	switch int8(state) {
	case goipp.JobStatePending, goipp.JobStateHeld:
		return printer.JobPending
	case goipp.JobStateStopped:
		if slices.Contains(reasons, "job-completed-with-errors") {
			return printer.JobAborted
		}
		return printer.JobProcessing
	case goipp.JobStateProcessing:
		return printer.JobProcessing
	case goipp.JobStateCompleted:
		return printer.JobCompleted
	case goipp.JobStateAborted:
		return printer.JobAborted
	case goipp.JobStateCanceled:
		return printer.JobCanceled
	}
	return printer.JobUnknown
}

func jobFromAttributes(attrs goipp.Attributes) (printer.Job, error) {
	id, ok := intValue(attrs, goipp.AttributeJobID)
	if !ok {
		return printer.Job{}, errors.New("the server's reply has no job-id")
	}
	state, ok := intValue(attrs, goipp.AttributeJobState)
	if !ok {
		return printer.Job{}, fmt.Errorf("the server's reply for job %d has no job-state", id)
	}
	reasons := keywords(attrs, goipp.AttributeJobStateReasons)
	return printer.Job{
		ID:      printer.JobID(id),
		State:   MapJobState(state, reasons),
		Reasons: reasons,
	}, nil
}

func intValue(attrs goipp.Attributes, name string) (int, bool) {
	if v := attrs[name]; len(v) > 0 {
		i, ok := v[0].Value.(int)
		return i, ok
	}
	return 0, false
}

func boolValue(attrs goipp.Attributes, name string) (bool, bool) {
	if v := attrs[name]; len(v) > 0 {
		b, ok := v[0].Value.(bool)
		return b, ok
	}
	return false, false
}

func stringValue(attrs goipp.Attributes, name string) (string, bool) {
	if v := attrs[name]; len(v) > 0 {
		s, ok := v[0].Value.(string)
		return s, ok
	}
	return "", false
}

// keywords returns a multi-valued keyword attribute without "none".
func keywords(attrs goipp.Attributes, name string) []string {
	var out []string
	for _, a := range attrs[name] {
		if s, ok := a.Value.(string); ok && s != "" && s != "none" {
			out = append(out, s)
		}
	}
	return out
}
