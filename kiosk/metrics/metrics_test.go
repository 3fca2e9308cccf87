package metrics

import (
	"strings"
	"testing"
)

func TestExposition(t *testing.T) {
	r := NewRegistry()
	r.Register("kiosk_outbox_depth", "Unacknowledged outbox events.", Gauge, Value(func() float64 { return 3 }))
	r.Register("kiosk_ws_messages_total", "Websocket messages.", Counter, func() []Sample {
		return []Sample{{Labels: map[string]string{"dir": "in", "type": `a"b`}, Value: 7}}
	})
	var b strings.Builder
	if _, err := r.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	want := "# HELP kiosk_outbox_depth Unacknowledged outbox events.\n" +
		"# TYPE kiosk_outbox_depth gauge\n" +
		"kiosk_outbox_depth 3\n" +
		"# HELP kiosk_ws_messages_total Websocket messages.\n" +
		"# TYPE kiosk_ws_messages_total counter\n" +
		`kiosk_ws_messages_total{dir="in",type="a\"b"} 7` + "\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestRegisterRejectsBadAndDuplicateNames(t *testing.T) {
	r := NewRegistry()
	r.Register("ok_name", "", Gauge, Value(func() float64 { return 0 }))
	for _, name := range []string{"ok_name", "9starts_with_digit", "has-dash", ""} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Register(%q) did not panic", name)
				}
			}()
			r.Register(name, "", Gauge, Value(func() float64 { return 0 }))
		}()
	}
}
