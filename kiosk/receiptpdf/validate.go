package receiptpdf

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// ErrInvalid is wrapped by every error about the input of a render function.
var ErrInvalid = errors.New("receiptpdf: invalid input")

// FieldError reports one missing or invalid input field. Render functions
// return all problems found, joined; errors.As finds the first one.
type FieldError struct {
	// Field is the JSON path of the field, e.g. "recipient.name".
	Field string
	// Problem says what is wrong, e.g. "is required".
	Problem string
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("receiptpdf: %s %s", e.Field, e.Problem)
}

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *FieldError) Unwrap() error { return ErrInvalid }

// problems collects field errors.
type problems []error

func (p *problems) add(field, problem string) {
	*p = append(*p, &FieldError{Field: field, Problem: problem})
}

func (p *problems) required(field, value string) {
	if strings.TrimSpace(value) == "" {
		p.add(field, "is required")
	}
}

func (p problems) err() error {
	return errors.Join(p...)
}

func validateFormat(p *problems, f Format) {
	if f != A4 && f != Roll80 {
		p.add("format", fmt.Sprintf("is %q, want %q or %q", f, A4, Roll80))
	}
}

func validateLang(p *problems, l Lang) {
	if _, ok := textsFor(l); !ok {
		p.add("lang", fmt.Sprintf("is %q, want %q or %q", l, Swedish, English))
	}
}

func validateCard(p *problems, c Card) {
	p.required("card.number", c.Number)
	if _, ok := swedish.cardTypes[c.Type]; !ok {
		p.add("card.type", fmt.Sprintf("is %q, not a known card type", c.Type))
	}
	if c.ValidFrom.IsZero() {
		p.add("card.validFrom", "is required")
	}
	if c.ValidUntil.IsZero() {
		p.add("card.validUntil", "is required")
	}
	if !c.ValidFrom.IsZero() && !c.ValidUntil.IsZero() && c.ValidUntil.Before(c.ValidFrom) {
		p.add("card.validUntil", "is before card.validFrom")
	}
}

func validateReason(p *problems, r Reason) {
	if _, ok := swedish.reasons[r]; !ok {
		p.add("reason", fmt.Sprintf("is %q, not a known reason", r))
	}
}

func validatePerson(p *problems, field string, x Person) {
	p.required(field+".name", x.Name)
	p.required(field+".hsaId", x.HSAID)
}

func validateStation(p *problems, s Station) {
	p.required("station.name", s.Name)
	p.required("station.location", s.Location)
}

func validateSignature(p *problems, field string, s Signature) {
	if _, ok := swedish.roles[s.Role]; !ok {
		p.add(field+".role", fmt.Sprintf("is %q, not a known role", s.Role))
	}
	p.required(field+".name", s.Name)
	if !(s.AspectRatio > 0) || math.IsInf(s.AspectRatio, 0) {
		p.add(field+".aspectRatio", "must be a positive number")
	}
	points := 0
	for i, stroke := range s.Strokes {
		if len(stroke) == 0 {
			p.add(fmt.Sprintf("%s.strokes[%d]", field, i), "is empty")
		}
		for j, pt := range stroke {
			if !(pt.X >= 0 && pt.X <= 1 && pt.Y >= 0 && pt.Y <= 1) {
				p.add(fmt.Sprintf("%s.strokes[%d][%d]", field, i, j), "is outside the pad (0..1)")
				return
			}
		}
		points += len(stroke)
	}
	if points == 0 {
		p.add(field+".strokes", "is empty: the signature has no strokes")
	}
}

