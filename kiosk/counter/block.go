package counter

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/kortstation/kortstation/kiosk/rules"
	"github.com/kortstation/kortstation/kiosk/store"
)

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

// checkNotBlocked refuses a card on the registry's list of blocked cards
// (BL-1).
func (m *Counter) checkNotBlocked(ctx context.Context, serial string) error {
	blocked, err := m.st.Blocked(ctx, serial)
	if err != nil {
		return err
	}
	var reg rules.Registry
	for _, b := range blocked {
		reg.BlockedCards = append(reg.BlockedCards, b.Serial)
	}
	if v := rules.CheckNotBlocked(reg, serial); v != nil {
		return v
	}
	return nil
}
