package registry

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"sync"

	_ "github.com/mattn/go-sqlite3" // the registry's SQLite
)

// schema is the registry's database. rev is one counter for every change
// to reference data: each changed row takes the next value inside its write
// transaction, and SQLite serialises writers, so a reader never sees rev N+1
// committed without every rev ≤ N. That is what makes cursors exact.
const schema = `
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;

CREATE TABLE IF NOT EXISTS stations (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL DEFAULT '',
    cert_serial  TEXT,
    enrolled_at  TEXT,
    locked       INTEGER NOT NULL DEFAULT 0,
    last_seen    TEXT,
    status       TEXT NOT NULL DEFAULT '{}'
) STRICT;

CREATE TABLE IF NOT EXISTS enrol_codes (
    code_hash  TEXT PRIMARY KEY,
    station_id TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT
) STRICT;

-- Every event a station pushed, kept forever. Idempotent by (station, id)
-- and by (station, seq).
CREATE TABLE IF NOT EXISTS events (
    station_id   TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    event_id     TEXT NOT NULL,
    kind         TEXT NOT NULL,
    payload      BLOB NOT NULL,
    created_at   TEXT NOT NULL,
    clock_source TEXT NOT NULL,
    received_at  TEXT NOT NULL,
    PRIMARY KEY (station_id, event_id),
    UNIQUE (station_id, seq)
) STRICT;
CREATE TRIGGER IF NOT EXISTS events_keep BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'pushed events are kept forever'); END;

CREATE TABLE IF NOT EXISTS issuances (
    id          TEXT PRIMARY KEY,
    station_id  TEXT NOT NULL,
    kind        TEXT NOT NULL,
    card_serial TEXT NOT NULL,
    reason      TEXT NOT NULL DEFAULT '',
    valid_until TEXT NOT NULL DEFAULT '',
    decision    TEXT NOT NULL DEFAULT 'pending' CHECK (decision IN ('pending', 'approved', 'rejected')),
    decided_at  TEXT,
    received_at TEXT NOT NULL
) STRICT;

-- RC-7 drawer alarms (drawer_alarm events), for the station status.
-- at is the station's time of the alarm, fixed width.
CREATE TABLE IF NOT EXISTS drawer_alarms (
    station_id  TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    at          TEXT NOT NULL,
    found_open  INTEGER NOT NULL DEFAULT 0,
    received_at TEXT NOT NULL,
    PRIMARY KEY (station_id, seq)
) STRICT;
CREATE INDEX IF NOT EXISTS drawer_alarms_at ON drawer_alarms(station_id, at);

CREATE TABLE IF NOT EXISTS commands (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    station_id TEXT NOT NULL,
    kind       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    acked_at   TEXT
) STRICT;
CREATE INDEX IF NOT EXISTS commands_station ON commands(station_id, id);

CREATE TABLE IF NOT EXISTS operators (hsa_id TEXT PRIMARY KEY, name TEXT NOT NULL, authorised INTEGER NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS blocked_cards (serial TEXT PRIMARY KEY, reason TEXT NOT NULL, blocked_at TEXT NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS stop_windows (id TEXT PRIMARY KEY, kind TEXT NOT NULL, starts TEXT NOT NULL, ends TEXT NOT NULL, note TEXT NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS validity (reason TEXT PRIMARY KEY, max_days INTEGER NOT NULL CHECK (max_days > 0)) STRICT;

-- SITHS trust material for the stations' kiosk/trust (snapshot kinds
-- trust_intermediates and crls). fingerprint: hex SHA-256 of the DER.
-- One CRL per issuing CA: issuer_key is hex SHA-256 of the CRL's raw
-- issuer name and authority key ID; a newer CRL replaces the older.
CREATE TABLE IF NOT EXISTS trust_intermediates (
    fingerprint TEXT PRIMARY KEY,
    subject     TEXT NOT NULL,
    not_after   TEXT NOT NULL,
    der         BLOB NOT NULL,
    added_at    TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS crls (
    issuer_key  TEXT PRIMARY KEY,
    issuer      TEXT NOT NULL,
    number      TEXT NOT NULL,
    this_update TEXT NOT NULL,
    next_update TEXT NOT NULL,
    entries     INTEGER NOT NULL,
    fingerprint TEXT NOT NULL,
    der         BLOB NOT NULL,
    added_at    TEXT NOT NULL
) STRICT;

CREATE TABLE IF NOT EXISTS person_facts (
    personal_number TEXT PRIMARY KEY,
    facts   TEXT NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0,
    rev     INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS person_facts_rev ON person_facts(rev);

CREATE TABLE IF NOT EXISTS shipments (
    serial       TEXT PRIMARY KEY,
    station_id   TEXT NOT NULL,
    card_type    TEXT NOT NULL,
    shipment_ref TEXT NOT NULL,
    shipped_at   TEXT NOT NULL,
    deleted      INTEGER NOT NULL DEFAULT 0,
    rev          INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS shipments_rev ON shipments(station_id, rev);

CREATE TABLE IF NOT EXISTS card_status (
    serial           TEXT PRIMARY KEY,
    station_id       TEXT NOT NULL,
    state            TEXT NOT NULL,
    receipt_received INTEGER NOT NULL DEFAULT 0,
    updated_at       TEXT NOT NULL,
    deleted          INTEGER NOT NULL DEFAULT 0,
    rev              INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS card_status_rev ON card_status(station_id, rev);
`

