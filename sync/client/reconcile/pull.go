package reconcile

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/kortstation/kortstation/kiosk/store"
	"github.com/kortstation/kortstation/sync/protocol"
)

// ErrStationLocked: the registry refuses reference data to this station
// while a central admin has it locked (protocol.CodeStationLocked). The
// station keeps the data it has; the lock arrives over the control poll.
var ErrStationLocked = errors.New("the registry has locked this station")

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
			var pe *protocol.Error
			if errors.As(err, &pe) && pe.Code == protocol.CodeStationLocked {
				return fmt.Errorf("reconcile: pull: %w: %w", ErrStationLocked, err)
			}
			return fmt.Errorf("reconcile: pull: %w", err)
		}
		if err := checkPull(want, resp); err != nil {
			return fmt.Errorf("reconcile: pull: %w: %w", protocol.ErrBadResponse, err)
		}
		next := map[string]string{}
		now := c.clk.Now()
		err := c.st.Update(ctx, c.clk, func(t *store.Tx) error {
			for kind, sent := range want {
				p := resp.Pages[kind]
				if p.Mode == protocol.ModeTooOld {
					c.log.Warn("registry says cursor too old; full resync", "kind", kind)
					if err := t.PutCursor(ctx, kind, "", "", now, true, false); err != nil {
						return err
					}
					next[kind] = ""
					continue
				}
				if err := applyPage(ctx, t, kind, sent == "", p, now); err != nil {
					return fmt.Errorf("apply %s: %w", kind, err)
				}
				fullResync := sent == "" && !protocol.IsSnapshotKind(kind)
				resyncing := p.More && (fullResync || cursors[kind].resyncing)
				if err := t.PutCursor(ctx, kind, p.Cursor, p.ContentHash, now, resyncing, !p.More); err != nil {
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
	states, err := c.st.RefStates(ctx)
	if err != nil {
		return nil, fmt.Errorf("reconcile: read cursors: %w", err)
	}
	out := make(map[string]cursorState, len(states))
	for k, s := range states {
		out[k] = cursorState{cursor: s.Cursor, resyncing: s.Resyncing}
	}
	return out, nil
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

var errBadItems = errors.New("items do not decode")

// applyPage applies one page inside t. full means the page starts a full
// resync of a delta kind: the kind's rows are replaced.
func applyPage(ctx context.Context, t *store.Tx, kind string, full bool, p protocol.Page, now time.Time) error {
	if p.Mode == protocol.ModeUnchanged {
		return nil
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
		return t.ReplaceOperators(ctx, items, now)
	case protocol.RefBlockedCards:
		var items []protocol.BlockedCard
		if err := decode(&items); err != nil {
			return err
		}
		return t.ReplaceBlockedCards(ctx, items)
	case protocol.RefStopWindows:
		var items []protocol.StopWindow
		if err := decode(&items); err != nil {
			return err
		}
		return t.ReplaceStopWindows(ctx, items)
	case protocol.RefValidity:
		var items []protocol.Validity
		if err := decode(&items); err != nil {
			return err
		}
		return t.ReplaceValidity(ctx, items)
	case protocol.RefTrustIntermediates:
		var items []protocol.TrustIntermediate
		if err := decode(&items); err != nil {
			return err
		}
		return t.ReplaceTrustIntermediates(ctx, items)
	case protocol.RefCRLs:
		var items []protocol.CRL
		if err := decode(&items); err != nil {
			return err
		}
		return t.ReplaceCRLs(ctx, items)
	case protocol.RefStationPolicy:
		var items []protocol.StationPolicy
		if err := decode(&items); err != nil {
			return err
		}
		return t.RecordStationPolicy(ctx, items, now)
	case protocol.RefAdminRequests:
		var items []protocol.AdminRequest
		if err := decode(&items); err != nil {
			return err
		}
		return t.ReplaceAdminRequests(ctx, items, now)
	case protocol.RefPersonFacts:
		var items []protocol.PersonFacts
		if err := decode(&items); err != nil {
			return err
		}
		return t.PutPersonFacts(ctx, full, items, now)
	case protocol.RefShipments:
		var items []protocol.Shipment
		if err := decode(&items); err != nil {
			return err
		}
		return t.PutShipments(ctx, full, items)
	case protocol.RefCardStatus:
		var items []protocol.CardStatus
		if err := decode(&items); err != nil {
			return err
		}
		return t.PutCardStatuses(ctx, full, items)
	}
	return fmt.Errorf("unknown kind %q", kind)
}
