package registry

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/kortstation/kortstation/sync/pki"
	"github.com/kortstation/kortstation/sync/protocol"
)

// Errors of the admin operations.
var (
	ErrInvalid  = errors.New("invalid input")
	ErrNotFound = errors.New("not found")
	ErrBadCode  = errors.New("enrolment code unknown, used or expired")
	// ErrNoTrustAnchors: the registry was given no SITHS roots to hand
	// out, so it enrols no station (Config.TrustAnchors).
	ErrNoTrustAnchors = errors.New("the registry has no SITHS root certificates (trust anchors) to give the station; it enrols none until it is configured with them")
)

var stationIDRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// StationCertValidity is how long an enrolled station's certificate lasts.
const StationCertValidity = 2 * 365 * 24 * time.Hour

// AddStation registers a station (idempotent).
func (s *Server) AddStation(ctx context.Context, id, name string) error {
	if !stationIDRe.MatchString(id) {
		return fmt.Errorf("registry: station ID %q: %w", id, ErrInvalid)
	}
	return s.db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO stations (id, name) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET name = CASE WHEN excluded.name != '' THEN excluded.name ELSE stations.name END`, id, name)
		return err
	})
}

// NewEnrolCode registers station (if new) and returns a one-time code,
// valid for ttl, that exchanges a CSR for the station's certificate. A
// station that already has a certificate needs NewReplacementEnrolCode
// (ErrAlreadyEnrolled).
func (s *Server) NewEnrolCode(ctx context.Context, station string, ttl time.Duration) (string, error) {
	return s.newEnrolCode(ctx, station, ttl, false)
}

func (s *Server) newEnrolCode(ctx context.Context, station string, ttl time.Duration, replace bool) (string, error) {
	if err := s.AddStation(ctx, station, ""); err != nil {
		return "", err
	}
	if on, err := s.enrolled(ctx, station); err != nil {
		return "", err
	} else if on && !replace {
		return "", fmt.Errorf("registry: station %q: %w: %w", station, ErrInvalid, ErrAlreadyEnrolled)
	}
	raw := make([]byte, 10)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("registry: code: %w", err)
	}
	code := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(raw)
	code = code[:4] + "-" + code[4:8] + "-" + code[8:12] + "-" + code[12:]
	err := s.db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO enrol_codes (code_hash, station_id, expires_at) VALUES (?, ?, ?)`,
			hashCode(code), station, s.now().Add(ttl).UTC().Format(time.RFC3339))
		if err == nil && replace {
			_, err = tx.ExecContext(ctx, `INSERT INTO enrol_replace (code_hash) VALUES (?)`, hashCode(code))
		}
		return err
	})
	if err != nil {
		return "", fmt.Errorf("registry: store code: %w", err)
	}
	return code, nil
}

func hashCode(code string) string {
	c := strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(code), "-", ""))
	h := sha256.Sum256([]byte(c))
	return hex.EncodeToString(h[:])
}

