package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/kortstation/kortstation/kiosk/clock"
)

// ErrNotFound is returned by a read for a row that does not exist.
var ErrNotFound = errors.New("store: not found")

// Tx is one write transaction on the station database. Its record methods
// write a row, its audit entry and its outbox event together; the clock
// stamps the audit entries and outbox events.
type Tx struct {
	tx    *sql.Tx
	clock clock.Clock
}

// Update runs fn in one immediate, durable write transaction (see Write),
// committed if fn returns nil and rolled back otherwise. Every write of
// the station goes through it.
func (s *Store) Update(ctx context.Context, c clock.Clock, fn func(t *Tx) error) error {
	return s.Write(ctx, func(tx *sql.Tx) error { return fn(&Tx{tx: tx, clock: c}) })
}

// querier is the reader pool or a transaction.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// ts is how the station stores instants.
func ts(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// nullIfEmpty stores "" as NULL.
func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}
