package flow

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/kortstation/kortstation/kiosk/rules"
	"github.com/kortstation/kortstation/kiosk/rules/calendar"
	"github.com/kortstation/kortstation/kiosk/rules/ident"
	"github.com/kortstation/kortstation/sync/protocol"
)

// querier is a *sql.DB or *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// authorisedAdmins is the registry's list of issuing administrators (AD-1).
func authorisedAdmins(ctx context.Context, q querier) ([]ident.HSAID, error) {
	rows, err := q.QueryContext(ctx, `SELECT hsa_id FROM operators WHERE authorised = 1`)
	if err != nil {
		return nil, fmt.Errorf("read operators: %w", err)
	}
	defer rows.Close()
	var out []ident.HSAID
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, fmt.Errorf("read operators: %w", err)
		}
		if h, err := ident.ParseHSAID(s); err == nil {
			out = append(out, h)
		}
	}
	return out, rows.Err()
}

// validityTable is the registry's reason → validity table (RC-1).
func validityTable(ctx context.Context, q querier) (rules.ValidityTable, error) {
	rows, err := q.QueryContext(ctx, `SELECT reason, max_days FROM ref_validity`)
	if err != nil {
		return nil, fmt.Errorf("read validity table: %w", err)
	}
	defer rows.Close()
	t := rules.ValidityTable{}
	for rows.Next() {
		var r string
		var d int
		if err := rows.Scan(&r, &d); err != nil {
			return nil, fmt.Errorf("read validity table: %w", err)
		}
		t[rules.Reason(r)] = d
	}
	return t, rows.Err()
}

// stopWindows are the registry's order and total stops (CP-3).
func stopWindows(ctx context.Context, q querier) ([]rules.StopWindow, error) {
	rows, err := q.QueryContext(ctx, `SELECT kind, starts, ends FROM ref_stop_windows ORDER BY starts`)
	if err != nil {
		return nil, fmt.Errorf("read stop windows: %w", err)
	}
	defer rows.Close()
	var out []rules.StopWindow
	for rows.Next() {
		var k, s, e string
		if err := rows.Scan(&k, &s, &e); err != nil {
			return nil, fmt.Errorf("read stop windows: %w", err)
		}
		w := rules.StopWindow{Kind: rules.StopKind(k)}
		w.Start, _ = time.Parse(time.RFC3339, s)
		w.End, _ = time.Parse(time.RFC3339, e)
		out = append(out, w)
	}
	return out, rows.Err()
}

// registryFor assembles what the rules need to know about one person: the
// registry's facts (cards, orders, reserve cards at every station), this
// station's own cards of the person not yet reflected there, the
// administrators, the stops and the validity table.
func registryFor(ctx context.Context, q querier, p rules.Person) (rules.Registry, error) {
	var reg rules.Registry
	var err error
	if reg.AuthorisedAdmins, err = authorisedAdmins(ctx, q); err != nil {
		return reg, err
	}
	if reg.StopWindows, err = stopWindows(ctx, q); err != nil {
		return reg, err
	}
	if reg.Validity, err = validityTable(ctx, q); err != nil {
		return reg, err
	}
	if p.PersonalNumber.IsZero() {
		return reg, nil
	}
	var raw string
	err = q.QueryRowContext(ctx, `SELECT facts FROM ref_person_facts WHERE personal_number = ?`, canonical(p.PersonalNumber)).Scan(&raw)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return reg, fmt.Errorf("read person facts: %w", err)
	}
	if raw != "" {
		if err := parseFacts([]byte(raw), p, &reg); err != nil {
			return reg, err
		}
	}
	local, err := localCards(ctx, q, p)
	if err != nil {
		return reg, err
	}
	for _, c := range local {
		dup := false
		for i, r := range reg.Cards {
			if rules.NormaliseSerial(r.Number) == rules.NormaliseSerial(c.Number) {
				reg.Cards[i] = c // the station's own record is the newer one
				dup = true
			}
		}
		if !dup {
			reg.Cards = append(reg.Cards, c)
		}
	}
	return reg, nil
}

// canonical is the personal number as stored: YYYYMMDDNNNC.
func canonical(p ident.PersonalNumber) string {
	s := p.String()
	out := make([]byte, 0, 12)
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			out = append(out, s[i])
		}
	}
	return string(out)
}

