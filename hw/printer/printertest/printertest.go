// Package printertest is the contract test suite for printer.Printer. The
// same tests run against the simulator (hw/printer/sim) and the CUPS driver
// (hw/printer/ipp against a real cupsd): if the simulator passes what the
// real driver fails, the simulator is wrong.
package printertest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/kortstation/kortstation/hw/printer"
	"github.com/kortstation/kortstation/kiosk/receiptpdf"
)

// Harness connects the suite to one implementation and its controls.
type Harness struct {
	// New returns the printer under test: ready, accepting, no jobs.
	New func(t *testing.T) printer.Printer
	// Pause stops the printer so that jobs wait (cupsdisable); Resume
	// starts it again (cupsenable).
	Pause, Resume func(t *testing.T)
	// Reject makes the printer refuse new jobs (cupsreject); Accept undoes
	// it (cupsaccept).
	Reject, Accept func(t *testing.T)
	// Output returns the bytes the printer produced for the completed job
	// printed from doc, waiting for them if need be.
	Output func(t *testing.T, job printer.Job, doc printer.Document) []byte
	// JobTimeout bounds the wait for one job; default 30 s.
	JobTimeout time.Duration
}

// Run runs the contract suite. The subtests run one after the other, as
// they share the printer's queue.
func Run(t *testing.T, h Harness) {
	if h.JobTimeout == 0 {
		h.JobTimeout = 30 * time.Second
	}
	t.Run("prints a receipt and its text survives", func(t *testing.T) { testPrint(t, h) })
	t.Run("paused printer keeps the job until resumed", func(t *testing.T) { testPaused(t, h) })
	t.Run("rejecting printer refuses new jobs", func(t *testing.T) { testRejecting(t, h) })
	t.Run("invalid document is refused", func(t *testing.T) { testInvalid(t, h) })
	t.Run("broken PDF ends in a JobError and the next job prints", func(t *testing.T) { testBroken(t, h) })
	t.Run("reprint: cancel the waiting job and print the same bytes", func(t *testing.T) { testReprint(t, h) })
	t.Run("canceling a printed job says it printed", func(t *testing.T) { testCancelCompleted(t, h) })
	t.Run("unknown job", func(t *testing.T) { testUnknownJob(t, h) })
	t.Run("ended context", func(t *testing.T) { testEndedContext(t, h) })
}

func testPrint(t *testing.T, h Harness) {
	p := h.New(t)
	ctx := context.Background()
	doc := ReceiptDocument(t, receiptpdf.A4)
	var seen []printer.Progress
	job := submit(t, p, doc)
	done, err := p.Wait(timeout(t, h), job.ID, func(pr printer.Progress) { seen = append(seen, pr) })
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	if done.State != printer.JobCompleted || done.ID != job.ID {
		t.Fatalf("Wait returned job %d %s, want %d completed", done.ID, done.State, job.ID)
	}
	if len(seen) == 0 || seen[len(seen)-1].Job.State != printer.JobCompleted {
		t.Errorf("Wait's updates %v do not end with the job completed", seen)
	}
	if got, err := p.Job(ctx, job.ID); err != nil || got.State != printer.JobCompleted {
		t.Errorf("Job after Wait: %v %v, want completed", got.State, err)
	}
	AssertReceiptText(t, h.Output(t, done, doc))
	st, err := p.State(ctx)
	if err != nil {
		t.Fatalf("State: %v", err)
	}
	if !st.State.CanPrint() || !st.Accepting {
		t.Errorf("State after printing: %+v, want ready and accepting", st)
	}

	t.Run("80 mm roll", func(t *testing.T) {
		doc := ReceiptDocument(t, receiptpdf.Roll80)
		done := printWait(t, h, p, doc, "Wait")
		AssertReceiptText(t, h.Output(t, done, doc))
	})
}

