package rules

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kortstation/kortstation/kiosk/rules/calendar"
	"github.com/kortstation/kortstation/kiosk/rules/violation"
)

// ReceiptKind is what a receipt closes.
type ReceiptKind string

// The receipt kinds.
const (
	ReceiptReserveIssuance  ReceiptKind = "reserve_issuance"
	ReceiptReserveExtension ReceiptKind = "reserve_extension"
	ReceiptPickup           ReceiptKind = "pickup"
)

// ReceiptAttestor is an attestor as the receipt records them.
type ReceiptAttestor struct {
	Person
	Name     string        `json:"name"`
	Role     AttestorRole  `json:"role"`
	Proof    AttestorProof `json:"proof,omitempty"`
	SignedAt time.Time     `json:"signed_at,omitzero"`
}

// Receipt is the form the recipient signs; it closes the issuance (RE-1)
// and records what RE-4 lists. Once signed it is never changed (RE-3).
type Receipt struct {
	// ID is unique and never reused (RE-3).
	ID            string      `json:"id"`
	Kind          ReceiptKind `json:"kind"`
	Recipient     Person      `json:"recipient"`
	RecipientName string      `json:"recipient_name"`
	CardNumber    string      `json:"card_number"`
	CardType      CardType    `json:"card_type"`
	ValidFrom     time.Time   `json:"valid_from"`
	ValidUntil    time.Time   `json:"valid_until"`
	// Reason is the reserve card's reason (reserve receipts).
	Reason Reason `json:"reason,omitempty"`
	// Document is the ID document used, or nil with Attestors.
	Document  *IDDocument       `json:"document,omitempty"`
	Attestors []ReceiptAttestor `json:"attestors,omitempty"`
	// AttestationGround is why attestors identified the recipient (ID-6).
	AttestationGround AttestationGround `json:"attestation_ground,omitempty"`
	Operator          Person            `json:"operator"`
	OperatorName      string            `json:"operator_name"`
	// At and Place are the time and place of issuance.
	At    time.Time `json:"at"`
	Place string    `json:"place"`
	// SignedAt is when the recipient signed (or the statement that they
	// cannot sign was confirmed); zero until then.
	SignedAt time.Time `json:"signed_at,omitzero"`
	// NoSignature, when the recipient cannot sign, replaces their
	// signature (RE-1): the operator recorded it with a reason from a fixed
	// list and an attestor confirmed it with their own card.
	NoSignature *NoSignature `json:"no_signature,omitempty"`
	// Corrects is the ID of the receipt this one corrects (RE-3).
	Corrects string `json:"corrects,omitempty"`
}

// NoSignatureReason is why a recipient cannot sign: a short fixed list,
// never health details.
type NoSignatureReason string

// The reasons.
const (
	NoSignCannotWrite  NoSignatureReason = "cannot_write"   // cannot write
	NoSignCannotUsePad NoSignatureReason = "cannot_use_pad" // cannot use the signature pad
	NoSignOther        NoSignatureReason = "other"          // another reason, not recorded
)

// NoSignatureReasons are the reasons in the order the screen offers them.
func NoSignatureReasons() []NoSignatureReason {
	return []NoSignatureReason{NoSignCannotWrite, NoSignCannotUsePad, NoSignOther}
}

// NoSignature is the recorded alternative to the recipient's signature:
// the reason, and the attestor who confirmed it, proven by their own
// SITHS card and PIN (not the recipient or the operator, AT-3).
type NoSignature struct {
	Reason          NoSignatureReason `json:"reason"`
	ConfirmedBy     Person            `json:"confirmed_by"`
	ConfirmedByName string            `json:"confirmed_by_name"`
	Proof           AttestorProof     `json:"proof"`
	ConfirmedAt     time.Time         `json:"confirmed_at"`
}

