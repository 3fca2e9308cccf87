package counter

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kortstation/kortstation/kiosk/devseed"
	"github.com/kortstation/kortstation/kiosk/store"
	"github.com/kortstation/kortstation/sync/protocol"
)

// setStops applies the registry's stop windows as a pull would.
func (c *counter) setStops(ws ...protocol.StopWindow) {
	c.t.Helper()
	if err := c.st.Update(context.Background(), c.clock, func(t *store.Tx) error {
		return t.ReplaceStopWindows(context.Background(), ws)
	}); err != nil {
		c.t.Fatal(err)
	}
}

// TestCP3TotalStopRefusedAtEveryIssuingStart: during a total stop the
// station starts no issue, extension or pickup (CP-3); returns and blocks
// go on; an order stop does not stop reserve cards; a window announced
// ahead stops nothing before its start.
func TestCP3TotalStopRefusedAtEveryIssuingStart(t *testing.T) {
	c := newCounter(t)
	c.login()
	now := c.clock.Now()
	c.setStops(protocol.StopWindow{ID: "w1", Kind: protocol.TotalStop, Starts: now.Add(time.Hour).Truncate(time.Minute), Ends: now.Add(3 * time.Hour).Truncate(time.Minute)},
		protocol.StopWindow{ID: "w2", Kind: protocol.OrderStop, Starts: now.Add(-time.Hour).Truncate(time.Minute), Ends: now.Add(5 * time.Hour).Truncate(time.Minute)})
	if err := c.call("flow.start", map[string]Kind{"kind": KindIssue}); err != nil {
		t.Fatalf("CP-3: issuing before an announced total stop (in an order stop): %v", err)
	}
	_ = c.step("close", nil)
	// The stop begins (the registry's windows as pulled: now in force).
	c.setStops(protocol.StopWindow{ID: "w1", Kind: protocol.TotalStop, Starts: now.Add(-time.Hour).Truncate(time.Minute), Ends: now.Add(time.Hour).Truncate(time.Minute)})
	for _, k := range []Kind{KindIssue, KindExtend, KindPickup} {
		err := c.call("flow.start", map[string]Kind{"kind": k})
		if rulesOf(err) != "CP-3" {
			t.Errorf("CP-3: %s started in a total stop: %v", k, err)
		}
		_ = c.step("close", nil)
	}
	for _, k := range []Kind{KindReturn, KindBlock} {
		if err := c.call("flow.start", map[string]Kind{"kind": k}); err != nil {
			t.Errorf("CP-3: %s refused in a total stop: %v", k, err)
		}
		_ = c.step("close", nil)
	}
}

// TestCP3TotalStopBeginningMidFlowStopsTheCard: a total stop that begins
// while a reserve card is being issued stops it at completion (CP-3):
// nothing is stored or sent.
func TestCP3TotalStopBeginningMidFlowStopsTheCard(t *testing.T) {
	c := newCounter(t)
	c.login()
	c.issueUpToCard(devseed.Lost)
	c.insert(1, devseed.ReserveInStock[0])
	c.waitView(func(v View) bool { return v.Flow != nil && v.Flow.Step == "preview" })
	now := c.clock.Now()
	c.setStops(protocol.StopWindow{ID: "w1", Kind: protocol.TotalStop, Starts: now.Truncate(time.Minute), Ends: now.Add(2 * time.Hour).Truncate(time.Minute)})
	c.clock.Advance(time.Minute)
	err := c.step("confirm", nil)
	if err == nil {
		sig := SignatureInput{AspectRatio: 3, Strokes: [][]receiptPoint{{{X: .1, Y: .1}, {X: .2, Y: .5}, {X: .3, Y: .2}, {X: .4, Y: .6}, {X: .5, Y: .3}}}}
		for _, k := range []string{"recipient", "administrator"} {
			sig.Key = k
			if err := c.step("sign", sig); err != nil {
				t.Fatal(err)
			}
		}
		err = c.step("complete", nil)
	}
	if rulesOf(err) != "CP-3" && !strings.Contains(rulesOf(err), "CP-3") {
		t.Fatalf("CP-3: a total stop beginning mid-flow: %v", err)
	}
	var n int
	if err := c.st.Reader().QueryRow(`SELECT count(*) FROM outbox WHERE kind IN ('issuance', 'receipt')`).Scan(&n); err != nil || n != 0 {
		t.Errorf("CP-3: %d issuance events queued in a total stop (%v)", n, err)
	}
}
