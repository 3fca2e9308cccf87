package registry

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"sync"

	"github.com/jackc/pgx/v5"

	_ "github.com/mattn/go-sqlite3" // the registry's SQLite
)

// Advisory lock keys on PostgreSQL (arbitrary, fixed: "Kortstation
// registry" + a purpose).
const (
	lockSchema int64 = 0x4b5245470001 // schema steps at open
	lockWrite  int64 = 0x4b5245470002 // every write transaction (db.write)
	lockJobs   int64 = 0x4b5245470003 // the scheduled jobs' leader (jobs.go)
)

// migrate brings the database to the newest schema: the base schema
// (idempotent) and every migration above the database's version, each in
// one transaction with its version bump.
func migrate(ctx context.Context, d *db) error {
	if d.dialect == postgres {
		return migratePostgres(ctx, d.writer)
	}
	w := d.writer
	if _, err := w.ExecContext(ctx, baseSchema.sqlite); err != nil {
		return fmt.Errorf("registry: schema: %w", err)
	}
	var version int
	if err := w.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("registry: read schema version: %w", err)
	}
	if version > len(migrations) {
		return fmt.Errorf("registry: schema version %d is newer than this registry's %d", version, len(migrations))
	}
	for i := version; i < len(migrations); i++ {
		err := func() error {
			tx, err := w.BeginTx(ctx, nil)
			if err != nil {
				return err
			}
			defer tx.Rollback() //nolint:errcheck // after Commit this is a no-op
			if _, err := tx.ExecContext(ctx, migrations[i].sqlite); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", i+1)); err != nil {
				return err
			}
			return tx.Commit()
		}()
		if err != nil {
			return fmt.Errorf("registry: migration %d: %w", i+1, err)
		}
	}
	return nil
}

// migratePostgres is migrate on PostgreSQL: all steps in one transaction
// under an advisory lock, so instances starting together migrate once.
func migratePostgres(ctx context.Context, w *sql.DB) error {
	tx, err := w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("registry: schema: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit this is a no-op
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(?)`, lockSchema); err != nil {
		return fmt.Errorf("registry: schema lock: %w", err)
	}
	if _, err := tx.ExecContext(ctx, baseSchema.postgres+`
CREATE TABLE IF NOT EXISTS schema_version (id BIGINT PRIMARY KEY CHECK (id = 1), version BIGINT NOT NULL);
INSERT INTO schema_version (id, version) VALUES (1, 0) ON CONFLICT DO NOTHING;`); err != nil {
		return fmt.Errorf("registry: schema: %w", err)
	}
	var version int
	if err := tx.QueryRowContext(ctx, `SELECT version FROM schema_version WHERE id = 1`).Scan(&version); err != nil {
		return fmt.Errorf("registry: read schema version: %w", err)
	}
	if version > len(migrations) {
		return fmt.Errorf("registry: schema version %d is newer than this registry's %d", version, len(migrations))
	}
	for i := version; i < len(migrations); i++ {
		if _, err := tx.ExecContext(ctx, migrations[i].postgres); err != nil {
			return fmt.Errorf("registry: migration %d: %w", i+1, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE schema_version SET version = ? WHERE id = 1`, len(migrations)); err != nil {
		return fmt.Errorf("registry: schema version: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("registry: schema: %w", err)
	}
	return nil
}

// db is the registry's database. SQLite: one writer connection, a pool
// of read-only readers. PostgreSQL: a pool for writers (serialised across
// instances by an advisory lock) and a pool of read-only snapshot
// readers.
type db struct {
	dialect dialect
	writer  *sql.DB
	reader  *sql.DB
	mu      sync.Mutex      // serialises Go-side writers so revs commit in order
	pgcfg   *pgx.ConnConfig // PostgreSQL: for the listener and the jobs' leader
}

// openDatabase opens the configured database: a PostgreSQL URL, or the
// SQLite file in the data directory.
func openDatabase(ctx context.Context, cfg Config) (*db, error) {
	if IsPostgresURL(cfg.Database) {
		return openPostgres(ctx, cfg.Database)
	}
	path := cfg.Database
	if path == "" {
		path = filepath.Join(cfg.DataDir, "registry.db")
	}
	return openDB(ctx, path)
}

// openDB opens the SQLite registry at path.
func openDB(ctx context.Context, path string) (*db, error) {
	mk := func(ro bool) string {
		q := url.Values{}
		q.Set("_journal_mode", "WAL")
		q.Set("_synchronous", "FULL")
		q.Set("_foreign_keys", "on")
		q.Set("_busy_timeout", "10000")
		if ro {
			q.Set("_query_only", "true")
			q.Set("_txlock", "deferred")
		} else {
			q.Set("_txlock", "immediate")
		}
		return "file:" + path + "?" + q.Encode()
	}
	w, err := sql.Open("sqlite3", mk(false))
	if err != nil {
		return nil, fmt.Errorf("registry: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	var mode string
	if err := w.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		w.Close()
		return nil, fmt.Errorf("registry: %s: journal_mode %q, want wal: %v", path, mode, err)
	}
	d := &db{dialect: sqlite, writer: w}
	if err := initDB(ctx, d); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite3", mk(true))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("registry: open reader %s: %w", path, err)
	}
	r.SetMaxOpenConns(8)
	r.SetMaxIdleConns(8)
	d.reader = r
	return d, nil
}

// openPostgres opens the registry on the PostgreSQL server at dsn.
func openPostgres(ctx context.Context, dsn string) (*db, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("registry: database URL: %w", err)
	}
	w := openPostgresPool(cfg, map[string]string{"application_name": "registryd"}, 16)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("registry: connect to PostgreSQL %s@%s/%s: %w", cfg.User, cfg.Host, cfg.Database, err)
	}
	d := &db{dialect: postgres, writer: w, pgcfg: cfg}
	if err := initDB(ctx, d); err != nil {
		w.Close()
		return nil, err
	}
	// Readers: read-only, and each transaction one snapshot (as SQLite's
	// deferred read transactions), so a page and its rev agree.
	d.reader = openPostgresPool(cfg, map[string]string{
		"application_name":              "registryd",
		"default_transaction_read_only": "on",
		"default_transaction_isolation": "repeatable read",
	}, 16)
	return d, nil
}

