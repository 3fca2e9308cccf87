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

// TestStopWindowParsedFromLocalForm: CP-3 windows parsed from the
// registry's local form, to the minute.
func TestStopWindowParsedFromLocalForm(t *testing.T) {
	start, err := calendar.ParseLocalMinute("2024-01-23 12:00", calendar.Earlier)
	if err != nil || !start.Equal(stops()[1].Start) {
		t.Errorf("CP-3/ParseLocalMinute: %v %v", start, err)
	}
}
