package registry

// Reserve cards issued by registered mail (issue 14, item 6; seed 001,
// "Reservkortsutgivning på distans via rekommenderad post"). Only central
// case officers do it, and only for LoA2 cards:
//
//  1. register the envelope: a reserve card from central stock (a serial
//     never shipped to a station, never handed out, not blocked), the
//     recipient by personal number and name, the postal address the
//     orderer gives, the reason (RC-1);
//  2. print the cover letter and the manual receipt (regmail_pdf.go) and
//     send the envelope by registered mail; its tracking number is the
//     copy kept for follow-up;
//  3. the recipient sends back the signed receipt: a scan of it (PDF,
//     PNG or JPEG) is stored with the record;
//  4. only then the card is activated with the identification method
//     "identified by registered mail": the reserve card enters the
//     person's facts, which every station holding the person pulls
//     (RC-4: one reserve card per person), valid for the reason's
//     maximum (RC-1) from activation. The scan stays archived with the
//     record.
//
// An envelope can be cancelled until it is activated. Every step is an
// action of the console, audited in the same transaction as the change.

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/kortstation/kortstation/kiosk/rules"
	"github.com/kortstation/kortstation/kiosk/rules/ident"
	"github.com/kortstation/kortstation/sync/protocol"
)

// Envelope states.
const (
	EnvelopeRegistered      = "registered"
	EnvelopeSent            = "sent"
	EnvelopeReceiptReturned = "receipt_returned"
	EnvelopeActivated       = "activated"
	EnvelopeCancelled       = "cancelled"
)

// IDMethodRegisteredMail is the identification method of a reserve card
// issued by registered mail ("Identifierad med rekommenderad post").
const IDMethodRegisteredMail = "registered_mail"

// RegisteredMailLoA is the only level of assurance a reserve card issued
// at a distance may have (seed 001: "Processen är endast möjlig för
// reservkort LOA2").
const RegisteredMailLoA = 2

// MaxReceiptScan bounds the uploaded scan of a returned receipt.
const MaxReceiptScan = 8 << 20

// Errors of registered-mail issuance; each wraps ErrInvalid (nothing is
// changed, the console says why in plain words).
var (
	ErrNotLoA2         = fmt.Errorf("%w: registered mail: reserve cards by registered mail are LoA2 only", ErrInvalid)
	ErrNotInStock      = fmt.Errorf("%w: registered mail: the card is not in central stock", ErrInvalid)
	ErrHasReserveCard  = fmt.Errorf("%w: registered mail: the person already has a reserve card (RC-4)", ErrInvalid)
	ErrEnvelopeState   = fmt.Errorf("%w: registered mail: not possible in the envelope's state", ErrInvalid)
	ErrReceiptScanType = fmt.Errorf("%w: registered mail: the receipt scan must be a PDF, PNG or JPEG", ErrInvalid)
	ErrReceiptScanSize = fmt.Errorf("%w: registered mail: the receipt scan is empty or too large", ErrInvalid)
)

const regmailSchema = `CREATE TABLE regmail_envelopes (
    id              TEXT PRIMARY KEY,
    card_serial     TEXT NOT NULL,
    personal_number TEXT NOT NULL,
    name            TEXT NOT NULL,
    address         TEXT NOT NULL,
    reason          TEXT NOT NULL,
    loa             INTEGER NOT NULL CHECK (loa = 2),
    id_method       TEXT NOT NULL DEFAULT 'registered_mail',
    state           TEXT NOT NULL CHECK (state IN ('registered', 'sent', 'receipt_returned', 'activated', 'cancelled')),
    tracking        TEXT NOT NULL DEFAULT '',
    registered_at   TEXT NOT NULL,
    registered_by   TEXT NOT NULL,
    sent_at         TEXT NOT NULL DEFAULT '',
    sent_by         TEXT NOT NULL DEFAULT '',
    receipt_at      TEXT NOT NULL DEFAULT '',
    receipt_by      TEXT NOT NULL DEFAULT '',
    receipt_type    TEXT NOT NULL DEFAULT '',
    receipt_sha256  TEXT NOT NULL DEFAULT '',
    receipt_scan    BLOB,
    activated_at    TEXT NOT NULL DEFAULT '',
    activated_by    TEXT NOT NULL DEFAULT '',
    valid_until     TEXT NOT NULL DEFAULT '',
    cancelled_at    TEXT NOT NULL DEFAULT '',
    cancelled_by    TEXT NOT NULL DEFAULT '',
    cancel_reason   TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE UNIQUE INDEX regmail_live_serial ON regmail_envelopes(card_serial) WHERE state != 'cancelled';
CREATE INDEX regmail_pnr ON regmail_envelopes(personal_number);`

