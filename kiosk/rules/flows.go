package rules

import (
	"time"

	"github.com/kortstation/kortstation/kiosk/rules/calendar"
	"github.com/kortstation/kortstation/kiosk/rules/violation"
)

// IssuanceDecision is the answer to "may this card be handed out now, and
// what are its dates?". Fields that could be computed are set even when
// the error is not nil, so the UI can show them beside the violations; act
// on a decision only when the error is nil.
type IssuanceDecision struct {
	CardNumber string    `json:"card_number"`
	CardType   CardType  `json:"card_type"`
	NewState   CardState `json:"new_state"`
	ValidFrom  time.Time `json:"valid_from,omitzero"`
	// ValidUntil is the first instant the card is no longer valid.
	ValidUntil time.Time `json:"valid_until,omitzero"`
	// ValidThrough is the last valid day, as printed on the receipt.
	ValidThrough calendar.Date `json:"valid_through,omitzero"`
	// ValidityDays is the reserve card's validity in days.
	ValidityDays int `json:"validity_days,omitempty"`
	// ExpectedApproval is when the central service is expected to approve
	// (CP-2); zero for ordinary pickups.
	ExpectedApproval time.Time `json:"expected_approval,omitzero"`
	// ReceiptDeadline is the latest the receipt may reach the central
	// service and surely be in time (RE-2): the deadline as if the card
	// were activated now. The station sends it at once anyway (RE-1).
	ReceiptDeadline time.Time `json:"receipt_deadline,omitzero"`
	// Notifications are to be sent once the receipt is signed (RE-5).
	Notifications []Notification `json:"notifications,omitempty"`
	// Receipt is the receipt to sign, complete but for the signatures
	// (RE-4); seal it with Seal once signed.
	Receipt Receipt `json:"receipt"`
	// Void says the card is to be voided instead (CP-4).
	Void bool `json:"void,omitempty"`
}

// Counter is who and what is at the counter when a card is handed to a
// person: common to issuance, extension and pickup. Embedded, its fields
// stay at the top level of the JSON.
type Counter struct {
	Now              time.Time   `json:"now"`
	Station          string      `json:"station"`
	Operator         Operator    `json:"operator"`
	Recipient        Recipient   `json:"recipient"`
	RecipientPresent bool        `json:"recipient_present"`
	Document         *IDDocument `json:"document,omitempty"`
	Attestors        []Attestor  `json:"attestors,omitempty"`
	// AttestationGround is why attestors identify the recipient instead
	// of an ID document, as the operator recorded it (ID-6); required with
	// attestors for a reserve issuance or extension.
	AttestationGround AttestationGround `json:"attestation_ground,omitempty"`
}

// AttestationGround is why a recipient is identified by attestation: they
// lack a Swedish personal number or a valid ID document (ID-6).
type AttestationGround string

// The grounds for attestation (ID-6).
const (
	GroundNoPersonalNumber AttestationGround = "no_personal_number"
	GroundNoValidDocument  AttestationGround = "no_valid_document"
)

// Valid reports whether g is one of the grounds.
func (g AttestationGround) Valid() bool {
	return g == GroundNoPersonalNumber || g == GroundNoValidDocument
}

// ReserveIssuanceInput is everything a reserve-card issuance depends on.
type ReserveIssuanceInput struct {
	Counter
	Reason Reason `json:"reason"`
	// RequestedDays is the validity asked for; 0 means the table's maximum.
	RequestedDays int `json:"requested_days,omitempty"`
	// Card is the stock card the operator took out of the drawer.
	Card Card `json:"card"`
	// ChipSerial is the serial read from the card in the reader (RC-9).
	ChipSerial string   `json:"chip_serial"`
	ReceiptID  string   `json:"receipt_id"`
	Registry   Registry `json:"registry"`
}

