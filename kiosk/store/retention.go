package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/kortstation/kortstation/kiosk/audit"
	"github.com/kortstation/kortstation/sync/protocol"
)

// MarkArchived records that the registry archived the payloads of the
// events with the given sequence numbers (Ack.Archived, receipt events).
func (t *Tx) MarkArchived(ctx context.Context, at time.Time, seqs ...int64) error {
	if len(seqs) == 0 {
		return nil
	}
	stmt, err := t.tx.PrepareContext(ctx, `UPDATE outbox SET archived_at = ? WHERE seq = ? AND acked_at IS NOT NULL AND archived_at IS NULL`)
	if err != nil {
		return fmt.Errorf("outbox: mark archived: %w", err)
	}
	defer stmt.Close()
	for _, s := range seqs {
		if _, err := stmt.ExecContext(ctx, ts(at), s); err != nil {
			return fmt.Errorf("outbox: mark %d archived: %w", s, err)
		}
	}
	return nil
}

// Redaction is what one retention run removed.
type Redaction struct {
	Receipts int // receipts whose content, signatures and PDF were removed
	Events   int // outbox payloads replaced by their hash
	Persons  int // persons whose personal number and name were removed
}

// redactedReceipt is what a receipt keeps after retention (the trigger
// receipts_immutable allows exactly this change, once).
const redactedReceipt = `{"redacted":true}`

// RedactArchived removes the personal data the station no longer needs
// once the registry holds the legal copy and the retention period has
// passed (before = now - retention):
//
//   - a receipt whose receipt event the registry confirmed archived before
//     before loses its content, signature strokes and PDF; its ID, issuance,
//     signing time and the PDF's SHA-256 stay;
//   - its issuance's ID document number and its attestors' names are
//     removed;
//   - an outbox event acknowledged before before (a receipt event:
//     archived before before) has its payload replaced by
//     {"redacted":true,"sha256":…}: the registry stores acknowledged events
//     forever;
//   - a person none of whose receipts is still whole and who holds no card
//     in use loses personal number and name, and the registry's facts
//     about that personal number go; the row and its ID stay, so records
//     still refer to a (pseudonymous) person.
//
// The audit log holds no personal data and is not touched: the chain
// still verifies. One audit entry records the run.
func (t *Tx) RedactArchived(ctx context.Context, before, now time.Time) (Redaction, error) {
	var red Redaction
	receipts, err := t.archivedReceipts(ctx, before)
	if err != nil {
		return red, err
	}
	for _, r := range receipts {
		if _, err := t.tx.ExecContext(ctx, `UPDATE receipts SET content = ?, signatures = '[]', pdf = X'', redacted_at = ? WHERE id = ? AND redacted_at IS NULL`,
			redactedReceipt, ts(now), r[0]); err != nil {
			return red, fmt.Errorf("redact receipt %s: %w", r[0], err)
		}
		if _, err := t.tx.ExecContext(ctx, `UPDATE id_document_checks SET doc_number = '' WHERE issuance_id = ?`, r[1]); err != nil {
			return red, fmt.Errorf("redact document check: %w", err)
		}
		if _, err := t.tx.ExecContext(ctx, `UPDATE attestations SET name = '' WHERE issuance_id = ?`, r[1]); err != nil {
			return red, fmt.Errorf("redact attestations: %w", err)
		}
		red.Receipts++
	}
	if red.Events, err = t.redactEvents(ctx, before, now); err != nil {
		return red, err
	}
	if red.Persons, err = t.redactPersons(ctx); err != nil {
		return red, err
	}
	if red == (Redaction{}) {
		return red, nil
	}
	ids := make([]string, 0, len(receipts))
	for _, r := range receipts {
		ids = append(ids, r[0])
	}
	_, err = t.Audit(ctx, audit.Entry{Kind: "retention.redacted", Actor: "station", Subject: "retention",
		Detail: map[string]any{"receipts": ids, "events": red.Events, "persons": red.Persons, "archived_before": ts(before)}})
	return red, err
}