const regmailSchemaPostgres = `CREATE TABLE regmail_envelopes (
    id              TEXT PRIMARY KEY,
    card_serial     TEXT NOT NULL,
    personal_number TEXT NOT NULL,
    name            TEXT NOT NULL,
    address         TEXT NOT NULL,
    reason          TEXT NOT NULL,
    loa             BIGINT NOT NULL CHECK (loa = 2),
    id_method       TEXT NOT NULL DEFAULT 'registered_mail',
    state           TEXT NOT NULL CHECK (state IN ('registered', 'sent', 'receipt_returned', 'activated', 'cancelled')),
    tracking        TEXT NOT NULL DEFAULT '',
    registered_at   TEXT NOT NULL,
    registered_by   TEXT NOT NULL,
    sent_at         TEXT NOT NULL DEFAULT '',
    sent_by         TEXT NOT NULL DEFAULT '',
    receipt_at      TEXT NOT NULL DEFAULT '',
    receipt_by      TEXT NOT NULL DEFAULT '',
    receipt_type    TEXT NOT NULL DEFAULT '',
    receipt_sha256  TEXT NOT NULL DEFAULT '',
    receipt_scan    BYTEA,
    activated_at    TEXT NOT NULL DEFAULT '',
    activated_by    TEXT NOT NULL DEFAULT '',
    valid_until     TEXT NOT NULL DEFAULT '',
    cancelled_at    TEXT NOT NULL DEFAULT '',
    cancelled_by    TEXT NOT NULL DEFAULT '',
    cancel_reason   TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX regmail_live_serial ON regmail_envelopes(card_serial) WHERE state != 'cancelled';
CREATE INDEX regmail_pnr ON regmail_envelopes(personal_number);`

// Envelope is one reserve card sent by registered mail.
type Envelope struct {
	ID, CardSerial, PersonalNumber, Name, Address, Reason string
	LoA                                                   int
	IDMethod, State, Tracking                             string
	RegisteredAt, RegisteredBy, SentAt, SentBy            string
	ReceiptAt, ReceiptBy, ReceiptType, ReceiptSHA256      string
	ActivatedAt, ActivatedBy, ValidUntil                  string
	CancelledAt, CancelledBy, CancelReason                string
}

// EnvelopeRequest is what a case officer registers.
type EnvelopeRequest struct {
	ID                                                string // "": a new one
	CardSerial, PersonalNumber, Name, Address, Reason string
	LoA                                               int
}

