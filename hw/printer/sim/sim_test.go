package sim_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kortstation/kortstation/hw/printer"
	"github.com/kortstation/kortstation/hw/printer/printertest"
	"github.com/kortstation/kortstation/hw/printer/sim"
	"github.com/kortstation/kortstation/kiosk/receiptpdf"
)

func newSim(t *testing.T, opts sim.Options) *sim.Printer {
	t.Helper()
	opts.Logger = slog.New(slog.DiscardHandler)
	p := sim.New(opts)
	t.Cleanup(func() { p.Close() })
	return p
}

func TestContract(t *testing.T) {
	var p *sim.Printer
	printertest.Run(t, printertest.Harness{
		New: func(t *testing.T) printer.Printer {
			p = newSim(t, sim.Options{PrintTime: 20 * time.Millisecond})
			return p
		},
		Pause:  func(*testing.T) { p.SetPaused(true) },
		Resume: func(*testing.T) { p.SetPaused(false) },
		Reject: func(*testing.T) { p.SetRejecting(true) },
		Accept: func(*testing.T) { p.SetRejecting(false) },
		Output: func(t *testing.T, job printer.Job, doc printer.Document) []byte {
			for _, po := range p.Printed() {
				if po.Job == job.ID {
					if po.Name != doc.Name {
						t.Errorf("printout of job %d is named %q, want %q", job.ID, po.Name, doc.Name)
					}
					return po.PDF
				}
			}
			t.Fatalf("no printout for job %d", job.ID)
			return nil
		},
		JobTimeout: 5 * time.Second,
	})
}

func TestOutOfPaperAndOffline(t *testing.T) {
	for _, c := range []struct {
		name  string
		set   func(p *sim.Printer, on bool)
		state printer.State
	}{
		{"out of paper", (*sim.Printer).SetOutOfPaper, printer.StateOutOfPaper},
		{"offline", (*sim.Printer).SetOffline, printer.StateOffline},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := newSim(t, sim.Options{PrintTime: 10 * time.Millisecond})
			ctx := context.Background()
			c.set(p, true)
			st, err := p.State(ctx)
			if err != nil || st.State != c.state || !st.Accepting {
				t.Fatalf("State: %+v, %v; want %s and accepting", st, err, c.state)
			}
			doc := printertest.ReceiptDocument(t, receiptpdf.Roll80)
			job, err := p.Print(ctx, doc)
			if err != nil {
				t.Fatalf("Print: %v", err)
			}
			wctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
			defer cancel()
			_, err = p.Wait(wctx, job.ID, nil)
			var we *printer.WaitError
			if !errors.As(err, &we) || we.Printer.State != c.state || !errors.Is(err, printer.ErrPrinterStopped) {
				t.Fatalf("Wait: %v; want a WaitError with the printer %s", err, c.state)
			}
			c.set(p, false)
			wctx2, cancel2 := context.WithTimeout(ctx, 5*time.Second)
			defer cancel2()
			if _, err := p.Wait(wctx2, job.ID, nil); err != nil {
				t.Fatalf("Wait after the printer is back: %v", err)
			}
			if got := p.Printed(); len(got) != 1 || !bytes.Equal(got[0].PDF, doc.PDF) {
				t.Errorf("printed %d documents, want the one queued", len(got))
			}
		})
	}
}

func TestStopWhilePrintingRequeues(t *testing.T) {
	p := newSim(t, sim.Options{PrintTime: 300 * time.Millisecond})
	ctx := context.Background()
	job, err := p.Print(ctx, printertest.ReceiptDocument(t, receiptpdf.A4))
	if err != nil {
		t.Fatal(err)
	}
	if j, _ := p.Job(ctx, job.ID); j.State != printer.JobProcessing {
		t.Fatalf("job is %s, want processing", j.State)
	}
	p.SetOutOfPaper(true)
	if j, _ := p.Job(ctx, job.ID); j.State != printer.JobPending {
		t.Errorf("job after the paper ran out is %s, want pending again", j.State)
	}
	p.SetOutOfPaper(false)
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := p.Wait(wctx, job.ID, nil); err != nil {
		t.Fatalf("Wait: %v", err)
	}
}

func TestAbortedJob(t *testing.T) {
	p := newSim(t, sim.Options{PrintTime: 10 * time.Millisecond})
	ctx := context.Background()
	p.AbortNext("")
	job, err := p.Print(ctx, printertest.ReceiptDocument(t, receiptpdf.A4))
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	got, err := p.Wait(wctx, job.ID, nil)
	var je *printer.JobError
	if !errors.As(err, &je) || je.State != printer.JobAborted || got.State != printer.JobAborted {
		t.Fatalf("Wait: %s, %v; want a JobError with state aborted", got.State, err)
	}
	if len(je.Reasons) != 1 || je.Reasons[0] != "aborted-by-system" {
		t.Errorf("reasons %v, want [aborted-by-system]", je.Reasons)
	}
	if n := len(p.Printed()); n != 0 {
		t.Errorf("an aborted job left %d printouts", n)
	}
}

func TestUnreachable(t *testing.T) {
	p := newSim(t, sim.Options{PrintTime: 10 * time.Millisecond})
	ctx := context.Background()
	p.SetPaused(true)
	job, err := p.Print(ctx, printertest.ReceiptDocument(t, receiptpdf.A4))
	if err != nil {
		t.Fatal(err)
	}
	p.SetUnreachable(true)
	if _, err := p.Print(ctx, printertest.ReceiptDocument(t, receiptpdf.A4)); !errors.Is(err, printer.ErrUnreachable) {
		t.Errorf("Print on an unreachable printer: %v, want ErrUnreachable", err)
	}
	if _, err := p.State(ctx); !errors.Is(err, printer.ErrUnreachable) {
		t.Errorf("State of an unreachable printer: %v, want ErrUnreachable", err)
	}
	// Wait rides out the outage and sees the job through.
	updates := make(chan printer.Progress, 100)
	done := make(chan error, 1)
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	go func() {
		_, err := p.Wait(wctx, job.ID, func(pr printer.Progress) { updates <- pr })
		done <- err
	}()
	if pr := <-updates; pr.Printer.State != printer.StateUnreachable {
		t.Errorf("first update: printer %s, want unreachable", pr.Printer.State)
	}
	p.SetUnreachable(false)
	p.SetPaused(false)
	if err := <-done; err != nil {
		t.Fatalf("Wait across the outage: %v", err)
	}
}

func TestWritesPrintoutsToDir(t *testing.T) {
	dir := t.TempDir()
	p := newSim(t, sim.Options{PrintTime: 5 * time.Millisecond, Dir: dir})
	ctx := context.Background()
	doc := printertest.ReceiptDocument(t, receiptpdf.Roll80)
	job, err := p.Print(ctx, doc)
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := p.Wait(wctx, job.ID, nil); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "job-000001.pdf"))
	if err != nil {
		t.Fatalf("printout file: %v", err)
	}
	if !bytes.Equal(b, doc.PDF) {
		t.Error("the printout file differs from the document")
	}
	printertest.AssertReceiptText(t, b)
}
