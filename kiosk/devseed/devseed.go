// Package devseed fills an empty development station with made-up
// reference data, so that every flow can be tried on `make run` before the
// station has synced with a registry: the dev operators as authorised
// administrators (AD-1), the RC-1 validity table, persons with cards and
// orders, and a stock of reserve cards and ordered cards matching the dev
// panel's test cards. It never runs on real hardware and never touches a
// station that already has operators.
package devseed

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/kortstation/kortstation/hw/cardreader/vcard"
	"github.com/kortstation/kortstation/kiosk/audit"
	"github.com/kortstation/kortstation/kiosk/clock"
	"github.com/kortstation/kortstation/kiosk/rules"
	"github.com/kortstation/kortstation/kiosk/rules/calendar"
	"github.com/kortstation/kortstation/kiosk/rules/ident"
	"github.com/kortstation/kortstation/kiosk/store"
	"github.com/kortstation/kortstation/sync/protocol"
)

// Reserve cards of the dev station: the first three are in the drawer, the
// last two are shipped and wait to be received.
var (
	ReserveInStock = []string{"9752269900000000101", "9752269900000000102", "9752269900000000103"}
	ReserveShipped = []string{"9752269900000000104", "9752269900000000105"}
	// OrderedCard waits for its holder (pickup); ExpiredCard's pickup
	// deadline has passed (CP-4).
	OrderedCard = "9752269900000000201"
	ExpiredCard = "9752269900000000202"
	// ExtendCard is a reserve card this station handed out to Extender
	// three days ago (forgotten card, 10 days), activated since: it can be
	// extended once (RC-5). sync/registry.SeedExtendCard is the same card.
	ExtendCard = "9752269900000000301"
	// OldCard is Ordered's current regular card, handed in when they pick
	// up OrderedCard (seed 003).
	OldCard = "9752269000000000105"
)

// BlankCards are the serials the dev panel needs as blank test cards
// beyond vcard.DevProfiles.
func BlankCards() []vcard.Profile {
	var out []vcard.Profile
	have := map[string]bool{}
	for _, p := range vcard.DevProfiles() {
		have[p.Serial] = true
	}
	for _, s := range append(append(append([]string{}, ReserveInStock...), ReserveShipped...), OrderedCard, ExpiredCard, ExtendCard) {
		if !have[s] {
			out = append(out, vcard.Profile{Serial: s, PIN: "0000"})
		}
	}
	return out
}

// PersonalNumber makes a valid personal number YYYYMMDD-NNNC from a birth
// date and a three-digit serial, with its Luhn digit (ID-5).
func PersonalNumber(birth string, serial int) string {
	s := fmt.Sprintf("%s%03d", birth, serial)
	digits := make([]int, 0, 9)
	for _, c := range s[2:] {
		digits = append(digits, int(c-'0'))
	}
	return s[:8] + "-" + s[8:] + strconv.Itoa(ident.Luhn(digits))
}

// The dev persons.
var (
	// Lost: lost their regular card; a new one is ordered (RC-2, RC-3).
	Lost = PersonalNumber("19800101", 234)
	// Forgot: holds an active regular card.
	Forgot = PersonalNumber("19121212", 121)
	// Assigned: has a reserve-card order for a temporary assignment.
	Assigned = PersonalNumber("19750315", 456)
	// Ordered: picks up the ordered card OrderedCard.
	Ordered = PersonalNumber("19900707", 789)
	// Late: did not pick up ExpiredCard in time.
	Late = PersonalNumber("19850505", 111)
	// Extender: holds an active regular card, forgot it, and has the
	// reserve card ExtendCard from this station (RC-5).
	Extender = PersonalNumber("19700202", 333)
	// ExtenderName is Extender's name as the station recorded it.
	ExtenderName = "Eva Förlängd"
)

func digitsOnly(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			out = append(out, s[i])
		}
	}
	return string(out)
}

