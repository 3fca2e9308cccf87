package registry

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/kortstation/kortstation/sync/protocol"
)

func (s *Server) handlePull(w http.ResponseWriter, r *http.Request) {
	var req protocol.PullRequest
	if err := protocol.ReadRequest(r, &req); err != nil {
		protocol.WriteError(w, http.StatusBadRequest, protocol.CodeBadRequest, err.Error())
		return
	}
	if !checkBodyStation(w, r, req.StationID) {
		return
	}
	for k := range req.Cursors {
		if !knownKind(k) {
			protocol.WriteError(w, http.StatusBadRequest, protocol.CodeBadRequest, "unknown reference data kind "+strconv.Quote(k))
			return
		}
	}
	if req.Status != nil {
		if err := s.recordStatus(r.Context(), req.StationID, req.Status); err != nil {
			s.log.Error("record station status", "station", req.StationID, "err", err)
		}
	}
	resp, err := s.Pull(r.Context(), req.StationID, req.Cursors, req.Limit)
	if errors.Is(err, ErrStationLocked) {
		protocol.WriteError(w, http.StatusLocked, protocol.CodeStationLocked, "station is locked: no reference data until it is unlocked")
		return
	}
	if err != nil {
		s.log.Error("pull failed", "station", req.StationID, "err", err)
		protocol.WriteError(w, http.StatusInternalServerError, protocol.CodeInternal, "could not read reference data")
		return
	}
	_ = protocol.WriteJSON(w, http.StatusOK, resp)
}

func knownKind(k string) bool {
	for _, x := range protocol.RefKinds {
		if x == k {
			return true
		}
	}
	return false
}

// statusPersistEvery bounds how often a station's self-reported status is
// written to the database; in between it is kept in memory, so a pull does
// not cost a durable write.
const statusPersistEvery = 30 * time.Second

type seenStatus struct {
	status      protocol.StationStatus
	at          time.Time
	persistedAt time.Time
}

