// Package protocol defines the wire format between a station and the central
// registry: versioned JSON bodies, gzip-compressed, over HTTPS with mutual
// TLS. docs/sync-protocol.md is the human-readable contract; this package is
// the Go one, shared by the station client (reconcile, control, enrol) and
// the reference registry.
//
// Every request is a POST with a JSON body, so personal numbers never appear
// in a URL. The station opens every connection (outbound only).
package protocol

import (
	"encoding/json"
	"regexp"
	"time"
)

// Version is the protocol version carried in the URL path and in the
// Kortstation-Protocol header.
const Version = "1"

// Header names.
const (
	HeaderProtocol = "Kortstation-Protocol"
)

// Paths served by the registry.
const (
	PathPush    = "/v1/push"
	PathPull    = "/v1/pull"
	PathControl = "/v1/control"
	PathEnrol   = "/v1/enrol"
	PathHealth  = "/v1/health"
	// PathPerson is the on-demand look-up of one person's facts by an
	// operator at the counter (PersonLookupRequest); audited at the
	// registry.
	PathPerson = "/v1/person"
)

// Reference data kinds a station pulls.
const (
	RefOperators          = "operators"           // AD-1, snapshot
	RefBlockedCards       = "blocked_cards"       // BL-1, snapshot
	RefStopWindows        = "stop_windows"        // CP-3, snapshot
	RefValidity           = "validity"            // RC-1, snapshot
	RefTrustIntermediates = "trust_intermediates" // SITHS intermediate CA certificates (kiosk/trust), snapshot
	RefCRLs               = "crls"                // SITHS CAs' revocation lists (kiosk/trust), snapshot
	RefStationPolicy      = "station_policy"      // the registry's policy for this station (AT-1), snapshot
	RefPersonFacts        = "person_facts"        // RC-2..4, delta
	RefShipments          = "shipments"           // stock shipped to this station, delta
	RefCardStatus         = "card_status"         // RE-2, state of cards this station issued, delta
	RefAdminRequests      = "admin_requests"      // AD-2, this station's changes of administrators and their decisions, snapshot
)

// RefKinds lists every reference data kind in the order a station pulls them.
var RefKinds = []string{RefOperators, RefBlockedCards, RefStopWindows, RefValidity, RefTrustIntermediates, RefCRLs, RefStationPolicy, RefPersonFacts, RefShipments, RefCardStatus, RefAdminRequests}

// IsSnapshotKind reports whether kind is sent as a whole snapshot with a
// content hash rather than as a delta.
func IsSnapshotKind(kind string) bool {
	switch kind {
	case RefOperators, RefBlockedCards, RefStopWindows, RefValidity, RefTrustIntermediates, RefCRLs, RefStationPolicy, RefAdminRequests:
		return true
	}
	return false
}

// Event is one outbox record as pushed. Kind names the type of Payload
// (see EventKinds).
type Event struct {
	Seq         int64           `json:"seq"`
	ID          string          `json:"id"`
	Kind        string          `json:"kind"`
	Payload     json.RawMessage `json:"payload"`
	CreatedAt   time.Time       `json:"created_at"`
	ClockSource string          `json:"clock_source"`
	// Attempts counts the station's delivery attempts; it stays on the
	// station and is not sent.
	Attempts int `json:"-"`
}

// PushRequest carries a batch of events, in sequence order.
type PushRequest struct {
	StationID string  `json:"station_id"`
	Events    []Event `json:"events"`
}

// Ack results.
const (
	AckStored    = "stored"    // stored now
	AckDuplicate = "duplicate" // stored before (same station, ID and seq)
	AckConflict  = "conflict"  // seq or ID already used by a different event: not stored
)

// Ack is the registry's answer for one event.
type Ack struct {
	Seq    int64  `json:"seq"`
	ID     string `json:"id"`
	Result string `json:"result"`
	// Archived: the registry holds the event's payload as the archived
	// (legal) copy of the record, in the transaction that stored it. It is
	// set for receipt events stored or duplicate; from it the station
	// counts the retention period after which it removes the personal data
	// from its own copy. A registry that does not set it keeps every
	// station's personal data on the station.
	Archived bool `json:"archived,omitempty"`
}

// PushResponse acknowledges each event of a PushRequest.
type PushResponse struct {
	Acks []Ack `json:"acks"`
}

