package store

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

// This file is the one reader (and the writer) of the reference data
// pulled from the registry: the counter's facts for the rules (Registry,
// RegistryForOrder, AuthorisedAdmins, ValidityTable, StopWindows,
// PersonFacts, Blocked) and sync's bookkeeping (Cursors, RefStates).

// AuthorisedAdmins is the registry's list of issuing administrators
// (AD-1), less those whose removal was asked for at this station and is
// pending (AD-2, admins.go).
func (s *Store) AuthorisedAdmins(ctx context.Context) ([]ident.HSAID, error) {
	return authorisedAdmins(ctx, s.reader)
}

func authorisedAdmins(ctx context.Context, q querier) ([]ident.HSAID, error) {
	rows, err := q.QueryContext(ctx, `SELECT hsa_id FROM operators WHERE authorised = 1 AND hsa_id NOT IN (`+pendingRemovals+`)`)
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

// OperatorName is the name the registry gives an administrator;
// ErrNotFound when the registry does not list them.
func (s *Store) OperatorName(ctx context.Context, h ident.HSAID) (string, error) {
	var name string
	err := s.reader.QueryRowContext(ctx, `SELECT name FROM operators WHERE hsa_id = ?`, h.String()).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("read operator: %w", err)
	}
	return name, nil
}

// HasOperators reports whether any administrator is on the list.
func (s *Store) HasOperators(ctx context.Context) (bool, error) {
	var n int
	if err := s.reader.QueryRowContext(ctx, `SELECT count(*) FROM operators`).Scan(&n); err != nil {
		return false, fmt.Errorf("count operators: %w", err)
	}
	return n > 0, nil
}

// ValidityTable is the registry's reason → validity table (RC-1).
func (s *Store) ValidityTable(ctx context.Context) (rules.ValidityTable, error) {
	return validityTable(ctx, s.reader)
}

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

// StopWindows are the registry's order and total stops (CP-3), by start.
func (s *Store) StopWindows(ctx context.Context) ([]rules.StopWindow, error) {
	return stopWindows(ctx, s.reader)
}

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

// PersonFacts returns the registry's facts document under key: a
// canonical personal number, or an order number for staff without one
// (ID-4). ErrNotFound when the registry has none.
func (s *Store) PersonFacts(ctx context.Context, key string) (json.RawMessage, error) {
	return personFacts(ctx, s.reader, key)
}

func personFacts(ctx context.Context, q querier, key string) (json.RawMessage, error) {
	var f string
	err := q.QueryRowContext(ctx, `SELECT facts FROM ref_person_facts WHERE personal_number = ?`, key).Scan(&f)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read person facts: %w", err)
	}
	return json.RawMessage(f), nil
}

// BlockedCard is a card on the registry's list of blocked cards (BL-1).
type BlockedCard struct {
	Serial    string
	Reason    string
	BlockedAt time.Time
}

// Blocked returns the entries of the registry's list of blocked cards
// (BL-1) among serials, compared as printed serials (RC-9: spaces, hyphens
// and case do not matter).
func (s *Store) Blocked(ctx context.Context, serials ...string) ([]BlockedCard, error) {
	return blockedAmong(ctx, s.reader, serials)
}

func blockedAmong(ctx context.Context, q querier, serials []string) ([]BlockedCard, error) {
	want := map[string]bool{}
	for _, s := range serials {
		if n := rules.NormaliseSerial(s); n != "" {
			want[n] = true
		}
	}
	if len(want) == 0 {
		return nil, nil
	}
	var out []BlockedCard
	for n := range want {
		// Serials are stored as the registry sends them; compare them
		// normalised, the way the chip is compared with the print.
		rows, err := q.QueryContext(ctx, `SELECT serial, reason, blocked_at FROM ref_blocked_cards
			WHERE upper(replace(replace(replace(serial, ' ', ''), '-', ''), char(9), '')) = ?`, n)
		if err != nil {
			return nil, fmt.Errorf("read blocked cards: %w", err)
		}
		for rows.Next() {
			var b BlockedCard
			var at string
			if err := rows.Scan(&b.Serial, &b.Reason, &at); err != nil {
				rows.Close()
				return nil, fmt.Errorf("read blocked cards: %w", err)
			}
			b.BlockedAt, _ = time.Parse(time.RFC3339Nano, at)
			out = append(out, b)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("read blocked cards: %w", err)
		}
	}
	return out, nil
}

