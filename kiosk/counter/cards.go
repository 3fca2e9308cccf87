package counter

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/google/uuid"

	"github.com/kortstation/kortstation/kiosk/rules"
	"github.com/kortstation/kortstation/kiosk/rules/violation"
	"github.com/kortstation/kortstation/kiosk/store"
	"github.com/kortstation/kortstation/sync/protocol"
)

var errCardUnknown = refuse(msg("card_unknown", "Kortet är inte utlämnat från den här stationen.", "The card was not handed out at this station."))

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
	if v := rules.CheckNotBlocked(reg, c.Number); v != nil {
		return v
	}
	_, err = rules.ExtendReserve(rules.ExtensionInput{
		Counter:    rules.Counter{Now: m.clock.Now(), Station: m.place(), Operator: m.sess.operator(), Recipient: rec, RecipientPresent: true},
		Reason:     c.Reason,
		Card:       c,
		ChipSerial: chip,
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
	f.step = StepIdentity
	return nil
}

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

// blockStep sends a block request with its reason (BL-1).
func (m *Counter) blockStep(ctx context.Context, f *flowState, step Action, data json.RawMessage) error {
	if step != ActRequest || f.step != StepRequest {
		return errWrongStep
	}
	var req struct {
		Serial string `json:"serial"`
		Reason string `json:"reason"`
	}
	if err := decode(data, &req); err != nil {
		return err
	}
	serial := strings.TrimSpace(req.Serial)
	if serial == "" {
		serial = f.card.Number
	}
	c, err := m.st.Card(ctx, serial)
	if errors.Is(err, store.ErrNotFound) {
		return errCardUnknown
	}
	if err != nil {
		return err
	}
	now := m.clock.Now()
	d, err := rules.RequestBlock(rules.BlockInput{Now: now, Card: c, Reason: rules.BlockReason(req.Reason), Requester: m.sess.operator().Person})
	if err != nil {
		f.card = c
		return err
	}
	req2 := store.BlockRequest{Card: c, NewState: d.NewState, Reason: req.Reason, Session: sessionOf(m.sess), At: now}
	err = recorded(m.st.Update(ctx, m.clock, func(t *store.Tx) error { return t.RecordBlockRequest(ctx, req2) }))
	if err != nil {
		return err
	}
	f.card = c
	f.result = map[string]any{"card_number": c.Number, "reason": req.Reason, "cut_and_return": d.CutAndReturn}
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
