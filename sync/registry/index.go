package registry

// The registry's index of issuances for the console's search, reports and
// approval evidence (issue 14, items 1, 7, 8). The issuances table gains
// the recipient's personal number, the operator, the card type, the
// validity start and the station's time of issue (with its month in
// Europe/Stockholm, for reports), and when the card came back or was
// voided; receipt_index finds each receipt event (its PDF) by the
// receipt's ID and holds the recipient's HSA-ID; receipt_names holds the
// recipient's name, normalised, once per word it may be searched from;
// card_voids counts voided cards, issued or not; report_counts keeps the
// reports' counts of reserve cards issued, returned and voided per month
// of issue, station and reason, so a yearly report reads a few thousand
// rows, not every issuance. All of it is filled when
// the events are projected (indexEvent) and, for a registry that stored
// events before this migration, once from the stored events
// (backfillIndex).

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/kortstation/kortstation/kiosk/rules"
	"github.com/kortstation/kortstation/kiosk/rules/calendar"
	"github.com/kortstation/kortstation/sync/protocol"
)

// indexMigration is migration 4 (schema.go) on SQLite.
const indexMigration = `ALTER TABLE issuances ADD COLUMN personal_number TEXT NOT NULL DEFAULT '';
ALTER TABLE issuances ADD COLUMN operator TEXT NOT NULL DEFAULT '';
ALTER TABLE issuances ADD COLUMN card_type TEXT NOT NULL DEFAULT '';
ALTER TABLE issuances ADD COLUMN valid_from TEXT NOT NULL DEFAULT '';
ALTER TABLE issuances ADD COLUMN issued_at TEXT NOT NULL DEFAULT '';
ALTER TABLE issuances ADD COLUMN issued_month TEXT NOT NULL DEFAULT '';
ALTER TABLE issuances ADD COLUMN returned_at TEXT NOT NULL DEFAULT '';
ALTER TABLE issuances ADD COLUMN voided_at TEXT NOT NULL DEFAULT '';
ALTER TABLE issuances ADD COLUMN decided_by TEXT NOT NULL DEFAULT '';
ALTER TABLE issuances ADD COLUMN decision_reason TEXT NOT NULL DEFAULT '';
CREATE INDEX issuances_pnr ON issuances(personal_number, issued_at);
CREATE INDEX issuances_operator ON issuances(operator, issued_at);
CREATE INDEX issuances_serial ON issuances(card_serial, issued_at);
CREATE INDEX issuances_station ON issuances(station_id, issued_at);
CREATE INDEX issuances_open ON issuances(issued_month, station_id, reason, valid_until) WHERE returned_at = '' AND voided_at = '';
CREATE TABLE report_counts (
    month      TEXT NOT NULL,
    station_id TEXT NOT NULL,
    reason     TEXT NOT NULL,
    issued     INTEGER NOT NULL DEFAULT 0,
    returned   INTEGER NOT NULL DEFAULT 0,
    voided     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (month, station_id, reason)
);
CREATE INDEX issuance_attestors_hsa ON issuance_attestors(hsa_id);
CREATE TABLE receipt_index (
    receipt_id       TEXT PRIMARY KEY,
    issuance_id      TEXT NOT NULL,
    station_id       TEXT NOT NULL,
    seq              INTEGER NOT NULL,
    card_serial      TEXT NOT NULL,
    recipient_hsa_id TEXT NOT NULL DEFAULT '',
    recipient_name   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX receipt_index_issuance ON receipt_index(issuance_id, seq);
CREATE INDEX receipt_index_hsa ON receipt_index(recipient_hsa_id) WHERE recipient_hsa_id <> '';
CREATE TABLE receipt_names (
    name_key   TEXT NOT NULL,
    receipt_id TEXT NOT NULL,
    PRIMARY KEY (name_key, receipt_id)
);
CREATE TABLE card_voids (
    station_id TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    serial     TEXT NOT NULL,
    reason     TEXT NOT NULL DEFAULT '',
    at         TEXT NOT NULL,
    month      TEXT NOT NULL,
    PRIMARY KEY (station_id, seq)
);
CREATE INDEX card_voids_month ON card_voids(month);`

// indexMigrationPostgres is indexMigration in PostgreSQL's words: 64-bit
// integers, and name keys that compare bytewise.
var indexMigrationPostgres = strings.NewReplacer(
	"INTEGER", "BIGINT",
	"name_key   TEXT NOT NULL", `name_key   TEXT COLLATE "C" NOT NULL`,
).Replace(indexMigration)

