package registry

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/kortstation/kortstation/sync/protocol"
)

// MaxBatch is the most events one push may carry.
const MaxBatch = 5000

func (s *Server) handlePush(w http.ResponseWriter, r *http.Request) {
	var req protocol.PushRequest
	if err := protocol.ReadRequest(r, &req); err != nil {
		protocol.WriteError(w, http.StatusBadRequest, protocol.CodeBadRequest, err.Error())
		return
	}
	if !checkBodyStation(w, r, req.StationID) {
		return
	}
	if len(req.Events) > MaxBatch {
		protocol.WriteError(w, http.StatusRequestEntityTooLarge, protocol.CodeBadRequest, fmt.Sprintf("at most %d events per push", MaxBatch))
		return
	}
	for _, ev := range req.Events {
		if err := validEvent(ev); err != nil {
			protocol.WriteError(w, http.StatusBadRequest, protocol.CodeBadRequest, fmt.Sprintf("event seq %d: %v", ev.Seq, err))
			return
		}
	}
	acks, err := s.Store(r.Context(), req.StationID, req.Events)
	if err != nil {
		s.log.Error("push failed", "station", req.StationID, "err", err)
		protocol.WriteError(w, http.StatusInternalServerError, protocol.CodeInternal, "could not store events")
		return
	}
	_ = protocol.WriteJSON(w, http.StatusOK, protocol.PushResponse{Acks: acks})
}

func validEvent(ev protocol.Event) error {
	if ev.Seq <= 0 {
		return errors.New("seq must be positive")
	}
	if _, err := uuid.Parse(ev.ID); err != nil {
		return fmt.Errorf("id is not a UUID: %w", err)
	}
	if ev.Kind == "" {
		return errors.New("kind is empty")
	}
	if !json.Valid(ev.Payload) {
		return errors.New("payload is not JSON")
	}
	return nil
}

