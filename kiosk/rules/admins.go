package rules

import (
	"slices"
	"strings"
	"time"

	"github.com/kortstation/kortstation/kiosk/rules/ident"
	"github.com/kortstation/kortstation/kiosk/rules/violation"
)

// CheckOperator checks that the operator is an issuing administrator the
// central service has authorised: identified by HSA-ID and on the
// registry's list (AD-1).
func CheckOperator(op Operator, authorised []ident.HSAID) *Violation {
	if op.HSAID.IsZero() {
		return violation.New("AD-1", violation.KeyOperatorNoHSAID)
	}
	if !slices.Contains(authorised, op.HSAID) {
		return violation.New("AD-1", violation.KeyOperatorNotAuthorised)
	}
	return nil
}

// AdminChangeKind is an appointment or a removal.
type AdminChangeKind string

// The kinds.
const (
	AdminAppointed AdminChangeKind = "appointed"
	AdminRemoved   AdminChangeKind = "removed"
)

// AdminChange is a manager's change of issuing administrators at the
// station's workplace (seed 004: name, HSA-ID, e-mail, telephone).
type AdminChange struct {
	Kind  AdminChangeKind `json:"kind"`
	Admin ident.HSAID     `json:"admin"`
	Name  string          `json:"name"`
	Email string          `json:"email"`
	Phone string          `json:"phone"`
	// Manager is who appoints or removes; they vouch for the training.
	Manager ident.HSAID `json:"manager"`
	// TrainingConfirmed: the manager vouches that the appointee is
	// trained and suitable (seed 004).
	TrainingConfirmed bool      `json:"training_confirmed"`
	At                time.Time `json:"at"`
}

// AdminChangeDecision is what follows an administrator change.
type AdminChangeDecision struct {
	// SendToCentral is always true: every change goes to the central
	// service (AD-2).
	SendToCentral bool `json:"send_to_central"`
	// RevokeLocally: a removal takes effect at the station at once.
	RevokeLocally bool `json:"revoke_locally"`
	// AuthorisedNow is false for an appointment: the new administrator
	// may issue only once the registry's list includes them (AD-1).
	AuthorisedNow bool `json:"authorised_now"`
}

// PlanAdminChange checks a change of administrators: the appointee
// registered in the HSA catalogue (an HSA-ID), appointed by a manager who
// vouches for their training (AD-1); and says it goes to the central
// service (AD-2).
func PlanAdminChange(c AdminChange, authorised []ident.HSAID) (AdminChangeDecision, error) {
	var vs Violations
	d := AdminChangeDecision{SendToCentral: true}
	switch c.Kind {
	case AdminAppointed:
		if c.Admin.IsZero() {
			vs.Add(violation.New("AD-1", violation.KeyAdminNoHSAID))
		}
		if c.Manager.IsZero() || c.Manager == c.Admin {
			vs.Add(violation.New("AD-1", violation.KeyAdminNoManager))
		}
		if !c.TrainingConfirmed {
			vs.Add(violation.New("AD-1", violation.KeyAdminUntrained))
		}
		if strings.TrimSpace(c.Name) == "" || strings.TrimSpace(c.Email) == "" || strings.TrimSpace(c.Phone) == "" {
			vs.Add(violation.New("AD-2", violation.KeyAdminChangeIncomplete))
		}
		d.AuthorisedNow = !c.Admin.IsZero() && slices.Contains(authorised, c.Admin)
	case AdminRemoved:
		if c.Admin.IsZero() {
			vs.Add(violation.New("AD-1", violation.KeyAdminNoHSAID))
		}
		if c.Manager.IsZero() {
			vs.Add(violation.New("AD-1", violation.KeyAdminNoManager))
		}
		d.RevokeLocally = true
	default:
		vs.Add(violation.New("AD-2", violation.KeyAdminChangeKind, "kind", string(c.Kind)))
	}
	return d, vs.Err()
}

// DiffAdmins compares the station's list of administrators with the
// registry's: added are on the registry's list only, removed on the
// station's only. Sync reports each removal and addition (AD-2).
func DiffAdmins(station, registry []ident.HSAID) (added, removed []ident.HSAID) {
	for _, h := range registry {
		if !slices.Contains(station, h) {
			added = append(added, h)
		}
	}
	for _, h := range station {
		if !slices.Contains(registry, h) {
			removed = append(removed, h)
		}
	}
	return added, removed
}
