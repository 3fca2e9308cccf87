package flow

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/kortstation/kortstation/kiosk/audit"
	"github.com/kortstation/kortstation/kiosk/outbox"
	"github.com/kortstation/kortstation/kiosk/rules"
	"github.com/kortstation/kortstation/kiosk/rules/ident"
	"github.com/kortstation/kortstation/kiosk/rules/violation"
	"github.com/kortstation/kortstation/sync/protocol"
)

var errCardUnknown = refuse(msg("card_unknown", "Kortet är inte utlämnat från den här stationen.", "The card was not handed out at this station."))

// holderOf is the recipient a card was handed out to.
func holderOf(ctx context.Context, q querier, serial string) (rules.Recipient, error) {
	var pnr, name sql.NullString
	err := q.QueryRowContext(ctx, `SELECT p.personal_number, p.name FROM cards c JOIN persons p ON p.id = c.holder WHERE c.serial = ?`, serial).Scan(&pnr, &name)
	if errors.Is(err, sql.ErrNoRows) {
		return rules.Recipient{}, errCardUnknown
	}
	if err != nil {
		return rules.Recipient{}, fmt.Errorf("read holder: %w", err)
	}
	p, err := ident.ParsePersonalNumber(pnr.String)
	if err != nil {
		return rules.Recipient{}, fmt.Errorf("stored personal number: %w", err)
	}
	return rules.Recipient{Person: rules.Person{PersonalNumber: p}, Name: name.String}, nil
}

// extendCardRead takes the reserve card to extend from the reader (RC-5).
func (m *Manager) extendCardRead(ctx context.Context, f *flowState, chip string) error {
	c, err := loadCard(ctx, m.st.Reader(), chip)
	if errors.Is(err, errUnknownCard) {
		return errCardUnknown
	}
	if err != nil {
		return err
	}
	rec, err := holderOf(ctx, m.st.Reader(), c.Number)
	if err != nil {
		return err
	}
	c.Holder = rec.Person
	f.card, f.chip, f.recipient, f.reason = c, chip, rec, c.Reason
	f.days = c.ValidityDays
	f.factsAt = dataAge(ctx, m.st.Reader(), "person_facts")
	// RC-5 is checked now, before anyone types anything: the rules see
	// the card as it is; identification follows.
	reg, err := registryFor(ctx, m.st.Reader(), rec.Person)
	if err != nil {
		return err
	}
	_, err = rules.ExtendReserve(rules.ExtensionInput{
		Counter:    rules.Counter{Now: m.clock.Now(), Station: m.place(), Operator: m.sess.operator(), Recipient: rec, RecipientPresent: true},
		Reason:     c.Reason,
		Card:       c,
		ChipSerial: chip,
		Registry:   reg,
	})
	var rc5 rules.Violations
	for _, v := range violation.All(err) {
		if v.Rule == "RC-5" {
			rc5 = append(rc5, v)
		}
	}
	if len(rc5) > 0 {
		return rc5
	}
	f.step = "identity"
	return nil
}

// returnCardRead reads the card handed back and asks the rules (RC-6,
// RC-9).
func (m *Manager) returnCardRead(ctx context.Context, f *flowState, chip string) error {
	c, err := loadCard(ctx, m.st.Reader(), chip)
	if errors.Is(err, errUnknownCard) {
		return errCardUnknown
	}
	if err != nil {
		return err
	}
	if rec, err := holderOf(ctx, m.st.Reader(), c.Number); err == nil {
		c.Holder = rec.Person
		f.recipient = rec
	}
	f.card, f.chip = c, chip
	admins, err := authorisedAdmins(ctx, m.st.Reader())
	if err != nil {
		return err
	}
	d, err := rules.ReturnCard(rules.ReturnInput{Now: m.clock.Now(), Operator: m.sess.operator(), Card: c, ChipSerial: chip,
		Registry: rules.Registry{AuthorisedAdmins: admins}})
	if err != nil {
		f.ret = nil
		return err
	}
	f.ret = &d
	f.step = "preview"
	return nil
}

