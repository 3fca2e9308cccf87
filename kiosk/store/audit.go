package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/kortstation/kortstation/kiosk/audit"
)

// Audit appends e to the audit chain in this transaction, the same one as
// the state change it records, and returns the stored record.
func (t *Tx) Audit(ctx context.Context, e audit.Entry) (audit.Record, error) {
	head, err := auditHead(ctx, t.tx)
	if err != nil {
		return audit.Record{}, err
	}
	r, err := audit.Next(head, t.clock, e)
	if err != nil {
		return audit.Record{}, err
	}
	if _, err := t.tx.ExecContext(ctx,
		`INSERT INTO audit_log (seq, at, clock_source, kind, actor, subject, detail, prev_hash, hash)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.Seq, r.At.Format(time.RFC3339Nano), r.ClockSource, r.Kind, r.Actor, r.Subject, r.Detail, r.PrevHash, r.Hash); err != nil {
		return audit.Record{}, fmt.Errorf("audit: insert entry %d: %w", r.Seq, err)
	}
	if _, err := t.tx.ExecContext(ctx,
		`INSERT INTO audit_head (id, seq, hash) VALUES (1, ?, ?)
		 ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash`, r.Seq, r.Hash); err != nil {
		return audit.Record{}, fmt.Errorf("audit: move head: %w", err)
	}
	return r, nil
}

// auditHead is the newest entry's sequence number and hash; the genesis
// when the chain is empty.
func auditHead(ctx context.Context, q querier) (audit.Head, error) {
	var h audit.Head
	err := q.QueryRowContext(ctx, "SELECT seq, hash FROM audit_head WHERE id = 1").Scan(&h.Seq, &h.Hash)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return audit.Genesis(), nil
	case err != nil:
		return audit.Head{}, fmt.Errorf("audit: read head: %w", err)
	}
	return h, nil
}

// AuditHead is the head of the audit chain (the genesis when empty).
func (s *Store) AuditHead(ctx context.Context) (audit.Head, error) {
	return auditHead(ctx, s.reader)
}

// VerifyAudit walks the whole chain in order and returns a
// *audit.BreakError for the first entry that was changed, is missing, or
// was cut off the tail.
func (s *Store) VerifyAudit(ctx context.Context) (audit.Result, error) {
	rows, err := s.reader.QueryContext(ctx,
		`SELECT seq, at, clock_source, kind, actor, subject, detail, prev_hash, hash FROM audit_log ORDER BY seq`)
	if err != nil {
		return audit.Result{}, fmt.Errorf("audit: read log: %w", err)
	}
	defer rows.Close()
	v := audit.NewVerifier()
	for rows.Next() {
		var r audit.Record
		var at string
		if err := rows.Scan(&r.Seq, &at, &r.ClockSource, &r.Kind, &r.Actor, &r.Subject, &r.Detail, &r.PrevHash, &r.Hash); err != nil {
			return audit.Result{}, fmt.Errorf("audit: read entry: %w", err)
		}
		if err := v.Next(r, at); err != nil {
			return audit.Result{}, err
		}
	}
	if err := rows.Err(); err != nil {
		return audit.Result{}, fmt.Errorf("audit: read log: %w", err)
	}
	head, err := auditHead(ctx, s.reader)
	if err != nil {
		return audit.Result{}, err
	}
	return v.End(head)
}

// LastAuditKind is the kind of the newest audit entry.
func (s *Store) LastAuditKind(ctx context.Context) (string, error) {
	var k string
	err := s.reader.QueryRowContext(ctx, `SELECT kind FROM audit_log ORDER BY seq DESC LIMIT 1`).Scan(&k)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("audit: read newest entry: %w", err)
	}
	return k, nil
}