// PullRequest asks for every kind whose cursor is listed; an empty cursor
// means "from the beginning" (full resync). Status is the station's
// self-report, stored by the registry for its admin page.
type PullRequest struct {
	StationID string            `json:"station_id"`
	Cursors   map[string]string `json:"cursors"`
	Limit     int               `json:"limit,omitempty"`
	Status    *StationStatus    `json:"status,omitempty"`
}

// Page modes.
const (
	ModeUnchanged = "unchanged"      // snapshot kind: the station's hash is current
	ModeSnapshot  = "snapshot"       // snapshot kind: Items replace the whole set
	ModeDelta     = "delta"          // delta kind: Items are upserts/deletes since the cursor
	ModeTooOld    = "cursor_too_old" // delta kind: cursor unknown or compacted; resync from ""
)

// Page is one kind's answer. For snapshot kinds Cursor equals ContentHash,
// the hex SHA-256 of the exact bytes of Items.
type Page struct {
	Mode        string          `json:"mode"`
	Items       json.RawMessage `json:"items,omitempty"`
	Cursor      string          `json:"cursor,omitempty"`
	ContentHash string          `json:"content_hash,omitempty"`
	More        bool            `json:"more,omitempty"`
}

// PullResponse holds one page per requested kind.
type PullResponse struct {
	ServerTime time.Time       `json:"server_time"`
	Pages      map[string]Page `json:"pages"`
}

// Operator is an authorised issuing administrator (AD-1).
type Operator struct {
	HSAID      string `json:"hsa_id"`
	Name       string `json:"name"`
	Authorised bool   `json:"authorised"`
}

// BlockedCard is a blocked card serial (BL-1).
type BlockedCard struct {
	Serial    string    `json:"serial"`
	Reason    string    `json:"reason"`
	BlockedAt time.Time `json:"blocked_at"`
}

// Stop window kinds (CP-3).
const (
	OrderStop = "order_stop"
	TotalStop = "total_stop"
)

// StopWindow is an order or total stop (CP-3), to the minute.
type StopWindow struct {
	ID     string    `json:"id"`
	Kind   string    `json:"kind"`
	Starts time.Time `json:"starts"`
	Ends   time.Time `json:"ends"`
	Note   string    `json:"note"`
}

// Validity is one row of the reason → maximum validity table (RC-1).
type Validity struct {
	Reason  string `json:"reason"`
	MaxDays int    `json:"max_days"`
}

// TrustIntermediate is a SITHS intermediate CA certificate: DER, base64
// in JSON. The station's trust anchors are not reference data (they are
// pinned in its configuration).
type TrustIntermediate struct {
	DER []byte `json:"der"`
}

// CRL is a SITHS CA's certificate revocation list: DER, base64 in JSON.
// The station verifies its signature against the CA before relying on it.
type CRL struct {
	DER []byte `json:"der"`
}

// StationPolicy is the registry's policy for one station; the registry
// sends each station only its own, as a snapshot of exactly one item. A
// station without one applies the fail-closed default (the zero value).
type StationPolicy struct {
	// TypedAttestors allows attestors typed in by the operator, not
	// proven by their own SITHS card; such an attestation is marked
	// unverified on the receipt and at the registry (AT-1). Off, every
	// attestor identifies with their own card and PIN.
	TypedAttestors bool `json:"typed_attestors"`
}

// PersonFacts are the registry's facts about one person (RC-2..4). Facts is
// a PersonFactsDoc as JSON.
type PersonFacts struct {
	PersonalNumber string          `json:"personal_number"`
	Facts          json.RawMessage `json:"facts,omitempty"`
	Deleted        bool            `json:"deleted,omitempty"`
}

// Shipment is one card shipped to this station.
type Shipment struct {
	Serial      string    `json:"serial"`
	CardType    string    `json:"card_type"`
	ShipmentRef string    `json:"shipment_ref"`
	ShippedAt   time.Time `json:"shipped_at"`
	Deleted     bool      `json:"deleted,omitempty"`
}

// Card states at the registry.
const (
	CardPending   = "pending"
	CardApproved  = "approved"
	CardRejected  = "rejected"
	CardActivated = "activated"
	CardBlocked   = "blocked"
	CardReturned  = "returned"
)

