package counter

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"unicode"

	"github.com/kortstation/kortstation/kiosk/rules"
	"github.com/kortstation/kortstation/kiosk/rules/ident"
	"github.com/kortstation/kortstation/kiosk/store"
	"github.com/kortstation/kortstation/sync/protocol"
)

// Find the person first (issue 13): every flow that concerns a person
// starts with one field that takes a personal number, a card number (typed
// or read from the card in the card reader) or an order number. The
// station shows what it holds about the person — the name it recorded, the
// registry's cards and orders, the reserve card — and runs the checks that
// can already fail (RC-2, RC-3, RC-4, BL-1, CP-4) before anything else is
// typed.

// FindInput is the look-up field.
type FindInput struct {
	Query string `json:"query"`
}

// found is what the look-up found about a person.
type found struct {
	by     string // "personal_number", "card" or "order"
	person rules.Person
	name   string // as the station recorded it; "" when it must be typed
	reg    rules.Registry
	card   string // the card searched for, if any
	order  string // the order searched for (ID-4), if any
	doc    *store.CheckedDocument
}

// findStep is the flow's look-up step: issue and pickup at the recipient
// step, extend and return before the card is read, block before its
// request.
func findStep(f *flowState) bool {
	switch f.kind {
	case KindIssue, KindPickup:
		return f.step == StepRecipient
	case KindExtend, KindReturn:
		return f.step == StepInsert
	case KindBlock:
		return f.step == StepRequest
	}
	return false
}

var errFindEmpty = refuse(msg("find_empty", "Skriv personnummer, kortnummer eller ordernummer.",
	"Type a personal number, a card number or an order number."))

// find looks up query and runs the flow's early checks.
func (m *Counter) find(ctx context.Context, f *flowState, query string) error {
	q := strings.TrimSpace(query)
	if q == "" {
		return errFindEmpty
	}
	f.found = nil
	switch {
	case strings.IndexFunc(q, unicode.IsLetter) >= 0:
		return m.findByOrder(ctx, f, q)
	case isCardNumber(q):
		return m.findCard(ctx, f, rules.NormaliseSerial(q))
	}
	pnr, err := ident.ParsePersonalNumberAt(q, m.clock.Now())
	if err != nil {
		return err
	}
	return m.findPerson(ctx, f, pnr, "personal_number", "")
}

// isCardNumber: digits (spaces and hyphens aside), more than a personal
// number has.
func isCardNumber(q string) bool {
	n := rules.NormaliseSerial(q)
	return len(n) >= 16 && strings.Trim(n, "0123456789") == ""
}

