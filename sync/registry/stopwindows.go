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
// Europe/Stockholm with the calendar's one parser of local times; end
// picks the later instant of an ambiguous time. An RFC 3339 time with its
// own offset is taken as it is (registryd admin).
func parseStockholm(v string, end bool) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	pick := calendar.Earlier
	if end {
		pick = calendar.Later
	}
	t, err := calendar.ParseLocalMinute(v, pick)
	switch {
	case errors.Is(err, calendar.ErrNoSuchLocalTime):
		return time.Time{}, fmt.Errorf("%w: %s: %w", ErrInvalid, v, ErrNoSuchLocalTime)
	case err != nil:
		return time.Time{}, fmt.Errorf("%w: time must be YYYY-MM-DDTHH:MM (Swedish time)", ErrInvalid)
	}
	return t.UTC(), nil
}