// Enrol exchanges a one-time code and a CSR for a certificate; the code
// is spent. A station that has a certificate enrols only with a
// replacement code (NewReplacementEnrolCode), and its old certificate is
// revoked.
func (s *Server) Enrol(ctx context.Context, code string, csrPEM []byte) (protocol.EnrolResponse, error) {
	if len(bytes.TrimSpace(s.cfg.TrustAnchors)) == 0 {
		// Checked before the code is looked at: it is not spent.
		return protocol.EnrolResponse{}, ErrNoTrustAnchors
	}
	csr, err := pki.ParseCSR(csrPEM)
	if err != nil {
		return protocol.EnrolResponse{}, fmt.Errorf("registry: %w: %w", ErrInvalid, err)
	}
	var resp protocol.EnrolResponse
	var replaced string
	err = s.db.write(ctx, func(tx *sql.Tx) error {
		var station, expires string
		var used sql.NullString
		err := tx.QueryRowContext(ctx, `SELECT station_id, expires_at, used_at FROM enrol_codes WHERE code_hash = ?`, hashCode(code)).Scan(&station, &expires, &used)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrBadCode
		}
		if err != nil {
			return fmt.Errorf("registry: read code: %w", err)
		}
		exp, _ := time.Parse(time.RFC3339, expires)
		if used.Valid || !s.now().Before(exp) {
			return ErrBadCode
		}
		now := s.now()
		if replaced, err = replaceOnEnrol(ctx, tx, station, hashCode(code), now.UTC().Format(time.RFC3339Nano)); err != nil {
			return err
		}
		certPEM, serial, err := s.ca.SignStation(csr.PublicKey, station, now.Add(-time.Hour), now.Add(StationCertValidity))
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE enrol_codes SET used_at = ? WHERE code_hash = ?`, now.UTC().Format(time.RFC3339), hashCode(code)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE stations SET cert_serial = ?, enrolled_at = ? WHERE id = ?`, serial, now.UTC().Format(time.RFC3339), station); err != nil {
			return err
		}
		if err := recordStationCert(ctx, tx, station, serial, certPEM); err != nil {
			return err
		}
		resp = protocol.EnrolResponse{StationID: station, CertPEM: string(certPEM), CAPEM: string(s.ca.CertPEM), TrustAnchorsPEM: string(s.cfg.TrustAnchors)}
		return nil
	})
	if err != nil {
		return protocol.EnrolResponse{}, err
	}
	if replaced != "" {
		s.markRevoked(replaced)
		s.hub.notify(resp.StationID)
		s.tellPeers(ctx, peerRevoked, resp.StationID)
		s.log.Warn("station re-enrolled; its old certificate is revoked", "station", resp.StationID, "serial", replaced)
	}
	s.log.Info("station enrolled", "station", resp.StationID)
	return resp, nil
}

func (s *Server) handleEnrol(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	var req protocol.EnrolRequest
	if err := protocol.ReadRequest(r, &req); err != nil {
		protocol.WriteError(w, http.StatusBadRequest, protocol.CodeBadRequest, err.Error())
		return
	}
	resp, err := s.Enrol(r.Context(), req.Code, []byte(req.CSRPEM))
	switch {
	case errors.Is(err, ErrBadCode):
		protocol.WriteError(w, http.StatusForbidden, protocol.CodeBadCode, err.Error())
	case errors.Is(err, ErrNoTrustAnchors):
		s.log.Error("enrolment refused: the registry has no SITHS roots to hand out (registryd -trust-anchors)")
		protocol.WriteError(w, http.StatusServiceUnavailable, protocol.CodeNoTrustAnchors, err.Error())
	case errors.Is(err, ErrInvalid):
		protocol.WriteError(w, http.StatusBadRequest, protocol.CodeBadRequest, err.Error())
	case err != nil:
		s.log.Error("enrol failed", "err", err)
		protocol.WriteError(w, http.StatusInternalServerError, protocol.CodeInternal, "enrolment failed")
	default:
		_ = protocol.WriteJSON(w, http.StatusOK, resp)
	}
}

// IssueStationCert registers station and issues its certificate and key
// directly, valid from notBefore to notAfter (the embedded registry and
// tests; production stations enrol with a code).
func (s *Server) IssueStationCert(ctx context.Context, station string, notBefore, notAfter time.Time) (certPEM, keyPEM []byte, err error) {
	if err := s.AddStation(ctx, station, ""); err != nil {
		return nil, nil, err
	}
	csr, key, err := pki.NewCSR(station)
	if err != nil {
		return nil, nil, err
	}
	parsed, err := pki.ParseCSR(csr)
	if err != nil {
		return nil, nil, err
	}
	certPEM, serial, err := s.ca.SignStation(parsed.PublicKey, station, notBefore, notAfter)
	if err != nil {
		return nil, nil, err
	}
	err = s.db.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE stations SET cert_serial = ?, enrolled_at = ? WHERE id = ?`, serial, s.now().UTC().Format(time.RFC3339), station); err != nil {
			return err
		}
		return recordStationCert(ctx, tx, station, serial, certPEM)
	})
	return certPEM, key, err
}

// SetValidity sets the maximum validity for a reason (RC-1).
func (s *Server) SetValidity(ctx context.Context, reason string, maxDays int) error {
	if reason == "" || maxDays <= 0 || maxDays > 366 {
		return fmt.Errorf("registry: validity %q %d days: %w", reason, maxDays, ErrInvalid)
	}
	return s.changeRef(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO validity (reason, max_days) VALUES (?, ?) ON CONFLICT (reason) DO UPDATE SET max_days = excluded.max_days`, reason, maxDays)
		return err
	})
}

