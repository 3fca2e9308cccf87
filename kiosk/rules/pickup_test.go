package rules

import (
	"testing"

	"github.com/kortstation/kortstation/kiosk/rules/ident"
)

// pickupInput picks up a SIS card ordered on 1 May 2024 on Monday 3 June
// 2024; the national ID card expires on 1 August 2024, exactly three
// months after the order.
func pickupInput(t testing.TB) PickupInput {
	p := cast(t)
	return PickupInput{
		Counter: Counter{
			Now:              at(2024, 6, 3, 10, 0),
			Station:          "Ljungby",
			Operator:         p.operator,
			Recipient:        p.recipient,
			RecipientPresent: true,
			Document:         &IDDocument{Type: DocNationalIDCard, Number: "N1", Expiry: date(2024, 8, 1)},
		},
		Order: Order{ID: "O1", Kind: OrderRegular, Status: OrderOpen, CardType: CardSIS, Holder: p.recipient.Person,
			OrderedAt: at(2024, 5, 1, 13, 0), PickupDeadline: date(2024, 6, 30)},
		Card:       Card{Number: "SIS-555", Type: CardSIS, State: StateInStock},
		ChipSerial: "SIS-555",
		ReceiptID:  "R-3",
		Registry:   registry(p),
	}
}

// foreignStaff turns in into a pickup by staff without a Swedish number:
// HSA-ID only, a short-term card, a foreign passport valid exactly six
// months after the issue, and their manager present.
func foreignStaff(t testing.TB, in *PickupInput) {
	p := cast(t)
	in.Recipient.PersonalNumber = ident.PersonalNumber{}
	in.Order.CardType, in.Card.Type = CardShortTerm, CardShortTerm
	in.Order.Holder = Person{HSAID: p.recipient.HSAID}
	in.Document = &IDDocument{Type: DocForeignPassport, Number: "P-DE-1", Expiry: date(2024, 12, 3)}
	in.Attestors = []Attestor{p.manager}
}