var (
	serialPattern   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{0,63}$`)
	trackingPattern = regexp.MustCompile(`^[A-Za-z0-9]{4,40}$`)
)

// open is true while the envelope is on its way (not yet activated or
// cancelled).
const regmailOpenStates = `('registered', 'sent', 'receipt_returned')`

// RegisterEnvelope registers a reserve card to be sent by registered
// mail: LoA2 only, the card from central stock, the person without a
// reserve card (RC-4), a reason of the validity table (RC-1).
func (s *Server) RegisterEnvelope(ctx context.Context, in EnvelopeRequest, actor string) (Envelope, error) {
	if in.LoA != RegisteredMailLoA {
		return Envelope{}, ErrNotLoA2
	}
	serial := strings.TrimSpace(in.CardSerial)
	if !serialPattern.MatchString(serial) {
		return Envelope{}, fmt.Errorf("%w: registered mail: card serial", ErrInvalid)
	}
	p, err := ident.ParsePersonalNumberAt(strings.TrimSpace(in.PersonalNumber), s.now())
	if err != nil {
		return Envelope{}, fmt.Errorf("%w: registered mail: not a personal or coordination number", ErrInvalid)
	}
	pnr := digitsOnly(p.String())
	name := strings.Join(strings.Fields(in.Name), " ")
	if name == "" || len(name) > 200 {
		return Envelope{}, fmt.Errorf("%w: registered mail: the recipient's name", ErrInvalid)
	}
	address, err := postalAddress(in.Address)
	if err != nil {
		return Envelope{}, err
	}
	reason := strings.TrimSpace(in.Reason)
	now := s.now()
	if in.ID == "" {
		in.ID = uuid.NewString()
	}
	e := Envelope{ID: in.ID, CardSerial: serial, PersonalNumber: pnr, Name: name, Address: address, Reason: reason,
		LoA: RegisteredMailLoA, IDMethod: IDMethodRegisteredMail, State: EnvelopeRegistered,
		RegisteredAt: now.UTC().Format(time.RFC3339Nano), RegisteredBy: actor}
	err = s.db.write(ctx, func(tx *sql.Tx) error {
		if _, err := validityDays(ctx, tx, reason); err != nil {
			return err
		}
		if err := inCentralStock(ctx, tx, serial); err != nil {
			return err
		}
		if err := hasNoReserveCard(ctx, tx, pnr, ""); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO regmail_envelopes (id, card_serial, personal_number, name, address, reason, loa, id_method, state, registered_at, registered_by)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, e.ID, serial, pnr, name, address, reason, e.LoA, e.IDMethod, e.State, e.RegisteredAt, actor)
		if err != nil {
			return fmt.Errorf("registry: register envelope: %w", err)
		}
		return nil
	})
	if err != nil {
		return Envelope{}, err
	}
	return e, nil
}

// postalAddress is a postal address as printed on the letter: 2 to 6
// non-empty lines, each at most 80 characters.
func postalAddress(s string) (string, error) {
	var lines []string
	for l := range strings.Lines(s) {
		if l = strings.Join(strings.Fields(l), " "); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) < 2 || len(lines) > 6 {
		return "", fmt.Errorf("%w: registered mail: the postal address needs 2 to 6 lines", ErrInvalid)
	}
	for _, l := range lines {
		if len([]rune(l)) > 80 {
			return "", fmt.Errorf("%w: registered mail: an address line is longer than 80 characters", ErrInvalid)
		}
	}
	return strings.Join(lines, "\n"), nil
}

// validityDays is the reason's maximum validity in days (RC-1).
func validityDays(ctx context.Context, tx *sql.Tx, reason string) (int, error) {
	var days int
	err := tx.QueryRowContext(ctx, `SELECT max_days FROM validity WHERE reason = ?`, reason).Scan(&days)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("%w: registered mail: the reason is not in the validity table (RC-1)", ErrInvalid)
	}
	if err != nil {
		return 0, fmt.Errorf("registry: validity: %w", err)
	}
	return days, nil
}

// inCentralStock: serial was never shipped to a station, handed out,
// blocked, held by anyone, or put in another live envelope.
func inCentralStock(ctx context.Context, tx *sql.Tx, serial string) error {
	var n int
	err := tx.QueryRowContext(ctx, `SELECT
		  (SELECT count(*) FROM shipments WHERE serial = ?1 AND deleted = 0)
		+ (SELECT count(*) FROM card_status WHERE serial = ?1 AND deleted = 0)
		+ (SELECT count(*) FROM blocked_cards WHERE serial = ?1)
		+ (SELECT count(*) FROM person_serials WHERE serial = ?1)
		+ (SELECT count(*) FROM regmail_envelopes WHERE card_serial = ?1 AND state != 'cancelled')`, serial).Scan(&n)
	if err != nil {
		return fmt.Errorf("registry: central stock: %w", err)
	}
	if n > 0 {
		return ErrNotInStock
	}
	return nil
}

// hasNoReserveCard: the person holds no reserve card and has no other
// envelope on its way than except (RC-4).
func hasNoReserveCard(ctx context.Context, tx *sql.Tx, pnr, except string) error {
	var n int
	err := tx.QueryRowContext(ctx, `SELECT
		  (SELECT count(*) FROM person_serials WHERE personal_number = ?1 AND role = 'reserve')
		+ (SELECT count(*) FROM regmail_envelopes WHERE personal_number = ?1 AND id != ?2 AND state IN `+regmailOpenStates+`)`, pnr, except).Scan(&n)
	if err != nil {
		return fmt.Errorf("registry: reserve cards of the person: %w", err)
	}
	if n > 0 {
		return ErrHasReserveCard
	}
	return nil
}

// step moves envelope id from state from to the next state with set
// (columns = values), inside tx; ErrNotFound or ErrEnvelopeState when it
// cannot.
func stepEnvelope(ctx context.Context, tx *sql.Tx, id string, from []string, set string, args ...any) error {
	var state string
	err := tx.QueryRowContext(ctx, `SELECT state FROM regmail_envelopes WHERE id = ?`, id).Scan(&state)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("registry: envelope: %w", ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("registry: envelope: %w", err)
	}
	ok := false
	for _, f := range from {
		ok = ok || f == state
	}
	if !ok {
		return fmt.Errorf("%w (%s)", ErrEnvelopeState, state)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE regmail_envelopes SET `+set+` WHERE id = ?`, append(args, id)...); err != nil {
		return fmt.Errorf("registry: envelope: %w", err)
	}
	return nil
}