// SetOperator adds or changes an administrator (AD-1).
func (s *Server) SetOperator(ctx context.Context, hsaID, name string, authorised bool) error {
	if !strings.HasPrefix(hsaID, "SE") || name == "" {
		return fmt.Errorf("registry: operator %q: %w", hsaID, ErrInvalid)
	}
	return s.changeRef(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO operators (hsa_id, name, authorised) VALUES (?, ?, ?)
			ON CONFLICT (hsa_id) DO UPDATE SET name = excluded.name, authorised = excluded.authorised`, hsaID, name, authorised)
		return err
	})
}

// SetStationPolicy sets the registry's policy for station, which the
// station pulls as its station_policy snapshot: whether attestors typed in
// by the operator (not proven by their own SITHS card, marked unverified)
// are allowed there (AT-1). A station without a policy gets the
// fail-closed default (not allowed). The station must be registered.
func (s *Server) SetStationPolicy(ctx context.Context, station string, typedAttestors bool) error {
	if !stationIDRe.MatchString(station) {
		return fmt.Errorf("registry: station ID %q: %w", station, ErrInvalid)
	}
	now := s.now().UTC().Format(time.RFC3339Nano)
	err := s.changeRef(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM stations WHERE id = ?`, station).Scan(&n); err != nil {
			return fmt.Errorf("registry: station policy: %w", err)
		}
		if n == 0 {
			return fmt.Errorf("registry: station %q: %w", station, ErrNotFound)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO station_policies (station_id, typed_attestors, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (station_id) DO UPDATE SET typed_attestors = excluded.typed_attestors, updated_at = excluded.updated_at`,
			station, typedAttestors, now); err != nil {
			return fmt.Errorf("registry: station policy: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.log.Info("station policy set", "station", station, "typed_attestors", typedAttestors)
	return nil
}

// AddStopWindow adds an order or total stop (CP-3) and returns its ID.
func (s *Server) AddStopWindow(ctx context.Context, kind string, starts, ends time.Time, note string) (string, error) {
	if (kind != protocol.OrderStop && kind != protocol.TotalStop) || !ends.After(starts) {
		return "", fmt.Errorf("registry: stop window %s %s–%s: %w", kind, starts, ends, ErrInvalid)
	}
	id := uuid.NewString()
	return id, s.changeRef(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO stop_windows (id, kind, starts, ends, note) VALUES (?, ?, ?, ?, ?)`,
			id, kind, starts.UTC().Truncate(time.Minute).Format(time.RFC3339), ends.UTC().Truncate(time.Minute).Format(time.RFC3339), note)
		return err
	})
}

