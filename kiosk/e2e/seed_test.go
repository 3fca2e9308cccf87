package e2e

import (
	"database/sql"
	"encoding/json"
	"strings"
	"time"

	"github.com/kortstation/kortstation/kiosk/devseed"
	"github.com/kortstation/kortstation/kiosk/rules"
	"github.com/kortstation/kortstation/kiosk/rules/calendar"
	"github.com/kortstation/kortstation/sync/protocol"
)

// Test persons (made up; valid Luhn digits).
var (
	pnrLost     = devseed.PersonalNumber("19800101", 234) // regular card lost, new card ordered
	pnrForgot   = devseed.PersonalNumber("19121212", 121) // holds an active regular card
	pnrOrdered  = devseed.PersonalNumber("19900707", 789) // picks up orderedCard
	pnrLate     = devseed.PersonalNumber("19850505", 111) // missed the pickup deadline of expiredCard
	pnrNoFacts  = devseed.PersonalNumber("19700202", 222) // no card, no order
	pnrAttested = devseed.PersonalNumber("19660606", 666) // identified by attestation
)

func digits(s string) string { return strings.ReplaceAll(s, "-", "") }

// seedStation is the reference data and stock a station under test
// starts from, as the registry would have sent it.
func seedStation(now time.Time, extra ...string) func(tx *sql.Tx) error {
	return func(tx *sql.Tx) error {
		at := now.UTC().Format(time.RFC3339Nano)
		today := calendar.DateOf(now)
		stmts := []struct {
			q    string
			args []any
		}{
			{`INSERT INTO operators (hsa_id, name, authorised, updated_at) VALUES (?, 'Test Operatör Ett', 1, ?)`, []any{opHSAID, at}},
			{`INSERT INTO operators (hsa_id, name, authorised, updated_at) VALUES (?, 'Test Operatör Två', 0, ?)`, []any{op2HSAID, at}},
		}
		// The registry's data as last synced at the start.
		for _, k := range protocol.RefKinds {
			stmts = append(stmts, struct {
				q    string
				args []any
			}{`INSERT INTO ref_cursors (kind, cursor, updated_at, complete_at) VALUES (?, 'c1', ?, ?)`, []any{k, at, at}})
		}
		for r, d := range rules.DefaultValidityTable() {
			stmts = append(stmts, struct {
				q    string
				args []any
			}{`INSERT INTO ref_validity (reason, max_days) VALUES (?, ?)`, []any{string(r), d}})
		}
		facts := map[string]any{
			pnrLost: map[string]any{"regular_cards": []any{map[string]any{"serial": "9752269000000000102", "state": "lost"}},
				"orders": []any{map[string]any{"id": "ORD-1", "type": "regular", "ordered": today.AddDays(-3).String()}}},
			pnrForgot:   map[string]any{"regular_cards": []any{map[string]any{"serial": "9752269000000000101", "state": "active"}}},
			pnrAttested: map[string]any{"regular_cards": []any{map[string]any{"serial": "9752269000000000103", "state": "active"}}},
			pnrOrdered: map[string]any{"orders": []any{map[string]any{"id": "ORD-PICK", "type": "regular", "card_type": "sis",
				"ordered": today.AddDays(-14).String(), "card_serial": orderedCard, "pickup_deadline": today.AddDays(30).String()}}},
			pnrLate: map[string]any{"orders": []any{map[string]any{"id": "ORD-LATE", "type": "regular", "card_type": "sis",
				"ordered": today.AddDays(-90).String(), "card_serial": expiredCard, "pickup_deadline": today.AddDays(-2).String()}}},
		}
		for pnr, f := range facts {
			b, _ := json.Marshal(f)
			stmts = append(stmts, struct {
				q    string
				args []any
			}{`INSERT INTO ref_person_facts (personal_number, facts, updated_at) VALUES (?, ?, ?)`, []any{digits(pnr), string(b), at}})
		}
		for _, s := range []string{reserveA, reserveB, reserveC, shippedD, shippedE} {
			stmts = append(stmts, struct {
				q    string
				args []any
			}{`INSERT INTO ref_shipments (serial, card_type, shipment_ref, shipped_at) VALUES (?, 'reserve', 'SHIP-T1', ?)`, []any{s, at}})
		}
		for _, s := range []string{reserveA, reserveB, reserveC} {
			stmts = append(stmts, struct {
				q    string
				args []any
			}{`INSERT INTO cards (serial, type, state, updated_at) VALUES (?, 'reserve', 'in_stock', ?)`, []any{s, at}})
		}
		stmts = append(stmts,
			struct {
				q    string
				args []any
			}{`INSERT INTO cards (serial, type, state, pickup_deadline, updated_at) VALUES (?, 'sis', 'in_stock', ?, ?)`, []any{orderedCard, today.AddDays(30).String(), at}},
			struct {
				q    string
				args []any
			}{`INSERT INTO cards (serial, type, state, pickup_deadline, updated_at) VALUES (?, 'sis', 'in_stock', ?, ?)`, []any{expiredCard, today.AddDays(-2).String(), at}})
		for _, q := range stmts {
			if _, err := tx.Exec(q.q, q.args...); err != nil {
				return err
			}
		}
		for _, q := range extra {
			if _, err := tx.Exec(q); err != nil {
				return err
			}
		}
		return nil
	}
}

// workday is a Tuesday morning in Stockholm, inside processing hours.
var workday = time.Date(2026, 3, 10, 9, 30, 0, 0, calendar.Stockholm())
