package counter

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"unicode"

	"github.com/kortstation/kortstation/kiosk/rules"
	"github.com/kortstation/kortstation/kiosk/rules/calendar"
	"github.com/kortstation/kortstation/kiosk/store"
)

// The day list (issue 13, item 5): this station's issuances, extensions,
// pickups and returns of today and the days before, searchable by name,
// personal number and card number; each receipt with a reprint of its
// stored PDF and a correction (RE-3, correction.go); the reserve cards out
// from this station with their last valid day, the overdue ones marked
// (RC-6); and the ordered cards waiting to be picked up (ID-3, CP-4). It
// is a flow like the others: only the logged-in operator's connection sees
// it, and the search terms live in the session, never in a URL or a log.

// defaultDays is the period the list starts with: today and the six days
// before.
const defaultDays = 7

// dayPeriods are the periods the operator can choose, in days.
var dayPeriods = []int{1, 7, 30}

// maxDayEntries bounds the list read per view.
const maxDayEntries = 500

// maxQuery bounds a search term.
const maxQuery = 64

// dayList is the day list's state in the session.
type dayList struct {
	query string
	days  int
	corr  *correction // a correction in progress (correction.go)
}

// SearchInput is the day list's search: a name, personal number or card
// number (any part of it), and the period in days.
type SearchInput struct {
	Query string `json:"query"`
	Days  int    `json:"days"`
}

// ReceiptInput names a receipt of the list.
type ReceiptInput struct {
	ReceiptID string `json:"receipt_id"`
}

var errReceiptUnknown = refuse(msg("receipt.unknown", "Kvittensen finns inte på den här stationen.", "The receipt is not at this station."))

func (m *Counter) dayListStep(ctx context.Context, f *flowState, step Action, data json.RawMessage) error {
	switch {
	case step == ActSearch && f.step == StepList:
		var req SearchInput
		if err := decode(data, &req); err != nil {
			return err
		}
		q := strings.TrimSpace(req.Query)
		if len([]rune(q)) > maxQuery {
			return refuse(msg("search.too_long", "Sökningen är för lång. Skriv en del av namnet, personnumret eller kortnumret.",
				"The search is too long. Type part of the name, personal number or card number."))
		}
		days := req.Days
		if days == 0 {
			days = f.day.days
		}
		ok := false
		for _, p := range dayPeriods {
			ok = ok || p == days
		}
		if !ok {
			return refuse(msg("search.period", "Välj i dag, 7 dagar eller 30 dagar.", "Choose today, 7 days or 30 days."))
		}
		f.day.query, f.day.days = q, days
		return nil

	case step == ActReprint && (f.step == StepList || f.step == StepDone):
		var req ReceiptInput
		if err := decode(data, &req); err != nil {
			return err
		}
		return m.dayReprint(ctx, strings.TrimSpace(req.ReceiptID))

	case step == ActCorrect && f.step == StepList:
		var req ReceiptInput
		if err := decode(data, &req); err != nil {
			return err
		}
		return m.startCorrection(ctx, f, strings.TrimSpace(req.ReceiptID))

	case step == ActConfirm && f.step == StepCorrect:
		var req CorrectionInput
		if err := decode(data, &req); err != nil {
			return err
		}
		return m.prepareCorrection(ctx, f, req)

	case step == ActSign && f.step == StepSign && f.day.corr != nil:
		var req SignatureInput
		if err := decode(data, &req); err != nil {
			return err
		}
		return m.sign(f, req)

	case step == ActComplete && f.step == StepSign && f.day.corr != nil:
		return m.completeCorrection(ctx, f)

	case step == ActList && f.step != StepList:
		m.backToList(f)
		return nil
	}
	return errWrongStep
}

// backToList leaves a correction (done or not) for the list; nothing of
// it stays in the session.
func (m *Counter) backToList(f *flowState) {
	f.day.corr = nil
	f.recipient, f.doc, f.attestors, f.result, f.ground = rules.Recipient{}, nil, nil, nil, ""
	clear(f.sigs)
	f.step = StepList
}

// dayReprint prints a stored receipt of this station again, from the day
// list: the stored PDF byte for byte through the printer, never a new
// rendering and never a new receipt (RE-3). A receipt being printed is not
// sent twice. The reprint is audited.
func (m *Counter) dayReprint(ctx context.Context, id string) error {
	rec, err := m.st.ReceiptRecord(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return errReceiptUnknown
	}
	if err != nil {
		return err
	}
	if rec.PrintState == store.PrintPrinting {
		return refuse(msg("print.busy", "Kvittensen skrivs ut just nu. Vänta tills den är klar.", "The receipt is printing now. Wait until it is done."))
	}
	if m.printer == nil {
		return refuse(msg("print.no_printer", "Stationen har ingen skrivare.", "The station has no printer."))
	}
	stored, err := m.st.Receipt(ctx, id)
	if err != nil {
		return err
	}
	if len(stored.PDF) == 0 {
		return errRedacted // retention removed it
	}
	if err := m.st.Update(ctx, m.clock, func(t *store.Tx) error { return t.RecordReprint(ctx, id, sessionOf(m.sess)) }); err != nil {
		return err
	}
	m.print(ctx, id, stored.PDF)
	return nil
}

// dayEntry is one line of the list as the screen shows it.
type dayEntry struct {
	IssuanceID     string `json:"issuance_id"`
	Kind           string `json:"kind"`
	CardNumber     string `json:"card_number"`
	CardType       string `json:"card_type"`
	At             string `json:"at"`
	Date           string `json:"date"`
	Name           string `json:"name"`
	PersonalNumber string `json:"personal_number,omitempty"`
	HSAID          string `json:"hsa_id,omitempty"`
	ReceiptID      string `json:"receipt_id,omitempty"`
	Version        int    `json:"version,omitempty"`
	PrintState     string `json:"print_state,omitempty"`
}

