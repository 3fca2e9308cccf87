package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func open(t *testing.T, path string, opt Options) *Store {
	t.Helper()
	st, err := Open(context.Background(), path, opt)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestOpenFromEmptySetsPragmasAndSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "station.db")
	st := open(t, path, Options{})
	migs, err := Embedded()
	if err != nil {
		t.Fatal(err)
	}
	if st.Version() != len(migs) {
		t.Errorf("Version = %d, want %d", st.Version(), len(migs))
	}
	ctx := context.Background()
	for pragma, want := range map[string]string{
		"journal_mode": "wal", "synchronous": "2", "foreign_keys": "1", "application_id": "1263752241",
	} {
		var got string
		if err := st.writer.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("PRAGMA %s = %q, want %q", pragma, got, want)
		}
	}
	for _, table := range []string{"operators", "operator_sessions", "persons", "cards", "stock_movements", "issuances",
		"id_document_checks", "attestations", "receipts", "drawer_events", "outbox", "ref_cursors", "audit_log"} {
		var n int
		if err := st.Reader().QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema WHERE type='table' AND name=?", table).Scan(&n); err != nil || n != 1 {
			t.Errorf("table %s missing (n=%d, err=%v)", table, n, err)
		}
	}
	// The reader pool is read-only.
	if _, err := st.Reader().ExecContext(ctx, "INSERT INTO station_meta VALUES ('k','v')"); err == nil {
		t.Error("write through the reader pool succeeded, want refusal")
	}
}

// TestMigrateFromEachEarlierVersion builds a database at every earlier
// schema version and opens it with the full list.
func TestMigrateFromEachEarlierVersion(t *testing.T) {
	migs, err := Embedded()
	if err != nil {
		t.Fatal(err)
	}
	// One extra, test-only step proves that an upgrade really runs on a
	// file that holds data.
	all := append(append([]Migration{}, migs...), Migration{Name: "test_extra.sql", SQL: "ALTER TABLE station_meta ADD COLUMN note TEXT"})
	for v := 0; v < len(all); v++ {
		t.Run(all[v].Name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "station.db")
			if v > 0 {
				old, err := Open(context.Background(), path, Options{Migrations: all[:v]})
				if err != nil {
					t.Fatalf("open at version %d: %v", v, err)
				}
				if err := old.Write(context.Background(), func(tx *sql.Tx) error {
					_, err := tx.Exec("INSERT INTO station_meta (key, value) VALUES ('kept', 'yes')")
					return err
				}); err != nil {
					t.Fatal(err)
				}
				old.Close()
			}
			st := open(t, path, Options{Migrations: all})
			if st.Version() != len(all) {
				t.Fatalf("Version = %d, want %d", st.Version(), len(all))
			}
			var note sql.NullString
			if err := st.Reader().QueryRow("SELECT note FROM station_meta LIMIT 1").Scan(&note); err != nil && !errors.Is(err, sql.ErrNoRows) {
				t.Fatalf("extra column missing after upgrade: %v", err)
			}
			if v > 0 {
				var kept string
				if err := st.Reader().QueryRow("SELECT value FROM station_meta WHERE key='kept'").Scan(&kept); err != nil || kept != "yes" {
					t.Fatalf("data written at version %d lost: %q %v", v, kept, err)
				}
			}
		})
	}
}

func TestFailedMigrationLeavesVersionAlone(t *testing.T) {
	migs, _ := Embedded()
	path := filepath.Join(t.TempDir(), "station.db")
	open(t, path, Options{}).Close()
	bad := append(append([]Migration{}, migs...), Migration{Name: "bad.sql", SQL: "CREATE TABLE x (a); THIS IS NOT SQL"})
	if _, err := Open(context.Background(), path, Options{Migrations: bad}); err == nil || !strings.Contains(err.Error(), "bad.sql") {
		t.Fatalf("Open with a broken migration: err = %v, want one naming bad.sql", err)
	}
	st := open(t, path, Options{})
	if st.Version() != len(migs) {
		t.Errorf("Version after failed migration = %d, want %d", st.Version(), len(migs))
	}
	var n int
	st.Reader().QueryRow("SELECT count(*) FROM sqlite_schema WHERE name='x'").Scan(&n)
	if n != 0 {
		t.Error("half-applied migration left table x behind")
	}
}

func TestRefusesNewerSchema(t *testing.T) {
	migs, _ := Embedded()
	path := filepath.Join(t.TempDir(), "station.db")
	newer := append(append([]Migration{}, migs...), Migration{Name: "future.sql", SQL: "CREATE TABLE future (a)", Breaking: true})
	st, err := Open(context.Background(), path, Options{Migrations: newer})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	before := fileHash(t, path)
	_, err = Open(context.Background(), path, Options{})
	if !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("err = %v, want ErrSchemaTooNew", err)
	}
	if after := fileHash(t, path); after != before {
		t.Error("refused database file was modified")
	}
}