// IssueReserve decides a reserve-card issuance: the operator authorised
// (AD-1); no total stop (CP-3); the recipient identified by document or
// attestation (ID-1..ID-6, AT-1..AT-3, RE-1); reason and validity from the
// table (RC-1); the registry's prerequisites (RC-2..RC-4); the stock card
// and its chip (RC-9). It returns every violation and, in the decision,
// the card's dates, the expected approval (CP-2), the receipt to sign
// (RE-4) and the notifications (RE-5).
func IssueReserve(in ReserveIssuanceInput) (IssuanceDecision, error) {
	var vs Violations
	d := IssuanceDecision{CardNumber: in.Card.Number, CardType: CardReserve, NewState: StateHandedOut}
	vs.Add(CheckOperator(in.Operator, in.Registry.AuthorisedAdmins))
	vs = append(vs, CheckStopWindows(in.Registry.StopWindows)...)
	vs.Add(CheckTotalStop(in.Registry.StopWindows, in.Now))
	vs = append(vs, identification{
		now: in.Now, recipient: in.Recipient, recipientPresent: in.RecipientPresent,
		operator: in.Operator, document: in.Document, attestors: in.Attestors, ground: in.AttestationGround,
		typedAllowed: in.Registry.TypedAttestors, admins: in.Registry.AuthorisedAdmins, required: ReserveAttestors,
	}.check()...)
	days, dv := in.Registry.Validity.ReserveDays(in.Reason, in.RequestedDays)
	vs = append(vs, dv...)
	vs = append(vs, CheckReservePrerequisites(in.Registry, in.Recipient.Person, in.Reason, in.Now, in.Card.Number)...)
	vs = append(vs, checkStockCard(in.Card, CardReserve, in.ChipSerial)...)
	vs.Add(CheckNotBlocked(in.Registry, in.Card.Number))
	fillDates(&d, in.Now, days, &vs, in.Registry)
	d.Notifications = IssuedNotifications(in.Card.Number, in.Recipient.Person, attestorPersons(in.Attestors))
	d.Receipt = draftReceipt(ReceiptReserveIssuance, in.ReceiptID, in.Station, in.Now, in.Recipient, in.Operator,
		in.Card.Number, CardReserve, in.Reason, d, receiptDocument(in.Document, in.Attestors), in.Attestors)
	if len(in.Attestors) > 0 {
		d.Receipt.AttestationGround = in.AttestationGround
	}
	return d, vs.Err()
}

// ExtensionInput is everything a reserve-card extension depends on.
type ExtensionInput struct {
	Counter
	// Reason must be the reason of the issue (RC-5).
	Reason Reason `json:"reason"`
	// RequestedDays must be 0 or the validity at issue (RC-5).
	RequestedDays int `json:"requested_days,omitempty"`
	// Card is the reserve card to extend, as the registry knows it.
	Card       Card     `json:"card"`
	ChipSerial string   `json:"chip_serial"`
	ReceiptID  string   `json:"receipt_id"`
	Registry   Registry `json:"registry"`
}

