// Package window is the station's quiet window for installing updates: a
// span of local time each day ("01:00-05:00" in Europe/Stockholm), which
// may wrap past midnight ("22:00-04:00"); "00:00-24:00" is always.
package window

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // the zone must load on a root without tzdata too
)

// Window is a daily span of local time.
type Window struct {
	Start, End time.Duration // since local midnight; End may be 24h
	Loc        *time.Location
}

// Parse reads "HH:MM-HH:MM" in the IANA zone tz.
func Parse(span, tz string) (Window, error) {
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return Window{}, fmt.Errorf("time zone %q: %w", tz, err)
	}
	a, b, ok := strings.Cut(span, "-")
	if !ok {
		return Window{}, fmt.Errorf("%q is not HH:MM-HH:MM", span)
	}
	start, err := clock(a)
	if err != nil {
		return Window{}, err
	}
	end, err := clock(b)
	if err != nil {
		return Window{}, err
	}
	if start == end || start == 24*time.Hour {
		return Window{}, fmt.Errorf("%q is an empty window (00:00-24:00 is always)", span)
	}
	return Window{Start: start, End: end, Loc: loc}, nil
}

func clock(s string) (time.Duration, error) {
	h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || len(m) != 2 || hh < 0 || mm < 0 || mm > 59 || hh > 24 || (hh == 24 && mm != 0) {
		return 0, fmt.Errorf("%q is not a time HH:MM", s)
	}
	return time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute, nil
}

// Contains reports whether t falls in the window, in its zone's local
// time (a day of 23 or 25 hours counts by the wall clock).
func (w Window) Contains(t time.Time) bool {
	l := t.In(w.Loc)
	d := time.Duration(l.Hour())*time.Hour + time.Duration(l.Minute())*time.Minute + time.Duration(l.Second())*time.Second
	if w.Start < w.End {
		return d >= w.Start && d < w.End
	}
	return d >= w.Start || d < w.End
}

// String is the window as configured.
func (w Window) String() string {
	f := func(d time.Duration) string { return fmt.Sprintf("%02d:%02d", int(d.Hours()), int(d.Minutes())%60) }
	return f(w.Start) + "-" + f(w.End) + " " + w.Loc.String()
}
