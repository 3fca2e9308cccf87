package store_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/kortstation/kortstation/kiosk/clock"
	"github.com/kortstation/kortstation/kiosk/store"
)

// receiptFixture stores a person, an issuance and its receipt, with the
// receipt's outbox event acknowledged at acked.
func receiptFixture(t *testing.T, st *store.Store, acked string) {
	t.Helper()
	err := st.Write(context.Background(), func(tx *sql.Tx) error {
		for _, q := range []string{
			`INSERT INTO operators (hsa_id, name, updated_at) VALUES ('SE-OP', 'Op', '2026-01-01T00:00:00Z')`,
			`INSERT INTO operator_sessions (id, operator, card_serial, started_at) VALUES ('s1', 'SE-OP', 'x', '2026-01-01T00:00:00Z')`,
			`INSERT INTO persons (id, personal_number, name, created_at) VALUES (1, '198001012346', 'Eva Ek', '2026-01-01T00:00:00Z')`,
			`INSERT INTO cards (serial, type, state, holder, updated_at) VALUES ('RK-1', 'reserve', 'returned', 1, '2026-01-01T00:00:00Z')`,
			`INSERT INTO issuances (id, kind, card_serial, person_id, session_id, created_at, clock_source) VALUES ('i1', 'reserve', 'RK-1', 1, 's1', '2026-01-01T00:00:00Z', 'ntp')`,
			`INSERT INTO receipts (id, issuance_id, content, signatures, pdf, pdf_sha256, signed_at) VALUES ('KV-1', 'i1', '{"pnr":"198001012346"}', '[[1,2]]', X'255044462D', 'abc', '2026-01-01T00:00:00Z')`,
			`INSERT INTO outbox (event_id, kind, payload, created_at, clock_source, acked_at) VALUES ('e1', 'receipt', CAST('{"receipt_id":"KV-1","issuance_id":"i1","pnr":"198001012346"}' AS BLOB), '2026-01-01T00:00:00Z', 'ntp', '` + acked + `')`,
		} {
			if _, err := tx.Exec(q); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestRedactionNeedsTheArchiveAndThePeriodRE3: a receipt is redacted only
// once the registry confirmed its archive and the period passed; the
// redaction is the one change a receipt allows (RE-3), once, and keeps ID
// and hash.
func TestRedactionNeedsTheArchiveAndThePeriodRE3(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	receiptFixture(t, st, "2026-01-02T00:00:00Z")
	clk := &clock.Fixed{T: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}
	redact := func(before time.Time) store.Redaction {
		t.Helper()
		var red store.Redaction
		if err := st.Update(ctx, clk, func(tx *store.Tx) error {
			var err error
			red, err = tx.RedactArchived(ctx, before, clk.T)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return red
	}
	// Acknowledged long ago, but never confirmed archived: kept.
	if red := redact(clk.T); red.Receipts != 0 || red.Persons != 0 {
		t.Fatalf("redacted without the registry's archive: %+v", red)
	}
	archivedAt := time.Date(2026, 1, 3, 0, 0, 0, 0, time.UTC)
	if err := st.Update(ctx, clk, func(tx *store.Tx) error { return tx.MarkArchived(ctx, archivedAt, 1) }); err != nil {
		t.Fatal(err)
	}
	if red := redact(archivedAt); red.Receipts != 0 {
		t.Fatalf("redacted before the period passed: %+v", red)
	}
	if red := redact(archivedAt.Add(time.Second)); red.Receipts != 1 || red.Persons != 1 || red.Events != 1 {
		t.Fatalf("redaction = %+v, want the receipt, its event and the person", red)
	}
	var content, sigs, hash, payload string
	var pdf []byte
	var pnr sql.NullString
	r := st.Reader()
	if err := r.QueryRow(`SELECT content, signatures, pdf, pdf_sha256 FROM receipts WHERE id = 'KV-1'`).Scan(&content, &sigs, &pdf, &hash); err != nil {
		t.Fatal(err)
	}
	if err := r.QueryRow(`SELECT CAST(payload AS TEXT) FROM outbox WHERE seq = 1`).Scan(&payload); err != nil {
		t.Fatal(err)
	}
	if err := r.QueryRow(`SELECT personal_number FROM persons WHERE id = 1`).Scan(&pnr); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(content+sigs+payload, "1980") || len(pdf) != 0 || hash != "abc" || pnr.Valid || !strings.Contains(payload, `"sha256"`) {
		t.Errorf("after redaction: content %s, signatures %s, pdf %d bytes, hash %s, event %s, person %v", content, sigs, len(pdf), hash, payload, pnr)
	}
	// RE-3: no other change, and no second redaction.
	for _, q := range []string{
		`UPDATE receipts SET content = '{"x":1}' WHERE id = 'KV-1'`,
		`UPDATE receipts SET redacted_at = NULL WHERE id = 'KV-1'`,
		`DELETE FROM receipts WHERE id = 'KV-1'`,
	} {
		if err := st.Write(ctx, func(tx *sql.Tx) error { _, err := tx.Exec(q); return err }); err == nil {
			t.Errorf("RE-3: %s was allowed", q)
		}
	}
	if _, err := st.VerifyAudit(ctx); err != nil {
		t.Errorf("audit chain after redaction: %v", err)
	}
}