// monthOf is the Europe/Stockholm month of t, YYYY-MM.
func monthOf(t time.Time) string { return t.In(calendar.Stockholm()).Format("2006-01") }

// nameKey normalises a name for search: lower case, words separated by
// one space, punctuation other than hyphens dropped.
func nameKey(s string) string {
	f := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '-' })
	return strings.Join(f, " ")
}

// nameKeys are the keys a name is found by: the whole name and the name
// from each later word on, so "anna maria svensson" is found by "svens"
// and by "maria s" as well as by "anna".
func nameKeys(name string) []string {
	k := nameKey(name)
	if k == "" {
		return nil
	}
	out := []string{k}
	for i := range len(k) {
		if k[i] == ' ' {
			out = append(out, k[i+1:])
		}
	}
	return out
}

// indexEvent updates the index from an applied event (apply, push.go).
func (s *Server) indexEvent(ctx context.Context, tx *sql.Tx, station string, ev protocol.Event, payload protocol.Payload) error {
	at := ev.CreatedAt
	if at.IsZero() {
		at = s.now()
	}
	switch p := payload.(type) {
	case protocol.IssuancePayload:
		return indexIssuance(ctx, tx, p, at)
	case protocol.ExtensionPayload:
		return indexIssuance(ctx, tx, protocol.IssuancePayload(p), at)
	case protocol.ReturnPayload:
		if p.CardSerial == "" {
			return nil
		}
		return closeIssuances(ctx, tx, "returned", p.CardSerial, at)
	case protocol.ReceiptPayload:
		return indexReceipt(ctx, tx, station, ev.Seq, p)
	case protocol.StockMovementPayload:
		if p.Movement != "voided" || p.CardSerial == "" {
			return nil
		}
		var reason string
		err := tx.QueryRowContext(ctx, `SELECT reason FROM issuances WHERE card_serial = ? AND kind = ? ORDER BY issued_at DESC LIMIT 1`,
			p.CardSerial, protocol.KindIssuance).Scan(&reason)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("registry: index void: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO card_voids (station_id, seq, serial, reason, at, month) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			station, ev.Seq, p.CardSerial, reason, ts(at), monthOf(at)); err != nil {
			return fmt.Errorf("registry: index void: %w", err)
		}
		return closeIssuances(ctx, tx, "voided", p.CardSerial, at)
	}
	return nil
}

func indexIssuance(ctx context.Context, tx *sql.Tx, p protocol.IssuancePayload, at time.Time) error {
	if p.IssuanceID == "" {
		return nil
	}
	typ := p.CardType
	if typ == "" {
		typ = string(rules.CardReserve)
	}
	var station, reason, kind string
	err := tx.QueryRowContext(ctx, `UPDATE issuances SET personal_number = ?, operator = ?, card_type = ?, valid_from = ?, issued_at = ?, issued_month = ?
		WHERE id = ? AND issued_month = '' RETURNING station_id, reason, kind`,
		p.PersonalNumber, p.Operator, typ, fmtTime(p.ValidFrom), ts(at), monthOf(at), p.IssuanceID).Scan(&station, &reason, &kind)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // indexed before, or not projected
	}
	if err != nil {
		return fmt.Errorf("registry: index issuance: %w", err)
	}
	if kind != protocol.KindIssuance || typ != string(rules.CardReserve) {
		return nil
	}
	return countReport(ctx, tx, "issued", monthOf(at), station, reason)
}

