package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/kortstation/kortstation/kiosk/audit"
	"github.com/kortstation/kortstation/kiosk/rules"
	"github.com/kortstation/kortstation/kiosk/rules/calendar"
	"github.com/kortstation/kortstation/kiosk/rules/ident"
	"github.com/kortstation/kortstation/sync/protocol"
)

// ErrCardChanged is returned by a record method when the card is no
// longer in the state the decision found it in.
var ErrCardChanged = errors.New("store: the card changed meanwhile")

// Card reads a card as the rules see it: this station's record, the
// registry's latest state of it (approved, activated, blocked …), and for a
// reserve card its issue, reason, validity and extension (RC-5).
// ErrNotFound when the card is not in this station's records.
func (s *Store) Card(ctx context.Context, serial string) (rules.Card, error) {
	return loadCard(ctx, s.reader, serial)
}

func loadCard(ctx context.Context, q querier, serial string) (rules.Card, error) {
	var c rules.Card
	var typ, state string
	var validFrom, validUntil sql.NullString
	err := q.QueryRowContext(ctx, `SELECT serial, type, state, valid_from, valid_until FROM cards WHERE serial = ?`, serial).
		Scan(&c.Number, &typ, &state, &validFrom, &validUntil)
	if errors.Is(err, sql.ErrNoRows) {
		return c, ErrNotFound
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
	c.State = withRegistryState(c.State, refState)
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

// withRegistryState is a card's state once the registry's word (its
// card status, refState) is applied: it moves a handed-out card on (CP-1);
// the station's own later moves (returned, voided, blocked) stay.
func withRegistryState(local rules.CardState, refState string) rules.CardState {
	if local != rules.StateHandedOut && local != rules.StateApproved && local != rules.StateActivated {
		return local
	}
	switch refState {
	case "approved":
		return rules.StateApproved
	case "activated":
		return rules.StateActivated
	case "blocked":
		return rules.StateBlocked
	case "returned":
		return rules.StateReturned
	}
	return local
}

// localCards are the cards this station handed out to p.
func (s *Store) localCards(ctx context.Context, p rules.Person) ([]rules.Card, error) {
	rows, err := s.reader.QueryContext(ctx, `SELECT c.serial FROM cards c JOIN persons p ON p.id = c.holder
		WHERE p.personal_number = ?`, Canonical(p.PersonalNumber))
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
	for _, serial := range serials {
		c, err := loadCard(ctx, s.reader, serial)
		if err != nil {
			return nil, err
		}
		c.Holder = p
		out = append(out, c)
	}
	return out, nil
}

// Holder is the recipient a card was handed out to (by personal number);
// ErrNotFound when the card has no holder here.
func (s *Store) Holder(ctx context.Context, serial string) (rules.Recipient, error) {
	var pnr, name sql.NullString
	err := s.reader.QueryRowContext(ctx, `SELECT p.personal_number, p.name FROM cards c JOIN persons p ON p.id = c.holder WHERE c.serial = ?`, serial).Scan(&pnr, &name)
	if errors.Is(err, sql.ErrNoRows) {
		return rules.Recipient{}, ErrNotFound
	}
	if err != nil {
		return rules.Recipient{}, fmt.Errorf("read holder: %w", err)
	}
	p, err := ident.ParsePersonalNumber(pnr.String)
	if err != nil {
		return rules.Recipient{}, fmt.Errorf("stored personal number: %w", err)
	}
	return rules.Recipient{Person: rules.Person{PersonalNumber: p}, Name: name.String}, nil
}

// StockCard is a card of this station as the stock screens list it.
type StockCard struct {
	Serial         string
	Type           rules.CardType
	State          rules.CardState
	PickupDeadline string // YYYY-MM-DD, "" when none
}

// StockList selects the cards a stock screen lists.
type StockList int

// The lists.
const (
	// StockReserve: reserve cards in the drawer (issuance).
	StockReserve StockList = iota
	// StockInDrawer: every card in the drawer (count).
	StockInDrawer
	// StockVoidable: cards in the drawer, returned, expired or blocked
	// (void, RC-8).
	StockVoidable
)

// StockCards lists the cards of list.
func (s *Store) StockCards(ctx context.Context, list StockList) ([]StockCard, error) {
	const cols = `SELECT serial, type, state, coalesce(pickup_deadline, '') FROM cards `
	q := cols + `WHERE state = 'in_stock' AND type = 'reserve' ORDER BY serial`
	switch list {
	case StockInDrawer:
		q = cols + `WHERE state = 'in_stock' ORDER BY type, serial`
	case StockVoidable:
		q = cols + `WHERE state IN ('in_stock', 'returned', 'expired', 'blocked') ORDER BY state, serial`
	}
	return stockCards(ctx, s.reader, q)
}

// StockCard reads one card of this station's; ErrNotFound when unknown.
func (s *Store) StockCard(ctx context.Context, serial string) (StockCard, error) {
	cs, err := stockCards(ctx, s.reader, `SELECT serial, type, state, coalesce(pickup_deadline, '') FROM cards WHERE serial = ?`, serial)
	if err != nil {
		return StockCard{}, err
	}
	if len(cs) == 0 {
		return StockCard{}, ErrNotFound
	}
	return cs[0], nil
}

func stockCards(ctx context.Context, q querier, query string, args ...any) ([]StockCard, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("read stock: %w", err)
	}
	defer rows.Close()
	out := []StockCard{}
	for rows.Next() {
		var c StockCard
		var typ, state string
		if err := rows.Scan(&c.Serial, &typ, &state, &c.PickupDeadline); err != nil {
			return out, fmt.Errorf("read stock: %w", err)
		}
		c.Type, c.State = rules.CardType(typ), rules.CardState(state)
		out = append(out, c)
	}
	return out, rows.Err()
}

// CardCounts counts this station's cards by type and state.
func (s *Store) CardCounts(ctx context.Context) (map[rules.CardType]map[rules.CardState]int, error) {
	rows, err := s.reader.QueryContext(ctx, `SELECT type, state, count(*) FROM cards GROUP BY type, state`)
	if err != nil {
		return nil, fmt.Errorf("read stock: %w", err)
	}
	defer rows.Close()
	out := map[rules.CardType]map[rules.CardState]int{}
	for rows.Next() {
		var t, st string
		var n int
		if err := rows.Scan(&t, &st, &n); err != nil {
			return out, fmt.Errorf("read stock: %w", err)
		}
		if out[rules.CardType(t)] == nil {
			out[rules.CardType(t)] = map[rules.CardState]int{}
		}
		out[rules.CardType(t)][rules.CardState(st)] = n
	}
	return out, rows.Err()
}

// storedState is the card's state in the station's own table (the rules
// may see a newer state from the registry).
func (t *Tx) storedState(ctx context.Context, serial string, fallback rules.CardState) rules.CardState {
	var s string
	if err := t.tx.QueryRowContext(ctx, `SELECT state FROM cards WHERE serial = ?`, serial).Scan(&s); err != nil {
		return fallback
	}
	return rules.CardState(s)
}

// cardChange is one move of a card's life.
type cardChange struct {
	serial   string
	from, to rules.CardState
	rule     string
	reason   string
	session  string
	at       time.Time
	// holder and validity are set on hand-out (holder > 0).
	holder           int64
	validFrom, until time.Time
}

// setCardState moves a card from one state to another with its history
// row, refusing with ErrCardChanged if it is no longer where the decision
// found it.
func (t *Tx) setCardState(ctx context.Context, c cardChange) error {
	var res sql.Result
	var err error
	if c.holder > 0 {
		res, err = t.tx.ExecContext(ctx, `UPDATE cards SET state = ?, updated_at = ?, holder = ?, valid_from = ?, valid_until = ? WHERE serial = ? AND state = ?`,
			string(c.to), ts(c.at), c.holder, ts(c.validFrom), ts(c.until), c.serial, string(c.from))
	} else {
		res, err = t.tx.ExecContext(ctx, `UPDATE cards SET state = ?, updated_at = ? WHERE serial = ? AND state = ?`,
			string(c.to), ts(c.at), c.serial, string(c.from))
	}
	if err != nil {
		return fmt.Errorf("update card: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return ErrCardChanged
	}
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO card_state_changes (card_serial, from_state, to_state, rule, reason, session_id, at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		c.serial, string(c.from), string(c.to), c.rule, c.reason, nullIfEmpty(c.session), ts(c.at)); err != nil {
		return fmt.Errorf("insert state change: %w", err)
	}
	return nil
}

// movement records a card entering or leaving stock and queues it for the
// registry.
func (t *Tx) movement(ctx context.Context, serial, kind, shipment, session string, at time.Time) error {
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO stock_movements (card_serial, kind, shipment_ref, session_id, at) VALUES (?, ?, ?, ?, ?)`,
		serial, kind, nullIfEmpty(shipment), nullIfEmpty(session), ts(at)); err != nil {
		return fmt.Errorf("insert stock movement: %w", err)
	}
	_, err := t.Enqueue(ctx, protocol.StockMovementPayload{CardSerial: serial, Movement: kind, ShipmentRef: shipment})
	return err
}

// latestIssuance is the ID of the card's newest issuance of kind (any
// kind when ""); "" when none.
func (t *Tx) latestIssuance(ctx context.Context, serial, kind string) string {
	q, args := `SELECT id FROM issuances WHERE card_serial = ? ORDER BY created_at DESC LIMIT 1`, []any{serial}
	if kind != "" {
		q, args = `SELECT id FROM issuances WHERE card_serial = ? AND kind = ? ORDER BY created_at DESC LIMIT 1`, []any{serial, kind}
	}
	var id string
	if err := t.tx.QueryRowContext(ctx, q, args...).Scan(&id); err != nil {
		return ""
	}
	return id
}

// Return is a card handed back, as decided by rules.ReturnCard (RC-6).
type Return struct {
	IssuanceID string
	Card       rules.Card // Number, Type and the State the decision saw
	Decision   rules.ReturnDecision
	Session    Session
	At         time.Time
}

// RecordReturn stores a return: the card's new state, the stock movement,
// the return issuance referring to the card's last issuance, the audit
// entry and the registry's events.
func (t *Tx) RecordReturn(ctx context.Context, r Return) error {
	c, d := r.Card, r.Decision
	if err := t.setCardState(ctx, cardChange{serial: c.Number, from: t.storedState(ctx, c.Number, c.State), to: d.NewState,
		rule: "RC-6", session: r.Session.ID, at: r.At}); err != nil {
		return err
	}
	if err := t.movement(ctx, c.Number, "returned", "", r.Session.ID, r.At); err != nil {
		return err
	}
	refers := t.latestIssuance(ctx, c.Number, "")
	var pid any
	_ = t.tx.QueryRowContext(ctx, `SELECT holder FROM cards WHERE serial = ?`, c.Number).Scan(&pid)
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO issuances (id, kind, card_serial, person_id, session_id, refers_to, created_at, clock_source) VALUES (?, 'return', ?, ?, ?, ?, ?, ?)`,
		r.IssuanceID, c.Number, pid, r.Session.ID, nullIfEmpty(refers), ts(r.At), t.clock.Source()); err != nil {
		return fmt.Errorf("insert return: %w", err)
	}
	detail := map[string]any{"card": c.Number, "session": r.Session.ID, "cut_and_return": d.CutAndReturn, "block_certificates": d.BlockCertificates}
	if d.Deviation != nil {
		detail["deviation"] = string(d.Deviation.Key)
	}
	if _, err := t.Audit(ctx, audit.Entry{Kind: "card.returned", Actor: r.Session.Operator, Subject: r.IssuanceID, Detail: detail}); err != nil {
		return err
	}
	_, err := t.Enqueue(ctx, protocol.ReturnPayload{IssuanceID: r.IssuanceID, CardSerial: c.Number,
		CardType: string(c.Type), RefersTo: refers, Operator: r.Session.Operator})
	return err
}

// BlockRequest is a block request decided by rules.RequestBlock (BL-1).
type BlockRequest struct {
	Card     rules.Card // Number and the State the decision saw
	NewState rules.CardState
	Reason   string
	Session  Session
	At       time.Time
}

// RecordBlockRequest stores a block request: the card's new state, the
// audit entry and the request to the registry.
func (t *Tx) RecordBlockRequest(ctx context.Context, b BlockRequest) error {
	c := b.Card
	if err := t.setCardState(ctx, cardChange{serial: c.Number, from: t.storedState(ctx, c.Number, c.State), to: b.NewState,
		rule: "BL-1", reason: b.Reason, session: b.Session.ID, at: b.At}); err != nil {
		return err
	}
	if _, err := t.Audit(ctx, audit.Entry{Kind: "card.block_requested", Actor: b.Session.Operator, Subject: c.Number,
		Detail: map[string]any{"reason": b.Reason, "session": b.Session.ID}}); err != nil {
		return err
	}
	_, err := t.Enqueue(ctx, protocol.BlockRequestPayload{CardSerial: c.Number, Reason: b.Reason, Operator: b.Session.Operator})
	return err
}

// RecordVoid stores a card voided under rule (RC-8: cut through chip and
// stripe; CP-4: not picked up in time): the card's new state, the stock
// movement and the audit entry.
func (t *Tx) RecordVoid(ctx context.Context, c rules.Card, rule string, s Session, at time.Time) error {
	if err := t.setCardState(ctx, cardChange{serial: c.Number, from: t.storedState(ctx, c.Number, c.State), to: rules.StateVoided,
		rule: rule, session: s.ID, at: at}); err != nil {
		return err
	}
	if err := t.movement(ctx, c.Number, "voided", "", s.ID, at); err != nil {
		return err
	}
	_, err := t.Audit(ctx, audit.Entry{Kind: "card.voided", Actor: s.Operator, Subject: c.Number,
		Detail: map[string]any{"rule": rule, "session": s.ID}})
	return err
}
