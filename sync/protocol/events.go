package protocol

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"
)

// Event kinds a station pushes. Each has one payload type, which names its
// kind (Payload.EventKind); EventKinds lists them all. The registry stores
// every event it is sent, of any kind; these it also understands.
const (
	KindIssuance        = "issuance"         // IssuancePayload: reserve card handed out (RC-1), ordered card picked up (ID-3, ID-4)
	KindExtension       = "extension"        // ExtensionPayload: reserve card extended (RC-5)
	KindReturn          = "return"           // ReturnPayload: card returned (RC-6)
	KindReceipt         = "receipt"          // ReceiptPayload: signed receipt, PDF and signatures (RE-1)
	KindNotification    = "notification"     // NotificationPayload: ask the central service to notify someone (RE-5)
	KindBlockRequest    = "block_request"    // BlockRequestPayload: block a card (BL-1)
	KindStockMovement   = "stock_movement"   // StockMovementPayload: a card entered or left stock
	KindDrawerAlarm     = "drawer_alarm"     // DrawerAlarmPayload: drawer opened with nobody logged in (RC-7)
	KindDrawerEvent     = "drawer_event"     // DrawerEventPayload: every other drawer state change
	KindAuditCheckpoint = "audit.checkpoint" // AuditCheckpointPayload: head of the audit chain
	KindAdminChange     = "admin_change"     // AdminChangePayload: a change of administrators asked for (AD-2)
	KindUpdateResult    = "update_result"    // UpdateResultPayload: an update installed, committed, rolled back or refused
)

// Payload is the payload of an event a station pushes; it knows the kind
// of event it travels in.
type Payload interface {
	EventKind() string
}

// KindInfo describes one event kind: its name on the wire, the Go name of
// its payload type in this package and what it records.
type KindInfo struct {
	Kind        string
	Payload     string
	Description string

	typ reflect.Type
}

// Fields are the JSON field names of the payload, in declaration order.
func (k KindInfo) Fields() []string { return jsonFields(k.typ) }

// Decode decodes a payload of this kind.
func (k KindInfo) Decode(raw json.RawMessage) (Payload, error) {
	p := reflect.New(k.typ)
	if err := json.Unmarshal(raw, p.Interface()); err != nil {
		return nil, fmt.Errorf("%s payload: %w", k.Kind, err)
	}
	return p.Elem().Interface().(Payload), nil
}

func kindInfo[P Payload](description string) KindInfo {
	var zero P
	t := reflect.TypeFor[P]()
	return KindInfo{Kind: zero.EventKind(), Payload: t.Name(), Description: description, typ: t}
}

// EventKinds lists every kind of event a station sends, with its payload
// type. docs/sync-protocol.md documents exactly these (a test checks it).
func EventKinds() []KindInfo {
	return []KindInfo{
		kindInfo[IssuancePayload]("a reserve card handed out (RC-1) or an ordered card picked up (ID-3, ID-4)"),
		kindInfo[ExtensionPayload]("a reserve card's validity extended (RC-5)"),
		kindInfo[ReturnPayload]("a card returned to the station (RC-6)"),
		kindInfo[ReceiptPayload]("the signed receipt of an issuance, with its PDF and signature strokes (RE-1)"),
		kindInfo[NotificationPayload]("a request to the central service to notify a recipient or attestor (RE-5)"),
		kindInfo[BlockRequestPayload]("a request to block a card (BL-1)"),
		kindInfo[StockMovementPayload]("a card entering or leaving the station's stock"),
		kindInfo[DrawerAlarmPayload]("the drawer opened with nobody logged in (RC-7)"),
		kindInfo[DrawerEventPayload]("any other drawer state change: opened in a session, closed, flapping, fault, recovered"),
		kindInfo[AuditCheckpointPayload]("the head of the station's audit chain, whenever it moved"),
		kindInfo[AdminChangePayload]("a change of administrators at the station asked for by its manager (AD-1, AD-2)"),
		kindInfo[UpdateResultPayload]("the end of an update: committed after its health check, rolled back, or refused by the installer"),
	}
}

