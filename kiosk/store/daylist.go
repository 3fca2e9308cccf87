package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/kortstation/kortstation/kiosk/rules"
)

// DayEntry is one issuance, extension, pickup or return at this station as
// the day list shows it, with the newest version of its receipt (RE-3: a
// correction is a new receipt that refers to the old one).
type DayEntry struct {
	IssuanceID string
	Kind       string // IssuanceReserve, IssuanceExtension, IssuancePickup or "return"
	CardSerial string
	CardType   rules.CardType
	At         time.Time
	// The recipient as recorded: the name as the newest receipt writes
	// it, a personal number (canonical) or, for staff without one (ID-4),
	// an HSA-ID.
	Name           string
	PersonalNumber string
	HSAID          string
	// ReceiptID is the newest version of the issuance's receipt ("" for a
	// return, which has none); Versions counts the versions.
	ReceiptID  string
	Versions   int
	PrintState string
}

// DayEntries lists this station's issuances, extensions, pickups and
// returns made at or after since, newest first, at most limit of them.
// Searching is the caller's: the search terms never reach SQL text or a
// log.
func (s *Store) DayEntries(ctx context.Context, since time.Time, limit int) ([]DayEntry, error) {
	rows, err := s.reader.QueryContext(ctx, `SELECT i.id, i.kind, i.card_serial, c.type, i.created_at,
		coalesce(json_extract(r.content, '$.receipt.recipient_name'), p.name, ''), coalesce(p.personal_number, ''), coalesce(p.hsa_id, ''),
		coalesce(r.id, ''), coalesce(r.print_state, ''),
		(SELECT count(*) FROM receipts v WHERE v.issuance_id = i.id)
		FROM issuances i JOIN cards c ON c.serial = i.card_serial
		LEFT JOIN persons p ON p.id = i.person_id
		LEFT JOIN receipts r ON r.issuance_id = i.id AND NOT EXISTS (SELECT 1 FROM receipts n WHERE n.corrects = r.id)
		WHERE i.kind IN ('reserve', 'extension', 'pickup', 'return') AND i.created_at >= ?
		ORDER BY i.created_at DESC, i.id LIMIT ?`, ts(since), limit)
	if err != nil {
		return nil, fmt.Errorf("read day list: %w", err)
	}
	defer rows.Close()
	out := []DayEntry{}
	for rows.Next() {
		var e DayEntry
		var typ, at string
		if err := rows.Scan(&e.IssuanceID, &e.Kind, &e.CardSerial, &typ, &at, &e.Name, &e.PersonalNumber, &e.HSAID,
			&e.ReceiptID, &e.PrintState, &e.Versions); err != nil {
			return out, fmt.Errorf("read day list: %w", err)
		}
		e.CardType = rules.CardType(typ)
		e.At, _ = time.Parse(time.RFC3339Nano, at)
		out = append(out, e)
	}
	return out, rows.Err()
}

// OutCard is a reserve card this station handed out that has not come
// back (RC-6), as the rules see it, with its holder's name.
type OutCard struct {
	Card rules.Card
	Name string
	// PersonalNumber is the holder's, canonical; "" for staff without one.
	PersonalNumber string
}

// ReserveCardsOut lists the reserve cards this station handed out that
// are still out: handed out, approved, activated or expired, not returned,
// voided or blocked. Each is read as the rules see it (Card: the
// registry's state applied, its validity and its issue), in one query.
func (s *Store) ReserveCardsOut(ctx context.Context) ([]OutCard, error) {
	rows, err := s.reader.QueryContext(ctx, `SELECT c.serial, c.state, coalesce(c.valid_until, ''), coalesce(rs.state, ''),
		coalesce(p.name, ''), coalesce(p.personal_number, ''),
		coalesce((SELECT i.created_at FROM issuances i WHERE i.card_serial = c.serial AND i.kind = 'reserve' ORDER BY i.created_at DESC LIMIT 1), '')
		FROM cards c LEFT JOIN persons p ON p.id = c.holder LEFT JOIN ref_card_status rs ON rs.serial = c.serial
		WHERE c.type = 'reserve' AND c.state IN ('handed_out', 'approved', 'activated', 'expired')
		ORDER BY c.valid_until, c.serial`)
	if err != nil {
		return nil, fmt.Errorf("read reserve cards out: %w", err)
	}
	defer rows.Close()
	var out []OutCard
	for rows.Next() {
		var o OutCard
		var state, until, refState, issued string
		if err := rows.Scan(&o.Card.Number, &state, &until, &refState, &o.Name, &o.PersonalNumber, &issued); err != nil {
			return nil, fmt.Errorf("read reserve cards out: %w", err)
		}
		o.Card.Type = rules.CardReserve
		o.Card.State = withRegistryState(rules.CardState(state), refState)
		o.Card.ValidUntil, _ = time.Parse(time.RFC3339, until)
		o.Card.IssuedAt, _ = time.Parse(time.RFC3339Nano, issued)
		out = append(out, o)
	}
	return out, rows.Err()
}

// WaitingPickup is an ordered card in the drawer waiting for its holder
// (ID-3), with the registry's order that names it.
type WaitingPickup struct {
	Serial   string
	Type     rules.CardType
	Deadline string // YYYY-MM-DD, the last day of pickup (CP-4)
	// Holder is the key of the registry's facts naming the card: a
	// canonical personal number, or an order number for staff without one
	// (ID-4); "" when no facts name it.
	Holder string
}

// PickupsWaiting lists the ordered cards in the drawer.
func (s *Store) PickupsWaiting(ctx context.Context) ([]WaitingPickup, error) {
	rows, err := s.reader.QueryContext(ctx, `SELECT c.serial, c.type, c.pickup_deadline,
		coalesce((SELECT f.personal_number FROM ref_person_facts f, json_each(f.facts, '$.orders') o
			WHERE json_extract(o.value, '$.card_serial') = c.serial LIMIT 1), '')
		FROM cards c WHERE c.state = 'in_stock' AND c.pickup_deadline IS NOT NULL
		ORDER BY c.pickup_deadline, c.serial`)
	if err != nil {
		return nil, fmt.Errorf("read pickups waiting: %w", err)
	}
	defer rows.Close()
	out := []WaitingPickup{}
	for rows.Next() {
		var w WaitingPickup
		var typ string
		var deadline sql.NullString
		if err := rows.Scan(&w.Serial, &typ, &deadline, &w.Holder); err != nil {
			return out, fmt.Errorf("read pickups waiting: %w", err)
		}
		w.Type, w.Deadline = rules.CardType(typ), deadline.String
		out = append(out, w)
	}
	return out, rows.Err()
}