func blockedSerials(b []BlockedCard) []string {
	out := make([]string, 0, len(b))
	for _, c := range b {
		out = append(out, c.Serial)
	}
	return out
}

// Registry assembles what the rules need to know about one person and the
// cards at the counter: the registry's facts (cards, orders, reserve cards
// at every station), this station's own cards of the person not yet
// reflected there, the administrators, the stops, the validity table, and
// which of the person's cards and of cards are on the registry's list of
// blocked cards (BL-1).
func (s *Store) Registry(ctx context.Context, p rules.Person, cards ...string) (rules.Registry, error) {
	return s.RegistryWith(ctx, p, nil, cards...)
}

// RegistryWith is Registry with looked-up facts: facts (a
// protocol.PersonFactsDoc fetched from the registry on demand, kept by the
// caller for its flow only) stand in for the person's facts when the
// station holds none of its own; nothing is stored.
func (s *Store) RegistryWith(ctx context.Context, p rules.Person, facts json.RawMessage, cards ...string) (rules.Registry, error) {
	reg, err := s.baseRegistry(ctx, cards)
	if err != nil {
		return reg, err
	}
	if p.PersonalNumber.IsZero() {
		return reg, nil
	}
	raw, err := personFacts(ctx, s.reader, Canonical(p.PersonalNumber))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return reg, err
	}
	if len(raw) == 0 {
		raw = facts
	}
	if len(raw) > 0 {
		if err := parseFacts(raw, p, &reg); err != nil {
			return reg, err
		}
	}
	local, err := s.localCards(ctx, p)
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

// baseRegistry is the part of Registry that is the same for everyone.
func (s *Store) baseRegistry(ctx context.Context, cards []string) (rules.Registry, error) {
	var reg rules.Registry
	var err error
	if reg.AuthorisedAdmins, err = authorisedAdmins(ctx, s.reader); err != nil {
		return reg, err
	}
	if reg.StopWindows, err = stopWindows(ctx, s.reader); err != nil {
		return reg, err
	}
	if reg.Validity, err = validityTable(ctx, s.reader); err != nil {
		return reg, err
	}
	blocked, err := blockedAmong(ctx, s.reader, cards)
	if err != nil {
		return reg, err
	}
	reg.BlockedCards = blockedSerials(blocked)
	return reg, nil
}

// ErrNoOrderFacts: the registry has no facts under the order number.
var ErrNoOrderFacts = fmt.Errorf("no registry facts for the order: %w", ErrNotFound)

// RegistryForOrder assembles what the rules need for the pickup of staff
// without a Swedish personal or coordination number (ID-4): the registry
// keys their facts by the order number, and names the holder by HSA-ID
// ("holder_hsa_id"). It returns the registry, the holder and the raw
// facts; ErrNoOrderFacts when the registry has none usable.
func (s *Store) RegistryForOrder(ctx context.Context, orderID string) (rules.Registry, rules.Person, json.RawMessage, error) {
	reg, err := s.baseRegistry(ctx, nil)
	if err != nil {
		return reg, rules.Person{}, nil, err
	}
	if orderID == "" {
		return reg, rules.Person{}, nil, ErrNoOrderFacts
	}
	raw, err := personFacts(ctx, s.reader, orderID)
	if errors.Is(err, ErrNotFound) {
		return reg, rules.Person{}, nil, ErrNoOrderFacts
	}
	if err != nil {
		return reg, rules.Person{}, nil, fmt.Errorf("read order facts: %w", err)
	}
	var holder protocol.PersonFactsDoc
	if err := json.Unmarshal(raw, &holder); err != nil {
		return reg, rules.Person{}, nil, fmt.Errorf("order facts: %w", err)
	}
	h, err := ident.ParseHSAID(holder.HolderHSAID)
	if err != nil {
		return reg, rules.Person{}, nil, fmt.Errorf("%w: holder: %w", ErrNoOrderFacts, err)
	}
	p := rules.Person{HSAID: h}
	if err := parseFacts(raw, p, &reg); err != nil {
		return reg, p, nil, err
	}
	return reg, p, raw, nil
}