func testPaused(t *testing.T, h Harness) {
	p := h.New(t)
	ctx := context.Background()
	resume := switchOff(t, h.Pause, h.Resume)
	defer resume()
	st, err := p.State(ctx)
	if err != nil {
		t.Fatalf("State: %v", err)
	}
	if st.State != printer.StatePaused || st.State.CanPrint() || !st.Accepting {
		t.Errorf("State of a paused printer: %+v, want paused, accepting", st)
	}

	doc := ReceiptDocument(t, receiptpdf.A4)
	job := submit(t, p, doc)
	var seen []printer.Progress
	wctx, cancel := context.WithTimeout(ctx, 1500*time.Millisecond)
	got, err := p.Wait(wctx, job.ID, func(pr printer.Progress) { seen = append(seen, pr) })
	cancel()
	var we *printer.WaitError
	switch {
	case err == nil:
		t.Fatalf("Wait on a paused printer returned job %s without error", got.State)
	case !errors.As(err, &we):
		t.Fatalf("Wait on a paused printer: %v, want a *printer.WaitError", err)
	case !errors.Is(err, printer.ErrPrinterStopped) || !errors.Is(err, context.DeadlineExceeded):
		t.Errorf("Wait error %v does not match ErrPrinterStopped and DeadlineExceeded", err)
	}
	if got.State != printer.JobPending {
		t.Errorf("job on a paused printer is %s, want pending", got.State)
	}
	if we != nil && we.Printer.State != printer.StatePaused {
		t.Errorf("WaitError reports the printer %s, want paused", we.Printer.State)
	}
	if len(seen) == 0 || seen[0].Printer.State != printer.StatePaused || seen[0].Job.State != printer.JobPending {
		t.Errorf("Wait's first update %v, want the job pending on a paused printer", seen)
	}
	if j, err := p.Job(ctx, job.ID); err != nil || j.State != printer.JobPending {
		t.Errorf("Job on a paused printer: %v %v, want pending: the job must stay queued", j.State, err)
	}

	resume()
	done, err := p.Wait(timeout(t, h), job.ID, nil)
	if err != nil {
		t.Fatalf("Wait after resume: %v", err)
	}
	if done.State != printer.JobCompleted {
		t.Fatalf("job after resume is %s, want completed", done.State)
	}
	AssertReceiptText(t, h.Output(t, done, doc))
}

func testRejecting(t *testing.T, h Harness) {
	p := h.New(t)
	ctx := context.Background()
	accept := switchOff(t, h.Reject, h.Accept)
	defer accept()
	st, err := p.State(ctx)
	if err != nil {
		t.Fatalf("State: %v", err)
	}
	if st.Accepting {
		t.Errorf("State of a rejecting printer: %+v, want not accepting", st)
	}
	job, err := p.Print(ctx, ReceiptDocument(t, receiptpdf.A4))
	if !errors.Is(err, printer.ErrNotAccepting) {
		t.Fatalf("Print on a rejecting printer: job %+v, err %v, want ErrNotAccepting", job, err)
	}
	accept()
	doc := ReceiptDocument(t, receiptpdf.Roll80)
	h.Output(t, printWait(t, h, p, doc, "Wait after accept"), doc)
}

func testInvalid(t *testing.T, h Harness) {
	p := h.New(t)
	ctx := context.Background()
	for name, doc := range map[string]printer.Document{
		"empty":       {Name: "receipt-empty", PDF: nil},
		"not a PDF":   {Name: "receipt-text", PDF: []byte("Kvittens")},
		"unnamed PDF": {Name: " ", PDF: []byte("%PDF-1.3\n%%EOF\n")},
	} {
		if job, err := p.Print(ctx, doc); !errors.Is(err, printer.ErrInvalidDocument) {
			t.Errorf("Print(%s): job %+v, err %v, want ErrInvalidDocument", name, job, err)
		}
	}
}

// BrokenPDF starts like a PDF but is not one: the printer takes it and
// fails to print it.
const BrokenPDF = "%PDF-1.4\nthis is not really a PDF\n%%EOF\n"

