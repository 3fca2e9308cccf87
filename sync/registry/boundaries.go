package registry

// What the registry trusts each station with (issue 12): a station's
// pushed events apply only to what is its own (else they are stored and
// held for central review), it pulls the person facts of its own people
// only, a locked station pulls nothing, a revoked certificate is refused in
// the TLS handshake, and the station's audit checkpoints must only move
// forward.

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/kortstation/kortstation/sync/pki"
	"github.com/kortstation/kortstation/sync/protocol"
)

// initBoundaries: on the first start with the boundary tables (person_serials,
// person_links in baseSchema) it
// indexes the person facts already held and starts a new cursor epoch, so
// every station resyncs its delta kinds and keeps only its own people.
func initBoundaries(ctx context.Context, d *db) error {
	return d.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('person_scope', '1') ON CONFLICT DO NOTHING`)
		if err != nil {
			return fmt.Errorf("registry: person scope: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		rows, err := tx.QueryContext(ctx, `SELECT personal_number, facts FROM person_facts WHERE deleted = 0`)
		if err != nil {
			return fmt.Errorf("registry: person scope: %w", err)
		}
		type pf struct{ pnr, facts string }
		var all []pf
		for rows.Next() {
			var p pf
			if err := rows.Scan(&p.pnr, &p.facts); err != nil {
				rows.Close()
				return fmt.Errorf("registry: person scope: %w", err)
			}
			all = append(all, p)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("registry: person scope: %w", err)
		}
		for _, p := range all {
			if err := indexPersonFacts(ctx, tx, p.pnr, []byte(p.facts)); err != nil {
				return err
			}
		}
		epoch := make([]byte, 6)
		if _, err := rand.Read(epoch); err != nil {
			return fmt.Errorf("registry: epoch: %w", err)
		}
		_, err = tx.ExecContext(ctx, `UPDATE meta SET value = ? WHERE key = 'epoch'`, hex.EncodeToString(epoch))
		return err
	})
}

// ---- Person facts scoped to stations ----

// indexPersonFacts records the serials the person's facts mention and
// links the person to every station those facts or cards point at: a
// station an order or reserve card names, a station a card was shipped
// to, a station whose card it is. Called by putPersonFacts.
func indexPersonFacts(ctx context.Context, tx *sql.Tx, pnr string, facts []byte) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM person_serials WHERE personal_number = ?`, pnr); err != nil {
		return fmt.Errorf("index person facts: %w", err)
	}
	var doc protocol.PersonFactsDoc
	if json.Unmarshal(facts, &doc) != nil {
		return nil // not a document: nothing to index
	}
	add := func(serial, role, station, validUntil string) error {
		if serial == "" {
			return nil
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO person_serials (serial, personal_number, role, station_id, valid_until) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (serial, personal_number, role) DO UPDATE SET station_id = excluded.station_id, valid_until = excluded.valid_until`,
			serial, pnr, role, station, validUntil)
		return err
	}
	for _, c := range doc.RegularCards {
		if err := add(c.Serial, "regular", "", ""); err != nil {
			return fmt.Errorf("index person facts: %w", err)
		}
	}
	for _, o := range doc.Orders {
		if o.Station != "" {
			if _, err := tx.ExecContext(ctx, `INSERT INTO person_links (station_id, personal_number) VALUES (?, ?) ON CONFLICT DO NOTHING`, o.Station, pnr); err != nil {
				return fmt.Errorf("index person facts: %w", err)
			}
		}
		if err := add(o.CardSerial, "order", o.Station, ""); err != nil {
			return fmt.Errorf("index person facts: %w", err)
		}
	}
	for _, c := range doc.ReserveCards {
		if err := add(c.Serial, "reserve", c.Station, c.ValidUntil); err != nil {
			return fmt.Errorf("index person facts: %w", err)
		}
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO person_links (station_id, personal_number)
		SELECT st, ?1 FROM (
		  SELECT station_id AS st FROM person_serials WHERE personal_number = ?1 AND station_id != ''
		  UNION SELECT s.station_id FROM shipments s JOIN person_serials p ON p.serial = s.serial WHERE p.personal_number = ?1 AND s.deleted = 0
		  UNION SELECT c.station_id FROM card_status c JOIN person_serials p ON p.serial = c.serial WHERE p.personal_number = ?1 AND c.deleted = 0) AS linked
		WHERE true ON CONFLICT DO NOTHING`, pnr)
	if err != nil {
		return fmt.Errorf("link person: %w", err)
	}
	return nil
}

