package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/kortstation/kortstation/kiosk/audit"
	"github.com/kortstation/kortstation/kiosk/clock"
	"github.com/kortstation/kortstation/kiosk/store"
	"github.com/kortstation/kortstation/sync/protocol"
)

func benchStore(b *testing.B) *store.Store {
	b.Helper()
	st, err := store.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"), store.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}

// BenchmarkRawInsert is the baseline: one autocommitted INSERT on a
// database opened with the same settings (WAL, synchronous=FULL).
func BenchmarkRawInsert(b *testing.B) {
	st := benchStore(b)
	db, err := sql.Open("sqlite3", "file:"+st.Path()+"?_journal_mode=WAL&_synchronous=FULL&_foreign_keys=on&_busy_timeout=5000")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := db.Exec("INSERT INTO station_meta (key, value) VALUES (?, 'v')", fmt.Sprint("k", i)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDurableCommit is what the station does for one record: an
// immediate transaction holding the record, its audit entry and its outbox
// event, committed with synchronous=FULL.
func BenchmarkDurableCommit(b *testing.B) {
	st := benchStore(b)
	clk := clock.System{}
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		key := fmt.Sprint("k", i)
		err := st.Update(ctx, clk, func(tx *store.Tx) error {
			if err := tx.SetMeta(ctx, key, "v"); err != nil {
				return err
			}
			if _, err := tx.Audit(ctx, audit.Entry{Kind: "bench.record", Actor: "station", Subject: key}); err != nil {
				return err
			}
			_, err := tx.Enqueue(ctx, protocol.StockMovementPayload{CardSerial: key, Movement: "counted"})
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStoreWrite is one INSERT through Store.Write: the store's own
// overhead (immediate transaction, one writer) against BenchmarkRawInsert.
func BenchmarkStoreWrite(b *testing.B) {
	st := benchStore(b)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		key := fmt.Sprint("k", i)
		if err := st.Write(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, "INSERT INTO station_meta (key, value) VALUES (?, 'v')", key)
			return err
		}); err != nil {
			b.Fatal(err)
		}
	}
}
