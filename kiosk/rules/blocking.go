package rules

import (
	"time"

	"github.com/kortstation/kortstation/kiosk/rules/violation"
)

// BlockReason is why a card is blocked.
type BlockReason string

// The reasons of BL-1 (seed 003: the card is gone or stolen, broken, the
// PIN or PUK exposed, the employment ended, the card misused), and the
// receipt deadline of RE-2.
const (
	BlockLost            BlockReason = "lost"
	BlockStolen          BlockReason = "stolen"
	BlockBroken          BlockReason = "broken"
	BlockCodesExposed    BlockReason = "pin_puk_exposed"
	BlockEmploymentEnded BlockReason = "employment_ended"
	BlockMisused         BlockReason = "misused"
	BlockReceiptOverdue  BlockReason = "receipt_overdue"
)

// BlockReasons returns every block reason.
func BlockReasons() []BlockReason {
	return []BlockReason{BlockLost, BlockStolen, BlockBroken, BlockCodesExposed,
		BlockEmploymentEnded, BlockMisused, BlockReceiptOverdue}
}

// Valid reports whether r is a known block reason.
func (r BlockReason) Valid() bool {
	for _, k := range BlockReasons() {
		if k == r {
			return true
		}
	}
	return false
}

// CheckNotBlocked refuses a card on the registry's list of blocked cards
// (BL-1): its certificates are revoked, whatever the station's own record
// says, so it is not handed out, extended, picked up or used to log in.
// Serials are compared as printed (RC-9: spaces, hyphens and case do not
// matter).
func CheckNotBlocked(reg Registry, cardNumber string) *Violation {
	if cardNumber == "" {
		return nil
	}
	n := NormaliseSerial(cardNumber)
	for _, b := range reg.BlockedCards {
		if NormaliseSerial(b) == n {
			return violation.New("BL-1", violation.KeyCardBlocked, "card_number", cardNumber)
		}
	}
	return nil
}

// Blocked reports whether card is blocked: by the station's own record or
// on the registry's list (BL-1).
func (r Registry) Blocked(card Card) bool {
	return card.State == StateBlocked || CheckNotBlocked(r, card.Number) != nil
}

// BlockInput is a request to block a card.
type BlockInput struct {
	Now    time.Time   `json:"now"`
	Card   Card        `json:"card"`
	Reason BlockReason `json:"reason"`
	// Requester is who asks: the holder, their manager or the operator;
	// zero for the station's own RE-2 block.
	Requester Person `json:"requester,omitzero"`
}

// BlockDecision is what happens when a block is allowed.
type BlockDecision struct {
	CardNumber string    `json:"card_number"`
	NewState   CardState `json:"new_state"`
	// SendToCentral: the central service blocks the certificates.
	SendToCentral bool `json:"send_to_central"`
	// CutAndReturn: reserve and short-term cards at hand are cut through
	// chip and stripe and sent back (RC-8).
	CutAndReturn bool `json:"cut_and_return"`
}

// RequestBlock decides a block request: a reason of BL-1 (or an overdue
// receipt, RE-2, which must really be overdue), and a card whose state
// allows blocking.
func RequestBlock(in BlockInput) (BlockDecision, error) {
	var vs Violations
	d := BlockDecision{CardNumber: in.Card.Number, NewState: StateBlocked, SendToCentral: true,
		CutAndReturn: in.Card.Type == CardReserve || in.Card.Type == CardShortTerm}
	if !in.Reason.Valid() {
		vs.Add(violation.New("BL-1", violation.KeyBlockReason, "reason", string(in.Reason)))
	}
	if in.Reason == BlockReceiptOverdue {
		if overdue, deadline := ReceiptOverdue(in.Card, in.Now); !overdue {
			dl := ""
			if !deadline.IsZero() {
				dl = fmtTime(deadline)
			}
			vs.Add(violation.New("RE-2", violation.KeyReceiptNotOverdue, "deadline", dl))
		}
	}
	vs.Add(CheckTransition(in.Card.EffectiveState(in.Now), StateBlocked))
	return d, vs.Err()
}
