package calendar

import (
	"slices"
	"time"
)

// HolidayKind tells a public holiday from a de-facto non-working day.
type HolidayKind int

const (
	// Public is an allmän helgdag under Lag (1989:253) om allmänna helgdagar.
	Public HolidayKind = iota + 1
	// DeFacto is an eve that is not a public holiday by law but on which
	// Swedish offices, the central service included, do not work: Midsummer
	// Eve, Christmas Eve and New Year's Eve. They are treated as Saturdays
	// in collective agreements and by the Working Hours Act's practice.
	DeFacto
)

// Holiday is one non-working day other than an ordinary Saturday or Sunday
// (some holidays fall on weekends anyway; they are listed all the same).
type Holiday struct {
	Date Date
	// Name is the English name; NameSV the Swedish one.
	Name   string
	NameSV string
	Kind   HolidayKind
}

// Easter returns Easter Sunday of year y (Gregorian computus, the anonymous
// "Meeus/Jones/Butcher" algorithm), valid for every year from 1583 on.
func Easter(y int) Date {
	a := y % 19
	b, c := y/100, y%100
	d, e := b/4, b%4
	f := (b + 8) / 25
	g := (b - f + 1) / 3
	h := (19*a + b - d - g + 15) % 30
	i, k := c/4, c%4
	l := (32 + 2*e + 2*i - h - k) % 7
	m := (a + 11*h + 22*l) / 451
	month := (h + l - 7*m + 114) / 31
	day := (h+l-7*m+114)%31 + 1
	return Date{y, time.Month(month), day}
}

// saturdayBetween returns the Saturday in [from, from+6 days].
func saturdayBetween(from Date) Date {
	off := (int(time.Saturday) - int(from.Weekday()) + 7) % 7
	return from.AddDays(off)
}

// Holidays returns the Swedish public holidays of year y and the de-facto
// non-working eves (Midsummer Eve, Christmas Eve, New Year's Eve), sorted
// by date. The rules are those in force since 2005 (National Day a holiday,
// Whit Monday not); for years before 2005 Whit Monday is listed instead of
// National Day. Moves before 1953 (Midsummer and All Saints' on fixed
// dates) are not modelled: the station only reasons about current dates.
func Holidays(y int) []Holiday {
	easter := Easter(y)
	midsummer := saturdayBetween(Date{y, time.June, 20})
	hs := []Holiday{
		{Date{y, time.January, 1}, "New Year's Day", "Nyårsdagen", Public},
		{Date{y, time.January, 6}, "Epiphany", "Trettondedag jul", Public},
		{easter.AddDays(-2), "Good Friday", "Långfredagen", Public},
		{easter, "Easter Sunday", "Påskdagen", Public},
		{easter.AddDays(1), "Easter Monday", "Annandag påsk", Public},
		{Date{y, time.May, 1}, "May Day", "Första maj", Public},
		{easter.AddDays(39), "Ascension Day", "Kristi himmelsfärdsdag", Public},
		{easter.AddDays(49), "Whit Sunday", "Pingstdagen", Public},
		{midsummer.AddDays(-1), "Midsummer Eve", "Midsommarafton", DeFacto},
		{midsummer, "Midsummer Day", "Midsommardagen", Public},
		{saturdayBetween(Date{y, time.October, 31}), "All Saints' Day", "Alla helgons dag", Public},
		{Date{y, time.December, 24}, "Christmas Eve", "Julafton", DeFacto},
		{Date{y, time.December, 25}, "Christmas Day", "Juldagen", Public},
		{Date{y, time.December, 26}, "Boxing Day", "Annandag jul", Public},
		{Date{y, time.December, 31}, "New Year's Eve", "Nyårsafton", DeFacto},
	}
	if y >= 2005 {
		hs = append(hs, Holiday{Date{y, time.June, 6}, "National Day", "Sveriges nationaldag", Public})
	} else {
		hs = append(hs, Holiday{easter.AddDays(50), "Whit Monday", "Annandag pingst", Public})
	}
	slices.SortStableFunc(hs, func(a, b Holiday) int { return a.Date.Compare(b.Date) })
	return hs
}

// HolidayOn returns the holiday on d, if any.
func HolidayOn(d Date) (Holiday, bool) {
	for _, h := range Holidays(d.Year) {
		if h.Date == d {
			return h, true
		}
	}
	return Holiday{}, false
}

// IsWorkingDay reports whether d is a Swedish working day: Monday to
// Friday, and neither a public holiday nor a de-facto non-working eve.
func IsWorkingDay(d Date) bool {
	switch d.Weekday() {
	case time.Saturday, time.Sunday:
		return false
	}
	_, hol := HolidayOn(d)
	return !hol
}
