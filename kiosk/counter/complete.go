package counter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/kortstation/kortstation/hw/printer"
	"github.com/kortstation/kortstation/kiosk/receiptpdf"
	"github.com/kortstation/kortstation/kiosk/rules"
	"github.com/kortstation/kortstation/kiosk/rules/calendar"
	"github.com/kortstation/kortstation/kiosk/store"
	"github.com/kortstation/kortstation/sync/protocol"
)

// preview is the receipt as the screen shows it before signing (in
// Swedish on the receipt itself; the screen labels follow the language).
func previewOf(f *flowState, d *rules.IssuanceDecision) map[string]any {
	r := d.Receipt
	p := map[string]any{
		"receipt_id": r.ID, "kind": r.Kind, "card_number": r.CardNumber, "card_type": r.CardType,
		"recipient_name": r.RecipientName, "reason": r.Reason,
		"valid_from": dateText(d.ValidFrom), "valid_through": d.ValidThrough.String(),
		"validity_days":     d.ValidityDays,
		"expected_approval": minuteText(d.ExpectedApproval),
		"operator_name":     r.OperatorName, "place": r.Place, "at": minuteText(r.At),
	}
	if !r.Recipient.PersonalNumber.IsZero() {
		p["personal_number"] = r.Recipient.PersonalNumber.String()
	}
	if r.Document != nil {
		p["document"] = r.Document
	}
	if len(r.Attestors) > 0 {
		p["attestors"] = r.Attestors
	}
	p["activation"] = activationInfo(d)
	return p
}

// activationInfo tells the recipient when approval is expected (CP-2) and
// how activation works, in both languages.
func activationInfo(d *rules.IssuanceDecision) map[string]string {
	if d.CardType != rules.CardReserve {
		return map[string]string{
			"sv": "Kortet kan användas direkt med den PIN-kod som skickats till dig.",
			"en": "The card can be used at once with the PIN sent to you.",
		}
	}
	when := minuteText(d.ExpectedApproval)
	return map[string]string{
		"sv": "Centrala kortadministrationen förväntas godkänna kortet senast " + when +
			" (vardagar 07:30–12:00 och 13:00–16:00). Du får ett meddelande när kortet kan aktiveras; aktivera det då med koderna i det förseglade kuvertet.",
		"en": "The central card service is expected to approve the card by " + when +
			" (working days 07:30–12:00 and 13:00–16:00). You will be told when the card can be activated; then activate it with the codes in the sealed envelope.",
	}
}

var pdfReason = map[rules.Reason]receiptpdf.Reason{
	rules.ReasonForgotten: receiptpdf.ReasonForgotten, rules.ReasonStolen: receiptpdf.ReasonStolen,
	rules.ReasonLost: receiptpdf.ReasonLost, rules.ReasonBroken: receiptpdf.ReasonBroken,
	rules.ReasonDamaged: receiptpdf.ReasonDamaged, rules.ReasonWaitingForNewCard: receiptpdf.ReasonWaitingForNewCard,
	rules.ReasonTemporaryAssignment: receiptpdf.ReasonTemporaryAssignment,
}

var pdfDoc = map[rules.DocumentType]receiptpdf.DocumentType{
	rules.DocSwedishPassport: receiptpdf.DocPassport, rules.DocSwedishDrivingLicence: receiptpdf.DocDrivingLicence,
	rules.DocSISIDCard: receiptpdf.DocSISIDCard, rules.DocNationalIDCard: receiptpdf.DocNationalIDCard,
	rules.DocTaxAgencyIDCard: receiptpdf.DocTaxAgencyIDCard, rules.DocForeignPassport: receiptpdf.DocForeignPassport,
}

func pdfCardType(t rules.CardType) receiptpdf.CardType {
	switch t {
	case rules.CardReserve:
		return receiptpdf.CardReserve
	case rules.CardShortTerm:
		return receiptpdf.CardShortTerm
	}
	return receiptpdf.CardRegular
}

