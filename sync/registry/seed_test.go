package registry_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/kortstation/kortstation/sync/protocol"
	"github.com/kortstation/kortstation/sync/registry"
	"github.com/kortstation/kortstation/sync/registrytest"
)

// TestSeedCP4OrderedCardsReadyAndPastTheirDeadline: the demonstration
// data has an ordinary card ready for pickup at the station (deadline two
// weeks ahead) and one past its pickup deadline (CP-4), each in an order
// of a seeded person.
func TestSeedCP4OrderedCardsReadyAndPastTheirDeadline(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	srv, err := registry.Open(ctx, registrytest.On(t, registry.Config{DataDir: t.TempDir(), Now: func() time.Time { return now }}))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if err := srv.Seed(ctx, "ST-1"); err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Pull(ctx, "ST-1", map[string]string{protocol.RefPersonFacts: ""}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var persons []protocol.PersonFacts
	if err := json.Unmarshal(resp.Pages[protocol.RefPersonFacts].Items, &persons); err != nil {
		t.Fatal(err)
	}
	type order struct {
		ID, Type, CardType, CardSerial, PickupDeadline, Ordered string
	}
	orders := map[string]struct {
		pnr string
		o   order
	}{}
	for _, p := range persons {
		var f struct {
			Orders []struct {
				ID             string `json:"id"`
				Type           string `json:"type"`
				CardType       string `json:"card_type"`
				CardSerial     string `json:"card_serial"`
				PickupDeadline string `json:"pickup_deadline"`
				Ordered        string `json:"ordered"`
			} `json:"orders"`
		}
		if err := json.Unmarshal(p.Facts, &f); err != nil {
			t.Fatal(err)
		}
		for _, o := range f.Orders {
			if o.CardSerial != "" {
				orders[o.CardSerial] = struct {
					pnr string
					o   order
				}{p.PersonalNumber, order(o)}
			}
		}
	}
	for _, tc := range []struct {
		name, serial, pnr, deadline string
	}{
		{"ID-3/ready for pickup", registry.SeedOrderedCard, registry.TestPersonalNumber("19900707", 789), "2026-12-07"},
		{"CP-4/pickup deadline passed", registry.SeedExpiredCard, registry.TestPersonalNumber("19121212", 121), "2026-11-18"},
	} {
		got, ok := orders[tc.serial]
		switch {
		case !ok:
			t.Errorf("%s: no order names card %s", tc.name, tc.serial)
		case got.pnr != tc.pnr || got.o.Type != "regular" || got.o.CardType != "sis" || got.o.PickupDeadline != tc.deadline || got.o.ID == "":
			t.Errorf("%s: order %+v of %s, want a regular sis order of %s with pickup deadline %s", tc.name, got.o, got.pnr, tc.pnr, tc.deadline)
		}
		if o, err := time.Parse(time.DateOnly, got.o.Ordered); err != nil || !o.Before(now) {
			t.Errorf("%s: ordered %q, want a date before now", tc.name, got.o.Ordered)
		}
	}
}

// TestStoreKeepsNotificationEventsRE5: a station's notification requests
// (RE-5) are stored like every other event kind.
func TestStoreKeepsNotificationEventsRE5(t *testing.T) {
	ctx := context.Background()
	srv, err := registry.Open(ctx, registrytest.On(t, registry.Config{DataDir: t.TempDir()}))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if err := srv.AddStation(ctx, "ST-1", ""); err != nil {
		t.Fatal(err)
	}
	acks, err := srv.Store(ctx, "ST-1", []protocol.Event{{Seq: 1, ID: uuid.NewString(), Kind: "notification",
		Payload: json.RawMessage(`{"event":"issued","role":"attestor","hsa_id":"SE2321000131-P000000000021","issuance_id":"i1","key":"notify.issued"}`)}})
	if err != nil || len(acks) != 1 || acks[0].Result != protocol.AckStored {
		t.Fatalf("acks = %+v, %v; want stored", acks, err)
	}
	evs, err := srv.Events(ctx, "ST-1")
	if err != nil || len(evs) != 1 || evs[0].Kind != "notification" {
		t.Fatalf("events = %+v, %v", evs, err)
	}
}

// TestSeedLeavesTypedAttestorsOff: the demonstration data (`make run`)
// sets no station policy, so the station pulls the fail-closed default:
// exactly one policy, typed-in attestors not allowed (AT-1).
func TestSeedLeavesTypedAttestorsOff(t *testing.T) {
	ctx := context.Background()
	srv, err := registry.Open(ctx, registrytest.On(t, registry.Config{DataDir: t.TempDir()}))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if err := srv.Seed(ctx, "ST-1"); err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Pull(ctx, "ST-1", map[string]string{protocol.RefStationPolicy: ""}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []protocol.StationPolicy
	if err := json.Unmarshal(resp.Pages[protocol.RefStationPolicy].Items, &got); err != nil {
		t.Fatal(err)
	}
	if want := []protocol.StationPolicy{{TypedAttestors: false}}; len(got) != 1 || got[0] != want[0] {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

// TestSeedOldCardHandedInIsBlockedBL2: the demonstration data's pickup
// person holds an old card; when the station reports it handed in at the
// pickup (a block request, BL-2), the registry blocks it: it is a card of
// one of the station's people, not held for review.
func TestSeedOldCardHandedInIsBlockedBL2(t *testing.T) {
	ctx := context.Background()
	srv, err := registry.Open(ctx, registry.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if err := srv.Seed(ctx, "ST-1"); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(protocol.BlockRequestPayload{CardSerial: registry.SeedOldCard, Reason: "handed_in", Operator: "SE2321000131-P000000012345"})
	acks, err := srv.Store(ctx, "ST-1", []protocol.Event{{Seq: 1, ID: uuid.NewString(), Kind: protocol.KindBlockRequest, Payload: b, CreatedAt: time.Now()}})
	if err != nil || len(acks) != 1 || acks[0].Result != protocol.AckStored {
		t.Fatalf("store: %v %v", acks, err)
	}
	items, err := srv.ReviewItems(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 0 {
		t.Errorf("the block request of the handed-in card was held: %+v", items)
	}
	resp, err := srv.Pull(ctx, "ST-1", map[string]string{protocol.RefBlockedCards: ""}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var blocked []protocol.BlockedCard
	if p := resp.Pages[protocol.RefBlockedCards]; len(p.Items) > 0 {
		if err := json.Unmarshal(p.Items, &blocked); err != nil {
			t.Fatal(err)
		}
	}
	found := false
	for _, c := range blocked {
		found = found || c.Serial == registry.SeedOldCard
	}
	if !found {
		t.Errorf("blocked cards = %+v, want %s", blocked, registry.SeedOldCard)
	}
}
