package calendar

import (
	"errors"
	"fmt"
	"time"
)

// Window is a span of time to the minute: Start is inclusive, End is
// exclusive. A window from 12:00 on 23 January to 12:00 on 25 January
// contains 12:00:00 on the 23rd and 11:59:59.999 on the 25th, not 12:00 on
// the 25th.
type Window struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// ErrWindow is wrapped by every error Window.Validate returns.
var ErrWindow = errors.New("calendar: invalid window")

// Validate checks that both ends are set, fall on whole minutes and that
// Start is before End.
func (w Window) Validate() error {
	switch {
	case w.Start.IsZero() || w.End.IsZero():
		return fmt.Errorf("%w: start and end are both required", ErrWindow)
	case !onMinute(w.Start) || !onMinute(w.End):
		return fmt.Errorf("%w: start %s and end %s must be whole minutes", ErrWindow,
			w.Start.In(stockholm).Format(time.RFC3339Nano), w.End.In(stockholm).Format(time.RFC3339Nano))
	case !w.Start.Before(w.End):
		return fmt.Errorf("%w: start %s is not before end %s", ErrWindow,
			w.Start.In(stockholm).Format(time.RFC3339), w.End.In(stockholm).Format(time.RFC3339))
	}
	return nil
}

func onMinute(t time.Time) bool { return t.Second() == 0 && t.Nanosecond() == 0 }

// Contains reports whether t is in [Start, End).
func (w Window) Contains(t time.Time) bool {
	return !t.Before(w.Start) && t.Before(w.End)
}

// String renders the window in Stockholm time, e.g.
// "2024-01-23 12:00 – 2024-01-25 12:00".
func (w Window) String() string {
	return FormatMinute(w.Start) + " – " + FormatMinute(w.End)
}

// MinuteLayout is the local form of an instant to the minute.
const MinuteLayout = "2006-01-02 15:04"

// FormatMinute renders t in Stockholm time as "YYYY-MM-DD hh:mm".
func FormatMinute(t time.Time) string { return t.In(stockholm).Format(MinuteLayout) }

// ParseMinute parses an instant to the minute, either RFC 3339 with an
// offset ("2024-01-23T12:00:00+01:00") or Stockholm wall-clock time
// ("2024-01-23 12:00"). Wall-clock times that do not exist (the hour
// skipped when summer time starts) are refused; for the hour that repeats
// when summer time ends, the first (summer-time) occurrence is taken — use
// RFC 3339 to name the other one.
func ParseMinute(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		if !onMinute(t) {
			return time.Time{}, fmt.Errorf("calendar: %q is not a whole minute", s)
		}
		return t, nil
	}
	t, err := time.ParseInLocation(MinuteLayout, s, stockholm)
	if err != nil {
		return time.Time{}, fmt.Errorf("calendar: parse %q as %q or RFC 3339: %w", s, MinuteLayout, err)
	}
	if t.Format(MinuteLayout) != s {
		return time.Time{}, fmt.Errorf("calendar: %q does not exist in Europe/Stockholm (summer-time gap)", s)
	}
	// Go leaves the choice in the repeated hour unspecified; pin the
	// summer-time reading.
	if earlier := t.Add(-time.Hour); earlier.Format(MinuteLayout) == s {
		t = earlier
	}
	return t, nil
}