// migrations change the schema after the base schema above, an
// append-only list: migrations[i] brings the database from user_version i
// to i+1, in one transaction with the version bump. The base schema is
// version 0 (CREATE … IF NOT EXISTS); a later change goes here, never into
// schema, so an existing registry gets it too.
var migrations = []string{
	// 1: the registry's policy per station (snapshot kind station_policy;
	// each station pulls only its own row, none means the fail-closed
	// default), and how each issuance's recipient was identified (AT-1,
	// ID-6), for the CP-1 approval view: the attestation ground on the
	// issuance, each attestor with how they proved who they are
	// (siths_card or typed), in the station's order.
	`CREATE TABLE station_policies (
    station_id      TEXT PRIMARY KEY,
    typed_attestors INTEGER NOT NULL DEFAULT 0 CHECK (typed_attestors IN (0, 1)),
    updated_at      TEXT NOT NULL
) STRICT;
ALTER TABLE issuances ADD COLUMN attestation_ground TEXT NOT NULL DEFAULT '';
CREATE TABLE issuance_attestors (
    issuance_id TEXT NOT NULL,
    pos         INTEGER NOT NULL,
    hsa_id      TEXT NOT NULL,
    proof       TEXT NOT NULL,
    PRIMARY KEY (issuance_id, pos)
) STRICT;`,
	// 2: the central console's audit trail (adminaudit.go): append-only
	// (no UPDATE, no DELETE), hash-chained by kiosk/audit, its head kept
	// beside it so a cut-off tail is found too.
	`CREATE TABLE admin_audit (
    seq          INTEGER PRIMARY KEY,
    at           TEXT NOT NULL,
    clock_source TEXT NOT NULL,
    kind         TEXT NOT NULL,
    actor        TEXT NOT NULL,
    subject      TEXT NOT NULL,
    detail       TEXT NOT NULL,
    prev_hash    TEXT NOT NULL,
    hash         TEXT NOT NULL
) STRICT;
CREATE TRIGGER admin_audit_no_update BEFORE UPDATE ON admin_audit
BEGIN SELECT RAISE(ABORT, 'the admin audit trail is append-only'); END;
CREATE TRIGGER admin_audit_no_delete BEFORE DELETE ON admin_audit
BEGIN SELECT RAISE(ABORT, 'the admin audit trail is append-only'); END;
CREATE TABLE admin_audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash TEXT NOT NULL
) STRICT;`,
	// 3: deadlines that act and notifications that arrive (issue 14,
	// deadlines.go, notify.go).
	deadlinesMigration,
	// 4: changes of administrators and the administrators authorised per
	// station (AD-1, AD-2; admins.go).
	adminsMigration,
}

// migrate applies every migration above the database's user_version.
func migrate(ctx context.Context, w *sql.DB) error {
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
			if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
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

// db is the registry's SQLite: one writer connection, a pool of readers.
type db struct {
	writer *sql.DB
	reader *sql.DB
	mu     sync.Mutex // serialises Go-side writers so revs commit in order
}

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
	if _, err := w.ExecContext(ctx, schema); err != nil {
		w.Close()
		return nil, fmt.Errorf("registry: schema: %w", err)
	}
	if err := migrate(ctx, w); err != nil {
		w.Close()
		return nil, err
	}
	epoch := make([]byte, 6)
	if _, err := rand.Read(epoch); err != nil {
		w.Close()
		return nil, fmt.Errorf("registry: epoch: %w", err)
	}
	if _, err := w.ExecContext(ctx, `
		INSERT OR IGNORE INTO counters (name, value) VALUES ('rev', 0), ('horizon', 0);
		INSERT OR IGNORE INTO meta (key, value) VALUES ('epoch', ?);`, hex.EncodeToString(epoch)); err != nil {
		w.Close()
		return nil, fmt.Errorf("registry: init counters: %w", err)
	}
	r, err := sql.Open("sqlite3", mk(true))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("registry: open reader %s: %w", path, err)
	}
	r.SetMaxOpenConns(8)
	r.SetMaxIdleConns(8)
	return &db{writer: w, reader: r}, nil
}

func (d *db) close() error { return errors.Join(d.reader.Close(), d.writer.Close()) }

// write runs fn in one immediate transaction.
func (d *db) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	tx, err := d.writer.BeginTx(context.WithoutCancel(ctx), nil)
	if err != nil {
		return fmt.Errorf("registry: begin: %w", err)
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
