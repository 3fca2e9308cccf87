package rules

import (
	"strconv"
	"time"

	"github.com/kortstation/kortstation/kiosk/rules/calendar"
	"github.com/kortstation/kortstation/kiosk/rules/ident"
	"github.com/kortstation/kortstation/kiosk/rules/violation"
)

// Violation is one broken rule; see package violation.
type Violation = violation.Violation

// Violations is every rule one check broke; see package violation.
type Violations = violation.Violations

// Person identifies someone by personal or coordination number, HSA-ID, or
// both. Staff without a Swedish number have only an HSA-ID (ID-4).
type Person struct {
	PersonalNumber ident.PersonalNumber `json:"personal_number,omitzero"`
	HSAID          ident.HSAID          `json:"hsa_id,omitzero"`
}

// IsZero reports whether p identifies nobody.
func (p Person) IsZero() bool { return p.PersonalNumber.IsZero() && p.HSAID.IsZero() }

// Same reports whether p and o are the same person: they share a personal
// number or an HSA-ID.
func (p Person) Same(o Person) bool {
	return (!p.PersonalNumber.IsZero() && p.PersonalNumber == o.PersonalNumber) ||
		(!p.HSAID.IsZero() && p.HSAID == o.HSAID)
}

// Recipient is the person who gets the card.
type Recipient struct {
	Person
	// Name is printed on the receipt (RE-4); it is never logged.
	Name string `json:"name"`
}

// Operator is the issuing administrator logged in at the station.
type Operator struct {
	Person
	Name string `json:"name"`
}

// CardType is the kind of card (seed 003).
type CardType string

// The card types.
const (
	CardSIS       CardType = "sis"        // SIS card, 5 years
	CardCompany   CardType = "company"    // company card, 5 years
	CardShortTerm CardType = "short_term" // short-term card, 6 months
	CardReserve   CardType = "reserve"    // reserve card, per the validity table (RC-1)
)

// Valid reports whether t is a known card type.
func (t CardType) Valid() bool {
	switch t {
	case CardSIS, CardCompany, CardShortTerm, CardReserve:
		return true
	}
	return false
}

// CardState is where a card is in its life; see CheckTransition.
type CardState string

// The card states.
const (
	StateInStock   CardState = "in_stock"   // locked in the drawer (RC-7)
	StateHandedOut CardState = "handed_out" // with the recipient, pending central approval
	StateApproved  CardState = "approved"   // certificates issued, may be activated
	StateActivated CardState = "activated"  // in use
	StateReturned  CardState = "returned"   // back at a station
	StateVoided    CardState = "voided"     // cut and sent back (RC-8); final
	StateBlocked   CardState = "blocked"    // certificates revoked (BL-1)
	StateExpired   CardState = "expired"    // validity over
)

// Card is a card as the registry and the station know it.
type Card struct {
	// Number is the card number; for a reserve card, the serial printed
	// on it (RC-9).
	Number  string    `json:"number"`
	Type    CardType  `json:"type"`
	State   CardState `json:"state"`
	Holder  Person    `json:"holder,omitzero"`
	Station string    `json:"station,omitempty"`
	// IssuedAt is when the card was handed out (for a reserve card, the
	// original issue; an extension does not change it).
	IssuedAt time.Time `json:"issued_at,omitzero"`
	// ValidUntil is the first instant the card is no longer valid.
	ValidUntil time.Time `json:"valid_until,omitzero"`
	// Reason and ValidityDays are the reserve card's reason and validity
	// at issue (RC-1, RC-5).
	Reason       Reason `json:"reason,omitempty"`
	ValidityDays int    `json:"validity_days,omitempty"`
	// ExtendedAt is when the single extension was granted (RC-5).
	ExtendedAt time.Time `json:"extended_at,omitzero"`
	// ActivatedAt starts the receipt deadline (RE-2).
	ActivatedAt time.Time `json:"activated_at,omitzero"`
	// ReceiptReceivedAt is when the central service got the receipt.
	ReceiptReceivedAt time.Time `json:"receipt_received_at,omitzero"`
}

// EffectiveState is the card's state at now: an approved or activated
// card whose validity has ended is expired even before the registry says
// so.
func (c Card) EffectiveState(now time.Time) CardState {
	if (c.State == StateApproved || c.State == StateActivated) &&
		!c.ValidUntil.IsZero() && !now.Before(c.ValidUntil) {
		return StateExpired
	}
	return c.State
}

// live reports whether the card is with its holder and usable, or about to
// be, at now.
func (c Card) live(now time.Time) bool {
	switch c.EffectiveState(now) {
	case StateHandedOut, StateApproved, StateActivated:
		return true
	}
	return false
}

