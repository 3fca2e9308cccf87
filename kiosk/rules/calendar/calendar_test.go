package calendar

import (
	"errors"
	"testing"
	"time"
)

func d(y int, m time.Month, day int) Date { return Date{y, m, day} }

func local(y int, m time.Month, day, hh, mm int) time.Time {
	return time.Date(y, m, day, hh, mm, 0, 0, Stockholm())
}

func TestEaster(t *testing.T) {
	tests := []struct {
		year int
		want Date
	}{
		{1818, d(1818, time.March, 22)}, // earliest possible
		{1943, d(1943, time.April, 25)}, // latest possible
		{2000, d(2000, time.April, 23)},
		{2024, d(2024, time.March, 31)},
		{2025, d(2025, time.April, 20)},
		{2026, d(2026, time.April, 5)},
		{2038, d(2038, time.April, 25)},
		{2285, d(2285, time.March, 22)},
	}
	for _, tt := range tests {
		if got := Easter(tt.year); got != tt.want {
			t.Errorf("CP-2/Easter(%d) = %v, want %v", tt.year, got, tt.want)
		}
	}
}

func TestHolidays(t *testing.T) {
	// CP-2: the Swedish non-working days of 2024 and 2025, public and de facto.
	want := map[int][]Date{
		2024: {d(2024, 1, 1), d(2024, 1, 6), d(2024, 3, 29), d(2024, 3, 31), d(2024, 4, 1), d(2024, 5, 1),
			d(2024, 5, 9), d(2024, 5, 19), d(2024, 6, 6), d(2024, 6, 21), d(2024, 6, 22), d(2024, 11, 2),
			d(2024, 12, 24), d(2024, 12, 25), d(2024, 12, 26), d(2024, 12, 31)},
		2025: {d(2025, 1, 1), d(2025, 1, 6), d(2025, 4, 18), d(2025, 4, 20), d(2025, 4, 21), d(2025, 5, 1),
			d(2025, 5, 29), d(2025, 6, 6), d(2025, 6, 8), d(2025, 6, 20), d(2025, 6, 21), d(2025, 11, 1),
			d(2025, 12, 24), d(2025, 12, 25), d(2025, 12, 26), d(2025, 12, 31)},
	}
	for year, dates := range want {
		hs := Holidays(year)
		if len(hs) != len(dates) {
			t.Fatalf("CP-2/Holidays(%d): %d days, want %d: %v", year, len(hs), len(dates), hs)
		}
		for i, h := range hs {
			if h.Date != dates[i] {
				t.Errorf("CP-2/Holidays(%d)[%d] = %v %s, want %v", year, i, h.Date, h.Name, dates[i])
			}
		}
	}
	// Before 2005 Whit Monday, not National Day.
	if _, ok := HolidayOn(d(2004, 6, 6)); ok {
		t.Errorf("CP-2/6 June 2004 is not a holiday")
	}
	if h, ok := HolidayOn(d(2004, 5, 31)); !ok || h.Name != "Whit Monday" {
		t.Errorf("CP-2/31 May 2004 = %v, want Whit Monday", h)
	}
}

func TestHolidaysEveryYear(t *testing.T) {
	for y := 1953; y <= 2400; y++ {
		for _, h := range Holidays(y) {
			if !h.Date.IsValid() || h.Date.Year != y {
				t.Fatalf("CP-2/%d: %v %s", y, h.Date, h.Name)
			}
			switch h.Name {
			case "Midsummer Day", "All Saints' Day":
				if h.Date.Weekday() != time.Saturday {
					t.Errorf("CP-2/%s %v is a %v", h.Name, h.Date, h.Date.Weekday())
				}
			case "Midsummer Eve", "Good Friday":
				if h.Date.Weekday() != time.Friday {
					t.Errorf("CP-2/%s %v is a %v", h.Name, h.Date, h.Date.Weekday())
				}
			case "Ascension Day":
				if h.Date.Weekday() != time.Thursday {
					t.Errorf("CP-2/%s %v is a %v", h.Name, h.Date, h.Date.Weekday())
				}
			}
		}
		if e := Easter(y); e.Weekday() != time.Sunday || e.Before(d(y, 3, 22)) || e.After(d(y, 4, 25)) {
			t.Errorf("CP-2/Easter %v", e)
		}
	}
}

