package registry

// Deadlines that act (issue 14, item 2). The registry keeps every card a
// station handed out in card_loans (the person facts drop a reserve card
// when it expires or comes back, so they cannot say later what was out),
// and its scheduled jobs (jobs.go) act on them:
//
//   - RE-2: a reserve card whose receipt did not reach the registry by the
//     deadline after activation (rules.ReceiptOverdue) is blocked; the
//     block reaches its station with the next pull, as a blocked card and
//     as the card's state.
//   - RC-6: a reserve card still out when its validity ended, or after the
//     holder's regular card was handed out (rules.Unreturned), is a
//     deviation on the console's follow-up list.
//   - RE-5: the holder is reminded 7 and 3 days before the end of validity
//     (rules.ExpiryReminderDue), by e-mail through the outbox (notify.go).
//
// BL-2 needs no schedule: a return event records the block of the card's
// certificates in its own transaction.
//
// Each effect is recorded in the transaction that makes it, under a key
// that makes it happen once: a rerun, two runs at once or a restart never
// doubles it. Each is also appended to the admin audit trail, actor
// "registry".
//
// The registry learns of no activation: the card's certificates are made
// at central approval (CP-1), the earliest it can be activated, so the
// RE-2 deadline runs from the approval.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/kortstation/kortstation/kiosk/audit"
	"github.com/kortstation/kortstation/kiosk/rules"
	"github.com/kortstation/kortstation/kiosk/rules/calendar"
	"github.com/kortstation/kortstation/kiosk/rules/ident"
	"github.com/kortstation/kortstation/sync/protocol"
)

// jobActor is the audit trail's actor of the scheduled jobs' effects.
const jobActor = "registry"

// ts formats t for the deadline tables: UTC, fixed width, so stored times
// compare as strings.
func ts(t time.Time) string { return alarmTime(t) }