// linkBySerial links the holders of serial to station (a card shipped
// there) and gives the facts of each newly linked person a new rev, so the
// station receives them with its next pull.
func linkBySerial(ctx context.Context, tx *sql.Tx, station, serial string) error {
	rows, err := tx.QueryContext(ctx, `INSERT INTO person_links (station_id, personal_number)
		SELECT DISTINCT ?, personal_number FROM person_serials WHERE serial = ? ON CONFLICT DO NOTHING RETURNING personal_number`, station, serial)
	if err != nil {
		return fmt.Errorf("link holders of a shipped card: %w", err)
	}
	var linked []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			rows.Close()
			return fmt.Errorf("link holders of a shipped card: %w", err)
		}
		linked = append(linked, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("link holders of a shipped card: %w", err)
	}
	for _, p := range linked {
		rev, err := nextRev(ctx, tx)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE person_facts SET rev = ? WHERE personal_number = ?`, rev, p); err != nil {
			return fmt.Errorf("link holders of a shipped card: %w", err)
		}
	}
	return nil
}

// personFactsForStation is the delta query of person_facts for one
// station: only people linked to it.
const personFactsForStation = `SELECT personal_number, facts, deleted, rev FROM person_facts pf
	WHERE rev > ? AND EXISTS (SELECT 1 FROM person_links l WHERE l.station_id = ? AND l.personal_number = pf.personal_number)
	ORDER BY rev LIMIT ?`

// ---- RC-4 across stations ----

// releaseReserveCard removes serial from the reserve cards of whoever's
// facts list it (returned, rejected, voided or expired: no longer out), so
// no station refuses its holder a new card because of it.
func releaseReserveCard(ctx context.Context, tx *sql.Tx, serial string) error {
	return editReserveCard(ctx, tx, serial, func(c *protocol.ReserveCardFact) bool { return false })
}

// extendReserveCard moves the end of validity of a reserve card in its
// holder's facts (an applied extension, RC-5), so it does not expire at the
// registry before it does at the counter.
func extendReserveCard(ctx context.Context, tx *sql.Tx, serial string, until time.Time) error {
	if until.IsZero() {
		return nil
	}
	return editReserveCard(ctx, tx, serial, func(c *protocol.ReserveCardFact) bool {
		c.ValidUntil = fmtTime(until)
		return true
	})
}

// editReserveCard applies keep to the fact about serial in every holder's
// document: it may change the fact, and drops it when it returns false.
func editReserveCard(ctx context.Context, tx *sql.Tx, serial string, keep func(*protocol.ReserveCardFact) bool) error {
	if serial == "" {
		return nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT pf.personal_number, pf.facts FROM person_facts pf
		WHERE pf.deleted = 0 AND pf.personal_number IN (SELECT personal_number FROM person_serials WHERE serial = ? AND role = 'reserve')`, serial)
	if err != nil {
		return fmt.Errorf("reserve card in person facts: %w", err)
	}
	type doc struct {
		pnr string
		raw string
	}
	var docs []doc
	for rows.Next() {
		var d doc
		if err := rows.Scan(&d.pnr, &d.raw); err != nil {
			rows.Close()
			return fmt.Errorf("reserve card in person facts: %w", err)
		}
		docs = append(docs, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reserve card in person facts: %w", err)
	}
	for _, d := range docs {
		var facts protocol.PersonFactsDoc
		if err := json.Unmarshal([]byte(d.raw), &facts); err != nil {
			continue
		}
		out := facts.ReserveCards[:0]
		for _, c := range facts.ReserveCards {
			if c.Serial != serial || keep(&c) {
				out = append(out, c)
			}
		}
		facts.ReserveCards = out
		if len(facts.ReserveCards) == 0 {
			facts.ReserveCards = nil
		}
		b, err := json.Marshal(facts)
		if err != nil {
			return fmt.Errorf("encode person facts: %w", err)
		}
		if err := putPersonFacts(ctx, tx, d.pnr, b); err != nil {
			return err
		}
	}
	return nil
}