// receiptDocument renders the sealed receipt with its signatures (RE-4).
func (m *Counter) receiptDocument(r rules.Receipt, d *rules.IssuanceDecision, sigs []receiptpdf.Signature) ([]byte, error) {
	pr := receiptpdf.Receipt{
		Lang: receiptpdf.Swedish, ID: r.ID, Corrects: r.Corrects,
		Recipient: receiptpdf.Recipient{Name: r.RecipientName},
		// The receipt prints the last valid day ("giltigt till och med");
		// the rules' ValidUntil is the first instant the card is invalid.
		Card: receiptpdf.Card{Number: r.CardNumber, Type: pdfCardType(r.CardType), ValidFrom: r.ValidFrom,
			ValidUntil: calendar.DateOf(r.ValidUntil).AddDays(-1).At(23, 59)},
		Reason:         pdfReason[r.Reason],
		Administrator:  receiptpdf.Person{Name: r.OperatorName, HSAID: r.Operator.HSAID.String()},
		Station:        receiptpdf.Station{Name: m.info.Name, Location: r.Place},
		IssuedAt:       r.At.In(calendar.Stockholm()),
		Signatures:     sigs,
		ActivationInfo: activationInfo(d)["sv"],
	}
	if r.Kind == rules.ReceiptPickup {
		pr.Reason = receiptpdf.ReasonNewCard
	}
	if r.Recipient.PersonalNumber.IsZero() {
		pr.Recipient.NoSwedishNumber = true
	} else {
		pr.Recipient.PersonalNumber = r.Recipient.PersonalNumber.String()
	}
	if r.Document != nil {
		pr.IDDocument = &receiptpdf.IDDocument{Type: pdfDoc[r.Document.Type], Number: r.Document.Number, Expiry: r.Document.Expiry.Start()}
	}
	if ns := r.NoSignature; ns != nil {
		pr.NoSignature = &receiptpdf.NoSignature{Reason: pdfNoSign[ns.Reason],
			ConfirmedBy: receiptpdf.Person{Name: ns.ConfirmedByName, HSAID: ns.ConfirmedBy.HSAID.String()}}
	}
	if len(r.Attestors) == 1 && managerPresent(r.Recipient, r.Document, r.AttestationGround, r.Attestors[0].Role) {
		// ID-4: the passport identifies the recipient; or (seed 003) the
		// recipient has no valid ID document. The manager is present and
		// signs, printed in a section of their own.
		a := r.Attestors[0]
		pr.AttestationGround = receiptpdf.AttestationGround(r.AttestationGround)
		pr.Manager = &receiptpdf.Person{Name: a.Name, HSAID: a.HSAID.String()}
		return receiptpdf.RenderReceipt(pr, receiptpdf.A4)
	}
	for _, a := range r.Attestors {
		pr.Attestors = append(pr.Attestors, receiptpdf.Person{Name: a.Name, HSAID: a.HSAID.String(), Proof: receiptpdf.Proof(a.Proof)})
	}
	pr.AttestationGround = receiptpdf.AttestationGround(r.AttestationGround)
	return receiptpdf.RenderReceipt(pr, receiptpdf.A4)
}

// managerPresent reports whether the identity is that of staff without a
// Swedish number (ID-4): a passport, and the one attestor, of the roles
// given, is their manager (the rules checked that they are present with a
// valid ID document of their own).
//
// Or, for a recipient with a Swedish number, that they have no valid ID
// document (the ground recorded, ID-6) and their manager is present with
// a valid ID of their own (seed 003).
func managerPresent(r rules.Person, doc *rules.IDDocument, ground rules.AttestationGround, roles ...rules.AttestorRole) bool {
	if len(roles) != 1 || roles[0] != rules.RoleManager {
		return false
	}
	return (r.PersonalNumber.IsZero() && doc != nil) || (!r.PersonalNumber.IsZero() && doc == nil && ground == rules.GroundNoValidDocument)
}

