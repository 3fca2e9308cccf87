package counter

import (
	"context"
	"errors"

	"github.com/kortstation/kortstation/kiosk/rules"
	"github.com/kortstation/kortstation/kiosk/rules/violation"
	"github.com/kortstation/kortstation/kiosk/store"
	"github.com/kortstation/kortstation/sync/protocol"
)

// extendCardRead takes the reserve card to extend from the reader (RC-5).
func (m *Counter) extendCardRead(ctx context.Context, f *flowState, chip string) error {
	c, err := m.st.Card(ctx, chip)
	if errors.Is(err, store.ErrNotFound) {
		return errCardUnknown
	}
	if err != nil {
		return err
	}
	rec, err := m.st.Holder(ctx, c.Number)
	if errors.Is(err, store.ErrNotFound) {
		return errCardUnknown
	}
	if err != nil {
		return err
	}
	c.Holder = rec.Person
	f.card, f.chip, f.recipient, f.reason = c, chip, rec, c.Reason
	f.days = c.ValidityDays
	f.factsAt = m.st.DataAge(ctx, protocol.RefPersonFacts)
	// RC-5 is checked now, before anyone types anything: the rules see
	// the card as it is; identification follows. A card on the registry's
	// list of blocked cards is refused here too (BL-1).
	reg, err := m.st.Registry(ctx, rec.Person, c.Number, chip)
	if err != nil {
		return err
	}
	if err := m.extensionChecks(ctx, f, c, reg); err != nil {
		return err
	}
	f.step = StepIdentity
	return nil
}

// extensionChecks are the checks an extension can fail before anyone
// types anything: the card on the registry's list of blocked cards (BL-1)
// and RC-5 (the rules see the card as it is).
func (m *Counter) extensionChecks(_ context.Context, f *flowState, c rules.Card, reg rules.Registry) error {
	if v := rules.CheckNotBlocked(reg, c.Number); v != nil {
		return v
	}
	if v := rules.CheckTotalStop(reg.StopWindows, m.clock.Now()); v != nil { // CP-3
		return v
	}
	rec := rules.Recipient{Person: c.Holder}
	if f.found != nil {
		rec.Name = f.found.name
	}
	if !f.recipient.IsZero() {
		rec = f.recipient
	}
	_, err := rules.ExtendReserve(rules.ExtensionInput{
		Counter:    rules.Counter{Now: m.clock.Now(), Station: m.place(), Operator: m.sess.operator(), Recipient: rec, RecipientPresent: true},
		Reason:     c.Reason,
		Card:       c,
		ChipSerial: c.Number,
		Registry:   reg,
	})
	var rc5 rules.Violations
	for _, v := range violation.All(err) {
		if v.Rule == "RC-5" {
			rc5 = append(rc5, v)
		}
	}
	if len(rc5) > 0 {
		return rc5
	}
	return nil
}
