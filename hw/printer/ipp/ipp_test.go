package ipp_test

// All tests that use cupsd are in this package: go test runs packages in
// parallel, and they would share the queue.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kortstation/kortstation/hw/printer"
	"github.com/kortstation/kortstation/hw/printer/cupstest"
	"github.com/kortstation/kortstation/hw/printer/ipp"
	"github.com/kortstation/kortstation/hw/printer/printertest"
	"github.com/kortstation/kortstation/kiosk/receiptpdf"
)

const queue = "kortstation-test"

// cups is the real cupsd with a cups-pdf queue, set up by TestMain.
var cups *cupstest.Server

func TestMain(m *testing.M) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	s, err := cupstest.Start(ctx, queue)
	cancel()
	if err != nil {
		// Never skip: a machine without CUPS fails, and says how to fix it.
		fmt.Fprintf(os.Stderr, "FAIL: the printer tests need a real cupsd with a cups-pdf queue: %v\n", err)
		os.Exit(1)
	}
	cups = s
	code := m.Run()
	if err := s.Close(); err != nil {
		fmt.Fprintf(os.Stderr, "stopping cupsd: %v\n", err)
		code = 1
	}
	os.Exit(code)
}

func newDriver(tb testing.TB, cfg ipp.Config) *ipp.Printer {
	tb.Helper()
	if cfg.Queue == "" {
		cfg.Queue = queue
	}
	if cfg.User == "" {
		cfg.User = cupstest.User
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 25 * time.Millisecond
	}
	cfg.Logger = slog.New(slog.DiscardHandler)
	p, err := ipp.New(cfg)
	if err != nil {
		tb.Fatalf("ipp.New: %v", err)
	}
	return p
}

func ctl(t *testing.T, f func(context.Context) error) {
	t.Helper()
	if err := f(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// recorder notes the IDs of the jobs it prints.
type recorder struct {
	printer.Printer
	mu  *sync.Mutex
	ids *[]int
}

func (r recorder) Print(ctx context.Context, doc printer.Document) (printer.Job, error) {
	job, err := r.Printer.Print(ctx, doc)
	if err == nil {
		r.mu.Lock()
		*r.ids = append(*r.ids, int(job.ID))
		r.mu.Unlock()
	}
	return job, err
}

func TestContract(t *testing.T) {
	var (
		mu  sync.Mutex
		ids []int
	)
	t.Cleanup(func() {
		// Outputs no test took, e.g. of the broken PDF.
		time.Sleep(200 * time.Millisecond)
		if err := cups.RemoveJobOutputs(ids...); err != nil {
			t.Errorf("removing outputs: %v", err)
		}
	})
	printertest.Run(t, printertest.Harness{
		New: func(t *testing.T) printer.Printer {
			ctl(t, cups.Reset)
			return recorder{Printer: newDriver(t, ipp.Config{}), mu: &mu, ids: &ids}
		},
		Pause:  func(t *testing.T) { ctl(t, cups.Disable) },
		Resume: func(t *testing.T) { ctl(t, cups.Enable) },
		Reject: func(t *testing.T) { ctl(t, cups.Reject) },
		Accept: func(t *testing.T) { ctl(t, cups.Accept) },
		Output: func(t *testing.T, job printer.Job, doc printer.Document) []byte {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			b, err := cups.TakeOutput(ctx, strings.TrimPrefix(doc.Name, "receipt-"))
			if err != nil {
				t.Fatalf("cups-pdf output of job %d: %v", job.ID, err)
			}
			return b
		},
	})
}

func TestNoSuchQueue(t *testing.T) {
	p := newDriver(t, ipp.Config{Queue: "kortstation-no-such-queue"})
	ctx := context.Background()
	if _, err := p.State(ctx); !errors.Is(err, printer.ErrNoSuchPrinter) {
		t.Errorf("State: %v, want ErrNoSuchPrinter", err)
	}
	if _, err := p.Print(ctx, printertest.ReceiptDocument(t, receiptpdf.A4)); !errors.Is(err, printer.ErrNoSuchPrinter) {
		t.Errorf("Print: %v, want ErrNoSuchPrinter", err)
	}
}

func TestUnreachable(t *testing.T) {
	// A port where nothing listens.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := l.Addr().(*net.TCPAddr).Port
	l.Close()

	// A server that takes the connection and never answers.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()

	for _, c := range []struct {
		name string
		port int
	}{
		{"connection refused", closedPort},
		{"no answer within the request timeout", silent.Addr().(*net.TCPAddr).Port},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := newDriver(t, ipp.Config{Host: "127.0.0.1", Port: c.port, RequestTimeout: 300 * time.Millisecond})
			ctx := context.Background()
			start := time.Now()
			st, err := p.State(ctx)
			if !errors.Is(err, printer.ErrUnreachable) || st.State != printer.StateUnreachable {
				t.Errorf("State: %+v, %v; want StateUnreachable and ErrUnreachable", st, err)
			}
			if _, err := p.Print(ctx, printertest.ReceiptDocument(t, receiptpdf.A4)); !errors.Is(err, printer.ErrUnreachable) {
				t.Errorf("Print: %v, want ErrUnreachable", err)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("two calls took %v; the request timeout is 300 ms", d)
			}
			// Wait keeps trying while unreachable, and ends with ctx.
			wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			_, err = p.Wait(wctx, 1, nil)
			if !errors.Is(err, printer.ErrUnreachable) || !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Wait: %v, want ErrUnreachable and DeadlineExceeded", err)
			}
		})
	}
}