// CheckReceipt checks a receipt before it is sealed and sent: everything
// RE-4 lists is there; the recipient signed it, as did every attestor
// (RE-1); and its ID is not one already used (RE-3).
func CheckReceipt(r Receipt, usedIDs []string) Violations {
	var vs Violations
	missing := func(field string) {
		vs.Add(violation.New("RE-4", violation.KeyReceiptMissing, "field", field))
	}
	if strings.TrimSpace(r.ID) == "" {
		missing("id")
	}
	if r.Recipient.IsZero() {
		missing("recipient")
	}
	if strings.TrimSpace(r.RecipientName) == "" {
		missing("recipient_name")
	}
	if strings.TrimSpace(r.CardNumber) == "" {
		missing("card_number")
	}
	if r.ValidFrom.IsZero() || r.ValidUntil.IsZero() || !r.ValidFrom.Before(r.ValidUntil) {
		missing("validity")
	}
	if r.CardType == CardReserve && r.Reason == "" {
		missing("reason")
	}
	if r.Document == nil && len(r.Attestors) == 0 {
		missing("identification")
	}
	if r.Document != nil && (strings.TrimSpace(r.Document.Number) == "" || r.Document.Type == "" || r.Document.Expiry.IsZero()) {
		missing("document")
	}
	if r.Operator.IsZero() || strings.TrimSpace(r.OperatorName) == "" {
		missing("operator")
	}
	for i, a := range r.Attestors {
		if a.IsZero() || strings.TrimSpace(a.Name) == "" {
			missing("attestor " + strconv.Itoa(i+1))
		}
		if a.SignedAt.IsZero() {
			vs.Add(violation.New("RE-1", violation.KeyReceiptAttestorUnsigned, "attestor", strconv.Itoa(i+1)))
		}
	}
	if r.At.IsZero() {
		missing("time")
	}
	if strings.TrimSpace(r.Place) == "" {
		missing("place")
	}
	if r.SignedAt.IsZero() {
		vs.Add(violation.New("RE-1", violation.KeyReceiptUnsigned))
	}
	if ns := r.NoSignature; ns != nil {
		switch {
		case !slices.Contains(NoSignatureReasons(), ns.Reason) || ns.ConfirmedBy.IsZero() || strings.TrimSpace(ns.ConfirmedByName) == "" || ns.Proof != ProofCard:
			vs.Add(violation.New("RE-1", violation.KeyReceiptUnsigned))
		case ns.ConfirmedBy.HSAID == r.Operator.HSAID:
			vs.Add(violation.New("AT-3", violation.KeyAttestorIsOperator, "attestor", ""))
		case ns.ConfirmedBy.HSAID == r.Recipient.HSAID:
			vs.Add(violation.New("AT-3", violation.KeyAttestorIsRecipient, "attestor", ""))
		}
	}
	if r.ID != "" && slices.Contains(usedIDs, r.ID) {
		vs.Add(violation.New("RE-3", violation.KeyReceiptReused, "id", r.ID))
	}
	if r.Corrects != "" && r.Corrects == r.ID {
		vs.Add(violation.New("RE-3", violation.KeyReceiptSelfCorrection, "id", r.ID))
	}
	return vs
}

// SealedReceipt is a signed receipt with the digest of its content. Store
// it as is; VerifySealed tells whether it was changed since.
type SealedReceipt struct {
	Receipt Receipt `json:"receipt"`
	// Digest is the hex SHA-256 of the receipt's canonical JSON.
	Digest string `json:"digest"`
}

// Seal checks r (CheckReceipt) and seals it.
func Seal(r Receipt, usedIDs []string) (SealedReceipt, error) {
	if vs := CheckReceipt(r, usedIDs); len(vs) > 0 {
		return SealedReceipt{}, vs
	}
	d, err := digest(r)
	if err != nil {
		return SealedReceipt{}, err
	}
	return SealedReceipt{Receipt: r, Digest: d}, nil
}

// VerifySealed reports an RE-3 violation if the receipt no longer matches
// its digest: someone edited it.
func VerifySealed(s SealedReceipt) error {
	d, err := digest(s.Receipt)
	if err != nil {
		return err
	}
	if d != s.Digest {
		return violation.New("RE-3", violation.KeyReceiptEdited, "id", s.Receipt.ID)
	}
	return nil
}

// CheckReceiptUpdate refuses every change to a sealed receipt (RE-3): a
// correction is a new receipt made with NewCorrection.
func CheckReceiptUpdate(old SealedReceipt, updated Receipt) error {
	if err := VerifySealed(old); err != nil {
		return err
	}
	d, err := digest(updated)
	if err != nil {
		return err
	}
	if d != old.Digest {
		return violation.New("RE-3", violation.KeyReceiptEdited, "id", old.Receipt.ID)
	}
	return nil
}

// NewCorrection returns corrected as a new, unsigned receipt with the new
// ID newID that refers to old (RE-3). The recipient signs it again, and it
// is sealed like any other. old must be intact.
func NewCorrection(old SealedReceipt, corrected Receipt, newID string) (Receipt, error) {
	if err := VerifySealed(old); err != nil {
		return Receipt{}, err
	}
	if newID == "" || newID == old.Receipt.ID {
		return Receipt{}, violation.New("RE-3", violation.KeyReceiptReused, "id", newID)
	}
	corrected.ID = newID
	corrected.Corrects = old.Receipt.ID
	corrected.SignedAt = time.Time{}
	corrected.NoSignature = nil // a correction is signed again
	corrected.Attestors = slices.Clone(corrected.Attestors)
	for i := range corrected.Attestors {
		corrected.Attestors[i].SignedAt = time.Time{}
	}
	return corrected, nil
}