func parseTS(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

// trackDeadlines records what the deadline jobs need from an applied
// event, in the event's transaction: cards handed out, extended, returned
// (with the BL-2 certificate block), receipts received, and notification
// requests queued as e-mail (RE-5).
func (s *Server) trackDeadlines(ctx context.Context, tx *sql.Tx, station string, ev protocol.Event, payload protocol.Payload) error {
	now := s.now()
	at := ev.CreatedAt
	if at.IsZero() {
		at = now
	}
	switch p := payload.(type) {
	case protocol.IssuancePayload:
		if p.CardSerial == "" {
			return nil
		}
		typ := p.CardType
		if typ == "" {
			typ = string(rules.CardReserve)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO card_loans (serial, station_id, issuance_id, card_type, personal_number, issued_at, valid_until)
			VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (serial) DO UPDATE SET station_id = excluded.station_id, issuance_id = excluded.issuance_id,
			  card_type = excluded.card_type, personal_number = excluded.personal_number, issued_at = excluded.issued_at,
			  valid_until = excluded.valid_until,
			  receipt_at = CASE WHEN card_loans.issuance_id = excluded.issuance_id THEN card_loans.receipt_at ELSE '' END,
			  returned_at = CASE WHEN card_loans.issuance_id = excluded.issuance_id THEN card_loans.returned_at ELSE '' END`,
			p.CardSerial, station, p.IssuanceID, typ, p.PersonalNumber, ts(at), tsOrEmpty(p.ValidUntil))
		if err != nil {
			return fmt.Errorf("registry: card loan: %w", err)
		}
	case protocol.ExtensionPayload:
		if p.ValidUntil.IsZero() {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE card_loans SET valid_until = ? WHERE serial = ?`, ts(p.ValidUntil), p.CardSerial); err != nil {
			return fmt.Errorf("registry: card loan extended: %w", err)
		}
	case protocol.ReceiptPayload:
		if _, err := tx.ExecContext(ctx, `UPDATE card_loans SET receipt_at = ? WHERE serial = ? AND receipt_at = ''`, ts(now), p.CardSerial); err != nil {
			return fmt.Errorf("registry: card loan receipt: %w", err)
		}
	case protocol.ReturnPayload:
		return s.recordReturn(ctx, tx, station, p.CardSerial, at, now)
	case protocol.NotificationPayload:
		return s.enqueueRequested(ctx, tx, station, p, now)
	}
	return nil
}

func tsOrEmpty(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return ts(t)
}

// recordReturn closes the card's loan, records that its certificates are
// blocked now that it is back (BL-2: before anything is removed from the
// card; rules.BlockOnReturn says when) and marks an open RC-6 deviation as
// returned late. It runs before the return's projection, so the card's
// state is the one it came back in.
func (s *Server) recordReturn(ctx context.Context, tx *sql.Tx, station, serial string, at, now time.Time) error {
	if serial == "" {
		return nil
	}
	var issuance, until string
	err := tx.QueryRowContext(ctx, `UPDATE card_loans SET returned_at = ? WHERE serial = ? AND returned_at = '' RETURNING issuance_id, valid_until`, ts(at), serial).Scan(&issuance, &until)
	if errors.Is(err, sql.ErrNoRows) {
		issuance = "" // a card the registry saw no issuance of: its certificates are blocked all the same
	} else if err != nil {
		return fmt.Errorf("registry: card returned: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE deviations SET returned_at = ? WHERE card_serial = ? AND returned_at = ''`, ts(at), serial); err != nil {
		return fmt.Errorf("registry: deviation returned: %w", err)
	}
	var state string
	var blocked bool
	if err := tx.QueryRowContext(ctx, `SELECT coalesce((SELECT state FROM card_status WHERE serial = ?1), ''), EXISTS (SELECT 1 FROM blocked_cards WHERE serial = ?1)`, serial).Scan(&state, &blocked); err != nil {
		return fmt.Errorf("registry: card returned: %w", err)
	}
	if !rules.BlockOnReturn(rules.Card{Number: serial, State: cardState(state, ""), ValidUntil: parseTS(until)}, at, blocked) {
		return nil
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO certificate_blocks (card_serial, issuance_id, station_id, returned_at, blocked_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		serial, issuance, station, ts(at), ts(now))
	if err != nil {
		return fmt.Errorf("registry: BL-2 certificate block: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return appendAdminAudit(ctx, tx, s.clk, audit.Entry{Kind: "bl2.certificates_blocked", Actor: jobActor, Subject: serial,
			Detail: map[string]any{"rule": "BL-2", "station": station, "issuance": issuance}})
	}
	return nil
}

// JobResult is what one run of the deadline jobs did.
type JobResult struct {
	Blocked    int // RE-2 blocks
	Deviations int // RC-6 deviations found
	Reminders  int // RE-5 reminders queued
}

// RunDeadlines runs the deadline jobs once (RE-2, RC-6, RE-5 reminders) at
// the registry's now. It is what the schedule calls, and safe to call at
// any time: each effect happens once.
func (s *Server) RunDeadlines(ctx context.Context) (JobResult, error) {
	var r JobResult
	var err1, err2, err3 error
	r.Blocked, err1 = s.blockOverdueReceipts(ctx)
	r.Deviations, err2 = s.detectUnreturned(ctx)
	r.Reminders, err3 = s.queueExpiryReminders(ctx)
	err := errors.Join(err1, err2, err3)
	s.recordJobRun(ctx, "deadlines", r.Blocked+r.Deviations+r.Reminders, err)
	return r, err
}

// recordJobRun notes a job's run for the console.
func (s *Server) recordJobRun(ctx context.Context, job string, effects int, err error) {
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	werr := s.db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO job_runs (job, runs, last_run, last_error, effects) VALUES (?, 1, ?, ?, ?)
			ON CONFLICT (job) DO UPDATE SET runs = job_runs.runs + 1, last_run = excluded.last_run, last_error = excluded.last_error, effects = job_runs.effects + excluded.effects`,
			job, ts(s.now()), msg, effects)
		return err
	})
	if werr != nil {
		s.log.Error("record job run", "job", job, "err", werr)
	}
}

// cardState maps the registry's card state to the rules'.
func cardState(state, returnedAt string) rules.CardState {
	if returnedAt != "" {
		return rules.StateReturned
	}
	switch state {
	case protocol.CardBlocked:
		return rules.StateBlocked
	case protocol.CardReturned:
		return rules.StateReturned
	case protocol.CardApproved:
		return rules.StateApproved
	case protocol.CardActivated:
		return rules.StateActivated
	case protocol.CardRejected:
		return rules.StateVoided // never in use: nothing to block or return
	}
	return rules.StateHandedOut
}

// blockOverdueReceipts blocks each approved reserve card whose receipt is
// overdue (RE-2).
func (s *Server) blockOverdueReceipts(ctx context.Context) (int, error) {
	now := s.now()
	rows, err := s.db.reader.QueryContext(ctx, `SELECT l.serial, l.issuance_id, l.station_id, l.receipt_at, l.returned_at, i.decided_at, coalesce(c.state, '')
		FROM card_loans l JOIN issuances i ON i.id = l.issuance_id AND i.decision = 'approved'
		LEFT JOIN card_status c ON c.serial = l.serial
		WHERE l.card_type = 'reserve' AND l.returned_at = ''
		  AND NOT EXISTS (SELECT 1 FROM deadline_blocks d WHERE d.card_serial = l.serial AND d.issuance_id = l.issuance_id)`)
	if err != nil {
		return 0, fmt.Errorf("registry: RE-2: %w", err)
	}
	type due struct {
		serial, issuance, station string
		deadline                  time.Time
	}
	var todo []due
	for rows.Next() {
		var serial, issuance, station, receipt, returned, decided, state string
		if err := rows.Scan(&serial, &issuance, &station, &receipt, &returned, &decided, &state); err != nil {
			rows.Close()
			return 0, fmt.Errorf("registry: RE-2: %w", err)
		}
		card := rules.Card{Number: serial, Type: rules.CardReserve, State: cardState(state, returned),
			ActivatedAt: parseTS(decided), ReceiptReceivedAt: parseTS(receipt)}
		if overdue, deadline := rules.ReceiptOverdue(card, now); overdue {
			todo = append(todo, due{serial, issuance, station, deadline})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("registry: RE-2: %w", err)
	}
	n := 0
	for _, d := range todo {
		err := s.db.write(ctx, func(tx *sql.Tx) error {
			// The receipt or the card may have come in since the read:
			// look again, in the transaction that blocks.
			var receipt, returned string
			err := tx.QueryRowContext(ctx, `SELECT receipt_at, returned_at FROM card_loans WHERE serial = ? AND issuance_id = ?`, d.serial, d.issuance).Scan(&receipt, &returned)
			if errors.Is(err, sql.ErrNoRows) {
				return nil // issued anew since
			} else if err != nil {
				return fmt.Errorf("registry: RE-2 block: %w", err)
			}
			if t := parseTS(receipt); returned != "" || (!t.IsZero() && t.Before(d.deadline)) {
				return nil
			}
			res, err := tx.ExecContext(ctx, `INSERT INTO deadline_blocks (card_serial, issuance_id, station_id, deadline, blocked_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
				d.serial, d.issuance, d.station, ts(d.deadline), ts(now))
			if err != nil {
				return fmt.Errorf("registry: RE-2 block: %w", err)
			}
			if k, _ := res.RowsAffected(); k == 0 {
				return nil // another run did it
			}
			if err := blockCard(ctx, tx, d.station, d.serial, string(rules.BlockReceiptOverdue), now.UTC().Format(time.RFC3339Nano)); err != nil {
				return err
			}
			n++
			return appendAdminAudit(ctx, tx, s.clk, audit.Entry{Kind: "re2.card_blocked", Actor: jobActor, Subject: d.serial,
				Detail: map[string]any{"rule": "RE-2", "station": d.station, "issuance": d.issuance, "deadline": d.deadline.UTC().Format(time.RFC3339)}})
		})
		if err != nil {
			return n, err
		}
		s.log.Info("reserve card blocked: receipt overdue (RE-2)", "card", d.serial, "station", d.station)
	}
	return n, nil
}