// Seed fills the reference tables if the station has no operators yet,
// and reports whether it did.
func Seed(ctx context.Context, st *store.Store, c clock.Clock) (bool, error) {
	has, err := st.HasOperators(ctx)
	if err != nil {
		return false, fmt.Errorf("devseed: %w", err)
	}
	if has {
		return false, nil
	}
	now := c.Now()
	today := calendar.DateOf(now)
	extendFrom := today.AddDays(-3)
	var operators []protocol.Operator
	for _, p := range vcard.DevProfiles() {
		if p.HSAID == "" {
			continue
		}
		// The attestor is no administrator (AT-1).
		operators = append(operators, protocol.Operator{HSAID: p.HSAID, Name: p.CommonName, Authorised: p.CommonName != "Test Intygsgivare"})
	}
	var validity []protocol.Validity
	for r, d := range rules.DefaultValidityTable() {
		validity = append(validity, protocol.Validity{Reason: string(r), MaxDays: d})
	}
	facts := []struct {
		pnr string
		f   map[string]any
	}{
		{Lost, map[string]any{"regular_cards": []any{map[string]any{"serial": "9752269000000000102", "state": "lost"}},
			"orders": []any{map[string]any{"id": "ORD-LOST", "type": "regular", "ordered": today.AddDays(-3).String()}}}},
		{Forgot, map[string]any{"regular_cards": []any{map[string]any{"serial": "9752269000000000101", "state": "active"}}}},
		{Assigned, map[string]any{"orders": []any{map[string]any{"id": "ORD-RES", "type": "reserve", "ordered": today.AddDays(-7).String()}}}},
		{Ordered, map[string]any{"regular_cards": []any{map[string]any{"serial": OldCard, "state": "active"}}, "orders": []any{map[string]any{"id": "ORD-PICK", "type": "regular", "card_type": "sis",
			"ordered": today.AddDays(-14).String(), "card_serial": OrderedCard, "pickup_deadline": today.AddDays(30).String()}}}},
		{Extender, map[string]any{"regular_cards": []any{map[string]any{"serial": "9752269000000000103", "state": "active"}},
			"reserve_cards": []any{map[string]any{"serial": ExtendCard, "reason": "forgotten", "station": "local-station", "state": "activated",
				"valid_until": extendFrom.AddDays(10).Start().UTC().Format(time.RFC3339)}}}},
		{Late, map[string]any{"orders": []any{map[string]any{"id": "ORD-LATE", "type": "regular", "card_type": "sis",
			"ordered": today.AddDays(-90).String(), "card_serial": ExpiredCard, "pickup_deadline": today.AddDays(-2).String()}}}},
	}
	var people []protocol.PersonFacts
	for _, p := range facts {
		b, err := json.Marshal(p.f)
		if err != nil {
			return false, fmt.Errorf("devseed: %w", err)
		}
		people = append(people, protocol.PersonFacts{PersonalNumber: digitsOnly(p.pnr), Facts: b})
	}
	var shipped []protocol.Shipment
	for _, s := range append(append([]string{}, ReserveInStock...), ReserveShipped...) {
		shipped = append(shipped, protocol.Shipment{Serial: s, CardType: "reserve", ShipmentRef: "DEV-SHIP-1", ShippedAt: now})
	}
	var stock []store.DevStockCard
	for _, s := range ReserveInStock {
		stock = append(stock, store.DevStockCard{Serial: s, Type: rules.CardReserve})
	}
	stock = append(stock,
		store.DevStockCard{Serial: OrderedCard, Type: rules.CardSIS, PickupDeadline: today.AddDays(30).String()},
		store.DevStockCard{Serial: ExpiredCard, Type: rules.CardSIS, PickupDeadline: today.AddDays(-2).String()})
	err = st.Update(ctx, c, func(t *store.Tx) error {
		if err := t.ReplaceOperators(ctx, operators, now); err != nil {
			return fmt.Errorf("devseed: %w", err)
		}
		if err := t.ReplaceValidity(ctx, validity); err != nil {
			return fmt.Errorf("devseed: %w", err)
		}
		if err := t.PutPersonFacts(ctx, false, people, now); err != nil {
			return fmt.Errorf("devseed: %w", err)
		}
		if err := t.PutShipments(ctx, false, shipped); err != nil {
			return fmt.Errorf("devseed: %w", err)
		}
		if err := t.SeedStockCards(ctx, stock, now); err != nil {
			return fmt.Errorf("devseed: %w", err)
		}
		_, err := t.Audit(ctx, audit.Entry{Kind: "devseed", Actor: "station", Subject: "reference data",
			Detail: map[string]any{"note": "made-up reference data for the development station"}})
		return err
	})
	if err != nil {
		return false, err
	}
	return true, nil
}

// SeedHistory records what the development station did before `make run`
// started: the reserve card ExtendCard handed out to Extender three days
// before c's today (forgotten card, 10 days) by the first dev operator,
// and activated since, so that an extension (RC-5) can be tried. Call it
// once, after Seed seeded (the tests of the flows start without it).
func SeedHistory(ctx context.Context, st *store.Store, c clock.Clock) error {
	pnr, err := ident.ParsePersonalNumber(Extender)
	if err != nil {
		return fmt.Errorf("devseed: %w", err)
	}
	issuer := ""
	for _, p := range vcard.DevProfiles() {
		if p.HSAID != "" && p.CommonName != "Test Intygsgivare" && issuer == "" {
			issuer = p.HSAID
		}
	}
	if issuer == "" {
		return fmt.Errorf("devseed: no dev operator")
	}
	from := calendar.DateOf(c.Now()).AddDays(-3)
	issued := store.DevIssuedReserve{Serial: ExtendCard, Recipient: rules.Recipient{Person: rules.Person{PersonalNumber: pnr}, Name: ExtenderName},
		Reason: rules.ReasonForgotten, ValidFrom: from.At(10, 0), ValidUntil: from.AddDays(10).Start(), Operator: issuer}
	if err := st.Update(ctx, c, func(t *store.Tx) error { return t.SeedIssuedReserve(ctx, issued) }); err != nil {
		return fmt.Errorf("devseed: %w", err)
	}
	return nil
}
