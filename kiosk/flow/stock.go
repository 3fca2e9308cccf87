package flow

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kortstation/kortstation/kiosk/audit"
	"github.com/kortstation/kortstation/kiosk/rules"
	"github.com/kortstation/kortstation/kiosk/rules/calendar"
)

// stockCardRead adds a card read in the reader to the shipment being
// received or the drawer being counted.
func (m *Manager) stockCardRead(ctx context.Context, f *flowState, serial string) error {
	if f.kind == KindStockReceive {
		return m.addReceived(ctx, f, serial)
	}
	if !slices.Contains(f.serials, serial) {
		f.serials = append(f.serials, serial)
	}
	return nil
}

// addReserved checks a serial against the registry's shipments to this
// station and the stock already here.
func (m *Manager) addReceived(ctx context.Context, f *flowState, serial string) error {
	serial = strings.TrimSpace(serial)
	if serial == "" {
		return refuse(msg("serial_missing", "Skriv eller läs in kortnumret.", "Type or read the card number."))
	}
	var ref string
	err := m.st.Reader().QueryRowContext(ctx, `SELECT shipment_ref FROM ref_shipments WHERE serial = ?`, serial).Scan(&ref)
	if errors.Is(err, sql.ErrNoRows) {
		return refuse(msg("not_shipped", "Kortet "+serial+" finns inte i någon leverans till stationen.", "Card "+serial+" is in no shipment to this station."))
	}
	if err != nil {
		return fmt.Errorf("read shipment: %w", err)
	}
	var n int
	if err := m.st.Reader().QueryRowContext(ctx, `SELECT count(*) FROM cards WHERE serial = ?`, serial).Scan(&n); err != nil {
		return fmt.Errorf("read cards: %w", err)
	}
	if n > 0 || slices.Contains(f.serials, serial) {
		return refuse(msg("already_received", "Kortet "+serial+" är redan mottaget.", "Card "+serial+" has already been received."))
	}
	f.serials = append(f.serials, serial)
	f.shipmentRef = ref
	return nil
}

func (m *Manager) stockStep(ctx context.Context, f *flowState, step string, data json.RawMessage) error {
	var req struct {
		Serial  string   `json:"serial"`
		Serials []string `json:"serials"`
	}
	if err := decode(data, &req); err != nil {
		return err
	}
	switch {
	case f.kind == KindStockReceive && step == "add" && f.step == "scan":
		return m.addReceived(ctx, f, req.Serial)
	case f.kind == KindStockReceive && step == "commit" && f.step == "scan":
		return m.receive(ctx, f)
	case f.kind == KindStockCount && step == "mark" && f.step == "count":
		s := strings.TrimSpace(req.Serial)
		if i := slices.Index(f.serials, s); i >= 0 {
			f.serials = slices.Delete(f.serials, i, i+1)
		} else if s != "" {
			f.serials = append(f.serials, s)
		}
		return nil
	case f.kind == KindStockCount && step == "commit" && f.step == "count":
		return m.count(ctx, f)
	case f.kind == KindStockVoid && step == "void" && (f.step == "choose" || f.step == "done"):
		return m.void(ctx, f, strings.TrimSpace(req.Serial))
	}
	return errWrongStep
}

func (m *Manager) receive(ctx context.Context, f *flowState) error {
	if len(f.serials) == 0 {
		return refuse(msg("nothing_received", "Inga kort är inlästa.", "No cards have been read."))
	}
	now := m.clock.Now()
	sess := m.sess
	err := m.st.Write(ctx, func(tx *sql.Tx) error {
		for _, s := range f.serials {
			var typ, ref string
			if err := tx.QueryRowContext(ctx, `SELECT card_type, shipment_ref FROM ref_shipments WHERE serial = ?`, s).Scan(&typ, &ref); err != nil {
				return fmt.Errorf("read shipment of %s: %w", s, err)
			}
			if !rules.CardType(typ).Valid() {
				typ = string(rules.CardReserve)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO cards (serial, type, state, updated_at) VALUES (?, ?, 'in_stock', ?)`, s, typ, ts(now)); err != nil {
				return fmt.Errorf("insert card: %w", err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO card_state_changes (card_serial, from_state, to_state, rule, session_id, at) VALUES (?, NULL, 'in_stock', 'RC-7', ?, ?)`, s, sess.id, ts(now)); err != nil {
				return fmt.Errorf("insert state change: %w", err)
			}
			if err := movement(ctx, tx, m, s, "received", ref, sess.id, now); err != nil {
				return err
			}
		}
		_, err := audit.Append(ctx, tx, m.clock, audit.Entry{Kind: "stock.received", Actor: sess.hsaID.String(), Subject: f.shipmentRef,
			Detail: map[string]any{"cards": f.serials, "session": sess.id}})
		return err
	})
	if err != nil {
		return err
	}
	f.result = map[string]any{"received": len(f.serials), "shipment_ref": f.shipmentRef}
	f.step = "done"
	return nil
}