func TestIsWorkingDay(t *testing.T) {
	tests := []struct {
		day  Date
		want bool
	}{
		{d(2024, 1, 5), true},    // Twelfth Night eve: working
		{d(2024, 1, 6), false},   // Epiphany (Saturday anyway)
		{d(2025, 1, 6), false},   // Epiphany on a Monday
		{d(2024, 3, 28), true},   // Maundy Thursday
		{d(2024, 3, 29), false},  // Good Friday
		{d(2024, 4, 1), false},   // Easter Monday
		{d(2024, 4, 2), true},    // Tuesday after Easter
		{d(2024, 4, 30), true},   // Walpurgis Eve
		{d(2024, 5, 9), false},   // Ascension Day
		{d(2024, 5, 10), true},   // the Friday after: a working day
		{d(2024, 6, 6), false},   // National Day
		{d(2024, 6, 20), true},   // day before Midsummer Eve
		{d(2024, 6, 21), false},  // Midsummer Eve (de facto)
		{d(2024, 6, 24), true},   // Monday after Midsummer
		{d(2024, 12, 23), true},  // day before Christmas Eve
		{d(2024, 12, 24), false}, // Christmas Eve (de facto)
		{d(2024, 12, 27), true},  // between the holidays
		{d(2024, 12, 31), false}, // New Year's Eve (de facto)
		{d(2025, 1, 1), false},   // New Year's Day
		{d(2025, 1, 2), true},
		{d(2024, 6, 1), false}, // Saturday
		{d(2024, 6, 2), false}, // Sunday
		{d(2024, 6, 3), true},  // Monday
	}
	for _, tt := range tests {
		if got := IsWorkingDay(tt.day); got != tt.want {
			t.Errorf("CP-2/IsWorkingDay(%v %v) = %v, want %v", tt.day, tt.day.Weekday(), got, tt.want)
		}
	}
}

func TestDayArithmeticAcrossDST(t *testing.T) {
	// Summer time starts 2024-03-31 02:00 and ends 2024-10-27 03:00.
	tests := []struct {
		name  string
		from  Date
		days  int
		want  Date
		hours float64
	}{
		{"spring forward: 23-hour day", d(2024, 3, 30), 2, d(2024, 4, 1), 47},
		{"fall back: 25-hour day", d(2024, 10, 26), 2, d(2024, 10, 28), 49},
		{"New Year", d(2024, 12, 31), 1, d(2025, 1, 1), 24},
		{"leap day", d(2024, 2, 28), 2, d(2024, 3, 1), 48},
		{"no leap day", d(2023, 2, 28), 1, d(2023, 3, 1), 24},
		{"backwards over New Year", d(2025, 1, 1), -1, d(2024, 12, 31), -24},
	}
	for _, tt := range tests {
		got := tt.from.AddDays(tt.days)
		if got != tt.want {
			t.Errorf("%s: AddDays = %v, want %v", tt.name, got, tt.want)
		}
		if h := got.Start().Sub(tt.from.Start()).Hours(); h != tt.hours {
			t.Errorf("%s: %v hours, want %v", tt.name, h, tt.hours)
		}
		if n := DaysBetween(tt.from, got); n != tt.days {
			t.Errorf("%s: DaysBetween = %d", tt.name, n)
		}
		if DateOf(got.Start()) != got || DateOf(got.Start().Add(-time.Nanosecond)) != got.AddDays(-1) {
			t.Errorf("%s: Start() %v is not the first instant of %v", tt.name, got.Start(), got)
		}
	}
}

func TestAddMonths(t *testing.T) {
	tests := []struct {
		from Date
		n    int
		want Date
	}{
		{d(2024, 1, 31), 1, d(2024, 2, 29)},
		{d(2023, 1, 31), 1, d(2023, 2, 28)},
		{d(2024, 2, 29), 12, d(2025, 2, 28)},
		{d(2024, 2, 29), 48, d(2028, 2, 29)},
		{d(2024, 2, 29), 60, d(2029, 2, 28)},
		{d(2024, 7, 31), 7, d(2025, 2, 28)},
		{d(2024, 6, 15), 7, d(2025, 1, 15)},
		{d(2024, 8, 31), 6, d(2025, 2, 28)},
		{d(2024, 11, 30), 3, d(2025, 2, 28)},
		{d(2024, 12, 31), 3, d(2025, 3, 31)},
		{d(2024, 3, 31), -1, d(2024, 2, 29)},
		{d(2024, 1, 15), -13, d(2022, 12, 15)},
	}
	for _, tt := range tests {
		if got := tt.from.AddMonths(tt.n); got != tt.want {
			t.Errorf("%v.AddMonths(%d) = %v, want %v", tt.from, tt.n, got, tt.want)
		}
	}
}

