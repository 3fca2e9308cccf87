package registry

// The central console's audit trail (issue 12): every admin action,
// allowed or refused, every login and every view of a page with personal
// data, appended to admin_audit and hash-chained with kiosk/audit's pure
// chain (Next, Verifier). The table refuses UPDATE and DELETE; the chain
// finds an entry edited or deleted behind the triggers' back (with the
// database file itself), and admin_audit_head finds a cut-off tail.
//
// An action's entry is written in the same transaction as the change it
// records (db.write picks it up from the request's context); a refused or
// failed action, which changes nothing, gets its entry on its own.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/kortstation/kortstation/kiosk/audit"
	"github.com/kortstation/kortstation/kiosk/clock"
)

// funcClock is the registry's Config.Now as a clock.Clock (tests and
// simulations: SourceFixed).
type funcClock func() time.Time

func (f funcClock) Now() time.Time { return f() }
func (funcClock) Source() string   { return clock.SourceFixed }

type pendingAuditKey struct{}

// pendingAudit is the audit entry of the action a request is doing; the
// first write transaction of the request carries it.
type pendingAudit struct {
	clk     clock.Clock
	entry   audit.Entry
	written bool
}

func withPendingAudit(ctx context.Context, p *pendingAudit) context.Context {
	return context.WithValue(ctx, pendingAuditKey{}, p)
}

// appendAdminAudit appends e to the trail inside tx.
func appendAdminAudit(ctx context.Context, tx *sql.Tx, clk clock.Clock, e audit.Entry) error {
	head := audit.Genesis()
	err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM admin_audit_head WHERE id = 1`).Scan(&head.Seq, &head.Hash)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("registry: admin audit head: %w", err)
	}
	r, err := audit.Next(head, clk, e)
	if err != nil {
		return fmt.Errorf("registry: admin audit: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO admin_audit (seq, at, clock_source, kind, actor, subject, detail, prev_hash, hash)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, r.Seq, r.At.Format(time.RFC3339Nano), r.ClockSource, r.Kind, r.Actor, r.Subject, r.Detail, r.PrevHash, r.Hash); err != nil {
		return fmt.Errorf("registry: admin audit: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO admin_audit_head (id, seq, hash) VALUES (1, ?, ?)
		ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash`, r.Seq, r.Hash); err != nil {
		return fmt.Errorf("registry: admin audit head: %w", err)
	}
	return nil
}

// AppendAdminAudit appends e to the console's audit trail on its own (an
// action's entry goes with its change: see the package comment).
func (s *Server) AppendAdminAudit(ctx context.Context, e audit.Entry) error {
	ctx = withPendingAudit(ctx, nil)
	return s.db.write(ctx, func(tx *sql.Tx) error { return appendAdminAudit(ctx, tx, s.clk, e) })
}

// AdminAudit lists the newest limit entries of the trail, newest first.
func (s *Server) AdminAudit(ctx context.Context, limit int) ([]audit.Record, error) {
	rows, err := s.db.reader.QueryContext(ctx, `SELECT seq, at, clock_source, kind, actor, subject, detail, prev_hash, hash
		FROM admin_audit ORDER BY seq DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("registry: admin audit: %w", err)
	}
	defer rows.Close()
	var out []audit.Record
	for rows.Next() {
		r, _, err := scanAuditRecord(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func scanAuditRecord(rows *sql.Rows) (audit.Record, string, error) {
	var r audit.Record
	var at string
	if err := rows.Scan(&r.Seq, &at, &r.ClockSource, &r.Kind, &r.Actor, &r.Subject, &r.Detail, &r.PrevHash, &r.Hash); err != nil {
		return r, "", fmt.Errorf("registry: admin audit: %w", err)
	}
	r.At, _ = time.Parse(time.RFC3339Nano, at)
	return r, at, nil
}

// VerifyAdminAudit walks the whole trail: an entry edited, deleted or cut
// off the tail is an *audit.BreakError naming it.
func (s *Server) VerifyAdminAudit(ctx context.Context) (audit.Result, error) {
	tx, err := s.db.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return audit.Result{}, fmt.Errorf("registry: admin audit: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	head := audit.Genesis()
	if err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM admin_audit_head WHERE id = 1`).Scan(&head.Seq, &head.Hash); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return audit.Result{}, fmt.Errorf("registry: admin audit head: %w", err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT seq, at, clock_source, kind, actor, subject, detail, prev_hash, hash FROM admin_audit ORDER BY seq`)
	if err != nil {
		return audit.Result{}, fmt.Errorf("registry: admin audit: %w", err)
	}
	defer rows.Close()
	v := audit.NewVerifier()
	for rows.Next() {
		r, at, err := scanAuditRecord(rows)
		if err != nil {
			return audit.Result{}, err
		}
		if err := v.Next(r, at); err != nil {
			return audit.Result{}, err
		}
	}
	if err := rows.Err(); err != nil {
		return audit.Result{}, fmt.Errorf("registry: admin audit: %w", err)
	}
	return v.End(head)
}