// count reconciles the drawer: cards seen are counted, cards in stock not
// seen are missing (reported to the registry), cards seen but not in stock
// are unexpected.
func (m *Manager) count(ctx context.Context, f *flowState) error {
	stock := m.stockList(ctx, KindStockCount)
	now := m.clock.Now()
	sess := m.sess
	var found, missing, unexpected []string
	for _, c := range stock {
		if slices.Contains(f.serials, c.Serial) {
			found = append(found, c.Serial)
		} else {
			missing = append(missing, c.Serial)
		}
	}
	for _, s := range f.serials {
		if !slices.Contains(found, s) {
			unexpected = append(unexpected, s)
		}
	}
	err := m.st.Write(ctx, func(tx *sql.Tx) error {
		for _, s := range found {
			if _, err := tx.ExecContext(ctx, `INSERT INTO stock_movements (card_serial, kind, session_id, at) VALUES (?, 'counted', ?, ?)`, s, sess.id, ts(now)); err != nil {
				return fmt.Errorf("insert count: %w", err)
			}
		}
		for _, s := range missing {
			if err := movement(ctx, tx, m, s, "missing", "", sess.id, now); err != nil {
				return err
			}
		}
		_, err := audit.Append(ctx, tx, m.clock, audit.Entry{Kind: "stock.counted", Actor: sess.hsaID.String(), Subject: "drawer",
			Detail: map[string]any{"expected": len(stock), "found": found, "missing": missing, "unexpected": unexpected, "session": sess.id}})
		return err
	})
	if err != nil {
		return err
	}
	f.result = map[string]any{"expected": len(stock), "found": found, "missing": missing, "unexpected": unexpected}
	f.step = "done"
	return nil
}

// void records a card cut through chip and stripe (RC-8), or an ordered
// card not picked up by its deadline (CP-4).
func (m *Manager) void(ctx context.Context, f *flowState, serial string) error {
	c, err := loadCard(ctx, m.st.Reader(), serial)
	if errors.Is(err, errUnknownCard) {
		return refuse(msg("card_unknown", "Kortet finns inte i stationens register.", "The card is not in the station's records."))
	}
	if err != nil {
		return err
	}
	now := m.clock.Now()
	rule := "RC-8"
	var deadline string
	_ = m.st.Reader().QueryRowContext(ctx, `SELECT coalesce(pickup_deadline, '') FROM cards WHERE serial = ?`, serial).Scan(&deadline)
	if d, err := calendar.ParseDate(deadline); err == nil && c.Type != rules.CardReserve && c.Type != rules.CardShortTerm {
		// An ordered card is voided only when its pickup deadline has
		// passed (CP-4).
		if !rules.PickupExpired(rules.Order{PickupDeadline: d}, now) {
			return refuse(Message{Rule: "CP-4", Key: "pickup.not_expired", Text: map[string]string{
				"sv": "Kortet kan fortfarande hämtas (senast " + d.String() + ").", "en": "The card can still be picked up (until " + d.String() + ")."}})
		}
		if v := rules.CheckTransition(c.State, rules.StateVoided); v != nil {
			return v
		}
		rule = "CP-4"
	} else if err := rules.CheckCut(c, now); err != nil {
		return err
	}
	if err := m.recordVoid(ctx, c, rule, now); err != nil {
		return err
	}
	f.result = map[string]any{"card_number": c.Number, "rule": rule}
	f.step = "done"
	return nil
}

func (m *Manager) recordVoid(ctx context.Context, c rules.Card, rule string, now time.Time) error {
	sess := m.sess
	return m.st.Write(ctx, func(tx *sql.Tx) error {
		from := storedState(ctx, tx, c.Number, c.State)
		if err := setCardState(ctx, tx, c.Number, from, rules.StateVoided, rule, "", sess.id, now, ""); err != nil {
			return err
		}
		if err := movement(ctx, tx, m, c.Number, "voided", "", sess.id, now); err != nil {
			return err
		}
		_, err := audit.Append(ctx, tx, m.clock, audit.Entry{Kind: "card.voided", Actor: sess.hsaID.String(), Subject: c.Number,
			Detail: map[string]any{"rule": rule, "session": sess.id}})
		return err
	})
}

// voidExpiredPickup voids the ordered card whose pickup deadline passed,
// as the rules' pickup decision says (CP-4).
func (m *Manager) voidExpiredPickup(ctx context.Context, f *flowState) error {
	now := m.clock.Now()
	d, _ := rules.PickupCard(rules.PickupInput{
		Counter:  rules.Counter{Now: now, Station: m.place(), Operator: m.sess.operator(), Recipient: f.recipient, RecipientPresent: true},
		Order:    f.order,
		Card:     f.card,
		Registry: f.reg,
	})
	if !d.Void {
		return errWrongStep
	}
	if err := m.recordVoid(ctx, f.card, "CP-4", now); err != nil {
		return err
	}
	f.result = map[string]any{"card_number": f.card.Number, "rule": "CP-4", "voided": true}
	f.step = "done"
	return nil
}