func TestPickupCard(t *testing.T) {
	p := cast(t)
	tests := []struct {
		name   string
		change func(*PickupInput)
		want   []string
	}{
		{"ID-3/document valid exactly three months after the order", func(in *PickupInput) {}, nil},
		{"ID-3/document one day short of three months", func(in *PickupInput) { in.Document.Expiry = date(2024, 7, 31) }, []string{"ID-3"}},
		{"ID-3/ordered 30 November: through 28 February is enough", func(in *PickupInput) {
			in.Order.OrderedAt, in.Order.PickupDeadline = at(2023, 11, 30, 10, 0), date(2024, 1, 22)
			in.Now = at(2024, 1, 15, 10, 0)
			in.Document.Expiry = date(2024, 2, 29)
		}, nil},
		{"ID-3/ordered 30 November 2022: 27 February 2023 is not enough", func(in *PickupInput) {
			in.Order.OrderedAt, in.Order.PickupDeadline = at(2022, 11, 30, 10, 0), calendarZero()
			in.Now = at(2023, 1, 16, 10, 0)
			in.Document.Expiry = date(2023, 2, 27)
		}, []string{"ID-3"}},
		{"ID-2/damaged document", func(in *PickupInput) { in.Document.Damaged = true }, []string{"ID-2"}},
		{"ID-1/foreign passport with a Swedish number", func(in *PickupInput) { in.Document.Type = DocForeignPassport }, []string{"ID-1"}},
		{"ID-6/no document, no attestation", func(in *PickupInput) { in.Document = nil }, []string{"ID-6"}},
		{"ID-6/no document: manager present with valid ID", func(in *PickupInput) {
			in.Document = nil
			in.Attestors = []Attestor{p.manager}
			in.AttestationGround = GroundNoValidDocument
		}, nil},
		{"ID-6/no document: manager present but no ground recorded", func(in *PickupInput) { in.Document = nil; in.Attestors = []Attestor{p.manager} }, []string{"ID-6"}},
		{"ID-6/no document: attestor is not the manager", func(in *PickupInput) { in.Document = nil; in.Attestors = []Attestor{p.manager2} }, []string{"ID-6"}},
		{"ID-6/attestation refused with a valid document", func(in *PickupInput) { in.Attestors = []Attestor{p.manager} }, []string{"ID-6"}},
		{"ID-4/foreign staff: passport valid exactly six months after issue", func(in *PickupInput) { foreignStaff(t, in) }, nil},
		{"ID-4/foreign staff: passport one day short", func(in *PickupInput) { foreignStaff(t, in); in.Document.Expiry = date(2024, 12, 2) }, []string{"ID-4"}},
		{"ID-4/foreign staff issued 31 August: through 28 February is enough", func(in *PickupInput) {
			foreignStaff(t, in)
			in.Now, in.Order.PickupDeadline = at(2024, 8, 31, 10, 0), date(2024, 9, 30)
			in.Document.Expiry = date(2025, 2, 28)
		}, nil},
		{"ID-4/foreign staff: a Swedish passport also serves", func(in *PickupInput) { foreignStaff(t, in); in.Document.Type = DocSwedishPassport }, nil},
		{"ID-4/foreign staff: a driving licence is not a passport", func(in *PickupInput) { foreignStaff(t, in); in.Document.Type = DocSwedishDrivingLicence }, []string{"ID-4"}},
		{"ID-4/foreign staff: no passport", func(in *PickupInput) { foreignStaff(t, in); in.Document = nil }, []string{"ID-4"}},
		{"ID-4/foreign staff: damaged passport", func(in *PickupInput) { foreignStaff(t, in); in.Document.Damaged = true }, []string{"ID-2"}},
		{"ID-4/foreign staff: no manager", func(in *PickupInput) { foreignStaff(t, in); in.Attestors = nil }, []string{"ID-4"}},
		{"ID-4/foreign staff: manager without valid ID", func(in *PickupInput) {
			foreignStaff(t, in)
			doc := *in.Attestors[0].Document
			doc.Expiry = date(2024, 6, 2)
			in.Attestors[0].Document = &doc
		}, []string{"ID-4"}},
		{"ID-4/foreign staff: manager not present", func(in *PickupInput) { foreignStaff(t, in); in.Attestors[0].Present = false }, []string{"ID-4", "AT-2"}},
		{"ID-4/foreign staff get a short-term card, not a SIS card", func(in *PickupInput) {
			foreignStaff(t, in)
			in.Order.CardType, in.Card.Type = CardSIS, CardSIS
		}, []string{"ID-4"}},
		{"AT-3/operator as the manager", func(in *PickupInput) { foreignStaff(t, in); in.Attestors[0].Person = p.operator.Person }, []string{"AT-1", "AT-3"}},
		{"RE-1/recipient not present", func(in *PickupInput) { in.RecipientPresent = false }, []string{"RE-1"}},
		{"CP-4/on the deadline day", func(in *PickupInput) { in.Now = at(2024, 6, 30, 23, 59) }, nil},
		{"CP-4/the day after the deadline", func(in *PickupInput) { in.Now = at(2024, 7, 1, 0, 0) }, []string{"CP-4"}},
		{"CP-3/pickups allowed in an order stop", func(in *PickupInput) {
			in.Order.OrderedAt, in.Order.PickupDeadline = at(2023, 11, 20, 10, 0), date(2024, 1, 22)
			in.Now = at(2024, 1, 22, 15, 0)
			in.Document.Expiry = date(2025, 1, 1)
		}, nil},
		{"CP-3/no pickup in a total stop", func(in *PickupInput) {
			in.Order.OrderedAt, in.Order.PickupDeadline = at(2023, 11, 20, 10, 0), calendarZero()
			in.Now = at(2024, 1, 23, 12, 0)
			in.Document.Expiry = date(2025, 1, 1)
		}, []string{"CP-3"}},
		{"CP-1/order of someone else", func(in *PickupInput) { in.Order.Holder = p.manager.Person }, []string{"CP-1"}},
		{"CP-1/order already fulfilled", func(in *PickupInput) { in.Order.Status = OrderFulfilled }, []string{"CP-1"}},
		{"CP-1/a reserve order is not picked up", func(in *PickupInput) { in.Order.Kind = OrderReserve }, []string{"CP-1"}},
		{"RC-9/card of another type than ordered", func(in *PickupInput) { in.Card.Type = CardCompany }, []string{"RC-9"}},
		{"RC-9/chip of another card", func(in *PickupInput) { in.ChipSerial = "SIS-556" }, []string{"RC-9"}},
		{"AD-1/operator not authorised", func(in *PickupInput) { in.Operator = Operator{Person: p.manager.Person} }, []string{"AD-1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := pickupInput(t)
			tt.change(&in)
			_, err := PickupCard(in)
			wantRules(t, err, tt.want...)
		})
	}
}