// ExtendReserve decides the single extension of a reserve card (RC-5): a
// reserve card of this recipient, not extended before, asked for on or
// before the issue date + 7 months, for the same reason, by the same
// validity as at issue — which is kept even if the table has changed since.
// The new validity counts from the extension, as the central service
// issues new certificates then. The operator, stops, identification, the
// registry's prerequisites and the chip are checked as for an issuance.
func ExtendReserve(in ExtensionInput) (IssuanceDecision, error) {
	var vs Violations
	c := in.Card
	d := IssuanceDecision{CardNumber: c.Number, CardType: CardReserve, NewState: StateHandedOut}
	vs.Add(CheckOperator(in.Operator, in.Registry.AuthorisedAdmins))
	vs = append(vs, CheckStopWindows(in.Registry.StopWindows)...)
	vs.Add(CheckTotalStop(in.Registry.StopWindows, in.Now))
	vs = append(vs, identification{
		now: in.Now, recipient: in.Recipient, recipientPresent: in.RecipientPresent,
		operator: in.Operator, document: in.Document, attestors: in.Attestors, ground: in.AttestationGround,
		typedAllowed: in.Registry.TypedAttestors, admins: in.Registry.AuthorisedAdmins, required: ReserveAttestors,
	}.check()...)
	if c.Type != CardReserve {
		vs.Add(violation.New("RC-5", violation.KeyExtensionNotReserve, "card_number", c.Number))
	}
	if !c.Holder.Same(in.Recipient.Person) {
		vs.Add(violation.New("RC-5", violation.KeyExtensionOtherHolder, "card_number", c.Number))
	}
	if !c.ExtendedAt.IsZero() {
		vs.Add(violation.New("RC-5", violation.KeyExtensionTwice, "extended", fmtTime(c.ExtendedAt)))
	}
	if c.IssuedAt.IsZero() {
		vs.Add(violation.New("RC-5", violation.KeyExtensionTooLate, "issued", "?", "deadline", "?"))
	} else if dl := ExtensionDeadline(c.IssuedAt); calendar.DateOf(in.Now).After(dl) {
		vs.Add(violation.New("RC-5", violation.KeyExtensionTooLate,
			"issued", calendar.DateOf(c.IssuedAt).String(), "deadline", dl.String()))
	}
	if in.Reason != c.Reason {
		vs.Add(violation.New("RC-5", violation.KeyExtensionReason, "reason", string(in.Reason), "original", string(c.Reason)))
	}
	days := c.ValidityDays
	if days < 1 || days > MaxReserveDays || (in.RequestedDays != 0 && in.RequestedDays != days) {
		vs.Add(violation.New("RC-5", violation.KeyExtensionValidity,
			"requested", itoa(in.RequestedDays), "original", itoa(c.ValidityDays)))
		days = 0
	}
	vs = append(vs, CheckReservePrerequisites(in.Registry, in.Recipient.Person, in.Reason, in.Now, c.Number)...)
	vs.Add(CheckTransition(c.EffectiveState(in.Now), StateHandedOut))
	vs.Add(CheckChip(c.Number, in.ChipSerial))
	vs.Add(CheckNotBlocked(in.Registry, c.Number))
	fillDates(&d, in.Now, days, &vs, in.Registry)
	d.Notifications = IssuedNotifications(c.Number, in.Recipient.Person, attestorPersons(in.Attestors))
	d.Receipt = draftReceipt(ReceiptReserveExtension, in.ReceiptID, in.Station, in.Now, in.Recipient, in.Operator,
		c.Number, CardReserve, in.Reason, d, receiptDocument(in.Document, in.Attestors), in.Attestors)
	if len(in.Attestors) > 0 {
		d.Receipt.AttestationGround = in.AttestationGround
	}
	return d, vs.Err()
}

// PickupInput is everything an ordinary card pickup depends on.
type PickupInput struct {
	// Counter.Attestors: for a recipient without an ID document or without
	// a Swedish number, at least one, a manager present with a valid ID
	// document among them (ID-4, ID-6).
	Counter
	// Order is the registry's order of the card.
	Order Order `json:"order"`
	// Card is the produced card in stock at the station.
	Card       Card     `json:"card"`
	ChipSerial string   `json:"chip_serial"`
	ReceiptID  string   `json:"receipt_id"`
	Registry   Registry `json:"registry"`
}

// PickupCard decides the pickup of an ordered card: the operator
// authorised (AD-1); no total stop (CP-3); not past the pickup deadline —
// otherwise the decision says Void (CP-4); an open order of the recipient
// matching the stock card (CP-1) and its chip (RC-9); the ID document
// valid three months after the order (ID-1..ID-3, ID-5); for staff without
// a Swedish number a short-term card, a passport valid six months after
// the issue and their manager present with a valid ID (ID-4); attestation
// only without a valid ID document or Swedish number (ID-6, AT-1, AT-3).
func PickupCard(in PickupInput) (IssuanceDecision, error) {
	var vs Violations
	o := in.Order
	d := IssuanceDecision{CardNumber: in.Card.Number, CardType: o.CardType, NewState: StateHandedOut}
	vs.Add(CheckOperator(in.Operator, in.Registry.AuthorisedAdmins))
	vs = append(vs, CheckStopWindows(in.Registry.StopWindows)...)
	vs.Add(CheckTotalStop(in.Registry.StopWindows, in.Now))
	if PickupExpired(o, in.Now) {
		d.Void = true
		d.NewState = StateVoided
		vs.Add(violation.New("CP-4", violation.KeyPickupDeadlinePassed, "deadline", o.PickupDeadline.String()))
	}
	if o.Kind != OrderRegular || o.Status != OrderOpen || !o.CardType.Valid() || o.CardType == CardReserve {
		vs.Add(violation.New("CP-1", violation.KeyOrderNotOpen, "order", o.ID))
	}
	if !o.Holder.Same(in.Recipient.Person) {
		vs.Add(violation.New("CP-1", violation.KeyOrderOtherHolder, "order", o.ID))
	}
	vs = append(vs, checkStockCard(in.Card, o.CardType, in.ChipSerial)...)
	vs.Add(CheckNotBlocked(in.Registry, in.Card.Number))
	vs = append(vs, pickupIdentification(in)...)
	if in.Recipient.PersonalNumber.IsZero() && o.CardType != CardShortTerm {
		vs.Add(violation.New("ID-4", violation.KeyShortTermOnly, "type", string(o.CardType)))
	}
	if o.CardType.Valid() && o.CardType != CardReserve {
		until, _ := CardValidUntil(o.CardType, in.Now, 0)
		d.ValidFrom, d.ValidUntil = in.Now, until
		d.ValidThrough = calendar.DateOf(until).AddDays(-1)
	}
	doc := receiptDocument(in.Document, in.Attestors)
	if in.Recipient.PersonalNumber.IsZero() {
		doc = in.Document // ID-4: the passport and the attestation
	}
	d.Receipt = draftReceipt(ReceiptPickup, in.ReceiptID, in.Station, in.Now, in.Recipient, in.Operator,
		in.Card.Number, o.CardType, "", d, doc, in.Attestors)
	if len(in.Attestors) > 0 && !in.Recipient.PersonalNumber.IsZero() {
		// ID-6: without a valid ID document, their manager present with
		// their own; the receipt records why (seed 003).
		d.Receipt.AttestationGround = in.AttestationGround
		vs.Add(CheckAttestationGround(in.Recipient.Person, in.Document, in.AttestationGround, in.Now))
	}
	return d, vs.Err()
}

