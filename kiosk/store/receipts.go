package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ReceiptExists reports whether a receipt with id is stored (RE-3: a
// receipt ID is never reused).
func (s *Store) ReceiptExists(ctx context.Context, id string) (bool, error) {
	var n int
	if err := s.reader.QueryRowContext(ctx, `SELECT count(*) FROM receipts WHERE id = ?`, id).Scan(&n); err != nil {
		return false, fmt.Errorf("check receipt id: %w", err)
	}
	return n > 0, nil
}

// Print states of a receipt.
const (
	PrintPending  = "pending"
	PrintPrinting = "printing"
	PrintPrinted  = "printed"
	PrintFailed   = "failed"
)

// StoredReceipt is a sealed receipt's PDF and print state.
type StoredReceipt struct {
	ID         string
	PDF        []byte
	PrintState string
}

// Receipt reads a stored receipt's PDF and print state; ErrNotFound when
// there is none.
func (s *Store) Receipt(ctx context.Context, id string) (StoredReceipt, error) {
	r := StoredReceipt{ID: id}
	err := s.reader.QueryRowContext(ctx, `SELECT pdf, print_state FROM receipts WHERE id = ?`, id).Scan(&r.PDF, &r.PrintState)
	if errors.Is(err, sql.ErrNoRows) {
		return r, ErrNotFound
	}
	if err != nil {
		return r, fmt.Errorf("read receipt: %w", err)
	}
	return r, nil
}

// PrintState is a receipt's print state; ErrNotFound when there is none.
func (s *Store) PrintState(ctx context.Context, id string) (string, error) {
	var st string
	err := s.reader.QueryRowContext(ctx, `SELECT print_state FROM receipts WHERE id = ?`, id).Scan(&st)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("read print state: %w", err)
	}
	return st, nil
}

// SetPrintState records how printing a receipt went; printed also stamps
// printed_at. The receipt itself never changes (RE-3).
func (t *Tx) SetPrintState(ctx context.Context, id, state string, at time.Time) error {
	var printedAt any
	if state == PrintPrinted {
		printedAt = ts(at)
	}
	if _, err := t.tx.ExecContext(ctx, `UPDATE receipts SET print_state = ?, printed_at = coalesce(?, printed_at) WHERE id = ?`, state, printedAt, id); err != nil {
		return fmt.Errorf("set print state: %w", err)
	}
	return nil
}
