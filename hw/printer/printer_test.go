package printer

import (
	"context"
	"errors"
	"testing"
)

func TestDocumentValidate(t *testing.T) {
	for _, c := range []struct {
		name string
		doc  Document
		ok   bool
	}{
		{"PDF", Document{Name: "receipt KV-1", PDF: []byte("%PDF-1.3\n")}, true},
		{"no name", Document{PDF: []byte("%PDF-1.3\n")}, false},
		{"no bytes", Document{Name: "receipt KV-1"}, false},
		{"short", Document{Name: "receipt KV-1", PDF: []byte("%P")}, false},
		{"PostScript", Document{Name: "receipt KV-1", PDF: []byte("%!PS-Adobe-3.0\n")}, false},
	} {
		err := c.doc.Validate()
		if c.ok && err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
		if !c.ok && !errors.Is(err, ErrInvalidDocument) {
			t.Errorf("%s: %v, want ErrInvalidDocument", c.name, err)
		}
	}
}

func TestWaitErrorMatchesPrinterCondition(t *testing.T) {
	for _, c := range []struct {
		state                State
		stopped, unreachable bool
	}{
		{StateReady, false, false},
		{StatePrinting, false, false},
		{StatePaused, true, false},
		{StateStopped, true, false},
		{StateOffline, true, false},
		{StateOutOfPaper, true, false},
		{StateError, true, false},
		{StateUnreachable, false, true},
		{StateUnknown, false, false},
	} {
		err := error(&WaitError{Job: Job{ID: 7, State: JobPending}, Printer: Status{State: c.state}, Err: context.DeadlineExceeded})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s: %v does not match the context error", c.state, err)
		}
		if got := errors.Is(err, ErrPrinterStopped); got != c.stopped {
			t.Errorf("%s: errors.Is(ErrPrinterStopped) = %v, want %v", c.state, got, c.stopped)
		}
		if got := errors.Is(err, ErrUnreachable); got != c.unreachable {
			t.Errorf("%s: errors.Is(ErrUnreachable) = %v, want %v", c.state, got, c.unreachable)
		}
	}
}

func TestStateNames(t *testing.T) {
	if s := StateOutOfPaper.String(); s != "out-of-paper" {
		t.Errorf("StateOutOfPaper = %q", s)
	}
	if s := JobCanceled.String(); s != "canceled" {
		t.Errorf("JobCanceled = %q", s)
	}
	if s := State(42).String(); s != "State(42)" {
		t.Errorf("State(42) = %q", s)
	}
}
