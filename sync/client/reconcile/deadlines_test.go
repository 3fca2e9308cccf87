package reconcile_test

import (
	"context"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/kortstation/kortstation/kiosk/rules"
	"github.com/kortstation/kortstation/kiosk/rules/calendar"
	"github.com/kortstation/kortstation/sync/protocol"
	"github.com/kortstation/kortstation/sync/registry"
	"github.com/kortstation/kortstation/sync/registrytest"
)

// TestRE2OverdueReceiptBlocksCardAtStation: the registry's scheduled jobs,
// in fake time, block a reserve card whose receipt has not arrived 7 days
// after activation (RE-2: on time during the 7th day, late from 00:00 the
// day after); the station shows it blocked, with the reason, after its
// next sync. A card whose receipt came in time stays as it was.
func TestRE2OverdueReceiptBlocksCardAtStation(t *testing.T) {
	ctx := context.Background()
	activated := calendar.NewDate(2026, 11, 2).At(10, 0) // central approval
	fc := clockwork.NewFakeClockAt(activated.Add(-time.Hour))
	const every = 10 * time.Minute
	reg := registrytest.NewWith(t, t.TempDir(), func(c *registry.Config) { c.Clock, c.JobEvery, c.MailEvery = fc, every, every })
	reg.Serve(t)
	if err := reg.Server.Seed(ctx, ""); err != nil {
		t.Fatal(err)
	}
	st := newStation(t, reg.Identity(t, "ST-A"), reg.URL, nil)
	if err := reg.Server.Ship(ctx, "ST-A", "SHIP-A", "reserve", "RK-LATE", "RK-ONTIME"); err != nil {
		t.Fatal(err)
	}
	st.clk.Set(activated.Add(-time.Hour))
	for i, serial := range []string{"RK-LATE", "RK-ONTIME"} {
		st.enqueue(protocol.IssuancePayload{IssuanceID: "iss-" + serial, CardSerial: serial, CardType: "reserve",
			PersonalNumber: registry.TestPersonalNumber("19850505", 321+i), Reason: "forgotten",
			ValidUntil: activated.AddDate(0, 0, 10), Operator: authorisedOp})
	}
	mustOnce(t, st)
	fc.Advance(time.Hour)
	for _, serial := range []string{"RK-LATE", "RK-ONTIME"} {
		if err := reg.Server.Decide(ctx, "iss-"+serial, true); err != nil {
			t.Fatal(err)
		}
	}
	jobs, err := reg.Server.StartJobs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = jobs.Stop() })

	// Day 6: the on-time card's receipt arrives.
	st.clk.Set(activated.AddDate(0, 0, 6))
	st.enqueue(protocol.ReceiptPayload{ReceiptID: "r-1", IssuanceID: "iss-RK-ONTIME", CardSerial: "RK-ONTIME"})
	mustOnce(t, st)

	runs := func() int64 {
		rs, err := reg.Server.JobRuns(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			if r.Job == "deadlines" {
				return r.Runs
			}
		}
		return 0
	}
	// advanceTo lets fake time pass to at and waits for a deadline run
	// there.
	advanceTo := func(at time.Time) {
		t.Helper()
		fc.Advance(at.Sub(fc.Now()))
		r0 := runs()
		until := time.Now().Add(20 * time.Second)
		for runs() <= r0 {
			if time.Now().After(until) {
				t.Fatalf("no deadline run at %s", fc.Now())
			}
			fc.Advance(time.Second)
			time.Sleep(5 * time.Millisecond)
		}
	}
	blockedAtStation := func(serial string) (string, bool) {
		t.Helper()
		b, err := st.st.Blocked(ctx, serial)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) == 0 {
			return "", false
		}
		return b[0].Reason, true
	}

	// 7 days after activation, still the 7th day: on time.
	advanceTo(activated.AddDate(0, 0, 7))
	mustOnce(t, st)
	if _, blocked := blockedAtStation("RK-LATE"); blocked {
		t.Fatal("RE-2: blocked during the 7th day after activation")
	}

	// 00:00 on the 8th day: late. Blocked at the registry, and at the
	// station after its next sync.
	advanceTo(calendar.NewDate(2026, 11, 10).Start().Add(every))
	blocks, err := reg.Server.DeadlineBlocks(ctx)
	if err != nil || len(blocks) != 1 || blocks[0].CardSerial != "RK-LATE" || blocks[0].Station != "ST-A" ||
		!blocks[0].Deadline.Equal(calendar.NewDate(2026, 11, 10).Start()) {
		t.Fatalf("RE-2 blocks at the registry: %+v, %v; want RK-LATE with the deadline 2026-11-10 00:00", blocks, err)
	}
	if reason, blocked := blockedAtStation("RK-LATE"); blocked {
		t.Fatalf("RE-2: the station knew of the block (%s) before it synced", reason)
	}
	mustOnce(t, st)
	if reason, blocked := blockedAtStation("RK-LATE"); !blocked || reason != string(rules.BlockReceiptOverdue) {
		t.Errorf("RE-2 at the station after its sync: blocked %v, reason %q; want blocked, %q", blocked, reason, rules.BlockReceiptOverdue)
	}
	if n := st.count(`SELECT count(*) FROM ref_card_status WHERE serial = 'RK-LATE' AND state = 'blocked'`); n != 1 {
		t.Errorf("RE-2: the station's card status of RK-LATE is not blocked")
	}
	if _, blocked := blockedAtStation("RK-ONTIME"); blocked {
		t.Error("RE-2: the card whose receipt came in time was blocked")
	}
	if n := st.count(`SELECT count(*) FROM ref_card_status WHERE serial = 'RK-ONTIME' AND state = 'approved' AND receipt_received = 1`); n != 1 {
		t.Error("RE-2: the on-time card is not approved with its receipt at the station")
	}

	// More runs block nothing more, and the late receipt does not undo
	// the block.
	st.enqueue(protocol.ReceiptPayload{ReceiptID: "r-2", IssuanceID: "iss-RK-LATE", CardSerial: "RK-LATE"})
	mustOnce(t, st)
	advanceTo(fc.Now().Add(24 * time.Hour))
	if blocks, _ := reg.Server.DeadlineBlocks(ctx); len(blocks) != 1 {
		t.Errorf("RE-2 reruns: %d blocks, want 1", len(blocks))
	}
	mustOnce(t, st)
	if _, blocked := blockedAtStation("RK-LATE"); !blocked {
		t.Error("RE-2: a late receipt lifted the block")
	}
}