// ExpireReserveCards removes from the person facts every reserve card
// whose validity ended before now and returns how many it removed. Serve
// runs it every hour.
func (s *Server) ExpireReserveCards(ctx context.Context) (int, error) {
	now := s.now()
	n := 0
	err := s.db.write(ctx, func(tx *sql.Tx) error {
		n = 0
		rows, err := tx.QueryContext(ctx, `SELECT DISTINCT serial, valid_until FROM person_serials WHERE role = 'reserve' AND valid_until != ''`)
		if err != nil {
			return fmt.Errorf("registry: expire reserve cards: %w", err)
		}
		var expired []string
		for rows.Next() {
			var serial, until string
			if err := rows.Scan(&serial, &until); err != nil {
				rows.Close()
				return fmt.Errorf("registry: expire reserve cards: %w", err)
			}
			if t, err := time.Parse(time.RFC3339, until); err == nil && t.Before(now) {
				expired = append(expired, serial)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("registry: expire reserve cards: %w", err)
		}
		for _, serial := range expired {
			if err := releaseReserveCard(ctx, tx, serial); err != nil {
				return err
			}
		}
		n = len(expired)
		return nil
	})
	return n, err
}

// maintain runs the registry's periodic work until ctx ends.
func (s *Server) maintain(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if n, err := s.ExpireReserveCards(ctx); err != nil {
			s.log.Error("expire reserve cards", "err", err)
		} else if n > 0 {
			s.log.Info("expired reserve cards released (RC-4)", "cards", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// ---- What a station may do: pushed events validated ----

// Review reasons: why a pushed event was stored but not applied.
const (
	ReviewOperatorMissing       = "operator_missing"
	ReviewOperatorNotAuthorised = "operator_not_authorised"
	ReviewCardOfAnotherStation  = "card_of_another_station"
	ReviewCardNotShippedHere    = "card_not_shipped_here"
	// ReviewCorrectionUnknown: a receipt correction (RE-3) whose corrected
	// receipt the station never sent for that card.
	ReviewCorrectionUnknown = "correction_of_unknown_receipt"
)

// permitted says whether station may do what payload says, and if not,
// why (a Review… reason). Cards: a station may issue a card shipped to it,
// an ordered card its order names it for, or its own card again; extend,
// return and receipt only its own cards (issued there or shipped there);
// block its own cards and the cards of its people (person_links), never
// another station's. Operators must be authorised (AD-1).
func permitted(ctx context.Context, tx *sql.Tx, d dialect, station string, payload protocol.Payload) (string, string, error) {
	var serial, operator, corrects string
	var needOperator bool
	var allow func() (bool, error)
	ownCard := func() (bool, error) {
		var ok bool
		err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM shipments WHERE serial = ?1 AND station_id = ?2 AND deleted = 0)
			OR EXISTS (SELECT 1 FROM card_status WHERE serial = ?1 AND station_id = ?2 AND deleted = 0)`, serial, station).Scan(&ok)
		return ok, err
	}
	switch p := payload.(type) {
	case protocol.AdminChangePayload: // AD-2: only for itself, by its own administrator (admins.go)
		reason, err := permittedAdminChange(ctx, tx, station, p)
		return reason, "", err
	case protocol.IssuancePayload:
		serial, operator, needOperator = p.CardSerial, p.Operator, true
		allow = func() (bool, error) {
			if ok, err := ownCard(); ok || err != nil {
				return ok, err
			}
			var ok bool
			err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM person_serials WHERE serial = ? AND role = 'order' AND station_id = ?)`, serial, station).Scan(&ok)
			return ok, err
		}
	case protocol.ExtensionPayload:
		serial, operator, needOperator, allow = p.CardSerial, p.Operator, true, ownCard
	case protocol.ReturnPayload:
		serial, operator, needOperator, allow = p.CardSerial, p.Operator, true, ownCard
	case protocol.ReceiptPayload:
		serial, allow, corrects = p.CardSerial, ownCard, p.Corrects
	case protocol.BlockRequestPayload:
		serial, operator, needOperator = p.CardSerial, p.Operator, true
		allow = func() (bool, error) {
			if ok, err := ownCard(); ok || err != nil {
				return ok, err
			}
			if other, err := cardOfAnotherStation(ctx, tx, station, serial); other || err != nil {
				return false, err
			}
			var ok bool
			err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM person_serials p JOIN person_links l ON l.personal_number = p.personal_number
				WHERE p.serial = ? AND l.station_id = ?)`, serial, station).Scan(&ok)
			return ok, err
		}
	case protocol.StockMovementPayload:
		if p.Movement != "voided" {
			return "", "", nil
		}
		serial, allow = p.CardSerial, ownCard
	default:
		return "", "", nil
	}
	if serial == "" {
		return "", "", nil // stored only, as before
	}
	if needOperator {
		if operator == "" {
			return ReviewOperatorMissing, serial, nil
		}
		authorised, err := operatorAuthorisedAt(ctx, tx, station, operator) // AD-1 at this station (admins.go)
		if err != nil {
			return "", "", err
		}
		if !authorised {
			return ReviewOperatorNotAuthorised, serial, nil
		}
	}
	ok, err := allow()
	if err != nil {
		return "", "", fmt.Errorf("check card: %w", err)
	}
	if ok && corrects != "" {
		// RE-3: a correction refers to a receipt of the same card that this
		// station sent before. (The one read of the events table in a
		// projection: Store's insertRun ends a bulk insert at a correction,
		// so it sees the events before it and none after.)
		var known bool
		// The payload's JSON fields: SQLite's json_extract, PostgreSQL's
		// ->> on the bytes read as UTF-8 text (push checked they are JSON).
		receiptID, cardSerial := `json_extract(CAST(payload AS TEXT), '$.receipt_id')`, `json_extract(CAST(payload AS TEXT), '$.card_serial')`
		if d == postgres {
			receiptID, cardSerial = `convert_from(payload, 'UTF8')::json ->> 'receipt_id'`, `convert_from(payload, 'UTF8')::json ->> 'card_serial'`
		}
		err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM events WHERE station_id = ? AND kind = ?
			AND `+receiptID+` = ? AND `+cardSerial+` = ?)`,
			station, protocol.KindReceipt, corrects, serial).Scan(&known)
		if err != nil {
			return "", "", fmt.Errorf("check corrected receipt: %w", err)
		}
		if !known {
			return ReviewCorrectionUnknown, serial, nil
		}
	}
	if ok {
		return "", serial, nil
	}
	other, err := cardOfAnotherStation(ctx, tx, station, serial)
	if err != nil {
		return "", "", fmt.Errorf("check card: %w", err)
	}
	if other {
		return ReviewCardOfAnotherStation, serial, nil
	}
	return ReviewCardNotShippedHere, serial, nil
}