// validate checks the receipt and returns nil or the joined field errors.
func (r *Receipt) validate(f Format) error {
	var p problems
	validateFormat(&p, f)
	validateLang(&p, r.Lang)
	p.required("id", r.ID)
	if r.Corrects != "" && r.Corrects == r.ID {
		p.add("corrects", "names the receipt itself (RE-3: a correction is a new receipt)")
	}
	p.required("recipient.name", r.Recipient.Name)
	switch {
	case r.Recipient.NoSwedishNumber && r.Recipient.PersonalNumber != "":
		p.add("recipient.personalNumber", "is set although recipient.noSwedishNumber is set")
	case !r.Recipient.NoSwedishNumber && strings.TrimSpace(r.Recipient.PersonalNumber) == "":
		p.add("recipient.personalNumber", "is required unless recipient.noSwedishNumber is set")
	}
	validateCard(&p, r.Card)
	validateReason(&p, r.Reason)

	switch {
	case r.IDDocument != nil && len(r.Attestors) > 0:
		p.add("idDocument", "and attestors are both set: the recipient is identified by one of them (ID-6)")
	case r.IDDocument == nil && len(r.Attestors) == 0 && managerForNoDocument(r):
		// Seed 003: a recipient without an ID document picks up their card
		// with their manager present, who shows a valid ID of their own.
	case r.IDDocument == nil && len(r.Attestors) == 0:
		p.add("idDocument", "or attestors is required (ID-5, ID-6)")
	case r.IDDocument != nil:
		if _, ok := swedish.docTypes[r.IDDocument.Type]; !ok {
			p.add("idDocument.type", fmt.Sprintf("is %q, not a known ID document type", r.IDDocument.Type))
		}
		p.required("idDocument.number", r.IDDocument.Number)
		if r.IDDocument.Expiry.IsZero() {
			p.add("idDocument.expiry", "is required")
		}
	default:
		if len(r.Attestors) != 2 {
			p.add("attestors", fmt.Sprintf("has %d persons, want 2 (AT-2)", len(r.Attestors)))
		}
		for i, a := range r.Attestors {
			validatePerson(&p, fmt.Sprintf("attestors[%d]", i), a)
		}
	}
	if r.Manager != nil {
		validateManager(&p, r)
	}
	validatePerson(&p, "administrator", r.Administrator)
	validateStation(&p, r.Station)
	if r.IssuedAt.IsZero() {
		p.add("issuedAt", "is required")
	}

	var recipientSigs, attestorSigs, managerSigs int
	for i, s := range r.Signatures {
		validateSignature(&p, fmt.Sprintf("signatures[%d]", i), s)
		switch s.Role {
		case RoleRecipient:
			recipientSigs++
		case RoleAttestor:
			attestorSigs++
		case RoleManager:
			managerSigs++
		}
	}
	if ns := r.NoSignature; ns != nil {
		if _, ok := swedish.noSign[ns.Reason]; !ok {
			p.add("noSignature.reason", fmt.Sprintf("is %q, not a known reason", ns.Reason))
		}
		validatePerson(&p, "noSignature.confirmedBy", ns.ConfirmedBy)
		if recipientSigs != 0 {
			p.add("signatures", fmt.Sprintf("has %d recipient signatures with the recipient's statement, want 0 (RE-1)", recipientSigs))
		}
	} else if recipientSigs != 1 {
		p.add("signatures", fmt.Sprintf("has %d recipient signatures, want 1 (RE-1)", recipientSigs))
	}
	if attestorSigs != len(r.Attestors) {
		p.add("signatures", fmt.Sprintf("has %d attestor signatures for %d attestors", attestorSigs, len(r.Attestors)))
	}
	if want := btoi(r.Manager != nil); managerSigs != want {
		p.add("signatures", fmt.Sprintf("has %d manager signatures, want %d (ID-4)", managerSigs, want))
	}
	return p.err()
}

// validateManager checks the manager present at the pickup of staff
// without a Swedish number (ID-4): only with a passport identifying a
// recipient without a Swedish number, for a short-term card.
func validateManager(p *problems, r *Receipt) {
	switch {
	case managerForNoDocument(r):
	case !r.Recipient.NoSwedishNumber:
		p.add("manager", "is set for a recipient with a Swedish number (ID-4: only staff without one)")
	case r.IDDocument == nil:
		p.add("manager", "is set without an ID document (ID-4: the recipient shows a passport)")
	case r.IDDocument.Type != DocPassport && r.IDDocument.Type != DocForeignPassport:
		p.add("manager", fmt.Sprintf("is set with ID document %q (ID-4: the recipient shows a passport)", r.IDDocument.Type))
	case r.Card.Type != CardShortTerm:
		p.add("manager", fmt.Sprintf("is set for card type %q (ID-4: a short-term card)", r.Card.Type))
	}
	validatePerson(p, "manager", *r.Manager)
}

// managerForNoDocument reports whether the manager is present because the
// recipient, who has a Swedish number, has no valid ID document (seed 003,
// ID-6): no document, no attestors, the ground recorded.
func managerForNoDocument(r *Receipt) bool {
	return r.Manager != nil && !r.Recipient.NoSwedishNumber && r.IDDocument == nil && len(r.Attestors) == 0 &&
		r.AttestationGround == GroundNoValidDocument
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// validate checks the letter and returns nil or the joined field errors.
func (l *Letter) validate(f Format) error {
	var p problems
	validateFormat(&p, f)
	validateLang(&p, l.Lang)
	p.required("receiptId", l.ReceiptID)
	p.required("recipientName", l.RecipientName)
	validateCard(&p, l.Card)
	validateReason(&p, l.Reason)
	validatePerson(&p, "administrator", l.Administrator)
	validateStation(&p, l.Station)
	if l.IssuedAt.IsZero() {
		p.add("issuedAt", "is required")
	}
	p.required("activationInfo", l.ActivationInfo)
	return p.err()
}
