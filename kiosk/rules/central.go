package rules

import (
	"errors"
	"strings"
	"time"

	"github.com/kortstation/kortstation/kiosk/rules/calendar"
	"github.com/kortstation/kortstation/kiosk/rules/violation"
)

// CheckStopWindows validates the registry's stop windows (CP-3): a known
// kind, both ends to the minute, start before end.
func CheckStopWindows(ws []StopWindow) Violations {
	var vs Violations
	for i, w := range ws {
		if w.Kind != OrderStop && w.Kind != TotalStop {
			vs.Add(violation.New("CP-3", violation.KeyWindowInvalid, "window", itoa(i+1), "problem", "kind "+string(w.Kind)))
		}
		if err := w.Window.Validate(); err != nil {
			vs.Add(violation.New("CP-3", violation.KeyWindowInvalid, "window", itoa(i+1), "problem", err.Error()))
		}
	}
	return vs
}

// activeStop returns the first window of one of kinds containing now.
func activeStop(ws []StopWindow, now time.Time, kinds ...StopKind) (StopWindow, bool) {
	for _, w := range ws {
		for _, k := range kinds {
			if w.Kind == k && w.Contains(now) {
				return w, true
			}
		}
	}
	return StopWindow{}, false
}

// CheckTotalStop refuses issuing reserve cards, their certificates and
// pickups during a total stop (CP-3).
func CheckTotalStop(ws []StopWindow, now time.Time) *Violation {
	if w, ok := activeStop(ws, now, TotalStop); ok {
		return violation.New("CP-3", violation.KeyTotalStop, "start", fmtTime(w.Start), "end", fmtTime(w.End))
	}
	return nil
}

// totalStops returns the total-stop windows: the central service issues
// no certificates in them.
func totalStops(ws []StopWindow) []calendar.Window {
	var out []calendar.Window
	for _, w := range ws {
		if w.Kind == TotalStop {
			out = append(out, w.Window)
		}
	}
	return out
}

// ExpectedApproval is when the central service is expected to approve a
// request sent at sent (CP-2): after reg.ProcessingMinutes of its
// processing hours on Swedish working days, total stops skipped.
func ExpectedApproval(sent time.Time, reg Registry) (time.Time, error) {
	if reg.ProcessingMinutes < 0 {
		return time.Time{}, violation.New("CP-2", violation.KeyProcessingInvalid, "problem", "negative processing time")
	}
	t, err := calendar.AddProcessingTime(sent, time.Duration(reg.ProcessingMinutes)*time.Minute, reg.hours(), totalStops(reg.StopWindows))
	if err != nil {
		if errors.Is(err, calendar.ErrNoProcessingTime) {
			return time.Time{}, violation.New("CP-2", violation.KeyNoProcessingTime)
		}
		return time.Time{}, violation.New("CP-2", violation.KeyProcessingInvalid, "problem", err.Error())
	}
	return t, nil
}

// PickupExpired reports whether the pickup deadline of order has passed
// at now, so its card is to be voided (CP-4). The deadline day itself is
// still in time.
func PickupExpired(order Order, now time.Time) bool {
	return !order.PickupDeadline.IsZero() && calendar.DateOf(now).After(order.PickupDeadline)
}

// CentralReview is the check the central service makes before approving
// an issuance (CP-1): identity, reason, card number, attestors and an
// existing card or order. It takes the sealed receipt and the registry's
// facts and returns nil (approve) or the violations (reject), led by a
// CP-1 violation naming the rules broken.
func CentralReview(s SealedReceipt, reg Registry, now time.Time) error {
	var vs Violations
	vs.AddErr(VerifySealed(s))
	r := s.Receipt
	vs = append(vs, CheckReceipt(r, nil)...)
	if r.CardType == CardReserve {
		days := calendar.DaysBetween(calendar.DateOf(r.ValidFrom), calendar.DateOf(r.ValidUntil))
		if max, ok := reg.Validity[r.Reason]; !ok {
			vs.Add(violation.New("RC-1", violation.KeyReasonNotInTable, "reason", string(r.Reason)))
		} else if days > max || !r.ValidUntil.Equal(calendar.DateOf(r.ValidFrom).AddDays(days).Start()) {
			vs.Add(violation.New("RC-1", violation.KeyValidityTooLong, "reason", string(r.Reason), "requested", itoa(days), "max", itoa(max)))
		}
		if r.Kind == ReceiptReserveIssuance {
			vs = append(vs, CheckReservePrerequisites(reg, r.Recipient, r.Reason, now, r.CardNumber)...)
		}
		if len(r.Attestors) > 0 && len(r.Attestors) < ReserveAttestors {
			vs.Add(violation.New("AT-2", violation.KeyAttestorsTooFew, "have", itoa(len(r.Attestors)), "need", itoa(ReserveAttestors)))
		}
	}
	known := false
	for _, c := range reg.Cards {
		if NormaliseSerial(c.Number) == NormaliseSerial(r.CardNumber) && c.Type == r.CardType {
			known = true
			if !c.Holder.IsZero() && !c.Holder.Same(r.Recipient) {
				vs.Add(violation.New("CP-1", violation.KeyCardOtherHolder, "card_number", r.CardNumber))
			}
		}
	}
	if !known {
		vs.Add(violation.New("CP-1", violation.KeyCardUnknown, "card_number", r.CardNumber))
	}
	for i, a := range r.Attestors {
		if a.Same(r.Operator) {
			vs.Add(violation.New("AT-3", violation.KeyAttestorIsOperator, "attestor", itoa(i+1)))
		}
		if a.Same(r.Recipient) {
			vs.Add(violation.New("AT-3", violation.KeyAttestorIsRecipient, "attestor", itoa(i+1)))
		}
		if !a.Role.MayAttest() {
			vs.Add(violation.New("AT-1", violation.KeyAttestorRole, "attestor", itoa(i+1), "role", string(a.Role)))
		}
		for _, h := range reg.AuthorisedAdmins {
			if !a.HSAID.IsZero() && a.HSAID == h {
				vs.Add(violation.New("AT-1", violation.KeyAttestorIsAdmin, "attestor", itoa(i+1)))
			}
		}
	}
	if len(vs) == 0 {
		return nil
	}
	lead := violation.New("CP-1", violation.KeyCentralRejects, "rules", strings.Join(vs.Rules(), ", "))
	return append(Violations{lead}, vs...)
}
