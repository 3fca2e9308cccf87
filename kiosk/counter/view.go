package counter

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/kortstation/kortstation/kiosk/rules"
	"github.com/kortstation/kortstation/kiosk/rules/calendar"
	"github.com/kortstation/kortstation/kiosk/store"
)

// FlowView is the flow as the screen shows it.
type FlowView struct {
	Kind   Kind           `json:"kind"`
	Step   Step           `json:"step"`
	Errors []Message      `json:"errors,omitempty"`
	Data   map[string]any `json:"data"`
	// StepIndex and StepCount are the step indicator ("Steg 3 av 7"):
	// the step's number from 1 among StepCount (0 at done).
	StepIndex int `json:"step_index"`
	StepCount int `json:"step_count"`
}

// View is the counter's whole state as every connected screen shows it.
type View struct {
	State    State      `json:"state"`
	Operator *OpView    `json:"operator,omitempty"`
	Login    *LoginView `json:"login,omitempty"`
	Notice   *Message   `json:"notice,omitempty"`
	Flow     *FlowView  `json:"flow,omitempty"`
	// Errors says why a flow did not start.
	Errors []Message `json:"errors,omitempty"`
	// IdleLocksAt is when the idle session locks, set once the lock is
	// near: the screen asks "Mer tid?".
	IdleLocksAt *time.Time `json:"idle_locks_at,omitempty"`
	// Offline: the registry's data is getting old (OfflineView).
	Offline *OfflineView `json:"offline,omitempty"`
	// Reprints are the receipts to reprint (printing failed or was
	// interrupted by a restart), on the home screen.
	Reprints []store.Reprint `json:"reprints,omitempty"`
	Rev      uint64          `json:"rev"`
}

// OpView is the logged-in operator.
type OpView struct {
	Name  string    `json:"name"`
	HSAID string    `json:"hsa_id"`
	Since time.Time `json:"since"`
}

// LoginView is a login waiting for the PIN.
type LoginView struct {
	Retries int      `json:"retries"`
	Error   *Message `json:"error,omitempty"`
	Name    string   `json:"name,omitempty"`
}

func (m *Counter) sessionState(ctx context.Context, client string) SessionState {
	m.mu.Lock()
	defer m.mu.Unlock()
	v := m.view(ctx, client)
	return SessionState{State: v.State, View: &v}
}

// view is the counter as client may see it. A connection that does not
// hold the session (or the login it did not start) sees only that the
// station is in use elsewhere: no operator, no recipient, no flow.
func (m *Counter) view(ctx context.Context, client string) View {
	v := View{State: StateLocked, Notice: m.note, Rev: m.rev, Offline: m.offlineView(ctx)}
	if (m.sess != nil && client != m.owner) || (m.sess == nil && m.login != nil && m.login.claimedBy != "" && m.login.claimedBy != client) {
		e := errElsewhere.Messages[0]
		return View{State: StateElsewhere, Notice: &e, Rev: m.rev}
	}
	switch {
	case m.sess != nil:
		v.State = StateReady
		v.Operator = &OpView{Name: m.sess.name, HSAID: m.sess.hsaID.String(), Since: m.sess.since}
		if m.flow != nil {
			v.Flow = m.flowView(ctx)
		}
		v.Errors = m.homeErrors
		if m.flow == nil {
			v.Reprints = m.reprints(ctx)
		}
		if m.sess.warned {
			v.IdleLocksAt = ptr(m.sess.lastSeen.Add(m.opts.IdleTimeout))
		}
	case m.login != nil:
		v.Login = &LoginView{Retries: m.login.retries, Error: m.login.err, Name: m.login.name}
		if m.login.err == nil && !m.login.hsaID.IsZero() {
			v.State = StatePIN
		}
	}
	return v
}

func dateText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return calendar.DateOf(t).String()
}

func minuteText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return calendar.FormatMinute(t)
}

