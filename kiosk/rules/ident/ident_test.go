package ident

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/kortstation/kortstation/kiosk/rules/calendar"
	"github.com/kortstation/kortstation/kiosk/rules/violation"
)

// withLuhn appends the Luhn digit to a 12-digit number without it
// ("YYYYMMDDNNN"), returning "YYYYMMDD-NNNC".
func withLuhn(s string) string {
	var d []int
	for _, c := range s[2:] {
		d = append(d, int(c-'0'))
	}
	return s[:8] + "-" + s[8:] + string(rune('0'+Luhn(d)))
}

func at(y int, m time.Month, d int) time.Time {
	return time.Date(y, m, d, 12, 0, 0, 0, calendar.Stockholm())
}

func TestParsePersonalNumber(t *testing.T) {
	now := at(2024, time.June, 1)
	tests := []struct {
		name    string
		in      string
		now     time.Time
		want    string // canonical, or "" for an error
		wantKey violation.Key
		coord   bool
	}{
		{name: "ID-5/12 digits with hyphen", in: "19121212-1212", now: now, want: "19121212-1212"},
		{name: "ID-5/12 digits without separator", in: "191212121212", now: now, want: "19121212-1212"},
		{name: "ID-5/12 digits surrounding spaces trimmed", in: " 19121212-1212 ", now: now, want: "19121212-1212"},
		{name: "ID-5/10 digits hyphen: latest century", in: "121212-1212", now: now, want: "20121212-1212"},
		{name: "ID-5/10 digits no separator: as hyphen", in: "1212121212", now: now, want: "20121212-1212"},
		{name: "ID-5/10 digits plus: 100 years or older", in: "121212+1212", now: now, want: "19121212-1212"},
		{name: "ID-5/10 digits born today is this century", in: withLuhn("20240601123")[2:], now: now, want: withLuhn("20240601123")},
		{name: "ID-5/10 digits born tomorrow's date is last century", in: withLuhn("20240602123")[2:], now: now, want: withLuhn("19240602123")},
		{name: "ID-5/New Year: 31 Dec on 1 Jan is last year", in: withLuhn("20231231123")[2:], now: at(2024, time.January, 1), want: withLuhn("20231231123")},
		{name: "ID-5/New Year: 1 Jan on 31 Dec is this year", in: withLuhn("20240101123")[2:], now: at(2024, time.December, 31), want: withLuhn("20240101123")},
		{name: "ID-5/New Year: 1 Jan on 31 Dec 2023 is 1924", in: withLuhn("20240101123")[2:], now: at(2023, time.December, 31), want: withLuhn("19240101123")},
		{name: "ID-5/New Year in Stockholm, not UTC", in: withLuhn("20240101123")[2:], now: time.Date(2023, 12, 31, 23, 30, 0, 0, time.UTC), want: withLuhn("20240101123")},
		{name: "ID-5/New Year in UTC is still the old year in Stockholm", in: withLuhn("20240101123"), now: time.Date(2023, 12, 31, 22, 30, 0, 0, time.UTC), wantKey: violation.KeyPNRFuture},
		{name: "ID-5/leap day 2000", in: withLuhn("20000229123"), now: now, want: withLuhn("20000229123")},
		{name: "ID-5/leap day 2024", in: withLuhn("20240229123"), now: now, want: withLuhn("20240229123")},
		{name: "ID-5/no leap day 1900", in: withLuhn("19000229123"), now: now, wantKey: violation.KeyPNRDate},
		{name: "ID-5/no leap day 2023", in: withLuhn("20230229123"), now: now, wantKey: violation.KeyPNRDate},
		{name: "ID-5/10 digits leap day hyphen gives 2000", in: withLuhn("20000229123")[2:], now: now, want: withLuhn("20000229123")},
		{name: "ID-5/10 digits leap day plus gives 1900, no such day", in: strings.Replace(withLuhn("20000229123")[2:], "-", "+", 1), now: now, wantKey: violation.KeyPNRDate},
		{name: "ID-5/coordination number day+60", in: withLuhn("19800161123"), now: now, want: withLuhn("19800161123"), coord: true},
		{name: "ID-5/coordination number 31st", in: withLuhn("19800191123"), now: now, want: withLuhn("19800191123"), coord: true},
		{name: "ID-5/coordination number leap day", in: withLuhn("20000289123"), now: now, want: withLuhn("20000289123"), coord: true},
		{name: "ID-5/coordination number no leap day 1900", in: withLuhn("19000289123"), now: now, wantKey: violation.KeyPNRDate},
		{name: "ID-5/coordination day 92 does not exist", in: withLuhn("19800192123"), now: now, wantKey: violation.KeyPNRDate},
		{name: "ID-5/day 60 is neither", in: withLuhn("19800160123"), now: now, wantKey: violation.KeyPNRDate},
		{name: "ID-5/day 32 is neither", in: withLuhn("19800132123"), now: now, wantKey: violation.KeyPNRDate},
		{name: "ID-5/day 00", in: withLuhn("19800100123"), now: now, wantKey: violation.KeyPNRDate},
		{name: "ID-5/month 13", in: withLuhn("19801301123"), now: now, wantKey: violation.KeyPNRDate},
		{name: "ID-5/31 April", in: withLuhn("19800431123"), now: now, wantKey: violation.KeyPNRDate},
		{name: "ID-5/Luhn wrong", in: "19121212-1213", now: now, wantKey: violation.KeyPNRLuhn},
		{name: "ID-5/future birth date", in: withLuhn("20240602123"), now: now, wantKey: violation.KeyPNRFuture},
		{name: "ID-5/plus with 12 digits", in: "19121212+1212", now: now, wantKey: violation.KeyPNRPlusWithCentury},
		{name: "ID-5/empty", in: "", now: now, wantKey: violation.KeyPNRFormat},
		{name: "ID-5/11 digits", in: "9121212-1212", now: now, wantKey: violation.KeyPNRFormat},
		{name: "ID-5/13 digits", in: "191212121212-1", now: now, wantKey: violation.KeyPNRFormat},
		{name: "ID-5/hyphen misplaced", in: "1912-12121212", now: now, wantKey: violation.KeyPNRFormat},
		{name: "ID-5/two separators", in: "19121212--1212", now: now, wantKey: violation.KeyPNRFormat},
		{name: "ID-5/letters", in: "19121212-12A2", now: now, wantKey: violation.KeyPNRFormat},
		{name: "ID-5/non-ASCII digits", in: "19121212-１２１２", now: now, wantKey: violation.KeyPNRFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParsePersonalNumberAt(tt.in, tt.now)
			if tt.want == "" {
				var v *violation.Violation
				if !errors.As(err, &v) {
					t.Fatalf("ParsePersonalNumberAt(%q) = %v, %v; want a violation", tt.in, p, err)
				}
				if v.Rule != "ID-5" || v.Key != tt.wantKey {
					t.Errorf("got %s/%s, want ID-5/%s", v.Rule, v.Key, tt.wantKey)
				}
				if strings.Contains(err.Error(), strings.TrimSpace(tt.in)) && tt.in != "" {
					t.Errorf("error %q leaks the number", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParsePersonalNumberAt(%q): %v", tt.in, err)
			}
			if got := p.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
			if p.IsCoordination() != tt.coord {
				t.Errorf("IsCoordination() = %v, want %v", p.IsCoordination(), tt.coord)
			}
			if len(tt.want) == 13 {
				back, err := ParsePersonalNumber(p.String())
				if err != nil || back != p {
					t.Errorf("round trip: %v, %v", back, err)
				}
			}
		})
	}
}

func TestParsePersonalNumberNeedsReferenceForTenDigits(t *testing.T) {
	_, err := ParsePersonalNumber("121212-1212")
	if !violation.HasRule(err, "ID-5") || !errors.Is(err, violation.New("ID-5", violation.KeyPNRNeedsCentury)) {
		t.Fatalf("got %v, want ID-5 %s", err, violation.KeyPNRNeedsCentury)
	}
}

func TestCoordinationBirthDate(t *testing.T) {
	p, err := ParsePersonalNumber(withLuhn("19800175123"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.BirthDate(), (calendar.Date{Year: 1980, Month: time.January, Day: 15}); got != want {
		t.Errorf("ID-5/coordination BirthDate() = %v, want %v", got, want)
	}
}

// TestTenDigitCenturyBoundary: the separator turns from "-" to "+" on the
// 100th birthday, and parsing back gives the same number on both sides.
func TestTenDigitCenturyBoundary(t *testing.T) {
	tests := []struct {
		name, birth string
		now         time.Time
		wantSep     byte
	}{
		{"ID-5/day before 100th birthday", "19240315123", at(2024, time.March, 14), '-'},
		{"ID-5/100th birthday", "19240315123", at(2024, time.March, 15), '+'},
		{"ID-5/leap-day born turns 100 on leap day", "19240229123", at(2024, time.February, 29), '+'},
		{"ID-5/leap-day born, day before", "19240229123", at(2024, time.February, 28), '-'},
		{"ID-5/leap-day born 2000, 28 Feb 2100", "20000229123", at(2100, time.February, 28), '-'},
		{"ID-5/leap-day born 2000, 1 Mar 2100", "20000229123", at(2100, time.March, 1), '+'},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParsePersonalNumber(withLuhn(tt.birth))
			if err != nil {
				t.Fatal(err)
			}
			ten := p.TenDigit(tt.now)
			if ten[6] != tt.wantSep {
				t.Errorf("TenDigit = %q, want separator %c", ten, tt.wantSep)
			}
			back, err := ParsePersonalNumberAt(ten, tt.now)
			if err != nil || back != p {
				t.Errorf("ParsePersonalNumberAt(%q) = %v, %v; want %v", ten, back, err, p)
			}
		})
	}
}

func TestPersonalNumberMaskedAndLogged(t *testing.T) {
	p, err := ParsePersonalNumber("19121212-1212")
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Masked(); got != "19121212-****" {
		t.Errorf("Masked() = %q", got)
	}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("issued", "recipient", p)
	if strings.Contains(buf.String(), "1212-1212") || !strings.Contains(buf.String(), "19121212-****") {
		t.Errorf("log line %q: want the masked number only", buf.String())
	}
	var zero PersonalNumber
	if zero.String() != "" || zero.Masked() != "" || !zero.IsZero() || zero.TenDigit(time.Now()) != "" {
		t.Errorf("zero value renders non-empty")
	}
}

func TestPersonalNumberJSON(t *testing.T) {
	type rec struct {
		P PersonalNumber `json:"p,omitzero"`
		H HSAID          `json:"h,omitzero"`
	}
	p, _ := ParsePersonalNumber("191212121212")
	h, _ := ParseHSAID("se2321000131-p000000012345")
	b, err := json.Marshal(rec{P: p, H: h})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"p":"19121212-1212","h":"SE2321000131-P000000012345"}`; got != want {
		t.Errorf("Marshal = %s, want %s", got, want)
	}
	var back rec
	if err := json.Unmarshal(b, &back); err != nil || back.P != p || back.H != h {
		t.Errorf("Unmarshal = %+v, %v", back, err)
	}
	if b, _ := json.Marshal(rec{}); string(b) != "{}" {
		t.Errorf("zero values marshal to %s, want {}", b)
	}
	var r rec
	err = json.Unmarshal([]byte(`{"p":"121212-1212"}`), &r)
	var v *violation.Violation
	if !errors.As(err, &v) || v.Key != violation.KeyPNRNeedsCentury {
		t.Errorf("ID-5/10-digit JSON: got %v, want %s", err, violation.KeyPNRNeedsCentury)
	}
	if err := json.Unmarshal([]byte(`{"p":""}`), &r); err != nil || !r.P.IsZero() {
		t.Errorf("empty string: %v, %v", r.P, err)
	}
}

func TestParseHSAID(t *testing.T) {
	tests := []struct {
		name, in, want string
		wantKey        violation.Key
	}{
		{name: "ID-5/HSA-ID example", in: "SE2321000131-P000000012345", want: "SE2321000131-P000000012345"},
		{name: "ID-5/HSA-ID lower case canonicalised", in: " se2321000016-abc1 ", want: "SE2321000016-ABC1"},
		{name: "ID-5/HSA-ID with 16 prefix", in: "SE162321000016-E0001", want: "SE162321000016-E0001"},
		{name: "ID-5/HSA-ID 31 characters", in: "SE2321000131-" + strings.Repeat("A", 18), want: "SE2321000131-" + strings.Repeat("A", 18)},
		{name: "ID-5/HSA-ID 32 characters", in: "SE2321000131-" + strings.Repeat("A", 19), wantKey: violation.KeyHSAIDFormat},
		{name: "ID-5/HSA-ID wrong country", in: "NO2321000131-P1", wantKey: violation.KeyHSAIDFormat},
		{name: "ID-5/HSA-ID no hyphen", in: "SE2321000131P1", wantKey: violation.KeyHSAIDFormat},
		{name: "ID-5/HSA-ID empty local part", in: "SE2321000131-", wantKey: violation.KeyHSAIDFormat},
		{name: "ID-5/HSA-ID 9-digit org", in: "SE232100013-P1", wantKey: violation.KeyHSAIDFormat},
		{name: "ID-5/HSA-ID 11-digit org", in: "SE23210001311-P1", wantKey: violation.KeyHSAIDFormat},
		{name: "ID-5/HSA-ID letters in org", in: "SE23210O0131-P1", wantKey: violation.KeyHSAIDFormat},
		{name: "ID-5/HSA-ID org Luhn", in: "SE2321000132-P1", wantKey: violation.KeyHSAIDOrgLuhn},
		{name: "ID-5/HSA-ID punctuation in local part", in: "SE2321000131-P_1", wantKey: violation.KeyHSAIDFormat},
		{name: "ID-5/HSA-ID second hyphen", in: "SE2321000131-P-1", wantKey: violation.KeyHSAIDFormat},
		{name: "ID-5/HSA-ID non-ASCII", in: "SE2321000131-PÅ1", wantKey: violation.KeyHSAIDFormat},
		{name: "ID-5/HSA-ID empty", in: "", wantKey: violation.KeyHSAIDFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := ParseHSAID(tt.in)
			if tt.want == "" {
				var v *violation.Violation
				if !errors.As(err, &v) || v.Key != tt.wantKey || v.Rule != "ID-5" {
					t.Fatalf("ParseHSAID(%q) = %v, %v; want ID-5/%s", tt.in, h, err, tt.wantKey)
				}
				return
			}
			if err != nil || h.String() != tt.want {
				t.Fatalf("ParseHSAID(%q) = %q, %v; want %q", tt.in, h, err, tt.want)
			}
		})
	}
	h, _ := ParseHSAID("SE162321000016-E0001")
	if h.OrganisationNumber() != "2321000016" || h.LocalPart() != "E0001" {
		t.Errorf("parts: %q %q", h.OrganisationNumber(), h.LocalPart())
	}
}

func FuzzParsePersonalNumber(f *testing.F) {
	for _, s := range []string{"19121212-1212", "121212+1212", "1212121212", "000229-1234", "20000289-1232",
		"19800161-1239", "", "+", "-1212", "19121212+1212", "１２", "0000000000"} {
		f.Add(s, int64(1717236000))
	}
	f.Add("240229-1239", int64(4107542400)) // 2100-03-01
	f.Fuzz(func(t *testing.T, s string, unix int64) {
		// Reference dates from 1900 to 2200.
		const lo, hi = -2208988800, 7258118400
		unix = lo + (unix%(hi-lo)+(hi-lo))%(hi-lo)
		now := time.Unix(unix, 0)
		_, _ = ParsePersonalNumber(s)
		p, err := ParsePersonalNumberAt(s, now)
		if err != nil {
			var v *violation.Violation
			if !errors.As(err, &v) || v.Rule != "ID-5" {
				t.Fatalf("error %v is not an ID-5 violation", err)
			}
			return
		}
		if p.IsZero() || !p.BirthDate().IsValid() || p.BirthDate().After(calendar.DateOf(now)) {
			t.Fatalf("%q parsed to impossible %v", s, p)
		}
		back, err := ParsePersonalNumber(p.String())
		if err != nil || back != p {
			t.Fatalf("12-digit round trip of %q: %v, %v", p, back, err)
		}
		// The 10-digit forms name people younger than 200 only.
		if age := calendar.DateOf(now).Year - p.BirthDate().Year; age < 199 {
			ten := p.TenDigit(now)
			back, err = ParsePersonalNumberAt(ten, now)
			if err != nil || back != p {
				t.Fatalf("10-digit round trip %q → %q at %v: %v, %v", p, ten, now, back, err)
			}
		}
		if !strings.HasSuffix(p.Masked(), "-****") || !strings.HasPrefix(p.String(), p.Masked()[:9]) {
			t.Fatalf("Masked() = %q", p.Masked())
		}
	})
}

// FuzzCoordinationNumber builds coordination numbers with a correct Luhn
// digit from fuzzed parts: they parse exactly when the date exists.
func FuzzCoordinationNumber(f *testing.F) {
	f.Add(uint16(1980), uint8(1), uint8(1), uint16(123))
	f.Add(uint16(2000), uint8(2), uint8(29), uint16(0))
	f.Add(uint16(1900), uint8(2), uint8(29), uint16(999))
	f.Add(uint16(2023), uint8(4), uint8(31), uint16(500))
	f.Fuzz(func(t *testing.T, y uint16, m, d uint8, serial uint16) {
		year, month, day, n := int(y)%10000, int(m)%13, int(d)%32, int(serial)%1000
		digits := []int{year / 10 % 10, year % 10, month / 10, month % 10, (day + 60) / 10, (day + 60) % 10, n / 100, n / 10 % 10, n % 10}
		s := []byte{byte('0' + year/1000), byte('0' + year/100%10)}
		for i, x := range digits {
			if i == 6 {
				s = append(s, '-')
			}
			s = append(s, byte('0'+x))
		}
		s = append(s, byte('0'+Luhn(digits)))
		p, err := ParsePersonalNumber(string(s))
		want := calendar.Date{Year: year, Month: time.Month(month), Day: day}
		if want.IsValid() != (err == nil) {
			t.Fatalf("%s: valid date %v, err %v", s, want.IsValid(), err)
		}
		if err == nil && (!p.IsCoordination() || p.BirthDate() != want || p.String() != string(s)) {
			t.Fatalf("%s parsed to %v (birth %v)", s, p, p.BirthDate())
		}
	})
}

func FuzzParseHSAID(f *testing.F) {
	for _, s := range []string{"SE2321000131-P000000012345", "se162321000016-e1", "SE2321000131-", "SE-1", "", "SE2321000131-ÅÄÖ", "SE2321000131--"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, err := ParseHSAID(s)
		if err != nil {
			if !violation.HasRule(err, "ID-5") {
				t.Fatalf("error %v is not an ID-5 violation", err)
			}
			return
		}
		c := h.String()
		if len(c) > MaxHSAIDLen || c != strings.ToUpper(c) || !strings.HasPrefix(c, "SE") {
			t.Fatalf("canonical %q", c)
		}
		back, err := ParseHSAID(c)
		if err != nil || back != h {
			t.Fatalf("round trip %q: %v, %v", c, back, err)
		}
		org := h.OrganisationNumber()
		var d []int
		for _, r := range org {
			d = append(d, int(r-'0'))
		}
		if len(d) != 10 || Luhn(d[:9]) != d[9] || h.LocalPart() == "" {
			t.Fatalf("parts of %q: %q %q", c, org, h.LocalPart())
		}
	})
}