// loan is a card_loans row.
type loan struct {
	serial, station, issuance, typ, pnr, returned, state string
	issued, until                                        time.Time
}

// openLoans are the reserve cards still out and every other card handed
// out, for RC-6 and RE-5.
func (s *Server) openLoans(ctx context.Context) ([]loan, error) {
	rows, err := s.db.reader.QueryContext(ctx, `SELECT l.serial, l.station_id, l.issuance_id, l.card_type, l.personal_number, l.issued_at, l.valid_until, l.returned_at, coalesce(c.state, '')
		FROM card_loans l LEFT JOIN card_status c ON c.serial = l.serial
		WHERE l.card_type != 'reserve' OR l.returned_at = ''`)
	if err != nil {
		return nil, fmt.Errorf("registry: card loans: %w", err)
	}
	defer rows.Close()
	var out []loan
	for rows.Next() {
		var l loan
		var issued, until string
		if err := rows.Scan(&l.serial, &l.station, &l.issuance, &l.typ, &l.pnr, &issued, &until, &l.returned, &l.state); err != nil {
			return nil, fmt.Errorf("registry: card loans: %w", err)
		}
		l.issued, l.until = parseTS(issued), parseTS(until)
		out = append(out, l)
	}
	return out, rows.Err()
}

// card is the loan as the rules see it. A card handed out other than a
// reserve card is at hand from its handing out (RC-6).
func (l loan) card() rules.Card {
	c := rules.Card{Number: l.serial, Type: rules.CardType(l.typ), State: cardState(l.state, l.returned), Station: l.station,
		IssuedAt: l.issued, ValidUntil: l.until}
	if pn, err := ident.ParsePersonalNumber(l.pnr); err == nil {
		c.Holder.PersonalNumber = pn
	}
	if c.Type != rules.CardReserve {
		c.ActivatedAt = l.issued
	}
	return c
}

