// Package calendar is the station's civil time: dates, day and month
// arithmetic, Swedish working days and public holidays, the central
// service's processing hours, and time windows — all in Europe/Stockholm.
//
// Day counts are calendar days in Europe/Stockholm, never multiples of 24
// hours, so they stay right across daylight-saving changes: a day is 23 or
// 25 hours long on the last Sundays of March and October. Midnight always
// exists and is unambiguous in Stockholm (the clocks change at 02:00/03:00),
// so Date.Start is well defined for every date.
//
// The zone data is embedded (time/tzdata), so the package works on an image
// without /usr/share/zoneinfo.
package calendar

import (
	"fmt"
	"time"
	_ "time/tzdata" // Europe/Stockholm on minimal images.
)

// stockholm is loaded once at start-up and never changed.
var stockholm = mustLoadStockholm()

func mustLoadStockholm() *time.Location {
	loc, err := time.LoadLocation("Europe/Stockholm")
	if err != nil {
		// Unreachable with time/tzdata embedded; fail at start-up, loudly,
		// rather than compute dates in the wrong zone.
		panic(fmt.Sprintf("calendar: load Europe/Stockholm: %v", err))
	}
	return loc
}

// Stockholm returns the Europe/Stockholm location.
func Stockholm() *time.Location { return stockholm }

// Date is a civil date in Europe/Stockholm. The zero Date is "no date".
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// NewDate returns the date y-m-d as given, without normalising it; use
// IsValid to check it.
func NewDate(y int, m time.Month, d int) Date { return Date{y, m, d} }

// DateOf returns the Stockholm date of the instant t.
func DateOf(t time.Time) Date {
	y, m, d := t.In(stockholm).Date()
	return Date{y, m, d}
}

// ParseDate parses "YYYY-MM-DD" and rejects dates that do not exist.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, fmt.Errorf("calendar: parse date %q: %w", s, err)
	}
	y, m, d := t.Date()
	return Date{y, m, d}, nil
}

// IsZero reports whether d is the zero Date.
func (d Date) IsZero() bool { return d == Date{} }

// IsValid reports whether d exists in the proleptic Gregorian calendar,
// with a year from 1 to 9999.
func (d Date) IsValid() bool {
	return d.Year >= 1 && d.Year <= 9999 && d.Month >= 1 && d.Month <= 12 &&
		d.Day >= 1 && d.Day <= DaysIn(d.Year, d.Month)
}

// String renders d as "YYYY-MM-DD".
func (d Date) String() string {
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
}

// Start returns 00:00 Europe/Stockholm on d.
func (d Date) Start() time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, stockholm)
}

// At returns the Stockholm wall-clock time hh:mm on d.
func (d Date) At(hour, minute int) time.Time {
	return time.Date(d.Year, d.Month, d.Day, hour, minute, 0, 0, stockholm)
}

// noon is d at 12:00 UTC, a DST-free anchor for day arithmetic.
func (d Date) noon() time.Time {
	return time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.UTC)
}

// AddDays returns the date n calendar days after d (before, if n < 0).
func (d Date) AddDays(n int) Date {
	y, m, dd := d.noon().AddDate(0, 0, n).Date()
	return Date{y, m, dd}
}

// AddMonths returns the same day n months after d. When that month is
// shorter, the result is its last day (31 Jan + 1 month = 28 or 29 Feb,
// 29 Feb + 12 months = 28 Feb): a period of months never spills into the
// following month.
func (d Date) AddMonths(n int) Date {
	total := d.Year*12 + int(d.Month-1) + n
	y, m := total/12, time.Month(total%12+1)
	if total%12 < 0 {
		y, m = y-1, time.Month(total%12+13)
	}
	day := min(d.Day, DaysIn(y, m))
	return Date{y, m, day}
}

// Weekday returns d's day of the week.
func (d Date) Weekday() time.Weekday { return d.noon().Weekday() }

// Compare returns -1, 0 or +1 as d is before, equal to or after o.
func (d Date) Compare(o Date) int {
	switch {
	case d.Year != o.Year:
		return cmp3(d.Year, o.Year)
	case d.Month != o.Month:
		return cmp3(int(d.Month), int(o.Month))
	default:
		return cmp3(d.Day, o.Day)
	}
}

func cmp3(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Before reports whether d is before o.
func (d Date) Before(o Date) bool { return d.Compare(o) < 0 }

// After reports whether d is after o.
func (d Date) After(o Date) bool { return d.Compare(o) > 0 }

// DaysBetween returns the number of calendar days from a to b (negative
// when b is before a).
func DaysBetween(a, b Date) int {
	return int((b.noon().Unix() - a.noon().Unix()) / 86400)
}

// MarshalText renders d as "YYYY-MM-DD", or "" for the zero Date.
func (d Date) MarshalText() ([]byte, error) {
	if d.IsZero() {
		return []byte{}, nil
	}
	if !d.IsValid() {
		return nil, fmt.Errorf("calendar: marshal invalid date %s", d)
	}
	return []byte(d.String()), nil
}

// UnmarshalText parses "YYYY-MM-DD"; "" gives the zero Date.
func (d *Date) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*d = Date{}
		return nil
	}
	p, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = p
	return nil
}

// IsLeap reports whether y is a Gregorian leap year.
func IsLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

// DaysIn returns the number of days in month m of year y.
func DaysIn(y int, m time.Month) int {
	switch m {
	case time.February:
		if IsLeap(y) {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	}
	return 31
}
