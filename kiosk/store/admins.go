package store

import (
	"context"
	"fmt"
	"time"

	"github.com/kortstation/kortstation/kiosk/audit"
	"github.com/kortstation/kortstation/kiosk/rules"
	"github.com/kortstation/kortstation/kiosk/rules/ident"
	"github.com/kortstation/kortstation/sync/protocol"
)

// Changes of administrators (AD-2): asked for at this station, sent to the
// central service, decided there; the decisions come back in the
// admin_requests snapshot. A removal asked for here is in force at once
// (AuthorisedAdmins leaves the administrator out while it is pending).

// AdminRequest is a change of administrators at this station.
type AdminRequest struct {
	ID, Source, Change   string
	Admin, Name, Manager string
	Operator             string
	RequestedAt          time.Time
	Status, Reason       string
	DecidedAt            time.Time
}

// RecordAdminRequest records a change of administrators asked for at the
// counter, with its audit entry and its admin_change event for the
// registry, in one transaction. The payload names no personal number;
// the administrator's e-mail and telephone go only into the event.
func (t *Tx) RecordAdminRequest(ctx context.Context, p protocol.AdminChangePayload, sess Session) error {
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO admin_requests (id, source, change, admin, name, manager, operator, session_id, requested_at, status)
		VALUES (?, 'station', ?, ?, ?, ?, ?, ?, ?, 'pending')`,
		p.RequestID, p.Change, p.Admin, p.Name, p.Manager, p.Operator, nullIfEmpty(sess.ID), ts(p.At)); err != nil {
		return fmt.Errorf("insert admin request: %w", err)
	}
	if _, err := t.Audit(ctx, audit.Entry{Kind: "admin_change.requested", Actor: sess.Operator, Subject: p.Admin,
		Detail: map[string]any{"request": p.RequestID, "change": p.Change, "manager": p.Manager, "manager_proof": p.ManagerProof,
			"training_confirmed": p.TrainingConfirmed, "session": sess.ID, "rules": []string{"AD-1", "AD-2"}}}); err != nil {
		return err
	}
	_, err := t.Enqueue(ctx, p)
	return err
}

// ReplaceAdminRequests applies the registry's admin_requests snapshot:
// each change's state, and the changes made at the console. A decision
// that changes a request's state is audited.
func (t *Tx) ReplaceAdminRequests(ctx context.Context, items []protocol.AdminRequest, now time.Time) error {
	for _, a := range items {
		if a.Change != protocol.AdminAppointed && a.Change != protocol.AdminRemoved {
			continue
		}
		switch a.Status {
		case protocol.AdminPending, protocol.AdminApproved, protocol.AdminRejected:
		default:
			continue
		}
		var before string
		err := t.tx.QueryRowContext(ctx, `SELECT coalesce((SELECT status FROM admin_requests WHERE id = ?), '')`, a.RequestID).Scan(&before)
		if err != nil {
			return fmt.Errorf("read admin request: %w", err)
		}
		decided := ""
		if !a.DecidedAt.IsZero() {
			decided = ts(a.DecidedAt)
		}
		source := "console"
		if a.Source == "station" {
			source = "station"
		}
		if _, err := t.tx.ExecContext(ctx, `INSERT INTO admin_requests (id, source, change, admin, name, requested_at, status, reason, decided_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET status = excluded.status, reason = excluded.reason, decided_at = excluded.decided_at`,
			a.RequestID, source, a.Change, a.Admin, a.Name, ts(now), a.Status, a.Reason, decided); err != nil {
			return fmt.Errorf("put admin request: %w", err)
		}
		if before != a.Status && a.Status != protocol.AdminPending {
			if _, err := t.Audit(ctx, audit.Entry{Kind: "admin_change.decided", Actor: "registry", Subject: a.Admin,
				Detail: map[string]any{"request": a.RequestID, "change": a.Change, "status": a.Status, "reason": a.Reason, "source": source}}); err != nil {
				return err
			}
		}
	}
	return nil
}

// AdminRequests lists the changes of administrators at this station,
// newest first.
func (s *Store) AdminRequests(ctx context.Context, limit int) ([]AdminRequest, error) {
	rows, err := s.reader.QueryContext(ctx, `SELECT id, source, change, admin, name, manager, operator, requested_at, status, reason, decided_at
		FROM admin_requests ORDER BY status != 'pending', requested_at DESC, id LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("read admin requests: %w", err)
	}
	defer rows.Close()
	var out []AdminRequest
	for rows.Next() {
		var a AdminRequest
		var req, dec string
		if err := rows.Scan(&a.ID, &a.Source, &a.Change, &a.Admin, &a.Name, &a.Manager, &a.Operator, &req, &a.Status, &a.Reason, &dec); err != nil {
			return nil, fmt.Errorf("read admin requests: %w", err)
		}
		a.RequestedAt, _ = time.Parse(time.RFC3339Nano, req)
		a.DecidedAt, _ = time.Parse(time.RFC3339Nano, dec)
		out = append(out, a)
	}
	return out, rows.Err()
}

// Admin is an administrator on the registry's list, as the station holds
// it.
type Admin struct {
	HSAID, Name string
	Authorised  bool // authorised here now: on the registry's list and no removal pending here
}

// Admins lists the administrators the registry names for this station.
func (s *Store) Admins(ctx context.Context) ([]Admin, error) {
	rows, err := s.reader.QueryContext(ctx, `SELECT hsa_id, name, authorised = 1 AND hsa_id NOT IN (`+pendingRemovals+`)
		FROM operators ORDER BY name, hsa_id`)
	if err != nil {
		return nil, fmt.Errorf("read operators: %w", err)
	}
	defer rows.Close()
	var out []Admin
	for rows.Next() {
		var a Admin
		if err := rows.Scan(&a.HSAID, &a.Name, &a.Authorised); err != nil {
			return nil, fmt.Errorf("read operators: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// pendingRemovals are the administrators whose removal was asked for at
// this station and is not decided yet (in force at once).
const pendingRemovals = `SELECT admin FROM admin_requests WHERE change = 'removed' AND status = 'pending'`

// auditAdminsDiff records what a new operators snapshot changes in the
// administrators authorised here (rules.DiffAdmins, AD-2): one audit entry
// naming those added and those withdrawn, none when nothing changed. Call
// it in the snapshot's transaction before the list is replaced.
func (t *Tx) auditAdminsDiff(ctx context.Context, items []protocol.Operator) error {
	rows, err := t.tx.QueryContext(ctx, `SELECT hsa_id FROM operators WHERE authorised = 1`)
	if err != nil {
		return fmt.Errorf("read operators: %w", err)
	}
	var before, after []ident.HSAID
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return fmt.Errorf("read operators: %w", err)
		}
		if h, err := ident.ParseHSAID(s); err == nil {
			before = append(before, h)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read operators: %w", err)
	}
	for _, o := range items {
		if h, err := ident.ParseHSAID(o.HSAID); err == nil && o.Authorised {
			after = append(after, h)
		}
	}
	added, removed := rules.DiffAdmins(before, after)
	if len(added) == 0 && len(removed) == 0 {
		return nil
	}
	names := func(hs []ident.HSAID) []string {
		out := make([]string, len(hs))
		for i, h := range hs {
			out[i] = h.String()
		}
		return out
	}
	_, err = t.Audit(ctx, audit.Entry{Kind: "admins.changed", Actor: "registry", Subject: "operators",
		Detail: map[string]any{"added": names(added), "removed": names(removed), "rules": []string{"AD-1", "AD-2"}}})
	return err
}
