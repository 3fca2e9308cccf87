package flow

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/kortstation/kortstation/hw/printer"
	"github.com/kortstation/kortstation/kiosk/audit"
	"github.com/kortstation/kortstation/kiosk/outbox"
	"github.com/kortstation/kortstation/kiosk/receiptpdf"
	"github.com/kortstation/kortstation/kiosk/rules"
	"github.com/kortstation/kortstation/kiosk/rules/calendar"
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
func (m *Manager) receiptDocument(r rules.Receipt, d *rules.IssuanceDecision, sigs []receiptpdf.Signature) ([]byte, error) {
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
	if len(r.Attestors) == 1 && managerPresent(r.Recipient, r.Document, r.Attestors[0].Role) {
		// ID-4: the passport identifies the recipient; the manager is
		// present and signs, printed in a section of their own.
		a := r.Attestors[0]
		pr.Manager = &receiptpdf.Person{Name: a.Name, HSAID: a.HSAID.String()}
		return receiptpdf.RenderReceipt(pr, receiptpdf.A4)
	}
	for _, a := range r.Attestors {
		pr.Attestors = append(pr.Attestors, receiptpdf.Person{Name: a.Name, HSAID: a.HSAID.String()})
	}
	return receiptpdf.RenderReceipt(pr, receiptpdf.A4)
}

// managerPresent reports whether the identity is that of staff without a
// Swedish number (ID-4): a passport, and the one attestor, of the roles
// given, is their manager (the rules checked that they are present with a
// valid ID document of their own).
func managerPresent(r rules.Person, doc *rules.IDDocument, roles ...rules.AttestorRole) bool {
	return r.PersonalNumber.IsZero() && doc != nil && len(roles) == 1 && roles[0] == rules.RoleManager
}

