package refdata_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/kortstation/kortstation/kiosk/store"
	"github.com/kortstation/kortstation/sync/client/refdata"
	"github.com/kortstation/kortstation/sync/protocol"
)

func TestFresh(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "s.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	put := func(kind string, completeAt *time.Time, resyncing bool) {
		t.Helper()
		err := st.Write(ctx, func(tx *sql.Tx) error {
			var at any
			if completeAt != nil {
				at = completeAt.Format(time.RFC3339Nano)
			}
			_, err := tx.Exec(`INSERT OR REPLACE INTO ref_cursors (kind, cursor, updated_at, complete_at, resyncing) VALUES (?, 'c', ?, ?, ?)`, kind, now.Format(time.RFC3339Nano), at, resyncing)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	hourAgo, dayAgo, future := now.Add(-time.Hour), now.Add(-25*time.Hour), now.Add(time.Hour)
	put(protocol.RefOperators, &hourAgo, false)
	put(protocol.RefBlockedCards, &dayAgo, false)
	put(protocol.RefPersonFacts, &hourAgo, true)
	put(protocol.RefStopWindows, &future, false)
	cases := []struct {
		name  string
		kind  string
		check func(*refdata.StaleError) bool
	}{
		{"fresh", protocol.RefOperators, nil},
		{"BL-1/blocked list a day old refuses", protocol.RefBlockedCards, func(e *refdata.StaleError) bool { return e.Age > 24*time.Hour && !e.Never }},
		{"never synced", protocol.RefValidity, func(e *refdata.StaleError) bool { return e.Never }},
		{"mid-resync", protocol.RefPersonFacts, func(e *refdata.StaleError) bool { return e.Resyncing }},
		{"CP-3/clock moved back", protocol.RefStopWindows, func(e *refdata.StaleError) bool { return e.ClockBack }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := refdata.Fresh(ctx, st, c.kind, 24*time.Hour, now)
			var se *refdata.StaleError
			if c.check == nil {
				if err != nil {
					t.Errorf("got %v, want fresh", err)
				}
				return
			}
			if !errors.As(err, &se) || !c.check(se) || se.Kind != c.kind || se.Error() == "" {
				t.Errorf("got %#v, want a matching StaleError", err)
			}
		})
	}
	err = refdata.DefaultPolicy().Check(ctx, st, now, protocol.RefKinds...)
	var se *refdata.StaleError
	if !errors.As(err, &se) {
		t.Errorf("policy check: got %v, want StaleErrors", err)
	}
	ages, err := refdata.Ages(ctx, st, now)
	if err != nil || len(ages) != len(protocol.RefKinds) || ages[0].Age != time.Hour {
		t.Errorf("ages = %+v, %v", ages, err)
	}
	if table, err := st.ValidityTable(ctx); err != nil || table["nope"] != 0 {
		t.Errorf("RC-1/unknown reason: got %v, %v, want no entry", table, err)
	}
	if _, err := st.PersonFacts(ctx, "191212121212"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("got %v, want store.ErrNotFound", err)
	}
}