// initDB migrates and sets the counters and the cursor epoch once.
func initDB(ctx context.Context, d *db) error {
	if err := migrate(ctx, d); err != nil {
		return err
	}
	epoch := make([]byte, 6)
	if _, err := rand.Read(epoch); err != nil {
		return fmt.Errorf("registry: epoch: %w", err)
	}
	if _, err := d.writer.ExecContext(ctx, `INSERT INTO counters (name, value) VALUES ('rev', 0), ('horizon', 0) ON CONFLICT DO NOTHING`); err != nil {
		return fmt.Errorf("registry: init counters: %w", err)
	}
	if _, err := d.writer.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('epoch', ?) ON CONFLICT DO NOTHING`, hex.EncodeToString(epoch)); err != nil {
		return fmt.Errorf("registry: init epoch: %w", err)
	}
	return nil
}

func (d *db) close() error { return errors.Join(d.reader.Close(), d.writer.Close()) }

// write runs fn in one immediate transaction, one writer at a time.
func (d *db) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	tx, err := d.writer.BeginTx(context.WithoutCancel(ctx), nil)
	if err != nil {
		return fmt.Errorf("registry: begin: %w", err)
	}
	if d.dialect == postgres {
		// One writer at a time across every instance, as on SQLite: revs
		// and per-station sequences are taken and committed in order.
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(?)`, lockWrite); err != nil {
			_ = tx.Rollback()
			return fmt.Errorf("registry: write lock: %w", err)
		}
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	// The console's audit entry for the action that made this change is
	// written in the same transaction (adminaudit.go): the change is never
	// committed without it.
	p, _ := ctx.Value(pendingAuditKey{}).(*pendingAudit)
	if p != nil && p.written {
		p = nil
	}
	if p != nil {
		if err := appendAdminAudit(ctx, tx, p.clk, p.entry); err != nil {
			_ = tx.Rollback()
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("registry: commit: %w", err)
	}
	if p != nil {
		p.written = true
	}
	return nil
}

// nextRev takes the next reference-data revision inside tx.
func nextRev(ctx context.Context, tx *sql.Tx) (int64, error) {
	var v int64
	if err := tx.QueryRowContext(ctx, `UPDATE counters SET value = value + 1 WHERE name = 'rev' RETURNING value`).Scan(&v); err != nil {
		return 0, fmt.Errorf("registry: next rev: %w", err)
	}
	return v, nil
}