// countReport adds one to the report count col (issued, returned or
// voided) of month, station and reason.
func countReport(ctx context.Context, tx *sql.Tx, col, month, station, reason string) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO report_counts (month, station_id, reason, `+col+`) VALUES (?, ?, ?, 1)
		ON CONFLICT (month, station_id, reason) DO UPDATE SET `+col+` = report_counts.`+col+` + 1`, month, station, reason); err != nil {
		return fmt.Errorf("registry: report count: %w", err)
	}
	return nil
}

// closeIssuances marks the open reserve-card issuances of serial returned
// or voided (how: "returned" or "voided") at at, and counts them for the
// reports under their month of issue.
func closeIssuances(ctx context.Context, tx *sql.Tx, how, serial string, at time.Time) error {
	col := how + "_at"
	rows, err := tx.QueryContext(ctx, `UPDATE issuances SET `+col+` = ? WHERE card_serial = ? AND kind = ? AND returned_at = '' AND voided_at = ''
		RETURNING issued_month, station_id, reason, card_type`, ts(at), serial, protocol.KindIssuance)
	if err != nil {
		return fmt.Errorf("registry: index %s: %w", how, err)
	}
	type key struct{ month, station, reason string }
	var closed []key
	for rows.Next() {
		var k key
		var typ string
		if err := rows.Scan(&k.month, &k.station, &k.reason, &typ); err != nil {
			rows.Close()
			return fmt.Errorf("registry: index %s: %w", how, err)
		}
		if typ == string(rules.CardReserve) && k.month != "" {
			closed = append(closed, k)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("registry: index %s: %w", how, err)
	}
	for _, k := range closed {
		if err := countReport(ctx, tx, how, k.month, k.station, k.reason); err != nil {
			return err
		}
	}
	return nil
}

// receiptContent is what the index reads of a receipt's content (a
// rules.SealedReceipt).
type receiptContent struct {
	Receipt struct {
		RecipientName string `json:"recipient_name"`
		Recipient     struct {
			HSAID string `json:"hsa_id"`
		} `json:"recipient"`
	} `json:"receipt"`
}

func indexReceipt(ctx context.Context, tx *sql.Tx, station string, seq int64, p protocol.ReceiptPayload) error {
	if p.ReceiptID == "" {
		return nil
	}
	var c receiptContent
	_ = json.Unmarshal(p.Content, &c) // a receipt whose content is not understood is still found by its issuance
	res, err := tx.ExecContext(ctx, `INSERT INTO receipt_index (receipt_id, issuance_id, station_id, seq, card_serial, recipient_hsa_id, recipient_name)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, p.ReceiptID, p.IssuanceID, station, seq, p.CardSerial,
		c.Receipt.Recipient.HSAID, strings.TrimSpace(c.Receipt.RecipientName))
	if err != nil {
		return fmt.Errorf("registry: index receipt: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil
	}
	for _, k := range nameKeys(c.Receipt.RecipientName) {
		if _, err := tx.ExecContext(ctx, `INSERT INTO receipt_names (name_key, receipt_id) VALUES (?, ?) ON CONFLICT DO NOTHING`, k, p.ReceiptID); err != nil {
			return fmt.Errorf("registry: index receipt name: %w", err)
		}
	}
	return nil
}

// backfillKey marks in meta that the index was filled from the events
// stored before migration 4.
const backfillKey = "index_backfilled"

// backfillIndex fills the index once from the stored events (a registry
// that had events before migration 4): every event that was applied (not
// one still held for central review or rejected there), in order.
func (s *Server) backfillIndex(ctx context.Context) error {
	var done int
	if err := s.db.reader.QueryRowContext(ctx, `SELECT count(*) FROM meta WHERE key = ?`, backfillKey).Scan(&done); err != nil {
		return fmt.Errorf("registry: index backfill: %w", err)
	}
	if done > 0 {
		return nil
	}
	n := 0
	err := s.db.write(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT e.station_id, e.seq, e.event_id, e.kind, e.payload, e.created_at FROM events e
			WHERE e.kind IN (?, ?, ?, ?, ?)
			  AND NOT EXISTS (SELECT 1 FROM review_items r WHERE r.station_id = e.station_id AND r.seq = e.seq
			    AND NOT EXISTS (SELECT 1 FROM review_decisions d WHERE d.item_id = r.id AND d.decision = 'applied'))
			ORDER BY e.received_at, e.station_id, e.seq`,
			protocol.KindIssuance, protocol.KindExtension, protocol.KindReturn, protocol.KindReceipt, protocol.KindStockMovement)
		if err != nil {
			return err
		}
		type stored struct {
			station string
			ev      protocol.Event
		}
		var evs []stored
		for rows.Next() {
			var st stored
			var payload []byte
			var created string
			if err := rows.Scan(&st.station, &st.ev.Seq, &st.ev.ID, &st.ev.Kind, &payload, &created); err != nil {
				rows.Close()
				return err
			}
			st.ev.Payload = payload
			st.ev.CreatedAt, _ = time.Parse(time.RFC3339Nano, created)
			evs = append(evs, st)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, st := range evs {
			p, err := protocol.DecodePayload(st.ev.Kind, st.ev.Payload)
			if err != nil {
				continue // stored only when it came, as now
			}
			if err := s.indexEvent(ctx, tx, st.station, st.ev, p); err != nil {
				return err
			}
			n++
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT DO NOTHING`, backfillKey, s.now().UTC().Format(time.RFC3339))
		return err
	})
	if err != nil {
		return fmt.Errorf("registry: index backfill: %w", err)
	}
	if n > 0 {
		s.log.Info("search and report index filled from stored events", "events", n)
	}
	return nil
}
