package store

import (
	"context"
	"fmt"
	"time"

	"github.com/kortstation/kortstation/kiosk/rules"
	"github.com/kortstation/kortstation/sync/protocol"
)

// DevIssuedReserve is a reserve card the development seed (kiosk/devseed)
// records as handed out by this station some days ago and activated since,
// so that an extension (RC-5) can be tried on `make run`.
type DevIssuedReserve struct {
	Serial     string
	Recipient  rules.Recipient
	Reason     rules.Reason
	ValidFrom  time.Time
	ValidUntil time.Time
	// Operator is the HSA-ID of the (seeded) administrator who issued it.
	Operator string
}

// DevIssuancePrefix starts the ID of every issuance SeedIssuedReserve
// makes up: history written directly, without the audit entry, outbox
// event and receipt a real issuance has.
const DevIssuancePrefix = "devseed-issuance-"

// SeedIssuedReserve records c as issued at c.ValidFrom: the operator's
// session, the holder, the card handed out, its reserve issuance, and the
// registry's word that it is activated. No outbox event: the registry's
// own seed knows the card (sync/registry.Seed). The development station's
// made-up history only.
func (t *Tx) SeedIssuedReserve(ctx context.Context, c DevIssuedReserve) error {
	at := c.ValidFrom
	sessionID := "devseed-" + c.Serial
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO operator_sessions (id, operator, card_serial, started_at, ended_at, end_reason) VALUES (?, ?, 'devseed', ?, ?, 'logout')`,
		sessionID, c.Operator, ts(at), ts(at)); err != nil {
		return fmt.Errorf("insert seed session: %w", err)
	}
	pid, err := t.personID(ctx, c.Recipient, at)
	if err != nil {
		return err
	}
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO cards (serial, type, state, holder, valid_from, valid_until, updated_at) VALUES (?, 'reserve', 'handed_out', ?, ?, ?, ?)`,
		c.Serial, pid, ts(c.ValidFrom), ts(c.ValidUntil), ts(at)); err != nil {
		return fmt.Errorf("insert card: %w", err)
	}
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO card_state_changes (card_serial, from_state, to_state, rule, reason, session_id, at) VALUES (?, 'in_stock', 'handed_out', 'RC-1', ?, ?, ?)`,
		c.Serial, string(c.Reason), sessionID, ts(at)); err != nil {
		return fmt.Errorf("insert state change: %w", err)
	}
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO issuances (id, kind, card_serial, person_id, session_id, reason, valid_from, valid_until, created_at, clock_source)
		VALUES (?, 'reserve', ?, ?, ?, ?, ?, ?, ?, ?)`, DevIssuancePrefix+c.Serial, c.Serial, pid, sessionID, string(c.Reason),
		ts(c.ValidFrom), ts(c.ValidUntil), ts(at), t.clock.Source()); err != nil {
		return fmt.Errorf("insert issuance: %w", err)
	}
	return t.PutCardStatuses(ctx, false, []protocol.CardStatus{{Serial: c.Serial, State: protocol.CardActivated, ReceiptReceived: true, UpdatedAt: at}})
}
