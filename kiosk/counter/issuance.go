package counter

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/kortstation/kortstation/kiosk/receiptpdf"
	"github.com/kortstation/kortstation/kiosk/rules"
	"github.com/kortstation/kortstation/kiosk/rules/calendar"
	"github.com/kortstation/kortstation/kiosk/rules/ident"
	"github.com/kortstation/kortstation/kiosk/rules/violation"
	"github.com/kortstation/kortstation/kiosk/store"
	"github.com/kortstation/kortstation/sync/protocol"
)

// issuance is what an issuance, an extension or a pickup gathers on the
// way to its receipt: the reason and its validity, the registry's facts,
// the identification, the order picked up, the decision and the
// signatures.
type issuance struct {
	reason    rules.Reason
	days      int
	reg       rules.Registry
	factsAt   time.Time
	doc       *rules.IDDocument
	attestors []rules.Attestor
	ground    rules.AttestationGround // why attestors identify the recipient (ID-6)
	// attLogin is an attestor's card waiting for its PIN; cardAttestors
	// are the attestors who proved who they are with their card (AT-1).
	attLogin      *attestorLogin
	cardAttestors []rules.Attestor
	order         rules.Order
	receiptID     string
	decision      *rules.IssuanceDecision
	sigs          map[string]receiptpdf.Signature
	noSign        *noSignState // the recipient cannot sign (nosign.go)
}

// RecipientInput is the recipient step: personal or coordination number
// and name, as typed on the on-screen keyboard. Staff without a Swedish
// number picking up a short-term card give the registry's order number
// instead (ID-4).
type RecipientInput struct {
	PersonalNumber string `json:"personal_number"`
	Name           string `json:"name"`
	OrderID        string `json:"order_id,omitempty"`
}

// ManagerInput is the manager who accompanies staff without a Swedish
// number, with their own valid ID document (ID-4).
type ManagerInput struct {
	HSAID    string        `json:"hsa_id"`
	Name     string        `json:"name"`
	Document DocumentInput `json:"document"`
}

// DocumentInput is the ID document step (ID-1, ID-2, ID-5).
type DocumentInput struct {
	Type   string `json:"type"`
	Number string `json:"number"`
	Expiry string `json:"expiry"` // YYYY-MM-DD
	Intact bool   `json:"intact"`
}

// AttestorInput is one attestor (AT-1..AT-3).
type AttestorInput struct {
	HSAID string `json:"hsa_id"`
	Name  string `json:"name"`
	Role  string `json:"role"`
}

// SignatureInput is one signature drawn on the pad.
type SignatureInput struct {
	Key         string               `json:"key"`
	AspectRatio float64              `json:"aspect"`
	Strokes     [][]receiptpdf.Point `json:"strokes"`
}

var errNeedDrawer = refuse(Message{Rule: "RC-7", Key: "drawer_first",
	Text: map[string]string{"sv": "Öppna kortlådan och ta ett kort först.", "en": "Open the card drawer and take a card first."}})