// archivedReceipts are the whole receipts (ID, issuance ID) whose receipt
// event the registry archived before before.
func (t *Tx) archivedReceipts(ctx context.Context, before time.Time) ([][2]string, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT r.id, r.issuance_id, o.archived_at FROM receipts r
		JOIN outbox o ON o.kind = ? AND o.archived_at IS NOT NULL AND o.redacted_at IS NULL
		 AND json_extract(CAST(o.payload AS TEXT), '$.receipt_id') = r.id
		WHERE r.redacted_at IS NULL`, protocol.KindReceipt)
	if err != nil {
		return nil, fmt.Errorf("read archived receipts: %w", err)
	}
	defer rows.Close()
	var out [][2]string
	for rows.Next() {
		var id, iss, at string
		if err := rows.Scan(&id, &iss, &at); err != nil {
			return nil, fmt.Errorf("read archived receipts: %w", err)
		}
		archived, err := time.Parse(time.RFC3339Nano, at)
		if err != nil {
			return nil, fmt.Errorf("receipt %s: bad archive time: %w", id, err)
		}
		if archived.Before(before) {
			out = append(out, [2]string{id, iss})
		}
	}
	return out, rows.Err()
}

// redactEvents replaces the payloads of events acknowledged (receipt
// events: archived) before before with their hash.
func (t *Tx) redactEvents(ctx context.Context, before, now time.Time) (int, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT seq, kind, acked_at, archived_at FROM outbox WHERE acked_at IS NOT NULL AND redacted_at IS NULL`)
	if err != nil {
		return 0, fmt.Errorf("read acknowledged events: %w", err)
	}
	var seqs []int64
	for rows.Next() {
		var seq int64
		var kind, acked string
		var archived *string
		if err := rows.Scan(&seq, &kind, &acked, &archived); err != nil {
			rows.Close()
			return 0, fmt.Errorf("read acknowledged events: %w", err)
		}
		from := acked
		if kind == protocol.KindReceipt {
			if archived == nil {
				continue // the registry has not confirmed the archive
			}
			from = *archived
		}
		at, err := time.Parse(time.RFC3339Nano, from)
		if err != nil {
			rows.Close()
			return 0, fmt.Errorf("event %d: bad time: %w", seq, err)
		}
		if at.Before(before) {
			seqs = append(seqs, seq)
		}
	}
	if err := closeRows(rows); err != nil {
		return 0, fmt.Errorf("read acknowledged events: %w", err)
	}
	for _, seq := range seqs {
		var payload []byte
		if err := t.tx.QueryRowContext(ctx, `SELECT payload FROM outbox WHERE seq = ?`, seq).Scan(&payload); err != nil {
			return 0, fmt.Errorf("redact event %d: %w", seq, err)
		}
		sum := sha256.Sum256(payload)
		kept := []byte(`{"redacted":true,"sha256":"` + hex.EncodeToString(sum[:]) + `"}`)
		if _, err := t.tx.ExecContext(ctx, `UPDATE outbox SET payload = ?, redacted_at = ? WHERE seq = ?`, kept, ts(now), seq); err != nil {
			return 0, fmt.Errorf("redact event %d: %w", seq, err)
		}
	}
	return len(seqs), nil
}

// redactPersons removes personal number and name of every person whose
// receipts are all redacted (and who has one) and who holds no card in
// use, with the registry's facts about them.
func (t *Tx) redactPersons(ctx context.Context) (int, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT p.id, p.personal_number FROM persons p
		WHERE (p.personal_number IS NOT NULL OR p.name != '')
		  AND EXISTS (SELECT 1 FROM issuances i JOIN receipts r ON r.issuance_id = i.id WHERE i.person_id = p.id)
		  AND NOT EXISTS (SELECT 1 FROM issuances i JOIN receipts r ON r.issuance_id = i.id WHERE i.person_id = p.id AND r.redacted_at IS NULL)
		  AND NOT EXISTS (SELECT 1 FROM cards c WHERE c.holder = p.id AND c.state IN ('handed_out', 'approved', 'activated'))`)
	if err != nil {
		return 0, fmt.Errorf("read persons to redact: %w", err)
	}
	type person struct {
		id  int64
		pnr *string
	}
	var ps []person
	for rows.Next() {
		var p person
		if err := rows.Scan(&p.id, &p.pnr); err != nil {
			rows.Close()
			return 0, fmt.Errorf("read persons to redact: %w", err)
		}
		ps = append(ps, p)
	}
	if err := closeRows(rows); err != nil {
		return 0, fmt.Errorf("read persons to redact: %w", err)
	}
	for _, p := range ps {
		if _, err := t.tx.ExecContext(ctx, `UPDATE persons SET personal_number = NULL, name = '' WHERE id = ?`, p.id); err != nil {
			return 0, fmt.Errorf("redact person: %w", err)
		}
		if p.pnr != nil {
			if _, err := t.tx.ExecContext(ctx, `DELETE FROM ref_person_facts WHERE personal_number = ?`, *p.pnr); err != nil {
				return 0, fmt.Errorf("remove person facts: %w", err)
			}
		}
	}
	return len(ps), nil
}

// Compact moves everything in the write-ahead log into the database file
// and truncates the log, so data removed by retention is not left in old
// log frames (secure_delete zeroes it in the database file's pages).
func (s *Store) Compact(ctx context.Context) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	var busy, logFrames, done int
	if err := s.writer.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logFrames, &done); err != nil {
		return fmt.Errorf("store: checkpoint: %w", err)
	}
	if busy != 0 {
		return fmt.Errorf("store: checkpoint blocked by a reader (%d of %d frames)", done, logFrames)
	}
	return nil
}
