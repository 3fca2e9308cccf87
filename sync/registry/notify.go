package registry

// Notifications that arrive (issue 14, item 3; RE-5): the registry renders
// each notification in its addressee's language (Swedish unless their
// contact says English) and queues it in mail_outbox, in the transaction
// of what caused it, under a key that makes it once: the station's
// notification requests at issuance (recipient and attestors), "ready to
// activate" at approval, and the expiry reminders. DeliverMail sends what
// is due through the SMTP relay (mail package), retrying with backoff; a
// registry without a relay records each message as logged only.
//
// Exactly once: a message is queued once (its key is UNIQUE), claimed for
// an attempt by moving its next attempt past a lease, and marked sent when
// the relay accepted it. Only a crash between the relay's acceptance and
// that mark can send it again, with the same Message-ID.

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kortstation/kortstation/kiosk/rules"
	"github.com/kortstation/kortstation/kiosk/rules/ident"
	"github.com/kortstation/kortstation/kiosk/rules/violation"
	"github.com/kortstation/kortstation/sync/protocol"
	"github.com/kortstation/kortstation/sync/registry/mail"
)

// Outbox states.
const (
	MailQueued    = "queued"
	MailSent      = "sent"
	MailLogged    = "logged"     // no relay configured: logged only
	MailFailed    = "failed"     // refused permanently, or out of attempts
	MailNoAddress = "no_address" // no e-mail address known for the addressee
)

// Delivery tuning.
const (
	mailLease       = 10 * time.Minute // an attempt's claim on its message
	mailMaxAttempts = 12
	mailBackoffBase = time.Minute
	mailBackoffMax  = 6 * time.Hour
	mailBatch       = 50
)

// outgoing is a notification to queue.
type outgoing struct {
	dedup     string
	n         rules.Notification
	addressee string // HSA-ID or personal number, for the contact look-up; never logged
	facts     map[string]string
	days      int
}