// letterDocument renders the hand-out letter for the receipt.
func (m *Counter) letterDocument(r rules.Receipt, d *rules.IssuanceDecision) ([]byte, error) {
	l := receiptpdf.Letter{
		Lang: receiptpdf.Swedish, ReceiptID: r.ID, RecipientName: r.RecipientName,
		Card: receiptpdf.Card{Number: r.CardNumber, Type: pdfCardType(r.CardType), ValidFrom: r.ValidFrom,
			ValidUntil: calendar.DateOf(r.ValidUntil).AddDays(-1).At(23, 59)},
		Reason:         pdfReason[r.Reason],
		Administrator:  receiptpdf.Person{Name: r.OperatorName, HSAID: r.Operator.HSAID.String()},
		Station:        receiptpdf.Station{Name: m.info.Name, Location: r.Place},
		IssuedAt:       r.At.In(calendar.Stockholm()),
		ActivationInfo: activationInfo(d)["sv"],
	}
	if r.Kind == rules.ReceiptPickup {
		l.Reason = receiptpdf.ReasonNewCard
	}
	return receiptpdf.RenderLetter(l, receiptpdf.A4)
}

// complete closes an issuance, extension or pickup: the rules decide once
// more at this instant; the receipt is sealed with every signature (RE-1,
// RE-3), rendered, and stored with the card's new state, the issuance, the
// identification, the audit entry and the registry's records in one
// transaction; then it is printed.
func (m *Counter) complete(ctx context.Context, f *flowState) error {
	if f.noSign != nil && f.noSign.confirmed == nil {
		return refuse(Message{Rule: "RE-1", Key: "no_signature.unconfirmed", Text: map[string]string{
			"sv": "En intygsgivare behöver bekräfta att mottagaren inte kan skriva under: hen sätter i sitt SITHS-kort i kortläsaren och skriver sin PIN-kod.",
			"en": "An attestor needs to confirm that the recipient cannot sign: they insert their SITHS card in the card reader and type their PIN."}})
	}
	for _, s := range signersOf(f) {
		if !s.Signed {
			return refuse(Message{Rule: "RE-1", Key: "receipt.unsigned", Text: map[string]string{
				"sv": "Alla underskrifter behövs innan kvittensen kan sparas.", "en": "Every signature is needed before the receipt can be saved."}})
		}
	}
	if err := m.checkFresh(ctx); err != nil {
		return err
	}
	if err := m.decide(ctx, f); err != nil {
		return err
	}
	d := f.decision
	now := m.clock.Now()
	r := d.Receipt
	r.SignedAt = now
	for i := range r.Attestors {
		r.Attestors[i].SignedAt = now
	}
	var sigs []receiptpdf.Signature
	if f.noSign != nil {
		// The statement replaces the recipient's signature (RE-1).
		ns := *f.noSign.confirmed
		r.NoSignature = &ns
	} else {
		sigs = append(sigs, f.sigs["recipient"])
	}
	used, err := m.receiptUsed(ctx, r.ID)
	if err != nil {
		return err
	}
	sealed, err := rules.Seal(r, used)
	if err != nil {
		return err
	}
	for i := range f.attestors {
		sigs = append(sigs, f.sigs[attestorKey(i)])
	}
	sigs = append(sigs, f.sigs["administrator"])
	pdf, err := m.receiptDocument(sealed.Receipt, d, sigs)
	if err != nil {
		return fmt.Errorf("render receipt: %w", err)
	}
	issuanceID := uuid.NewString()
	if err := m.recordIssuance(ctx, f, sealed, pdf, sigs, issuanceID, now); err != nil {
		return err
	}
	m.print(ctx, sealed.Receipt.ID, pdf)
	// The hand-out letter goes with the card: when approval is expected
	// (CP-2) and how activation works. It is derived from the receipt and
	// not stored.
	if letter, err := m.letterDocument(sealed.Receipt, d); err != nil {
		m.log.Error("hand-out letter not rendered", "receipt", sealed.Receipt.ID, "err", err)
	} else if m.printer != nil {
		if _, err := m.printer.Print(ctx, printer.Document{Name: "letter " + sealed.Receipt.ID, PDF: letter}); err != nil {
			m.log.Warn("hand-out letter not printed", "receipt", sealed.Receipt.ID, "err", err)
		}
	}
	f.result = map[string]any{
		"receipt_id": sealed.Receipt.ID, "card_number": d.CardNumber, "valid_through": d.ValidThrough.String(),
		"expected_approval": minuteText(d.ExpectedApproval), "activation": activationInfo(d),
	}
	f.step = StepDone
	// The signatures and the identity are no longer needed on screen.
	f.sigs, f.doc, f.attestors, f.noSign = map[string]receiptpdf.Signature{}, nil, nil, nil
	return nil
}