func (m *Manager) returnStep(ctx context.Context, f *flowState, step string, _ json.RawMessage) error {
	if step != "confirm" || f.step != "preview" || f.ret == nil {
		return errWrongStep
	}
	// The rules decide again at this instant.
	admins, err := authorisedAdmins(ctx, m.st.Reader())
	if err != nil {
		return err
	}
	c, err := loadCard(ctx, m.st.Reader(), f.card.Number)
	if err != nil {
		return err
	}
	c.Holder = f.recipient.Person
	d, err := rules.ReturnCard(rules.ReturnInput{Now: m.clock.Now(), Operator: m.sess.operator(), Card: c, ChipSerial: f.chip,
		Registry: rules.Registry{AuthorisedAdmins: admins}})
	if err != nil {
		return err
	}
	now := m.clock.Now()
	id := uuid.NewString()
	sess := m.sess
	err = m.st.Write(ctx, func(tx *sql.Tx) error {
		from := storedState(ctx, tx, c.Number, c.State)
		if err := setCardState(ctx, tx, c.Number, from, d.NewState, "RC-6", "", sess.id, now, ""); err != nil {
			return err
		}
		if err := movement(ctx, tx, m, c.Number, "returned", "", sess.id, now); err != nil {
			return err
		}
		var refers any
		var prev string
		if err := tx.QueryRowContext(ctx, `SELECT id FROM issuances WHERE card_serial = ? ORDER BY created_at DESC LIMIT 1`, c.Number).Scan(&prev); err == nil {
			refers = prev
		}
		var pid any
		_ = tx.QueryRowContext(ctx, `SELECT holder FROM cards WHERE serial = ?`, c.Number).Scan(&pid)
		if _, err := tx.ExecContext(ctx, `INSERT INTO issuances (id, kind, card_serial, person_id, session_id, refers_to, created_at, clock_source) VALUES (?, 'return', ?, ?, ?, ?, ?, ?)`,
			id, c.Number, pid, sess.id, refers, ts(now), m.clock.Source()); err != nil {
			return fmt.Errorf("insert return: %w", err)
		}
		detail := map[string]any{"card": c.Number, "session": sess.id, "cut_and_return": d.CutAndReturn, "block_certificates": d.BlockCertificates}
		if d.Deviation != nil {
			detail["deviation"] = string(d.Deviation.Key)
		}
		if _, err := audit.Append(ctx, tx, m.clock, audit.Entry{Kind: "card.returned", Actor: sess.hsaID.String(), Subject: id, Detail: detail}); err != nil {
			return err
		}
		_, err := outbox.Enqueue(ctx, tx, m.clock, protocol.ReturnPayload{IssuanceID: id, CardSerial: c.Number,
			CardType: string(c.Type), RefersTo: fmt.Sprint(orEmpty(refers)), Operator: sess.hsaID.String()})
		return err
	})
	if err != nil {
		return err
	}
	f.result = map[string]any{"card_number": c.Number, "cut_and_return": d.CutAndReturn, "block_certificates": d.BlockCertificates, "deviation": d.Deviation != nil}
	f.recipient = rules.Recipient{}
	f.step = "done"
	return nil
}

// blockStep sends a block request with its reason (BL-1).
func (m *Manager) blockStep(ctx context.Context, f *flowState, step string, data json.RawMessage) error {
	if step != "request" || f.step != "request" {
		return errWrongStep
	}
	var req struct {
		Serial string `json:"serial"`
		Reason string `json:"reason"`
	}
	if err := decode(data, &req); err != nil {
		return err
	}
	serial := strings.TrimSpace(req.Serial)
	if serial == "" {
		serial = f.card.Number
	}
	c, err := loadCard(ctx, m.st.Reader(), serial)
	if errors.Is(err, errUnknownCard) {
		return errCardUnknown
	}
	if err != nil {
		return err
	}
	now := m.clock.Now()
	d, err := rules.RequestBlock(rules.BlockInput{Now: now, Card: c, Reason: rules.BlockReason(req.Reason), Requester: m.sess.operator().Person})
	if err != nil {
		f.card = c
		return err
	}
	sess := m.sess
	err = m.st.Write(ctx, func(tx *sql.Tx) error {
		from := storedState(ctx, tx, c.Number, c.State)
		if err := setCardState(ctx, tx, c.Number, from, d.NewState, "BL-1", req.Reason, sess.id, now, ""); err != nil {
			return err
		}
		if _, err := audit.Append(ctx, tx, m.clock, audit.Entry{Kind: "card.block_requested", Actor: sess.hsaID.String(), Subject: c.Number,
			Detail: map[string]any{"reason": req.Reason, "session": sess.id}}); err != nil {
			return err
		}
		_, err := outbox.Enqueue(ctx, tx, m.clock, protocol.BlockRequestPayload{CardSerial: c.Number, Reason: req.Reason, Operator: sess.hsaID.String()})
		return err
	})
	if err != nil {
		return err
	}
	f.card = c
	f.result = map[string]any{"card_number": c.Number, "reason": req.Reason, "cut_and_return": d.CutAndReturn}
	f.step = "done"
	return nil
}