func TestPickupDecision(t *testing.T) {
	in := pickupInput(t)
	in.Now = at(2024, 7, 1, 0, 0)
	d, err := PickupCard(in)
	wantRules(t, err, "CP-4")
	if !d.Void || d.NewState != StateVoided {
		t.Errorf("CP-4/decision %+v: want the card voided", d)
	}
	if !PickupExpired(in.Order, in.Now) || PickupExpired(in.Order, at(2024, 6, 30, 23, 59)) {
		t.Errorf("CP-4/PickupExpired boundary")
	}
	// Seed 002: "hämta ut kortet senast 22 januari, annars makuleras det".
	o := Order{PickupDeadline: date(2024, 1, 22)}
	if PickupExpired(o, at(2024, 1, 22, 16, 0)) || !PickupExpired(o, at(2024, 1, 23, 0, 0)) {
		t.Errorf("CP-4/seed 002 deadline")
	}
}

func TestCardValidity(t *testing.T) {
	cases := []struct {
		name string
		typ  CardType
		iss  [3]int
		want [3]int
	}{
		{"SIS card 5 years", CardSIS, [3]int{2024, 6, 3}, [3]int{2029, 6, 3}},
		{"company card 5 years from a leap day", CardCompany, [3]int{2024, 2, 29}, [3]int{2029, 2, 28}},
		{"short-term card 6 months", CardShortTerm, [3]int{2024, 6, 3}, [3]int{2024, 12, 3}},
		{"short-term card 6 months from 31 August", CardShortTerm, [3]int{2024, 8, 31}, [3]int{2025, 2, 28}},
		{"short-term card 6 months across New Year", CardShortTerm, [3]int{2024, 12, 31}, [3]int{2025, 6, 30}},
	}
	for _, c := range cases {
		got, v := CardValidUntil(c.typ, at(c.iss[0], monthOf(c.iss[1]), c.iss[2], 15, 0), 0)
		if v != nil || !got.Equal(at(c.want[0], monthOf(c.want[1]), c.want[2], 0, 0)) {
			t.Errorf("%s: %v, %v", c.name, got, v)
		}
	}
	if got, v := CardValidUntil(CardReserve, at(2024, 6, 3, 9, 0), 30); v != nil || !got.Equal(at(2024, 7, 3, 0, 0)) {
		t.Errorf("RC-1/reserve 30 days: %v %v", got, v)
	}
	if _, v := CardValidUntil(CardReserve, at(2024, 6, 3, 9, 0), 0); v == nil || v.Rule != "RC-1" {
		t.Errorf("RC-1/reserve 0 days: %v", v)
	}
	if _, v := CardValidUntil("plastic", at(2024, 6, 3, 9, 0), 0); v == nil {
		t.Errorf("unknown type accepted")
	}
	in := pickupInput(t)
	d, err := PickupCard(in)
	if err != nil || !d.ValidUntil.Equal(at(2029, 6, 3, 0, 0)) || d.ValidThrough != date(2029, 6, 2) || d.Receipt.Kind != ReceiptPickup {
		t.Errorf("pickup decision %+v, %v", d, err)
	}
}