func (m *Counter) receiptUsed(ctx context.Context, id string) ([]string, error) {
	used, err := m.st.ReceiptExists(ctx, id)
	if err != nil {
		return nil, err
	}
	if used {
		return []string{id}, nil
	}
	return nil, nil
}

// errCardChanged: the card moved on between the decision and the record.
var errCardChanged = refuse(msg("card_changed", "Kortet har ändrats under tiden. Börja om.", "The card changed meanwhile. Start again."))

// recorded turns the store's "the card changed meanwhile" into the
// operator's message.
func recorded(err error) error {
	if errors.Is(err, store.ErrCardChanged) {
		return errCardChanged
	}
	return err
}

// sessionOf is the session a record is made in.
func sessionOf(s *session) store.Session {
	return store.Session{ID: s.id, Operator: s.hsaID.String()}
}

func (m *Counter) recordIssuance(ctx context.Context, f *flowState, s rules.SealedReceipt, pdf []byte, sigs []receiptpdf.Signature, id string, now time.Time) error {
	kind := store.IssuanceReserve
	switch f.kind {
	case KindExtend:
		kind = store.IssuanceExtension
	case KindPickup:
		kind = store.IssuancePickup
	}
	sigJSON, err := json.Marshal(sigs)
	if err != nil {
		return fmt.Errorf("encode signatures: %w", err)
	}
	in := store.Issuance{
		ID: id, Kind: kind, Card: f.card, Recipient: f.recipient, Decision: f.decision, Receipt: s,
		Signatures: sigJSON, PDF: pdf, Session: sessionOf(m.sess), At: now,
	}
	// RE-5: the central service notifies the recipient and the attestors;
	// the station queues one request per notification with the issuance.
	for _, n := range f.decision.Notifications {
		in.Notifications = append(in.Notifications, notificationPayload(n, id, s.Receipt.ID))
	}
	return recorded(m.st.Update(ctx, m.clock, func(t *store.Tx) error {
		if err := t.RecordIssuance(ctx, in); err != nil {
			return err
		}
		return m.recordPickupExtra(ctx, t, f, id, now)
	}))
}

// notificationPayload is a notification request for the central service
// (RE-5): the addressee by role and HSA-ID, the message by its key; no
// personal number and no name.
func notificationPayload(n rules.Notification, issuanceID, receiptID string) protocol.NotificationPayload {
	p := protocol.NotificationPayload{Event: string(n.Event), Role: string(n.Role), IssuanceID: issuanceID, ReceiptID: receiptID,
		CardSerial: n.CardNumber, Key: string(n.Key)}
	if !n.To.HSAID.IsZero() {
		p.HSAID = n.To.HSAID.String()
	}
	return p
}

// print queues the receipt and follows the job in the background; the
// receipt's print state records the outcome.
func (m *Counter) print(ctx context.Context, receiptID string, pdf []byte) {
	if m.printer == nil {
		return
	}
	setState := func(ctx context.Context, state string) {
		err := m.st.Update(ctx, m.clock, func(t *store.Tx) error {
			return t.SetPrintState(ctx, receiptID, state, m.clock.Now())
		})
		if err != nil {
			m.log.Error("record print state", "receipt", receiptID, "err", err)
		}
	}
	job, err := m.printer.Print(ctx, printer.Document{Name: "receipt " + receiptID, PDF: pdf})
	if err != nil {
		m.log.Warn("receipt not printed", "receipt", receiptID, "err", err)
		setState(ctx, "failed")
		return
	}
	if err := m.st.Update(ctx, m.clock, func(t *store.Tx) error { return t.SetPrinting(ctx, receiptID, int(job.ID)) }); err != nil {
		m.log.Error("record print state", "receipt", receiptID, "err", err)
	}
	m.follow(receiptID, job.ID)
}

