package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/kortstation/kortstation/kiosk/outbox"
	"github.com/kortstation/kortstation/sync/protocol"
)

// Enqueue queues an event with payload (its kind is the payload's, from
// sync/protocol) for the registry, in this transaction. The record methods call it for their
// events; it is exported for the few events that go with no record
// (tests, benchmarks).
func (t *Tx) Enqueue(ctx context.Context, payload protocol.Payload) (protocol.Event, error) {
	ev, err := outbox.New(t.clock, payload)
	if err != nil {
		return protocol.Event{}, err
	}
	kind := ev.Kind
	res, err := t.tx.ExecContext(ctx,
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

// PendingEvents returns up to limit unacknowledged events with Seq > after,
// oldest first.
func (s *Store) PendingEvents(ctx context.Context, after int64, limit int) ([]protocol.Event, error) {
	rows, err := s.reader.QueryContext(ctx,
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

// OutboxDepth is the number of unacknowledged events.
func (s *Store) OutboxDepth(ctx context.Context) (int64, error) {
	var n int64
	if err := s.reader.QueryRowContext(ctx, `SELECT count(*) FROM outbox WHERE acked_at IS NULL`).Scan(&n); err != nil {
		return 0, fmt.Errorf("outbox: depth: %w", err)
	}
	return n, nil
}

// OldestPending is when the oldest unacknowledged event was queued;
// ErrNotFound when none waits.
func (s *Store) OldestPending(ctx context.Context) (time.Time, error) {
	var oldest sql.NullString
	if err := s.reader.QueryRowContext(ctx, `SELECT min(created_at) FROM outbox WHERE acked_at IS NULL`).Scan(&oldest); err != nil {
		return time.Time{}, fmt.Errorf("outbox: oldest: %w", err)
	}
	if !oldest.Valid {
		return time.Time{}, ErrNotFound
	}
	t, err := time.Parse(time.RFC3339Nano, oldest.String)
	if err != nil {
		return time.Time{}, fmt.Errorf("outbox: oldest: bad time: %w", err)
	}
	return t, nil
}

// Ack marks the events with the given sequence numbers acknowledged at at.
// Acknowledging an event twice is harmless.
func (t *Tx) Ack(ctx context.Context, at time.Time, seqs ...int64) error {
	stmt, err := t.tx.PrepareContext(ctx, `UPDATE outbox SET acked_at = ? WHERE seq = ? AND acked_at IS NULL`)
	if err != nil {
		return fmt.Errorf("outbox: ack: %w", err)
	}
	defer stmt.Close()
	stamp := ts(at)
	for _, s := range seqs {
		if _, err := stmt.ExecContext(ctx, stamp, s); err != nil {
			return fmt.Errorf("outbox: ack %d: %w", s, err)
		}
	}
	return nil
}

// CountAttempt counts one delivery attempt for the unacknowledged events
// of a batch (every pending seq from first to last), in one statement.
func (t *Tx) CountAttempt(ctx context.Context, first, last int64) error {
	if _, err := t.tx.ExecContext(ctx, `UPDATE outbox SET attempts = attempts + 1 WHERE acked_at IS NULL AND seq BETWEEN ? AND ?`, first, last); err != nil {
		return fmt.Errorf("outbox: count attempt: %w", err)
	}
	return nil
}
