package rules

import (
	"slices"
	"strconv"
	"time"

	"github.com/kortstation/kortstation/kiosk/rules/calendar"
	"github.com/kortstation/kortstation/kiosk/rules/violation"
)

// Reason is why a reserve card is issued (RC-1).
type Reason string

// The reasons (seed 001).
const (
	ReasonForgotten           Reason = "forgotten"
	ReasonStolen              Reason = "stolen"
	ReasonLost                Reason = "lost"
	ReasonBroken              Reason = "broken"
	ReasonDamaged             Reason = "damaged"
	ReasonWaitingForNewCard   Reason = "waiting_for_new_card"
	ReasonTemporaryAssignment Reason = "temporary_assignment"
)

// Reasons returns every reason, in the order of seed 001.
func Reasons() []Reason {
	return []Reason{ReasonForgotten, ReasonStolen, ReasonLost, ReasonBroken, ReasonDamaged,
		ReasonWaitingForNewCard, ReasonTemporaryAssignment}
}

// MaxReserveDays bounds any table entry: a reserve card is temporary.
const MaxReserveDays = 366

// ValidityTable maps each reason to the reserve card's maximum validity in
// days (RC-1). It is station configuration pulled from the registry.
type ValidityTable map[Reason]int

// DefaultValidityTable returns the table of seed 001: forgotten 10 days;
// stolen, lost, broken, damaged 30; waiting for a new card 30; temporary
// assignment 100.
func DefaultValidityTable() ValidityTable {
	return ValidityTable{
		ReasonForgotten: 10, ReasonStolen: 30, ReasonLost: 30, ReasonBroken: 30, ReasonDamaged: 30,
		ReasonWaitingForNewCard: 30, ReasonTemporaryAssignment: 100,
	}
}

// Validate checks that the table is usable: not empty, known reasons only,
// each from 1 to MaxReserveDays days (RC-1).
func (t ValidityTable) Validate() Violations {
	var vs Violations
	if len(t) == 0 {
		vs.Add(violation.New("RC-1", violation.KeyValidityTableEmpty))
	}
	keys := make([]Reason, 0, len(t))
	for r := range t {
		keys = append(keys, r)
	}
	slices.Sort(keys)
	for _, r := range keys {
		d := t[r]
		if !slices.Contains(Reasons(), r) || d < 1 || d > MaxReserveDays {
			vs.Add(violation.New("RC-1", violation.KeyValidityTableEntry, "reason", string(r), "days", strconv.Itoa(d)))
		}
	}
	return vs
}

// ReserveDays returns the validity for reason given a request of
// requested days (0 asks for the maximum), or the RC-1 violations.
func (t ValidityTable) ReserveDays(reason Reason, requested int) (int, Violations) {
	max, ok := t[reason]
	if !ok || max < 1 || max > MaxReserveDays {
		return 0, Violations{violation.New("RC-1", violation.KeyReasonNotInTable, "reason", string(reason))}
	}
	switch {
	case requested == 0:
		return max, nil
	case requested < 0 || requested > max:
		return 0, Violations{violation.New("RC-1", violation.KeyValidityTooLong,
			"reason", string(reason), "requested", strconv.Itoa(requested), "max", strconv.Itoa(max))}
	}
	return requested, nil
}

// DaysValidUntil returns when a card valid for days, issued at t, stops
// being valid: 00:00 Europe/Stockholm on the issue date + days (the issue
// date is day 1).
func DaysValidUntil(t time.Time, days int) time.Time {
	return calendar.DateOf(t).AddDays(days).Start()
}

// hasOpenOrder reports whether reg has an open order of kind for p.
func hasOpenOrder(reg Registry, p Person, kind OrderKind) bool {
	for _, o := range reg.Orders {
		if o.Kind == kind && o.Status == OrderOpen && o.Holder.Same(p) {
			return true
		}
	}
	return false
}

// holdsRegularCard reports whether reg has a regular card of p that has
// not been voided or returned (a lost or blocked card still counts: it is
// why the reserve card is needed).
func holdsRegularCard(reg Registry, p Person) bool {
	for _, c := range reg.Cards {
		if c.Type != CardReserve && c.Holder.Same(p) && c.State != StateVoided && c.State != StateReturned && c.State != StateInStock {
			return true
		}
	}
	return false
}