// DeleteStopWindow removes a stop window.
func (s *Server) DeleteStopWindow(ctx context.Context, id string) error {
	return s.changeRef(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM stop_windows WHERE id = ?`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("registry: stop window %q: %w", id, ErrNotFound)
		}
		return nil
	})
}

// BlockCard blocks a card (BL-1).
func (s *Server) BlockCard(ctx context.Context, serial, reason string) error {
	if serial == "" || reason == "" {
		return fmt.Errorf("registry: block %q: %w", serial, ErrInvalid)
	}
	now := s.now().UTC().Format(time.RFC3339Nano)
	return s.db.write(ctx, func(tx *sql.Tx) error { return blockCard(ctx, tx, "", serial, reason, now) })
}

// SetPersonFacts sets the registry's facts about a person (RC-2..4): a
// protocol.PersonFactsDoc as JSON, refused when it has fields the document
// does not.
func (s *Server) SetPersonFacts(ctx context.Context, personalNumber string, facts json.RawMessage) error {
	if len(personalNumber) != 12 {
		return fmt.Errorf("registry: person facts: %w", ErrInvalid)
	}
	dec := json.NewDecoder(bytes.NewReader(facts))
	dec.DisallowUnknownFields()
	var doc protocol.PersonFactsDoc
	if err := dec.Decode(&doc); err != nil {
		return fmt.Errorf("registry: person facts: %w: %w", ErrInvalid, err)
	}
	if dec.More() {
		return fmt.Errorf("registry: person facts: %w: trailing data", ErrInvalid)
	}
	return s.SetPersonFactsDoc(ctx, personalNumber, doc)
}

// SetPersonFactsDoc sets the registry's facts about a person (RC-2..4).
func (s *Server) SetPersonFactsDoc(ctx context.Context, personalNumber string, doc protocol.PersonFactsDoc) error {
	if len(personalNumber) != 12 {
		return fmt.Errorf("registry: person facts: %w", ErrInvalid)
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("registry: encode person facts: %w", err)
	}
	return s.db.write(ctx, func(tx *sql.Tx) error { return putPersonFacts(ctx, tx, personalNumber, b) })
}

// DeletePersonFacts removes a person (a tombstone stations pull).
func (s *Server) DeletePersonFacts(ctx context.Context, personalNumber string) error {
	return s.db.write(ctx, func(tx *sql.Tx) error {
		rev, err := nextRev(ctx, tx)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE person_facts SET deleted = 1, facts = '{}', rev = ? WHERE personal_number = ?`, rev, personalNumber)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("registry: person: %w", ErrNotFound)
		}
		return nil
	})
}

