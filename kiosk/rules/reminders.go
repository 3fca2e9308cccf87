package rules

import (
	"time"

	"github.com/kortstation/kortstation/kiosk/rules/calendar"
	"github.com/kortstation/kortstation/kiosk/rules/violation"
)

// NotifyExpiry is the event of an expiry reminder (RE-5).
const NotifyExpiry NotificationEvent = "expiry"

// ExpiryReminderDays are the days before a reserve card's validity ends on
// which its holder is reminded to return it (RE-5, RC-6), earliest first.
var ExpiryReminderDays = []int{7, 3}

// ExpiryReminderDue returns the expiry reminder due at now for a card valid
// until validUntil (its first invalid instant): the reminder of d days is
// due from 00:00 Europe/Stockholm on the date of validUntil − d days until
// validUntil. When several are due (the reminder of 7 days was missed), it
// returns the latest one only, so a holder never gets a stale reminder;
// ok is false when none is due.
func ExpiryReminderDue(validUntil, now time.Time) (days int, ok bool) {
	if validUntil.IsZero() || !now.Before(validUntil) {
		return 0, false
	}
	end := calendar.DateOf(validUntil)
	for _, d := range ExpiryReminderDays {
		if !now.Before(end.AddDays(-d).Start()) {
			days, ok = d, true
		}
	}
	return days, ok
}

// ExpiryReminder is an expiry reminder about card to its holder (RE-5); its
// message names the days left and the end of validity as facts.
func ExpiryReminder(cardNumber string, holder Person) Notification {
	return Notification{Event: NotifyExpiry, Role: ToRecipient, To: holder, CardNumber: cardNumber, Key: violation.KeyNotifyExpiry}
}