func (s *Server) recordStatus(ctx context.Context, station string, st *protocol.StationStatus) error {
	now := s.now()
	s.liveMu.Lock()
	prev := s.recent[station]
	persist := now.Sub(prev.persistedAt) >= statusPersistEvery || now.Before(prev.persistedAt)
	cur := seenStatus{status: *st, at: now, persistedAt: prev.persistedAt}
	if persist {
		cur.persistedAt = now
	}
	s.recent[station] = cur
	s.liveMu.Unlock()
	// Issue 16: the slot and update state, latest wins (rollout.go); a
	// station off the A/B image (no slot, no update state) costs no write.
	if (prev.at.IsZero() && (st.Slot != "" || st.Update != nil)) || (!prev.at.IsZero() && updateStatusChanged(prev.status, *st)) {
		if err := s.recordUpdateStatus(ctx, station, *st); err != nil {
			return err
		}
	}
	if !persist {
		return nil
	}
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return s.db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE stations SET status = ?, last_seen = ? WHERE id = ?`,
			string(b), now.UTC().Format(time.RFC3339), station)
		return err
	})
}

// A cursor is "<epoch>.<rev>", or "<epoch>.<rev>.s" in the middle of a
// scan that started from nothing (a full resync: the station holds no rows
// that a purged tombstone could have deleted, so the horizon does not
// apply). Stations treat cursors as opaque.
func (s *Server) makeCursor(epoch string, rev int64, scan bool) string {
	c := epoch + "." + strconv.FormatInt(rev, 36)
	if scan {
		c += ".s"
	}
	return c
}

func parseCursor(c, epoch string) (rev int64, scan, ok bool) {
	parts := strings.Split(c, ".")
	if len(parts) < 2 || len(parts) > 3 || parts[0] != epoch || (len(parts) == 3 && parts[2] != "s") {
		return 0, false, false
	}
	n, err := strconv.ParseInt(parts[1], 36, 64)
	return n, len(parts) == 3, err == nil && n >= 0
}

// Pull answers one page for each kind in cursors, all read in one
// snapshot of the database, so only committed changes are exposed and a
// page never mixes two states. A locked station gets ErrStationLocked and
// nothing else; person facts are those of the station's own people.
func (s *Server) Pull(ctx context.Context, station string, cursors map[string]string, limit int) (protocol.PullResponse, error) {
	if limit <= 0 || limit > s.cfg.PageLimit {
		limit = s.cfg.PageLimit
	}
	resp := protocol.PullResponse{ServerTime: s.now().UTC(), Pages: make(map[string]protocol.Page, len(cursors))}
	tx, err := s.db.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return resp, fmt.Errorf("begin read: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	var rev, horizon int64
	var epoch string
	if err := tx.QueryRowContext(ctx, `SELECT (SELECT value FROM counters WHERE name = 'rev'), (SELECT value FROM counters WHERE name = 'horizon'), (SELECT value FROM meta WHERE key = 'epoch')`).Scan(&rev, &horizon, &epoch); err != nil {
		return resp, fmt.Errorf("read rev: %w", err)
	}
	if station != "" {
		if locked, err := stationLocked(ctx, tx, station); err != nil {
			return resp, fmt.Errorf("read lock: %w", err)
		} else if locked {
			return protocol.PullResponse{}, ErrStationLocked
		}
	}
	for kind, cur := range cursors {
		var page protocol.Page
		if protocol.IsSnapshotKind(kind) {
			snap, err := s.snapshot(ctx, tx, station, kind, rev)
			if err != nil {
				return resp, err
			}
			if cur == snap.ContentHash {
				page = protocol.Page{Mode: protocol.ModeUnchanged, Cursor: cur, ContentHash: cur}
			} else {
				page = snap
			}
		} else {
			from, scan := int64(0), true
			if cur != "" {
				n, sc, ok := parseCursor(cur, epoch)
				if !ok || (n < horizon && !sc) || n > rev {
					resp.Pages[kind] = protocol.Page{Mode: protocol.ModeTooOld}
					continue
				}
				from, scan = n, sc
			}
			page, err = s.delta(ctx, tx, station, kind, from, rev, limit, epoch, scan)
			if err != nil {
				return resp, err
			}
		}
		resp.Pages[kind] = page
	}
	return resp, nil
}

// snapshot is the page of a snapshot kind at rev, cached until rev moves.
// Most kinds are the same for every station; station_policy is the
// station's own, cached per station.
func (s *Server) snapshot(ctx context.Context, tx *sql.Tx, station, kind string, rev int64) (protocol.Page, error) {
	s.snapMu.Lock()
	defer s.snapMu.Unlock()
	if s.snapCache == nil || s.snapRev != rev {
		s.snapCache, s.snapRev = map[string]protocol.Page{}, rev
	}
	key := kind
	if kind == protocol.RefStationPolicy || kind == protocol.RefOperators || kind == protocol.RefAdminRequests {
		key = kind + "/" + station
	}
	if p, ok := s.snapCache[key]; ok {
		return p, nil
	}
	var items any
	var err error
	switch kind {
	case protocol.RefOperators:
		items, err = operatorsAt(ctx, tx, station) // AD-1: the station's own (admins.go)
	case protocol.RefAdminRequests:
		items, err = adminRequestsAt(ctx, tx, station) // AD-2 (admins.go)
	case protocol.RefBlockedCards:
		items, err = collect(ctx, tx, `SELECT serial, reason, blocked_at FROM blocked_cards ORDER BY serial`, func(r *sql.Rows) (protocol.BlockedCard, error) {
			var b protocol.BlockedCard
			var at string
			if err := r.Scan(&b.Serial, &b.Reason, &at); err != nil {
				return b, err
			}
			b.BlockedAt, _ = time.Parse(time.RFC3339Nano, at)
			return b, nil
		})
	case protocol.RefStopWindows:
		items, err = collect(ctx, tx, `SELECT id, kind, starts, ends, note FROM stop_windows ORDER BY starts, id`, func(r *sql.Rows) (protocol.StopWindow, error) {
			var w protocol.StopWindow
			var st, en string
			if err := r.Scan(&w.ID, &w.Kind, &st, &en, &w.Note); err != nil {
				return w, err
			}
			w.Starts, _ = time.Parse(time.RFC3339, st)
			w.Ends, _ = time.Parse(time.RFC3339, en)
			return w, nil
		})
	case protocol.RefValidity:
		items, err = collect(ctx, tx, `SELECT reason, max_days FROM validity ORDER BY reason`, func(r *sql.Rows) (protocol.Validity, error) {
			var v protocol.Validity
			return v, r.Scan(&v.Reason, &v.MaxDays)
		})
	case protocol.RefTrustIntermediates:
		items, err = collect(ctx, tx, `SELECT der FROM trust_intermediates ORDER BY fingerprint`, func(r *sql.Rows) (protocol.TrustIntermediate, error) {
			var c protocol.TrustIntermediate
			return c, r.Scan(&c.DER)
		})
	case protocol.RefCRLs:
		items, err = collect(ctx, tx, `SELECT der FROM crls ORDER BY issuer_key`, func(r *sql.Rows) (protocol.CRL, error) {
			var c protocol.CRL
			return c, r.Scan(&c.DER)
		})
	case protocol.RefStationPolicy:
		// Exactly one item: the station's policy, or the fail-closed
		// default when none was set.
		var p protocol.StationPolicy
		err = tx.QueryRowContext(ctx, `SELECT coalesce((SELECT typed_attestors FROM station_policies WHERE station_id = ?), 0)`, station).Scan(&p.TypedAttestors)
		items = []protocol.StationPolicy{p}
	default:
		return protocol.Page{}, fmt.Errorf("snapshot of %s: not a snapshot kind", kind)
	}
	if err != nil {
		return protocol.Page{}, fmt.Errorf("snapshot of %s: %w", kind, err)
	}
	b, err := json.Marshal(items)
	if err != nil {
		return protocol.Page{}, fmt.Errorf("snapshot of %s: %w", kind, err)
	}
	sum := sha256.Sum256(b)
	h := hex.EncodeToString(sum[:])
	p := protocol.Page{Mode: protocol.ModeSnapshot, Items: b, Cursor: h, ContentHash: h}
	s.snapCache[key] = p
	return p, nil
}

func collect[T any](ctx context.Context, tx *sql.Tx, q string, scan func(*sql.Rows) (T, error), args ...any) ([]T, error) {
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func (s *Server) delta(ctx context.Context, tx *sql.Tx, station, kind string, from, rev int64, limit int, epoch string, scan bool) (protocol.Page, error) {
	var items any
	var last []int64
	var err error
	switch kind {
	case protocol.RefPersonFacts:
		items, err = collect(ctx, tx, personFactsForStation,
			func(r *sql.Rows) (protocol.PersonFacts, error) {
				var p protocol.PersonFacts
				var facts string
				var rv int64
				if err := r.Scan(&p.PersonalNumber, &facts, &p.Deleted, &rv); err != nil {
					return p, err
				}
				if !p.Deleted {
					p.Facts = json.RawMessage(facts)
				}
				last = append(last, rv)
				return p, nil
			}, from, station, limit+1)
	case protocol.RefShipments:
		items, err = collect(ctx, tx, `SELECT serial, card_type, shipment_ref, shipped_at, deleted, rev FROM shipments WHERE station_id = ? AND rev > ? ORDER BY rev LIMIT ?`,
			func(r *sql.Rows) (protocol.Shipment, error) {
				var sh protocol.Shipment
				var at string
				var rv int64
				if err := r.Scan(&sh.Serial, &sh.CardType, &sh.ShipmentRef, &at, &sh.Deleted, &rv); err != nil {
					return sh, err
				}
				sh.ShippedAt, _ = time.Parse(time.RFC3339Nano, at)
				last = append(last, rv)
				return sh, nil
			}, station, from, limit+1)
	case protocol.RefCardStatus:
		items, err = collect(ctx, tx, `SELECT serial, state, receipt_received, updated_at, deleted, rev FROM card_status WHERE station_id = ? AND rev > ? ORDER BY rev LIMIT ?`,
			func(r *sql.Rows) (protocol.CardStatus, error) {
				var c protocol.CardStatus
				var at string
				var rv int64
				if err := r.Scan(&c.Serial, &c.State, &c.ReceiptReceived, &at, &c.Deleted, &rv); err != nil {
					return c, err
				}
				c.UpdatedAt, _ = time.Parse(time.RFC3339Nano, at)
				last = append(last, rv)
				return c, nil
			}, station, from, limit+1)
	default:
		return protocol.Page{}, fmt.Errorf("delta of %s: not a delta kind", kind)
	}
	if err != nil {
		return protocol.Page{}, fmt.Errorf("delta of %s: %w", kind, err)
	}
	page := protocol.Page{Mode: protocol.ModeDelta, Cursor: s.makeCursor(epoch, rev, false)}
	if len(last) > limit {
		page.More = true
		page.Cursor = s.makeCursor(epoch, last[limit-1], scan)
		switch v := items.(type) {
		case []protocol.PersonFacts:
			items = v[:limit]
		case []protocol.Shipment:
			items = v[:limit]
		case []protocol.CardStatus:
			items = v[:limit]
		}
	}
	if len(last) > 0 {
		if page.Items, err = json.Marshal(items); err != nil {
			return protocol.Page{}, fmt.Errorf("delta of %s: %w", kind, err)
		}
	}
	return page, nil
}