func TestDateText(t *testing.T) {
	var x Date
	if err := x.UnmarshalText([]byte("2024-02-29")); err != nil || x != d(2024, 2, 29) {
		t.Errorf("UnmarshalText: %v %v", x, err)
	}
	if err := x.UnmarshalText([]byte("2023-02-29")); err == nil {
		t.Errorf("2023-02-29 accepted")
	}
	if b, _ := (Date{}).MarshalText(); len(b) != 0 {
		t.Errorf("zero date marshals to %q", b)
	}
	if _, err := d(2023, 2, 29).MarshalText(); err == nil {
		t.Errorf("invalid date marshalled")
	}
}

func TestWindow(t *testing.T) {
	// CP-3: seed 002's total stop, 23 Jan 2024 12:00 to 25 Jan 2024 12:00.
	w := Window{Start: local(2024, 1, 23, 12, 0), End: local(2024, 1, 25, 12, 0)}
	if err := w.Validate(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		at   time.Time
		want bool
	}{
		{"CP-3/a minute before start", local(2024, 1, 23, 11, 59), false},
		{"CP-3/a nanosecond before start", w.Start.Add(-time.Nanosecond), false},
		{"CP-3/start is inside", w.Start, true},
		{"CP-3/middle", local(2024, 1, 24, 3, 0), true},
		{"CP-3/last minute is inside", local(2024, 1, 25, 11, 59), true},
		{"CP-3/a nanosecond before end is inside", w.End.Add(-time.Nanosecond), true},
		{"CP-3/end is outside", w.End, false},
		{"CP-3/same instant in UTC", time.Date(2024, 1, 23, 11, 0, 0, 0, time.UTC), true},
	}
	for _, tt := range tests {
		if got := w.Contains(tt.at); got != tt.want {
			t.Errorf("%s: Contains(%v) = %v, want %v", tt.name, tt.at, got, tt.want)
		}
	}
	bad := []Window{
		{},
		{Start: w.Start, End: w.Start},
		{Start: w.End, End: w.Start},
		{Start: w.Start.Add(time.Second), End: w.End},
	}
	for _, b := range bad {
		if err := b.Validate(); !errors.Is(err, ErrWindow) {
			t.Errorf("CP-3/Validate(%v) = %v, want ErrWindow", b, err)
		}
	}
}

