package window

import (
	"testing"
	"time"
)

func TestWindow(t *testing.T) {
	sthlm, _ := time.LoadLocation("Europe/Stockholm")
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, sthlm)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	night, err := Parse("01:00-05:00", "Europe/Stockholm")
	if err != nil {
		t.Fatal(err)
	}
	wrap, _ := Parse("22:00-04:00", "Europe/Stockholm")
	always, _ := Parse("00:00-24:00", "Europe/Stockholm")
	for _, c := range []struct {
		w    Window
		t    string
		want bool
	}{
		{night, "2026-11-30 00:59", false},
		{night, "2026-11-30 01:00", true},
		{night, "2026-11-30 04:59", true},
		{night, "2026-11-30 05:00", false},
		{night, "2026-11-30 13:00", false},
		{night, "2026-07-01 03:00", true}, // summer time: still local 03:00
		{wrap, "2026-11-30 23:30", true},
		{wrap, "2026-11-30 03:30", true},
		{wrap, "2026-11-30 12:00", false},
		{always, "2026-11-30 12:00", true},
		{always, "2026-11-30 00:00", true},
	} {
		if got := c.w.Contains(at(c.t)); got != c.want {
			t.Errorf("%s contains %s: got %v, want %v", c.w, c.t, got, c.want)
		}
	}
	// UTC instants are judged in local time: 00:30 UTC is 01:30 in winter.
	if !night.Contains(time.Date(2026, 11, 30, 0, 30, 0, 0, time.UTC)) {
		t.Error("00:30 UTC (01:30 CET) not in 01:00-05:00 Stockholm")
	}
	for _, bad := range []string{"", "1-5", "01:00", "01:00-01:00", "25:00-05:00", "01:60-05:00", "24:00-05:00"} {
		if _, err := Parse(bad, "Europe/Stockholm"); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, err := Parse("01:00-05:00", "Mars/Olympus"); err == nil {
		t.Error("unknown zone accepted")
	}
}
