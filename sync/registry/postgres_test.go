package registry_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/kortstation/kortstation/sync/registry"
	"github.com/kortstation/kortstation/sync/registrytest"
)

// Issue 17 item 1: the PostgreSQL backend beside SQLite (always both
// here, whatever the tests' backend).

// TestSchemaParity: a registry created on SQLite and one created on
// PostgreSQL have the same tables with the same columns in the same
// order, and the same indexes: the two variants of every schema step
// (schema.go) describe one schema.
func TestSchemaParity(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	dsn := registrytest.Postgres(t)
	for _, database := range []string{"", dsn} {
		srv, err := registry.Open(ctx, registry.Config{DataDir: dir, Database: database, Logger: registrytest.Logger(t)})
		if err != nil {
			t.Fatal(err)
		}
		srv.Close()
	}
	lite, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, "registry.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer lite.Close()
	pg, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	liteCols := columns(t, lite, `SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p
		WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' ORDER BY m.name, p.cid`)
	pgCols := columns(t, pg, `SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = 'public' AND table_name != 'schema_version' ORDER BY table_name, ordinal_position`)
	if !slices.Equal(liteCols, pgCols) {
		t.Errorf("tables and columns differ:\nSQLite:     %s\nPostgreSQL: %s", strings.Join(liteCols, " "), strings.Join(pgCols, " "))
	}
	liteIdx := columns(t, lite, `SELECT tbl_name, name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%' ORDER BY 1, 2`)
	pgIdx := columns(t, pg, `SELECT tablename, indexname FROM pg_indexes WHERE schemaname = 'public' AND indexname NOT LIKE '%_pkey' AND indexname NOT LIKE '%_key' ORDER BY 1, 2`)
	if !slices.Equal(liteIdx, pgIdx) {
		t.Errorf("indexes differ:\nSQLite:     %s\nPostgreSQL: %s", strings.Join(liteIdx, " "), strings.Join(pgIdx, " "))
	}
	if len(liteCols) < 100 {
		t.Errorf("only %d columns: the comparison saw no schema", len(liteCols))
	}
}

func columns(t *testing.T, db *sql.DB, q string) []string {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var a, b string
		if err := rows.Scan(&a, &b); err != nil {
			t.Fatal(err)
		}
		out = append(out, a+"."+b)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestPostgresInstancesStartTogether: instances opening one new database
// at the same moment migrate it once (an advisory lock), and all of them
// open; opening again changes nothing.
func TestPostgresInstancesStartTogether(t *testing.T) {
	ctx := context.Background()
	dsn := registrytest.Postgres(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			srv, err := registry.Open(ctx, registry.Config{DataDir: t.TempDir(), Database: dsn, Logger: registrytest.Logger(t)})
			if err == nil {
				srv.Close()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("instance %d: %v", i, err)
		}
	}
	srv, err := registry.Open(ctx, registry.Config{DataDir: t.TempDir(), Database: dsn, Logger: registrytest.Logger(t)})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	srv.Close()
}

// TestPostgresAppendOnlyTables: on PostgreSQL too the database itself
// refuses to delete pushed events and to edit, delete or truncate the
// console's audit trail (triggers, as on SQLite).
func TestPostgresAppendOnlyTables(t *testing.T) {
	ctx := context.Background()
	dsn := registrytest.Postgres(t)
	srv, err := registry.Open(ctx, registry.Config{DataDir: t.TempDir(), Database: dsn, Logger: registrytest.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if err := srv.AddStation(ctx, "ST-AO", "append-only"); err != nil { // writes an audit entry
		t.Fatal(err)
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`INSERT INTO events (station_id, seq, event_id, kind, payload, created_at, clock_source, received_at)
		VALUES ('ST-AO', 1, 'e1', 'k', '\x7b7d', 'x', 'ntp', 'x')`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO admin_audit (seq, at, clock_source, kind, actor, subject, detail, prev_hash, hash)
		VALUES (1000, 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x')`); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`DELETE FROM events`, `TRUNCATE events`,
		`UPDATE admin_audit SET actor = 'someone else'`, `DELETE FROM admin_audit`, `TRUNCATE admin_audit`,
	} {
		if _, err := db.Exec(q); err == nil {
			t.Errorf("%s: allowed", q)
		}
	}
	var n int
	if err := db.QueryRow(`SELECT (SELECT count(*) FROM events) + (SELECT count(*) FROM admin_audit WHERE seq = 1000)`).Scan(&n); err != nil || n != 2 {
		t.Errorf("rows left: %d, %v; want both", n, err)
	}
}
