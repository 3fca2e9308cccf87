package counter

import (
	"context"
	"errors"
	"time"

	"github.com/kortstation/kortstation/kiosk/store"
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

func (m *Counter) stationStatus(ctx context.Context) (StationStatus, error) {
	now := m.clock.Now()
	s := StationStatus{Now: now, Stock: map[string]map[string]int{}, Registry: RegistryStatus{Kinds: map[string]time.Time{}}}
	states, err := m.st.RefStates(ctx)
	if err != nil {
		return s, err
	}
	for k, st := range states {
		t := st.CompleteAt
		if t.IsZero() {
			t = st.UpdatedAt
		}
		s.Registry.Kinds[k] = t
		if t.After(s.Registry.LastSync) {
			s.Registry.LastSync = t
		}
	}
	s.Registry.Reachable = !s.Registry.LastSync.IsZero() && now.Sub(s.Registry.LastSync) < reachableWithin
	if s.Outbox.Queued, err = m.st.OutboxDepth(ctx); err != nil {
		return s, err
	}
	oldest, err := m.st.OldestPending(ctx)
	switch {
	case err == nil:
		s.Outbox.Oldest = oldest
	case !errors.Is(err, store.ErrNotFound):
		return s, err
	}
	counts, err := m.st.CardCounts(ctx)
	if err != nil {
		return s, err
	}
	for t, byState := range counts {
		s.Stock[string(t)] = map[string]int{}
		for st, n := range byState {
			s.Stock[string(t)][string(st)] = n
		}
	}
	return s, nil
}