// issueStep moves a reserve-card issuance, an extension or a pickup.
func (m *Counter) issueStep(ctx context.Context, f *flowState, step Action, data json.RawMessage) error {
	now := m.clock.Now()
	switch {
	case step == ActReason && f.kind == KindIssue && f.step == StepReason:
		var req struct {
			Reason string `json:"reason"`
		}
		if err := decode(data, &req); err != nil {
			return err
		}
		t, err := m.st.ValidityTable(ctx)
		if err != nil {
			return err
		}
		days, vs := t.ReserveDays(rules.Reason(req.Reason), 0)
		if len(vs) > 0 {
			return vs
		}
		f.reason, f.days, f.step = rules.Reason(req.Reason), days, StepRecipient
		return nil

	case step == ActRecipient && f.step == StepRecipient:
		var req RecipientInput
		if err := decode(data, &req); err != nil {
			return err
		}
		if f.kind == KindPickup && strings.TrimSpace(req.PersonalNumber) == "" && strings.TrimSpace(req.OrderID) != "" {
			return m.shortTermRecipient(ctx, f, req)
		}
		pnr, err := ident.ParsePersonalNumberAt(req.PersonalNumber, now)
		if err != nil {
			return err
		}
		name := strings.TrimSpace(req.Name)
		if name == "" {
			return refuse(Message{Rule: "RE-4", Key: "name_missing", Text: map[string]string{"sv": "Skriv mottagarens namn.", "en": "Type the recipient's name."}})
		}
		rec := rules.Recipient{Person: rules.Person{PersonalNumber: pnr}, Name: name}
		reg, err := m.personRegistry(ctx, f, rec.Person, true)
		if err != nil {
			return err
		}
		f.recipient, f.reg, f.factsAt = rec, reg, m.st.DataAge(ctx, protocol.RefPersonFacts)
		var vs rules.Violations
		vs.Add(rules.CheckTotalStop(reg.StopWindows, now))
		if f.kind == KindIssue {
			vs = append(vs, rules.CheckReservePrerequisites(reg, rec.Person, f.reason, now, "")...)
			if len(vs) > 0 {
				return vs
			}
			f.step = StepIdentity
			return nil
		}
		if len(vs) > 0 {
			return vs
		}
		return m.findOrder(ctx, f)

	case step == ActDocument && f.step == StepIdentity:
		var req DocumentInput
		if err := decode(data, &req); err != nil {
			return err
		}
		doc, err := documentOf(req)
		if err != nil {
			return err
		}
		foreign := f.recipient.PersonalNumber.IsZero()
		var vs rules.Violations
		switch {
		case f.kind == KindPickup && foreign:
			// ID-4: a passport valid six months after the issue.
			vs = rules.CheckPassportForShortTerm(doc, now)
		case f.kind == KindPickup:
			vs = rules.CheckDocumentForPickup(doc, f.order.OrderedAt, now)
		default:
			vs = rules.CheckDocument(doc, now, false)
		}
		if len(vs) > 0 {
			return vs
		}
		f.doc, f.attestors, f.ground = &doc, nil, ""
		if f.kind == KindPickup && foreign {
			f.step = StepManager // ID-4: the manager present with a valid ID
			return nil
		}
		return m.afterIdentity(ctx, f)

	case step == ActNoDocument && f.kind == KindPickup && f.step == StepIdentity:
		return m.noDocument(f)

	case step == ActHandIn && f.kind == KindPickup && (f.step == StepPreview || f.step == StepSign):
		return m.handIn(f, data)

	case step == ActManager && f.kind == KindPickup && f.step == StepManager:
		var req ManagerInput
		if err := decode(data, &req); err != nil {
			return err
		}
		return m.manager(ctx, f, req)

	case step == ActAttestorPIN && f.step == StepIdentity && f.kind != KindPickup:
		return m.attestorPIN(ctx, f, data)

	case step == ActAttestors && f.step == StepIdentity && f.kind != KindPickup:
		var req struct {
			// Roles are the roles of the attestors proven by their card,
			// in the order they identified.
			Roles []rules.AttestorRole `json:"roles"`
			// Attestors are typed in by the operator (only where the
			// station's policy allows it; marked unverified).
			Attestors []AttestorInput `json:"attestors"`
			// Ground is why attestors identify the recipient (ID-6), as
			// the operator recorded it.
			Ground rules.AttestationGround `json:"ground"`
		}
		if err := decode(data, &req); err != nil {
			return err
		}
		var vs rules.Violations
		vs.Add(rules.CheckAttestationGround(f.recipient.Person, f.doc, req.Ground, m.clock.Now()))
		var as []rules.Attestor
		for i, a := range f.cardAttestors {
			if i < len(req.Roles) && req.Roles[i] != "" {
				a.Role = req.Roles[i]
			}
			as = append(as, a)
		}
		for _, a := range req.Attestors {
			h, err := ident.ParseHSAID(strings.TrimSpace(a.HSAID))
			if err != nil {
				vs.AddErr(err)
				continue
			}
			as = append(as, rules.Attestor{Person: rules.Person{HSAID: h}, Name: strings.TrimSpace(a.Name), Role: rules.AttestorRole(a.Role), Present: true, Proof: rules.ProofTyped})
		}
		op := m.sess.operator()
		typed, err := m.typedAttestorsAllowed(ctx)
		if err != nil {
			return err
		}
		vs = append(vs, rules.CheckAttestorProof(as, typed)...)
		vs = append(vs, rules.CheckAttestation(rules.AttestationCheck{
			Recipient: f.recipient.Person, RecipientPresent: true, Operator: op.Person, Attestors: as,
			AuthorisedAdmins: f.reg.AuthorisedAdmins, Required: rules.ReserveAttestors,
		})...)
		for i, a := range as {
			if a.Name == "" { // the receipt names every attestor (RE-4)
				vs.Add(violation.New("AT-1", violation.KeyAttestorUnidentified, "attestor", strconv.Itoa(i+1)))
			}
		}
		if len(vs) > 0 {
			return vs
		}
		f.attestors, f.doc, f.ground = as, nil, req.Ground
		return m.afterIdentity(ctx, f)

	case step == ActCard && f.step == StepCard:
		var req struct {
			Serial string `json:"serial"`
		}
		if err := decode(data, &req); err != nil {
			return err
		}
		if !f.drawerOpened {
			return errNeedDrawer
		}
		c, err := m.st.Card(ctx, strings.TrimSpace(req.Serial))
		if errors.Is(err, store.ErrNotFound) {
			return refuse(Message{Rule: "RC-9", Key: "card_not_in_stock", Text: map[string]string{
				"sv": "Kortnumret finns inte i stationens lager.", "en": "The card number is not in the station's stock."}})
		}
		if err != nil {
			return err
		}
		if v := rules.CheckTransition(c.State, rules.StateHandedOut); v != nil {
			return v
		}
		// BL-1: a card on the registry's list of blocked cards stays in
		// the drawer (to be cut, RC-8).
		if err := m.checkNotBlocked(ctx, c.Number); err != nil {
			return err
		}
		f.card, f.chip, f.step = c, "", StepInsert
		return nil

	case step == ActConfirm && f.step == StepPreview:
		if err := m.decide(ctx, f); err != nil {
			return err
		}
		f.step = StepSign
		return nil

	case step == ActNoSignature && f.step == StepSign:
		return m.noSignature(ctx, f, data)

	case step == ActAttestorPIN && f.step == StepSign:
		return m.noSignConfirm(ctx, f, data)

	case step == ActSign && f.step == StepSign:
		var req SignatureInput
		if err := decode(data, &req); err != nil {
			return err
		}
		return m.sign(f, req)

	case step == ActComplete && f.step == StepSign:
		return m.complete(ctx, f)

	case step == ActReprint && f.step == StepDone && f.result != nil:
		id, _ := f.result["receipt_id"].(string)
		if id == "" {
			return errWrongStep
		}
		return m.reprint(ctx, id)

	case step == ActVoid && f.kind == KindPickup && f.step == StepVoid:
		return m.voidExpiredPickup(ctx, f)
	}
	return errWrongStep
}