// Canonical is the personal number as stored: YYYYMMDDNNNC.
func Canonical(p ident.PersonalNumber) string {
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

// OrderCardSerial returns the serial of the produced card of an order in
// the facts document, if the registry named one.
func OrderCardSerial(b json.RawMessage, orderID string) string {
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

// RefState is the sync state of one kind of reference data.
type RefState struct {
	Kind   string
	Cursor string
	// UpdatedAt is when a page of this kind was last applied; CompleteAt
	// when the kind was last completely in step (zero if never).
	UpdatedAt, CompleteAt time.Time
	// Resyncing: a full resync is part-way through; the data is incomplete.
	Resyncing bool
}

// RefStates is the sync state of every kind this station has pulled, by
// kind.
func (s *Store) RefStates(ctx context.Context) (map[string]RefState, error) {
	rows, err := s.reader.QueryContext(ctx, `SELECT kind, cursor, updated_at, coalesce(complete_at, ''), resyncing FROM ref_cursors`)
	if err != nil {
		return nil, fmt.Errorf("read sync state: %w", err)
	}
	defer rows.Close()
	out := map[string]RefState{}
	for rows.Next() {
		var r RefState
		var updated, complete string
		if err := rows.Scan(&r.Kind, &r.Cursor, &updated, &complete, &r.Resyncing); err != nil {
			return nil, fmt.Errorf("read sync state: %w", err)
		}
		r.UpdatedAt, _ = time.Parse(time.RFC3339Nano, updated)
		if complete != "" {
			if r.CompleteAt, err = time.Parse(time.RFC3339Nano, complete); err != nil {
				return nil, fmt.Errorf("sync state of %s: bad time: %w", r.Kind, err)
			}
		}
		out[r.Kind] = r
	}
	return out, rows.Err()
}

// RefState is the sync state of one kind; ErrNotFound when it was never
// pulled.
func (s *Store) RefState(ctx context.Context, kind string) (RefState, error) {
	r := RefState{Kind: kind}
	var updated, complete string
	err := s.reader.QueryRowContext(ctx, `SELECT cursor, updated_at, coalesce(complete_at, ''), resyncing FROM ref_cursors WHERE kind = ?`, kind).
		Scan(&r.Cursor, &updated, &complete, &r.Resyncing)
	if errors.Is(err, sql.ErrNoRows) {
		return r, ErrNotFound
	}
	if err != nil {
		return r, fmt.Errorf("sync state of %s: %w", kind, err)
	}
	r.UpdatedAt, _ = time.Parse(time.RFC3339Nano, updated)
	if complete != "" {
		if r.CompleteAt, err = time.Parse(time.RFC3339Nano, complete); err != nil {
			return r, fmt.Errorf("sync state of %s: bad time: %w", kind, err)
		}
	}
	return r, nil
}

// DataAge is when kind was last completely in step with the registry;
// zero when never.
func (s *Store) DataAge(ctx context.Context, kind string) time.Time {
	r, err := s.RefState(ctx, kind)
	if err != nil {
		return time.Time{}
	}
	return r.CompleteAt
}

// PutCursor records a kind's cursor after applying a page: resyncing
// while a full resync is part-way through, complete when the page was the
// last (complete_at is then now).
func (t *Tx) PutCursor(ctx context.Context, kind, cursor, hash string, now time.Time, resyncing, complete bool) error {
	stamp := ts(now)
	var completeAt any
	if complete {
		completeAt = stamp
	}
	_, err := t.tx.ExecContext(ctx, `INSERT INTO ref_cursors (kind, cursor, content_hash, updated_at, complete_at, resyncing) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (kind) DO UPDATE SET cursor = excluded.cursor, content_hash = excluded.content_hash, updated_at = excluded.updated_at,
		  complete_at = coalesce(excluded.complete_at, complete_at), resyncing = excluded.resyncing`,
		kind, cursor, nullIfEmpty(hash), stamp, completeAt, resyncing)
	if err != nil {
		return fmt.Errorf("store cursor of %s: %w", kind, err)
	}
	return nil
}

// ReplaceOperators applies a snapshot of the authorised administrators
// (AD-1). An administrator is never deleted (sessions refer to them): one
// missing from the snapshot is no longer authorised. What changed is
// audited (AD-2).
func (t *Tx) ReplaceOperators(ctx context.Context, items []protocol.Operator, now time.Time) error {
	if err := t.auditAdminsDiff(ctx, items); err != nil { // AD-2: each addition and removal (admins.go)
		return err
	}
	stamp := ts(now)
	if _, err := t.tx.ExecContext(ctx, `UPDATE operators SET authorised = 0, updated_at = ? WHERE authorised = 1`, stamp); err != nil {
		return fmt.Errorf("withdraw operators: %w", err)
	}
	for _, o := range items {
		if _, err := t.tx.ExecContext(ctx, `INSERT INTO operators (hsa_id, name, authorised, updated_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (hsa_id) DO UPDATE SET name = excluded.name, authorised = excluded.authorised, updated_at = excluded.updated_at`,
			o.HSAID, o.Name, o.Authorised, stamp); err != nil {
			return fmt.Errorf("put operator: %w", err)
		}
	}
	return nil
}

// ReplaceBlockedCards applies a snapshot of the blocked cards (BL-1).
func (t *Tx) ReplaceBlockedCards(ctx context.Context, items []protocol.BlockedCard) error {
	if _, err := t.tx.ExecContext(ctx, `DELETE FROM ref_blocked_cards`); err != nil {
		return fmt.Errorf("clear blocked cards: %w", err)
	}
	for _, b := range items {
		if _, err := t.tx.ExecContext(ctx, `INSERT INTO ref_blocked_cards (serial, reason, blocked_at) VALUES (?, ?, ?)`,
			b.Serial, b.Reason, ts(b.BlockedAt)); err != nil {
			return fmt.Errorf("put blocked card: %w", err)
		}
	}
	return nil
}

// ReplaceStopWindows applies a snapshot of the stop windows (CP-3).
func (t *Tx) ReplaceStopWindows(ctx context.Context, items []protocol.StopWindow) error {
	if _, err := t.tx.ExecContext(ctx, `DELETE FROM ref_stop_windows`); err != nil {
		return fmt.Errorf("clear stop windows: %w", err)
	}
	for _, w := range items {
		if _, err := t.tx.ExecContext(ctx, `INSERT INTO ref_stop_windows (id, kind, starts, ends, note) VALUES (?, ?, ?, ?, ?)`,
			w.ID, w.Kind, w.Starts.UTC().Format(time.RFC3339), w.Ends.UTC().Format(time.RFC3339), w.Note); err != nil {
			return fmt.Errorf("put stop window: %w", err)
		}
	}
	return nil
}

// ReplaceValidity applies a snapshot of the validity table (RC-1).
func (t *Tx) ReplaceValidity(ctx context.Context, items []protocol.Validity) error {
	if _, err := t.tx.ExecContext(ctx, `DELETE FROM ref_validity`); err != nil {
		return fmt.Errorf("clear validity table: %w", err)
	}
	for _, v := range items {
		if _, err := t.tx.ExecContext(ctx, `INSERT INTO ref_validity (reason, max_days) VALUES (?, ?)`, v.Reason, v.MaxDays); err != nil {
			return fmt.Errorf("put validity: %w", err)
		}
	}
	return nil
}

// PutPersonFacts applies a delta of person facts (RC-2..RC-4); full
// replaces every row first (a full resync).
func (t *Tx) PutPersonFacts(ctx context.Context, full bool, items []protocol.PersonFacts, now time.Time) error {
	if full {
		if _, err := t.tx.ExecContext(ctx, `DELETE FROM ref_person_facts`); err != nil {
			return fmt.Errorf("clear person facts: %w", err)
		}
	}
	for _, f := range items {
		var err error
		if f.Deleted {
			_, err = t.tx.ExecContext(ctx, `DELETE FROM ref_person_facts WHERE personal_number = ?`, f.PersonalNumber)
		} else {
			_, err = t.tx.ExecContext(ctx, `INSERT INTO ref_person_facts (personal_number, facts, updated_at) VALUES (?, ?, ?)
				ON CONFLICT (personal_number) DO UPDATE SET facts = excluded.facts, updated_at = excluded.updated_at`, f.PersonalNumber, string(f.Facts), ts(now))
		}
		if err != nil {
			return fmt.Errorf("put person facts: %w", err)
		}
	}
	return nil
}

// PutShipments applies a delta of the cards shipped to this station; full
// replaces every row first.
func (t *Tx) PutShipments(ctx context.Context, full bool, items []protocol.Shipment) error {
	if full {
		if _, err := t.tx.ExecContext(ctx, `DELETE FROM ref_shipments`); err != nil {
			return fmt.Errorf("clear shipments: %w", err)
		}
	}
	for _, s := range items {
		var err error
		if s.Deleted {
			_, err = t.tx.ExecContext(ctx, `DELETE FROM ref_shipments WHERE serial = ?`, s.Serial)
		} else {
			_, err = t.tx.ExecContext(ctx, `INSERT INTO ref_shipments (serial, card_type, shipment_ref, shipped_at) VALUES (?, ?, ?, ?)
				ON CONFLICT (serial) DO UPDATE SET card_type = excluded.card_type, shipment_ref = excluded.shipment_ref, shipped_at = excluded.shipped_at`,
				s.Serial, s.CardType, s.ShipmentRef, ts(s.ShippedAt))
		}
		if err != nil {
			return fmt.Errorf("put shipment: %w", err)
		}
	}
	return nil
}

// PutCardStatuses applies a delta of the registry's card states; full
// replaces every row first.
func (t *Tx) PutCardStatuses(ctx context.Context, full bool, items []protocol.CardStatus) error {
	if full {
		if _, err := t.tx.ExecContext(ctx, `DELETE FROM ref_card_status`); err != nil {
			return fmt.Errorf("clear card status: %w", err)
		}
	}
	for _, s := range items {
		var err error
		if s.Deleted {
			_, err = t.tx.ExecContext(ctx, `DELETE FROM ref_card_status WHERE serial = ?`, s.Serial)
		} else {
			_, err = t.tx.ExecContext(ctx, `INSERT INTO ref_card_status (serial, state, receipt_received, updated_at) VALUES (?, ?, ?, ?)
				ON CONFLICT (serial) DO UPDATE SET state = excluded.state, receipt_received = excluded.receipt_received, updated_at = excluded.updated_at`,
				s.Serial, s.State, s.ReceiptReceived, ts(s.UpdatedAt))
		}
		if err != nil {
			return fmt.Errorf("put card status: %w", err)
		}
	}
	return nil
}

// Shipment is a card the registry shipped to this station.
type Shipment struct {
	Serial      string
	CardType    rules.CardType
	ShipmentRef string
}

// Shipment returns the registry's shipment of serial to this station;
// ErrNotFound when none.
func (s *Store) Shipment(ctx context.Context, serial string) (Shipment, error) {
	return shipment(ctx, s.reader, serial)
}

func shipment(ctx context.Context, q querier, serial string) (Shipment, error) {
	sh := Shipment{Serial: serial}
	var typ string
	err := q.QueryRowContext(ctx, `SELECT card_type, shipment_ref FROM ref_shipments WHERE serial = ?`, serial).Scan(&typ, &sh.ShipmentRef)
	if errors.Is(err, sql.ErrNoRows) {
		return sh, ErrNotFound
	}
	if err != nil {
		return sh, fmt.Errorf("read shipment of %s: %w", serial, err)
	}
	sh.CardType = rules.CardType(typ)
	return sh, nil
}
