package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/kortstation/kortstation/kiosk/audit"
)

// SetPrinting records that a receipt was queued on the printer as job: a
// station restarted while it printed asks the printer about that job
// instead of printing the receipt twice.
func (t *Tx) SetPrinting(ctx context.Context, id string, job int) error {
	if _, err := t.tx.ExecContext(ctx, `UPDATE receipts SET print_state = 'printing', print_job = ? WHERE id = ?`, job, id); err != nil {
		return fmt.Errorf("set printing: %w", err)
	}
	return nil
}

// InterruptedPrint is a receipt whose printing had not ended when the
// station stopped: print state pending or printing, with the printer's job
// ID when it was queued (0 when not known).
type InterruptedPrint struct {
	ReceiptID string
	State     string
	Job       int
}

// InterruptedPrints lists the receipts left pending or printing, oldest
// first.
func (s *Store) InterruptedPrints(ctx context.Context) ([]InterruptedPrint, error) {
	rows, err := s.reader.QueryContext(ctx, `SELECT id, print_state, coalesce(print_job, 0) FROM receipts
		WHERE print_state IN ('pending', 'printing') AND redacted_at IS NULL ORDER BY signed_at, id`)
	if err != nil {
		return nil, fmt.Errorf("read interrupted prints: %w", err)
	}
	defer rows.Close()
	var out []InterruptedPrint
	for rows.Next() {
		var p InterruptedPrint
		if err := rows.Scan(&p.ReceiptID, &p.State, &p.Job); err != nil {
			return nil, fmt.Errorf("read interrupted prints: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// ResolvePrint settles an interrupted receipt's print state at start
// (printed when the printer says the job completed, failed when it cannot
// be known to have printed: the receipt goes on the list of receipts to
// reprint) with an audit entry saying what was found.
func (t *Tx) ResolvePrint(ctx context.Context, p InterruptedPrint, state, found string, at time.Time) error {
	if err := t.SetPrintState(ctx, p.ReceiptID, state, at); err != nil {
		return err
	}
	_, err := t.Audit(ctx, audit.Entry{Kind: "receipt.print_recovered", Actor: "station", Subject: p.ReceiptID,
		Detail: map[string]any{"was": p.State, "job": p.Job, "found": found, "now": state}})
	return err
}

// Reprint is a receipt on the list of receipts to reprint: its printing
// failed or was interrupted. No personal data: the receipt's ID, the card
// number, the kind of record and when it was signed.
type Reprint struct {
	ReceiptID string    `json:"receipt_id"`
	Card      string    `json:"card"`
	Kind      string    `json:"kind"`
	SignedAt  time.Time `json:"signed_at"`
}

// ReprintList lists the receipts whose printing failed (or was
// interrupted by a restart) and that can still be printed, oldest first.
func (s *Store) ReprintList(ctx context.Context) ([]Reprint, error) {
	rows, err := s.reader.QueryContext(ctx, `SELECT r.id, i.card_serial, i.kind, r.signed_at FROM receipts r JOIN issuances i ON i.id = r.issuance_id
		WHERE r.print_state = 'failed' AND r.redacted_at IS NULL ORDER BY r.signed_at, r.id`)
	if err != nil {
		return nil, fmt.Errorf("read reprint list: %w", err)
	}
	defer rows.Close()
	var out []Reprint
	for rows.Next() {
		var r Reprint
		var at string
		if err := rows.Scan(&r.ReceiptID, &r.Card, &r.Kind, &at); err != nil {
			return nil, fmt.Errorf("read reprint list: %w", err)
		}
		if r.SignedAt, err = time.Parse(time.RFC3339Nano, at); err != nil {
			return nil, fmt.Errorf("reprint list: receipt %s: bad time: %w", r.ReceiptID, err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// CloseInterruptedSessions ends every operator session the station did
// not end before it stopped (a crash, a power cut): end reason shutdown,
// at the restart, each with a session.interrupted audit entry. It returns
// how many it closed.
func (t *Tx) CloseInterruptedSessions(ctx context.Context, at time.Time) (int, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT id, operator, started_at FROM operator_sessions WHERE ended_at IS NULL ORDER BY started_at, id`)
	if err != nil {
		return 0, fmt.Errorf("read open sessions: %w", err)
	}
	type open struct{ id, op, started string }
	var sessions []open
	for rows.Next() {
		var o open
		if err := rows.Scan(&o.id, &o.op, &o.started); err != nil {
			rows.Close()
			return 0, fmt.Errorf("read open sessions: %w", err)
		}
		sessions = append(sessions, o)
	}
	if err := closeRows(rows); err != nil {
		return 0, fmt.Errorf("read open sessions: %w", err)
	}
	for _, o := range sessions {
		if _, err := t.tx.ExecContext(ctx, `UPDATE operator_sessions SET ended_at = ?, end_reason = 'shutdown' WHERE id = ? AND ended_at IS NULL`, ts(at), o.id); err != nil {
			return 0, fmt.Errorf("end interrupted session: %w", err)
		}
		if _, err := t.Audit(ctx, audit.Entry{Kind: "session.interrupted", Actor: o.op, Subject: o.id,
			Detail: map[string]any{"started_at": o.started, "reason": "station stopped without ending the session"}}); err != nil {
			return 0, err
		}
	}
	return len(sessions), nil
}

func closeRows(rows *sql.Rows) error {
	err := rows.Err()
	if cerr := rows.Close(); err == nil {
		err = cerr
	}
	return err
}