// afterIdentity moves on once the recipient is identified: to the card
// for an issuance or pickup, to the preview for an extension (the card is
// already in the reader).
func (m *Counter) afterIdentity(ctx context.Context, f *flowState) error {
	if f.kind == KindExtend {
		if err := m.decide(ctx, f); err != nil {
			return err
		}
		f.step = StepPreview
		return nil
	}
	if f.kind == KindPickup {
		f.step = StepInsert
		return nil
	}
	f.step = StepCard
	return nil
}

// chipRead checks the chip of the card in the reader against the card
// number handed out (RC-9), then asks the rules for the decision.
func (m *Counter) chipRead(ctx context.Context, f *flowState, chip string) error {
	if f.kind == KindPickup && !f.drawerOpened {
		return errNeedDrawer
	}
	if v := rules.CheckChip(f.card.Number, chip); v != nil {
		f.chip = ""
		return v
	}
	f.chip = chip
	if err := m.decide(ctx, f); err != nil {
		return err
	}
	f.step = StepPreview
	return nil
}

// decide asks the rules for the decision on everything gathered; every
// broken rule comes back together.
func (m *Counter) decide(ctx context.Context, f *flowState) error {
	now := m.clock.Now()
	reg, err := m.personRegistry(ctx, f, f.recipient.Person, false, f.card.Number, f.chip)
	if err != nil {
		return err
	}
	if reg.TypedAttestors, err = m.typedAttestorsAllowed(ctx); err != nil {
		return err
	}
	f.reg = reg
	if f.receiptID == "" {
		f.receiptID = "KV-" + strings.ToUpper(uuid.NewString()[:13])
	}
	var d rules.IssuanceDecision
	// What every decision at the counter starts from.
	cnt := rules.Counter{Now: now, Station: m.place(), Operator: m.sess.operator(), Recipient: f.recipient, RecipientPresent: true,
		Document: f.doc, Attestors: f.attestors, AttestationGround: f.ground}
	switch f.kind {
	case KindIssue:
		d, err = rules.IssueReserve(rules.ReserveIssuanceInput{
			Counter:    cnt,
			Reason:     f.reason,
			Card:       f.card,
			ChipSerial: f.chip,
			ReceiptID:  f.receiptID,
			Registry:   reg,
		})
	case KindExtend:
		d, err = rules.ExtendReserve(rules.ExtensionInput{
			Counter:    cnt,
			Reason:     f.card.Reason,
			Card:       f.card,
			ChipSerial: f.chip,
			ReceiptID:  f.receiptID,
			Registry:   reg,
		})
	case KindPickup:
		d, err = rules.PickupCard(rules.PickupInput{
			Counter:    cnt,
			Order:      f.order,
			Card:       f.card,
			ChipSerial: f.chip,
			ReceiptID:  f.receiptID,
			Registry:   reg,
		})
	}
	if err != nil {
		f.decision = nil
		return err
	}
	f.decision = &d
	return nil
}

func (m *Counter) place() string {
	if m.info.Location != "" {
		return m.info.Location
	}
	return m.info.Name
}

// documentOf reads a typed ID document.
func documentOf(req DocumentInput) (rules.IDDocument, error) {
	exp, err := calendar.ParseDate(req.Expiry)
	if err != nil {
		return rules.IDDocument{}, refuse(Message{Rule: "ID-5", Key: "expiry_format", Text: map[string]string{
			"sv": "Skriv dokumentets giltighetsdatum som ÅÅÅÅ-MM-DD.", "en": "Type the document's expiry date as YYYY-MM-DD."}})
	}
	return rules.IDDocument{Type: rules.DocumentType(req.Type), Number: strings.TrimSpace(req.Number), Expiry: exp, Damaged: !req.Intact}, nil
}
