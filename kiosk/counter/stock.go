package counter

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/kortstation/kortstation/kiosk/rules"
	"github.com/kortstation/kortstation/kiosk/rules/calendar"
	"github.com/kortstation/kortstation/kiosk/store"
)

// stockCardRead adds a card read in the reader to the shipment being
// received or the drawer being counted.
func (m *Counter) stockCardRead(ctx context.Context, f *flowState, serial string) error {
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
func (m *Counter) addReceived(ctx context.Context, f *flowState, serial string) error {
	serial = strings.TrimSpace(serial)
	if serial == "" {
		return refuse(msg("serial_missing", "Skriv eller läs in kortnumret.", "Type or read the card number."))
	}
	sh, err := m.st.Shipment(ctx, serial)
	if errors.Is(err, store.ErrNotFound) {
		return refuse(msg("not_shipped", "Kortet "+serial+" finns inte i någon leverans till stationen.", "Card "+serial+" is in no shipment to this station."))
	}
	if err != nil {
		return err
	}
	known, err := m.st.CardExists(ctx, serial)
	if err != nil {
		return err
	}
	if known || slices.Contains(f.serials, serial) {
		return refuse(msg("already_received", "Kortet "+serial+" är redan mottaget.", "Card "+serial+" has already been received."))
	}
	f.serials = append(f.serials, serial)
	f.shipmentRef = sh.ShipmentRef
	return nil
}

func (m *Counter) stockStep(ctx context.Context, f *flowState, step Action, data json.RawMessage) error {
	var req struct {
		Serial  string   `json:"serial"`
		Serials []string `json:"serials"`
	}
	if err := decode(data, &req); err != nil {
		return err
	}
	switch {
	case f.kind == KindStockReceive && step == ActAdd && f.step == StepScan:
		return m.addReceived(ctx, f, req.Serial)
	case f.kind == KindStockReceive && step == ActCommit && f.step == StepScan:
		return m.receive(ctx, f)
	case f.kind == KindStockCount && step == ActMark && f.step == StepCount:
		s := strings.TrimSpace(req.Serial)
		if i := slices.Index(f.serials, s); i >= 0 {
			f.serials = slices.Delete(f.serials, i, i+1)
		} else if s != "" {
			f.serials = append(f.serials, s)
		}
		return nil
	case f.kind == KindStockCount && step == ActCommit && f.step == StepCount:
		return m.count(ctx, f)
	case f.kind == KindStockVoid && step == ActVoid && (f.step == StepChoose || f.step == StepDone):
		return m.void(ctx, f, strings.TrimSpace(req.Serial))
	}
	return errWrongStep
}

func (m *Counter) receive(ctx context.Context, f *flowState) error {
	if len(f.serials) == 0 {
		return refuse(msg("nothing_received", "Inga kort är inlästa.", "No cards have been read."))
	}
	now, sess := m.clock.Now(), sessionOf(m.sess)
	err := m.st.Update(ctx, m.clock, func(t *store.Tx) error {
		return t.RecordStockReceived(ctx, f.serials, f.shipmentRef, sess, now)
	})
	if err != nil {
		return err
	}
	f.result = map[string]any{"received": len(f.serials), "shipment_ref": f.shipmentRef}
	f.step = StepDone
	return nil
}

// count reconciles the drawer: cards seen are counted, cards in stock not
// seen are missing (reported to the registry), cards seen but not in stock
// are unexpected.
func (m *Counter) count(ctx context.Context, f *flowState) error {
	stock := m.stockList(ctx, string(KindStockCount))
	now, sess := m.clock.Now(), sessionOf(m.sess)
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
	count := store.StockCount{Expected: len(stock), Found: found, Missing: missing, Unexpected: unexpected}
	err := m.st.Update(ctx, m.clock, func(t *store.Tx) error { return t.RecordStockCount(ctx, count, sess, now) })
	if err != nil {
		return err
	}
	f.result = map[string]any{"expected": len(stock), "found": found, "missing": missing, "unexpected": unexpected}
	f.step = StepDone
	return nil
}

// void records a card cut through chip and stripe (RC-8), or an ordered
// card not picked up by its deadline (CP-4).
func (m *Counter) void(ctx context.Context, f *flowState, serial string) error {
	c, err := m.st.Card(ctx, serial)
	if errors.Is(err, store.ErrNotFound) {
		return refuse(msg("card_unknown", "Kortet finns inte i stationens register.", "The card is not in the station's records."))
	}
	if err != nil {
		return err
	}
	now := m.clock.Now()
	rule := "RC-8"
	var deadline string
	if row, err := m.st.StockCard(ctx, serial); err == nil {
		deadline = row.PickupDeadline
	}
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
	f.step = StepDone
	return nil
}

func (m *Counter) recordVoid(ctx context.Context, c rules.Card, rule string, now time.Time) error {
	sess := sessionOf(m.sess)
	return recorded(m.st.Update(ctx, m.clock, func(t *store.Tx) error { return t.RecordVoid(ctx, c, rule, sess, now) }))
}

// voidExpiredPickup voids the ordered card whose pickup deadline passed,
// as the rules' pickup decision says (CP-4).
func (m *Counter) voidExpiredPickup(ctx context.Context, f *flowState) error {
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
	f.step = StepDone
	return nil
}
