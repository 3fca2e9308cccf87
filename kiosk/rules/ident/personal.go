// Package ident parses the identities the station deals with: Swedish
// personal numbers and coordination numbers (ID-5) and HSA-IDs. Parsing
// returns typed values; the rest of the station handles those, not strings.
//
// Parse errors are *violation.Violation values of rule ID-5; their facts
// never contain the number that was parsed.
package ident

import (
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/kortstation/kortstation/kiosk/rules/calendar"
	"github.com/kortstation/kortstation/kiosk/rules/violation"
)

// RuleID is the rule that identity checks enforce.
const RuleID = "ID-5"

// PersonalNumber is a valid Swedish personal number (personnummer) or
// coordination number (samordningsnummer, day of birth + 60). The zero
// value means "none"; every non-zero value has passed the date and Luhn
// checks.
type PersonalNumber struct {
	year, month, day int // day as written: + 60 for coordination numbers
	serial           int // the three-digit birth number
	check            int // the Luhn digit
}

// ParsePersonalNumber parses the 12-digit forms "YYYYMMDD-NNNC" and
// "YYYYMMDDNNNC". The 10-digit forms need a reference date to know the
// century; use ParsePersonalNumberAt for them.
func ParsePersonalNumber(s string) (PersonalNumber, error) {
	return parse(s, time.Time{}, false)
}

// ParsePersonalNumberAt parses a personal or coordination number in any
// of its forms, resolving the century of the 10-digit forms on the
// reference date now (in Europe/Stockholm):
//
//   - "YYYYMMDD-NNNC", "YYYYMMDDNNNC": the century is written;
//   - "YYMMDD-NNNC", "YYMMDDNNNC": born in the last 100 years, i.e. the
//     latest such date on or before now;
//   - "YYMMDD+NNNC": 100 years old or more, i.e. 100 years before that.
//
// A date of birth after now is refused.
func ParsePersonalNumberAt(s string, now time.Time) (PersonalNumber, error) {
	return parse(s, now, true)
}

func parse(s string, now time.Time, haveNow bool) (PersonalNumber, error) {
	s = strings.TrimSpace(s)
	sep := byte(0)
	if len(s) >= 5 {
		if c := s[len(s)-5]; c == '-' || c == '+' {
			sep = c
			s = s[:len(s)-5] + s[len(s)-4:]
		}
	}
	if len(s) != 10 && len(s) != 12 {
		return PersonalNumber{}, formatErr("length")
	}
	var digits [12]int
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return PersonalNumber{}, formatErr("character")
		}
		digits[i] = int(c - '0')
	}
	short := len(s) == 10
	var p PersonalNumber
	var rest []int // YYMMDDNNNC
	if short {
		if !haveNow {
			return PersonalNumber{}, violation.New(RuleID, violation.KeyPNRNeedsCentury)
		}
		rest = digits[0:10]
	} else {
		if sep == '+' {
			return PersonalNumber{}, violation.New(RuleID, violation.KeyPNRPlusWithCentury)
		}
		p.year = digits[0]*1000 + digits[1]*100 + digits[2]*10 + digits[3]
		rest = digits[2:12]
	}
	if Luhn(rest[:9]) != rest[9] {
		return PersonalNumber{}, violation.New(RuleID, violation.KeyPNRLuhn)
	}
	p.month = rest[2]*10 + rest[3]
	p.day = rest[4]*10 + rest[5]
	p.serial = rest[6]*100 + rest[7]*10 + rest[8]
	p.check = rest[9]
	bday := p.day
	if p.IsCoordination() {
		bday -= 60
	}
	if bday < 1 || bday > 31 || p.month < 1 || p.month > 12 {
		return PersonalNumber{}, violation.New(RuleID, violation.KeyPNRDate)
	}
	var today calendar.Date
	if haveNow {
		today = calendar.DateOf(now)
	}
	if short {
		// The latest year ending in yy whose (month, day) is on or before
		// today: under 100 years old. "+" means 100 years before that.
		yy := rest[0]*10 + rest[1]
		y := today.Year - (today.Year%100+100-yy)%100
		if (calendar.Date{Year: y, Month: time.Month(p.month), Day: bday}).After(today) {
			y -= 100
		}
		if sep == '+' {
			y -= 100
		}
		p.year = y
	}
	if !p.BirthDate().IsValid() {
		return PersonalNumber{}, violation.New(RuleID, violation.KeyPNRDate)
	}
	if haveNow && p.BirthDate().After(today) {
		return PersonalNumber{}, violation.New(RuleID, violation.KeyPNRFuture)
	}
	return p, nil
}

