package rules

import (
	"testing"

	"github.com/kortstation/kortstation/kiosk/rules/violation"
)

// The registry's list of blocked cards (BL-1) is the registry's word: a
// card on it is refused whatever the station's own record says.

func TestCheckNotBlocked(t *testing.T) {
	reg := Registry{BlockedCards: []string{"RK 000123"}}
	tests := []struct {
		name, card string
		blocked    bool
	}{
		{"BL-1/listed card", "RK 000123", true},
		{"BL-1/listed card read from the chip without spaces, lower case", "rk000123", true},
		{"BL-1/another card", "RK 000124", false},
		{"BL-1/no card", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := CheckNotBlocked(reg, tt.card)
			if got := v != nil; got != tt.blocked {
				t.Fatalf("got blocked %v, want %v", got, tt.blocked)
			}
			if v != nil && (v.Rule != "BL-1" || v.Key != violation.KeyCardBlocked) {
				t.Errorf("got %s %s, want BL-1 %s", v.Rule, v.Key, violation.KeyCardBlocked)
			}
		})
	}
}

func TestBlockedCardNotHandedOut(t *testing.T) {
	t.Run("BL-1/a stock card on the blocked list is not issued", func(t *testing.T) {
		in := reserveInput(t)
		in.Registry.BlockedCards = []string{in.Card.Number}
		_, err := IssueReserve(in)
		wantRules(t, err, "BL-1")
	})
	t.Run("BL-1/a reserve card on the blocked list is not extended", func(t *testing.T) {
		in := extensionInput(t)
		in.Registry.BlockedCards = []string{in.Card.Number}
		_, err := ExtendReserve(in)
		wantRules(t, err, "BL-1")
	})
	t.Run("BL-1/an ordered card on the blocked list is not picked up", func(t *testing.T) {
		in := pickupInput(t)
		in.Registry.BlockedCards = []string{in.Card.Number}
		_, err := PickupCard(in)
		wantRules(t, err, "BL-1")
	})
	t.Run("BL-1/other blocked cards do not matter", func(t *testing.T) {
		in := reserveInput(t)
		in.Registry.BlockedCards = []string{"RK 999999"}
		_, err := IssueReserve(in)
		wantRules(t, err)
	})
}

func TestReturnOfBlockedCard(t *testing.T) {
	p := cast(t)
	in := ReturnInput{Now: at(2024, 6, 4, 10, 0), Operator: p.operator, Card: reserveCard(t), ChipSerial: "RK000123", Registry: registry(p)}
	in.Registry.BlockedCards = []string{"RK000123"}
	d, err := ReturnCard(in)
	if err != nil {
		t.Fatalf("RC-6/a blocked card is still taken back: %v", err)
	}
	if d.BlockCertificates {
		t.Errorf("BL-2/got block certificates %v for a card the registry has blocked, want false", d.BlockCertificates)
	}
	if !d.CutAndReturn {
		t.Errorf("RC-8/got cut and return %v, want true", d.CutAndReturn)
	}
}