// findByOrder looks up an order number: staff without a Swedish number
// picking up a short-term card (ID-4).
func (m *Counter) findByOrder(ctx context.Context, f *flowState, orderID string) error {
	if f.kind != KindPickup {
		return refuse(msg("find_order_pickup_only", "Ordernummer används bara när ett beställt kort hämtas ut. Skriv personnumret eller kortnumret.",
			"Order numbers are used only when an ordered card is picked up. Type the personal number or the card number."))
	}
	reg, holder, raw, err := m.st.RegistryForOrder(ctx, orderID)
	if errors.Is(err, store.ErrNoOrderFacts) {
		return errNoOrder
	}
	if err != nil {
		return err
	}
	name, err := m.st.NameByHSAID(ctx, holder.HSAID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	f.found = &found{by: "order", person: holder, name: name, reg: reg, order: orderID}
	f.recipient = rules.Recipient{Person: holder, Name: name}
	f.reg, f.factsAt = reg, m.st.DataAge(ctx, protocol.RefPersonFacts)
	if v := rules.CheckTotalStop(reg.StopWindows, m.clock.Now()); v != nil {
		return v
	}
	return m.afterFind(f, m.pickOrder(ctx, f, raw, orderID))
}

// findCard looks up a card number: in extend, return and block the card
// itself; in issue and pickup the person it belongs to.
func (m *Counter) findCard(ctx context.Context, f *flowState, serial string) error {
	switch f.kind {
	case KindExtend, KindReturn, KindBlock:
		c, err := m.st.Card(ctx, serial)
		if errors.Is(err, store.ErrNotFound) {
			if f.kind == KindBlock {
				// A card the station did not hand out: its holder may
				// still be known from the registry's facts.
				if p, perr := m.st.PersonByCard(ctx, serial); perr == nil {
					return m.findPerson(ctx, f, p, "card", serial)
				}
			}
			return errCardUnknown
		}
		if err != nil {
			return err
		}
		rec, err := m.st.Holder(ctx, c.Number)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if !rec.PersonalNumber.IsZero() {
			if err := m.findPerson(ctx, f, rec.PersonalNumber, "card", c.Number); err != nil {
				return err
			}
		} else {
			f.found = &found{by: "card", card: c.Number}
		}
		c.Holder = rec.Person
		return m.cardChecks(ctx, f, c)
	}
	p, err := m.st.PersonByCard(ctx, serial)
	if errors.Is(err, store.ErrNotFound) {
		return refuse(msg("find_card_unknown", "Stationen känner inte till kortnumret. Skriv personens personnummer i stället.",
			"The station does not know this card number. Type the person's personal number instead."))
	}
	if err != nil {
		return err
	}
	return m.findPerson(ctx, f, p, "card", serial)
}

// cardChecks are the checks on the card found in extend (RC-5, BL-1) and
// block (BL-1: the card's state allows a block); the card itself is read
// in the card reader afterwards (RC-9).
func (m *Counter) cardChecks(ctx context.Context, f *flowState, c rules.Card) error {
	switch f.kind {
	case KindExtend:
		if c.Type != rules.CardReserve {
			return refuse(msg("extend_not_reserve", "Bara reservkort kan förlängas.", "Only reserve cards can be extended."))
		}
		reg, err := m.st.Registry(ctx, c.Holder, c.Number)
		if err != nil {
			return err
		}
		return m.extensionChecks(ctx, f, c, reg)
	case KindBlock:
		if err := m.checkNotBlocked(ctx, c.Number); err != nil {
			return err
		}
		if v := rules.CheckTransition(c.EffectiveState(m.clock.Now()), rules.StateBlocked); v != nil {
			return v
		}
		f.card = c
	}
	return nil
}

// findPerson looks up a person by personal number and runs the flow's
// checks: for an issuance RC-2..RC-4 and the total stop; for a pickup the
// order in stock (BL-1, CP-4). When the name is known and nothing is
// refused, the flow moves on to the identification: nothing is typed.
func (m *Counter) findPerson(ctx context.Context, f *flowState, pnr ident.PersonalNumber, by, card string) error {
	p := rules.Person{PersonalNumber: pnr}
	reg, err := m.personRegistry(ctx, f, p, true)
	if err != nil {
		return err
	}
	name, err := m.st.PersonName(ctx, pnr)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	fd := &found{by: by, person: p, name: name, reg: reg, card: card}
	// The person's cards on the registry's list of blocked cards (BL-1),
	// for the screen.
	var serials []string
	for _, c := range reg.Cards {
		serials = append(serials, c.Number)
	}
	blocked, err := m.st.Blocked(ctx, serials...)
	if err != nil {
		return err
	}
	for _, b := range blocked {
		fd.reg.BlockedCards = append(fd.reg.BlockedCards, b.Serial)
	}
	if d, err := m.st.LastDocument(ctx, pnr); err == nil {
		fd.doc = &d
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	f.found = fd
	now := m.clock.Now()
	switch f.kind {
	case KindIssue:
		f.recipient, f.reg, f.factsAt = rules.Recipient{Person: p, Name: name}, reg, m.st.DataAge(ctx, protocol.RefPersonFacts)
		var vs rules.Violations
		vs.Add(rules.CheckTotalStop(reg.StopWindows, now))
		vs = append(vs, rules.CheckReservePrerequisites(reg, p, f.reason, now, "")...)
		if len(vs) > 0 {
			return vs
		}
		if name != "" {
			f.step = StepIdentity
		}
		return nil
	case KindPickup:
		f.recipient, f.reg, f.factsAt = rules.Recipient{Person: p, Name: name}, reg, m.st.DataAge(ctx, protocol.RefPersonFacts)
		if v := rules.CheckTotalStop(reg.StopWindows, now); v != nil {
			return v
		}
		raw, err := m.st.PersonFacts(ctx, store.Canonical(pnr))
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if raw == nil && f.remote != nil && f.remote.pnr == store.Canonical(pnr) {
			raw = f.remote.facts
		}
		return m.afterFind(f, m.pickOrder(ctx, f, raw, ""))
	}
	return nil
}

// afterFind keeps a pickup at the look-up when its order was found but the
// name must still be typed.
func (m *Counter) afterFind(f *flowState, err error) error {
	if err != nil {
		return err
	}
	if f.step == StepIdentity && f.recipient.Name == "" {
		f.step = StepRecipient
	}
	return nil
}

// foundView is the look-up's result as the screen shows it: the person's
// name, number, cards, orders and reserve card, and the document last
// checked.
func foundView(fd *found, f *flowState) map[string]any {
	v := map[string]any{"by": fd.by, "name": fd.name}
	if !fd.person.PersonalNumber.IsZero() {
		v["personal_number"] = fd.person.PersonalNumber.String()
	} else if !fd.person.HSAID.IsZero() {
		v["hsa_id"] = fd.person.HSAID.String()
	}
	if fd.card != "" {
		v["card"] = fd.card
	}
	if fd.order != "" {
		v["order"] = fd.order
	}
	cards := []map[string]any{}
	for _, c := range fd.reg.Cards {
		cards = append(cards, map[string]any{"number": c.Number, "type": c.Type, "state": c.State,
			"station": c.Station, "valid_until": dateText(c.ValidUntil), "blocked": fd.reg.Blocked(c) || c.State == rules.StateBlocked})
	}
	v["cards"] = cards
	orders := []map[string]any{}
	for _, o := range fd.reg.Orders {
		orders = append(orders, map[string]any{"id": o.ID, "kind": o.Kind, "status": o.Status, "card_type": o.CardType,
			"ordered": dateText(o.OrderedAt), "deadline": o.PickupDeadline.String()})
	}
	v["orders"] = orders
	if f.remote != nil && !fd.person.PersonalNumber.IsZero() && f.remote.pnr == store.Canonical(fd.person.PersonalNumber) {
		// The station held nothing about the person and asked the
		// registry: found, none, unavailable or refused (remotefacts.go).
		v["registry"] = f.remote.state
	}
	if fd.doc != nil && f.kind != KindBlock && f.kind != KindReturn {
		v["document"] = map[string]string{"type": fd.doc.Type, "number": fd.doc.Number, "expiry": fd.doc.Expiry}
	}
	return v
}

// findRequest is the find action's payload decoded.
func findInput(data json.RawMessage) (string, error) {
	var req FindInput
	if err := decode(data, &req); err != nil {
		return "", err
	}
	return req.Query, nil
}