func pickupIdentification(in PickupInput) Violations {
	var vs Violations
	rec := in.Recipient
	if rec.IsZero() {
		vs.Add(violation.New("ID-5", violation.KeyRecipientUnidentified))
	}
	foreign := rec.PersonalNumber.IsZero()
	if !in.RecipientPresent {
		vs.Add(violation.New("RE-1", violation.KeyRecipientAbsent))
	}
	if foreign {
		if in.Document == nil {
			vs.Add(violation.New("ID-4", violation.KeyDocPassportRequired, "type", ""))
		} else {
			vs = append(vs, CheckPassportForShortTerm(*in.Document, in.Now)...)
		}
		if !managerWithID(in.Attestors, in.Now) {
			vs.Add(violation.New("ID-4", violation.KeyManagerRequired))
		}
	} else {
		docOK := false
		if in.Document != nil {
			dv := CheckDocumentForPickup(*in.Document, in.Order.OrderedAt, in.Now)
			docOK = len(dv) == 0
			if len(in.Attestors) == 0 {
				vs = append(vs, dv...)
			}
		}
		switch {
		case len(in.Attestors) == 0 && in.Document == nil:
			vs.Add(violation.New("ID-6", violation.KeyIdentificationMissing))
		case len(in.Attestors) > 0 && docOK:
			vs.Add(violation.New("ID-6", violation.KeyAttestationNotAllowed))
		case len(in.Attestors) > 0 && !managerWithID(in.Attestors, in.Now):
			vs.Add(violation.New("ID-6", violation.KeyManagerRequired))
		}
	}
	if len(in.Attestors) > 0 {
		for _, v := range CheckAttestation(AttestationCheck{
			Recipient: rec.Person, RecipientPresent: in.RecipientPresent,
			Operator: in.Operator.Person, Attestors: in.Attestors,
			AuthorisedAdmins: in.Registry.AuthorisedAdmins, Required: 1,
		}) {
			if v.Key != violation.KeyRecipientAbsent { // already RE-1
				vs.Add(v)
			}
		}
	}
	return vs
}

// managerWithID reports whether a manager is present with a valid,
// accepted ID document of their own.
func managerWithID(as []Attestor, now time.Time) bool {
	for _, a := range as {
		if a.Role == RoleManager && a.Present && a.Document != nil && a.Document.usable(now, false) {
			return true
		}
	}
	return false
}

// ReturnInput is a card coming back to a station.
type ReturnInput struct {
	Now        time.Time `json:"now"`
	Operator   Operator  `json:"operator"`
	Card       Card      `json:"card"`
	ChipSerial string    `json:"chip_serial"`
	Registry   Registry  `json:"registry"`
}