func (m *Counter) flowView(ctx context.Context) *FlowView {
	f := m.flow
	d := map[string]any{"drawer_opened": f.drawerOpened, "card_in": f.cardIn}
	backView(f, d)
	if f.reason != "" {
		d["reason"] = f.reason
		d["days"] = f.days
	}
	if !f.recipient.IsZero() {
		r := map[string]any{"name": f.recipient.Name}
		if !f.recipient.PersonalNumber.IsZero() {
			r["personal_number"] = f.recipient.PersonalNumber.String()
		} else if !f.recipient.HSAID.IsZero() {
			r["hsa_id"] = f.recipient.HSAID.String() // ID-4: no Swedish number
		}
		d["recipient"] = r
		d["facts_at"] = minuteText(f.factsAt)
	}
	if f.doc != nil {
		d["document"] = f.doc
	}
	if len(f.attestors) > 0 {
		d["attestors"] = f.attestors
	}
	if f.step == StepIdentity && (f.kind == KindIssue || f.kind == KindExtend) {
		cards := []map[string]any{}
		for _, a := range f.cardAttestors {
			cards = append(cards, map[string]any{"name": a.Name, "hsa_id": a.HSAID.String(), "role": a.Role})
		}
		d["attestor_cards"] = cards
		typed, err := m.typedAttestorsAllowed(ctx)
		if err != nil {
			m.log.Error("read the station's policy", "err", err)
		}
		d["typed_attestors"] = typed
		if lg := f.attLogin; lg != nil {
			d["attestor_login"] = map[string]any{"name": lg.name, "retries": lg.retries}
		}
	}
	if f.card.Number != "" {
		d["card"] = map[string]any{"number": f.card.Number, "type": f.card.Type, "state": f.card.State,
			"valid_until": dateText(f.card.ValidUntil), "issued": dateText(f.card.IssuedAt), "reason": f.card.Reason}
	}
	if f.chip != "" {
		d["chip"] = f.chip
	}
	if f.order.ID != "" {
		d["order"] = map[string]any{"id": f.order.ID, "ordered": dateText(f.order.OrderedAt), "deadline": f.order.PickupDeadline.String(), "type": f.order.CardType}
	}
	if f.decision != nil {
		d["preview"] = previewOf(f, f.decision)
		d["signers"] = signersOf(f)
	}
	if f.step == StepSign && (f.kind == KindIssue || f.kind == KindExtend || f.kind == KindPickup) {
		noSignView(f, d)
		if lg := f.attLogin; lg != nil {
			d["attestor_login"] = map[string]any{"name": lg.name, "retries": lg.retries}
		}
	}
	if f.ret != nil {
		d["return"] = f.ret
	}
	if len(f.serials) > 0 {
		d["serials"] = f.serials
	}
	if f.shipmentRef != "" {
		d["shipment_ref"] = f.shipmentRef
	}
	if f.result != nil {
		d["result"] = f.result
		if id, ok := f.result["receipt_id"].(string); ok {
			d["print_state"] = m.printState(ctx, id)
		}
	}
	switch {
	case f.kind == KindIssue && f.step == StepReason:
		d["reasons"] = m.reasonChoices(ctx)
	case (f.kind == KindIssue || f.kind == KindPickup) && f.step == StepCard:
		d["stock"] = m.stockList(ctx, stockFilterFor(f))
	case f.kind == KindStockCount || f.kind == KindStockVoid:
		d["stock"] = m.stockList(ctx, string(f.kind))
	case f.kind == KindDayList:
		m.dayListView(ctx, f, d)
	case f.kind == KindAdmins:
		m.adminsView(ctx, f, d)
	}
	if f.kind == KindPickup {
		pickupExtraView(f, d)
	}
	fv := &FlowView{Kind: f.kind, Step: f.step, Errors: f.errors, Data: d}
	fv.StepIndex, fv.StepCount = progressOf(f)
	return fv
}

func stockFilterFor(f *flowState) string {
	if f.kind == KindPickup {
		return "pickup:" + f.card.Number
	}
	return "reserve"
}

type reasonChoice struct {
	Reason rules.Reason `json:"reason"`
	Days   int          `json:"days"`
}

func (m *Counter) reasonChoices(ctx context.Context) []reasonChoice {
	t, err := m.st.ValidityTable(ctx)
	if err != nil {
		m.log.Error("read validity table", "err", err)
		return nil
	}
	var out []reasonChoice
	for _, r := range rules.Reasons() {
		if d, ok := t[r]; ok {
			out = append(out, reasonChoice{Reason: r, Days: d})
		}
	}
	return out
}

// stockCard is a card in the drawer as the screen lists it.
type stockCard struct {
	Serial   string `json:"serial"`
	Type     string `json:"type"`
	State    string `json:"state"`
	Deadline string `json:"pickup_deadline,omitempty"`
	Expired  bool   `json:"pickup_expired,omitempty"`
}

func (m *Counter) stockList(ctx context.Context, filter string) []stockCard {
	var cards []store.StockCard
	var err error
	switch {
	case filter == string(KindStockCount):
		cards, err = m.st.StockCards(ctx, store.StockInDrawer)
	case filter == string(KindStockVoid):
		cards, err = m.st.StockCards(ctx, store.StockVoidable)
	case strings.HasPrefix(filter, "pickup:"):
		var c store.StockCard
		c, err = m.st.StockCard(ctx, strings.TrimPrefix(filter, "pickup:"))
		if err == nil {
			cards = []store.StockCard{c}
		} else if errors.Is(err, store.ErrNotFound) {
			err = nil
		}
	default:
		cards, err = m.st.StockCards(ctx, store.StockReserve)
	}
	if err != nil {
		m.log.Error("read stock", "err", err)
		return nil
	}
	now := m.clock.Now()
	out := []stockCard{}
	for _, sc := range cards {
		c := stockCard{Serial: sc.Serial, Type: string(sc.Type), State: string(sc.State), Deadline: sc.PickupDeadline}
		if d, err := calendar.ParseDate(c.Deadline); err == nil {
			c.Expired = rules.PickupExpired(rules.Order{PickupDeadline: d}, now)
		}
		out = append(out, c)
	}
	return out
}