// detectUnreturned records each reserve card that should have come back
// as an RC-6 deviation, once.
func (s *Server) detectUnreturned(ctx context.Context) (int, error) {
	loans, err := s.openLoans(ctx)
	if err != nil {
		return 0, err
	}
	cards := make([]rules.Card, len(loans))
	bySerial := map[string]loan{}
	for i, l := range loans {
		cards[i] = l.card()
		bySerial[l.serial] = l
	}
	now := s.now()
	n := 0
	for _, d := range rules.Unreturned(cards, now, 0) {
		l := bySerial[d.CardNumber]
		err := s.db.write(ctx, func(tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, `INSERT INTO deviations (rule, card_serial, issuance_id, station_id, key, since, detected_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
				d.Rule, d.CardNumber, l.issuance, l.station, string(d.Key), ts(d.Since), ts(now))
			if err != nil {
				return fmt.Errorf("registry: RC-6 deviation: %w", err)
			}
			if k, _ := res.RowsAffected(); k == 0 {
				return nil
			}
			n++
			return appendAdminAudit(ctx, tx, s.clk, audit.Entry{Kind: "rc6.deviation", Actor: jobActor, Subject: d.CardNumber,
				Detail: map[string]any{"rule": d.Rule, "station": l.station, "issuance": l.issuance, "key": string(d.Key), "since": d.Since.UTC().Format(time.RFC3339)}})
		})
		if err != nil {
			return n, err
		}
	}
	if n > 0 {
		s.log.Warn("reserve cards not returned (RC-6): deviations recorded", "new", n)
	}
	return n, nil
}

// queueExpiryReminders queues the RE-5 expiry reminder due for each
// reserve card still out, once per card, reminder and end of validity.
func (s *Server) queueExpiryReminders(ctx context.Context) (int, error) {
	loans, err := s.openLoans(ctx)
	if err != nil {
		return 0, err
	}
	now := s.now()
	n := 0
	for _, l := range loans {
		c := l.card()
		if c.Type != rules.CardReserve || l.pnr == "" {
			continue
		}
		switch c.State {
		case rules.StateBlocked, rules.StateReturned, rules.StateVoided:
			continue
		}
		days, ok := rules.ExpiryReminderDue(c.ValidUntil, now)
		if !ok {
			continue
		}
		note := rules.ExpiryReminder(l.serial, c.Holder)
		facts := map[string]string{"days": fmt.Sprint(days), "valid_until": calendar.FormatMinute(c.ValidUntil)}
		dedup := fmt.Sprintf("RE-5/expiry-%d/%s/%s", days, l.serial, ts(c.ValidUntil))
		err := s.db.write(ctx, func(tx *sql.Tx) error {
			added, err := s.enqueueMail(ctx, tx, outgoing{dedup: dedup, n: note, addressee: l.pnr, facts: facts, days: days}, now)
			if added {
				n++
			}
			return err
		})
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// FollowUpDeviation marks an RC-6 deviation followed up, with a note.
func (s *Server) FollowUpDeviation(ctx context.Context, id int64, actor, note string) error {
	if note == "" {
		return fmt.Errorf("%w: a note is required", ErrInvalid)
	}
	return s.db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE deviations SET followed_up_at = ?, followed_up_by = ?, note = ? WHERE id = ? AND followed_up_at = ''`,
			ts(s.now()), actor, note, id)
		if err != nil {
			return fmt.Errorf("registry: follow up deviation: %w", err)
		}
		if k, _ := res.RowsAffected(); k == 0 {
			return fmt.Errorf("registry: open deviation %d: %w", id, ErrNotFound)
		}
		return nil
	})
}

