package store

import (
	"context"
	"fmt"
	"time"

	"github.com/kortstation/kortstation/kiosk/audit"
	"github.com/kortstation/kortstation/kiosk/rules"
)

// CardExists reports whether serial is in this station's records.
func (s *Store) CardExists(ctx context.Context, serial string) (bool, error) {
	var n int
	if err := s.reader.QueryRowContext(ctx, `SELECT count(*) FROM cards WHERE serial = ?`, serial).Scan(&n); err != nil {
		return false, fmt.Errorf("read cards: %w", err)
	}
	return n > 0, nil
}

// RecordStockReceived puts the cards of a shipment into the drawer's stock
// (RC-7): each card as in its shipment, its history row and stock movement
// (queued for the registry), and one audit entry for the shipment.
func (t *Tx) RecordStockReceived(ctx context.Context, serials []string, shipmentRef string, s Session, at time.Time) error {
	for _, serial := range serials {
		sh, err := shipment(ctx, t.tx, serial)
		if err != nil {
			return err
		}
		typ := sh.CardType
		if !typ.Valid() {
			typ = rules.CardReserve
		}
		if _, err := t.tx.ExecContext(ctx, `INSERT INTO cards (serial, type, state, updated_at) VALUES (?, ?, 'in_stock', ?)`, serial, string(typ), ts(at)); err != nil {
			return fmt.Errorf("insert card: %w", err)
		}
		if _, err := t.tx.ExecContext(ctx, `INSERT INTO card_state_changes (card_serial, from_state, to_state, rule, session_id, at) VALUES (?, NULL, 'in_stock', 'RC-7', ?, ?)`, serial, s.ID, ts(at)); err != nil {
			return fmt.Errorf("insert state change: %w", err)
		}
		if err := t.movement(ctx, serial, "received", sh.ShipmentRef, s.ID, at); err != nil {
			return err
		}
	}
	_, err := t.Audit(ctx, audit.Entry{Kind: "stock.received", Actor: s.Operator, Subject: shipmentRef,
		Detail: map[string]any{"cards": serials, "session": s.ID}})
	return err
}

// StockCount is the outcome of counting the drawer.
type StockCount struct {
	Expected   int
	Found      []string // counted
	Missing    []string // in stock but not seen: reported to the registry
	Unexpected []string // seen but not in stock
}

// RecordStockCount stores a count of the drawer: a movement for each card
// found, a reported movement for each missing, and the audit entry.
func (t *Tx) RecordStockCount(ctx context.Context, c StockCount, s Session, at time.Time) error {
	for _, serial := range c.Found {
		if _, err := t.tx.ExecContext(ctx, `INSERT INTO stock_movements (card_serial, kind, session_id, at) VALUES (?, 'counted', ?, ?)`, serial, s.ID, ts(at)); err != nil {
			return fmt.Errorf("insert count: %w", err)
		}
	}
	for _, serial := range c.Missing {
		if err := t.movement(ctx, serial, "missing", "", s.ID, at); err != nil {
			return err
		}
	}
	_, err := t.Audit(ctx, audit.Entry{Kind: "stock.counted", Actor: s.Operator, Subject: "drawer",
		Detail: map[string]any{"expected": c.Expected, "found": c.Found, "missing": c.Missing, "unexpected": c.Unexpected, "session": s.ID}})
	return err
}

// DevStockCard is a card put straight into the drawer by the development
// seed (kiosk/devseed), with the pickup deadline of an ordered card.
type DevStockCard struct {
	Serial         string
	Type           rules.CardType
	PickupDeadline string // YYYY-MM-DD or ""
}

// SeedStockCards puts cards into the drawer without a shipment or a
// history: the development station's made-up stock only.
func (t *Tx) SeedStockCards(ctx context.Context, cards []DevStockCard, at time.Time) error {
	for _, c := range cards {
		if _, err := t.tx.ExecContext(ctx, `INSERT INTO cards (serial, type, state, pickup_deadline, updated_at) VALUES (?, ?, 'in_stock', ?, ?)`,
			c.Serial, string(c.Type), nullIfEmpty(c.PickupDeadline), ts(at)); err != nil {
			return fmt.Errorf("insert card: %w", err)
		}
	}
	return nil
}