// MarkEnvelopeSent records that the envelope went by registered mail
// with its tracking number (the copy kept for follow-up).
func (s *Server) MarkEnvelopeSent(ctx context.Context, id, tracking, actor string) error {
	tracking = strings.ToUpper(strings.Join(strings.Fields(tracking), ""))
	if !trackingPattern.MatchString(tracking) {
		return fmt.Errorf("%w: registered mail: the tracking number", ErrInvalid)
	}
	now := s.now().UTC().Format(time.RFC3339Nano)
	return s.db.write(ctx, func(tx *sql.Tx) error {
		return stepEnvelope(ctx, tx, id, []string{EnvelopeRegistered}, `state = ?, tracking = ?, sent_at = ?, sent_by = ?`, EnvelopeSent, tracking, now, actor)
	})
}

// ReceiptScanType is the content type of a scan of a signed receipt,
// judged by its content, not by what the browser said: PDF, PNG or JPEG.
func ReceiptScanType(b []byte) (string, error) {
	if len(b) == 0 || len(b) > MaxReceiptScan {
		return "", ErrReceiptScanSize
	}
	switch t := http.DetectContentType(b); t {
	case "application/pdf", "image/png", "image/jpeg":
		return t, nil
	}
	return "", ErrReceiptScanType
}

// RecordReturnedReceipt stores the scan of the signed receipt the
// recipient sent back; the envelope must have been sent.
func (s *Server) RecordReturnedReceipt(ctx context.Context, id string, scan []byte, actor string) error {
	typ, err := ReceiptScanType(scan)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(scan)
	now := s.now().UTC().Format(time.RFC3339Nano)
	return s.db.write(ctx, func(tx *sql.Tx) error {
		return stepEnvelope(ctx, tx, id, []string{EnvelopeSent}, `state = ?, receipt_at = ?, receipt_by = ?, receipt_type = ?, receipt_sha256 = ?, receipt_scan = ?`,
			EnvelopeReceiptReturned, now, actor, typ, hex.EncodeToString(sum[:]), scan)
	})
}

// ActivateEnvelope activates the card once the signed receipt is back:
// identification method "registered mail", LoA2 only, not during a total
// stop (CP-3), the person still without another reserve card (RC-4). The
// card enters the person's facts, valid for the reason's maximum from
// now (RC-1).
func (s *Server) ActivateEnvelope(ctx context.Context, id, actor string) error {
	now := s.now()
	nowS := now.UTC().Format(time.RFC3339Nano)
	return s.db.write(ctx, func(tx *sql.Tx) error {
		var e Envelope
		var hasScan bool
		err := tx.QueryRowContext(ctx, `SELECT card_serial, personal_number, reason, loa, state, receipt_scan IS NOT NULL FROM regmail_envelopes WHERE id = ?`, id).
			Scan(&e.CardSerial, &e.PersonalNumber, &e.Reason, &e.LoA, &e.State, &hasScan)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("registry: envelope: %w", ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("registry: envelope: %w", err)
		}
		if e.LoA != RegisteredMailLoA {
			return ErrNotLoA2
		}
		if e.State != EnvelopeReceiptReturned || !hasScan {
			return fmt.Errorf("%w (%s)", ErrEnvelopeState, e.State)
		}
		ws, err := stopWindowsTx(ctx, tx)
		if err != nil {
			return err
		}
		if v := rules.CheckTotalStop(ws, now); v != nil {
			return fmt.Errorf("registry: activate envelope: %w: %w: %w", ErrInvalid, ErrTotalStop, v)
		}
		if err := hasNoReserveCard(ctx, tx, e.PersonalNumber, id); err != nil {
			return err
		}
		days, err := validityDays(ctx, tx, e.Reason)
		if err != nil {
			return err
		}
		until := now.Add(time.Duration(days) * 24 * time.Hour)
		if err := stepEnvelope(ctx, tx, id, []string{EnvelopeReceiptReturned}, `state = ?, activated_at = ?, activated_by = ?, valid_until = ?`,
			EnvelopeActivated, nowS, actor, fmtTime(until)); err != nil {
			return err
		}
		// RC-6 and RE-5: the card is out like one a station handed out
		// (deadlines.go), its receipt already in; no station holds it.
		if _, err := tx.ExecContext(ctx, `INSERT INTO card_loans (serial, station_id, issuance_id, card_type, personal_number, issued_at, valid_until, receipt_at)
			VALUES (?, '', ?, 'reserve', ?, ?, ?, ?)
			ON CONFLICT (serial) DO UPDATE SET station_id = excluded.station_id, issuance_id = excluded.issuance_id,
			  card_type = excluded.card_type, personal_number = excluded.personal_number, issued_at = excluded.issued_at,
			  valid_until = excluded.valid_until, receipt_at = excluded.receipt_at, returned_at = ''`,
			e.CardSerial, RegisteredMailIssuance(id), e.PersonalNumber, ts(now), ts(until), ts(now)); err != nil {
			return fmt.Errorf("registry: activate envelope: card loan: %w", err)
		}
		// RC-4 at every station: the reserve card is in the person's
		// facts, pulled by every station that holds the person.
		return addReserveCard(ctx, tx, "", protocol.IssuancePayload{PersonalNumber: e.PersonalNumber, CardSerial: e.CardSerial, Reason: e.Reason, ValidUntil: until})
	})
}

