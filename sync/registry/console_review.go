package registry

// Central review at the console (issue 12, item 5): an event a station
// pushed that it may not do (another station's card, an operator not
// authorised) was stored but not applied (boundaries.go). A case officer
// decides on it: apply it after all, or reject it; both need a reason,
// both are audited with the decision in its transaction, and an item is
// decided once.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/kortstation/kortstation/sync/protocol"
)

// ErrDecided: the review item was decided before.
var ErrDecided = errors.New("already decided")

// ResolveReview decides the review item id: apply projects the held event
// as if the station had been allowed to send it; otherwise it stays
// stored and unapplied. actor is the case officer (HSA-ID), reason why.
func (s *Server) ResolveReview(ctx context.Context, id int64, apply bool, actor, reason string) error {
	if strings.TrimSpace(reason) == "" {
		return fmt.Errorf("registry: review item %d: %w: a reason is required", id, ErrInvalid)
	}
	now := s.now().UTC().Format(time.RFC3339Nano)
	decision := "rejected"
	if apply {
		decision = "applied"
	}
	return s.db.write(ctx, func(tx *sql.Tx) error {
		var station string
		var seq int64
		var decided bool
		err := tx.QueryRowContext(ctx, `SELECT r.station_id, r.seq, EXISTS (SELECT 1 FROM review_decisions d WHERE d.item_id = r.id)
			FROM review_items r WHERE r.id = ?`, id).Scan(&station, &seq, &decided)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("registry: review item %d: %w", id, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("registry: review item %d: %w", id, err)
		}
		if decided {
			return fmt.Errorf("registry: review item %d: %w: %w", id, ErrInvalid, ErrDecided)
		}
		if apply {
			var ev protocol.Event
			var payload []byte
			var created string
			err := tx.QueryRowContext(ctx, `SELECT seq, event_id, kind, payload, created_at, clock_source FROM events WHERE station_id = ? AND seq = ?`,
				station, seq).Scan(&ev.Seq, &ev.ID, &ev.Kind, &payload, &created, &ev.ClockSource)
			if err != nil {
				return fmt.Errorf("registry: review item %d: the held event: %w", id, err)
			}
			ev.Payload = payload
			ev.CreatedAt, _ = time.Parse(time.RFC3339Nano, created)
			p, err := protocol.DecodePayload(ev.Kind, ev.Payload)
			if err != nil {
				return fmt.Errorf("registry: review item %d: the held event: %w", id, err)
			}
			if err := s.apply(ctx, tx, station, ev, p, now); err != nil {
				return fmt.Errorf("registry: review item %d: apply: %w", id, err)
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO review_decisions (item_id, decision, reason, actor, decided_at) VALUES (?, ?, ?, ?, ?)`,
			id, decision, reason, actor, now); err != nil {
			return fmt.Errorf("registry: review item %d: %w", id, err)
		}
		s.log.Info("review item decided", "item", id, "station", station, "seq", seq, "decision", decision)
		return nil
	})
}

// reviewAction is the console's form for a review decision (case
// officers; the reason is required).
func (c *Console) reviewAction() action {
	return action{path: "/admin/review", kind: "review.decide", role: RoleCaseOfficer, subject: "id",
		reason: func(*http.Request) bool { return true },
		do: func(r *http.Request) (string, error) {
			id, err := strconv.ParseInt(r.FormValue("id"), 10, 64)
			if err != nil {
				return "", fmt.Errorf("%w: review item id", ErrInvalid)
			}
			d := r.FormValue("decision")
			if d != "apply" && d != "reject" {
				return "", fmt.Errorf("%w: decision must be apply or reject", ErrInvalid)
			}
			out := map[string]string{"apply": "applied", "reject": "rejected"}[d]
			return out, c.s.ResolveReview(r.Context(), id, d == "apply", principalFrom(r.Context()).actor, r.FormValue("reason"))
		}}
}
