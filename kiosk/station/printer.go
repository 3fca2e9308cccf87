package station

import (
	"context"
	"errors"
	"time"

	"github.com/kortstation/kortstation/hw/printer"
)

// printerPoll is how often the printer's state is asked: IPP has no push
// notifications that CUPS keeps without subscriptions, and a two-second view
// is what the status screen needs.
const printerPoll = 2 * time.Second

// RunPrinter keeps the printer's state on the status screen current until
// ctx ends.
func (s *Station) RunPrinter(ctx context.Context, p printer.Printer) error {
	t := time.NewTicker(printerPoll)
	defer t.Stop()
	for {
		s.pollPrinter(ctx, p)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (s *Station) pollPrinter(ctx context.Context, p printer.Printer) {
	qctx, cancel := context.WithTimeout(ctx, printerPoll)
	defer cancel()
	st, err := p.State(qctx)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return
		}
		s.SetDevice("printer", printer.StateUnreachable.String(), "", s.clock.Now())
		return
	}
	detail := st.Message
	if !st.Accepting {
		detail = "not accepting jobs"
	}
	s.SetDevice("printer", st.State.String(), detail, s.clock.Now())
}