// Ship records cards shipped to station.
func (s *Server) Ship(ctx context.Context, station, shipmentRef, cardType string, serials ...string) error {
	if station == "" || shipmentRef == "" || len(serials) == 0 {
		return fmt.Errorf("registry: shipment: %w", ErrInvalid)
	}
	now := s.now().UTC().Format(time.RFC3339Nano)
	return s.db.write(ctx, func(tx *sql.Tx) error {
		for _, serial := range serials {
			rev, err := nextRev(ctx, tx)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO shipments (serial, station_id, card_type, shipment_ref, shipped_at, rev) VALUES (?, ?, ?, ?, ?, ?)
				ON CONFLICT (serial) DO UPDATE SET station_id = excluded.station_id, card_type = excluded.card_type,
				shipment_ref = excluded.shipment_ref, shipped_at = excluded.shipped_at, deleted = 0, rev = excluded.rev`,
				serial, station, cardType, shipmentRef, now, rev); err != nil {
				return fmt.Errorf("registry: ship %s: %w", serial, err)
			}
			if err := linkBySerial(ctx, tx, station, serial); err != nil {
				return err
			}
		}
		return nil
	})
}

// Decide approves or rejects an issuance (CP-1); the card's state reaches
// its station with the next pull.
func (s *Server) Decide(ctx context.Context, issuanceID string, approve bool) error {
	return s.decide(ctx, issuanceID, approve, "", "") // console_evidence.go
}

// Compact removes tombstones; cursors older than now get "cursor too old".
func (s *Server) Compact(ctx context.Context) error {
	return s.db.write(ctx, func(tx *sql.Tx) error {
		for _, t := range []string{"person_facts", "shipments", "card_status"} {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+t+` WHERE deleted = 1`); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `UPDATE counters SET value = (SELECT value FROM counters WHERE name = 'rev') WHERE name = 'horizon'`)
		return err
	})
}

// changeRef runs fn and bumps rev so snapshot hashes are recomputed.
func (s *Server) changeRef(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return s.db.write(ctx, func(tx *sql.Tx) error {
		if _, err := nextRev(ctx, tx); err != nil {
			return err
		}
		return fn(tx)
	})
}

// StoredEvent is an event as the registry holds it.
type StoredEvent struct {
	Seq         int64
	ID          string
	Kind        string
	Payload     json.RawMessage
	CreatedAt   time.Time
	ClockSource string
}

// Events returns every event stored for station, by seq.
func (s *Server) Events(ctx context.Context, station string) ([]StoredEvent, error) {
	rows, err := s.db.reader.QueryContext(ctx, `SELECT seq, event_id, kind, payload, created_at, clock_source FROM events WHERE station_id = ? ORDER BY seq`, station)
	if err != nil {
		return nil, fmt.Errorf("registry: events: %w", err)
	}
	defer rows.Close()
	var out []StoredEvent
	for rows.Next() {
		var e StoredEvent
		var p []byte
		var at string
		if err := rows.Scan(&e.Seq, &e.ID, &e.Kind, &p, &at, &e.ClockSource); err != nil {
			return nil, fmt.Errorf("registry: events: %w", err)
		}
		e.Payload = p
		e.CreatedAt, _ = time.Parse(time.RFC3339Nano, at)
		out = append(out, e)
	}
	return out, rows.Err()
}

// StationInfo is a station as the admin page shows it.
type StationInfo struct {
	ID             string
	Name           string
	Enrolled       bool
	Locked         bool
	LastSeen       time.Time
	ControlSeen    time.Time
	Status         protocol.StationStatus
	Events         int64
	LastSeq        int64
	PendingCommand int64
	// AlarmsLastDay counts the RC-7 drawer alarms (drawer_alarm events)
	// received from the station that happened in the last 24 hours, by the
	// station's time of the alarm.
	AlarmsLastDay int64
	// Policy is the registry's policy for the station (the default when
	// none was set).
	Policy protocol.StationPolicy
	// AuditSeq and AuditHash are the station's highest audit checkpoint;
	// AuditAlarms counts the checkpoints that contradicted it (a chain
	// that went backwards or forked), AuditAlarm describes the latest.
	AuditSeq    int64
	AuditHash   string
	AuditAlarms int64
	AuditAlarm  string
	// HeldForReview counts the station's events stored but not applied.
	HeldForReview int64
	// Revoked: the station's certificate was revoked and it has no new one.
	Revoked bool
	// Update is the station's update group, the version and slot it runs
	// and its last update result (issue 16; rollout.go).
	Update StationUpdate
}

// Stations lists every station with its last reported status.
func (s *Server) Stations(ctx context.Context) ([]StationInfo, error) {
	rows, err := s.db.reader.QueryContext(ctx, `SELECT s.id, s.name, s.cert_serial IS NOT NULL, s.locked, coalesce(s.last_seen, ''), s.status,
		(SELECT count(*) FROM events e WHERE e.station_id = s.id), (SELECT coalesce(max(seq), 0) FROM events e WHERE e.station_id = s.id),
		(SELECT count(*) FROM commands c WHERE c.station_id = s.id AND c.acked_at IS NULL),
		(SELECT count(*) FROM drawer_alarms a WHERE a.station_id = s.id AND a.at >= ?),
		coalesce((SELECT p.typed_attestors FROM station_policies p WHERE p.station_id = s.id), 0)
		FROM stations s ORDER BY s.id`, alarmTime(s.now().Add(-24*time.Hour)))
	if err != nil {
		return nil, fmt.Errorf("registry: stations: %w", err)
	}
	defer rows.Close()
	var out []StationInfo
	for rows.Next() {
		var si StationInfo
		var seen, status string
		if err := rows.Scan(&si.ID, &si.Name, &si.Enrolled, &si.Locked, &seen, &status, &si.Events, &si.LastSeq, &si.PendingCommand, &si.AlarmsLastDay, &si.Policy.TypedAttestors); err != nil {
			return nil, fmt.Errorf("registry: stations: %w", err)
		}
		si.LastSeen, _ = time.Parse(time.RFC3339, seen)
		_ = json.Unmarshal([]byte(status), &si.Status)
		s.liveMu.Lock()
		si.ControlSeen = s.live[si.ID]
		if r, ok := s.recent[si.ID]; ok && r.at.After(si.LastSeen) {
			si.Status, si.LastSeen = r.status, r.at
		}
		s.liveMu.Unlock()
		out = append(out, si)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("registry: stations: %w", err)
	}
	if err := s.fillBoundaries(ctx, out); err != nil {
		return out, err
	}
	return out, s.fillUpdates(ctx, out) // issue 16: staged rollout (rollout.go)
}

// Attestor proofs as stations send them (protocol.IssuancePayload
// AttestorProofs).
const (
	ProofSITHSCard = "siths_card" // their own SITHS card and PIN at the station
	ProofTyped     = "typed"      // typed in by the operator, not verified
)

// Attestor is one attestor of an issuance as the station sent it (AT-1):
// the HSA-ID and how they proved who they are, ProofSITHSCard or
// ProofTyped ("" when the station did not say: not verified either).
type Attestor struct {
	HSAID string
	Proof string
}

// Verified reports whether the attestor proved who they are with their
// own SITHS card.
func (a Attestor) Verified() bool { return a.Proof == ProofSITHSCard }

// Issuance is an issuance awaiting or past central processing (CP-1).
// Attestors and AttestationGround say how the recipient was identified:
// by attestors (ID-6, with the ground) or, when both are empty, by an ID
// document.
type Issuance struct {
	ID, Station, Kind, CardSerial, Reason, ValidUntil, Decision string
	ReceivedAt                                                  time.Time
	AttestationGround                                           string
	Attestors                                                   []Attestor
	// Operator, ReceiptID and, for a pending issuance, the rules its
	// central review found broken (Findings) or that it found none
	// (Reviewed) (console_evidence.go).
	Operator, ReceiptID string
	Findings            []string
	Reviewed            bool
}

// Issuances lists issuances, pending first, each with its attestors.
func (s *Server) Issuances(ctx context.Context) ([]Issuance, error) {
	tx, err := s.db.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("registry: issuances: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	rows, err := tx.QueryContext(ctx, `SELECT id, station_id, kind, card_serial, reason, valid_until, decision, received_at, attestation_ground
		FROM issuances ORDER BY decision != 'pending', received_at DESC LIMIT 500`)
	if err != nil {
		return nil, fmt.Errorf("registry: issuances: %w", err)
	}
	var out []Issuance
	byID := map[string]int{}
	for rows.Next() {
		var i Issuance
		var at string
		if err := rows.Scan(&i.ID, &i.Station, &i.Kind, &i.CardSerial, &i.Reason, &i.ValidUntil, &i.Decision, &at, &i.AttestationGround); err != nil {
			rows.Close()
			return nil, fmt.Errorf("registry: issuances: %w", err)
		}
		i.ReceivedAt, _ = time.Parse(time.RFC3339Nano, at)
		byID[i.ID] = len(out)
		out = append(out, i)
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return nil, fmt.Errorf("registry: issuances: %w", err)
	}
	if len(out) == 0 {
		return out, nil
	}
	// The attestors of the issuances listed, in the station's order.
	arows, err := tx.QueryContext(ctx, `SELECT a.issuance_id, a.hsa_id, a.proof FROM issuance_attestors a
		WHERE a.issuance_id IN (SELECT id FROM issuances ORDER BY decision != 'pending', received_at DESC LIMIT 500)
		ORDER BY a.issuance_id, a.pos`)
	if err != nil {
		return nil, fmt.Errorf("registry: attestors: %w", err)
	}
	defer arows.Close()
	for arows.Next() {
		var id string
		var a Attestor
		if err := arows.Scan(&id, &a.HSAID, &a.Proof); err != nil {
			return nil, fmt.Errorf("registry: attestors: %w", err)
		}
		if n, ok := byID[id]; ok {
			out[n].Attestors = append(out[n].Attestors, a)
		}
	}
	if err := arows.Err(); err != nil {
		return nil, fmt.Errorf("registry: attestors: %w", err)
	}
	return out, nil
}
