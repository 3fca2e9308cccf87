package rules

import (
	"slices"
	"strconv"
	"time"

	"github.com/kortstation/kortstation/kiosk/rules/ident"
	"github.com/kortstation/kortstation/kiosk/rules/violation"
)

// AttestorRole is the attestor's relation to the recipient (AT-1).
type AttestorRole string

// The roles. Managers, employers and other authorised representatives may
// attest (a manager preferably); ID administrators, registrars and security
// officers may not (AT-1, seed 004).
const (
	RoleManager                  AttestorRole = "manager"
	RoleEmployer                 AttestorRole = "employer"
	RoleAuthorisedRepresentative AttestorRole = "authorised_representative"
	RoleIDAdministrator          AttestorRole = "id_administrator"
	RoleRegistrar                AttestorRole = "registrar"
	RoleSecurityOfficer          AttestorRole = "security_officer"
)

// MayAttest reports whether the role may attest (AT-1).
func (r AttestorRole) MayAttest() bool {
	switch r {
	case RoleManager, RoleEmployer, RoleAuthorisedRepresentative:
		return true
	}
	return false
}

// Attestor vouches for the recipient's identity and signs on the
// touchscreen.
type Attestor struct {
	Person
	Name    string       `json:"name"`
	Role    AttestorRole `json:"role"`
	Present bool         `json:"present"`
	// Document is the attestor's own ID document; required of the manager
	// who accompanies staff without a Swedish number (ID-4).
	Document *IDDocument `json:"document,omitempty"`
	// Proof is how the attestor proved who they are at the station.
	Proof AttestorProof `json:"proof,omitempty"`
}

// AttestorProof is how an attestor proved who they are.
type AttestorProof string

// The proofs.
const (
	// ProofCard: their own SITHS card and PIN at the station; the HSA-ID
	// and name are the card certificate's.
	ProofCard AttestorProof = "siths_card"
	// ProofTyped: typed in by the operator, not verified; allowed only
	// where the station's policy allows it, and marked on the receipt.
	ProofTyped AttestorProof = "typed"
)

// CheckAttestorProof refuses attestors who did not prove who they are
// with their own card, unless the station's policy allows typed-in
// attestors (AT-1: an attestor must be an authorised representative, so
// the station must know who they are).
func CheckAttestorProof(as []Attestor, typedAllowed bool) Violations {
	var vs Violations
	for i, a := range as {
		if a.Proof != ProofCard && !typedAllowed {
			vs.Add(violation.New("AT-1", violation.KeyAttestorUnverified, "attestor", itoa(i+1)))
		}
	}
	return vs
}

// ReserveAttestors is how many attestors a reserve card issued with
// attestation needs (AT-2).
const ReserveAttestors = 2

// AttestationCheck is the input to CheckAttestation.
type AttestationCheck struct {
	Recipient        Person
	RecipientPresent bool
	Operator         Person
	Attestors        []Attestor
	// AuthorisedAdmins are the issuing administrators; none may attest.
	AuthorisedAdmins []ident.HSAID
	// Required is the number of attestors needed.
	Required int
}

// CheckAttestation checks an attestation: the recipient present with the
// required number of distinct attestors, all present (AT-2); every
// attestor identified, in a role that may attest and not an issuing
// administrator (AT-1); neither the operator nor the recipient (AT-3).
func CheckAttestation(a AttestationCheck) Violations {
	var vs Violations
	if !a.RecipientPresent {
		vs.Add(violation.New("AT-2", violation.KeyRecipientAbsent))
	}
	if len(a.Attestors) < a.Required {
		vs.Add(violation.New("AT-2", violation.KeyAttestorsTooFew,
			"have", strconv.Itoa(len(a.Attestors)), "need", strconv.Itoa(a.Required)))
	}
	for i, at := range a.Attestors {
		n := strconv.Itoa(i + 1)
		if !at.Present {
			vs.Add(violation.New("AT-2", violation.KeyAttestorAbsent, "attestor", n))
		}
		if at.IsZero() {
			vs.Add(violation.New("AT-1", violation.KeyAttestorUnidentified, "attestor", n))
			continue
		}
		for j := range i {
			if a.Attestors[j].Same(at.Person) {
				vs.Add(violation.New("AT-2", violation.KeyAttestorDuplicate, "attestor", n, "other", strconv.Itoa(j+1)))
			}
		}
		if !at.Role.MayAttest() {
			vs.Add(violation.New("AT-1", violation.KeyAttestorRole, "attestor", n, "role", string(at.Role)))
		} else if !at.HSAID.IsZero() && slices.Contains(a.AuthorisedAdmins, at.HSAID) {
			vs.Add(violation.New("AT-1", violation.KeyAttestorIsAdmin, "attestor", n))
		}
		if at.Same(a.Operator) {
			vs.Add(violation.New("AT-3", violation.KeyAttestorIsOperator, "attestor", n))
		}
		if at.Same(a.Recipient) {
			vs.Add(violation.New("AT-3", violation.KeyAttestorIsRecipient, "attestor", n))
		}
	}
	return vs
}

// identification is how a recipient is identified in a flow.
type identification struct {
	now              time.Time
	recipient        Recipient
	recipientPresent bool
	operator         Operator
	document         *IDDocument
	attestors        []Attestor
	ground           AttestationGround
	typedAllowed     bool
	admins           []ident.HSAID
	required         int
}

// check identifies the recipient by ID document or, only when they lack
// a Swedish personal number or a valid ID document, by attestation (ID-6).
func (id identification) check() Violations {
	var vs Violations
	if id.recipient.IsZero() {
		vs.Add(violation.New("ID-5", violation.KeyRecipientUnidentified))
	}
	if len(id.attestors) == 0 {
		if !id.recipientPresent {
			vs.Add(violation.New("RE-1", violation.KeyRecipientAbsent))
		}
		if id.document == nil {
			vs.Add(violation.New("ID-6", violation.KeyIdentificationMissing))
			return vs
		}
		vs = append(vs, CheckDocument(*id.document, id.now, false)...)
		return vs
	}
	vs.Add(CheckAttestationGround(id.recipient.Person, id.document, id.ground, id.now))
	vs = append(vs, CheckAttestorProof(id.attestors, id.typedAllowed)...)
	vs = append(vs, CheckAttestation(AttestationCheck{
		Recipient:        id.recipient.Person,
		RecipientPresent: id.recipientPresent,
		Operator:         id.operator.Person,
		Attestors:        id.attestors,
		AuthorisedAdmins: id.admins,
		Required:         id.required,
	})...)
	return vs
}

// CheckAttestationGround checks that attestation may identify the
// recipient (ID-6): only when they lack a Swedish personal number or a
// valid ID document, as the operator recorded (ground) — never with a
// valid document at hand, and "no personal number" never for a recipient
// who has one.
func CheckAttestationGround(r Person, doc *IDDocument, ground AttestationGround, now time.Time) *violation.Violation {
	switch {
	case doc != nil && doc.usable(now, false):
		return violation.New("ID-6", violation.KeyAttestationNotAllowed)
	case !ground.Valid():
		return violation.New("ID-6", violation.KeyAttestationGround)
	case ground == GroundNoPersonalNumber && !r.PersonalNumber.IsZero():
		return violation.New("ID-6", violation.KeyAttestationGroundPNR)
	}
	return nil
}