// ErrUnknownKind: the event kind is not one of EventKinds.
var ErrUnknownKind = errors.New("unknown event kind")

// LookupKind returns the description of kind.
func LookupKind(kind string) (KindInfo, bool) {
	for _, k := range EventKinds() {
		if k.Kind == kind {
			return k, true
		}
	}
	return KindInfo{}, false
}

// DecodePayload decodes the payload of an event of kind into its payload
// type (a value such as DrawerAlarmPayload, not a pointer). A kind not in
// EventKinds gives ErrUnknownKind.
func DecodePayload(kind string, raw json.RawMessage) (Payload, error) {
	k, ok := LookupKind(kind)
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownKind, kind)
	}
	return k.Decode(raw)
}

// jsonFields are the JSON names of t's exported fields, as encoding/json
// names them (embedded structs flattened, "-" skipped).
func jsonFields(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			out = append(out, jsonFields(f.Type)...)
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, name)
	}
	return out
}

// IssuancePayload is the payload of an issuance event: a reserve card
// handed out, or an ordered card picked up. PersonalNumber travels only in
// this body, never in a URL or a log line.
type IssuancePayload struct {
	IssuanceID     string    `json:"issuance_id"`
	CardSerial     string    `json:"card_serial"`
	CardType       string    `json:"card_type,omitempty"`
	PersonalNumber string    `json:"personal_number,omitempty"`
	Reason         string    `json:"reason,omitempty"`
	ValidFrom      time.Time `json:"valid_from,omitzero"`
	ValidUntil     time.Time `json:"valid_until,omitzero"`
	RefersTo       string    `json:"refers_to,omitempty"`
	Operator       string    `json:"operator,omitempty"`
	Attestors      []string  `json:"attestors,omitempty"`
	// AttestationGround is why attestors identified the recipient (ID-6):
	// no_valid_document or no_personal_number; empty with an ID document.
	AttestationGround string `json:"attestation_ground,omitempty"`
	// AttestorProofs says, for each of Attestors in order, how the
	// attestor proved who they are: siths_card (their own card and PIN
	// at the station) or typed (typed in, not verified) (AT-1).
	AttestorProofs []string `json:"attestor_proofs,omitempty"`
}

// EventKind is KindIssuance.
func (IssuancePayload) EventKind() string { return KindIssuance }

// ExtensionPayload is the payload of an extension event (RC-5): the fields
// of an issuance, RefersTo naming the issuance extended.
type ExtensionPayload IssuancePayload

// EventKind is KindExtension.
func (ExtensionPayload) EventKind() string { return KindExtension }

// ReturnPayload is the payload of a return event (RC-6): the fields of an
// issuance, RefersTo naming the issuance of the returned card.
type ReturnPayload IssuancePayload

// EventKind is KindReturn.
func (ReturnPayload) EventKind() string { return KindReturn }

// ReceiptPayload is the payload of a receipt event (RE-1): the signed
// receipt's fields, its PDF and the signature strokes.
type ReceiptPayload struct {
	ReceiptID  string          `json:"receipt_id"`
	IssuanceID string          `json:"issuance_id"`
	CardSerial string          `json:"card_serial"`
	Corrects   string          `json:"corrects,omitempty"`
	Content    json.RawMessage `json:"content,omitempty"`
	Signatures json.RawMessage `json:"signatures,omitempty"`
	PDF        []byte          `json:"pdf,omitempty"`
	PDFSHA256  string          `json:"pdf_sha256,omitempty"`
	SignedAt   time.Time       `json:"signed_at,omitzero"`
}

// EventKind is KindReceipt.
func (ReceiptPayload) EventKind() string { return KindReceipt }

// NotificationPayload is a notification request for the central service
// (RE-5). It names the addressee by role and HSA-ID, or for a recipient
// without one by the issuance the central service already holds (with its
// personal number), and the message by its key: it carries no personal
// number and no name.
type NotificationPayload struct {
	Event      string `json:"event"`            // what happened, e.g. "issued"
	Role       string `json:"role"`             // recipient or attestor
	HSAID      string `json:"hsa_id,omitempty"` // the addressee's HSA-ID, if known
	IssuanceID string `json:"issuance_id"`      // the issuance it is about (and the recipient's reference)
	ReceiptID  string `json:"receipt_id"`
	CardSerial string `json:"card_serial"`
	Key        string `json:"key"` // the message, rendered by the central service in the addressee's language
}

