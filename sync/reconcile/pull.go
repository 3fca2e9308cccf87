package reconcile

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/kortstation/kortstation/sync/protocol"
)

// maxRounds bounds the pages of one pull.
const maxRounds = 20000

type cursorState struct {
	cursor    string
	resyncing bool
}

// Pull brings every kind of reference data up to date. Each answer is
// checked completely (snapshot hashes, known modes) before anything of it
// is applied; then its pages and cursors are applied in one transaction.
// A "cursor too old" answer restarts that kind from the beginning.
func (c *Client) Pull(ctx context.Context) error {
	cursors, err := c.readCursors(ctx)
	if err != nil {
		return err
	}
	want := make(map[string]string, len(protocol.RefKinds))
	for _, k := range protocol.RefKinds {
		want[k] = cursors[k].cursor
	}
	status := c.stationStatus(ctx)
	for round := 0; len(want) > 0; round++ {
		if round >= maxRounds {
			return fmt.Errorf("reconcile: pull did not finish after %d pages", maxRounds)
		}
		req := protocol.PullRequest{StationID: c.cfg.Identity.StationID, Cursors: want, Limit: c.cfg.PageLimit, Status: status}
		status = nil
		var resp protocol.PullResponse
		if err := protocol.Post(ctx, c.hc, c.cfg.Identity.URL+protocol.PathPull, req, &resp); err != nil {
			return fmt.Errorf("reconcile: pull: %w", err)
		}
		if err := checkPull(want, resp); err != nil {
			return fmt.Errorf("reconcile: pull: %w: %w", protocol.ErrBadResponse, err)
		}
		next := map[string]string{}
		now := c.clk.Now().UTC().Format(time.RFC3339Nano)
		err := c.st.Write(ctx, func(tx *sql.Tx) error {
			for kind, sent := range want {
				p := resp.Pages[kind]
				if p.Mode == protocol.ModeTooOld {
					c.log.Warn("registry says cursor too old; full resync", "kind", kind)
					if err := putCursor(ctx, tx, kind, "", "", now, true, false); err != nil {
						return err
					}
					next[kind] = ""
					continue
				}
				if err := applyPage(ctx, tx, kind, sent == "", p, now); err != nil {
					return fmt.Errorf("apply %s: %w", kind, err)
				}
				fullResync := sent == "" && !protocol.IsSnapshotKind(kind)
				resyncing := p.More && (fullResync || cursors[kind].resyncing)
				if err := putCursor(ctx, tx, kind, p.Cursor, p.ContentHash, now, resyncing, !p.More); err != nil {
					return err
				}
				if !p.More {
					continue
				}
				if resyncing {
					cursors[kind] = cursorState{cursor: p.Cursor, resyncing: true}
				}
				next[kind] = p.Cursor
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("reconcile: pull: %w", err)
		}
		want = next
	}
	return nil
}

func (c *Client) readCursors(ctx context.Context) (map[string]cursorState, error) {
	rows, err := c.st.Reader().QueryContext(ctx, `SELECT kind, cursor, resyncing FROM ref_cursors`)
	if err != nil {
		return nil, fmt.Errorf("reconcile: read cursors: %w", err)
	}
	defer rows.Close()
	out := map[string]cursorState{}
	for rows.Next() {
		var k string
		var s cursorState
		if err := rows.Scan(&k, &s.cursor, &s.resyncing); err != nil {
			return nil, fmt.Errorf("reconcile: read cursors: %w", err)
		}
		out[k] = s
	}
	return out, rows.Err()
}

// checkPull verifies an answer before any of it is applied.
func checkPull(want map[string]string, resp protocol.PullResponse) error {
	for kind := range want {
		p, ok := resp.Pages[kind]
		if !ok {
			return fmt.Errorf("no page for %s", kind)
		}
		snap := protocol.IsSnapshotKind(kind)
		switch {
		case snap && p.Mode == protocol.ModeUnchanged:
			if p.ContentHash == "" || p.ContentHash != want[kind] {
				return fmt.Errorf("%s: unchanged answer with another hash", kind)
			}
		case snap && p.Mode == protocol.ModeSnapshot:
			sum := sha256.Sum256(p.Items)
			if hex.EncodeToString(sum[:]) != p.ContentHash || p.Cursor != p.ContentHash || p.More {
				return fmt.Errorf("%s: snapshot does not match its content hash", kind)
			}
		case !snap && p.Mode == protocol.ModeDelta:
			if p.Cursor == "" {
				return fmt.Errorf("%s: delta without a cursor", kind)
			}
		case !snap && p.Mode == protocol.ModeTooOld:
		default:
			return fmt.Errorf("%s: unexpected mode %q", kind, p.Mode)
		}
	}
	return nil
}

func putCursor(ctx context.Context, tx *sql.Tx, kind, cursor, hash, now string, resyncing, complete bool) error {
	var h any
	if hash != "" {
		h = hash
	}
	var completeAt any
	if complete {
		completeAt = now
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO ref_cursors (kind, cursor, content_hash, updated_at, complete_at, resyncing) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (kind) DO UPDATE SET cursor = excluded.cursor, content_hash = excluded.content_hash, updated_at = excluded.updated_at,
		  complete_at = coalesce(excluded.complete_at, complete_at), resyncing = excluded.resyncing`,
		kind, cursor, h, now, completeAt, resyncing)
	if err != nil {
		return fmt.Errorf("store cursor of %s: %w", kind, err)
	}
	return nil
}

var errBadItems = errors.New("items do not decode")

// applyPage applies one page inside tx. full means the page starts a full
// resync of a delta kind: the kind's rows are replaced.
func applyPage(ctx context.Context, tx *sql.Tx, kind string, full bool, p protocol.Page, now string) error {
	if p.Mode == protocol.ModeUnchanged {
		return nil
	}
	exec := func(q string, args ...any) error {
		_, err := tx.ExecContext(ctx, q, args...)
		return err
	}
	decode := func(v any) error {
		if len(p.Items) == 0 {
			return nil
		}
		if err := json.Unmarshal(p.Items, v); err != nil {
			return fmt.Errorf("%w: %w", errBadItems, err)
		}
		return nil
	}
	switch kind {
	case protocol.RefOperators:
		var items []protocol.Operator
		if err := decode(&items); err != nil {
			return err
		}
		// Never delete an administrator (sessions refer to them): one
		// missing from the snapshot is no longer authorised.
		if err := exec(`UPDATE operators SET authorised = 0, updated_at = ? WHERE authorised = 1`, now); err != nil {
			return err
		}
		for _, o := range items {
			if err := exec(`INSERT INTO operators (hsa_id, name, authorised, updated_at) VALUES (?, ?, ?, ?)
				ON CONFLICT (hsa_id) DO UPDATE SET name = excluded.name, authorised = excluded.authorised, updated_at = excluded.updated_at`,
				o.HSAID, o.Name, o.Authorised, now); err != nil {
				return err
			}
		}
	case protocol.RefBlockedCards:
		var items []protocol.BlockedCard
		if err := decode(&items); err != nil {
			return err
		}
		if err := exec(`DELETE FROM ref_blocked_cards`); err != nil {
			return err
		}
		for _, b := range items {
			if err := exec(`INSERT INTO ref_blocked_cards (serial, reason, blocked_at) VALUES (?, ?, ?)`, b.Serial, b.Reason, b.BlockedAt.UTC().Format(time.RFC3339Nano)); err != nil {
				return err
			}
		}
	case protocol.RefStopWindows:
		var items []protocol.StopWindow
		if err := decode(&items); err != nil {
			return err
		}
		if err := exec(`DELETE FROM ref_stop_windows`); err != nil {
			return err
		}
		for _, w := range items {
			if err := exec(`INSERT INTO ref_stop_windows (id, kind, starts, ends, note) VALUES (?, ?, ?, ?, ?)`,
				w.ID, w.Kind, w.Starts.UTC().Format(time.RFC3339), w.Ends.UTC().Format(time.RFC3339), w.Note); err != nil {
				return err
			}
		}
	case protocol.RefValidity:
		var items []protocol.Validity
		if err := decode(&items); err != nil {
			return err
		}
		if err := exec(`DELETE FROM ref_validity`); err != nil {
			return err
		}
		for _, v := range items {
			if err := exec(`INSERT INTO ref_validity (reason, max_days) VALUES (?, ?)`, v.Reason, v.MaxDays); err != nil {
				return err
			}
		}
	case protocol.RefPersonFacts:
		var items []protocol.PersonFacts
		if err := decode(&items); err != nil {
			return err
		}
		if full {
			if err := exec(`DELETE FROM ref_person_facts`); err != nil {
				return err
			}
		}
		for _, f := range items {
			var err error
			if f.Deleted {
				err = exec(`DELETE FROM ref_person_facts WHERE personal_number = ?`, f.PersonalNumber)
			} else {
				err = exec(`INSERT INTO ref_person_facts (personal_number, facts, updated_at) VALUES (?, ?, ?)
					ON CONFLICT (personal_number) DO UPDATE SET facts = excluded.facts, updated_at = excluded.updated_at`, f.PersonalNumber, string(f.Facts), now)
			}
			if err != nil {
				return err
			}
		}
	case protocol.RefShipments:
		var items []protocol.Shipment
		if err := decode(&items); err != nil {
			return err
		}
		if full {
			if err := exec(`DELETE FROM ref_shipments`); err != nil {
				return err
			}
		}
		for _, s := range items {
			var err error
			if s.Deleted {
				err = exec(`DELETE FROM ref_shipments WHERE serial = ?`, s.Serial)
			} else {
				err = exec(`INSERT INTO ref_shipments (serial, card_type, shipment_ref, shipped_at) VALUES (?, ?, ?, ?)
					ON CONFLICT (serial) DO UPDATE SET card_type = excluded.card_type, shipment_ref = excluded.shipment_ref, shipped_at = excluded.shipped_at`,
					s.Serial, s.CardType, s.ShipmentRef, s.ShippedAt.UTC().Format(time.RFC3339Nano))
			}
			if err != nil {
				return err
			}
		}
	case protocol.RefCardStatus:
		var items []protocol.CardStatus
		if err := decode(&items); err != nil {
			return err
		}
		if full {
			if err := exec(`DELETE FROM ref_card_status`); err != nil {
				return err
			}
		}
		for _, s := range items {
			var err error
			if s.Deleted {
				err = exec(`DELETE FROM ref_card_status WHERE serial = ?`, s.Serial)
			} else {
				err = exec(`INSERT INTO ref_card_status (serial, state, receipt_received, updated_at) VALUES (?, ?, ?, ?)
					ON CONFLICT (serial) DO UPDATE SET state = excluded.state, receipt_received = excluded.receipt_received, updated_at = excluded.updated_at`,
					s.Serial, s.State, s.ReceiptReceived, s.UpdatedAt.UTC().Format(time.RFC3339Nano))
			}
			if err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("unknown kind %q", kind)
	}
	return nil
}
