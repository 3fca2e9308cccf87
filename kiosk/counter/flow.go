package counter

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/kortstation/kortstation/kiosk/receiptpdf"
	"github.com/kortstation/kortstation/kiosk/rules"
)

// flowState is one flow in progress: what every flow has, and the state
// of its kind — an issuance's (issue, extend, pickup: issuance.go), a
// return's (return.go) or the cards read in (stock_receive, stock_count:
// stock_receive.go). It holds personal data and lives only as long as the
// session.
type flowState struct {
	kind   Kind
	step   Step
	errors []Message

	drawerOpened bool // RC-7: the drawer opened in this session
	cardIn       bool // a card is in the card reader

	recipient rules.Recipient // who the flow is about
	found     *found          // the person looked up first (lookup.go)
	remote    *remoteFacts    // the registry's facts about them, asked on demand (remotefacts.go)
	back      backState       // what a step back left to say (back.go)
	card      rules.Card      // the card handed out, extended, returned or blocked
	chip      string          // the chip's serial as read (RC-9)

	issuance                       // issue, extend, pickup
	ret      *rules.ReturnDecision // return
	tally                          // stock_receive, stock_count
	day      *dayList              // daylist (daylist.go, correction.go)
	handedIn *rules.Card           // pickup: the old card handed in (pickup_extra.go)
	admins   *adminFlow            // admins: a change of administrators (admins.go)

	result map[string]any // what the done screen shows
}

func (m *Counter) start(ctx context.Context, kind Kind) error {
	f := &flowState{kind: kind, issuance: issuance{sigs: map[string]receiptpdf.Signature{}}}
	issuing := kind == KindIssue || kind == KindPickup || kind == KindExtend
	if issuing && m.ClockBlocking() {
		return refuse(msg("clock", "Klockan är inte synkroniserad. Utfärdande väntar tills tiden är säker.",
			"The clock is not synchronised. Issuing waits until the time can be trusted."))
	}
	if kind != KindStatus {
		if err := m.checkDisk(ctx); err != nil {
			return err
		}
	}
	if issuing {
		if err := m.checkFresh(ctx); err != nil {
			return err
		}
		if err := m.checkTotalStop(ctx); err != nil { // CP-3 (stopcheck.go)
			return err
		}
	}
	switch kind {
	case KindIssue:
		f.step = StepReason
	case KindPickup:
		f.step = StepRecipient
	case KindReturn, KindExtend:
		f.step = StepInsert
	case KindBlock:
		f.step = StepRequest
	case KindStockReceive:
		f.step = StepScan
	case KindStockCount:
		f.step = StepCount
	case KindStockVoid:
		f.step = StepChoose
	case KindStatus:
		f.step = StepShow
	case KindDayList:
		f.step = StepList
		f.day = &dayList{days: defaultDays}
	case KindAdmins:
		f.step = StepList
		f.admins = &adminFlow{}
	default:
		return refuse(msg("unknown_flow", "Stationen känner inte till ärendet. Välj ett ärende på startsidan.", "The station does not know this task. Choose a task on the home screen."))
	}
	m.flow = f
	return nil
}

// step moves the current flow: it dispatches the named step to the flow.
func (m *Counter) step(ctx context.Context, step Action, data json.RawMessage) error {
	f := m.flow
	if step == ActClose {
		m.flow = nil
		return nil
	}
	if step == ActFind && findStep(f) {
		q, err := findInput(data)
		if err != nil {
			return err
		}
		return m.find(ctx, f, q) // reads only
	}
	if f.kind != KindStatus {
		if err := m.checkDisk(ctx); err != nil {
			return err
		}
	}
	if handled, err := m.undoStep(ctx, f, step, data); handled {
		return err
	}
	switch f.kind {
	case KindIssue, KindExtend, KindPickup:
		return m.issueStep(ctx, f, step, data)
	case KindReturn:
		return m.returnStep(ctx, f, step, data)
	case KindBlock:
		return m.blockStep(ctx, f, step, data)
	case KindStockReceive, KindStockCount, KindStockVoid:
		return m.stockStep(ctx, f, step, data)
	case KindDayList:
		return m.dayListStep(ctx, f, step, data)
	case KindAdmins:
		return m.adminsStep(ctx, f, step, data)
	}
	return errWrongStep
}

// cardInserted reads the card put in the card reader during a flow.
func (m *Counter) cardInserted(ctx context.Context, reader string) {
	f := m.flow
	card, err := m.reader.ReadCard(ctx, reader)
	if err != nil {
		m.log.Warn("card in the card reader could not be read", "err", err)
		f.errors = []Message{msg("card_unreadable", "Kortet kunde inte läsas. Ta ut det och sätt i det igen.", "The card could not be read. Remove it and insert it again.")}
		return
	}
	f.errors = nil
	var ferr error
	switch {
	case f.kind == KindStockReceive || f.kind == KindStockCount:
		ferr = m.stockCardRead(ctx, f, card.Serial)
	case findStep(f) && (f.kind == KindIssue || f.kind == KindPickup || f.kind == KindBlock):
		ferr = m.find(ctx, f, card.Serial)
	case f.step == StepSign && f.noSign != nil && (f.kind == KindIssue || f.kind == KindExtend || f.kind == KindPickup):
		ferr = m.noSignCardRead(ctx, f, reader, card)
	case (f.kind == KindIssue || f.kind == KindExtend) && f.step == StepIdentity:
		ferr = m.attestorCardRead(ctx, f, reader, card)
	case (f.kind == KindIssue || f.kind == KindPickup) && f.step == StepInsert:
		ferr = m.chipRead(ctx, f, card.Serial)
	case f.kind == KindExtend && f.step == StepInsert:
		ferr = m.extendCardRead(ctx, f, card.Serial)
	case f.kind == KindReturn && f.step == StepInsert:
		ferr = m.returnCardRead(ctx, f, card.Serial)
	case f.kind == KindAdmins && f.step == StepManager:
		ferr = m.managerCardRead(ctx, f, reader, card)
	}
	if ferr != nil {
		var r *Refusal
		if errors.As(refusalOf(ferr), &r) {
			f.errors = r.Messages
			m.auditRefusal(ctx, "card.read", r.Messages)
		} else {
			m.log.Error("card read in flow", "flow", f.kind, "err", ferr)
			f.errors = []Message{msg("internal", "Något gick fel i stationen. Försök igen.", "Something went wrong in the station. Try again.")}
		}
	}
}