func TestCallerContextBoundsRequests(t *testing.T) {
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	p := newDriver(t, ipp.Config{Host: "127.0.0.1", Port: silent.Addr().(*net.TCPAddr).Port, RequestTimeout: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = p.Print(ctx, printertest.ReceiptDocument(t, receiptpdf.A4))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Print: %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Print returned after %v; its context ended after 200 ms", d)
	}
}

func TestConfigRefused(t *testing.T) {
	for name, cfg := range map[string]ipp.Config{
		"no queue":        {},
		"slash in queue":  {Queue: "a/b"},
		"port out of use": {Queue: "PDF", Port: 70000},
	} {
		if _, err := ipp.New(cfg); err == nil {
			t.Errorf("%s: New accepted %+v", name, cfg)
		}
	}
}

func TestMapPrinterState(t *testing.T) {
	for _, c := range []struct {
		state   int
		reasons []string
		want    printer.State
	}{
		{3, nil, printer.StateReady},
		{4, nil, printer.StatePrinting},
		{5, []string{"paused"}, printer.StatePaused},
		{5, nil, printer.StateStopped},
		{5, []string{"other"}, printer.StateStopped},
		{3, []string{"media-empty-error"}, printer.StateOutOfPaper},
		{5, []string{"paused", "media-empty"}, printer.StateOutOfPaper},
		{4, []string{"media-needed-report"}, printer.StateOutOfPaper},
		{3, []string{"media-empty-warning"}, printer.StateReady},
		{3, []string{"offline-report"}, printer.StateOffline},
		{5, []string{"shutdown"}, printer.StateOffline},
		{3, []string{"media-jam-error"}, printer.StateError},
		{4, []string{"toner-low-warning"}, printer.StatePrinting},
		{9, nil, printer.StateUnknown},
	} {
		if got := ipp.MapPrinterState(c.state, c.reasons); got != c.want {
			t.Errorf("MapPrinterState(%d, %v) = %s, want %s", c.state, c.reasons, got, c.want)
		}
	}
}

func TestMapJobState(t *testing.T) {
	want := map[int]printer.JobState{
		3: printer.JobPending, 4: printer.JobPending, 5: printer.JobProcessing, 6: printer.JobProcessing,
		7: printer.JobCanceled, 8: printer.JobAborted, 9: printer.JobCompleted, 2: printer.JobUnknown,
	}
	for s, w := range want {
		if got := ipp.MapJobState(s, []string{"job-printing"}); got != w {
			t.Errorf("MapJobState(%d) = %s, want %s", s, got, w)
		}
	}
	if got := ipp.MapJobState(6, []string{"job-completed-with-errors"}); got != printer.JobAborted {
		t.Errorf("MapJobState(processing-stopped, job-completed-with-errors) = %s, want aborted", got)
	}
}

// BenchmarkPrintReceipt measures one receipt from Print-Job submission to
// the job completed in a real cupsd with cups-pdf. Besides ns/op it reports
// the medians: submit-ms (Print returns) and completed-ms (Wait returns).
func BenchmarkPrintReceipt(b *testing.B) {
	ctx := context.Background()
	if err := cups.Reset(ctx); err != nil {
		b.Fatal(err)
	}
	p := newDriver(b, ipp.Config{PollInterval: 10 * time.Millisecond})
	var submit, complete []time.Duration
	for b.Loop() {
		b.StopTimer()
		doc := printertest.ReceiptDocument(b, receiptpdf.A4)
		b.StartTimer()
		start := time.Now()
		job, err := p.Print(ctx, doc)
		if err != nil {
			b.Fatal(err)
		}
		submit = append(submit, time.Since(start))
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		_, err = p.Wait(wctx, job.ID, nil)
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		complete = append(complete, time.Since(start))
		b.StopTimer()
		octx, ocancel := context.WithTimeout(ctx, 30*time.Second)
		if _, err := cups.TakeOutput(octx, strings.TrimPrefix(doc.Name, "receipt-")); err != nil {
			b.Fatal(err)
		}
		ocancel()
		b.StartTimer()
	}
	b.ReportMetric(median(submit), "submit-ms")
	b.ReportMetric(median(complete), "completed-ms")
}

func median(d []time.Duration) float64 {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return float64(s[len(s)/2]) / float64(time.Millisecond)
}
