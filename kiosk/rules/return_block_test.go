package rules

import (
	"testing"
	"time"

	"github.com/kortstation/kortstation/kiosk/rules/violation"
)

func reserveCard(t testing.TB) Card {
	p := cast(t)
	return Card{Number: "RK 000123", Type: CardReserve, State: StateActivated, Holder: p.recipient.Person,
		IssuedAt: at(2024, 6, 3, 9, 0), ValidUntil: at(2024, 6, 13, 0, 0), Reason: ReasonForgotten, ValidityDays: 10,
		ActivatedAt: at(2024, 6, 3, 14, 0)}
}

func TestReturnCard(t *testing.T) {
	p := cast(t)
	tests := []struct {
		name      string
		change    func(*ReturnInput)
		want      []string
		block     bool
		deviation violation.Key
	}{
		{"RC-6/returned while valid", func(in *ReturnInput) {}, nil, true, ""},
		{"RC-6/returned during a total stop", func(in *ReturnInput) {
			in.Card.IssuedAt, in.Card.ValidUntil = at(2024, 1, 20, 9, 0), at(2024, 1, 30, 0, 0)
			in.Now = at(2024, 1, 24, 9, 0)
		}, nil, true, ""},
		{"RC-6/returned the last minute of its validity", func(in *ReturnInput) { in.Now = at(2024, 6, 12, 23, 59) }, nil, true, ""},
		{"RC-6/returned after its validity: a deviation", func(in *ReturnInput) { in.Now = at(2024, 6, 13, 0, 0) }, nil, false, violation.KeyDeviationExpired},
		{"RC-6/returned after the regular card was activated: a deviation", func(in *ReturnInput) {
			in.Registry.Cards = append(in.Registry.Cards, Card{Number: "SIS-2", Type: CardSIS, State: StateActivated,
				Holder: p.recipient.Person, ActivatedAt: at(2024, 6, 5, 10, 0)})
			in.Now = at(2024, 6, 6, 10, 0)
		}, nil, true, violation.KeyDeviationRegularAtHand},
		{"RC-6/a card in stock cannot be returned", func(in *ReturnInput) { in.Card.State = StateInStock }, []string{"RC-6"}, false, ""},
		{"RC-6/a card returned twice", func(in *ReturnInput) { in.Card.State = StateReturned }, []string{"RC-8"}, false, ""},
		{"RC-8/a voided card", func(in *ReturnInput) { in.Card.State = StateVoided }, []string{"RC-8"}, false, ""},
		{"RC-9/the chip is another card", func(in *ReturnInput) { in.ChipSerial = "RK 000124" }, []string{"RC-9"}, true, ""},
		{"AD-1/operator not authorised", func(in *ReturnInput) { in.Registry.AuthorisedAdmins = nil }, []string{"AD-1"}, true, ""},
		{"BL-2/a blocked card needs no block", func(in *ReturnInput) { in.Card.State = StateBlocked }, nil, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := ReturnInput{Now: at(2024, 6, 4, 10, 0), Operator: p.operator, Card: reserveCard(t), ChipSerial: "RK000123", Registry: registry(p)}
			tt.change(&in)
			d, err := ReturnCard(in)
			wantRules(t, err, tt.want...)
			if err != nil {
				return
			}
			if d.NewState != StateReturned || !d.CutAndReturn || d.BlockCertificates != tt.block {
				t.Errorf("decision %+v", d)
			}
			switch {
			case tt.deviation == "" && d.Deviation != nil:
				t.Errorf("unexpected deviation %+v", d.Deviation)
			case tt.deviation != "" && (d.Deviation == nil || d.Deviation.Key != tt.deviation || d.Deviation.Rule != "RC-6"):
				t.Errorf("deviation %+v, want %s", d.Deviation, tt.deviation)
			}
		})
	}
}

func TestUnreturned(t *testing.T) {
	c := reserveCard(t)
	tests := []struct {
		name  string
		now   time.Time
		grace int
		card  func(*Card)
		want  bool
	}{
		{"RC-6/still valid", at(2024, 6, 12, 23, 59), 0, nil, false},
		{"RC-6/expired at midnight, not returned", at(2024, 6, 13, 0, 0), 0, nil, true},
		{"RC-6/within 2 grace days", at(2024, 6, 15, 23, 59), 2, nil, false},
		{"RC-6/after 2 grace days", at(2024, 6, 16, 0, 0), 2, nil, true},
		{"RC-6/returned cards are no deviation", at(2024, 7, 1, 0, 0), 0, func(c *Card) { c.State = StateReturned }, false},
		{"RC-6/voided cards are no deviation", at(2024, 7, 1, 0, 0), 0, func(c *Card) { c.State = StateVoided }, false},
		{"RC-6/blocked but kept is a deviation", at(2024, 7, 1, 0, 0), 0, func(c *Card) { c.State = StateBlocked }, true},
		{"RC-6/expiry across the autumn DST change", at(2024, 10, 28, 23, 59), 1, func(c *Card) { c.ValidUntil = at(2024, 10, 27, 0, 0) }, false},
		{"RC-6/expiry across the autumn DST change, grace over", at(2024, 10, 29, 0, 0), 1, func(c *Card) { c.ValidUntil = at(2024, 10, 27, 0, 0) }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			card := c
			if tt.card != nil {
				tt.card(&card)
			}
			got := Unreturned([]Card{card}, tt.now, tt.grace)
			if (len(got) == 1) != tt.want {
				t.Fatalf("Unreturned = %+v, want deviation %v", got, tt.want)
			}
			if tt.want && (got[0].Rule != "RC-6" || got[0].CardNumber != card.Number || !got[0].Since.Equal(card.ValidUntil)) {
				t.Errorf("deviation %+v", got[0])
			}
		})
	}
}

