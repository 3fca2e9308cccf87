package registry

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"time"

	"github.com/kortstation/kortstation/sync/protocol"
)

// DefaultValidity is the reason → maximum validity table of DOMAIN RC-1.
var DefaultValidity = []protocol.Validity{
	{Reason: "forgotten", MaxDays: 10},
	{Reason: "stolen", MaxDays: 30},
	{Reason: "lost", MaxDays: 30},
	{Reason: "broken", MaxDays: 30},
	{Reason: "damaged", MaxDays: 30},
	{Reason: "waiting_for_new_card", MaxDays: 30},
	{Reason: "temporary_assignment", MaxDays: 100},
}

// luhn returns the check digit for the nine digits YYMMDDNNN.
func luhn(nine string) int {
	sum := 0
	for i, r := range nine {
		d := int(r - '0')
		if i%2 == 0 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return (10 - sum%10) % 10
}

// TestPersonalNumber makes a canonical 12-digit personal number with a
// valid check digit from a birth date and a three-digit serial.
func TestPersonalNumber(birth string, serial int) string {
	s := fmt.Sprintf("%s%03d", birth, serial)
	return s + strconv.Itoa(luhn(s[2:]))
}

// The ordinary cards of Seed's orders: the serials of the development
// station's ordered and expired cards (kiosk/devseed puts them in the
// simulated station's drawer; the dev panel has them as test cards), so a
// person can pick one up and void the other on `make run`.
const (
	SeedOrderedCard = "9752269900000000201" // ready for pickup by 19900707-789
	SeedExpiredCard = "9752269900000000202" // pickup deadline passed (CP-4), holder 19121212-121
	// SeedExtendCard is a reserve card the station handed out three days
	// ago (forgotten card, 10 days) to 19700202-333 and the card has been
	// activated since: it can be extended once on `make run` (RC-5).
	// kiosk/devseed records the same card on the development station.
	SeedExtendCard = "9752269900000000301"
	// SeedOldCard is 19900707-789's current card, handed in at the pickup
	// of SeedOrderedCard (kiosk/devseed.OldCard).
	SeedOldCard = "9752269000000000105"
)

// Seed fills an empty registry with realistic reference data for a
// demonstration station: the RC-1 validity table, authorised
// administrators, persons with cards and orders (one ordinary card ready
// for pickup, one past its pickup deadline), and a reserve-card shipment
// for station. It only adds; running it twice changes nothing
// that matters.
func (s *Server) Seed(ctx context.Context, station string) error {
	for _, v := range DefaultValidity {
		if err := s.SetValidity(ctx, v.Reason, v.MaxDays); err != nil {
			return err
		}
	}
	ops := []protocol.Operator{
		{HSAID: "SE2321000131-P000000012345", Name: "Anna Administratör", Authorised: true},
		{HSAID: "SE2321000131-P000000023456", Name: "Bertil Behörig", Authorised: true},
		{HSAID: "SE2321000131-P000000034567", Name: "Cecilia Utbildad", Authorised: true},
		{HSAID: "SE2321000131-P000000099999", Name: "Doris Avregistrerad", Authorised: false},
	}
	for _, o := range ops {
		if err := s.SetOperator(ctx, o.HSAID, o.Name, o.Authorised); err != nil {
			return err
		}
	}
	// Ordinary cards produced for their holders wait at the station: one
	// ready for pickup (ID-3), one past its pickup deadline, to be voided
	// (CP-4). The deadlines follow the registry's clock.
	today := s.now()
	day := func(days int) string { return today.AddDate(0, 0, days).Format(time.DateOnly) }
	persons := []struct {
		pnr   string
		facts protocol.PersonFactsDoc
	}{
		// Holds an active card; a replacement ordered long ago was never
		// picked up (CP-4).
		{TestPersonalNumber("19121212", 121), protocol.PersonFactsDoc{
			RegularCards: []protocol.RegularCardFact{{Serial: "9752269000000000101", State: "active"}},
			Orders: []protocol.OrderFact{{ID: "ORD-LATE", Type: "regular", CardType: "sis", Ordered: day(-100),
				CardSerial: SeedExpiredCard, PickupDeadline: day(-5)}}}},
		{TestPersonalNumber("19800101", 234), protocol.PersonFactsDoc{
			RegularCards: []protocol.RegularCardFact{{Serial: "9752269000000000102", State: "lost"}},
			Orders:       []protocol.OrderFact{{Type: "regular", Ordered: "2026-10-02"}}}},
		{TestPersonalNumber("19750315", 456), protocol.PersonFactsDoc{
			Orders: []protocol.OrderFact{{Type: "reserve", Ordered: "2026-11-01", Reason: "temporary_assignment"}}}},
		// Their new card is at the station, ready for pickup.
		// Their current card is handed in when they pick the new one up
		// (seed 003).
		{TestPersonalNumber("19900707", 789), protocol.PersonFactsDoc{
			RegularCards: []protocol.RegularCardFact{{Serial: SeedOldCard, State: "active"}},
			Orders: []protocol.OrderFact{{ID: "ORD-PICK", Type: "regular", CardType: "sis", Ordered: day(-21),
				CardSerial: SeedOrderedCard, PickupDeadline: day(14)}}}},
	}
	if station != "" {
		// The reserve card out from the station, activated (RC-5).
		persons = append(persons, struct {
			pnr   string
			facts protocol.PersonFactsDoc
		}{TestPersonalNumber("19700202", 333), protocol.PersonFactsDoc{
			RegularCards: []protocol.RegularCardFact{{Serial: "9752269000000000103", State: "active"}},
			ReserveCards: []protocol.ReserveCardFact{{Serial: SeedExtendCard, Reason: "forgotten", Station: station, State: protocol.CardActivated,
				ValidUntil: time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, today.Location()).AddDate(0, 0, 7).UTC().Format(time.RFC3339)}},
		}})
	}
	for _, p := range persons {
		// The station serves their orders, so it receives their facts.
		for i := range p.facts.Orders {
			p.facts.Orders[i].Station = station
		}
		if err := s.SetPersonFactsDoc(ctx, p.pnr, p.facts); err != nil {
			return err
		}
		// Their e-mail for notifications (RE-5); make run has no relay, so
		// the console lists each message as logged only.
		if err := s.SetContact(ctx, p.pnr, "person-"+p.pnr[len(p.pnr)-4:]+"@example.org", "sv"); err != nil {
			return err
		}
	}
	if station != "" {
		now := s.now().UTC().Format(time.RFC3339Nano)
		if err := s.db.write(ctx, func(tx *sql.Tx) error {
			return setCardStatus(ctx, tx, station, SeedExtendCard, protocol.CardActivated, ptrTrue(), now)
		}); err != nil {
			return err
		}
		var serials []string
		for i := 1; i <= 10; i++ {
			serials = append(serials, fmt.Sprintf("RK-%s-%04d", time.Now().Format("2006"), i))
		}
		if err := s.Ship(ctx, station, "SHIP-0001", "reserve", serials...); err != nil {
			return err
		}
	}
	return nil
}

func ptrTrue() *bool { t := true; return &t }