// DeadlineBlock is a card the RE-2 job blocked.
type DeadlineBlock struct {
	CardSerial, IssuanceID, Station string
	Deadline, BlockedAt             time.Time
}

// DeadlineBlocks lists the RE-2 blocks, newest first.
func (s *Server) DeadlineBlocks(ctx context.Context) ([]DeadlineBlock, error) {
	rows, err := s.db.reader.QueryContext(ctx, `SELECT card_serial, issuance_id, station_id, deadline, blocked_at FROM deadline_blocks ORDER BY blocked_at DESC, card_serial`)
	if err != nil {
		return nil, fmt.Errorf("registry: RE-2 blocks: %w", err)
	}
	defer rows.Close()
	var out []DeadlineBlock
	for rows.Next() {
		var b DeadlineBlock
		var deadline, at string
		if err := rows.Scan(&b.CardSerial, &b.IssuanceID, &b.Station, &deadline, &at); err != nil {
			return nil, fmt.Errorf("registry: RE-2 blocks: %w", err)
		}
		b.Deadline, b.BlockedAt = parseTS(deadline), parseTS(at)
		out = append(out, b)
	}
	return out, rows.Err()
}

// Deviation is an RC-6 deviation: a reserve card not returned in time.
type Deviation struct {
	ID                            int64
	Rule, CardSerial, IssuanceID  string
	Station, Key                  string
	Since, DetectedAt, ReturnedAt time.Time
	FollowedUpAt                  time.Time
	FollowedUpBy, Note            string
}

// Deviations lists the deviations, those not followed up first.
func (s *Server) Deviations(ctx context.Context) ([]Deviation, error) {
	rows, err := s.db.reader.QueryContext(ctx, `SELECT id, rule, card_serial, issuance_id, station_id, key, since, detected_at, returned_at, followed_up_at, followed_up_by, note
		FROM deviations ORDER BY followed_up_at != '', detected_at DESC, id`)
	if err != nil {
		return nil, fmt.Errorf("registry: deviations: %w", err)
	}
	defer rows.Close()
	var out []Deviation
	for rows.Next() {
		var d Deviation
		var since, detected, returned, followed string
		if err := rows.Scan(&d.ID, &d.Rule, &d.CardSerial, &d.IssuanceID, &d.Station, &d.Key, &since, &detected, &returned, &followed, &d.FollowedUpBy, &d.Note); err != nil {
			return nil, fmt.Errorf("registry: deviations: %w", err)
		}
		d.Since, d.DetectedAt, d.ReturnedAt, d.FollowedUpAt = parseTS(since), parseTS(detected), parseTS(returned), parseTS(followed)
		out = append(out, d)
	}
	return out, rows.Err()
}

// CertificateBlock is a returned card whose certificates are blocked
// (BL-2).
type CertificateBlock struct {
	CardSerial, IssuanceID, Station string
	ReturnedAt, BlockedAt           time.Time
}

// CertificateBlocks lists the BL-2 certificate blocks, newest first.
func (s *Server) CertificateBlocks(ctx context.Context) ([]CertificateBlock, error) {
	rows, err := s.db.reader.QueryContext(ctx, `SELECT card_serial, issuance_id, station_id, returned_at, blocked_at FROM certificate_blocks ORDER BY blocked_at DESC, card_serial`)
	if err != nil {
		return nil, fmt.Errorf("registry: BL-2 blocks: %w", err)
	}
	defer rows.Close()
	var out []CertificateBlock
	for rows.Next() {
		var b CertificateBlock
		var ret, at string
		if err := rows.Scan(&b.CardSerial, &b.IssuanceID, &b.Station, &ret, &at); err != nil {
			return nil, fmt.Errorf("registry: BL-2 blocks: %w", err)
		}
		b.ReturnedAt, b.BlockedAt = parseTS(ret), parseTS(at)
		out = append(out, b)
	}
	return out, rows.Err()
}
