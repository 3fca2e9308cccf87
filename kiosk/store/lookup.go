package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/kortstation/kortstation/kiosk/rules"
	"github.com/kortstation/kortstation/kiosk/rules/ident"
)

// The person look-up at the counter (issue 13: find the person first):
// what the station already knows of a person from its own records and the
// registry's facts, so the name need not be typed and the checks can run
// before anything else is.

// PersonName is the name the station recorded for the person with the
// personal number p at an earlier issuance, return or pickup; ErrNotFound
// when the station has never dealt with them.
func (s *Store) PersonName(ctx context.Context, p ident.PersonalNumber) (string, error) {
	var name string
	err := s.reader.QueryRowContext(ctx, `SELECT name FROM persons WHERE personal_number = ?`, Canonical(p)).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && strings.TrimSpace(name) == "") {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("read person's name: %w", err)
	}
	return name, nil
}

// NameByHSAID is the name the station recorded for a person without a
// Swedish number (ID-4); ErrNotFound when none.
func (s *Store) NameByHSAID(ctx context.Context, h ident.HSAID) (string, error) {
	var name string
	err := s.reader.QueryRowContext(ctx, `SELECT name FROM persons WHERE hsa_id = ?`, h.String()).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && strings.TrimSpace(name) == "") {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("read person's name: %w", err)
	}
	return name, nil
}

// CheckedDocument is an ID document the station checked at an earlier
// issuance (ID-5), offered again so the operator compares it with the
// document shown instead of typing it.
type CheckedDocument struct {
	Type   string
	Number string
	Expiry string // YYYY-MM-DD
}

// LastDocument is the ID document last checked for the person with the
// personal number p; ErrNotFound when none.
func (s *Store) LastDocument(ctx context.Context, p ident.PersonalNumber) (CheckedDocument, error) {
	var d CheckedDocument
	err := s.reader.QueryRowContext(ctx, `SELECT d.doc_type, d.doc_number, d.expires_on FROM id_document_checks d
		JOIN issuances i ON i.id = d.issuance_id JOIN persons p ON p.id = i.person_id
		WHERE p.personal_number = ? ORDER BY d.checked_at DESC, d.id DESC LIMIT 1`, Canonical(p)).Scan(&d.Type, &d.Number, &d.Expiry)
	if errors.Is(err, sql.ErrNoRows) {
		return d, ErrNotFound
	}
	if err != nil {
		return d, fmt.Errorf("read last document check: %w", err)
	}
	return d, nil
}

// PersonByCard finds whose card serial is: the holder of a card this
// station handed out, else the person whose registry facts name the card
// (a regular card, an ordered card, a reserve card of another station).
// It returns the personal number; ErrNotFound when nobody is known.
func (s *Store) PersonByCard(ctx context.Context, serial string) (ident.PersonalNumber, error) {
	n := rules.NormaliseSerial(serial)
	if n == "" {
		return ident.PersonalNumber{}, ErrNotFound
	}
	if rec, err := s.Holder(ctx, n); err == nil && !rec.PersonalNumber.IsZero() {
		return rec.PersonalNumber, nil
	} else if err != nil && !errors.Is(err, ErrNotFound) {
		return ident.PersonalNumber{}, err
	}
	// The facts are JSON documents; the serial is looked for as a quoted
	// string (LIKE's wildcards escaped), then confirmed by parsing.
	esc := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(n)
	rows, err := s.reader.QueryContext(ctx, `SELECT personal_number, facts FROM ref_person_facts WHERE facts LIKE ? ESCAPE '\'`, `%"`+esc+`"%`)
	if err != nil {
		return ident.PersonalNumber{}, fmt.Errorf("find card in person facts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var key, facts string
		if err := rows.Scan(&key, &facts); err != nil {
			return ident.PersonalNumber{}, fmt.Errorf("find card in person facts: %w", err)
		}
		p, err := ident.ParsePersonalNumber(key)
		if err != nil {
			continue // an order number (ID-4): no personal number
		}
		var reg rules.Registry
		if parseFacts([]byte(facts), rules.Person{PersonalNumber: p}, &reg) != nil {
			continue
		}
		for _, c := range reg.Cards {
			if rules.NormaliseSerial(c.Number) == n {
				return p, nil
			}
		}
		for _, o := range reg.Orders {
			if rules.NormaliseSerial(OrderCardSerial(json.RawMessage(facts), o.ID)) == n {
				return p, nil
			}
		}
	}
	if err := rows.Err(); err != nil {
		return ident.PersonalNumber{}, fmt.Errorf("find card in person facts: %w", err)
	}
	return ident.PersonalNumber{}, ErrNotFound
}
