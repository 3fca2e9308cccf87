package rules

import (
	"testing"
	"time"
)

// extensionInput extends a 10-day reserve card issued on 10 January 2024
// for a forgotten card, expired since, on the last allowed day (issue + 7
// months = 10 August 2024, a Saturday).
func extensionInput(t testing.TB) ExtensionInput {
	p := cast(t)
	card := Card{Number: "RK 000123", Type: CardReserve, State: StateExpired, Holder: p.recipient.Person, Station: "VXO",
		IssuedAt: at(2024, 1, 10, 10, 0), ValidUntil: at(2024, 1, 20, 0, 0), Reason: ReasonForgotten, ValidityDays: 10,
		ActivatedAt: at(2024, 1, 10, 14, 0), ReceiptReceivedAt: at(2024, 1, 10, 15, 0)}
	reg := registry(p)
	reg.Cards = append(reg.Cards, card)
	return ExtensionInput{
		Counter: Counter{
			Now:              at(2024, 8, 10, 9, 0),
			Station:          "Växjö, Intern kundservice",
			Operator:         p.operator,
			Recipient:        p.recipient,
			RecipientPresent: true,
			Document:         &IDDocument{Type: DocNationalIDCard, Number: "N1", Expiry: date(2029, 1, 1)},
		},
		Reason:     ReasonForgotten,
		Card:       card,
		ChipSerial: "RK000123",
		ReceiptID:  "R-2",
		Registry:   reg,
	}
}

func TestExtendReserve(t *testing.T) {
	p := cast(t)
	tests := []struct {
		name   string
		change func(*ExtensionInput)
		want   []string
	}{
		{"RC-5/on the last day of the 7 months", func(in *ExtensionInput) {}, nil},
		{"RC-5/the day after the 7 months", func(in *ExtensionInput) { in.Now = at(2024, 8, 11, 0, 0) }, []string{"RC-5"}},
		{"RC-5/last minute of the last day", func(in *ExtensionInput) { in.Now = at(2024, 8, 10, 23, 59) }, nil},
		{"RC-5/issued 31 July: last day 28 February", func(in *ExtensionInput) {
			in.Card.IssuedAt, in.Card.ValidUntil = at(2024, 7, 31, 10, 0), at(2024, 8, 10, 0, 0)
			in.Now = at(2025, 2, 28, 10, 0)
		}, nil},
		{"RC-5/issued 31 July: 1 March is too late", func(in *ExtensionInput) {
			in.Card.IssuedAt, in.Card.ValidUntil = at(2024, 7, 31, 10, 0), at(2024, 8, 10, 0, 0)
			in.Now = at(2025, 3, 1, 10, 0)
		}, []string{"RC-5"}},
		{"RC-5/issued on New Year's Eve: 31 July", func(in *ExtensionInput) {
			in.Card.IssuedAt, in.Card.ValidUntil = at(2023, 12, 31, 10, 0), at(2024, 1, 10, 0, 0)
			in.Now = at(2024, 7, 31, 10, 0)
		}, nil},
		{"RC-5/issue time unknown", func(in *ExtensionInput) { in.Card.IssuedAt = time.Time{} }, []string{"RC-5"}},
		{"RC-5/extended once already", func(in *ExtensionInput) { in.Card.ExtendedAt = at(2024, 2, 1, 10, 0) }, []string{"RC-5"}},
		{"RC-5/another reason", func(in *ExtensionInput) { in.Reason = ReasonLost }, []string{"RC-5"}},
		{"RC-5/another validity", func(in *ExtensionInput) { in.RequestedDays = 30 }, []string{"RC-5"}},
		{"RC-5/the same validity asked explicitly", func(in *ExtensionInput) { in.RequestedDays = 10 }, nil},
		{"RC-5/validity at issue kept though the table changed", func(in *ExtensionInput) { in.Registry.Validity[ReasonForgotten] = 5 }, nil},
		{"RC-5/validity at issue unknown", func(in *ExtensionInput) { in.Card.ValidityDays = 0 }, []string{"RC-5"}},
		{"RC-5/not a reserve card", func(in *ExtensionInput) { in.Card.Type = CardShortTerm }, []string{"RC-5"}},
		{"RC-5/someone else's card", func(in *ExtensionInput) { in.Card.Holder = p.manager.Person }, []string{"RC-5"}},
		{"RC-5/an activated card may be extended before it expires", func(in *ExtensionInput) {
			in.Card.State, in.Card.ValidUntil = StateActivated, at(2024, 8, 12, 0, 0)
		}, nil},
		{"RC-5/an approved card not yet activated", func(in *ExtensionInput) {
			in.Card.State, in.Card.ValidUntil = StateApproved, at(2024, 8, 12, 0, 0)
		}, []string{"RC-5"}},
		{"BL-1/a blocked card cannot be extended", func(in *ExtensionInput) { in.Card.State = StateBlocked }, []string{"BL-1"}},
		{"RC-8/a returned card cannot be extended", func(in *ExtensionInput) { in.Card.State = StateReturned }, []string{"RC-8"}},
		{"RC-4/another live reserve card", func(in *ExtensionInput) {
			in.Registry.Cards = append(in.Registry.Cards, Card{Number: "RK 7", Type: CardReserve, State: StateHandedOut, Holder: p.recipient.Person})
		}, []string{"RC-4"}},
		{"RC-9/the chip is another card", func(in *ExtensionInput) { in.ChipSerial = "RK000999" }, []string{"RC-9"}},
		{"CP-3/no certificates for reserve cards in a total stop", func(in *ExtensionInput) {
			in.Card.IssuedAt, in.Card.ValidUntil = at(2024, 1, 2, 10, 0), at(2024, 1, 12, 0, 0)
			in.Now = at(2024, 1, 24, 10, 0)
		}, []string{"CP-3"}},
		{"AD-1/operator not authorised", func(in *ExtensionInput) { in.Registry.AuthorisedAdmins = nil }, []string{"AD-1"}},
		{"ID-6/extension without identification", func(in *ExtensionInput) { in.Document = nil }, []string{"ID-6"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := extensionInput(t)
			tt.change(&in)
			_, err := ExtendReserve(in)
			wantRules(t, err, tt.want...)
		})
	}
}

func TestExtendReserveDates(t *testing.T) {
	in := extensionInput(t)
	d, err := ExtendReserve(in)
	if err != nil {
		t.Fatal(err)
	}
	// RC-5: 10 more days counted from the extension; Saturday, so approval
	// is expected on Monday at 07:30 (CP-2).
	if d.ValidityDays != 10 || !d.ValidUntil.Equal(at(2024, 8, 20, 0, 0)) || d.NewState != StateHandedOut {
		t.Errorf("RC-5/decision %+v", d)
	}
	if !d.ExpectedApproval.Equal(at(2024, 8, 12, 7, 30)) {
		t.Errorf("CP-2/expected approval %v", d.ExpectedApproval)
	}
	if d.Receipt.Kind != ReceiptReserveExtension || d.Receipt.Document == nil || d.Receipt.Reason != ReasonForgotten {
		t.Errorf("RE-4/receipt %+v", d.Receipt)
	}
	if got := ExtensionDeadline(at(2024, 1, 10, 10, 0)); got != date(2024, 8, 10) {
		t.Errorf("RC-5/ExtensionDeadline = %v", got)
	}
}