// CardStatus is the registry's view of a card this station issued (RE-2).
type CardStatus struct {
	Serial          string    `json:"serial"`
	State           string    `json:"state"`
	ReceiptReceived bool      `json:"receipt_received"`
	UpdatedAt       time.Time `json:"updated_at"`
	Deleted         bool      `json:"deleted,omitempty"`
}

// StationStatus is what a station reports about itself.
type StationStatus struct {
	Version        string            `json:"version,omitempty"`
	LastSync       time.Time         `json:"last_sync,omitzero"`
	LastError      string            `json:"last_error,omitempty"`
	OutboxDepth    int64             `json:"outbox_depth"`
	DataAgeSeconds map[string]int64  `json:"data_age_seconds,omitempty"`
	Drawer         string            `json:"drawer,omitempty"`
	Alarms         int               `json:"alarms,omitempty"`
	Stock          map[string]int    `json:"stock,omitempty"`
	Hardware       map[string]string `json:"hardware,omitempty"`
	Locked         bool              `json:"locked,omitempty"`
	ClockSource    string            `json:"clock_source,omitempty"`
	// IssuingUntil is when the station stops issuing if it hears nothing
	// more from the registry (README "Days offline").
	IssuingUntil time.Time `json:"issuing_until,omitzero"`
	// Slot is the booted RAUC slot ("A" or "B"), empty off the image;
	// Update the latest update state (PathUpdate).
	Slot   string       `json:"slot,omitempty"`
	Update *UpdateState `json:"update,omitempty"`
}

// Control command kinds.
const (
	CmdSyncNow = "sync_now"
	CmdLock    = "lock"
	CmdUnlock  = "unlock"
)

// ControlRequest is a long poll: it acknowledges every command up to and
// including After and waits up to WaitSeconds for newer ones.
type ControlRequest struct {
	StationID   string `json:"station_id"`
	After       int64  `json:"after"`
	WaitSeconds int    `json:"wait_seconds,omitempty"`
}

// Command is one remote instruction.
type Command struct {
	ID        int64     `json:"id"`
	Kind      string    `json:"kind"`
	CreatedAt time.Time `json:"created_at"`
}

// ControlResponse lists the commands newer than the request's After, oldest
// first; empty when the wait ended without any.
type ControlResponse struct {
	Commands []Command `json:"commands"`
}

// EnrolRequest exchanges a one-time code and a certificate signing request
// for a station certificate. It is the only request made without a client
// certificate.
type EnrolRequest struct {
	Code   string `json:"code"`
	CSRPEM string `json:"csr_pem"`
}

// EnrolResponse carries the station's identity and the SITHS root
// certificates (trust anchors) every operator's and attestor's card
// certificate must chain to. The roots come only with enrolment, over the
// channel pinned by the registry CA's fingerprint; reference data never
// carries roots.
type EnrolResponse struct {
	StationID string `json:"station_id"`
	CertPEM   string `json:"cert_pem"`
	CAPEM     string `json:"ca_pem"`
	// TrustAnchorsPEM is one or more CERTIFICATE blocks, each a CA that
	// may sign certificates (the station refuses the enrolment otherwise).
	TrustAnchorsPEM string `json:"trust_anchors_pem"`
}

// Error codes in ErrorBody.Code.
const (
	CodeBadRequest       = "bad_request"
	CodeUnauthenticated  = "unauthenticated"
	CodeIdentityMismatch = "identity_mismatch"
	CodeUnknownStation   = "unknown_station"
	CodeBadCode          = "bad_enrolment_code"
	// CodeNoTrustAnchors: the registry has no SITHS roots to hand out, so
	// it refuses to enrol (503; the code is not spent).
	CodeNoTrustAnchors = "no_trust_anchors"
	CodeInternal       = "internal"
	CodeUnsupported    = "unsupported_version"
	// CodeRevoked: the station's certificate was revoked (a request on a
	// connection opened before the revocation; new connections are refused
	// in the TLS handshake).
	CodeRevoked = "certificate_revoked"
	// CodeStationLocked: a central admin locked the station; a pull
	// returns no reference data until it is unlocked (the lock itself
	// arrives over the control long poll).
	CodeStationLocked = "station_locked"
	// CodeOperatorNotAuthorised: a person look-up named no operator, or
	// one who is not an authorised issuing administrator (AD-1).
	CodeOperatorNotAuthorised = "operator_not_authorised"
	// CodeRateLimited: the station asked for more person look-ups than
	// its allowance (429; retry later, Retry-After in seconds).
	CodeRateLimited = "rate_limited"
)

