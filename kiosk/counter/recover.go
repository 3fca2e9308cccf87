package counter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/kortstation/kortstation/hw/printer"
	"github.com/kortstation/kortstation/kiosk/store"
)

// Recovery is what Recover found and did at start.
type Recovery struct {
	// Sessions is how many operator sessions were left open (closed now).
	Sessions int
	// Printed: receipts whose job completed while the station was down.
	Printed int
	// Following: receipts whose job is still queued; followed again.
	Following int
	// ToReprint: receipts whose printing cannot be known to have
	// happened; they are on the list of receipts to reprint.
	ToReprint int
}

// Recover resolves every state a stopped station left in flight, before
// the counter runs: sessions that were never ended are closed and audited
// (the operator logs in again), and every receipt left pending or printing
// is settled with the printer: a job that completed makes the receipt
// printed, a job still queued is followed again, and a receipt whose job
// is unknown, failed or was never queued goes on the list of receipts to
// reprint, which the home screen shows; the operator prints the stored PDF
// from there, once. Nothing is printed unattended. The drawer's state is
// read again by its watcher as its first event (recorded, and an alarm
// when it is found open with no session, RC-7).
func (m *Counter) Recover(ctx context.Context) (Recovery, error) {
	var rec Recovery
	now := m.clock.Now()
	err := m.st.Update(ctx, m.clock, func(t *store.Tx) error {
		n, err := t.CloseInterruptedSessions(ctx, now)
		rec.Sessions = n
		return err
	})
	if err != nil {
		return rec, fmt.Errorf("recover sessions: %w", err)
	}
	prints, err := m.st.InterruptedPrints(ctx)
	if err != nil {
		return rec, fmt.Errorf("recover prints: %w", err)
	}
	for _, p := range prints {
		state, found := store.PrintFailed, "not queued"
		if p.Job != 0 && m.printer != nil {
			qctx, cancel := context.WithTimeout(ctx, printerPoll)
			job, err := m.printer.Job(qctx, printer.JobID(p.Job))
			cancel()
			switch {
			case err == nil && job.State == printer.JobCompleted:
				state, found = store.PrintPrinted, "job completed"
			case err == nil && !job.State.Final():
				// Still queued: follow it as before the restart.
				m.follow(p.ReceiptID, printer.JobID(p.Job))
				rec.Following++
				m.log.Info("receipt job still queued after restart; following it", "receipt", p.ReceiptID, "job", p.Job)
				continue
			case err == nil:
				found = "job " + job.State.String()
			case errors.Is(err, printer.ErrNoSuchJob):
				found = "job unknown to the printer"
			default:
				found = "printer not answering"
			}
		}
		if err := m.st.Update(ctx, m.clock, func(t *store.Tx) error { return t.ResolvePrint(ctx, p, state, found, m.clock.Now()) }); err != nil {
			return rec, fmt.Errorf("recover print of %s: %w", p.ReceiptID, err)
		}
		if state == store.PrintPrinted {
			rec.Printed++
		} else {
			rec.ToReprint++
			m.log.Warn("receipt print interrupted; on the list to reprint", "receipt", p.ReceiptID, "found", found)
		}
	}
	if rec != (Recovery{}) {
		m.log.Info("recovered after an unclean stop", "sessions_closed", rec.Sessions, "printed", rec.Printed,
			"following", rec.Following, "to_reprint", rec.ToReprint)
	}
	return rec, nil
}

// reprints is the list of receipts to reprint for the home screen; an
// error is logged and shows an empty list.
func (m *Counter) reprints(ctx context.Context) []store.Reprint {
	list, err := m.st.ReprintList(ctx)
	if err != nil {
		m.log.Error("read receipts to reprint", "err", err)
		return nil
	}
	return list
}

// reprintRequest prints a receipt from the list of receipts to reprint:
// the stored PDF, byte for byte (RE-3), and only while its printing has
// failed, so it prints once.
func (m *Counter) reprintRequest(ctx context.Context, _ string, payload json.RawMessage) (any, error) {
	var req struct {
		ReceiptID string `json:"receipt_id"`
	}
	if err := decode(payload, &req); err != nil {
		return nil, err
	}
	if err := m.checkDisk(ctx); err != nil {
		return nil, err
	}
	err := m.reprint(ctx, req.ReceiptID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, refuse(msg("print.no_receipt", "Kvittensen finns inte.", "There is no such receipt."))
	}
	if err != nil {
		return nil, err
	}
	m.log.Info("receipt reprinted from the list", "receipt", req.ReceiptID)
	return nil, nil
}

// logRefusal logs a refused request once, with its keys and rule IDs
// (never personal data): at WARN when it concerns the session (a wrong or
// blocked PIN, a card that failed its proof, another screen's request), a
// security signal; at INFO otherwise (a rule's refusal, a step out of
// order). An error that is not a refusal is something broken; the web
// layer logs it, once, at ERROR.
func (m *Counter) logRefusal(typ string, err error) {
	var p *Refusal
	if !errors.As(err, &p) {
		return
	}
	var rules, keys []string
	for _, ms := range p.Messages {
		keys = append(keys, ms.Key)
		if ms.Rule != "" {
			rules = append(rules, ms.Rule)
		}
	}
	level := slog.LevelInfo
	if strings.HasPrefix(typ, "session.") || slices.Contains(keys, errElsewhere.Messages[0].Key) {
		level = slog.LevelWarn
	}
	m.log.Log(context.Background(), level, "request refused", "request", typ, "rules", rules, "keys", keys)
}