func fileHash(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

func TestRefusesCorruptOrForeignFileUntouched(t *testing.T) {
	foreign := filepath.Join(t.TempDir(), "other.db")
	db, err := sql.Open("sqlite3", foreign)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('not ours')"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	foreignBytes, _ := os.ReadFile(foreign)

	cases := map[string][]byte{
		"text file":          []byte("this is a shopping list, not a database\n"),
		"random bytes":       bytes.Repeat([]byte{0xde, 0xad, 0xbe, 0xef}, 1024),
		"truncated header":   []byte("SQLite form"),
		"header then junk":   append([]byte("SQLite format 3\x00"), bytes.Repeat([]byte{0xff}, 4096)...),
		"another app's file": foreignBytes,
	}
	for name, content := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "station.db")
			if err := os.WriteFile(path, content, 0o600); err != nil {
				t.Fatal(err)
			}
			before := fileHash(t, path)
			_, err := Open(context.Background(), path, Options{})
			if !errors.Is(err, ErrNotDatabase) {
				t.Fatalf("err = %v, want ErrNotDatabase", err)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the file", err)
			}
			if fileHash(t, path) != before {
				t.Error("refused file was modified")
			}
		})
	}
}

func TestWriteRollsBackOnError(t *testing.T) {
	st := open(t, filepath.Join(t.TempDir(), "s.db"), Options{})
	boom := errors.New("boom")
	err := st.Write(context.Background(), func(tx *sql.Tx) error {
		if _, err := tx.Exec("INSERT INTO station_meta VALUES ('a', 'b')"); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	var n int
	st.Reader().QueryRow("SELECT count(*) FROM station_meta WHERE key = 'a'").Scan(&n)
	if n != 0 {
		t.Errorf("rolled-back row visible: %d rows", n)
	}
}

// TestCloseWaitsForWriteInFlight: a write that has begun commits even when
// its context is cancelled and Close is called meanwhile.
func TestCloseWaitsForWriteInFlight(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	st, err := Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	inside := make(chan struct{})
	var wg sync.WaitGroup
	var werr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		werr = st.Write(ctx, func(tx *sql.Tx) error {
			close(inside)
			time.Sleep(100 * time.Millisecond)
			_, err := tx.Exec("INSERT INTO station_meta VALUES ('inflight', 'committed')")
			return err
		})
	}()
	<-inside
	cancel()
	if err := st.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	wg.Wait()
	if werr != nil {
		t.Fatalf("in-flight write failed: %v", werr)
	}
	if err := st.Write(context.Background(), func(*sql.Tx) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Errorf("Write after Close: err = %v, want ErrClosed", err)
	}
	st2 := open(t, path, Options{})
	var v string
	if err := st2.Reader().QueryRow("SELECT value FROM station_meta WHERE key='inflight'").Scan(&v); err != nil || v != "committed" {
		t.Fatalf("in-flight write lost: %q %v", v, err)
	}
}

func TestSchemaGuards(t *testing.T) {
	st := open(t, filepath.Join(t.TempDir(), "s.db"), Options{})
	ctx := context.Background()
	mustFail := func(name, q string, args ...any) {
		t.Helper()
		err := st.Write(ctx, func(tx *sql.Tx) error { _, err := tx.Exec(q, args...); return err })
		if err == nil {
			t.Errorf("%s: succeeded, want refusal", name)
		}
	}
	// Outbox rows are never deleted before they are acknowledged.
	if err := st.Write(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec("INSERT INTO outbox (event_id, kind, payload, created_at, clock_source) VALUES ('e1','k',x'7b7d','t','ntp')")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	mustFail("delete unacked outbox", "DELETE FROM outbox WHERE event_id='e1'")
	mustFail("card with unknown state", "INSERT INTO cards (serial, type, state, updated_at) VALUES ('1','reserve','lost','t')")
	mustFail("issuance for unknown card (foreign key)", `INSERT INTO issuances (id, kind, card_serial, session_id, created_at, clock_source) VALUES ('i','reserve','nope','s','t','ntp')`)
}

// TestDataIsTheStationUsersAlone: the data directory is created 0700 and
// the database files 0600; wider modes left by an older version or a copy
// by hand are narrowed at start.
func TestDataIsTheStationUsersAlone(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	path := filepath.Join(dir, "station.db")
	check := func(when string) {
		t.Helper()
		for p, want := range map[string]os.FileMode{dir: 0o700, path: 0o600, path + "-wal": 0o600} {
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatalf("%s: %v", when, err)
			}
			if got := fi.Mode().Perm(); got != want {
				t.Errorf("%s: %s mode %o, want %o", when, filepath.Base(p), got, want)
			}
		}
	}
	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	check("created")
	s.Close()
	for _, p := range []string{path, path + "-wal"} {
		if err := os.Chmod(p, 0o644); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s, err = Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	check("reopened")
}