// EventKind is KindNotification.
func (NotificationPayload) EventKind() string { return KindNotification }

// BlockRequestPayload asks the registry to block a card (BL-1).
type BlockRequestPayload struct {
	CardSerial string `json:"card_serial"`
	Reason     string `json:"reason"`
	Operator   string `json:"operator,omitempty"`
}

// EventKind is KindBlockRequest.
func (BlockRequestPayload) EventKind() string { return KindBlockRequest }

// StockMovementPayload records a card entering or leaving stock.
type StockMovementPayload struct {
	CardSerial  string `json:"card_serial"`
	Movement    string `json:"movement"`
	ShipmentRef string `json:"shipment_ref,omitempty"`
}

// EventKind is KindStockMovement.
func (StockMovementPayload) EventKind() string { return KindStockMovement }

// Drawer states in drawer events.
const (
	DrawerOpen      = "open"
	DrawerClosed    = "closed"
	DrawerFlapping  = "flapping"
	DrawerFault     = "fault"
	DrawerRecovered = "recovered"
)

// DrawerAlarmPayload records the drawer opened with nobody logged in
// (RC-7). It carries no personal data.
type DrawerAlarmPayload struct {
	State     string    `json:"state"`                // always DrawerOpen
	FoundOpen bool      `json:"found_open,omitempty"` // the drawer was already open when the sensor started
	Detail    string    `json:"detail,omitempty"`
	At        time.Time `json:"at"` // when the sensor saw it, station clock
}

// EventKind is KindDrawerAlarm.
func (DrawerAlarmPayload) EventKind() string { return KindDrawerAlarm }

// DrawerEventPayload records any other drawer state change: opened in an
// operator's session, closed, flapping, fault, recovered. The operator
// appears only as the session ID.
type DrawerEventPayload struct {
	State     string    `json:"state"` // DrawerOpen, DrawerClosed, DrawerFlapping, DrawerFault, DrawerRecovered
	SessionID string    `json:"session_id,omitempty"`
	FoundOpen bool      `json:"found_open,omitempty"`
	Detail    string    `json:"detail,omitempty"`
	At        time.Time `json:"at"`
}

// EventKind is KindDrawerEvent.
func (DrawerEventPayload) EventKind() string { return KindDrawerEvent }

// AuditCheckpointPayload is the head of the station's audit chain, signed
// with the station's key (checkpoint.go).
type AuditCheckpointPayload struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
	// Station and At are the station that signed and when (its clock).
	Station string    `json:"station,omitempty"`
	At      time.Time `json:"at,omitzero"`
	// Signature is the station key's signature of SignedBytes (base64).
	Signature string `json:"signature,omitempty"`
}

// EventKind is KindAuditCheckpoint.
func (AuditCheckpointPayload) EventKind() string { return KindAuditCheckpoint }

// UpdateResultPayload is the end of one update at the station: the new
// slot committed after a passing health check, rolled back (a failing
// health check or a trial boot that never came up), or the bundle refused
// by the installer or its download failing its hash. Result is one of
// UpdateCommitted, UpdateRolledBack, UpdateInstallError,
// UpdateDownloadError.
type UpdateResultPayload struct {
	Result string `json:"result"`
	// Version is the version the update was to; FromVersion the one the
	// station ran before it.
	Version     string `json:"version"`
	FromVersion string `json:"from_version,omitempty"`
	// Slot is the RAUC slot the update was installed into ("A" or "B").
	Slot   string    `json:"slot,omitempty"`
	Reason string    `json:"reason,omitempty"`
	At     time.Time `json:"at"`
}

// EventKind is KindUpdateResult.
func (UpdateResultPayload) EventKind() string { return KindUpdateResult }