// OrderKind tells a regular card order from a reserve-card order.
type OrderKind string

// The order kinds.
const (
	OrderRegular OrderKind = "regular"
	OrderReserve OrderKind = "reserve"
)

// OrderStatus is where an order stands in the registry.
type OrderStatus string

// The order statuses; only open orders count as "an order in the registry".
const (
	OrderOpen      OrderStatus = "open"
	OrderFulfilled OrderStatus = "fulfilled"
	OrderCancelled OrderStatus = "cancelled"
)

// Order is a card order in the registry.
type Order struct {
	ID     string      `json:"id"`
	Kind   OrderKind   `json:"kind"`
	Status OrderStatus `json:"status"`
	// CardType is the ordered card's type (regular orders).
	CardType  CardType  `json:"card_type,omitempty"`
	Holder    Person    `json:"holder"`
	OrderedAt time.Time `json:"ordered_at"`
	// PickupDeadline is the last day the card may be picked up (CP-4);
	// zero means none.
	PickupDeadline calendar.Date `json:"pickup_deadline,omitzero"`
}

// StopKind is the kind of stop window (CP-3).
type StopKind string

// The stop kinds.
const (
	// OrderStop: no regular card can be ordered; reserve cards can.
	OrderStop StopKind = "order_stop"
	// TotalStop: not even reserve cards, their certificates, or pickups.
	TotalStop StopKind = "total_stop"
)

// StopWindow is an order stop or total stop, start inclusive, end
// exclusive, to the minute (CP-3).
type StopWindow struct {
	Kind StopKind `json:"kind"`
	calendar.Window
}

// Registry is what the central registry knows that a decision needs. The
// caller passes the registry's latest facts about the recipient, across
// all stations.
type Registry struct {
	// Cards are the recipient's cards, regular and reserve, at every
	// station.
	Cards []Card `json:"cards"`
	// Orders are the recipient's card orders.
	Orders []Order `json:"orders"`
	// AuthorisedAdmins are the issuing administrators the central service
	// has authorised (AD-1).
	AuthorisedAdmins []ident.HSAID `json:"authorised_admins"`
	// StopWindows are the announced order and total stops (CP-3).
	StopWindows []StopWindow `json:"stop_windows"`
	// Validity is the reason → maximum validity table (RC-1).
	Validity ValidityTable `json:"validity"`
	// BlockedCards are serials on the registry's list of blocked cards
	// (BL-1): at least those of the cards the decision is about.
	BlockedCards []string `json:"blocked_cards,omitempty"`
	// TypedAttestors is the station's policy: attestors typed in by the
	// operator, not proven by their own card, are allowed (AT-1).
	TypedAttestors bool `json:"typed_attestors,omitempty"`
	// ProcessingHours are the central service's hours (CP-2); empty means
	// calendar.ProcessingHours().
	ProcessingHours calendar.Hours `json:"processing_hours,omitempty"`
	// ProcessingMinutes is the expected handling time of one request in
	// open processing time (CP-2); 0 means "as soon as it is open".
	ProcessingMinutes int `json:"processing_minutes,omitempty"`
}

func (r Registry) hours() calendar.Hours {
	if len(r.ProcessingHours) == 0 {
		return calendar.ProcessingHours()
	}
	return r.ProcessingHours
}

// Deviation is a breach of the routine to report (RC-6).
type Deviation struct {
	Rule       string        `json:"rule"`
	CardNumber string        `json:"card_number"`
	Holder     Person        `json:"holder"`
	Key        violation.Key `json:"key"`
	Since      time.Time     `json:"since"`
}

// fmtTime renders an instant for violation facts and messages.
func fmtTime(t time.Time) string { return calendar.FormatMinute(t) }

func itoa(n int) string { return strconv.Itoa(n) }

// PersonalNumber is a Swedish personal or coordination number; see
// package ident.
type PersonalNumber = ident.PersonalNumber

// HSAID is an HSA catalogue identity; see package ident.
type HSAID = ident.HSAID

// ParsePersonalNumberAt parses a personal or coordination number in any
// form, resolving the century of the 10-digit forms on now (ID-5); see
// ident.ParsePersonalNumberAt.
func ParsePersonalNumberAt(s string, now time.Time) (PersonalNumber, error) {
	return ident.ParsePersonalNumberAt(s, now)
}

// ParseHSAID parses an HSA-ID; see ident.ParseHSAID.
func ParseHSAID(s string) (HSAID, error) { return ident.ParseHSAID(s) }