// outCard is a reserve card out from this station (RC-6).
type outCard struct {
	CardNumber     string `json:"card_number"`
	Name           string `json:"name"`
	PersonalNumber string `json:"personal_number,omitempty"`
	State          string `json:"state"`
	// ValidThrough is the last valid day; Overdue marks a card that should
	// have been returned (RC-6), and Why says why (a deviation key).
	ValidThrough string `json:"valid_through"`
	Overdue      bool   `json:"overdue"`
	Why          string `json:"why,omitempty"`
}

// waitingPickup is an ordered card waiting for its holder.
type waitingPickup struct {
	CardNumber     string `json:"card_number"`
	CardType       string `json:"card_type"`
	Deadline       string `json:"deadline"`
	Expired        bool   `json:"expired"`
	PersonalNumber string `json:"personal_number,omitempty"`
}

// dayListView puts the day list, or the correction in progress, into the
// flow's view.
func (m *Counter) dayListView(ctx context.Context, f *flowState, d map[string]any) {
	if f.day == nil {
		return
	}
	if f.day.corr != nil {
		m.correctionView(f, d)
		return
	}
	if f.step != StepList {
		return
	}
	now := m.clock.Now()
	since := calendar.DateOf(now).AddDays(-(f.day.days - 1)).Start()
	q := newSearch(f.day.query)
	list := map[string]any{"query": f.day.query, "days": f.day.days, "periods": dayPeriods, "today": calendar.DateOf(now).String()}

	entries := []dayEntry{}
	es, err := m.st.DayEntries(ctx, since, maxDayEntries)
	if err != nil {
		m.log.Error("read the day list", "err", err)
		list["error"] = true
	}
	for _, e := range es {
		pnr := showPersonalNumber(e.PersonalNumber)
		if !q.matches(e.Name, pnr, e.CardSerial) {
			continue
		}
		entries = append(entries, dayEntry{IssuanceID: e.IssuanceID, Kind: e.Kind, CardNumber: e.CardSerial, CardType: string(e.CardType),
			At: minuteText(e.At), Date: dateText(e.At), Name: e.Name, PersonalNumber: pnr, HSAID: e.HSAID,
			ReceiptID: e.ReceiptID, Version: e.Versions, PrintState: e.PrintState})
	}
	list["entries"] = entries

	out := []outCard{}
	cards, err := m.st.ReserveCardsOut(ctx)
	if err != nil {
		m.log.Error("read the reserve cards out", "err", err)
		list["error"] = true
	}
	var rc []rules.Card
	for _, o := range cards {
		rc = append(rc, o.Card)
	}
	overdue := map[string]string{}
	for _, dev := range rules.Unreturned(rc, now, 0) {
		overdue[dev.CardNumber] = string(dev.Key)
	}
	for _, o := range cards {
		pnr := showPersonalNumber(o.PersonalNumber)
		if !q.matches(o.Name, pnr, o.Card.Number) {
			continue
		}
		oc := outCard{CardNumber: o.Card.Number, Name: o.Name, PersonalNumber: pnr, State: string(o.Card.EffectiveState(now))}
		if !o.Card.ValidUntil.IsZero() {
			oc.ValidThrough = calendar.DateOf(o.Card.ValidUntil).AddDays(-1).String()
		}
		oc.Why, oc.Overdue = overdue[o.Card.Number], overdue[o.Card.Number] != ""
		out = append(out, oc)
	}
	list["reserve_out"] = out

	pickups := []waitingPickup{}
	ws, err := m.st.PickupsWaiting(ctx)
	if err != nil {
		m.log.Error("read the pickups waiting", "err", err)
		list["error"] = true
	}
	for _, w := range ws {
		pnr := showPersonalNumber(w.Holder)
		if !q.matches("", pnr, w.Serial) {
			continue
		}
		p := waitingPickup{CardNumber: w.Serial, CardType: string(w.Type), Deadline: w.Deadline, PersonalNumber: pnr}
		if dl, err := calendar.ParseDate(w.Deadline); err == nil {
			p.Expired = rules.PickupExpired(rules.Order{PickupDeadline: dl}, now)
		}
		pickups = append(pickups, p)
	}
	list["pickups"] = pickups
	d["daylist"] = list
}

// showPersonalNumber writes a canonical personal number YYYYMMDDNNNC as
// YYYYMMDD-NNNC; anything else (an order number) as it is.
func showPersonalNumber(s string) string {
	if len(s) != 12 || strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
		return s
	}
	return s[:8] + "-" + s[8:]
}

// search is a search term as the list matches it: any part of a name
// (without case), of a personal number (its digits) or of a card number
// (without spaces or hyphens).
type search struct {
	text, digits, serial string
}

func newSearch(q string) search {
	q = strings.TrimSpace(q)
	s := search{text: strings.ToLower(q)}
	if strings.IndexFunc(q, unicode.IsLetter) < 0 {
		s.digits = strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, q)
	}
	s.serial = rules.NormaliseSerial(q)
	return s
}

func (s search) matches(name, pnr, serial string) bool {
	if s.text == "" {
		return true
	}
	if name != "" && strings.Contains(strings.ToLower(name), s.text) {
		return true
	}
	if s.digits != "" && strings.Contains(strings.ReplaceAll(pnr, "-", ""), s.digits) {
		return true
	}
	return s.serial != "" && strings.Contains(rules.NormaliseSerial(serial), s.serial)
}
