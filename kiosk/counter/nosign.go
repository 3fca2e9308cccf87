package counter

import (
	"context"
	"encoding/json"
	"slices"

	"github.com/kortstation/kortstation/hw/cardreader"
	"github.com/kortstation/kortstation/kiosk/audit"
	"github.com/kortstation/kortstation/kiosk/receiptpdf"
	"github.com/kortstation/kortstation/kiosk/rules"
	"github.com/kortstation/kortstation/kiosk/store"
)

// When the recipient cannot sign (issue 13, item 8), the operator records
// it at the sign step with a reason from a short fixed list — never health
// details — and an attestor confirms it with their own SITHS card and PIN
// (the card proven as at the identification step: kiosk/trust, not the
// recipient or the operator (AT-3), not blocked (BL-1)). The statement
// then replaces the recipient's signature on the receipt (RE-1); the
// operator still signs, and the receipt is sealed as before.
//
// Recording the statement after the recipient drew a signature discards
// that signature: the receipt carries one or the other, never both. While
// the statement stands, the recipient's signature is refused; withdrawing
// the statement (or going back) lets the recipient sign again.

// noSignState is the statement in progress.
type noSignState struct {
	reason    rules.NoSignatureReason
	confirmed *rules.NoSignature // nil until an attestor confirmed it
}

// NoSignatureInput records (reason) or withdraws the statement.
type NoSignatureInput struct {
	Reason   rules.NoSignatureReason `json:"reason"`
	Withdraw bool                    `json:"withdraw"`
}

var errNoSignReason = refuse(msg("no_signature.reason", "Välj varför mottagaren inte kan skriva under.", "Choose why the recipient cannot sign."))

// noSignature records or withdraws that the recipient cannot sign.
func (m *Counter) noSignature(ctx context.Context, f *flowState, data json.RawMessage) error {
	var req NoSignatureInput
	if err := decode(data, &req); err != nil {
		return err
	}
	if req.Withdraw {
		if f.noSign != nil {
			m.auditNoSign(ctx, "receipt.no_signature_withdrawn", f.noSign.reason, "")
		}
		f.noSign, f.attLogin = nil, nil
		return nil
	}
	if !slices.Contains(rules.NoSignatureReasons(), req.Reason) {
		return errNoSignReason
	}
	_, drawn := f.sigs["recipient"]
	delete(f.sigs, "recipient") // one or the other, never both
	f.noSign, f.attLogin = &noSignState{reason: req.Reason}, nil
	kind := "receipt.no_signature_recorded"
	if drawn {
		kind = "receipt.no_signature_recorded_signature_discarded"
	}
	m.auditNoSign(ctx, kind, req.Reason, "")
	return nil
}

// noSignCardRead reads the card of the attestor who confirms the
// statement, put in the card reader at the sign step.
func (m *Counter) noSignCardRead(ctx context.Context, f *flowState, reader string, card cardreader.Card) error {
	f.attLogin = nil
	if f.noSign.confirmed != nil {
		return refuse(msg("no_signature.confirmed", "En intygsgivare har redan bekräftat. Ta ut kortet.", "An attestor has already confirmed. Remove the card."))
	}
	lg, err := m.attestorCard(ctx, f, reader, card)
	if err != nil {
		return err
	}
	f.attLogin = lg
	return nil
}

// noSignConfirm takes the confirming attestor's PIN: once their card is
// proven, the statement is confirmed.
func (m *Counter) noSignConfirm(ctx context.Context, f *flowState, data json.RawMessage) error {
	if f.noSign == nil {
		clear(data)
		return errWrongStep
	}
	id, err := m.proveAttestor(ctx, f, data)
	if err != nil {
		return err
	}
	f.noSign.confirmed = &rules.NoSignature{
		Reason: f.noSign.reason, ConfirmedBy: rules.Person{HSAID: id.HSAID}, ConfirmedByName: id.Certificate.Subject.CommonName,
		Proof: rules.ProofCard, ConfirmedAt: m.clock.Now(),
	}
	m.auditNoSign(ctx, "receipt.no_signature_confirmed", f.noSign.reason, id.HSAID.String())
	return nil
}

// auditNoSign records the statement's steps: the reason's key and the
// confirming attestor's HSA-ID; no name.
func (m *Counter) auditNoSign(ctx context.Context, kind string, reason rules.NoSignatureReason, confirmedBy string) {
	detail := map[string]any{"session": m.sess.id, "reason": string(reason), "rule": "RE-1"}
	if confirmedBy != "" {
		detail["confirmed_by"] = confirmedBy
	}
	if m.flow != nil && m.flow.receiptID != "" {
		detail["receipt"] = m.flow.receiptID
	}
	err := m.st.Update(ctx, m.clock, func(t *store.Tx) error {
		_, err := t.Audit(ctx, audit.Entry{Kind: kind, Actor: m.sess.hsaID.String(), Subject: m.sess.id, Detail: detail})
		return err
	})
	if err != nil {
		m.log.Error("recipient's statement not audited", "err", err)
	}
}

// noSignView is the statement as the sign step shows it.
func noSignView(f *flowState, d map[string]any) {
	d["no_signature_reasons"] = rules.NoSignatureReasons()
	if f.noSign == nil {
		return
	}
	v := map[string]any{"reason": f.noSign.reason}
	if c := f.noSign.confirmed; c != nil {
		v["confirmed_by"] = map[string]any{"name": c.ConfirmedByName, "hsa_id": c.ConfirmedBy.HSAID.String()}
	}
	d["no_signature"] = v
}

var pdfNoSign = map[rules.NoSignatureReason]receiptpdf.NoSignatureReason{
	rules.NoSignCannotWrite: receiptpdf.NoSignCannotWrite, rules.NoSignCannotUsePad: receiptpdf.NoSignCannotUsePad,
	rules.NoSignOther: receiptpdf.NoSignOther,
}
