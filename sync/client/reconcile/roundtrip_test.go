package reconcile_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kortstation/kortstation/kiosk/audit"
	"github.com/kortstation/kortstation/kiosk/store"
	"github.com/kortstation/kortstation/kiosk/update"
	"github.com/kortstation/kortstation/sync/client/reconcile"
	"github.com/kortstation/kortstation/sync/client/refdata"
	"github.com/kortstation/kortstation/sync/protocol"
	"github.com/kortstation/kortstation/sync/registry"
	"github.com/kortstation/kortstation/sync/registrytest"
)

func mustOnce(t *testing.T, s *station) {
	t.Helper()
	if err := s.cli.Once(context.Background()); err != nil {
		t.Fatalf("Once: %v", err)
	}
}

// TestRoundTrip pushes one event of every kind of protocol.EventKinds and
// pulls every kind of reference data through the real registry over
// mutual TLS. The drawer events come from the station's real drawer
// handling and the audit checkpoint from the real sync; the other payloads
// are typed, so their kind is the one outbox.Enqueue derives from the
// type. Every stored event must be of a documented kind and decode into
// its payload type without losing a field.
func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	reg := registrytest.Start(t)
	if err := reg.Server.Seed(ctx, "ST-1"); err != nil {
		t.Fatal(err)
	}
	// The cards the station's events name are its own: shipped to it.
	if err := reg.Server.Ship(ctx, "ST-1", "SHIP-RT", "reserve", "RK-1", "RK-2", "RK-3"); err != nil {
		t.Fatal(err)
	}
	s := newStation(t, reg.Identity(t, "ST-1"), reg.URL, nil)
	pnr := registry.TestPersonalNumber("19850505", 321)
	const op = "SE2321000131-P000000012345"
	now := s.clk.Now()

	// The station's drawer handling, nobody logged in: an RC-7 alarm
	// (drawer_alarm), then closed, fault and recovered (drawer_event).
	d := s.drawer()
	d.sensor.Open()
	d.wait("drawer.open")
	d.sensor.Close()
	d.wait("drawer.closed")
	d.sensor.Fail("wire cut")
	d.wait("drawer.fault")
	d.sensor.Repair()
	d.wait("drawer.recovered")

	s.enqueue(protocol.IssuancePayload{IssuanceID: "iss-1", CardSerial: "RK-1", CardType: "reserve", PersonalNumber: pnr, Reason: "forgotten", ValidFrom: now, ValidUntil: now.AddDate(0, 0, 10), Operator: "SE2321000131-P000000012345"})
	s.enqueue(protocol.ReceiptPayload{ReceiptID: "r-1", IssuanceID: "iss-1", CardSerial: "RK-1", Content: json.RawMessage(`{"reason":"forgotten"}`), Signatures: json.RawMessage(`[[1,2],[3,4]]`), PDF: []byte("%PDF-1.7 fake but bytes"), PDFSHA256: "abc", SignedAt: now})
	s.enqueue(protocol.NotificationPayload{Event: "issued", Role: "recipient", IssuanceID: "iss-1", ReceiptID: "r-1", CardSerial: "RK-1", Key: "notify.issued"})
	s.enqueue(protocol.ExtensionPayload{IssuanceID: "iss-2", CardSerial: "RK-1", Reason: "forgotten", RefersTo: "iss-1", ValidUntil: now.AddDate(0, 0, 20), Operator: op})
	s.enqueue(protocol.IssuancePayload{IssuanceID: "iss-3", CardSerial: "RK-2", Reason: "lost", Operator: op})
	s.enqueue(protocol.ReturnPayload{IssuanceID: "iss-4", CardSerial: "RK-2", RefersTo: "iss-3", Operator: op})
	s.enqueue(protocol.BlockRequestPayload{CardSerial: "RK-3", Reason: "pin_exposed", Operator: op})
	s.enqueue(protocol.StockMovementPayload{CardSerial: "RK-4", Movement: "received", ShipmentRef: "SHIP-0001"})
	s.enqueue(protocol.AdminChangePayload{RequestID: "AD-RT-1", Station: "ST-1", Change: protocol.AdminAppointed, Admin: "SE2321000131-P000000099999",
		Name: "Ny Administratör", Email: "ny@example.se", Phone: "0701234567", Manager: "SE2321000131-P000000088888", ManagerName: "Chef Chefsson",
		ManagerProof: protocol.ManagerProofCard, TrainingConfirmed: true, Operator: op, At: now})
	err := s.st.Update(ctx, s.clk, func(tx *store.Tx) error {
		_, err := tx.Audit(ctx, audit.Entry{Kind: "card.state", Actor: "station", Subject: "RK-1"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// An update's outcome as kortstation-health leaves it after a trial
	// boot, recorded by the station's update code (update_result).
	outcome := filepath.Join(t.TempDir(), "update-result")
	if err := os.WriteFile(outcome, []byte("result=committed\nslot=B\nversion=2.0.0\nreason=health check passed\nat=2026-11-30T02:00:00Z\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := update.RecordOutcome(ctx, s.st, s.clk, "ST-1", outcome, ""); err != nil || !ok {
		t.Fatalf("record update outcome: %v, %v", ok, err)
	}

	mustOnce(t, s)
	// The pull audits what it changed (the administrators authorised
	// here, AD-2) after the sync's checkpoint: the next sync anchors it.
	mustOnce(t, s)
	assertExactlyOnce(t, reg, s)
	if held, err := reg.Server.ReviewItems(ctx); err != nil || len(held) != 0 {
		t.Errorf("events held for review = %+v, %v; want none (every event is the station's own)", held, err)
	}

	events, _ := reg.Server.Events(ctx, "ST-1")
	kinds := map[string]int{}
	drawerStates := map[string]int{}
	for _, e := range events {
		kinds[e.Kind]++
		p, err := protocol.DecodePayload(e.Kind, e.Payload)
		if err != nil {
			t.Errorf("registry event seq %d: %v", e.Seq, err)
			continue
		}
		if p.EventKind() != e.Kind {
			t.Errorf("registry event seq %d: got payload of kind %s, want %s", e.Seq, p.EventKind(), e.Kind)
		}
		again, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		if !sameJSON(t, again, e.Payload) {
			t.Errorf("registry event seq %d (%s): payload %s does not survive decoding into %T: got %s", e.Seq, e.Kind, e.Payload, p, again)
		}
		switch p := p.(type) {
		case protocol.DrawerAlarmPayload:
			drawerStates["alarm:"+p.State]++
		case protocol.DrawerEventPayload:
			drawerStates[p.State]++
		}
	}
	for _, k := range protocol.EventKinds() {
		if kinds[k.Kind] == 0 {
			t.Errorf("registry has no %s event", k.Kind)
		}
	}
	for k := range kinds {
		if _, ok := protocol.LookupKind(k); !ok {
			t.Errorf("the station sent kind %q, which is not in protocol.EventKinds", k)
		}
	}
	for _, state := range []string{"alarm:open", "closed", "fault", "recovered"} {
		if drawerStates[state] == 0 {
			t.Errorf("registry has no drawer event %s (has %v)", state, drawerStates)
		}
	}
	res, err := s.st.VerifyAudit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var cp protocol.AuditCheckpointPayload
	for _, e := range events {
		if e.Kind == protocol.KindAuditCheckpoint {
			_ = json.Unmarshal(e.Payload, &cp)
		}
	}
	if cp.Seq != res.Entries || cp.Hash != res.Head {
		t.Errorf("audit checkpoint = %d/%s, want %d/%s", cp.Seq, cp.Hash, res.Entries, res.Head)
	}

	// Reference data, every kind.
	checks := []struct {
		name string
		q    string
		want int
	}{
		{"AD-1/authorised administrators", `SELECT count(*) FROM operators WHERE authorised = 1`, 3},
		{"AD-1/unauthorised administrator kept but not authorised", `SELECT count(*) FROM operators WHERE authorised = 0`, 1},
		{"RC-1/forgotten 10 days", `SELECT max_days FROM ref_validity WHERE reason = 'forgotten'`, 10},
		{"RC-1/temporary assignment 100 days", `SELECT max_days FROM ref_validity WHERE reason = 'temporary_assignment'`, 100},
		{"RC-1/stolen 30 days", `SELECT max_days FROM ref_validity WHERE reason = 'stolen'`, 30},
		// The seed's four people with orders or cards here, the holder of
		// its reserve card to extend, and the new reserve card holder.
		{"RC-4/person facts incl. the new reserve card holder", `SELECT count(*) FROM ref_person_facts`, 6},
		{"shipments to this station", `SELECT count(*) FROM ref_shipments WHERE shipment_ref = 'SHIP-0001'`, 10},
		{"RE-2/receipt received", `SELECT receipt_received FROM ref_card_status WHERE serial = 'RK-1'`, 1},
		{"RC-6/returned card", `SELECT count(*) FROM ref_card_status WHERE serial = 'RK-2' AND state = 'returned'`, 1},
		{"BL-1/block request reached the blocked list", `SELECT count(*) FROM ref_blocked_cards WHERE serial = 'RK-3'`, 1},
		{"BL-1/blocked card status", `SELECT count(*) FROM ref_card_status WHERE serial = 'RK-3' AND state = 'blocked'`, 1},
	}
	for _, c := range checks {
		if got := s.count(c.q); got != c.want {
			t.Errorf("%s: got %d, want %d", c.name, got, c.want)
		}
	}
	facts, err := s.st.PersonFacts(ctx, pnr)
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(facts) || !strings.Contains(string(facts), "RK-1") {
		t.Errorf("RC-4: person facts %s do not list reserve card RK-1", facts)
	}

	// Central decisions and changes reach the station on the next sync.
	if err := reg.Server.Decide(ctx, "iss-1", true); err != nil {
		t.Fatal(err)
	}
	if err := reg.Server.Decide(ctx, "iss-3", false); err != nil {
		t.Fatal(err)
	}
	if err := reg.Server.Decide(ctx, "iss-1", false); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("deciding twice: got %v, want ErrNotFound", err)
	}
	start := time.Now().UTC().Truncate(time.Minute).Add(time.Hour)
	if _, err := reg.Server.AddStopWindow(ctx, protocol.TotalStop, start, start.Add(2*time.Hour), "maintenance"); err != nil {
		t.Fatal(err)
	}
	if err := reg.Server.SetOperator(ctx, "SE2321000131-P000000023456", "Bertil Behörig", false); err != nil {
		t.Fatal(err)
	}
	if err := reg.Server.SetValidity(ctx, "forgotten", 30); err != nil {
		t.Fatal(err)
	}
	if err := reg.Server.DeletePersonFacts(ctx, registry.TestPersonalNumber("19900707", 789)); err != nil {
		t.Fatal(err)
	}
	if err := reg.Server.BlockCard(ctx, "RK-9", "employment_ended"); err != nil {
		t.Fatal(err)
	}
	mustOnce(t, s)
	checks = []struct {
		name string
		q    string
		want int
	}{
		{"CP-1/approved", `SELECT count(*) FROM ref_card_status WHERE serial = 'RK-1' AND state = 'approved'`, 1},
		{"CP-1/rejected", `SELECT count(*) FROM ref_card_status WHERE serial = 'RK-2' AND state = 'rejected'`, 1},
		{"CP-3/total stop window", `SELECT count(*) FROM ref_stop_windows WHERE kind = 'total_stop'`, 1},
		{"AD-1/deauthorised", `SELECT count(*) FROM operators WHERE authorised = 1`, 2},
		{"RC-1/flat 30 days", `SELECT max_days FROM ref_validity WHERE reason = 'forgotten'`, 30},
		{"person deleted", `SELECT count(*) FROM ref_person_facts`, 5},
		{"BL-1/blocked centrally", `SELECT count(*) FROM ref_blocked_cards`, 2},
	}
	for _, c := range checks {
		if got := s.count(c.q); got != c.want {
			t.Errorf("%s: got %d, want %d", c.name, got, c.want)
		}
	}
	stops, err := s.st.StopWindows(ctx)
	if err != nil || len(stops) != 1 || !stops[0].Start.Equal(start) || !stops[0].Contains(start.Add(time.Minute)) {
		t.Errorf("CP-3: active stops at start+1m = %v, %v; want the window starting %s", stops, err, start)
	}

	st, err := s.cli.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.LastError != "" || st.LastSuccess.IsZero() || st.OutboxDepth != 0 || len(st.Stale) != 0 {
		t.Errorf("status = %+v, want success, empty outbox, nothing stale", st)
	}
	stations, err := reg.Server.Stations(ctx)
	if err != nil || len(stations) != 1 || stations[0].Status.Version != "test" || len(stations[0].Status.DataAgeSeconds) != len(protocol.RefKinds) {
		t.Errorf("registry's view of the station = %+v, %v", stations, err)
	}
}

// sameJSON reports whether a and b are the same JSON value.
func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	var va, vb any
	if err := json.Unmarshal(a, &va); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &vb); err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(va, vb)
}

func contains(s, sub string) bool {
	return len(s) >= len(sub) && (s == sub || len(sub) == 0 || indexOf(s, sub) >= 0)
}

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

// TestPullPagesAndCursorTooOld pages through person facts in small pages
// and resyncs in full after the registry compacted away the cursor.
func TestPullPagesAndCursorTooOld(t *testing.T) {
	ctx := context.Background()
	reg := registrytest.Start(t)
	for i := 0; i < 25; i++ {
		if err := reg.Server.SetPersonFacts(ctx, registry.TestPersonalNumber("19700101", i), json.RawMessage(`{"orders":[{"type":"reserve","station":"ST-P"}]}`)); err != nil {
			t.Fatal(err)
		}
	}
	s := newStation(t, reg.Identity(t, "ST-P"), reg.URL, func(c *reconcile.Config) { c.PageLimit = 4 })
	mustOnce(t, s)
	if got := s.count(`SELECT count(*) FROM ref_person_facts`); got != 25 {
		t.Fatalf("after paged pull: %d persons, want 25", got)
	}
	// Delete two persons and compact: tombstones are gone, so the station's
	// cursor is too old and it must resync in full to notice the deletions.
	_ = reg.Server.DeletePersonFacts(ctx, registry.TestPersonalNumber("19700101", 0))
	_ = reg.Server.DeletePersonFacts(ctx, registry.TestPersonalNumber("19700101", 1))
	if err := reg.Server.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	_ = reg.Server.SetPersonFacts(ctx, registry.TestPersonalNumber("19700101", 2), json.RawMessage(`{"orders":[{"type":"reserve","station":"ST-P"}]}`))
	var before string
	_ = s.st.Reader().QueryRow(`SELECT cursor FROM ref_cursors WHERE kind = 'person_facts'`).Scan(&before)
	mustOnce(t, s)
	if got := s.count(`SELECT count(*) FROM ref_person_facts`); got != 23 {
		t.Errorf("after full resync: %d persons, want 23", got)
	}
	if got := s.count(`SELECT count(*) FROM ref_cursors WHERE resyncing = 1`); got != 0 {
		t.Errorf("%d kinds still marked resyncing", got)
	}
	if err := refdata.Fresh(ctx, s.st, protocol.RefPersonFacts, time.Hour, s.clk.Now()); err != nil {
		t.Errorf("after resync: %v", err)
	}
}
