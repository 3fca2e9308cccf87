package counter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/kortstation/kortstation/kiosk/receiptpdf"
	"github.com/kortstation/kortstation/kiosk/rules"
	"github.com/kortstation/kortstation/kiosk/rules/violation"
	"github.com/kortstation/kortstation/kiosk/store"
)

// Receipt corrections (RE-3): a receipt is never edited. From a receipt in
// the day list the operator types what was wrong (the recipient's name as
// written, the ID document's type, number or expiry); the rules make a new,
// unsigned receipt that refers to the old one (rules.NewCorrection, after
// rules.CheckReceiptUpdate has said that the change cannot be made to the
// sealed receipt itself); the recipient, the attestors and the operator
// sign again; it is sealed, rendered and stored as the receipt's next
// version with its audit entry and its receipt event (with corrects) for
// the registry, in one transaction, and printed. The old version stays as
// it was. Only this station's receipts are corrected, only their newest
// version, and only by the logged-in operator.

// correction is a correction in progress.
type correction struct {
	old    store.ReceiptRecord
	draft  *rules.Receipt // the new version, unsigned, once the changes are typed
	fields []string       // what changed, by name
}

// CorrectionInput is what the operator corrects: the recipient's name as
// it should be written, and the ID document (for a receipt that records
// one). An empty name keeps the name; a nil document keeps it.
type CorrectionInput struct {
	RecipientName string         `json:"recipient_name"`
	Document      *DocumentInput `json:"document,omitempty"`
}

// startCorrection opens a correction of the receipt id: it must be this
// station's, its newest version, and intact.
func (m *Counter) startCorrection(ctx context.Context, f *flowState, id string) error {
	rec, err := m.st.ReceiptRecord(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return errReceiptUnknown
	}
	if err != nil {
		return err
	}
	if rec.Superseded {
		return refuse(Message{Rule: "RE-3", Key: "receipt.superseded", Text: map[string]string{
			"sv": "Kvittensen är redan rättad. Rätta den senaste versionen i listan.",
			"en": "The receipt has been corrected already. Correct its newest version in the list."}})
	}
	if err := rules.VerifySealed(rec.Sealed); err != nil {
		m.log.Error("stored receipt does not match its seal", "receipt", id)
		return err
	}
	f.day.corr = &correction{old: rec}
	f.step = StepCorrect
	return nil
}

// prepareCorrection makes the new version from what was typed and asks
// for the signatures.
func (m *Counter) prepareCorrection(ctx context.Context, f *flowState, in CorrectionInput) error {
	c := f.day.corr
	old := c.old.Sealed.Receipt
	corrected := old
	var fields []string
	if name := strings.TrimSpace(in.RecipientName); name != "" && name != old.RecipientName {
		corrected.RecipientName = name
		fields = append(fields, "recipient_name")
	}
	if in.Document != nil {
		if old.Document == nil {
			return refuse(msg("correction.no_document", "Kvittensen har ingen ID-handling att rätta: mottagaren identifierades av intygsgivare.",
				"The receipt records no ID document to correct: attestors identified the recipient."))
		}
		doc, err := documentOf(*in.Document)
		if err != nil {
			return err
		}
		// The document must have been acceptable when the receipt was
		// signed (ID-1, ID-2, ID-5; ID-4: a passport for staff without a
		// Swedish number).
		var vs rules.Violations
		if old.Recipient.PersonalNumber.IsZero() {
			vs = rules.CheckPassportForShortTerm(doc, old.At)
		} else {
			vs = rules.CheckDocument(doc, old.At, false)
		}
		if len(vs) > 0 {
			return vs
		}
		if doc.Type != old.Document.Type || doc.Number != old.Document.Number || doc.Expiry != old.Document.Expiry || doc.Damaged != old.Document.Damaged {
			corrected.Document = &doc
			fields = append(fields, "document")
		}
	}
	// RE-3: the sealed receipt itself never changes. What the rules refuse
	// as an edit of it becomes a new receipt that refers to it; what they
	// let through changed nothing.
	err := rules.CheckReceiptUpdate(c.old.Sealed, corrected)
	if err == nil {
		return refuse(msg("correction.nothing", "Inget är ändrat. Skriv det som ska rättas.", "Nothing has changed. Type what is to be corrected."))
	}
	if v, ok := errors.AsType[*rules.Violation](err); !ok || v.Key != violation.KeyReceiptEdited || len(fields) == 0 {
		return err
	}
	draft, err := rules.NewCorrection(c.old.Sealed, corrected, "KV-"+strings.ToUpper(uuid.NewString()[:13]))
	if err != nil {
		return err
	}
	c.draft, c.fields = &draft, fields
	f.recipient = rules.Recipient{Person: draft.Recipient, Name: draft.RecipientName}
	f.doc, f.ground = draft.Document, draft.AttestationGround
	f.attestors = nil
	for _, a := range draft.Attestors {
		f.attestors = append(f.attestors, rules.Attestor{Person: a.Person, Name: a.Name, Role: a.Role, Proof: a.Proof, Present: true})
	}
	clear(f.sigs)
	f.step = StepSign
	return nil
}