func TestAddProcessingTime(t *testing.T) {
	h := ProcessingHours()
	totalStop := []Window{{Start: local(2024, 1, 23, 12, 0), End: local(2024, 1, 25, 12, 0)}}
	tests := []struct {
		name   string
		sent   time.Time
		d      time.Duration
		closed []Window
		want   time.Time
	}{
		{"CP-2/inside the morning span", local(2024, 6, 3, 9, 15), 0, nil, local(2024, 6, 3, 9, 15)},
		{"CP-2/before opening", local(2024, 6, 3, 6, 0), 0, nil, local(2024, 6, 3, 7, 30)},
		{"CP-2/a minute before opening", local(2024, 6, 3, 7, 29), 0, nil, local(2024, 6, 3, 7, 30)},
		{"CP-2/at opening", local(2024, 6, 3, 7, 30), 0, nil, local(2024, 6, 3, 7, 30)},
		{"CP-2/at noon: lunch", local(2024, 6, 3, 12, 0), 0, nil, local(2024, 6, 3, 13, 0)},
		{"CP-2/a minute before noon", local(2024, 6, 3, 11, 59), 0, nil, local(2024, 6, 3, 11, 59)},
		{"CP-2/at 16:00: next working day", local(2024, 6, 3, 16, 0), 0, nil, local(2024, 6, 4, 7, 30)},
		{"CP-2/a minute before 16:00", local(2024, 6, 3, 15, 59), 0, nil, local(2024, 6, 3, 15, 59)},
		{"CP-2/Friday evening to Monday", local(2024, 6, 7, 17, 0), 0, nil, local(2024, 6, 10, 7, 30)},
		{"CP-2/30 minutes across lunch", local(2024, 6, 3, 11, 50), 30 * time.Minute, nil, local(2024, 6, 3, 13, 20)},
		{"CP-2/2 hours across the night", local(2024, 6, 3, 15, 0), 2 * time.Hour, nil, local(2024, 6, 4, 8, 30)},
		{"CP-2/Midsummer Eve and weekend", local(2024, 6, 20, 15, 30), time.Hour, nil, local(2024, 6, 24, 8, 0)},
		{"CP-2/Maundy Thursday to Tuesday after Easter", local(2024, 3, 28, 16, 0), 0, nil, local(2024, 4, 2, 7, 30)},
		{"CP-2/Ascension Thursday", local(2024, 5, 8, 16, 30), 0, nil, local(2024, 5, 10, 7, 30)},
		{"CP-2/Christmas to 27 December", local(2024, 12, 23, 16, 0), 0, nil, local(2024, 12, 27, 7, 30)},
		{"CP-2/New Year's Eve to 2 January", local(2024, 12, 30, 16, 0), 0, nil, local(2025, 1, 2, 7, 30)},
		{"CP-2/epiphany Monday", local(2025, 1, 3, 16, 0), 0, nil, local(2025, 1, 7, 7, 30)},
		{"CP-2/DST spring: Friday to Monday", local(2024, 3, 29, 10, 0), 0, nil, local(2024, 4, 2, 7, 30)},
		{"CP-2/DST autumn weekend", local(2024, 10, 25, 15, 30), time.Hour, nil, local(2024, 10, 28, 8, 0)},
		{"CP-3/total stop: certificates only after it ends", local(2024, 1, 23, 11, 0), 0, totalStop, local(2024, 1, 23, 11, 0)},
		{"CP-3/total stop: inside", local(2024, 1, 23, 12, 0), 0, totalStop, local(2024, 1, 25, 13, 0)},
		{"CP-3/total stop: work split by its start", local(2024, 1, 23, 11, 30), time.Hour, totalStop, local(2024, 1, 25, 13, 30)},
	}
	for _, tt := range tests {
		got, err := AddProcessingTime(tt.sent, tt.d, h, tt.closed)
		if err != nil || !got.Equal(tt.want) {
			t.Errorf("%s: AddProcessingTime(%v, %v) = %v, %v; want %v", tt.name, FormatMinute(tt.sent), tt.d, FormatMinute(got), err, FormatMinute(tt.want))
		}
	}
	forever := []Window{{Start: local(2024, 1, 1, 0, 0), End: local(2099, 1, 1, 0, 0)}}
	if _, err := AddProcessingTime(local(2024, 6, 3, 9, 0), 0, h, forever); !errors.Is(err, ErrNoProcessingTime) {
		t.Errorf("CP-2/closed for decades: %v, want ErrNoProcessingTime", err)
	}
	if _, err := AddProcessingTime(local(2024, 6, 3, 9, 0), 0, Hours{{From: 600, To: 500}}, nil); !errors.Is(err, ErrHours) {
		t.Errorf("CP-2/bad hours: %v, want ErrHours", err)
	}
	if !isProcessing(local(2024, 6, 3, 9, 0), h, nil) || isProcessing(local(2024, 6, 3, 12, 30), h, nil) {
		t.Errorf("CP-2/isProcessing")
	}
}

func FuzzDateArithmetic(f *testing.F) {
	f.Add(2024, 2, 29, 365, 12)
	f.Add(2024, 3, 30, 1, 7)
	f.Add(2024, 10, 26, 2, -7)
	f.Add(2024, 12, 31, 1, 1)
	f.Add(1900, 2, 28, 1, 60)
	f.Fuzz(func(t *testing.T, y, m, day, n, months int) {
		x := Date{Year: 1 + abs(y)%9000, Month: time.Month(1 + abs(m)%12), Day: 1 + abs(day)%31}
		if !x.IsValid() {
			return
		}
		n %= 200000
		months %= 1200
		after := x.AddDays(n)
		if after.AddDays(-n) != x || DaysBetween(x, after) != n {
			t.Fatalf("%v + %d days = %v, not invertible", x, n, after)
		}
		if (n > 0) != after.After(x) || (n == 0) != (after == x) {
			t.Fatalf("%v + %d days = %v: order", x, n, after)
		}
		if s := x.Start(); DateOf(s) != x || s.In(Stockholm()).Hour() != 0 || s.In(Stockholm()).Minute() != 0 {
			t.Fatalf("%v.Start() = %v", x, s)
		}
		mm := x.AddMonths(months)
		if !mm.IsValid() && mm.Year >= 1 && mm.Year <= 9999 {
			t.Fatalf("%v + %d months = invalid %v", x, months, mm)
		}
		if mm.Day > x.Day || (mm.Day < x.Day && mm.Day != DaysIn(mm.Year, mm.Month)) {
			t.Fatalf("%v + %d months = %v: day", x, months, mm)
		}
		if got := (mm.Year-x.Year)*12 + int(mm.Month-x.Month); got != months {
			t.Fatalf("%v + %d months = %v: %d months apart", x, months, mm, got)
		}
		var back Date
		if b, err := x.MarshalText(); err != nil || back.UnmarshalText(b) != nil || back != x {
			t.Fatalf("text round trip %v: %v", x, back)
		}
	})
}