func formatErr(problem string) error {
	return violation.New(RuleID, violation.KeyPNRFormat, "problem", problem)
}

// Luhn returns the Luhn check digit for digits (most significant first),
// weighting the first digit 2 as personal and organisation numbers do.
func Luhn(digits []int) int {
	sum := 0
	for i, d := range digits {
		if i%2 == 0 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return (10 - sum%10) % 10
}

// IsZero reports whether p is the zero value, "no personal number".
func (p PersonalNumber) IsZero() bool { return p == PersonalNumber{} }

// IsCoordination reports whether p is a coordination number (day + 60).
func (p PersonalNumber) IsCoordination() bool { return p.day > 60 }

// BirthDate returns the date of birth (for a coordination number, the
// written day minus 60).
func (p PersonalNumber) BirthDate() calendar.Date {
	d := p.day
	if p.IsCoordination() {
		d -= 60
	}
	return calendar.Date{Year: p.year, Month: time.Month(p.month), Day: d}
}

// String renders the canonical 12-digit form "YYYYMMDD-NNNC" ("" for the
// zero value). It is personal data: log Masked or use slog, which calls
// LogValue.
func (p PersonalNumber) String() string {
	if p.IsZero() {
		return ""
	}
	b := make([]byte, 0, 13)
	b = appendPad(b, p.year, 4)
	b = appendPad(b, p.month, 2)
	b = appendPad(b, p.day, 2)
	b = append(b, '-')
	b = appendPad(b, p.serial, 3)
	return string(strconv.AppendInt(b, int64(p.check), 10))
}

// TenDigit renders the 10-digit form on the reference date now:
// "YYMMDD-NNNC", or "YYMMDD+NNNC" from the day the person turns 100. The
// form cannot tell apart people 200 years apart; it reads back as p only
// for people younger than 200 at now.
func (p PersonalNumber) TenDigit(now time.Time) string {
	if p.IsZero() {
		return ""
	}
	sep := byte('-')
	bd := p.BirthDate()
	hundred := bd.AddMonths(1200) // 29 Feb turns 100 on 28 Feb, never later
	if bd.Month == time.February && bd.Day == 29 && !calendar.IsLeap(hundred.Year) {
		hundred = calendar.Date{Year: hundred.Year, Month: time.March, Day: 1}
	}
	if !calendar.DateOf(now).Before(hundred) {
		sep = '+'
	}
	b := make([]byte, 0, 11)
	b = appendPad(b, p.year%100, 2)
	b = appendPad(b, p.month, 2)
	b = appendPad(b, p.day, 2)
	b = append(b, sep)
	b = appendPad(b, p.serial, 3)
	return string(strconv.AppendInt(b, int64(p.check), 10))
}

// Masked renders the number with the last four digits hidden,
// "YYYYMMDD-****", for display and logs.
func (p PersonalNumber) Masked() string {
	if p.IsZero() {
		return ""
	}
	return p.String()[:9] + "****"
}

// LogValue makes slog log the masked form, never the full number.
func (p PersonalNumber) LogValue() slog.Value { return slog.StringValue(p.Masked()) }

// MarshalText renders the canonical 12-digit form; the zero value is "".
func (p PersonalNumber) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText parses a 12-digit form; "" gives the zero value. The
// 10-digit forms are refused (they need a reference date): convert them
// with ParsePersonalNumberAt before they reach JSON.
func (p *PersonalNumber) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*p = PersonalNumber{}
		return nil
	}
	v, err := ParsePersonalNumber(string(b))
	if err != nil {
		return err
	}
	*p = v
	return nil
}

func appendPad(b []byte, v, width int) []byte {
	s := strconv.Itoa(v)
	for i := len(s); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, s...)
}
