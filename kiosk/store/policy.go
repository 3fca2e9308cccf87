package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/kortstation/kortstation/kiosk/audit"
	"github.com/kortstation/kortstation/sync/protocol"
)

// This file holds the registry's policy for this station (reference data
// kind station_policy) and its one reader, StationPolicy.

// Policy is the registry's policy for this station. The zero value is the
// fail-closed default, in force until the registry has sent one.
type Policy struct {
	// TypedAttestors allows attestors typed in by the operator, not
	// proven by their own SITHS card (marked unverified on the receipt and
	// at the registry); off, every attestor identifies with their own
	// card and PIN (AT-1).
	TypedAttestors bool
}

// ErrBadPolicy: a station_policy snapshot holds more than one policy; the
// page is not applied.
var ErrBadPolicy = errors.New("station policy snapshot holds more than one policy")

// StationPolicy is the registry's policy for this station; the fail-closed
// default (nothing allowed) when the registry has sent none.
func (s *Store) StationPolicy(ctx context.Context) (Policy, error) {
	return stationPolicy(ctx, s.reader)
}

func stationPolicy(ctx context.Context, q querier) (Policy, error) {
	var p Policy
	err := q.QueryRowContext(ctx, `SELECT typed_attestors FROM ref_station_policy WHERE id = 1`).Scan(&p.TypedAttestors)
	if errors.Is(err, sql.ErrNoRows) {
		return Policy{}, nil
	}
	if err != nil {
		return Policy{}, fmt.Errorf("read station policy: %w", err)
	}
	return p, nil
}

// RecordStationPolicy applies a snapshot of the registry's policy for this
// station: one item, or none (the fail-closed default). A change of what
// is allowed is audited (actor "registry").
func (t *Tx) RecordStationPolicy(ctx context.Context, items []protocol.StationPolicy, now time.Time) error {
	if len(items) > 1 {
		return fmt.Errorf("%w: %d items", ErrBadPolicy, len(items))
	}
	before, err := stationPolicy(ctx, t.tx)
	if err != nil {
		return err
	}
	var after Policy
	if len(items) == 0 {
		if _, err := t.tx.ExecContext(ctx, `DELETE FROM ref_station_policy`); err != nil {
			return fmt.Errorf("clear station policy: %w", err)
		}
	} else {
		after.TypedAttestors = items[0].TypedAttestors
		if _, err := t.tx.ExecContext(ctx, `INSERT INTO ref_station_policy (id, typed_attestors, updated_at) VALUES (1, ?, ?)
			ON CONFLICT (id) DO UPDATE SET typed_attestors = excluded.typed_attestors, updated_at = excluded.updated_at`,
			after.TypedAttestors, ts(now)); err != nil {
			return fmt.Errorf("put station policy: %w", err)
		}
	}
	if after == before {
		return nil
	}
	if _, err := t.Audit(ctx, audit.Entry{Kind: "station.policy", Actor: "registry",
		Detail: map[string]any{"typed_attestors": after.TypedAttestors}}); err != nil {
		return fmt.Errorf("audit station policy: %w", err)
	}
	return nil
}
