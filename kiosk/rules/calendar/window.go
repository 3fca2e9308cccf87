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

// ErrNoSuchLocalTime: a wall-clock time in the hour skipped when summer
// time starts (the last Sunday of March, 02:00–02:59), which no instant
// has in Europe/Stockholm.
var ErrNoSuchLocalTime = errors.New("calendar: that time does not exist in Europe/Stockholm (summer-time gap)")

// Repeated chooses between the two instants of a wall-clock time in the
// hour that repeats when summer time ends (the last Sunday of October,
// 02:00–02:59).
type Repeated int

const (
	// Earlier takes the first (summer-time) occurrence: a start.
	Earlier Repeated = iota
	// Later takes the second (standard-time) occurrence: an end, so a
	// window covers every instant its typed times can name.
	Later
)

// ParseLocalMinute parses a Stockholm wall-clock time to the minute,
// "2024-01-23 12:00" or, as an HTML datetime-local field sends it,
// "2024-01-23T12:00". A time in the summer-time gap is refused
// (ErrNoSuchLocalTime); one in the repeated autumn hour resolves as pick
// says. The one parser of local times (the registry's console uses it
// for stop windows).
func ParseLocalMinute(s string, pick Repeated) (time.Time, error) {
	var wall time.Time
	var err error
	for _, layout := range []string{MinuteLayout, "2006-01-02T15:04"} {
		if wall, err = time.Parse(layout, s); err == nil {
			break
		}
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("calendar: parse %q as %q: %w", s, MinuteLayout, err)
	}
	found := localInstants(wall)
	switch {
	case len(found) == 0:
		return time.Time{}, fmt.Errorf("%q: %w", s, ErrNoSuchLocalTime)
	case pick == Later:
		return found[len(found)-1], nil
	}
	return found[0], nil
}

// localInstants returns the instants, earliest first, whose Stockholm
// wall clock reads wall's date, hour and minute: none in the spring gap,
// two in the repeated autumn hour, else one. Sweden uses UTC+2 and UTC+1;
// each is tried.
func localInstants(wall time.Time) []time.Time {
	y, mo, d := wall.Date()
	h, mi := wall.Hour(), wall.Minute()
	var found []time.Time
	for _, off := range []int{2, 1} { // summer time first: the earlier instant
		t := time.Date(y, mo, d, h, mi, 0, 0, time.FixedZone("", off*3600))
		l := t.In(stockholm)
		if l.Year() == y && l.Month() == mo && l.Day() == d && l.Hour() == h && l.Minute() == mi {
			found = append(found, t.In(stockholm))
		}
	}
	return found
}