// letterDocument renders the hand-out letter for the receipt.
func (m *Manager) letterDocument(r rules.Receipt, d *rules.IssuanceDecision) ([]byte, error) {
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
func (m *Manager) complete(ctx context.Context, f *flowState) error {
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
	f.step = "done"
	// The signatures and the identity are no longer needed on screen.
	f.sigs, f.doc, f.attestors = map[string]receiptpdf.Signature{}, nil, nil
	return nil
}

func (m *Manager) receiptUsed(ctx context.Context, id string) ([]string, error) {
	var n int
	if err := m.st.Reader().QueryRowContext(ctx, `SELECT count(*) FROM receipts WHERE id = ?`, id).Scan(&n); err != nil {
		return nil, fmt.Errorf("check receipt id: %w", err)
	}
	if n > 0 {
		return []string{id}, nil
	}
	return nil, nil
}

// personID returns the person's row, creating it.
func personID(ctx context.Context, tx *sql.Tx, r rules.Recipient, now time.Time) (int64, error) {
	if r.PersonalNumber.IsZero() {
		return personByHSAID(ctx, tx, r, now)
	}
	pnr := canonical(r.PersonalNumber)
	var id int64
	err := tx.QueryRowContext(ctx, `SELECT id FROM persons WHERE personal_number = ?`, pnr).Scan(&id)
	if err == nil {
		_, err = tx.ExecContext(ctx, `UPDATE persons SET name = ? WHERE id = ?`, r.Name, id)
		return id, err
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("find person: %w", err)
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO persons (personal_number, name, created_at) VALUES (?, ?, ?)`, pnr, r.Name, ts(now))
	if err != nil {
		return 0, fmt.Errorf("insert person: %w", err)
	}
	return res.LastInsertId()
}

// personByHSAID returns the row of a person without a Swedish number (ID-4),
// known by HSA-ID, creating it.
func personByHSAID(ctx context.Context, tx *sql.Tx, r rules.Recipient, now time.Time) (int64, error) {
	if r.HSAID.IsZero() {
		return 0, errors.New("person has neither a personal number nor an HSA-ID")
	}
	var id int64
	err := tx.QueryRowContext(ctx, `SELECT id FROM persons WHERE hsa_id = ?`, r.HSAID.String()).Scan(&id)
	if err == nil {
		_, err = tx.ExecContext(ctx, `UPDATE persons SET name = ? WHERE id = ?`, r.Name, id)
		return id, err
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("find person: %w", err)
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO persons (personal_number, hsa_id, name, created_at) VALUES (NULL, ?, ?, ?)`, r.HSAID.String(), r.Name, ts(now))
	if err != nil {
		return 0, fmt.Errorf("insert person: %w", err)
	}
	return res.LastInsertId()
}

// setCardState moves a card from one state to another, refusing if it is
// no longer where the decision found it.
func setCardState(ctx context.Context, tx *sql.Tx, serial string, from, to rules.CardState, rule, reason, session string, now time.Time, extra string, args ...any) error {
	q := `UPDATE cards SET state = ?, updated_at = ?` + extra + ` WHERE serial = ? AND state = ?`
	all := append([]any{string(to), ts(now)}, args...)
	all = append(all, serial, string(from))
	res, err := tx.ExecContext(ctx, q, all...)
	if err != nil {
		return fmt.Errorf("update card: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return refuse(msg("card_changed", "Kortet har ändrats under tiden. Börja om.", "The card changed meanwhile. Start again."))
	}
	var sess any
	if session != "" {
		sess = session
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO card_state_changes (card_serial, from_state, to_state, rule, reason, session_id, at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		serial, string(from), string(to), rule, reason, sess, ts(now)); err != nil {
		return fmt.Errorf("insert state change: %w", err)
	}
	return nil
}

func movement(ctx context.Context, tx *sql.Tx, m *Manager, serial, kind, shipment, session string, now time.Time) error {
	var ship, sess any
	if shipment != "" {
		ship = shipment
	}
	if session != "" {
		sess = session
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO stock_movements (card_serial, kind, shipment_ref, session_id, at) VALUES (?, ?, ?, ?, ?)`,
		serial, kind, ship, sess, ts(now)); err != nil {
		return fmt.Errorf("insert stock movement: %w", err)
	}
	_, err := outbox.Enqueue(ctx, tx, m.clock, protocol.StockMovementPayload{CardSerial: serial, Movement: kind, ShipmentRef: shipment})
	return err
}

func (m *Manager) recordIssuance(ctx context.Context, f *flowState, s rules.SealedReceipt, pdf []byte, sigs []receiptpdf.Signature, id string, now time.Time) error {
	d := f.decision
	r := s.Receipt
	kind := "reserve"
	switch f.kind {
	case KindExtend:
		kind = "extension"
	case KindPickup:
		kind = "pickup"
	}
	content, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("encode receipt: %w", err)
	}
	sigJSON, err := json.Marshal(sigs)
	if err != nil {
		return fmt.Errorf("encode signatures: %w", err)
	}
	sum := sha256.Sum256(pdf)
	pdfHash := hex.EncodeToString(sum[:])
	sess := m.sess
	return m.st.Write(ctx, func(tx *sql.Tx) error {
		pid, err := personID(ctx, tx, f.recipient, now)
		if err != nil {
			return err
		}
		var refersTo any
		if f.kind == KindExtend {
			var prev string
			if err := tx.QueryRowContext(ctx, `SELECT id FROM issuances WHERE card_serial = ? AND kind = 'reserve' ORDER BY created_at DESC LIMIT 1`, f.card.Number).Scan(&prev); err == nil {
				refersTo = prev
			}
		}
		from := f.card.State
		rule := "RC-1"
		switch f.kind {
		case KindExtend:
			rule = "RC-5"
		case KindPickup:
			rule = "ID-3"
		}
		if err := setCardState(ctx, tx, f.card.Number, storedState(ctx, tx, f.card.Number, from), d.NewState, rule, string(f.reason), sess.id, now,
			`, holder = ?, valid_from = ?, valid_until = ?`, pid, ts(d.ValidFrom), ts(d.ValidUntil)); err != nil {
			return err
		}
		if f.kind != KindExtend {
			if err := movement(ctx, tx, m, f.card.Number, "handed_out", "", sess.id, now); err != nil {
				return err
			}
		}
		var reason any
		if r.Reason != "" {
			reason = string(r.Reason)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO issuances (id, kind, card_serial, person_id, session_id, reason, valid_from, valid_until, refers_to, created_at, clock_source)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, id, kind, f.card.Number, pid, sess.id, reason, ts(d.ValidFrom), ts(d.ValidUntil), refersTo, ts(now), m.clock.Source()); err != nil {
			return fmt.Errorf("insert issuance: %w", err)
		}
		if r.Document != nil {
			intact := 1
			if r.Document.Damaged {
				intact = 0
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO id_document_checks (issuance_id, doc_type, doc_number, expires_on, intact, checked_at) VALUES (?, ?, ?, ?, ?, ?)`,
				id, string(r.Document.Type), r.Document.Number, r.Document.Expiry.String(), intact, ts(now)); err != nil {
				return fmt.Errorf("insert document check: %w", err)
			}
		}
		var attestors []string
		for _, a := range r.Attestors {
			attestors = append(attestors, a.HSAID.String())
			if _, err := tx.ExecContext(ctx, `INSERT INTO attestations (issuance_id, attestor, name, role, signed_at) VALUES (?, ?, ?, ?, ?)`,
				id, a.HSAID.String(), a.Name, string(a.Role), ts(a.SignedAt)); err != nil {
				return fmt.Errorf("insert attestation: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO receipts (id, issuance_id, corrects, content, signatures, pdf, pdf_sha256, signed_at) VALUES (?, ?, NULL, ?, ?, ?, ?, ?)`,
			r.ID, id, string(content), string(sigJSON), pdf, pdfHash, ts(r.SignedAt)); err != nil {
			return fmt.Errorf("insert receipt: %w", err)
		}
		if _, err := audit.Append(ctx, tx, m.clock, audit.Entry{Kind: "card." + kind, Actor: sess.hsaID.String(), Subject: id,
			Detail: map[string]any{"card": f.card.Number, "receipt": r.ID, "reason": string(r.Reason), "session": sess.id, "identified_by": identifiedBy(r)}}); err != nil {
			return err
		}
		p := protocol.IssuancePayload{
			IssuanceID: id, CardSerial: f.card.Number, CardType: string(d.CardType), PersonalNumber: canonical(f.recipient.PersonalNumber),
			Reason: string(r.Reason), ValidFrom: d.ValidFrom, ValidUntil: d.ValidUntil, Operator: sess.hsaID.String(), Attestors: attestors,
			RefersTo: fmt.Sprint(orEmpty(refersTo)),
		}
		var issued protocol.Payload = p
		if f.kind == KindExtend {
			issued = protocol.ExtensionPayload(p)
		}
		if _, err := outbox.Enqueue(ctx, tx, m.clock, issued); err != nil {
			return err
		}
		if _, err := outbox.Enqueue(ctx, tx, m.clock, protocol.ReceiptPayload{
			ReceiptID: r.ID, IssuanceID: id, CardSerial: f.card.Number, Content: content, Signatures: sigJSON,
			PDF: pdf, PDFSHA256: pdfHash, SignedAt: r.SignedAt,
		}); err != nil {
			return err
		}
		// RE-5: the central service notifies the recipient and the
		// attestors; the station queues one request per notification with
		// the issuance, so none is lost and none is sent for an issuance
		// that was not stored.
		for _, n := range d.Notifications {
			if _, err := outbox.Enqueue(ctx, tx, m.clock, notificationPayload(n, id, r.ID)); err != nil {
				return err
			}
		}
		return nil
	})
}

// notificationPayload is the request to the central service for one
// notification (RE-5; sync/protocol.NotificationPayload).
func notificationPayload(n rules.Notification, issuanceID, receiptID string) protocol.NotificationPayload {
	p := protocol.NotificationPayload{Event: string(n.Event), Role: string(n.Role), IssuanceID: issuanceID, ReceiptID: receiptID,
		CardSerial: n.CardNumber, Key: string(n.Key)}
	if !n.To.HSAID.IsZero() {
		p.HSAID = n.To.HSAID.String()
	}
	return p
}

func orEmpty(v any) any {
	if v == nil {
		return ""
	}
	return v
}

// storedState is the card's state in the station's own table (the rules
// may see a newer state from the registry).
func storedState(ctx context.Context, tx *sql.Tx, serial string, fallback rules.CardState) rules.CardState {
	var s string
	if err := tx.QueryRowContext(ctx, `SELECT state FROM cards WHERE serial = ?`, serial).Scan(&s); err != nil {
		return fallback
	}
	return rules.CardState(s)
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

// print queues the receipt and follows the job in the background; the
// receipt's print state records the outcome.
func (m *Manager) print(ctx context.Context, receiptID string, pdf []byte) {
	if m.printer == nil {
		return
	}
	setState := func(ctx context.Context, state string) {
		err := m.st.Write(ctx, func(tx *sql.Tx) error {
			var at any
			if state == "printed" {
				at = ts(m.clock.Now())
			}
			_, err := tx.ExecContext(ctx, `UPDATE receipts SET print_state = ?, printed_at = coalesce(?, printed_at) WHERE id = ?`, state, at, receiptID)
			return err
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
	setState(ctx, "printing")
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
		_, err := m.printer.Wait(wctx, job.ID, func(p printer.Progress) {
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
			cerr := m.printer.Cancel(cctx, job.ID)
			ccancel()
			if errors.Is(cerr, printer.ErrJobCompleted) {
				break // it printed after all
			}
			if cerr != nil {
				m.log.Warn("held receipt job not withdrawn; it may print when the printer is back", "receipt", receiptID, "job", job.ID, "err", cerr)
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
func (m *Manager) printState(ctx context.Context, receiptID string) string {
	var s string
	if err := m.st.Reader().QueryRowContext(ctx, `SELECT print_state FROM receipts WHERE id = ?`, receiptID).Scan(&s); err != nil {
		return ""
	}
	return s
}

// reprint prints the stored receipt again: the same bytes, never a new
// rendering (RE-3). Only a receipt whose printing failed is printed again:
// one printout per receipt unless the printer lost it.
func (m *Manager) reprint(ctx context.Context, receiptID string) error {
	var pdf []byte
	var state string
	if err := m.st.Reader().QueryRowContext(ctx, `SELECT pdf, print_state FROM receipts WHERE id = ?`, receiptID).Scan(&pdf, &state); err != nil {
		return fmt.Errorf("read receipt: %w", err)
	}
	if state != "failed" {
		return refuse(msg("print.not_failed", "Kvittensen skrivs redan ut eller är utskriven.", "The receipt is already printing or printed."))
	}
	if m.printer == nil {
		return refuse(msg("print.no_printer", "Stationen har ingen skrivare.", "The station has no printer."))
	}
	m.print(ctx, receiptID, pdf)
	return nil
}