// SetContact records the e-mail address and language (sv or en) of an
// addressee: an HSA-ID, or a recipient's personal number.
func (s *Server) SetContact(ctx context.Context, addressee, email, lang string) error {
	if lang == "" {
		lang = "sv"
	}
	if addressee == "" || !strings.Contains(email, "@") || strings.ContainsAny(email, "\r\n<> ") || (lang != "sv" && lang != "en") {
		return fmt.Errorf("%w: contact needs an addressee, an e-mail address and sv or en", ErrInvalid)
	}
	return s.db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO contacts (addressee, email, lang) VALUES (?, ?, ?)
			ON CONFLICT (addressee) DO UPDATE SET email = excluded.email, lang = excluded.lang`, addressee, email, lang)
		return err
	})
}

// enqueueMail renders and queues o unless its key was queued before; added
// reports whether it was new.
func (s *Server) enqueueMail(ctx context.Context, tx *sql.Tx, o outgoing, now time.Time) (added bool, err error) {
	var exists bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM mail_outbox WHERE dedup = ?)`, o.dedup).Scan(&exists); err != nil {
		return false, fmt.Errorf("registry: outbox: %w", err)
	}
	if exists {
		return false, nil
	}
	var email string
	lang := "sv"
	err = tx.QueryRowContext(ctx, `SELECT email, lang FROM contacts WHERE addressee = ?`, o.addressee).Scan(&email, &lang)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return false, fmt.Errorf("registry: contact: %w", err)
	}
	state := MailQueued
	if email == "" {
		state = MailNoAddress
	}
	facts := map[string]string{"card_number": o.n.CardNumber}
	for k, v := range o.facts {
		facts[k] = v
	}
	subject, body := mail.Render(mail.Notice{Event: string(o.n.Event), Lang: lang, CardSerial: o.n.CardNumber,
		Text: violation.Render(o.n.Key, lang, facts)})
	_, err = tx.ExecContext(ctx, `INSERT INTO mail_outbox (dedup, event, role, card_serial, to_addr, lang, subject, body, state, next_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, o.dedup, string(o.n.Event), string(o.n.Role), o.n.CardNumber, email, lang, subject, body, state, ts(now), ts(now))
	if err != nil {
		return false, fmt.Errorf("registry: outbox: %w", err)
	}
	return true, nil
}

// enqueueRequested queues a station's notification request (RE-5), sent
// at issuance: to an attestor by HSA-ID, to the recipient by their HSA-ID
// or the personal number of the issuance.
func (s *Server) enqueueRequested(ctx context.Context, tx *sql.Tx, station string, p protocol.NotificationPayload, now time.Time) error {
	addressee := p.HSAID
	if addressee == "" && p.Role == string(rules.ToRecipient) {
		err := tx.QueryRowContext(ctx, `SELECT personal_number FROM card_loans WHERE issuance_id = ?`, p.IssuanceID).Scan(&addressee)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("registry: notification recipient: %w", err)
		}
	}
	n := rules.Notification{Event: rules.NotificationEvent(p.Event), Role: rules.NotificationRole(p.Role), CardNumber: p.CardSerial, Key: violation.Key(p.Key)}
	if n.Event == "" {
		n.Event = rules.NotifyIssued
	}
	if n.Key == "" {
		n.Key = violation.KeyNotifyIssued
	}
	dedup := fmt.Sprintf("RE-5/%s/%s/%s/%s", n.Event, p.IssuanceID, p.Role, addressKey(addressee, p.HSAID))
	_, err := s.enqueueMail(ctx, tx, outgoing{dedup: dedup, n: n, addressee: addressee}, now)
	return err
}

// addressKey names the addressee in an outbox key without a personal
// number: the HSA-ID, else a hash.
func addressKey(addressee, hsaID string) string {
	if hsaID != "" {
		return hsaID
	}
	h := sha256.Sum256([]byte(addressee))
	return hex.EncodeToString(h[:8])
}

// enqueueApproved queues the "ready to activate" notifications of an
// approved issuance (RE-5): the recipient and the attestors
// (rules.ApprovedNotifications).
func (s *Server) enqueueApproved(ctx context.Context, tx *sql.Tx, issuanceID, serial string, now time.Time) error {
	var pnr string
	err := tx.QueryRowContext(ctx, `SELECT personal_number FROM card_loans WHERE issuance_id = ?`, issuanceID).Scan(&pnr)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("registry: approved notification: %w", err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT hsa_id FROM issuance_attestors WHERE issuance_id = ? ORDER BY pos`, issuanceID)
	if err != nil {
		return fmt.Errorf("registry: approved notification: %w", err)
	}
	var attestors []rules.Person
	var raw []string
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			rows.Close()
			return fmt.Errorf("registry: approved notification: %w", err)
		}
		id, _ := ident.ParseHSAID(h)
		attestors = append(attestors, rules.Person{HSAID: id})
		raw = append(raw, h)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("registry: approved notification: %w", err)
	}
	var recipient rules.Person
	if pn, err := ident.ParsePersonalNumber(pnr); err == nil {
		recipient.PersonalNumber = pn
	}
	for i, n := range rules.ApprovedNotifications(serial, recipient, attestors) {
		addressee, hsa := pnr, ""
		if i > 0 {
			addressee, hsa = raw[i-1], raw[i-1]
		}
		if addressee == "" {
			continue
		}
		dedup := fmt.Sprintf("RE-5/%s/%s/%s/%s", n.Event, issuanceID, n.Role, addressKey(addressee, hsa))
		if _, err := s.enqueueMail(ctx, tx, outgoing{dedup: dedup, n: n, addressee: addressee}, now); err != nil {
			return err
		}
	}
	return nil
}

// DeliveryResult is what one delivery run did.
type DeliveryResult struct {
	Sent, Logged, Retrying, Failed int
}

// DeliverMail sends the queued messages that are due through sender (nil:
// log only), once each; a failed attempt is retried with exponential
// backoff, a permanent refusal or the last attempt marks it failed.
func (s *Server) DeliverMail(ctx context.Context, sender mail.Sender) (DeliveryResult, error) {
	var r DeliveryResult
	err := s.deliverMail(ctx, sender, &r)
	s.recordJobRun(ctx, "mail", r.Sent+r.Logged, err)
	return r, err
}