// RegisteredMailIssuance is the issuance ID under which the deadline jobs
// (RC-6 deviations, RE-5 reminders) know the card of envelope id.
func RegisteredMailIssuance(id string) string { return "regmail-" + id }

// CancelEnvelope cancels an envelope not yet activated (lost in the
// mail, sent back undelivered); a reason is required.
func (s *Server) CancelEnvelope(ctx context.Context, id, reason, actor string) error {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return fmt.Errorf("%w: registered mail: a reason is required to cancel", ErrInvalid)
	}
	now := s.now().UTC().Format(time.RFC3339Nano)
	return s.db.write(ctx, func(tx *sql.Tx) error {
		return stepEnvelope(ctx, tx, id, []string{EnvelopeRegistered, EnvelopeSent, EnvelopeReceiptReturned}, `state = ?, cancelled_at = ?, cancelled_by = ?, cancel_reason = ?`,
			EnvelopeCancelled, now, actor, reason)
	})
}

const envelopeCols = `id, card_serial, personal_number, name, address, reason, loa, id_method, state, tracking,
	registered_at, registered_by, sent_at, sent_by, receipt_at, receipt_by, receipt_type, receipt_sha256,
	activated_at, activated_by, valid_until, cancelled_at, cancelled_by, cancel_reason`

func scanEnvelope(r interface{ Scan(...any) error }) (Envelope, error) {
	var e Envelope
	err := r.Scan(&e.ID, &e.CardSerial, &e.PersonalNumber, &e.Name, &e.Address, &e.Reason, &e.LoA, &e.IDMethod, &e.State, &e.Tracking,
		&e.RegisteredAt, &e.RegisteredBy, &e.SentAt, &e.SentBy, &e.ReceiptAt, &e.ReceiptBy, &e.ReceiptType, &e.ReceiptSHA256,
		&e.ActivatedAt, &e.ActivatedBy, &e.ValidUntil, &e.CancelledAt, &e.CancelledBy, &e.CancelReason)
	return e, err
}

// Envelope is one envelope by its ID.
func (s *Server) Envelope(ctx context.Context, id string) (Envelope, error) {
	e, err := scanEnvelope(s.db.reader.QueryRowContext(ctx, `SELECT `+envelopeCols+` FROM regmail_envelopes WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Envelope{}, fmt.Errorf("registry: envelope: %w", ErrNotFound)
	}
	if err != nil {
		return Envelope{}, fmt.Errorf("registry: envelope: %w", err)
	}
	return e, nil
}

// Envelopes are the envelopes, the ones on their way first, newest first.
func (s *Server) Envelopes(ctx context.Context) ([]Envelope, error) {
	rows, err := s.db.reader.QueryContext(ctx, `SELECT `+envelopeCols+` FROM regmail_envelopes
		ORDER BY CASE WHEN state IN `+regmailOpenStates+` THEN 0 ELSE 1 END, registered_at DESC LIMIT 500`)
	if err != nil {
		return nil, fmt.Errorf("registry: envelopes: %w", err)
	}
	defer rows.Close()
	var out []Envelope
	for rows.Next() {
		e, err := scanEnvelope(rows)
		if err != nil {
			return nil, fmt.Errorf("registry: envelopes: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// EnvelopeReceiptScan is the archived scan of the returned receipt and
// its content type.
func (s *Server) EnvelopeReceiptScan(ctx context.Context, id string) ([]byte, string, error) {
	var b []byte
	var typ string
	err := s.db.reader.QueryRowContext(ctx, `SELECT receipt_scan, receipt_type FROM regmail_envelopes WHERE id = ? AND receipt_scan IS NOT NULL`, id).Scan(&b, &typ)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", fmt.Errorf("registry: receipt scan: %w", ErrNotFound)
	}
	if err != nil {
		return nil, "", fmt.Errorf("registry: receipt scan: %w", err)
	}
	return b, typ, nil
}