func FuzzAddProcessingTime(f *testing.F) {
	f.Add(int64(1706007600), int64(0), int64(1706007600), int64(172800))     // total stop 2024-01-23
	f.Add(int64(1711843200), int64(3600), int64(0), int64(0))                // DST spring 2024
	f.Add(int64(1729987200), int64(5400), int64(1729990000), int64(60))      // DST autumn 2024
	f.Add(int64(1735599600), int64(25200), int64(1735603200), int64(604800)) // New Year
	f.Fuzz(func(t *testing.T, sent, dur, wstart, wlen int64) {
		const lo, span = 1577836800, 20 * 365 * 86400 // 2020 onwards
		at := time.Unix(lo+abs64(sent)%span, 0)
		d := time.Duration(abs64(dur)%(200*3600)) * time.Second
		ws := time.Unix(lo+abs64(wstart)%span, 0).Truncate(time.Minute)
		w := Window{Start: ws, End: ws.Add(time.Duration(1+abs64(wlen)%(60*86400)) * time.Minute)}
		if err := w.Validate(); err != nil {
			t.Fatalf("window %v: %v", w, err)
		}
		h := ProcessingHours()
		got, err := AddProcessingTime(at, d, h, []Window{w})
		if err != nil {
			t.Fatalf("AddProcessingTime: %v", err)
		}
		if got.Before(at.Add(d)) {
			t.Fatalf("%v + %v processing = %v, earlier than wall time", at, d, got)
		}
		start, _ := AddProcessingTime(at, 0, h, []Window{w})
		if !isProcessing(start, h, []Window{w}) || w.Contains(start) || !IsWorkingDay(DateOf(start)) {
			t.Fatalf("first open instant %v is not open", start)
		}
		if d == 0 && !got.Equal(start) {
			t.Fatalf("zero duration: %v, want %v", got, start)
		}
		if d > 0 && w.Contains(got) && !got.Equal(w.Start) {
			t.Fatalf("finished inside the closed window: %v", got)
		}
	})
}

func abs(x int) int {
	if x < 0 {
		if x == -x { // math.MinInt
			return 0
		}
		return -x
	}
	return x
}

func abs64(x int64) int64 {
	if x < 0 {
		if x == -x {
			return 0
		}
		return -x
	}
	return x
}

// TestParseLocalMinuteRepeatedHour: CP-3 stop windows typed in Swedish
// time — the repeated October hour resolves to the earlier instant for a
// start and the later for an end; the skipped March hour is refused
// whichever is asked for; the datetime-local form is read too.
func TestParseLocalMinuteRepeatedHour(t *testing.T) {
	tests := []struct {
		in   string
		pick Repeated
		want time.Time
		gap  bool
	}{
		{"2024-10-27 02:30", Earlier, time.Date(2024, 10, 27, 0, 30, 0, 0, time.UTC), false},
		{"2024-10-27T02:30", Later, time.Date(2024, 10, 27, 1, 30, 0, 0, time.UTC), false},
		{"2024-01-23T12:00", Later, local(2024, 1, 23, 12, 0), false},
		{"2024-03-31 02:30", Earlier, time.Time{}, true},
		{"2024-03-31T02:00", Later, time.Time{}, true},
	}
	for _, tt := range tests {
		got, err := ParseLocalMinute(tt.in, tt.pick)
		if tt.gap {
			if !errors.Is(err, ErrNoSuchLocalTime) {
				t.Errorf("CP-3/ParseLocalMinute(%q) = %v, %v; want ErrNoSuchLocalTime", tt.in, got, err)
			}
			continue
		}
		if err != nil || !got.Equal(tt.want) {
			t.Errorf("CP-3/ParseLocalMinute(%q, %d) = %v, %v; want %v", tt.in, tt.pick, got, err, tt.want)
		}
	}
	if _, err := ParseLocalMinute("23/1 12:00", Earlier); err == nil || errors.Is(err, ErrNoSuchLocalTime) {
		t.Errorf("CP-3/ParseLocalMinute(bad layout) = %v, want a layout error", err)
	}
}
