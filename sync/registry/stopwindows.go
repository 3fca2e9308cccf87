package registry

// Stop windows entered in Swedish time (issue 14, item 5; CP-3). The
// console's form takes local Europe/Stockholm wall-clock times; the
// registry stores and publishes the instants (UTC), and every station
// pulls all windows as soon as they are added, ahead of their start.
//
// Daylight saving: a wall-clock time that does not exist (the last
// Sunday of March, 02:00–02:59, when the clocks go forward) is refused
// with a clear message. One that exists twice (the last Sunday of
// October, 02:00–02:59) is taken as the earlier instant for a start and
// the later one for an end, so the window covers every instant the
// typed times can name: a stop is never shorter than the officer meant.

import (
	"errors"
	"fmt"
	"time"

	"github.com/kortstation/kortstation/kiosk/rules/calendar"
)

// ErrNoSuchLocalTime: the typed local time falls in the hour skipped when
// the clocks go forward.
var ErrNoSuchLocalTime = errors.New("that time does not exist in Sweden (the clocks go forward then)")

// parseStockholm reads a form's local time (YYYY-MM-DDTHH:MM) in
// Europe/Stockholm; end picks the later instant of an ambiguous time.
// An RFC 3339 time with its own offset is taken as it is (registryd
// admin).
func parseStockholm(v string, end bool) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	var wall time.Time
	var err error
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02 15:04"} {
		if wall, err = time.Parse(layout, v); err == nil {
			break
		}
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: time must be YYYY-MM-DDTHH:MM (Swedish time)", ErrInvalid)
	}
	loc := calendar.Stockholm()
	y, mo, d := wall.Date()
	h, mi := wall.Hour(), wall.Minute()
	// The instants whose Stockholm wall clock reads y-mo-d h:mi: try the
	// two offsets Sweden uses.
	var found []time.Time
	for _, off := range []int{2, 1} { // CEST first: the earlier instant
		t := time.Date(y, mo, d, h, mi, 0, 0, time.FixedZone("", off*3600))
		l := t.In(loc)
		if l.Year() == y && l.Month() == mo && l.Day() == d && l.Hour() == h && l.Minute() == mi {
			found = append(found, t.UTC())
		}
	}
	switch {
	case len(found) == 0:
		return time.Time{}, fmt.Errorf("%w: %s: %w", ErrInvalid, v, ErrNoSuchLocalTime)
	case end:
		return found[len(found)-1], nil
	}
	return found[0], nil
}
