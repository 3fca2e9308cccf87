package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/kortstation/kortstation/kiosk/audit"
	"github.com/kortstation/kortstation/kiosk/rules"
	"github.com/kortstation/kortstation/sync/protocol"
)

// ErrSuperseded is returned for a receipt that a correction has replaced
// already: only the newest version of a receipt is corrected (RE-3).
var ErrSuperseded = errors.New("store: the receipt has been corrected already")

// ReceiptRecord is a stored receipt as sealed, with the issuance it closes.
type ReceiptRecord struct {
	Sealed     rules.SealedReceipt
	IssuanceID string
	CardSerial string
	PrintState string
	// Superseded: a correction refers to this receipt.
	Superseded bool
}

// ReceiptRecord reads the sealed receipt id of this station; ErrNotFound
// when there is none.
func (s *Store) ReceiptRecord(ctx context.Context, id string) (ReceiptRecord, error) {
	var r ReceiptRecord
	var content string
	var superseded int
	err := s.reader.QueryRowContext(ctx, `SELECT r.content, r.issuance_id, i.card_serial, r.print_state,
		EXISTS (SELECT 1 FROM receipts n WHERE n.corrects = r.id)
		FROM receipts r JOIN issuances i ON i.id = r.issuance_id WHERE r.id = ?`, id).
		Scan(&content, &r.IssuanceID, &r.CardSerial, &r.PrintState, &superseded)
	if errors.Is(err, sql.ErrNoRows) {
		return r, ErrNotFound
	}
	if err != nil {
		return r, fmt.Errorf("read receipt: %w", err)
	}
	if err := json.Unmarshal([]byte(content), &r.Sealed); err != nil {
		return r, fmt.Errorf("stored receipt %s: %w", id, err)
	}
	r.Superseded = superseded == 1
	return r, nil
}

// Correction is a new version of a receipt (RE-3): sealed, signed again,
// rendered, referring to the receipt it corrects.
type Correction struct {
	Receipt    rules.SealedReceipt // Receipt.Corrects names the old receipt
	IssuanceID string
	CardSerial string
	// Fields names what changed (no values: they may be personal data).
	Fields     []string
	Signatures json.RawMessage
	PDF        []byte
	Session    Session
	At         time.Time
}

// RecordCorrection stores a correction: the new receipt row that refers to
// the old one (which stays as it was), its audit entry and the receipt
// event for the registry, in one transaction. ErrSuperseded when the old
// receipt was corrected already; ErrNotFound when it is not this
// station's.
func (t *Tx) RecordCorrection(ctx context.Context, c Correction) error {
	r := c.Receipt.Receipt
	if r.Corrects == "" || r.Corrects == r.ID {
		return fmt.Errorf("store: a correction must refer to another receipt")
	}
	var issuance string
	var superseded int
	err := t.tx.QueryRowContext(ctx, `SELECT issuance_id, EXISTS (SELECT 1 FROM receipts n WHERE n.corrects = r.id) FROM receipts r WHERE id = ?`, r.Corrects).
		Scan(&issuance, &superseded)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("read corrected receipt: %w", err)
	}
	if superseded == 1 {
		return ErrSuperseded
	}
	if issuance != c.IssuanceID {
		return fmt.Errorf("store: the correction names issuance %s, the receipt belongs to %s", c.IssuanceID, issuance)
	}
	content, err := json.Marshal(c.Receipt)
	if err != nil {
		return fmt.Errorf("encode receipt: %w", err)
	}
	sum := sha256.Sum256(c.PDF)
	pdfHash := hex.EncodeToString(sum[:])
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO receipts (id, issuance_id, corrects, content, signatures, pdf, pdf_sha256, signed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, c.IssuanceID, r.Corrects, string(content), string(c.Signatures), c.PDF, pdfHash, ts(r.SignedAt)); err != nil {
		return fmt.Errorf("insert correction: %w", err)
	}
	if _, err := t.Audit(ctx, audit.Entry{Kind: "receipt.corrected", Actor: c.Session.Operator, Subject: r.ID,
		Detail: map[string]any{"corrects": r.Corrects, "issuance": c.IssuanceID, "card": c.CardSerial, "fields": c.Fields, "session": c.Session.ID, "rule": "RE-3"}}); err != nil {
		return err
	}
	_, err = t.Enqueue(ctx, protocol.ReceiptPayload{
		ReceiptID: r.ID, IssuanceID: c.IssuanceID, CardSerial: c.CardSerial, Corrects: r.Corrects, Content: content,
		Signatures: c.Signatures, PDF: c.PDF, PDFSHA256: pdfHash, SignedAt: r.SignedAt,
	})
	return err
}

// RecordReprint audits a stored receipt printed again from the day list:
// the same PDF, no new receipt (RE-3).
func (t *Tx) RecordReprint(ctx context.Context, receiptID string, s Session) error {
	_, err := t.Audit(ctx, audit.Entry{Kind: "receipt.reprinted", Actor: s.Operator, Subject: receiptID,
		Detail: map[string]any{"session": s.ID}})
	return err
}
