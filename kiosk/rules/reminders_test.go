package rules

import (
	"testing"
	"time"

	"github.com/kortstation/kortstation/kiosk/rules/calendar"
)

// TestExpiryReminderDueRE5: reminders 7 and 3 days before the end of
// validity, from 00:00 Stockholm; the latest one only when both are due;
// none after the end.
func TestExpiryReminderDueRE5(t *testing.T) {
	until := calendar.NewDate(2026, 3, 31).Start() // across the DST change of 29 March
	cases := []struct {
		name string
		now  time.Time
		days int
		ok   bool
	}{
		{"8 days before", calendar.NewDate(2026, 3, 23).At(12, 0), 0, false},
		{"just before 7 days", calendar.NewDate(2026, 3, 24).Start().Add(-time.Second), 0, false},
		{"7 days before", calendar.NewDate(2026, 3, 24).Start(), 7, true},
		{"4 days before", calendar.NewDate(2026, 3, 27).At(23, 59), 7, true},
		{"3 days before", calendar.NewDate(2026, 3, 28).Start(), 3, true},
		{"last minute", until.Add(-time.Minute), 3, true},
		{"expired", until, 0, false},
	}
	for _, c := range cases {
		days, ok := ExpiryReminderDue(until, c.now)
		if days != c.days || ok != c.ok {
			t.Errorf("RE-5 %s: got %d, %v, want %d, %v", c.name, days, ok, c.days, c.ok)
		}
	}
	if _, ok := ExpiryReminderDue(time.Time{}, until); ok {
		t.Error("RE-5: a card without an end of validity got a reminder")
	}
}