func cardOfAnotherStation(ctx context.Context, tx *sql.Tx, station, serial string) (bool, error) {
	var other bool
	err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM shipments WHERE serial = ?1 AND station_id != ?2 AND deleted = 0)
		OR EXISTS (SELECT 1 FROM card_status WHERE serial = ?1 AND station_id != ?2 AND deleted = 0)`, serial, station).Scan(&other)
	return other, err
}

// holdForReview records that the event was stored but not applied.
func (s *Server) holdForReview(ctx context.Context, tx *sql.Tx, station string, ev protocol.Event, serial, reason, now string) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO review_items (station_id, seq, event_id, kind, card_serial, reason, received_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		station, ev.Seq, ev.ID, ev.Kind, serial, reason, now); err != nil {
		return fmt.Errorf("hold event for review: %w", err)
	}
	s.log.Warn("event not applied: the station may not do this; held for central review", "station", station, "seq", ev.Seq, "kind", ev.Kind, "reason", reason)
	return nil
}

// ReviewItem is a pushed event the registry stored but did not apply.
type ReviewItem struct {
	ID         int64
	Station    string
	Seq        int64
	EventID    string
	Kind       string
	CardSerial string
	Reason     string
	ReceivedAt time.Time
	// Decision is "" while the item waits for a case officer, else
	// applied or rejected, by DecidedBy for DecisionReason.
	Decision, DecidedBy, DecisionReason string
}

// ReviewItems lists the events held for central review, newest first.
func (s *Server) ReviewItems(ctx context.Context) ([]ReviewItem, error) {
	rows, err := s.db.reader.QueryContext(ctx, `SELECT r.id, r.station_id, r.seq, r.event_id, r.kind, r.card_serial, r.reason, r.received_at,
		coalesce(d.decision, ''), coalesce(d.actor, ''), coalesce(d.reason, '')
		FROM review_items r LEFT JOIN review_decisions d ON d.item_id = r.id ORDER BY (d.item_id IS NOT NULL), r.id DESC LIMIT 500`)
	if err != nil {
		return nil, fmt.Errorf("registry: review items: %w", err)
	}
	defer rows.Close()
	var out []ReviewItem
	for rows.Next() {
		var r ReviewItem
		var at string
		if err := rows.Scan(&r.ID, &r.Station, &r.Seq, &r.EventID, &r.Kind, &r.CardSerial, &r.Reason, &at, &r.Decision, &r.DecidedBy, &r.DecisionReason); err != nil {
			return nil, fmt.Errorf("registry: review items: %w", err)
		}
		r.ReceivedAt, _ = time.Parse(time.RFC3339Nano, at)
		out = append(out, r)
	}
	return out, rows.Err()
}

// ---- Audit anchoring ----

var hashRe = regexp.MustCompile(`^[0-9a-f]{64}$`)

// anchorAudit keeps a pushed audit checkpoint and compares it with the
// station's highest one: a lower seq, or the same seq with another hash,
// means the station's chain was rewritten (a fork) and raises an alarm.
// Only a checkpoint signed by the station's key is anchored; one unsigned
// or signed otherwise is stored, not anchored, and raises an alarm.
func (s *Server) anchorAudit(ctx context.Context, tx *sql.Tx, station string, evSeq int64, p protocol.AuditCheckpointPayload, now string) error {
	if p.Seq <= 0 || !hashRe.MatchString(p.Hash) {
		s.log.Warn("audit checkpoint without a sequence number or hash; stored only", "station", station, "seq", evSeq)
		return nil
	}
	cert, err := stationCert(ctx, tx, station)
	if err != nil {
		return err
	}
	if err := protocol.VerifyCheckpoint(p, station, cert); err != nil {
		why := "bad_signature"
		if errors.Is(err, protocol.ErrCheckpointUnsigned) {
			why = "unsigned"
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO audit_refused_checkpoints (station_id, event_seq, why, seq, hash, received_at) VALUES (?, ?, ?, ?, ?, ?)`,
			station, evSeq, why, p.Seq, p.Hash, now); err != nil {
			return fmt.Errorf("refuse audit checkpoint: %w", err)
		}
		s.log.Error("audit chain alarm: a checkpoint not signed by the station's key; not anchored", "station", station, "seq", evSeq, "alarm", why, "err", err)
		return nil
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO audit_checkpoints (station_id, event_seq, seq, hash, received_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		station, evSeq, p.Seq, p.Hash, now); err != nil {
		return fmt.Errorf("anchor audit checkpoint: %w", err)
	}
	var headSeq int64
	var headHash string
	err = tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_heads WHERE station_id = ?`, station).Scan(&headSeq, &headHash)
	switch {
	case errors.Is(err, sql.ErrNoRows) || (err == nil && p.Seq > headSeq):
		_, err = tx.ExecContext(ctx, `INSERT INTO audit_heads (station_id, seq, hash, event_seq, updated_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (station_id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, event_seq = excluded.event_seq, updated_at = excluded.updated_at`,
			station, p.Seq, p.Hash, evSeq, now)
		if err != nil {
			return fmt.Errorf("anchor audit checkpoint: %w", err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("anchor audit checkpoint: %w", err)
	case p.Seq == headSeq && p.Hash == headHash:
		return nil // the same head again
	}
	kind := "backwards"
	if p.Seq == headSeq {
		kind = "fork"
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO audit_alarms (station_id, event_seq, kind, seq, hash, head_seq, head_hash, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		station, evSeq, kind, p.Seq, p.Hash, headSeq, headHash, now); err != nil {
		return fmt.Errorf("anchor audit checkpoint: %w", err)
	}
	s.log.Error("audit chain alarm: the station's audit checkpoint contradicts an earlier one", "station", station, "seq", evSeq, "alarm", kind,
		"checkpoint_seq", p.Seq, "head_seq", headSeq)
	return nil
}

// AuditAlarm is a checkpoint that contradicted the station's audit head.
type AuditAlarm struct {
	Station    string
	EventSeq   int64
	Kind       string // backwards, fork, unsigned or bad_signature
	Seq        int64
	Hash       string
	HeadSeq    int64
	HeadHash   string
	ReceivedAt time.Time
}

// AuditAlarms lists the audit chain alarms, newest first: checkpoints that
// went backwards or forked, and checkpoints refused as unsigned or signed
// by another key (kinds unsigned, bad_signature; no head).
func (s *Server) AuditAlarms(ctx context.Context) ([]AuditAlarm, error) {
	rows, err := s.db.reader.QueryContext(ctx, `SELECT station_id, event_seq, kind, seq, hash, head_seq, head_hash, received_at FROM (
		SELECT station_id, event_seq, kind, seq, hash, head_seq, head_hash, received_at, 0 AS src, id FROM audit_alarms
		UNION ALL SELECT station_id, event_seq, why, seq, hash, 0, '', received_at, 1, id FROM audit_refused_checkpoints) AS alarms
		ORDER BY received_at DESC, src DESC, id DESC LIMIT 500`)
	if err != nil {
		return nil, fmt.Errorf("registry: audit alarms: %w", err)
	}
	defer rows.Close()
	var out []AuditAlarm
	for rows.Next() {
		var a AuditAlarm
		var at string
		if err := rows.Scan(&a.Station, &a.EventSeq, &a.Kind, &a.Seq, &a.Hash, &a.HeadSeq, &a.HeadHash, &at); err != nil {
			return nil, fmt.Errorf("registry: audit alarms: %w", err)
		}
		a.ReceivedAt, _ = time.Parse(time.RFC3339Nano, at)
		out = append(out, a)
	}
	return out, rows.Err()
}

// fillBoundaries adds to each station its audit head and alarms, its
// events held for review and whether its certificate was revoked.
func (s *Server) fillBoundaries(ctx context.Context, stations []StationInfo) error {
	for i := range stations {
		si := &stations[i]
		err := s.db.reader.QueryRowContext(ctx, `SELECT
			coalesce((SELECT seq FROM audit_heads WHERE station_id = ?1), 0),
			coalesce((SELECT hash FROM audit_heads WHERE station_id = ?1), ''),
			(SELECT count(*) FROM audit_alarms WHERE station_id = ?1) + (SELECT count(*) FROM audit_refused_checkpoints WHERE station_id = ?1),
			coalesce((SELECT d FROM (
				SELECT kind || ' at checkpoint ' || seq || ' (head ' || head_seq || ')' AS d, received_at AS at, 0 AS src, id FROM audit_alarms WHERE station_id = ?1
				UNION ALL SELECT why || ' checkpoint ' || seq || ' (not anchored)', received_at, 1, id FROM audit_refused_checkpoints WHERE station_id = ?1) AS latest
				ORDER BY at DESC, src DESC, id DESC LIMIT 1), ''),
			(SELECT count(*) FROM review_items r WHERE r.station_id = ?1 AND NOT EXISTS (SELECT 1 FROM review_decisions d WHERE d.item_id = r.id)),
			EXISTS (SELECT 1 FROM revoked_certs WHERE station_id = ?1)`, si.ID).
			Scan(&si.AuditSeq, &si.AuditHash, &si.AuditAlarms, &si.AuditAlarm, &si.HeldForReview, &si.Revoked)
		if err != nil {
			return fmt.Errorf("registry: stations: %w", err)
		}
		si.Revoked = si.Revoked && !si.Enrolled
	}
	return nil
}

// ---- Locked stations ----

// ErrStationLocked: the station is locked; it pulls no reference data.
var ErrStationLocked = errors.New("station is locked")

func stationLocked(ctx context.Context, tx *sql.Tx, station string) (bool, error) {
	var locked bool
	err := tx.QueryRowContext(ctx, `SELECT locked FROM stations WHERE id = ?`, station).Scan(&locked)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return locked, err
}

// ---- Revocation ----

// Errors of enrolment and revocation.
var (
	ErrAlreadyEnrolled = errors.New("the station already has a certificate; re-enrolling it needs the explicit replace confirmation, which revokes the current certificate")
	ErrNoCertificate   = errors.New("the station has no current certificate")
)

// loadRevoked reads the revoked certificate serials.
func (s *Server) loadRevoked(ctx context.Context) error {
	rows, err := s.db.reader.QueryContext(ctx, `SELECT serial FROM revoked_certs`)
	if err != nil {
		return fmt.Errorf("registry: revoked certificates: %w", err)
	}
	defer rows.Close()
	set := map[string]bool{}
	for rows.Next() {
		var serial string
		if err := rows.Scan(&serial); err != nil {
			return fmt.Errorf("registry: revoked certificates: %w", err)
		}
		set[serial] = true
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("registry: revoked certificates: %w", err)
	}
	s.revMu.Lock()
	s.revoked = set
	s.revMu.Unlock()
	return nil
}

func (s *Server) isRevoked(serial string) bool {
	s.revMu.RLock()
	defer s.revMu.RUnlock()
	return s.revoked[serial]
}

func (s *Server) markRevoked(serial string) {
	s.revMu.Lock()
	s.revoked[serial] = true
	s.revMu.Unlock()
}

// verifyConnection refuses, in the TLS handshake, a client certificate the
// registry revoked. It runs on every connection, resumed ones included.
func (s *Server) verifyConnection(cs tls.ConnectionState) error {
	if len(cs.PeerCertificates) == 0 {
		return nil // enrolment; the station API refuses the rest
	}
	if s.isRevoked(cs.PeerCertificates[0].SerialNumber.Text(16)) {
		return errors.New("registry: station certificate revoked")
	}
	return nil
}

// revokeInTx revokes the station's current certificate, if any, inside tx
// and returns its serial ("" when it had none).
func revokeInTx(ctx context.Context, tx *sql.Tx, station, reason, now string) (string, error) {
	var serial sql.NullString
	err := tx.QueryRowContext(ctx, `SELECT cert_serial FROM stations WHERE id = ?`, station).Scan(&serial)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("registry: station %q: %w", station, ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("registry: revoke: %w", err)
	}
	if !serial.Valid || serial.String == "" {
		return "", nil
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO revoked_certs (serial, station_id, revoked_at, reason) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		serial.String, station, now, reason); err != nil {
		return "", fmt.Errorf("registry: revoke: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE stations SET cert_serial = NULL WHERE id = ?`, station); err != nil {
		return "", fmt.Errorf("registry: revoke: %w", err)
	}
	return serial.String, nil
}

