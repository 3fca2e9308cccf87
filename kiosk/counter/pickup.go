package counter

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/kortstation/kortstation/kiosk/rules"
	"github.com/kortstation/kortstation/kiosk/rules/ident"
	"github.com/kortstation/kortstation/kiosk/rules/violation"
	"github.com/kortstation/kortstation/kiosk/store"
	"github.com/kortstation/kortstation/sync/protocol"
)

// findOrder finds the recipient's open order whose card is in this
// station's stock (pickup).
func (m *Counter) findOrder(ctx context.Context, f *flowState) error {
	raw, err := m.st.PersonFacts(ctx, store.Canonical(f.recipient.PersonalNumber))
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return m.pickOrder(ctx, f, raw, "")
}

// pickOrder takes the first open order in f.reg (only the order with ID
// only, if set) whose card, named in the facts raw, is in this station's
// stock.
func (m *Counter) pickOrder(ctx context.Context, f *flowState, raw json.RawMessage, only string) error {
	for _, o := range f.reg.Orders {
		if o.Kind != rules.OrderRegular || o.Status != rules.OrderOpen || (only != "" && o.ID != only) {
			continue
		}
		serial := store.OrderCardSerial(raw, o.ID)
		if serial == "" {
			continue
		}
		c, err := m.st.Card(ctx, serial)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if c.State != rules.StateInStock {
			continue
		}
		// BL-1: an ordered card the registry has blocked is not picked up.
		if err := m.checkNotBlocked(ctx, c.Number); err != nil {
			return err
		}
		f.order, f.card = o, c
		if rules.PickupExpired(o, m.clock.Now()) {
			f.step = StepVoid
			return refuse(Message{Rule: "CP-4", Key: "pickup.deadline_passed", Text: map[string]string{
				"sv": "Kortet hämtades inte ut i tid (senast " + o.PickupDeadline.String() + ") och ska makuleras.",
				"en": "The card was not picked up in time (by " + o.PickupDeadline.String() + ") and is to be voided."}})
		}
		f.step = StepIdentity
		return nil
	}
	return errNoOrder
}

var errNoOrder = refuse(msg("no_order", "Det finns inget beställt kort till den här personen i stationens lager. Kontrollera personnumret eller beställningsnumret.",
	"There is no ordered card for this person in the station's stock. Check the personal number or the order number."))

// shortTermRecipient starts the pickup of a short-term card by staff
// without a Swedish personal or coordination number (ID-4): the registry
// keys their facts by the order number and names the holder by HSA-ID.
func (m *Counter) shortTermRecipient(ctx context.Context, f *flowState, req RecipientInput) error {
	name := strings.TrimSpace(req.Name)
	if name == "" {
		return refuse(Message{Rule: "RE-4", Key: "name_missing", Text: map[string]string{"sv": "Skriv mottagarens namn.", "en": "Type the recipient's name."}})
	}
	orderID := strings.TrimSpace(req.OrderID)
	reg, holder, raw, err := m.st.RegistryForOrder(ctx, orderID)
	if errors.Is(err, store.ErrNoOrderFacts) {
		return errNoOrder
	}
	if err != nil {
		return err
	}
	f.recipient = rules.Recipient{Person: holder, Name: name}
	f.reg, f.factsAt = reg, m.st.DataAge(ctx, protocol.RefPersonFacts)
	if v := rules.CheckTotalStop(reg.StopWindows, m.clock.Now()); v != nil {
		return v
	}
	return m.pickOrder(ctx, f, raw, orderID)
}

// manager records the manager who accompanies staff without a Swedish
// number: present, not the operator nor an administrator (AT-1, AT-3),
// with a valid ID document of their own (ID-4). They sign the receipt as
// its attestor.
func (m *Counter) manager(ctx context.Context, f *flowState, req ManagerInput) error {
	var vs rules.Violations
	h, err := ident.ParseHSAID(strings.TrimSpace(req.HSAID))
	if err != nil {
		vs.AddErr(err)
	}
	doc, err := documentOf(req.Document)
	if err != nil {
		return err
	}
	vs = append(vs, rules.CheckDocument(doc, m.clock.Now(), false)...)
	a := rules.Attestor{Person: rules.Person{HSAID: h}, Name: strings.TrimSpace(req.Name), Role: rules.RoleManager, Present: true, Document: &doc}
	if a.Name == "" { // the receipt names the attestor (RE-4)
		vs.Add(violation.New("AT-1", violation.KeyAttestorUnidentified, "attestor", "1"))
	}
	if !h.IsZero() {
		vs = append(vs, rules.CheckAttestation(rules.AttestationCheck{
			Recipient: f.recipient.Person, RecipientPresent: true, Operator: m.sess.operator().Person,
			Attestors: []rules.Attestor{a}, AuthorisedAdmins: f.reg.AuthorisedAdmins, Required: 1,
		})...)
	}
	if len(vs) > 0 {
		return vs
	}
	f.attestors = []rules.Attestor{a}
	return m.afterIdentity(ctx, f)
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
