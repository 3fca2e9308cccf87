package store

import (
	"context"
	"fmt"
	"time"

	"github.com/kortstation/kortstation/kiosk/audit"
)

// Session is the operator's session a record is made in: its ID and the
// operator's HSA-ID (the audit actor).
type Session struct {
	ID       string
	Operator string
}

// RecordLogin stores a new operator session with its audit entry.
func (t *Tx) RecordLogin(ctx context.Context, s Session, cardSerial string, at time.Time) error {
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO operator_sessions (id, operator, card_serial, started_at) VALUES (?, ?, ?, ?)`,
		s.ID, s.Operator, cardSerial, ts(at)); err != nil {
		return fmt.Errorf("insert session: %w", err)
	}
	_, err := t.Audit(ctx, audit.Entry{Kind: "session.login", Actor: s.Operator, Subject: s.ID})
	return err
}

// RecordLogout ends a session with its reason (logout, card_removed,
// idle, shutdown, locked) and its audit entry.
func (t *Tx) RecordLogout(ctx context.Context, s Session, reason string, at time.Time) error {
	if _, err := t.tx.ExecContext(ctx, `UPDATE operator_sessions SET ended_at = ?, end_reason = ? WHERE id = ?`, ts(at), reason, s.ID); err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	_, err := t.Audit(ctx, audit.Entry{Kind: "session.logout", Actor: s.Operator, Subject: s.ID, Detail: map[string]any{"reason": reason}})
	return err
}