// RevokeStation revokes the station's certificate: from now on the TLS
// handshake refuses it, requests on connections already open are refused,
// its control long poll ends, and its unused enrolment codes are void. The
// station needs a new enrolment code to come back.
func (s *Server) RevokeStation(ctx context.Context, station string) error {
	now := s.now().UTC().Format(time.RFC3339Nano)
	var serial string
	err := s.db.write(ctx, func(tx *sql.Tx) error {
		var err error
		if serial, err = revokeInTx(ctx, tx, station, "revoked", now); err != nil {
			return err
		}
		if serial == "" {
			return fmt.Errorf("registry: station %q: %w: %w", station, ErrInvalid, ErrNoCertificate)
		}
		_, err = tx.ExecContext(ctx, `UPDATE enrol_codes SET used_at = ? WHERE station_id = ? AND used_at IS NULL`, now, station)
		return err
	})
	if err != nil {
		return err
	}
	s.markRevoked(serial)
	s.hub.notify(station)
	s.tellPeers(ctx, peerRevoked, station)
	s.log.Warn("station certificate revoked", "station", station, "serial", serial)
	return nil
}

// NewReplacementEnrolCode is NewEnrolCode for a station that may already
// have a certificate: the explicit confirmation that enrolling with the
// code revokes the current one.
func (s *Server) NewReplacementEnrolCode(ctx context.Context, station string, ttl time.Duration) (string, error) {
	return s.newEnrolCode(ctx, station, ttl, true)
}

