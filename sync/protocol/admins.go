package protocol

import "time"

// Changes of administrators (AD-2): a station asks for one as an
// admin_change event; the registry decides (a station manager at the
// console) and publishes the decision in the station's admin_requests
// snapshot, and the administrators it authorises at the station in that
// station's operators snapshot (AD-1).

// Admin change kinds (rules.AdminChangeKind).
const (
	AdminAppointed = "appointed"
	AdminRemoved   = "removed"
)

// Admin request states.
const (
	AdminPending  = "pending"
	AdminApproved = "approved"
	AdminRejected = "rejected"
)

// Manager proofs: how the manager who asks for the change proved who they
// are.
const (
	ManagerProofCard    = "siths_card" // their own SITHS card and PIN at the station
	ManagerProofCentral = "central"    // told the central service (seed 004: an e-mail from the manager), recorded at the console
)

// AdminChangePayload asks the central service to appoint or remove an
// issuing administrator at the station (AD-2). The manager vouches for the
// appointee's training and suitability (AD-1, seed 004).
type AdminChangePayload struct {
	RequestID         string    `json:"request_id"`
	Station           string    `json:"station"` // must be the pushing station
	Change            string    `json:"change"`  // AdminAppointed or AdminRemoved
	Admin             string    `json:"admin"`   // the administrator's HSA-ID
	Name              string    `json:"name"`
	Email             string    `json:"email,omitempty"`
	Phone             string    `json:"phone,omitempty"`
	Manager           string    `json:"manager"` // the manager's HSA-ID
	ManagerName       string    `json:"manager_name,omitempty"`
	ManagerProof      string    `json:"manager_proof"`
	TrainingConfirmed bool      `json:"training_confirmed,omitempty"`
	Operator          string    `json:"operator"` // the logged-in administrator who entered it
	At                time.Time `json:"at"`
}

// EventKind is KindAdminChange.
func (AdminChangePayload) EventKind() string { return KindAdminChange }

// AdminRequest is one change of administrators at the station and where
// it stands (admin_requests snapshot): asked for by the station and
// pending, approved or rejected at the registry, or made at the console.
type AdminRequest struct {
	RequestID string    `json:"request_id"`
	Change    string    `json:"change"`
	Admin     string    `json:"admin"`
	Name      string    `json:"name"`
	Source    string    `json:"source"` // "station" or "console"
	Status    string    `json:"status"` // AdminPending, AdminApproved, AdminRejected
	Reason    string    `json:"reason,omitempty"`
	DecidedAt time.Time `json:"decided_at,omitzero"`
}