func testBroken(t *testing.T, h Harness) {
	p := h.New(t)
	bad := submit(t, p, printer.Document{Name: "broken-" + Token(), PDF: []byte(BrokenPDF)})
	got, err := p.Wait(timeout(t, h), bad.ID, nil)
	var je *printer.JobError
	if !errors.As(err, &je) || je.State != printer.JobAborted || je.ID != bad.ID || got.State != printer.JobAborted {
		t.Fatalf("Wait on a broken PDF: job %s, %v; want a *JobError with state aborted", got.State, err)
	}
	doc := ReceiptDocument(t, receiptpdf.Roll80)
	AssertReceiptText(t, h.Output(t, printWait(t, h, p, doc, "Wait on the next job"), doc))
}

func testReprint(t *testing.T, h Harness) {
	p := h.New(t)
	ctx := context.Background()
	resume := switchOff(t, h.Pause, h.Resume)
	defer resume()
	doc := ReceiptDocument(t, receiptpdf.A4)
	first := submit(t, p, doc)
	if err := p.Cancel(ctx, first.ID); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	if err := p.Cancel(ctx, first.ID); err != nil {
		t.Errorf("Cancel of a canceled job: %v, want nil", err)
	}
	got, err := p.Wait(timeout(t, h), first.ID, nil)
	var je *printer.JobError
	if !errors.As(err, &je) || je.State != printer.JobCanceled || got.State != printer.JobCanceled {
		t.Fatalf("Wait on a canceled job: %s, %v; want a *JobError with state canceled", got.State, err)
	}
	resume()

	second := submit(t, p, doc) // the same bytes again
	if second.ID == first.ID {
		t.Errorf("reprint got the old job's ID %d", first.ID)
	}
	done, err := p.Wait(timeout(t, h), second.ID, nil)
	if err != nil {
		t.Fatalf("Wait on the reprint: %v", err)
	}
	AssertReceiptText(t, h.Output(t, done, doc))
}

func testCancelCompleted(t *testing.T, h Harness) {
	p := h.New(t)
	doc := ReceiptDocument(t, receiptpdf.Roll80)
	job := printWait(t, h, p, doc, "Wait")
	h.Output(t, job, doc)
	if err := p.Cancel(context.Background(), job.ID); !errors.Is(err, printer.ErrJobCompleted) {
		t.Errorf("Cancel of a printed job: %v, want ErrJobCompleted", err)
	}
}

func testUnknownJob(t *testing.T, h Harness) {
	p := h.New(t)
	ctx := context.Background()
	const id = printer.JobID(987654)
	if j, err := p.Job(ctx, id); !errors.Is(err, printer.ErrNoSuchJob) {
		t.Errorf("Job(%d): %+v, %v, want ErrNoSuchJob", id, j, err)
	}
	if err := p.Cancel(ctx, id); !errors.Is(err, printer.ErrNoSuchJob) {
		t.Errorf("Cancel(%d): %v, want ErrNoSuchJob", id, err)
	}
	if _, err := p.Wait(timeout(t, h), id, nil); !errors.Is(err, printer.ErrNoSuchJob) {
		t.Errorf("Wait(%d): %v, want ErrNoSuchJob", id, err)
	}
}

func testEndedContext(t *testing.T, h Harness) {
	p := h.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if job, err := p.Print(ctx, ReceiptDocument(t, receiptpdf.A4)); !errors.Is(err, context.Canceled) {
		t.Errorf("Print with a canceled context: %+v, %v, want context.Canceled", job, err)
	}
	if _, err := p.State(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("State with a canceled context: %v, want context.Canceled", err)
	}
}

func submit(t *testing.T, p printer.Printer, doc printer.Document) printer.Job {
	t.Helper()
	job, err := p.Print(context.Background(), doc)
	if err != nil {
		t.Fatalf("Print(%s): %v", doc.Name, err)
	}
	if job.ID == 0 || job.State.Final() && job.State != printer.JobCompleted {
		t.Fatalf("Print(%s) returned job %+v", doc.Name, job)
	}
	return job
}

// printWait prints doc and waits for the job to complete; what names the
// wait when it fails.
func printWait(t *testing.T, h Harness, p printer.Printer, doc printer.Document, what string) printer.Job {
	t.Helper()
	job := submit(t, p, doc)
	done, err := p.Wait(timeout(t, h), job.ID, nil)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return done
}

