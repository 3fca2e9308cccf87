package counter

import (
	"context"
	"errors"
	"time"

	"github.com/kortstation/kortstation/kiosk/rules"
	"github.com/kortstation/kortstation/kiosk/rules/calendar"
	"github.com/kortstation/kortstation/kiosk/store"
)

// void records a card cut through chip and stripe (RC-8), or an ordered
// card not picked up by its deadline (CP-4).
func (m *Counter) void(ctx context.Context, f *flowState, serial string) error {
	c, err := m.st.Card(ctx, serial)
	if errors.Is(err, store.ErrNotFound) {
		return refuse(msg("card_unknown", "Kortet finns inte i stationens register. Kontrollera kortnumret.", "The card is not in the station's records. Check the card number."))
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