// CheckReservePrerequisites checks the registry facts a reserve card needs:
// "waiting for a new card" needs a regular card order, "temporary
// assignment" a reserve-card order (RC-2); the recipient must hold a
// regular card or a reserve-card order (RC-3); and hold no other live
// reserve card at any station (RC-4). except is a card number to ignore
// (the card being extended).
func CheckReservePrerequisites(reg Registry, p Person, reason Reason, now time.Time, except string) Violations {
	var vs Violations
	reserveOrder := hasOpenOrder(reg, p, OrderReserve)
	switch reason {
	case ReasonWaitingForNewCard:
		if !hasOpenOrder(reg, p, OrderRegular) {
			vs.Add(violation.New("RC-2", violation.KeyNeedsRegularOrder))
		}
	case ReasonTemporaryAssignment:
		if !reserveOrder {
			vs.Add(violation.New("RC-2", violation.KeyNeedsReserveOrder))
		}
	}
	if !reserveOrder && !holdsRegularCard(reg, p) {
		vs.Add(violation.New("RC-3", violation.KeyNoCardNoOrder))
	}
	for _, c := range reg.Cards {
		if c.Type == CardReserve && NormaliseSerial(c.Number) != NormaliseSerial(except) && c.Holder.Same(p) && c.live(now) {
			station := c.Station
			if station == "" {
				station = "?"
			}
			vs.Add(violation.New("RC-4", violation.KeyAlreadyHasReserve,
				"card_number", c.Number, "station", station))
		}
	}
	return vs
}

// ExtensionDeadline is the last day an extension of a reserve card issued
// at issuedAt may be asked for: the issue date + 7 months (RC-5).
func ExtensionDeadline(issuedAt time.Time) calendar.Date {
	return calendar.DateOf(issuedAt).AddMonths(7)
}

// CheckChip checks that the serial read from the chip is the card number
// handed out (RC-9). Spaces and hyphens are ignored and letters compared
// without case, as a serial printed in groups is read back from the chip
// without them.
func CheckChip(cardNumber, chipSerial string) *Violation {
	if chipSerial == "" {
		return violation.New("RC-9", violation.KeyChipNotRead)
	}
	if NormaliseSerial(cardNumber) != NormaliseSerial(chipSerial) {
		return violation.New("RC-9", violation.KeyChipMismatch, "card_number", cardNumber, "chip_serial", chipSerial)
	}
	return nil
}

// NormaliseSerial drops spaces and hyphens and upper-cases letters.
func NormaliseSerial(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '-' || c == '\t':
		case c >= 'a' && c <= 'z':
			b = append(b, c-'a'+'A')
		default:
			b = append(b, c)
		}
	}
	return string(b)
}

// Unreturned lists the reserve cards that should have been returned by
// now but were not (RC-6): still out when their validity ended, or when
// the holder's regular card was activated after the reserve card was
// issued, whichever came first. With graceDays > 0 a card is reported only
// from 00:00 on the date of that event + graceDays + 1 (the event's own
// date does not count). Each is a deviation to report.
func Unreturned(cards []Card, now time.Time, graceDays int) []Deviation {
	var out []Deviation
	for _, c := range cards {
		if c.Type != CardReserve {
			continue
		}
		switch c.State {
		case StateReturned, StateVoided, StateInStock:
			continue
		}
		var since time.Time
		var key violation.Key
		if !c.ValidUntil.IsZero() {
			since, key = c.ValidUntil, violation.KeyDeviationExpired
		}
		for _, r := range cards {
			if r.Type != CardReserve && r.Holder.Same(c.Holder) && !r.ActivatedAt.IsZero() &&
				r.ActivatedAt.After(c.IssuedAt) && (since.IsZero() || r.ActivatedAt.Before(since)) {
				since, key = r.ActivatedAt, violation.KeyDeviationRegularAtHand
			}
		}
		if since.IsZero() {
			continue
		}
		due := calendar.DateOf(since).AddDays(graceDays + 1).Start()
		if graceDays == 0 {
			due = since
		}
		if !now.Before(due) {
			out = append(out, Deviation{Rule: "RC-6", CardNumber: c.Number, Holder: c.Holder, Key: key, Since: since})
		}
	}
	return out
}
