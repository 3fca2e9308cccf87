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

func TestHistogramExposition(t *testing.T) {
	r := NewRegistry()
	h := r.RegisterHistogram("registry_request_seconds", "Request latency.", "endpoint", []float64{0.01, 0.1})
	h.Observe("push", 0.005)
	h.Observe("push", 0.01) // on a bound: counted in it (le)
	h.Observe("push", 0.5)
	h.Observe("pull", 0.05)
	var b strings.Builder
	if _, err := r.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	want := "# HELP registry_request_seconds Request latency.\n" +
		"# TYPE registry_request_seconds histogram\n" +
		`registry_request_seconds_bucket{endpoint="pull",le="0.01"} 0` + "\n" +
		`registry_request_seconds_bucket{endpoint="pull",le="0.1"} 1` + "\n" +
		`registry_request_seconds_bucket{endpoint="pull",le="+Inf"} 1` + "\n" +
		`registry_request_seconds_sum{endpoint="pull"} 0.05` + "\n" +
		`registry_request_seconds_count{endpoint="pull"} 1` + "\n" +
		`registry_request_seconds_bucket{endpoint="push",le="0.01"} 2` + "\n" +
		`registry_request_seconds_bucket{endpoint="push",le="0.1"} 2` + "\n" +
		`registry_request_seconds_bucket{endpoint="push",le="+Inf"} 3` + "\n" +
		`registry_request_seconds_sum{endpoint="push"} 0.515` + "\n" +
		`registry_request_seconds_count{endpoint="push"} 3` + "\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}
