package calendar

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// Span is a daily opening span in Stockholm wall-clock minutes after
// midnight: [From, To).
type Span struct {
	From int `json:"from"`
	To   int `json:"to"`
}

// Hours are the daily processing spans of the central service on working
// days, in order and not overlapping.
type Hours []Span

// ProcessingHours returns the hours in which the central service issues
// certificates for reserve cards, 07:30–12:00 and 13:00–16:00 on working
// days (CP-2; seed 004: "mån – fre 07,30-12 och 13-16").
func ProcessingHours() Hours {
	return Hours{{From: 7*60 + 30, To: 12 * 60}, {From: 13 * 60, To: 16 * 60}}
}

// ErrHours is wrapped by every error Hours.Validate returns.
var ErrHours = errors.New("calendar: invalid processing hours")

// Validate checks that the spans are non-empty, ordered, disjoint, and lie
// between 01:00 and 23:59 (clear of the daylight-saving hours 02:00–03:00
// would be better still, but the gap only exists on two Sundays a year).
func (h Hours) Validate() error {
	if len(h) == 0 {
		return fmt.Errorf("%w: no spans", ErrHours)
	}
	prev := -1
	for _, s := range h {
		if s.From < 0 || s.To > 24*60 || s.From >= s.To || s.From < prev {
			return fmt.Errorf("%w: span %d–%d", ErrHours, s.From, s.To)
		}
		prev = s.To
	}
	return nil
}

// searchLimit bounds the search for open processing time, so a closed
// window that never ends cannot loop forever.
const searchLimit = 3 * 366

// ErrNoProcessingTime says the requested processing time does not fit in
// the search horizon (about three years), e.g. because a closed window
// covers it all.
var ErrNoProcessingTime = errors.New("calendar: no processing time within three years")

// AddProcessingTime returns the instant at which d of open processing time
// has passed since t, counting only the spans in h on working days and
// skipping every closed window. With d == 0 it returns the first open
// instant at or after t: when the central service will start on a request
// sent at t.
func AddProcessingTime(t time.Time, d time.Duration, h Hours, closed []Window) (time.Time, error) {
	if err := h.Validate(); err != nil {
		return time.Time{}, err
	}
	if d < 0 {
		return time.Time{}, fmt.Errorf("calendar: negative processing time %s", d)
	}
	cl := slices.Clone(closed)
	slices.SortFunc(cl, func(a, b Window) int { return a.Start.Compare(b.Start) })
	cursor := t
	day := DateOf(t)
	for range searchLimit {
		if IsWorkingDay(day) {
			for _, s := range h {
				from := day.At(s.From/60, s.From%60)
				to := day.At(s.To/60, s.To%60)
				if to.Before(cursor) || to.Equal(cursor) {
					continue
				}
				if from.Before(cursor) {
					from = cursor
				}
				for _, seg := range subtract(from, to, cl) {
					avail := seg[1].Sub(seg[0])
					if d == 0 {
						return seg[0], nil
					}
					if avail >= d {
						return seg[0].Add(d), nil
					}
					d -= avail
				}
			}
		}
		day = day.AddDays(1)
		cursor = day.Start()
	}
	return time.Time{}, ErrNoProcessingTime
}

// subtract returns the parts of [from, to) outside every window in cl
// (sorted by start), in order. Empty parts are dropped.
func subtract(from, to time.Time, cl []Window) [][2]time.Time {
	var out [][2]time.Time
	cur := from
	for _, w := range cl {
		if !w.End.After(cur) {
			continue
		}
		if !w.Start.Before(to) {
			break
		}
		if w.Start.After(cur) {
			out = append(out, [2]time.Time{cur, w.Start})
		}
		cur = w.End
		if !cur.Before(to) {
			return out
		}
	}
	if cur.Before(to) {
		out = append(out, [2]time.Time{cur, to})
	}
	return out
}

// isProcessing reports whether the central service is processing at t.
func isProcessing(t time.Time, h Hours, closed []Window) bool {
	got, err := AddProcessingTime(t, 0, h, closed)
	return err == nil && got.Equal(t)
}