// parseFacts adds the registry's person facts document
// (protocol.PersonFactsDoc) about p to reg.
func parseFacts(b []byte, p rules.Person, reg *rules.Registry) error {
	var f protocol.PersonFactsDoc
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("person facts: %w", err)
	}
	for _, c := range f.RegularCards {
		ct := rules.CardType(c.Type)
		if !ct.Valid() || ct == rules.CardReserve {
			ct = rules.CardSIS
		}
		reg.Cards = append(reg.Cards, rules.Card{Number: c.Serial, Type: ct, State: regularState(c.State), Holder: p})
	}
	for i, o := range f.Orders {
		ord := rules.Order{ID: o.ID, Kind: rules.OrderKind(o.Type), Status: rules.OrderStatus(o.Status), CardType: rules.CardType(o.CardType), Holder: p}
		if ord.ID == "" {
			ord.ID = fmt.Sprintf("order-%d", i+1)
		}
		if ord.Status == "" {
			ord.Status = rules.OrderOpen
		}
		if ord.Kind == rules.OrderRegular && ord.CardType == "" {
			ord.CardType = rules.CardSIS
		}
		if d, err := calendar.ParseDate(o.Ordered); err == nil {
			ord.OrderedAt = d.At(12, 0)
		}
		if d, err := calendar.ParseDate(o.PickupDeadline); err == nil {
			ord.PickupDeadline = d
		}
		reg.Orders = append(reg.Orders, ord)
	}
	for _, c := range f.ReserveCards {
		card := rules.Card{Number: c.Serial, Type: rules.CardReserve, State: rules.StateApproved, Holder: p,
			Reason: rules.Reason(c.Reason), Station: c.Station}
		if s := rules.CardState(c.State); s != "" {
			card.State = s
		}
		if t, err := time.Parse(time.RFC3339, c.ValidUntil); err == nil {
			card.ValidUntil = t
		}
		reg.Cards = append(reg.Cards, card)
	}
	return nil
}

// orderCardSerial returns the serial of the produced card of an order in
// the facts, if the registry named one.
func orderCardSerial(b []byte, orderID string) string {
	var f protocol.PersonFactsDoc
	if json.Unmarshal(b, &f) != nil {
		return ""
	}
	for i, o := range f.Orders {
		id := o.ID
		if id == "" {
			id = fmt.Sprintf("order-%d", i+1)
		}
		if id == orderID {
			return o.CardSerial
		}
	}
	return ""
}

func regularState(s string) rules.CardState {
	switch s {
	case "active", "activated", "":
		return rules.StateActivated
	case "lost", "stolen", "broken", "damaged", "blocked":
		return rules.StateBlocked
	}
	if st := rules.CardState(s); st != "" {
		for _, k := range rules.States() {
			if k == st {
				return st
			}
		}
	}
	return rules.StateActivated
}

// localCards are the cards this station handed out to p.
func localCards(ctx context.Context, q querier, p rules.Person) ([]rules.Card, error) {
	rows, err := q.QueryContext(ctx, `SELECT c.serial FROM cards c JOIN persons p ON p.id = c.holder
		WHERE p.personal_number = ?`, canonical(p.PersonalNumber))
	if err != nil {
		return nil, fmt.Errorf("read local cards: %w", err)
	}
	var serials []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read local cards: %w", err)
		}
		serials = append(serials, s)
	}
	rows.Close()
	var out []rules.Card
	for _, s := range serials {
		c, err := loadCard(ctx, q, s)
		if err != nil {
			return nil, err
		}
		c.Holder = p
		out = append(out, c)
	}
	return out, nil
}

// errUnknownCard: the card is not in this station's records.
var errUnknownCard = errors.New("card not known at this station")