func (s *Server) deliverMail(ctx context.Context, sender mail.Sender, r *DeliveryResult) error {
	type msg struct {
		id                                   int64
		dedup, to, lang, subject, body, card string
		attempts                             int
	}
	for {
		now := s.now()
		var batch []msg
		err := s.db.write(ctx, func(tx *sql.Tx) error {
			batch = batch[:0]
			rows, err := tx.QueryContext(ctx, `SELECT id, dedup, to_addr, lang, subject, body, card_serial, attempts FROM mail_outbox
				WHERE state = 'queued' AND next_at <= ? ORDER BY id LIMIT ?`, ts(now), mailBatch)
			if err != nil {
				return err
			}
			for rows.Next() {
				var m msg
				if err := rows.Scan(&m.id, &m.dedup, &m.to, &m.lang, &m.subject, &m.body, &m.card, &m.attempts); err != nil {
					rows.Close()
					return err
				}
				batch = append(batch, m)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			// Claim them: no other run takes them while the lease lasts.
			for _, m := range batch {
				if _, err := tx.ExecContext(ctx, `UPDATE mail_outbox SET attempts = attempts + 1, next_at = ? WHERE id = ?`, ts(now.Add(mailLease)), m.id); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("registry: outbox: %w", err)
		}
		if len(batch) == 0 {
			return nil
		}
		for _, m := range batch {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			state, next, lastErr := MailSent, "", ""
			if sender == nil {
				state = MailLogged
				s.log.Info("e-mail not sent: no SMTP relay configured (log only)", "card", m.card, "subject", m.subject)
			} else if err := sender.Send(ctx, mail.Message{To: m.to, Subject: m.subject, Body: m.body, Lang: m.lang,
				MessageID: messageID(m.dedup), Date: s.now()}); err != nil {
				lastErr = err.Error()
				attempts := m.attempts + 1
				if mail.IsPermanent(err) || attempts >= mailMaxAttempts {
					state = MailFailed
					s.log.Error("e-mail failed", "card", m.card, "attempts", attempts, "err", err)
				} else {
					state, next = MailQueued, ts(s.now().Add(mailBackoff(attempts)))
					s.log.Warn("e-mail not delivered; will retry", "card", m.card, "attempts", attempts, "err", err)
				}
			}
			err := s.db.write(ctx, func(tx *sql.Tx) error {
				sent := ""
				if state == MailSent || state == MailLogged {
					sent = ts(s.now())
				}
				_, err := tx.ExecContext(ctx, `UPDATE mail_outbox SET state = ?, next_at = CASE WHEN ? != '' THEN ? ELSE next_at END, last_error = ?, sent_at = ? WHERE id = ?`,
					state, next, next, lastErr, sent, m.id)
				return err
			})
			if err != nil {
				return fmt.Errorf("registry: outbox: %w", err)
			}
			switch state {
			case MailSent:
				r.Sent++
			case MailLogged:
				r.Logged++
			case MailFailed:
				r.Failed++
			default:
				r.Retrying++
			}
		}
	}
}

// mailBackoff is the wait after the n-th failed attempt: a minute, doubled
// each time, at most six hours.
func mailBackoff(n int) time.Duration {
	d := mailBackoffBase
	for i := 1; i < n && d < mailBackoffMax; i++ {
		d *= 2
	}
	return min(d, mailBackoffMax)
}

// messageID is a notification's stable Message-ID.
func messageID(dedup string) string {
	h := sha256.Sum256([]byte(dedup))
	return hex.EncodeToString(h[:16]) + "@registry.kortstation"
}

// OutboxMail is a queued or sent notification, as the console lists it.
type OutboxMail struct {
	ID                                int64
	Event, Role, CardSerial, To, Lang string
	Subject, State, LastError         string
	Attempts                          int
	CreatedAt, NextAt, SentAt         time.Time
}

// Outbox lists the latest notifications, newest first.
func (s *Server) Outbox(ctx context.Context, limit int) ([]OutboxMail, error) {
	rows, err := s.db.reader.QueryContext(ctx, `SELECT id, event, role, card_serial, to_addr, lang, subject, state, last_error, attempts, created_at, next_at, sent_at
		FROM mail_outbox ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("registry: outbox: %w", err)
	}
	defer rows.Close()
	var out []OutboxMail
	for rows.Next() {
		var m OutboxMail
		var created, next, sent string
		if err := rows.Scan(&m.ID, &m.Event, &m.Role, &m.CardSerial, &m.To, &m.Lang, &m.Subject, &m.State, &m.LastError, &m.Attempts, &created, &next, &sent); err != nil {
			return nil, fmt.Errorf("registry: outbox: %w", err)
		}
		m.CreatedAt, m.NextAt, m.SentAt = parseTS(created), parseTS(next), parseTS(sent)
		out = append(out, m)
	}
	return out, rows.Err()
}
