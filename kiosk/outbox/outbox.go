// Package outbox is the station's queue of records for the central
// registry. A record is enqueued in the same SQLite transaction as the
// change it describes, so it exists exactly when the change does. Each event
// has a station-generated ID and a per-station sequence number (never
// reused); events are marked acknowledged, and the schema refuses to delete
// one that is not.
package outbox

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/kortstation/kortstation/kiosk/clock"
	"github.com/kortstation/kortstation/sync/protocol"
)

// Enqueue adds an event with payload (encoded as JSON) inside tx; the
// payload's type names the event's kind (sync/protocol.EventKinds).
func Enqueue(ctx context.Context, tx *sql.Tx, c clock.Clock, payload protocol.Payload) (protocol.Event, error) {
	if payload == nil {
		return protocol.Event{}, errors.New("outbox: event needs a payload")
	}
	kind := payload.EventKind()
	if kind == "" {
		return protocol.Event{}, errors.New("outbox: event needs a kind")
	}
	body, err := json.Marshal(payload)
	if err != nil {
		return protocol.Event{}, fmt.Errorf("outbox: encode %s: %w", kind, err)
	}
	ev := protocol.Event{
		ID:          uuid.NewString(),
		Kind:        kind,
		Payload:     body,
		CreatedAt:   c.Now().UTC().Truncate(time.Microsecond),
		ClockSource: c.Source(),
	}
	res, err := tx.ExecContext(ctx,
		`INSERT INTO outbox (event_id, kind, payload, created_at, clock_source) VALUES (?, ?, ?, ?, ?)`,
		ev.ID, ev.Kind, []byte(ev.Payload), ev.CreatedAt.Format(time.RFC3339Nano), ev.ClockSource)
	if err != nil {
		return protocol.Event{}, fmt.Errorf("outbox: insert %s: %w", kind, err)
	}
	if ev.Seq, err = res.LastInsertId(); err != nil {
		return protocol.Event{}, fmt.Errorf("outbox: sequence of %s: %w", kind, err)
	}
	return ev, nil
}

// Querier is a *sql.DB or *sql.Tx.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Pending returns up to limit unacknowledged events with Seq > after, oldest
// first.
func Pending(ctx context.Context, q Querier, after int64, limit int) ([]protocol.Event, error) {
	rows, err := q.QueryContext(ctx,
		`SELECT seq, event_id, kind, payload, created_at, clock_source, attempts
		   FROM outbox WHERE acked_at IS NULL AND seq > ? ORDER BY seq LIMIT ?`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("outbox: read pending: %w", err)
	}
	defer rows.Close()
	var out []protocol.Event
	for rows.Next() {
		var ev protocol.Event
		var payload []byte
		var created string
		if err := rows.Scan(&ev.Seq, &ev.ID, &ev.Kind, &payload, &created, &ev.ClockSource, &ev.Attempts); err != nil {
			return nil, fmt.Errorf("outbox: read pending: %w", err)
		}
		ev.Payload = payload
		if ev.CreatedAt, err = time.Parse(time.RFC3339Nano, created); err != nil {
			return nil, fmt.Errorf("outbox: event %d: bad time: %w", ev.Seq, err)
		}
		out = append(out, ev)
	}
	return out, rows.Err()
}

// Depth is the number of unacknowledged events.
func Depth(ctx context.Context, q Querier) (int64, error) {
	var n int64
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM outbox WHERE acked_at IS NULL`).Scan(&n); err != nil {
		return 0, fmt.Errorf("outbox: depth: %w", err)
	}
	return n, nil
}

// Ack marks the events with the given sequence numbers acknowledged at at.
// Acknowledging an event twice is harmless.
func Ack(ctx context.Context, tx *sql.Tx, at time.Time, seqs ...int64) error {
	stmt, err := tx.PrepareContext(ctx, `UPDATE outbox SET acked_at = ? WHERE seq = ? AND acked_at IS NULL`)
	if err != nil {
		return fmt.Errorf("outbox: ack: %w", err)
	}
	defer stmt.Close()
	ts := at.UTC().Format(time.RFC3339Nano)
	for _, s := range seqs {
		if _, err := stmt.ExecContext(ctx, ts, s); err != nil {
			return fmt.Errorf("outbox: ack %d: %w", s, err)
		}
	}
	return nil
}

// MarkAttempt counts one delivery attempt for the given events.
func MarkAttempt(ctx context.Context, tx *sql.Tx, seqs ...int64) error {
	for _, s := range seqs {
		if _, err := tx.ExecContext(ctx, `UPDATE outbox SET attempts = attempts + 1 WHERE seq = ?`, s); err != nil {
			return fmt.Errorf("outbox: count attempt %d: %w", s, err)
		}
	}
	return nil
}
