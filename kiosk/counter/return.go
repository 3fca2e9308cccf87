package counter

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/google/uuid"

	"github.com/kortstation/kortstation/kiosk/rules"
	"github.com/kortstation/kortstation/kiosk/store"
)

var errCardUnknown = refuse(msg("card_unknown", "Kortet är inte utlämnat från den här stationen. Kontrollera att det är rätt kort; ett kort från en annan station lämnas tillbaka där.", "The card was not handed out at this station. Check that it is the right card; a card from another station is returned there."))

// returnCardRead reads the card handed back and asks the rules (RC-6,
// RC-9).
func (m *Counter) returnCardRead(ctx context.Context, f *flowState, chip string) error {
	c, err := m.st.Card(ctx, chip)
	if errors.Is(err, store.ErrNotFound) {
		return errCardUnknown
	}
	if err != nil {
		return err
	}
	if rec, err := m.st.Holder(ctx, c.Number); err == nil {
		c.Holder = rec.Person
		f.recipient = rec
	}
	f.card, f.chip = c, chip
	reg, err := m.returnRegistry(ctx, c.Number)
	if err != nil {
		return err
	}
	d, err := rules.ReturnCard(rules.ReturnInput{Now: m.clock.Now(), Operator: m.sess.operator(), Card: c, ChipSerial: chip,
		Registry: reg})
	if err != nil {
		f.ret = nil
		return err
	}
	f.ret = &d
	f.step = StepPreview
	return nil
}

func (m *Counter) returnStep(ctx context.Context, f *flowState, step Action, _ json.RawMessage) error {
	if step != ActConfirm || f.step != StepPreview || f.ret == nil {
		return errWrongStep
	}
	// The rules decide again at this instant.
	reg, err := m.returnRegistry(ctx, f.card.Number)
	if err != nil {
		return err
	}
	c, err := m.st.Card(ctx, f.card.Number)
	if err != nil {
		return err
	}
	c.Holder = f.recipient.Person
	d, err := rules.ReturnCard(rules.ReturnInput{Now: m.clock.Now(), Operator: m.sess.operator(), Card: c, ChipSerial: f.chip,
		Registry: reg})
	if err != nil {
		return err
	}
	rec := store.Return{IssuanceID: uuid.NewString(), Card: c, Decision: d, Session: sessionOf(m.sess), At: m.clock.Now()}
	err = recorded(m.st.Update(ctx, m.clock, func(t *store.Tx) error { return t.RecordReturn(ctx, rec) }))
	if err != nil {
		return err
	}
	f.result = map[string]any{"card_number": c.Number, "cut_and_return": d.CutAndReturn, "block_certificates": d.BlockCertificates, "deviation": d.Deviation != nil}
	f.recipient = rules.Recipient{}
	f.step = StepDone
	return nil
}

// returnRegistry is what a return decision needs of the registry: the
// administrators (AD-1) and whether the card is on the list of blocked
// cards (BL-2: its certificates are blocked already).
func (m *Counter) returnRegistry(ctx context.Context, serial string) (rules.Registry, error) {
	admins, err := m.st.AuthorisedAdmins(ctx)
	if err != nil {
		return rules.Registry{}, err
	}
	blocked, err := m.st.Blocked(ctx, serial)
	if err != nil {
		return rules.Registry{}, err
	}
	reg := rules.Registry{AuthorisedAdmins: admins}
	for _, b := range blocked {
		reg.BlockedCards = append(reg.BlockedCards, b.Serial)
	}
	return reg, nil
}
