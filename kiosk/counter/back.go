package counter

import (
	"context"
	"encoding/json"
	"slices"
	"strings"

	"github.com/kortstation/kortstation/kiosk/audit"
	"github.com/kortstation/kortstation/kiosk/receiptpdf"
	"github.com/kortstation/kortstation/kiosk/rules"
	"github.com/kortstation/kortstation/kiosk/store"
)

// Back and undo (issue 13): a step back that keeps what was entered, a
// cancel that says what to do with a card taken from the drawer and
// records it, and a wrong scan taken off a shipment. (A signature is
// redone by signing again: sign.go keeps the latest until the receipt is
// completed.)

// backState is what the screen is told after a step back or a cancel.
type backState struct {
	// putBack is a card chosen from the drawer and given up by a step
	// back: it goes back into the drawer.
	putBack string
}

// Card dispositions on cancel.
const (
	CardToDrawer = "drawer" // the card is put back into the drawer unused
	CardVoid     = "void"   // the card is voided (cut, RC-8)
)

// undoStep handles the flow's back and remove actions; handled is false
// for every other action.
func (m *Counter) undoStep(ctx context.Context, f *flowState, step Action, data json.RawMessage) (handled bool, err error) {
	switch step {
	case ActBack:
		return true, m.back(ctx, f)
	case ActRemove:
		if f.kind != KindStockReceive || f.step != StepScan {
			return true, errWrongStep
		}
		var req struct {
			Serial string `json:"serial"`
		}
		if err := decode(data, &req); err != nil {
			return true, err
		}
		i := slices.Index(f.serials, strings.TrimSpace(req.Serial))
		if i < 0 {
			return true, refuse(msg("scan_not_listed", "Kortet finns inte i listan.", "The card is not on the list."))
		}
		f.serials = slices.Delete(f.serials, i, i+1)
		if len(f.serials) == 0 {
			f.shipmentRef = ""
		}
		return true, nil
	}
	return false, nil
}

// previousStep is the step before f's, or "" when there is none to go
// back to.
func previousStep(f *flowState) Step {
	switch f.kind {
	case KindIssue:
		switch f.step {
		case StepRecipient:
			return StepReason
		case StepIdentity:
			return StepRecipient
		case StepCard:
			return StepIdentity
		case StepInsert:
			return StepCard
		case StepPreview:
			return StepInsert
		case StepSign:
			return StepPreview
		}
	case KindPickup:
		switch f.step {
		case StepIdentity, StepVoid:
			return StepRecipient
		case StepManager:
			return StepIdentity
		case StepInsert:
			if f.recipient.PersonalNumber.IsZero() && len(f.attestors) > 0 {
				return StepManager
			}
			return StepIdentity
		case StepPreview:
			return StepInsert
		case StepSign:
			return StepPreview
		}
	case KindExtend:
		switch f.step {
		case StepIdentity:
			return StepInsert
		case StepPreview:
			return StepIdentity
		case StepSign:
			return StepPreview
		}
	case KindReturn:
		if f.step == StepPreview {
			return StepInsert
		}
	case KindAdmins:
		if f.step == StepManager {
			return StepList // what was typed stays
		}
	case KindBlock:
		if f.step == StepRequest && (f.found != nil || f.card.Number != "") {
			return StepRequest // back to the look-up
		}
	}
	return ""
}

// back moves f one step back. What was entered stays (the screen keeps
// its fields; the server keeps the recipient, the identification and the
// signatures), except what the step back undoes: the card read in the
// reader, the decision; a card chosen from the drawer goes back into it.
func (m *Counter) back(ctx context.Context, f *flowState) error {
	prev := previousStep(f)
	if prev == "" {
		return refuse(msg("no_back", "Det finns inget steg att gå tillbaka till.", "There is no step to go back to."))
	}
	f.back = backState{}
	switch {
	case f.kind == KindBlock:
		f.card, f.found = rules.Card{}, nil
	case f.kind == KindAdmins:
		f.attLogin, f.admins.manager = nil, nil
	case f.step == StepInsert && prev == StepCard:
		// The card chosen from the drawer goes back into it.
		f.back.putBack = f.card.Number
		m.auditCard(ctx, f, "flow.card_put_back", f.card.Number, CardToDrawer)
		f.card, f.chip = rules.Card{}, ""
	case f.step == StepPreview && prev == StepInsert:
		f.chip, f.decision, f.ret = "", nil, nil
		if f.kind == KindReturn {
			f.card, f.recipient, f.found = rules.Card{}, rules.Recipient{}, nil
		}
	case f.step == StepIdentity && prev == StepInsert: // extend: another card
		f.chip, f.card, f.recipient, f.found = "", rules.Card{}, rules.Recipient{}, nil
	case f.step == StepSign:
		// The receipt may change: its signatures are drawn again.
		f.sigs = map[string]receiptpdf.Signature{}
		f.noSign, f.attLogin = nil, nil
	case f.step == StepPreview:
		f.decision = nil
	case f.step == StepIdentity:
		f.attLogin = nil
	}
	f.step = prev
	return nil
}