// completeCorrection seals the new version once everyone signed, renders
// it, stores it and prints it.
func (m *Counter) completeCorrection(ctx context.Context, f *flowState) error {
	c := f.day.corr
	if c.draft == nil {
		return errWrongStep
	}
	for _, s := range signersOf(f) {
		if !s.Signed {
			return refuse(Message{Rule: "RE-1", Key: "receipt.unsigned", Text: map[string]string{
				"sv": "Alla underskrifter behövs innan kvittensen kan sparas.", "en": "Every signature is needed before the receipt can be saved."}})
		}
	}
	now := m.clock.Now()
	r := *c.draft
	r.SignedAt = now
	for i := range r.Attestors {
		r.Attestors[i].SignedAt = now
	}
	used, err := m.receiptUsed(ctx, r.ID)
	if err != nil {
		return err
	}
	sealed, err := rules.Seal(r, used)
	if err != nil {
		return err
	}
	sigs := []receiptpdf.Signature{f.sigs["recipient"]}
	for i := range f.attestors {
		sigs = append(sigs, f.sigs[attestorKey(i)])
	}
	sigs = append(sigs, f.sigs["administrator"])
	// The activation text is that of the original issuance: its card type
	// and the approval expected from its time (CP-2).
	d := &rules.IssuanceDecision{CardType: r.CardType}
	if t, err := rules.ExpectedApproval(r.At, rules.Registry{}); err == nil {
		d.ExpectedApproval = t
	}
	pdf, err := m.receiptDocument(sealed.Receipt, d, sigs)
	if err != nil {
		return fmt.Errorf("render correction: %w", err)
	}
	sigJSON, err := json.Marshal(sigs)
	if err != nil {
		return fmt.Errorf("encode signatures: %w", err)
	}
	err = m.st.Update(ctx, m.clock, func(t *store.Tx) error {
		return t.RecordCorrection(ctx, store.Correction{Receipt: sealed, IssuanceID: c.old.IssuanceID, CardSerial: c.old.CardSerial,
			Fields: c.fields, Signatures: sigJSON, PDF: pdf, Session: sessionOf(m.sess), At: now})
	})
	switch {
	case errors.Is(err, store.ErrSuperseded):
		return refuse(Message{Rule: "RE-3", Key: "receipt.superseded", Text: map[string]string{
			"sv": "Kvittensen har rättats under tiden. Börja om från listan.", "en": "The receipt was corrected meanwhile. Start again from the list."}})
	case errors.Is(err, store.ErrNotFound):
		return errReceiptUnknown
	case err != nil:
		return err
	}
	m.print(ctx, sealed.Receipt.ID, pdf)
	f.result = map[string]any{"receipt_id": sealed.Receipt.ID, "corrects": r.Corrects, "card_number": r.CardNumber}
	f.step = StepDone
	f.day.corr = nil
	clear(f.sigs)
	f.doc, f.attestors, f.ground = nil, nil, ""
	return nil
}

// correctionView shows the receipt being corrected and, once typed, who
// signs the new version.
func (m *Counter) correctionView(f *flowState, d map[string]any) {
	c := f.day.corr
	old := c.old.Sealed.Receipt
	v := map[string]any{
		"receipt_id": old.ID, "kind": old.Kind, "card_number": old.CardNumber, "recipient_name": old.RecipientName,
		"at": minuteText(old.At), "operator_name": old.OperatorName,
	}
	if !old.Recipient.PersonalNumber.IsZero() {
		v["personal_number"] = old.Recipient.PersonalNumber.String()
	}
	if old.Document != nil {
		v["document"] = map[string]any{"type": old.Document.Type, "number": old.Document.Number, "expiry": old.Document.Expiry.String(), "intact": !old.Document.Damaged}
	}
	if len(old.Attestors) > 0 {
		var names []string
		for _, a := range old.Attestors {
			names = append(names, a.Name)
		}
		v["attestors"] = names
	}
	if c.draft != nil {
		v["new_receipt_id"] = c.draft.ID
		v["new_recipient_name"] = c.draft.RecipientName
		v["fields"] = c.fields
		if c.draft.Document != nil {
			v["new_document"] = map[string]any{"type": c.draft.Document.Type, "number": c.draft.Document.Number, "expiry": c.draft.Document.Expiry.String()}
		}
		d["signers"] = signersOf(f)
	}
	d["correction"] = v
}
