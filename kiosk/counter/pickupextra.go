package counter

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/kortstation/kortstation/kiosk/rules"
	"github.com/kortstation/kortstation/kiosk/store"
)

// Two paths of an ordinary pickup from seed 003 (issue 13, item 7):
//
//   - "Om du saknar identitetshandling behöver din chef vara närvarande
//     vid … uthämtning av e-tjänstekortet. Chefen behöver då ha med sig
//     egen giltig id-handling." A recipient with a Swedish number but no
//     valid ID document is identified by their manager, present at the
//     counter with a valid ID of their own (ID-6, AT-1, AT-3): the operator
//     records that the recipient has no valid document (the ground), then
//     the manager's HSA-ID, name and document; the manager signs the
//     receipt; the manager's document is recorded with the issuance.
//   - "Lämna in gamla och trasiga kort … när du fått ditt nya kort." The
//     recipient hands in their old card with the new one: the operator
//     marks which of the registry's cards of theirs it is; at completion,
//     in the pickup's transaction, it is recorded, voided at the station
//     (RC-8) and its certificates are asked to be blocked (BL-2).

// noDocument takes the pickup of a recipient with a Swedish number who has
// no valid ID document to the manager step (ID-6: attestation only
// without a valid document).
func (m *Counter) noDocument(f *flowState) error {
	if f.recipient.PersonalNumber.IsZero() {
		// ID-4: staff without a Swedish number show their passport.
		return errWrongStep
	}
	if v := rules.CheckAttestationGround(f.recipient.Person, nil, rules.GroundNoValidDocument, m.clock.Now()); v != nil {
		return v
	}
	f.doc, f.attestors, f.ground = nil, nil, rules.GroundNoValidDocument
	f.step = StepManager
	return nil
}

// HandInInput names the old card handed in ("" takes the mark back).
type HandInInput struct {
	Serial string `json:"serial"`
}

// handIn marks (or unmarks) the old card the recipient hands in: one of
// their cards in the registry's facts, not the new one.
func (m *Counter) handIn(f *flowState, data json.RawMessage) error {
	var req HandInInput
	if err := decode(data, &req); err != nil {
		return err
	}
	serial := strings.TrimSpace(req.Serial)
	if serial == "" {
		f.handedIn = nil
		return nil
	}
	for _, c := range oldCards(f) {
		if rules.NormaliseSerial(c.Number) == rules.NormaliseSerial(serial) {
			f.handedIn = &c
			return nil
		}
	}
	return refuse(msg("hand_in.unknown", "Det kortet finns inte bland mottagarens kort i registret. Välj ett av de visade korten.",
		"That card is not among the recipient's cards in the registry. Choose one of the cards shown."))
}

// oldCards are the recipient's cards in the registry's facts that they
// may hand in with the new one: not reserve cards (returned in their own
// flow, RC-6), not the new card, not voided or returned.
func oldCards(f *flowState) []rules.Card {
	var out []rules.Card
	for _, c := range f.reg.Cards {
		if c.Type == rules.CardReserve || !c.Holder.Same(f.recipient.Person) ||
			rules.NormaliseSerial(c.Number) == rules.NormaliseSerial(f.card.Number) ||
			c.State == rules.StateVoided || c.State == rules.StateReturned {
			continue
		}
		out = append(out, c)
	}
	return out
}

// pickupExtraView shows why a manager identifies the recipient, and the
// old cards the recipient may hand in with the one handed in.
func pickupExtraView(f *flowState, d map[string]any) {
	if f.ground != "" {
		d["ground"] = string(f.ground)
	}
	if f.handedIn != nil {
		d["handed_in"] = f.handedIn.Number
	}
	if f.step != StepPreview && f.step != StepSign {
		return
	}
	cards := []map[string]any{}
	for _, c := range oldCards(f) {
		cards = append(cards, map[string]any{"number": c.Number, "type": c.Type})
	}
	d["old_cards"] = cards
}

// recordPickupExtra records, in the pickup's transaction, the manager's
// own ID document (ID-4, seed 003) and the old card handed in.
func (m *Counter) recordPickupExtra(ctx context.Context, t *store.Tx, f *flowState, issuanceID string, now time.Time) error {
	if f.kind != KindPickup {
		return nil
	}
	for _, a := range f.attestors {
		if a.Role == rules.RoleManager && a.Document != nil {
			if err := t.RecordWitnessDocument(ctx, issuanceID, a.HSAID.String(), *a.Document, now); err != nil {
				return err
			}
		}
	}
	if f.handedIn == nil {
		return nil
	}
	return t.RecordHandedIn(ctx, store.HandedIn{Card: *f.handedIn, Holder: f.recipient, NewCard: f.card.Number, IssuanceID: issuanceID,
		Session: sessionOf(m.sess), At: now})
}