// cardOut is the card that has left the drawer in f and is not yet
// handed out: chosen for an issuance, or the ordered card taken out for a
// pickup, once the drawer was opened.
func cardOut(f *flowState) string {
	if f == nil || f.result != nil || f.card.Number == "" || !f.drawerOpened {
		return ""
	}
	if f.kind != KindIssue && f.kind != KindPickup {
		return ""
	}
	switch f.step {
	case StepInsert, StepPreview, StepSign:
		return f.card.Number
	}
	return ""
}

// entered says whether anything was entered in f that a cancel discards.
func entered(f *flowState) bool {
	if f == nil || f.result != nil {
		return false
	}
	if f.found != nil || !f.recipient.IsZero() || len(f.serials) > 0 || f.card.Number != "" {
		return true
	}
	switch f.kind {
	case KindIssue:
		return f.step != StepReason
	case KindPickup:
		return f.step != StepRecipient
	case KindExtend, KindReturn:
		return f.step != StepInsert
	}
	return false
}

// cancelRequest leaves the flow. When a card has left the drawer the
// operator says what happens to it — back into the drawer or voided — and
// that is recorded in the audit log; without that answer nothing is
// cancelled.
func (m *Counter) cancelRequest(ctx context.Context, _ string, payload json.RawMessage) (any, error) {
	f := m.flow
	if f == nil {
		return nil, nil
	}
	var req struct {
		Card string `json:"card"`
	}
	if err := decode(payload, &req); err != nil {
		return nil, err
	}
	serial := cardOut(f)
	switch {
	case serial == "":
		m.auditCard(ctx, f, "flow.cancelled", "", "")
	case req.Card == CardToDrawer:
		m.auditCard(ctx, f, "flow.cancelled", serial, CardToDrawer)
	case req.Card == CardVoid:
		c, err := m.st.Card(ctx, serial)
		if err != nil {
			return nil, err
		}
		if v := rules.CheckTransition(c.State, rules.StateVoided); v != nil {
			return nil, v
		}
		if err := m.recordVoid(ctx, c, "RC-8", m.clock.Now()); err != nil {
			return nil, err
		}
		m.auditCard(ctx, f, "flow.cancelled", serial, CardVoid)
	default:
		return nil, refuse(msg("cancel_card", "Kortet "+serial+" är taget ur lådan. Välj om det läggs tillbaka i lådan eller makuleras.",
			"Card "+serial+" has been taken from the drawer. Choose whether it goes back into the drawer or is voided."))
	}
	m.flow = nil
	return nil, nil
}

// auditCard records a step back or a cancel, and what happened to a card
// taken from the drawer. No personal data: the flow, the step and the
// card number.
func (m *Counter) auditCard(ctx context.Context, f *flowState, kind, serial, disposition string) {
	if m.sess == nil {
		return
	}
	detail := map[string]any{"flow": string(f.kind), "step": string(f.step), "session": m.sess.id}
	if serial != "" {
		detail["card"], detail["card_disposition"] = serial, disposition
	}
	err := m.st.Update(ctx, m.clock, func(t *store.Tx) error {
		_, err := t.Audit(ctx, audit.Entry{Kind: kind, Actor: m.sess.hsaID.String(), Subject: m.sess.id, Detail: detail})
		return err
	})
	if err != nil {
		m.log.Error("cancel not audited", "err", err)
	}
}

// backView tells the screen whether Back is offered, whether a cancel
// must ask first and about which card, and which card goes back into the
// drawer after a step back.
func backView(f *flowState, d map[string]any) {
	d["can_back"] = previousStep(f) != ""
	d["entered"] = entered(f)
	if s := cardOut(f); s != "" {
		d["card_out"] = s
	}
	if f.back.putBack != "" && f.step == StepCard {
		d["put_back"] = f.back.putBack
	}
	if f.found != nil {
		d["found"] = foundView(f.found, f)
	}
}
