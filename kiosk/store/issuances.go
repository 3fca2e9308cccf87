package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/kortstation/kortstation/kiosk/audit"
	"github.com/kortstation/kortstation/kiosk/rules"
	"github.com/kortstation/kortstation/sync/protocol"
)

// Issuance kinds as stored.
const (
	IssuanceReserve   = "reserve"
	IssuanceExtension = "extension"
	IssuancePickup    = "pickup"
)

// Issuance is a reserve-card issuance, extension or pickup closed with its
// sealed receipt (RE-1, RE-3).
type Issuance struct {
	ID   string
	Kind string // IssuanceReserve, IssuanceExtension or IssuancePickup
	// Card is the card handed out, in the state the decision saw.
	Card      rules.Card
	Recipient rules.Recipient
	Decision  *rules.IssuanceDecision
	Receipt   rules.SealedReceipt
	// Signatures is the signature strokes as JSON; PDF the rendered receipt.
	Signatures json.RawMessage
	PDF        []byte
	Session    Session
	At         time.Time
	// Notifications are queued with the issuance (RE-5), so none is lost
	// and none is sent for an issuance that was not stored.
	Notifications []protocol.NotificationPayload
}

// RecordIssuance stores an issuance in one go: the recipient, the card's
// new state and holder, the stock movement (not for an extension), the
// issuance (an extension refers to the reserve issuance), the ID document
// check (ID-5) or the attestations, the sealed receipt and its PDF, the
// audit entry, and the registry's events (issuance or extension, receipt,
// notifications).
func (t *Tx) RecordIssuance(ctx context.Context, in Issuance) error {
	d, r, serial := in.Decision, in.Receipt.Receipt, in.Card.Number
	content, err := json.Marshal(in.Receipt)
	if err != nil {
		return fmt.Errorf("encode receipt: %w", err)
	}
	sum := sha256.Sum256(in.PDF)
	pdfHash := hex.EncodeToString(sum[:])
	rule := "RC-1"
	switch in.Kind {
	case IssuanceExtension:
		rule = "RC-5"
	case IssuancePickup:
		rule = "ID-3"
	}
	pid, err := t.personID(ctx, in.Recipient, in.At)
	if err != nil {
		return err
	}
	refersTo := ""
	if in.Kind == IssuanceExtension {
		refersTo = t.latestIssuance(ctx, serial, IssuanceReserve)
	}
	if err := t.setCardState(ctx, cardChange{serial: serial, from: t.storedState(ctx, serial, in.Card.State), to: d.NewState,
		rule: rule, reason: string(r.Reason), session: in.Session.ID, at: in.At,
		holder: pid, validFrom: d.ValidFrom, until: d.ValidUntil}); err != nil {
		return err
	}
	if in.Kind != IssuanceExtension {
		if err := t.movement(ctx, serial, "handed_out", "", in.Session.ID, in.At); err != nil {
			return err
		}
	}
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO issuances (id, kind, card_serial, person_id, session_id, reason, valid_from, valid_until, refers_to, created_at, clock_source)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, in.ID, in.Kind, serial, pid, in.Session.ID, nullIfEmpty(string(r.Reason)),
		ts(d.ValidFrom), ts(d.ValidUntil), nullIfEmpty(refersTo), ts(in.At), t.clock.Source()); err != nil {
		return fmt.Errorf("insert issuance: %w", err)
	}
	if r.Document != nil {
		intact := 1
		if r.Document.Damaged {
			intact = 0
		}
		if _, err := t.tx.ExecContext(ctx, `INSERT INTO id_document_checks (issuance_id, doc_type, doc_number, expires_on, intact, checked_at) VALUES (?, ?, ?, ?, ?, ?)`,
			in.ID, string(r.Document.Type), r.Document.Number, r.Document.Expiry.String(), intact, ts(in.At)); err != nil {
			return fmt.Errorf("insert document check: %w", err)
		}
	}
	var attestors, proofs []string
	for _, a := range r.Attestors {
		attestors = append(attestors, a.HSAID.String())
		proofs = append(proofs, string(a.Proof))
		if _, err := t.tx.ExecContext(ctx, `INSERT INTO attestations (issuance_id, attestor, name, role, signed_at) VALUES (?, ?, ?, ?, ?)`,
			in.ID, a.HSAID.String(), a.Name, string(a.Role), ts(a.SignedAt)); err != nil {
			return fmt.Errorf("insert attestation: %w", err)
		}
	}
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO receipts (id, issuance_id, corrects, content, signatures, pdf, pdf_sha256, signed_at) VALUES (?, ?, NULL, ?, ?, ?, ?, ?)`,
		r.ID, in.ID, string(content), string(in.Signatures), in.PDF, pdfHash, ts(r.SignedAt)); err != nil {
		return fmt.Errorf("insert receipt: %w", err)
	}
	detail := map[string]any{"card": serial, "receipt": r.ID, "reason": string(r.Reason), "session": in.Session.ID, "identified_by": identifiedBy(r)}
	if ns := r.NoSignature; ns != nil {
		// The recipient could not sign: the statement replaced their
		// signature, confirmed by an attestor (RE-1). No name.
		detail["recipient_signature"] = "statement"
		detail["no_signature_reason"] = string(ns.Reason)
		detail["no_signature_confirmed_by"] = ns.ConfirmedBy.HSAID.String()
	}
	if _, err := t.Audit(ctx, audit.Entry{Kind: "card." + in.Kind, Actor: in.Session.Operator, Subject: in.ID, Detail: detail}); err != nil {
		return err
	}
	pnr := ""
	if !in.Recipient.PersonalNumber.IsZero() {
		pnr = Canonical(in.Recipient.PersonalNumber)
	}
	issued := protocol.IssuancePayload{
		IssuanceID: in.ID, CardSerial: serial, CardType: string(d.CardType), PersonalNumber: pnr,
		Reason: string(r.Reason), ValidFrom: d.ValidFrom, ValidUntil: d.ValidUntil, Operator: in.Session.Operator, Attestors: attestors,
		RefersTo: refersTo, AttestationGround: string(r.AttestationGround), AttestorProofs: proofs,
	}
	var p protocol.Payload = issued
	if in.Kind == IssuanceExtension {
		p = protocol.ExtensionPayload(issued)
	}
	if _, err := t.Enqueue(ctx, p); err != nil {
		return err
	}
	if _, err := t.Enqueue(ctx, protocol.ReceiptPayload{
		ReceiptID: r.ID, IssuanceID: in.ID, CardSerial: serial, Content: content, Signatures: in.Signatures,
		PDF: in.PDF, PDFSHA256: pdfHash, SignedAt: r.SignedAt,
	}); err != nil {
		return err
	}
	for _, n := range in.Notifications {
		if _, err := t.Enqueue(ctx, n); err != nil {
			return err
		}
	}
	return nil
}

func identifiedBy(r rules.Receipt) string {
	if r.Document != nil {
		return "document"
	}
	if len(r.Attestors) > 0 {
		return "attestation"
	}
	return ""
}