// switchOff runs off (Pause, Reject) and returns the undo, which runs on
// (Resume, Accept) once however often it is called: the test calls it
// to switch the printer back on and defers it, so that a test that stops
// early leaves the printer as it found it.
func switchOff(t *testing.T, off, on func(*testing.T)) (undo func()) {
	t.Helper()
	off(t)
	done := false
	return func() {
		if !done {
			done = true
			on(t)
		}
	}
}

func timeout(t *testing.T, h Harness) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), h.JobTimeout)
	t.Cleanup(cancel)
	return ctx
}

// Token returns a random lower-case token that survives cups-pdf's file
// naming, to find a job's output.
func Token() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// SampleReceipt is a receipt with Swedish letters in every part, for print
// tests.
func SampleReceipt(id string) receiptpdf.Receipt {
	cet := time.FixedZone("CET", 3600)
	return receiptpdf.Receipt{
		ID:        id,
		Recipient: receiptpdf.Recipient{Name: "Åsa Öberg", PersonalNumber: "19811218-9876"},
		Card: receiptpdf.Card{
			Number: "9752270000012345", Type: receiptpdf.CardReserve,
			ValidFrom:  time.Date(2026, 3, 2, 0, 0, 0, 0, cet),
			ValidUntil: time.Date(2026, 3, 11, 0, 0, 0, 0, cet),
		},
		Reason:        receiptpdf.ReasonForgotten,
		IDDocument:    &receiptpdf.IDDocument{Type: receiptpdf.DocPassport, Number: "AA1234567", Expiry: time.Date(2030, 1, 31, 0, 0, 0, 0, cet)},
		Administrator: receiptpdf.Person{Name: "Göran Källström", HSAID: "SE2321000131-P000000012345"},
		Station:       receiptpdf.Station{Name: "Kortstation Växjö", Location: "Entréplan"},
		IssuedAt:      time.Date(2026, 3, 2, 9, 41, 0, 0, cet),
		Signatures: []receiptpdf.Signature{{
			Role: receiptpdf.RoleRecipient, Name: "Åsa Öberg", AspectRatio: 3,
			Strokes: [][]receiptpdf.Point{{{X: 0.1, Y: 0.5}, {X: 0.3, Y: 0.2}, {X: 0.5, Y: 0.7}, {X: 0.9, Y: 0.4}}},
		}},
	}
}

// ReceiptDocument renders SampleReceipt with a fresh token as the receipt
// ID and returns it as a document named after the token.
func ReceiptDocument(tb testing.TB, f receiptpdf.Format) printer.Document {
	tb.Helper()
	token := Token()
	pdf, err := receiptpdf.RenderReceipt(SampleReceipt("KV-"+token), f)
	if err != nil {
		tb.Fatalf("rendering the sample receipt: %v", err)
	}
	return printer.Document{Name: "receipt-" + token, PDF: pdf}
}

// AssertReceiptText checks that a printed SampleReceipt reads right.
func AssertReceiptText(t *testing.T, pdf []byte) {
	t.Helper()
	text := PDFText(t, pdf)
	for _, want := range []string{"Kvittens – utlämnat reservkort", "Åsa Öberg", "19811218-9876", "9752270000012345", "Glömt kort", "Göran Källström", "Kortstation Växjö", "Entréplan"} {
		if !strings.Contains(text, want) {
			t.Errorf("printed text lacks %q\ntext: %s", want, text)
		}
	}
}

// PDFText extracts the text of a PDF with poppler's pdftotext, runs of white
// space collapsed to one space. A missing pdftotext fails the test.
func PDFText(t *testing.T, pdf []byte) string {
	t.Helper()
	if _, lookErr := exec.LookPath("pdftotext"); lookErr != nil {
		t.Fatalf("pdftotext not found (%v): install with: apt-get install -y poppler-utils", lookErr)
	}
	cmd := exec.Command("pdftotext", "-enc", "UTF-8", "-", "-")
	cmd.Stdin = bytes.NewReader(pdf)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pdftotext: %v: %s", err, stderr.String())
	}
	return strings.Join(strings.Fields(string(out)), " ")
}
