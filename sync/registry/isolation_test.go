package registry_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/kortstation/kortstation/sync/protocol"
	"github.com/kortstation/kortstation/sync/registry"
	"github.com/kortstation/kortstation/sync/registrytest"
)

// TestStationsSeeOnlyTheirOwnStockAndCards: shipments and card states are
// per station; administrators and blocks are shared (person facts go to
// the stations of their people: TestPersonFactsScopedToStation).
func TestStationsSeeOnlyTheirOwnStockAndCards(t *testing.T) {
	ctx := context.Background()
	srv, err := registry.Open(ctx, registrytest.On(t, registry.Config{DataDir: t.TempDir()}))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	for _, st := range []string{"A", "B"} {
		if err := srv.AddStation(ctx, st, ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := srv.SetOperator(ctx, "SE2321000131-P000000012345", "Anna Administratör", true); err != nil {
		t.Fatal(err)
	}
	if err := srv.Ship(ctx, "A", "S1", "reserve", "RK-A1", "RK-A2"); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Store(ctx, "A", []protocol.Event{{Seq: 1, ID: "6f1c8a57-2b53-4a43-9a3e-0d8e4c1f2a11", Kind: protocol.KindIssuance,
		Payload: json.RawMessage(`{"issuance_id":"i","card_serial":"RK-A1","operator":"SE2321000131-P000000012345"}`)}}); err != nil {
		t.Fatal(err)
	}
	all := map[string]string{}
	for _, k := range protocol.RefKinds {
		all[k] = ""
	}
	count := func(station, kind string) int {
		resp, err := srv.Pull(ctx, station, all, 0)
		if err != nil {
			t.Fatal(err)
		}
		var items []json.RawMessage
		if p := resp.Pages[kind]; len(p.Items) > 0 {
			if err := json.Unmarshal(p.Items, &items); err != nil {
				t.Fatal(err)
			}
		}
		return len(items)
	}
	for _, c := range []struct {
		station, kind string
		want          int
	}{
		{"A", protocol.RefShipments, 2}, {"B", protocol.RefShipments, 0},
		{"A", protocol.RefCardStatus, 1}, {"B", protocol.RefCardStatus, 0},
	} {
		if got := count(c.station, c.kind); got != c.want {
			t.Errorf("station %s sees %d %s, want %d", c.station, got, c.kind, c.want)
		}
	}
	for _, bad := range []error{
		srv.SetValidity(ctx, "forgotten", 0),
		srv.SetOperator(ctx, "not-an-hsa-id", "X", true),
		srv.SetPersonFacts(ctx, "123", json.RawMessage(`{}`)),
		srv.AddStation(ctx, "bad id with spaces", ""),
	} {
		if bad == nil {
			t.Error("bad input accepted")
		}
	}
}