// enrolled reports whether the station has a current certificate.
func (s *Server) enrolled(ctx context.Context, station string) (bool, error) {
	var yes bool
	err := s.db.reader.QueryRowContext(ctx, `SELECT cert_serial IS NOT NULL FROM stations WHERE id = ?`, station).Scan(&yes)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("registry: station: %w", err)
	}
	return yes, nil
}

// replaceOnEnrol runs inside Enrol's transaction: a station that has a
// certificate may only enrol with a replacement code, and its old
// certificate is revoked. It returns the revoked serial ("" if none).
func replaceOnEnrol(ctx context.Context, tx *sql.Tx, station, codeHash, now string) (string, error) {
	var current sql.NullString
	if err := tx.QueryRowContext(ctx, `SELECT cert_serial FROM stations WHERE id = ?`, station).Scan(&current); err != nil {
		return "", fmt.Errorf("registry: read station: %w", err)
	}
	if !current.Valid {
		return "", nil
	}
	var replace bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM enrol_replace WHERE code_hash = ?)`, codeHash).Scan(&replace); err != nil {
		return "", fmt.Errorf("registry: read code: %w", err)
	}
	if !replace {
		return "", fmt.Errorf("%w: %w", ErrBadCode, ErrAlreadyEnrolled)
	}
	return revokeInTx(ctx, tx, station, "replaced by re-enrolment", now)
}

// ---- Station certificates ----

type stationCertKey struct{}

// recordStationCert keeps the certificate the registry issued to station.
func recordStationCert(ctx context.Context, tx *sql.Tx, station, serial string, certPEM []byte) error {
	c, err := pki.ParseCertPEM(certPEM)
	if err != nil {
		return fmt.Errorf("registry: record station certificate: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO station_certs (serial, station_id, der) VALUES (?, ?, ?)
		ON CONFLICT (serial) DO UPDATE SET station_id = excluded.station_id, der = excluded.der`, serial, station, c.Raw); err != nil {
		return fmt.Errorf("registry: record station certificate: %w", err)
	}
	return nil
}

// stationCert is the certificate to verify what station signed: the one
// it authenticated with on the request's TLS connection (its current one,
// checked by authenticated), else its current certificate on record; nil
// when there is neither.
func stationCert(ctx context.Context, tx *sql.Tx, station string) (*x509.Certificate, error) {
	if c, ok := ctx.Value(stationCertKey{}).(*x509.Certificate); ok && c != nil && c.Subject.CommonName == station {
		return c, nil
	}
	var der []byte
	err := tx.QueryRowContext(ctx, `SELECT c.der FROM stations s JOIN station_certs c ON c.serial = s.cert_serial AND c.station_id = s.id WHERE s.id = ?`, station).Scan(&der)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("registry: station certificate: %w", err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("registry: station certificate: %w", err)
	}
	return c, nil
}