// ReturnDecision is what follows a return.
type ReturnDecision struct {
	CardNumber string    `json:"card_number"`
	NewState   CardState `json:"new_state"`
	// BlockCertificates: the card's certificates are live or may become
	// so; the central service blocks them (BL-2) before anything is
	// removed from the card.
	BlockCertificates bool `json:"block_certificates"`
	// CutAndReturn: reserve and short-term cards are cut through chip and
	// stripe and sent back (RC-8).
	CutAndReturn bool `json:"cut_and_return"`
	// Deviation is set when the card comes back late (RC-6).
	Deviation *Deviation `json:"deviation,omitempty"`
}

// BlockOnReturn reports whether a card coming back must have its
// certificates blocked (BL-2): they are live or may become so (handed out,
// approved, activated) and not blocked already.
func BlockOnReturn(c Card, now time.Time, blocked bool) bool {
	state := c.EffectiveState(now)
	return (state == StateHandedOut || state == StateApproved || state == StateActivated) && !blocked
}

// ReturnCard decides a return (RC-6): the operator authorised (AD-1), the
// chip matching the card (RC-9), and a state a card can be returned from.
// Returns are allowed during stops.
func ReturnCard(in ReturnInput) (ReturnDecision, error) {
	var vs Violations
	c := in.Card
	state := c.EffectiveState(in.Now)
	d := ReturnDecision{CardNumber: c.Number, NewState: StateReturned,
		BlockCertificates: BlockOnReturn(c, in.Now, in.Registry.Blocked(c)),
		CutAndReturn:      c.Type == CardReserve || c.Type == CardShortTerm}
	vs.Add(CheckOperator(in.Operator, in.Registry.AuthorisedAdmins))
	vs.Add(CheckChip(c.Number, in.ChipSerial))
	vs.Add(CheckTransition(state, StateReturned))
	cards := append([]Card{c}, in.Registry.Cards...)
	for _, dev := range Unreturned(cards, in.Now, 0) {
		if dev.CardNumber == c.Number {
			d.Deviation = &dev
			break
		}
	}
	return d, vs.Err()
}

// checkStockCard checks the card taken out of stock: the right type, in
// stock, and its chip matching its number (RC-9).
func checkStockCard(c Card, want CardType, chip string) Violations {
	var vs Violations
	if c.Number == "" {
		vs.Add(violation.New("RC-9", violation.KeyCardNumberMissing))
	}
	if c.Type != want {
		vs.Add(violation.New("RC-9", violation.KeyCardWrongType, "type", string(c.Type), "want", string(want)))
	}
	vs.Add(CheckTransition(c.State, StateHandedOut))
	if c.Number != "" {
		vs.Add(CheckChip(c.Number, chip))
	}
	return vs
}

// fillDates sets a reserve decision's dates for days of validity from now.
func fillDates(d *IssuanceDecision, now time.Time, days int, vs *Violations, reg Registry) {
	if days > 0 {
		d.ValidityDays = days
		d.ValidFrom = now
		d.ValidUntil = DaysValidUntil(now, days)
		d.ValidThrough = calendar.DateOf(now).AddDays(days - 1)
	}
	d.ReceiptDeadline = ReceiptDeadline(now)
	t, err := ExpectedApproval(now, reg)
	if err != nil {
		vs.AddErr(err)
		return
	}
	d.ExpectedApproval = t
}

func attestorPersons(as []Attestor) []Person {
	out := make([]Person, 0, len(as))
	for _, a := range as {
		out = append(out, a.Person)
	}
	return out
}

func draftReceipt(kind ReceiptKind, id, place string, now time.Time, rec Recipient, op Operator,
	card string, ct CardType, reason Reason, d IssuanceDecision, doc *IDDocument, as []Attestor) Receipt {
	r := Receipt{
		ID: id, Kind: kind, Recipient: rec.Person, RecipientName: rec.Name,
		CardNumber: card, CardType: ct, ValidFrom: d.ValidFrom, ValidUntil: d.ValidUntil,
		Reason: reason, Operator: op.Person, OperatorName: op.Name, At: now, Place: place,
	}
	if len(as) > 0 {
		for _, a := range as {
			r.Attestors = append(r.Attestors, ReceiptAttestor{Person: a.Person, Name: a.Name, Role: a.Role, Proof: a.Proof})
		}
	}
	if doc != nil {
		cp := *doc
		r.Document = &cp
	}
	return r
}

// receiptDocument is the document a receipt records: the one that
// identified the recipient, none when attestation did.
func receiptDocument(doc *IDDocument, as []Attestor) *IDDocument {
	if len(as) > 0 {
		return nil
	}
	return doc
}
