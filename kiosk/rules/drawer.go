package rules

import (
	"time"

	"github.com/kortstation/kortstation/kiosk/rules/ident"
	"github.com/kortstation/kortstation/kiosk/rules/violation"
)

// Session is an operator's login at the station: Start inclusive, End
// exclusive; a zero End means still logged in.
type Session struct {
	Operator ident.HSAID `json:"operator"`
	Start    time.Time   `json:"start"`
	End      time.Time   `json:"end,omitzero"`
}

// CheckDrawerOpening checks an opening of the locked drawer that holds the
// stock (RC-7): it must fall in a session of an authorised operator;
// otherwise it is an alarm.
func CheckDrawerOpening(openedAt time.Time, sessions []Session, authorised []ident.HSAID) *Violation {
	for _, s := range sessions {
		if openedAt.Before(s.Start) || (!s.End.IsZero() && !openedAt.Before(s.End)) {
			continue
		}
		if CheckOperator(Operator{Person: Person{HSAID: s.Operator}}, authorised) == nil {
			return nil
		}
	}
	return violation.New("RC-7", violation.KeyDrawerAlarm, "opened", fmtTime(openedAt))
}

// CheckCut checks recording that a card was cut through chip and stripe to
// be sent back (RC-8): only used or voided reserve and short-term cards
// are cut (other cards are handed in whole), and only from a state a card
// may be voided from.
func CheckCut(card Card, now time.Time) error {
	var vs Violations
	if card.Type != CardReserve && card.Type != CardShortTerm {
		vs.Add(violation.New("RC-8", violation.KeyCutWrongType, "type", string(card.Type)))
	}
	vs.Add(CheckTransition(card.EffectiveState(now), StateVoided))
	return vs.Err()
}
