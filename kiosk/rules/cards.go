package rules

import (
	"strconv"
	"time"

	"github.com/kortstation/kortstation/kiosk/rules/calendar"
	"github.com/kortstation/kortstation/kiosk/rules/violation"
)

// CardValidUntil returns when a card of type t issued at issuedAt stops
// being valid (seed 003): SIS and company cards 5 years, short-term cards
// 6 months, reserve cards reserveDays days (from the validity table,
// RC-1) — each at 00:00 Europe/Stockholm on the issue date + that period.
func CardValidUntil(t CardType, issuedAt time.Time, reserveDays int) (time.Time, *Violation) {
	d := calendar.DateOf(issuedAt)
	switch t {
	case CardSIS, CardCompany:
		return d.AddMonths(60).Start(), nil
	case CardShortTerm:
		return d.AddMonths(6).Start(), nil
	case CardReserve:
		if reserveDays < 1 || reserveDays > MaxReserveDays {
			return time.Time{}, violation.New("RC-1", violation.KeyValidityTooLong,
				"reason", "", "requested", strconv.Itoa(reserveDays), "max", strconv.Itoa(MaxReserveDays))
		}
		return d.AddDays(reserveDays).Start(), nil
	}
	return time.Time{}, violation.New("CP-1", violation.KeyCardTypeUnknown, "type", string(t))
}

// transitions are the legal moves of a card's life:
//
//	in_stock   → handed_out (issue, pickup), voided (not picked up, CP-4; damaged stock)
//	handed_out → approved (CP-1), voided (rejected), returned, blocked
//	approved   → activated, returned, blocked, expired
//	activated  → handed_out (extension, RC-5), returned, blocked, expired
//	expired    → handed_out (extension, RC-5), returned, blocked, voided
//	blocked    → returned, voided
//	returned   → blocked (central blocks after a return), voided (RC-8)
//	voided     → nothing
var transitions = map[CardState][]CardState{
	StateInStock:   {StateHandedOut, StateVoided},
	StateHandedOut: {StateApproved, StateVoided, StateReturned, StateBlocked},
	StateApproved:  {StateActivated, StateReturned, StateBlocked, StateExpired},
	StateActivated: {StateHandedOut, StateReturned, StateBlocked, StateExpired},
	StateExpired:   {StateHandedOut, StateReturned, StateBlocked, StateVoided},
	StateBlocked:   {StateReturned, StateVoided},
	StateReturned:  {StateBlocked, StateVoided},
	StateVoided:    nil,
}

// States returns every card state.
func States() []CardState {
	return []CardState{StateInStock, StateHandedOut, StateApproved, StateActivated,
		StateReturned, StateVoided, StateBlocked, StateExpired}
}

// CheckTransition reports whether a card may go from one state to another,
// or the violation of the rule that forbids it.
func CheckTransition(from, to CardState) *Violation {
	for _, s := range transitions[from] {
		if s == to {
			return nil
		}
	}
	return violation.New(forbiddingRule(from, to), violation.KeyTransition, "from", string(from), "to", string(to))
}

// forbiddingRule names the rule an illegal transition breaks.
func forbiddingRule(from, to CardState) string {
	switch {
	case from == StateVoided || from == StateReturned && to != StateVoided:
		return "RC-8" // voided and returned cards are cut and sent back
	case to == StateInStock:
		return "RC-8" // a card that left the drawer never goes back into stock
	case from == StateBlocked:
		return "BL-1" // blocking is final
	case to == StateVoided:
		return "BL-2" // certificates are blocked before a card is destroyed
	case to == StateHandedOut:
		return "RC-5" // handed out again only as the single extension
	case to == StateReturned:
		return "RC-6" // only a card that was handed out can be returned
	case to == StateBlocked:
		return "BL-1" // only a card in use can be blocked
	case to == StateActivated && from == StateExpired:
		return "RC-5" // an expired reserve card comes back only by extension
	}
	return "CP-1" // approval, activation and expiry follow the central service
}
