package flow

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/kortstation/kortstation/kiosk/outbox"
)

// StationStatus is the operator's view of the station (issue: station
// status): the registry, the queue, the devices and the stock.
type StationStatus struct {
	Registry RegistryStatus            `json:"registry"`
	Outbox   OutboxStatus              `json:"outbox"`
	Stock    map[string]map[string]int `json:"stock"` // type → state → count
	Now      time.Time                 `json:"now"`
}

// RegistryStatus says how fresh the registry's data is. Reachable is
// judged from the last completed pull: the station has no other way to
// know.
type RegistryStatus struct {
	LastSync  time.Time            `json:"last_sync,omitzero"`
	Reachable bool                 `json:"reachable"`
	Kinds     map[string]time.Time `json:"kinds"`
}

// OutboxStatus is what waits to be sent.
type OutboxStatus struct {
	Queued int64     `json:"queued"`
	Oldest time.Time `json:"oldest,omitzero"`
}

// reachableWithin: a pull completed this recently means the registry
// answers.
const reachableWithin = 15 * time.Minute

func (m *Manager) stationStatus(ctx context.Context) (StationStatus, error) {
	db := m.st.Reader()
	now := m.clock.Now()
	s := StationStatus{Now: now, Stock: map[string]map[string]int{}, Registry: RegistryStatus{Kinds: map[string]time.Time{}}}
	rows, err := db.QueryContext(ctx, `SELECT kind, coalesce(complete_at, updated_at) FROM ref_cursors`)
	if err != nil {
		return s, fmt.Errorf("read sync state: %w", err)
	}
	for rows.Next() {
		var k, at string
		if err := rows.Scan(&k, &at); err != nil {
			rows.Close()
			return s, fmt.Errorf("read sync state: %w", err)
		}
		t, _ := time.Parse(time.RFC3339Nano, at)
		s.Registry.Kinds[k] = t
		if t.After(s.Registry.LastSync) {
			s.Registry.LastSync = t
		}
	}
	rows.Close()
	s.Registry.Reachable = !s.Registry.LastSync.IsZero() && now.Sub(s.Registry.LastSync) < reachableWithin
	if s.Outbox.Queued, err = outbox.Depth(ctx, db); err != nil {
		return s, err
	}
	var oldest sql.NullString
	if err := db.QueryRowContext(ctx, `SELECT min(created_at) FROM outbox WHERE acked_at IS NULL`).Scan(&oldest); err != nil {
		return s, fmt.Errorf("read outbox: %w", err)
	}
	if oldest.Valid {
		s.Outbox.Oldest, _ = time.Parse(time.RFC3339Nano, oldest.String)
	}
	rows, err = db.QueryContext(ctx, `SELECT type, state, count(*) FROM cards GROUP BY type, state`)
	if err != nil {
		return s, fmt.Errorf("read stock: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var t, st string
		var n int
		if err := rows.Scan(&t, &st, &n); err != nil {
			return s, fmt.Errorf("read stock: %w", err)
		}
		if s.Stock[t] == nil {
			s.Stock[t] = map[string]int{}
		}
		s.Stock[t][st] = n
	}
	return s, rows.Err()
}