// PersonLookupRequest asks the registry for one person's facts, on demand,
// for an operator at the counter who looked up someone the station holds
// nothing about. The personal number is in the body, never in the URL.
type PersonLookupRequest struct {
	StationID      string `json:"station_id"`
	Operator       string `json:"operator"`
	PersonalNumber string `json:"personal_number"`
}

// PersonLookupResponse is the registry's answer: the person's facts (a
// PersonFactsDoc) when it holds any.
type PersonLookupResponse struct {
	Found bool            `json:"found"`
	Facts json.RawMessage `json:"facts,omitempty"`
}

// ErrorBody is the JSON body of every non-2xx response.
type ErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Updates (docs/appliance.md, "Staged rollout"). A station asks the
// registry which update it should run (PathUpdate) and downloads the
// bundle over the same mutual-TLS channel (PathBundle). The registry
// offers each station at most one version, the target of the station's
// update group; a release reaches groups other than the pilot group only
// after pilot stations committed it. The bundle's signature is checked by
// RAUC on the station against the keyring in its image: the registry
// chooses what and when, never what is trusted.
const (
	PathUpdate = "/v1/update"
	PathBundle = "/v1/bundle"
)

// updateVersionRe is what a release's version may look like to a
// station: it ends up in file names, the audit log and the installer's
// outcome file.
var updateVersionRe = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z.+~_-]{0,63}$`)

// ValidUpdateVersion reports whether v may name a release for stations:
// at most 64 characters of letters, digits and . + ~ _ -, starting with a
// letter or digit (so a Debian version without an epoch). Stations refuse
// an offer of any other; the registry refuses to add such a release.
func ValidUpdateVersion(v string) bool { return updateVersionRe.MatchString(v) }

// UpdateCheckRequest asks for the update this station should run, and
// tells the registry what it runs now.
type UpdateCheckRequest struct {
	StationID string `json:"station_id"`
	// Version is the station software's version in the booted slot
	// (the Debian version, as in /etc/kortstation-release).
	Version string `json:"version"`
	// Slot is the booted RAUC slot ("A" or "B"), empty off the image.
	Slot string `json:"slot,omitempty"`
}

// UpdateOffer is one release offered to a station.
type UpdateOffer struct {
	Version string `json:"version"`
	// SHA256 is the hex SHA-256 of the bundle's bytes; Size their count.
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
	// Group is the update group the offer was made for.
	Group string `json:"group"`
}

// UpdateCheckResponse carries the offer, or none when the station runs its
// target (or its group has none).
type UpdateCheckResponse struct {
	Offer *UpdateOffer `json:"offer,omitempty"`
}

// BundleRequest asks for the bytes of the bundle of an offered version,
// from Offset on (a resumed download). The answer is the bundle itself
// (application/octet-stream, not gzip-encoded), never a JSON body; it is
// refused (CodeNotOffered) for a version not offered to this station.
type BundleRequest struct {
	StationID string `json:"station_id"`
	Version   string `json:"version"`
	Offset    int64  `json:"offset,omitempty"`
}

// CodeNotOffered: the bundle asked for is not the one offered to this
// station (404).
const CodeNotOffered = "not_offered"

// Update states a station reports (StationStatus.Update and
// UpdateResultPayload.Result).
const (
	UpdateDownloading   = "downloading"    // a bundle is being fetched
	UpdateDownloaded    = "downloaded"     // fetched and its hash checked; waiting for a quiet window
	UpdateInstalling    = "installing"     // handed to the installer (rauc); a trial boot follows
	UpdateCommitted     = "committed"      // the new slot passed its health check and is kept
	UpdateRolledBack    = "rolled_back"    // the new slot failed (or never came up): the old one runs
	UpdateDownloadError = "download_error" // the download failed or the bytes did not match the offer
	UpdateInstallError  = "install_error"  // the installer refused the bundle (signature, format, downgrade)
)

// UpdateState is the station's latest update state, in its status report.
type UpdateState struct {
	State   string    `json:"state"`
	Version string    `json:"version,omitempty"` // the version the state is about
	Reason  string    `json:"reason,omitempty"`  // plain words, no personal data
	At      time.Time `json:"at,omitzero"`
}