// digest is the SHA-256 of r's canonical JSON: times in UTC, empty lists
// as null, so a receipt read back from storage hashes the same.
func digest(r Receipt) (string, error) {
	r.ValidFrom, r.ValidUntil, r.At, r.SignedAt = utc(r.ValidFrom), utc(r.ValidUntil), utc(r.At), utc(r.SignedAt)
	if len(r.Attestors) == 0 {
		r.Attestors = nil
	} else {
		r.Attestors = slices.Clone(r.Attestors)
		for i := range r.Attestors {
			r.Attestors[i].SignedAt = utc(r.Attestors[i].SignedAt)
		}
	}
	if r.NoSignature != nil {
		ns := *r.NoSignature
		ns.ConfirmedAt = utc(ns.ConfirmedAt)
		r.NoSignature = &ns
	}
	b, err := json.Marshal(r)
	if err != nil {
		return "", fmt.Errorf("rules: digest receipt: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

// ReceiptDeadline is when the receipt of a card activated at activatedAt
// is late (RE-2): 00:00 Europe/Stockholm on the activation date + 8 days —
// on time during the 7th day after activation; see the package doc.
func ReceiptDeadline(activatedAt time.Time) time.Time {
	return calendar.DateOf(activatedAt).AddDays(8).Start()
}

// ReceiptOverdue reports whether card must be blocked at now because its
// receipt did not reach the central service in time (RE-2), and the
// deadline (zero while the card is not activated).
func ReceiptOverdue(card Card, now time.Time) (overdue bool, deadline time.Time) {
	if card.ActivatedAt.IsZero() {
		return false, time.Time{}
	}
	deadline = ReceiptDeadline(card.ActivatedAt)
	switch card.State {
	case StateBlocked, StateVoided, StateReturned:
		return false, deadline
	}
	if !card.ReceiptReceivedAt.IsZero() && card.ReceiptReceivedAt.Before(deadline) {
		return false, deadline
	}
	return !now.Before(deadline), deadline
}

// NotificationEvent is what a notification is about (RE-5).
type NotificationEvent string

// The events.
const (
	NotifyIssued   NotificationEvent = "issued"   // after issuance: recipient and attestors
	NotifyApproved NotificationEvent = "approved" // after approval: the card can be activated
)

// NotificationRole is the addressee's part in the issuance.
type NotificationRole string

// The roles.
const (
	ToRecipient NotificationRole = "recipient"
	ToAttestor  NotificationRole = "attestor"
)

// Notification is a message the station (or the central service) sends
// (RE-5). The addressee's e-mail comes from the HSA catalogue; the text
// from Message.
type Notification struct {
	Event      NotificationEvent `json:"event"`
	Role       NotificationRole  `json:"role"`
	To         Person            `json:"to"`
	CardNumber string            `json:"card_number"`
	Key        violation.Key     `json:"key"`
}

// Message returns the notification text in lang ("sv" or "en").
func (n Notification) Message(lang string) string {
	return violation.Render(n.Key, lang, map[string]string{"card_number": n.CardNumber})
}

// IssuedNotifications are sent after issuance: to the recipient and to
// each attestor (RE-5).
func IssuedNotifications(cardNumber string, recipient Person, attestors []Person) []Notification {
	return notifications(NotifyIssued, violation.KeyNotifyIssued, cardNumber, recipient, attestors)
}

// ApprovedNotifications are sent after central approval: the recipient
// (and the attestors, as seed 001 does) are told the card can be activated
// (RE-5).
func ApprovedNotifications(cardNumber string, recipient Person, attestors []Person) []Notification {
	return notifications(NotifyApproved, violation.KeyNotifyApproved, cardNumber, recipient, attestors)
}

func notifications(ev NotificationEvent, key violation.Key, card string, recipient Person, attestors []Person) []Notification {
	out := []Notification{{Event: ev, Role: ToRecipient, To: recipient, CardNumber: card, Key: key}}
	for _, a := range attestors {
		out = append(out, Notification{Event: ev, Role: ToAttestor, To: a, CardNumber: card, Key: key})
	}
	return out
}