// loadCard reads a card as the rules see it: this station's record, the
// registry's latest state of it (approved, activated, blocked …), and for a
// reserve card its issue, reason, validity and extension (RC-5).
func loadCard(ctx context.Context, q querier, serial string) (rules.Card, error) {
	var c rules.Card
	var typ, state string
	var validFrom, validUntil sql.NullString
	err := q.QueryRowContext(ctx, `SELECT serial, type, state, valid_from, valid_until FROM cards WHERE serial = ?`, serial).
		Scan(&c.Number, &typ, &state, &validFrom, &validUntil)
	if errors.Is(err, sql.ErrNoRows) {
		return c, errUnknownCard
	}
	if err != nil {
		return c, fmt.Errorf("read card: %w", err)
	}
	c.Type, c.State = rules.CardType(typ), rules.CardState(state)
	if validUntil.Valid {
		c.ValidUntil, _ = time.Parse(time.RFC3339, validUntil.String)
	}
	var refState string
	err = q.QueryRowContext(ctx, `SELECT state FROM ref_card_status WHERE serial = ?`, serial).Scan(&refState)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("read card status: %w", err)
	}
	// The registry's word moves a handed-out card on (CP-1); the station's
	// own later moves (returned, voided, blocked) stay.
	if c.State == rules.StateHandedOut || c.State == rules.StateApproved || c.State == rules.StateActivated {
		switch refState {
		case "approved":
			c.State = rules.StateApproved
		case "activated":
			c.State = rules.StateActivated
		case "blocked":
			c.State = rules.StateBlocked
		case "returned":
			c.State = rules.StateReturned
		}
	}
	var reason, from, until sql.NullString
	var created string
	err = q.QueryRowContext(ctx, `SELECT reason, valid_from, valid_until, created_at FROM issuances
		WHERE card_serial = ? AND kind = 'reserve' ORDER BY created_at DESC LIMIT 1`, serial).Scan(&reason, &from, &until, &created)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("read issuance: %w", err)
	}
	if err == nil {
		c.IssuedAt, _ = time.Parse(time.RFC3339Nano, created)
		c.Reason = rules.Reason(reason.String)
		f, _ := time.Parse(time.RFC3339, from.String)
		u, _ := time.Parse(time.RFC3339, until.String)
		if !f.IsZero() && !u.IsZero() {
			c.ValidityDays = calendar.DaysBetween(calendar.DateOf(f), calendar.DateOf(u))
		}
		var ext string
		err = q.QueryRowContext(ctx, `SELECT created_at FROM issuances WHERE card_serial = ? AND kind = 'extension' ORDER BY created_at DESC LIMIT 1`, serial).Scan(&ext)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return c, fmt.Errorf("read extension: %w", err)
		}
		if err == nil {
			c.ExtendedAt, _ = time.Parse(time.RFC3339Nano, ext)
		}
	}
	return c, nil
}

// dataAge is how old the registry's person facts are: when they were
// last completely in step (sync), zero when never.
func dataAge(ctx context.Context, q querier, kind string) time.Time {
	var at sql.NullString
	if err := q.QueryRowContext(ctx, `SELECT complete_at FROM ref_cursors WHERE kind = ?`, kind).Scan(&at); err != nil || !at.Valid {
		return time.Time{}
	}
	t, _ := time.Parse(time.RFC3339Nano, at.String)
	return t
}

// errNoOrderFacts: the registry has no facts under the order number.
var errNoOrderFacts = errors.New("no registry facts for the order")

// registryForOrder assembles what the rules need for the pickup of staff
// without a Swedish personal or coordination number (ID-4): the registry
// keys their facts by the order number, and names the holder by HSA-ID
// ("holder_hsa_id"). It returns the registry, the holder and the raw
// facts.
func registryForOrder(ctx context.Context, q querier, orderID string) (rules.Registry, rules.Person, string, error) {
	reg, err := registryFor(ctx, q, rules.Person{})
	if err != nil {
		return reg, rules.Person{}, "", err
	}
	var raw string
	err = q.QueryRowContext(ctx, `SELECT facts FROM ref_person_facts WHERE personal_number = ?`, orderID).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) || orderID == "" {
		return reg, rules.Person{}, "", errNoOrderFacts
	}
	if err != nil {
		return reg, rules.Person{}, "", fmt.Errorf("read order facts: %w", err)
	}
	var holder protocol.PersonFactsDoc
	if err := json.Unmarshal([]byte(raw), &holder); err != nil {
		return reg, rules.Person{}, "", fmt.Errorf("order facts: %w", err)
	}
	h, err := ident.ParseHSAID(holder.HolderHSAID)
	if err != nil {
		return reg, rules.Person{}, "", fmt.Errorf("%w: holder: %w", errNoOrderFacts, err)
	}
	p := rules.Person{HSAID: h}
	if err := parseFacts([]byte(raw), p, &reg); err != nil {
		return reg, p, "", err
	}
	return reg, p, raw, nil
}
