package rules

import (
	"testing"
	"time"

	"github.com/kortstation/kortstation/kiosk/rules/calendar"
)

func TestCentralReview(t *testing.T) {
	p := cast(t)
	tests := []struct {
		name   string
		change func(*SealedReceipt, *Registry)
		want   []string
	}{
		{"CP-1/approve", nil, nil},
		{"CP-1/card unknown to the registry", func(s *SealedReceipt, reg *Registry) { reg.Cards = reg.Cards[:1] }, []string{"CP-1"}},
		{"CP-1/card of someone else", func(s *SealedReceipt, reg *Registry) { reg.Cards[1].Holder = p.manager.Person }, []string{"CP-1"}},
		{"CP-1/no existing card or order", func(s *SealedReceipt, reg *Registry) { reg.Cards = reg.Cards[1:] }, []string{"CP-1", "RC-3"}},
		{"CP-1/reason no longer in the table", func(s *SealedReceipt, reg *Registry) { delete(reg.Validity, ReasonForgotten) }, []string{"CP-1", "RC-1"}},
		{"CP-1/validity longer than the table", func(s *SealedReceipt, reg *Registry) { reg.Validity[ReasonForgotten] = 5 }, []string{"CP-1", "RC-1"}},
		{"CP-1/attestor became an administrator", func(s *SealedReceipt, reg *Registry) {
			reg.AuthorisedAdmins = append(reg.AuthorisedAdmins, p.manager2.HSAID)
		}, []string{"CP-1", "AT-1"}},
		{"CP-1/tampered receipt", func(s *SealedReceipt, reg *Registry) { s.Receipt.Attestors[0].Person = p.operator.Person }, []string{"CP-1", "RE-3", "AT-1", "AT-3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := signedReceipt(t)
			s, err := Seal(r, nil)
			if err != nil {
				t.Fatal(err)
			}
			reg := registry(p)
			reg.Cards = append(reg.Cards, Card{Number: "RK000123", Type: CardReserve, State: StateHandedOut, Holder: p.recipient.Person})
			if tt.change != nil {
				tt.change(&s, &reg)
			}
			err = CentralReview(s, reg, r.At.Add(10*time.Minute))
			wantRules(t, err, tt.want...)
			if err != nil {
				if vs := err.(Violations); vs[0].Rule != "CP-1" {
					t.Errorf("first violation %v, want the CP-1 summary", vs[0])
				}
			}
		})
	}
}

func TestCheckOrder(t *testing.T) {
	tests := []struct {
		name string
		kind OrderKind
		now  [5]int
		want []string
	}{
		{"CP-3/regular order before the order stop", OrderRegular, [5]int{2023, 11, 30, 23, 59}, nil},
		{"CP-3/regular order at the start of the order stop", OrderRegular, [5]int{2023, 12, 1, 0, 0}, []string{"CP-3"}},
		{"CP-3/regular order on the last day of the order stop", OrderRegular, [5]int{2024, 1, 25, 23, 59}, []string{"CP-3"}},
		{"CP-3/regular order after the order stop", OrderRegular, [5]int{2024, 1, 26, 0, 0}, nil},
		{"CP-3/reserve order in the order stop", OrderReserve, [5]int{2023, 12, 12, 10, 0}, nil},
		{"CP-3/reserve order until 12:00 on 23 January", OrderReserve, [5]int{2024, 1, 23, 11, 59}, nil},
		{"CP-3/reserve order from 12:00 on 23 January", OrderReserve, [5]int{2024, 1, 23, 12, 0}, []string{"CP-3"}},
		{"CP-3/reserve order from 12:00 on 25 January", OrderReserve, [5]int{2024, 1, 25, 12, 0}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := at(tt.now[0], monthOf(tt.now[1]), tt.now[2], tt.now[3], tt.now[4])
			wantRules(t, CheckOrder(tt.kind, stops(), now), tt.want...)
		})
	}
	// CP-3: windows parsed from the registry's local form, to the minute.
	start, err := calendar.ParseMinute("2024-01-23 12:00")
	if err != nil || !start.Equal(stops()[1].Start) {
		t.Errorf("CP-3/ParseMinute: %v %v", start, err)
	}
}
