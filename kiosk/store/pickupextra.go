package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/kortstation/kortstation/kiosk/audit"
	"github.com/kortstation/kortstation/kiosk/rules"
	"github.com/kortstation/kortstation/sync/protocol"
)

// RecordWitnessDocument records the ID document a manager present showed
// (ID-4; seed 003: a recipient without an ID document picks up with their
// manager present), checked for the issuance, by the manager's HSA-ID.
// Call it in the issuance's transaction, after RecordIssuance.
func (t *Tx) RecordWitnessDocument(ctx context.Context, issuanceID, hsaID string, doc rules.IDDocument, at time.Time) error {
	intact := 1
	if doc.Damaged {
		intact = 0
	}
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO id_document_checks (issuance_id, doc_type, doc_number, expires_on, intact, checked_at, holder) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		issuanceID, string(doc.Type), doc.Number, doc.Expiry.String(), intact, ts(at), hsaID); err != nil {
		return fmt.Errorf("insert manager's document check: %w", err)
	}
	return nil
}

// HandedIn is an old card the recipient handed in when they picked up
// their new one (seed 003).
type HandedIn struct {
	Card       rules.Card // Number, Type and the State the registry's facts give
	Holder     rules.Recipient
	NewCard    string
	IssuanceID string // the pickup
	Session    Session
	At         time.Time
}

// RecordHandedIn records an old card handed in at a pickup, in the
// pickup's transaction (after RecordIssuance): the card is voided at the
// station (cut through chip and stripe, RC-8), with its history row and
// stock movement; the audit entry names it and the new card; and, unless
// the registry has it blocked already, a block request asks the central
// service to block its certificates (BL-2: before anything is removed from
// a card).
func (t *Tx) RecordHandedIn(ctx context.Context, h HandedIn) error {
	c := h.Card
	typ := c.Type
	if !typ.Valid() || typ == rules.CardReserve {
		typ = rules.CardSIS
	}
	pid, err := t.personID(ctx, h.Holder, h.At)
	if err != nil {
		return err
	}
	var state string
	err = t.tx.QueryRowContext(ctx, `SELECT state FROM cards WHERE serial = ?`, c.Number).Scan(&state)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if _, err := t.tx.ExecContext(ctx, `INSERT INTO cards (serial, type, state, holder, updated_at) VALUES (?, ?, 'voided', ?, ?)`,
			c.Number, string(typ), pid, ts(h.At)); err != nil {
			return fmt.Errorf("insert handed-in card: %w", err)
		}
		state = string(c.State)
	case err != nil:
		return fmt.Errorf("read handed-in card: %w", err)
	case state == string(rules.StateVoided) || state == string(rules.StateReturned):
		return fmt.Errorf("store: card %s is %s already: %w", c.Number, state, ErrCardChanged)
	default:
		if _, err := t.tx.ExecContext(ctx, `UPDATE cards SET state = 'voided', updated_at = ? WHERE serial = ?`, ts(h.At), c.Number); err != nil {
			return fmt.Errorf("void handed-in card: %w", err)
		}
	}
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO card_state_changes (card_serial, from_state, to_state, rule, reason, session_id, at) VALUES (?, ?, 'voided', 'RC-8', 'handed_in_at_pickup', ?, ?)`,
		c.Number, nullIfEmpty(state), h.Session.ID, ts(h.At)); err != nil {
		return fmt.Errorf("insert state change: %w", err)
	}
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO stock_movements (card_serial, kind, session_id, at) VALUES (?, 'voided', ?, ?)`,
		c.Number, h.Session.ID, ts(h.At)); err != nil {
		return fmt.Errorf("insert stock movement: %w", err)
	}
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO cards_handed_in (card_serial, issuance_id, new_card, at) VALUES (?, ?, ?, ?)`,
		c.Number, h.IssuanceID, h.NewCard, ts(h.At)); err != nil {
		return fmt.Errorf("insert handed-in card: %w", err)
	}
	block := c.State != rules.StateBlocked
	if _, err := t.Audit(ctx, audit.Entry{Kind: "card.handed_in", Actor: h.Session.Operator, Subject: c.Number,
		Detail: map[string]any{"new_card": h.NewCard, "issuance": h.IssuanceID, "session": h.Session.ID, "voided": true, "block_requested": block}}); err != nil {
		return err
	}
	if !block {
		return nil
	}
	_, err = t.Enqueue(ctx, protocol.BlockRequestPayload{CardSerial: c.Number, Reason: "handed_in", Operator: h.Session.Operator})
	return err
}
