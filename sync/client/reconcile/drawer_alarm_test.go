package reconcile_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/kortstation/kortstation/sync/protocol"
	"github.com/kortstation/kortstation/sync/registrytest"
)

// TestDrawerAlarmReachesRegistryAsDocumented: RC-7 — the drawer opened with
// nobody logged in is an alarm. Driven through the station's real drawer
// handling (kiosk/counter.WatchDrawer on the simulated sensor) and pushed to
// a real registry over mutual TLS, it is stored at the registry as the
// documented kind drawer_alarm with a DrawerAlarmPayload, and the
// registry's station status counts it as an alarm of the last day.
func TestDrawerAlarmReachesRegistryAsDocumented(t *testing.T) {
	ctx := context.Background()
	reg := registrytest.Start(t)
	s := newStation(t, reg.Identity(t, "ST-RC7"), reg.URL, nil)

	d := s.drawer()
	before := s.clk.Now()
	d.sensor.Open() // RC-7: nobody is logged in
	d.wait("drawer.open")
	after := s.clk.Now()
	d.sensor.Close()
	d.wait("drawer.closed")
	mustOnce(t, s)
	assertExactlyOnce(t, reg, s)

	// At the registry's database: exactly one drawer_alarm, decoding
	// into the documented payload.
	db := registrytest.RawDB(t, reg.Dir)
	rows, err := db.QueryContext(ctx, `SELECT kind, payload FROM events WHERE station_id = 'ST-RC7' ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	var alarms []protocol.DrawerAlarmPayload
	var others []string
	for rows.Next() {
		var kind string
		var payload []byte
		if err := rows.Scan(&kind, &payload); err != nil {
			t.Fatal(err)
		}
		switch kind {
		case protocol.KindDrawerAlarm:
			var p protocol.DrawerAlarmPayload
			dec := json.NewDecoder(bytes.NewReader(payload))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&p); err != nil {
				t.Errorf("drawer_alarm payload %s: %v", payload, err)
			}
			alarms = append(alarms, p)
		case protocol.KindDrawerEvent:
			var p protocol.DrawerEventPayload
			if err := json.Unmarshal(payload, &p); err != nil {
				t.Errorf("drawer_event payload %s: %v", payload, err)
			}
			others = append(others, p.State)
		case protocol.KindAuditCheckpoint:
		default:
			t.Errorf("unexpected %s event at the registry", kind)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if len(alarms) != 1 {
		t.Fatalf("got %d drawer_alarm events at the registry, want 1 (other events: %v)", len(alarms), others)
	}
	a := alarms[0]
	if a.State != protocol.DrawerOpen || a.FoundOpen || a.At.Before(before.Truncate(time.Microsecond)) || a.At.After(after.Add(time.Second)) {
		t.Errorf("got alarm %+v, want state open, not found open, at between %s and %s", a, before, after)
	}
	if want := []string{protocol.DrawerClosed, protocol.DrawerClosed}; len(others) != len(want) || others[0] != want[0] || others[1] != want[1] {
		t.Errorf("got other drawer events %v, want %v (initial state and closing, as drawer_event)", others, want)
	}

	// The registry's station status counts it.
	stations, err := reg.Server.Stations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(stations) != 1 || stations[0].AlarmsLastDay != 1 {
		t.Errorf("got stations %+v, want ST-RC7 with 1 alarm in the last day", stations)
	}
}