func TestRequestBlock(t *testing.T) {
	tests := []struct {
		name   string
		reason BlockReason
		change func(*BlockInput)
		want   []string
	}{
		{"BL-1/lost", BlockLost, nil, nil},
		{"BL-1/stolen", BlockStolen, nil, nil},
		{"BL-1/broken", BlockBroken, nil, nil},
		{"BL-1/PIN or PUK exposed", BlockCodesExposed, nil, nil},
		{"BL-1/employment ended", BlockEmploymentEnded, nil, nil},
		{"BL-1/misused", BlockMisused, nil, nil},
		{"BL-1/forgotten is no reason to block", "forgotten", nil, []string{"BL-1"}},
		{"BL-1/an expired card can still be blocked", BlockLost, func(in *BlockInput) { in.Now = at(2024, 6, 20, 0, 0) }, nil},
		{"BL-1/a card in stock is not blocked", BlockLost, func(in *BlockInput) { in.Card.State = StateInStock }, []string{"BL-1"}},
		{"BL-1/a blocked card is not blocked again", BlockLost, func(in *BlockInput) { in.Card.State = StateBlocked }, []string{"BL-1"}},
		{"RC-8/a voided card", BlockLost, func(in *BlockInput) { in.Card.State = StateVoided }, []string{"RC-8"}},
		{"RE-2/receipt overdue: the last minute of the 7th day", BlockReceiptOverdue, func(in *BlockInput) { in.Now = at(2024, 6, 10, 23, 59) }, []string{"RE-2"}},
		{"RE-2/receipt overdue: the 8th day", BlockReceiptOverdue, func(in *BlockInput) { in.Now = at(2024, 6, 11, 0, 0) }, nil},
		{"RE-2/receipt received in time", BlockReceiptOverdue, func(in *BlockInput) {
			in.Now = at(2024, 6, 12, 0, 0)
			in.Card.ReceiptReceivedAt = at(2024, 6, 10, 23, 59)
		}, []string{"RE-2"}},
		{"RE-2/receipt received at the deadline is late", BlockReceiptOverdue, func(in *BlockInput) {
			in.Now = at(2024, 6, 12, 0, 0)
			in.Card.ReceiptReceivedAt = at(2024, 6, 11, 0, 0)
		}, nil},
		{"RE-2/card never activated", BlockReceiptOverdue, func(in *BlockInput) { in.Card.ActivatedAt = time.Time{} }, []string{"RE-2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := BlockInput{Now: at(2024, 6, 5, 10, 0), Card: reserveCard(t), Reason: tt.reason}
			if tt.change != nil {
				tt.change(&in)
			}
			d, err := RequestBlock(in)
			wantRules(t, err, tt.want...)
			if err == nil && (d.NewState != StateBlocked || !d.SendToCentral || !d.CutAndReturn) {
				t.Errorf("decision %+v", d)
			}
		})
	}
}

func TestReceiptDeadline(t *testing.T) {
	tests := []struct {
		name      string
		activated time.Time
		want      time.Time
	}{
		{"RE-2/Monday morning: through next Monday", at(2024, 6, 3, 10, 0), at(2024, 6, 11, 0, 0)},
		{"RE-2/just before midnight", at(2024, 6, 3, 23, 59), at(2024, 6, 11, 0, 0)},
		{"RE-2/across spring DST", at(2024, 3, 28, 10, 0), at(2024, 4, 5, 0, 0)},
		{"RE-2/across autumn DST", at(2024, 10, 24, 10, 0), at(2024, 11, 1, 0, 0)},
		{"RE-2/across New Year", at(2024, 12, 27, 10, 0), at(2025, 1, 4, 0, 0)},
		{"RE-2/across a leap day", at(2024, 2, 25, 10, 0), at(2024, 3, 4, 0, 0)},
	}
	for _, tt := range tests {
		if got := ReceiptDeadline(tt.activated); !got.Equal(tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
	c := reserveCard(t)
	if over, dl := ReceiptOverdue(c, at(2024, 6, 10, 23, 59)); over || !dl.Equal(at(2024, 6, 11, 0, 0)) {
		t.Errorf("RE-2/not yet overdue: %v %v", over, dl)
	}
	if over, _ := ReceiptOverdue(c, at(2024, 6, 11, 0, 0)); !over {
		t.Errorf("RE-2/overdue at the deadline")
	}
	c.State = StateBlocked
	if over, _ := ReceiptOverdue(c, at(2024, 7, 1, 0, 0)); over {
		t.Errorf("RE-2/a blocked card is not blocked again")
	}
}

func TestCertificateRemoval(t *testing.T) {
	if v := CheckTransition(StateActivated, StateVoided); v == nil || v.Rule != "BL-2" {
		t.Errorf("BL-2/voiding an activated card: %v", v)
	}
}