// follow follows a queued receipt job in the background and records how it
// ended in the receipt's print state.
func (m *Counter) follow(receiptID string, jobID printer.JobID) {
	setState := func(ctx context.Context, state string) {
		err := m.st.Update(ctx, m.clock, func(t *store.Tx) error {
			return t.SetPrintState(ctx, receiptID, state, m.clock.Now())
		})
		if err != nil {
			m.log.Error("record print state", "receipt", receiptID, "err", err)
		}
	}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		// A paused printer holds the job on purpose: the receipt stays
		// "printing" and prints when the printer is resumed. A printer that
		// cannot print otherwise (offline, out of paper, stopped, in error,
		// unreachable) would print the receipt later, unattended; the job
		// is withdrawn instead and the receipt marked failed, and the
		// operator prints the stored receipt again once the printer is back
		// (reprint). The follower gives up at shutdown and leaves the state
		// as it is.
		wctx, cancel := context.WithTimeout(m.bg, 12*time.Hour)
		defer cancel()
		stopped := printer.StateUnknown
		_, err := m.printer.Wait(wctx, jobID, func(p printer.Progress) {
			if failsJob(p) {
				stopped = p.Printer.State
				cancel()
			}
		})
		if m.bg.Err() != nil {
			return
		}
		state := "printed"
		switch {
		case stopped != printer.StateUnknown:
			cctx, ccancel := context.WithTimeout(m.bg, 10*time.Second)
			cerr := m.printer.Cancel(cctx, jobID)
			ccancel()
			if errors.Is(cerr, printer.ErrJobCompleted) {
				break // it printed after all
			}
			if cerr != nil {
				m.log.Warn("held receipt job not withdrawn; it may print when the printer is back", "receipt", receiptID, "job", jobID, "err", cerr)
			}
			m.log.Warn("receipt not printed: printer cannot print", "receipt", receiptID, "printer", stopped.String())
			state = "failed"
		case err != nil:
			m.log.Warn("receipt print did not complete", "receipt", receiptID, "err", err)
			state = "failed"
		}
		setState(context.WithoutCancel(m.bg), state)
		m.mu.Lock()
		m.changed() // the done screen shows the print state
		m.mu.Unlock()
	}()
}

// failsJob reports whether a job still queued cannot be printed now: the
// printer is in a state other than paused in which it cannot print.
func failsJob(p printer.Progress) bool {
	st := p.Printer.State
	return !p.Job.State.Final() && st != printer.StateUnknown && st != printer.StatePaused && !st.CanPrint()
}

// printState is the receipt's print state as stored.
func (m *Counter) printState(ctx context.Context, receiptID string) string {
	s, err := m.st.PrintState(ctx, receiptID)
	if err != nil {
		return ""
	}
	return s
}

// errRedacted: retention removed the receipt's PDF (the registry keeps
// the legal copy).
var errRedacted = refuse(msg("print.redacted", "Kvittensen finns bara kvar hos den centrala förvaltningen.", "The receipt is kept only by the central service now."))

// reprint prints the stored receipt again: the same bytes, never a new
// rendering (RE-3). Only a receipt whose printing failed is printed again:
// one printout per receipt unless the printer lost it.
func (m *Counter) reprint(ctx context.Context, receiptID string) error {
	stored, err := m.st.Receipt(ctx, receiptID)
	if err != nil {
		return err
	}
	if len(stored.PDF) == 0 {
		return errRedacted
	}
	if stored.PrintState != store.PrintFailed {
		return refuse(msg("print.not_failed", "Kvittensen skrivs redan ut eller är utskriven. Vänta på skrivaren.", "The receipt is already printing or printed. Wait for the printer."))
	}
	if m.printer == nil {
		return refuse(msg("print.no_printer", "Stationen har ingen skrivare. Kvittensen är sparad; kontakta driften.", "The station has no printer. The receipt is stored; contact operations."))
	}
	m.print(ctx, receiptID, stored.PDF)
	return nil
}