// Store stores events of station idempotently in one transaction and
// returns an acknowledgement for each: stored, duplicate (the same ID and
// seq were stored before) or conflict (the ID or seq belongs to another
// event; nothing stored).
func (s *Server) Store(ctx context.Context, station string, events []protocol.Event) ([]protocol.Ack, error) {
	acks := make([]protocol.Ack, 0, len(events))
	now := s.now().UTC().Format(time.RFC3339Nano)
	err := s.db.write(ctx, func(tx *sql.Tx) error {
		acks = acks[:0]
		byID, err := tx.PrepareContext(ctx, `SELECT seq FROM events WHERE station_id = ? AND event_id = ?`)
		if err != nil {
			return err
		}
		defer byID.Close()
		ins, err := tx.PrepareContext(ctx, `INSERT INTO events (station_id, seq, event_id, kind, payload, created_at, clock_source, received_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`)
		if err != nil {
			return err
		}
		defer ins.Close()
		for _, ev := range events {
			ack := protocol.Ack{Seq: ev.Seq, ID: ev.ID, Result: protocol.AckStored}
			// The common case costs one statement; only an event that was
			// there before is looked up to tell a duplicate from a conflict.
			res, err := ins.ExecContext(ctx, station, ev.Seq, ev.ID, ev.Kind, []byte(ev.Payload),
				ev.CreatedAt.UTC().Format(time.RFC3339Nano), ev.ClockSource, now)
			if err != nil {
				return fmt.Errorf("store event: %w", err)
			}
			if n, err := res.RowsAffected(); err != nil {
				return fmt.Errorf("store event: %w", err)
			} else if n == 1 {
				if err := s.project(ctx, tx, station, ev, now); err != nil {
					return err
				}
			} else {
				var seq int64
				err := byID.QueryRowContext(ctx, station, ev.ID).Scan(&seq)
				switch {
				case err == nil && seq == ev.Seq:
					ack.Result = protocol.AckDuplicate
				case err == nil || errors.Is(err, sql.ErrNoRows):
					ack.Result = protocol.AckConflict // the ID has another seq, or the seq another ID
				default:
					return fmt.Errorf("look up event: %w", err)
				}
			}
			if ack.Result == protocol.AckConflict {
				s.log.Warn("event conflicts with a stored one", "station", station, "seq", ev.Seq)
			} else if ev.Kind == protocol.KindReceipt {
				// The events table keeps payloads forever (events_keep):
				// the receipt, its PDF and signatures are archived here.
				ack.Archived = true
			}
			acks = append(acks, ack)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return acks, nil
}

// project updates the registry's views from an event it understands: the
// kinds of protocol.EventKinds, each decoded into its payload type. An event
// it cannot interpret is still stored (never lost) and logged.
func (s *Server) project(ctx context.Context, tx *sql.Tx, station string, ev protocol.Event, now string) error {
	payload, err := protocol.DecodePayload(ev.Kind, ev.Payload)
	if errors.Is(err, protocol.ErrUnknownKind) {
		s.log.Warn("event of a kind not in the protocol; stored only", "station", station, "seq", ev.Seq, "kind", ev.Kind)
		return nil
	}
	if err != nil {
		s.log.Warn("event payload not understood; stored only", "station", station, "seq", ev.Seq, "kind", ev.Kind, "err", err)
		return nil
	}
	if reason, serial, err := permitted(ctx, tx, station, payload); err != nil {
		return err
	} else if reason != "" {
		return s.holdForReview(ctx, tx, station, ev, serial, reason, now)
	}
	return s.apply(ctx, tx, station, ev, payload, now)
}

// apply applies a decoded event the station may send (or one a case
// officer applied from central review) to the registry's views.
func (s *Server) apply(ctx context.Context, tx *sql.Tx, station string, ev protocol.Event, payload protocol.Payload, now string) error {
	if err := s.applyViews(ctx, tx, station, ev, payload, now); err != nil {
		return err
	}
	return s.indexEvent(ctx, tx, station, ev, payload) // issue 14: search, reports, approval evidence (index.go)
}

func (s *Server) applyViews(ctx context.Context, tx *sql.Tx, station string, ev protocol.Event, payload protocol.Payload, now string) error {
	if err := s.trackDeadlines(ctx, tx, station, ev, payload); err != nil { // RE-2, RC-6, BL-2, RE-5 (deadlines.go)
		return err
	}
	switch p := payload.(type) {
	case protocol.IssuancePayload:
		return s.projectIssuance(ctx, tx, station, ev, p, now)
	case protocol.ExtensionPayload:
		if err := s.projectIssuance(ctx, tx, station, ev, protocol.IssuancePayload(p), now); err != nil {
			return err
		}
		return extendReserveCard(ctx, tx, p.CardSerial, p.ValidUntil)
	case protocol.ReturnPayload:
		if err := s.projectIssuance(ctx, tx, station, ev, protocol.IssuancePayload(p), now); err != nil {
			return err
		}
		return releaseReserveCard(ctx, tx, p.CardSerial) // back in: no longer refuses its holder (RC-4)
	case protocol.StockMovementPayload:
		if p.Movement == "voided" {
			return releaseReserveCard(ctx, tx, p.CardSerial)
		}
	case protocol.AuditCheckpointPayload:
		return s.anchorAudit(ctx, tx, station, ev.Seq, p, now)
	case protocol.AdminChangePayload:
		return recordAdminRequest(ctx, tx, station, ev.Seq, p, now) // AD-2 (admins.go)
	case protocol.UpdateResultPayload:
		return projectUpdateResult(ctx, tx, station, ev.Seq, p, now) // issue 16: staged rollout (rollout.go)
	case protocol.ReceiptPayload:
		if p.CardSerial == "" {
			s.log.Warn("receipt event without a card serial; stored only", "station", station, "seq", ev.Seq)
			return nil
		}
		yes := true
		return setCardStatus(ctx, tx, station, p.CardSerial, "", &yes, now)
	case protocol.BlockRequestPayload:
		if p.CardSerial == "" {
			s.log.Warn("block request without a card serial; stored only", "station", station, "seq", ev.Seq)
			return nil
		}
		return blockCard(ctx, tx, station, p.CardSerial, p.Reason, now)
	case protocol.DrawerAlarmPayload:
		at := p.At
		if at.IsZero() {
			at = ev.CreatedAt
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO drawer_alarms (station_id, seq, at, found_open, received_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			station, ev.Seq, alarmTime(at), p.FoundOpen, now); err != nil {
			return fmt.Errorf("project drawer alarm: %w", err)
		}
		s.log.Warn("drawer alarm (RC-7): drawer opened with nobody logged in", "station", station, "seq", ev.Seq)
	}
	// notification, other stock movements and drawer_event are stored
	// only.
	return nil
}

// alarmTime formats t with a fixed width, so stored times compare as
// strings.
func alarmTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }

// projectIssuance records an issuance, extension or return: a pending
// issuance for CP-1, the card's status and the person's reserve card.
func (s *Server) projectIssuance(ctx context.Context, tx *sql.Tx, station string, ev protocol.Event, p protocol.IssuancePayload, now string) error {
	if p.CardSerial == "" {
		s.log.Warn("issuance event without a card serial; stored only", "station", station, "seq", ev.Seq)
		return nil
	}
	state := protocol.CardPending
	if ev.Kind == protocol.KindReturn {
		state = protocol.CardReturned
	} else if p.IssuanceID != "" {
		res, err := tx.ExecContext(ctx, `INSERT INTO issuances (id, station_id, kind, card_serial, reason, valid_until, received_at, attestation_ground)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, p.IssuanceID, station, ev.Kind, p.CardSerial, p.Reason, fmtTime(p.ValidUntil), now, p.AttestationGround)
		if err != nil {
			return fmt.Errorf("project issuance: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("project issuance: %w", err)
		} else if n == 1 {
			if err := projectAttestors(ctx, tx, p); err != nil {
				return err
			}
		}
	}
	if err := setCardStatus(ctx, tx, station, p.CardSerial, state, nil, now); err != nil {
		return err
	}
	if p.PersonalNumber != "" && ev.Kind == protocol.KindIssuance && (p.CardType == "" || p.CardType == "reserve") {
		return addReserveCard(ctx, tx, station, p)
	}
	return nil
}

// projectAttestors stores the attestors of an issuance with how each
// proved who they are (AT-1), in the station's order, for CP-1. A proof
// the station did not send is stored as "" (shown as not verified).
func projectAttestors(ctx context.Context, tx *sql.Tx, p protocol.IssuancePayload) error {
	for i, h := range p.Attestors {
		proof := ""
		if i < len(p.AttestorProofs) {
			proof = p.AttestorProofs[i]
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO issuance_attestors (issuance_id, pos, hsa_id, proof) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			p.IssuanceID, i, h, proof); err != nil {
			return fmt.Errorf("project attestors: %w", err)
		}
	}
	return nil
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// setCardStatus upserts a card's state (unless state is "") and receipt flag
// (unless nil) under a new rev.
func setCardStatus(ctx context.Context, tx *sql.Tx, station, serial, state string, receipt *bool, now string) error {
	rev, err := nextRev(ctx, tx)
	if err != nil {
		return err
	}
	rr := -1
	if receipt != nil {
		rr = 0
		if *receipt {
			rr = 1
		}
	}
	initial := state
	if initial == "" {
		initial = protocol.CardPending
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO card_status (serial, station_id, state, receipt_received, updated_at, rev)
		VALUES (?1, ?2, ?3, CASE WHEN ?4 > 0 THEN ?4 ELSE 0 END, ?5, ?6)
		ON CONFLICT (serial) DO UPDATE SET
		  station_id = CASE WHEN ?7 != '' THEN excluded.station_id ELSE card_status.station_id END,
		  state = CASE WHEN ?7 != '' THEN ?7 ELSE card_status.state END,
		  receipt_received = CASE WHEN ?4 >= 0 THEN ?4 ELSE card_status.receipt_received END,
		  updated_at = ?5, deleted = 0, rev = ?6`,
		serial, station, initial, rr, now, rev, state)
	if err != nil {
		return fmt.Errorf("set card status: %w", err)
	}
	return nil
}

func blockCard(ctx context.Context, tx *sql.Tx, station, serial, reason, now string) error {
	if _, err := nextRev(ctx, tx); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO blocked_cards (serial, reason, blocked_at) VALUES (?, ?, ?)
		ON CONFLICT (serial) DO UPDATE SET reason = excluded.reason`, serial, reason, now); err != nil {
		return fmt.Errorf("block card: %w", err)
	}
	var owner string
	err := tx.QueryRowContext(ctx, `SELECT station_id FROM card_status WHERE serial = ?`, serial).Scan(&owner)
	if errors.Is(err, sql.ErrNoRows) {
		if station == "" {
			return nil
		}
		owner = station
	} else if err != nil {
		return fmt.Errorf("block card: %w", err)
	}
	return setCardStatus(ctx, tx, owner, serial, protocol.CardBlocked, nil, now)
}

// addReserveCard records a reserve card in the person's facts so every
// station sees it (RC-4: one reserve card per person).
func addReserveCard(ctx context.Context, tx *sql.Tx, station string, p protocol.IssuancePayload) error {
	var facts protocol.PersonFactsDoc
	var raw string
	err := tx.QueryRowContext(ctx, `SELECT facts FROM person_facts WHERE personal_number = ? AND deleted = 0`, p.PersonalNumber).Scan(&raw)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("read person facts: %w", err)
	}
	if raw != "" {
		if err := json.Unmarshal([]byte(raw), &facts); err != nil {
			// Not a PersonFactsDoc (SetPersonFacts refuses those now):
			// start afresh, as before, rather than refuse the push.
			facts = protocol.PersonFactsDoc{}
		}
	}
	for _, c := range facts.ReserveCards {
		if c.Serial == p.CardSerial {
			return nil
		}
	}
	facts.ReserveCards = append(facts.ReserveCards, protocol.ReserveCardFact{Serial: p.CardSerial, Reason: p.Reason, ValidUntil: fmtTime(p.ValidUntil), Station: station})
	b, err := json.Marshal(facts)
	if err != nil {
		return fmt.Errorf("encode person facts: %w", err)
	}
	return putPersonFacts(ctx, tx, p.PersonalNumber, b)
}

func putPersonFacts(ctx context.Context, tx *sql.Tx, pnr string, facts []byte) error {
	rev, err := nextRev(ctx, tx)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO person_facts (personal_number, facts, rev) VALUES (?, ?, ?)
		ON CONFLICT (personal_number) DO UPDATE SET facts = excluded.facts, deleted = 0, rev = excluded.rev`, pnr, string(facts), rev); err != nil {
		return fmt.Errorf("put person facts: %w", err)
	}
	return indexPersonFacts(ctx, tx, pnr, facts)
}
